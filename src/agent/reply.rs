//! The text of one reply as it streams: a turn may hold several message
//! items (a preamble, then the answer), each growing by deltas until its
//! completed text replaces them.

#[derive(Debug, Default, Clone)]
pub struct ReplyText {
    items: Vec<(String, String)>,
}

impl ReplyText {
    pub fn append(&mut self, item: &str, delta: &str) {
        match self.items.iter_mut().find(|(id, _)| id == item) {
            Some((_, text)) => text.push_str(delta),
            None => self.items.push((item.to_string(), delta.to_string())),
        }
    }

    /// Starts a new block inside `item` (a message of several blocks):
    /// a blank line, unless the item is still empty.
    pub fn begin_block(&mut self, item: &str) {
        if let Some((_, text)) = self.items.iter_mut().find(|(id, _)| id == item) {
            if !text.trim().is_empty() && !text.ends_with("\n\n") {
                text.push_str("\n\n");
            }
        }
    }

    /// The completed text is authoritative: it replaces whatever the deltas
    /// built, fixing any delta that was lost or reordered.
    pub fn complete(&mut self, item: &str, text: &str) {
        match self.items.iter_mut().find(|(id, _)| id == item) {
            Some((_, t)) => *t = text.to_string(),
            None => self.items.push((item.to_string(), text.to_string())),
        }
    }

    /// Items joined by a blank line, so separate messages never run together.
    pub fn render(&self) -> String {
        let parts: Vec<&str> = self
            .items
            .iter()
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .collect();
        parts.join("\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_accumulate_and_completion_wins() {
        let mut r = ReplyText::default();
        r.append("a", "Hel");
        r.append("a", "lo");
        r.append("b", "World");
        assert_eq!(r.render(), "Hello\n\nWorld");
        r.complete("a", "Hello there.");
        assert_eq!(r.render(), "Hello there.\n\nWorld");
        r.complete("c", "  ");
        assert_eq!(r.render(), "Hello there.\n\nWorld");
    }
}
