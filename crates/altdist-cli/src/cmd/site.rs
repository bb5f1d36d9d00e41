//! `altdist site check`: what Apple and the device check of a web-distribution website, against
//! the running site, without a device.
//!
//! Each check names the Apple article it comes from in docs/WEB-DISTRIBUTION.md. The site is
//! reached over HTTPS only, with no redirect followed, every request bounded in time and every
//! body in size, so a broken or hostile site cannot hang or exhaust the checker.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use altdist::client::{APPLE_BASE_URL, Client};
use altdist::jwt::{self, DecodedToken};
use altdist::marketplace_kit::{
    self as mk, AppDataKind, AppDataRequest, InstallLink, Problem, RequestedApp, Severity,
};
use altdist::resource::{AltDistKeyId, AppId};
use altdist::{PublicKey, TokenKind, Validation};
use serde::Serialize;
use serde_json::Value;

use super::connection::{Connection, all_pages};
use crate::credentials::CredentialArgs;
use crate::output::{self, hinted};

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

/// Options of `altdist site`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check a running web-distribution site as Apple and the device would: exit 0 when every
    /// check passes, 1 when one fails, 2 for a usage or setup error.
    Check(CheckOpts),
}

/// Options of `altdist site check`.
#[derive(Debug, clap::Args)]
struct CheckOpts {
    /// The site: https://DOMAIN[:PORT], a domain registered for the account.
    url: String,
    /// The Apple id of the app the site distributes [default: the iss of the page's token].
    #[arg(long, value_name = "APP_ID")]
    app: Option<String>,
    /// The install page holding the marketplace-kit://install links; loaded twice.
    #[arg(long, value_name = "URL")]
    page: Option<String>,
    /// Trust this CA (PEM, one or more certificates) besides the public roots: a private or
    /// test CA. The certificate must still be valid for the host.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Reach HOST:PORT at ADDRESS instead of what DNS says, as curl's --resolve; repeatable.
    /// The URLs keep their port; the entry applies to HOST on any port.
    #[arg(long, value_name = "HOST:PORT:ADDRESS")]
    resolve: Vec<String>,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    credentials: CredentialArgs,
}

/// Runs `altdist site check`.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let Command::Check(opts) = opts.command;
    check(opts).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Fail,
    Warn,
}

#[derive(Debug, Serialize)]
struct Line {
    name: &'static str,
    status: Status,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Report {
    url: String,
    passed: bool,
    checks: Vec<Line>,
}

impl Report {
    fn push(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        self.checks.push(Line {
            name,
            status,
            detail: detail.into(),
        });
    }

    fn ok(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, Status::Ok, detail);
    }

    fn fail(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, Status::Fail, detail);
    }

    fn warn(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, Status::Warn, detail);
    }

    /// One line per problem, prefixed by `what`; an ok line when none is an error.
    fn problems(&mut self, name: &'static str, what: &str, problems: &[Problem], ok: &str) {
        for problem in problems {
            let status = match problem.severity {
                Severity::Error => Status::Fail,
                Severity::Warning => Status::Warn,
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

/// The site's HTTP client: HTTPS only, no redirects, bounded.
struct Site {
    http: reqwest::Client,
}

impl Site {
    fn new(opts: &CheckOpts) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("altdist-site-check/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(path) = &opts.ca_cert {
            let pem = std::fs::read(path).map_err(|err| {
                hinted(
                    format!("cannot read --ca-cert {}: {err}", path.display()),
                    "give the CA certificate as a PEM file",
                )
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|err| {
                hinted(
                    format!(
                        "--ca-cert {} holds no PEM certificate: {err}",
                        path.display()
                    ),
                    "give the CA certificate as a PEM file (-----BEGIN CERTIFICATE-----)",
                )
            })?;
            if certificates.is_empty() {
                return Err(hinted(
                    format!("--ca-cert {} holds no certificate", path.display()),
                    "give the CA certificate as a PEM file (-----BEGIN CERTIFICATE-----)",
                ));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        for entry in &opts.resolve {
            let (host, address) = parse_resolve(entry)?;
            builder = builder.resolve(&host, address);
        }
        let http = builder
            .build()
            .map_err(|err| anyhow::anyhow!("cannot build the HTTP client: {}", causes(&err)))?;
        Ok(Self { http })
    }

    /// GET (or POST `body`) `url`; `Err` holds the underlying cause of a network or TLS failure.
    async fn fetch(&self, url: &str, body: Option<&Value>) -> Result<Answer, String> {
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
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|err| causes(&err))?;
        Ok(response.status().as_u16())
    }
}

/// `HOST:PORT:ADDRESS` → the host and the socket address (curl's convention).
fn parse_resolve(entry: &str) -> anyhow::Result<(String, SocketAddr)> {
    let bad = || {
        hinted(
            format!("--resolve {entry:?} is not HOST:PORT:ADDRESS"),
            "for example --resolve apps.example.com:8443:127.0.0.1",
        )
    };
    let mut parts = entry.splitn(3, ':');
    let (Some(host), Some(port), Some(address)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    let address: IpAddr = address
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), SocketAddr::new(address, port)))
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

/// The host of an https:// URL, lower-case; a usage error otherwise.
fn https_host(url: &str, flag: &str) -> anyhow::Result<url::Url> {
    let parsed = url::Url::parse(url).map_err(|err| {
        hinted(
            format!("{flag} {url:?} is not a URL: {err}"),
            "give it as https://DOMAIN[:PORT][/PATH]",
        )
    })?;
    if parsed.scheme() != "https" || parsed.host_str().is_none() {
        return Err(hinted(
            format!("{flag} {url:?} is not an https:// URL"),
            "Apple reaches the site over HTTPS only; for a local site use --ca-cert and --resolve",
        ));
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

/// What the page and the API tell about the app being checked.
struct AppFacts {
    id: String,
    bundle_id: Option<String>,
}

/// How install verification tokens are verified: altdist's sandbox, or offline against the
/// public key that Apple's API returns (Apple has no endpoint that verifies a token).
struct TokenVerifier<'a> {
    client: &'a Client,
    sandbox: bool,
    app: Option<AppFacts>,
}

impl TokenVerifier<'_> {
    /// Verifies `token`; `Ok` with a summary, `Err` with every failed check.
    async fn verify(&self, token: &str) -> Result<String, String> {
        let app_id = self.app.as_ref().map(|app| app.id.clone());
        if self.sandbox {
            let request = altdist::sandbox::VerifyTokenRequest {
                token: token.to_owned(),
                app_id,
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
        if let Some(app) = &self.app {
            validation = validation.with_expected_iss(&app.id);
            if let Some(bid) = &app.bundle_id {
                validation = validation.with_expected_bid(bid);
            }
        }
        summarize(
            &jwt::verify(token, &public, &validation),
            "offline with the uploaded public key (nonce replay is Apple's to check)",
        )
    }
}

fn summarize(verification: &altdist::Verification, how: &str) -> Result<String, String> {
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

async fn check(opts: CheckOpts) -> anyhow::Result<ExitCode> {
    let site_url = https_host(&opts.url, "URL")?;
    let page_url = opts
        .page
        .as_deref()
        .map(|page| https_host(page, "--page"))
        .transpose()?;
    let site = Site::new(&opts)?;
    let client = opts.connection.client(&opts.credentials)?;
    let sandbox = !client
        .base_url()
        .starts_with(APPLE_BASE_URL.trim_end_matches('/'));
    let mut report = Report {
        url: opts.url.clone(),
        passed: false,
        checks: Vec::new(),
    };

    // The domains: an unreachable API is a setup error (exit 2), not a failed check.
    let first = client.list_domains(Some(200)).await?;
    let (domains, _) = all_pages(&client, first, "domains").await?;
    let registered: Vec<String> = domains
        .iter()
        .filter_map(|domain| domain.attributes.as_ref()?.domain.clone())
        .collect();
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
            "no --page given: the install page, its links and tokens are not checked",
        );
    }

    // A link with `token` makes the device sign the visitor in through the OAuth metadata.
    if let Some(page_url) = page_url
        .as_ref()
        .filter(|_| links.iter().any(|link| link.token.is_some()))
    {
        check_oauth(&mut report, &site, page_url).await;
    }

    // The app: --app, else the token's iss, else nothing to check it against.
    let app_id = opts.app.clone().or_else(|| {
        links.first().and_then(|link| {
            jwt::decode(&link.install_verification_token)
                .ok()?
                .claim_str("iss")
                .map(str::to_owned)
        })
    });
    let app = match &app_id {
        Some(id) => match client.get_app(&AppId::from(id.clone())).await {
            Ok(app) => {
                let bundle_id = app
                    .value
                    .data
                    .attributes
                    .and_then(|attributes| attributes.bundle_id);
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
            Err(err) => {
                report.fail("app", format!("expected app {id} in the account: {err}"));
                None
            }
        },
        None => None,
    };
    let verifier = TokenVerifier {
        client: &client,
        sandbox,
        app,
    };

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
            match verifier.verify(&link.install_verification_token).await {
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
        let version = check_package(&mut report, &site, package, verifier.app.as_ref()).await;
        manifest_version = manifest_version.or(version);
    }

    // Restore and updates, when the well-known file names them.
    if let Some(well_known) = &well_known {
        let app_id = verifier.app.as_ref().map(|app| app.id.clone());
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
                    "not requested: no app to ask for (give --app, or --page with a token)",
                );
                continue;
            };
            check_app_data(
                &mut report,
                &site,
                &verifier,
                kind,
                url,
                app_id,
                manifest_version.clone(),
            )
            .await;
        }
    }

    report.passed = !report.checks.iter().any(|line| line.status == Status::Fail);
    print_report(&report, opts.connection.json_requested())?;
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn kind_name(kind: AppDataKind) -> &'static str {
    match kind {
        AppDataKind::Restore => "restore",
        AppDataKind::Updates => "updates",
    }
}

fn check_domain(report: &mut Report, name: &'static str, host: &str, registered: &[String]) {
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
async fn check_well_known(report: &mut Report, site: &Site, site_url: &url::Url) -> Option<Value> {
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
async fn check_oauth(report: &mut Report, site: &Site, page_url: &url::Url) {
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
async fn load_links(report: &mut Report, site: &Site, url: &str, which: &str) -> Vec<InstallLink> {
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
    report: &mut Report,
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
    report: &mut Report,
    site: &Site,
    verifier: &TokenVerifier<'_>,
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
            match verifier.verify(token).await {
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
                "failures lists app {} version {}: {} {}; the device shows \"App Not Available\"",
                failure["appleItemId"],
                failure["appleVersionId"],
                failure["failure"]["code"],
                failure["failure"]["description"]
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

fn print_report(report: &Report, json: bool) -> anyhow::Result<()> {
    if json {
        return output::print_json(report);
    }
    for line in &report.checks {
        let status = match line.status {
            Status::Ok => "ok  ",
            Status::Fail => "FAIL",
            Status::Warn => "warn",
        };
        println!("{status} {:<12} {}", line.name, line.detail);
    }
    let failed = report
        .checks
        .iter()
        .filter(|line| line.status == Status::Fail)
        .count();
    let warned = report
        .checks
        .iter()
        .filter(|line| line.status == Status::Warn)
        .count();
    if failed == 0 {
        println!(
            "site passes: {} checks, {warned} warning(s)",
            report.checks.len()
        );
    } else {
        println!(
            "site FAILS: {failed} of {} checks failed, {warned} warning(s)",
            report.checks.len()
        );
    }
    Ok(())
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
    fn resolve_entries() {
        let (host, address) = parse_resolve("Apps.Example.test:8443:127.0.0.1").unwrap();
        assert_eq!(host, "apps.example.test");
        assert_eq!(address, "127.0.0.1:8443".parse().unwrap());
        let (_, address) = parse_resolve("a.test:443:[::1]").unwrap();
        assert_eq!(address, "[::1]:443".parse().unwrap());
        assert!(parse_resolve("a.test:443").is_err());
        assert!(parse_resolve("a.test:x:127.0.0.1").is_err());
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
