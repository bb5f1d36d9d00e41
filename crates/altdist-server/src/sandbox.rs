//! The sandbox: install verification and marketplace tokens checked the way Apple checks them,
//! against the keys and apps this server holds, with every reason a token fails.
//!
//! Apple never tells a web-distribution developer why an install was refused; this does. The
//! handlers are in [`crate::routes::sandbox`]; the checks of the token itself are the library's
//! ([`altdist::jwt`]); this module adds what only the server knows: which key a `kid` names in
//! the caller's account, which app that key signs for, and which nonces were seen before.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use altdist::jwt::{self, DEFAULT_CLOCK_SKEW, DecodedToken};
use altdist::resource::{AppId, IssuerId};
use altdist::sandbox::VerifyTokenRequest;
use altdist::{CheckName, PrivateKey, PublicKey, TokenKind, Validation, Verification};

use crate::db::nonces::{NewNonce, NonceKey, NonceUse};
use crate::db::{self, Db};

/// Why the sandbox could not answer: never the token's fault (a bad token is a verification
/// with failed checks), always the server's.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] db::Error),
    /// A stored key no longer parses: keys are parsed when they are uploaded, so this is a bug
    /// or a damaged database.
    #[error("the stored alternative distribution key {id} does not parse: {source}")]
    StoredKey {
        /// The key's id.
        id: String,
        /// Why it does not parse.
        source: altdist::Error,
    },
}

/// The longest lifetime (`exp - iat`) the sandbox accepts for an install verification token.
///
/// Apple publishes no limit; install tokens are minted just before a download and live minutes
/// (`altdist token install` defaults to 10). The sandbox needs a limit so that a recorded nonce
/// can be forgotten after a bounded time: see [`nonce_retention`].
pub const MAX_INSTALL_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// How long a cached key is trusted before it is read from the database again.
///
/// A key deleted through this server leaves the cache at once; one deleted by another server
/// sharing the database leaves it within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

const KEY_CACHE_CAPACITY: usize = 10_000;

/// The longest a nonce is kept after it is recorded.
///
/// A recorded token passed its `iat` check (`iat <= now + skew`) and its lifetime check
/// (`exp - iat <= MAX_INSTALL_TOKEN_LIFETIME`), and its nonce is kept until `exp + skew`: so
/// until at most `now + lifetime + 2 * skew`.
pub fn nonce_retention() -> Duration {
    MAX_INSTALL_TOKEN_LIFETIME + DEFAULT_CLOCK_SKEW * 2
}

/// Whole seconds of `duration`, for arithmetic on unix times.
pub(crate) fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// What the sandbox keeps between requests: parsed keys. (The nonces seen are storage's:
/// [`db::nonces`].)
#[derive(Debug, Default)]
pub struct Sandbox {
    keys: KeyCache,
}

impl Sandbox {
    /// Forgets the cached key `kid` at once (call it when the key is deleted).
    pub fn forget_key(&self, kid: &str) {
        self.keys.forget(kid);
    }
}

/// An app as the checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AppInfo {
    id: String,
    bundle_id: String,
    marketplace: bool,
}

impl From<db::apps::AppRow> for AppInfo {
    fn from(row: db::apps::AppRow) -> Self {
        Self {
            id: row.id,
            bundle_id: row.bundle_id,
            marketplace: row.marketplace,
        }
    }
}

/// An alternative distribution key, parsed, with the app it is specific to.
///
/// Apps are never changed or deleted once created, so the app is cached with its key.
#[derive(Debug)]
struct CachedKey {
    id: String,
    account: String,
    app: Option<AppInfo>,
    public_key: PublicKey,
    loaded_at: i64,
}

/// Parsed keys by id, so a verification costs no PEM parsing and no key query.
///
/// Bounded: when full, stale entries go first, then everything. A generation counter stops a
/// load that raced with a deletion from caching the deleted key.
#[derive(Debug)]
struct KeyCache {
    entries: Mutex<HashMap<String, Arc<CachedKey>>>,
    generation: AtomicU64,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }
}

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CachedKey>>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, kid: &str, now: i64) -> Option<Arc<CachedKey>> {
        let entries = self.lock();
        entries
            .get(kid)
            .filter(|key| now - key.loaded_at < seconds(KEY_CACHE_TTL))
            .cloned()
    }

    fn insert(&self, key: Arc<CachedKey>, generation: u64, now: i64) {
        let mut entries = self.lock();
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.len() >= KEY_CACHE_CAPACITY {
            entries.retain(|_, cached| now - cached.loaded_at < seconds(KEY_CACHE_TTL));
            if entries.len() >= KEY_CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key.id.clone(), key);
    }

    fn forget(&self, kid: &str) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(kid);
    }
}

/// The key `kid` of `account`, from the cache or the database; `None` when the account has no
/// such key (another account's key is exactly as unknown).
async fn find_key(
    sandbox: &Sandbox,
    db: &Db,
    account: &IssuerId,
    kid: &str,
    now: i64,
) -> Result<Option<Arc<CachedKey>>, SandboxError> {
    if let Some(key) = sandbox.keys.get(kid, now) {
        return Ok((key.account == account.as_str()).then_some(key));
    }
    let generation = sandbox.keys.generation.load(Ordering::SeqCst);
    let Some(row) = db::alt_dist_keys::find(db, account, kid).await? else {
        return Ok(None);
    };
    cache_row(sandbox, db, account, row, generation, now)
        .await
        .map(Some)
}

async fn cache_row(
    sandbox: &Sandbox,
    db: &Db,
    account: &IssuerId,
    row: db::alt_dist_keys::AltDistKeyRow,
    generation: u64,
    now: i64,
) -> Result<Arc<CachedKey>, SandboxError> {
    let public_key =
        PublicKey::from_pem(&row.public_key).map_err(|source| SandboxError::StoredKey {
            id: row.id.clone(),
            source,
        })?;
    let app = match &row.app_id {
        Some(app_id) => db::apps::find(db, account, app_id)
            .await?
            .map(AppInfo::from),
        None => None,
    };
    let key = Arc::new(CachedKey {
        id: row.id,
        account: account.to_string(),
        app,
        public_key,
        loaded_at: now,
    });
    sandbox.keys.insert(Arc::clone(&key), generation, now);
    Ok(key)
}

/// A key that can verify nothing, for tokens whose key is unknown: the other checks still run,
/// and the signature check is then reported as not made.
fn no_key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::generate()
            .map(|key| key.public_key().clone())
            .unwrap_or_else(|err| panic!("cannot generate a P-256 key: {err}"))
    })
}

/// Which app a token is checked against, or why there is none.
enum Signer {
    /// Web distribution: `iss` and `bid` must be this app's.
    Web(AppInfo),
    /// Alternative marketplace: `iss` must be this marketplace app; `bid` only well-formed.
    Marketplace(AppInfo),
    /// No app to check against; the `app` check fails with this reason.
    Unknown(String),
}

impl Signer {
    fn app(&self) -> Option<&AppInfo> {
        match self {
            Self::Web(app) | Self::Marketplace(app) => Some(app),
            Self::Unknown(_) => None,
        }
    }
}

/// The app the token speaks for: the key's app when the key is app-specific, else `appId`, else
/// the app the token's `iss` names.
async fn find_signer(
    db: &Db,
    account: &IssuerId,
    key: Option<&CachedKey>,
    app_id: Option<&str>,
    iss: Option<&str>,
    kind: TokenKind,
) -> db::Result<(Signer, Option<String>)> {
    let mut app_id_problem = None;
    let app = if let Some(app) = key.and_then(|key| key.app.clone()) {
        if let Some(requested) = app_id.filter(|requested| *requested != app.id) {
            app_id_problem = Some(format!(
                "appId is {requested}, but the key is specific to the app {}; an app-specific key signs for its app only",
                app.id
            ));
        }
        Some(app)
    } else if let Some(requested) = app_id {
        let found = if AppId::is_well_formed(requested) {
            db::apps::find(db, account, requested)
                .await?
                .map(AppInfo::from)
        } else {
            None
        };
        if found.is_none() {
            app_id_problem = Some(format!(
                "there is no app {requested:?} in your account; list your apps with GET /v1/apps"
            ));
        }
        found
    } else {
        match iss.filter(|iss| AppId::is_well_formed(iss)) {
            Some(iss) => db::apps::find(db, account, iss).await?.map(AppInfo::from),
            None => None,
        }
    };
    let key_scope = match key {
        Some(key) if key.app.is_some() => "app-specific key",
        Some(_) => "account-wide key",
        None => "key unknown",
    };
    let signer = match app {
        None if app_id_problem.is_some() => {
            Signer::Unknown("no app to check bid and iss against (see the appId check)".to_owned())
        }
        None => Signer::Unknown(format!(
            "the token's iss ({}) names no app of your account{}; send appId, the Apple id of the app, to say which app the token is for",
            iss.unwrap_or("missing"),
            if key.is_some() {
                " and the key is account-wide"
            } else {
                ""
            }
        )),
        Some(app) if app.marketplace => Signer::Marketplace(app),
        Some(app) if kind == TokenKind::Marketplace => Signer::Unknown(format!(
            "the app {} ({}) is not a marketplace app; marketplace tokens are signed for a marketplace app (altdist admin app create --marketplace) [{key_scope}]",
            app.id, app.bundle_id
        )),
        Some(app) => Signer::Web(app),
    };
    Ok((signer, app_id_problem))
}

fn describe_signer(signer: &Signer, key: Option<&CachedKey>) -> Result<String, String> {
    let scope = match key {
        Some(key) if key.app.is_some() => "the key is app-specific",
        Some(_) => "the key is account-wide",
        None => "the key is unknown",
    };
    match signer {
        Signer::Web(app) => Ok(format!(
            "web distribution: app {} ({}); {scope}; iss and bid must be this app's",
            app.id, app.bundle_id
        )),
        Signer::Marketplace(app) => Ok(format!(
            "alternative marketplace: marketplace app {} ({}); {scope}; iss must be this app, bid only a well-formed bundle id",
            app.id, app.bundle_id
        )),
        Signer::Unknown(reason) => Err(reason.clone()),
    }
}

fn check_mut(verification: &mut Verification, name: CheckName) -> Option<&mut altdist::jwt::Check> {
    verification.check_mut(&name)
}

fn passed(verification: &Verification, name: &CheckName) -> bool {
    verification
        .checks
        .iter()
        .filter(|check| check.name == *name)
        .all(|check| check.ok)
}

/// Runs the library's checks with `key` (or reports the signature as not checked without one),
/// then names the key the `kid` found.
fn verify_with(
    decoded: DecodedToken<'_>,
    key: Option<&CachedKey>,
    validation: &Validation,
) -> Verification {
    let kid = decoded.kid().map(str::to_owned);
    let public_key = match key {
        Some(key) => &key.public_key,
        None => no_key(),
    };
    let mut verification = decoded.verify(public_key, validation);
    if key.is_none()
        && let Some(check) = check_mut(&mut verification, CheckName::Signature)
    {
        check.ok = false;
        check.detail = "not checked: no key of your account to check it with".to_owned();
    }
    if let (Some(kid), Some(check)) = (kid, check_mut(&mut verification, CheckName::Kid))
        && check.ok
    {
        match key {
            Some(key) if key.id == kid => {
                check.detail = format!("{kid}: an alternative distribution key of your account");
            }
            Some(_) => {}
            None => {
                check.ok = false;
                check.detail = format!(
                    "no alternative distribution key with this id in your account ({kid}); list yours with GET /v1/alternativeDistributionKeys"
                );
            }
        }
    }
    verification
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Checks an install verification token as Apple would, and records its nonce.
///
/// The nonce is recorded only when the signature verified (so nobody without the key can burn
/// a developer's nonces) and the token is within its validity (so every recorded nonce can be
/// pruned after [`nonce_retention`]). A token refused for another reason, a wrong `bid` say, is
/// still recorded: a second use of it is reported as a replay as well.
pub async fn verify_install(
    state: &crate::AppState,
    account: &IssuerId,
    request: &VerifyTokenRequest,
) -> Result<Verification, SandboxError> {
    let decoded = match jwt::decode(&request.token) {
        Ok(decoded) => decoded,
        Err(err) => return Ok(Verification::malformed(&err)),
    };
    let now = jwt::unix_now();
    let (db, sandbox) = (&state.db, &*state.sandbox);
    let key = match decoded.kid() {
        Some(kid) => find_key(sandbox, db, account, kid, now).await?,
        None => None,
    };
    let (signer, app_id_problem) = find_signer(
        db,
        account,
        key.as_deref(),
        request.app_id.as_deref(),
        decoded.claim_str("iss"),
        TokenKind::Install,
    )
    .await?;
    let mut validation = Validation::new(TokenKind::Install)
        .with_now(now)
        .with_max_lifetime(MAX_INSTALL_TOKEN_LIFETIME);
    validation.expected_iss = signer.app().map(|app| app.id.clone());
    validation.expected_bid = match &signer {
        Signer::Web(app) => Some(app.bundle_id.clone()),
        _ => None,
    };
    let exp = decoded
        .claims()
        .get("exp")
        .and_then(serde_json::Value::as_i64);
    let mut verification = verify_with(decoded, key.as_deref(), &validation);
    verification.push(CheckName::App, describe_signer(&signer, key.as_deref()));
    if let Some(problem) = app_id_problem {
        verification.push(CheckName::AppId, Err(problem));
    }
    let recordable = key.is_some()
        && [
            CheckName::Signature,
            CheckName::Iat,
            CheckName::Exp,
            CheckName::Lifetime,
            CheckName::Nonce,
        ]
        .iter()
        .all(|name| passed(&verification, name));
    let nonce = verification
        .claims
        .get("nonce")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    match (recordable, exp, nonce) {
        (true, Some(exp), Some(nonce)) => {
            let expires_at = exp.saturating_add(seconds(validation.clock_skew));
            let entry = NewNonce {
                account: account.clone(),
                key: NonceKey::of(&nonce),
                now,
                expires_at,
            };
            let used = db::nonces::record(db, entry).await?;
            if let Some(check) = check_mut(&mut verification, CheckName::Nonce) {
                match used {
                    NonceUse::Fresh => {
                        check.detail = format!(
                            "{nonce}: first use; remembered until {}",
                            rfc3339(expires_at)
                        );
                    }
                    NonceUse::Replayed { first_seen } => {
                        check.ok = false;
                        check.detail = match first_seen {
                            Some(first) => format!(
                                "replayed: {nonce} was first seen at {} ({} seconds ago); every install needs a fresh nonce",
                                rfc3339(first),
                                now - first
                            ),
                            None => format!(
                                "replayed: {nonce} was seen before; every install needs a fresh nonce"
                            ),
                        };
                    }
                }
            }
        }
        _ => {
            if let Some(check) =
                check_mut(&mut verification, CheckName::Nonce).filter(|check| check.ok)
            {
                check.detail.push_str(
                    "; not checked for replay: only tokens with a valid signature, within their validity, are recorded",
                );
            }
        }
    }
    Ok(verification)
}

/// Checks a marketplace token as Apple would.
///
/// Apple's marketplace tokens carry no `kid`; the key is then the one that signs for the
/// marketplace app the token's `iss` (or `appId`) names: its app-specific key, else the
/// account-wide key.
pub async fn verify_marketplace(
    state: &crate::AppState,
    account: &IssuerId,
    request: &VerifyTokenRequest,
) -> Result<Verification, SandboxError> {
    let decoded = match jwt::decode(&request.token) {
        Ok(decoded) => decoded,
        Err(err) => return Ok(Verification::malformed(&err)),
    };
    let now = jwt::unix_now();
    let (db, sandbox) = (&state.db, &*state.sandbox);
    let iss = decoded.claim_str("iss");
    let mut key_found_through_app = None;
    let key = match decoded.kid() {
        Some(kid) => find_key(sandbox, db, account, kid, now).await?,
        None => {
            let app = request
                .app_id
                .as_deref()
                .or(iss)
                .filter(|id| AppId::is_well_formed(id));
            // Read before the query, so a deletion racing with it keeps the row out of the cache.
            let generation = sandbox.keys.generation.load(Ordering::SeqCst);
            let row = match app {
                Some(app) => {
                    db::alt_dist_keys::find_for_app(db, account, &AppId(app.to_owned())).await?
                }
                None => None,
            };
            let key = match row {
                Some(row) => match sandbox.keys.get(&row.id, now) {
                    Some(key) => Some(key),
                    None => Some(cache_row(sandbox, db, account, row, generation, now).await?),
                },
                None => None,
            };
            key_found_through_app = Some(match (&key, app) {
                (Some(key), Some(app)) => Ok(format!(
                    "the token has no kid; the key that signs for app {app} is {}",
                    key.id
                )),
                (None, Some(app)) => Err(format!(
                    "the token has no kid, and app {app} has no key in your account (no app-specific key, no account-wide key)"
                )),
                (_, None) => Err(
                    "the token has no kid and no iss of digits to find the marketplace app's key by"
                        .to_owned(),
                ),
            });
            key
        }
    };
    let (signer, app_id_problem) = find_signer(
        db,
        account,
        key.as_deref(),
        request.app_id.as_deref(),
        iss,
        TokenKind::Marketplace,
    )
    .await?;
    let mut validation = Validation::new(TokenKind::Marketplace).with_now(now);
    validation.expected_iss = signer.app().map(|app| app.id.clone());
    let mut verification = verify_with(decoded, key.as_deref(), &validation);
    if let Some(found) = key_found_through_app {
        verification.push(CheckName::Key, found);
    }
    verification.push(CheckName::App, describe_signer(&signer, key.as_deref()));
    if let Some(problem) = app_id_problem {
        verification.push(CheckName::AppId, Err(problem));
    }
    Ok(verification)
}
