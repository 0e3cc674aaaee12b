//! Shared by the fuzz target and the corpus-replay test: how fuzz bytes become (aliases, message), and the
//! invariants every parse must keep.

use modelauth::parser::{Aliases, parse};

/// Splits fuzz bytes into aliases and a message: `alias,alias\u{0}message`, or all message without NUL.
/// Returns `None` for invalid UTF-8 (the parser takes `&str`).
pub fn split_input(data: &[u8]) -> Option<(Aliases, &str)> {
    let text = std::str::from_utf8(data).ok()?;
    Some(match text.split_once('\0') {
        Some((names, message)) => (Aliases::new(names.split(',')), message),
        None => (Aliases::default(), text),
    })
}

/// Parses `message` and asserts the structural invariants of SPEC §3.
pub fn check_invariants(message: &str, aliases: &Aliases) {
    let result = parse(message, aliases);
    if !message.contains('/') {
        assert!(
            !result.has_directive,
            "no slash but a directive: {message:?}"
        );
    }
    if !result.has_directive {
        assert_eq!(
            result.cleaned, message,
            "no directive must leave the message unchanged"
        );
        return;
    }
    let cleaned: &str = &result.cleaned;
    if !cleaned.is_empty() {
        // One contiguous piece (the span, maybe with a blank or line break) was cut out.
        let prefix = common_prefix(message, cleaned);
        let suffix = common_suffix(&message[prefix..], &cleaned[prefix..]);
        assert_eq!(
            prefix + suffix,
            cleaned.len(),
            "not one contiguous cut: {message:?} -> {cleaned:?}"
        );
        let cut = &message[prefix..message.len() - suffix];
        assert!(
            cut.contains('/'),
            "cut without the directive's slash: {cut:?}"
        );
    }
    if result.is_directive_only() {
        assert!(!parse(cleaned, aliases).has_directive);
    }
}

/// Length in bytes of the longest common prefix, on a char boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i)
}

/// Length in bytes of the longest common suffix, on a char boundary.
fn common_suffix(a: &str, b: &str) -> usize {
    a.chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum()
}
