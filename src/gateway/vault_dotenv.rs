//! `secrets migrate --env`: a provider key in `<state>/.env` (`<PROVIDER>_API_KEY`) moved into a store
//! as the API-key profile `<provider>:env` holding a reference; its `.env` line is removed last, and
//! only while it still holds the value that was moved. Killed before, the key is in `.env` (and
//! perhaps in the store too); after, in the store.

use std::path::Path;

use super::vault::{MigrateItem, MigrateOutcome, MigrateReport, MigrateRequest};
use super::{Agent, AgentError};
use crate::secrets::vault;
use crate::store::{CredentialKind, NewCredential, ProviderId, Secret, StoreError};

/// The provider whose key variable `name` is (`ANTHROPIC_API_KEY` → anthropic, `GEMINI_API_KEY`
/// and `GOOGLE_API_KEY` → google).
fn provider_of(name: &str) -> Option<ProviderId> {
    let stem = name.strip_suffix("_API_KEY")?;
    let id = match stem {
        "GEMINI" | "GOOGLE" => "google".to_owned(),
        other => other.to_ascii_lowercase().replace('_', "-"),
    };
    ProviderId::new(&id).ok()
}

impl Agent {
    /// Moves the provider keys of `.env` (of `req.provider` only, when given) into `req.target`'s
    /// store; each becomes profile `<provider>:env`. Items are added to `report`.
    pub(crate) fn migrate_dotenv(
        &self,
        req: &MigrateRequest,
        report: &mut MigrateReport,
    ) -> Result<(), AgentError> {
        let Some(path) = self.state_dir().map(|d| d.join(".env")) else {
            return Ok(());
        };
        let Some(bytes) = crate::store::atomic::read_bytes(&path, 1 << 20)? else {
            return Ok(());
        };
        let (vars, _) = crate::config::dotenv::parse(&bytes);
        let store = self.store()?;
        let wanted = req.provider.as_deref().map(ProviderId::new).transpose()?;
        for (name, value) in vars {
            let Some(provider) = provider_of(&name) else {
                continue;
            };
            if wanted.as_ref().is_some_and(|w| *w != provider) || value.is_blank() {
                continue;
            }
            let id = format!("{provider}:env");
            let r = vault::reference_for(req.target.kind, &id);
            let outcome = if value.expose_secret().contains('\n') {
                MigrateOutcome::Skipped(format!(".env {name} spans lines: move it by hand"))
            } else if let Some(p) = store.profiles.get(&id) {
                // A run killed after adding the profile: finish by removing the line.
                let same = matches!(self.resolve_ref(p), Some(Ok(s)) if s.expose_secret() == value.expose_secret());
                match (same, req.dry_run) {
                    (true, true) => MigrateOutcome::Planned,
                    (true, false) => finish(remove_dotenv_line(&path, &name, &value), &id, &name),
                    (false, _) => MigrateOutcome::Skipped(format!(
                        "profile {id} exists with another secret: .env {name} is kept"
                    )),
                }
            } else if req.dry_run {
                MigrateOutcome::Planned
            } else {
                self.move_dotenv_key(req, &path, &name, &id, provider, &value)
            };
            report.items.push(MigrateItem {
                profile: id,
                kind: CredentialKind::ApiKey.as_str().to_owned(),
                from: format!(".env {name}"),
                reference: Some(r.label()),
                outcome,
            });
        }
        Ok(())
    }

    /// Store, verify, add the profile, remove the `.env` line.
    fn move_dotenv_key(
        &self,
        req: &MigrateRequest,
        path: &Path,
        name: &str,
        id: &str,
        provider: ProviderId,
        value: &Secret,
    ) -> MigrateOutcome {
        let run = || -> Result<bool, AgentError> {
            let reference = self.stash_secret(id, value, &req.target)?;
            let mut cred =
                NewCredential::new(provider, CredentialKind::ApiKey, value.clone(), None);
            cred.reference = Some(reference);
            self.add_credential(id, &cred)?;
            self.pause_at("env-added");
            Ok(remove_dotenv_line(path, name, value)?)
        };
        finish(run(), id, name)
    }
}

/// The outcome of removing the `.env` line of `name` after `id` holds its key.
fn finish<E: std::fmt::Display>(removed: Result<bool, E>, id: &str, name: &str) -> MigrateOutcome {
    match removed {
        Ok(true) => MigrateOutcome::Moved,
        Ok(false) => MigrateOutcome::Failed(format!(
            "{id} holds the key, but .env {name} changed meanwhile and was kept; remove it by hand"
        )),
        Err(e) => MigrateOutcome::Failed(e.to_string()),
    }
}

/// Removes the assignment of `name` from the `.env` at `path` (under its lock, atomically, other
/// lines kept) when it still holds `value`; false when it holds something else now.
fn remove_dotenv_line(path: &Path, name: &str, value: &Secret) -> Result<bool, StoreError> {
    crate::store::atomic::update(path, 1 << 20, |current| {
        let text = zeroize::Zeroizing::new(current.unwrap_or_default());
        let (vars, _) = crate::config::dotenv::parse(text.as_bytes());
        let now = vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
        if now.map(Secret::expose_secret) != Some(value.expose_secret()) {
            return Ok((None, false));
        }
        let kept: String = text
            .lines()
            .filter(|line| !crate::config::dotenv::line_assigns(line, name))
            .flat_map(|l| [l, "\n"])
            .collect();
        Ok((Some(kept), true))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names() {
        assert_eq!(
            provider_of("ANTHROPIC_API_KEY").unwrap().as_str(),
            "anthropic"
        );
        assert_eq!(provider_of("GEMINI_API_KEY").unwrap().as_str(), "google");
        assert_eq!(
            provider_of("AMAZON_BEDROCK_API_KEY").unwrap().as_str(),
            "amazon-bedrock"
        );
        assert!(provider_of("ANTHROPIC_API_KEYS").is_none());
        assert!(provider_of("HOME").is_none());
    }
}
