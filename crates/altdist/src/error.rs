//! The library's one error type.

use std::path::PathBuf;

/// An error from reading keys, writing key files or handling tokens.
///
/// Every message names the input that was wrong, what was found and what was expected, so that
/// it can be shown to a person as it is.
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not PEM; the payload says what it looks like instead.
    #[error("expected a PEM key (a -----BEGIN ...----- block), found {0}")]
    NotPem(String),
    /// A PEM block or DER structure ends early.
    #[error("{0}")]
    Truncated(String),
    /// The PEM body is not base64.
    #[error("{0}")]
    InvalidBase64(String),
    /// The DER inside the PEM does not parse as the structure its label promises.
    #[error("the {0} is not valid DER; the key is truncated or corrupt")]
    InvalidDer(String),
    /// An encrypted private key.
    #[error(
        "the private key is encrypted (PEM block '{0}'); decrypt it first, e.g. `openssl pkey -in key.pem -out plain.pem`"
    )]
    Encrypted(String),
    /// A key of another algorithm (RSA, Ed25519, ...).
    #[error("found {0}, expected an ECDSA P-256 (prime256v1) key")]
    UnsupportedAlgorithm(String),
    /// An EC key on a curve other than P-256.
    #[error("found an EC key on the {0} curve, expected an ECDSA P-256 (prime256v1) key")]
    WrongCurve(String),
    /// A private key where only a public key belongs.
    #[error(
        "found a private key ({0}) where a public key is expected; share only the public key, made with `openssl ec -in private_key.pem -pubout` or `altdist pubkey`"
    )]
    PrivateKeyGiven(String),
    /// A public key where a private key is needed.
    #[error(
        "found a public key where a private key is expected; signing needs the private key (e.g. private_key.pem)"
    )]
    PublicKeyGiven,
    /// An X.509 certificate.
    #[error(
        "found an X.509 certificate, expected a public key; extract it with `openssl x509 -in cert.pem -pubkey -noout`"
    )]
    Certificate,
    /// A PEM block whose label is neither a key nor a certificate.
    #[error(
        "found a PEM block labelled '{0}', expected a PUBLIC KEY, EC PRIVATE KEY or PRIVATE KEY block"
    )]
    UnexpectedLabel(String),
    /// The key parses but its contents are not a valid P-256 key.
    #[error("invalid P-256 key: {0}")]
    InvalidKey(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file that already exists was not overwritten.
    #[error("{} already exists; refusing to overwrite a key file", .0.display())]
    AlreadyExists(PathBuf),
    /// A token that is not a compact JWS, or claims that cannot be encoded.
    #[error("{0}")]
    Token(String),
    /// The cryptographic backend failed where it should not.
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            kind: Box::new(kind),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.kind.fmt(f)
    }
}

// The I/O cause is already part of the message, so `source` stays `None` and `{:#}` chains do not
// print it twice.
impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}
