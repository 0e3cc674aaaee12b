//! One session's state: what callers see ([`Session`]) and the compact form the registry stores.

use std::sync::Arc;

use uuid::Uuid;

use crate::store::{OverrideSource, SessionRecord};

/// A session's auth-profile pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The pinned profile id.
    pub profile: Arc<str>,
    /// `user` (typed) or `auto` (chosen by the resolver).
    pub source: OverrideSource,
    /// The session's compaction count when the pin was made.
    pub compaction_at_pin: u32,
    /// Fingerprint of the provider order when an auto pin was made (0 = unknown).
    pub order_hash: u32,
    /// Rotate to the next profile on the next resolution (after `/new`, `/reset`).
    pub rotate: bool,
}

/// A session as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The model override as `provider/model`, if any.
    pub model_override: Option<Arc<str>>,
    /// Who set the model override.
    pub model_source: Option<OverrideSource>,
    /// The session chose the configured default explicitly (`/model default`, or the default model by
    /// name) under OpenClaw 2026.9.6's rules: no override, `modelOverrideSource: "default"`.
    pub model_default: bool,
    /// The auth-profile pin, if any.
    pub pin: Option<Pin>,
    /// The runtime override (`--runtime`), if any.
    pub runtime_override: Option<Arc<str>>,
    /// The session id as `sessions.json` holds it (it names the transcript: never changed, only `/new`
    /// mints a new one); `None` for an entry that has none.
    pub session_id: Option<Arc<str>>,
    /// Last change, ms.
    pub updated_at: i64,
    /// Compactions so far.
    pub compaction_count: u32,
}

impl Session {
    /// A fresh session with a new id.
    pub fn new(now_ms: i64) -> Session {
        Session {
            model_override: None,
            model_source: None,
            model_default: false,
            pin: None,
            runtime_override: None,
            session_id: Some(Uuid::new_v4().to_string().into()),
            updated_at: now_ms,
            compaction_count: 0,
        }
    }

    /// The owned `sessions.json` fields of this session.
    pub fn to_record(&self) -> SessionRecord {
        let (provider, model) = match self.model_override.as_deref().map(|m| m.split_once('/')) {
            Some(Some((p, m))) => (Some(p.to_owned()), Some(m.to_owned())),
            Some(None) => (None, self.model_override.as_deref().map(str::to_owned)),
            None => (None, None),
        };
        SessionRecord {
            provider_override: provider,
            model_override: model,
            model_override_source: self.model_override.as_ref().and(self.model_source),
            model_default: self.model_override.is_none() && self.model_default,
            auth_profile_override: self.pin.as_ref().map(|p| p.profile.to_string()),
            auth_profile_override_source: self.pin.as_ref().map(|p| p.source),
            auth_profile_override_compaction_count: self.pin.as_ref().map(|p| p.compaction_at_pin),
            runtime_override: self.runtime_override.as_deref().map(str::to_owned),
            session_id: self.session_id.as_deref().map(str::to_owned),
            updated_at: Some(self.updated_at),
            compaction_count: Some(self.compaction_count),
        }
    }

    /// A session from its `sessions.json` fields (a missing or invalid `sessionId` gets a new one).
    pub fn from_record(r: &SessionRecord) -> Session {
        let model_override: Option<Arc<str>> = match (&r.provider_override, &r.model_override) {
            (Some(p), Some(m)) => Some(format!("{p}/{m}").into()),
            (None, Some(m)) => Some(m.as_str().into()),
            _ => None,
        };
        let pin = r
            .auth_profile_override
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| Pin {
                profile: p.into(),
                source: r
                    .auth_profile_override_source
                    .unwrap_or(OverrideSource::User),
                compaction_at_pin: r
                    .auth_profile_override_compaction_count
                    .unwrap_or(r.compaction_count.unwrap_or(0)),
                order_hash: 0,
                rotate: false,
            });
        Session {
            model_source: model_override
                .as_ref()
                .map(|_| r.model_override_source.unwrap_or(OverrideSource::User)),
            model_default: model_override.is_none() && r.model_default,
            model_override,
            pin,
            runtime_override: r.runtime_override.as_deref().map(Into::into),
            session_id: r.session_id.as_deref().map(Arc::from),
            updated_at: r.updated_at.unwrap_or(0),
            compaction_count: r.compaction_count.unwrap_or(0),
        }
    }
}
