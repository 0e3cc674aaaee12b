//! OpenClaw's sidecar lock protocol (2026.9.6, `@openclaw/fs-safe` `sidecar-lock`), so that a running
//! OpenClaw and modelauth writing one file exclude each other.
//!
//! A writer of `<file>` creates `<file>.lock` exclusively (`O_CREAT|O_EXCL`, mode 0600) holding
//! `{"pid", "createdAt", "starttime"}` as pretty JSON followed by a line of 136 tabs and spaces (an
//! ownership token; JSON readers see whitespace). It deletes the file when done, after checking that the
//! file still holds its token. A lock whose `pid` is dead, or whose `starttime` differs from the live
//! process's (the pid was reused), is stale; one without a pid is stale when `createdAt` is older than
//! the stale age. Stale locks are removed under a `<file>.lock.reclaim` guard, and only when unchanged.
//! A lock file that cannot be parsed counts as held (as OpenClaw does) until it is older than the stale
//! age; that also frees the empty lock files earlier modelauth versions left behind.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::error::StoreError;

/// Mode of lock files, whatever the umask.
const LOCK_MODE: u32 = 0o600;
/// The largest lock file read (OpenClaw's limit is 1 MiB; real ones are under 300 bytes).
const LOCK_READ_LIMIT: u64 = 64 << 10;

/// How long a writer waits for a lock, and when an unparsable or pid-less lock counts as stale.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    /// Give up after this long with [`StoreError::LockTimeout`].
    pub deadline: Duration,
    /// A lock without a live owner to check is stale after this age (OpenClaw uses 30 s for its stores).
    pub stale_after: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            deadline: Duration::from_secs(10),
            stale_after: Duration::from_secs(30),
        }
    }
}

/// The sidecar lock path: `<file>.lock`.
pub fn lock_path(path: &Path) -> PathBuf {
    suffixed(path, ".lock")
}

/// `path` with `suffix` appended to its file name.
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// A held sidecar lock; dropping it deletes the lock file (only if it is still ours).
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    raw: String,
    ino: (u64, u64),
    /// True when a stale lock of a dead writer was removed to take this one.
    pub reclaimed: bool,
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if let Ok(Some(snapshot)) = read_lock(&self.path)
            && snapshot.ino == self.ino
            && snapshot.raw == self.raw
        {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// What a lock file holds.
#[derive(Debug)]
struct Snapshot {
    raw: String,
    ino: (u64, u64),
    modified: SystemTime,
}

/// The owner a lock file names.
#[derive(Debug, Default, serde::Deserialize)]
struct Owner {
    pid: Option<serde_json::Value>,
    #[serde(rename = "createdAt")]
    created_at: Option<serde_json::Value>,
    starttime: Option<serde_json::Value>,
}

/// Takes the sidecar lock of `path` (whose directory must exist), waiting up to `options.deadline`.
///
/// The lock protocol is shared with other processes through file times and `createdAt`, so it reads the
/// wall clock itself rather than an injected [`crate::resolver::Clock`].
#[allow(clippy::disallowed_methods)] // wall-clock protocol shared with other processes
pub fn acquire(path: &Path, options: LockOptions) -> Result<FileLock, StoreError> {
    let lock = lock_path(path);
    let started = Instant::now();
    let mut delay = Duration::from_millis(2);
    let mut reclaimed = false;
    loop {
        let holder = match try_create(&lock)? {
            Some(mut held) => {
                held.reclaimed = reclaimed;
                return Ok(held);
            }
            None => match read_lock(&lock).map_err(|source| lock_err(&lock, source))? {
                None => None,
                Some(snapshot) if is_stale(&snapshot, options.stale_after) => {
                    reclaimed |= reclaim(&lock, &snapshot)?;
                    Some(snapshot)
                }
                Some(snapshot) => Some(snapshot),
            },
        };
        if let Some(snapshot) = holder
            && started.elapsed() >= options.deadline
        {
            return Err(StoreError::LockTimeout {
                path: lock,
                holder: describe_holder(&snapshot),
                waited_ms: started.elapsed().as_millis() as u64,
            });
        }
        if !reclaimed {
            let left = options.deadline.saturating_sub(started.elapsed());
            std::thread::sleep(jittered(delay).min(left).max(Duration::from_millis(1)));
            delay = (delay * 2).min(Duration::from_millis(20));
        }
    }
}

/// What a lock file left at `<path>.lock` says: its holder, and whether it is stale (its owner is gone,
/// or it cannot be read and is older than `stale_after`). `None` when there is no lock file.
pub fn inspect(path: &Path, stale_after: Duration) -> Option<(String, bool)> {
    let snapshot = read_lock(&lock_path(path)).ok()??;
    Some((describe_holder(&snapshot), is_stale(&snapshot, stale_after)))
}

/// Removes the stale lock of `path` under the reclaim guard (as a writer would); true when removed.
pub fn remove_stale(path: &Path, stale_after: Duration) -> Result<bool, StoreError> {
    let lock = lock_path(path);
    match read_lock(&lock) {
        Ok(Some(snapshot)) if is_stale(&snapshot, stale_after) => reclaim(&lock, &snapshot),
        _ => Ok(false),
    }
}

/// Creates the lock file exclusively with our payload; `None` when it exists.
///
/// The payload is written to a private temporary file first and then hard-linked to the lock path, so
/// the lock never exists empty (a writer killed in between would leave a lock that looks held) and an
/// existing file or link at the lock path is never followed or replaced.
fn try_create(lock: &Path) -> Result<Option<FileLock>, StoreError> {
    let name = lock
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = lock.with_file_name(format!(".{name}-{}.tmp", uuid::Uuid::new_v4().simple()));
    let raw = payload();
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(LOCK_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&temp)
        .and_then(|mut file| {
            file.set_permissions(fs::Permissions::from_mode(LOCK_MODE))?;
            file.write_all(raw.as_bytes())?;
            file.metadata()
        });
    let linked = created.and_then(|meta| fs::hard_link(&temp, lock).map(|()| meta));
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(meta) => Ok(Some(FileLock {
            path: lock.to_owned(),
            raw,
            ino: (meta.dev(), meta.ino()),
            reclaimed: false,
        })),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
        // Our temporary file was removed by a cleaner between creating and linking it: try again.
        Err(e)
            if e.kind() == io::ErrorKind::NotFound && temp.parent().is_some_and(Path::is_dir) =>
        {
            Ok(None)
        }
        Err(source) => Err(lock_err(lock, source)),
    }
}

/// Our lock payload: pretty JSON owner record, then the ownership token line.
#[allow(clippy::disallowed_methods)] // `createdAt` is wall-clock time read by other processes
fn payload() -> String {
    let pid = std::process::id();
    let created = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let mut owner = serde_json::json!({ "pid": pid, "createdAt": created });
    if let Some(start) = process_start_time(pid) {
        owner["starttime"] = start.into();
    }
    let mut token = String::from("\t\t\t\t\t\t\t\t");
    for byte in uuid::Uuid::new_v4().as_bytes() {
        for bit in (0..8).rev() {
            token.push(if byte & (1 << bit) != 0 { '\t' } else { ' ' });
        }
    }
    let json = serde_json::to_string_pretty(&owner).unwrap_or_default();
    format!("{json}\n{token}\n")
}

/// Reads a lock file without following links; `None` when it does not exist.
fn read_lock(lock: &Path) -> io::Result<Option<Snapshot>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(lock)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("the lock is not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(LOCK_READ_LIMIT).read_to_end(&mut bytes)?;
    Ok(Some(Snapshot {
        raw: String::from_utf8_lossy(&bytes).into_owned(),
        ino: (meta.dev(), meta.ino()),
        modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    }))
}

/// True when the lock's owner is gone (OpenClaw's `shouldRemoveDeadOwnerOrExpiredLock`), or it cannot be
/// parsed and is older than `stale_after`.
#[allow(clippy::disallowed_methods)] // lock ages are wall-clock ages of other processes' files
fn is_stale(snapshot: &Snapshot, stale_after: Duration) -> bool {
    let age = |t: SystemTime| SystemTime::now().duration_since(t).unwrap_or_default();
    let Ok(owner) = serde_json::from_str::<Owner>(&snapshot.raw) else {
        return age(snapshot.modified) > stale_after;
    };
    let pid = owner
        .pid
        .as_ref()
        .and_then(serde_json::Value::as_u64)
        .filter(|p| *p > 0 && *p <= u64::from(u32::MAX));
    if let Some(pid) = pid {
        let pid = pid as u32;
        let recorded = owner.starttime.as_ref().and_then(serde_json::Value::as_u64);
        if let Some(recorded) = recorded
            && let Some(observed) = process_start_time(pid)
            && observed != recorded
        {
            return true;
        }
        return pid_is_dead(pid);
    }
    match owner
        .created_at
        .as_ref()
        .and_then(serde_json::Value::as_str)
    {
        Some(text) => humantime::parse_rfc3339_weak(text)
            .map(|t| age(t) > stale_after)
            .unwrap_or(true),
        None => age(snapshot.modified) > stale_after,
    }
}

/// Removes a stale lock under the `.reclaim` guard, only when it is unchanged. Returns whether it did.
fn reclaim(lock: &Path, seen: &Snapshot) -> Result<bool, StoreError> {
    let guard_path = suffixed(lock, ".reclaim");
    let Some(guard) = try_create(&guard_path)? else {
        // Another process is reclaiming; a guard of a dead reclaimer is stale like any lock.
        if let Ok(Some(g)) = read_lock(&guard_path)
            && is_stale(&g, Duration::from_secs(30))
        {
            let _ = fs::remove_file(&guard_path);
        }
        std::thread::sleep(Duration::from_millis(2));
        return Ok(false);
    };
    let unchanged =
        matches!(read_lock(lock), Ok(Some(now)) if now.ino == seen.ino && now.raw == seen.raw);
    let removed = unchanged && fs::remove_file(lock).is_ok();
    drop(guard);
    if removed {
        tracing::info!(lock = %lock.display(), holder = %describe_holder(seen), "removed a stale lock");
    }
    Ok(removed)
}

/// `pid 123` (or `an unreadable owner`) for the timeout message.
fn describe_holder(snapshot: &Snapshot) -> String {
    match serde_json::from_str::<Owner>(&snapshot.raw) {
        Ok(Owner { pid: Some(pid), .. }) => format!("pid {pid}"),
        Ok(Owner {
            created_at: Some(at),
            ..
        }) => format!("an owner without a pid, created {at}"),
        _ if snapshot.raw.trim().is_empty() => "an empty lock file".to_owned(),
        _ => "an owner that cannot be read".to_owned(),
    }
}

/// Field 22 of `/proc/<pid>/stat` (clock ticks since boot), as OpenClaw records it; `None` off Linux.
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// True only when `pid` has certainly exited (no `/proc` entry, or a zombie). Off Linux: never.
fn pid_is_dead(pid: u32) -> bool {
    if !Path::new("/proc/self/stat").exists() {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => status
            .lines()
            .find_map(|l| l.strip_prefix("State:"))
            .is_some_and(|s| s.trim_start().starts_with('Z') || s.trim_start().starts_with('X')),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

fn lock_err(lock: &Path, source: io::Error) -> StoreError {
    StoreError::Lock {
        path: lock.to_owned(),
        source,
    }
}

/// Half of `delay` plus a random part of the other half: waiters that started together do not poll in
/// lockstep (under load, lockstep polling let one writer starve past the deadline).
pub(crate) fn jittered(delay: Duration) -> Duration {
    let half = delay / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
    let random = (uuid::Uuid::new_v4().as_u128() as u64) % nanos;
    half + Duration::from_nanos(random)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_json_with_pid_and_a_whitespace_token() {
        let raw = payload();
        let owner: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(owner["pid"], std::process::id());
        assert!(owner["createdAt"].as_str().unwrap().ends_with('Z'));
        let token = raw.lines().last().unwrap();
        assert_eq!(token.len(), 136);
        assert!(token.bytes().all(|b| b == b'\t' || b == b' '));
    }

    #[test]
    fn own_process_is_alive_and_start_time_is_read() {
        assert!(!pid_is_dead(std::process::id()));
        assert!(process_start_time(std::process::id()).is_some());
    }
}
