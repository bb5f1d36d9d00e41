//! `altdist packages`: alternative distribution packages, fetched into a directory ready to
//! host ([`altdist::package_fetch`]).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use altdist::package_fetch::{self, FetchEvent, FetchOptions};
use altdist::resource::AppId;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::connection::{Connection, OutputFormat};
use crate::credentials::CredentialArgs;

/// Options of `altdist packages`.
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
    /// Download an app version's package (manifest, variants, deltas, key blobs) into a directory ready to host; verifies every checksum, resumes, skips what is in place.
    // `--version` names the App Store version here, not altdist's.
    #[command(disable_version_flag = true)]
    Fetch {
        /// The app's Apple id.
        #[arg(long)]
        app: String,
        /// The App Store version string, like 1.2.0 [default: the newest version with a package].
        #[arg(long = "version", id = "version_string", value_name = "VERSION")]
        version_string: Option<String>,
        /// The directory to lay the package out in; created if missing.
        #[arg(long)]
        out: PathBuf,
        /// Files downloaded at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallel: u16,
    },
}

/// Runs one `altdist packages` subcommand.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let client = opts.connection.client(&opts.credentials)?;
    let format = opts.connection.format();
    match opts.command {
        Command::Fetch {
            app,
            version_string,
            out,
            parallel,
        } => {
            anyhow::ensure!(
                AppId::is_well_formed(&app),
                "'{app}' is not an Apple id (digits, like 6476788026)"
            );
            let options = FetchOptions {
                app: AppId(app),
                version: version_string,
                out: out.clone(),
                parallel: usize::from(parallel),
            };
            let bar = progress_bar();
            let on_event = {
                let bar = bar.clone();
                // A hidden bar prints nothing, lines included: without a terminal they go
                // straight to stderr.
                let say = move |bar: &ProgressBar, line: String| {
                    if bar.is_hidden() {
                        eprintln!("{line}");
                    } else {
                        bar.println(line);
                    }
                };
                Arc::new(move |event: FetchEvent| match event {
                    FetchEvent::Sized { bytes } => bar.inc_length(bytes),
                    FetchEvent::Progress { bytes } => bar.inc(bytes),
                    FetchEvent::UrlRefreshed { path } => say(
                        &bar,
                        format!("{}: the URL expired; read it again", path.display()),
                    ),
                    FetchEvent::Done { path, skipped } => {
                        let how = if skipped {
                            "in place, verified"
                        } else {
                            "verified"
                        };
                        say(&bar, format!("{}: {how}", path.display()));
                    }
                    _ => {}
                })
            };
            let report = package_fetch::fetch(&client, &options, on_event).await;
            bar.finish_and_clear();
            let report = report?;
            if format == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let bytes: u64 = report.files.iter().map(|file| file.size).sum();
                let skipped = report.files.iter().filter(|file| file.skipped).count();
                println!(
                    "{} {} (package version {}): {} files, {:.1} MB in {}{}",
                    report.app,
                    report.version,
                    report.alternative_distribution_package_version,
                    report.files.len(),
                    bytes as f64 / 1e6,
                    out.display(),
                    if skipped > 0 {
                        format!(" ({skipped} already in place)")
                    } else {
                        String::new()
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Bytes done of bytes known, on stderr when it is a terminal; hidden otherwise, where the
/// per-file lines still print.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if std::io::stderr().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}
