//! A small JSON object writer for the hot answers (`resolve`, every request of a gateway): keys are
//! the caller's literals, written as they are; a string value that needs no escape (ids, reasons,
//! lanes: nearly all) is copied in one piece, and only the others go through serde_json's escaper.
//! The output is what serde_json writes for the same fields (compact, same order).

/// Appends `s` as a JSON string.
#[inline]
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    push_contents(out, s);
    out.push(b'"');
}

/// Appends `s` escaped as the inside of a JSON string (serde_json's escapes: `\"`, `\\`, `\n` and
/// the other short forms, `\u00xx` for the remaining control characters).
fn push_contents(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut clean = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            0x00..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[clean..i]);
        clean = i + 1;
        out.extend_from_slice(&[b'\\', short]);
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
    out.extend_from_slice(&bytes[clean..]);
}

/// Whether `bytes` holds a quote, a backslash or a control character, eight bytes at a time.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    // Some byte of `v` is below `n` (exact for n <= 128).
    let below = |v: u64, n: u8| v.wrapping_sub(ONES * u64::from(n)) & !v & HIGH != 0;
    let special = |w: &[u8]| {
        // A short tail is padded with spaces, which need no escape.
        let mut word = [b' '; 8];
        word[..w.len()].copy_from_slice(w);
        let v = u64::from_le_bytes(word);
        below(v, 0x20)
            || below(v ^ (ONES * u64::from(b'"')), 1)
            || below(v ^ (ONES * u64::from(b'\\')), 1)
    };
    let mut words = bytes.chunks_exact(8);
    let rest = words.remainder();
    words.any(special) || (!rest.is_empty() && special(rest))
}

/// A `fmt::Write` that appends what it is given escaped, for a `Display` value written as a JSON
/// string without a `String` in between.
struct Escaping<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        push_contents(self.0, s);
        Ok(())
    }
}

/// One JSON object being written: `{` now, `}` at [`Obj::end`].
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    /// Starts an object.
    #[inline(always)]
    pub fn new(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// Writes `"key":` (`key` is a literal that needs no escape).
    #[inline(always)]
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        let out = &mut *self.out;
        out.reserve(key.len() + 4);
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        out
    }

    /// `"key":"value"`.
    #[inline(always)]
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        push_str(self.key(key), value);
        self
    }

    /// `"key":"value"` or `"key":null`.
    #[inline(always)]
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => push_str(self.key(key), v),
            None => self.key(key).extend_from_slice(b"null"),
        }
        self
    }

    /// `"key":` and `value`'s `Display` text as a string, or `null`.
    pub fn shown(&mut self, key: &str, value: Option<&dyn std::fmt::Display>) -> &mut Self {
        let out = self.key(key);
        match value {
            Some(v) => {
                out.push(b'"');
                // Writing into a Vec cannot fail.
                let _ = std::fmt::Write::write_fmt(&mut Escaping(&mut *out), format_args!("{v}"));
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        self
    }

    /// `"key":` and a resolver reason's text, or `null` (a fixed text is copied, no formatting).
    pub fn reason(&mut self, key: &str, value: Option<&crate::resolver::Reason>) -> &mut Self {
        match value.map(|r| (r, r.fixed_text())) {
            Some((_, Some(text))) => self.str(key, text),
            Some((r, None)) => self.shown(key, Some(r)),
            None => self.opt_str(key, None),
        }
    }

    /// `"key":true|false`.
    #[inline(always)]
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
    #[inline(always)]
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

    #[test]
    fn every_character_class_is_escaped_as_serde_json_does() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é€😀 \"long enough to cross several eight-byte words\" \\ end");
        for cut in 0..all.len() {
            let Some(s) = all.get(cut..) else { continue };
            let mut out = Vec::new();
            push_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
            let mut shown = Vec::new();
            let mut o = Obj::new(&mut shown);
            o.shown("k", Some(&s));
            o.end();
            assert_eq!(
                shown,
                serde_json::to_vec(&serde_json::json!({"k": s})).unwrap()
            );
        }
        for clean in ["", "a", "anthropic:work", "exactly8", "sixteen-bytes-ok"] {
            assert!(!needs_escape(clean.as_bytes()), "{clean}");
        }
        for dirty in ["\"", "12345678\\", "1234567\u{1f}", "abcdefgh12345678\t"] {
            assert!(needs_escape(dirty.as_bytes()), "{dirty:?}");
        }
    }
}
