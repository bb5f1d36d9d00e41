//! [`decode`]: a compact JWS split into its header, claims and signature, nothing checked yet.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};

/// A compact JWS split and decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct DecodedToken<'a> {
    pub(super) header: Map<String, Value>,
    pub(super) claims: Map<String, Value>,
    pub(super) signing_input: &'a str,
    pub(super) signature: Vec<u8>,
}

/// Splits and decodes a compact JWS without checking anything but its shape.
pub fn decode(token: &str) -> Result<DecodedToken<'_>, Error> {
    let token = token.trim();
    let malformed = |why: String| Error::new(ErrorKind::Token(format!("not a compact JWS: {why}")));
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(format!(
            "expected three base64url parts separated by dots, found {}",
            token.split('.').count()
        )));
    };
    let json_part = |name: &str, part: &str| -> Result<Map<String, Value>, Error> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|err| malformed(format!("the {name} is not base64url ({err})")))?;
        serde_json::from_slice(&bytes)
            .map_err(|err| malformed(format!("the {name} is not a JSON object ({err})")))
    };
    let header = json_part("header", header)?;
    let claims = json_part("payload", payload)?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|err| malformed(format!("the signature is not base64url ({err})")))?;
    Ok(DecodedToken {
        header,
        claims,
        signing_input,
        signature,
    })
}

impl DecodedToken<'_> {
    /// The JOSE header.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The payload's claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The header's `kid`, if it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// The claims as a typed struct.
    pub fn claims_as<C: DeserializeOwned>(&self) -> Result<C, Error> {
        serde_json::from_value(Value::Object(self.claims.clone()))
            .map_err(|err| Error::new(ErrorKind::Token(format!("unexpected claims: {err}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_header_claims_and_signature() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","kid":"K"}"#);
        let claims = URL_SAFE_NO_PAD.encode(br#"{"iss":"6476788026"}"#);
        let token = format!("{header}.{claims}.AAEC");
        let padded = format!(" {token}\n");
        let decoded = decode(&padded).unwrap();
        assert_eq!(decoded.kid(), Some("K"));
        assert_eq!(decoded.claim_str("iss"), Some("6476788026"));
        assert_eq!(decoded.signing_input, format!("{header}.{claims}"));
        assert_eq!(decoded.signature, [0, 1, 2]);
    }

    #[test]
    fn says_which_part_is_broken() {
        let err = decode("a.b").unwrap_err().to_string();
        assert!(err.contains("found 2"), "{err}");
        let err = decode("e30.!!.AA").unwrap_err().to_string();
        assert!(err.contains("the payload is not base64url"), "{err}");
    }
}
