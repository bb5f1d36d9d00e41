//! The `serve` and `admin` subcommands, wired into the `altdist` binary.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::json;

use crate::admin::{self, AppSpec};
use crate::app::AppState;
use crate::auth::Role;
use crate::config::{self, Config};
use crate::db;

/// Where the data lives; shared by `serve` and `admin`.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// Directory of the embedded database, the first API key and credentials.json; created if missing.
    #[arg(long, env = "ALTDIST_DATA_DIR", default_value = config::DEFAULT_DATA_DIR, global = true)]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH, or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE to let several servers share one database; default: the SQLite file altdist.db in the data directory.
    #[arg(long, env = "ALTDIST_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
}

/// Options of `altdist serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the ready line shows which).
    #[arg(long, env = "ALTDIST_LISTEN", default_value = config::DEFAULT_LISTEN)]
    pub listen: String,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Base URL of the links in responses, as clients reach the server (default: http://<listen address>).
    #[arg(long, env = "ALTDIST_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Requests each API key may make per rolling hour.
    #[arg(long, env = "ALTDIST_RATE_LIMIT", default_value_t = config::DEFAULT_RATE_LIMIT, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,
}

/// Options of `altdist admin`.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
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
    /// Lists every app of every account.
    List {
        /// Prints a JSON array.
        #[arg(long)]
        json: bool,
    },
}

/// `altdist admin api-key ...`
#[derive(Debug, clap::Subcommand)]
pub enum ApiKeyCommand {
    /// Creates an API key, writes its private key (.p8) and prints its key id and issuer id.
    Create {
        /// What the key may do.
        #[arg(long, value_enum)]
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

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries the ready line that scripts wait for.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs `altdist serve` until SIGINT or SIGTERM.
pub async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing();
    let config = Config {
        listen: args.listen,
        data_dir: args.storage.data_dir,
        database_url: args.storage.database_url,
        public_url: args.public_url,
        rate_limit: args.rate_limit,
    };
    serve(config).await
}

/// Serves `config` until SIGINT or SIGTERM, printing the ready line on stdout first.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let db = admin::open(&config.data_dir, config.database_url.as_deref()).await?;
    let _serving = db.lock_for_serving()?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let mut stdout = std::io::stdout().lock();
    if let Some(created) = admin::bootstrap(&db, &config.data_dir, &public_url).await? {
        writeln!(
            stdout,
            "first start: created account {} with ADMIN API key {}\n  private key: {}\n  credentials: {}",
            created.issuer_id,
            created.key_id,
            created.private_key_path.display(),
            created.credentials_path.display()
        )?;
    }
    let state = AppState::new(db.clone(), &public_url, config.rate_limit);
    let watch = state.spawn_revocation_watch(crate::app::REVOCATION_POLL);
    let router = crate::build_router(state);
    writeln!(
        stdout,
        "altdist listening on http://{address} (database {})",
        db.describe()
    )?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(%address, %public_url, "ready");

    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing the requests in flight");
        let _ = stopping_tx.send(());
    });
    let grace = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(crate::router::SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = server => served.context("the server failed")?,
        () = grace => tracing::warn!("requests still in flight after {:?}; stopping anyway", crate::router::SHUTDOWN_GRACE),
    }
    watch.abort();
    db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Runs one `altdist admin` command.
pub async fn run_admin(args: AdminArgs) -> anyhow::Result<()> {
    let data_dir = args.storage.data_dir;
    let db = admin::open(&data_dir, args.storage.database_url.as_deref()).await?;
    let result = admin_command(&db, &data_dir, args.command).await;
    db.close().await;
    result
}

async fn admin_command(
    db: &db::Db,
    data_dir: &std::path::Path,
    command: AdminCommand,
) -> anyhow::Result<()> {
    match command {
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
            for issuer in db::accounts::list(db).await? {
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
            let apps = db::apps::list_all(db).await?;
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
            let key = admin::create_api_key(db, &account, role, individual).await?;
            let path = out.unwrap_or_else(|| data_dir.join(format!("AuthKey_{}.p8", key.id)));
            let path = std::path::absolute(&path).unwrap_or(path);
            if let Err(err) = admin::write_private_key(&key, &path) {
                // A key whose private half is lost is useless; do not leave it valid.
                let _ = db::api_keys::revoke(db, &key.id).await;
                return Err(err);
            }
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
            anyhow::ensure!(
                db::api_keys::revoke(db, &id).await?,
                "there is no API key {id}, or it is revoked already"
            );
            println!("revoked {id}; a running server refuses its tokens within a second");
        }
    }
    Ok(())
}

fn app_json(app: &db::apps::AppRow) -> serde_json::Value {
    json!({
        "id": app.id,
        "name": app.name,
        "bundleId": app.bundle_id,
        "sku": app.sku,
        "marketplace": app.marketplace,
    })
}
