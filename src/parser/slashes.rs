//! Finding the `/` bytes that may start a word, eight bytes at a time.
//!
//! A directive starts with a `/` at the start of the text or after whitespace. Messages with URLs and
//! paths hold many `/` inside words; testing each one costs a search call and an unpredictable branch.
//! After the first `/` (found by the CPU's vector search), the rest is scanned as 64-bit words: a lane
//! is a candidate when it holds `/` and the byte before it is ASCII whitespace or non-ASCII. Candidates
//! are a superset; the caller confirms each with [`super::scan::at_word_start`].

/// Every byte of a word set to `b`.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

const LOW7: u64 = splat(0x7F);
const HIGH: u64 = splat(0x80);

/// High bit of each lane set where the lane of `x` is zero (exact: no borrow between lanes).
#[inline(always)]
fn zero_lanes(x: u64) -> u64 {
    !(((x & LOW7).wrapping_add(LOW7)) | x) & HIGH
}

/// High bit set in lanes that are ASCII whitespace (`\t \n \v \f \r` or space) or any non-ASCII byte.
#[inline(always)]
fn may_precede_word(v: u64) -> u64 {
    let low = v & LOW7;
    // For a 7-bit lane b, b + (0x80 - n) sets the high bit exactly when b >= n (no carry out of the lane).
    let ge9 = low.wrapping_add(splat(0x80 - 9));
    let ge14 = low.wrapping_add(splat(0x80 - 14));
    let control_ws = ge9 & !ge14;
    (control_ws | zero_lanes(v ^ splat(b' ')) | v) & HIGH
}

/// Reads eight bytes at `at` as a little-endian word (lane `k` is byte `at + k`).
#[inline(always)]
fn load(bytes: &[u8], at: usize) -> u64 {
    let mut lanes = [0u8; 8];
    lanes.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(lanes)
}

/// Iterator over the positions of `/` bytes that may start a word, in increasing order.
pub(super) struct WordSlashes<'a> {
    bytes: &'a [u8],
    /// A `/` already found and not yet returned.
    first: Option<usize>,
    /// Where the word-wise scan goes on (always >= 1 once used).
    next_from: usize,
}

impl<'a> WordSlashes<'a> {
    /// Candidates at or after byte `from` (>= 1), by the word-wise scan alone: for the short rest of a
    /// message after a directive, where a vector search's set-up costs more than it saves.
    #[inline(always)]
    pub(super) fn scan_from(bytes: &'a [u8], from: usize) -> Self {
        debug_assert!(from >= 1);
        WordSlashes {
            bytes,
            first: None,
            next_from: from.max(1),
        }
    }

    /// Candidates starting with the `/` at `first` (already found by the caller), then the scan.
    #[inline(always)]
    pub(super) fn after(bytes: &'a [u8], first: usize) -> Self {
        WordSlashes {
            bytes,
            first: Some(first),
            next_from: first + 1,
        }
    }

    /// The first candidate at or after `from` (>= 1), scanning word-wise then byte-wise.
    #[inline(always)]
    fn scan_words(&self, mut from: usize) -> Option<usize> {
        let b = self.bytes;
        while from + 8 <= b.len() {
            let here = load(b, from);
            let before = load(b, from - 1);
            let hits = zero_lanes(here ^ splat(b'/')) & may_precede_word(before);
            if hits != 0 {
                return Some(from + (hits.trailing_zeros() / 8) as usize);
            }
            from += 8;
        }
        (from..b.len()).find(|&i| b[i] == b'/' && (b[i - 1] >= 0x80 || is_ascii_ws(b[i - 1])))
    }
}

/// ASCII whitespace of JavaScript's `\s`.
#[inline(always)]
fn is_ascii_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

impl Iterator for WordSlashes<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let found = self.scan_words(self.next_from)?;
        self.next_from = found + 1;
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: every `/` at the start, or after ASCII whitespace or a non-ASCII byte,
    /// except that with `first_always` the first `/` at or after `from` is always reported.
    fn naive(bytes: &[u8], from: usize, first_always: bool) -> Vec<usize> {
        let mut out = Vec::new();
        for i in from..bytes.len() {
            if bytes[i] != b'/' {
                continue;
            }
            let first = first_always && out.is_empty();
            if first || i == 0 || bytes[i - 1] >= 0x80 || is_ascii_ws(bytes[i - 1]) {
                out.push(i);
            }
        }
        out
    }

    /// Both ways the parser walks: from a `/` found by vector search (the first of a message), and
    /// the scan alone (after a head); each compared with the plain definition.
    fn check(text: &str, from: usize) {
        let bytes = text.as_bytes();
        let found = memchr::memchr(b'/', &bytes[from..]).map(|f| from + f);
        let got: Vec<usize> =
            found.map_or_else(Vec::new, |f| WordSlashes::after(bytes, f).collect());
        assert_eq!(got, naive(bytes, from, true), "{text:?} from {from}");
        let from = from.max(1);
        let got: Vec<usize> = WordSlashes::scan_from(bytes, from).collect();
        assert_eq!(
            got,
            naive(bytes, from, false),
            "{text:?} scanned from {from}"
        );
    }

    #[test]
    fn matches_the_plain_definition() {
        let texts = [
            "see https://example.com/docs/model/home and /model x",
            "/model",
            "a\t/b\n/c\r/d\u{b}/e\u{c}/f /g",
            "\u{a0}/model \u{3000}/x é/y",
            "////// / // /",
            "no slashes at all in this rather long message, really none",
            "x/y/z/ /w/ 0123456/ 01234567/ 012345678 /",
        ];
        for text in texts {
            for from in 0..text.len() {
                check(text, from);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_plain_definition_on_any_text(
            text in "[/ a\t\n\r\u{b}\u{c}é\u{a0}\u{3000}.:]{0,80}",
            from in 0usize..80,
        ) {
            let from = (0..=from.min(text.len())).rev().find(|&f| text.is_char_boundary(f)).unwrap_or(0);
            check(&text, from);
        }
    }

    #[test]
    fn whitespace_lanes_are_exact_for_every_byte() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b, b'a', b, b'/', 0, 0xFF, b'\t', b]);
            let lanes = may_precede_word(word).to_le_bytes();
            let expect = b >= 0x80 || is_ascii_ws(b);
            assert_eq!(lanes[0] != 0, expect, "byte {b:#x}");
            assert_eq!(lanes[2] != 0, expect, "byte {b:#x}");
            assert_eq!(lanes[7] != 0, expect, "byte {b:#x}");
            assert_eq!(lanes[1], 0);
            assert_eq!(lanes[4], 0);
            assert_ne!(lanes[5], 0);
            assert_ne!(lanes[6], 0);
        }
    }
}
