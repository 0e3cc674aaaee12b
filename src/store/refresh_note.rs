//! [`RefreshNote`]: what modelauth recorded of an OAuth login's last refresh (`modelauthRefresh`).

use serde_json::{Map, Value};

/// What modelauth recorded of the last refresh of an OAuth login: the entry's `modelauthRefresh`
/// object (`{"at", "ok", "error"?, "permanent"?, "refreshFingerprint"?}`), kept beside the credential
/// so that every process and every view sees it. Holds no secret: the fingerprint is 16 hex digits of
/// the SHA-256 of the refresh token that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshNote {
    /// When the refresh ended, ms.
    pub at: i64,
    /// Whether it succeeded.
    pub ok: bool,
    /// Its error code (`invalid_grant`, `HTTP 503`, `network`), when it failed.
    pub error: Option<String>,
    /// True when the token endpoint refused the refresh token (only a new login helps).
    pub permanent: bool,
    /// [`super::Secret::fingerprint`] of the refresh token the note is about.
    pub refresh_fingerprint: Option<String>,
}

impl RefreshNote {
    /// Reads a `modelauthRefresh` value; `None` when it is not an object with a numeric `at`.
    pub fn from_value(v: &Value) -> Option<RefreshNote> {
        let o = v.as_object()?;
        Some(RefreshNote {
            at: o.get("at")?.as_i64()?,
            ok: o.get("ok").and_then(Value::as_bool).unwrap_or(false),
            error: o.get("error").and_then(Value::as_str).map(str::to_owned),
            permanent: o.get("permanent").and_then(Value::as_bool).unwrap_or(false),
            refresh_fingerprint: o
                .get("refreshFingerprint")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// The `modelauthRefresh` value of this note.
    pub fn to_value(&self) -> Value {
        let mut o = Map::new();
        o.insert("at".into(), Value::from(self.at));
        o.insert("ok".into(), Value::from(self.ok));
        if let Some(e) = &self.error {
            o.insert("error".into(), Value::from(e.as_str()));
        }
        if self.permanent {
            o.insert("permanent".into(), Value::from(true));
        }
        if let Some(f) = &self.refresh_fingerprint {
            o.insert("refreshFingerprint".into(), Value::from(f.as_str()));
        }
        Value::Object(o)
    }
}

