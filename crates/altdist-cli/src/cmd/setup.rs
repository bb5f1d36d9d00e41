//! `altdist setup web-distribution`: Apple's whole web-distribution key flow in one command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use altdist::client::Client;
use altdist::resource::{AltDistKey, AppId};
use altdist::{ErrorKind, InstallTokenClaims, PrivateKey, PublicKey, TokenSigner};
use anyhow::Context as _;
use serde::Serialize;

use super::connection::{Connection, OutputFormat, all_pages};
use crate::credentials::{ApiKeyArgs, CredentialArgs};
use crate::output::{self, hinted};

/// Options of `altdist setup`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Make (or reuse) a key pair, upload the public key for the app, register the domain, and
    /// print the kid and a sample install verification token. Safe to run again.
    WebDistribution(WebOpts),
}

/// Options of `altdist setup web-distribution`.
#[derive(Debug, clap::Args)]
struct WebOpts {
    /// The app's Apple id.
    #[arg(long, value_name = "APP_ID")]
    app: String,
    /// The domain the app is distributed from, like example.com.
    #[arg(long)]
    domain: String,
    /// The alternative distribution private key: used if it exists, generated (mode 0600) if not.
    #[arg(long, value_name = "FILE", default_value = "private_key.pem")]
    private_key: PathBuf,
    /// Reference name for the domain [default: the app's name].
    #[arg(long)]
    reference_name: Option<String>,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    api_key: ApiKeyArgs,
}

#[derive(Serialize)]
struct Outcome {
    app_id: String,
    bundle_id: String,
    private_key_path: PathBuf,
    private_key_created: bool,
    public_key_path: PathBuf,
    fingerprint: String,
    key_id: String,
    key_created: bool,
    domain_id: String,
    domain_created: bool,
    sample_install_token: String,
}

/// Runs `altdist setup`.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let Command::WebDistribution(opts) = opts.command;
    let client = opts
        .connection
        .client(&CredentialArgs::from(opts.api_key.clone()))?;

    let app = client.get_app(&AppId(opts.app.clone())).await?.value.data;
    let app_name = app
        .attributes
        .as_ref()
        .and_then(|attributes| attributes.name.clone());
    let bundle_id = app
        .attributes
        .as_ref()
        .and_then(|attributes| attributes.bundle_id.clone())
        .ok_or_else(|| {
            hinted(
                format!("the server sent app {} without its bundle id", opts.app),
                "check the app with `altdist apps get`",
            )
        })?;

    let (private_key, private_key_created) = load_or_generate(&opts.private_key)?;
    let public = private_key.public_key().clone();
    let public_key_path = opts.private_key.with_file_name("public_key.pem");
    let public_key_path = if opts.private_key.file_name() == Some("public_key.pem".as_ref()) {
        opts.private_key.with_extension("pub.pem")
    } else {
        public_key_path
    };
    write_public_key(&public_key_path, &public)?;

    let (key_id, key_created) = ensure_key(&client, &app.id, &public).await?;
    let reference_name = opts
        .reference_name
        .clone()
        .or(app_name)
        .unwrap_or_else(|| opts.domain.clone());
    let (domain_id, domain_created) = ensure_domain(&client, &opts.domain, &reference_name).await?;

    let signer = TokenSigner::new(private_key, Some(&key_id));
    let claims = InstallTokenClaims::new(
        app.id.to_string(),
        bundle_id.clone(),
        altdist::jwt::unix_now(),
        Duration::from_secs(600),
    );
    let sample_install_token = signer.sign(&claims)?;

    let outcome = Outcome {
        app_id: app.id.to_string(),
        bundle_id,
        private_key_path: opts.private_key.clone(),
        private_key_created,
        public_key_path,
        fingerprint: public.fingerprint(),
        key_id,
        key_created,
        domain_id,
        domain_created,
        sample_install_token,
    };
    match opts.connection.format() {
        OutputFormat::Json => output::print_json(&outcome)?,
        OutputFormat::Table => print_outcome(&outcome),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(outcome: &Outcome) {
    let did = |created: bool, new: &str| {
        if created {
            new.to_owned()
        } else {
            "already there".to_owned()
        }
    };
    println!(
        "private key   {} ({})",
        outcome.private_key_path.display(),
        did(outcome.private_key_created, "generated, mode 0600")
    );
    println!(
        "public key    {} (fingerprint {})",
        outcome.public_key_path.display(),
        outcome.fingerprint
    );
    println!(
        "key id (kid)  {} ({})",
        outcome.key_id,
        did(outcome.key_created, "uploaded")
    );
    println!(
        "domain        {} ({})",
        outcome.domain_id,
        did(outcome.domain_created, "registered")
    );
    println!();
    println!(
        "sample install verification token for app {} ({}):",
        outcome.app_id, outcome.bundle_id
    );
    println!("{}", outcome.sample_install_token);
    println!();
    println!(
        "mint more with: altdist token install --private-key {} --kid {} --iss {} --bid {}",
        outcome.private_key_path.display(),
        outcome.key_id,
        outcome.app_id,
        outcome.bundle_id
    );
}

fn load_or_generate(path: &Path) -> anyhow::Result<(PrivateKey, bool)> {
    match PrivateKey::load(path) {
        Ok(key) => Ok((key, false)),
        Err(err) if matches!(err.kind(), ErrorKind::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound) =>
        {
            let key = PrivateKey::generate()?;
            altdist::key::write_secret_file(&key.to_sec1_pem()?, path, false)?;
            Ok((key, true))
        }
        Err(err) => Err(err.into()),
    }
}

fn write_public_key(path: &Path, public: &PublicKey) -> anyhow::Result<()> {
    match PublicKey::load(path) {
        Ok(existing) if existing == *public => Ok(()),
        Ok(_) => Err(hinted(
            format!(
                "{} holds a different public key than the private key",
                path.display()
            ),
            "move it away, or pass the --private-key it belongs to",
        )),
        Err(_) => std::fs::write(path, public.to_pem())
            .with_context(|| format!("cannot write {}", path.display())),
    }
}

/// The key that signs for the app: reuse ours if it is already there, else upload it for the app.
async fn ensure_key(
    client: &Client,
    app: &AppId,
    public: &PublicKey,
) -> anyhow::Result<(String, bool)> {
    let signing_key = match client.app_key(app).await {
        Ok(found) => Some(found.value.data),
        Err(err) if matches!(err.kind(), ErrorKind::Api { status: 404, .. }) => None,
        Err(err) => return Err(err.into()),
    };
    if let Some(key) = &signing_key
        && same_key(key, public)
    {
        return Ok((key.id.to_string(), false));
    }
    match client.create_key(&public.to_pem(), Some(app)).await {
        Ok(created) => Ok((created.value.data.id.to_string(), true)),
        Err(err) if matches!(err.kind(), ErrorKind::Api { status: 409, .. }) => {
            // The server names the key in the way in `links.associated`; the app's signing key
            // is the one in the way for a server that does not.
            let existing = output::existing_key_of(&err)
                .or_else(|| signing_key.map(|key| key.id.to_string()))
                .unwrap_or_default();
            Err(hinted(
                format!(
                    "app {app} already has alternative distribution key {existing} with a different public key ({err})"
                ),
                format!(
                    "pass the --private-key that key was made from, or delete it first with `altdist keys delete {existing}` (tokens signed with it stop verifying)"
                ),
            ))
        }
        Err(err) => Err(err.into()),
    }
}

fn same_key(key: &AltDistKey, public: &PublicKey) -> bool {
    key.attributes
        .as_ref()
        .and_then(|attributes| attributes.public_key.as_deref())
        .and_then(|pem| PublicKey::from_pem(pem).ok())
        .is_some_and(|theirs| theirs == *public)
}

async fn ensure_domain(
    client: &Client,
    domain: &str,
    reference_name: &str,
) -> anyhow::Result<(String, bool)> {
    let first = client.list_domains(Some(200)).await?;
    let (domains, _) = all_pages(client, first, "domains").await?;
    let wanted = domain.trim_end_matches('.').to_ascii_lowercase();
    if let Some(existing) = domains.iter().find(|existing| {
        existing
            .attributes
            .as_ref()
            .and_then(|a| a.domain.as_deref())
            .map(str::to_ascii_lowercase)
            .as_deref()
            == Some(&wanted)
    }) {
        return Ok((existing.id.to_string(), false));
    }
    let created = client.create_domain(domain, reference_name).await?;
    Ok((created.value.data.id.to_string(), true))
}
