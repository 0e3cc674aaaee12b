//! Reads that never wait: the threads that answer `serve`'s connections must not sit in SQLite's busy
//! handler while OpenClaw holds a lock (every other request would wait behind them). Inside
//! [`without_waiting`] a database read takes the connection only if it is free and does not wait for
//! a lock; it fails with a busy error instead ([`is_busy`]), and the caller answers from its last
//! snapshot or moves the request to a thread that may wait.

use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::store::StoreError;

pub use super::db::is_busy;
use super::db::{BUSY_TIMEOUT, Db};

thread_local! {
    /// The longest wait for another connection's lock on this thread (`None`: the busy timeout).
    static WAIT: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// Runs `f` with SQLite waits off on this thread (see the module docs).
pub fn without_waiting<T>(f: impl FnOnce() -> T) -> T {
    waiting_at_most(Duration::ZERO, f)
}

/// Runs `f` waiting at most `wait` for another connection's lock, and never for this process's
/// connection while another request holds it: for background work that tries again later (the
/// session autosave), so that it never keeps a request waiting behind it for a whole busy timeout.
pub fn waiting_at_most<T>(wait: Duration, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<Duration>);
    impl Drop for Reset {
        fn drop(&mut self) {
            WAIT.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(WAIT.with(|c| c.replace(Some(wait))));
    f()
}

/// True inside [`without_waiting`].
pub fn no_wait() -> bool {
    WAIT.with(Cell::get) == Some(Duration::ZERO)
}

/// The busy error of `db` (the connection is held by another request of this process).
fn held(db: &Mutex<Db>) -> StoreError {
    let _ = db;
    StoreError::Sqlite {
        path: "the agent's database connection".into(),
        action: "read",
        source: rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("held by another request of this process".into()),
        ),
    }
}

/// Runs `f` on the connection: as usual, or inside [`without_waiting`] only if the connection is free
/// and with SQLite's busy wait off for the call.
pub fn with_db<T>(db: &Mutex<Db>, f: impl FnOnce(&mut Db) -> Result<T, StoreError>) -> Result<T, StoreError> {
    let Some(wait) = WAIT.with(Cell::get) else {
        let mut guard = db.lock().unwrap_or_else(|e| e.into_inner());
        return f(&mut guard);
    };
    let mut guard: MutexGuard<'_, Db> = match db.try_lock() {
        Ok(g) => g,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return Err(held(db)),
    };
    guard.set_busy_timeout(wait)?;
    let result = f(&mut guard);
    guard.set_busy_timeout(BUSY_TIMEOUT)?;
    result
}
