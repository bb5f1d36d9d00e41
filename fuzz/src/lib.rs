//! What the fuzz targets share: the fixed test key pair, and the contract's statuses.

use std::sync::OnceLock;

use altdist::{PrivateKey, PublicKey, test_keys};
use altdist_server::ApiError;

/// The test key pair (`altdist::test_keys`), parsed once per process.
pub fn test_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::from_pem(test_keys::SEC1_PRIVATE).expect("the test key loads"))
}

/// The public half of [`test_key`].
pub fn test_public_key() -> &'static PublicKey {
    test_key().public_key()
}

/// Asserts that `err`, the answer to something a client sent, is a 4xx whose code is one of
/// `codes` (by prefix, as clients match them), and a 409 blames a member of `data`. Never a
/// 500: that is for bugs.
pub fn assert_client_error(err: &ApiError, codes: &[&str]) {
    let (status, code, _) = err.status_code_title();
    assert!(
        status.is_client_error(),
        "{status} {code} for client input: {err}"
    );
    assert!(
        codes.iter().any(|expected| code.starts_with(expected)),
        "{status} {code} is not one of {codes:?}: {err}"
    );
    if let ApiError::Conflict { pointer, .. } = err {
        assert!(
            pointer
                .as_deref()
                .is_some_and(|pointer| pointer.starts_with("/data")),
            "a 409 blames a member of data: {err:?}"
        );
    }
}
