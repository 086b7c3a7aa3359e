//! `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body
//! under the webhook secret. Checked before anything else looks at the
//! request, and compared in constant time (the `hmac` crate's `verify`), so
//! the answer's timing tells a forger nothing about the right signature.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::token::Secret;

/// Whether `header` (the value of `X-Hub-Signature-256`) signs `body`.
pub fn verify(secret: &Secret, header: Option<&str>, body: &[u8]) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The header value GitHub would send for `body` (tests and the benchmark
/// sign their deliveries with it).
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    // HMAC takes a key of any length; the error arm cannot happen.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test vector ("Validating webhook deliveries").
    #[test]
    fn githubs_test_vector() {
        let secret = Secret::new("It's a Secret to Everybody");
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(&secret, b"Hello, World!"), expected);
        assert!(verify(&secret, Some(expected), b"Hello, World!"));
    }

    #[test]
    fn anything_else_is_refused() {
        let secret = Secret::new("It's a Secret to Everybody");
        let good = sign(&secret, b"Hello, World!");
        assert!(!verify(&secret, None, b"Hello, World!"));
        assert!(!verify(&secret, Some(""), b"Hello, World!"));
        assert!(!verify(&secret, Some(&good), b"Hello, World?"));
        assert!(!verify(
            &Secret::new("other"),
            Some(&good),
            b"Hello, World!"
        ));
        // The old SHA-1 header format, and a bare hex digest.
        assert!(!verify(
            &secret,
            Some(&good.replace("sha256=", "sha1=")),
            b"Hello, World!"
        ));
        assert!(!verify(&secret, Some(&good[7..]), b"Hello, World!"));
        assert!(!verify(&secret, Some("sha256=zz"), b"Hello, World!"));
        // A truncated signature is not a prefix match.
        assert!(!verify(
            &secret,
            Some(&good[..good.len() - 2]),
            b"Hello, World!"
        ));
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }
}
