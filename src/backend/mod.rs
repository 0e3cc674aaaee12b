//! The state seam: what the gateway needs from wherever the state lives, as traits, with one
//! implementation over OpenClaw's JSON files ([`json`]) and one in memory ([`memory`], for tests and
//! `chat --demo`). The resolver and interpreter never touch these; the [`crate::Agent`] reads snapshots
//! through them and commits changes through them.
//!
//! - [`ProfileStore`]: credentials with their routing records (order overrides, `lastGood`, usage and
//!   cooldowns): a versioned snapshot, and atomic changes (`put`, `remove`, `set_order`, `record`).
//! - [`SessionStore`]: the persisted session entries behind the in-memory registry.
//! - [`ConfigStore`]: the config, `openclaw.json`.
//! - [`StateLock`]: a named cross-process lock with a lease and a deadline (e.g. one token refresh at a
//!   time).
//!
//! A store whose document holds everything in one place (the JSON file, memory, a SQLite row) only
//! implements [`ProfileStore::snapshot`] and [`ProfileStore::edit`]; the verbs have default bodies over
//! `edit`, which a store with its own atomic primitives (Redis) overrides.

pub mod json;
pub mod memory;
pub mod redis;
pub mod sqlite;
pub mod stamped;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, ConfigWrite};
use crate::resolver::headers::Parsed;
use crate::resolver::outcome::{Applied, Outcome, apply};
use crate::resolver::quota::{Observed, Report, apply_answer};
use crate::store::{
    AuthEdit, AuthProfiles, Document, Lane, NewCredential, ProviderId, SessionRecord, StoreError,
    Tokens,
};

/// What to record for one call: its outcome and, when the gateway passed it, what the provider's
/// answer said (issue 29).
#[derive(Debug, Clone)]
pub struct Recording {
    /// Success, or the failure's reason.
    pub outcome: Outcome,
    /// The answer's windows and usage.
    pub answer: Option<Box<AnswerRecord>>,
    /// The fingerprint of the referenced secret the call used, kept with an auth-class disable.
    pub secret_fp: Option<String>,
}

impl From<Outcome> for Recording {
    fn from(outcome: Outcome) -> Self {
        Recording {
            outcome,
            answer: None,
            secret_fp: None,
        }
    }
}

/// The quota side of a [`Recording`].
#[derive(Debug, Clone)]
pub struct AnswerRecord {
    /// The answer's headers, read.
    pub parsed: Parsed,
    /// The answer's usage block.
    pub usage: Option<Tokens>,
    /// The profile's lane.
    pub lane: Lane,
    /// The longest cool-down a provider's reset may ask for, ms.
    pub max_reset_ms: i64,
}

/// A value with the version it was read at. Versions grow with every change a store sees, so a
/// caller may cache what it derives from a value by version (never by address).
#[derive(Debug)]
pub struct Versioned<T> {
    /// Grows when the value changes.
    pub version: u64,
    /// The value.
    pub value: Arc<T>,
}

impl<T> Clone for Versioned<T> {
    fn clone(&self) -> Self {
        Versioned {
            version: self.version,
            value: Arc::clone(&self.value),
        }
    }
}

/// Why an outcome could not be recorded, or a checked change could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The profile is not in the store.
    #[error(
        "Auth profile \"{id}\" not found in {path}; list profiles with modelauth models auth list."
    )]
    UnknownProfile {
        /// The id.
        id: String,
        /// The store.
        path: String,
    },
    /// A profile was named for a provider it does not belong to.
    #[error("Auth profile \"{id}\" is for {provider}, not {expected}; nothing was changed")]
    WrongProvider {
        /// The profile.
        id: String,
        /// Its provider.
        provider: String,
        /// The provider it was named for.
        expected: String,
    },
}

/// Credentials and their routing records for one agent.
pub trait ProfileStore: Send + Sync + Debug {
    /// Where the store lives, for messages (a path, or `memory`).
    fn location(&self) -> String;

    /// The current snapshot; cheap when nothing changed since the last call. When the stored state
    /// changed and cannot be read, the error is returned (callers keep their last good snapshot).
    fn snapshot(&self) -> Result<Versioned<AuthProfiles>, StoreError>;

    /// Atomically: reads the current document, lets `change` edit it, writes it when it changed. An
    /// error from `change` writes nothing. Other writers (processes, hosts) never lose an update.
    fn edit(
        &self,
        change: &mut dyn FnMut(&mut AuthEdit) -> Result<(), ReportError>,
    ) -> Result<(), ReportError>;

    /// Stores (or replaces the secret of) profile `id`.
    fn put(&self, id: &str, cred: &NewCredential) -> Result<(), StoreError> {
        self.edit(&mut |e| {
            e.put_profile(id, cred);
            Ok(())
        })
        .map_err(store_only)
    }

    /// Removes profile `id` with its usage, order entries and `lastGood` mentions; false when absent.
    fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let mut existed = false;
        self.edit(&mut |e| {
            existed = e.remove_profile(id);
            Ok(())
        })
        .map_err(store_only)?;
        Ok(existed)
    }

    /// Sets (`Some`) or clears (`None`) the order override of `provider`; returns whether one existed
    /// before (for a clear) or true (for a set).
    fn set_order(&self, provider: &ProviderId, ids: Option<&[String]>) -> Result<bool, StoreError> {
        let mut changed = false;
        self.edit(&mut |e| {
            changed = match ids {
                Some(ids) => {
                    e.set_order(provider, ids);
                    true
                }
                None => e.clear_order(provider),
            };
            Ok(())
        })
        .map_err(store_only)?;
        Ok(changed)
    }

    /// Records `outcome` for `profile` (used with `model`) at `now_ms`, atomically: a failure inside
    /// an active window of the same scope changes nothing; success sets `lastGood`.
    fn record(
        &self,
        profile: &str,
        model: Option<&str>,
        outcome: Outcome,
        now_ms: i64,
    ) -> Result<Applied, ReportError> {
        Ok(self.record_answer(profile, model, &outcome.into(), now_ms)?.0)
    }

    /// [`ProfileStore::record`] with what the provider's answer said: its quota windows and usage
    /// are kept in the profile's usage record, and a rate limit whose window is exhausted cools the
    /// profile until the provider's reset.
    fn record_answer(
        &self,
        profile: &str,
        model: Option<&str>,
        recording: &Recording,
        now_ms: i64,
    ) -> Result<(Applied, Observed), ReportError> {
        let mut result = (Applied::Succeeded, Observed::default());
        let location = self.location();
        self.edit(&mut |edit| {
            result = record_in(edit, &location, profile, model, recording, now_ms)?;
            Ok(())
        })?;
        tracing::debug!(profile, applied = ?result.0, "outcome reported");
        Ok(result)
    }
}

/// [`ProfileStore::record_answer`] on an open document.
pub fn record_in(
    edit: &mut AuthEdit,
    location: &str,
    profile: &str,
    model: Option<&str>,
    recording: &Recording,
    now_ms: i64,
) -> Result<(Applied, Observed), ReportError> {
    let view = edit.view();
    let Some(p) = view.profiles.get(profile) else {
        return Err(ReportError::UnknownProfile {
            id: profile.to_owned(),
            path: location.to_owned(),
        });
    };
    Ok(record_usage(edit, &view, &p.provider, profile, model, recording, now_ms))
}

/// The routing part of [`record_in`] for a profile of `provider` known to exist: `view` is
/// `edit`'s view (its usage is read there).
pub fn record_usage(
    edit: &mut AuthEdit,
    view: &AuthProfiles,
    provider: &ProviderId,
    profile: &str,
    model: Option<&str>,
    recording: &Recording,
    now_ms: i64,
) -> (Applied, Observed) {
    let mut stats = view.usage_of(profile);
    let (applied, observed) = match &recording.answer {
        None => (apply(&mut stats, recording.outcome, model, now_ms), Observed::default()),
        Some(a) => {
            let report = Report {
                outcome: recording.outcome,
                model,
                now: now_ms,
                parsed: a.parsed.clone(),
                usage: a.usage,
                lane: a.lane,
            };
            apply_answer(&mut stats, report, a.max_reset_ms)
        }
    };
    if recording.secret_fp.is_some() && stats.refused_until(now_ms).is_some() {
        stats.secret_fp.clone_from(&recording.secret_fp);
    }
    // An answer always changes the record (its ledger counts the call), even inside a window.
    if !matches!(applied, Applied::InsideActiveWindow(_)) || recording.answer.is_some() {
        edit.set_usage(profile, &stats);
    }
    if applied == Applied::Succeeded {
        edit.set_last_good(provider, profile);
    }
    (applied, observed)
}

/// A [`ReportError`] from an edit that can only fail in the store.
fn store_only(e: ReportError) -> StoreError {
    match e {
        ReportError::Store(e) => e,
        ReportError::UnknownProfile { id, path } => StoreError::Conflict {
            path: path.into(),
            what: format!("profile {id:?} vanished during the change"),
        },
        other @ ReportError::WrongProvider { .. } => StoreError::Conflict {
            path: "store".into(),
            what: other.to_string(),
        },
    }
}

/// The persisted sessions of one agent, behind the in-memory [`crate::session::Registry`].
pub trait SessionStore: Send + Sync + Debug {
    /// Where the sessions live, for messages.
    fn location(&self) -> String;

    /// The stored entry of session `key`.
    fn load_one(&self, key: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Every stored entry when `key` may be among them (`None` when `key` is certainly absent, which a
    /// store should answer cheaply: every new chat asks).
    fn load_all_unless_absent(
        &self,
        key: &str,
    ) -> Result<Option<Vec<(String, SessionRecord)>>, StoreError>;

    /// Every stored entry (`state import|export`).
    fn load_all(&self) -> Result<Vec<(String, SessionRecord)>, StoreError>;

    /// Writes the owned fields of `records` (one atomic change; other sessions and fields kept).
    fn store(&self, records: &[(&str, &SessionRecord)]) -> Result<(), StoreError>;

    /// True when every change should be stored at once rather than batched (a store other
    /// instances read: a pin must be there for the next message, whichever instance gets it).
    fn write_through(&self) -> bool {
        false
    }

    /// Asks to hear about sessions changed by other instances (stores only this process writes
    /// ignore it).
    fn watch(&self, _watch: std::sync::Weak<dyn SessionWatch>) {}
}

/// Hears that a session was changed by another gateway instance (a shared backend tells the
/// registry, which drops its copy so the next message reads the new one).
pub trait SessionWatch: Send + Sync {
    /// Session `key` was changed elsewhere.
    fn changed_elsewhere(&self, key: &str);

    /// The sessions held in memory, as records (to repopulate a shared server that lost its data).
    fn held(&self) -> Vec<(String, SessionRecord)>;
}

/// `openclaw.json`, or an in-memory config.
pub trait ConfigStore: Send + Sync + Debug {
    /// Where the config lives, for messages.
    fn location(&self) -> String;

    /// The current config (re-read when it changed).
    fn current(&self) -> Result<Versioned<Config>, StoreError>;

    /// Atomically edits the raw document; `change` returns whether it changed anything.
    fn update(
        &self,
        change: &mut dyn FnMut(&mut Document) -> bool,
    ) -> Result<ConfigWrite, StoreError>;
}

/// A held [`StateLock`]; released when dropped.
pub trait LockGuard: Send + Debug {}

/// Named locks that exclude other processes (and, for shared backends, other hosts).
pub trait StateLock: Send + Sync + Debug {
    /// Takes lock `name`, waiting at most `deadline`. A holder that dies loses the lock after `lease`.
    fn acquire(
        &self,
        name: &str,
        lease: Duration,
        deadline: Duration,
    ) -> Result<Box<dyn LockGuard>, StoreError>;
}
