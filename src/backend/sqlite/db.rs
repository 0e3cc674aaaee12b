//! One connection to an agent's view of OpenClaw's databases: the state database
//! (`state/openclaw.sqlite`) as `main`, the agent's `openclaw-agent.sqlite` attached as `agent` once it
//! exists, and under the `legacy-main` location the main agent's database attached as `shared`.
//!
//! SQLite's own locking is the cross-process lock: every change is one transaction per database file
//! (a write lock on the one database it changes) with a busy timeout, holding nothing slow. modelauth never
//! creates these databases or their tables: OpenClaw owns the schema.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::store::StoreError;

/// How long a statement waits for another writer (OpenClaw waits 5 s).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a commit waits for readers to finish while it keeps new readers out ([`Db::write_on`]).
pub const COMMIT_WAIT: Duration = Duration::from_millis(50);

/// About how long readers get between two attempts of a commit that yielded to them (jittered; more
/// than SQLite's longest sleep between two tries of a waiting reader, 100 ms).
const READER_PAUSE: Duration = Duration::from_millis(300);

/// Why one attempt of [`Db::write_on`] did not commit.
enum Yield<E> {
    /// Readers were still there when the commit's wait ran out; rolled back, to be tried again.
    Readers(StoreError),
    /// Anything else: the caller's error or the database's.
    Failed(E),
}

/// Where the shared (main agent's) credentials live (`auth.sharedStore` in the state database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedLocation {
    /// `{"location":"state-db"}`: `config_machine_state` rows of the state database.
    StateDb,
    /// No row (or `legacy-main`): the main agent's own database.
    LegacyMain,
}

/// One JSON cell: a row of a key/value table.
#[derive(Debug, Clone, Copy)]
pub struct Cell {
    schema: &'static str,
    table: &'static str,
    key_col: &'static str,
    value_col: &'static str,
    updated_col: &'static str,
    key: &'static str,
}

impl Cell {
    /// The agent-database cell `primary` of `table` (`auth_profile_store` or `auth_profile_state`).
    pub const fn agent(schema: &'static str, store: bool) -> Cell {
        if store {
            Cell { schema, table: "auth_profile_store", key_col: "store_key", value_col: "store_json", updated_col: "updated_at", key: "primary" }
        } else {
            Cell { schema, table: "auth_profile_state", key_col: "state_key", value_col: "state_json", updated_col: "updated_at", key: "primary" }
        }
    }

    /// A `config_machine_state` row of the state database.
    pub const fn machine(key: &'static str) -> Cell {
        Cell { schema: "main", table: "config_machine_state", key_col: "state_key", value_col: "value_json", updated_col: "updated_at_ms", key }
    }

    /// The schema alias the cell lives in.
    pub fn schema(&self) -> &'static str {
        self.schema
    }

    /// How the cell is named in messages: `table[key]`.
    pub fn label(&self) -> String {
        format!("{}[{}]", self.table, self.key)
    }
}

/// The paths behind a connection's schema aliases, and which are attached.
#[derive(Debug, Clone)]
pub struct DbView {
    state_db: PathBuf,
    agent_db: PathBuf,
    shared_db: Option<PathBuf>,
    agent_attached: bool,
    shared_attached: bool,
}

impl DbView {
    /// The state database.
    pub fn state_db(&self) -> &Path {
        &self.state_db
    }

    /// The agent's database (which may not exist yet).
    pub fn agent_db(&self) -> &Path {
        &self.agent_db
    }

    /// The file behind schema alias `schema`.
    pub fn path_of(&self, schema: &str) -> &Path {
        match schema {
            "agent" => &self.agent_db,
            "shared" => self.shared_db.as_deref().unwrap_or(&self.agent_db),
            _ => &self.state_db,
        }
    }

    /// Whether schema `schema` is available.
    pub fn has(&self, schema: &str) -> bool {
        match schema {
            "agent" => self.agent_attached,
            "shared" => self.shared_attached,
            _ => true,
        }
    }
}

/// The open connection with the paths behind its schema aliases.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
    view: DbView,
    fresh: super::fresh::Freshness,
    /// The busy timeout set on the connection now.
    wait: Duration,
}

/// True for an error that only says "someone else holds the lock right now".
pub fn is_busy(e: &StoreError) -> bool {
    match e {
        StoreError::Sqlite { source, .. } => matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ),
        _ => false,
    }
}

/// A SQLite error of the database at `path`, while doing `action`.
pub fn sqlite_err<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    move |source| StoreError::Sqlite { path: path.to_owned(), action, source }
}

impl Db {
    /// Opens `state_db` (which must exist); `agent_db` is attached when it exists, now or later;
    /// `shared_db` is the main agent's database under [`SharedLocation::LegacyMain`] for another agent.
    pub fn open(state_db: &Path, agent_db: &Path, shared_db: Option<&Path>) -> Result<Db, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(state_db, flags).map_err(sqlite_err(state_db, "open"))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_err(state_db, "open"))?;
        durability(&conn, "main").map_err(sqlite_err(state_db, "open"))?;
        conn.execute_batch("CREATE TEMP TABLE IF NOT EXISTS modelauth_checked (name TEXT PRIMARY KEY)")
            .map_err(sqlite_err(state_db, "open"))?;
        let mut db = Db {
            conn,
            view: DbView {
                state_db: state_db.to_owned(),
                agent_db: agent_db.to_owned(),
                shared_db: shared_db.map(Path::to_owned),
                agent_attached: false,
                shared_attached: false,
            },
            fresh: super::fresh::Freshness::default(),
            wait: BUSY_TIMEOUT,
        };
        db.attach_new()?;
        Ok(db)
    }

    /// Sets how long a statement waits for another connection's lock.
    pub fn set_busy_timeout(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(wait)
            .map_err(sqlite_err(&self.view.state_db, "open"))?;
        self.wait = wait;
        Ok(())
    }

    /// The paths and attachments, as of now.
    pub fn view(&self) -> &DbView {
        &self.view
    }

    /// Attaches the databases that have appeared since the last call (outside any transaction).
    pub fn attach_new(&mut self) -> Result<(), StoreError> {
        let v = &mut self.view;
        if !v.agent_attached && v.agent_db.is_file() {
            attach(&self.conn, &v.agent_db, "agent")?;
            v.agent_attached = true;
        }
        if let Some(shared) = v.shared_db.as_ref().filter(|_| !v.shared_attached)
            && shared.is_file()
        {
            attach(&self.conn, shared, "shared")?;
            v.shared_attached = true;
        }
        Ok(())
    }

    /// A token of the attached databases' commit counters, read without a lock: equal tokens mean no
    /// commit in between (see [`super::fresh`]); `None` when it cannot tell.
    pub fn commit_token(&mut self) -> Option<Vec<u8>> {
        let v = &self.view;
        let mut paths: Vec<&Path> = vec![&v.state_db];
        if v.agent_attached {
            paths.push(&v.agent_db);
        }
        if let Some(shared) = v.shared_db.as_deref().filter(|_| v.shared_attached) {
            paths.push(shared);
        }
        self.fresh.watch(&paths);
        self.fresh.token()
    }

    /// A token that changes whenever another connection commits to any attached database.
    pub fn data_version(&self) -> Result<(i64, i64, i64), StoreError> {
        let v = |schema: &str| -> Result<i64, StoreError> {
            if !self.view.has(schema) {
                return Ok(-1);
            }
            self.conn
                .prepare_cached(&format!("PRAGMA {schema}.data_version"))
                .and_then(|mut st| st.query_row([], |r| r.get(0)))
                .map_err(sqlite_err(self.view.path_of(schema), "read"))
        };
        Ok((v("main")?, v("agent")?, v("shared")?))
    }

    /// Runs `f` in one transaction that writes to the database of `schema` only (`main`, `agent` or
    /// `shared`): committed when `f` returns `Ok`, rolled back otherwise. `f` must not wait on
    /// anything but the database, and must write to no other schema; it may run more than once (see
    /// below), each time in a fresh transaction.
    ///
    /// The write lock is taken on that one file before `f` runs (a no-op `DELETE` on one of its
    /// tables), so the read-modify-write is atomic there, while the other attached databases are
    /// only read. `BEGIN IMMEDIATE` would open a write transaction on every attached database, and a
    /// commit over two rollback-journal databases goes through a super-journal, which OpenClaw's
    /// read-only start-up snapshot refuses to recover.
    ///
    /// The commit yields to readers: in rollback-journal mode a commit waiting for a reader to finish
    /// holds SQLite's pending lock, which keeps every new reader out (OpenClaw's give up after 5 s
    /// with "database is locked"). So the commit waits at most [`COMMIT_WAIT`]; when a reader is still
    /// there, the transaction is rolled back, readers get a moment, and it starts over, until the
    /// thread's busy timeout has passed.
    pub fn write_on<T, E: From<StoreError>>(
        &mut self,
        schema: &str,
        mut f: impl FnMut(&Connection, &DbView) -> Result<T, E>,
    ) -> Result<T, E> {
        self.attach_new()?;
        let path = self.view.path_of(schema).to_owned();
        let limit = self.wait;
        #[allow(clippy::disallowed_methods, reason = "the deadline of a wait for other processes' locks")]
        let deadline = std::time::Instant::now() + limit;
        loop {
            match self.write_once(schema, &path, limit.min(COMMIT_WAIT), &mut f) {
                Err(Yield::Readers(e)) => {
                    let pause = crate::store::lock::jittered(READER_PAUSE);
                    #[allow(clippy::disallowed_methods, reason = "the deadline of a wait for other processes' locks")]
                    let late = std::time::Instant::now() + pause >= deadline;
                    if late {
                        return Err(e.into());
                    }
                    std::thread::sleep(pause);
                }
                Err(Yield::Failed(e)) => return Err(e),
                Ok(value) => return Ok(value),
            }
        }
    }

    /// One attempt of [`Db::write_on`]: its commit waits at most `commit_wait` for readers.
    fn write_once<T, E: From<StoreError>>(
        &mut self,
        schema: &str,
        path: &Path,
        commit_wait: Duration,
        f: &mut impl FnMut(&Connection, &DbView) -> Result<T, E>,
    ) -> Result<T, Yield<E>> {
        let table = if schema == "main" { "config_machine_state" } else { "auth_profile_state" };
        let failed = |action| move |e| Yield::Failed(E::from(sqlite_err(path, action)(e)));
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(failed("lock"))?;
        tx.execute_batch(&format!("DELETE FROM {schema}.{table} WHERE 0"))
            .map_err(failed("lock"))?;
        let value = f(&tx, &self.view).map_err(Yield::Failed)?;
        tx.busy_timeout(commit_wait).map_err(failed("write"))?;
        // A commit that fails leaves the transaction open; dropping it rolls back and frees the locks.
        let committed = tx.commit().map_err(sqlite_err(path, "write"));
        self.conn.busy_timeout(self.wait).map_err(failed("write"))?;
        match committed {
            Ok(()) => Ok(value),
            Err(e) if is_busy(&e) => Err(Yield::Readers(e)),
            Err(e) => Err(Yield::Failed(e.into())),
        }
    }

    /// Reads `f` in one deferred transaction (a consistent snapshot of every attached database).
    pub fn read<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Connection, &DbView) -> Result<T, E>,
    ) -> Result<T, E> {
        self.attach_new()?;
        let path = self.view.state_db.clone();
        let tx = self.conn.transaction().map_err(sqlite_err(&path, "read"))?;
        let value = f(&tx, &self.view)?;
        tx.finish().map_err(sqlite_err(&path, "read"))?;
        Ok(value)
    }
}

fn attach(conn: &Connection, path: &Path, alias: &str) -> Result<(), StoreError> {
    let name = path.to_str().ok_or_else(|| StoreError::SqliteSchema {
        path: path.to_owned(),
        what: "the path is not UTF-8".into(),
    })?;
    conn.execute(&format!("ATTACH DATABASE ?1 AS {alias}"), params![name])
        .map_err(sqlite_err(path, "open"))?;
    durability(conn, alias).map_err(sqlite_err(path, "open"))?;
    Ok(())
}

/// OpenClaw's own connection settings for its WAL databases: `synchronous = NORMAL` (a commit survives
/// a crash of the process, as OpenClaw's do; the WAL is synced at checkpoints).
fn durability(conn: &Connection, schema: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("PRAGMA {schema}.synchronous = NORMAL;"))
}

/// Checks that `cell`'s table has the columns modelauth uses.
pub fn check_table(conn: &Connection, path: &Path, cell: &Cell) -> Result<(), StoreError> {
    require_columns(conn, path, cell.schema, cell.table, &[cell.key_col, cell.value_col, cell.updated_col])
}

/// Checks that `schema.table` (a database at `path`) has `columns`, once per table and connection:
/// the answer is kept in the connection's own temp schema.
pub fn require_columns(
    conn: &Connection,
    path: &Path,
    schema: &str,
    table: &str,
    columns: &[&str],
) -> Result<(), StoreError> {
    let name = format!("{schema}.{table}");
    let seen = conn
        .prepare_cached("SELECT 1 FROM temp.modelauth_checked WHERE name = ?1")
        .and_then(|mut st| st.exists(params![name]))
        .unwrap_or(false);
    if seen {
        return Ok(());
    }
    let cols: Vec<String> = conn
        .prepare_cached("SELECT name FROM pragma_table_info(?1, ?2)")
        .and_then(|mut st| st.query_map(params![table, schema], |r| r.get(0))?.collect())
        .map_err(sqlite_err(path, "read"))?;
    for col in columns {
        if !cols.iter().any(|c| c == col) {
            let what = if cols.is_empty() {
                format!("table {table} is missing")
            } else {
                format!("table {table} has no column {col}")
            };
            return Err(StoreError::SqliteSchema { path: path.to_owned(), what });
        }
    }
    let _ = conn.execute("INSERT OR IGNORE INTO temp.modelauth_checked (name) VALUES (?1)", params![name]);
    Ok(())
}

/// The text of `cell` (`None`: no row).
pub fn read_cell(conn: &Connection, path: &Path, cell: &Cell) -> Result<Option<String>, StoreError> {
    check_table(conn, path, cell)?;
    let sql = format!(
        "SELECT {v} FROM {s}.{t} WHERE {k} = ?1",
        v = cell.value_col,
        s = cell.schema,
        t = cell.table,
        k = cell.key_col
    );
    conn.prepare_cached(&sql)
        .and_then(|mut st| st.query_row(params![cell.key], |r| r.get::<_, String>(0)).optional())
        .map_err(sqlite_err(path, "read"))
}

/// Writes `text` into `cell` (insert or replace), stamped `now_ms`.
pub fn write_cell(conn: &Connection, path: &Path, cell: &Cell, text: &str, now_ms: i64) -> Result<(), StoreError> {
    check_table(conn, path, cell)?;
    let sql = format!(
        "INSERT INTO {s}.{t} ({k}, {v}, {u}) VALUES (?1, ?2, ?3) \
         ON CONFLICT({k}) DO UPDATE SET {v} = excluded.{v}, {u} = excluded.{u}",
        s = cell.schema,
        t = cell.table,
        k = cell.key_col,
        v = cell.value_col,
        u = cell.updated_col
    );
    conn.prepare_cached(&sql)
        .and_then(|mut st| st.execute(params![cell.key, text, now_ms]))
        .map_err(sqlite_err(path, "write"))?;
    Ok(())
}

/// Now, in ms since the epoch: the `updated_at` stamp OpenClaw writes.
pub fn wall_ms() -> i64 {
    #[allow(clippy::disallowed_methods, reason = "row stamps are wall-clock times, as OpenClaw writes them")]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Reads `auth.sharedStore` from the state database at `path`.
pub fn shared_location(path: &Path) -> Result<SharedLocation, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite_err(path, "open"))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_err(path, "open"))?;
    let cell = Cell::machine("auth.sharedStore");
    let Some(text) = read_cell(&conn, path, &cell)? else {
        return Ok(SharedLocation::LegacyMain);
    };
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    match value.get("location").and_then(|l| l.as_str()) {
        Some("state-db") => Ok(SharedLocation::StateDb),
        Some("legacy-main") => Ok(SharedLocation::LegacyMain),
        _ => Err(StoreError::SqliteSchema {
            path: path.to_owned(),
            what: format!("auth.sharedStore has an invalid location ({text}); run `openclaw doctor --fix`"),
        }),
    }
}
