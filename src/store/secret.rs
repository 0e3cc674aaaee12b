//! A secret string: no `Display`, a redacted `Debug`, zeroed on drop, one explicit way out.

use std::fmt;

use zeroize::Zeroizing;

/// A credential value (API key, token, refresh token).
///
/// Call [`Secret::expose_secret`] only at the point of use (an HTTP header, the file writer). The value
/// never appears in `Debug` output and its memory is overwritten when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value; the caller's copy should be dropped right after.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret text. Use it where it is needed and do not keep or log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// A short, non-reversible fingerprint (16 hex digits of the SHA-256): recognises the same secret in
    /// several places (a refresh token copied into two stores) without keeping or showing it.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(self.0.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// True when the secret is empty or only whitespace (an unusable credential).
    #[inline]
    pub fn is_blank(&self) -> bool {
        let solid_start = self.0.as_bytes().first().is_some_and(u8::is_ascii_graphic);
        !solid_start && self.0.trim().is_empty()
    }
}

/// True for a word that looks like a key or token: a known key prefix (`sk-`, `AIza`, …) with more
/// after it, or at least 24 letters and digits in a row, both kinds present. Ids, paths, model ids
/// (`claude-3-5-sonnet-20241022`: short runs between dashes) and flags do not qualify.
pub fn looks_like_secret(word: &str) -> bool {
    // Shorter than any known prefix with 9 more characters, and than a 24-character run.
    if word.len() < 12 || word.starts_with('-') || word.contains([':', '/', '@', '=']) {
        return false;
    }
    let keyish = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    keyish
        && (has_key_prefix(word) || word
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|run| {
                run.len() >= 24
                    && run.chars().any(|c| c.is_ascii_digit())
                    && run.chars().any(|c| c.is_ascii_alphabetic())
            }))
}

/// True for the start of a known kind of key (`sk-…`, `AIza…`, `ghp_…`, …) with more after it.
pub fn has_key_prefix(word: &str) -> bool {
    const PREFIXES: [&str; 10] = [
        "sk-", "sk_", "gsk_", "aiza", "xai-", "ya29.", "ghp_", "gho_", "github_pat_", "eyj",
    ];
    let lower = word.to_ascii_lowercase();
    PREFIXES
        .iter()
        .any(|p| lower.starts_with(p) && word.len() > p.len() + 8)
}

/// `text` with every word that [`looks_like_secret`] replaced by `[REDACTED]`: for messages that may
/// echo what a user typed (an id, a provider) when a key was typed there by mistake.
pub fn redact_secret_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if looks_like_secret(word) {
            out.push_str("[REDACTED]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn secret_like_words_are_redacted_in_messages() {
        use super::redact_secret_like as r;
        assert_eq!(
            r("no profile \"sk-ant-api03-abcdefghijkl\" (known: anthropic:work)"),
            "no profile \"[REDACTED]\" (known: anthropic:work)"
        );
        assert_eq!(
            r("set SK_ANT_API03_ABCDEFGHIJKL12_API_KEY"),
            "set [REDACTED]"
        );
        let plain = "session 123e4567-e89b-12d3-a456-426614174000 of anthropic/claude-3-5-sonnet-20241022";
        assert_eq!(r(plain), plain);
    }

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("sk-ant-api03-abcdef");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret([REDACTED]))");
        assert_eq!(s.expose_secret(), "sk-ant-api03-abcdef");
    }
}
