//! The outcome of a verification: every [`Check`], passed or failed, named by a [`CheckName`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::Error;

/// The rule a [`Check`] is about.
///
/// Serialized as the name of the header member or claim it checks (`"kid"`, `"nonce"`), or of
/// the rule (`"signature"`, `"lifetime"`); these strings are part of the sandbox's JSON and of
/// `altdist token verify --json`, and never change. A name this version does not know (a newer
/// server's check) reads as [`CheckName::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckName {
    /// `format`: the token is a compact JWS of JSON header and claims.
    Format,
    /// `alg`: the header's algorithm is `ES256`.
    Alg,
    /// `typ`: the header's type is `JWT`.
    Typ,
    /// `kid`: the header's key id.
    Kid,
    /// `signature`: the ES256 signature verifies with the key.
    Signature,
    /// `iat`: issued at, not in the future.
    Iat,
    /// `exp`: expires at, not in the past.
    Exp,
    /// `lifetime`: `exp - iat` (or `exp - now`) within the kind's limit.
    Lifetime,
    /// `aud`: the audience of the token's kind.
    Aud,
    /// `iss`: the issuer.
    Iss,
    /// `sub`: `user`, for an individual API key's token.
    Sub,
    /// `scope`: the requests an API token may make.
    Scope,
    /// `bid`: the bundle id of the app being installed.
    Bid,
    /// `dtype`: `download` or `redownload`.
    Dtype,
    /// `nonce`: a UUID, and (in altdist's sandbox) never seen before.
    Nonce,
    /// `iid`: the Apple item id of the app being installed.
    Iid,
    /// `vid`: the Apple version id of the app being installed.
    Vid,
    /// `pid`: the developer id of a marketplace token.
    Pid,
    /// `key`: altdist's sandbox found the key of a token without `kid` through its app.
    Key,
    /// `app`: altdist's sandbox found the app the token speaks for.
    App,
    /// `appId`: the app id sent with a sandbox request names a usable app.
    AppId,
    /// A check this version does not know, by its name.
    Other(String),
}

impl CheckName {
    /// Every name this version knows, [`CheckName::Other`] aside.
    pub const KNOWN: [CheckName; 21] = [
        Self::Format,
        Self::Alg,
        Self::Typ,
        Self::Kid,
        Self::Signature,
        Self::Iat,
        Self::Exp,
        Self::Lifetime,
        Self::Aud,
        Self::Iss,
        Self::Sub,
        Self::Scope,
        Self::Bid,
        Self::Dtype,
        Self::Nonce,
        Self::Iid,
        Self::Vid,
        Self::Pid,
        Self::Key,
        Self::App,
        Self::AppId,
    ];

    /// The name as it appears in JSON: `"kid"`, `"signature"`, `"appId"`...
    pub fn as_str(&self) -> &str {
        match self {
            Self::Format => "format",
            Self::Alg => "alg",
            Self::Typ => "typ",
            Self::Kid => "kid",
            Self::Signature => "signature",
            Self::Iat => "iat",
            Self::Exp => "exp",
            Self::Lifetime => "lifetime",
            Self::Aud => "aud",
            Self::Iss => "iss",
            Self::Sub => "sub",
            Self::Scope => "scope",
            Self::Bid => "bid",
            Self::Dtype => "dtype",
            Self::Nonce => "nonce",
            Self::Iid => "iid",
            Self::Vid => "vid",
            Self::Pid => "pid",
            Self::Key => "key",
            Self::App => "app",
            Self::AppId => "appId",
            Self::Other(name) => name,
        }
    }
}

/// A known name becomes its variant, anything else [`CheckName::Other`].
impl From<&str> for CheckName {
    fn from(name: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|known| known.as_str() == name)
            .unwrap_or_else(|| Self::Other(name.to_owned()))
    }
}

impl std::fmt::Display for CheckName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that `{:<9}` lines up a report's columns.
        f.pad(self.as_str())
    }
}

impl Serialize for CheckName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CheckName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from(name.as_ref()))
    }
}

/// One rule a token was checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Check {
    /// The rule: `signature`, `alg`, `typ`, `kid`, `aud`, `exp`, `iat`, `lifetime`, or a claim name.
    pub name: CheckName,
    /// Whether the token passed it.
    pub ok: bool,
    /// What was found, and for a failure what was expected.
    pub detail: String,
    /// For a replayed nonce: when the nonce was first seen (RFC 3339), as `detail` says too,
    /// for a program to read without parsing the text. Absent on every other check.
    #[serde(rename = "firstSeen", default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

impl Check {
    /// A check named `name`, passed with `Ok(detail)` or failed with `Err(detail)`.
    pub fn new(name: CheckName, result: Result<String, String>) -> Self {
        let (ok, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        Self {
            name,
            ok,
            detail,
            first_seen: None,
        }
    }
}

/// The outcome of verifying a token: every check, passed or failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Verification {
    /// The JOSE header as sent.
    pub header: Map<String, Value>,
    /// The claims as sent.
    pub claims: Map<String, Value>,
    /// Every check made, in order.
    pub checks: Vec<Check>,
}

impl Verification {
    /// Whether every check passed.
    pub fn is_valid(&self) -> bool {
        self.checks.iter().all(|check| check.ok)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|check| !check.ok)
    }

    /// The first check named `name`.
    pub fn check(&self, name: &CheckName) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == *name)
    }

    /// The first check named `name`, to amend (a sandbox adds what only it knows).
    pub fn check_mut(&mut self, name: &CheckName) -> Option<&mut Check> {
        self.checks.iter_mut().find(|check| check.name == *name)
    }

    /// A verification of a token that could not even be decoded.
    pub fn malformed(error: &Error) -> Self {
        Self {
            header: Map::new(),
            claims: Map::new(),
            checks: vec![Check::new(CheckName::Format, Err(error.to_string()))],
        }
    }

    /// Adds a check made outside this module (a nonce store, a key lookup).
    pub fn push(&mut self, name: CheckName, result: Result<String, String>) {
        self.checks.push(Check::new(name, result));
    }

    /// Settles the `nonce` check with what a replay guard found for the token's nonce.
    pub fn settle_nonce(&mut self, verdict: NonceVerdict) {
        let nonce = self
            .claims
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some(check) = self.check_mut(&CheckName::Nonce) else {
            return;
        };
        match verdict {
            NonceVerdict::Fresh { remembered_until } => {
                check.detail = format!("{nonce}: first use; remembered until {remembered_until}");
            }
            NonceVerdict::Replayed { first_seen } => {
                check.ok = false;
                check.detail = match first_seen {
                    Some((at, ago)) => {
                        let detail = format!(
                            "replayed: {nonce} was first seen at {at} ({ago} seconds ago); every install needs a fresh nonce"
                        );
                        check.first_seen = Some(at);
                        detail
                    }
                    None => format!(
                        "replayed: {nonce} was seen before; every install needs a fresh nonce"
                    ),
                };
            }
            NonceVerdict::NotRecorded(why) if check.ok => {
                check.detail = format!("{}; not checked for replay: {why}", check.detail);
            }
            NonceVerdict::NotRecorded(_) => {}
        }
    }
}

/// What a replay guard found for an install token's nonce: see [`Verification::settle_nonce`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceVerdict {
    /// Its first use, now recorded.
    Fresh {
        /// Until when the nonce is remembered, for people (RFC 3339).
        remembered_until: String,
    },
    /// A replay of a recorded nonce.
    Replayed {
        /// When it was first seen (RFC 3339) and how many seconds ago, when known.
        first_seen: Option<(String, i64)>,
    },
    /// Not looked up, and why.
    NotRecorded(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are part of the sandbox's JSON and of `altdist token verify --json`.
    #[test]
    fn check_names_serialize_as_they_always_have() {
        let names: Vec<String> = CheckName::KNOWN
            .iter()
            .map(|name| {
                serde_json::to_value(name)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "format",
                "alg",
                "typ",
                "kid",
                "signature",
                "iat",
                "exp",
                "lifetime",
                "aud",
                "iss",
                "sub",
                "scope",
                "bid",
                "dtype",
                "nonce",
                "iid",
                "vid",
                "pid",
                "key",
                "app",
                "appId",
            ]
        );
        for name in CheckName::KNOWN {
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(serde_json::from_str::<CheckName>(&json).unwrap(), name);
        }
    }

    #[test]
    fn unknown_names_round_trip_as_other() {
        let name: CheckName = serde_json::from_str(r#""attestation""#).unwrap();
        assert_eq!(name, CheckName::Other("attestation".into()));
        assert_eq!(serde_json::to_string(&name).unwrap(), r#""attestation""#);
        assert_eq!(CheckName::from("appId"), CheckName::AppId);
    }

    #[test]
    fn a_replay_says_when_the_nonce_was_first_seen() {
        let mut verification = Verification {
            header: Map::new(),
            claims: serde_json::json!({"nonce": "n"})
                .as_object()
                .unwrap()
                .clone(),
            checks: vec![Check::new(CheckName::Nonce, Ok("a UUID".into()))],
        };
        let fresh = serde_json::to_value(&verification.checks[0]).unwrap();
        assert!(fresh.get("firstSeen").is_none(), "{fresh}");
        verification.settle_nonce(NonceVerdict::Replayed {
            first_seen: Some(("2025-03-01T10:00:00Z".into(), 42)),
        });
        let replayed = serde_json::to_value(&verification.checks[0]).unwrap();
        assert_eq!(replayed["ok"], false);
        assert_eq!(replayed["firstSeen"], "2025-03-01T10:00:00Z");
        assert!(
            replayed["detail"]
                .as_str()
                .unwrap()
                .contains("2025-03-01T10:00:00Z (42 seconds ago)")
        );
        // Read back by an older reader's shape and by this one alike.
        let read: Check = serde_json::from_value(replayed).unwrap();
        assert_eq!(read.first_seen.as_deref(), Some("2025-03-01T10:00:00Z"));
    }

    #[test]
    fn display_pads_like_a_string() {
        assert_eq!(format!("[{:<9}]", CheckName::Kid), "[kid      ]");
    }

    #[test]
    fn a_check_serializes_flat() {
        let check = Check::new(CheckName::Nonce, Ok("fresh".into()));
        assert_eq!(
            serde_json::to_value(&check).unwrap(),
            serde_json::json!({"name": "nonce", "ok": true, "detail": "fresh"})
        );
    }
}
