//! One agent's routing records on the server: an in-memory cache kept current by change notices (so a
//! resolve makes no round trip), and checked, atomic changes with a retry on conflict.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use crate::backend::{ReportError, Versioned};
use crate::resolver::SharedClock;
use crate::store::{AuthEdit, AuthProfiles, Document, RedisProblem, StoreError};

use super::cache::{Cache, Change, Raw, diff};
use super::conn::is_outage;
use super::keys::Keys;
use super::link::{Link, Pending};
use super::script::{self, Applied, Check, Op};

/// The routing caches a [`Link`] notifies: registered and found by agent id.
impl Link {
    /// Registers the routing cache of an agent for change notices.
    pub fn register(&self, agent: &str, routing: &Arc<AgentRouting>) {
        let weak: std::sync::Weak<AgentRouting> = Arc::downgrade(routing);
        self.register_any(agent, weak);
    }

    /// The routing cache of `agent`, while it is open.
    pub fn agent(&self, agent: &str) -> Option<Arc<AgentRouting>> {
        self.agent_any(agent)?.downcast().ok()
    }

    /// Every open routing cache.
    pub fn agents(&self) -> Vec<Arc<AgentRouting>> {
        self.agents_any().into_iter().filter_map(|a| a.downcast().ok()).collect()
    }
}

/// Attempts of a checked change before it gives up (each conflict means another instance's change
/// landed in between; the change is recomputed on top of it).
const ATTEMPTS: u32 = 32;

/// What committing a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Written (or kept for writing back while the server is out of reach).
    Done,
    /// Another instance changed a value first: read again and recompute.
    Conflict,
}

/// The routing records of one agent.
#[derive(Debug)]
pub struct AgentRouting {
    link: Arc<Link>,
    agent: String,
    keys: Keys,
    clock: SharedClock,
    cache: RwLock<Cache>,
}

impl AgentRouting {
    /// The routing of `agent`, starting from `local` (the records in the agent's own files, used
    /// until the server has been read) and read from the server now when it can be.
    pub fn open(
        link: Arc<Link>,
        agent: &str,
        clock: SharedClock,
        local: &AuthProfiles,
    ) -> Arc<AgentRouting> {
        let routing = Arc::new(AgentRouting {
            keys: Keys::new(&link.settings().prefix, agent),
            link: Arc::clone(&link),
            agent: agent.to_owned(),
            clock,
            cache: RwLock::new(Cache::new(raw_of(local))),
        });
        link.register(agent, &routing);
        let ids: Vec<String> = local.profiles.keys().cloned().collect();
        if let Err(e) = routing.refresh(ids) {
            tracing::debug!(agent, "shared routing not read yet: {e}");
        }
        routing
    }

    /// The agent's keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The link to the server.
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// The agent.
    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// The routing document for profiles `ids`: from memory, unless a profile's record was never
    /// read (a profile added since), which costs one bounded read.
    pub fn view<'a>(&self, ids: impl Iterator<Item = &'a str> + Clone) -> Versioned<Document> {
        {
            let cache = self.read_cache();
            let complete = !cache.loaded
                || self.link.pool.is_down()
                || ids.clone().all(|id| cache.fetched.contains(id));
            if complete {
                return cache.view.clone();
            }
        }
        let all: Vec<String> = ids.map(str::to_owned).collect();
        if let Err(e) = self.refresh(all) {
            tracing::debug!(agent = %self.agent, "shared routing read failed: {e}");
        }
        self.read_cache().view.clone()
    }

    /// Reads every record of the agent (usage of `ids`, and of every profile read before) again.
    pub fn refresh(&self, ids: Vec<String>) -> Result<(), StoreError> {
        self.refresh_as(ids, false)
    }

    /// [`AgentRouting::refresh`] even while the server is marked down (the watcher, reconnecting).
    pub fn refresh_now(&self, ids: Vec<String>) -> Result<(), StoreError> {
        self.refresh_as(ids, true)
    }

    fn refresh_as(&self, ids: Vec<String>, now: bool) -> Result<(), StoreError> {
        let mut wanted: HashSet<String> = ids.into_iter().collect();
        wanted.extend(self.read_cache().fetched.iter().cloned());
        let wanted: Vec<String> = wanted.into_iter().collect();
        let usage_keys: Vec<String> = wanted.iter().map(|id| self.keys.usage(id)).collect();
        let k = &self.keys;
        let run = |con: &mut redis::Connection| {
            script::read(con, &k.rev(), &k.order(), &k.last_good(), &usage_keys)
        };
        let read = if now {
            self.link.pool.call_now(run)?
        } else {
            self.link.pool.call(run)?
        };
        let mut raw = Raw {
            order: read.order.into_iter().collect(),
            last_good: read.last_good.into_iter().collect(),
            ..Raw::default()
        };
        for (id, value) in wanted.iter().zip(read.usage) {
            if let Some(v) = value {
                raw.usage.insert(id.clone(), v);
            }
        }
        self.write_cache().replace(read.rev, raw, wanted);
        Ok(())
    }

    /// Applies the changes another instance (or this one, `own`) announced at counter `rev`.
    pub fn announce(&self, rev: u64, changes: Vec<Change>, own: bool) {
        self.write_cache().announce(rev, changes, own);
    }

    /// True when the cache waits for missed notices (it should be read again).
    pub fn has_gap(&self) -> bool {
        self.read_cache().gap_older_than(50)
    }

    /// The raw values and the routing document as they are now (the base of a change).
    pub fn base(&self) -> (Raw, Document) {
        let cache = self.read_cache();
        (cache.raw.clone(), Document::clone(&cache.view.value))
    }

    /// Commits the routing records of `after` over `base`: checked on the server; while the server
    /// is out of reach, applied here and kept (`replay`, or the writes themselves) for writing back.
    pub fn commit(
        &self,
        base: &Raw,
        after: &Document,
        replay: Option<Pending>,
    ) -> Result<Commit, StoreError> {
        self.commit_as(base, after, replay.map_or(Mode::Keep(None), |r| Mode::Keep(Some(r))))
    }

    fn commit_as(&self, base: &Raw, after: &Document, mode: Mode) -> Result<Commit, StoreError> {
        let (ops, changes) = diff(&self.keys, base, after, self.clock.now_ms());
        if ops.is_empty() {
            return Ok(Commit::Done);
        }
        let k = &self.keys;
        let (rev_key, channel) = (k.rev(), k.channel());
        let run = |con: &mut redis::Connection| {
            script::apply(con, &rev_key, &channel, &self.agent, &self.link.origin, &ops)
        };
        let replay = match mode {
            Mode::Keep(replay) => Some(replay),
            Mode::WriteBack => None,
        };
        let result = match replay {
            Some(_) => self.link.pool.call(run),
            None => self.link.pool.call_now(run),
        };
        match result {
            Ok(Applied::Done(rev)) => {
                self.announce(rev, changes, true);
                Ok(Commit::Done)
            }
            Ok(Applied::Conflict(_)) => Ok(Commit::Conflict),
            Err(e) if is_outage(&e) && replay.is_some() => {
                self.write_cache().apply_local(&changes);
                self.link.keep(replay.flatten().unwrap_or_else(|| Pending::Ops {
                    agent: self.agent.clone(),
                    ops: unchecked(ops),
                }));
                Ok(Commit::Done)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `change` on the routing records alone (no credential changes) until it commits.
    pub fn transact<R>(
        &self,
        ids: &[&str],
        mode: Mode,
        change: &mut dyn FnMut(&mut AuthEdit) -> Result<R, ReportError>,
    ) -> Result<R, ReportError> {
        for attempt in 0..ATTEMPTS {
            let (raw, doc) = self.base();
            let mut edit = AuthEdit::new(doc);
            let value = change(&mut edit)?;
            let (after, _) = edit.finish();
            match self.commit_as(&raw, &after, mode.clone())? {
                Commit::Done => return Ok(value),
                Commit::Conflict => {
                    tracing::debug!(agent = %self.agent, attempt, "shared change conflicted; again");
                    let ids = ids.iter().map(|s| (*s).to_owned()).collect();
                    match mode {
                        Mode::WriteBack => self.refresh_now(ids)?,
                        Mode::Keep(_) => self.refresh(ids)?,
                    }
                }
            }
        }
        Err(self.link.settings().error(RedisProblem::Contended(ATTEMPTS)).into())
    }

    /// Repopulation after the server lost its data: every record this cache holds is written where
    /// the server has none (another instance's newer record wins).
    pub fn repopulate(&self) -> Result<(), StoreError> {
        let (raw, _) = self.base();
        let (ops, _) = diff(&self.keys, &Raw::default(), &raw.document(), self.clock.now_ms());
        let ops: Vec<Op> = ops
            .into_iter()
            .filter(|op| op.new.is_some())
            .map(|op| Op {
                check: Check::Absent,
                ..op
            })
            .collect();
        if ops.is_empty() {
            return Ok(());
        }
        let k = &self.keys;
        self.link.pool.call_now(|con| {
            script::apply(con, &k.rev(), &k.channel(), &self.agent, &self.link.origin, &ops)
        })?;
        Ok(())
    }

    /// Writes kept ops as they are.
    pub fn write_back(&self, ops: &[Op]) -> Result<(), StoreError> {
        let k = &self.keys;
        self.link.pool.call_now(|con| {
            script::apply(con, &k.rev(), &k.channel(), &self.agent, &self.link.origin, ops)
        })?;
        Ok(())
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// How a change treats an unreachable server.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Apply it here and keep it for writing back (the given replay, or the writes themselves).
    Keep(Option<Pending>),
    /// Writing back after an outage: the server is tried even though it is marked down, and a
    /// failure is returned (the caller keeps what is left).
    WriteBack,
}

/// The same writes without their checks (written back after an outage: last writer wins).
fn unchecked(ops: Vec<Op>) -> Vec<Op> {
    ops.into_iter()
        .map(|op| Op {
            check: Check::None,
            old: None,
            ..op
        })
        .collect()
}

/// The routing records of a local view, as raw values (the start before the server is read).
pub(super) fn raw_of(local: &AuthProfiles) -> Raw {
    let mut edit = AuthEdit::new(Document::default());
    for (p, ids) in &local.order {
        edit.set_order(p, ids);
    }
    for (p, id) in &local.last_good {
        edit.set_last_good(p, id);
    }
    for (id, stats) in &local.usage {
        edit.set_usage(id, stats);
    }
    let (doc, _) = edit.finish();
    let text = |k: &str| -> Vec<(String, String)> {
        match doc.root.get(k) {
            Some(serde_json::Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect(),
            _ => Vec::new(),
        }
    };
    let order = doc.root.get("order").and_then(|v| v.as_object());
    Raw {
        order: order
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect())
            .unwrap_or_default(),
        last_good: text("lastGood").into_iter().collect(),
        usage: text("usageStats").into_iter().collect(),
    }
}
