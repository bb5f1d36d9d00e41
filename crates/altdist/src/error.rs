//! The library's one error type.

use std::path::{Path, PathBuf};

/// An error from reading keys, writing key files or handling tokens.
///
/// Every message names the input that was wrong, what was found and what was expected, so that
/// it can be shown to a person as it is. An error about a file's contents keeps its
/// [`ErrorKind`] and names the file ([`Error::path`]): `key.pem: found an EC key on the P-384
/// curve, ...`. Where another error caused this one (an I/O error, the HTTP library's), it is
/// [`std::error::Error::source`], and not repeated in this error's message; `{:#}` prints the
/// message followed by every cause, as `anyhow` does.
#[derive(Debug)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    /// The file whose contents the error is about.
    path: Option<PathBuf>,
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
    /// A file could not be read or written; the I/O error is the source.
    #[error("{}", path.display())]
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
    /// The API answered with an error status: the parsed JSON:API `errors` (empty when the body
    /// was not an error document) and the body as sent.
    #[error("{}", render_api_errors(*status, errors, body))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The `errors` array of the answer.
        errors: Vec<crate::resource::ResponseError>,
        /// The body, unchanged.
        body: String,
    },
    /// The client could not be set up, or a request not built (an invalid base URL or path).
    #[error("{0}")]
    Http(String),
    /// A request got no answer: it could not be sent (no connection, a timeout, TLS) or its
    /// answer not read. The HTTP library's error is the source.
    #[error("{method} {url} failed")]
    Request {
        /// The method, like `GET`.
        method: String,
        /// The full URL.
        url: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered 2xx with a body that is not the expected document.
    #[error("unexpected answer from the server: {0}")]
    UnexpectedResponse(String),
    /// The cryptographic backend failed where it should not.
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
}

/// `409 ENTITY_ERROR.ATTRIBUTE.INVALID: <detail> (at /data/attributes/publicKey)`, one line per error.
fn render_api_errors(status: u16, errors: &[crate::resource::ResponseError], body: &str) -> String {
    use crate::resource::ErrorSource;
    if errors.is_empty() {
        let body = body.trim();
        let excerpt: String = body.chars().take(200).collect();
        return if excerpt.is_empty() {
            format!("{status} (no body)")
        } else {
            format!("{status}: {excerpt}")
        };
    }
    let lines: Vec<String> = errors
        .iter()
        .map(|error| {
            let mut line = format!(
                "{} {}: {}",
                error.status,
                error.code,
                error.detail.as_deref().unwrap_or(&error.title)
            );
            match &error.source {
                Some(ErrorSource::Pointer { pointer }) => {
                    line.push_str(&format!(" (at {pointer})"))
                }
                Some(ErrorSource::Parameter { parameter }) => {
                    line.push_str(&format!(" (parameter {parameter})"))
                }
                None => {}
            }
            line
        })
        .collect();
    lines.join("\n")
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner { kind, path: None }),
        }
    }

    /// The same error, about the contents of the file `path`.
    pub(crate) fn in_file(mut self, path: &Path) -> Self {
        if !matches!(self.inner.kind, ErrorKind::Io { .. }) {
            self.inner.path = Some(path.to_owned());
        }
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The file the error is about: the one that could not be read or written, or the one whose
    /// contents are wrong.
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.kind {
            ErrorKind::Io { path, .. } | ErrorKind::AlreadyExists(path) => Some(path),
            _ => self.inner.path.as_deref(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(path) = &self.inner.path {
            write!(f, "{}: ", path.display())?;
        }
        std::fmt::Display::fmt(&self.inner.kind, f)?;
        if f.alternate() {
            let mut cause = std::error::Error::source(self);
            while let Some(error) = cause {
                write!(f, ": {error}")?;
                cause = error.source();
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.inner.kind)
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{ErrorSource, ResponseError};

    #[test]
    fn api_errors_render_status_code_detail_and_source() {
        let error = ResponseError {
            id: None,
            status: "409".into(),
            code: "ENTITY_ERROR.ATTRIBUTE.INVALID".into(),
            title: "An attribute value is invalid.".into(),
            detail: Some("found an RSA key, expected an ECDSA P-256 (prime256v1) key".into()),
            source: Some(ErrorSource::Pointer {
                pointer: "/data/attributes/publicKey".into(),
            }),
            links: None,
        };
        let err = Error::new(ErrorKind::Api {
            status: 409,
            errors: vec![error],
            body: String::new(),
        });
        assert_eq!(
            err.to_string(),
            "409 ENTITY_ERROR.ATTRIBUTE.INVALID: found an RSA key, expected an ECDSA P-256 (prime256v1) key (at /data/attributes/publicKey)"
        );
        let bare = Error::new(ErrorKind::Api {
            status: 502,
            errors: vec![],
            body: "<html>bad gateway</html>".into(),
        });
        assert_eq!(bare.to_string(), "502: <html>bad gateway</html>");
    }

    #[test]
    fn the_cause_is_the_source_and_not_repeated_in_the_message() {
        use std::error::Error as _;
        let err = Error::new(ErrorKind::Io {
            path: "key.pem".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
        assert_eq!(err.to_string(), "key.pem");
        assert_eq!(err.source().unwrap().to_string(), "no such file");
        assert_eq!(format!("{err:#}"), "key.pem: no such file");
        assert_eq!(err.path(), Some(Path::new("key.pem")));
    }

    #[test]
    fn an_error_in_a_file_keeps_its_kind_and_names_the_file() {
        use std::error::Error as _;
        let err = Error::new(ErrorKind::WrongCurve("P-384 (secp384r1)".into()))
            .in_file(Path::new("key.pem"));
        assert!(matches!(err.kind(), ErrorKind::WrongCurve(_)));
        assert_eq!(err.path(), Some(Path::new("key.pem")));
        assert!(err.source().is_none());
        assert_eq!(
            err.to_string(),
            "key.pem: found an EC key on the P-384 (secp384r1) curve, expected an ECDSA P-256 (prime256v1) key"
        );
    }
}
