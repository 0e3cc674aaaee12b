//! One agent's `sessions.json` (the JSON generation): read entry by entry, indexed by where each
//! entry sits, and written by changing only the changed entries. Every other field and every other
//! entry is preserved on rewrite.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};


use crate::store::atomic;
use crate::store::json::{Document, object_entry};
use crate::store::{FileStamp, SessionRecord, StoreError};

use super::session_index::{KeyIndex, Lookup};
use super::session_layout::{self as layout, object};

/// The largest `sessions.json` modelauth reads (256 MiB; gateways with many chats grow large files).
pub const SESSIONS_FILE_LIMIT: u64 = 256 << 20;

/// One agent's `sessions.json`. Clones share one [`KeyIndex`].
#[derive(Debug, Clone)]
pub struct SessionsFile {
    path: PathBuf,
    index: Arc<Mutex<Option<Arc<KeyIndex>>>>,
}

impl SessionsFile {
    /// The file at `path` (usually `agents/<id>/sessions/sessions.json`).
    pub fn new(path: impl Into<PathBuf>) -> SessionsFile {
        SessionsFile {
            path: path.into(),
            index: Arc::default(),
        }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every entry's owned fields; a missing file has no entries. Non-object entries are skipped.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // white-box tests read whole files
    pub fn load(&self) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let before = FileStamp::of(&self.path);
        self.read_all(before)
    }

    /// Reads one entry's owned fields. A key the file does not hold costs one `stat` when the file is
    /// unchanged since this handle last read or wrote it, and a key it holds one read of that entry's
    /// bytes; otherwise the file is read (and indexed).
    pub fn load_one(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        let before = FileStamp::of(&self.path);
        if let Some(index) = self.index_of(before) {
            match index.read_entry(&self.path, before, key) {
                Lookup::Absent => return Ok(None),
                Lookup::Found(entry) => return Ok(entry.as_ref().map(SessionRecord::from_entry)),
                Lookup::Unknown => {}
            }
        }
        Ok(self
            .read_all(before)?
            .into_iter()
            .find_map(|(k, r)| (k == key).then_some(r)))
    }

    /// Every entry's owned fields, or `None` without reading when the file is known not to hold `key`
    /// (as for [`SessionsFile::load_one`]). For a caller that, having to read the file for one key,
    /// keeps the others too.
    pub fn load_all_unless_absent(
        &self,
        key: &str,
    ) -> Result<Option<Vec<(String, SessionRecord)>>, StoreError> {
        let before = FileStamp::of(&self.path);
        if self.index_of(before).is_some_and(|i| i.lacks(key)) {
            return Ok(None);
        }
        self.read_all(before).map(Some)
    }

    /// Reads and indexes the file, whose version before the read was `before`. The text is walked
    /// entry by entry: no document of the whole file is built.
    fn read_all(&self, before: Option<FileStamp>) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let Some(text) = atomic::read_text(&self.path, SESSIONS_FILE_LIMIT)? else {
            return Ok(Vec::new());
        };
        let Ok(entries) = layout::entries(&text) else {
            // Not one object: the document reader names the problem.
            return Ok(records_of(&Document::parse_json(&self.path, &text)?));
        };
        let Some(index) = KeyIndex::of(&entries) else {
            // A key written twice: read as a document reads it (the last value wins).
            return Ok(records_of(&Document::parse_json(&self.path, &text)?));
        };
        // Index only a version that did not change while it was read.
        if FileStamp::of(&self.path) == before {
            self.set_index(index.at(before));
        }
        Ok(entries
            .iter()
            .filter_map(|e| Some((e.key.to_string(), SessionRecord::from_entry(&object(e.value)?))))
            .collect())
    }

    /// The index, when it describes version `stamp`.
    fn index_of(&self, stamp: Option<FileStamp>) -> Option<Arc<KeyIndex>> {
        let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        index.as_ref().filter(|i| i.stamp == stamp).cloned()
    }

    /// Replaces the index.
    fn set_index(&self, index: KeyIndex) {
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(index));
    }

    /// The raw document (empty when the file is missing).
    pub fn load_document(&self) -> Result<Document, StoreError> {
        match atomic::read_text(&self.path, SESSIONS_FILE_LIMIT)? {
            Some(text) => Document::parse_json(&self.path, &text),
            None => Ok(Document::default()),
        }
    }

    /// Under the lock: writes each record's owned fields into its entry (creating missing entries),
    /// keeping every other field and entry byte for byte. Only the changed entries are parsed and
    /// printed; the rest of the text is copied.
    pub fn store<'a>(
        &self,
        records: impl IntoIterator<Item = (&'a str, &'a SessionRecord)>,
    ) -> Result<(), StoreError> {
        let records: Vec<(&str, &SessionRecord)> = records.into_iter().collect();
        if records.is_empty() {
            return Ok(());
        }
        // The version this handle indexed is still there: copy it around the changed entries.
        let quick = atomic::update_pieces(&self.path, |file, stamp| {
            let index = self.index_of(Some(stamp))?;
            index.pieces(file, file.metadata().ok()?.len(), &records)
        })?;
        if let Some((index, stamp)) = quick {
            self.set_index(index.at(stamp));
            return Ok(());
        }
        let (index, stamp) = atomic::update_stamped(&self.path, SESSIONS_FILE_LIMIT, |current| {
            let Some(text) = current else {
                return whole(&self.path, None, &records);
            };
            // The copy path declined: this handle had no index of this version (another writer's),
            // or the change needs the document path. Index the text found, and splice if it can.
            let index = layout::entries(&text).ok().and_then(|e| KeyIndex::of(&e));
            match index.and_then(|i| i.splice(&text, &records)) {
                Some((text, index)) => Ok::<_, StoreError>((Some(text), Some(index))),
                None => whole(&self.path, Some(&text), &records),
            }
        })?;
        match index {
            Some(index) => self.set_index(index.at(stamp)),
            None => *self.index.lock().unwrap_or_else(|e| e.into_inner()) = None,
        }
        Ok(())
    }
}

/// The whole file rewritten as a document with `records` written into it (a new file, or one the
/// entry-by-entry path does not take: not one object, a key written twice, no entry yet).
/// Also returns the index of the text written.
#[allow(clippy::type_complexity)]
fn whole(
    path: &Path,
    text: Option<&str>,
    records: &[(&str, &SessionRecord)],
) -> Result<(Option<String>, Option<KeyIndex>), StoreError> {
    let mut doc = match text {
        Some(text) => Document::parse_json(path, text)?,
        None => Document::default(),
    };
    for (key, record) in records {
        record.write_into(object_entry(&mut doc.root, key));
    }
    let text = doc.to_text();
    let index = layout::entries(&text).ok().and_then(|e| KeyIndex::of(&e));
    Ok((Some(text), index))
}

/// The owned fields of every entry of `doc` that is an object.
fn records_of(doc: &Document) -> Vec<(String, SessionRecord)> {
    doc.root
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), SessionRecord::from_entry(v.as_object()?))))
        .collect()
}
