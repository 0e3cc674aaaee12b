//! Where every entry of one version of `sessions.json` sits (32 bytes an entry), so that a key the
//! file does not hold costs one `stat`, a key it holds one read of that entry's bytes, and a write
//! parses and prints only the entries that changed (issue 28 item 18).

use std::borrow::Cow;
use std::fmt;
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde_json::{Map, Value};

use crate::store::hash::IdHasher;
use super::session_layout::{Edit, Entry, apply, entry_text};
use crate::store::SessionRecord;
use crate::store::FileStamp;

/// A key spelled with escapes: its bytes in the file are not the key.
const ESCAPED: u32 = u32::MAX;

/// Where one entry sits.
#[derive(Clone, Copy)]
struct Span {
    hash: u64,
    key_at: u64,
    key_len: u32,
    value_len: u32,
    value_at: u64,
}

/// The entries of one version of the file, sorted by key hash. A hash collision only costs a read:
/// the key's bytes decide.
pub(crate) struct KeyIndex {
    /// The version described (`None`: not yet known, or the file did not exist).
    pub stamp: Option<FileStamp>,
    spans: Vec<Span>,
    /// Where the last entry's value ends: new entries go after it (`None`: no entry).
    end: Option<u64>,
}

impl fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyIndex({} keys, {:?})", self.spans.len(), self.stamp)
    }
}

/// What the index says of one key.
pub(crate) enum Lookup {
    /// Not in the file.
    Absent,
    /// In the file: its value when it is an object.
    Found(Option<Map<String, Value>>),
    /// The index cannot tell (an escaped key, or the file changed): read the file.
    Unknown,
}

/// The hash of one session key.
fn key_hash(key: &str) -> u64 {
    IdHasher::of_ids([key])
}

impl KeyIndex {
    /// The index of `entries` (in file order), or `None` when a key appears twice (the file is then
    /// read and written as a whole document, where the last value wins).
    pub fn of(entries: &[Entry<'_>]) -> Option<KeyIndex> {
        let mut spans: Vec<(Span, usize)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let span = Span {
                    hash: key_hash(&e.key),
                    key_at: e.key_at.unwrap_or(0) as u64,
                    key_len: if e.key_at.is_some() { e.key.len() as u32 } else { ESCAPED },
                    value_at: e.value_at as u64,
                    value_len: e.value.len() as u32,
                };
                (span, i)
            })
            .collect();
        spans.sort_unstable_by_key(|(s, _)| s.hash);
        let repeated = spans
            .windows(2)
            .any(|w| w[0].0.hash == w[1].0.hash && entries[w[0].1].key == entries[w[1].1].key);
        if repeated {
            return None;
        }
        let end = entries.last().map(|e| (e.value_at + e.value.len()) as u64);
        Some(KeyIndex {
            stamp: None,
            spans: spans.into_iter().map(|(s, _)| s).collect(),
            end,
        })
    }

    /// This index as the description of version `stamp`.
    pub fn at(self, stamp: Option<FileStamp>) -> KeyIndex {
        KeyIndex { stamp, ..self }
    }

    /// Where the spans whose key hash is `key`'s are.
    fn candidates(&self, key: &str) -> std::ops::Range<usize> {
        let h = key_hash(key);
        let from = self.spans.partition_point(|s| s.hash < h);
        from..from + self.spans[from..].partition_point(|s| s.hash == h)
    }

    /// True when the file does not hold `key`.
    pub fn lacks(&self, key: &str) -> bool {
        self.candidates(key).is_empty()
    }

    /// Which span holds `key`, reading the version indexed through `read` (bytes at an offset):
    /// `Ok(None)` when none, `Err(())` when this index cannot tell (an escaped key, a collision).
    fn find(&self, read: &Reader<'_>, key: &str) -> Result<Option<usize>, ()> {
        let candidates = self.candidates(key);
        if candidates.is_empty() {
            return Ok(None);
        }
        for i in candidates {
            let s = self.spans[i];
            if s.key_len == ESCAPED {
                return Err(());
            }
            if read(s.key_at, s.key_len as usize).as_deref() == Some(key) {
                return Ok(Some(i));
            }
        }
        // A hash the index holds whose bytes are not the key: a collision, or an index that is not
        // this text's; the document path decides.
        Err(())
    }

    /// Reads `key`'s entry from the file at `path`, which must still be version `stamp`.
    pub fn read_entry(&self, path: &Path, stamp: Option<FileStamp>, key: &str) -> Lookup {
        if self.lacks(key) {
            return Lookup::Absent;
        }
        let Ok(file) = crate::store::atomic::open_nofollow(path) else {
            return Lookup::Unknown;
        };
        if file.metadata().ok().map(|m| FileStamp::of_metadata(&m)) != stamp {
            return Lookup::Unknown;
        }
        let read = file_reader(&file);
        // An escaped key, a hash collision, or a file that is not what its stamp says: the full
        // read decides.
        let Ok(Some(i)) = self.find(&*read, key) else {
            return Lookup::Unknown;
        };
        let s = self.spans[i];
        match read(s.value_at, s.value_len as usize) {
            Some(v) if v.starts_with('{') => {
                serde_json::from_str(&v).map_or(Lookup::Unknown, |map| Lookup::Found(Some(map)))
            }
            Some(_) => Lookup::Found(None),
            None => Lookup::Unknown,
        }
    }

    /// `text` (the version indexed) with `records` written into their entries, and the index of the
    /// result; `None` when this path cannot do it (no entry yet, an escaped key, a key given twice):
    /// the caller rewrites the document whole.
    pub fn splice(&self, text: &str, records: &[(&str, &SessionRecord)]) -> Option<(String, KeyIndex)> {
        let read: &Reader<'_> = &|at, len| text.get(at as usize..at as usize + len).map(Cow::Borrowed);
        let (mut edits, targets, end) = self.edits(read, records)?;
        let (out, starts) = apply(text, &mut edits);
        Some((out, self.moved(&edits, &targets, &starts, end)))
    }

    /// The file `file` (the version indexed, `len` bytes) with `records` written into their entries,
    /// as pieces: ranges of the file copied as they are and the new text of the changed entries; and
    /// the index of the result. `None` as for [`KeyIndex::splice`].
    pub fn pieces(
        &self,
        file: &std::fs::File,
        len: u64,
        records: &[(&str, &SessionRecord)],
    ) -> Option<(Vec<Piece>, KeyIndex)> {
        let (edits, targets, end) = self.edits(&*file_reader(file), records)?;
        let mut pieces = Vec::with_capacity(2 * edits.len() + 1);
        let mut starts = Vec::with_capacity(edits.len());
        let (mut from, mut grown) = (0u64, 0i64);
        for e in edits.iter() {
            pieces.push(Piece::Copy { at: from, len: e.at as u64 - from });
            starts.push((e.at as i64 + grown) as usize);
            grown += e.with.len() as i64 - e.len as i64;
            from = (e.at + e.len) as u64;
            pieces.push(Piece::Text(e.with.clone()));
        }
        pieces.push(Piece::Copy { at: from, len: len.checked_sub(from)? });
        Some((pieces, self.moved(&edits, &targets, &starts, end)))
    }

    /// The edits that write `records`, sorted by position, with what each does to the index, and
    /// where new entries go.
    fn edits(
        &self,
        read: &Reader<'_>,
        records: &[(&str, &SessionRecord)],
    ) -> Option<(Vec<Edit>, Vec<Target>, usize)> {
        let end = self.end? as usize;
        let mut edits: Vec<(Edit, Target)> = Vec::with_capacity(records.len());
        let mut seen = std::collections::HashSet::new();
        for (key, record) in records {
            if !seen.insert(*key) {
                return None; // given twice: the document path applies both in order
            }
            let Some(i) = self.find(read, key).ok()? else {
                edits.push(added_entry(key, record, end)?);
                continue;
            };
            let s = self.spans[i];
            let mut entry = super::session_layout::object_at(&read(s.value_at, s.value_len as usize)?);
            record.write_into(&mut entry);
            let with = entry_text(&entry);
            edits.push((Edit { at: s.value_at as usize, len: s.value_len as usize, with }, Target::Replaced(i)));
        }
        edits.sort_by_key(|(e, _)| e.at);
        let (edits, targets): (Vec<Edit>, Vec<Target>) = edits.into_iter().unzip();
        Some((edits, targets, end))
    }

    /// The index after `edits` (sorted, with their `targets` and where each starts in the result).
    fn moved(&self, edits: &[Edit], targets: &[Target], starts: &[usize], end: usize) -> KeyIndex {
        // How far the text before each edit moved.
        let mut shift = Vec::with_capacity(edits.len() + 1);
        let mut total: i64 = 0;
        shift.push(0);
        for e in edits {
            total += e.with.len() as i64 - e.len as i64;
            shift.push(total);
        }
        let mut spans: Vec<Span> = self
            .spans
            .iter()
            .map(|s| {
                let before = edits.partition_point(|e| (e.at as u64) < s.value_at);
                let d = shift[before];
                Span { key_at: (s.key_at as i64 + d) as u64, value_at: (s.value_at as i64 + d) as u64, ..*s }
            })
            .collect();
        let mut new_end = (end as i64 + total) as u64;
        for ((e, t), &start) in edits.iter().zip(targets).zip(starts) {
            match *t {
                Target::Replaced(i) => spans[i].value_len = e.with.len() as u32,
                Target::Added { hash, key_len, quoted, value } => {
                    let key_at = (start + 5) as u64; // after `,\n  "`
                    let value_at = (start + 4 + quoted + 2) as u64;
                    spans.push(Span { hash, key_at, key_len, value_at, value_len: value as u32 });
                    new_end = value_at + value as u64;
                }
            }
        }
        spans.sort_by_key(|s| s.hash);
        KeyIndex { stamp: None, spans, end: Some(new_end) }
    }
}

/// Reads `len` bytes of the indexed version at an offset (`None`: not there, or not UTF-8).
type Reader<'a> = dyn Fn(u64, usize) -> Option<Cow<'a, str>> + 'a;

/// A [`Reader`] of `file`'s bytes (`pread`, checked as UTF-8).
fn file_reader(file: &std::fs::File) -> Box<Reader<'_>> {
    Box::new(move |at, n| {
        let mut buf = vec![0u8; n];
        file.read_exact_at(&mut buf, at).ok()?;
        String::from_utf8(buf).ok().map(Cow::Owned)
    })
}

/// A piece of a file's new content.
pub(crate) use crate::store::atomic::Piece;

/// The edit that adds `key`'s entry after the last one (which ends at `end`).
fn added_entry(key: &str, record: &SessionRecord, end: usize) -> Option<(Edit, Target)> {
    let mut entry = Map::new();
    record.write_into(&mut entry);
    let quoted = serde_json::to_string(key).ok()?;
    let plain = quoted.len() == key.len() + 2;
    let value = entry_text(&entry);
    let with = format!(",\n  {quoted}: {value}");
    let target = Target::Added {
        hash: key_hash(key),
        key_len: if plain { key.len() as u32 } else { ESCAPED },
        quoted: quoted.len(),
        value: value.len(),
    };
    Some((Edit { at: end, len: 0, with }, target))
}

/// What an edit does to the index.
enum Target {
    /// Replaces the value of span `i`.
    Replaced(usize),
    /// Adds an entry: its key's hash and length (or [`ESCAPED`]), the quoted key's length and the
    /// value's.
    Added { hash: u64, key_len: u32, quoted: usize, value: usize },
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::session_layout::entries;

    /// The spans of an index, comparable.
    fn spans(i: &KeyIndex) -> Vec<(u64, u64, u32, u64, u32)> {
        let mut v: Vec<_> =
            i.spans.iter().map(|s| (s.hash, s.key_at, s.key_len, s.value_at, s.value_len)).collect();
        v.sort_unstable();
        v
    }

    fn record(n: u32) -> SessionRecord {
        SessionRecord {
            auth_profile_override: Some(format!("p:{n}")),
            compaction_count: Some(n),
            ..SessionRecord::default()
        }
    }

    proptest::proptest! {
        /// The index a splice computes is the index of the text it produced.
        #[test]
        fn a_spliced_index_is_the_index_of_the_result(
            writes in proptest::collection::vec(proptest::collection::btree_map(0usize..8, 0u32..1000, 1..4), 1..6)
        ) {
            let mut text = "{\n  \"k0\": {\n    \"x\": [1, 2]\n  },\n  \"note\": 3\n}\n".to_owned();
            let mut index = KeyIndex::of(&entries(&text).unwrap()).unwrap();
            for batch in writes {
                let keys: Vec<String> = batch.keys().map(|k| format!("k{k}")).collect();
                let recs: Vec<SessionRecord> = batch.values().map(|&n| record(n)).collect();
                let pairs: Vec<(&str, &SessionRecord)> = keys.iter().map(String::as_str).zip(&recs).collect();
                let (out, next) = index.splice(&text, &pairs).unwrap();
                // The copy path (ranges of the file and new text) writes the same and indexes the same.
                let file = tempfile::tempfile().unwrap();
                std::io::Write::write_all(&mut &file, text.as_bytes()).unwrap();
                let (pieces, by_pieces) = index.pieces(&file, text.len() as u64, &pairs).unwrap();
                let assembled: String = pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Copy { at, len } => text[*at as usize..(*at + *len) as usize].to_owned(),
                        Piece::Text(t) => t.clone(),
                    })
                    .collect();
                proptest::prop_assert_eq!(&assembled, &out);
                proptest::prop_assert_eq!(spans(&by_pieces), spans(&next));
                let scanned = KeyIndex::of(&entries(&out).unwrap()).unwrap();
                proptest::prop_assert_eq!(spans(&next), spans(&scanned));
                proptest::prop_assert_eq!(next.end, scanned.end);
                text = out;
                index = next;
            }
        }
    }
}
