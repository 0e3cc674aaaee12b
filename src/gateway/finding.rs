//! What `doctor` reports: findings, their severity, and the repairs `--fix` can make.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::store::atomic::FILE_MODE;
use crate::store::{AgentId, ProviderId};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Needs action; makes `doctor` fail.
    Error,
    /// Worth knowing.
    Warning,
    /// What was found, nothing wrong (e.g. the state generation in use).
    Info,
}

/// A repair `--fix` can make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fix {
    Chmod(PathBuf, u32, u32),
    RemoveStaleLock(PathBuf),
    DropOrderEntries(AgentId, ProviderId, Vec<String>),
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Severity.
    pub severity: Severity,
    /// What is wrong and what to do.
    pub message: String,
    /// True when `--fix` can repair it.
    pub fixable: bool,
    /// What `--fix` did about it, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(skip)]
    pub(super) fix: Option<Fix>,
}

impl Finding {
    pub(super) fn new(severity: Severity, message: String, fix: Option<Fix>) -> Finding {
        Finding {
            severity,
            message,
            fixable: fix.is_some(),
            fixed: None,
            fix,
        }
    }
    pub(crate) fn error(message: String) -> Finding {
        Finding::new(Severity::Error, message, None)
    }
    pub(crate) fn warning(message: String) -> Finding {
        Finding::new(Severity::Warning, message, None)
    }
    pub(crate) fn info(message: String) -> Finding {
        Finding::new(Severity::Info, message, None)
    }
}

/// Checks that one of OpenClaw's databases is private (0600), as OpenClaw creates them.
pub(crate) fn check_db_mode(path: &Path, out: &mut Vec<Finding>) {
    check_mode(path, FILE_MODE, None, out);
}

/// Checks the mode of `path` (when it exists) against `want`, never following a link, and that it is
/// owned by `owner` (the state directory's owner).
pub(super) fn check_mode(path: &Path, want: u32, owner: Option<u32>, out: &mut Vec<Finding>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if let Some(owner) = owner
        && meta.uid() != owner
    {
        out.push(Finding::warning(format!(
            "{} is owned by uid {}, the state directory by uid {owner}; that user's next command may fail \
             (chown it back: chown {owner} {})",
            path.display(),
            meta.uid(),
            path.display()
        )));
    }
    if meta.file_type().is_symlink() {
        out.push(Finding::warning(format!(
            "{} is a symbolic link; modelauth neither follows nor changes it (replace it with the file itself)",
            path.display()
        )));
        return;
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        out.push(Finding::new(
            Severity::Error,
            format!(
                "{} has mode {mode:o}; it should be {want:o} (others can read it)",
                path.display()
            ),
            Some(Fix::Chmod(path.to_owned(), mode, want)),
        ));
    }
}
