//! Where each top-level entry of a `sessions.json` text sits, found in one validating pass that builds
//! no document: a 1M-session file is read, indexed and edited without holding a tree of it in memory
//! (issue 28 item 18).

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One top-level entry of the text, in file order.
pub(crate) struct Entry<'a> {
    /// The key, unescaped.
    pub key: Cow<'a, str>,
    /// Byte offset of the key's first character (inside the quotes) when the text spells it without
    /// escapes, so that the bytes there are the key itself.
    pub key_at: Option<usize>,
    /// The value's text.
    pub value: &'a str,
    /// Byte offset of the value.
    pub value_at: usize,
}

/// The entries of `text`, a JSON object, or the parser's error when it is not one (the caller then
/// reads it as a document to report the error as it always has).
pub(crate) fn entries(text: &str) -> Result<Vec<Entry<'_>>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let entries = de.deserialize_map(Top { base: text })?;
    de.end()?;
    Ok(entries)
}

/// The byte offset of `part` inside `base` (`part` is a slice of it).
fn offset(base: &str, part: &str) -> usize {
    part.as_ptr() as usize - base.as_ptr() as usize
}

/// Visits the top-level object.
struct Top<'a> {
    base: &'a str,
}

impl<'de> Visitor<'de> for Top<'de> {
    type Value = Vec<Entry<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of sessions")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key_seed(Key)? {
            let raw: &'de RawValue = map.next_value()?;
            let value = raw.get();
            out.push(Entry {
                key_at: match &key {
                    Cow::Borrowed(k) => Some(offset(self.base, k)),
                    Cow::Owned(_) => None,
                },
                key,
                value,
                value_at: offset(self.base, value),
            });
        }
        Ok(out)
    }
}

/// A key, borrowed from the text when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(Key)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// `value` pretty-printed as an entry of the top-level object: two-space indent, nested one level.
pub(crate) fn entry_text(value: &serde_json::Map<String, serde_json::Value>) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_owned());
    // A JSON string never holds a raw newline: every newline is layout.
    text.replace('\n', "\n  ")
}

/// One replacement in a text: `len` bytes at `at` become `with`.
pub(crate) struct Edit {
    pub at: usize,
    pub len: usize,
    pub with: String,
}

/// `text` with `edits` applied (sorted by position; an insertion, `len` 0, keeps its order among
/// others at the same place), and where each edit's replacement starts in the result.
pub(crate) fn apply(text: &str, edits: &mut [Edit]) -> (String, Vec<usize>) {
    edits.sort_by_key(|e| e.at); // stable: insertions at one place keep their order
    let grown: usize = edits.iter().map(|e| e.with.len()).sum();
    let mut out = String::with_capacity(text.len() + grown);
    let mut starts = Vec::with_capacity(edits.len());
    let mut from = 0;
    for e in edits.iter() {
        out.push_str(&text[from..e.at]);
        starts.push(out.len());
        out.push_str(&e.with);
        from = e.at + e.len;
    }
    out.push_str(&text[from..]);
    (out, starts)
}

/// The object `value` holds, or an empty one when it holds another kind of value (which a write
/// replaces, as a document write does).
pub(crate) fn object_at(value: &str) -> Map<String, Value> {
    object(value).unwrap_or_default()
}

/// The object `value` holds, or `None` when it is another kind of value.
pub(crate) fn object(value: &str) -> Option<Map<String, Value>> {
    if !value.starts_with('{') {
        return None;
    }
    serde_json::from_str(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_locate_keys_and_values_exactly() {
        let text = "{\n  \"a\": {\"x\": 1},\n  \"b\\u0041\": [1, 2],\n  \"c\": \"s\"\n}\n";
        let e = entries(text).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(&text[e[0].key_at.unwrap()..][..1], "a");
        assert_eq!(e[0].value, "{\"x\": 1}");
        assert_eq!(&text[e[0].value_at..][..e[0].value.len()], e[0].value);
        assert_eq!(e[1].key, "bA");
        assert_eq!(e[1].key_at, None, "an escaped key has no position");
        assert_eq!(e[2].value, "\"s\"");
    }

    #[test]
    fn entries_refuse_what_is_not_one_object() {
        assert!(entries("[]").is_err());
        assert!(entries("{\"a\": 1} x").is_err());
        assert!(entries("{\"a\": }").is_err());
    }

    #[test]
    fn apply_replaces_and_inserts_in_order() {
        let mut edits = vec![
            Edit { at: 5, len: 0, with: "!".into() },
            Edit { at: 0, len: 1, with: "H".into() },
        ];
        let (out, starts) = apply("hello", &mut edits);
        assert_eq!(out, "Hello!");
        assert_eq!(starts, vec![0, 5]);
    }

    #[test]
    fn entry_text_nests_one_level() {
        let mut m = serde_json::Map::new();
        m.insert("k".into(), serde_json::json!({"n": "a\nb"}));
        assert_eq!(entry_text(&m), "{\n    \"k\": {\n      \"n\": \"a\\nb\"\n    }\n  }");
    }
}
