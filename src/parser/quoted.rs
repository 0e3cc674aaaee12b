//! Decoding of JSON string literals already validated by the grammar.

use std::borrow::Cow;

/// Decodes the body of a JSON string literal (quotes included in `literal`); borrows when it has no escape.
///
/// The grammar has already checked the escapes; a lone UTF-16 surrogate (which JavaScript keeps but a
/// Rust string cannot hold) decodes to U+FFFD.
pub(super) fn decode(literal: &str) -> Cow<'_, str> {
    let body = &literal[1..literal.len() - 1];
    if !body.contains('\\') {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{08}'),
            Some('f') => out.push('\u{0C}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let unit = hex4(&mut chars);
                if (0xD800..0xDC00).contains(&unit) {
                    let mut look = chars.clone();
                    if look.next() == Some('\\') && look.next() == Some('u') {
                        let low = hex4(&mut look);
                        if (0xDC00..0xE000).contains(&low) {
                            chars = look;
                            let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                            continue;
                        }
                    }
                }
                out.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

/// Reads four hex digits (already validated) as a UTF-16 code unit.
fn hex4(chars: &mut std::str::Chars<'_>) -> u32 {
    (0..4).fold(0, |acc, _| {
        acc * 16 + chars.next().and_then(|c| c.to_digit(16)).unwrap_or(0)
    })
}
