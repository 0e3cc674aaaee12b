//! Locked, atomic file replacement: the only way modelauth writes a state file (SPEC §2).
//!
//! `update` takes an exclusive lock on `<file>.lock`, re-reads the file under the lock, lets the caller
//! compute the new text, writes it to a temporary file in the same directory, `fsync`s it, renames it over
//! the target and `fsync`s the directory. Readers therefore see the old or the new file, never a torn one,
//! and two writers serialise on the lock instead of losing each other's changes.

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::stamp::FileStamp;

/// Mode of every file modelauth creates.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every directory modelauth creates.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents with mode `0700` (whatever the umask). Existing ones are kept.
pub fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        ensure_dir(parent)?;
    }
    let write_err = |source| StoreError::Write {
        path: dir.to_owned(),
        source,
    };
    match fs::create_dir(dir) {
        Ok(()) => {
            fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE)).map_err(write_err)?;
            adopt_parent_owner(dir);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(write_err(e)),
    }
}

/// Reads a state file as UTF-8 text; `Ok(None)` when it does not exist. Refuses links, non-regular
/// files and files over `limit` bytes. The file is opened without following links (`O_NOFOLLOW`,
/// non-blocking so a FIFO cannot hang the caller) and checked as opened, so a path swapped for a link
/// between a check and the open is never followed.
pub fn read_text(path: &Path, limit: u64) -> Result<Option<String>, StoreError> {
    let Some(bytes) = read_bytes(path, limit)? else {
        return Ok(None);
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| StoreError::NotUtf8 {
            path: path.to_owned(),
            offset: e.utf8_error().valid_up_to(),
        })
}

/// Opens `path` for reading without following a link (for a caller that checks the version it got).
pub(crate) fn open_nofollow(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// [`read_text`] without the UTF-8 check: the bytes of a regular file within `limit` (`None` when it
/// does not exist).
pub fn read_bytes(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let read_err = |source| StoreError::Read {
        path: path.to_owned(),
        source,
    };
    let opened = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(StoreError::NotRegular {
                path: path.to_owned(),
                kind: "a symbolic link",
            });
        }
        Err(source) => return Err(read_err(source)),
    };
    let meta = file.metadata().map_err(read_err)?;
    let file_type = meta.file_type();
    if !file_type.is_file() {
        let kind = if file_type.is_dir() {
            "a directory"
        } else {
            "a special file"
        };
        return Err(StoreError::NotRegular {
            path: path.to_owned(),
            kind,
        });
    }
    if meta.len() > limit {
        return Err(StoreError::TooLarge {
            path: path.to_owned(),
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > limit {
        return Err(StoreError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(Some(bytes))
}

pub use super::lock::{FileLock, LockOptions, lock_path};

/// Takes the sidecar lock of `path` (OpenClaw's protocol, see [`super::lock`]), creating the directory
/// if needed. Waits at most [`LockOptions::default`]'s deadline, then fails naming the holder.
pub fn lock(path: &Path) -> Result<FileLock, StoreError> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        ensure_dir(dir)?;
    }
    super::lock::acquire(path, LockOptions::default())
}

/// Under the file's lock: reads the current text (`None` when missing), asks `change` for the new text
/// (`None` leaves the file as it is) and replaces the file atomically. Returns `change`'s value.
///
/// An error from reading or from `change` aborts before anything is written.
pub fn update<T, E>(
    path: &Path,
    limit: u64,
    change: impl FnOnce(Option<String>) -> Result<(Option<String>, T), E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    update_stamped(path, limit, change).map(|(value, _)| value)
}

/// [`update`], also returning the file's [`FileStamp`] as this call left it, taken while the lock is
/// still held, so that it belongs to the text `change` saw or wrote and not to a later writer's.
pub fn update_stamped<T, E>(
    path: &Path,
    limit: u64,
    change: impl FnOnce(Option<String>) -> Result<(Option<String>, T), E>,
) -> Result<(T, Option<FileStamp>), E>
where
    E: From<StoreError>,
{
    // Directories this call creates are removed again when it writes nothing (a refused change of a
    // new agent leaves no trace).
    let missing: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_owned)
        .collect();
    let result = update_locked(path, limit, change);
    if !matches!(result, Ok((_, Some(_)))) {
        for dir in &missing {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

/// [`update_stamped`] once the directories may be created.
fn update_locked<T, E>(
    path: &Path,
    limit: u64,
    change: impl FnOnce(Option<String>) -> Result<(Option<String>, T), E>,
) -> Result<(T, Option<FileStamp>), E>
where
    E: From<StoreError>,
{
    let guard = lock(path)?;
    if guard.reclaimed || first_write_here(path) {
        // A writer that died (holding the lock, or while taking it) may have left a temporary file:
        // cleaned after reclaiming its lock, and once per process and file, not on every write.
        remove_stale_temps(path);
    }
    let current = read_text(path, limit)?;
    let (new_text, value) = change(current)?;
    if let Some(text) = new_text {
        // The text may hold secrets: wipe it once written.
        let text = zeroize::Zeroizing::new(text);
        replace(path, text.as_bytes())?;
    }
    let stamp = FileStamp::of(path);
    drop(guard);
    Ok((value, stamp))
}

/// True the first time this process writes `path`.
fn first_write_here(path: &Path) -> bool {
    static SEEN: std::sync::Mutex<Option<std::collections::HashSet<std::path::PathBuf>>> =
        std::sync::Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.get_or_insert_with(Default::default)
        .insert(path.to_owned())
}

/// The name prefix of `path`'s temporary files.
fn temp_prefix(path: &Path) -> String {
    format!(
        ".{}.",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state")
    )
}

/// Removes temporary files a killed writer left beside `path`. Only call it holding the lock: then no
/// live writer owns one.
fn remove_stale_temps(path: &Path) {
    let (Some(dir), prefix) = (path.parent(), temp_prefix(path)) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// A directory root creates inside another user's directory becomes that user's (best effort).
fn adopt_parent_owner(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let (Some(parent), Ok(me)) = (dir.parent(), fs::metadata(dir)) else {
        return;
    };
    let Ok(p) = fs::metadata(parent) else {
        return;
    };
    if me.uid() == 0 && (p.uid(), p.gid()) != (me.uid(), me.gid()) {
        let _ = std::os::unix::fs::chown(dir, Some(p.uid()), Some(p.gid()));
    }
}

/// Gives the replacement the owner and group of the file it replaces (or, for a new file, of its
/// directory), so that root writing another user's state does not leave root-owned files behind. When
/// that is not possible the write is refused and nothing is replaced.
fn keep_owner(path: &Path, dir: &Path, tmp: &File) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(have) = tmp.metadata().map(|m| (m.uid(), m.gid())) else {
        return Ok(());
    };
    // A new file takes its directory's owner only when root writes it (a user's file in a shared
    // directory stays theirs).
    let want = match fs::symlink_metadata(path) {
        Ok(m) => (m.uid(), m.gid()),
        Err(_) if have.0 == 0 => match fs::metadata(dir) {
            Ok(m) => (m.uid(), m.gid()),
            Err(_) => return Ok(()),
        },
        Err(_) => return Ok(()),
    };
    if have == want {
        return Ok(());
    }
    let (uid, gid) = want;
    std::os::unix::fs::fchown(tmp, Some(uid), Some(gid)).map_err(|source| StoreError::Owner {
        path: path.to_owned(),
        uid,
        gid,
        source,
    })
}

/// Writes `bytes` to a temporary file beside `path` (`0600`), syncs it and renames it over `path`.
/// Callers that may race with other writers must hold [`lock`].
pub fn replace(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    replace_with(path, |tmp| tmp.write_all(bytes))
}

/// A piece of a file's new content: a range of the current version, copied by the kernel, or text.
pub(crate) enum Piece {
    /// `len` bytes of the current file at `at`.
    Copy { at: u64, len: u64 },
    /// New text.
    Text(String),
}

/// Under the file's lock: opens the current version and asks `plan` (given it and its stamp) for
/// the new content as pieces; `None` leaves the file as it is and returns `None` (the caller then
/// takes its whole-text path). The pieces are written to a temporary file, synced and renamed over
/// `path`, as [`replace`] does; unchanged ranges never pass through this process.
pub(crate) fn update_pieces<T>(
    path: &Path,
    plan: impl FnOnce(&File, FileStamp) -> Option<(Vec<Piece>, T)>,
) -> Result<Option<(T, Option<FileStamp>)>, StoreError> {
    let guard = lock(path)?;
    let Ok(current) = open_nofollow(path) else {
        return Ok(None);
    };
    let Some(stamp) = current
        .metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| FileStamp::of_metadata(&m))
    else {
        return Ok(None);
    };
    let Some((pieces, value)) = plan(&current, stamp) else {
        return Ok(None);
    };
    replace_with(path, |tmp| {
        for piece in &pieces {
            match piece {
                Piece::Copy { at, len } => {
                    let mut src = &current;
                    src.seek(std::io::SeekFrom::Start(*at))?;
                    let copied = std::io::copy(&mut src.take(*len), tmp)?;
                    if copied != *len {
                        return Err(std::io::Error::other("the file shrank while it was copied"));
                    }
                }
                Piece::Text(text) => tmp.write_all(text.as_bytes())?,
            }
        }
        Ok(())
    })?;
    let stamp = FileStamp::of(path);
    drop(guard);
    Ok(Some((value, stamp)))
}

/// Writes a temporary file beside `path` (`0600`) with `write`, syncs it and renames it over `path`.
/// Callers that may race with other writers must hold [`lock`].
fn replace_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    ensure_dir(dir)?;
    let write_err = |source| StoreError::Write {
        path: path.to_owned(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(FILE_MODE))
        .tempfile_in(dir)
        .map_err(write_err)?;
    // The umask may have narrowed or (with 000) left the mode as asked; set it explicitly either way.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(FILE_MODE)).map_err(write_err)?;
    keep_owner(path, dir, tmp.as_file())?;
    write(tmp.as_file_mut()).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(write_err)?;
    Ok(())
}
