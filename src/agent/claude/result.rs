//! What Claude Code's `result` line says beyond the reply: why a turn
//! failed or was refused, and what it used (`usage`: input, output and
//! cache tokens; `total_cost_usd`). Split from `stream.rs`, which turns
//! every line into events.

use serde_json::Value;

use crate::usage::ClaudeTurn;

pub(super) fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// A failed `result` with no turn run: the CLI refused to start at all
/// (typically `--resume` of a conversation it cannot find); why.
pub fn refusal(v: &Value) -> Option<String> {
    let failed = str_at(v, "/type") == Some("result")
        && v.get("is_error").and_then(Value::as_bool) == Some(true)
        && v.get("num_turns").and_then(Value::as_u64) == Some(0);
    failed.then(|| result_error(v, str_at(v, "/subtype").unwrap_or("error")))
}

/// The most useful words about a failed turn: the CLI's own message when
/// it gave one, else its error list, else the subtype.
pub(super) fn result_error(v: &Value, subtype: &str) -> String {
    if let Some(r) = str_at(v, "/result").filter(|r| !r.trim().is_empty()) {
        return r.to_string();
    }
    let listed: Vec<&str> = v
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if listed.is_empty() {
        subtype.replace('_', " ")
    } else {
        listed.join("; ")
    }
}

/// The tokens and cost of the turn a `result` ends: `None` without a
/// `usage` object (older CLIs, a refused start), and no cost when
/// `total_cost_usd` is absent. `usage` covers the turn, but
/// `total_cost_usd` is the process's running total (2.1.328 reports
/// 0.00012, then 0.00024 for two equal turns), so the turn's cost is the
/// difference from `cost_so_far`, which is updated.
pub(super) fn turn_usage(v: &Value, cost_so_far: &mut f64) -> Option<ClaudeTurn> {
    let u = v.get("usage").filter(|u| u.is_object())?;
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    Some(ClaudeTurn {
        input: n("input_tokens"),
        output: n("output_tokens"),
        cache_read: n("cache_read_input_tokens"),
        cache_creation: n("cache_creation_input_tokens"),
        cost_usd: v
            .get("total_cost_usd")
            .and_then(Value::as_f64)
            .map(|total| {
                // A total below the last one means a new count started.
                let turn = if total >= *cost_so_far {
                    total - *cost_so_far
                } else {
                    total
                };
                *cost_so_far = total;
                turn
            }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_is_read_as_reported() {
        let r = json!({"type": "result", "subtype": "success", "total_cost_usd": 0.0123,
            "usage": {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 3,
                      "cache_creation_input_tokens": 2}});
        let mut so_far = 0.0;
        assert_eq!(
            turn_usage(&r, &mut so_far),
            Some(ClaudeTurn {
                input: 11,
                output: 7,
                cache_read: 3,
                cache_creation: 2,
                cost_usd: Some(0.0123)
            })
        );
        // The next result's total includes this turn's cost.
        let mut next = r.clone();
        next["total_cost_usd"] = json!(0.0200);
        let second = turn_usage(&next, &mut so_far).unwrap().cost_usd.unwrap();
        assert!((second - 0.0077).abs() < 1e-12, "{second}");
        assert_eq!(turn_usage(&json!({"type": "result"}), &mut so_far), None);
        let no_cost = json!({"usage": {"input_tokens": 1, "output_tokens": 1}});
        assert_eq!(turn_usage(&no_cost, &mut so_far).unwrap().cost_usd, None);
    }
}
