//! What the owner's Telegram chat is told about a job: the pull request
//! (`o/r#N`, title, link) and whether the review was posted or why not.

use super::worker::Outcome;

pub fn summary(repo: &str, number: u64, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Posted {
            title,
            pr_url,
            comment_url,
        } => {
            format!("🔎 Reviewed {repo}#{number} “{title}”\n{pr_url}\nReview posted: {comment_url}")
        }
        Outcome::Failed { title, pr_url, why } => {
            let mut s = format!("⚠️ No review posted for {repo}#{number}");
            if let Some(t) = title {
                s.push_str(&format!(" “{t}”"));
            }
            if let Some(u) = pr_url {
                s.push_str(&format!("\n{u}"));
            }
            s.push_str(&format!("\nWhy: {why}"));
            s
        }
    }
}
