//! `altdist admin`: accounts, API keys and apps, straight on the server's database (no server
//! needed), through [`altdist_server::admin`].

use std::path::PathBuf;
use std::process::ExitCode;

use altdist_server::admin::{self, AppSpec};
use altdist_server::auth::Role;
use altdist_server::db::Db;
use altdist_server::db::apps::AppRow;
use serde_json::json;

use super::serve::StorageArgs;

/// Options of `altdist admin`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// What `altdist admin` manages, straight on the database (no server needed).
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Apps.
    #[command(subcommand)]
    App(AppCommand),
    /// App Store Connect API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Accounts (issuer ids).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Applies the database migrations without serving.
    Migrate,
}

/// `altdist admin app ...`
#[derive(Debug, clap::Subcommand)]
pub enum AppCommand {
    /// Creates an app and prints its Apple id.
    Create {
        /// The app's name.
        #[arg(long)]
        name: String,
        /// Its bundle id, like com.example.app.
        #[arg(long)]
        bundle_id: String,
        /// Its SKU (default: the bundle id).
        #[arg(long)]
        sku: Option<String>,
        /// Its primary locale.
        #[arg(long, default_value = "en-US")]
        primary_locale: String,
        /// Makes it an alternative marketplace app.
        #[arg(long)]
        marketplace: bool,
        /// Marks it as made for kids (the attribute isOrEverWasMadeForKids).
        #[arg(long)]
        made_for_kids: bool,
        /// The account's issuer id (default: the first account).
        #[arg(long)]
        account: Option<String>,
        /// Prints {"id", "name", "bundleId", "sku", "marketplace"}.
        #[arg(long)]
        json: bool,
    },
    /// App Store versions of an app.
    #[command(subcommand)]
    Version(VersionCommand),
    /// Lists every app of every account.
    List {
        /// Prints a JSON array.
        #[arg(long)]
        json: bool,
    },
}

/// `altdist admin app version ...`
#[derive(Debug, clap::Subcommand)]
pub enum VersionCommand {
    /// Creates an App Store version from local app files, which stand in for Apple's build;
    /// prints its id. `POST /v1/alternativeDistributionPackages` then makes its package.
    // `--version` names the App Store version here, not altdist's.
    #[command(disable_version_flag = true)]
    Create {
        /// The app's Apple id.
        #[arg(long)]
        app: String,
        /// The version string, like 1.2.0.
        #[arg(long = "version", id = "version_string", value_name = "VERSION")]
        version_string: String,
        /// An app file (.ipa) of the version: one variant each; repeat for several.
        #[arg(long = "package", value_name = "FILE", required = true)]
        packages: Vec<PathBuf>,
        /// An earlier version of the same app (created before) to make a delta from: altdist
        /// diffs its stored package against this version's (bsdiff 4 format, what bspatch
        /// applies), each variant against the earlier variant at the same position, else the
        /// first; repeat for several earlier versions.
        #[arg(long = "delta-from", value_name = "EARLIER_VERSION")]
        delta_from: Vec<String>,
        /// The platform.
        #[arg(long, default_value = "IOS")]
        platform: String,
        /// The app version state; a package can be made once it passed review.
        #[arg(long, default_value = "READY_FOR_DISTRIBUTION")]
        state: String,
        /// Prints {"id", "app", "platform", "versionString", "appVersionState"}.
        #[arg(long)]
        json: bool,
    },
}

/// `altdist admin api-key ...`
#[derive(Debug, clap::Subcommand)]
pub enum ApiKeyCommand {
    /// Creates an API key, writes its private key (.p8) and prints its key id and issuer id.
    Create {
        /// What the key may do: ADMIN, APP_MANAGER or DEVELOPER.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// An individual key: its tokens carry sub "user" instead of the issuer id.
        #[arg(long)]
        individual: bool,
        /// The account's issuer id (default: the first account).
        #[arg(long)]
        account: Option<String>,
        /// Where to write the private key (default: <data-dir>/AuthKey_<KEYID>.p8).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Prints {"key_id", "issuer_id", "role", "private_key_path"}.
        #[arg(long)]
        json: bool,
    },
    /// Revokes an API key: its tokens are refused from now on.
    Revoke {
        /// The key id.
        key_id: String,
    },
}

/// `altdist admin account ...`
#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// Creates an account and prints its issuer id.
    Create {
        /// Prints {"issuer_id": ...}.
        #[arg(long)]
        json: bool,
    },
    /// Lists the issuer ids of every account.
    List,
}

/// Runs one `altdist admin` command.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let store = altdist_server::package_store::PackageStore::new(
        opts.storage.package_dir(),
        altdist_server::package_store::DEFAULT_URL_TTL,
    );
    let data_dir = opts.storage.data_dir;
    let db = admin::open(&data_dir, opts.storage.database_url.as_deref()).await?;
    let result = admin_command(&db, &data_dir, &store, opts.command).await;
    db.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

async fn admin_command(
    db: &Db,
    data_dir: &std::path::Path,
    store: &altdist_server::package_store::PackageStore,
    command: AdminCommand,
) -> anyhow::Result<()> {
    match command {
        AdminCommand::App(AppCommand::Version(VersionCommand::Create {
            app,
            version_string,
            packages,
            delta_from,
            platform,
            state,
            json,
        })) => {
            let spec = admin::VersionSpec {
                version_string,
                platform,
                app_version_state: state,
                variants: packages,
                delta_from,
            };
            let created = admin::create_app_store_version(db, store, &app, &spec).await?;
            if json {
                println!(
                    "{}",
                    json!({
                        "id": created.id,
                        "app": created.app_id,
                        "platform": created.platform,
                        "versionString": created.version_string,
                        "appVersionState": created.app_version_state,
                    })
                );
            } else {
                println!("{}", created.id);
            }
        }
        AdminCommand::Migrate => println!("migrations applied to {}", db.describe()),
        AdminCommand::Account(AccountCommand::Create { json }) => {
            let issuer = admin::create_account(db).await?;
            if json {
                println!("{}", json!({ "issuer_id": issuer }));
            } else {
                println!("{issuer}");
            }
        }
        AdminCommand::Account(AccountCommand::List) => {
            for issuer in admin::list_accounts(db).await? {
                println!("{issuer}");
            }
        }
        AdminCommand::App(AppCommand::Create {
            name,
            bundle_id,
            sku,
            primary_locale,
            marketplace,
            made_for_kids,
            account,
            json,
        }) => {
            let account = admin::account(db, account.as_deref()).await?;
            let spec = AppSpec {
                name,
                bundle_id,
                sku,
                primary_locale,
                marketplace,
                made_for_kids,
            };
            let app = admin::create_app(db, &account, &spec).await?;
            if json {
                println!("{}", app_json(&app));
            } else {
                println!("{}", app.id);
            }
        }
        AdminCommand::App(AppCommand::List { json }) => {
            let apps = admin::list_apps(db).await?;
            if json {
                let apps: Vec<_> = apps.iter().map(app_json).collect();
                println!("{}", serde_json::Value::Array(apps));
            } else {
                for app in apps {
                    println!(
                        "{}\t{}\t{}\t{}{}\t{}",
                        app.id,
                        app.bundle_id,
                        app.sku,
                        app.name,
                        if app.marketplace {
                            " (marketplace)"
                        } else {
                            ""
                        },
                        app.account_id
                    );
                }
            }
        }
        AdminCommand::ApiKey(ApiKeyCommand::Create {
            role,
            individual,
            account,
            out,
            json,
        }) => {
            let account = admin::account(db, account.as_deref()).await?;
            let key = admin::create_api_key_file(
                db,
                &account,
                role,
                individual,
                out.as_deref(),
                data_dir,
            )
            .await?;
            let path = &key.private_key_path;
            let issuer_id = (!individual).then(|| key.account.to_string());
            if json {
                println!(
                    "{}",
                    json!({
                        "key_id": key.id,
                        "issuer_id": issuer_id,
                        "role": role.as_str(),
                        "private_key_path": path,
                    })
                );
            } else {
                println!("key id: {}", key.id);
                match &issuer_id {
                    Some(issuer_id) => println!("issuer id: {issuer_id}"),
                    None => println!("issuer id: none (individual key: tokens carry sub \"user\")"),
                }
                println!("role: {}", role.as_str());
                println!("private key: {}", path.display());
            }
        }
        AdminCommand::ApiKey(ApiKeyCommand::Revoke { key_id }) => {
            let id = altdist::resource::ApiKeyId(key_id);
            admin::revoke_api_key(db, &id).await?;
            println!("revoked {id}; a running server refuses its tokens within a second");
        }
    }
    Ok(())
}

fn app_json(app: &AppRow) -> serde_json::Value {
    json!({
        "id": app.id,
        "name": app.name,
        "bundleId": app.bundle_id,
        "sku": app.sku,
        "marketplace": app.marketplace,
    })
}
