//! Session pins and overrides on the shared server, so the next message of a chat finds its pin on
//! whichever instance it lands. Sessions the server does not have are read from the agent's own
//! sessions store (so pins made before Redis was turned on keep working until they change).

use std::sync::{Arc, Weak};

use serde_json::{Map, Value};

use crate::backend::{SessionStore, SessionWatch};
use crate::store::{SessionRecord, StoreError};

use super::conn::is_outage;
use super::keys::Keys;
use super::link::{Link, Pending};
use super::script::{self, Check, Op};

/// The sessions of one agent on the shared server.
#[derive(Debug)]
pub struct RedisSessions {
    link: Arc<Link>,
    agent: String,
    keys: Keys,
    local: Option<Arc<dyn SessionStore>>,
}

impl RedisSessions {
    /// The sessions of `agent`; `local` is read for sessions the server does not hold.
    pub fn new(link: Arc<Link>, agent: &str, local: Option<Arc<dyn SessionStore>>) -> RedisSessions {
        RedisSessions {
            keys: Keys::new(&link.settings().prefix, agent),
            link,
            agent: agent.to_owned(),
            local,
        }
    }

    fn local_one(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        match &self.local {
            Some(l) => l.load_one(key),
            None => Ok(None),
        }
    }
}

/// The JSON text of a record's owned fields.
pub fn record_text(record: &SessionRecord) -> String {
    let mut entry = Map::new();
    record.write_into(&mut entry);
    Value::Object(entry).to_string()
}

/// The write of session `key`'s record, checked as `check` says.
fn session_op(keys: &Keys, key: &str, record: &SessionRecord, check: Check) -> Op {
    Op {
        key: keys.session(key),
        field: None,
        old: None,
        new: Some(record_text(record)),
        check,
        write: true,
        expire_at_ms: 0,
    }
}

/// The write of session `key` only where the server has none (repopulation, `state import`).
pub fn absent_op(keys: &Keys, key: &str, record: &SessionRecord) -> Op {
    session_op(keys, key, record, Check::Absent)
}

/// A record from its JSON text (`None` when it is not a JSON object).
pub fn record_of(text: &str) -> Option<SessionRecord> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Some(SessionRecord::from_entry(&m)),
        _ => None,
    }
}

impl SessionStore for RedisSessions {
    fn location(&self) -> String {
        format!(
            "{} {}*",
            self.link.settings().display_url(),
            self.keys.session("")
        )
    }

    fn load_one(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        let k = self.keys.session(key);
        match self
            .link
            .pool
            .call(|con| redis::cmd("GET").arg(&k).query::<Option<Vec<u8>>>(con))
        {
            Ok(Some(bytes)) => match std::str::from_utf8(&bytes).ok().and_then(record_of) {
                Some(r) => Ok(Some(r)),
                None => {
                    tracing::warn!(session = key, "shared session entry is not a JSON object; ignored");
                    self.local_one(key)
                }
            },
            Ok(None) => self.local_one(key),
            Err(e) if is_outage(&e) => self.local_one(key),
            Err(e) => Err(e),
        }
    }

    fn load_all_unless_absent(
        &self,
        key: &str,
    ) -> Result<Option<Vec<(String, SessionRecord)>>, StoreError> {
        Ok(self.load_one(key)?.map(|r| vec![(key.to_owned(), r)]))
    }

    fn load_all(&self) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let prefix = self.keys.session("");
        let pattern = format!("{prefix}*");
        let mut keys: Vec<String> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = self.link.pool.call(|con| {
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query(con)
            })?;
            // A key that is not UTF-8 names no session.
            keys.extend(batch.into_iter().filter_map(|k| String::from_utf8(k).ok()));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let values: Vec<Option<Vec<u8>>> = self
                .link
                .pool
                .call(|con| redis::cmd("MGET").arg(chunk).query(con))?;
            for (k, v) in chunk.iter().zip(values) {
                if let (Some(key), Some(r)) = (k.strip_prefix(&prefix), v.as_deref().and_then(|b| std::str::from_utf8(b).ok()).and_then(record_of)) {
                    out.push((key.to_owned(), r));
                }
            }
        }
        Ok(out)
    }

    fn store(&self, records: &[(&str, &SessionRecord)]) -> Result<(), StoreError> {
        let ops: Vec<Op> = records
            .iter()
            .map(|(key, r)| session_op(&self.keys, key, r, Check::None))
            .collect();
        if ops.is_empty() {
            return Ok(());
        }
        let k = &self.keys;
        let result = self.link.pool.call(|con| {
            script::apply(con, &k.rev(), &k.channel(), &self.agent, &self.link.origin, &ops)
        });
        match result {
            Ok(applied) => {
                // The counter moved: the routing cache need not wait for this notice.
                if let (script::Applied::Done(rev), Some(routing)) = (applied, self.link.agent(&self.agent)) {
                    routing.announce(rev, Vec::new(), true);
                }
                Ok(())
            }
            Err(e) if is_outage(&e) => {
                self.link.keep(Pending::Ops {
                    agent: self.agent.clone(),
                    ops,
                });
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn write_through(&self) -> bool {
        true
    }

    fn watch(&self, watch: Weak<dyn SessionWatch>) {
        self.link.watch_sessions(&self.agent, watch);
    }
}
