//! codex's usage notifications as [`Usage`] figures (codex 0.169.0's
//! schema, `codex app-server generate-json-schema`):
//! `account/rateLimits/updated` `{rateLimits: {primary, secondary}}`, each
//! window `{usedPercent, windowDurationMins?, resetsAt?}` and sparse (a
//! missing window means "no news", never "gone"); the same snapshot answers
//! `account/rateLimits/read`; `thread/tokenUsage/updated` `{threadId,
//! tokenUsage: {total, last, modelContextWindow?}}`.

use serde_json::Value;

use crate::usage::{RateLimits, ThreadTokens, Tokens, Usage, Window};

/// The figures a notification carries; `None` for other methods or a
/// shape that is not codex's (then nothing is shown rather than a guess).
pub fn parse(method: &str, params: &Value) -> Option<Usage> {
    match method {
        "account/rateLimits/updated" => {
            rate_limits(params.get("rateLimits")?).map(Usage::RateLimits)
        }
        "thread/tokenUsage/updated" => {
            let usage = params.get("tokenUsage")?;
            Some(Usage::Thread(ThreadTokens {
                thread: params.get("threadId")?.as_str()?.to_string(),
                total: tokens(usage.get("total")?)?,
                last: tokens(usage.get("last")?)?,
                context_window: usage.get("modelContextWindow").and_then(Value::as_i64),
            }))
        }
        _ => None,
    }
}

/// A `RateLimitSnapshot`'s two windows.
pub fn rate_limits(snapshot: &Value) -> Option<RateLimits> {
    let window = |key: &str| -> Option<Window> {
        let w = snapshot.get(key)?;
        Some(Window {
            used_percent: w.get("usedPercent")?.as_f64()?,
            window_minutes: w.get("windowDurationMins").and_then(Value::as_i64),
            resets_at: w.get("resetsAt").and_then(Value::as_i64),
        })
    };
    snapshot.is_object().then(|| RateLimits {
        primary: window("primary"),
        secondary: window("secondary"),
    })
}

fn tokens(v: &Value) -> Option<Tokens> {
    let n = |k: &str| v.get(k).and_then(Value::as_i64);
    Some(Tokens {
        input: n("inputTokens")?,
        cached_input: n("cachedInputTokens").unwrap_or(0),
        output: n("outputTokens")?,
        reasoning_output: n("reasoningOutputTokens").unwrap_or(0),
        total: n("totalTokens")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notifications_of_codex_0_169() {
        let limits = json!({"rateLimits": {"limitId": "codex",
            "primary": {"usedPercent": 42, "windowDurationMins": 300, "resetsAt": 1_800_000_000},
            "secondary": null}});
        assert_eq!(
            parse("account/rateLimits/updated", &limits),
            Some(Usage::RateLimits(RateLimits {
                primary: Some(Window {
                    used_percent: 42.0,
                    window_minutes: Some(300),
                    resets_at: Some(1_800_000_000)
                }),
                secondary: None
            }))
        );
        let b = json!({"inputTokens": 10, "cachedInputTokens": 2, "outputTokens": 5,
                       "reasoningOutputTokens": 1, "totalTokens": 15});
        let tokens = json!({"threadId": "t1", "turnId": "u1",
            "tokenUsage": {"total": b, "last": b, "modelContextWindow": 272000}});
        let Some(Usage::Thread(t)) = parse("thread/tokenUsage/updated", &tokens) else {
            panic!()
        };
        assert_eq!(
            (t.thread.as_str(), t.total.total, t.context_window),
            ("t1", 15, Some(272000))
        );
        assert_eq!(
            parse("thread/tokenUsage/updated", &json!({"threadId": "t"})),
            None
        );
    }
}
