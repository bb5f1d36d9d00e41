//! Printing results and errors.

use std::io::Write as _;
use std::process::ExitCode;

use altdist::ErrorKind;
use serde::Serialize;

/// Exit code for usage and input errors.
const USAGE_ERROR: u8 = 2;

/// Attaches a hint to an error; [`report_error`] prints it under the message.
#[derive(Debug)]
pub struct WithHint {
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for WithHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WithHint {}

/// An error carrying `hint`.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    WithHint {
        message: message.into(),
        hint: hint.into(),
    }
    .into()
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

/// Prints one line for the error and, where one helps, a hint; exits 2. A closed stdout (as in
/// `altdist pubkey | head -1`) is not an error.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    if err
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {err:#}");
    if let Some(hint) = hint_for(err) {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(USAGE_ERROR)
}

fn hint_for(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        if let Some(hinted) = cause.downcast_ref::<WithHint>() {
            return Some(hinted.hint.clone());
        }
        let Some(err) = cause.downcast_ref::<altdist::Error>() else {
            continue;
        };
        if let ErrorKind::Api { status, errors, .. } = err.kind() {
            return api_hint(*status, errors);
        }
        let hint = match err.kind() {
            ErrorKind::Request { .. } => {
                "is the server running, and is --base-url (or the credentials file's base_url) right?"
            }
            ErrorKind::AlreadyExists(_) => {
                "pass --force to replace it, or --out to write somewhere else"
            }
            ErrorKind::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "check the path; `altdist keygen` creates private_key.pem in the current directory"
            }
            ErrorKind::PrivateKeyGiven(_) => {
                "`altdist pubkey --in <private key>` prints the public key to share"
            }
            ErrorKind::PublicKeyGiven => {
                "pass the private key file (e.g. --private-key private_key.pem)"
            }
            ErrorKind::WrongCurve(_) | ErrorKind::UnsupportedAlgorithm(_) => {
                "make a P-256 key with `altdist keygen` or `openssl ecparam -name prime256v1 -genkey -noout -out private_key.pem`"
            }
            _ => continue,
        };
        return Some(hint.to_owned());
    }
    None
}

/// Advice for the API errors people hit most, from the error's typed members (status, `code`,
/// `source.pointer`, `links.associated`), never from the wording of `detail`.
fn api_hint(status: u16, errors: &[altdist::resource::ResponseError]) -> Option<String> {
    let first = errors.first();
    let code = first.map_or("", |error| error.code.as_str());
    let pointer = first.and_then(|error| error.pointer());
    let hint = match status {
        401 => "check the clock (tokens issued in the future are refused), the key id, the issuer id (or --individual for an individual key), and that the API key was not revoked".to_owned(),
        403 => "this API key's role may not do that: creating and deleting keys and domains needs an ADMIN key; a token's scope must cover the request".to_owned(),
        404 if code == "NOT_FOUND" => "check the id: `altdist keys list`, `altdist apps list` and `altdist domains list` show what this account has".to_owned(),
        409 if code.starts_with("ENTITY_ERROR.ATTRIBUTE.INVALID")
            && pointer == Some(PUBLIC_KEY_POINTER) =>
        {
            "upload the public key made by `altdist pubkey --out public_key.pem` (or `openssl ec -in private_key.pem -pubout`): a P-256 SubjectPublicKeyInfo PEM".to_owned()
        }
        409 if code.starts_with("ENTITY_ERROR") => match first.and_then(existing_key) {
            Some(existing) => format!("delete the existing key first with `altdist keys delete {existing}`, or keep using it"),
            None => return None,
        },
        429 => "this API key used up its hourly request budget (see X-Rate-Limit); wait, or use another API key".to_owned(),
        _ => return None,
    };
    Some(hint)
}

/// The member of a key upload that holds the PEM.
const PUBLIC_KEY_POINTER: &str = "/data/attributes/publicKey";

/// The id of the alternative distribution key a duplicate-key 409 names in `links.associated`.
pub fn existing_key(error: &altdist::resource::ResponseError) -> Option<&str> {
    error.associated_id(altdist::resource::AltDistKeyType::NAME)
}

/// The existing key a duplicate-key 409 names, from an error of the client.
pub fn existing_key_of(err: &altdist::Error) -> Option<String> {
    match err.kind() {
        ErrorKind::Api {
            status: 409,
            errors,
            ..
        } => errors.iter().find_map(existing_key).map(str::to_owned),
        _ => None,
    }
}
