//! `altdist apps`: the account's apps, and the key that signs for each.

use std::process::ExitCode;

use altdist::client::AppListQuery;
use altdist::resource::{App, AppId};

use super::connection::{Connection, OutputFormat, print_body, print_collection, print_table};
use super::keys::{KEY_HEADERS, key_rows};
use crate::credentials::CredentialArgs;

/// Options of `altdist apps`.
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
    /// List apps, optionally filtered.
    List {
        /// Only apps with this name.
        #[arg(long)]
        name: Option<String>,
        /// Only the app with this bundle id.
        #[arg(long)]
        bundle_id: Option<String>,
        /// Apps per page (1-200).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: Option<u32>,
        /// Follow every page.
        #[arg(long)]
        all: bool,
    },
    /// Show one app.
    Get {
        /// The app's Apple id.
        app_id: String,
    },
    /// The alternative distribution key that signs for an app: its own key, else the account-wide key.
    Key {
        /// The app's Apple id.
        app_id: String,
        /// Print only the key id (the `kid` of the app's tokens).
        #[arg(long)]
        id_only: bool,
    },
}

const APP_HEADERS: [&str; 4] = ["APPLE ID", "NAME", "BUNDLE ID", "SKU"];

fn app_rows(apps: &[App]) -> Vec<Vec<String>> {
    apps.iter()
        .map(|app| {
            let attributes = app.attributes.as_ref();
            let field = |get: fn(&altdist::resource::AppAttributes) -> &Option<String>| {
                attributes
                    .and_then(|attributes| get(attributes).clone())
                    .unwrap_or_else(|| "-".to_owned())
            };
            vec![
                app.id.to_string(),
                field(|a| &a.name),
                field(|a| &a.bundle_id),
                field(|a| &a.sku),
            ]
        })
        .collect()
}

/// Runs one `altdist apps` subcommand.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let client = opts.connection.client(&opts.credentials)?;
    let format = opts.connection.format();
    match opts.command {
        Command::List {
            name,
            bundle_id,
            limit,
            all,
        } => {
            let first = client
                .list_apps(&AppListQuery {
                    name,
                    bundle_id,
                    limit,
                })
                .await?;
            print_collection(&client, first, all, format, "apps", &APP_HEADERS, app_rows).await?;
        }
        Command::Get { app_id } => {
            let app = client.get_app(&AppId(app_id)).await?;
            match format {
                OutputFormat::Json => print_body(&app.body),
                OutputFormat::Table => print_table(
                    &APP_HEADERS,
                    &app_rows(std::slice::from_ref(&app.value.data)),
                ),
            }
        }
        Command::Key {
            app_id,
            id_only: true,
        } => {
            // The bare id whatever the format: `KID=$(altdist apps key 123 --id-only)` is the point.
            let linkage = client.app_key_linkage(&AppId(app_id)).await?;
            println!("{}", linkage.value.data.id);
        }
        Command::Key {
            app_id,
            id_only: false,
        } => {
            let key = client.app_key(&AppId(app_id)).await?;
            match format {
                OutputFormat::Json => print_body(&key.body),
                OutputFormat::Table => print_table(
                    &KEY_HEADERS,
                    &key_rows(std::slice::from_ref(&key.value.data)),
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
