//! A cheap identity of one version of a file: enough to notice that another process replaced it.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What identifies one version of a file cheaply (one `stat`): modification time, size and inode.
/// Every write of the store replaces the file by a rename, so each version has its own inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    mtime_ns: i128,
    len: u64,
    ino: u64,
}

impl FileStamp {
    /// The stamp of `path`, or `None` when it does not exist (or cannot be read).
    pub fn of(path: &Path) -> Option<FileStamp> {
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(FileStamp::of_metadata(&m))
    }

    /// The stamp of the file `m` describes (of an open file: the version it is).
    pub fn of_metadata(m: &std::fs::Metadata) -> FileStamp {
        FileStamp {
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            len: m.len(),
            ino: m.ino(),
        }
    }
}
