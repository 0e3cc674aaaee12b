//! modelauth's own places for a secret off OpenClaw's files — the OS keyring, systemd credentials, a
//! private JSON file — and the references that name them so that both tools follow them:
//!
//! - keyring and systemd secrets sit behind the exec provider `modelauth` (the installed binary run as
//!   `modelauth secrets exec-provider`, OpenClaw's exec protocol v1); its ids are `keyring/<profile>`
//!   and `systemd/<credential name>`. modelauth resolves such a reference in-process.
//! - file secrets sit in `<state>/secrets/modelauth.json` behind the file provider `modelauth-file`
//!   (OpenClaw reads it natively); its ids are JSON pointers `/<profile>`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{keyring, systemd};
use crate::config::Env;
use crate::config::secrets::ExecDef;
use crate::store::{RefSource, Secret, SecretRef};

/// The alias of the exec provider that runs modelauth.
pub const EXEC_ALIAS: &str = "modelauth";
/// The alias of the file provider of `<state>/secrets/modelauth.json`.
pub const FILE_ALIAS: &str = "modelauth-file";
/// The arguments that make the modelauth binary an exec provider.
pub const EXEC_ARGS: [&str; 2] = ["secrets", "exec-provider"];
/// What the exec provider needs from the caller's environment to reach the stores.
pub const PASS_ENV: [&str; 4] = [
    "HOME",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
    "CREDENTIALS_DIRECTORY",
];

/// Why a store could not read or write a secret. Names the store and the fix, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The store cannot be reached now (locked keyring, no D-Bus session, no credentials directory).
    #[error("{store} is not available: {why}")]
    Unavailable {
        /// The store.
        store: &'static str,
        /// Why, and what to do.
        why: String,
    },
    /// The store answered, without this secret.
    #[error("{store} has no secret \"{name}\"")]
    Missing {
        /// The store.
        store: &'static str,
        /// The item's name.
        name: String,
    },
    /// Reading or writing failed.
    #[error("{store} failed for \"{name}\": {why}")]
    Failed {
        /// The store.
        store: &'static str,
        /// The item's name.
        name: String,
        /// What failed.
        why: String,
    },
}

/// A store for secrets off OpenClaw's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultKind {
    /// The OS keyring.
    Keyring,
    /// systemd credentials (`LoadCredentialEncrypted=`).
    Systemd,
    /// `<state>/secrets/modelauth.json` (mode 0600).
    File,
}

impl VaultKind {
    /// Reads `keyring`, `systemd` or `file`.
    pub fn parse(s: &str) -> Option<VaultKind> {
        match s {
            "keyring" => Some(VaultKind::Keyring),
            "systemd" => Some(VaultKind::Systemd),
            "file" => Some(VaultKind::File),
            _ => None,
        }
    }

    /// The name `parse` reads.
    pub fn as_str(self) -> &'static str {
        match self {
            VaultKind::Keyring => "keyring",
            VaultKind::Systemd => "systemd",
            VaultKind::File => "file",
        }
    }
}

/// The file of the `file` store in state directory `root`.
pub fn file_path(root: &Path) -> PathBuf {
    root.join("secrets").join("modelauth.json")
}

/// Where profile `profile`'s secret goes in store `kind`, as the reference the profile will hold.
pub fn reference_for(kind: VaultKind, profile: &str) -> SecretRef {
    let (source, provider, id) = match kind {
        VaultKind::Keyring => (RefSource::Exec, EXEC_ALIAS, format!("keyring/{profile}")),
        VaultKind::Systemd => (
            RefSource::Exec,
            EXEC_ALIAS,
            format!("systemd/{}", systemd::credential_name(profile)),
        ),
        VaultKind::File => (RefSource::File, FILE_ALIAS, pointer_of(profile)),
    };
    SecretRef {
        source,
        provider: Some(provider.to_owned()),
        id,
    }
}

/// `/<key>` with JSON pointer escaping (`~` → `~0`, `/` → `~1`).
fn pointer_of(key: &str) -> String {
    format!("/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// The `secrets.providers` entry store `kind` needs: `(alias, declaration)`. `exe` is the modelauth
/// binary OpenClaw should run (an absolute path).
pub fn provider_decl(kind: VaultKind, root: &Path, exe: &Path) -> (&'static str, Value) {
    match kind {
        VaultKind::File => (
            FILE_ALIAS,
            json!({"source": "file", "path": file_path(root), "mode": "json"}),
        ),
        VaultKind::Keyring | VaultKind::Systemd => (
            EXEC_ALIAS,
            json!({"source": "exec", "command": exe, "args": EXEC_ARGS,
                   "passEnv": PASS_ENV, "jsonOnly": true, "timeoutMs": 10_000}),
        ),
    }
}

/// True when exec provider `def` is a modelauth binary in its exec-provider role: modelauth answers
/// such a reference itself instead of running the command.
pub fn is_self_exec(def: &ExecDef) -> bool {
    def.args == EXEC_ARGS
        && Path::new(&def.command)
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("modelauth"))
}

/// The secret behind exec id `id` (`keyring/<account>` or `systemd/<name>`).
pub fn read_id(id: &str, env: &Env) -> Result<Secret, VaultError> {
    let (found, store) = if let Some(account) = id.strip_prefix("keyring/") {
        (keyring::read(account)?, "the OS keyring")
    } else if let Some(name) = id.strip_prefix("systemd/") {
        (systemd::read(name, env)?, "systemd credentials")
    } else {
        return Err(VaultError::Failed {
            store: "modelauth's exec provider",
            name: id.to_owned(),
            why: "ids are keyring/<profile> or systemd/<credential name>".into(),
        });
    };
    found.ok_or_else(|| VaultError::Missing {
        store,
        name: id.split_once('/').map_or(id, |(_, n)| n).to_owned(),
    })
}

/// Adds (or replaces) `key` = `secret` in the `file` store at `path`, under its lock, atomically,
/// mode 0600; other entries are kept.
pub fn write_file_entry(path: &Path, key: &str, secret: &Secret) -> Result<(), VaultError> {
    let fail = |why: String| VaultError::Failed {
        store: "the secrets file",
        name: key.to_owned(),
        why,
    };
    crate::store::atomic::update(path, 1 << 20, |text| {
        let mut doc = match text.as_deref().map(serde_json::from_str::<Value>) {
            None => json!({}),
            Some(Ok(v @ Value::Object(_))) => v,
            Some(_) => {
                return Err(fail(format!(
                    "{} is not a JSON object: fix or move it",
                    path.display()
                )));
            }
        };
        doc[key] = Value::String(secret.expose_secret().to_owned());
        let text = zeroize::Zeroizing::new(serde_json::to_string_pretty(&doc).unwrap_or_default());
        Ok((Some(format!("{}\n", text.as_str())), ()))
    })
    .map_err(|e: VaultError| e)
}

impl From<crate::store::StoreError> for VaultError {
    fn from(e: crate::store::StoreError) -> Self {
        VaultError::Failed {
            store: "the secrets file",
            name: String::new(),
            why: e.to_string(),
        }
    }
}

/// Where the `systemd` and `file` stores write.
#[derive(Debug, Clone)]
pub struct VaultPaths {
    /// The directory of encrypted credentials (`/etc/credstore.encrypted` by default).
    pub credstore: PathBuf,
    /// The secrets file (`<state>/secrets/modelauth.json`).
    pub file: PathBuf,
}

/// Stores `secret` of `profile` in store `kind`. A systemd credential is decrypted again and compared
/// here (its reference resolves only inside the unit); a keyring or file entry is checked by the
/// caller through the reference the profile will hold (`Agent::stash_secret`, `secrets migrate`).
pub fn put(
    kind: VaultKind,
    profile: &str,
    secret: &Secret,
    paths: &VaultPaths,
) -> Result<(), VaultError> {
    match kind {
        VaultKind::Keyring => keyring::write(profile, secret),
        VaultKind::Systemd => {
            systemd::encrypt(&paths.credstore, &systemd::credential_name(profile), secret)
                .map(|_| ())
        }
        VaultKind::File => write_file_entry(&paths.file, profile, secret),
    }
}
