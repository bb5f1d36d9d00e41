#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[cfg(feature = "client")]
pub mod client;
pub mod credentials;
pub mod error;
pub mod jwt;
pub mod key;
pub mod marketplace_kit;
#[cfg(feature = "client")]
pub mod package_fetch;
pub mod pem;
pub mod resource;
pub mod sandbox;
#[cfg(feature = "client")]
pub mod site_check;
#[cfg(any(test, feature = "test-keys"))]
pub mod test_keys;
pub mod webhook;

pub use error::{Error, ErrorKind};
pub use jwt::{
    ApiTokenClaims, Check, CheckName, DownloadType, InstallTokenClaims, MarketplaceTokenClaims,
    TokenKind, TokenSigner, Validation, Verification,
};
pub use key::{PrivateKey, PublicKey};
