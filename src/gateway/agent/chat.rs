//! [`Agent::chat`]: a chat message parsed with this agent's aliases, planned, and committed as one
//! change.

use std::sync::Arc;

use crate::config::{Config, file as config_file};
use crate::interpreter::{self, Behaviour, ChatOutcome, Commit, DirectiveStatus, Plan, PlanInput};
use crate::parser::{self, Aliases, ParseResult};
use crate::session::{Pin, Session};
use crate::store::OverrideSource;

use super::{Agent, AgentError};

impl Agent {
    /// The chat shortcuts of the current config.
    fn aliases(&self, version: u64, config: &Config) -> Arc<Aliases> {
        let mut slot = self.inner.aliases.lock().unwrap_or_else(|e| e.into_inner());
        if slot.0 != version {
            *slot = (
                version,
                Arc::new(Aliases::new(config.aliases().map(|(a, _)| a))),
            );
        }
        Arc::clone(&slot.1)
    }

    /// Parses `message` with this agent's configured aliases (no state changes).
    pub fn parse<'m>(&self, message: &'m str) -> Result<ParseResult<'m>, AgentError> {
        let config = self.inner.config.current()?;
        let aliases = self.aliases(config.version, &config.value);
        Ok(parser::parse(message, &aliases))
    }

    /// Handles one chat message of session `session` (SPEC §4): a directive-only message is applied
    /// all-or-nothing and answered; other text comes back cleaned for the model.
    pub fn chat(&self, session: &str, message: &str) -> Result<ChatOutcome, AgentError> {
        let trimmed = message.trim();
        if trimmed.eq_ignore_ascii_case("/new") || trimmed.eq_ignore_ascii_case("/reset") {
            let id = self.inner.sessions.new_session(session)?;
            self.inner.sessions.flush()?;
            return Ok(ChatOutcome::applied(
                format!("New session started ({id})."),
                vec![interpreter::Change::NewSession {
                    session_id: id.to_string(),
                }],
            ));
        }
        let config = self.inner.config.current()?;
        let aliases = self.aliases(config.version, &config.value);
        let parsed = parser::parse(message, &aliases);
        let mut outcome = ChatOutcome::unchanged(parsed.cleaned.to_string());
        if !parsed.has_directive {
            return Ok(outcome);
        }
        // A second scope flag stays in the cleaned text, so such a message is never directive-only; the
        // reference rejects it before that check, and so does this.
        if parsed.scope_conflict {
            outcome.reply = Some(interpreter::SCOPE_CONFLICT.to_owned());
            outcome.directive = DirectiveStatus::Rejected;
            return Ok(outcome);
        }
        if !parsed.is_directive_only() {
            outcome.directive = match interpreter::malformed::reply(&parsed, message) {
                Some(text) => {
                    outcome.reply = Some(text);
                    DirectiveStatus::Rejected
                }
                None => DirectiveStatus::Ignored,
            };
            return Ok(outcome);
        }
        let store = self.store()?;
        let current = self.inner.sessions.get(session)?;
        let location = self.store_location();
        let plan = interpreter::plan(
            &parsed,
            &PlanInput {
                agent: &self.inner.id,
                config: &config.value,
                store: &store,
                env: &self.inner.env,
                session: current.as_ref(),
                auth_location: &location,
                now: self.now_ms(),
                behaviour: match self.inner.layout {
                    Some(crate::gateway::StateLayout::Sqlite) => Behaviour::OpenClaw2026_9,
                    _ => Behaviour::Spec,
                },
                quota: self.quota_ask(Default::default()),
                crossings: self.lane_crossings(),
            },
        );
        match plan {
            Plan::Reply(text) => {
                outcome.reply = Some(text);
                outcome.directive = DirectiveStatus::Applied;
            }
            Plan::Refuse(text) => {
                // A key typed where a model or profile goes is never echoed back.
                outcome.reply = Some(crate::redact_secret_like(&text));
                outcome.directive = DirectiveStatus::Rejected;
            }
            Plan::Apply(commit) => {
                outcome.config_comments_dropped = self.commit(session, current, &commit)?;
                outcome.reply = Some(commit.reply);
                outcome.changes = commit.changes;
                outcome.directive = DirectiveStatus::Applied;
            }
        }
        Ok(outcome)
    }

    /// Applies a planned directive all-or-nothing (SPEC §4): the session is changed and saved first;
    /// when that fails it is put back and nothing else is written. Then the config is written; when that
    /// fails the session is put back (and saved again). Returns whether the config write dropped
    /// comments.
    fn commit(&self, key: &str, before: Option<Session>, c: &Commit) -> Result<bool, AgentError> {
        let sessions = &self.inner.sessions;
        let pin_profile = match &c.pin {
            Some(Some(id)) => Some(Some(sessions.intern(id))),
            Some(None) => Some(None),
            None => None,
        };
        sessions.update(key, |s| {
            if let Some(model) = &c.model {
                s.model_override = model.as_deref().map(Into::into);
                s.model_source = model.as_ref().map(|_| OverrideSource::User);
                s.model_default = model.is_none() && c.default_selected;
            }
            if let Some(pin) = &pin_profile {
                s.pin = pin.as_ref().map(|profile| Pin {
                    profile: Arc::clone(profile),
                    source: OverrideSource::User,
                    compaction_at_pin: s.compaction_count,
                    order_hash: 0,
                    rotate: false,
                });
            }
            if let Some(rt) = &c.runtime {
                s.runtime_override = Some(rt.as_str().into());
            }
        })?;
        if let Err(e) = sessions.flush() {
            sessions.restore(key, before)?;
            return Err(e.into());
        }
        let Some((target, model_ref)) = &c.config_default else {
            return Ok(false);
        };
        let written = self
            .inner
            .config
            .update(&mut |doc| config_file::set_primary_model(doc, target.as_ref(), model_ref));
        match written {
            Ok(w) => Ok(w.dropped_comments),
            Err(e) => {
                sessions.restore(key, before)?;
                if let Err(again) = sessions.flush() {
                    tracing::warn!(session = key, "cannot save the restored session: {again}");
                }
                Err(e.into())
            }
        }
    }

    /// Sets the default model of every agent (`agents.defaults.model.primary`), as `onboard` does;
    /// returns whether config comments were dropped by the rewrite.
    pub fn set_default_model(&self, model_ref: &str) -> Result<bool, AgentError> {
        let written = self
            .inner
            .config
            .update(&mut |doc| config_file::set_primary_model(doc, None, model_ref))?;
        Ok(written.dropped_comments)
    }
}
