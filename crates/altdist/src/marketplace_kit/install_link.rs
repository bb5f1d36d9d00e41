//! `marketplace-kit://install?...`: the link a web page's Download button carries.
//!
//! See Apple's [MarketplaceKitURIScheme](https://developer.apple.com/documentation/marketplacekit/marketplacekiturischeme).

use super::{Problem, check_https_url};

/// What every install link starts with.
pub const INSTALL_LINK_PREFIX: &str = "marketplace-kit://install";

const PACKAGE: &str = "alternativeDistributionPackage";
const TOKEN: &str = "installVerificationToken";
const AUTH_TOKEN: &str = "token";
const ACCOUNT: &str = "account";
const SHARE_URL: &str = "appShareURL";

/// An install link's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstallLink {
    /// The assembled package's URL; its host must be the page's host.
    pub alternative_distribution_package: String,
    /// A fresh install verification token (a compact JWS).
    pub install_verification_token: String,
    /// An authentication token the device sends back to the token endpoint.
    pub token: Option<String>,
    /// The visitor's user id; the device groups restore requests by it.
    pub account: Option<String>,
    /// The app's landing page, for the Share Sheet.
    pub app_share_url: Option<String>,
}

impl InstallLink {
    /// A link with the two required parameters.
    pub fn new(
        package_url: impl Into<String>,
        install_verification_token: impl Into<String>,
    ) -> Self {
        Self {
            alternative_distribution_package: package_url.into(),
            install_verification_token: install_verification_token.into(),
            token: None,
            account: None,
            app_share_url: None,
        }
    }

    /// The link, its parameter values percent-encoded.
    pub fn to_url(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair(PACKAGE, &self.alternative_distribution_package);
        query.append_pair(TOKEN, &self.install_verification_token);
        for (name, value) in [
            (AUTH_TOKEN, &self.token),
            (ACCOUNT, &self.account),
            (SHARE_URL, &self.app_share_url),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        format!("{INSTALL_LINK_PREFIX}?{}", query.finish())
    }

    /// Parses a link; with it, every problem found (warnings included), or only problems
    /// when the two required parameters are not there.
    pub fn parse(link: &str) -> (Option<Self>, Vec<Problem>) {
        let mut problems = Vec::new();
        let Some(rest) = link.strip_prefix(INSTALL_LINK_PREFIX) else {
            problems.push(Problem::error(
                "",
                format!("expected a link starting {INSTALL_LINK_PREFIX}?, found {link:?}"),
            ));
            return (None, problems);
        };
        let query = match rest.strip_prefix('?') {
            Some(query) => query,
            None if rest.is_empty() || rest == "/" => "",
            None => {
                problems.push(Problem::error(
                    "",
                    format!("expected '?' and the parameters after {INSTALL_LINK_PREFIX}, found {rest:?}"),
                ));
                return (None, problems);
            }
        };
        let (mut package, mut token, mut auth, mut account, mut share) =
            (None, None, None, None, None);
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                PACKAGE => &mut package,
                TOKEN => &mut token,
                AUTH_TOKEN => &mut auth,
                ACCOUNT => &mut account,
                SHARE_URL => &mut share,
                other => {
                    problems.push(Problem::warning(
                        other,
                        "not a parameter Apple documents; MarketplaceKit ignores it at best (a misspelling?)",
                    ));
                    continue;
                }
            };
            if slot.is_some() {
                problems.push(Problem::error(
                    name.as_ref(),
                    "given twice; which one the device takes is not documented",
                ));
            }
            *slot = Some(value.into_owned());
        }
        for (name, value) in [(PACKAGE, &package), (TOKEN, &token)] {
            if value.as_deref().is_none_or(str::is_empty) {
                problems.push(Problem::error(name, "required, missing"));
            }
        }
        if let Some(url) = &share {
            // Apple's example ends with "appShareURL=<URL>;": a literal ';' would be part of
            // the URL, which is surely not meant.
            if url.ends_with(';') {
                problems.push(Problem::warning(
                    SHARE_URL,
                    "ends with ';' (as Apple's example does); the ';' becomes part of the URL",
                ));
            }
        }
        let (Some(package), Some(token)) = (package, token) else {
            return (None, problems);
        };
        let link = Self {
            alternative_distribution_package: package,
            install_verification_token: token,
            token: auth,
            account,
            app_share_url: share,
        };
        problems.extend(link.validate());
        (Some(link), problems)
    }

    /// The rules a link's values keep on their own: the package and share URLs are HTTPS, the
    /// token looks like a compact JWS. What needs the page (same host) is the checker's.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        problems.extend(check_https_url(
            PACKAGE,
            &self.alternative_distribution_package,
        ));
        if let Some(url) = &self.app_share_url {
            problems.extend(check_https_url(SHARE_URL, url.trim_end_matches(';')));
        }
        if self.install_verification_token.split('.').count() != 3 {
            problems.push(Problem::error(
                TOKEN,
                "expected a compact JWS (three dot-separated parts)",
            ));
        }
        problems
    }

    /// The package URL's host, lower-case, when it has one.
    pub fn package_host(&self) -> Option<String> {
        url::Url::parse(&self.alternative_distribution_package)
            .ok()?
            .host_str()
            .map(str::to_ascii_lowercase)
    }
}

/// Every `marketplace-kit://install` link in an HTML page, HTML entities in it decoded.
///
/// Links sit in attribute values (`href="..."`) or in scripts; each ends at a quote, `<`, `>`
/// or whitespace.
pub fn find_install_links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(INSTALL_LINK_PREFIX) {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| matches!(c, '"' | '\'' | '<' | '>' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        links.push(decode_entities(&tail[..end]));
        rest = &tail[end..];
    }
    links
}

fn decode_entities(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#x26;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marketplace_kit::Severity;

    #[test]
    fn builds_and_parses_back() {
        let mut link = InstallLink::new("https://example.com/packages/1?x=1&y=2", "a.b.c");
        link.account = Some("user 7".into());
        let url = link.to_url();
        assert!(url.starts_with(
            "marketplace-kit://install?alternativeDistributionPackage=https%3A%2F%2F"
        ));
        assert_eq!(InstallLink::parse(&url), (Some(link.clone()), vec![]));
        assert_eq!(link.package_host().as_deref(), Some("example.com"));
    }

    #[test]
    fn missing_and_unknown_parameters() {
        let (link, problems) = InstallLink::parse(
            "marketplace-kit://install?alternativeDistributionPackag=https://x.com/p",
        );
        assert!(link.is_none());
        let names: Vec<(&str, Severity)> = problems
            .iter()
            .map(|p| (p.pointer.as_str(), p.severity))
            .collect();
        assert_eq!(
            names,
            [
                ("alternativeDistributionPackag", Severity::Warning),
                ("alternativeDistributionPackage", Severity::Error),
                ("installVerificationToken", Severity::Error),
            ]
        );
        let (_, problems) = InstallLink::parse(
            "marketplace-kit://install?alternativeDistributionPackage=http://x.com/p&installVerificationToken=abc",
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(Problem::is_error));
    }

    #[test]
    fn finds_links_in_html() {
        let html = r#"<a href="marketplace-kit://install?alternativeDistributionPackage=https%3A%2F%2Fa.com%2Fp&amp;installVerificationToken=a.b.c">Get</a>
            <a href='https://example.com'>x</a> <button data-link='marketplace-kit://install?x=1'>"#;
        let links = find_install_links(html);
        assert_eq!(links.len(), 2);
        assert!(links[0].ends_with("&installVerificationToken=a.b.c"));
        assert_eq!(links[1], "marketplace-kit://install?x=1");
    }
}
