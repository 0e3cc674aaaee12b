//! [`AuthEdit`]: one change to a credential document (profiles, orders, `lastGood`, usage), the same
//! for every backend — the JSON file (`backend/json/auth_file.rs` writes it), OpenClaw 2026.9's
//! databases, Redis, memory. No I/O here.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::auth::{AuthProfiles, CredentialKind, UsageStats};
use super::error::StoreError;
use super::ids::ProviderId;
use super::json::{Document, object_entry};
use super::secret::Secret;
use super::secret_ref::SecretRef;


/// A new credential to store with [`crate::Agent::add_credential`].
#[derive(Debug)]
pub struct NewCredential {
    /// The provider it is for.
    pub provider: ProviderId,
    /// Its kind.
    pub kind: CredentialKind,
    /// The key or token.
    pub secret: Secret,
    /// Expiry in ms since the epoch, if any.
    pub expires: Option<i64>,
    /// The refresh token of an `oauth` login (ignored for other kinds).
    pub refresh: Option<Secret>,
    /// The account e-mail of an `oauth` login, when known.
    pub email: Option<String>,
    /// Where the secret lives instead, for an `api_key` or `token` kept off the store
    /// (`keyRef`/`tokenRef`; `secret` is then not written). Ignored for `oauth`.
    pub reference: Option<SecretRef>,
}

impl NewCredential {
    /// A key or token of `kind` for `provider`, expiring at `expires` (ms) if given.
    pub fn new(
        provider: ProviderId,
        kind: CredentialKind,
        secret: Secret,
        expires: Option<i64>,
    ) -> NewCredential {
        NewCredential {
            provider,
            kind,
            secret,
            expires,
            refresh: None,
            email: None,
            reference: None,
        }
    }
}

/// A credential document being changed (under its store's lock or transaction).
///
/// Every method edits the JSON in place, so fields modelauth does not know are preserved.
#[derive(Debug)]
pub struct AuthEdit {
    doc: Document,
    changed: bool,
}

impl AuthEdit {
    /// An edit of `doc` (for stores that keep the document themselves).
    pub fn new(doc: Document) -> AuthEdit {
        AuthEdit {
            doc,
            changed: false,
        }
    }

    /// Refuses to edit a document whose top-level `profiles`, `order`, `lastGood` or `usageStats` is not
    /// an object: writing on top of it would silently drop what the file holds.
    pub fn check_writable(&self, location: &str) -> Result<(), StoreError> {
        check_top_level(&self.doc, Path::new(location))
    }

    /// The edited document, and whether anything changed.
    pub fn finish(self) -> (Document, bool) {
        (self.doc, self.changed)
    }

    /// The routing records of the document (`order`, `lastGood`, `usageStats`, absent as `None`),
    /// replaced by `routing`: a shared routing backend runs an edit over the credentials of this
    /// document and its own routing records, then puts the file's back.
    pub fn swap_routing(&mut self, routing: [Option<Value>; 3]) -> [Option<Value>; 3] {
        let root = &mut self.doc.root;
        let mut old = [None, None, None];
        for (slot, (key, value)) in old.iter_mut().zip(ROUTING_FIELDS.iter().zip(routing)) {
            *slot = match value {
                Some(v) => root.insert((*key).to_owned(), v),
                None => root.shift_remove(*key),
            };
        }
        old
    }

    /// The document as it is now.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// Overrides whether the edit counts as a change (after [`AuthEdit::swap_routing`] put the file's
    /// own records back, only a credential change is one).
    pub fn set_changed(&mut self, changed: bool) {
        self.changed = changed;
    }

    /// The typed view of the document as it is now.
    pub fn view(&self) -> AuthProfiles {
        AuthProfiles::from_document(&self.doc)
    }

    /// Stores (or replaces the secret of) profile `id`; other fields of an existing entry are kept.
    pub fn put_profile(&mut self, id: &str, cred: &NewCredential) {
        self.migrate_legacy();
        let entry = object_entry(self.doc.object_mut("profiles"), id);
        entry.remove("mode");
        entry.remove("apiKey");
        entry.insert("type".into(), json!(cred.kind.as_str()));
        entry.insert("provider".into(), json!(cred.provider.as_str()));
        let secret = || Value::String(cred.secret.expose_secret().to_owned());
        // Another key or token than the one stored: a disable the old one earned does not apply.
        let mut new_inline = false;
        match (cred.kind.secret_fields(), &cred.reference) {
            (Some((field, ref_field)), Some(r)) => {
                entry.remove(field);
                entry.insert(ref_field.into(), r.to_value());
            }
            (Some((field, ref_field)), None) => {
                new_inline =
                    entry.get(field).and_then(Value::as_str) != Some(cred.secret.expose_secret());
                entry.remove(ref_field);
                entry.insert(field.into(), secret());
            }
            (None, _) => {
                entry.insert("access".into(), secret());
            }
        }
        match cred.expires {
            Some(ms) => entry.insert("expires".into(), json!(ms)),
            None => entry.remove("expires"),
        };
        if cred.kind == CredentialKind::OAuth {
            // A new login: its refresh token replaces the old one, and what was noted of the old
            // login's refreshes (and the disable its refusal caused) no longer applies.
            match &cred.refresh {
                Some(r) => entry.insert("refresh".into(), json!(r.expose_secret())),
                None => entry.remove("refresh"),
            };
            if let Some(email) = &cred.email {
                entry.insert("email".into(), json!(email));
            }
            entry.remove("modelauthRefresh");
            self.clear_refusal(id);
        }
        if new_inline {
            self.clear_refusal(id);
        }
        self.changed = true;
    }

    /// Stores the tokens of a refresh of OAuth profile `id`: the new access token and expiry, the new
    /// refresh token when the server rotated it; every other field is kept. False (and nothing
    /// changed) when the profile is gone or is not an OAuth login.
    pub fn set_oauth_tokens(
        &mut self,
        id: &str,
        access: &Secret,
        refresh: Option<&Secret>,
        expires: i64,
    ) -> bool {
        let Some(entry) = self.entry_mut(id) else {
            return false;
        };
        if entry.get("type").and_then(Value::as_str) != Some("oauth") {
            return false;
        }
        entry.insert("access".into(), json!(access.expose_secret()));
        if let Some(r) = refresh {
            entry.insert("refresh".into(), json!(r.expose_secret()));
        }
        entry.insert("expires".into(), json!(expires));
        self.changed = true;
        true
    }

    /// Replaces the inline key or token of profile `id` with reference `r` (`keyRef`/`tokenRef`), when
    /// its inline value is still `expected`. False (nothing changed) when the profile is gone, is an
    /// OAuth login, or holds another value now (it changed meanwhile).
    pub fn set_reference(&mut self, id: &str, r: &SecretRef, expected: &Secret) -> bool {
        let Some(entry) = self.entry_mut(id) else {
            return false;
        };
        let kind = entry
            .get("type")
            .and_then(Value::as_str)
            .and_then(CredentialKind::parse);
        let Some((field, ref_field)) = kind.and_then(CredentialKind::secret_fields) else {
            return false;
        };
        if entry.get(field).and_then(Value::as_str) != Some(expected.expose_secret()) {
            return false;
        }
        entry.remove(field);
        entry.insert(ref_field.into(), r.to_value());
        self.changed = true;
        true
    }

    /// Records what the last refresh of profile `id` did (`modelauthRefresh`); false when it is gone.
    pub fn set_refresh_note(&mut self, id: &str, note: &super::auth::RefreshNote) -> bool {
        let Some(entry) = self.entry_mut(id) else {
            return false;
        };
        entry.insert("modelauthRefresh".into(), note.to_value());
        self.changed = true;
        true
    }

    /// The entry of profile `id`, when it is an object.
    fn entry_mut(&mut self, id: &str) -> Option<&mut Map<String, Value>> {
        match self.doc.root.get_mut("profiles")?.get_mut(id)? {
            Value::Object(entry) => Some(entry),
            _ => None,
        }
    }

    /// Ends a disable window of profile `id` that a refused credential (`auth`, `auth_permanent`)
    /// started: a new login replaces that credential.
    pub(crate) fn clear_refusal(&mut self, id: &str) {
        let Some(Value::Object(stats)) = self.doc.root.get_mut("usageStats") else {
            return;
        };
        let Some(Value::Object(entry)) = stats.get_mut(id) else {
            return;
        };
        let refused = matches!(
            entry.get("disabledReason").and_then(Value::as_str),
            Some("auth" | "auth_permanent")
        );
        let cooling = matches!(
            entry.get("cooldownReason").and_then(Value::as_str),
            Some("auth" | "auth_permanent")
        );
        if cooling {
            entry.shift_remove("cooldownUntil");
            entry.shift_remove("cooldownReason");
            entry.shift_remove("cooldownModel");
        }
        if refused {
            entry.shift_remove("disabledUntil");
            entry.shift_remove("disabledReason");
        }
        if refused || cooling {
            entry.shift_remove(super::auth::SECRET_FP_FIELD);
            entry.insert("errorCount".into(), json!(0));
        }
    }

    /// Ends the auth-class disable of profile `id` that the secret with fingerprint `fp` earned (its
    /// reference now holds another secret); false when the disable is not that one (any more).
    pub fn clear_rotated_refusal(&mut self, id: &str, fp: &str) -> bool {
        let earned_by_fp = self
            .doc
            .root
            .get("usageStats")
            .and_then(|s| s.get(id))
            .and_then(|e| e.get(super::auth::SECRET_FP_FIELD))
            .and_then(Value::as_str)
            == Some(fp);
        if earned_by_fp {
            self.clear_refusal(id);
            self.changed = true;
        }
        earned_by_fp
    }

    /// Removes profile `id` with its usage statistics, its order entries and lastGood mentions.
    /// Returns false when there was no such profile.
    pub fn remove_profile(&mut self, id: &str) -> bool {
        self.migrate_legacy();
        let existed = self.doc.object_mut("profiles").shift_remove(id).is_some();
        if let Some(Value::Object(stats)) = self.doc.root.get_mut("usageStats") {
            stats.shift_remove(id);
        }
        if let Some(Value::Object(order)) = self.doc.root.get_mut("order") {
            for (_, list) in order.iter_mut() {
                if let Value::Array(items) = list {
                    items.retain(|v| v.as_str() != Some(id));
                }
            }
        }
        if let Some(Value::Object(good)) = self.doc.root.get_mut("lastGood") {
            good.retain(|_, v| v.as_str() != Some(id));
        }
        self.changed |= existed;
        existed
    }

    /// Sets the order override of `provider` (an empty list is stored as given).
    pub fn set_order(&mut self, provider: &ProviderId, ids: &[String]) {
        self.migrate_legacy();
        self.doc
            .object_mut("order")
            .insert(provider.as_str().to_owned(), json!(ids));
        self.changed = true;
    }

    /// Removes the order override of `provider`; returns whether there was one.
    pub fn clear_order(&mut self, provider: &ProviderId) -> bool {
        let removed = match self.doc.root.get_mut("order") {
            Some(Value::Object(order)) => order.shift_remove(provider.as_str()).is_some(),
            _ => false,
        };
        self.changed |= removed;
        removed
    }

    /// Records `id` as the last profile that worked for `provider`.
    pub fn set_last_good(&mut self, provider: &ProviderId, id: &str) {
        self.migrate_legacy();
        self.doc
            .object_mut("lastGood")
            .insert(provider.as_str().to_owned(), json!(id));
        self.changed = true;
    }

    /// Writes the known fields of `stats` into `usageStats[id]`, keeping the entry's other fields.
    pub fn set_usage(&mut self, id: &str, stats: &UsageStats) {
        self.migrate_legacy();
        let entry = object_entry(self.doc.object_mut("usageStats"), id);
        write_usage(entry, stats);
        self.changed = true;
    }

    /// Converts a legacy provider-keyed file to the version-1 layout before its first write.
    fn migrate_legacy(&mut self) {
        if self.doc.root.contains_key("profiles") {
            return;
        }
        let legacy: Vec<String> = self
            .doc
            .root
            .iter()
            .filter(|(k, v)| {
                v.is_object() && !matches!(k.as_str(), "order" | "lastGood" | "usageStats")
            })
            .map(|(k, _)| k.clone())
            .collect();
        let mut profiles = Map::new();
        for key in legacy {
            if let Some(Value::Object(mut entry)) = self.doc.root.shift_remove(&key) {
                entry.entry("provider").or_insert_with(|| json!(key));
                if !entry.contains_key("type") && !entry.contains_key("mode") {
                    entry.insert("type".into(), json!("api_key"));
                }
                profiles.insert(key, Value::Object(entry));
            }
        }
        self.doc.root.entry("version").or_insert(json!(1));
        self.doc
            .root
            .insert("profiles".into(), Value::Object(profiles));
        self.changed = true;
    }
}

/// Sets the known usage fields: non-zero numbers and present reasons are written; zero numbers are
/// written only when the field already exists; absent reasons are removed.
pub(crate) fn write_usage(entry: &mut Map<String, Value>, s: &UsageStats) {
    let num = |entry: &mut Map<String, Value>, key: &str, v: i64| {
        if v != 0 || entry.contains_key(key) {
            entry.insert(key.to_owned(), json!(v));
        }
    };
    num(entry, "lastUsed", s.last_used);
    num(entry, "errorCount", i64::from(s.error_count));
    num(entry, "cooldownUntil", s.cooldown_until);
    num(entry, "disabledUntil", s.disabled_until);
    num(entry, "lastFailureAt", s.last_failure_at);
    let mut text = |key: &str, v: Option<&str>| match v {
        Some(v) => {
            entry.insert(key.to_owned(), json!(v));
        }
        None => {
            entry.shift_remove(key);
        }
    };
    text("cooldownReason", s.cooldown_reason.map(|r| r.as_str()));
    text("cooldownModel", s.cooldown_model.as_deref());
    text("disabledReason", s.disabled_reason.map(|r| r.as_str()));
    text(super::auth::SECRET_FP_FIELD, s.secret_fp.as_deref());
    match &s.quota {
        Some(q) => {
            entry.insert(super::QUOTA_FIELD.to_owned(), q.to_value());
        }
        None => {
            entry.shift_remove(super::QUOTA_FIELD);
        }
    }
    if s.failure_counts.is_empty() {
        entry.shift_remove("failureCounts");
    } else {
        let counts = object_entry(entry, "failureCounts");
        counts.retain(|k, _| super::auth::FailureReason::parse(k).is_none());
        for (reason, n) in &s.failure_counts {
            counts.insert(reason.as_str().to_owned(), json!(n));
        }
    }
}

/// The routing records of a credential store, in the order [`AuthEdit::swap_routing`] takes them.
pub const ROUTING_FIELDS: [&str; 3] = ["order", "lastGood", "usageStats"];

/// The top-level fields that must be objects when present.
const OBJECT_FIELDS: [&str; 4] = ["profiles", "order", "lastGood", "usageStats"];

/// [`AuthEdit::check_writable`] on a document read from `path`: refuses a document whose top-level
/// fields modelauth reads are of the wrong type.
pub(crate) fn check_top_level(doc: &Document, path: &Path) -> Result<(), StoreError> {
    for field in OBJECT_FIELDS {
        if let Some(v) = doc.root.get(field)
            && !v.is_object()
        {
            return Err(StoreError::WrongType {
                path: path.to_owned(),
                field,
                found: super::error::kind_of(v),
                expected: "an object",
            });
        }
    }
    Ok(())
}
