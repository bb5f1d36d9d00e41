//! The `serve` and `admin` subcommands, wired into the `altdist` binary.

/// Options of `altdist serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// Options of `altdist admin`.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {}

/// Runs `altdist serve` until SIGINT or SIGTERM.
pub async fn run_serve(_args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("the server is not built yet")
}

/// Runs one `altdist admin` command.
pub async fn run_admin(_args: AdminArgs) -> anyhow::Result<()> {
    anyhow::bail!("the server is not built yet")
}
