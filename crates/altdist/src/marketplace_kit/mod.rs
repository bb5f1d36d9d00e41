//! What a web-distribution website serves the device, as MarketplaceKit documents it.
//!
//! Apple's articles describe these documents by example, not by schema, so the types here are
//! for building them and the `validate_*` functions take untyped JSON and return every
//! [`Problem`] found, errors and warnings, like [`crate::jwt::verify`] returns every check.
//! A warning marks a rule where Apple's text is ambiguous or contradicts itself: the document
//! may still work on a device, and the warning says why altdist cannot tell.
//!
//! | module | document | Apple's article |
//! |---|---|---|
//! | `well_known` | `/.well-known/marketplace-kit` | [Licensing alternative distribution apps](https://developer.apple.com/documentation/applicensedeliverysdk/licensing-alternative-distribution-apps), [Installing apps from an alternative marketplace](https://developer.apple.com/documentation/marketplacekit/installing-apps-from-an-alternative-marketplace) |
//! | `app_data` | restore and updates requests and responses, `failures` | [Installing apps from an alternative marketplace](https://developer.apple.com/documentation/marketplacekit/installing-apps-from-an-alternative-marketplace) |
//! | `install_link` | `marketplace-kit://install?...` | [MarketplaceKitURIScheme](https://developer.apple.com/documentation/marketplacekit/marketplacekiturischeme) |
//! | `manifest` | an assembled package's `manifest.json` | [Ingesting an alternative distribution package](https://developer.apple.com/documentation/marketplacekit/ingesting-an-alternative-distribution-package) |
//! | `oauth` | `/.well-known/oauth-authorization-server` | [Installing your app from your website](https://developer.apple.com/documentation/marketplacekit/installing-your-app-from-your-website) |

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod app_data;
mod install_link;
mod manifest;
mod oauth;
mod well_known;

pub use app_data::{
    AppDataEntry, AppDataKind, AppDataRequest, AppDataResponse, Failure, FailureDetail,
    RequestedApp, validate_app_data_response,
};
pub use install_link::{INSTALL_LINK_PREFIX, InstallLink, find_install_links};
pub use manifest::{MANIFEST_FILE, SIGNATURE_FILE, manifest_url, validate_manifest};
pub use oauth::{AuthorizationServerMetadata, OAUTH_METADATA_PATH, validate_oauth_metadata};
pub use well_known::{
    LicenseConfig, MarketplaceKitConfig, UpdatesConfig, WELL_KNOWN_PATH, validate_well_known,
    well_known_urls,
};

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Apple's text is clear and the document breaks it: the device will refuse it.
    Error,
    /// Apple's text is ambiguous or contradicts itself here; the detail says how.
    Warning,
}

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Where: a JSON pointer (`/updates/pollingInterval`) or a URL parameter's name.
    pub pointer: String,
    /// What was expected and what was found.
    pub detail: String,
}

impl Problem {
    /// An error at `pointer`.
    pub fn error(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    /// A warning at `pointer`.
    pub fn warning(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.detail)
        } else {
            write!(f, "{}: {}", self.pointer, self.detail)
        }
    }
}

/// A member name as one JSON pointer segment (RFC 6901): `~` and `/` escaped, so that a pointer
/// to a member named `a/b` leads to it and not to `b` inside `a`.
pub(crate) fn pointer_segment(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Whether `host` is `domain` or under it (`apps.example.com` under `example.com`),
/// case-insensitively and ignoring a trailing dot.
pub fn host_is_under(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// Checks that `value` at `pointer` is an absolute `https://` URL with a host; returns the
/// problem otherwise. Apple's examples write `<fully-qualified-domain>/PATH`, without a
/// scheme, while also requiring HTTPS: a URL without a scheme is a warning, `http://` an error.
pub(crate) fn check_https_url(pointer: &str, value: &str) -> Option<Problem> {
    match url::Url::parse(value) {
        Ok(url) if url.scheme() == "https" && url.host_str().is_some() => None,
        Ok(url) if url.scheme() == "http" => Some(Problem::error(
            pointer,
            format!("expected an https:// URL (Apple requires HTTPS), found {value:?}"),
        )),
        Ok(url) => Some(Problem::error(
            pointer,
            format!(
                "expected an https:// URL, found the scheme {:?} in {value:?}",
                url.scheme()
            ),
        )),
        Err(url::ParseError::RelativeUrlWithoutBase) if value.contains('.') => {
            Some(Problem::warning(
                pointer,
                format!(
                    "{value:?} has no scheme: Apple's examples write <fully-qualified-domain>/PATH, \
                     but every request is made over HTTPS; write https://{value}"
                ),
            ))
        }
        Err(err) => Some(Problem::error(
            pointer,
            format!("expected an https:// URL, found {value:?} ({err})"),
        )),
    }
}

/// A member of `object` that must be a string: its value, or the problem.
pub(crate) fn required_str<'a>(
    object: &'a serde_json::Map<String, Value>,
    parent: &str,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a str> {
    let pointer = format!("{parent}/{name}");
    match object.get(name) {
        Some(Value::String(value)) => Some(value),
        Some(other) => {
            problems.push(Problem::error(
                pointer,
                format!(
                    "expected a string, found {}",
                    crate::jwt::json_type_name(other)
                ),
            ));
            None
        }
        None => {
            problems.push(Problem::error(pointer, "required, missing"));
            None
        }
    }
}

/// An Apple item or version id: documented as a string in JSON, but `AppleItemID` is a
/// `UInt64` in MarketplaceKit and some examples could be read either way, so a number is a
/// warning and anything else an error.
pub(crate) fn required_id(
    object: &serde_json::Map<String, Value>,
    parent: &str,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let pointer = format!("{parent}/{name}");
    match object.get(name) {
        Some(Value::String(value))
            if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(value.clone())
        }
        Some(Value::String(value)) => {
            problems.push(Problem::error(
                pointer,
                format!("expected an Apple id of digits, found {value:?}"),
            ));
            None
        }
        Some(Value::Number(number)) if number.is_u64() => {
            problems.push(Problem::warning(
                pointer,
                format!(
                    "found the number {number}: Apple's JSON examples write ids as strings, \
                     MarketplaceKit's AppleItemID is an integer; send a string to be safe"
                ),
            ));
            Some(number.to_string())
        }
        Some(other) => {
            problems.push(Problem::error(
                pointer,
                format!(
                    "expected an Apple id string, found {}",
                    crate::jwt::json_type_name(other)
                ),
            ));
            None
        }
        None => {
            problems.push(Problem::error(pointer, "required, missing"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_under_a_domain() {
        assert!(host_is_under("example.com", "example.com"));
        assert!(host_is_under("Apps.Example.com.", "example.com"));
        assert!(!host_is_under("badexample.com", "example.com"));
        assert!(!host_is_under("example.com", "apps.example.com"));
    }

    #[test]
    fn https_urls() {
        assert_eq!(check_https_url("/a", "https://example.com/x"), None);
        assert!(
            check_https_url("/a", "http://example.com/x")
                .unwrap()
                .is_error()
        );
        let bare = check_https_url("/a", "example.com/restore").unwrap();
        assert_eq!(bare.severity, Severity::Warning);
        assert!(check_https_url("/a", "not a url").unwrap().is_error());
    }
}
