//! Secret references resolved at the point of use, exactly as OpenClaw 2026.9.6 resolves them: `env`
//! (the environment, with `<state>/.env`), `file` (a private file: JSON pointer or single value),
//! `exec` (a command speaking the exec protocol v1) and `store` (OpenClaw's own secret store). An exec
//! provider that is modelauth itself (`modelauth secrets exec-provider`) is answered in-process from
//! modelauth's own stores: the OS keyring and systemd credentials ([`vault`]).
//!
//! A resolved value is a [`Secret`]: it is never written anywhere and never logged. [`RefResolver`]
//! keeps it in memory for [`RESOLVED_TTL`] (a failure for [`FAILED_TTL`]), so a command or file is
//! read at most once per interval whatever the request rate, and a rotated secret is seen within it.

mod exec;
pub mod exec_provider;
mod file;
pub mod keyring;
mod store;
pub mod systemd;
pub mod vault;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Env;
use crate::config::secrets::{ProviderDef, SecretsConfig};
use crate::store::{Secret, SecretRef};

/// How long a resolved value is reused.
pub const RESOLVED_TTL: Duration = Duration::from_secs(30);
/// How long a failed resolution is remembered (so a broken command is not run on every request).
pub const FAILED_TTL: Duration = Duration::from_secs(5);

/// Why a secret reference did not resolve. Names the reference and the cause, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The provider answered, but not for this id (a missing variable, pointer or exec id).
    #[error("secret reference {reference} does not resolve: {message}")]
    NotFound {
        /// The reference's label.
        reference: String,
        /// What is missing and where.
        message: String,
    },
    /// The provider's settings refuse it (an allowlist, an id of the wrong form).
    #[error("secret reference {reference} is refused: {message}")]
    Refused {
        /// The reference's label.
        reference: String,
        /// Why.
        message: String,
    },
    /// The provider itself failed (not configured, unsafe file or command, timeout, bad answer).
    #[error("secret provider for {reference} failed: {message}")]
    Provider {
        /// The reference's label.
        reference: String,
        /// What failed and how to fix it.
        message: String,
    },
}

/// Where references are resolved: the config's providers, the environment and the state directory.
#[derive(Debug, Clone, Copy)]
pub struct RefContext<'a> {
    /// `secrets` of `openclaw.json`.
    pub config: &'a SecretsConfig,
    /// The environment (process, `.env`, login shell).
    pub env: &'a Env,
    /// `<state>/state/openclaw.sqlite`, for `store` references (`None`: none exists).
    pub state_db: Option<&'a Path>,
}

/// Resolves `r` now, without a cache.
pub fn resolve_ref(r: &SecretRef, ctx: &RefContext<'_>) -> Result<Secret, SecretError> {
    let label = r.label();
    let provider_err = |message: String| SecretError::Provider {
        reference: label.clone(),
        message,
    };
    let (alias, def) = ctx.config.provider_for(r).map_err(&provider_err)?;
    let value = match def {
        ProviderDef::Env { allowlist } => {
            if allowlist.as_ref().is_some_and(|l| !l.contains(&r.id)) {
                return Err(SecretError::Refused {
                    reference: label,
                    message: format!("\"{}\" is not in secrets.providers.{alias}.allowlist", r.id),
                });
            }
            ctx.env
                .get(&r.id)
                .cloned()
                .ok_or_else(|| SecretError::NotFound {
                    reference: label.clone(),
                    message: format!("environment variable {} is missing or empty", r.id),
                })?
        }
        ProviderDef::File { .. } => file::resolve(&alias, &def, r, &label)?,
        ProviderDef::Exec(e) => exec::resolve(&alias, &e, r, ctx.env, &label)?,
        ProviderDef::Store => store::resolve(ctx.state_db, r, &label)?,
        ProviderDef::Unsupported { why, .. } => {
            return Err(provider_err(format!(
                "secrets.providers.{alias} cannot be used by modelauth: {why}"
            )));
        }
    };
    if value.is_blank() {
        return Err(SecretError::NotFound {
            reference: label,
            message: "the value is empty".into(),
        });
    }
    Ok(value)
}

/// Resolved references with the time they were resolved.
type Entries = HashMap<SecretRef, (Instant, Result<Secret, SecretError>)>;

/// A cache of resolved references, shared by every agent of a gateway. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct RefResolver {
    entries: Mutex<Entries>,
    /// Held while a refused secret is read again, so that concurrent refusals read it once.
    rereading: Mutex<()>,
    /// How long a resolved value is reused (`None`: [`RESOLVED_TTL`]).
    ttl: Option<Duration>,
}

impl RefResolver {
    /// A cache that reuses a resolved value for `ttl` (a rotated secret is seen within it).
    pub fn with_ttl(ttl: Duration) -> RefResolver {
        RefResolver {
            ttl: Some(ttl),
            ..RefResolver::default()
        }
    }

    /// `r`'s value read again after the provider refused the secret with fingerprint `refused`:
    /// one caller at a time reads the store; a caller that finds a newer value already read answers
    /// with it. Blocks like [`RefResolver::resolve`].
    #[allow(
        clippy::disallowed_methods,
        reason = "a cache lifetime on real time, not the injected clock"
    )]
    pub fn reread(
        &self,
        r: &SecretRef,
        ctx: &RefContext<'_>,
        refused: &str,
    ) -> Result<Secret, SecretError> {
        let _one = self.rereading.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = self.last(r)
            && s.fingerprint() != refused
        {
            return Ok(s);
        }
        let result = resolve_ref(r, ctx);
        self.lock()
            .insert(r.clone(), (Instant::now(), result.clone()));
        result
    }

    /// `r`'s value: from the cache while it is fresh, else resolved now (which may run a command
    /// for up to its `timeoutMs`; call it off an async executor's threads).
    #[allow(
        clippy::disallowed_methods,
        reason = "a cache lifetime on real time, not the injected clock"
    )]
    pub fn resolve(&self, r: &SecretRef, ctx: &RefContext<'_>) -> Result<Secret, SecretError> {
        if let Some(hit) = self.cached(r) {
            return hit;
        }
        let result = resolve_ref(r, ctx);
        if let Err(e) = &result {
            tracing::debug!(reference = %r, "{e}");
        }
        self.lock()
            .insert(r.clone(), (Instant::now(), result.clone()));
        result
    }

    /// The cached answer for `r`, while fresh.
    #[allow(
        clippy::disallowed_methods,
        reason = "a cache lifetime on real time, not the injected clock"
    )]
    pub fn cached(&self, r: &SecretRef) -> Option<Result<Secret, SecretError>> {
        let entries = self.lock();
        let (at, result) = entries.get(r)?;
        let ttl = match result {
            Ok(_) => self.ttl.unwrap_or(RESOLVED_TTL),
            Err(_) => FAILED_TTL.min(self.ttl.unwrap_or(FAILED_TTL)),
        };
        (at.elapsed() < ttl).then(|| result.clone())
    }

    /// The value last resolved for `r`, however old (what was handed out last).
    pub fn last(&self, r: &SecretRef) -> Option<Secret> {
        match self.lock().get(r) {
            Some((_, Ok(s))) => Some(s.clone()),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `~` and `~/…` expanded with `$HOME`; other paths as given.
fn expand_home(path: &str, env: Option<&Env>) -> PathBuf {
    let home = || {
        env.and_then(|e| e.get_plain("HOME").map(str::to_owned))
            .or_else(|| std::env::var("HOME").ok())
    };
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => match home() {
            Some(h) => PathBuf::from(format!("{h}{rest}")),
            None => PathBuf::from(path),
        },
        _ => PathBuf::from(path),
    }
}

/// The metadata of `path` when it is absolute, not a symbolic link and a regular file (OpenClaw's
/// first checks for file and exec providers); `link_hint` follows the symlink refusal.
fn regular_file(path: &std::path::Path, link_hint: &str) -> Result<std::fs::Metadata, String> {
    let shown = path.display();
    if !path.is_absolute() {
        return Err(format!("must be an absolute path: {shown}"));
    }
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| format!("is not readable: {shown} ({e})"))?;
    if meta.file_type().is_symlink() {
        return Err(format!("must not be a symlink: {shown}{link_hint}"));
    }
    if !meta.is_file() {
        return Err(format!("must be a regular file: {shown}"));
    }
    Ok(meta)
}

/// OpenClaw's checks shared by file and exec providers: none of the `forbidden` mode bits set (the
/// fix is `chmod {fix}`), and owned by this user. `Err` says why, naming `shown`.
fn check_mode_and_owner(
    meta: &std::fs::Metadata,
    shown: &std::path::Display<'_>,
    forbidden: u32,
    fix: &str,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    if meta.mode() & forbidden != 0 {
        return Err(format!(
            "permissions are too open: {shown} is {:o}; run chmod {fix} {shown}",
            meta.mode() & 0o777
        ));
    }
    if let Some(uid) = effective_uid()
        && meta.uid() != uid
    {
        return Err(format!(
            "must be owned by the current user (uid={uid}): {shown}"
        ));
    }
    Ok(())
}

/// The effective user id, read without `unsafe` (the owner of `/proc/self`); `None` off Linux.
fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}
