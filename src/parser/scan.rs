//! Byte-level scanning that decides, without allocating, whether a message can hold a directive.

use super::Aliases;
use super::slashes::WordSlashes;

/// True for the characters JavaScript's `\s` matches (SPEC §3); unlike `char::is_whitespace`, not U+0085.
pub fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// True when `text` is empty or made of JavaScript whitespace only.
#[inline]
pub(super) fn is_blank_text(text: &str) -> bool {
    text.chars().all(is_js_whitespace)
}

/// True when byte `pos` (a char boundary) is at the start of the text or right after whitespace.
#[inline(always)]
pub(super) fn at_word_start(text: &str, pos: usize) -> bool {
    if pos == 0 {
        return true;
    }
    let b = text.as_bytes()[pos - 1];
    if b < 0x80 {
        return matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ');
    }
    after_wide_whitespace(text, pos)
}

/// True when the non-ASCII character ending at `pos` is whitespace (the rare branch of [`at_word_start`]).
#[cold]
#[inline(never)]
fn after_wide_whitespace(text: &str, pos: usize) -> bool {
    text[..pos]
        .chars()
        .next_back()
        .is_some_and(is_js_whitespace)
}

/// True when `rest` is empty or starts with whitespace or `:` (the end rule of heads and aliases).
#[inline]
pub(super) fn head_boundary(rest: &str) -> bool {
    match rest.as_bytes().first() {
        None | Some(b':') => true,
        Some(_) => rest.chars().next().is_some_and(is_js_whitespace),
    }
}

/// True when `after_slash` begins with `model` (any case) followed by the end rule.
#[inline]
fn is_head_at(after_slash: &str) -> bool {
    let b = after_slash.as_bytes();
    b.len() >= 5 && b[..5].eq_ignore_ascii_case(b"model") && head_boundary(&after_slash[5..])
}

/// Byte offset of the first `/model` head at or after `from` (>= 1: it follows an earlier head).
#[inline]
pub(super) fn find_head(text: &str, from: usize) -> Option<usize> {
    WordSlashes::scan_from(text.as_bytes(), from)
        .find(|&p| at_word_start(text, p) && is_head_at(&text[p + 1..]))
}

/// Where the first directive of a message may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Candidate {
    /// No head and no alias shortcut: the message has no directive.
    None,
    /// The first `/model` head starts at this byte.
    Head(usize),
    /// No head; the first alias shortcut starts at `start` and spans `len` bytes (slash included).
    Alias { start: usize, len: usize },
}

/// One pass over the `/` bytes of `text` from its first `/` at `first`: the first head, else the first
/// alias shortcut.
#[inline]
pub(super) fn first_candidate(text: &str, first: usize, aliases: &Aliases) -> Candidate {
    let mut alias = None;
    for pos in WordSlashes::after(text.as_bytes(), first) {
        if !at_word_start(text, pos) {
            continue;
        }
        let after = &text[pos + 1..];
        if is_head_at(after) {
            return Candidate::Head(pos);
        }
        if alias.is_none() {
            alias = aliases.match_at(after).map(|n| (pos, n + 1));
        }
    }
    match alias {
        Some((start, len)) => Candidate::Alias { start, len },
        None => Candidate::None,
    }
}
