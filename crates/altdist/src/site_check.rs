//! A running web-distribution site, checked as Apple and the device would: the checks behind
//! `altdist site check` and the sandbox's `POST /sandbox/v1/sites/check`.
//!
//! [`check_site`] fetches the site over HTTPS only, follows no redirect, bounds every request
//! in time and size and the whole run in count, and, unless told otherwise, reaches only public
//! addresses (the server fetches URLs its callers name). What only the account knows (its
//! domains, its apps, its keys) comes from a [`SiteAccount`]: [`ApiAccount`] asks an App Store
//! Connect API (Apple's or `altdist serve`), the server answers from its own database.
//! docs/WEB-DISTRIBUTION.md names the Apple article behind each check.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{APPLE_BASE_URL, Client};
use crate::error::{Error, ErrorKind};
use crate::jwt::{self, DecodedToken};
use crate::marketplace_kit::{
    self as mk, AppDataKind, AppDataRequest, InstallLink, Problem, RequestedApp, Severity,
};
use crate::resource::{AltDistKeyId, AppId};
use crate::{PublicKey, TokenKind, Validation};

/// Path of the sandbox's site check.
pub const SITE_CHECK_PATH: &str = "/sandbox/v1/sites/check";

/// The most bytes read of a page or JSON document; Apple's documents are a few kilobytes.
const MAX_BODY: usize = 1024 * 1024;
/// Each request's whole budget, connection and body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most package assets fetched; a real package has a handful of variants and deltas.
const MAX_ASSETS: usize = 32;
/// The most well-known URLs fetched: seven per configuration, overrides included, and a
/// document with thousands of overrides must not turn the checker into a request flood.
const MAX_URLS: usize = 64;
/// The device the restore and updates requests speak for: Apple's example values.
const DEVICE_PLATFORM: &str = "iOS";
const DEVICE_OS_VERSION: &str = "17.4";
/// The most requests one check makes, all kinds together.
const MAX_REQUESTS: usize = 160;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Passed.
    Ok,
    /// Failed: the device or Apple would refuse this.
    Fail,
    /// Where Apple's text is ambiguous or contradicts itself; the detail says why.
    Warn,
}

/// One check: its name (`domain`, `well-known`, `token`...), outcome, and what was expected
/// and found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SiteCheck {
    /// The check's name; the same name may appear on several lines.
    pub name: String,
    /// Its outcome.
    pub status: CheckStatus,
    /// What was expected and what was found.
    pub detail: String,
}

/// Every check of a site, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SiteReport {
    /// The site checked.
    pub url: String,
    /// True when no check failed (warnings allowed).
    pub passed: bool,
    /// The checks.
    pub checks: Vec<SiteCheck>,
}

impl SiteReport {
    /// How many checks have `status`.
    pub fn count(&self, status: CheckStatus) -> usize {
        self.checks
            .iter()
            .filter(|check| check.status == status)
            .count()
    }
}

/// The body of `POST /sandbox/v1/sites/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteCheckRequest {
    /// The site: `https://DOMAIN[:PORT]`.
    pub url: String,
    /// The app's Apple id [default: the `iss` of the page's token].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The install page, loaded twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

/// What a site check is given: the site, and optionally its install page and app.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SiteCheckOptions {
    /// The site: `https://DOMAIN[:PORT]`.
    pub url: String,
    /// The install page, loaded twice.
    pub page: Option<String>,
    /// The app's Apple id [default: the `iss` of the page's token].
    pub app: Option<String>,
    /// PEM certificates to trust besides the public roots (a private or test CA).
    pub ca_pem: Option<Vec<u8>>,
    /// Hosts reached at a given address instead of what DNS says (curl's `--resolve`).
    pub resolve: Vec<(String, SocketAddr)>,
    /// Whether loopback and private addresses may be reached; off, a server refuses to be
    /// turned against its own network.
    pub allow_private_targets: bool,
}

impl SiteCheckOptions {
    /// Options for the site at `url`, everything else default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

impl SiteReport {
    fn push(&mut self, name: &'static str, status: CheckStatus, detail: impl Into<String>) {
        self.checks.push(SiteCheck {
            name: name.to_owned(),
            status,
            detail: detail.into(),
        });
    }

    fn ok(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, CheckStatus::Ok, detail);
    }

    fn fail(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, CheckStatus::Fail, detail);
    }

    fn warn(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, CheckStatus::Warn, detail);
    }

    /// One line per problem, prefixed by `what`; an ok line when none is an error.
    fn problems(&mut self, name: &'static str, what: &str, problems: &[Problem], ok: &str) {
        for problem in problems {
            let status = match problem.severity {
                Severity::Error => CheckStatus::Fail,
                Severity::Warning => CheckStatus::Warn,
            };
            self.push(name, status, format!("{what} {problem}"));
        }
        if !problems.iter().any(Problem::is_error) {
            self.ok(name, ok);
        }
    }
}

/// An HTTP answer, its body read up to [`MAX_BODY`].
struct Answer {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

/// The site's HTTP client: HTTPS only, no redirects, bounded in time, size and count, and
/// (unless allowed) public addresses only.
struct Site {
    http: reqwest::Client,
    allow_private_targets: bool,
    requests: AtomicUsize,
}

impl Site {
    fn new(options: &SiteCheckOptions) -> Result<Self, Error> {
        let setup = |detail: String| Error::new(ErrorKind::Http(detail));
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("altdist-site-check/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(pem) = &options.ca_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|err| {
                setup(format!("the CA holds no PEM certificate: {}", causes(&err)))
            })?;
            if certificates.is_empty() {
                return Err(setup(
                    "the CA file holds no certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
                ));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        for (host, address) in &options.resolve {
            builder = builder.resolve(host, *address);
        }
        if !options.allow_private_targets {
            builder = builder.dns_resolver(std::sync::Arc::new(PublicOnly));
        }
        let http = builder
            .build()
            .map_err(|err| setup(format!("cannot build the HTTP client: {}", causes(&err))))?;
        Ok(Self {
            http,
            allow_private_targets: options.allow_private_targets,
            requests: AtomicUsize::new(0),
        })
    }

    /// Refuses a request past the budget, or to a private address named literally in the URL
    /// (the resolver guards names).
    fn admit(&self, url: &str) -> Result<(), String> {
        if self.requests.fetch_add(1, Ordering::Relaxed) >= MAX_REQUESTS {
            return Err(format!(
                "not fetched: the check's budget of {MAX_REQUESTS} requests is used up"
            ));
        }
        if self.allow_private_targets {
            return Ok(());
        }
        let host = url::Url::parse(url).ok().and_then(|url| {
            url.host_str()
                .map(|host| host.trim_matches(['[', ']']).to_owned())
        });
        match host.and_then(|host| host.parse::<IpAddr>().ok()) {
            Some(ip) if !is_public(ip) => Err(format!(
                "not fetched: {ip} is a loopback, private or link-local address, which this \
                 checker does not reach"
            )),
            _ => Ok(()),
        }
    }

    /// GET (or POST `body`) `url`; `Err` holds the underlying cause of a network or TLS failure.
    async fn fetch(&self, url: &str, body: Option<&Value>) -> Result<Answer, String> {
        self.admit(url)?;
        let request = match body {
            Some(body) => self.http.post(url).json(body),
            None => self.http.get(url),
        };
        let mut response = request
            .header("accept", "application/json, text/html;q=0.9, */*;q=0.8")
            .send()
            .await
            .map_err(|err| causes(&err))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| causes(&err))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!(
                    "the body is larger than {MAX_BODY} bytes; not read"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            location,
            body,
        })
    }

    /// Whether `url` answers: the status, not the body (assets can be large).
    async fn status(&self, url: &str) -> Result<u16, String> {
        self.admit(url)?;
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|err| causes(&err))?;
        Ok(response.status().as_u16())
    }
}

/// Resolves names to their public addresses only: a site named by a caller must not make the
/// checker reach the machine it runs on or its private network (DNS rebinding included, since
/// the connection goes to the addresses checked here).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|address| is_public(address.ip()))
                .collect();
            if public.is_empty() && !all.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, private or link-local addresses, which \
                     this checker does not reach"
                )
                .into());
            }
            let addresses: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addresses)
        })
    }
}

/// Whether `ip` is a public unicast address: not loopback, private, link-local, shared
/// (100.64/10), unique-local, multicast, documentation or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// An error and every `source()` under it, so "error sending request" comes with its cause
/// (a refused connection, an unknown certificate issuer...). Repeats are dropped.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// The URL, when it is an `https://` URL with a host.
fn https_url(url: &str, what: &str) -> Result<url::Url, Error> {
    let invalid = |detail: String| Error::new(ErrorKind::Http(detail));
    let parsed = url::Url::parse(url)
        .map_err(|err| invalid(format!("{what} {url:?} is not a URL: {err}")))?;
    if parsed.scheme() != "https" || parsed.host_str().is_none() {
        return Err(invalid(format!(
            "{what} {url:?} is not an https:// URL: Apple reaches the site over HTTPS only"
        )));
    }
    Ok(parsed)
}

fn host_of(url: &url::Url) -> String {
    url.host_str().unwrap_or_default().to_ascii_lowercase()
}

/// Joins the site's origin and an absolute path.
fn origin_join(site: &url::Url, path: &str) -> String {
    format!("{}{path}", site.origin().ascii_serialization())
}

/// What a site check needs of the account: its domains, its apps and its keys.
pub trait SiteAccount: Sync {
    /// The account's alternative distribution domains. An error here is a setup error (the
    /// API unreachable), not a failed check.
    fn registered_domains(&self) -> impl Future<Output = Result<Vec<String>, Error>> + Send;

    /// The app's bundle id, or why the app is not the account's.
    fn bundle_id(
        &self,
        app_id: &str,
    ) -> impl Future<Output = Result<Option<String>, String>> + Send;

    /// Verifies an install verification token of the app as Apple would: `Ok` with what was
    /// checked, `Err` with every failed check.
    fn verify_install_token(
        &self,
        token: &str,
        app_id: Option<&str>,
    ) -> impl Future<Output = Result<String, String>> + Send;
}

/// The account behind an App Store Connect API.
///
/// Against Apple's, tokens are verified offline with the uploaded public key (Apple has no endpoint that verifies one), or `altdist serve`'s,
/// whose sandbox verifies them (`POST /sandbox/v1/installVerificationTokens/verify`).
pub struct ApiAccount<'a> {
    client: &'a Client,
    sandbox: bool,
}

impl<'a> ApiAccount<'a> {
    /// The account of `client`'s credentials; the sandbox is used unless the base URL is Apple's.
    pub fn new(client: &'a Client) -> Self {
        let sandbox = !client
            .base_url()
            .starts_with(APPLE_BASE_URL.trim_end_matches('/'));
        Self { client, sandbox }
    }
}

impl SiteAccount for ApiAccount<'_> {
    async fn registered_domains(&self) -> Result<Vec<String>, Error> {
        let mut page = self.client.list_domains(Some(200)).await?.value;
        let mut domains = Vec::new();
        loop {
            let next = self.client.next_page(&page).await?;
            domains.extend(
                page.data
                    .drain(..)
                    .filter_map(|domain| domain.attributes?.domain),
            );
            match next {
                Some(next) => page = next.value,
                None => return Ok(domains),
            }
        }
    }

    async fn bundle_id(&self, app_id: &str) -> Result<Option<String>, String> {
        let app = self
            .client
            .get_app(&AppId::from(app_id.to_owned()))
            .await
            .map_err(|err| format!("expected app {app_id} in the account: {err}"))?;
        Ok(app
            .value
            .data
            .attributes
            .and_then(|attributes| attributes.bundle_id))
    }

    async fn verify_install_token(
        &self,
        token: &str,
        app_id: Option<&str>,
    ) -> Result<String, String> {
        if self.sandbox {
            let request = crate::sandbox::VerifyTokenRequest {
                token: token.to_owned(),
                app_id: app_id.map(str::to_owned),
            };
            let answer = self
                .client
                .verify_token(TokenKind::Install, &request)
                .await
                .map_err(|err| format!("the sandbox could not verify it: {err}"))?;
            return summarize(&answer.value.verification, "the sandbox");
        }
        let decoded = jwt::decode(token).map_err(|err| format!("not a JWS: {err}"))?;
        let kid = decoded
            .kid()
            .ok_or("the header has no kid, so the key cannot be found")?;
        let key = self
            .client
            .get_key(&AltDistKeyId::from(kid.to_owned()))
            .await
            .map_err(|err| format!("no uploaded key {kid}: {err}"))?;
        let pem = key
            .value
            .data
            .attributes
            .and_then(|attributes| attributes.public_key)
            .ok_or("the API returned the key without its publicKey")?;
        let public = PublicKey::from_pem(&pem).map_err(|err| format!("key {kid}: {err}"))?;
        let mut validation = Validation::new(TokenKind::Install).with_expected_kid(kid);
        if let Some(app_id) = app_id {
            validation = validation.with_expected_iss(app_id);
            if let Ok(Some(bid)) = self.bundle_id(app_id).await {
                validation = validation.with_expected_bid(bid);
            }
        }
        summarize(
            &jwt::verify(token, &public, &validation),
            "offline with the uploaded public key (nonce replay is Apple's to check)",
        )
    }
}

/// What the page and the account tell about the app being checked.
struct AppFacts {
    id: String,
    bundle_id: Option<String>,
}

/// `Ok` with the checks made when `verification` is valid, `Err` with every failed one.
pub fn summarize(verification: &crate::Verification, how: &str) -> Result<String, String> {
    if verification.is_valid() {
        let names: Vec<&str> = verification
            .checks
            .iter()
            .map(|check| check.name.as_str())
            .collect();
        Ok(format!("valid, verified by {how}: {}", names.join(", ")))
    } else {
        let failed: Vec<String> = verification
            .failures()
            .map(|check| format!("{}: {}", check.name, check.detail))
            .collect();
        Err(failed.join("; "))
    }
}

fn nonce_of(token: &str) -> Option<String> {
    jwt::decode(token)
        .ok()
        .as_ref()
        .and_then(|decoded: &DecodedToken<'_>| decoded.claim_str("nonce").map(str::to_owned))
}

/// Checks the site as Apple and the device would; every check is in the report. `Err` only
/// for a setup error: a URL that is not `https://`, an unusable CA, the account unreachable.
pub async fn check_site(
    options: &SiteCheckOptions,
    account: &impl SiteAccount,
) -> Result<SiteReport, Error> {
    let site_url = https_url(&options.url, "the site's URL")?;
    let page_url = options
        .page
        .as_deref()
        .map(|page| https_url(page, "the page's URL"))
        .transpose()?;
    let site = Site::new(options)?;
    let mut report = SiteReport {
        url: options.url.clone(),
        passed: false,
        checks: Vec::new(),
    };

    let registered = account.registered_domains().await?;
    let site_host = host_of(&site_url);
    check_domain(&mut report, "domain", &site_host, &registered);

    // The well-known file.
    let well_known = check_well_known(&mut report, &site, &site_url).await;

    // The install page, loaded twice.
    let mut links = Vec::new();
    if let Some(page_url) = &page_url {
        let page_host = host_of(page_url);
        check_domain(&mut report, "page-domain", &page_host, &registered);
        let first = load_links(&mut report, &site, page_url.as_str(), "first").await;
        for link in &first {
            match link.package_host() {
                Some(host) if host == page_host => report.ok(
                    "package-host",
                    format!("the package is on the page's host {host}"),
                ),
                Some(host) => report.fail(
                    "package-host",
                    format!(
                        "expected the package on the page's host {page_host}, found {host} \
                         (MarketplaceKitURIScheme: the package's domain must match the referrer's)"
                    ),
                ),
                None => {}
            }
        }
        links = first;
    } else {
        report.warn(
            "page",
            "no install page given (--page, or \"page\" in the sandbox): its links and tokens are not checked",
        );
    }

    // A link with `token` makes the device sign the visitor in through the OAuth metadata.
    if let Some(page_url) = page_url
        .as_ref()
        .filter(|_| links.iter().any(|link| link.token.is_some()))
    {
        check_oauth(&mut report, &site, page_url).await;
    }

    // The app: the one given, else the token's iss, else nothing to check it against.
    let app_id = options.app.clone().or_else(|| {
        links.first().and_then(|link| {
            jwt::decode(&link.install_verification_token)
                .ok()?
                .claim_str("iss")
                .map(str::to_owned)
        })
    });
    let app = match &app_id {
        Some(id) => match account.bundle_id(id).await {
            Ok(bundle_id) => {
                report.ok(
                    "app",
                    format!(
                        "app {id} ({}) of the account",
                        bundle_id.as_deref().unwrap_or("no bundle id")
                    ),
                );
                Some(AppFacts {
                    id: id.clone(),
                    bundle_id,
                })
            }
            Err(detail) => {
                report.fail("app", detail);
                None
            }
        },
        None => None,
    };
    let app_id = app.as_ref().map(|app| app.id.clone());

    if let Some(page_url) = &page_url {
        for link in &links {
            if let Some(iss) = numeric_iss(&link.install_verification_token) {
                report.warn(
                    "token",
                    format!(
                        "iss is the number {iss}: Apple's table asks for \"a String \
                         representation\" of the AppleItemID, an integer type; altdist's \
                         sandbox requires the string \"{iss}\", write it as one"
                    ),
                );
            }
            match account
                .verify_install_token(&link.install_verification_token, app_id.as_deref())
                .await
            {
                Ok(detail) => report.ok("token", format!("page token {detail}")),
                Err(detail) => report.fail("token", format!("page token invalid: {detail}")),
            }
        }
        let first_nonces: Vec<String> = links
            .iter()
            .filter_map(|link| nonce_of(&link.install_verification_token))
            .collect();
        let second = load_links(&mut report, &site, page_url.as_str(), "second").await;
        let repeated: Vec<&String> = second
            .iter()
            .filter_map(|link| nonce_of(&link.install_verification_token))
            .filter_map(|nonce| first_nonces.iter().find(|first| **first == nonce))
            .collect();
        if !second.is_empty() && !first_nonces.is_empty() {
            if repeated.is_empty() {
                report.ok(
                    "nonce",
                    "the second load carries fresh nonces: a token is minted per visit",
                );
            } else {
                report.fail(
                    "nonce",
                    format!(
                        "expected a fresh token per visit, found the nonce {} on both loads: the \
                         second visitor's install would be refused as a replay (Supplying an \
                         install verification token)",
                        repeated[0]
                    ),
                );
            }
        }
    }

    // The package(s) the links name.
    let mut manifest_version = None;
    // A package on another host than the page's is refused before it is fetched: so is it here.
    let page_host = page_url.as_ref().map(host_of);
    let mut packages: Vec<&str> = links
        .iter()
        .filter(|link| link.package_host() == page_host)
        .map(|link| link.alternative_distribution_package.as_str())
        .collect();
    packages.dedup();
    for package in packages {
        let version = check_package(&mut report, &site, package, app.as_ref()).await;
        manifest_version = manifest_version.or(version);
    }

    // Restore and updates, when the well-known file names them.
    if let Some(well_known) = &well_known {
        let restore = well_known.get("restore").and_then(Value::as_str);
        let updates = well_known.pointer("/updates/url").and_then(Value::as_str);
        for (kind, url) in [
            (AppDataKind::Restore, restore),
            (AppDataKind::Updates, updates),
        ] {
            let Some(url) = url else { continue };
            let Some(app_id) = &app_id else {
                report.warn(
                    kind_name(kind),
                    "not requested: no app to ask for (give the app's id, or the install page whose token names it)",
                );
                continue;
            };
            check_app_data(
                &mut report,
                &site,
                account,
                kind,
                url,
                app_id,
                manifest_version.clone(),
            )
            .await;
        }
    }

    report.passed = report.count(CheckStatus::Fail) == 0;
    Ok(report)
}

/// A JSON value as text: a string without its quotes.
fn plain(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn kind_name(kind: AppDataKind) -> &'static str {
    match kind {
        AppDataKind::Restore => "restore",
        AppDataKind::Updates => "updates",
    }
}

fn check_domain(report: &mut SiteReport, name: &'static str, host: &str, registered: &[String]) {
    if registered
        .iter()
        .any(|domain| domain.eq_ignore_ascii_case(host.trim_end_matches('.')))
    {
        report.ok(
            name,
            format!("{host} is a registered domain of the account"),
        );
    } else if let Some(parent) = registered
        .iter()
        .find(|domain| mk::host_is_under(host, domain))
    {
        report.warn(
            name,
            format!(
                "{host} is under the registered domain {parent}, not registered itself: Apple \
                 says the domain must \"match\" the one given to App Store Connect without \
                 saying whether subdomains do; register {host} to be sure"
            ),
        );
    } else {
        let found = if registered.is_empty() {
            "none".to_owned()
        } else {
            registered.join(", ")
        };
        report.fail(
            name,
            format!(
                "expected {host} among the account's alternative distribution domains, found: \
                 {found} (register it: altdist domains add --domain {host} --reference-name ...)"
            ),
        );
    }
}

/// The well-known file: HTTPS, no redirect, JSON of the documented shape, every URL HTTPS
/// and answering. Returns the document when it is a JSON object.
async fn check_well_known(
    report: &mut SiteReport,
    site: &Site,
    site_url: &url::Url,
) -> Option<Value> {
    let url = origin_join(site_url, mk::WELL_KNOWN_PATH);
    let answer = match site.fetch(&url, None).await {
        Ok(answer) => answer,
        Err(cause) => {
            report.fail("well-known", format!("GET {url} failed: {cause}"));
            return None;
        }
    };
    if (300..400).contains(&answer.status) {
        report.fail(
            "well-known",
            format!(
                "expected 200 with no redirect, found {} redirecting to {}: the device does not \
                 follow redirects for this file (Licensing alternative distribution apps)",
                answer.status,
                answer.location.as_deref().unwrap_or("(no Location)")
            ),
        );
        return None;
    }
    if answer.status != 200 {
        report.fail(
            "well-known",
            format!("expected 200 at {url}, found {}", answer.status),
        );
        return None;
    }
    report.ok(
        "well-known",
        format!("{url}: 200 over HTTPS, certificate valid, no redirect"),
    );
    let document: Value = match serde_json::from_slice(&answer.body) {
        Ok(document) => document,
        Err(err) => {
            report.fail(
                "well-known",
                format!("expected JSON, found a body that is not ({err})"),
            );
            return None;
        }
    };
    report.problems(
        "well-known",
        "marketplace-kit",
        &mk::validate_well_known(&document),
        "the documented shape: license, restore, updates",
    );
    let urls = mk::well_known_urls(&document);
    if urls.len() > MAX_URLS {
        report.warn(
            "url",
            format!(
                "{} URLs in the file; only the first {MAX_URLS} are fetched",
                urls.len()
            ),
        );
    }
    for (pointer, target) in urls.into_iter().take(MAX_URLS) {
        if !target.starts_with("https://") {
            report.fail(
                "url",
                format!("{pointer} {target:?}: not fetched, expected an https:// URL"),
            );
            continue;
        }
        match site.status(&target).await {
            Ok(status) if status < 500 && status != 404 => {
                report.ok("url", format!("{pointer} {target} answers ({status})"));
            }
            Ok(status) => report.fail(
                "url",
                format!("{pointer} {target}: expected an answering endpoint, found {status}"),
            ),
            Err(cause) => report.fail("url", format!("{pointer} {target}: {cause}")),
        }
    }
    document.is_object().then_some(document)
}

/// The authorization server metadata the device reads when a link carries `token`.
async fn check_oauth(report: &mut SiteReport, site: &Site, page_url: &url::Url) {
    let url = origin_join(page_url, mk::OAUTH_METADATA_PATH);
    let answer = match site.fetch(&url, None).await {
        Ok(answer) if answer.status == 200 => answer,
        Ok(answer) => {
            report.fail(
                "oauth",
                format!(
                    "a link carries token, so the device signs the visitor in: expected 200 at \
                     {url}, found {} (Installing your app from your website)",
                    answer.status
                ),
            );
            return;
        }
        Err(cause) => {
            report.fail("oauth", format!("GET {url} failed: {cause}"));
            return;
        }
    };
    match serde_json::from_slice::<Value>(&answer.body) {
        Ok(document) => report.problems(
            "oauth",
            "authorization server metadata",
            &mk::validate_oauth_metadata(&document),
            &format!("{url} has the documented members"),
        ),
        Err(err) => report.fail("oauth", format!("{url}: expected JSON ({err})")),
    }
}

/// Loads the page and returns its parsed install links, reporting what is wrong with each.
async fn load_links(
    report: &mut SiteReport,
    site: &Site,
    url: &str,
    which: &str,
) -> Vec<InstallLink> {
    let answer = match site.fetch(url, None).await {
        Ok(answer) if answer.status == 200 => answer,
        Ok(answer)
            if answer
                .location
                .as_deref()
                .is_some_and(|location| location.starts_with(mk::INSTALL_LINK_PREFIX)) =>
        {
            report.fail(
                "page",
                format!(
                    "{which} load of {url}: expected a page with a link to tap, found a {} \
                     redirect to the install link, which browsers ignore (Enabling alternative \
                     distribution app installation in a browser)",
                    answer.status
                ),
            );
            return Vec::new();
        }
        Ok(answer) => {
            report.fail(
                "page",
                format!(
                    "{which} load of {url}: expected 200, found {}{}",
                    answer.status,
                    answer
                        .location
                        .map(|location| format!(" redirecting to {location}"))
                        .unwrap_or_default()
                ),
            );
            return Vec::new();
        }
        Err(cause) => {
            report.fail("page", format!("{which} load of {url} failed: {cause}"));
            return Vec::new();
        }
    };
    let html = String::from_utf8_lossy(&answer.body);
    if which == "first" && navigates_by_script(&html) {
        report.warn(
            "link",
            "the page seems to assign a marketplace-kit:// URL to location in a script: browsers \
             ignore an install link not opened by a tap or opened through a redirect (Enabling \
             alternative distribution app installation in a browser); a script can still be \
             fine if it runs in a click handler",
        );
    }
    let found = mk::find_install_links(&html);
    if found.is_empty() {
        report.fail(
            "links",
            format!(
                "{which} load: expected a {} link, found none",
                mk::INSTALL_LINK_PREFIX
            ),
        );
        return Vec::new();
    }
    if which == "first" {
        report.ok("links", format!("{} install link(s) on {url}", found.len()));
    }
    let mut links = Vec::new();
    for raw in found {
        let (link, problems) = InstallLink::parse(&raw);
        if which == "first" {
            report.problems(
                "link",
                "install link",
                &problems,
                "the install link has its documented parameters",
            );
        }
        links.extend(link);
    }
    links
}

/// Whether a script seems to navigate to an install link by itself (`location = "marketplace-kit:..."`,
/// `location.href = ...`, `location.assign(...)`), which browsers refuse without a tap.
fn navigates_by_script(html: &str) -> bool {
    let compact: String = html.chars().filter(|c| !c.is_whitespace()).collect();
    [
        "location=",
        "location.href=",
        "location.assign(",
        "location.replace(",
    ]
    .iter()
    .any(|assignment| {
        ["\"", "'", "`"].iter().any(|quote| {
            compact.contains(&format!("{assignment}{quote}{}", mk::INSTALL_LINK_PREFIX))
        })
    })
}

/// The `iss` of a token when Apple's text allows reading it either way: its table says "a
/// String representation of the AppleItemID" while `AppleItemID` is an integer type.
fn numeric_iss(token: &str) -> Option<String> {
    let decoded = jwt::decode(token).ok()?;
    decoded
        .claims()
        .get("iss")
        .filter(|iss| iss.is_number())
        .map(ToString::to_string)
}

/// The package: its manifest of the documented shape, its signature and every asset it names.
/// Returns the manifest's appleVersionId.
async fn check_package(
    report: &mut SiteReport,
    site: &Site,
    package: &str,
    app: Option<&AppFacts>,
) -> Option<String> {
    if !package.starts_with("https://") {
        return None;
    }
    let (manifest_url, warning) = mk::manifest_url(package);
    if let Some(warning) = warning {
        report.warn("package", warning.to_string());
    }
    let answer = match site.fetch(&manifest_url, None).await {
        Ok(answer) if answer.status == 200 => answer,
        Ok(answer) => {
            report.fail(
                "package",
                format!(
                    "expected the manifest at {manifest_url}, found {}",
                    answer.status
                ),
            );
            return None;
        }
        Err(cause) => {
            report.fail("package", format!("GET {manifest_url} failed: {cause}"));
            return None;
        }
    };
    let Ok(manifest) = serde_json::from_slice::<Value>(&answer.body) else {
        report.fail("package", format!("{manifest_url} is not JSON"));
        return None;
    };
    let (problems, assets) = mk::validate_manifest(&manifest);
    report.problems(
        "package",
        "manifest.json",
        &problems,
        format!("{manifest_url} has the documented shape").as_str(),
    );
    let found_id = manifest.get("appleItemId").and_then(Value::as_str);
    if let (Some(app), Some(found)) = (app, found_id)
        && found != app.id
    {
        report.fail(
            "package",
            format!(
                "expected the manifest's appleItemId {}, found {found}",
                app.id
            ),
        );
    }
    let bid = app.and_then(|app| app.bundle_id.as_deref());
    let found_bid = manifest.get("bundleId").and_then(Value::as_str);
    if let (Some(bid), Some(found)) = (bid, found_bid)
        && found != bid
    {
        report.fail(
            "package",
            format!("expected the manifest's bundleId {bid}, found {found}"),
        );
    }
    let base = manifest_url.trim_end_matches(mk::MANIFEST_FILE).to_owned();
    let mut files = vec![mk::SIGNATURE_FILE.to_owned()];
    files.extend(assets.into_iter().take(MAX_ASSETS));
    for file in files {
        let url = format!("{base}{file}");
        match site.status(&url).await {
            Ok(200) => report.ok("asset", format!("{url} answers 200")),
            Ok(status) => report.fail("asset", format!("expected 200 at {url}, found {status}")),
            Err(cause) => report.fail("asset", format!("GET {url} failed: {cause}")),
        }
    }
    manifest
        .get("appleVersionId")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// POSTs the documented restore or updates request for the app and checks the answer as the
/// device reads it.
async fn check_app_data(
    report: &mut SiteReport,
    site: &Site,
    account: &impl SiteAccount,
    kind: AppDataKind,
    url: &str,
    app_id: &str,
    version: Option<String>,
) {
    let name = kind_name(kind);
    if !url.starts_with("https://") {
        return;
    }
    let request = AppDataRequest {
        apps: vec![RequestedApp {
            apple_item_id: app_id.to_owned(),
            apple_version_id: version,
        }],
        platform: DEVICE_PLATFORM.to_owned(),
        os_version: DEVICE_OS_VERSION.to_owned(),
    };
    let body = serde_json::to_value(&request).unwrap_or_default();
    let answer = match site.fetch(url, Some(&body)).await {
        Ok(answer) if answer.status == 200 => answer,
        Ok(answer) => {
            report.fail(
                name,
                format!("POST {url}: expected 200, found {}", answer.status),
            );
            return;
        }
        Err(cause) => {
            report.fail(name, format!("POST {url} failed: {cause}"));
            return;
        }
    };
    let Ok(document) = serde_json::from_slice::<Value>(&answer.body) else {
        report.fail(name, format!("POST {url}: the answer is not JSON"));
        return;
    };
    report.problems(
        name,
        "answer",
        &mk::validate_app_data_response(&document, kind),
        format!("POST {url}: the answer has the documented shape").as_str(),
    );
    let entries = document
        .get(kind.answer_member())
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for entry in &entries {
        if let Some(token) = entry
            .get("installVerificationToken")
            .and_then(Value::as_str)
        {
            match account.verify_install_token(token, Some(app_id)).await {
                Ok(detail) => report.ok(name, format!("{name} token {detail}")),
                Err(detail) => report.fail(name, format!("{name} token invalid: {detail}")),
            }
        }
    }
    for failure in document
        .get("failures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        report.warn(
            name,
            format!(
                "failures lists app {} version {}: {} {:?}; the device shows \"App Not Available\"",
                plain(&failure["appleItemId"]),
                plain(&failure["appleVersionId"]),
                plain(&failure["failure"]["code"]),
                plain(&failure["failure"]["description"])
            ),
        );
    }
    if kind == AppDataKind::Updates && entries.is_empty() {
        report.ok(
            name,
            format!("no update offered for app {app_id} at the version asked for"),
        );
    } else if entries.is_empty()
        && document
            .get("failures")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        report.fail(
            name,
            format!("expected a package or a failure for app {app_id}, found neither"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_navigation_is_noticed() {
        assert!(navigates_by_script(
            "<script>window.location = 'marketplace-kit://install?x=1'</script>"
        ));
        assert!(!navigates_by_script(
            "<a href=\"marketplace-kit://install?x=1\">Install</a>"
        ));
    }

    #[test]
    fn only_public_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn private_literals_and_the_budget_are_refused() {
        let site = Site::new(&SiteCheckOptions::new("https://example.com")).unwrap();
        assert!(
            site.admit("https://127.0.0.1:8443/x")
                .unwrap_err()
                .contains("loopback")
        );
        assert!(site.admit("https://[::1]/x").is_err());
        assert!(site.admit("https://example.com/x").is_ok());
        let mut options = SiteCheckOptions::new("https://example.com");
        options.allow_private_targets = true;
        let site = Site::new(&options).unwrap();
        assert!(site.admit("https://127.0.0.1/x").is_ok());
        for _ in 0..MAX_REQUESTS {
            let _ = site.admit("https://example.com/");
        }
        assert!(
            site.admit("https://example.com/")
                .unwrap_err()
                .contains("budget")
        );
    }

    #[test]
    fn causes_walk_the_chain() {
        let inner = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        let outer = std::io::Error::other(Wrapper(inner));
        assert!(causes(&outer).contains("UnknownIssuer"));
    }

    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error sending request")
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
