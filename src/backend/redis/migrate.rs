//! `modelauth state import|export`: moving an agent's routing records and session pins between its
//! files and the shared server, idempotently, with a dry run. Credentials never move.

use std::sync::Arc;

use serde::Serialize;

use crate::backend::{ProfileStore, ReportError, SessionStore};
use crate::store::{AuthProfiles, SessionRecord, StoreError};

use super::cache::{Raw, diff};
use super::routing::{AgentRouting, raw_of};
use super::script::{self, Check, Op};
use super::sessions::{RedisSessions, absent_op};

/// The stores a migration moves between.
#[derive(Debug, Clone)]
pub struct MigrationParts {
    /// The shared routing records.
    pub routing: Arc<AgentRouting>,
    /// The shared sessions.
    pub shared_sessions: Arc<RedisSessions>,
    /// The agent's own credential store (its routing records).
    pub local_profiles: Arc<dyn ProfileStore>,
    /// The agent's own sessions.
    pub local_sessions: Option<Arc<dyn SessionStore>>,
}

/// What a migration moved (or, in a dry run, would move).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    /// `import` (files → shared) or `export` (shared → files).
    pub direction: &'static str,
    /// Nothing was written.
    pub dry_run: bool,
    /// Order overrides moved.
    pub orders: usize,
    /// lastGood entries moved.
    pub last_good: usize,
    /// Usage records moved.
    pub usage: usize,
    /// Sessions moved.
    pub sessions: usize,
    /// Records the destination already had, left as they are (`import` without `--overwrite`).
    pub kept: usize,
}

impl Migration {
    fn count(&mut self, op: &Op, routing: &AgentRouting) {
        match routing.keys().kind(&op.key) {
            Some(super::keys::Kind::Order) => self.orders += 1,
            Some(super::keys::Kind::LastGood) => self.last_good += 1,
            Some(super::keys::Kind::Usage(_)) => self.usage += 1,
            Some(super::keys::Kind::Session(_)) => self.sessions += 1,
            None => {}
        }
    }
}

/// Files → shared server. Records the server already has are kept unless `overwrite`; running it
/// again moves nothing new.
pub fn import(parts: &MigrationParts, overwrite: bool, dry_run: bool, now_ms: i64) -> Result<Migration, StoreError> {
    let routing = &parts.routing;
    let local = parts.local_profiles.snapshot()?;
    let (mut ops, _) = diff(routing.keys(), &Raw::default(), &raw_of(&local.value).document(), now_ms);
    ops.retain(|op| op.new.is_some());
    let sessions = match &parts.local_sessions {
        Some(s) => s.load_all()?,
        None => Vec::new(),
    };
    ops.extend(sessions.iter().map(|(key, r)| absent_op(routing.keys(), key, r)));
    let present = exists(routing, &ops)?;
    let mut report = Migration {
        direction: "import",
        dry_run,
        ..Migration::default()
    };
    let mut writes = Vec::new();
    for (mut op, there) in ops.into_iter().zip(present) {
        if there && !overwrite {
            report.kept += 1;
            continue;
        }
        report.count(&op, routing);
        op.check = if overwrite { Check::None } else { Check::Absent };
        op.old = None;
        writes.push(op);
    }
    if !dry_run && !writes.is_empty() {
        let k = routing.keys();
        let origin = routing.link().origin.clone();
        routing.link().pool.call(|con| {
            script::apply(con, &k.rev(), &k.channel(), routing.agent(), &origin, &writes)
        })?;
        routing.refresh(local.value.profiles.keys().cloned().collect())?;
    }
    Ok(report)
}

/// Shared server → files: the agent's files get the shared orders, lastGood, usage and sessions.
pub fn export(parts: &MigrationParts, dry_run: bool) -> Result<Migration, ReportError> {
    let routing = &parts.routing;
    let ids: Vec<String> = parts.local_profiles.snapshot()?.value.profiles.keys().cloned().collect();
    routing.refresh(ids)?;
    let (_, doc) = routing.base();
    let shared = AuthProfiles::from_document(&doc);
    let sessions = parts.shared_sessions.load_all()?;
    let report = Migration {
        direction: "export",
        dry_run,
        orders: shared.order.len(),
        last_good: shared.last_good.len(),
        usage: shared.usage.len(),
        sessions: sessions.len(),
        kept: 0,
    };
    if dry_run {
        return Ok(report);
    }
    parts.local_profiles.edit(&mut |e| {
        for (p, ids) in &shared.order {
            e.set_order(p, ids);
        }
        for (p, id) in &shared.last_good {
            e.set_last_good(p, id);
        }
        for (id, stats) in &shared.usage {
            e.set_usage(id, stats);
        }
        Ok(())
    })?;
    if let Some(local) = &parts.local_sessions {
        let batch: Vec<(&str, &SessionRecord)> = sessions.iter().map(|(k, r)| (k.as_str(), r)).collect();
        local.store(&batch)?;
    }
    Ok(report)
}

/// Whether each op's key (or hash field) exists on the server, in one pipeline.
fn exists(routing: &AgentRouting, ops: &[Op]) -> Result<Vec<bool>, StoreError> {
    if ops.is_empty() {
        return Ok(Vec::new());
    }
    routing.link().pool.call(|con| {
        let mut pipe = redis::pipe();
        for op in ops {
            match &op.field {
                Some(f) => pipe.cmd("HEXISTS").arg(&op.key).arg(f),
                None => pipe.cmd("EXISTS").arg(&op.key),
            };
        }
        pipe.query::<Vec<bool>>(con)
    })
}
