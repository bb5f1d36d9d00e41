//! A reference web-distribution website: what a developer copies to start their own.
//!
//! It serves, over HTTPS, everything Apple's MarketplaceKit articles ask of a site that
//! distributes its own app (docs/WEB-DISTRIBUTION.md walks through each with its article):
//!
//! | path | what |
//! |---|---|
//! | `/.well-known/marketplace-kit` | the license, restore and updates endpoints |
//! | `/` | the install page: a `marketplace-kit://install` link with a token minted for this visit |
//! | `/packages/{app}/{version}/` | the assembled package: `manifest.json`, `signature`, `variant/` |
//! | `POST /restore`, `POST /updates` | the package and a fresh token for the app asked for |
//! | `/license/...` | placeholders: a real site runs Apple's App License Delivery SDK there |
//!
//! The package is a stand-in (no real app can be built without Apple), shaped like the example
//! in "Ingesting an alternative distribution package". [`Break`] breaks one thing at a time, so
//! tests and newcomers can see which check of `altdist site check` catches it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use altdist::marketplace_kit::{
    AppDataEntry, AppDataKind, AppDataRequest, AppDataResponse, Failure, FailureDetail,
    InstallLink, LicenseConfig, MarketplaceKitConfig, UpdatesConfig,
};
use altdist::{InstallTokenClaims, PrivateKey, TokenSigner, jwt};
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// The package version the site serves (an Apple version id, like App Store Connect's).
pub const VERSION_ID: &str = "2000000001";
const BUNDLE_VERSION: &str = "1";
const SHORT_VERSION: &str = "1.0";
/// The one variant of the stand-in package.
const VARIANT_ID: &str = "219750db-80c2-4c75-aecc-fa67835f384d";
/// How long a minted install verification token lives: long enough for a visitor to tap.
const TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// Hours between update checks; the system waits at least 24 whatever this says.
const POLLING_HOURS: u64 = 24;
/// A client that opens a connection and never finishes the handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One thing to break, to see which check catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Break {
    /// The well-known file answers 301 to another path.
    RedirectWellKnown,
    /// The well-known file's `updates` lacks `pollingInterval` and `restore` is a number.
    WellKnownShape,
    /// The well-known file's `restore` URL is `http://`.
    HttpUrl,
    /// The install link's package sits on `cdn.<host>`, not on the page's host.
    PackageHost,
    /// Install verification tokens expired ten minutes ago.
    ExpiredToken,
    /// Install verification tokens are signed by a key other than the uploaded one.
    OtherKey,
    /// One token minted at start and served to every visitor: its nonce repeats.
    StaticToken,
    /// The restore answer lacks `installVerificationToken`.
    RestoreMissingField,
    /// The install link carries a sign-in `token`, but the site serves no OAuth metadata.
    SignInWithoutOauth,
}

/// What the site needs: where it is, which app it distributes, the key that signs for it.
pub struct SiteConfig {
    /// The site's public base URL, `https://HOST[:PORT]`, no trailing slash: the host of the
    /// registered domain, which every URL the site writes uses.
    pub public_url: String,
    /// The app's Apple id (`iss` of its tokens).
    pub app_id: String,
    /// The app's bundle id (`bid`).
    pub bundle_id: String,
    /// The id App Store Connect gave the uploaded public key (`kid`).
    pub kid: String,
    /// The alternative distribution private key.
    pub key: PrivateKey,
    /// One thing broken on purpose, or none.
    pub broken: Option<Break>,
}

struct Site {
    public_url: String,
    app_id: String,
    bundle_id: String,
    broken: Option<Break>,
    signer: TokenSigner,
    /// The token every visitor gets under [`Break::StaticToken`].
    static_token: String,
}

impl Site {
    fn new(config: SiteConfig) -> anyhow::Result<Self> {
        let SiteConfig {
            public_url,
            app_id,
            bundle_id,
            kid,
            key,
            broken,
        } = config;
        let key = if broken == Some(Break::OtherKey) {
            PrivateKey::generate()?
        } else {
            key
        };
        let mut site = Self {
            public_url,
            app_id,
            bundle_id,
            broken,
            signer: TokenSigner::new(key, Some(&kid)),
            static_token: String::new(),
        };
        site.static_token = site.mint()?;
        Ok(site)
    }

    fn is(&self, broken: Break) -> bool {
        self.broken == Some(broken)
    }

    /// A fresh install verification token: a new nonce for every visit and every restore,
    /// since Apple refuses a nonce it has seen ("Supplying an install verification token").
    fn mint(&self) -> anyhow::Result<String> {
        if self.is(Break::StaticToken) && !self.static_token.is_empty() {
            return Ok(self.static_token.clone());
        }
        let issued_at = if self.is(Break::ExpiredToken) {
            // Issued twenty minutes ago with a ten-minute lifetime: expired ten minutes ago.
            jwt::unix_now() - 1200
        } else {
            jwt::unix_now()
        };
        let claims = InstallTokenClaims::new(
            self.app_id.clone(),
            self.bundle_id.clone(),
            issued_at,
            TOKEN_LIFETIME,
        );
        Ok(self.signer.sign(&claims)?)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// The package's base URL: the folder holding `manifest.json`, `signature` and `variant/`.
    fn package_url(&self) -> String {
        let path = format!("/packages/{}/{VERSION_ID}", self.app_id);
        if self.is(Break::PackageHost) {
            // Another host than the page's: MarketplaceKit refuses it.
            let cdn = self.public_url.replacen("https://", "https://cdn.", 1);
            format!("{cdn}{path}")
        } else {
            self.url(&path)
        }
    }

    fn entry(&self, kind: AppDataKind) -> anyhow::Result<AppDataEntry> {
        let updates = kind == AppDataKind::Updates;
        Ok(AppDataEntry {
            apple_item_id: self.app_id.clone(),
            apple_version_id: VERSION_ID.to_owned(),
            alternative_distribution_package: self.package_url(),
            install_verification_token: self.mint()?,
            bundle_version: updates.then(|| BUNDLE_VERSION.to_owned()),
            short_version_string: updates.then(|| SHORT_VERSION.to_owned()),
            app_share_url: Some(self.url("/")),
        })
    }
}

/// The site's routes.
pub fn router(config: SiteConfig) -> anyhow::Result<Router> {
    let site = Arc::new(Site::new(config)?);
    Ok(Router::new()
        .route("/.well-known/marketplace-kit", get(well_known))
        .route("/marketplace-kit.json", get(well_known_document))
        .route("/", get(install_page))
        .route("/packages/{app}/{version}/manifest.json", get(manifest))
        .route("/packages/{app}/{version}/signature", get(signature))
        .route("/packages/{app}/{version}/variant/{file}", get(variant))
        .route("/restore", post(restore))
        .route("/updates", post(updates))
        .route("/license", post(license_placeholder))
        .route("/license/renew", post(license_placeholder))
        .route("/license/expired", get(license_expired))
        .route("/license/signing.cer", get(certificate_placeholder))
        .route("/license/encryption.cer", get(certificate_placeholder))
        .with_state(site))
}

/// The well-known file, or (broken) a redirect to it: the device follows none.
async fn well_known(State(site): State<Arc<Site>>) -> Response {
    if site.is(Break::RedirectWellKnown) {
        return Redirect::permanent("/marketplace-kit.json").into_response();
    }
    well_known_document(State(site)).await
}

async fn well_known_document(State(site): State<Arc<Site>>) -> Response {
    let restore = if site.is(Break::HttpUrl) {
        site.url("/restore").replacen("https://", "http://", 1)
    } else {
        site.url("/restore")
    };
    let config = MarketplaceKitConfig {
        license: Some(LicenseConfig {
            dynamic_license_url: site.url("/license"),
            license_renewal_url: site.url("/license/renew"),
            license_resolution_url: site.url("/license/expired"),
            signing_certificate_url: site.url("/license/signing.cer"),
            encryption_certificate_url: site.url("/license/encryption.cer"),
        }),
        restore: Some(restore),
        updates: Some(UpdatesConfig {
            url: site.url("/updates"),
            polling_interval: POLLING_HOURS,
        }),
        ..MarketplaceKitConfig::default()
    };
    let mut document = serde_json::to_value(&config).unwrap_or_default();
    if site.is(Break::WellKnownShape) {
        document["restore"] = serde_json::json!(7);
        if let Some(updates) = document["updates"].as_object_mut() {
            updates.remove("pollingInterval");
        }
    }
    Json(document).into_response()
}

/// The install page, with a token minted for this visit.
async fn install_page(State(site): State<Arc<Site>>) -> Response {
    let token = match site.mint() {
        Ok(token) => token,
        Err(err) => return server_error(&err),
    };
    let mut link = InstallLink::new(site.package_url(), token);
    link.app_share_url = Some(site.url("/"));
    if site.is(Break::SignInWithoutOauth) {
        link.token = Some(format!("visitor-{}", uuid::Uuid::new_v4()));
    }
    let href = link.to_url().replace('&', "&amp;").replace('"', "&quot;");
    let bundle_id = &site.bundle_id;
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Install {bundle_id}</title></head>\n\
         <body>\n<h1>{bundle_id}</h1>\n\
         <p>On an iPhone or iPad in the EU, tap Install. The link carries an install verification \
         token minted for this visit only.</p>\n\
         <p><a id=\"install\" href=\"{href}\">Install</a></p>\n</body>\n</html>\n"
    ))
    .into_response()
}

/// The manifest, shaped like the example in "Ingesting an alternative distribution package".
async fn manifest(
    State(site): State<Arc<Site>>,
    UrlPath((app, version)): UrlPath<(String, String)>,
) -> Response {
    if app != site.app_id || version != VERSION_ID {
        return StatusCode::NOT_FOUND.into_response();
    }
    Json(serde_json::json!({
        "distributionPackageRevision": 1,
        "appleItemId": site.app_id,
        "bundleId": site.bundle_id,
        "shortVersionString": SHORT_VERSION,
        "bundleVersion": BUNDLE_VERSION,
        "appleVersionId": VERSION_ID,
        "platforms": ["ios"],
        "minimumSystemVersions": {"ios": "17.4"},
        "requiredDeviceCapabilities": ["arm64"],
        "appInstallDeterminants": [],
        "variants": [{
            "publicId": VARIANT_ID,
            "assetPath": format!("variant/{VARIANT_ID}.ipa"),
            "installTargets": [{"device": "iPhone14,5", "os": "17.4"}],
        }],
        "deltas": [],
    }))
    .into_response()
}

async fn signature() -> &'static [u8] {
    // A real package's signature comes from App Store Connect with the manifest.
    b"stand-in signature: replace the package with the one App Store Connect gives you\n"
}

async fn variant(UrlPath((_, _, file)): UrlPath<(String, String, String)>) -> Response {
    if file != format!("{VARIANT_ID}.ipa") {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        &b"stand-in variant: App Store Connect's variant .ipa goes here\n"[..],
    )
        .into_response()
}

async fn restore(State(site): State<Arc<Site>>, Json(request): Json<AppDataRequest>) -> Response {
    app_data(&site, AppDataKind::Restore, &request)
}

async fn updates(State(site): State<Arc<Site>>, Json(request): Json<AppDataRequest>) -> Response {
    app_data(&site, AppDataKind::Updates, &request)
}

/// The package and a fresh token for this site's app; a 404 `failures` entry for any other.
fn app_data(site: &Site, kind: AppDataKind, request: &AppDataRequest) -> Response {
    let mut answer = AppDataResponse::default();
    for app in &request.apps {
        if app.apple_item_id != site.app_id {
            answer.failures.push(Failure {
                apple_item_id: app.apple_item_id.clone(),
                apple_version_id: app.apple_version_id.clone().unwrap_or_default(),
                failure: FailureDetail {
                    code: 404,
                    description: "App unavailable.".to_owned(),
                },
            });
            continue;
        }
        match site.entry(kind) {
            Ok(entry) if kind == AppDataKind::Restore => answer.restores.push(entry),
            Ok(entry) => answer.updates.push(entry),
            Err(err) => return server_error(&err),
        }
    }
    let mut document = serde_json::to_value(&answer).unwrap_or_default();
    if kind == AppDataKind::Restore && site.is(Break::RestoreMissingField) {
        for entry in document["restores"].as_array_mut().into_iter().flatten() {
            entry
                .as_object_mut()
                .map(|entry| entry.remove("installVerificationToken"));
        }
    }
    Json(document).into_response()
}

async fn license_placeholder() -> Response {
    (
        StatusCode::NOT_IMPLEMENTED,
        "this reference site has no license server: run Apple's App License Delivery SDK here \
         (Licensing alternative distribution apps)\n",
    )
        .into_response()
}

async fn license_expired() -> Html<&'static str> {
    Html(
        "<!doctype html><title>License expired</title><p>Your license expired; reinstall from this site.</p>\n",
    )
}

async fn certificate_placeholder() -> &'static str {
    "stand-in: the certificate from Configuring your app licensing environment goes here\n"
}

fn server_error(err: &anyhow::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{err:#}\n")).into_response()
}

/// The TLS configuration from a PEM certificate chain and its private key.
pub fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| {
            anyhow::anyhow!("cannot read certificates from {}: {err}", cert.display())
        })?;
    if chain.is_empty() {
        anyhow::bail!("{} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| anyhow::anyhow!("cannot read the private key {}: {err}", key.display()))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts TLS connections for axum.
///
/// Handshakes run one at a time, each bounded by [`HANDSHAKE_TIMEOUT`]: enough for a reference
/// site; a production site usually terminates TLS in a proxy in front of it.
struct TlsListener {
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.tcp.accept().await else {
                // Out of file descriptors and the like: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let handshake = self.acceptor.accept(stream);
            if let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves the site over HTTPS on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    config: SiteConfig,
) -> anyhow::Result<()> {
    let router = router(config)?;
    let listener = TlsListener {
        tcp: listener,
        acceptor: tokio_rustls::TlsAcceptor::from(tls),
    };
    axum::serve(listener, router).await?;
    Ok(())
}

/// A test CA and a certificate for `hosts` signed by it, as PEM: `(ca, cert, key)`.
///
/// For local runs and tests only: trust the CA with `altdist site check --ca-cert`.
pub fn make_test_certificates(hosts: &[String]) -> anyhow::Result<(String, String, String)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "web-distribution-site test CA");
    let ca = ca_params.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(hosts.to_vec())?;
    params.distinguished_name.push(
        DnType::CommonName,
        hosts.first().cloned().unwrap_or_default(),
    );
    let cert = params.signed_by(&key, &ca, &ca_key)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}
