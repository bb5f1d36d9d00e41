//! `altdist serve`: the App Store Connect-compatible server ([`altdist_server::Server`]).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use altdist_server::Config;
use altdist_server::config::{DEFAULT_DATA_DIR, DEFAULT_LISTEN, DEFAULT_RATE_LIMIT};

use crate::logging::{LogFormat, Logging};

/// Where the data lives; shared by `serve` and `admin`.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// Directory of the embedded database, the first API key and credentials.json; created if missing.
    #[arg(long, env = "ALTDIST_DATA_DIR", default_value = DEFAULT_DATA_DIR, global = true)]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH, or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE to let several servers share one database; default: the SQLite file altdist.db in the data directory.
    #[arg(long, env = "ALTDIST_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Directory of the package files (App Store versions' builds, packages' manifests); default: packages/ in the data directory. Servers sharing a PostgreSQL database must share it too.
    #[arg(long, env = "ALTDIST_PACKAGE_DIR", global = true)]
    pub package_dir: Option<PathBuf>,
}

impl StorageArgs {
    /// The package store's directory.
    pub fn package_dir(&self) -> PathBuf {
        self.package_dir
            .clone()
            .unwrap_or_else(|| altdist_server::config::package_dir(&self.data_dir))
    }
}

/// Options of `altdist serve`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Address to listen on; port 0 picks a free port (the ready line shows which).
    #[arg(long, env = "ALTDIST_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Base URL of the links in responses, as clients reach the server (default: http://<listen address>).
    #[arg(long, env = "ALTDIST_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Requests each API key may make per rolling hour.
    #[arg(long, env = "ALTDIST_RATE_LIMIT", default_value_t = DEFAULT_RATE_LIMIT, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,
    /// Let webhook deliveries and the sandbox's site check reach loopback and private addresses,
    /// webhooks over http:// too (local development, tests, `altdist webhooks listen` against
    /// this server); off, they reach public addresses over HTTPS only, and a webhook url that is
    /// http:// or resolves to such an address is refused (docs/API.md, "Webhooks"). Env: 1 or
    /// true.
    #[arg(long, env = "ALTDIST_ALLOW_PRIVATE_TARGETS", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub allow_private_targets: bool,
    /// Seconds a signed package download URL (a variant's, a delta's, a manifest's `url`) works,
    /// 1 to 604800 [default: 3600; Apple documents no lifetime for its URLs: docs/API.md].
    // `--download-url-lifetime` and ALTDIST_DOWNLOAD_URL_LIFETIME are the names of older
    // releases, kept (hidden) so that existing scripts go on working.
    #[arg(long = "download-url-ttl", alias = "download-url-lifetime", env = "ALTDIST_DOWNLOAD_URL_TTL", value_name = "SECONDS", value_parser = parse_ttl)]
    pub download_url_ttl: Option<u64>,
    /// How log lines are written to stderr: text for people, json (one object a line) for log
    /// shippers.
    #[arg(long, env = "ALTDIST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The older name of `ALTDIST_DOWNLOAD_URL_TTL`, still read when the new one is not set.
const LEGACY_TTL_VARIABLE: &str = "ALTDIST_DOWNLOAD_URL_LIFETIME";

/// The longest lifetime a download URL may have: a week.
const MAX_TTL_SECONDS: u64 = 604_800;

fn parse_ttl(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(seconds) if (1..=MAX_TTL_SECONDS).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "expected a whole number of seconds from 1 to {MAX_TTL_SECONDS} (a week)"
        )),
    }
}

/// The download URL lifetime: the flag or `ALTDIST_DOWNLOAD_URL_TTL`, else the legacy variable,
/// else the default.
fn download_url_ttl(given: Option<u64>) -> anyhow::Result<std::time::Duration> {
    let seconds = match given {
        Some(seconds) => seconds,
        None => match std::env::var(LEGACY_TTL_VARIABLE) {
            Ok(value) => parse_ttl(&value)
                .map_err(|err| anyhow::anyhow!("invalid {LEGACY_TTL_VARIABLE} '{value}': {err}"))?,
            Err(_) => return Ok(altdist_server::package_store::DEFAULT_URL_TTL),
        },
    };
    Ok(std::time::Duration::from_secs(seconds))
}

/// Serves until SIGINT or SIGTERM. Stdout carries what scripts wait for (the first start's
/// account and the ready line); logs go to stderr.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let logging = Logging::start(opts.log_format);
    let served = serve(opts).await;
    // Last, once the requests in flight are answered: the guard writes out every queued line.
    logging.finish();
    served
}

async fn serve(opts: Opts) -> anyhow::Result<ExitCode> {
    let config = Config {
        listen: opts.listen,
        package_dir: opts.storage.package_dir.clone(),
        data_dir: opts.storage.data_dir,
        database_url: opts.storage.database_url,
        public_url: opts.public_url,
        rate_limit: opts.rate_limit,
        allow_private_targets: opts.allow_private_targets,
        download_url_ttl: download_url_ttl(opts.download_url_ttl)?,
    };
    let running = altdist_server::Server::new(config).start().await?;
    let mut stdout = std::io::stdout().lock();
    if let Some(created) = running.first_start() {
        writeln!(
            stdout,
            "first start: created account {} with ADMIN API key {}\n  private key: {}\n  credentials: {}",
            created.issuer_id,
            created.key_id,
            created.private_key_path.display(),
            created.credentials_path.display()
        )?;
    }
    writeln!(
        stdout,
        "altdist listening on http://{} (database {})",
        running.address(),
        running.database()
    )?;
    stdout.flush()?;
    drop(stdout);
    running
        .serve_until(altdist_server::server::shutdown_signal())
        .await?;
    Ok(ExitCode::SUCCESS)
}
