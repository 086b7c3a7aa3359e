//! Splitting a reply under Telegram's 4096-unit limit at the most natural
//! boundary available: a blank line, else a line break, else a space, else
//! (one enormous word) anywhere. Telegram measures text in UTF-16 code
//! units, so an emoji counts twice: so does everything here.

/// Telegram's limit on a message's text, in UTF-16 code units.
pub const TELEGRAM_LIMIT: usize = 4096;

/// Our chunk size, in UTF-16 code units: below the limit so that what
/// formatting adds has room.
pub const LIMIT: usize = 3800;

/// The length of `text` as Telegram counts it.
pub fn units(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// The longest prefix of `text` of at most `limit` UTF-16 units, as a byte
/// index (always on a char boundary).
fn prefix_end(text: &str, limit: usize) -> usize {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += c.len_utf16();
        if used > limit {
            return i;
        }
    }
    text.len()
}

/// Splits `text` into chunks of at most `limit` UTF-16 units, trimmed, none
/// empty. Joining the chunks with the boundaries they were cut at gives the
/// original text back (modulo the trimmed whitespace).
pub fn split(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(2);
    let mut chunks = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if units(rest) <= limit {
            chunks.push(rest.to_string());
            break;
        }
        let window_end = prefix_end(rest, limit);
        let window = &rest[..window_end];
        // Prefer a boundary in the second half of the window, so a blank
        // line near the start does not produce a tiny chunk.
        let half = prefix_end(window, limit / 2);
        let cut = ["\n\n", "\n", " "].iter().find_map(|sep| {
            window
                .rfind(sep)
                .filter(|&i| i >= half)
                .map(|i| (i, sep.len()))
        });
        let (head, tail) = match cut {
            Some((i, n)) => (&rest[..i], &rest[i + n..]),
            None => (window, &rest[window_end..]),
        };
        let head = head.trim();
        if !head.is_empty() {
            chunks.push(head.to_string());
        }
        rest = tail.trim_start();
    }
    chunks
}

/// `text` cut to at most `max` characters, with an ellipsis when cut: for
/// user input quoted back in a message (a 4000-character `/model` argument
/// must not make the answer itself too long to send).
pub fn quote(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((i, _)) => format!("{}…", &text[..i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_chunk_and_empty_text_none() {
        assert_eq!(split("hello", 10), vec!["hello"]);
        assert!(split("   \n ", 10).is_empty());
    }

    #[test]
    fn prefers_paragraphs_then_lines_then_spaces() {
        let text = format!("{}\n\n{}", "a".repeat(60), "b".repeat(60));
        assert_eq!(split(&text, 100), vec!["a".repeat(60), "b".repeat(60)]);
        let text = format!("{}\n{}", "a".repeat(60), "b".repeat(60));
        assert_eq!(split(&text, 100), vec!["a".repeat(60), "b".repeat(60)]);
        let text = format!("{} {}", "a".repeat(60), "b".repeat(60));
        assert_eq!(split(&text, 100), vec!["a".repeat(60), "b".repeat(60)]);
    }

    #[test]
    fn cuts_a_giant_word_anywhere_and_respects_multibyte_characters() {
        let text = "é".repeat(250);
        let chunks = split(&text, 100);
        assert_eq!(
            chunks.iter().map(|c| c.chars().count()).collect::<Vec<_>>(),
            vec![100, 100, 50]
        );
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn emoji_count_twice_as_telegram_counts_them() {
        // 3,000 emoji are 6,000 units: over Telegram's limit in one piece.
        let text = "😀".repeat(3000);
        assert_eq!(units(&text), 6000);
        let chunks = split(&text, LIMIT);
        assert_eq!(chunks.len(), 2);
        assert!(
            chunks.iter().all(|c| units(c) <= LIMIT),
            "{:?}",
            chunks.iter().map(|c| units(c)).collect::<Vec<_>>()
        );
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn quoting_caps_user_input() {
        assert_eq!(quote("short", 10), "short");
        assert_eq!(quote(&"x".repeat(100), 10), format!("{}…", "x".repeat(10)));
        assert_eq!(quote("ééé", 2), "éé…");
    }

    #[test]
    fn every_chunk_fits_and_nothing_is_lost() {
        let para = "word ".repeat(50);
        let text = (0..40)
            .map(|i| format!("{i} {para}"))
            .collect::<Vec<_>>()
            .join("\n\n");
        let chunks = split(&text, LIMIT);
        assert!(chunks.len() > 2);
        assert!(chunks.iter().all(|c| units(c) <= LIMIT && !c.is_empty()));
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&chunks.join(" ")), words(&text));
    }
}
