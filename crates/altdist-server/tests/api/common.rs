//! `TestServer`: the real router on a real socket (127.0.0.1:0) with a fresh database, driven
//! over HTTP. Every response is checked against the OpenAPI subset (see `schema`).
//!
//! Tests run on both backends: write `async fn name(backend: Backend)` that starts its server
//! with `TestServer::start_on(backend)`, then `backend_test!(name)` makes the tests
//! `name::sqlite` and `name::postgres`. The PostgreSQL one gets a database of its own on the
//! server `TEST_DATABASE_URL` names, dropped at the end; without that variable it skips with a
//! notice (and fails under `CI=true`).

use std::time::Duration;

use altdist::resource::{ApiKeyId, AppId, IssuerId};
use altdist::{ApiTokenClaims, TokenSigner};
use altdist_server::admin::{self, AppSpec};
use altdist_server::auth::Role;
use altdist_server::db::test_db::{self, TestDatabase};
use altdist_server::package_store::{DEFAULT_URL_TTL, PackageStore};
use altdist_server::{AppState, Db, build_router};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::schema;

/// Makes `name::sqlite` and `name::postgres`, tests that run `async fn name(backend: Backend)`
/// on each backend; an attribute other than `#[tokio::test]` may come first.
macro_rules! backend_test {
    ($name:ident) => {
        backend_test!(
            #[tokio::test]
            $name
        );
    };
    (#[$attr:meta] $name:ident) => {
        mod $name {
            #[$attr]
            async fn sqlite() {
                super::$name(crate::common::Backend::Sqlite).await;
            }

            #[$attr]
            async fn postgres() {
                if altdist_server::db::test_db::server_url().is_some() {
                    super::$name(crate::common::Backend::Postgres).await;
                }
            }
        }
    };
}

/// The database a [`TestServer`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server of `TEST_DATABASE_URL`.
    Postgres,
}

impl Backend {
    /// A fresh, migrated database on this backend, and the PostgreSQL database to drop after.
    pub async fn open(self, dir: &std::path::Path) -> (Db, Option<TestDatabase>) {
        match self {
            Self::Sqlite => (admin::open(dir, None).await.unwrap(), None),
            Self::Postgres => {
                let server = test_db::server_url().expect(
                    "backend_test! runs PostgreSQL tests only when TEST_DATABASE_URL is set",
                );
                let database = TestDatabase::create(&server).await.unwrap();
                let db = admin::open(dir, Some(database.url())).await.unwrap();
                (db, Some(database))
            }
        }
    }
}

pub struct TestServer {
    pub base: String,
    pub db: Db,
    pub state: AppState,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
    outbox: Option<altdist_server::webhooks::Outbox>,
    /// Reads served from memory, as `altdist serve` does.
    _read_caching: altdist_server::db::ReadCaching,
    // Last: dropped after the pool above, though it forces its connections closed anyway.
    _database: Option<TestDatabase>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// An API key a test acts as.
pub struct Identity {
    pub key_id: ApiKeyId,
    pub issuer: IssuerId,
    pub individual: bool,
    signer: TokenSigner,
}

impl Identity {
    /// A fresh token: issued now, valid 20 minutes.
    pub fn token(&self) -> String {
        self.sign(&self.claims(altdist::jwt::unix_now(), 20 * 60))
    }

    /// Claims issued at `iat`, living `lifetime` seconds (unchecked, to test refusals).
    pub fn claims(&self, iat: i64, lifetime: i64) -> ApiTokenClaims {
        ApiTokenClaims {
            iss: (!self.individual).then(|| self.issuer.to_string()),
            sub: self.individual.then(|| "user".to_owned()),
            iat,
            exp: iat + lifetime,
            aud: altdist::jwt::API_AUDIENCE.to_owned(),
            scope: None,
        }
    }

    pub fn sign<C: serde::Serialize>(&self, claims: &C) -> String {
        self.signer.sign(claims).unwrap()
    }

    /// Signs any header and claims with this key, shaped as a third-party library shapes them.
    pub fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        altdist::test_keys::sign_raw(self.signer.key(), header, claims)
    }
}

/// A response, its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
            .to_str()
            .unwrap()
    }

    /// The first error's code, asserting the status.
    #[track_caller]
    pub fn error(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        let error = &self.json["errors"][0];
        assert_eq!(error["status"], status.to_string());
        for member in ["id", "code", "title", "detail"] {
            assert!(
                error[member].is_string(),
                "error without {member}: {}",
                self.text
            );
        }
        error
    }

    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        let error = self.error(status);
        assert_eq!(error["code"], code, "{}", self.text);
        error
    }
}

impl TestServer {
    /// A server on `backend` with a budget no test exhausts by accident.
    pub async fn start_on(backend: Backend) -> Self {
        Self::start_with_rate_limit(backend, 1_000_000).await
    }

    pub async fn start_with_rate_limit(backend: Backend, rate_limit: u32) -> Self {
        Self::start(backend, rate_limit, false).await
    }

    /// A server started with `--allow-private-targets`: webhooks may post to the tests' local
    /// receivers, over `http://`.
    pub async fn start_allowing_private_targets(backend: Backend) -> Self {
        Self::start(backend, 1_000_000, true).await
    }

    async fn start(backend: Backend, rate_limit: u32, allow_private_targets: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (db, database) = backend.open(dir.path()).await;
        Self::serve(dir, db, database, rate_limit, allow_private_targets).await
    }

    /// A server on PostgreSQL, for what only PostgreSQL does (several servers on one
    /// database); `None` without `TEST_DATABASE_URL`, as `backend_test!` skips then.
    pub async fn start_postgres() -> Option<Self> {
        test_db::server_url()?;
        Some(Self::start_on(Backend::Postgres).await)
    }

    /// The URL of this server's PostgreSQL database, which other servers may share.
    pub fn database_url(&self) -> &str {
        self._database
            .as_ref()
            .expect("only a PostgreSQL database is shared by several servers")
            .url()
    }

    /// A second server on this one's PostgreSQL database, as another `altdist serve` sharing
    /// it: its own connections, caches and rate limiter.
    pub async fn beside(&self) -> Self {
        let db = Db::connect(self.database_url()).await.unwrap();
        Self::serve(tempfile::tempdir().unwrap(), db, None, 1_000_000, false).await
    }

    async fn serve(
        dir: tempfile::TempDir,
        db: Db,
        database: Option<TestDatabase>,
        rate_limit: u32,
        allow_private_targets: bool,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let base = format!("http://{address}");
        let state = AppState::new(db.clone(), &base, rate_limit)
            .with_private_targets(allow_private_targets)
            .with_package_store(PackageStore::new(
                dir.path().join("packages"),
                DEFAULT_URL_TTL,
            ));
        let read_caching = db.cache_reads();
        let router = build_router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            base,
            db,
            state,
            client,
            _dir: dir,
            server,
            outbox: None,
            _read_caching: read_caching,
            _database: database,
        }
    }

    /// Starts delivering webhooks, as `altdist serve` does, with `settings`.
    pub async fn start_outbox(&mut self, settings: altdist_server::webhooks::OutboxSettings) {
        let outbox = altdist_server::webhooks::Outbox::start(
            self.db.clone(),
            self.state.webhook_targets,
            settings,
        )
        .await
        .unwrap();
        self.outbox = Some(outbox);
    }

    pub async fn patch(&self, who: &Identity, path: &str, body: &Value) -> TestResponse {
        self.send(self.as_(who, Method::PATCH, path).json(body))
            .await
    }

    pub async fn account(&self) -> IssuerId {
        admin::create_account(&self.db).await.unwrap()
    }

    pub async fn api_key(&self, account: &IssuerId, role: Role, individual: bool) -> Identity {
        let key = admin::create_api_key(&self.db, account, role, individual)
            .await
            .unwrap();
        Identity {
            signer: TokenSigner::new(key.private_key, Some(key.id.as_str())),
            key_id: key.id,
            issuer: account.clone(),
            individual,
        }
    }

    /// A new account with an ADMIN team key.
    pub async fn admin(&self) -> Identity {
        let account = self.account().await;
        self.api_key(&account, Role::Admin, false).await
    }

    pub async fn app(&self, account: &IssuerId, bundle_id: &str) -> AppId {
        let spec = AppSpec {
            name: format!("App {bundle_id}"),
            bundle_id: bundle_id.to_owned(),
            sku: None,
            primary_locale: "en-US".to_owned(),
            marketplace: false,
            made_for_kids: false,
        };
        AppId(
            admin::create_app(&self.db, account, &spec)
                .await
                .unwrap()
                .id,
        )
    }

    /// An App Store version of `app` (admin-made, as `altdist admin app version create`), in
    /// `state`, with these variant files and deltas from these earlier versions; returns its id.
    pub async fn app_store_version(
        &self,
        app: &AppId,
        version: &str,
        state: &str,
        variants: &[&std::path::Path],
        delta_from: &[&str],
    ) -> String {
        self.try_app_store_version(app, version, state, variants, delta_from)
            .await
            .unwrap()
    }

    /// [`Self::app_store_version`], or why it was refused.
    pub async fn try_app_store_version(
        &self,
        app: &AppId,
        version: &str,
        state: &str,
        variants: &[&std::path::Path],
        delta_from: &[&str],
    ) -> anyhow::Result<String> {
        let spec = admin::VersionSpec {
            version_string: version.to_owned(),
            platform: "IOS".to_owned(),
            app_version_state: state.to_owned(),
            variants: variants.iter().map(|path| path.to_path_buf()).collect(),
            delta_from: delta_from.iter().map(|from| (*from).to_owned()).collect(),
        };
        admin::create_app_store_version(&self.db, &self.state.packages, app.as_str(), &spec)
            .await
            .map(|created| created.id)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request without authentication.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request authenticated as `who` with a fresh token.
    pub fn as_(&self, who: &Identity, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request(method, path).bearer_auth(who.token())
    }

    /// Sends the request and checks the response against the OpenAPI subset.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        let request = request.build().unwrap();
        let method = request.method().clone();
        let path = request.url().path().to_owned();
        let response = self.client.execute(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(
            headers.contains_key("x-rate-limit"),
            "{method} {path} answered {status} without X-Rate-Limit"
        );
        schema::check(&method, &path, status, &headers, &text);
        TestResponse {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn get(&self, who: &Identity, path: &str) -> TestResponse {
        self.send(self.as_(who, Method::GET, path)).await
    }

    pub async fn delete(&self, who: &Identity, path: &str) -> TestResponse {
        self.send(self.as_(who, Method::DELETE, path)).await
    }

    pub async fn post(&self, who: &Identity, path: &str, body: &Value) -> TestResponse {
        self.send(self.as_(who, Method::POST, path).json(body))
            .await
    }

    /// Creates a key with `pem`, app-specific when `app` is given.
    pub async fn create_key(&self, who: &Identity, pem: &str, app: Option<&AppId>) -> TestResponse {
        let request = altdist::resource::AltDistKeyCreateRequest::new(pem, app.cloned());
        self.post(
            who,
            "/v1/alternativeDistributionKeys",
            &serde_json::to_value(request).unwrap(),
        )
        .await
    }
}

/// A fresh P-256 public key PEM.
pub fn fresh_public_key() -> String {
    altdist::PrivateKey::generate()
        .unwrap()
        .public_key()
        .to_pem()
}

pub fn role(name: &str) -> Role {
    Role::parse(name).unwrap()
}
