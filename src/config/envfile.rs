//! The `/etc/kai/env` format: one `KEY="value"` per line, keys sorted,
//! `\` and `"` escaped with a backslash, no newlines in values.
//!
//! The Nix renderer (`nixos-module/lib.nix`) writes exactly what [`render`]
//! writes, and [`parse`] reads back exactly what either wrote: the two are
//! kept honest by golden files produced by Nix and read here.

use std::collections::BTreeMap;

/// A line of an env file that cannot be read back, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct EnvFileError {
    pub line: usize,
    pub reason: String,
}

/// Renders variables in the canonical form. Fails on a value containing a
/// newline, which the format cannot carry.
pub fn render(vars: &BTreeMap<String, String>) -> Result<String, EnvFileError> {
    let mut out = String::new();
    for (n, (key, value)) in vars.iter().enumerate() {
        if !is_valid_key(key) {
            return Err(EnvFileError {
                line: n + 1,
                reason: format!("`{key}` is not a valid variable name"),
            });
        }
        if value.contains('\n') || value.contains('\r') {
            return Err(EnvFileError {
                line: n + 1,
                reason: format!("the value of {key} contains a newline"),
            });
        }
        out.push_str(key);
        out.push_str("=\"");
        for c in value.chars() {
            if c == '\\' || c == '"' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str("\"\n");
    }
    Ok(out)
}

/// Parses an env file into ordered `(line, key, value)` entries. Blank lines
/// and `#` comments are skipped; values are either double-quoted (with `\\`
/// and `\"` escapes) or bare words, as systemd's `EnvironmentFile=` allows.
pub fn parse(text: &str) -> Result<Vec<(usize, String, String)>, Vec<EnvFileError>> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_line(trimmed) {
            Ok((key, value)) => entries.push((line, key, value)),
            Err(reason) => errors.push(EnvFileError { line, reason }),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

fn parse_line(line: &str) -> Result<(String, String), String> {
    let Some((key, rest)) = line.split_once('=') else {
        return Err("expected KEY=\"value\"".into());
    };
    let key = key.trim();
    if !is_valid_key(key) {
        return Err(format!("`{key}` is not a valid variable name"));
    }
    let rest = rest.trim();
    let value = if let Some(body) = rest.strip_prefix('"') {
        unquote(body).map_err(|e| format!("{key}: {e}"))?
    } else if rest.contains(['"', '\'', '\\']) {
        return Err(format!("{key}: quote the value with double quotes"));
    } else {
        rest.to_string()
    };
    Ok((key.to_string(), value))
}

fn unquote(body: &str) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | '"')) => out.push(e),
                Some(other) => return Err(format!("unsupported escape `\\{other}`")),
                None => return Err("unterminated escape at end of line".into()),
            },
            '"' => {
                let trailing = chars.as_str().trim();
                if !trailing.is_empty() {
                    return Err(format!("unexpected `{trailing}` after the closing quote"));
                }
                return Ok(out);
            }
            c => out.push(c),
        }
    }
    Err("missing closing quote".into())
}

fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn round_trips_quotes_backslashes_and_equals() {
        let vars = map(&[
            ("A", r#"say "hi""#),
            ("B", r"C:\path\to\"),
            ("C", "k=v=w"),
            ("D", ""),
            ("E", "  spaced  "),
            ("F", "ünïcödé $HOME `x` 'q'"),
        ]);
        let text = render(&vars).unwrap();
        let back: BTreeMap<_, _> = parse(&text)
            .unwrap()
            .into_iter()
            .map(|(_, k, v)| (k, v))
            .collect();
        assert_eq!(back, vars);
    }

    #[test]
    fn renders_sorted_canonical_lines() {
        let text = render(&map(&[("B", "2"), ("A", r#"x"y\z"#)])).unwrap();
        assert_eq!(text, "A=\"x\\\"y\\\\z\"\nB=\"2\"\n");
    }

    #[test]
    fn refuses_newlines_in_values() {
        assert!(render(&map(&[("A", "x\ny")])).is_err());
    }

    #[test]
    fn reads_bare_values_comments_and_blank_lines() {
        let entries = parse("# comment\n\nA=plain\n  B = \"q\"  \n").unwrap();
        assert_eq!(
            entries,
            vec![(3, "A".into(), "plain".into()), (4, "B".into(), "q".into())]
        );
    }

    #[test]
    fn reports_every_bad_line_with_its_number() {
        let errors = parse("A=\"open\nnot a line\nB=\"x\\n\"\n9X=1\nC=\"a\" b\n").unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5]);
        assert!(errors[0].reason.contains("closing quote"));
        assert!(errors[2].reason.contains("unsupported escape"));
    }
}
