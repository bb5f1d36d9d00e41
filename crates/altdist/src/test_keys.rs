//! Fixed keys for tests.
//!
//! **These keys are public. They must be used only for testing purposes, never to sign anything
//! that a real App Store Connect or install flow will see.** Made with openssl 3.

#![expect(missing_docs, reason = "test fixtures named after what they hold")]

pub const SEC1_PRIVATE: &str = "\
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIJ8+AYijOZwsJhbwu7b76mT4uIkGZSV5mbkY+qDbbbXXoAoGCCqGSM49
AwEHoUQDQgAEXw4x3bUY198B/YiUjX6jzBu+xSP956WkUJ1dMFm9EZQd9xo9+Jjo
rbHXESfvQqXnSDN6tISmfBQDAGfxInMxnQ==
-----END EC PRIVATE KEY-----\n";

pub const PKCS8_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgnz4BiKM5nCwmFvC7
tvvqZPi4iQZlJXmZuRj6oNtttdehRANCAARfDjHdtRjX3wH9iJSNfqPMG77FI/3n
paRQnV0wWb0RlB33Gj34mOitsdcRJ+9CpedIM3q0hKZ8FAMAZ/EiczGd
-----END PRIVATE KEY-----\n";

pub const PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXw4x3bUY198B/YiUjX6jzBu+xSP9
56WkUJ1dMFm9EZQd9xo9+JjorbHXESfvQqXnSDN6tISmfBQDAGfxInMxnQ==
-----END PUBLIC KEY-----\n";

pub const EC_PARAMETERS: &str = "\
-----BEGIN EC PARAMETERS-----
BggqhkjOPQMBBw==
-----END EC PARAMETERS-----\n";

pub const P384_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEOUhQusRdom5W4MdOOz0o/lXrjot1Yj5n
FvFUlXATGMc4JcUgVEDWHE8aue6E2bza7UrfBskLnlmKUI/vlDZmDvoAC23iPGkD
T8G/8CEvFWgZN1vqWbbKnzaH5dQmpu94
-----END PUBLIC KEY-----\n";

pub const SECP256K1_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEgMDZXl2B2Hz9Ov7GoDxxCge7V0sgTk8E
RMxxs8gPgHfT6kjYgRqpaZlls1u3UqKnyFVw5dsBbRnW3SC/gEBaJA==
-----END PUBLIC KEY-----\n";

pub const RSA_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDG487z03W52VvoO94Fayq4Czs4
yfI5jkhA5kuPaQRbmuzbnplrUHKFBIZ4+h4nrHcQx1xxKbx15SZHNxf+wntCQ+RT
fyH3zqeGqCaXMtSjxpIvxIaYwjqp39Iap+b8lQydBijtDMTVMjWZtOPSsGPEp6zu
ytlP8baQLaGY5VHt/wIDAQAB
-----END PUBLIC KEY-----\n";

pub const ED25519_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAgGuR3ugwYgKqWyytsRyOh9d4ZbEybMNzPzR99JZppK8=
-----END PUBLIC KEY-----\n";

pub const CERTIFICATE: &str = "\
-----BEGIN CERTIFICATE-----
MIIBhDCCASmgAwIBAgIUV4YjkWNh/My82+st2pNQ6c1hXpQwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMYWx0ZGlzdC10ZXN0MB4XDTI2MTEyMzExMjQ1MloXDTM2MTEy
MDExMjQ1MlowFzEVMBMGA1UEAwwMYWx0ZGlzdC10ZXN0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEXw4x3bUY198B/YiUjX6jzBu+xSP956WkUJ1dMFm9EZQd9xo9
+JjorbHXESfvQqXnSDN6tISmfBQDAGfxInMxnaNTMFEwHQYDVR0OBBYEFNHrMQ9l
i6HExLGhWB9QMkNj6SLHMB8GA1UdIwQYMBaAFNHrMQ9li6HExLGhWB9QMkNj6SLH
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAPNwtix/5B+yVbaS
a09DpK+YLAwaBMGHjA381H3y1u6eAiEAgR1ZWum1UhPRufGhIGOL/4lBKGrTwrAp
KA4uZeqHf8s=
-----END CERTIFICATE-----\n";

pub const PUBLIC_FINGERPRINT: &str =
    "cc7fb7bba858973d57ad2bc9e5d37779a3c088192b1d3a7ef34f850c1911f162";

pub const P384_PRIVATE: &str = "\
-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDCYdBfuEtTheETq3cXr76nmt1gBZ9IHv+0AL8cft/LSc6rScrm1AG0N
d/y9VaGFCu6gBwYFK4EEACKhZANiAAQ+xafxhbXVnzuhDM+3Fj2y254sAq6uxH+H
OdaWzH+XrSOE6ShbBNJAQk8D+Id01x9IPkrjLaD6DPxW6Lyw1z6eE8go7a++rJGJ
ygB6JX8ENfkvcM9lSEEPf8F4mzQ4F58=
-----END EC PRIVATE KEY-----\n";

/// A compact JWS of any `header` and `claims`, signed with `key`: tokens shaped as third-party
/// libraries shape them (no `typ`, no `iat`, `aud` as an array), which [`crate::TokenSigner`]
/// never writes.
pub fn sign_raw(
    key: &crate::PrivateKey,
    header: &serde_json::Value,
    claims: &serde_json::Value,
) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(input.as_bytes()).expect("a P-256 key signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}
