//! `altdist site check`: what Apple and the device check of a web-distribution website, against
//! the running site, without a device.
//!
//! The checks are the library's (`altdist::site_check`), shared with the sandbox's
//! `POST /sandbox/v1/sites/check`; this command reads the options, asks the account through the
//! API (Apple's or `altdist serve`'s) and prints one line per check. Each check's Apple article
//! is in docs/WEB-DISTRIBUTION.md.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use altdist::site_check::{ApiAccount, CheckStatus, SiteCheckOptions, SiteReport, check_site};

use super::connection::Connection;
use crate::credentials::CredentialArgs;
use crate::output::{self, hinted};

/// Options of `altdist site`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check a running web-distribution site as Apple and the device would: exit 0 when every
    /// check passes, 1 when one fails, 2 for a usage or setup error.
    Check(CheckOpts),
}

/// Options of `altdist site check`.
#[derive(Debug, clap::Args)]
struct CheckOpts {
    /// The site: https://DOMAIN[:PORT], a domain registered for the account.
    url: String,
    /// The Apple id of the app the site distributes [default: the iss of the page's token].
    #[arg(long, value_name = "APP_ID")]
    app: Option<String>,
    /// The install page holding the marketplace-kit://install links; loaded twice.
    #[arg(long, value_name = "URL")]
    page: Option<String>,
    /// Trust this CA (PEM, one or more certificates) besides the public roots: a private or
    /// test CA. The certificate must still be valid for the host.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Reach HOST:PORT at ADDRESS instead of what DNS says, as curl's --resolve; repeatable.
    /// The URLs keep their port; the entry applies to HOST on any port.
    #[arg(long, value_name = "HOST:PORT:ADDRESS")]
    resolve: Vec<String>,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    credentials: CredentialArgs,
}

/// Runs `altdist site check`.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let Command::Check(opts) = opts.command;
    let mut options = SiteCheckOptions::new(&opts.url);
    options.page = opts.page.clone();
    options.app = opts.app.clone();
    // The site may be this machine, reached with --resolve: the person running the command
    // names it, unlike the server's sandbox, which refuses private addresses by default.
    options.allow_private_targets = true;
    if let Some(path) = &opts.ca_cert {
        options.ca_pem = Some(std::fs::read(path).map_err(|err| {
            hinted(
                format!("cannot read --ca-cert {}: {err}", path.display()),
                "give the CA certificate as a PEM file",
            )
        })?);
    }
    for entry in &opts.resolve {
        options.resolve.push(parse_resolve(entry)?);
    }
    if !options.url.starts_with("https://") {
        return Err(hinted(
            format!("URL {:?} is not an https:// URL", options.url),
            "Apple reaches the site over HTTPS only; for a local site use --ca-cert and --resolve",
        ));
    }
    let client = opts.connection.client(&opts.credentials)?;
    let report = check_site(&options, &ApiAccount::new(&client)).await?;
    print_report(&report, opts.connection.json_requested())?;
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `HOST:PORT:ADDRESS` → the host and the socket address (curl's convention).
fn parse_resolve(entry: &str) -> anyhow::Result<(String, SocketAddr)> {
    let bad = || {
        hinted(
            format!("--resolve {entry:?} is not HOST:PORT:ADDRESS"),
            "for example --resolve apps.example.com:8443:127.0.0.1",
        )
    };
    let mut parts = entry.splitn(3, ':');
    let (Some(host), Some(port), Some(address)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    let address: IpAddr = address
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), SocketAddr::new(address, port)))
}

fn print_report(report: &SiteReport, json: bool) -> anyhow::Result<()> {
    if json {
        return output::print_json(report);
    }
    for line in &report.checks {
        let status = match line.status {
            CheckStatus::Ok => "ok  ",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Warn => "warn",
        };
        println!("{status} {:<12} {}", line.name, line.detail);
    }
    let failed = report
        .checks
        .iter()
        .filter(|line| line.status == CheckStatus::Fail)
        .count();
    let warned = report
        .checks
        .iter()
        .filter(|line| line.status == CheckStatus::Warn)
        .count();
    if failed == 0 {
        println!(
            "site passes: {} checks, {warned} warning(s)",
            report.checks.len()
        );
    } else {
        println!(
            "site FAILS: {failed} of {} checks failed, {warned} warning(s)",
            report.checks.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries() {
        let (host, address) = parse_resolve("Apps.Example.test:8443:127.0.0.1").unwrap();
        assert_eq!(host, "apps.example.test");
        assert_eq!(address, "127.0.0.1:8443".parse().unwrap());
        let (_, address) = parse_resolve("a.test:443:[::1]").unwrap();
        assert_eq!(address, "[::1]:443".parse().unwrap());
        assert!(parse_resolve("a.test:443").is_err());
        assert!(parse_resolve("a.test:x:127.0.0.1").is_err());
    }
}
