//! [`ProfileStore`] over OpenClaw 2026.9's databases: the agent's view merged from the shared and the
//! agent's own cells ([`super::merge`]), each change one transaction routed back to its owners.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::backend::stamped::next_version;
use crate::backend::{ProfileStore, ReportError, Versioned};
use crate::store::{AgentId, AuthEdit, AuthProfiles, Document, StoreError};

use super::db::{Cell, Db, DbView, SharedLocation, read_cell, wall_ms, write_cell};
use super::merge::{Cells, Target, Touched, merge, split};

/// Where one agent's four cells live.
#[derive(Debug, Clone, Copy)]
pub struct CellMap {
    shared_store: Option<Cell>,
    shared_state: Option<Cell>,
    local_store: Cell,
    local_state: Cell,
}

impl CellMap {
    /// The cells of agent `is_main` (the main agent) under `location`.
    pub fn new(location: SharedLocation, is_main: bool) -> CellMap {
        let (shared_store, shared_state) = match (location, is_main) {
            (SharedLocation::StateDb, _) => (
                Some(Cell::machine("authProfiles.store")),
                Some(Cell::machine("authProfiles.state")),
            ),
            (SharedLocation::LegacyMain, true) => (None, None),
            (SharedLocation::LegacyMain, false) => (Some(Cell::agent("shared", true)), Some(Cell::agent("shared", false))),
        };
        CellMap {
            shared_store,
            shared_state,
            local_store: Cell::agent("agent", true),
            local_state: Cell::agent("agent", false),
        }
    }
}

/// One agent's credentials and routing state in OpenClaw's databases.
#[derive(Debug)]
pub struct SqliteProfiles {
    db: Arc<Mutex<Db>>,
    agent: AgentId,
    cells: CellMap,
    target: Target,
    cache: Mutex<Option<Snapshot>>,
}

/// The databases' `data_version`s a snapshot was read at.
type DataVersion = (i64, i64, i64);

/// The last snapshot: the `data_version`s and commit counters it was read at, and the view.
struct Snapshot {
    version: DataVersion,
    commits: Option<Vec<u8>>,
    value: Versioned<AuthProfiles>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshot({:?})", self.version)
    }
}

/// A [`Cells`] whose secrets are wiped when it is dropped.
struct Held(Cells);

impl Drop for Held {
    fn drop(&mut self) {
        let c = &mut self.0;
        for map in [c.shared_store.as_mut(), c.shared_state.as_mut(), Some(&mut c.local_store), Some(&mut c.local_state)]
            .into_iter()
            .flatten()
        {
            drop(Document { root: std::mem::take(map) });
        }
    }
}

impl SqliteProfiles {
    /// The store of `agent` over `db`; `is_main` for the main agent (its new credentials are shared).
    pub fn new(db: Arc<Mutex<Db>>, agent: AgentId, location: SharedLocation, is_main: bool) -> SqliteProfiles {
        SqliteProfiles {
            db,
            agent,
            cells: CellMap::new(location, is_main),
            target: if is_main { Target::Shared } else { Target::Local },
            cache: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last snapshot when no commit happened since it was read, from the commit counters alone:
    /// no statement runs, so no busy timeout is set and reset (this is every resolve's path). `None`
    /// (a changed counter, a busy connection, nothing read yet): take the full path.
    fn unchanged(&self) -> Option<Versioned<AuthProfiles>> {
        let mut db = self.db.try_lock().ok()?;
        db.attach_new().ok()?;
        let commits = db.commit_token()?;
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .as_ref()
            .filter(|c| c.commits.as_ref() == Some(&commits))
            .map(|c| c.value.clone())
    }
}

/// Reads one cell as a JSON object (an empty one when the row or its database is absent).
fn load(conn: &Connection, db: &DbView, cell: &Cell) -> Result<Option<Map<String, Value>>, StoreError> {
    if !db.has(cell.schema()) {
        return Ok(None);
    }
    let path = db.path_of(cell.schema());
    let Some(mut text) = read_cell(conn, path, cell)? else {
        return Ok(None);
    };
    let name = PathBuf::from(format!("{} {}", path.display(), cell.label()));
    let parsed = Document::parse_json(&name, &text);
    zeroize::Zeroize::zeroize(&mut text);
    let mut doc = parsed?;
    crate::store::auth_edit::check_top_level(&doc, &name)?;
    Ok(Some(std::mem::take(&mut doc.root)))
}

fn load_cells(conn: &Connection, db: &DbView, map: &CellMap) -> Result<Held, StoreError> {
    let shared = |cell: Option<Cell>| -> Result<Option<Map<String, Value>>, StoreError> {
        match cell {
            Some(c) => Ok(Some(load(conn, db, &c)?.unwrap_or_default())),
            None => Ok(None),
        }
    };
    Ok(Held(Cells {
        shared_store: shared(map.shared_store)?,
        shared_state: shared(map.shared_state)?,
        local_store: load(conn, db, &map.local_store)?.unwrap_or_default(),
        local_state: load(conn, db, &map.local_state)?.unwrap_or_default(),
    }))
}

fn text_of(map: &Map<String, Value>) -> String {
    let mut map = map.clone();
    if !map.contains_key("version") {
        map.insert("version".into(), Value::from(1));
    }
    let text = serde_json::to_string(&map).unwrap_or_default();
    drop(Document { root: map });
    text
}

/// One cell to write: its value as read (to check nobody changed it meanwhile) and as it should be.
struct Planned {
    cell: Cell,
    before: Option<Map<String, Value>>,
    after: Map<String, Value>,
}

impl Drop for Planned {
    fn drop(&mut self) {
        drop(Document { root: std::mem::take(&mut self.after) });
        if let Some(b) = self.before.as_mut() {
            drop(Document { root: std::mem::take(b) });
        }
    }
}

/// The touched cells as writes, in a fixed order; a local change without the agent's database is
/// refused.
fn plan(db: &DbView, agent: &AgentId, map: &CellMap, loaded: &Cells, cells: &Cells, t: Touched) -> Result<Vec<Planned>, StoreError> {
    if (t.local_store || t.local_state) && !db.has("agent") {
        return Err(StoreError::AgentDatabaseMissing { agent: agent.to_string(), path: db.agent_db().to_owned() });
    }
    let mut out = Vec::new();
    let mut add = |cell: Option<Cell>, before: Option<&Map<String, Value>>, after: Option<&Map<String, Value>>, touched: bool| {
        if let (true, Some(cell), Some(after)) = (touched, cell, after) {
            out.push(Planned { cell, before: before.cloned(), after: after.clone() });
        }
    };
    add(map.shared_store, loaded.shared_store.as_ref(), cells.shared_store.as_ref(), t.shared_store);
    add(map.shared_state, loaded.shared_state.as_ref(), cells.shared_state.as_ref(), t.shared_state);
    add(Some(map.local_store), Some(&loaded.local_store), Some(&cells.local_store), t.local_store);
    add(Some(map.local_state), Some(&loaded.local_state), Some(&cells.local_state), t.local_state);
    Ok(out)
}

/// Writes `writes` (cells of one database); with `check`, first verifies that each still holds what
/// was read (`Ok(false)`: another writer changed it, nothing written).
fn write_planned(conn: &Connection, db: &DbView, writes: &[Planned], check: bool) -> Result<bool, StoreError> {
    if check {
        for w in writes {
            let now = load(conn, db, &w.cell)?;
            if now.as_ref().unwrap_or(&Map::new()) != w.before.as_ref().unwrap_or(&Map::new()) {
                return Ok(false);
            }
        }
    }
    let now = wall_ms();
    for w in writes {
        let mut text = text_of(&w.after);
        let r = write_cell(conn, db.path_of(w.cell.schema()), &w.cell, &text, now);
        zeroize::Zeroize::zeroize(&mut text);
        r?;
    }
    Ok(true)
}

/// How often an edit starts over when another writer changed a cell between its read and its write.
const SPLIT_RETRIES: usize = 8;

impl SqliteProfiles {
    /// [`ProfileStore::snapshot`] on the connection in hand.
    fn snapshot_in(&self, db: &mut Db) -> Result<Versioned<AuthProfiles>, StoreError> {
        db.attach_new()?;
        // No commit since the last snapshot: answered without a lock (taken before the check below,
        // so a commit racing with it is seen by the next call).
        let commits = db.commit_token();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.as_ref()
            && commits.is_some()
            && c.commits == commits
        {
            return Ok(c.value.clone());
        }
        let token = db.data_version()?;
        if let Some(c) = cache.as_mut()
            && c.version == token
        {
            c.commits = commits;
            return Ok(c.value.clone());
        }
        let map = self.cells;
        let fresh = db.read(|conn, view| {
            let held = load_cells(conn, view, &map)?;
            let doc = Document { root: merge(&held.0) };
            Ok::<_, StoreError>(Versioned { version: next_version(), value: Arc::new(AuthProfiles::from_document(&doc)) })
        })?;
        *cache = Some(Snapshot { version: token, commits, value: fresh.clone() });
        Ok(fresh)
    }
}

impl ProfileStore for SqliteProfiles {
    fn location(&self) -> String {
        let db = self.lock();
        let db = db.view();
        if self.cells.shared_store.is_some_and(|c| c.schema() == "main") {
            format!("{} (shared) and {}", db.state_db().display(), db.agent_db().display())
        } else {
            db.agent_db().display().to_string()
        }
    }

    /// The merged view, re-read when another connection committed. Inside
    /// [`super::nowait::without_waiting`], while the database is locked (or the connection is busy
    /// with another request), the last snapshot is answered: it is what was last committed.
    fn snapshot(&self) -> Result<Versioned<AuthProfiles>, StoreError> {
        if let Some(last) = self.unchanged() {
            return Ok(last);
        }
        let fresh = super::nowait::with_db(&self.db, |db| self.snapshot_in(db));
        match fresh {
            Err(e) if super::nowait::no_wait() && super::nowait::is_busy(&e) => {
                let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                cache.as_ref().map(|c| c.value.clone()).ok_or(e)
            }
            other => other,
        }
    }

    /// Each commit touches one database file: the change is computed from a snapshot of every
    /// cell, then each database's cells are written in a transaction of their own that first checks
    /// they still hold what was read; when another writer came between, the change starts over from
    /// the new state (at most [`SPLIT_RETRIES`] times). A commit over two rollback-journal databases
    /// would go through a super-journal, which OpenClaw's read-only start-up snapshot refuses
    /// (docs/DECISIONS.md).
    fn edit(
        &self,
        change: &mut dyn FnMut(&mut AuthEdit) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        let mut db = self.lock();
        let map = self.cells;
        let target = self.target;
        let agent = &self.agent;
        let mut attempt = 0;
        loop {
            let mut writes = db.read(|conn, view| {
                let mut held = load_cells(conn, view, &map)?;
                let loaded = Held(held.0.clone());
                let before = Document { root: merge(&held.0) };
                let mut edit = AuthEdit::new(before.clone());
                change(&mut edit)?;
                let (after, changed) = edit.finish();
                if !changed {
                    return Ok(Vec::new());
                }
                let touched = split(&mut held.0, &before.root, &after.root, target);
                Ok::<_, ReportError>(plan(view, agent, &map, &loaded.0, &held.0, touched)?)
            })?;
            let mut done = true;
            while !writes.is_empty() {
                let schema = writes[0].cell.schema();
                let rest = writes.split_off(writes.iter().take_while(|w| w.cell.schema() == schema).count());
                if !db.write_on(schema, |conn, view| write_planned(conn, view, &writes, true))? {
                    done = false;
                    break;
                }
                writes = rest;
            }
            if done {
                break;
            }
            attempt += 1;
            if attempt > SPLIT_RETRIES {
                return Err(ReportError::Store(StoreError::Conflict {
                    path: db.view().state_db().to_owned(),
                    what: "other writers kept changing the credentials while this change was being written; run the command again".into(),
                }));
            }
        }
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }
}
