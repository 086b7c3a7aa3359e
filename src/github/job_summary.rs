//! What the owner's Telegram chat is told about a job: the pull request or
//! issue (`o/r#N`, title, link) and what was posted, or why nothing was.
//! The worker (`worker.rs`, `triage_job.rs`) ends each job in an [`Outcome`]
//! and the notifier (`notice_sender.rs`) sends its summary.

use super::deliveries::JobKind;

/// How a job ended, as recorded and told.
pub enum Outcome {
    Posted {
        title: String,
        url: String,
        comment_url: String,
        /// A triage's gist for the owner's chat.
        detail: Option<String>,
    },
    Failed {
        title: Option<String>,
        url: Option<String>,
        why: String,
    },
}

pub fn summary(kind: JobKind, repo: &str, number: u64, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Posted {
            title,
            url,
            comment_url,
            detail,
        } => {
            let (icon, done, posted) = match kind {
                JobKind::Review => ("🔎", "Reviewed", "Review posted"),
                JobKind::Triage => ("🏷️", "Triaged", "Triage posted"),
            };
            let mut s = format!("{icon} {done} {repo}#{number} “{title}”\n{url}");
            if let Some(d) = detail {
                s.push_str(&format!("\n{d}"));
            }
            s.push_str(&format!("\n{posted}: {comment_url}"));
            s
        }
        Outcome::Failed { title, url, why } => {
            let what = match kind {
                JobKind::Review => "No review posted",
                JobKind::Triage => "No triage for",
            };
            let mut s = format!("⚠️ {what} {repo}#{number}");
            if let Some(t) = title {
                s.push_str(&format!(" “{t}”"));
            }
            if let Some(u) = url {
                s.push_str(&format!("\n{u}"));
            }
            s.push_str(&format!("\nWhy: {why}"));
            s
        }
    }
}
