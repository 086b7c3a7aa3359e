//! The env file format (`kai::config::envfile`). Each input is used twice:
//! as the text of an env file, and as a map of variables (records split at
//! NUL if the input has one, else at `\n`; key and value split at the first
//! `=`), so keys and values of any shape reach the renderer.
//!
//! Properties:
//! - `parse` accounts for every line: it either returns one entry per line
//!   that is neither blank nor a comment, in order, each with a valid key,
//!   that line's number and a value without a newline; or it returns errors
//!   in line order, each naming such a line;
//! - what `parse` accepted renders to a file that parses back to the same
//!   variables (unless a value holds a carriage return, which `render`
//!   refuses);
//! - for any map `render` accepts, `parse(render(m))` gives back `m`, one
//!   sorted line per key; `render` refuses only invalid keys and values
//!   with a line break.
#![no_main]

use std::collections::BTreeMap;

use kai::config::envfile::{parse, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_parse(&text);
    check_round_trip(&as_map(&text));
});

fn check_parse(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let meaningful: Vec<usize> = (1..=lines.len())
        .filter(|&n| {
            let t = lines[n - 1].trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .collect();
    match parse(text) {
        Ok(entries) => {
            let numbers: Vec<usize> = entries.iter().map(|(n, _, _)| *n).collect();
            assert_eq!(numbers, meaningful, "every meaningful line is one entry");
            for (n, key, value) in &entries {
                assert!(is_valid_key(key), "line {n}: key {key:?}");
                assert!(lines[n - 1].trim_start().starts_with(key.as_str()));
                assert!(!value.contains('\n'), "line {n}: value {value:?}");
            }
            // Like systemd, a later assignment of the same key wins.
            let vars: BTreeMap<String, String> =
                entries.into_iter().map(|(_, k, v)| (k, v)).collect();
            match render(&vars) {
                Ok(canonical) => assert_eq!(parse_to_map(&canonical), vars),
                Err(e) => assert!(vars.values().any(|v| v.contains('\r')), "{e}"),
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            let mut previous = 0;
            for e in &errors {
                assert!(e.line > previous, "errors out of line order: {errors:?}");
                assert!(meaningful.contains(&e.line), "error on a skipped line: {e}");
                assert!(!e.reason.is_empty());
                previous = e.line;
            }
        }
    }
}

fn check_round_trip(vars: &BTreeMap<String, String>) {
    match render(vars) {
        Ok(text) => {
            let entries = parse(&text).unwrap_or_else(|e| panic!("{e:?} in {text:?}"));
            let numbers: Vec<usize> = entries.iter().map(|(n, _, _)| *n).collect();
            assert_eq!(numbers, (1..=vars.len()).collect::<Vec<_>>());
            let back: Vec<(&String, &String)> = entries.iter().map(|(_, k, v)| (k, v)).collect();
            assert_eq!(back, vars.iter().collect::<Vec<_>>());
        }
        Err(e) => assert!(
            vars.iter()
                .any(|(k, v)| !is_valid_key(k) || v.contains(['\n', '\r'])),
            "render refused a representable map: {e}"
        ),
    }
}

fn parse_to_map(text: &str) -> BTreeMap<String, String> {
    parse(text)
        .unwrap_or_else(|e| panic!("{e:?} in {text:?}"))
        .into_iter()
        .map(|(_, k, v)| (k, v))
        .collect()
}

fn as_map(text: &str) -> BTreeMap<String, String> {
    let separator = if text.contains('\0') { '\0' } else { '\n' };
    text.split(separator)
        .filter_map(|record| record.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The documented key syntax: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
