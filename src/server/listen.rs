//! Listeners: a unix socket (created 0600; a stale socket of a dead server replaced, a live one
//! refused) or a TCP address (loopback only unless allowed), and the bearer token file of TCP.

use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;

use super::stream::Stream;

/// One `--listen` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// `unix:PATH`.
    Unix(PathBuf),
    /// `tcp:IP:PORT` (port 0: any free port).
    Tcp(SocketAddr),
}

/// Why a listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// Not `unix:PATH` or `tcp:IP:PORT`.
    #[error("--listen {0:?}: expected unix:PATH or tcp:IP:PORT (e.g. tcp:127.0.0.1:8787)")]
    Syntax(String),
    /// A non-loopback TCP address without `--allow-remote`.
    #[error(
        "--listen tcp:{0} is not a loopback address; other hosts could reach the credentials. Pass --allow-remote to listen there anyway (every request still needs the token)"
    )]
    Remote(SocketAddr),
    /// Another server answers on the socket.
    #[error("{0} is in use by a running server; stop it first or pass another --listen unix:PATH")]
    InUse(PathBuf),
    /// The operating system refused.
    #[error("cannot {action} {what}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The socket, address or file.
        what: String,
        /// The reason.
        source: std::io::Error,
    },
    /// The token file exists but holds no token.
    #[error("{0} holds no token; delete it to have a new one generated, or write a token into it")]
    EmptyToken(PathBuf),
    /// The token file cannot be trusted (a link, another user's, readable by others, too short).
    #[error("{path}: {why}; the server does not start with it")]
    UnsafeToken {
        /// The token file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        why: String,
    },
}

/// The shortest token accepted from a file (the generated ones have 64 hex digits).
pub const MIN_TOKEN_LEN: usize = 32;

/// Why the token file at `path` (which exists) cannot be used, if it cannot.
pub fn token_file_problem(path: &Path, token: Option<&str>) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        return Some("it is a symbolic link; replace it with a regular file (or delete it to have one generated)".into());
    }
    if !meta.is_file() {
        return Some("it is not a regular file; delete it to have a token file generated".into());
    }
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if me.is_some_and(|uid| uid != meta.uid()) {
        return Some(format!(
            "it is owned by uid {}, not by this user; delete it to have a new one generated",
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Some(format!(
            "its mode is {:o}: other users may read the token; run chmod 600 {} (modelauth doctor --fix does), or delete it to have a new one generated",
            meta.mode() & 0o777,
            path.display()
        ));
    }
    if token.is_some_and(|t| t.len() < MIN_TOKEN_LEN || !t.bytes().all(|b| b.is_ascii_graphic())) {
        return Some(format!(
            "the token in it is shorter than {MIN_TOKEN_LEN} characters or has spaces or control characters; delete it to have a strong one generated"
        ));
    }
    None
}

impl FromStr for Listen {
    type Err = ListenError;

    fn from_str(s: &str) -> Result<Listen, ListenError> {
        if let Some(p) = s.strip_prefix("unix:").filter(|p| !p.is_empty()) {
            return Ok(Listen::Unix(PathBuf::from(p)));
        }
        if let Some(a) = s.strip_prefix("tcp:") {
            return a
                .parse()
                .map(Listen::Tcp)
                .map_err(|_| ListenError::Syntax(s.to_owned()));
        }
        Err(ListenError::Syntax(s.to_owned()))
    }
}

fn io(
    action: &'static str,
    what: impl std::fmt::Display,
) -> impl FnOnce(std::io::Error) -> ListenError {
    let what = what.to_string();
    move |source| ListenError::Io {
        action,
        what,
        source,
    }
}

/// A bound listener.
#[derive(Debug)]
pub enum Bound {
    /// A unix socket we created (removed at shutdown).
    Unix(tokio::net::UnixListener, PathBuf),
    /// A TCP listener.
    Tcp(tokio::net::TcpListener, SocketAddr),
}

impl Bound {
    /// `unix:PATH` or `tcp:IP:PORT`.
    pub fn address(&self) -> String {
        match self {
            Bound::Unix(_, p) => format!("unix:{}", p.display()),
            Bound::Tcp(_, a) => format!("tcp:{a}"),
        }
    }

    /// The socket file, for a unix listener.
    pub fn socket_path(&self) -> Option<&Path> {
        match self {
            Bound::Unix(_, p) => Some(p),
            Bound::Tcp(..) => None,
        }
    }

    /// Serves `service` until `stop`, letting requests in flight finish. A client gets
    /// `header_timeout` to send a request's headers (a slow-loris client is dropped).
    pub async fn serve(
        self,
        service: super::front::Front,
        header_timeout: Duration,
        stop: impl Future<Output = ()> + Send + 'static,
    ) {
        let graceful = GracefulShutdown::new();
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout);
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let mut stop = std::pin::pin!(stop);
        loop {
            let accepted = tokio::select! {
                _ = &mut stop => break,
                accepted = self.accept() => accepted,
            };
            match accepted {
                Ok(io) => {
                    // Over the bound, a new connection is closed at once: the open ones keep
                    // their descriptors and `/healthz` keeps answering.
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        if let Some(more) = FULL.admit() {
                            tracing::warn!(listener = %self.address(), "{MAX_CONNECTIONS} connections open; new ones are closed ({more} more since the last such line)");
                        }
                        continue;
                    };
                    let conn = http.serve_connection(io, service.clone());
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection ended");
                        }
                        drop(slot);
                    });
                }
                Err(e) => {
                    // Out of descriptors or a reset before accept: keep serving the others.
                    if let Some(more) = ACCEPT_FAILED.admit() {
                        tracing::warn!(error = %e, listener = %self.address(), "accept failed ({more} more since the last such line)");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        // Requests in flight finish, within a deadline: a client that keeps its connection open
        // (a stalled body, a slow reader) does not hold the shutdown (and the final session write).
        if tokio::time::timeout(DRAIN_DEADLINE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(listener = %self.address(), "connections still open after {} s; closing them", DRAIN_DEADLINE.as_secs());
        }
    }

    /// The next connection.
    async fn accept(&self) -> std::io::Result<TokioIo<Stream>> {
        Ok(TokioIo::new(match self {
            Bound::Unix(l, _) => Stream::unix(l.accept().await?.0),
            Bound::Tcp(l, _) => {
                let (s, _) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Stream::tcp(s)
            }
        }))
    }
}

/// Binds `l`.
pub async fn bind(l: &Listen, allow_remote: bool) -> Result<Bound, ListenError> {
    match l {
        Listen::Tcp(addr) => {
            if !addr.ip().is_loopback() && !allow_remote {
                return Err(ListenError::Remote(*addr));
            }
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(io("listen on", format!("tcp:{addr}")))?;
            let local = listener
                .local_addr()
                .map_err(io("listen on", format!("tcp:{addr}")))?;
            Ok(Bound::Tcp(listener, local))
        }
        Listen::Unix(path) => {
            if path.symlink_metadata().is_ok() {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(ListenError::InUse(path.clone()));
                }
                // Nobody answers: the socket of a server that died. Anything else is not ours.
                let meta = path
                    .symlink_metadata()
                    .map_err(io("inspect", path.display()))?;
                if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
                    return Err(ListenError::Io {
                        action: "replace",
                        what: path.display().to_string(),
                        source: std::io::Error::other("it exists and is not a socket"),
                    });
                }
                std::fs::remove_file(path)
                    .map_err(io("remove the stale socket", path.display()))?;
            }
            let listener =
                tokio::net::UnixListener::bind(path).map_err(io("listen on", path.display()))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(io("restrict", path.display()))?;
            Ok(Bound::Unix(listener, path.clone()))
        }
    }
}

/// The most connections one listener keeps open at once.
pub const MAX_CONNECTIONS: usize = 512;

/// How long a shutdown waits for requests in flight.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// "Connections full" lines, at most one per interval.
static FULL: super::front::RefusalLog = super::front::RefusalLog::new();
/// "Accept failed" lines, at most one per interval.
static ACCEPT_FAILED: super::front::RefusalLog = super::front::RefusalLog::new();

/// The token in `path`, created (0600, 256 random bits in hex) when the file does not exist.
pub fn token(path: &Path) -> Result<String, ListenError> {
    if let Some(why) = token_file_problem(path, None) {
        return Err(ListenError::UnsafeToken {
            path: path.to_owned(),
            why,
        });
    }
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let t = text.trim().to_owned();
            if t.is_empty() {
                return Err(ListenError::EmptyToken(path.to_owned()));
            }
            if let Some(why) = token_file_problem(path, Some(&t)) {
                return Err(ListenError::UnsafeToken {
                    path: path.to_owned(),
                    why,
                });
            }
            Ok(t)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let t = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode_0600()
                .open(path)
                .map_err(io("create", path.display()))?;
            f.write_all(format!("{t}\n").as_bytes())
                .map_err(io("write", path.display()))?;
            Ok(t)
        }
        Err(e) => Err(ListenError::Io {
            action: "read",
            what: path.display().to_string(),
            source: e,
        }),
    }
}

/// `OpenOptions::mode(0o600)` by name.
trait Private {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Private for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o600)
    }
}
