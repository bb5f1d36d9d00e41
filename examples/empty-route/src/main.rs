//! One empty axum route: what `altdist serve` would cost if a request did nothing.
//!
//! `scripts/load-bench.sh` runs it next to the server, pinned and driven the same way, as the
//! ceiling each route's throughput is measured against. Same axum features, same tokio
//! multi-threaded runtime and allocator as `altdist serve`, no layers, no logging.
//!
//! Usage: `empty-route [ADDR]` (default `127.0.0.1:0`); prints `listening on http://ADDR` once it
//! accepts connections.

use std::io::Write as _;

use axum::Router;
use axum::routing::get;

/// The server's allocator, so that the baseline differs from it only in what a request does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "listening on http://{}", listener.local_addr()?)?;
            stdout.flush()?;
            drop(stdout);
            // Any path, through the router: the benchmark requests the server's own paths here.
            let app = Router::new().route("/{*path}", get(|| async {}));
            axum::serve(listener, app).await
        })
}
