//! systemd credentials and the secrets file (issue 31): a real `systemd-creds` encrypts with the host
//! key, and a credentials directory laid out as systemd lays it out for a unit with
//! `LoadCredentialEncrypted=` (decrypted by `systemd-creds`, mode 0400).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::secrets_vault::{assert_nowhere, ma};

const KEY_A: &str = "sk-ant-api03-SYSDAxxQQQQ1111222233334444";
const KEY_B: &str = "sk-ant-api03-SYSDBxxRRRR5555666677778888";
const TOKEN: &str = "sk-ant-oat01-FILETxxTTTT3333444455556666";

/// `systemd-creds` can encrypt with the host key here (it needs root), else `None` with a note.
fn systemd_creds_usable() -> bool {
    let out = Command::new("systemd-creds")
        .args(["encrypt", "--name=probe", "-", "-"])
        .stdin(std::process::Stdio::null())
        .output();
    let usable = out.is_ok_and(|o| o.status.success());
    if !usable {
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-creds cannot encrypt here (CI runs as root with systemd 252)"
        );
        eprintln!("skipped: systemd-creds cannot encrypt with the host key here");
    }
    usable
}

/// The credentials directory systemd makes for a unit with `LoadCredentialEncrypted=NAME:FILE`.
fn unit_credentials(encrypted: &Path, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join(name);
    let out = Command::new("systemd-creds")
        .arg("decrypt")
        .arg(format!("--name={name}"))
        .arg(encrypted)
        .arg(&plain)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut perm = std::fs::metadata(&plain).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o400);
    std::fs::set_permissions(&plain, perm).unwrap();
    dir
}

fn exec_provider(env: &[(&str, String)], id: &str) -> Value {
    let out = assert_cmd::Command::cargo_bin("modelauth")
        .unwrap()
        .args(["secrets", "exec-provider"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .write_stdin(
            json!({"protocolVersion": 1, "provider": "modelauth", "ids": [id]}).to_string(),
        )
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn migrate_to_systemd_credentials_and_read_them_in_a_unit() {
    if !systemd_creds_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let d = dir.path();
    let add = "models auth paste-api-key --provider anthropic --profile-id anthropic:work";
    crate::common::assert_ok(&ma(d, add, &[], KEY_A));
    let credstore = store.path().join("credstore");
    let args = format!(
        "secrets migrate --to systemd --credstore {}",
        credstore.display()
    );
    let out = ma(d, &args, &[], "");
    let text = crate::common::text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let encrypted = credstore.join("anthropic.work");
    let line = format!(
        "LoadCredentialEncrypted=anthropic.work:{}",
        encrypted.display()
    );
    assert!(text.contains(&line), "{text}");
    let doc = crate::common::read_json(&d.join("agents/main/agent/auth-profiles.json"));
    assert_eq!(
        doc["profiles"]["anthropic:work"]["keyRef"],
        json!({"source": "exec", "provider": "modelauth", "id": "systemd/anthropic.work"})
    );
    // Outside the unit: unresolvable, with what to do; the next profile would be chosen.
    let status = crate::common::text_of(&ma(d, "models status", &[], ""));
    assert!(
        status.contains("$CREDENTIALS_DIRECTORY is not set"),
        "{status}"
    );
    let absent = [("CREDENTIALS_DIRECTORY", "/nonexistent/creds".to_owned())];
    let status = crate::common::text_of(&ma(d, "models status", &absent, ""));
    assert!(status.contains("does not exist"), "{status}");
    // Inside the unit: resolved in-process, and through the exec provider OpenClaw runs.
    let creds = unit_credentials(&encrypted, "anthropic.work");
    let unit = [("CREDENTIALS_DIRECTORY", creds.path().display().to_string())];
    let chosen = crate::common::text_of(&ma(d, "--json resolve --provider anthropic", &unit, ""));
    let chosen: Value = serde_json::from_str(&chosen).unwrap();
    assert_eq!(chosen["profile"], "anthropic:work", "{chosen}");
    assert_eq!(
        exec_provider(&unit, "systemd/anthropic.work")["values"]["systemd/anthropic.work"],
        KEY_A
    );
    // A new credential at the unit's next start is the new key.
    let plain = creds.path().join("anthropic.work");
    let mut perm = std::fs::metadata(&plain).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o600);
    std::fs::set_permissions(&plain, perm).unwrap();
    std::fs::write(&plain, KEY_B).unwrap();
    assert_eq!(
        exec_provider(&unit, "systemd/anthropic.work")["values"]["systemd/anthropic.work"],
        KEY_B
    );
    assert_nowhere(d, &[KEY_A], &text);
    assert_nowhere(&credstore, &[KEY_A], "");
}

#[test]
fn a_token_kept_in_the_secrets_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let add = "--json models auth paste-token --provider anthropic --profile-id anthropic:tok --store file";
    let out = ma(d, add, &[], TOKEN);
    crate::common::assert_ok(&out);
    let saved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved["reference"], "file:/anthropic:tok");
    let file = d.join("secrets/modelauth.json");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    assert_eq!(crate::common::read_json(&file)["anthropic:tok"], TOKEN);
    let config = crate::common::read_json(&d.join("openclaw.json"));
    assert_eq!(
        config["secrets"]["providers"]["modelauth-file"]["source"],
        "file"
    );
    let doc = crate::common::read_json(&d.join("agents/main/agent/auth-profiles.json"));
    assert!(doc["profiles"]["anthropic:tok"]["token"].is_null());
    let chosen: Value =
        serde_json::from_slice(&ma(d, "--json resolve --provider anthropic", &[], "").stdout)
            .unwrap();
    assert_eq!(chosen["profile"], "anthropic:tok");
    let audit = ma(d, "--json secrets audit --check", &[], "");
    let report: Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(audit.status.code(), Some(0), "{report}");
    assert_eq!(report["findings"][0]["code"], "SECRETS_FILE", "{report}");
}
