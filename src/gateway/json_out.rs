//! A small JSON object writer for the hot answers (`resolve`, every request of a gateway): keys are
//! the caller's literals, written as they are; a string value that needs no escape (ids, reasons,
//! lanes: nearly all) is copied in one piece, and only the others go through serde_json's escaper.
//! The output is what serde_json writes for the same fields (compact, same order).

use std::fmt::Write as _;

/// Appends `s` as a JSON string.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// One JSON object being written: `{` now, `}` at [`Obj::end`].
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    /// Starts an object.
    pub fn new(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// Writes `"key":` (`key` is a literal that needs no escape).
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// `"key":"value"`.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        push_str(self.key(key), value);
        self
    }

    /// `"key":"value"` or `"key":null`.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => push_str(self.key(key), v),
            None => self.key(key).extend_from_slice(b"null"),
        }
        self
    }

    /// `"key":` and `value`'s `Display` text as a string, or `null`.
    pub fn shown(&mut self, key: &str, value: Option<&dyn std::fmt::Display>) -> &mut Self {
        let text = value.map(|v| {
            let mut s = String::new();
            let _ = write!(s, "{v}");
            s
        });
        self.opt_str(key, text.as_deref())
    }

    /// `"key":true|false`.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        let text: &[u8] = if value { b"true" } else { b"false" };
        self.key(key).extend_from_slice(text);
        self
    }

    /// `"key":n` or `"key":null`.
    pub fn opt_i64(&mut self, key: &str, value: Option<i64>) -> &mut Self {
        match value {
            Some(n) => {
                let _ = serde_json::to_writer(&mut *self.key(key), &n);
            }
            None => self.key(key).extend_from_slice(b"null"),
        }
        self
    }

    /// Ends the object.
    pub fn end(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_as_serde_json() {
        let mut out = Vec::new();
        let mut o = Obj::new(&mut out);
        o.str("a", "plain")
            .str("b", "quote \" back \\ tab \t é")
            .opt_str("c", None)
            .bool("d", true)
            .opt_i64("e", Some(-12))
            .opt_i64("f", None)
            .shown("g", Some(&42));
        o.end();
        let expected = serde_json::json!({"a": "plain", "b": "quote \" back \\ tab \t é",
            "c": null, "d": true, "e": -12, "f": null, "g": "42"});
        assert_eq!(String::from_utf8(out).unwrap(), expected.to_string());
    }
}
