//! [`Server`]: `altdist serve` as a library: open the database, listen, serve until told to stop.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use altdist_server::{Config, Server};
//!
//! let running = Server::new(Config::default()).start().await?;
//! println!("listening on http://{}", running.address());
//! running.serve_until(altdist_server::server::shutdown_signal()).await
//! # }
//! ```

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;

use crate::admin::{self, Bootstrap};
use crate::app::AppState;
use crate::auth::REVOCATION_POLL;
use crate::config::Config;
use crate::db::{Db, ServeLock};
use crate::package_store::PackageStore;
use crate::router::SHUTDOWN_GRACE;
use crate::webhooks::{Outbox, OutboxSettings};

/// A server to start, from its [`Config`].
#[derive(Debug, Clone)]
pub struct Server {
    config: Config,
}

impl Server {
    /// A server configured by `config`.
    pub fn new(config: Config) -> Self {
        Self { config }
    }

    /// Starts and serves until SIGINT or SIGTERM.
    pub async fn run(self) -> anyhow::Result<()> {
        self.start().await?.serve_until(shutdown_signal()).await
    }

    /// Opens and migrates the database, claims it for this process (a database that admits one
    /// server at a time refuses a second: [`Db::lock_for_serving`]), binds the listening socket and, on an empty database, creates the first
    /// account. Nothing is answered until [`Running::serve_until`].
    pub async fn start(self) -> anyhow::Result<Running> {
        let config = self.config;
        let db = admin::open(&config.data_dir, config.database_url.as_deref()).await?;
        let lock = db.lock_for_serving()?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let first_start = admin::bootstrap(&db, &config.data_dir, &public_url).await?;
        let state = AppState::new(db.clone(), &public_url, config.rate_limit)
            .with_private_targets(config.allow_private_targets)
            .with_package_store(PackageStore::new(
                config.package_dir(),
                config.download_url_ttl,
            ));
        Ok(Running {
            listener,
            address,
            public_url,
            first_start,
            state,
            db,
            _lock: lock,
        })
    }
}

/// A started server: bound, not yet answering.
#[derive(Debug)]
pub struct Running {
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    public_url: String,
    first_start: Option<Bootstrap>,
    state: AppState,
    db: Db,
    _lock: ServeLock,
}

impl Running {
    /// The address the server listens on (the real port when the configured one was 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base of every link the server writes.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// What the first start created, when this start was the first on its database.
    pub fn first_start(&self) -> Option<&Bootstrap> {
        self.first_start.as_ref()
    }

    /// The database, described without credentials.
    pub fn database(&self) -> String {
        self.db.describe()
    }

    /// Serves until `shutdown` completes, then lets the requests in flight finish (for at most
    /// [`SHUTDOWN_GRACE`]) and closes the database.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let watch = self
            .state
            .auth
            .spawn_revocation_watch(REVOCATION_POLL)
            .await;
        // Only now: on SQLite the serve lock, taken by `start`, is what makes the cache safe.
        let read_caching = self.db.cache_reads();
        let outbox = Outbox::start(
            self.db.clone(),
            self.state.webhook_targets,
            OutboxSettings::default(),
        )
        .await
        .context("cannot start delivering webhooks")?;
        let router = crate::build_router(self.state);
        tracing::info!(address = %self.address, public_url = %self.public_url, "ready");
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(self.listener, router).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing the requests in flight");
            let _ = stopping_tx.send(());
        });
        let grace = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            served = server => served.context("the server failed")?,
            () = grace => tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; stopping anyway"),
        }
        watch.abort();
        read_caching.stop().await;
        // What is in flight gets its answer recorded; the rest is claimed again on the next start.
        outbox.stop(OutboxSettings::default().request_timeout).await;
        self.db.close().await;
        Ok(())
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
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
