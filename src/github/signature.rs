//! `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body
//! under the webhook secret. Checked before anything else looks at the
//! request, and compared in constant time (the `hmac` crate's `verify`), so
//! the answer's timing tells a forger nothing about the right signature.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::token::Secret;

/// Whether `header` (the value of `X-Hub-Signature-256`) signs `body`: the
/// whole-body form of [`Check`], which the webhook streams through.
#[cfg(test)]
fn verify(secret: &Secret, header: Option<&str>, body: &[u8]) -> bool {
    let Some(mut check) = Check::new(secret, header) else {
        return false;
    };
    check.update(body);
    check.matches()
}

/// A signature checked as the body streams in, so the webhook never holds
/// an unauthenticated body to check it (docs/design.md, "The webhook
/// listener's limits").
pub struct Check {
    mac: Hmac<Sha256>,
    claimed: [u8; 32],
}

impl Check {
    /// None unless `header` has the shape GitHub sends (`sha256=` and 64 hex
    /// digits): a request without one is refused before its body is read.
    pub fn new(secret: &Secret, header: Option<&str>) -> Option<Check> {
        let hex_sig = header?.trim().strip_prefix("sha256=")?;
        let mut claimed = [0u8; 32];
        hex::decode_to_slice(hex_sig, &mut claimed).ok()?;
        let mac = Hmac::<Sha256>::new_from_slice(secret.expose()).ok()?;
        Some(Check { mac, claimed })
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.mac.update(chunk);
    }

    /// Whether everything passed to `update` is what the header signed.
    pub fn matches(self) -> bool {
        self.mac.verify_slice(&self.claimed).is_ok()
    }
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

    #[test]
    fn a_body_checked_in_pieces_is_checked_whole() {
        let secret = Secret::new("It's a Secret to Everybody");
        let good = sign(&secret, b"Hello, World!");
        let mut check = Check::new(&secret, Some(&good)).unwrap();
        for piece in [&b"Hello"[..], b", ", b"World", b"!"] {
            check.update(piece);
        }
        assert!(check.matches());
        let mut short = Check::new(&secret, Some(&good)).unwrap();
        short.update(b"Hello, World");
        assert!(!short.matches());
        // The header's shape is judged before any body byte is read.
        assert!(Check::new(&secret, Some("sha256=")).is_none());
        assert!(Check::new(&secret, Some(&format!("{good}00"))).is_none());
        assert!(Check::new(&secret, None).is_none());
    }
}
