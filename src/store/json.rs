//! JSON documents of the state files: parsed with positions in errors, written pretty with a trailing
//! newline, and zeroed on drop because they may hold secrets.

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};
use zeroize::Zeroize;

use super::error::{StoreError, kind_of};

/// A parsed top-level JSON object that may hold secrets.
///
/// Its `Debug` never prints the content, and every string in it is overwritten when it is dropped.
/// Keys and values it does not understand are kept as they are, so a rewrite preserves them.
#[derive(Default, Clone)]
pub struct Document {
    /// The top-level object, in file order.
    pub root: Map<String, Value>,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Document({} keys, [REDACTED])", self.root.len())
    }
}

impl Drop for Document {
    fn drop(&mut self) {
        for (_, value) in self.root.iter_mut() {
            wipe(value);
        }
    }
}

/// Overwrites every string inside `value`.
fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.iter_mut().for_each(|(_, v)| wipe(v)),
        _ => {}
    }
}

impl Document {
    /// Parses strict JSON text; `path` only names the file in errors.
    pub fn parse_json(path: &Path, text: &str) -> Result<Document, StoreError> {
        if text.trim().is_empty() {
            let message = "the file is empty (expected a JSON object)".to_owned();
            return Err(StoreError::Syntax {
                path: path.to_owned(),
                format: "JSON",
                line: 1,
                column: 1,
                message,
            });
        }
        let value: Value = serde_json::from_str(text).map_err(|e| StoreError::Syntax {
            path: path.to_owned(),
            format: "JSON",
            line: e.line(),
            column: e.column(),
            message: syntax_message(&e),
        })?;
        Self::from_value(path, value)
    }

    /// Parses JSON5 text (comments, trailing commas, unquoted keys), as `openclaw.json` is read.
    pub fn parse_json5(path: &Path, text: &str) -> Result<Document, StoreError> {
        if let Some((line, column)) = too_deep(text, MAX_DEPTH) {
            return Err(StoreError::Syntax {
                path: path.to_owned(),
                format: "JSON5",
                line,
                column,
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            });
        }
        let value: Value = json5::from_str(text).map_err(|e| {
            // The parser's positions are 0-based; ours, like serde_json's, 1-based.
            let (line, column) = e.position().map_or((0, 0), |p| (p.line + 1, p.column + 1));
            let message = match (e.code(), e.position()) {
                (Some(code), _) => code.to_string(),
                (None, Some(p)) => {
                    let text = e.to_string();
                    text.strip_suffix(&format!(" at {p}"))
                        .unwrap_or(&text)
                        .to_owned()
                }
                (None, None) => e.to_string(),
            };
            StoreError::Syntax {
                path: path.to_owned(),
                format: "JSON5",
                line,
                column,
                message,
            }
        })?;
        Self::from_value(path, value)
    }

    /// Wraps a value that must be an object.
    fn from_value(path: &Path, value: Value) -> Result<Document, StoreError> {
        match value {
            Value::Object(root) => Ok(Document { root }),
            mut other => {
                let found = kind_of(&other);
                wipe(&mut other);
                Err(StoreError::NotObject {
                    path: path.to_owned(),
                    found,
                })
            }
        }
    }

    /// The document as pretty JSON (two-space indent) with a trailing newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.root).unwrap_or_else(|_| "{}".to_owned());
        text.push('\n');
        text
    }

    /// The object at `key`, created (or replaced, when it is not an object) as needed.
    pub fn object_mut(&mut self, key: &str) -> &mut Map<String, Value> {
        object_entry(&mut self.root, key)
    }
}

/// The object at `map[key]`, created (or replacing a non-object) as needed.
pub fn object_entry<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    let slot = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("slot was just made an object"),
    }
}

/// serde_json's message without the secret-bearing parts: only its category and position are kept,
/// because the message of a data error may quote file content.
fn syntax_message(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "the file ends in the middle of a value (truncated?)".to_owned(),
        Category::Syntax => "syntax error".to_owned(),
        Category::Data => "unexpected value".to_owned(),
        Category::Io => "read error".to_owned(),
    }
}

/// The deepest nesting of arrays and objects a config may have (the parser recurses per level).
pub const MAX_DEPTH: usize = 256;

/// Calls `f(i, line, line_start)` for every byte of JSON5 `text` outside strings and comments (lines
/// 1-based, `line_start` the byte where the line begins); stops at the first `Some`.
fn scan_code<R>(text: &str, mut f: impl FnMut(usize, usize, usize) -> Option<R>) -> Option<R> {
    let b = text.as_bytes();
    let (mut i, mut line, mut line_start) = (0usize, 1usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    if i < b.len() && b[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    if b[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => {
                if let Some(r) = f(i, line, line_start) {
                    return Some(r);
                }
            }
        }
        i += 1;
    }
    None
}

/// The 1-based column of byte `i` in a line starting at byte `line_start`.
fn column(text: &str, line_start: usize, i: usize) -> usize {
    text[line_start..i].chars().count() + 1
}

/// The 1-based line and column of the first `[` or `{` that opens level `limit + 1` of JSON5 `text`,
/// skipping strings and comments; `None` when the text stays within `limit`.
fn too_deep(text: &str, limit: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    scan_code(text, |i, line, start| {
        match b[i] {
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some((line, column(text, start, i)));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        None
    })
}

/// The first value of JSON5 `text` that a JSON rewrite cannot keep: `NaN`, `Infinity` (JSON has neither)
/// or an integer too large for 64 bits (it would lose digits). Returns its line, column and text.
pub fn unkeepable_value(text: &str) -> Option<(usize, usize, String)> {
    let b = text.as_bytes();
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    scan_code(text, |i, line, start| {
        if i > 0 && (word_byte(b[i - 1]) || b[i - 1] == b'.') || !word_byte(b[i]) {
            return None;
        }
        let end = (i..b.len()).find(|&j| !word_byte(b[j])).unwrap_or(b.len());
        let word = &text[i..end];
        let rest = text[end..].trim_start();
        if rest.starts_with(':') {
            return None; // an unquoted key
        }
        let too_big = if let Some(hex) = word.strip_prefix("0x").or(word.strip_prefix("0X")) {
            u64::from_str_radix(hex, 16).is_err()
        } else {
            word.bytes().all(|c| c.is_ascii_digit()) && word.parse::<u64>().is_err()
        };
        (matches!(word, "NaN" | "Infinity") || too_big)
            .then(|| (line, column(text, start, i), word.to_owned()))
    })
}
