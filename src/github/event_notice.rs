//! How an event in an owned repository reads in the owner's Telegram chat:
//! one short message naming the repository and number (`o/r#12`), who did
//! it, the title and a link; bodies of comments and reviews cut to a few
//! hundred characters; at most five commits of a push. Sent as HTML with
//! the plain text as the fallback Telegram falls back to when it refuses
//! the formatting. Every piece of text came from GitHub users, so all of it
//! is escaped.

use super::events::{Event, Happening, IssueAction, PrAction};
use crate::telegram::api::Outgoing;
use crate::telegram::format::escape;

/// Whether the owner hears of `what` at all: new commits on a pull
/// request are acted on (reviewed) but not told — the review says enough.
pub fn is_told(what: &Happening) -> bool {
    !matches!(
        what,
        Happening::PullRequest {
            action: PrAction::Synchronize,
            ..
        }
    )
}

/// The message for `e`; `None` for events that are not told ([`is_told`]).
pub fn render(e: &Event) -> Option<Outgoing> {
    if !is_told(&e.what) {
        return None;
    }
    let mut m = Message::default();
    let repo = &e.repo;
    match &e.what {
        Happening::PullRequest {
            action,
            number,
            title,
            url,
            by,
            ..
        } => {
            let (icon, verb) = match action {
                PrAction::Opened => ("🆕", "opened"),
                PrAction::Reopened => ("🔁", "reopened"),
                PrAction::Closed => ("🚫", "closed"),
                PrAction::Merged => ("🟣", "merged"),
                PrAction::Synchronize => return None,
            };
            m.head(icon, &format!("Pull request {repo}#{number} {verb}"), by);
            m.link(title, url);
        }
        Happening::Issue {
            action,
            number,
            title,
            url,
            by,
        } => {
            let (icon, verb) = match action {
                IssueAction::Opened => ("📝", "opened"),
                IssueAction::Closed => ("✅", "closed"),
                IssueAction::Reopened => ("🔁", "reopened"),
            };
            m.head(icon, &format!("Issue {repo}#{number} {verb}"), by);
            m.link(title, url);
        }
        Happening::Comment {
            number,
            on_pull_request,
            title,
            url,
            by,
            body,
            ..
        } => {
            let on = if *on_pull_request {
                "pull request"
            } else {
                "issue"
            };
            m.head("💬", &format!("Comment on {on} {repo}#{number}"), by);
            m.link(title, url);
            m.quote(body);
        }
        Happening::Review {
            number,
            title,
            url,
            by,
            approved,
            body,
        } => {
            let (icon, verb) = if *approved {
                ("👍", "approved")
            } else {
                ("✋", "changes requested")
            };
            m.head(icon, &format!("Review of {repo}#{number}: {verb}"), by);
            m.link(title, url);
            m.quote(body);
        }
        Happening::Push {
            branch,
            by,
            compare_url,
            commits,
            total,
        } => {
            let n = if *total == 1 { "commit" } else { "commits" };
            m.head("⬆️", &format!("{total} {n} pushed to {repo} {branch}"), by);
            for (sha, line) in commits {
                m.line(
                    &format!("• {sha} {line}"),
                    &format!("• <code>{}</code> {}", escape(sha), escape(line)),
                );
            }
            if *total > commits.len() {
                let more = format!("… and {} more", total - commits.len());
                m.line(&more, &escape(&more));
            }
            if !compare_url.is_empty() {
                m.link("compare", compare_url);
            }
        }
    }
    Some(Outgoing {
        text: m.plain,
        html: Some(m.html),
        reply_to: None,
    })
}

/// The same message built twice: plain and HTML.
#[derive(Default)]
struct Message {
    plain: String,
    html: String,
}

impl Message {
    fn line(&mut self, plain: &str, html: &str) {
        if !self.plain.is_empty() {
            self.plain.push('\n');
            self.html.push('\n');
        }
        self.plain.push_str(plain);
        self.html.push_str(html);
    }

    /// `icon What happened (by someone)`, the first line in bold.
    fn head(&mut self, icon: &str, what: &str, by: &str) {
        let by_plain = if by.is_empty() {
            String::new()
        } else {
            format!(" by {by}")
        };
        self.line(
            &format!("{icon} {what}{by_plain}"),
            &format!("{icon} <b>{}</b>{}", escape(what), escape(&by_plain)),
        );
    }

    /// The title linked to `url` (only a GitHub web address is linked).
    fn link(&mut self, title: &str, url: &str) {
        let title = if title.is_empty() { url } else { title };
        if url.starts_with("https://") {
            let plain = if title == url {
                url.to_string()
            } else {
                format!("{title}\n{url}")
            };
            let href = escape(url).replace('"', "&quot;");
            self.line(&plain, &format!("<a href=\"{href}\">{}</a>", escape(title)));
        } else if !title.is_empty() {
            self.line(title, &escape(title));
        }
    }

    fn quote(&mut self, body: &str) {
        let body = body.trim();
        if !body.is_empty() {
            self.line(body, &format!("<blockquote>{}</blockquote>", escape(body)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(what: Happening) -> Event {
        Event {
            repo: "acme/app".into(),
            what,
        }
    }

    #[test]
    fn titles_and_bodies_are_escaped_and_links_only_to_the_web() {
        let e = event(Happening::Comment {
            number: 3,
            on_pull_request: false,
            title: "<script>".into(),
            url: "https://github.com/acme/app/issues/3#c\"x".into(),
            by: "mallory".into(),
            body: "a <b>bold</b> & claim".into(),
            kai_marked: false,
        });
        let m = render(&e).unwrap();
        let html = m.html.unwrap();
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(
            html.contains("href=\"https://github.com/acme/app/issues/3#c&quot;x\""),
            "{html}"
        );
        assert!(html.contains("<blockquote>a &lt;b&gt;bold&lt;/b&gt; &amp; claim</blockquote>"));
        assert!(m
            .text
            .starts_with("💬 Comment on issue acme/app#3 by mallory\n<script>"));

        let sneaky = event(Happening::Issue {
            action: IssueAction::Opened,
            number: 1,
            title: "t".into(),
            url: "javascript:alert(1)".into(),
            by: String::new(),
        });
        assert!(!render(&sneaky).unwrap().html.unwrap().contains("href"));
    }

    #[test]
    fn a_push_lists_its_commits_and_counts_the_rest() {
        let e = event(Happening::Push {
            branch: "main".into(),
            by: "alice".into(),
            compare_url: "https://github.com/acme/app/compare/a...b".into(),
            commits: (0..5)
                .map(|i| (format!("abc{i}"), format!("change {i}")))
                .collect(),
            total: 8,
        });
        let text = render(&e).unwrap().text;
        assert!(text.starts_with("⬆️ 8 commits pushed to acme/app main by alice"));
        assert!(text.contains("• abc4 change 4\n… and 3 more"), "{text}");
    }

    #[test]
    fn new_commits_on_a_pull_request_are_not_told() {
        let e = event(Happening::PullRequest {
            action: PrAction::Synchronize,
            number: 1,
            title: "t".into(),
            url: String::new(),
            by: String::new(),
            head_sha: "x".into(),
        });
        assert!(render(&e).is_none());
    }
}
