//! One agent's routing records as last read from (or announced by) the server: the raw values, the
//! change counter they are at, and the routing document built from them for the resolver.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use crate::backend::Versioned;
use crate::backend::stamped::next_version;
use crate::resolver::outcome::QUIET_RESET_MS;
use crate::store::{Document, ROUTING_FIELDS, usage_from};

use super::keys::{Keys, Kind};
use super::script::{Check, Op};

/// How long a success keeps its usage record (for least-recently-used ordering), ms.
const KEEP_LAST_USED_MS: i64 = 30 * 24 * 3_600_000;

/// One announced change: what a key holds now.
#[derive(Debug, Clone)]
pub struct Change {
    /// The key's meaning.
    pub kind: Kind,
    /// The hash field (provider), for hashes.
    pub field: Option<String>,
    /// The new raw value (`None`: deleted).
    pub value: Option<String>,
}

/// The raw values, by what they are.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    /// provider → JSON list.
    pub order: BTreeMap<String, String>,
    /// provider → profile id.
    pub last_good: BTreeMap<String, String>,
    /// profile id → JSON usage record.
    pub usage: HashMap<String, String>,
}

impl Raw {
    /// Applies one change.
    pub fn apply(&mut self, c: &Change) {
        let set = |map: &mut BTreeMap<String, String>, field: &Option<String>, v: &Option<String>| {
            if let Some(f) = field {
                match v {
                    Some(v) => map.insert(f.clone(), v.clone()),
                    None => map.remove(f),
                };
            }
        };
        match &c.kind {
            Kind::Order => set(&mut self.order, &c.field, &c.value),
            Kind::LastGood => set(&mut self.last_good, &c.field, &c.value),
            Kind::Usage(id) => match &c.value {
                Some(v) => {
                    self.usage.insert(id.clone(), v.clone());
                }
                None => {
                    self.usage.remove(id);
                }
            },
            Kind::Session(_) => {}
        }
    }

    /// The routing document (`profiles` empty, `order`, `lastGood`, `usageStats`); values that are not
    /// JSON are left out with a warning.
    pub fn document(&self) -> Document {
        let parse = |what: &str, key: &str, text: &str| match serde_json::from_str::<Value>(text) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!("shared {what} entry {key:?} is not JSON ({e}); ignored");
                None
            }
        };
        let mut order = Map::new();
        for (p, text) in &self.order {
            if let Some(v) = parse("order", p, text) {
                order.insert(p.clone(), v);
            }
        }
        let last_good: Map<String, Value> = self
            .last_good
            .iter()
            .filter(|(p, id)| {
                let readable = id.as_str() != super::script::UNREADABLE;
                if !readable {
                    tracing::warn!("shared lastGood entry {p:?} is not UTF-8; ignored");
                }
                readable
            })
            .map(|(p, id)| (p.clone(), Value::String(id.clone())))
            .collect();
        let mut ids: Vec<&String> = self.usage.keys().collect();
        ids.sort();
        let mut usage = Map::new();
        for id in ids {
            if let Some(v) = parse("usage", id, &self.usage[id]) {
                usage.insert(id.clone(), v);
            }
        }
        let mut doc = Document::default();
        doc.root.insert("profiles".into(), Value::Object(Map::new()));
        for (key, value) in ROUTING_FIELDS.iter().zip([order, last_good, usage]) {
            doc.root.insert((*key).to_owned(), Value::Object(value));
        }
        doc
    }
}

/// The cache of one agent.
#[derive(Debug)]
pub struct Cache {
    /// Read from the server since the last (re)connection.
    pub loaded: bool,
    /// The change counter the values are at.
    pub rev: u64,
    /// The values.
    pub raw: Raw,
    /// The profiles whose usage key was read.
    pub fetched: HashSet<String>,
    /// The counter of the change last applied to each record (so an older notice that arrives late
    /// never overwrites a newer value this instance already applied: its own writes).
    key_rev: HashMap<String, u64>,
    /// Announced changes ahead of `rev` (a gap), by counter, and since when there is a gap.
    early: BTreeMap<u64, Vec<Change>>,
    early_since: Option<Instant>,
    /// The routing document of `raw`.
    pub view: Versioned<Document>,
}

impl Cache {
    /// A cache holding `raw`, not yet read from the server.
    pub fn new(raw: Raw) -> Cache {
        let view = Versioned {
            version: next_version(),
            value: Arc::new(raw.document()),
        };
        Cache {
            loaded: false,
            rev: 0,
            raw,
            fetched: HashSet::new(),
            key_rev: HashMap::new(),
            early: BTreeMap::new(),
            early_since: None,
            view,
        }
    }

    /// Replaces everything with a read made at `rev` of the profiles `ids`.
    pub fn replace(&mut self, rev: u64, raw: Raw, ids: impl IntoIterator<Item = String>) {
        self.raw = raw;
        self.fetched = ids.into_iter().collect();
        self.rev = rev;
        self.loaded = true;
        self.key_rev.retain(|_, r| *r > rev);
        self.early.retain(|r, _| *r > rev);
        // Changes past the read (this instance's own, applied at once) stay applied.
        let later: Vec<(u64, Vec<Change>)> =
            self.early.iter().map(|(r, c)| (*r, c.clone())).collect();
        for (r, changes) in later {
            self.apply_all(&changes, r);
        }
        self.drain_early();
        self.rebuild();
    }

    /// Applies the changes announced at counter `rev`: in order, once; early ones wait for the gap,
    /// except this instance's `own` changes, which it sees at once (read your writes).
    pub fn announce(&mut self, rev: u64, changes: Vec<Change>, own: bool) {
        if !self.loaded || rev <= self.rev {
            return;
        }
        if rev > self.rev + 1 {
            if own {
                self.apply_all(&changes, rev);
                self.rebuild();
            }
            self.early.insert(rev, changes);
            self.early_since.get_or_insert_with(now);
            return;
        }
        self.apply_all(&changes, rev);
        self.rev = rev;
        self.drain_early();
        self.rebuild();
    }

    /// Applies changes made while the server is out of reach (the counter stays).
    pub fn apply_local(&mut self, changes: &[Change]) {
        for c in changes {
            self.raw.apply(c);
        }
        self.rebuild();
    }

    /// True when announced changes have waited for a gap longer than `ms`: the cache should be read
    /// again.
    pub fn gap_older_than(&self, ms: u128) -> bool {
        self.early_since
            .is_some_and(|t| t.elapsed().as_millis() > ms)
    }

    /// Applies the changes made at counter `rev`, except to records a later change already set.
    fn apply_all(&mut self, changes: &[Change], rev: u64) {
        for c in changes {
            let record = match (&c.kind, &c.field) {
                (Kind::Usage(id), _) => {
                    self.fetched.insert(id.clone());
                    format!("u {id}")
                }
                (Kind::Order, Some(f)) => format!("o {f}"),
                (Kind::LastGood, Some(f)) => format!("g {f}"),
                _ => continue,
            };
            if self.key_rev.get(&record).is_some_and(|r| *r > rev) {
                continue;
            }
            self.key_rev.insert(record, rev);
            self.raw.apply(c);
        }
    }

    fn drain_early(&mut self) {
        while let Some(entry) = self.early.first_entry() {
            if *entry.key() > self.rev + 1 {
                break;
            }
            let (rev, changes) = entry.remove_entry();
            if rev == self.rev + 1 {
                self.apply_all(&changes, rev);
                self.rev = rev;
            }
        }
        if self.early.is_empty() {
            self.early_since = None;
        }
    }

    fn rebuild(&mut self) {
        self.view = Versioned {
            version: next_version(),
            value: Arc::new(self.raw.document()),
        };
    }
}

#[allow(clippy::disallowed_methods, reason = "gap ages are measured on the monotonic clock")]
fn now() -> Instant {
    Instant::now()
}

/// The ops that turn the routing records of `before` (held raw in `raw`) into those of `after`,
/// each checked against the value it replaces. Usage records expire by themselves when nothing in
/// them matters any more (`now_ms` decides which are already over).
pub fn diff(keys: &Keys, raw: &Raw, after: &Document, now_ms: i64) -> (Vec<Op>, Vec<Change>) {
    let mut ops = Vec::new();
    let mut changes = Vec::new();
    let object = |k: &str| match after.root.get(k) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let (order, last_good, usage) = (object("order"), object("lastGood"), object("usageStats"));
    let mut hash = |kind: Kind, key: String, old: &BTreeMap<String, String>, new: BTreeMap<String, String>| {
        let fields: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for f in fields {
            let (o, n) = (old.get(f), new.get(f));
            if o != n {
                ops.push(checked(key.clone(), Some(f.clone()), o, n.cloned(), 0));
                changes.push(Change { kind: kind.clone(), field: Some(f.clone()), value: n.cloned() });
            }
        }
    };
    let as_text = |m: &Map<String, Value>| -> BTreeMap<String, String> {
        m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
    };
    hash(Kind::Order, keys.order(), &raw.order, as_text(&order));
    let good: BTreeMap<String, String> = last_good
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect();
    hash(Kind::LastGood, keys.last_good(), &raw.last_good, good);
    let ids: std::collections::BTreeSet<&String> = raw.usage.keys().chain(usage.keys()).collect();
    for id in ids {
        let old = raw.usage.get(id);
        let new_value = usage.get(id);
        let unchanged = match (old, new_value) {
            (Some(o), Some(n)) => serde_json::from_str::<Value>(o).ok().as_ref() == Some(n),
            (None, None) => true,
            _ => false,
        };
        if unchanged {
            continue;
        }
        let expire = new_value.map_or(0, expires_at);
        let new_text = new_value
            .filter(|_| expire == 0 || expire > now_ms)
            .map(Value::to_string);
        ops.push(checked(keys.usage(id), None, old, new_text.clone(), expire));
        changes.push(Change { kind: Kind::Usage(id.clone()), field: None, value: new_text });
    }
    (ops, changes)
}

/// A checked write.
fn checked(key: String, field: Option<String>, old: Option<&String>, new: Option<String>, expire_at_ms: i64) -> Op {
    Op {
        key,
        field,
        old: old.cloned(),
        new,
        // A value that is not UTF-8 was read as a marker it can never equal: replace it.
        check: if old.is_some_and(|o| o == super::script::UNREADABLE) { Check::None } else { Check::Equal },
        write: true,
        expire_at_ms,
    }
}

/// When a usage record stops mattering: its windows are over and its failure counters have reset
/// (SPEC §5: 24 h after the last failure); a success is kept 30 days for least-recently-used order.
/// 0 when it holds no time at all (kept).
pub fn expires_at(record: &Value) -> i64 {
    let Value::Object(fields) = record else {
        return 0;
    };
    let s = usage_from(fields);
    let after = |t: i64, keep: i64| if t > 0 { t.saturating_add(keep) } else { 0 };
    [
        s.cooldown_until,
        s.disabled_until,
        s.blocked_until,
        after(s.last_failure_at, QUIET_RESET_MS),
        after(s.last_used, KEEP_LAST_USED_MS),
        s.quota.as_ref().map_or(0, |q| q.latest_reset(0)),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
    // A time past 2100 in a record is bogus: kept without expiry rather than sent to Redis as a
    // PXAT it refuses (Lua turns an i64 near its maximum into `9.2e+18`).
    .min(LATEST_EXPIRY_MS)
}

/// 2100-01-01T00:00:00Z, ms: the latest expiry written (well within Lua's exact integers).
const LATEST_EXPIRY_MS: i64 = 4_102_444_800_000;

#[cfg(test)]
mod tests {
    use super::{Cache, Change, Kind, Raw};

    fn order(rev_value: &str) -> Vec<Change> {
        vec![Change {
            kind: Kind::Order,
            field: Some("anthropic".into()),
            value: Some(rev_value.into()),
        }]
    }

    #[test]
    fn own_writes_are_seen_at_once_and_never_undone_by_an_older_late_notice() {
        let mut c = Cache::new(Raw::default());
        c.replace(1, Raw::default(), Vec::new());
        // This instance wrote at 3 while notice 2 (another instance, same record) is still on its way.
        c.announce(3, order(r#"["mine"]"#), true);
        assert_eq!(c.raw.order["anthropic"], r#"["mine"]"#);
        assert_eq!(c.rev, 1);
        c.announce(2, order(r#"["older"]"#), false);
        assert_eq!(c.raw.order["anthropic"], r#"["mine"]"#);
        assert_eq!(c.rev, 3, "the gap closed");
        // Another instance's notice waits for its gap, then applies.
        c.announce(5, order(r#"["later"]"#), false);
        assert_eq!(c.raw.order["anthropic"], r#"["mine"]"#);
        c.announce(4, Vec::new(), false);
        assert_eq!((c.rev, c.raw.order["anthropic"].as_str()), (5, r#"["later"]"#));
        // A full read at 5 keeps an own change made at 7 (its notice is still on its way).
        c.announce(7, order(r#"["own7"]"#), true);
        c.replace(5, Raw::default(), Vec::new());
        assert_eq!(c.raw.order["anthropic"], r#"["own7"]"#);
    }
}
