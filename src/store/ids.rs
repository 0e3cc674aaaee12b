//! Validated identifiers: agent, provider and profile ids are checked before they reach a path or file.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The agent id does not match `[a-z0-9][a-z0-9_-]{0,63}`.
    #[error(
        "invalid agent id {id:?}: use 1-64 characters from a-z, 0-9, '_' and '-', starting with a letter or digit"
    )]
    Agent {
        /// The rejected text.
        id: String,
    },
    /// The provider id is empty, too long or has characters outside `[a-z0-9._-]`.
    #[error("invalid provider id {id:?}: use 1-64 characters from a-z, 0-9, '.', '_' and '-'")]
    Provider {
        /// The rejected text.
        id: String,
    },
    /// The text given as an id looks like a key or token (typed in the wrong place): not shown, not used.
    #[error(
        "the {what} given looks like a key or token; it is not shown and was not used (keys are read from stdin or the hidden prompt, never from arguments)"
    )]
    LooksLikeSecret {
        /// `agent id` or `provider id`.
        what: &'static str,
    },
    /// The profile id is empty, too long, or has a control character, a slash or outer whitespace.
    #[error(
        "invalid profile id {id:?}: use 1-200 printable characters without '/' or '\\' (e.g. anthropic:work)"
    )]
    Profile {
        /// The rejected text (control characters escaped by `Debug`).
        id: String,
    },
}

/// An agent id such as `main`: `[a-z0-9][a-z0-9_-]{0,63}`. The default agent is `main`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AgentId(String);

impl AgentId {
    /// Validates an agent id; rejects anything that could escape `agents/<id>/`.
    pub fn new(id: &str) -> Result<Self, IdError> {
        if super::secret::looks_like_secret(id) {
            return Err(IdError::LooksLikeSecret { what: "agent id" });
        }
        let b = id.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 64
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
        if ok {
            Ok(AgentId(id.to_owned()))
        } else {
            Err(IdError::Agent { id: id.to_owned() })
        }
    }

    /// The default agent, `main`.
    pub fn main() -> Self {
        AgentId("main".to_owned())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A normalised provider id (`anthropic`, `openai`, `amazon-bedrock`, …), lower-cased with synonyms mapped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProviderId(String);

impl ProviderId {
    /// Lower-cases, maps synonyms (`z.ai` → `zai`, `bedrock` → `amazon-bedrock`, …) and validates.
    pub fn new(id: &str) -> Result<Self, IdError> {
        if super::secret::looks_like_secret(id.trim()) {
            return Err(IdError::LooksLikeSecret { what: "provider id" });
        }
        let mut canonical = id.trim().to_ascii_lowercase();
        let synonym = match canonical.as_str() {
            "z.ai" | "z-ai" => Some("zai"),
            "bedrock" | "aws-bedrock" => Some("amazon-bedrock"),
            "modelstudio" | "qwencloud" => Some("qwen"),
            "kimi-code" | "kimi-coding" => Some("kimi"),
            "opencode-zen" => Some("opencode"),
            "bytedance" | "doubao" => Some("volcengine"),
            _ => None,
        };
        if let Some(s) = synonym {
            canonical = s.to_owned();
        }
        let b = canonical.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 64
            && b[0].is_ascii_alphanumeric()
            && b.iter().all(|&c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(ProviderId(canonical))
        } else {
            Err(IdError::Provider { id: id.to_owned() })
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The environment variable stem: upper-cased, `-` and `.` → `_` (`GEMINI` for google/gemini).
    pub fn env_stem(&self) -> String {
        match self.0.as_str() {
            "google" | "gemini" => "GEMINI".to_owned(),
            other => other.to_ascii_uppercase().replace(['-', '.'], "_"),
        }
    }
}

impl TryFrom<String> for ProviderId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        ProviderId::new(&value)
    }
}

impl From<ProviderId> for String {
    fn from(value: ProviderId) -> String {
        value.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True for invisible formatting characters (Unicode category Cf and the like) that can make one id
/// look like another: soft hyphen, zero-width characters, bidi marks and overrides, word joiners, BOM.
pub fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
}

/// ASCII and the Latin letters of Latin-1 and Latin Extended-A/B (`é`, `ß`, `ł`): one script.
fn is_latin(c: char) -> bool {
    c.is_ascii() || ('\u{00C0}'..='\u{024F}').contains(&c)
}

/// `id` as views print it: unchanged when it is plain, else with every control, formatting and
/// non-ASCII character escaped (`\u{202e}`), so an id stored by another tool cannot move the cursor,
/// recolour the terminal or pass for another id.
pub fn display_id(id: &str) -> std::borrow::Cow<'_, str> {
    if id.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return std::borrow::Cow::Borrowed(id);
    }
    let mut out = String::with_capacity(id.len() + 8);
    for c in id.chars() {
        if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// An auth profile id such as `anthropic:work` or `google-gemini-cli:me@gmail.com`. Case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProfileId(String);

impl ProfileId {
    /// Validates a profile id: 1-200 bytes, no control or invisible formatting characters (zero-width,
    /// bidi overrides), no whitespace but inner spaces, no `/` or `\`, and no letters of another script mixed with
    /// ASCII letters (`аnthropic:work` with a Cyrillic `а` is refused).
    pub fn new(id: &str) -> Result<Self, IdError> {
        let ascii_letters = id.chars().any(|c| c.is_ascii_alphabetic());
        let ok = !id.is_empty()
            && id.len() <= 200
            && id.trim() == id
            && !id.chars().any(|c| {
                c.is_control()
                    || (c.is_whitespace() && c != ' ')
                    || is_format(c)
                    || c == '/'
                    || c == '\\'
                    || (ascii_letters && c.is_alphabetic() && !is_latin(c))
            });
        if ok {
            Ok(ProfileId(id.to_owned()))
        } else {
            Err(IdError::Profile { id: id.to_owned() })
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The provider part before the first `:` (`anthropic` for `anthropic:work`), when it is a valid id.
    pub fn provider_prefix(&self) -> Option<ProviderId> {
        let (prefix, _) = self.0.split_once(':')?;
        ProviderId::new(prefix).ok()
    }
}

impl TryFrom<String> for ProfileId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        ProfileId::new(&value)
    }
}

impl From<ProfileId> for String {
    fn from(value: ProfileId) -> String {
        value.0
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids() {
        for ok in ["main", "a", "work_2", "x-y", &"a".repeat(64)] {
            assert!(AgentId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "Main",
            "-a",
            "_a",
            "a\0",
            "a b",
            &"a".repeat(65),
            "..",
        ] {
            assert!(AgentId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn provider_ids_normalise() {
        assert_eq!(ProviderId::new("Z.AI").unwrap().as_str(), "zai");
        assert_eq!(
            ProviderId::new("bedrock").unwrap().as_str(),
            "amazon-bedrock"
        );
        assert_eq!(ProviderId::new("doubao").unwrap().as_str(), "volcengine");
        assert_eq!(ProviderId::new("kimi-coding").unwrap().as_str(), "kimi");
        assert_eq!(ProviderId::new("OpenAI").unwrap().as_str(), "openai");
        assert_eq!(
            ProviderId::new("amazon-bedrock").unwrap().env_stem(),
            "AMAZON_BEDROCK"
        );
        assert_eq!(ProviderId::new("google").unwrap().env_stem(), "GEMINI");
        for bad in ["", "../x", "a/b", "a\0", ".x", &"a".repeat(65)] {
            assert!(ProviderId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn profile_ids() {
        for ok in [
            "anthropic:work",
            "google-gemini-cli:me@gmail.com",
            "my profile",
            "x",
        ] {
            assert!(ProfileId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "a\\b",
            "a\0b",
            " a",
            "a\n",
            &"a".repeat(201),
        ] {
            assert!(ProfileId::new(bad).is_err(), "{bad:?}");
        }
        let id = ProfileId::new("anthropic:work").unwrap();
        assert_eq!(id.provider_prefix().unwrap().as_str(), "anthropic");
    }
}
