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

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("sk-ant-api03-abcdef");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret([REDACTED]))");
        assert_eq!(s.expose_secret(), "sk-ant-api03-abcdef");
    }
}
