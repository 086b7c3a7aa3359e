//! Names for received files: a UTC timestamp (so the inbox sorts by
//! arrival and one name never hides another) and the sender's file name
//! reduced to characters that are safe in every shell and on every
//! filesystem.

use std::time::{SystemTime, UNIX_EPOCH};

/// Longest sanitised name kept (bytes, before the timestamp).
const MAX_NAME: usize = 100;

/// `20261130-094501-report_final.pdf` for `report final.pdf` received at
/// 09:45:01 UTC on 30 November 2026.
pub fn inbox_name(original: &str, at: SystemTime) -> String {
    format!("{}-{}", timestamp(at), sanitise(original))
}

/// Letters, digits, `.`, `-` and `_` kept; anything else (spaces, slashes,
/// quotes, non-ASCII) becomes `_`; no leading dot; at most [`MAX_NAME`]
/// bytes, keeping the extension; never empty.
pub fn sanitise(original: &str) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut s: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while s.starts_with('.') {
        s.remove(0);
    }
    if s.len() > MAX_NAME {
        let ext = s
            .rsplit_once('.')
            .map(|(_, e)| e.to_string())
            .filter(|e| e.len() <= 10);
        let keep = MAX_NAME - ext.as_ref().map_or(0, |e| e.len() + 1);
        s.truncate(keep);
        if let Some(e) = ext {
            s = format!("{s}.{e}");
        }
    }
    if s.is_empty() || s.chars().all(|c| c == '_' || c == '.') {
        return "file".to_string();
    }
    s
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn timestamp(at: SystemTime) -> String {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = crate::utc::civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn names_are_timestamped_and_sanitised() {
        let at = UNIX_EPOCH + Duration::from_secs(1_796_031_901); // 2026-11-30 09:45:01 UTC
        assert_eq!(
            inbox_name("report final.pdf", at),
            "20261130-094501-report_final.pdf"
        );
        assert_eq!(sanitise("../../etc/passwd"), "passwd");
        assert_eq!(sanitise("..hidden"), "hidden");
        assert_eq!(sanitise("a;rm -rf $HOME`.txt"), "a_rm_-rf__HOME_.txt");
        assert_eq!(sanitise("résumé.pdf"), "r_sum_.pdf");
        assert_eq!(sanitise(""), "file");
        assert_eq!(sanitise("///"), "file");
        let long = format!("{}.tar.gz", "x".repeat(300));
        let s = sanitise(&long);
        assert!(s.len() <= MAX_NAME && s.ends_with(".gz"), "{s}");
        assert_eq!(timestamp(UNIX_EPOCH), "19700101-000000");
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229-000000"
        );
    }

    #[test]
    fn any_input_gives_a_plain_short_name() {
        // A cheap property check over pseudo-random strings (splitmix64),
        // the same on every machine: whatever a sender calls a file, the
        // name is one path component, not hidden, short and never empty.
        let mut x: u64 = 42;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let alphabet: Vec<char> = "./\\\0 -_aZ9é😀\n$`'\"".chars().collect();
        for _ in 0..5000 {
            let len = (next() % 300) as usize;
            let input: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let s = sanitise(&input);
            assert!(!s.is_empty() && s.len() <= MAX_NAME, "{input:?} -> {s:?}");
            assert!(
                !s.starts_with('.') && !s.contains('/'),
                "{input:?} -> {s:?}"
            );
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)),
                "{s:?}"
            );
        }
    }
}
