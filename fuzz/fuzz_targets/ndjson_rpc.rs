//! What an agent writes on stdout, through the daemon's whole read path:
//! NDJSON framing (`kai::agent::ndjson`) then JSON-RPC decoding
//! (`kai::agent::codex::jsonrpc::decode`). The input is the raw stream.
//!
//! Properties:
//! - framing depends only on the bytes, never on how reads cut them: whole,
//!   byte by byte and randomly cut (with "not ready" pauses) all give the
//!   frames of a plain split at `\n`, so no byte is lost or duplicated;
//! - no line longer than the cap is ever yielded (it comes back as
//!   `TooLong(length)`), checked at the default cap and at caps on either
//!   side of the first line's length;
//! - every decoded message survives Kai's own encoders: re-encoded it is one
//!   line that frames and decodes to the same message, and the answer Kai
//!   sends to a server request carries back the exact id the server used
//!   (floats included: kai parses them exactly, `float_roundtrip`).
#![no_main]

use kai::agent::codex::jsonrpc::{decode, notification, request, response, Message, RpcError};
use kai::agent::ndjson::{Frame, MAX_LINE};
use kai_fuzz::stream::{expected_frames, read_frames, seed_of, Split};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let first_line = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let seed = seed_of(data);
    for cap in [MAX_LINE, first_line, first_line.saturating_sub(1)] {
        let expected = expected_frames(data, cap);
        for split in [Split::Whole, Split::Bytewise, Split::Random(seed)] {
            let frames = read_frames(data, cap, split);
            for frame in &frames {
                match frame {
                    Frame::Line(line) => assert!(line.len() <= cap && !line.contains(&b'\n')),
                    Frame::TooLong(n) => assert!(*n > cap),
                }
            }
            assert_eq!(frames, expected, "cap {cap}, {split:?}");
        }
    }
    for frame in expected_frames(data, MAX_LINE) {
        if let Frame::Line(line) = frame {
            check_reencoding(&line);
        }
    }
});

fn check_reencoding(line: &[u8]) {
    let Ok(message) = decode(line) else {
        return;
    };
    match &message {
        Message::Request { id, method, params } => {
            if let Some(n) = id.as_u64() {
                assert_reads_back(&request(n, method, params.clone()), &message);
            }
            // rpc.rs answers every server request with `response(&id, ..)`;
            // the server matches the answer by that id.
            for result in [
                Ok(Value::Null),
                Err(RpcError {
                    code: -32601,
                    message: method.clone(),
                    data: None,
                }),
            ] {
                let answer = response(id, result.clone());
                let expected = Message::Response {
                    id: id.clone(),
                    result,
                };
                assert_reads_back(&answer, &expected);
            }
        }
        Message::Notification { method, params } => {
            assert_reads_back(&notification(method, Some(params.clone())), &message);
            if params.is_null() {
                assert_reads_back(&notification(method, None), &message);
            }
        }
        Message::Response { id, result } => {
            // The encoder does not carry an error's `data` (Kai never sends one).
            let expected = Message::Response {
                id: id.clone(),
                result: result.clone().map_err(|e| RpcError { data: None, ..e }),
            };
            assert_reads_back(&response(id, result.clone()), &expected);
        }
    }
}

fn assert_reads_back(encoded: &[u8], expected: &Message) {
    let frames = read_frames(encoded, MAX_LINE, Split::Whole);
    match frames.as_slice() {
        [Frame::Line(line)] => match decode(line) {
            Ok(back) => assert!(
                back == *expected,
                "re-encoded {expected:?} reads back as {back:?}"
            ),
            Err(e) => panic!("re-encoded {expected:?} does not decode: {e}"),
        },
        other => panic!("encoded message is not one line: {other:?}"),
    }
    assert_eq!(encoded.last(), Some(&b'\n'));
}
