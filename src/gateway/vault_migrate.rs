//! `modelauth secrets migrate`: plaintext keys and tokens moved into a store, in four steps, each safe
//! to interrupt: (1) every secret is written to the store; (2) the store's provider is
//! declared in `openclaw.json`; (3) every new reference is resolved and compared; (4) one atomic edit
//! of the credential store swaps each verified plaintext for its reference (only where the plaintext
//! is still the value that was moved). Killed before (4), the plaintext is untouched; after, the store
//! holds the value. Run again, it finishes what is left.

use std::sync::Arc;

use super::vault::{MigrateItem, MigrateOutcome, MigrateReport, MigrateRequest, movable};
use super::{Agent, AgentError};
use crate::secrets::systemd;
use crate::secrets::vault::{self, VaultKind};
use crate::store::{Profile, ProviderId, Secret, SecretRef};

/// A profile on its way into the store.
struct Moving {
    index: usize,
    id: String,
    secret: Secret,
    reference: SecretRef,
}

impl Agent {
    /// Moves the plaintext keys and tokens of this agent's profiles (all, one provider's, or one)
    /// into `req.target`'s store; with `dry_run`, says what would move. OAuth logins and profiles that
    /// already hold a reference are skipped, with the reason. A profile that fails keeps its plaintext.
    pub fn migrate_secrets(&self, req: &MigrateRequest) -> Result<MigrateReport, AgentError> {
        let store = self.store()?;
        let provider = req.provider.as_deref().map(ProviderId::new).transpose()?;
        let chosen: Vec<&Arc<Profile>> = store
            .profiles
            .values()
            .filter(|p| req.profile.as_deref().is_none_or(|id| p.id == id))
            .filter(|p| provider.as_ref().is_none_or(|pr| &p.provider == pr))
            .collect();
        if let Some(id) = &req.profile
            && chosen.is_empty()
            && !req.include_env
        {
            return Err(crate::ReportError::UnknownProfile {
                id: id.clone(),
                path: self.store_location(),
            }
            .into());
        }
        let kind = req.target.kind;
        let mut report = MigrateReport {
            to: kind.as_str(),
            items: Vec::new(),
            unit_lines: Vec::new(),
        };
        let mut moving = Vec::new();
        for p in chosen {
            let (outcome, go) = plan_one(p, req.dry_run);
            let reference = matches!(outcome, MigrateOutcome::Planned)
                .then(|| vault::reference_for(kind, &p.id));
            if let (true, Some(r), Some(secret)) = (go, &reference, &p.secret) {
                moving.push(Moving {
                    index: report.items.len(),
                    id: p.id.clone(),
                    secret: secret.clone(),
                    reference: r.clone(),
                });
            }
            report.items.push(MigrateItem {
                profile: p.id.clone(),
                kind: p.kind.as_str().to_owned(),
                from: "profile".into(),
                reference: reference.map(|r| r.label()),
                outcome,
            });
        }
        refuse_shared_names(&mut moving, &mut report);
        if !moving.is_empty() {
            self.move_all(req, moving, &mut report)?;
        }
        if req.include_env {
            self.migrate_dotenv(req, &mut report)?;
        }
        Ok(report)
    }

    /// Steps (1) to (4) for the profiles of `moving`; each item's outcome is set in `report`.
    fn move_all(
        &self,
        req: &MigrateRequest,
        moving: Vec<Moving>,
        report: &mut MigrateReport,
    ) -> Result<(), AgentError> {
        let paths = self.vault_paths(&req.target)?;
        let kind = req.target.kind;
        let mut stored = Vec::new();
        for m in moving {
            match vault::put(kind, &m.id, &m.secret, &paths) {
                Ok(()) => stored.push(m),
                Err(e) => report.items[m.index].outcome = MigrateOutcome::Failed(e.to_string()),
            }
        }
        self.pause_at("stored");
        if stored.is_empty() {
            return Ok(());
        }
        self.declare_vault(&req.target)?;
        self.pause_at("declared");
        let mut verified = Vec::new();
        for m in stored {
            match self.check_resolves(&m.reference, &m.secret, kind) {
                Ok(()) => verified.push(m),
                Err(e) => report.items[m.index].outcome = MigrateOutcome::Failed(e.to_string()),
            }
        }
        let mut swapped = vec![false; verified.len()];
        self.profiles().edit(&mut |e| {
            for (m, done) in verified.iter().zip(swapped.iter_mut()) {
                *done = e.set_reference(&m.id, &m.reference, &m.secret);
            }
            Ok(())
        })?;
        self.pause_at("replaced");
        for (m, done) in verified.iter().zip(swapped) {
            report.items[m.index].outcome = match done {
                true => MigrateOutcome::Moved,
                false => MigrateOutcome::Failed(
                    "the profile changed while it was being moved; run the migration again".into(),
                ),
            };
            if done && kind == VaultKind::Systemd {
                report
                    .unit_lines
                    .push(unit_line(&req.target.credstore, &m.id));
            }
        }
        Ok(())
    }

    /// A test hook: with `MODELAUTH_PAUSE_AT=<step>` in the environment, says so on stderr and waits
    /// (for a test to kill the process at exactly that step).
    pub(crate) fn pause_at(&self, step: &str) {
        if self.env().get_plain("MODELAUTH_PAUSE_AT") == Some(step) {
            eprintln!("modelauth: paused at {step}");
            std::thread::sleep(std::time::Duration::from_secs(120));
        }
    }
}

/// Two profiles whose ids map to one credential name (`a:b` and `a.b` in systemd) are not moved.
fn refuse_shared_names(moving: &mut Vec<Moving>, report: &mut MigrateReport) {
    let mut seen = std::collections::HashMap::new();
    for m in moving.iter() {
        *seen.entry(m.reference.id.clone()).or_insert(0) += 1;
    }
    moving.retain(|m| {
        let shared = seen[&m.reference.id] > 1;
        if shared {
            report.items[m.index].outcome = MigrateOutcome::Failed(format!(
                "another profile maps to the same name ({}); rename one of them",
                m.reference.id
            ));
        }
        !shared
    });
}

/// What to do with `p`: its outcome, and whether it moves now.
fn plan_one(p: &Profile, dry_run: bool) -> (MigrateOutcome, bool) {
    if let Err(why) = movable(p.kind) {
        return (MigrateOutcome::Skipped(why.to_owned()), false);
    }
    if let Some(r) = &p.secret_ref {
        let why = format!("already a reference ({})", r.label());
        return (MigrateOutcome::Skipped(why), false);
    }
    if p.secret.as_ref().is_none_or(Secret::is_blank) {
        return (MigrateOutcome::Skipped("holds no secret".into()), false);
    }
    (MigrateOutcome::Planned, !dry_run)
}

/// The unit line that loads profile `id`'s encrypted credential from `credstore`.
fn unit_line(credstore: &std::path::Path, id: &str) -> String {
    let name = systemd::credential_name(id);
    match credstore == std::path::Path::new(systemd::DEFAULT_CREDSTORE) {
        true => format!("LoadCredentialEncrypted={name}"),
        false => format!(
            "LoadCredentialEncrypted={name}:{}",
            systemd::credstore_path(credstore, &name).display()
        ),
    }
}
