//! Removing the directive's span from the message (the "cleaned" text of SPEC §3).

use std::borrow::Cow;

use super::scan::{is_blank_text, is_js_whitespace};

/// A space or a tab.
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The byte range to cut for a directive spanning `start..end`, by the line-aware rules of SPEC §3.
pub(super) fn cut_range(text: &str, start: usize, end: usize) -> (usize, usize) {
    let b = text.as_bytes();
    let line_start = b[..start]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let blanks_before = b[line_start..start].iter().all(|&c| is_blank(c));
    let after_blanks = end + b[end..].iter().take_while(|&&c| is_blank(c)).count();
    let line_break_end = match (b.get(after_blanks), b.get(after_blanks + 1)) {
        (None, _) => Some(after_blanks),
        (Some(b'\n'), _) => Some(after_blanks + 1),
        (Some(b'\r'), Some(b'\n')) => Some(after_blanks + 2),
        _ => None,
    };
    if let (true, Some(line_end)) = (blanks_before, line_break_end) {
        return (line_start, line_end);
    }
    if b.get(end).copied().is_some_and(is_blank) {
        return (start, end + 1);
    }
    let at_line_end = matches!(b.get(end), None | Some(b'\r') | Some(b'\n'));
    let words_before = !text[line_start..start].chars().all(is_js_whitespace);
    if at_line_end && words_before && is_blank(b[start - 1]) {
        return (start - 1, end);
    }
    (start, end)
}

/// The message with the directive's span removed; only-whitespace results become empty.
///
/// Borrows when the cut is a prefix or a suffix of the message; allocates only when text remains on
/// both sides.
pub(super) fn remove_span(text: &str, start: usize, end: usize) -> Cow<'_, str> {
    if start == 0 && end == text.len() {
        return Cow::Borrowed("");
    }
    let (from, to) = cut_range(text, start, end);
    let (before, after) = (&text[..from], &text[to..]);
    match (is_blank_text(before), is_blank_text(after)) {
        (true, true) => Cow::Borrowed(""),
        (_, _) if before.is_empty() => Cow::Borrowed(after),
        (_, _) if after.is_empty() => Cow::Borrowed(before),
        _ => {
            let mut out = String::with_capacity(before.len() + after.len());
            out.push_str(before);
            out.push_str(after);
            Cow::Owned(out)
        }
    }
}
