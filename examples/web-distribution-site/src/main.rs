//! `web-distribution-site`: run the reference site, or make a test certificate for it.

use std::net::SocketAddr;
use std::path::PathBuf;

use altdist::PrivateKey;
use clap::{Parser, Subcommand};
use web_distribution_site::{Break, SiteConfig, make_test_certificates, serve, tls_config};

/// A reference web-distribution website over HTTPS; `altdist site check` passes against it.
#[derive(Debug, Parser)]
#[command(name = "web-distribution-site", max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the site.
    Serve(ServeOpts),
    /// Write a test CA and a certificate for the given hosts (ca.pem, cert.pem, key.pem).
    MakeCert {
        /// The hosts the certificate is for, like apps.example.com.
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
        /// The directory to write the three files in (created if missing).
        #[arg(long, default_value = "site-tls")]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct ServeOpts {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// The site's certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The public URL every link uses, https://HOST[:PORT] on the registered domain
    /// [default: https://localhost:<listen port>].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// The app's Apple id.
    #[arg(long, value_name = "APP_ID")]
    app: String,
    /// The app's bundle id.
    #[arg(long, value_name = "BUNDLE_ID")]
    bid: String,
    /// The uploaded key's id (`altdist apps key APP_ID --id-only`).
    #[arg(long)]
    kid: String,
    /// The alternative distribution private key.
    #[arg(long, value_name = "FILE", default_value = "private_key.pem")]
    private_key: PathBuf,
    /// Break one thing on purpose, to see which check catches it.
    #[arg(long = "break", value_enum, value_name = "WHAT")]
    broken: Option<Break>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::MakeCert { hosts, out } => {
            let (ca, cert, key) = make_test_certificates(&hosts)?;
            std::fs::create_dir_all(&out)?;
            std::fs::write(out.join("ca.pem"), ca)?;
            std::fs::write(out.join("cert.pem"), cert)?;
            std::fs::write(out.join("key.pem"), key)?;
            println!(
                "wrote {0}/ca.pem, {0}/cert.pem and {0}/key.pem",
                out.display()
            );
            Ok(())
        }
        Command::Serve(opts) => {
            let tls = tls_config(&opts.cert, &opts.key)?;
            let listener = tokio::net::TcpListener::bind(opts.listen).await?;
            let address = listener.local_addr()?;
            let public_url = opts
                .public_url
                .unwrap_or_else(|| format!("https://localhost:{}", address.port()));
            let config = SiteConfig {
                public_url: public_url.trim_end_matches('/').to_owned(),
                app_id: opts.app,
                bundle_id: opts.bid,
                kid: opts.kid,
                key: PrivateKey::load(&opts.private_key)?,
                broken: opts.broken,
            };
            println!(
                "web-distribution-site listening on https://{address} (public URL {public_url})"
            );
            serve(listener, tls, config).await
        }
    }
}
