//! The data model: every key of one agent, and the way back from a key to what it holds.

/// The keys of one agent under a prefix (see the module documentation of [`super`]).
#[derive(Debug, Clone)]
pub struct Keys {
    /// `<prefix><agent>:`.
    base: String,
    /// `<prefix>`.
    prefix: String,
}

/// What a key of an agent holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The order hash (field: provider).
    Order,
    /// The lastGood hash (field: provider).
    LastGood,
    /// The usage record of one profile.
    Usage(String),
    /// One session's pin and overrides.
    Session(String),
}

impl Keys {
    /// The keys of `agent` under `prefix`.
    pub fn new(prefix: &str, agent: &str) -> Keys {
        Keys {
            base: format!("{prefix}{agent}:"),
            prefix: prefix.to_owned(),
        }
    }

    /// The agent's change counter.
    pub fn rev(&self) -> String {
        format!("{}rev", self.base)
    }

    /// The hash of order overrides.
    pub fn order(&self) -> String {
        format!("{}order", self.base)
    }

    /// The hash of lastGood entries.
    pub fn last_good(&self) -> String {
        format!("{}lastgood", self.base)
    }

    /// The usage record of profile `id`.
    pub fn usage(&self, id: &str) -> String {
        format!("{}usage:{id}", self.base)
    }

    /// The entry of session `key`.
    pub fn session(&self, key: &str) -> String {
        format!("{}session:{key}", self.base)
    }

    /// Lock `name`.
    pub fn lock(&self, name: &str) -> String {
        format!("{}lock:{name}", self.base)
    }

    /// The channel every change is announced on (one per prefix).
    pub fn channel(&self) -> String {
        channel(&self.prefix)
    }

    /// What `key` of this agent holds, if it is one.
    pub fn kind(&self, key: &str) -> Option<Kind> {
        let rest = key.strip_prefix(&self.base)?;
        Some(match rest {
            "order" => Kind::Order,
            "lastgood" => Kind::LastGood,
            _ => {
                if let Some(id) = rest.strip_prefix("usage:") {
                    Kind::Usage(id.to_owned())
                } else if let Some(k) = rest.strip_prefix("session:") {
                    Kind::Session(k.to_owned())
                } else {
                    return None;
                }
            }
        })
    }
}

/// The change channel of `prefix`.
pub fn channel(prefix: &str) -> String {
    format!("{prefix}changes")
}

/// The key whose absence tells that the server lost its data (restarted empty, or flushed).
pub fn epoch(prefix: &str) -> String {
    format!("{prefix}epoch")
}

#[cfg(test)]
mod tests {
    use super::{Keys, Kind};

    #[test]
    fn keys_map_back_to_what_they_hold() {
        let k = Keys::new("modelauth:", "main");
        assert_eq!(k.kind(&k.order()), Some(Kind::Order));
        assert_eq!(k.kind(&k.last_good()), Some(Kind::LastGood));
        assert_eq!(
            k.kind(&k.usage("anthropic:work")),
            Some(Kind::Usage("anthropic:work".into()))
        );
        assert_eq!(
            k.kind(&k.session("agent:main:tg:1")),
            Some(Kind::Session("agent:main:tg:1".into()))
        );
        assert_eq!(k.kind("modelauth:ops:order"), None);
        assert_eq!(k.kind(&k.rev()), None);
    }
}
