//! [`SessionStore`] over the `session_nodes` table of an agent's database: the owned fields of each
//! row's `entry_json` (the old `sessions.json` entry), every other field and column kept.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use crate::backend::SessionStore;
use crate::store::{AgentId, Document, SessionRecord, StoreError};

use super::db::{Db, DbView, wall_ms};

/// One agent's sessions in its database.
#[derive(Debug)]
pub struct SqliteSessions {
    db: Arc<Mutex<Db>>,
    agent: AgentId,
}

/// A SQLite error of the agent's database.
fn err<'a>(view: &'a DbView, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    super::db::sqlite_err(view.agent_db(), action)
}

/// Parses one row's `entry_json`.
fn entry(view: &DbView, key: &str, text: &str) -> Result<Map<String, Value>, StoreError> {
    let name = PathBuf::from(format!("{} session_nodes[{key}]", view.agent_db().display()));
    let mut doc = Document::parse_json(&name, text)?;
    Ok(std::mem::take(&mut doc.root))
}

/// The columns of `session_nodes` modelauth reads and writes must exist.
fn check(conn: &Connection, view: &DbView) -> Result<(), StoreError> {
    let columns = ["session_key", "current_session_id", "entry_json", "updated_at", "entry_valid"];
    super::db::require_columns(conn, view.agent_db(), "agent", "session_nodes", &columns)
}

impl SqliteSessions {
    /// The sessions of `agent` over `db`.
    pub fn new(db: Arc<Mutex<Db>>, agent: AgentId) -> SqliteSessions {
        SqliteSessions { db, agent }
    }

    /// Reads `f` (never waiting inside [`super::nowait::without_waiting`]: a busy error instead).
    fn read<T>(&self, f: impl FnOnce(&Connection, &DbView) -> Result<T, StoreError>) -> Result<Option<T>, StoreError> {
        super::nowait::with_db(&self.db, |db| {
            db.attach_new()?;
            if !db.view().has("agent") {
                return Ok(None);
            }
            db.read(|conn, view| {
                check(conn, view)?;
                f(conn, view)
            })
            .map(Some)
        })
    }
}

/// Every session row of the agent's database.
fn all_rows(
    conn: &Connection,
    view: &DbView,
) -> Result<Vec<(String, SessionRecord)>, StoreError> {
    let rows: Vec<(String, String)> = conn
        .prepare_cached("SELECT session_key, entry_json FROM agent.session_nodes")
        .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(err(view, "read"))?;
    let mut out = Vec::with_capacity(rows.len());
    for (k, text) in rows {
        let record = SessionRecord::from_entry(&entry(view, &k, &text)?);
        out.push((k, record));
    }
    Ok(out)
}

impl SessionStore for SqliteSessions {
    fn location(&self) -> String {
        let db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        format!("{} (session_nodes)", db.view().agent_db().display())
    }

    fn load_one(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        let found = self.read(|conn, view| {
            let text: Option<String> = conn
                .prepare_cached("SELECT entry_json FROM agent.session_nodes WHERE session_key = ?1")
                .and_then(|mut st| st.query_row(params![key], |r| r.get(0)).optional())
                .map_err(err(view, "read"))?;
            text.map(|t| entry(view, key, &t).map(|e| SessionRecord::from_entry(&e))).transpose()
        })?;
        Ok(found.flatten())
    }

    fn load_all_unless_absent(&self, key: &str) -> Result<Option<Vec<(String, SessionRecord)>>, StoreError> {
        let found = self.read(|conn, view| {
            let present = conn
                .prepare_cached("SELECT 1 FROM agent.session_nodes WHERE session_key = ?1")
                .and_then(|mut st| st.exists(params![key]))
                .map_err(err(view, "read"))?;
            if !present {
                return Ok(None);
            }
            all_rows(conn, view).map(Some)
        })?;
        Ok(found.flatten())
    }

    fn load_all(&self) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        Ok(self.read(all_rows)?.unwrap_or_default())
    }

    fn store(&self, records: &[(&str, &SessionRecord)]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        super::nowait::with_db(&self.db, |db| {
            db.attach_new()?;
            if !db.view().has("agent") {
                return Err(StoreError::AgentDatabaseMissing {
                    agent: self.agent.to_string(),
                    path: db.view().agent_db().to_owned(),
                });
            }
            db.write_on("agent", |conn, view| {
                check(conn, view)?;
                let now = wall_ms();
                for (key, record) in records {
                    store_one(conn, view, &self.agent, key, record, now)?;
                }
                Ok(())
            })
        })
    }
}

/// Writes one record's owned fields into its row (a new row when the session is new), keeping the
/// invariants OpenClaw 2026.9.6 checks on every read (a row breaking them is "invalid persisted session
/// row requires repair"): `current_session_id` = `entry_json.sessionId`, `updated_at` =
/// `entry_json.updatedAt`. An existing row keeps OpenClaw's session id: OpenClaw owns the session's
/// lifecycle (windows, transcripts) there.
fn store_one(
    conn: &Connection,
    view: &DbView,
    agent: &AgentId,
    key: &str,
    record: &SessionRecord,
    now: i64,
) -> Result<(), StoreError> {
    let row: Option<(String, String, i64)> = conn
        .prepare_cached("SELECT current_session_id, entry_json, entry_valid FROM agent.session_nodes WHERE session_key = ?1")
        .and_then(|mut st| st.query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
        .map_err(err(view, "read"))?;
    let exists = row.is_some();
    let (id, mut e, valid) = match row {
        Some((current, text, valid)) => (current, entry(view, key, &text)?, valid),
        None if canonical(key, agent) => (String::new(), Map::new(), 1),
        None => {
            return Err(StoreError::NonCanonicalSession { key: key.to_owned(), agent: agent.to_string() });
        }
    };
    record.write_into(&mut e);
    let id = if exists {
        id
    } else {
        match e.get("sessionId").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        }
    };
    e.insert("sessionId".into(), Value::String(id.clone()));
    let updated = match e.get("updatedAt").and_then(Value::as_i64) {
        Some(t) => t,
        None => {
            e.insert("updatedAt".into(), Value::from(now));
            now
        }
    };
    let text = serde_json::to_string(&e).unwrap_or_default();
    let sql = if exists {
        "UPDATE agent.session_nodes SET entry_json = ?3, updated_at = ?4 WHERE session_key = ?1 AND current_session_id = ?2"
    } else {
        "INSERT INTO agent.session_nodes (session_key, current_session_id, entry_json, entry_valid, updated_at) \
         VALUES (?1, ?2, ?3, 1, ?4)"
    };
    conn.prepare_cached(sql)
        .and_then(|mut st| st.execute(params![key, id, text, updated]))
        .map_err(err(view, "write"))?;
    // OpenClaw's triggers mark a row changed by anyone as not yet validated (`entry_valid = 0`), and
    // its readers refuse such a row until its own writer certifies it. modelauth changes only owned
    // fields and keeps the identity OpenClaw checks, so a row that was valid stays valid: say so, as
    // OpenClaw's writer does. A row OpenClaw had not certified is left for OpenClaw.
    if valid == 1 {
        conn.prepare_cached("UPDATE agent.session_nodes SET entry_valid = 1 WHERE session_key = ?1")
            .and_then(|mut st| st.execute(params![key]))
            .map_err(err(view, "write"))?;
    }
    Ok(())
}

/// Whether OpenClaw 2026.9 accepts `key` for a new row of `agent`: `agent:<agent>:<rest>`, trimmed, lower
/// case, no empty part.
fn canonical(key: &str, agent: &AgentId) -> bool {
    let Some(rest) = key.strip_prefix("agent:").and_then(|r| r.strip_prefix(agent.as_str())).and_then(|r| r.strip_prefix(':')) else {
        return false;
    };
    !rest.is_empty()
        && key.trim() == key
        && !key.chars().any(|c| c.is_uppercase() || c.is_whitespace())
        && !rest.split(':').any(str::is_empty)
}
