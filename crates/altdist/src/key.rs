//! Alternative distribution keys: ECDSA P-256 key pairs.
//!
//! A developer makes the private key (`openssl ecparam -name prime256v1 -genkey -noout`, or
//! [`PrivateKey::generate`]), keeps it, and uploads the public half as a SubjectPublicKeyInfo PEM
//! (`openssl ec -in private_key.pem -pubout`, or [`PublicKey::to_pem`]). See Apple's
//! [Creating and configuring keys for web distribution](https://developer.apple.com/documentation/appstoreconnectapi/creating-and-configuring-keys-for-web-distribution).
//!
//! Keys are parsed once and held: signing and verifying never re-parse them.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use aws_lc_rs::encoding::AsBigEndian as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, ParsedPublicKey};
use sec1::der::{Decode as _, Encode as _};
use spki::ObjectIdentifier;

use crate::error::{Error, ErrorKind};
use crate::pem::{self, PemBlock};

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The DER prefix of every P-256 SubjectPublicKeyInfo with an uncompressed point: SEQUENCE {
/// AlgorithmIdentifier { id-ecPublicKey, prime256v1 }, BIT STRING header }. The 65-byte point
/// follows. This is exactly what `openssl ec -pubout` writes.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
const UNCOMPRESSED_POINT_LEN: usize = 65;

const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";
const SEC1_LABEL: &str = "EC PRIVATE KEY";
const PKCS8_LABEL: &str = "PRIVATE KEY";
/// `openssl ecparam -genkey` without `-noout` writes this block before the key; it carries no key.
const EC_PARAMETERS_LABEL: &str = "EC PARAMETERS";

/// The public half of an alternative distribution key, ready to verify ES256 signatures.
#[derive(Clone)]
pub struct PublicKey {
    verifier: ParsedPublicKey,
    spki_der: Vec<u8>,
}

impl PublicKey {
    /// Reads a SubjectPublicKeyInfo PEM in any of the spellings clients send (see [`crate::pem`]).
    ///
    /// A private key, a certificate, a key of another algorithm or curve, and text that is not PEM
    /// are refused with an error that says what was found.
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let blocks = pem::parse_all(text)?;
        let block = first_key_block(&blocks)?;
        match block.label.as_str() {
            PUBLIC_KEY_LABEL => Self::from_spki_der(&block.der),
            other => Err(misplaced_block(other, Expected::Public)),
        }
    }

    /// Reads a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|_| {
            Error::new(ErrorKind::InvalidDer(
                "SubjectPublicKeyInfo (PUBLIC KEY)".into(),
            ))
        })?;
        check_algorithm(spki.algorithm.oid, spki.algorithm.parameters_oid().ok())?;
        let point = spki.subject_public_key.as_bytes().ok_or_else(|| {
            Error::new(ErrorKind::InvalidKey(
                "the public key bit string has unused bits".into(),
            ))
        })?;
        Self::from_uncompressed_point(point)
    }

    /// Builds a key from the 65-byte uncompressed point `04 || x || y`.
    pub fn from_uncompressed_point(point: &[u8]) -> Result<Self, Error> {
        if point.len() != UNCOMPRESSED_POINT_LEN || point[0] != 0x04 {
            let found = match point.first() {
                Some(0x02 | 0x03) if point.len() == 33 => "a compressed point".to_owned(),
                _ => format!("{} bytes", point.len()),
            };
            return Err(Error::new(ErrorKind::InvalidKey(format!(
                "expected an uncompressed 65-byte point (as `openssl ec -pubout` writes), found {found}"
            ))));
        }
        let verifier =
            ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).map_err(|_| {
                Error::new(ErrorKind::InvalidKey(
                    "the point is not on the P-256 curve".into(),
                ))
            })?;
        let mut spki_der = Vec::with_capacity(P256_SPKI_PREFIX.len() + point.len());
        spki_der.extend_from_slice(&P256_SPKI_PREFIX);
        spki_der.extend_from_slice(point);
        Ok(Self { verifier, spki_der })
    }

    /// Reads a public key from file contents: a public key (PEM or DER), or a private key whose
    /// public half is taken.
    pub fn from_public_or_private_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if !looks_like_der(bytes) {
            let text = String::from_utf8_lossy(bytes);
            let blocks = pem::parse_all(&text)?;
            let block = first_key_block(&blocks)?;
            if block.label == PUBLIC_KEY_LABEL {
                return Self::from_spki_der(&block.der);
            }
            return Ok(PrivateKey::from_block(block)?.public_key().clone());
        }
        Self::from_spki_der(bytes).or_else(|public_err| match PrivateKey::from_der(bytes) {
            Ok(private) => Ok(private.public_key().clone()),
            Err(_) => Err(public_err),
        })
    }

    /// Loads a public key file (PEM or DER); a private key file yields its public half.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        Self::from_public_or_private_bytes(&read_file(path)?).map_err(|err| err.in_file(path))
    }

    /// The canonical SubjectPublicKeyInfo PEM: byte-identical to `openssl ec -pubout`.
    pub fn to_pem(&self) -> String {
        pem::encode(PUBLIC_KEY_LABEL, &self.spki_der)
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The uncompressed point `04 || x || y`.
    pub fn uncompressed_point(&self) -> &[u8] {
        &self.spki_der[P256_SPKI_PREFIX.len()..]
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex: the same as
    /// `openssl pkey -pubin -in public_key.pem -outform DER | openssl dgst -sha256`.
    pub fn fingerprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.spki_der);
        hex(digest.as_ref())
    }

    /// Checks a raw 64-byte `r || s` ES256 signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify_sig(message, signature).is_ok()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// The private half of an alternative distribution key, ready to sign ES256 tokens.
///
/// Its `Debug` output shows only the public fingerprint.
pub struct PrivateKey {
    pair: EcdsaKeyPair,
    public: PublicKey,
}

impl PrivateKey {
    /// Makes a new random P-256 key.
    pub fn generate() -> Result<Self, Error> {
        let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| Error::new(ErrorKind::Crypto("generating a P-256 key failed".into())))?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: EcdsaKeyPair) -> Result<Self, Error> {
        let public = PublicKey::from_uncompressed_point(pair.public_key().as_ref())?;
        Ok(Self { pair, public })
    }

    /// Reads a private key PEM: SEC1 (`EC PRIVATE KEY`, what openssl writes) or PKCS#8
    /// (`PRIVATE KEY`, App Store Connect's `AuthKey_*.p8`).
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let blocks = pem::parse_all(text)?;
        Self::from_block(first_key_block(&blocks)?)
    }

    fn from_block(block: &PemBlock) -> Result<Self, Error> {
        match block.label.as_str() {
            SEC1_LABEL => Self::from_sec1_der(&block.der),
            PKCS8_LABEL => Self::from_pkcs8_der(&block.der),
            other => Err(misplaced_block(other, Expected::Private)),
        }
    }

    /// Reads a DER private key, SEC1 or PKCS#8.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        if sec1::EcPrivateKey::from_der(der).is_ok() {
            return Self::from_sec1_der(der);
        }
        if pkcs8::PrivateKeyInfo::from_der(der).is_ok() {
            return Self::from_pkcs8_der(der);
        }
        if spki::SubjectPublicKeyInfoRef::from_der(der).is_ok() {
            return Err(Error::new(ErrorKind::PublicKeyGiven));
        }
        Err(Error::new(ErrorKind::InvalidDer(
            "private key (neither SEC1 nor PKCS#8)".into(),
        )))
    }

    fn from_sec1_der(der: &[u8]) -> Result<Self, Error> {
        let parsed = sec1::EcPrivateKey::from_der(der)
            .map_err(|_| Error::new(ErrorKind::InvalidDer("SEC1 EC private key".into())))?;
        if let Some(curve) = parsed.parameters.and_then(|params| params.named_curve()) {
            check_algorithm(EC_PUBLIC_KEY, Some(curve))?;
        }
        Self::from_backend_der(der)
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let parsed = pkcs8::PrivateKeyInfo::from_der(der)
            .map_err(|_| Error::new(ErrorKind::InvalidDer("PKCS#8 private key".into())))?;
        check_algorithm(parsed.algorithm.oid, parsed.algorithm.parameters_oid().ok())?;
        Self::from_backend_der(der)
    }

    fn from_backend_der(der: &[u8]) -> Result<Self, Error> {
        let pair =
            EcdsaKeyPair::from_private_key_der(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(|err| Error::new(ErrorKind::InvalidKey(err.to_string())))?;
        Self::from_pair(pair)
    }

    /// Reads a private key from file contents, PEM or DER.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if !looks_like_der(bytes) {
            Self::from_pem(&String::from_utf8_lossy(bytes))
        } else {
            Self::from_der(bytes)
        }
    }

    /// Loads a private key file, PEM or DER, SEC1 or PKCS#8.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        Self::from_bytes(&read_file(path)?).map_err(|err| err.in_file(path))
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The SEC1 `EC PRIVATE KEY` PEM, laid out as `openssl ecparam -name prime256v1 -genkey -noout`
    /// writes it (version, key, named curve, public point).
    pub fn to_sec1_pem(&self) -> Result<String, Error> {
        let scalar = self.pair.private_key().as_be_bytes().map_err(|_| {
            Error::new(ErrorKind::Crypto("exporting the private key failed".into()))
        })?;
        let structure = sec1::EcPrivateKey {
            private_key: scalar.as_ref(),
            parameters: Some(sec1::EcParameters::NamedCurve(PRIME256V1)),
            public_key: Some(self.public.uncompressed_point()),
        };
        let der = structure.to_der().map_err(|err| {
            Error::new(ErrorKind::Crypto(format!(
                "encoding the private key failed: {err}"
            )))
        })?;
        Ok(pem::encode(SEC1_LABEL, &der))
    }

    /// The PKCS#8 `PRIVATE KEY` PEM, the form of App Store Connect's `.p8` files.
    pub fn to_pkcs8_pem(&self) -> Result<String, Error> {
        let document = self.pair.to_pkcs8v1().map_err(|_| {
            Error::new(ErrorKind::Crypto("exporting the private key failed".into()))
        })?;
        Ok(pem::encode(PKCS8_LABEL, document.as_ref()))
    }

    /// Signs `message` with ES256, returning the 64-byte `r || s` signature JWS uses.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.sign_with(message, &SystemRandom::new())
            .map(|sig| sig.as_ref().to_vec())
    }

    pub(crate) fn sign_with(
        &self,
        message: &[u8],
        rng: &SystemRandom,
    ) -> Result<signature::Signature, Error> {
        self.pair
            .sign(rng, message)
            .map_err(|_| Error::new(ErrorKind::Crypto("signing failed".into())))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("public_fingerprint", &self.public.fingerprint())
            .finish()
    }
}

/// Writes a secret (a private key PEM, a credentials file) readable only by its owner.
///
/// The file gets mode 0600. An existing file is kept unless `overwrite`; a replacement is written
/// beside it and renamed into place, so a crash never leaves half a key.
pub fn write_secret_file(
    contents: &str,
    path: impl AsRef<Path>,
    overwrite: bool,
) -> Result<(), Error> {
    let path = path.as_ref();
    let io_err = |source| {
        Error::new(ErrorKind::Io {
            path: path.to_owned(),
            source,
        })
    };
    if !overwrite {
        let mut file = secret_file_options()
            .create_new(true)
            .open(path)
            .map_err(|err| {
                if err.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::new(ErrorKind::AlreadyExists(path.to_owned()))
                } else {
                    io_err(err)
                }
            })?;
        return file
            .write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io_err);
    }
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    let staging = path.with_file_name(format!(".{file_name}.{}.tmp", uuid::Uuid::new_v4()));
    let result = secret_file_options()
        .create_new(true)
        .open(&staging)
        .and_then(|mut file| {
            file.write_all(contents.as_bytes())
                .and_then(|()| file.sync_all())
        })
        .and_then(|()| std::fs::rename(&staging, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    result.map_err(io_err)
}

fn secret_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Every DER key starts with a SEQUENCE tag; anything else is read as (possibly broken) PEM so
/// the error describes the text.
fn looks_like_der(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x30)
}

fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| {
        Error::new(ErrorKind::Io {
            path: path.to_owned(),
            source,
        })
    })
}

#[derive(Clone, Copy)]
enum Expected {
    Public,
    Private,
}

/// Skips the `EC PARAMETERS` block openssl may write before the key.
fn first_key_block(blocks: &[PemBlock]) -> Result<&PemBlock, Error> {
    blocks
        .iter()
        .find(|block| block.label != EC_PARAMETERS_LABEL)
        .ok_or_else(|| Error::new(ErrorKind::UnexpectedLabel(EC_PARAMETERS_LABEL.into())))
}

fn misplaced_block(label: &str, expected: Expected) -> Error {
    let kind = match (label, expected) {
        (SEC1_LABEL | PKCS8_LABEL, Expected::Public) => {
            ErrorKind::PrivateKeyGiven(format!("a {label} block"))
        }
        ("RSA PRIVATE KEY" | "DSA PRIVATE KEY" | "OPENSSH PRIVATE KEY", Expected::Public) => {
            ErrorKind::PrivateKeyGiven(format!("a {label} block"))
        }
        ("ENCRYPTED PRIVATE KEY", Expected::Public) => {
            ErrorKind::PrivateKeyGiven("an ENCRYPTED PRIVATE KEY block".into())
        }
        ("ENCRYPTED PRIVATE KEY", Expected::Private) => ErrorKind::Encrypted(label.into()),
        (PUBLIC_KEY_LABEL, Expected::Private) => ErrorKind::PublicKeyGiven,
        ("RSA PRIVATE KEY", Expected::Private) => {
            ErrorKind::UnsupportedAlgorithm("an RSA private key".into())
        }
        ("RSA PUBLIC KEY", _) => {
            ErrorKind::UnsupportedAlgorithm("an RSA public key (PKCS#1)".into())
        }
        ("CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE", _) => ErrorKind::Certificate,
        _ => ErrorKind::UnexpectedLabel(label.into()),
    };
    Error::new(kind)
}

/// Accepts id-ecPublicKey on prime256v1 and names anything else.
fn check_algorithm(
    algorithm: ObjectIdentifier,
    curve: Option<ObjectIdentifier>,
) -> Result<(), Error> {
    let found = match algorithm.to_string().as_str() {
        "1.2.840.10045.2.1" => {
            return match curve.map(|oid| oid.to_string()).as_deref() {
                Some("1.2.840.10045.3.1.7") => Ok(()),
                Some("1.3.132.0.34") => Err(Error::new(ErrorKind::WrongCurve(
                    "P-384 (secp384r1)".into(),
                ))),
                Some("1.3.132.0.35") => Err(Error::new(ErrorKind::WrongCurve(
                    "P-521 (secp521r1)".into(),
                ))),
                Some("1.3.132.0.10") => Err(Error::new(ErrorKind::WrongCurve("secp256k1".into()))),
                Some("1.2.840.10045.3.1.1") => Err(Error::new(ErrorKind::WrongCurve(
                    "P-192 (prime192v1)".into(),
                ))),
                Some("1.3.132.0.33") => Err(Error::new(ErrorKind::WrongCurve(
                    "P-224 (secp224r1)".into(),
                ))),
                Some(oid) if oid.starts_with("1.3.36.3.3.2.8.1.1.") => Err(Error::new(
                    ErrorKind::WrongCurve(format!("Brainpool (OID {oid})")),
                )),
                Some(oid) => Err(Error::new(ErrorKind::WrongCurve(format!(
                    "unknown (OID {oid})"
                )))),
                None => Err(Error::new(ErrorKind::InvalidKey(
                    "the key has explicit curve parameters instead of the named curve prime256v1"
                        .into(),
                ))),
            };
        }
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => "an RSA key".to_owned(),
        "1.3.101.112" => "an Ed25519 key".to_owned(),
        "1.3.101.113" => "an Ed448 key".to_owned(),
        "1.3.101.110" => "an X25519 key".to_owned(),
        "1.3.101.111" => "an X448 key".to_owned(),
        "1.2.840.10040.4.1" => "a DSA key".to_owned(),
        "1.2.840.10046.2.1" => "a Diffie-Hellman key".to_owned(),
        other => format!("a key with algorithm OID {other}"),
    };
    Err(Error::new(ErrorKind::UnsupportedAlgorithm(found)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys;

    #[test]
    fn generated_key_round_trips_through_both_pem_forms() {
        let key = PrivateKey::generate().unwrap();
        let sec1 = PrivateKey::from_pem(&key.to_sec1_pem().unwrap()).unwrap();
        let pkcs8 = PrivateKey::from_pem(&key.to_pkcs8_pem().unwrap()).unwrap();
        assert_eq!(sec1.public_key(), key.public_key());
        assert_eq!(pkcs8.public_key(), key.public_key());
        assert!(
            key.to_sec1_pem()
                .unwrap()
                .starts_with("-----BEGIN EC PRIVATE KEY-----\n")
        );
    }

    #[test]
    fn public_key_pem_is_canonical_and_reparses() {
        let key = PrivateKey::from_pem(test_keys::SEC1_PRIVATE).unwrap();
        assert_eq!(key.public_key().to_pem(), test_keys::PUBLIC);
        assert_eq!(
            PublicKey::from_pem(test_keys::PUBLIC).unwrap(),
            *key.public_key()
        );
    }

    #[test]
    fn pkcs8_and_sec1_spellings_of_one_key_agree() {
        let sec1 = PrivateKey::from_pem(test_keys::SEC1_PRIVATE).unwrap();
        let pkcs8 = PrivateKey::from_pem(test_keys::PKCS8_PRIVATE).unwrap();
        assert_eq!(sec1.public_key(), pkcs8.public_key());
    }

    #[test]
    fn ec_parameters_block_before_the_key_is_skipped() {
        let with_params = format!("{}{}", test_keys::EC_PARAMETERS, test_keys::SEC1_PRIVATE);
        PrivateKey::from_pem(&with_params).unwrap();
    }

    #[test]
    fn signature_verifies_only_for_its_message() {
        let key = PrivateKey::generate().unwrap();
        let signature = key.sign(b"hello").unwrap();
        assert_eq!(signature.len(), 64);
        assert!(key.public_key().verify(b"hello", &signature));
        assert!(!key.public_key().verify(b"hellO", &signature));
    }

    #[test]
    fn fingerprint_is_sha256_of_spki_der() {
        let key = PublicKey::from_pem(test_keys::PUBLIC).unwrap();
        assert_eq!(key.fingerprint(), test_keys::PUBLIC_FINGERPRINT);
    }

    fn public_error(text: &str) -> String {
        PublicKey::from_pem(text).unwrap_err().to_string()
    }

    #[test]
    fn refuses_other_curves_and_algorithms_by_name() {
        let cases = [
            (test_keys::P384_PUBLIC, "P-384"),
            (test_keys::SECP256K1_PUBLIC, "secp256k1"),
            (test_keys::RSA_PUBLIC, "RSA"),
            (test_keys::ED25519_PUBLIC, "Ed25519"),
        ];
        for (pem, name) in cases {
            let message = public_error(pem);
            assert!(
                message.contains(name) && message.contains("expected an ECDSA P-256"),
                "{message}"
            );
        }
    }

    #[test]
    fn refuses_private_keys_and_certificates_where_public_expected() {
        assert!(public_error(test_keys::SEC1_PRIVATE).contains("found a private key"));
        assert!(public_error(test_keys::PKCS8_PRIVATE).contains("found a private key"));
        assert!(public_error(test_keys::CERTIFICATE).contains("certificate"));
        let message = PrivateKey::from_pem(test_keys::PUBLIC)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("found a public key where a private key is expected"),
            "{message}"
        );
    }

    #[test]
    fn refuses_truncated_keys() {
        let lines: Vec<&str> = test_keys::PUBLIC.lines().collect();
        let without_last_body_line = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[3]);
        let message = public_error(&without_last_body_line);
        assert!(message.contains("not valid DER"), "{message}");
    }

    #[test]
    fn refuses_a_point_off_the_curve() {
        let mut point = PublicKey::from_pem(test_keys::PUBLIC)
            .unwrap()
            .uncompressed_point()
            .to_vec();
        point[64] ^= 1;
        let message = PublicKey::from_uncompressed_point(&point)
            .unwrap_err()
            .to_string();
        assert!(message.contains("not on the P-256 curve"), "{message}");
    }

    #[test]
    fn loads_der_files_and_public_halves_of_private_keys() {
        let key = PrivateKey::from_pem(test_keys::SEC1_PRIVATE).unwrap();
        let der = &pem::parse_all(test_keys::SEC1_PRIVATE).unwrap()[0].der;
        assert_eq!(
            PrivateKey::from_bytes(der).unwrap().public_key(),
            key.public_key()
        );
        assert_eq!(
            PublicKey::from_public_or_private_bytes(der).unwrap(),
            *key.public_key()
        );
        let spki = key.public_key().spki_der();
        assert_eq!(
            PublicKey::from_public_or_private_bytes(spki).unwrap(),
            *key.public_key()
        );
    }

    #[test]
    fn errors_in_key_files_keep_their_kind_and_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p384 = dir.path().join("p384.pem");
        std::fs::write(&p384, test_keys::P384_PRIVATE).unwrap();
        let err = PrivateKey::load(&p384).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::WrongCurve(_)), "{err:?}");
        assert_eq!(err.path(), Some(p384.as_path()));
        assert!(
            err.to_string()
                .starts_with(&format!("{}: found an EC key on the P-384", p384.display())),
            "{err}"
        );
        let public = dir.path().join("public_key.pem");
        std::fs::write(&public, test_keys::PUBLIC).unwrap();
        let err = PrivateKey::load(&public).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::PublicKeyGiven), "{err:?}");
        let err = PublicKey::load(dir.path().join("missing.pem")).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private_and_not_overwritten_by_default() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private_key.pem");
        write_secret_file("first", &path, false).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let err = write_secret_file("second", &path, false).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::AlreadyExists(_)));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        write_secret_file("third", &path, true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "third");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging file left behind"
        );
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = PrivateKey::from_pem(test_keys::SEC1_PRIVATE).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(test_keys::PUBLIC_FINGERPRINT), "{debug}");
    }
}
