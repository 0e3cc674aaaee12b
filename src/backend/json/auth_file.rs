//! One agent's `auth-profiles.json` (the JSON generation): read, and changed under OpenClaw's lock
//! with an atomic rewrite.

use std::path::{Path, PathBuf};

use crate::store::atomic;
use crate::store::json::Document;
use serde_json::json;

use crate::store::auth_edit::check_top_level;
use crate::store::{AuthEdit, AuthProfiles, StoreError};

/// The largest `auth-profiles.json` modelauth reads (16 MiB); anything larger is not a credential store.
pub const AUTH_FILE_LIMIT: u64 = 16 << 20;

/// The `auth-profiles.json` of one agent.
#[derive(Debug, Clone)]
pub struct AuthFile {
    path: PathBuf,
}

impl AuthFile {
    /// The store at `path` (usually `agents/<id>/agent/auth-profiles.json`).
    pub fn new(path: impl Into<PathBuf>) -> AuthFile {
        AuthFile { path: path.into() }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the store; a missing file is an empty store. Corrupt files are errors naming the position.
    pub fn load(&self) -> Result<AuthProfiles, StoreError> {
        let Some(text) = atomic::read_text(&self.path, AUTH_FILE_LIMIT)? else {
            return Ok(AuthProfiles::default());
        };
        let duplicates = crate::store::dupkeys::duplicate_keys(&text);
        let doc = parse_text(&self.path, text)?;
        check_top_level(&doc, &self.path)?;
        let mut view = AuthProfiles::from_document(&doc);
        // JSON.parse (OpenClaw) and serde_json both keep the last copy; say which key hides another.
        view.warnings.extend(duplicates.into_iter().map(|key| {
            format!("key {key:?} appears more than once; the last copy is used and the earlier ones are dropped on the next write")
        }));
        for w in &view.warnings {
            tracing::warn!(file = %self.path.display(), "{w}");
        }
        Ok(view)
    }

    /// Reads the raw document (an empty one when the file is missing).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // white-box tests read raw documents
    pub fn load_document(&self) -> Result<Document, StoreError> {
        match atomic::read_text(&self.path, AUTH_FILE_LIMIT)? {
            Some(text) => parse_text(&self.path, text),
            None => Ok(Document::default()),
        }
    }

    /// Under the lock: re-reads the file, lets `change` edit it and writes it back atomically when it
    /// changed anything. An error (from reading or from `change`) writes nothing.
    pub fn update<T, E: From<StoreError>>(
        &self,
        change: impl FnOnce(&mut AuthEdit) -> Result<T, E>,
    ) -> Result<T, E> {
        atomic::update(&self.path, AUTH_FILE_LIMIT, |current| {
            let doc = match current {
                Some(text) => parse_text(&self.path, text)?,
                None => {
                    let mut doc = Document::default();
                    doc.root.insert("version".into(), json!(1));
                    doc.root.insert("profiles".into(), json!({}));
                    doc
                }
            };
            check_top_level(&doc, &self.path)?;
            let mut edit = AuthEdit::new(doc);
            let value = change(&mut edit)?;
            let (doc, changed) = edit.finish();
            let text = changed.then(|| doc.to_text());
            tracing::debug!(file = %self.path.display(), written = text.is_some(), "auth store update");
            Ok((text, value))
        })
    }
}

/// Parses the file's text and wipes the text buffer afterwards.
fn parse_text(path: &Path, text: String) -> Result<Document, StoreError> {
    let text = zeroize::Zeroizing::new(text);
    Document::parse_json(path, &text)
}
