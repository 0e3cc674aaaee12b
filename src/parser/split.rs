//! Splitting an unquoted reference into model and profile (SPEC §3).

/// Splits `reference` at the first `@` after the last `/`, keeping `@YYYYMMDD` date versions and
/// quantisation suffixes (`@q8_0`, `@4bit`) in the model. Returns the whole text and no profile when there
/// is no usable delimiter or either side would be empty.
pub(super) fn split_profile(reference: &str) -> (&str, Option<&str>) {
    let bytes = reference.as_bytes();
    let after_slash = bytes.iter().rposition(|&b| b == b'/').map_or(0, |p| p + 1);
    let Some(mut at) = next_at(reference, after_slash) else {
        return (reference, None);
    };
    if at == 0 {
        return (reference, None);
    }
    if is_date_suffix(&reference[at + 1..]) {
        match next_at(reference, at + 9) {
            Some(next) => at = next,
            None => return (reference, None),
        }
    }
    if let Some(len) = quant_suffix_len(&reference[at + 1..]) {
        match next_at(reference, at + 1 + len) {
            Some(next) => at = next,
            None => return (reference, None),
        }
    }
    let (model, profile) = (&reference[..at], &reference[at + 1..]);
    if model.is_empty() || profile.is_empty() {
        (reference, None)
    } else {
        (model, Some(profile))
    }
}

/// Position of the first `@` at or after `from`.
fn next_at(text: &str, from: usize) -> Option<usize> {
    text.as_bytes()
        .get(from..)?
        .iter()
        .position(|&b| b == b'@')
        .map(|p| p + from)
}

/// Exactly eight ASCII digits followed by the end or `@`.
fn is_date_suffix(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..8].iter().all(u8::is_ascii_digit) && matches!(b.get(8), None | Some(b'@'))
}

/// Length of a quantisation suffix (`i?q<digits>(_<alnum>+)*` or `<digits>bit`, any case) that is followed
/// by the end or `@`.
fn quant_suffix_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits_from = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let len = if b.first().is_some_and(u8::is_ascii_digit) {
        let d = digits_from(0);
        b.get(d..d + 3).filter(|w| w.eq_ignore_ascii_case(b"bit"))?;
        d + 3
    } else {
        let mut i = usize::from(b.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'i')));
        if !b.get(i).is_some_and(|c| c.eq_ignore_ascii_case(&b'q')) {
            return None;
        }
        i += 1;
        let d = digits_from(i);
        if d == 0 {
            return None;
        }
        i += d;
        while b.get(i) == Some(&b'_') {
            let run = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if run == 0 {
                break;
            }
            i += 1 + run;
        }
        i
    };
    matches!(b.get(len), None | Some(b'@')).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quant_suffixes() {
        for ok in ["q8_0", "Q4_K_M", "iq4_xs", "4bit", "8BIT", "q4"] {
            assert_eq!(quant_suffix_len(ok), Some(ok.len()), "{ok}");
        }
        for no in ["q", "qx", "work", "bit", "q4_", "q8_0x!", "4bits"] {
            assert_eq!(quant_suffix_len(no), None, "{no}");
        }
        assert_eq!(quant_suffix_len("q8_0@work"), Some(4));
    }

    #[test]
    fn dates() {
        assert!(is_date_suffix("20251001"));
        assert!(is_date_suffix("20251001@x"));
        assert!(!is_date_suffix("2025100"));
        assert!(!is_date_suffix("202510011"));
    }
}
