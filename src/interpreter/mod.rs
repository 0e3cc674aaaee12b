//! What a chat message does (SPEC §4): parse it, and when it is directive-only, apply the directive to
//! the session (and config, for `-a`/`-g`) all-or-nothing, producing the reply text.

mod fuzzy;
mod model_ids;
pub mod malformed;
pub mod models;
mod select_2026_9;
pub mod replies;
pub mod status;

use serde::Serialize;

use crate::config::{Config, Env};
use crate::parser::{ParseResult, Scope};
use crate::session::Session;
use crate::store::{AgentId, AuthProfiles, ProviderId};
use models::{Catalogue, ModelMatch, match_model, split_ref};

/// What happened to the directive of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectiveStatus {
    /// The message has no directive.
    None,
    /// The directive was applied (or answered, for list/status).
    Applied,
    /// A mixed message: the directive was removed from the text but not applied.
    Ignored,
    /// The directive was refused with an error reply; nothing was persisted.
    Rejected,
}

/// One persisted change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Change {
    /// The session's model override was set.
    ModelSet {
        /// `provider/model`.
        model: String,
    },
    /// The session's model override was cleared (back to the default).
    ModelReset,
    /// The session was pinned to a profile by the user.
    PinSet {
        /// The profile id.
        profile: String,
    },
    /// The session's pin was removed.
    PinCleared,
    /// The session's runtime override was set.
    RuntimeSet {
        /// The runtime.
        runtime: String,
    },
    /// A default model was written to config.
    DefaultModelSet {
        /// `agent` or `global`.
        scope: &'static str,
        /// `provider/model`.
        model: String,
    },
    /// A new conversation was started.
    NewSession {
        /// The new session id.
        session_id: String,
    },
}

/// The result of one message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatOutcome {
    /// The reply to show the user, if any.
    pub reply: Option<String>,
    /// The text the agent should see (the message without the directive).
    pub cleaned: String,
    /// What happened to the directive.
    pub directive: DirectiveStatus,
    /// What was persisted.
    pub changes: Vec<Change>,
    /// True when config comments were dropped by a config write.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub config_comments_dropped: bool,
}

impl ChatOutcome {
    /// A message whose text goes to the model as `cleaned`, with nothing applied.
    pub fn unchanged(cleaned: String) -> ChatOutcome {
        ChatOutcome {
            reply: None,
            cleaned,
            directive: DirectiveStatus::None,
            changes: Vec::new(),
            config_comments_dropped: false,
        }
    }

    /// An applied command with `reply` and `changes`.
    pub fn applied(reply: String, changes: Vec<Change>) -> ChatOutcome {
        ChatOutcome {
            reply: Some(reply),
            cleaned: String::new(),
            directive: DirectiveStatus::Applied,
            changes,
            config_comments_dropped: false,
        }
    }
}

/// The reply to a directive followed by a second scope flag (OpenClaw 2026.9.6's wording).
pub const SCOPE_CONFLICT: &str = "Use only one model scope option.";

/// What one directive-only message does, decided before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Answer with this text; nothing changes (`/model`, `/model list`, `/model status`).
    Reply(String),
    /// Refuse with this text; nothing changes.
    Refuse(String),
    /// Change the session (and perhaps config), then answer.
    Apply(Commit),
}

/// The changes of an applied directive: committed by the agent all-or-nothing (SPEC §4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// The new session model override: `Some(None)` clears it, `None` leaves it.
    pub model: Option<Option<String>>,
    /// The new user pin: `Some(None)` clears it, `None` leaves it.
    pub pin: Option<Option<String>>,
    /// A runtime override to set.
    pub runtime: Option<String>,
    /// A default model to write to config: `(agent or global, provider/model)`.
    pub config_default: Option<(Option<AgentId>, String)>,
    /// The reply once committed.
    pub reply: String,
    /// The changes, as reported.
    pub changes: Vec<Change>,
    /// The configured default was chosen explicitly: with the override cleared, the session records
    /// `modelOverrideSource: "default"` (OpenClaw 2026.9.6).
    pub default_selected: bool,
}

/// What [`plan`] reads: snapshots only.
#[derive(Debug)]
pub struct PlanInput<'a> {
    /// The agent.
    pub agent: &'a AgentId,
    /// Config snapshot.
    pub config: &'a Config,
    /// Store snapshot.
    pub store: &'a AuthProfiles,
    /// The lookup environment.
    pub env: &'a Env,
    /// The session as it is now.
    pub session: Option<&'a Session>,
    /// Where the credentials live (for `/model status`).
    pub auth_location: &'a str,
    /// Now, ms.
    pub now: i64,
    /// Whose rules apply where SPEC and OpenClaw 2026.9 differ.
    pub behaviour: Behaviour,
    /// The routing policy, for `/model status` (which profile is next, lanes, quota).
    pub quota: crate::resolver::QuotaAsk<'a>,
    /// Lane crossings handed out by this gateway (for `/model status`).
    pub crossings: u64,
}

/// Whose rules a directive follows where SPEC.md (the early-2026 reference) and OpenClaw 2026.9.6
/// differ: the state directory's generation decides (docs/DECISIONS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// SPEC.md: `/model <model>` without `@profile` and `/model default` clear the pin; replies
    /// "Model set to X." / "Model reset to default (X).".
    #[default]
    Spec,
    /// OpenClaw 2026.9.6: a pin of the selected model's provider survives; replies "Model set to X for
    /// this session only; configured default unchanged." / "Session model reset to configured default
    /// (X).".
    OpenClaw2026_9,
}

/// Whether 2026.9's rule keeps the session's pin when a model of `provider` is selected without
/// `@profile`: it does when the pinned profile belongs to that provider.
fn keeps_pin(i: &PlanInput<'_>, provider: Option<&ProviderId>) -> bool {
    let pin = i.session.and_then(|s| s.pin.as_ref());
    match (i.behaviour, pin, provider) {
        (Behaviour::OpenClaw2026_9, Some(pin), Some(provider)) => {
            profile_provider(i.store, i.config, &pin.profile).as_ref() == Some(provider)
        }
        _ => false,
    }
}

/// Decides what a directive-only parse does (SPEC §4): a pure function of the parse and snapshots.
pub fn plan(p: &ParseResult<'_>, i: &PlanInput<'_>) -> Plan {
    let new_rules = i.behaviour == Behaviour::OpenClaw2026_9;
    let catalogue = Catalogue::build(i.config, i.store, i.env, i.agent).with_alias_rules(new_rules, i.config);
    let default_ref = models::normalise_ref(&i.config.primary_model(i.agent));
    // OpenClaw 2026.9.6 names a model by its alias only when the user typed the alias.
    let default_alias = (!new_rules)
        .then(|| replies::alias_of(&catalogue, &default_ref))
        .flatten();
    let default_label = replies::label(&default_ref, default_alias);
    let current = match i.session.and_then(|s| s.model_override.as_deref()) {
        Some(r) => replies::label(r, replies::alias_of(&catalogue, r)),
        None => default_label.clone(),
    };
    if p.scope_conflict {
        return Plan::Refuse(SCOPE_CONFLICT.into());
    }
    let raw = p.raw_model.as_deref().unwrap_or("");
    let profile = p.raw_profile.as_deref();
    let keyword = raw.to_ascii_lowercase();
    if (raw.is_empty() || raw.starts_with('@') || keyword == "list" || keyword == "status")
        && (profile.is_some() || raw.starts_with('@'))
    {
        return Plan::Refuse(replies::PROFILE_NEEDS_MODEL.into());
    }
    if raw.is_empty() {
        return match p.raw_runtime {
            Some(rt) => Plan::Apply(Commit {
                runtime: Some(rt.to_owned()),
                reply: format!("Runtime set to {rt}."),
                changes: vec![Change::RuntimeSet {
                    runtime: rt.to_owned(),
                }],
                ..Commit::default()
            }),
            None => Plan::Reply(replies::summary(&current, i.session)),
        };
    }
    match keyword.as_str() {
        "list" => return Plan::Reply(replies::list(&catalogue)),
        "status" => {
            let input = replies::StatusInput {
                agent: i.agent,
                current,
                default: default_label,
                auth_file: i.auth_location.to_owned(),
                session: i.session,
                config: i.config,
                store: i.store,
                env: i.env,
                catalogue: &catalogue,
                now: i.now,
                quota: i.quota,
                crossings: i.crossings,
            };
            return Plan::Reply(replies::status(&input));
        }
        "default" => return reset_to_default(i, &default_ref, &default_label),
        _ => {}
    }
    match select(p, i, &catalogue, raw, profile, &default_ref) {
        Ok(commit) => Plan::Apply(commit),
        Err(text) => Plan::Refuse(text),
    }
}

/// `/model default`: the session's override (and a pin for another provider) cleared.
fn reset_to_default(i: &PlanInput<'_>, default_ref: &str, default_label: &str) -> Plan {
    let keep = keeps_pin(i, split_ref(default_ref).map(|(p, _)| p).as_ref());
    let reply = match i.behaviour {
        Behaviour::Spec => format!("Model reset to default ({default_label})."),
        Behaviour::OpenClaw2026_9 => {
            format!("Session model reset to configured default ({default_label}).")
        }
    };
    let mut changes = vec![Change::ModelReset];
    if !keep {
        changes.push(Change::PinCleared);
    }
    Plan::Apply(Commit {
        model: Some(None),
        pin: (!keep).then_some(None),
        reply,
        changes,
        default_selected: i.behaviour == Behaviour::OpenClaw2026_9,
        ..Commit::default()
    })
}

/// The selection of a model (and perhaps a profile, runtime and default scope).
fn select(
    p: &ParseResult<'_>,
    i: &PlanInput<'_>,
    catalogue: &Catalogue,
    raw: &str,
    profile: Option<&str>,
    default_ref: &str,
) -> Result<Commit, String> {
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(replies::NUMERIC.into());
    }
    // An 8-digit `@YYYYMMDD` suffix is a profile after all when such a profile exists.
    let (raw, profile) = match (profile, raw.rsplit_once('@')) {
        (None, Some((m, d)))
            if d.len() == 8
                && d.bytes().all(|b| b.is_ascii_digit())
                && profile_provider(i.store, i.config, d).is_some() =>
        {
            (m, Some(d))
        }
        _ => (raw, profile),
    };
    let new_rules = i.behaviour == Behaviour::OpenClaw2026_9;
    let (model_ref, alias, unlisted) = matched_model(raw, i, catalogue, default_ref)?;
    let provider = split_ref(&model_ref).map(|(p, _)| p);
    if let Some(id) = profile {
        check_profile(i, id, provider.as_ref())?;
    }
    let label = match new_rules {
        true => replies::label(&model_ref, alias.as_deref()),
        false => replies::label(
            &model_ref,
            alias
                .as_deref()
                .or(replies::alias_of(catalogue, &model_ref)),
        ),
    };
    let mut commit = Commit::default();
    let scope_text = default_scope(p, i, &mut commit, &label, &model_ref);
    let is_default = model_ref == default_ref;
    let override_to =
        (!is_default && p.scope.is_none_or(|s| s == Scope::Session)).then(|| model_ref.clone());
    let keep = profile.is_none() && keeps_pin(i, provider.as_ref());
    commit.model = Some(override_to.clone());
    commit.default_selected = new_rules && override_to.is_none() && is_default;
    commit.pin = (!keep).then(|| profile.map(str::to_owned));
    commit.runtime = p.raw_runtime.map(str::to_owned);
    let mut reply = model_reply(p, i, &mut commit, override_to.as_deref(), &label);
    match profile {
        Some(id) => {
            commit.changes.push(Change::PinSet {
                profile: id.to_owned(),
            });
            reply.push_str(&format!(" Auth profile set to {id}."));
        }
        None if !keep && i.session.is_some_and(|s| s.pin.is_some()) => {
            commit.changes.push(Change::PinCleared)
        }
        None => {}
    }
    reply.push_str(&scope_text);
    if let Some(rt) = &commit.runtime {
        commit.changes.push(Change::RuntimeSet {
            runtime: rt.clone(),
        });
        reply.push_str(&format!(" Runtime set to {rt}."));
    }
    if unlisted && !new_rules {
        reply.push_str(&format!(
            " Note: modelauth does not list {model_ref}; it is used as typed (check the id with /model list)."
        ));
    }
    commit.reply = reply;
    Ok(commit)
}

/// The model `raw` names under the directory's rules: `(ref, alias, unlisted)`, or the refusal.
fn matched_model(
    raw: &str,
    i: &PlanInput<'_>,
    catalogue: &Catalogue,
    default_ref: &str,
) -> Result<(String, Option<String>, bool), String> {
    let default_provider =
        split_ref(default_ref).map_or("anthropic".to_owned(), |(p, _)| p.to_string());
    let new_rules = i.behaviour == Behaviour::OpenClaw2026_9;
    let matched = match new_rules {
        true => select_2026_9::match_model_2026_9(raw, catalogue, i.config, default_ref),
        false => match_model(raw, catalogue, i.config, &default_provider),
    };
    Ok(match matched {
        ModelMatch::Found {
            model_ref,
            alias,
            unlisted,
        } => (model_ref, alias, unlisted),
        // OpenClaw 2026.9.6 takes an id it does not know, without an allowlist, as typed.
        ModelMatch::Unknown { model_ref, .. } if new_rules => (model_ref, None, false),
        ModelMatch::Unknown {
            model_ref,
            suggestion,
        } => {
            let provider = split_ref(&model_ref).map_or(String::new(), |(p, _)| p.to_string());
            let mut t = format!("Model \"{model_ref}\" is not a model modelauth knows for {provider}.");
            if let Some(s) = suggestion {
                t.push_str(&format!(" Did you mean {s}?"));
            }
            t.push_str(&format!(
                " Use /model list to see models; to use an id modelauth does not list, type it in full: /model {model_ref}"
            ));
            return Err(t);
        }
        ModelMatch::Ambiguous(list) => {
            return Err(format!(
                "Model \"{raw}\" is ambiguous: {}.",
                list.join(", ")
            ));
        }
        ModelMatch::NotAllowed {
            model_ref,
            suggestion,
        } => {
            let mut t = format!(
                "Model \"{model_ref}\" is not allowed. Use /model list to see providers and models."
            );
            if let Some(s) = suggestion {
                t.push_str(&format!(" Did you mean {s}?"));
            }
            return Err(t);
        }
    })
}

/// `/model … --agent|--global`: the config default to set, into `commit`; the reply's sentence.
fn default_scope(p: &ParseResult<'_>, i: &PlanInput<'_>, commit: &mut Commit, label: &str, model_ref: &str) -> String {
    let Some(scope @ (Scope::Agent | Scope::Global)) = p.scope else {
        return String::new();
    };
    let target = (scope == Scope::Agent).then(|| i.agent.clone());
    let (scope_name, text) = match &target {
        Some(a) => ("agent", format!(" Default model for agent {a} set to {label}.")),
        None => ("global", format!(" Global default model set to {label}.")),
    };
    commit.changes.push(Change::DefaultModelSet {
        scope: scope_name,
        model: model_ref.to_owned(),
    });
    commit.config_default = Some((target, model_ref.to_owned()));
    text
}

/// The reply's first sentence for the model change, recorded into `commit`.
fn model_reply(p: &ParseResult<'_>, i: &PlanInput<'_>, commit: &mut Commit, override_to: Option<&str>, label: &str) -> String {
    let new_wording = i.behaviour == Behaviour::OpenClaw2026_9;
    match override_to {
        Some(m) => {
            commit.changes.push(Change::ModelSet { model: m.to_owned() });
            if new_wording {
                format!("Model set to {label} for this session only; configured default unchanged.")
            } else {
                format!("Model set to {label}.")
            }
        }
        None => {
            commit.changes.push(Change::ModelReset);
            if p.scope.is_some_and(|s| s != Scope::Session) {
                format!("Model set to {label}.")
            } else if new_wording {
                format!("Session model reset to configured default ({label}).")
            } else {
                format!("Model reset to default ({label}).")
            }
        }
    }
}

/// A profile named with `@id` must exist and belong to the model's provider.
fn check_profile(i: &PlanInput<'_>, id: &str, model_provider: Option<&ProviderId>) -> Result<(), String> {
    let Some(profile_provider) = profile_provider(i.store, i.config, id) else {
        return Err(format!("Auth profile \"{id}\" not found."));
    };
    match model_provider {
        Some(m) if &profile_provider != m => Err(format!(
            "Auth profile \"{id}\" is for {profile_provider}, not {m}."
        )),
        _ => Ok(()),
    }
}

/// The provider of profile `id` (store first, then config `auth.profiles`).
fn profile_provider(store: &AuthProfiles, config: &Config, id: &str) -> Option<ProviderId> {
    store
        .profiles
        .get(id)
        .map(|p| p.provider.clone())
        .or_else(|| config.auth_profiles.get(id).map(|m| m.provider.clone()))
}
