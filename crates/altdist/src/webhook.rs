//! What App Store Connect posts to a webhook: the payload and its signature.
//!
//! Apple signs each body with the webhook's secret and sends
//! `x-apple-signature: hmacsha256=<hex HMAC-SHA256 of the raw body>`
//! ([Configuring and parsing App Store Connect API webhook notifications](https://developer.apple.com/documentation/appstoreconnectapi/configuring-webhook-notifications)).
//! The payload is a JSON:API-like resource whose `type` names the event
//! ([Understanding webhook events](https://developer.apple.com/documentation/appstoreconnectapi/webhook-events)).

use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-apple-signature";

/// The prefix of the header's value.
const SCHEME: &str = "hmacsha256=";

/// The `x-apple-signature` value of `body` signed with `secret`: `hmacsha256=` and the hex
/// HMAC-SHA256, lower case.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, body);
    let mut out = String::with_capacity(SCHEME.len() + 64);
    out.push_str(SCHEME);
    for byte in tag.as_ref() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Whether `header` (the `x-apple-signature` value) signs `body` with `secret`, compared in
/// constant time. Upper- or lower-case hex and a missing `hmacsha256=` prefix are accepted.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let hex = header.trim();
    let hex = hex
        .get(..SCHEME.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(SCHEME))
        .map_or(hex, |_| &hex[SCHEME.len()..]);
    let Some(tag) = decode_hex(hex) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, body, &tag).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
        .collect()
}

/// A webhook's body: `{"data": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// The event.
    pub data: PayloadData,
}

/// The event of a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadData {
    /// The event's kind, like `alternativeDistributionPackageVersionCreated` or
    /// `webhookPingCreated`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's id: the same in every delivery of the event, so a receiver can drop repeats.
    pub id: String,
    /// The payload's version (1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// What happened: `timestamp` always, and what the event type adds (`appId`, `newValue`...).
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// `instance`: the resource the event is about; `marketplaceApp` for marketplaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<Map<String, Value>>,
}

/// The `data.type` of a ping.
pub const PING_TYPE: &str = "webhookPingCreated";

#[cfg(test)]
mod tests {
    use super::*;

    /// Apple's example in "Configuring and parsing App Store Connect API webhook notifications".
    #[test]
    fn apples_example_signature() {
        let expected =
            "hmacsha256=7f062172b01cb00b53ca068614674a3d982a34062a0f5d37687d5e3377e54657";
        assert_eq!(signature(b"This is my secret", b"Hello, World!"), expected);
        assert!(verify(b"This is my secret", b"Hello, World!", expected));
        assert!(verify(
            b"This is my secret",
            b"Hello, World!",
            &expected.to_ascii_uppercase()
        ));
        assert!(!verify(b"This is my secret", b"Hello, World?", expected));
        assert!(!verify(b"another secret", b"Hello, World!", expected));
        assert!(!verify(
            b"This is my secret",
            b"Hello, World!",
            "hmacsha256=zz"
        ));
        assert!(!verify(b"This is my secret", b"Hello, World!", ""));
    }
}
