//! [`TokenSigner`]: issues ES256 tokens with one key and one `kid`.

use aws_lc_rs::rand::SystemRandom;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::key::PrivateKey;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    typ: &'static str,
}

/// Issues ES256 tokens with one key and one `kid`.
///
/// The key is parsed once and the header encoded once, when the signer is made.
pub struct TokenSigner {
    key: PrivateKey,
    encoded_header: String,
    rng: SystemRandom,
}

impl TokenSigner {
    /// A signer writing header `{"alg":"ES256","kid":kid,"typ":"JWT"}` (no `kid` when `None`).
    pub fn new(key: PrivateKey, kid: Option<&str>) -> Self {
        let header = Header {
            alg: "ES256",
            kid,
            typ: "JWT",
        };
        // A struct of strings always serializes.
        let header_json = serde_json::to_vec(&header).unwrap_or_default();
        Self {
            key,
            encoded_header: URL_SAFE_NO_PAD.encode(header_json),
            rng: SystemRandom::new(),
        }
    }

    /// The signing key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// Signs `claims` and returns the compact JWS `header.payload.signature`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, Error> {
        let payload = serde_json::to_vec(claims).map_err(|err| {
            Error::new(ErrorKind::Token(format!(
                "the claims cannot be encoded: {err}"
            )))
        })?;
        let mut token =
            String::with_capacity(self.encoded_header.len() + payload.len() * 4 / 3 + 92);
        token.push_str(&self.encoded_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = self.key.sign_with(token.as_bytes(), &self.rng)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::jwt::testing::{NOW, at_now, public, signer};
    use crate::jwt::{MarketplaceTokenClaims, TokenKind, decode, verify};

    #[test]
    fn the_header_is_es256_jwt_with_the_kid() {
        let token = signer(Some("2X9R4HXF34"))
            .sign(&serde_json::json!({}))
            .unwrap();
        let decoded = decode(&token).unwrap();
        assert_eq!(
            serde_json::Value::Object(decoded.header().clone()),
            serde_json::json!({"alg": "ES256", "kid": "2X9R4HXF34", "typ": "JWT"})
        );
    }

    #[test]
    fn marketplace_token_needs_no_kid() {
        let claims =
            MarketplaceTokenClaims::new("6476788026", "TEAM123456", NOW, Duration::from_secs(3600))
                .unwrap();
        let token = signer(None).sign(&claims).unwrap();
        assert!(!decode(&token).unwrap().header().contains_key("kid"));
        assert!(verify(&token, &public(), &at_now(TokenKind::Marketplace)).is_valid());
    }
}
