//! App Store Connect API authentication: ES256 bearer tokens signed with an API key.
//!
//! See Apple's [Generating tokens for API requests](https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests).
//! The token checks themselves live in the library ([`altdist::jwt`]); this module finds the key,
//! caches tokens that passed, checks `scope`, and charges the rate limit.

use altdist::jwt;
use altdist::resource::{ApiKeyId, IssuerId};
use altdist::{PublicKey, TokenKind, Validation};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use std::sync::Arc;
use std::time::Duration;

use crate::db::{self, Db};
use crate::error::ApiError;
use crate::rate_limit::{self, RateLimiter};

mod caller;
mod tokens;

pub use caller::{Caller, Role};
pub use tokens::{CachedToken, TokenCache};

/// How often a server checks the database for API keys revoked by another process.
///
/// Tokens of a revoked key are refused by every server within this (plus one query) of the
/// revocation: well within the promised second.
pub const REVOCATION_POLL: Duration = Duration::from_millis(250);

/// What authentication needs: the API keys (in the database), the tokens verified so far, and
/// each key's request budget.
#[derive(Debug)]
pub struct Authenticator {
    db: Db,
    tokens: TokenCache,
    rate_limiter: Arc<RateLimiter>,
}

impl Authenticator {
    /// Authentication against the API keys of `db`, with `rate_limit` requests per key per
    /// hour (this starts the rate limiter's sync task, so it needs a Tokio runtime).
    pub fn new(db: Db, rate_limit: u32) -> Self {
        Self {
            rate_limiter: RateLimiter::start(db.clone(), rate_limit),
            tokens: TokenCache::default(),
            db,
        }
    }

    /// The verified tokens.
    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// The per-key request budget.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.rate_limiter
    }

    /// Revokes an API key: in the database, and in the token cache at once.
    pub async fn revoke_api_key(&self, id: &ApiKeyId) -> db::Result<bool> {
        let revoked = db::api_keys::revoke(&self.db, id).await?;
        self.tokens.revoke(id);
        Ok(revoked)
    }

    /// Watches the database for keys revoked by another process (`altdist admin api-key
    /// revoke`) and drops the cached tokens when one is: within `every` of the revocation.
    ///
    /// The first count is taken before this returns, so that a revocation made after it is
    /// always seen as a change.
    pub async fn spawn_revocation_watch(
        self: &Arc<Self>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let auth = Arc::clone(self);
        let mut last = db::api_keys::revoked_count(&auth.db).await.ok();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                match db::api_keys::revoked_count(&auth.db).await {
                    Ok(count) if Some(count) != last => {
                        auth.tokens.clear();
                        last = Some(count);
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!("cannot check for revoked API keys: {err}"),
                }
            }
        })
    }
}

/// Middleware on every `/v1` route: authenticates, checks `scope`, charges the rate limit and
/// reports it in `X-Rate-Limit`. The [`Caller`] is left in the request's extensions.
pub async fn authenticate(
    State(auth): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    // Borrow the parts, not the request: its body is not Sync, so a `&Request` held across an
    // await would make this future not Send.
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let caller = match caller_for(&auth, request.headers(), &method, &uri).await {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let decision = auth.rate_limiter.acquire(&caller.api_key).await;
    let mut response = if decision.allowed {
        request.extensions_mut().insert(caller);
        next.run(request).await
    } else {
        ApiError::RateLimited(decision.limit).into_response()
    };
    response
        .headers_mut()
        .insert(rate_limit::HEADER, decision.header_value());
    response
}

async fn caller_for(
    auth: &Authenticator,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
) -> Result<Caller, ApiError> {
    let token = bearer_token(headers)?;
    let now = jwt::unix_now();
    let cached = match auth.tokens.get(token, now) {
        Some(cached) => cached,
        None => verify(auth, token, now).await?,
    };
    if let Some(scope) = &cached.scope
        && !scope_allows(scope, method, uri.path(), uri.query())
    {
        return Err(ApiError::Forbidden(format!(
            "the token's scope ({}) does not include {method} {}",
            scope.join(", "),
            uri.path()
        )));
    }
    Ok(cached.caller)
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized(
            "no Authorization header; send `Authorization: Bearer <token>` with an ES256 token signed by your API key"
                .to_owned(),
        )
    })?;
    let value = value.to_str().map_err(|_| {
        ApiError::Unauthorized("the Authorization header is not ASCII text".to_owned())
    })?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "the Authorization header is not `Bearer <token>`".to_owned(),
        ));
    }
    Ok(token.trim())
}

async fn verify(auth: &Authenticator, token: &str, now: i64) -> Result<CachedToken, ApiError> {
    let generation = auth.tokens.generation();
    let decoded = jwt::decode(token)
        .map_err(|err| ApiError::Unauthorized(format!("the bearer token is malformed: {err}")))?;
    let kid = decoded
        .kid()
        .filter(|kid| ApiKeyId::is_well_formed(kid))
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "the token header has no kid of ten upper-case letters and digits (the API key id, like 2X9R4HXF34)"
                    .to_owned(),
            )
        })?
        .to_owned();
    let unknown = || ApiError::Unauthorized(format!("the API key {kid} is unknown or revoked"));
    let row = db::api_keys::find(&auth.db, &kid)
        .await?
        .ok_or_else(unknown)?;
    if row.revoked {
        return Err(unknown());
    }
    let role = Role::parse(&row.role)
        .ok_or_else(|| anyhow::anyhow!("API key {kid} has an unknown role {:?}", row.role))?;
    let public_key = PublicKey::from_pem(&row.public_key)
        .map_err(|err| anyhow::anyhow!("API key {kid} has an unreadable public key: {err}"))?;
    let has_iss = decoded.claims().contains_key("iss");
    if row.individual && has_iss {
        return Err(ApiError::Unauthorized(format!(
            "{kid} is an individual API key; its tokens carry sub \"user\" and no iss"
        )));
    }
    if !row.individual && !has_iss {
        return Err(ApiError::Unauthorized(format!(
            "{kid} is a team API key; its tokens carry iss, the issuer id of its account"
        )));
    }
    let scope = match decoded.claims().get("scope") {
        Some(serde_json::Value::Array(entries)) => Some(
            entries
                .iter()
                .filter_map(|entry| entry.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    };
    let exp = decoded
        .claims()
        .get("exp")
        .and_then(serde_json::Value::as_i64);
    let mut validation = Validation::new(TokenKind::Api);
    validation.now = Some(now);
    validation.expected_kid = Some(kid.clone());
    if !row.individual {
        validation.expected_iss = Some(row.account_id.clone());
    }
    let verification = decoded.verify(&public_key, &validation);
    if !verification.is_valid() {
        let failures: Vec<String> = verification
            .failures()
            .map(|check| format!("{}: {}", check.name, check.detail))
            .collect();
        return Err(ApiError::Unauthorized(format!(
            "the bearer token was refused: {}",
            failures.join("; ")
        )));
    }
    let entry = CachedToken {
        caller: Caller {
            api_key: ApiKeyId(row.id),
            account: IssuerId(row.account_id),
            role,
        },
        scope,
    };
    auth.tokens
        .insert(token, entry.clone(), exp.unwrap_or(now), generation, now);
    Ok(entry)
}

/// Whether one entry of `scope` (like `GET /v1/apps?filter[platform]=IOS`) covers the request:
/// same method and path, same query parameters in any order, `limit`, `cursor` and `sort` aside.
pub fn scope_allows(scope: &[String], method: &Method, path: &str, query: Option<&str>) -> bool {
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    let request_query = normalized_query(query.unwrap_or(""));
    scope.iter().any(|entry| {
        let Some((entry_method, target)) = entry.trim().split_once(' ') else {
            return false;
        };
        let (entry_path, entry_query) =
            target.trim().split_once('?').unwrap_or((target.trim(), ""));
        entry_method.eq_ignore_ascii_case(method.as_str())
            && entry_path == path
            && normalized_query(entry_query) == request_query
    })
}

fn normalized_query(query: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| !matches!(name.as_ref(), "limit" | "cursor" | "sort"))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|entry| (*entry).to_owned()).collect()
    }

    #[test]
    fn scope_matches_method_path_and_query_in_any_order() {
        let scope = scope(&["GET /v1/apps?filter[platform]=IOS&filter[name]=A"]);
        assert!(scope_allows(
            &scope,
            &Method::GET,
            "/v1/apps",
            Some("filter%5Bname%5D=A&filter[platform]=IOS&limit=5&sort=name")
        ));
        assert!(!scope_allows(
            &scope,
            &Method::GET,
            "/v1/apps",
            Some("filter[name]=A")
        ));
        assert!(!scope_allows(
            &scope,
            &Method::POST,
            "/v1/apps",
            Some("filter[platform]=IOS&filter[name]=A")
        ));
        assert!(!scope_allows(
            &scope,
            &Method::GET,
            "/v1/apps/1",
            Some("filter[platform]=IOS&filter[name]=A")
        ));
    }

    #[test]
    fn scope_without_query_covers_only_requests_without_filters() {
        let scope = scope(&["GET /v1/alternativeDistributionKeys"]);
        assert!(scope_allows(
            &scope,
            &Method::GET,
            "/v1/alternativeDistributionKeys",
            None
        ));
        assert!(scope_allows(
            &scope,
            &Method::GET,
            "/v1/alternativeDistributionKeys",
            Some("cursor=abc&limit=2")
        ));
        assert!(!scope_allows(
            &scope,
            &Method::GET,
            "/v1/alternativeDistributionKeys",
            Some("exists[app]=true")
        ));
        assert!(!scope_allows(
            &scope,
            &Method::DELETE,
            "/v1/alternativeDistributionKeys",
            None
        ));
    }
}
