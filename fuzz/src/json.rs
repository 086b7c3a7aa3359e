//! Equality of decoded JSON-RPC messages up to one known, accepted loss:
//! serde_json as Kai builds it (without its `float_roundtrip` feature) may
//! read a printed float back one ULP away. Everything else compares exactly,
//! in particular integer and string ids, the only ids real servers use.

use kai::agent::jsonrpc::{Message, RpcError};
use serde_json::Value;

pub fn same_message(a: &Message, b: &Message) -> bool {
    match (a, b) {
        (
            Message::Response { id, result },
            Message::Response {
                id: id2,
                result: result2,
            },
        ) => {
            same_json(id, id2)
                && match (result, result2) {
                    (Ok(x), Ok(y)) => same_json(x, y),
                    (Err(x), Err(y)) => same_error(x, y),
                    _ => false,
                }
        }
        (
            Message::Notification { method, params },
            Message::Notification {
                method: method2,
                params: params2,
            },
        ) => method == method2 && same_json(params, params2),
        (
            Message::Request { id, method, params },
            Message::Request {
                id: id2,
                method: method2,
                params: params2,
            },
        ) => same_json(id, id2) && method == method2 && same_json(params, params2),
        _ => false,
    }
}

fn same_error(a: &RpcError, b: &RpcError) -> bool {
    a.code == b.code
        && a.message == b.message
        && match (&a.data, &b.data) {
            (Some(x), Some(y)) => same_json(x, y),
            (None, None) => true,
            _ => false,
        }
}

pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => within_one_ulp(x, y),
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn within_one_ulp(x: f64, y: f64) -> bool {
    x == y
        || (x.is_sign_negative() == y.is_sign_negative() && x.to_bits().abs_diff(y.to_bits()) <= 1)
}
