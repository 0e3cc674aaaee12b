//! systemd credentials: a unit's `LoadCredential=`/`LoadCredentialEncrypted=` puts each credential in
//! `$CREDENTIALS_DIRECTORY/<name>` (a private, read-only directory that exists while the service runs);
//! encrypted ones stay encrypted at rest with the host's key (`systemd-creds encrypt`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::vault::VaultError;
use crate::config::Env;
use crate::store::Secret;

const STORE: &str = "systemd credentials";

/// Where systemd looks for `LoadCredentialEncrypted=NAME` without a path, and where
/// [`encrypt`] writes by default.
pub const DEFAULT_CREDSTORE: &str = "/etc/credstore.encrypted";

/// The credential name of a profile: the id with characters a unit line cannot hold (`:`, `/`,
/// whitespace) replaced by `.` (`anthropic:work` → `anthropic.work`).
pub fn credential_name(profile: &str) -> String {
    profile
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '@' => c,
            _ => '.',
        })
        .collect()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', '\0', ':'])
}

/// The credential `name` from `$CREDENTIALS_DIRECTORY` (`Ok(None)` when the directory has none).
pub fn read(name: &str, env: &Env) -> Result<Option<Secret>, VaultError> {
    if !valid_name(name) {
        return Err(VaultError::Failed {
            store: STORE,
            name: name.to_owned(),
            why: "not a credential name (no '/', ':' or NUL)".into(),
        });
    }
    let Some(dir) = env
        .get_plain("CREDENTIALS_DIRECTORY")
        .map(str::to_owned)
        .or_else(|| std::env::var("CREDENTIALS_DIRECTORY").ok())
        .filter(|d| !d.is_empty())
    else {
        return Err(VaultError::Unavailable {
            store: STORE,
            why: format!(
                "$CREDENTIALS_DIRECTORY is not set: the credential {name} is only there inside a \
                 unit with LoadCredentialEncrypted={name} (see contrib/systemd)"
            ),
        });
    };
    let path = Path::new(&dir).join(name);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let bytes = zeroize::Zeroizing::new(bytes);
            let text = std::str::from_utf8(&bytes).map_err(|_| VaultError::Failed {
                store: STORE,
                name: name.to_owned(),
                why: format!("{} is not UTF-8 text", path.display()),
            })?;
            let text = text.strip_suffix('\n').unwrap_or(text);
            Ok(Some(Secret::new(text)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if Path::new(&dir).is_dir() {
                Ok(None)
            } else {
                Err(VaultError::Unavailable {
                    store: STORE,
                    why: format!("$CREDENTIALS_DIRECTORY ({dir}) does not exist"),
                })
            }
        }
        Err(e) => Err(VaultError::Failed {
            store: STORE,
            name: name.to_owned(),
            why: format!("{} cannot be read: {e}", path.display()),
        }),
    }
}

/// The encrypted credential file of `name` in `credstore`.
pub fn credstore_path(credstore: &Path, name: &str) -> PathBuf {
    credstore.join(name)
}

/// Encrypts `secret` as credential `name` into `credstore` with `systemd-creds encrypt` (the host's
/// key), then decrypts it again and compares: `Ok` only when the file holds exactly `secret`.
pub fn encrypt(credstore: &Path, name: &str, secret: &Secret) -> Result<PathBuf, VaultError> {
    let fail = |why: String| VaultError::Failed {
        store: STORE,
        name: name.to_owned(),
        why,
    };
    if !valid_name(name) {
        return Err(fail("not a credential name (no '/', ':' or NUL)".into()));
    }
    crate::store::atomic::ensure_dir(credstore).map_err(|e| fail(e.to_string()))?;
    let out = credstore_path(credstore, name);
    let tmp = credstore.join(format!(".{name}.tmp"));
    let name_arg = format!("--name={name}");
    run_creds(
        &["encrypt", &name_arg, "-", &tmp.to_string_lossy()],
        Some(secret.expose_secret().as_bytes()),
    )
    .map_err(&fail)?;
    let back = run_creds(&["decrypt", &name_arg, &tmp.to_string_lossy(), "-"], None);
    let back = zeroize::Zeroizing::new(back.map_err(&fail)?);
    if back.as_slice() != secret.expose_secret().as_bytes() {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(
            "the encrypted credential does not decrypt to the secret".into(),
        ));
    }
    std::fs::rename(&tmp, &out).map_err(|e| fail(format!("{}: {e}", out.display())))?;
    Ok(out)
}

/// Runs `systemd-creds ARGS` with `input` on stdin; its stdout.
fn run_creds(args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let mut child = Command::new("systemd-creds")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("systemd-creds cannot be run ({e}): it comes with systemd 250 or later")
        })?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(bytes)
            .map_err(|e| format!("systemd-creds: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("systemd-creds: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").trim();
        return Err(format!(
            "systemd-creds {} failed ({}): {last} (encrypting with the host key needs root)",
            args[0], out.status
        ));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(credential_name("anthropic:work"), "anthropic.work");
        assert_eq!(credential_name("openai:a b/c"), "openai.a.b.c");
        assert!(valid_name("anthropic.work"));
        assert!(!valid_name("a:b"));
        assert!(!valid_name(".."));
    }
}
