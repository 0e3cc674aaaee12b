//! Connections to one Redis server: the settings, a small pool of blocking connections with a bound
//! on every call, and the up/down state that makes an outage cost one bounded call, not one per call.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::{Client, Connection, ErrorKind, RedisError};

use crate::store::{RedisProblem, StoreError};

/// The default bound on one Redis call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "modelauth:";

/// Where the shared routing state lives ([`crate::GatewayBuilder::redis`]).
#[derive(Clone)]
pub struct RedisSettings {
    url: String,
    /// Every key and the change channel start with this.
    pub prefix: String,
    /// No call waits longer than this for the server (connect, send, answer).
    pub timeout: Duration,
    /// For `rediss://`: the PEM file of the CA that signed the server's certificate, instead of the
    /// system's trusted roots (a private CA, or a self-signed server).
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &self.display_url())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl RedisSettings {
    /// Settings for `url` (`redis://`, `rediss://`, `unix://`; password and db number in the URL),
    /// with the default prefix and timeout. The URL is checked when the gateway is built.
    pub fn new(url: impl Into<String>) -> RedisSettings {
        RedisSettings {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            ca_file: None,
        }
    }

    /// The URL with its password replaced by `***`: the only form that goes into messages and logs.
    pub fn display_url(&self) -> String {
        redact(&self.url)
    }

    /// An error about this server.
    pub fn error(&self, problem: RedisProblem) -> StoreError {
        StoreError::Redis {
            url: self.display_url(),
            problem,
        }
    }

    /// The client for the URL (TLS for `rediss://`, trusting [`RedisSettings::ca_file`] when given);
    /// a bad URL or an unreadable CA file is refused here.
    pub(super) fn client(&self) -> Result<Client, StoreError> {
        let bad = |e: RedisError| self.error(RedisProblem::BadUrl(without_secrets(&e, &self.url)));
        let tls = self.url.to_ascii_lowercase().starts_with("rediss://");
        match (&self.ca_file, tls) {
            (Some(path), true) => {
                let pem = std::fs::read(path).map_err(|e| {
                    self.error(RedisProblem::CaFile(path.display().to_string(), e.to_string()))
                })?;
                let certs = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                };
                Client::build_with_tls(self.url.as_str(), certs).map_err(bad)
            }
            _ => Client::open(self.url.as_str()).map_err(bad),
        }
    }
}

/// `url` with the password (the part between the last `:` of the user info and the `@`) hidden.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let info = &rest[..at];
    let user = info.split_once(':').map_or("", |(u, _)| u);
    let shown = if info.contains(':') {
        format!("{user}:***")
    } else {
        "***".to_owned()
    };
    format!("{}{shown}{}", &url[..scheme_end], &rest[at..])
}

/// A Redis error's text with anything from the URL's user info removed.
fn without_secrets(e: &RedisError, url: &str) -> String {
    let mut text = e.to_string();
    if let Some(rest) = url.split_once("://").map(|(_, r)| r)
        && let Some((info, _)) = rest.split_once('@')
    {
        for part in info.split(':').filter(|p| !p.is_empty()) {
            text = text.replace(part, "***");
        }
    }
    text
}

/// A blocking connection pool to one server with a bound on every call, and its up/down state.
pub struct Pool {
    settings: RedisSettings,
    client: Client,
    idle: Mutex<Vec<Connection>>,
    down: AtomicBool,
    /// Why the last call that marked the server down failed (shown by `status` and `doctor`).
    problem: Mutex<Option<String>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("settings", &self.settings)
            .field("down", &self.down.load(Ordering::Relaxed))
            .finish()
    }
}

/// Connections kept idle at most (more are made when calls overlap, and dropped after).
const MAX_IDLE: usize = 8;

impl Pool {
    /// A pool for `settings` (no connection is made yet).
    pub fn new(settings: RedisSettings) -> Result<Pool, StoreError> {
        let client = settings.client()?;
        Ok(Pool {
            settings,
            client,
            idle: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            problem: Mutex::new(None),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &RedisSettings {
        &self.settings
    }

    /// True while the server is marked unreachable.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Marks the server unreachable; true when it was up (the caller logs the outage once).
    pub fn mark_down(&self) -> bool {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        !self.down.swap(true, Ordering::AcqRel)
    }

    /// Marks the server reachable again.
    pub fn mark_up(&self) {
        self.down.store(false, Ordering::Release);
        *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Why the last failed call marked the server down, while it is down.
    pub fn problem(&self) -> Option<String> {
        self.problem.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A new connection with the bound set on it.
    pub fn connect(&self) -> Result<Connection, StoreError> {
        let bound = self.settings.timeout.max(Duration::from_millis(1));
        let con = self
            .client
            .get_connection_with_timeout(bound)
            .map_err(|e| match self.classify(&e) {
                // A plain server waits for the rest of what it takes for a command: no answer.
                StoreError::Redis {
                    problem: RedisProblem::Timeout(ms),
                    url,
                } if self.is_tls() => StoreError::Redis {
                    url,
                    problem: RedisProblem::Tls(format!("no TLS handshake within {ms} ms")),
                },
                other => other,
            })?;
        con.set_read_timeout(Some(bound))
            .and_then(|()| con.set_write_timeout(Some(bound)))
            .map_err(|e| self.classify(&e))?;
        Ok(con)
    }

    /// Runs `f` on a pooled connection unless the server is marked down. A connection that failed is
    /// dropped; an I/O failure or timeout marks the server down (the watcher brings it back).
    pub fn call<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, StoreError> {
        if self.is_down() {
            return Err(self.settings.error(RedisProblem::Down));
        }
        self.call_now(f).inspect_err(|e| {
            if is_outage(e) {
                *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
            }
            if is_outage(e) && self.mark_down() {
                tracing::warn!(
                    "shared state unavailable: {e}; serving from the last known state, changes are kept and written back when it returns"
                );
            }
        })
    }

    /// [`Pool::call`] even while the server is marked down (the watcher's probe).
    pub fn call_now<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, StoreError> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut con = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        match f(&mut con) {
            Ok(v) => {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < MAX_IDLE {
                    idle.push(con);
                }
                Ok(v)
            }
            Err(e) => Err(self.classify(&e)),
        }
    }

    fn is_tls(&self) -> bool {
        self.settings.url.to_ascii_lowercase().starts_with("rediss://")
    }

    /// A Redis error as a [`StoreError`] naming the server.
    pub fn classify(&self, e: &RedisError) -> StoreError {
        let ms = self.settings.timeout.as_millis() as u64;
        let problem = if e.is_timeout() {
            RedisProblem::Timeout(ms)
        } else if e.kind() == ErrorKind::AuthenticationFailed
            || e.code()
                .is_some_and(|c| c == "WRONGPASS" || c == "NOAUTH" || c == "NOPERM")
        {
            RedisProblem::Auth
        } else if is_tls(e) {
            RedisProblem::Tls(without_secrets(e, &self.settings.url))
        } else if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
            RedisProblem::Unreachable(without_secrets(e, &self.settings.url))
        } else if matches!(e.kind(), ErrorKind::Server(_)) || refuses_writes(e) {
            RedisProblem::Server(without_secrets(e, &self.settings.url))
        } else {
            RedisProblem::Protocol(without_secrets(e, &self.settings.url))
        };
        self.settings.error(problem)
    }
}

/// True for a server that refuses writes for now (out of memory, a read-only replica, a failed
/// background save, loading, busy, …), also when the refusal comes back through a script.
fn refuses_writes(e: &RedisError) -> bool {
    const CODES: [&str; 9] = [
        "OOM", "READONLY", "MISCONF", "LOADING", "BUSY", "MASTERDOWN", "NOREPLICAS", "CLUSTERDOWN", "TRYAGAIN",
    ];
    let text = e.to_string();
    e.code().is_some_and(|c| CODES.contains(&c))
        || CODES
            .iter()
            .any(|c| text.contains(&format!("\"{c}\"")) || text.contains(&format!("{c} ")))
}

/// True for a failed TLS handshake or certificate check (rustls' words).
fn is_tls(e: &RedisError) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    ["certificate", "handshake", "corrupt message", "tls", "peer sent"]
        .iter()
        .any(|w| text.contains(w))
}

/// True for the errors that mean the server is (for now) out of reach or refusing writes, not that a
/// command was wrong:
/// the instance serves from what it knows (a wrong password or certificate included: it is shown in
/// `status` and `doctor`, and the watcher keeps trying).
pub fn is_outage(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Redis {
            problem: RedisProblem::Unreachable(_)
                | RedisProblem::Timeout(_)
                | RedisProblem::Down
                | RedisProblem::Auth
                | RedisProblem::Tls(_)
                // An error reply (OOM under maxmemory, READONLY on a replica, MISCONF, LOADING, …):
                // the server refuses writes for now, which is an outage for this instance's changes.
                | RedisProblem::Server(_),
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_shown() {
        assert_eq!(
            redact("redis://:hunter2@127.0.0.1:6380/2"),
            "redis://:***@127.0.0.1:6380/2"
        );
        assert_eq!(
            redact("redis://ops:hunter2@h:1/0"),
            "redis://ops:***@h:1/0"
        );
        assert_eq!(redact("redis://tok@h"), "redis://***@h");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact("unix:///run/redis.sock"), "unix:///run/redis.sock");
        assert_eq!(redact("garbage"), "garbage");
    }
}
