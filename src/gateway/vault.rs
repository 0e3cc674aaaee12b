//! Keeping secrets off OpenClaw's files: a new credential written straight into a store
//! ([`Agent::stash_secret`]), and plaintext keys and tokens moved into one
//! ([`Agent::migrate_secrets`]). A secret is removed from the profile only after its reference
//! resolves to the same value, in one atomic change of the credential store, so at every instant the
//! key exists in the plaintext, in the store, or in both.

use std::path::PathBuf;

use serde_json::Value;

use super::{Agent, AgentError};
use crate::config::secrets::{ProviderDef, provider_def};
use crate::secrets::resolve_ref;
use crate::secrets::vault::{self, VaultError, VaultKind, VaultPaths};
use crate::store::{CredentialKind, Document, Secret, SecretRef};

/// Where a secret is to be kept, and what OpenClaw should run to read it back.
#[derive(Debug, Clone)]
pub struct VaultTarget {
    /// The store.
    pub kind: VaultKind,
    /// The directory of encrypted systemd credentials.
    pub credstore: PathBuf,
    /// The modelauth binary the exec provider runs (an absolute path).
    pub exe: PathBuf,
}

/// What [`Agent::migrate_secrets`] moves.
#[derive(Debug, Clone)]
pub struct MigrateRequest {
    /// Where to.
    pub target: VaultTarget,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this provider's profiles.
    pub provider: Option<String>,
    /// Say what would move; change nothing.
    pub dry_run: bool,
    /// Also move the provider keys of `<state>/.env` (each becomes profile `<provider>:env`).
    pub include_env: bool,
}

/// What happened to one profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "state", content = "why")]
pub enum MigrateOutcome {
    /// Would move (a dry run).
    Planned,
    /// Moved: the profile holds the reference; the plaintext is gone.
    Moved,
    /// Left as it is, and why.
    Skipped(String),
    /// Could not be moved (the plaintext is still there), and why.
    Failed(String),
}

/// One profile of a migration.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrateItem {
    /// The profile.
    pub profile: String,
    /// Its kind (`api_key`, `token`, `oauth`).
    pub kind: String,
    /// Where the secret is now: `profile`, or `.env NAME`.
    pub from: String,
    /// The reference it gets (`exec:keyring/anthropic:work`).
    pub reference: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: MigrateOutcome,
}

/// What a migration did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrateReport {
    /// The store.
    pub to: &'static str,
    /// Every profile considered.
    pub items: Vec<MigrateItem>,
    /// For `systemd`: the unit lines that make the credentials available to the service.
    pub unit_lines: Vec<String>,
}

impl MigrateReport {
    /// True when some profile could not be moved.
    pub fn any_failed(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i.outcome, MigrateOutcome::Failed(_)))
    }
}

impl Agent {
    /// Where the `systemd` and `file` stores of this agent's state directory write.
    pub(crate) fn vault_paths(&self, target: &VaultTarget) -> Result<VaultPaths, AgentError> {
        let root = self.state_dir().ok_or_else(|| VaultError::Failed {
            store: target.kind.as_str(),
            name: String::new(),
            why: "a gateway without a state directory keeps no secrets in stores".into(),
        })?;
        Ok(VaultPaths {
            credstore: target.credstore.clone(),
            file: vault::file_path(root),
        })
    }

    /// Puts `secret` of profile `profile` into `target`'s store, checks it reads back, and declares
    /// the store's provider in `openclaw.json`. Returns the reference to keep in the profile
    /// (`NewCredential::reference`). Nothing is written to the credential store here.
    pub fn stash_secret(
        &self,
        profile: &str,
        secret: &Secret,
        target: &VaultTarget,
    ) -> Result<SecretRef, AgentError> {
        let paths = self.vault_paths(target)?;
        vault::put(target.kind, profile, secret, &paths)?;
        self.declare_vault(target)?;
        let r = vault::reference_for(target.kind, profile);
        self.check_resolves(&r, secret, target.kind)?;
        Ok(r)
    }

    /// Adds the `secrets.providers` entry of `target`'s store when missing (or points modelauth's
    /// exec provider at `target.exe`); refuses an alias another provider already uses.
    pub(crate) fn declare_vault(&self, target: &VaultTarget) -> Result<(), AgentError> {
        let root = self.state_dir().map(std::path::Path::to_path_buf);
        let root = root.unwrap_or_default();
        let (alias, decl) = vault::provider_decl(target.kind, &root, &target.exe);
        let mut taken = false;
        self.config_store().update(&mut |doc: &mut Document| {
            let providers =
                crate::store::json::object_entry(doc.object_mut("secrets"), "providers");
            match providers.get(alias) {
                Some(v) if v == &decl => false,
                Some(v) if !is_ours(v) => {
                    taken = true;
                    false
                }
                _ => {
                    providers.insert(alias.to_owned(), decl.clone());
                    true
                }
            }
        })?;
        if taken {
            return Err(VaultError::Failed {
                store: target.kind.as_str(),
                name: alias.to_owned(),
                why: format!(
                    "secrets.providers.{alias} in openclaw.json is another provider: rename it"
                ),
            }
            .into());
        }
        Ok(())
    }

    /// Checks that `r` resolves to `secret` with the config as it is now. A systemd credential is only
    /// readable inside its unit; `systemd-creds` already decrypted it and compared.
    pub(crate) fn check_resolves(
        &self,
        r: &SecretRef,
        secret: &Secret,
        kind: VaultKind,
    ) -> Result<(), AgentError> {
        if kind == VaultKind::Systemd {
            return Ok(());
        }
        let config = self.config()?;
        let fail = |why: String| VaultError::Failed {
            store: kind.as_str(),
            name: r.label(),
            why,
        };
        match self.with_ref_context(&config, |ctx| resolve_ref(r, ctx)) {
            Ok(v) if v.expose_secret() == secret.expose_secret() => Ok(()),
            Ok(_) => Err(fail("the reference resolves to another value".into()).into()),
            Err(e) => Err(fail(format!("the reference does not resolve: {e}")).into()),
        }
    }
}

/// True for a declaration modelauth wrote (its exec provider, or its secrets file).
fn is_ours(v: &Value) -> bool {
    match provider_def(v) {
        Some(ProviderDef::Exec(e)) => vault::is_self_exec(&e),
        Some(ProviderDef::File { path, .. }) => path.ends_with("secrets/modelauth.json"),
        _ => false,
    }
}

/// The kind name of `kind`, and whether a reference can take its place.
pub(crate) fn movable(kind: CredentialKind) -> Result<(), &'static str> {
    match kind {
        CredentialKind::ApiKey | CredentialKind::Token => Ok(()),
        CredentialKind::OAuth => Err(
            "an OAuth login rotates its tokens on every refresh: OpenClaw 2026.9.6 keeps them in \
             its store and refuses a reference for them",
        ),
    }
}
