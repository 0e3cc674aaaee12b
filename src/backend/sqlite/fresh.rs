//! A freshness check for OpenClaw's databases that takes no lock (issue 32): SQLite's own commit
//! counters, read with one `pread` per file from descriptors kept open.
//!
//! - A rollback-journal database bumps the *file change counter* (header bytes 24..28) on every
//!   commit that changed it.
//! - A WAL database commits into its `-wal` file; every commit changes the wal-index header at the
//!   start of its `-shm` file (`iChange`, `mxFrame`, the salts; two copies, written one after the
//!   other).
//!
//! Equal tokens therefore mean that no commit happened in between, and the caller may answer from
//! what it read last; a different token (or none) sends it to the authoritative check
//! (`PRAGMA data_version`, under SQLite's locks). The token is taken before that check, so a commit
//! racing with it leaves the stored token older than the data: the next call checks again.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The bytes read from a database file: up to the end of the change counter (byte 18 says WAL).
const HEADER: usize = 28;
/// The two copies of the wal-index header at the start of a `-shm` file.
const WAL_INDEX: usize = 96;

/// One watched database file.
#[derive(Debug)]
struct Watched {
    path: PathBuf,
    db: Option<File>,
    shm: Option<File>,
}

/// The watched database files of one connection.
#[derive(Debug, Default)]
pub struct Freshness {
    files: Vec<Watched>,
}

impl Freshness {
    /// Watches exactly `paths` (the attached databases), keeping what is already open.
    pub fn watch(&mut self, paths: &[&Path]) {
        if self.files.len() == paths.len() && self.files.iter().zip(paths).all(|(w, p)| w.path == *p) {
            return;
        }
        self.files = paths
            .iter()
            .map(|p| Watched {
                path: p.to_path_buf(),
                db: None,
                shm: None,
            })
            .collect();
    }

    /// The commit counters of every watched file, or `None` when one cannot be read (the caller then
    /// takes the authoritative check).
    pub fn token(&mut self) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(self.files.len() * (HEADER + WAL_INDEX));
        for w in &mut self.files {
            let db = open_once(&mut w.db, &w.path)?;
            let mut header = [0u8; HEADER];
            db.read_exact_at(&mut header, 0).ok()?;
            out.extend_from_slice(&header);
            if header[18] == 2 {
                let shm_path = with_suffix(&w.path, "-shm");
                let shm = open_once(&mut w.shm, &shm_path)?;
                let mut index = [0u8; WAL_INDEX];
                shm.read_exact_at(&mut index, 0).ok()?;
                // A writer between its two copies: cannot tell yet.
                if index[..48] != index[48..] {
                    return None;
                }
                out.extend_from_slice(&index[..48]);
            }
        }
        Some(out)
    }
}

/// The file in `slot`, opened on first use.
fn open_once<'a>(slot: &'a mut Option<File>, path: &Path) -> Option<&'a File> {
    if slot.is_none() {
        *slot = Some(crate::store::atomic::open_nofollow(path).ok()?);
    }
    slot.as_ref()
}

/// `path` with `suffix` appended to its file name (`x.sqlite` → `x.sqlite-shm`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commits from another connection change the token, in both journal modes; reads do not.
    #[test]
    fn every_commit_changes_the_token_and_reads_do_not() {
        for mode in ["DELETE", "WAL"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.sqlite");
            let writer = rusqlite::Connection::open(&path).unwrap();
            writer
                .execute_batch(&format!("PRAGMA journal_mode={mode}; CREATE TABLE t(v); INSERT INTO t VALUES (0);"))
                .unwrap();
            let mut fresh = Freshness::default();
            fresh.watch(&[&path]);
            let mut last = fresh.token().expect("readable");
            let _: i64 = writer.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(fresh.token().unwrap(), last, "{mode}: a read is no commit");
            for i in 1..20 {
                writer.execute("UPDATE t SET v = ?1", [i]).unwrap();
                let now = fresh.token().expect("readable");
                assert_ne!(now, last, "{mode}: commit {i} unseen");
                last = now;
            }
        }
    }
}
