//! A typed, async client for the App Store Connect alternative distribution endpoints.
//!
//! It talks to Apple (`https://api.appstoreconnect.apple.com`, the default) or to `altdist serve`
//! alike: only the base URL differs. See Apple's
//! [Alternative Distribution Keys](https://developer.apple.com/documentation/appstoreconnectapi/alternative-distribution-keys)
//! reference.
//!
//! * The bearer token is minted once and reused until a minute before it expires.
//! * 429 and 5xx answers (and failed connections) are retried with exponential backoff and
//!   jitter, honouring `Retry-After`; every answer's `X-Rate-Limit` header is kept.
//! * Every method returns the typed document and the body exactly as the server sent it.
//! * No type of the HTTP library shows in this module's API: a failed request is
//!   [`ErrorKind::Request`], with the HTTP library's error as its source.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind};
use crate::jwt::{self, ApiTokenClaims, MAX_API_TOKEN_LIFETIME, TokenSigner};
use crate::key::PrivateKey;
use crate::resource::{
    AltDistDomain, AltDistDomainCreateRequest, AltDistDomainId, AltDistKey,
    AltDistKeyCreateRequest, AltDistKeyId, AltDistKeyType, AltDistPackage, AltDistPackageDelta,
    AltDistPackageVariant, AltDistPackageVersion, App, AppId, AppStoreVersion, CollectionDocument,
    Document, ErrorResponse, LinkageDocument, Webhook, WebhookCreateRequest, WebhookPing,
    WebhookPingCreateRequest,
};

/// App Store Connect's API.
pub const APPLE_BASE_URL: &str = "https://api.appstoreconnect.apple.com";

/// Refresh the cached token this long before it expires, so a request never carries a token
/// that expires in flight.
const TOKEN_REFRESH_MARGIN: i64 = 60;

/// The API key that signs requests.
pub struct ApiKey {
    /// The key id, the `kid` of every token.
    pub key_id: String,
    /// The account's issuer id; `None` for an individual key.
    pub issuer_id: Option<String>,
    /// The private key (`AuthKey_<KEY_ID>.p8`).
    pub private_key: PrivateKey,
}

/// The last `X-Rate-Limit` header seen: `user-hour-lim:3600;user-hour-rem:3599;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed per rolling hour.
    pub limit: u64,
    /// Requests left in the current hour.
    pub remaining: u64,
}

impl RateLimit {
    /// Parses the header value; `None` when it is not in Apple's format.
    pub fn parse(header: &str) -> Option<Self> {
        let mut limit = None;
        let mut remaining = None;
        for part in header.split(';') {
            match part.trim().split_once(':') {
                Some(("user-hour-lim", value)) => limit = value.trim().parse().ok(),
                Some(("user-hour-rem", value)) => remaining = value.trim().parse().ok(),
                _ => {}
            }
        }
        Some(Self {
            limit: limit?,
            remaining: remaining?,
        })
    }
}

/// A decoded answer and its body exactly as sent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fetched<T> {
    /// The typed document.
    pub value: T,
    /// The response body, unchanged.
    pub body: String,
}

/// What the client reports about each HTTP exchange, for `-v` output. Never carries the token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Exchange {
    /// The method, like `GET`.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// The status, or `None` if the request failed before an answer.
    pub status: Option<u16>,
    /// The status's reason phrase (`OK`, `Not Found`), when the status has a standard one.
    pub reason: Option<&'static str>,
    /// How long the exchange took.
    pub elapsed: Duration,
    /// 1 for the first try.
    pub attempt: u32,
    /// The rate-limit header of the answer.
    pub rate_limit: Option<RateLimit>,
}

type Observer = Arc<dyn Fn(&Exchange) + Send + Sync>;

/// How many times and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// The first backoff; it doubles each retry, with up to 50% random jitter.
    pub base_delay: Duration,
    /// No single wait is longer than this; a `Retry-After` beyond it ends the retries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Query of `GET /v1/alternativeDistributionKeys`.
#[derive(Debug, Clone, Default)]
pub struct KeyListQuery {
    /// `exists[app]`: only app-specific keys (`true`) or only account-wide keys (`false`).
    pub exists_app: Option<bool>,
    /// Page size, 1..=200.
    pub limit: Option<u32>,
}

/// Query of `GET /v1/apps`.
#[derive(Debug, Clone, Default)]
pub struct AppListQuery {
    /// `filter[name]`.
    pub name: Option<String>,
    /// `filter[bundleId]`.
    pub bundle_id: Option<String>,
    /// Page size, 1..=200.
    pub limit: Option<u32>,
}

/// The client. Cheap to clone; clones share the connection pool and the cached token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: Url,
    tokens: Arc<TokenCache>,
    retry: RetryPolicy,
    observer: Option<Observer>,
    rate_limit: Arc<Mutex<Option<RateLimit>>>,
}

struct TokenCache {
    signer: TokenSigner,
    issuer_id: Option<String>,
    current: Mutex<Option<(String, i64)>>,
}

impl TokenCache {
    fn token(&self) -> Result<String, Error> {
        let now = jwt::unix_now();
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((token, exp)) = current.as_ref()
            && now < exp - TOKEN_REFRESH_MARGIN
        {
            return Ok(token.clone());
        }
        let claims = match &self.issuer_id {
            Some(issuer) => ApiTokenClaims::team(issuer.clone(), now, MAX_API_TOKEN_LIFETIME)?,
            None => ApiTokenClaims::individual(now, MAX_API_TOKEN_LIFETIME)?,
        };
        let token = self.signer.sign(&claims)?;
        *current = Some((token.clone(), claims.exp));
        Ok(token)
    }
}

impl Client {
    /// A client for `base_url` (e.g. [`APPLE_BASE_URL`] or `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, key: ApiKey) -> Result<Self, Error> {
        let mut base_url = Url::parse(base_url.trim()).map_err(|err| {
            Error::new(ErrorKind::Http(format!(
                "invalid base URL {base_url:?}: {err}"
            )))
        })?;
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("altdist/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|err| {
                Error::new(ErrorKind::Http(format!(
                    "cannot build the HTTP client: {err}"
                )))
            })?;
        let signer = TokenSigner::new(key.private_key, Some(&key.key_id));
        Ok(Self {
            http,
            base_url,
            tokens: Arc::new(TokenCache {
                signer,
                issuer_id: key.issuer_id,
                current: Mutex::new(None),
            }),
            retry: RetryPolicy::default(),
            observer: None,
            rate_limit: Arc::new(Mutex::new(None)),
        })
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Calls `observer` after every HTTP exchange (for `-v`).
    #[must_use]
    pub fn with_observer(mut self, observer: impl Fn(&Exchange) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The base URL, ending in `/`.
    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// The rate-limit header of the latest answer.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        *self
            .rate_limit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A URL under the base URL from path segments, each percent-encoded.
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    // ---- alternativeDistributionKeys

    /// `POST /v1/alternativeDistributionKeys`: uploads a public key PEM, for one app when given.
    pub async fn create_key(
        &self,
        public_key_pem: &str,
        app: Option<&AppId>,
    ) -> Result<Fetched<Document<AltDistKey>>, Error> {
        let body = AltDistKeyCreateRequest::new(public_key_pem, app.cloned());
        self.send(
            Method::POST,
            self.url(&["v1", "alternativeDistributionKeys"], &[]),
            Some(&body),
        )
        .await
    }

    /// `GET /v1/alternativeDistributionKeys`: one page.
    pub async fn list_keys(
        &self,
        query: &KeyListQuery,
    ) -> Result<Fetched<CollectionDocument<AltDistKey>>, Error> {
        let mut params = Vec::new();
        if let Some(exists) = query.exists_app {
            params.push(("exists[app]", exists.to_string()));
        }
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        self.get(self.url(&["v1", "alternativeDistributionKeys"], &params))
            .await
    }

    /// `GET /v1/alternativeDistributionKeys/{id}`.
    pub async fn get_key(&self, id: &AltDistKeyId) -> Result<Fetched<Document<AltDistKey>>, Error> {
        self.get(self.url(&["v1", "alternativeDistributionKeys", id.as_str()], &[]))
            .await
    }

    /// `DELETE /v1/alternativeDistributionKeys/{id}`.
    pub async fn delete_key(&self, id: &AltDistKeyId) -> Result<(), Error> {
        self.delete(self.url(&["v1", "alternativeDistributionKeys", id.as_str()], &[]))
            .await
    }

    // ---- apps

    /// `GET /v1/apps`: one page.
    pub async fn list_apps(
        &self,
        query: &AppListQuery,
    ) -> Result<Fetched<CollectionDocument<App>>, Error> {
        let mut params = Vec::new();
        if let Some(name) = &query.name {
            params.push(("filter[name]", name.clone()));
        }
        if let Some(bundle_id) = &query.bundle_id {
            params.push(("filter[bundleId]", bundle_id.clone()));
        }
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        self.get(self.url(&["v1", "apps"], &params)).await
    }

    /// `GET /v1/apps/{id}`.
    pub async fn get_app(&self, id: &AppId) -> Result<Fetched<Document<App>>, Error> {
        self.get(self.url(&["v1", "apps", id.as_str()], &[])).await
    }

    /// `GET /v1/apps/{id}/alternativeDistributionKey`: the key that signs for the app.
    pub async fn app_key(&self, id: &AppId) -> Result<Fetched<Document<AltDistKey>>, Error> {
        self.get(self.url(
            &["v1", "apps", id.as_str(), "alternativeDistributionKey"],
            &[],
        ))
        .await
    }

    /// `GET /v1/apps/{id}/relationships/alternativeDistributionKey`: just that key's id.
    pub async fn app_key_linkage(
        &self,
        id: &AppId,
    ) -> Result<Fetched<LinkageDocument<AltDistKeyType, AltDistKeyId>>, Error> {
        self.get(self.url(
            &[
                "v1",
                "apps",
                id.as_str(),
                "relationships",
                "alternativeDistributionKey",
            ],
            &[],
        ))
        .await
    }

    // ---- alternativeDistributionDomains

    /// `POST /v1/alternativeDistributionDomains`.
    pub async fn create_domain(
        &self,
        domain: &str,
        reference_name: &str,
    ) -> Result<Fetched<Document<AltDistDomain>>, Error> {
        let body = AltDistDomainCreateRequest::new(domain, reference_name);
        self.send(
            Method::POST,
            self.url(&["v1", "alternativeDistributionDomains"], &[]),
            Some(&body),
        )
        .await
    }

    /// `GET /v1/alternativeDistributionDomains`: one page.
    pub async fn list_domains(
        &self,
        limit: Option<u32>,
    ) -> Result<Fetched<CollectionDocument<AltDistDomain>>, Error> {
        let params: Vec<_> = limit
            .map(|limit| ("limit", limit.to_string()))
            .into_iter()
            .collect();
        self.get(self.url(&["v1", "alternativeDistributionDomains"], &params))
            .await
    }

    /// `GET /v1/alternativeDistributionDomains/{id}`.
    pub async fn get_domain(
        &self,
        id: &AltDistDomainId,
    ) -> Result<Fetched<Document<AltDistDomain>>, Error> {
        self.get(self.url(&["v1", "alternativeDistributionDomains", id.as_str()], &[]))
            .await
    }

    /// `DELETE /v1/alternativeDistributionDomains/{id}`.
    pub async fn delete_domain(&self, id: &AltDistDomainId) -> Result<(), Error> {
        self.delete(self.url(&["v1", "alternativeDistributionDomains", id.as_str()], &[]))
            .await
    }

    // ---- webhooks

    /// `POST /v1/webhooks`.
    pub async fn create_webhook(
        &self,
        request: &WebhookCreateRequest,
    ) -> Result<Fetched<Document<Webhook>>, Error> {
        self.send(
            Method::POST,
            self.url(&["v1", "webhooks"], &[]),
            Some(request),
        )
        .await
    }

    /// `DELETE /v1/webhooks/{id}`.
    pub async fn delete_webhook(&self, id: &str) -> Result<(), Error> {
        self.delete(self.url(&["v1", "webhooks", id], &[])).await
    }

    /// `POST /v1/webhookPings`: sends the webhook `id` a test event.
    pub async fn ping_webhook(&self, id: &str) -> Result<Fetched<Document<WebhookPing>>, Error> {
        let body = WebhookPingCreateRequest::new(id);
        self.send(
            Method::POST,
            self.url(&["v1", "webhookPings"], &[]),
            Some(&body),
        )
        .await
    }

    // ---- App Store versions and alternative distribution packages

    /// `GET /v1/apps/{id}/appStoreVersions`: one page, of one version string when given.
    pub async fn list_app_store_versions(
        &self,
        app: &AppId,
        version_string: Option<&str>,
    ) -> Result<Fetched<CollectionDocument<AppStoreVersion>>, Error> {
        let mut params = vec![("limit", "200".to_owned())];
        if let Some(version) = version_string {
            params.push(("filter[versionString]", version.to_owned()));
        }
        self.get(self.url(&["v1", "apps", app.as_str(), "appStoreVersions"], &params))
            .await
    }

    /// `GET /v1/appStoreVersions/{id}/alternativeDistributionPackage`.
    pub async fn app_store_version_package(
        &self,
        app_store_version: &str,
    ) -> Result<Fetched<Document<AltDistPackage>>, Error> {
        self.get(self.url(
            &[
                "v1",
                "appStoreVersions",
                app_store_version,
                "alternativeDistributionPackage",
            ],
            &[],
        ))
        .await
    }

    /// `POST /v1/alternativeDistributionPackages`: the package of an App Store version.
    pub async fn create_package(
        &self,
        app_store_version: &str,
    ) -> Result<Fetched<Document<AltDistPackage>>, Error> {
        let body = crate::resource::AltDistPackageCreateRequest::new(app_store_version);
        self.send(
            Method::POST,
            self.url(&["v1", "alternativeDistributionPackages"], &[]),
            Some(&body),
        )
        .await
    }

    /// `GET /v1/alternativeDistributionPackages/{id}/versions`: one page of its completed
    /// versions.
    pub async fn package_versions(
        &self,
        package: &str,
    ) -> Result<Fetched<CollectionDocument<AltDistPackageVersion>>, Error> {
        let params = [
            ("filter[state]", "COMPLETED".to_owned()),
            ("limit", "200".to_owned()),
        ];
        self.get(self.url(
            &["v1", "alternativeDistributionPackages", package, "versions"],
            &params,
        ))
        .await
    }

    /// `GET /v1/alternativeDistributionPackageVersions/{id}`: a fresh `url` of its file.
    pub async fn get_package_version(
        &self,
        id: &str,
    ) -> Result<Fetched<Document<AltDistPackageVersion>>, Error> {
        self.get(self.url(&["v1", "alternativeDistributionPackageVersions", id], &[]))
            .await
    }

    /// `GET /v1/alternativeDistributionPackageVersions/{id}/variants`: one page.
    pub async fn package_version_variants(
        &self,
        version: &str,
    ) -> Result<Fetched<CollectionDocument<AltDistPackageVariant>>, Error> {
        self.get(self.url(
            &[
                "v1",
                "alternativeDistributionPackageVersions",
                version,
                "variants",
            ],
            &[("limit", "200".to_owned())],
        ))
        .await
    }

    /// `GET /v1/alternativeDistributionPackageVersions/{id}/deltas`: one page.
    pub async fn package_version_deltas(
        &self,
        version: &str,
    ) -> Result<Fetched<CollectionDocument<AltDistPackageDelta>>, Error> {
        self.get(self.url(
            &[
                "v1",
                "alternativeDistributionPackageVersions",
                version,
                "deltas",
            ],
            &[("limit", "200".to_owned())],
        ))
        .await
    }

    /// `GET /v1/alternativeDistributionPackageVariants/{id}`: a fresh `url`.
    pub async fn get_package_variant(
        &self,
        id: &str,
    ) -> Result<Fetched<Document<AltDistPackageVariant>>, Error> {
        self.get(self.url(&["v1", "alternativeDistributionPackageVariants", id], &[]))
            .await
    }

    /// `GET /v1/alternativeDistributionPackageDeltas/{id}`: a fresh `url`.
    pub async fn get_package_delta(
        &self,
        id: &str,
    ) -> Result<Fetched<Document<AltDistPackageDelta>>, Error> {
        self.get(self.url(&["v1", "alternativeDistributionPackageDeltas", id], &[]))
            .await
    }

    // ---- paging

    /// The page after `page`, following its `links.next`; `None` on the last page.
    ///
    /// The link must stay under the base URL: the bearer token is never sent anywhere else.
    pub async fn next_page<T: DeserializeOwned>(
        &self,
        page: &CollectionDocument<T>,
    ) -> Result<Option<Fetched<CollectionDocument<T>>>, Error> {
        let Some(next) = &page.links.next else {
            return Ok(None);
        };
        let url = Url::parse(next).map_err(|err| {
            Error::new(ErrorKind::UnexpectedResponse(format!(
                "links.next {next:?} is not a URL: {err}"
            )))
        })?;
        if url.origin() != self.base_url.origin() {
            return Err(Error::new(ErrorKind::UnexpectedResponse(format!(
                "links.next points to {}, outside {}; not following it with credentials",
                url.origin().ascii_serialization(),
                self.base_url.origin().ascii_serialization()
            ))));
        }
        self.get(url).await.map(Some)
    }

    // ---- altdist's sandbox

    /// Asks an altdist server to verify a token as Apple would (`kind` install or marketplace);
    /// the answer lists every check. Apple's own API has no such endpoint.
    pub async fn verify_token(
        &self,
        kind: crate::TokenKind,
        request: &crate::sandbox::VerifyTokenRequest,
    ) -> Result<Fetched<crate::sandbox::SandboxVerification>, Error> {
        let path = match kind {
            crate::TokenKind::Marketplace => crate::sandbox::MARKETPLACE_VERIFY_PATH,
            _ => crate::sandbox::INSTALL_VERIFY_PATH,
        };
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.send(Method::POST, self.url(&segments, &[]), Some(request))
            .await
    }

    /// Asks an altdist server to check a web-distribution site as `altdist site check` does,
    /// from the server (`POST /sandbox/v1/sites/check`). Apple's API has no such endpoint.
    pub async fn check_site(
        &self,
        request: &crate::site_check::SiteCheckRequest,
    ) -> Result<Fetched<crate::site_check::SiteReport>, Error> {
        let path = crate::site_check::SITE_CHECK_PATH;
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.send(Method::POST, self.url(&segments, &[]), Some(request))
            .await
    }

    /// A raw request for an arbitrary path (`/v1/...`): the body as sent, for `--output json`.
    pub async fn get_raw(&self, path_and_query: &str) -> Result<String, Error> {
        let url = self
            .base_url
            .join(path_and_query.trim_start_matches('/'))
            .map_err(|err| {
                Error::new(ErrorKind::Http(format!(
                    "invalid path {path_and_query:?}: {err}"
                )))
            })?;
        let (_, body) = self.exchange(Method::GET, url, None).await?;
        Ok(body)
    }

    // ---- transport

    async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<Fetched<T>, Error> {
        self.send::<T, ()>(Method::GET, url, None).await
    }

    async fn delete(&self, url: Url) -> Result<(), Error> {
        self.exchange(Method::DELETE, url, None).await.map(drop)
    }

    async fn send<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<Fetched<T>, Error> {
        let body = body
            .map(|body| serde_json::to_vec(body))
            .transpose()
            .map_err(|err| {
                Error::new(ErrorKind::Http(format!("cannot encode the request: {err}")))
            })?;
        let (_, text) = self.exchange(method, url, body).await?;
        let value = serde_json::from_str(&text).map_err(|err| {
            Error::new(ErrorKind::UnexpectedResponse(format!(
                "the answer is not the expected document ({err})"
            )))
        })?;
        Ok(Fetched { value, body: text })
    }

    /// One request with retries; returns the status and body of a 2xx answer.
    async fn exchange(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, String), Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.tokens.token()?)
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let started = Instant::now();
            let outcome = request.send().await;
            let last_try = attempt >= self.retry.max_attempts;
            let response = match outcome {
                Ok(response) => response,
                Err(err) => {
                    self.observe(&method, &url, None, started, attempt, None);
                    // A request that never reached the server is safe to repeat; one that timed
                    // out may have been applied, so only idempotent methods are retried then.
                    let retryable =
                        err.is_connect() || (err.is_timeout() && method != Method::POST);
                    if retryable && !last_try {
                        tokio::time::sleep(self.backoff(attempt)).await;
                        continue;
                    }
                    return Err(Error::new(ErrorKind::Request {
                        method: method.to_string(),
                        url: url.to_string(),
                        source: Box::new(err),
                    }));
                }
            };
            let status = response.status();
            let rate_limit = response
                .headers()
                .get("x-rate-limit")
                .and_then(|value| value.to_str().ok())
                .and_then(RateLimit::parse);
            if rate_limit.is_some() {
                *self
                    .rate_limit
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = rate_limit;
            }
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            self.observe(&method, &url, Some(status), started, attempt, rate_limit);
            let text = response.text().await.map_err(|err| {
                Error::new(ErrorKind::Request {
                    method: method.to_string(),
                    url: url.to_string(),
                    source: Box::new(err),
                })
            })?;
            if status.is_success() {
                return Ok((status, text));
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
            if retryable && !last_try && wait <= self.retry.max_delay {
                tokio::time::sleep(wait).await;
                continue;
            }
            let errors = serde_json::from_str::<ErrorResponse>(&text)
                .map(|response| response.errors)
                .unwrap_or_default();
            return Err(Error::new(ErrorKind::Api {
                status: status.as_u16(),
                errors,
                body: text,
            }));
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .retry
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let mut random = [0u8; 2];
        let _ = aws_lc_rs::rand::fill(&mut random);
        let jitter = f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX) * 0.5;
        exponential.mul_f64(1.0 + jitter).min(self.retry.max_delay)
    }

    fn observe(
        &self,
        method: &Method,
        url: &Url,
        status: Option<StatusCode>,
        started: Instant,
        attempt: u32,
        rate_limit: Option<RateLimit>,
    ) {
        if let Some(observer) = &self.observer {
            observer(&Exchange {
                method: method.to_string(),
                url: url.to_string(),
                status: status.map(|status| status.as_u16()),
                reason: status.and_then(|status| status.canonical_reason()),
                elapsed: started.elapsed(),
                attempt,
                rate_limit,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rate_limit_header() {
        assert_eq!(
            RateLimit::parse("user-hour-lim:3600;user-hour-rem:3598;"),
            Some(RateLimit {
                limit: 3600,
                remaining: 3598
            })
        );
        assert_eq!(RateLimit::parse("garbage"), None);
    }

    #[test]
    fn urls_encode_path_segments_and_brackets() {
        let key = ApiKey {
            key_id: "2X9R4HXF34".into(),
            issuer_id: None,
            private_key: PrivateKey::generate().unwrap(),
        };
        let client = Client::new("http://127.0.0.1:8080/base", key).unwrap();
        let url = client.url(&["v1", "apps", "a/b"], &[("filter[name]", "My App".into())]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/base/v1/apps/a%2Fb?filter%5Bname%5D=My+App"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let key = ApiKey {
            key_id: "2X9R4HXF34".into(),
            issuer_id: None,
            private_key: PrivateKey::generate().unwrap(),
        };
        let client = Client::new(APPLE_BASE_URL, key).unwrap();
        let first = client.backoff(1);
        assert!(
            first >= Duration::from_millis(500) && first <= Duration::from_millis(750),
            "{first:?}"
        );
        assert!(client.backoff(3) >= Duration::from_secs(2));
        assert_eq!(client.backoff(30), Duration::from_secs(30));
    }

    #[test]
    fn the_token_is_minted_once_and_reused() {
        let key = ApiKey {
            key_id: "2X9R4HXF34".into(),
            issuer_id: Some("i".into()),
            private_key: PrivateKey::generate().unwrap(),
        };
        let client = Client::new(APPLE_BASE_URL, key).unwrap();
        assert_eq!(
            client.tokens.token().unwrap(),
            client.tokens.token().unwrap()
        );
    }
}
