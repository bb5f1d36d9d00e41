//! The `altdist` command.

mod cmd;
mod credentials;
mod logging;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than the system's allocator: a request allocates a few dozen small blocks
/// (its buffers, its document's strings), and glibc's allocator was a tenth of the server's
/// CPU (docs/PERFORMANCE.md, "Allocation").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// altdist: alternative distribution keys and ES256 tokens for Apple's web distribution and
/// alternative marketplaces, and a server that speaks the App Store Connect API for them.
///
/// The usual flow (Apple's "Creating and configuring keys for web distribution"):
///
///   altdist keygen                      # private_key.pem (0600), like openssl ecparam -genkey
///   altdist pubkey --out public_key.pem # like openssl ec -pubout
///   (upload public_key.pem; App Store Connect answers with the key id)
///   altdist token install --kid KEY_ID --iss APP_APPLE_ID --bid com.example.app
#[derive(Debug, Parser)]
#[command(
    name = "altdist",
    version,
    propagate_version = true,
    max_term_width = 100,
    verbatim_doc_comment
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a P-256 private key (SEC1 PEM, mode 0600), as `openssl ecparam -name prime256v1 -genkey -noout` does.
    Keygen(cmd::keygen::Opts),
    /// Print the public key (SubjectPublicKeyInfo PEM) of a key, byte-identical to `openssl ec -pubout`.
    Pubkey(cmd::pubkey::Opts),
    /// Print a key's fingerprint: SHA-256 of its public key DER, in hex.
    Fingerprint(cmd::fingerprint::Opts),
    /// Mint and verify ES256 tokens: install verification, marketplace, App Store Connect API.
    Token(cmd::token::Opts),
    /// Upload, list, show and delete alternative distribution keys (App Store Connect or altdist serve).
    Keys(cmd::keys::Opts),
    /// List and show apps, and find the key id (kid) that signs for an app.
    Apps(cmd::apps::Opts),
    /// Register, list, show and remove alternative distribution domains.
    Domains(cmd::domains::Opts),
    /// Do a whole setup flow in one command: `altdist setup web-distribution`.
    Setup(cmd::setup::Opts),
    /// Download an app version's alternative distribution package, ready to host.
    Packages(cmd::packages::Opts),
    /// Check a running web-distribution website as Apple and the device would.
    Site(cmd::site::Opts),
    /// Receive an app's webhook events locally: `altdist webhooks listen`.
    Webhooks(cmd::webhooks::Opts),
    /// Record API credentials as a named profile (paths and ids only, never the key).
    Login(cmd::login::Opts),
    /// Run the App Store Connect-compatible server.
    Serve(cmd::serve::Opts),
    /// Manage the server's accounts, API keys and apps directly on its database.
    Admin(cmd::admin::Opts),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(opts) => cmd::keygen::run(opts),
        Command::Pubkey(opts) => cmd::pubkey::run(opts),
        Command::Fingerprint(opts) => cmd::fingerprint::run(opts),
        Command::Token(opts) => cmd::token::run(opts),
        Command::Keys(opts) => block_on_client(cmd::keys::run(opts)),
        Command::Apps(opts) => block_on_client(cmd::apps::run(opts)),
        Command::Domains(opts) => block_on_client(cmd::domains::run(opts)),
        Command::Setup(opts) => block_on_client(cmd::setup::run(opts)),
        Command::Site(opts) => block_on_client(cmd::site::run(opts)),
        Command::Packages(opts) => block_on(cmd::packages::run(opts)),
        Command::Webhooks(opts) => block_on_client(cmd::webhooks::run(opts)),
        Command::Login(opts) => cmd::login::run(opts),
        Command::Serve(opts) => block_on(cmd::serve::run(opts)),
        Command::Admin(opts) => block_on(cmd::admin::run(opts)),
    };
    match result {
        Ok(code) => code,
        Err(err) => output::report_error(&err),
    }
}

/// A client command makes a few requests one after another: one thread does that, without the
/// worker threads a multi-threaded runtime starts.
fn block_on_client<F: Future<Output = anyhow::Result<ExitCode>>>(
    future: F,
) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

fn block_on<F: Future<Output = anyhow::Result<ExitCode>>>(future: F) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
