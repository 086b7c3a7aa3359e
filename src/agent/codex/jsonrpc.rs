//! JSON-RPC 2.0 messages as the codex app-server speaks them: the `jsonrpc`
//! field may be absent, ids may be numbers or strings, and anything that is
//! not a well-formed message is an error for the caller to skip and log.

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// An answer to one of our requests.
    Response {
        id: Value,
        result: Result<Value, RpcError>,
    },
    /// Something the server tells us with no answer expected.
    Notification { method: String, params: Value },
    /// Something the server asks us (approvals, user input); must be answered.
    Request {
        id: Value,
        method: String,
        params: Value,
    },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a JSON-RPC message: {0}")]
    NotRpc(&'static str),
}

pub fn decode(line: &[u8]) -> Result<Message, DecodeError> {
    let value: Value =
        serde_json::from_slice(line).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(DecodeError::NotRpc("not an object"));
    };
    let id = obj.remove("id").filter(|v| v.is_number() || v.is_string());
    let method = match obj.remove("method") {
        Some(Value::String(m)) => Some(m),
        Some(_) => return Err(DecodeError::NotRpc("method is not a string")),
        None => None,
    };
    let params = obj.remove("params").unwrap_or(Value::Null);
    match (id, method) {
        (Some(id), Some(method)) => Ok(Message::Request { id, method, params }),
        (None, Some(method)) => Ok(Message::Notification { method, params }),
        (Some(id), None) => {
            if let Some(err) = obj.remove("error") {
                let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
                let message = err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_string();
                let data = err.get("data").cloned();
                Ok(Message::Response {
                    id,
                    result: Err(RpcError {
                        code,
                        message,
                        data,
                    }),
                })
            } else if let Some(result) = obj.remove("result") {
                Ok(Message::Response {
                    id,
                    result: Ok(result),
                })
            } else {
                Err(DecodeError::NotRpc("response without result or error"))
            }
        }
        (None, None) => Err(DecodeError::NotRpc("neither id nor method")),
    }
}

pub fn request(id: u64, method: &str, params: Value) -> Vec<u8> {
    line(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

pub fn notification(method: &str, params: Option<Value>) -> Vec<u8> {
    match params {
        Some(p) => line(json!({"jsonrpc": "2.0", "method": method, "params": p})),
        None => line(json!({"jsonrpc": "2.0", "method": method})),
    }
}

pub fn response(id: &Value, result: Result<Value, RpcError>) -> Vec<u8> {
    match result {
        Ok(r) => line(json!({"jsonrpc": "2.0", "id": id, "result": r})),
        Err(e) => line(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}}),
        ),
    }
}

fn line(v: Value) -> Vec<u8> {
    let mut out = v.to_string().into_bytes();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz finding: a float id (an integer too big for 64 bits) must come
    /// back exactly in our answer, or the server cannot match it.
    #[test]
    fn a_huge_numeric_id_is_answered_with_the_same_id() {
        let line = br#"{"id":1333323333333333333338446744073709551615,"method":"x/y","params":{}}"#;
        let Ok(Message::Request { id, .. }) = decode(line) else {
            panic!("not a request");
        };
        let answer = response(&id, Ok(Value::Null));
        let Ok(Message::Response { id: back, .. }) = decode(answer.trim_ascii_end()) else {
            panic!("not a response");
        };
        assert_eq!(back, id);
    }

    #[test]
    fn classifies_the_three_kinds_with_or_without_jsonrpc_field() {
        assert!(matches!(
            decode(br#"{"id":1,"result":{"x":1}}"#),
            Ok(Message::Response { result: Ok(_), .. })
        ));
        assert!(matches!(
            decode(br#"{"jsonrpc":"2.0","id":"a","error":{"code":-32600,"message":"bad"}}"#),
            Ok(Message::Response {
                result: Err(RpcError { code: -32600, .. }),
                ..
            })
        ));
        assert!(matches!(
            decode(br#"{"method":"turn/completed","params":{}}"#),
            Ok(Message::Notification { .. })
        ));
        assert!(matches!(
            decode(br#"{"id":5,"method":"item/commandExecution/requestApproval","params":{}}"#),
            Ok(Message::Request { .. })
        ));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b"not json"[..],
            b"[1,2]",
            b"{}",
            b"{\"id\":1}",
            b"{\"method\":3}",
            b"\xff\xfe",
            b"",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn encodes_one_line_each() {
        let r = request(3, "thread/start", json!({"cwd": "/w"}));
        assert!(r.ends_with(b"\n") && !r[..r.len() - 1].contains(&b'\n'));
        let back = decode(&r[..r.len() - 1]).unwrap();
        assert_eq!(
            back,
            Message::Request {
                id: json!(3),
                method: "thread/start".into(),
                params: json!({"cwd": "/w"})
            }
        );
        assert_eq!(
            notification("initialized", None),
            b"{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}\n".to_vec()
        );
    }
}
