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

fn err<'a>(view: &'a DbView, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    move |source| StoreError::Sqlite { path: view.agent_db().to_owned(), action, source }
}

/// Parses one row's `entry_json`.
fn entry(view: &DbView, key: &str, text: &str) -> Result<Map<String, Value>, StoreError> {
    let name = PathBuf::from(format!("{} session_nodes[{key}]", view.agent_db().display()));
    let mut doc = Document::parse_json(&name, text)?;
    Ok(std::mem::take(&mut doc.root))
}

fn check(conn: &Connection, view: &DbView) -> Result<(), StoreError> {
    let cols: Vec<String> = conn
        .prepare_cached("SELECT name FROM pragma_table_info('session_nodes', 'agent')")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(err(view, "read"))?;
    for col in ["session_key", "current_session_id", "entry_json", "updated_at"] {
        if !cols.iter().any(|c| c == col) {
            return Err(StoreError::SqliteSchema {
                path: view.agent_db().to_owned(),
                what: format!("table session_nodes has no column {col}"),
            });
        }
    }
    Ok(())
}

impl SqliteSessions {
    /// The sessions of `agent` over `db`.
    pub fn new(db: Arc<Mutex<Db>>, agent: AgentId) -> SqliteSessions {
        SqliteSessions { db, agent }
    }

    fn read<T>(&self, f: impl FnOnce(&Connection, &DbView) -> Result<T, StoreError>) -> Result<Option<T>, StoreError> {
        let mut db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        db.attach_new()?;
        if !db.view().has("agent") {
            return Ok(None);
        }
        db.read(|conn, view| {
            check(conn, view)?;
            f(conn, view)
        })
        .map(Some)
    }
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
            let rows: Vec<(String, String)> = conn
                .prepare_cached("SELECT session_key, entry_json FROM agent.session_nodes")
                .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .map_err(err(view, "read"))?;
            let mut out = Vec::with_capacity(rows.len());
            for (k, text) in rows {
                let record = SessionRecord::from_entry(&entry(view, &k, &text)?);
                out.push((k, record));
            }
            Ok(Some(out))
        })?;
        Ok(found.flatten())
    }

    fn store(&self, records: &[(&str, &SessionRecord)]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        db.attach_new()?;
        if !db.view().has("agent") {
            return Err(StoreError::AgentDatabaseMissing {
                agent: self.agent.to_string(),
                path: db.view().agent_db().to_owned(),
            });
        }
        db.write(|conn, view| {
            check(conn, view)?;
            let now = wall_ms();
            for (key, record) in records {
                store_one(conn, view, key, record, now)?;
            }
            Ok(())
        })
    }
}

/// Writes one record's owned fields into its row (a new row when the session is new).
fn store_one(conn: &Connection, view: &DbView, key: &str, record: &SessionRecord, now: i64) -> Result<(), StoreError> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT current_session_id, entry_json FROM agent.session_nodes WHERE session_key = ?1")
        .and_then(|mut st| st.query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(err(view, "read"))?;
    match row {
        Some((current, text)) => {
            let mut e = entry(view, key, &text)?;
            record.write_into(&mut e);
            // The row's session id is OpenClaw's: a record without one keeps it.
            if !e.contains_key("sessionId") {
                e.insert("sessionId".into(), Value::String(current));
            }
            let text = serde_json::to_string(&e).unwrap_or_default();
            conn.prepare_cached("UPDATE agent.session_nodes SET entry_json = ?2, updated_at = ?3 WHERE session_key = ?1")
                .and_then(|mut st| st.execute(params![key, text, now]))
                .map_err(err(view, "write"))?;
        }
        None => {
            let mut e = Map::new();
            record.write_into(&mut e);
            let id = match e.get("sessionId").and_then(Value::as_str) {
                Some(id) => id.to_owned(),
                None => uuid::Uuid::new_v4().to_string(),
            };
            e.insert("sessionId".into(), Value::String(id.clone()));
            e.entry("updatedAt").or_insert(Value::from(now));
            let text = serde_json::to_string(&e).unwrap_or_default();
            conn.prepare_cached(
                "INSERT INTO agent.session_nodes (session_key, current_session_id, entry_json, entry_valid, updated_at) \
                 VALUES (?1, ?2, ?3, 1, ?4)",
            )
            .and_then(|mut st| st.execute(params![key, id, text, now]))
            .map_err(err(view, "write"))?;
        }
    }
    Ok(())
}
