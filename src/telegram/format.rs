//! Agents answer in Markdown; Telegram renders a small HTML subset. This
//! converts the parts that matter for code (fenced blocks, inline code,
//! bold) and escapes everything else, so a stray `<` can never break a
//! message. Anything it does not understand stays literal text.

/// Markdown-ish text to Telegram HTML.
pub fn to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut lines = text.split('\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        if !first {
            out.push('\n');
        }
        first = false;
        if let Some(lang) = line.trim_start().strip_prefix("```") {
            let lang = lang.trim();
            let mut body = Vec::new();
            for l in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                body.push(l);
            }
            let tagged = !lang.is_empty()
                && lang
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-_#".contains(c));
            if tagged {
                out.push_str(&format!("<pre><code class=\"language-{lang}\">"));
            } else {
                out.push_str("<pre>");
            }
            out.push_str(&escape(&body.join("\n")));
            out.push_str(if tagged { "</code></pre>" } else { "</pre>" });
            continue;
        }
        inline(line, &mut out);
    }
    out
}

fn inline(line: &str, out: &mut String) {
    let mut rest = line;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('`') {
            if let Some(end) = after.find('`') {
                out.push_str("<code>");
                out.push_str(&escape(&after[..end]));
                out.push_str("</code>");
                rest = &after[end + 1..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix("**") {
            if let Some(end) = after.find("**").filter(|&e| e > 0) {
                out.push_str("<b>");
                out.push_str(&escape(&after[..end]));
                out.push_str("</b>");
                rest = &after[end + 2..];
                continue;
            }
        }
        // Skip at least the first character (not byte: replies start with emoji).
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let next = rest[first..]
            .find(['`', '*'])
            .map_or(rest.len(), |i| i + first);
        out.push_str(&escape(&rest[..next]));
        rest = &rest[next..];
    }
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_everywhere() {
        assert_eq!(to_html("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
        assert_eq!(to_html("`<x>`"), "<code>&lt;x&gt;</code>");
    }

    #[test]
    fn converts_fences_inline_code_and_bold() {
        assert_eq!(
            to_html("Run:\n```sh\necho <hi>\n```\nthen **done** and `ls`."),
            "Run:\n<pre><code class=\"language-sh\">echo &lt;hi&gt;</code></pre>\nthen <b>done</b> and <code>ls</code>."
        );
        assert_eq!(to_html("```\nplain\n```"), "<pre>plain</pre>");
    }

    #[test]
    fn multibyte_text_around_markers_is_kept_whole() {
        assert_eq!(to_html("⚠️ Stopped."), "⚠️ Stopped.");
        assert_eq!(to_html("é`x`é**b**ü"), "é<code>x</code>é<b>b</b>ü");
        assert_eq!(to_html("🆕 `a` 🆕"), "🆕 <code>a</code> 🆕");
    }

    #[test]
    fn unbalanced_markers_stay_literal_and_an_open_fence_closes() {
        assert_eq!(to_html("a `b and **c"), "a `b and **c");
        assert_eq!(
            to_html("```py\nx = 1"),
            "<pre><code class=\"language-py\">x = 1</code></pre>"
        );
        assert_eq!(to_html("****"), "****");
    }
}
