//! The sandbox: install verification and marketplace tokens checked the way Apple checks them,
//! against the keys and apps this server holds, with every reason a token fails.
//!
//! Apple never tells a web-distribution developer why an install was refused; this does. The
//! handlers are in [`crate::routes::sandbox`]; the checks of the token itself are the library's
//! ([`altdist::jwt`]); this module adds what only the server knows, and gives it to the
//! library's verifier: which key a `kid` names in the caller's account (`keys`), which app
//! that key signs for (`signer`), and which nonces were seen before ([`crate::db::nonces`]).
//! `verify` puts them together.

mod keys;
mod signer;
mod verify;

use std::time::Duration;

use altdist::jwt::DEFAULT_CLOCK_SKEW;

use altdist::Verification;
use altdist::resource::IssuerId;
use altdist::sandbox::VerifyTokenRequest;

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

/// How long a parsed key is kept (each use checks it against the stored row first).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

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
    keys: keys::KeyCache,
}

impl Sandbox {
    /// Checks an install verification token of `account` as Apple would, and records its
    /// nonce: only when the signature verified (so nobody without the key can burn a
    /// developer's nonces) and the token is within its validity (so every recorded nonce can be
    /// pruned after [`nonce_retention`]).
    pub async fn verify_install(
        &self,
        db: &Db,
        account: &IssuerId,
        request: &VerifyTokenRequest,
    ) -> Result<Verification, SandboxError> {
        verify::verify_install(self, db, account, request).await
    }

    /// Checks a marketplace token of `account` as Apple would.
    pub async fn verify_marketplace(
        &self,
        db: &Db,
        account: &IssuerId,
        request: &VerifyTokenRequest,
    ) -> Result<Verification, SandboxError> {
        verify::verify_marketplace(self, db, account, request).await
    }
}
