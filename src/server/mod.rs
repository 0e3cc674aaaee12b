//! `modelauth serve`: the credential layer as a local HTTP service (axum on tokio) for gateways in any
//! language. One [`Gateway`] (one `Agent` and session registry per agent id) serves every connection.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use modelauth::server::{Listen, ServeOptions, Server};
//! let gateway = modelauth::Gateway::open("/home/me/.openclaw")?;
//! let options = ServeOptions { listen: vec!["tcp:127.0.0.1:8787".parse()?], ..ServeOptions::default() };
//! let server = Server::bind(gateway, options).await?;
//! println!("{:?}", server.addresses());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

pub mod api;
mod body;
mod direct;
pub mod error;
mod front;
mod listen;
pub mod metrics;
mod probe;
mod resolve;
mod state;
mod stream;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

pub use listen::{Listen, ListenError};

use crate::{Gateway, GatewayError};

/// How often sessions changed by resolutions are written while serving.
pub const AUTOSAVE: std::time::Duration = std::time::Duration::from_secs(1);

/// The largest request body accepted (413 above it).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Where and how to listen.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Listeners; empty means `unix:<state>/modelauth.sock`.
    pub listen: Vec<Listen>,
    /// Allow TCP addresses other than loopback.
    pub allow_remote: bool,
    /// The bearer token file for TCP (default `<state>/modelauth.token`, generated on first start).
    pub token_file: Option<PathBuf>,
    /// How long a client has to send a request's headers before its connection is closed (default
    /// [`HEADER_READ_TIMEOUT`]): a slow-loris client cannot hold a connection open.
    pub header_timeout: Option<std::time::Duration>,
}

/// How long a client has to send a request's headers by default (10 s).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A listener could not be set up.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// The state could not be opened.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// No state directory to put the default socket or token in (an in-memory gateway).
    #[error(
        "an in-memory gateway has no state directory: pass --listen and --token-file explicitly"
    )]
    NoStateDir,
}

/// A server with its listeners bound; [`Server::run`] serves until shutdown.
#[derive(Debug)]
pub struct Server {
    gateway: Gateway,
    bound: Vec<listen::Bound>,
    token: Option<Arc<str>>,
    header_timeout: std::time::Duration,
}

impl Server {
    /// Binds every listener of `options` (a stale socket of a dead server is replaced, a live one
    /// refused; a TCP listener reads or creates the token file).
    pub async fn bind(gateway: Gateway, options: ServeOptions) -> Result<Server, ServeError> {
        let state = gateway.state_dir().map(|p| p.to_owned());
        let mut listens = options.listen.clone();
        if listens.is_empty() {
            listens.push(Listen::Unix(
                state
                    .clone()
                    .ok_or(ServeError::NoStateDir)?
                    .join("modelauth.sock"),
            ));
        }
        let mut bound = Vec::new();
        for l in &listens {
            bound.push(listen::bind(l, options.allow_remote).await?);
        }
        let token = if listens.iter().any(|l| matches!(l, Listen::Tcp(_))) {
            let path = match options.token_file.clone() {
                Some(p) => p,
                None => state.ok_or(ServeError::NoStateDir)?.join("modelauth.token"),
            };
            Some(Arc::from(listen::token(&path)?))
        } else {
            None
        };
        Ok(Server {
            gateway,
            bound,
            token,
            header_timeout: options.header_timeout.unwrap_or(HEADER_READ_TIMEOUT),
        })
    }

    /// The bound addresses (`unix:PATH`, `tcp:IP:PORT` with the real port).
    pub fn addresses(&self) -> Vec<String> {
        self.bound.iter().map(listen::Bound::address).collect()
    }

    /// Serves until `shutdown` completes; then stops accepting, finishes the requests in flight,
    /// writes every changed session and removes the unix sockets it created.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let state = state::AppState {
            gateway: self.gateway.clone(),
            metrics: Arc::default(),
            known: Arc::default(),
            body_timeout: self.header_timeout,
        };
        let app = api::router(state.clone());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        let mut sockets = Vec::new();
        for b in self.bound {
            let stop = {
                let mut rx = stop_rx.clone();
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                }
            };
            if let Some(p) = b.socket_path() {
                sockets.push(p.to_owned());
            }
            let token = match &b {
                listen::Bound::Tcp(..) => self.token.clone(),
                listen::Bound::Unix(..) => None,
            };
            let front = front::Front::new(app.clone(), token, state.clone());
            tasks.push(tokio::spawn(b.serve(front, self.header_timeout, stop)));
        }
        // Sessions changed by resolutions (auto pins) are written within a second, so a crash loses at
        // most that much; directives are written when they are applied.
        let autosave = {
            let (gateway, mut stop) = (self.gateway.clone(), stop_rx.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(AUTOSAVE);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stop.wait_for(|s| *s) => break,
                    }
                    let g = gateway.clone();
                    // Short waits: a locked database is tried again on the next tick, and a request
                    // never waits behind this write for a whole busy timeout.
                    let flush = move || {
                        crate::gateway::waiting_at_most(
                            std::time::Duration::from_millis(500),
                            || g.flush(),
                        )
                    };
                    if let Ok(Err(e)) = tokio::task::spawn_blocking(flush).await {
                        tracing::warn!(error = %e, "saving sessions failed (will retry)");
                    }
                }
            })
        };
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        let _ = autosave.await;
        let gateway = self.gateway.clone();
        let flushed = tokio::task::spawn_blocking(move || gateway.flush()).await;
        for p in sockets {
            let _ = std::fs::remove_file(p);
        }
        match flushed {
            Ok(Err(e)) => tracing::error!(error = %e, "sessions could not be written at shutdown"),
            Err(e) => tracing::error!(error = %e, "the session flush did not finish"),
            Ok(Ok(())) => {}
        }
        Ok(())
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
