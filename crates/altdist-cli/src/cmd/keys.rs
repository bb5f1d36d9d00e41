//! `altdist keys`: the alternative distribution keys of the account.

use std::path::PathBuf;
use std::process::ExitCode;

use altdist::client::KeyListQuery;
use altdist::resource::{AltDistKey, AltDistKeyId, AppId};
use altdist::{PrivateKey, PublicKey};

use super::connection::{
    Connection, OutputFormat, confirm, print_body, print_collection, print_table,
};
use crate::credentials::CredentialArgs;

/// Options of `altdist keys`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    credentials: CredentialArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Upload a public key; prints the key id that goes into every token's `kid`.
    Create {
        /// The public key PEM; given a private key, only its public half is sent.
        #[arg(long, value_name = "FILE", default_value = "public_key.pem")]
        public_key: PathBuf,
        /// Make the key app-specific: the app's Apple id.
        #[arg(long, value_name = "APP_ID")]
        app: Option<String>,
    },
    /// List the account's keys.
    List {
        /// Only app-specific keys (true) or only the account-wide key (false).
        #[arg(long, value_name = "BOOL")]
        exists_app: Option<bool>,
        /// Keys per page (1-200).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: Option<u32>,
        /// Follow every page.
        #[arg(long)]
        all: bool,
    },
    /// Show one key.
    Get {
        /// The key id.
        id: String,
    },
    /// Delete a key: tokens signed with it stop verifying.
    Delete {
        /// The key id.
        id: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
}

/// The public key to upload from a file holding a public or a private key.
pub fn public_key_to_upload(path: &std::path::Path) -> anyhow::Result<PublicKey> {
    if let Ok(private) = PrivateKey::load(path) {
        eprintln!(
            "note: {} is a private key; uploading only its public half (fingerprint {}). The private key never leaves this machine.",
            path.display(),
            private.public_key().fingerprint()
        );
        return Ok(private.public_key().clone());
    }
    Ok(PublicKey::load(path)?)
}

/// Table rows for keys: id and fingerprint of the public key.
pub fn key_rows(keys: &[AltDistKey]) -> Vec<Vec<String>> {
    keys.iter()
        .map(|key| {
            let pem = key
                .attributes
                .as_ref()
                .and_then(|attributes| attributes.public_key.as_deref());
            let fingerprint = pem
                .and_then(|pem| PublicKey::from_pem(pem).ok())
                .map_or_else(|| "-".to_owned(), |public| public.fingerprint());
            vec![key.id.to_string(), fingerprint]
        })
        .collect()
}

pub const KEY_HEADERS: [&str; 2] = ["ID (kid)", "PUBLIC KEY FINGERPRINT"];

/// Runs one `altdist keys` subcommand.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let client = opts.connection.client(&opts.credentials)?;
    let format = opts.connection.format();
    match opts.command {
        Command::Create { public_key, app } => {
            let public = public_key_to_upload(&public_key)?;
            let created = client
                .create_key(&public.to_pem(), app.map(AppId).as_ref())
                .await?;
            match format {
                OutputFormat::Json => print_body(&created.body),
                OutputFormat::Table => {
                    println!("created key {}", created.value.data.id);
                    println!(
                        "use it as the kid of your tokens: altdist token install --kid {} ...",
                        created.value.data.id
                    );
                }
            }
        }
        Command::List {
            exists_app,
            limit,
            all,
        } => {
            let first = client
                .list_keys(&KeyListQuery { exists_app, limit })
                .await?;
            print_collection(&client, first, all, format, "keys", &KEY_HEADERS, key_rows).await?;
        }
        Command::Get { id } => {
            let key = client.get_key(&AltDistKeyId(id)).await?;
            match format {
                OutputFormat::Json => print_body(&key.body),
                OutputFormat::Table => {
                    print_table(
                        &KEY_HEADERS,
                        &key_rows(std::slice::from_ref(&key.value.data)),
                    );
                    if let Some(pem) = key
                        .value
                        .data
                        .attributes
                        .and_then(|attributes| attributes.public_key)
                    {
                        print!("\n{pem}");
                    }
                }
            }
        }
        Command::Delete { id, yes } => {
            confirm(
                &format!(
                    "Delete alternative distribution key {id}? Install tokens signed with it will stop verifying."
                ),
                yes,
            )?;
            client.delete_key(&AltDistKeyId(id.clone())).await?;
            eprintln!("deleted key {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
