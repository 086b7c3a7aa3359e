//! Splitting a reply under Telegram's 4096-character limit at the most
//! natural boundary available: a blank line, else a line break, else a
//! space, else (one enormous word) anywhere.

/// Telegram's limit, in characters (UTF-16 units in reality; see `LIMIT`).
pub const TELEGRAM_LIMIT: usize = 4096;

/// Our chunk size: below the limit so that UTF-16 surrogate pairs (emoji
/// count twice in Telegram's measure) and HTML escaping have room.
pub const LIMIT: usize = 3800;

/// Splits `text` into chunks of at most `limit` characters, trimmed, none
/// empty. Joining the chunks with the boundaries they were cut at gives the
/// original text back (modulo the trimmed whitespace).
pub fn split(text: &str, limit: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if rest.chars().count() <= limit {
            chunks.push(rest.to_string());
            break;
        }
        let window_end = rest
            .char_indices()
            .nth(limit)
            .map_or(rest.len(), |(i, _)| i);
        let window = &rest[..window_end];
        // Prefer a boundary in the second half of the window, so a blank
        // line near the start does not produce a tiny chunk.
        let half = window.char_indices().nth(limit / 2).map_or(0, |(i, _)| i);
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
    fn every_chunk_fits_and_nothing_is_lost() {
        let para = "word ".repeat(50);
        let text = (0..40)
            .map(|i| format!("{i} {para}"))
            .collect::<Vec<_>>()
            .join("\n\n");
        let chunks = split(&text, LIMIT);
        assert!(chunks.len() > 2);
        assert!(chunks
            .iter()
            .all(|c| c.chars().count() <= LIMIT && !c.is_empty()));
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&chunks.join(" ")), words(&text));
    }
}
