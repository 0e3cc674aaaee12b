//! Credentials from the agent's own store, routing records (orders, lastGood, usage and cooldowns)
//! from the shared server: the [`ProfileStore`] of a gateway instance with `--redis`.

use std::sync::{Arc, RwLock};

use crate::backend::{ProfileStore, Recording, ReportError, Versioned, record_usage};
use crate::resolver::quota::Observed;
use crate::resolver::outcome::Applied;
use crate::store::{AuthEdit, AuthProfiles, ROUTING_FIELDS, StoreError};

use super::link::Pending;
use super::routing::{AgentRouting, Commit, Mode};

/// Attempts of an edit whose routing part conflicted with another instance's change.
const ATTEMPTS: u32 = 32;

/// A credential store whose routing records live on the shared server. Secrets never leave `local`.
#[derive(Debug)]
pub struct RedisProfiles {
    local: Arc<dyn ProfileStore>,
    routing: Arc<AgentRouting>,
    /// The last combined view, by (local version, routing version).
    combined: RwLock<Option<(u64, u64, Versioned<AuthProfiles>)>>,
}

impl RedisProfiles {
    /// Credentials from `local`, routing records from `routing`.
    pub fn new(local: Arc<dyn ProfileStore>, routing: Arc<AgentRouting>) -> RedisProfiles {
        RedisProfiles {
            local,
            routing,
            combined: RwLock::new(None),
        }
    }
}

impl ProfileStore for RedisProfiles {
    fn location(&self) -> String {
        self.local.location()
    }

    fn snapshot(&self) -> Result<Versioned<AuthProfiles>, StoreError> {
        let local = self.local.snapshot()?;
        let routing = self
            .routing
            .view(local.value.profiles.keys().map(String::as_str));
        if let Some((l, r, view)) = &*self.combined.read().unwrap_or_else(|e| e.into_inner())
            && *l == local.version
            && *r == routing.version
        {
            return Ok(view.clone());
        }
        let view = Versioned {
            version: crate::backend::stamped::next_version(),
            value: Arc::new(local.value.with_routing(&routing.value)),
        };
        *self.combined.write().unwrap_or_else(|e| e.into_inner()) =
            Some((local.version, routing.version, view.clone()));
        Ok(view)
    }

    /// The change runs over the local credentials and the shared routing records; the credential
    /// part is written locally, the routing part checked and written on the server (recomputed when
    /// another instance changed a record in between).
    fn edit(
        &self,
        change: &mut dyn FnMut(&mut AuthEdit) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        for _ in 0..ATTEMPTS {
            let (raw, shared) = self.routing.base();
            let mut conflict = false;
            let result = self.local.edit(&mut |e| {
                let before = e.document().root.clone();
                let fields = ROUTING_FIELDS.map(|k| shared.root.get(k).cloned());
                let own = e.swap_routing(fields);
                change(e)?;
                let after_fields = e.swap_routing(own);
                let credentials_changed = e.document().root != before;
                e.set_changed(credentials_changed);
                let mut after = shared.clone();
                for (k, v) in ROUTING_FIELDS.iter().zip(after_fields) {
                    match v {
                        Some(v) => after.root.insert((*k).to_owned(), v),
                        None => after.root.shift_remove(*k),
                    };
                }
                match self.routing.commit(&raw, &after, None)? {
                    Commit::Done => Ok(()),
                    Commit::Conflict => {
                        conflict = true;
                        Err(ReportError::Store(StoreError::Conflict {
                            path: self.local.location().into(),
                            what: "a shared routing record changed meanwhile".into(),
                        }))
                    }
                }
            });
            if !conflict {
                return result;
            }
            let ids: Vec<String> = self.local.snapshot()?.value.profiles.keys().cloned().collect();
            self.routing.refresh(ids)?;
        }
        Err(ReportError::Store(StoreError::Conflict {
            path: self.local.location().into(),
            what: format!("shared routing records kept changing ({ATTEMPTS} attempts)"),
        }))
    }

    /// One checked step on the server: concurrent reports from several instances give exactly the
    /// schedule of one gateway (a failure inside an active window changes nothing). No local lock is
    /// taken: nothing local changes.
    fn record_answer(
        &self,
        profile: &str,
        model: Option<&str>,
        recording: &Recording,
        now_ms: i64,
    ) -> Result<(Applied, Observed), ReportError> {
        let local = self.local.snapshot()?;
        let Some(p) = local.value.profiles.get(profile) else {
            return Err(ReportError::UnknownProfile {
                id: profile.to_owned(),
                path: self.local.location(),
            });
        };
        let provider = p.provider.clone();
        let replay = Pending::Outcome {
            agent: self.routing.agent().to_owned(),
            profile: profile.to_owned(),
            provider: provider.clone(),
            model: model.map(str::to_owned),
            recording: recording.clone(),
            now_ms,
        };
        let applied = self.routing.transact(&[profile], Mode::Keep(Some(replay)), &mut |edit| {
            let view = edit.view();
            Ok(record_usage(edit, &view, &provider, profile, model, recording, now_ms))
        })?;
        tracing::debug!(profile, applied = ?applied.0, "outcome reported (shared)");
        Ok(applied)
    }
}

/// Replays an outcome kept during an outage (the same atomic step as [`RedisProfiles::record`]).
pub fn replay(routing: &AgentRouting, change: &Pending) -> Result<(), ReportError> {
    if let Pending::Outcome {
        profile,
        provider,
        model,
        recording,
        now_ms,
        ..
    } = change
    {
        // From the server's record: this cache already holds the outcome, applied locally.
        routing.refresh_now(vec![profile.clone()])?;
        routing.transact(&[profile.as_str()], Mode::WriteBack, &mut |edit| {
            let view = edit.view();
            record_usage(edit, &view, provider, profile, model.as_deref(), recording, *now_ms);
            Ok(())
        })?;
    }
    Ok(())
}
