//! What a chat message does (SPEC §4): parse it, and when it is directive-only, apply the directive to
//! the session (and config, for `-a`/`-g`) all-or-nothing, producing the reply text.

pub mod agent;
pub mod models;
pub mod replies;
pub mod status;

use std::sync::{Arc, Mutex};

use serde::Serialize;

pub use agent::{Agent, AgentError, Decision};

use crate::config::{Config, file as config_file};
use crate::parser::{self, Aliases, ParseResult, Scope};
use crate::store::{OverrideSource, ProviderId};
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

/// Runs chat messages against one [`Agent`].
#[derive(Debug, Clone)]
pub struct Interpreter {
    agent: Agent,
    aliases: Arc<Mutex<(usize, Arc<Aliases>)>>,
}

/// A user-facing refusal: the reply text; nothing was persisted.
struct Refusal(String);

impl Interpreter {
    /// An interpreter over `agent`.
    pub fn new(agent: Agent) -> Interpreter {
        Interpreter {
            agent,
            aliases: Arc::new(Mutex::new((0, Arc::new(Aliases::default())))),
        }
    }

    /// The agent.
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// The alias shortcuts of `config` (rebuilt only when config was reloaded).
    fn aliases_for(&self, config: &Arc<Config>) -> Arc<Aliases> {
        let key = Arc::as_ptr(config) as usize;
        let mut guard = self.aliases.lock().unwrap_or_else(|e| e.into_inner());
        if guard.0 != key {
            *guard = (
                key,
                Arc::new(Aliases::new(config.aliases().map(|(a, _)| a))),
            );
        }
        Arc::clone(&guard.1)
    }

    /// Handles one message of session `session`. Store or config errors (corrupt file, no permission)
    /// are returned as errors; everything a user can type wrong is a reply.
    pub fn handle(&self, session: &str, message: &str) -> Result<ChatOutcome, AgentError> {
        let trimmed = message.trim();
        if trimmed.eq_ignore_ascii_case("/new") || trimmed.eq_ignore_ascii_case("/reset") {
            let id = self.agent.sessions().new_session(session)?;
            self.agent.sessions().flush()?;
            return Ok(ChatOutcome {
                reply: Some(format!("New session started ({id}).")),
                cleaned: String::new(),
                directive: DirectiveStatus::Applied,
                changes: vec![Change::NewSession {
                    session_id: id.to_string(),
                }],
                config_comments_dropped: false,
            });
        }
        let config = self.agent.config()?;
        let aliases = self.aliases_for(&config);
        let parsed = parser::parse(message, &aliases);
        let mut outcome = ChatOutcome {
            reply: None,
            cleaned: parsed.cleaned.to_string(),
            directive: DirectiveStatus::None,
            changes: Vec::new(),
            config_comments_dropped: false,
        };
        if !parsed.has_directive {
            return Ok(outcome);
        }
        if !parsed.is_directive_only() {
            outcome.directive = DirectiveStatus::Ignored;
            return Ok(outcome);
        }
        match self.apply(session, &parsed, &config, &mut outcome) {
            Ok(reply) => {
                outcome.reply = Some(reply);
                outcome.directive = DirectiveStatus::Applied;
                self.agent.sessions().flush()?;
            }
            Err(Ok(Refusal(text))) => {
                outcome.reply = Some(text);
                outcome.directive = DirectiveStatus::Rejected;
                outcome.changes.clear();
            }
            Err(Err(e)) => return Err(e),
        }
        Ok(outcome)
    }

    /// Applies a directive-only parse; `Err(Ok(_))` is a refusal, `Err(Err(_))` a system error.
    fn apply(
        &self,
        key: &str,
        p: &ParseResult<'_>,
        config: &Config,
        out: &mut ChatOutcome,
    ) -> Result<String, Result<Refusal, AgentError>> {
        let sys = |e: AgentError| Err(e);
        let store = self.agent.store().map_err(|e| sys(e.into()))?;
        let agent_id = self.agent.id();
        let sessions = self.agent.sessions();
        let session = sessions.get(key).map_err(|e| sys(e.into()))?;
        let catalogue = Catalogue::build(config, &store, self.agent.env(), agent_id);
        let default_ref = models::normalise_ref(&config.primary_model(agent_id));
        let default_label =
            replies::label(&default_ref, replies::alias_of(&catalogue, &default_ref));
        let current_ref = session
            .as_ref()
            .and_then(|s| s.model_override.as_deref().map(str::to_owned));
        let current = match &current_ref {
            Some(r) => replies::label(r, replies::alias_of(&catalogue, r)),
            None => default_label.clone(),
        };
        let refuse = |t: &str| Err(Ok(Refusal(t.to_owned())));
        if p.scope_conflict {
            return refuse("Conflicting scope flags: use only one of -s, -a, -g.");
        }
        let raw = p.raw_model.as_deref().unwrap_or("");
        let profile = p.raw_profile.as_deref();
        let keyword = raw.to_ascii_lowercase();
        if (raw.is_empty() || raw.starts_with('@') || keyword == "list" || keyword == "status")
            && (profile.is_some() || raw.starts_with('@'))
        {
            return refuse(replies::PROFILE_NEEDS_MODEL);
        }
        if raw.is_empty() {
            if let Some(rt) = p.raw_runtime {
                sessions
                    .update(key, |s| s.runtime_override = Some(rt.into()))
                    .map_err(|e| sys(e.into()))?;
                out.changes.push(Change::RuntimeSet {
                    runtime: rt.to_owned(),
                });
                return Ok(format!("Runtime set to {rt}."));
            }
            return Ok(replies::summary(&current, session.as_ref()));
        }
        match keyword.as_str() {
            "list" => return Ok(replies::list(&catalogue)),
            "status" => {
                let input = replies::StatusInput {
                    agent: agent_id,
                    current,
                    default: default_label,
                    auth_file: self.agent.store_cache().file().path().display().to_string(),
                    session: session.as_ref(),
                    config,
                    store: &store,
                    env: self.agent.env(),
                    catalogue: &catalogue,
                    now: self.agent.now_ms(),
                };
                return Ok(replies::status(&input));
            }
            "default" => {
                sessions
                    .update(key, |s| {
                        s.model_override = None;
                        s.model_source = None;
                        s.pin = None;
                    })
                    .map_err(|e| sys(e.into()))?;
                out.changes.extend([Change::ModelReset, Change::PinCleared]);
                return Ok(format!("Model reset to default ({default_label})."));
            }
            _ => {}
        }
        if raw.bytes().all(|b| b.is_ascii_digit()) {
            return refuse(replies::NUMERIC);
        }
        // An 8-digit `@YYYYMMDD` suffix is a profile after all when such a profile exists.
        let (raw, profile) = match (profile, raw.rsplit_once('@')) {
            (None, Some((m, d)))
                if d.len() == 8
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && self.profile_exists(&store, config, d) =>
            {
                (m, Some(d))
            }
            _ => (raw, profile),
        };
        let default_provider =
            split_ref(&default_ref).map_or("anthropic".to_owned(), |(p, _)| p.to_string());
        let (model_ref, alias) = match match_model(raw, &catalogue, config, &default_provider) {
            ModelMatch::Found { model_ref, alias } => (model_ref, alias),
            ModelMatch::Ambiguous(list) => {
                return refuse(&format!(
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
                return refuse(&t);
            }
        };
        let provider = split_ref(&model_ref).map(|(p, _)| p);
        if let Some(id) = profile {
            let Some(profile_provider) = self.profile_provider(&store, config, id) else {
                return refuse(&format!("Auth profile \"{id}\" not found."));
            };
            if let Some(model_provider) = &provider
                && &profile_provider != model_provider
            {
                return refuse(&format!(
                    "Auth profile \"{id}\" is for {profile_provider}, not {model_provider}."
                ));
            }
        }
        let label = replies::label(
            &model_ref,
            alias
                .as_deref()
                .or(replies::alias_of(&catalogue, &model_ref)),
        );
        let is_default = model_ref == default_ref;
        // Config first: if it fails, nothing else is written.
        let mut scope_text = String::new();
        if let Some(scope @ (Scope::Agent | Scope::Global)) = p.scope {
            let target = (scope == Scope::Agent).then_some(agent_id);
            let write = self
                .agent
                .state()
                .config_file()
                .update(|doc| config_file::set_primary_model(doc, target, &model_ref))
                .map_err(|e| sys(e.into()))?;
            out.config_comments_dropped = write.dropped_comments;
            let (scope_name, text) = match target {
                Some(a) => (
                    "agent",
                    format!(" Default model for agent {a} set to {label}."),
                ),
                None => ("global", format!(" Global default model set to {label}.")),
            };
            scope_text = text;
            out.changes.push(Change::DefaultModelSet {
                scope: scope_name,
                model: model_ref.clone(),
            });
        }
        let override_to =
            (!is_default && p.scope.is_none_or(|s| s == Scope::Session)).then(|| model_ref.clone());
        let pin_profile = profile.map(|id| sessions.intern(id));
        let runtime = p.raw_runtime;
        sessions
            .update(key, |s| {
                s.model_source = override_to.as_ref().map(|_| OverrideSource::User);
                s.model_override = override_to.as_deref().map(Into::into);
                s.pin = pin_profile.map(|profile| crate::session::Pin {
                    profile,
                    source: OverrideSource::User,
                    compaction_at_pin: s.compaction_count,
                    order_hash: 0,
                    rotate: false,
                });
                if let Some(rt) = runtime {
                    s.runtime_override = Some(rt.into());
                }
            })
            .map_err(|e| sys(e.into()))?;
        let mut reply = match &override_to {
            Some(m) => {
                out.changes.push(Change::ModelSet { model: m.clone() });
                format!("Model set to {label}.")
            }
            None => {
                out.changes.push(Change::ModelReset);
                if p.scope.is_some_and(|s| s != Scope::Session) {
                    format!("Model set to {label}.")
                } else {
                    format!("Model reset to default ({label}).")
                }
            }
        };
        match profile {
            Some(id) => {
                out.changes.push(Change::PinSet {
                    profile: id.to_owned(),
                });
                reply.push_str(&format!(" Auth profile set to {id}."));
            }
            None if session.as_ref().is_some_and(|s| s.pin.is_some()) => {
                out.changes.push(Change::PinCleared)
            }
            None => {}
        }
        reply.push_str(&scope_text);
        if let Some(rt) = runtime {
            out.changes.push(Change::RuntimeSet {
                runtime: rt.to_owned(),
            });
            reply.push_str(&format!(" Runtime set to {rt}."));
        }
        Ok(reply)
    }

    /// True when `id` is a profile of this agent's store or config.
    fn profile_exists(
        &self,
        store: &crate::store::AuthProfiles,
        config: &Config,
        id: &str,
    ) -> bool {
        store.profiles.contains_key(id) || config.auth_profiles.contains_key(id)
    }

    /// The provider of profile `id` (store first, then config `auth.profiles`).
    fn profile_provider(
        &self,
        store: &crate::store::AuthProfiles,
        config: &Config,
        id: &str,
    ) -> Option<ProviderId> {
        store
            .profiles
            .get(id)
            .map(|p| p.provider.clone())
            .or_else(|| config.auth_profiles.get(id).map(|m| m.provider.clone()))
    }
}
