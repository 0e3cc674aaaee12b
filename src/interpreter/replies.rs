//! The reply texts of SPEC §4 for `/model`, `/model list` and `/model status`.

use std::fmt::Write;

use crate::config::{Config, Env};
use crate::store::{AgentId, AuthProfiles, ProviderId};

use super::models::Catalogue;
use super::status::{State, auth_label, profile_status};
use crate::session::Session;

/// "Auth profile override requires a model selection."
pub const PROFILE_NEEDS_MODEL: &str = "Auth profile override requires a model selection.";

/// The reply to a numeric selection.
pub const NUMERIC: &str = "Numeric model selection is not supported in chat.\n\nBrowse: /model list\nSwitch: /model <provider/model>";

/// `provider/model`, or `<Alias> (provider/model)` when the ref has an alias.
pub fn label(model_ref: &str, alias: Option<&str>) -> String {
    match alias {
        Some(a) => format!("{a} ({model_ref})"),
        None => model_ref.to_owned(),
    }
}

/// The first configured alias of `model_ref`.
pub fn alias_of<'c>(catalogue: &'c Catalogue, model_ref: &str) -> Option<&'c str> {
    catalogue
        .aliases
        .get(model_ref)
        .and_then(|a| a.first())
        .map(String::as_str)
}

/// The reply to a bare `/model`.
pub fn summary(current: &str, session: Option<&Session>) -> String {
    let mut out = format!("Current: {current}\n");
    if let Some(pin) = session.and_then(|s| s.pin.as_ref()) {
        let _ = writeln!(
            out,
            "Pinned profile: {} ({})",
            pin.profile,
            pin.source.as_str()
        );
    }
    out.push_str("\nSwitch: /model <provider/model>\nBrowse: /model list\nMore: /model status");
    out
}

/// The reply to `/model list`.
pub fn list(catalogue: &Catalogue) -> String {
    let mut out = String::from("Providers:\n");
    for (provider, models) in &catalogue.by_provider {
        let _ = writeln!(out, "- {provider} ({})", models.len());
    }
    out.push_str("\nSwitch: /model <provider/model>");
    out
}

/// The default wire API of a provider, when config names none.
fn default_api(provider: &str) -> &'static str {
    match provider {
        "anthropic" => "anthropic-messages",
        "openai" | "openai-codex" => "openai-responses",
        "google" | "gemini" => "google-generative-ai",
        "ollama" => "ollama",
        _ => "openai-completions",
    }
}

/// Everything `/model status` shows.
#[derive(Debug)]
pub struct StatusInput<'a> {
    /// Agent id.
    pub agent: &'a AgentId,
    /// Current model label.
    pub current: String,
    /// Default model label.
    pub default: String,
    /// Path of the auth file.
    pub auth_file: String,
    /// The session, if any.
    pub session: Option<&'a Session>,
    /// Config, store, environment, catalogue.
    pub config: &'a Config,
    /// The store.
    pub store: &'a AuthProfiles,
    /// The environment.
    pub env: &'a Env,
    /// The catalogue.
    pub catalogue: &'a Catalogue,
    /// Now, ms.
    pub now: i64,
    /// The routing policy.
    pub quota: crate::resolver::QuotaAsk<'a>,
    /// Lane crossings handed out by this gateway.
    pub crossings: u64,
}

/// The reply to `/model status`. Never contains key material.
pub fn status(i: &StatusInput<'_>) -> String {
    let pin = i.session.and_then(|s| s.pin.as_ref());
    let pin_text = pin.map_or("none".to_owned(), |p| {
        if p.rotate {
            // After /new: the next message moves the pin on (SPEC §4), to the profile marked next.
            format!("{} (auto; the next message moves it to the next profile)", p.profile)
        } else {
            format!("{} ({})", p.profile, p.source.as_str())
        }
    });
    let mut out = format!(
        "Current: {}\nDefault: {}\nAgent: {}\nAuth file: {}\nSession pin: {pin_text}\n",
        i.current, i.default, i.agent, i.auth_file
    );
    for (provider, models) in &i.catalogue.by_provider {
        let Ok(pid) = ProviderId::new(provider) else {
            continue;
        };
        let pc = i.config.providers.get(&pid);
        let endpoint = pc.and_then(|c| c.base_url.as_deref()).unwrap_or("default");
        let api = pc
            .and_then(|c| c.api.as_deref())
            .unwrap_or_else(|| default_api(provider));
        let auth = auth_label(i.store, i.config, i.env, &pid, i.session, i.now, i.quota);
        let _ = writeln!(
            out,
            "\n[{provider}] endpoint: {endpoint} api: {api} auth: {auth}"
        );
        for m in models {
            match i.catalogue.aliases.get(m) {
                Some(a) => {
                    let _ = writeln!(out, "  • {m} ({})", a.join(", "));
                }
                None => {
                    let _ = writeln!(out, "  • {m}");
                }
            }
        }
        for p in i.store.of_provider(&pid) {
            let st = profile_status(p, &i.store.usage_of(&p.id), i.now, i.quota.policy);
            if let (State::Disabled, Some(hint)) = (st.state, st.hint) {
                let _ = writeln!(out, "  {}: disabled (auth_permanent). {hint}", p.id);
            }
            if let Some(line) = st.quota.as_ref().and_then(|q| super::status::quota_line(q, i.now)) {
                let _ = writeln!(out, "  {} [{}]: {line}", crate::store::display_id(&p.id), st.lane);
            }
        }
    }
    if i.crossings > 0 {
        let _ = writeln!(
            out,
            "\nLane crossings (subscription sessions billed to a metered key, opted in) by this gateway: {}",
            i.crossings
        );
    }
    out.truncate(out.trim_end().len());
    out
}
