//! Secrets off the disk beside the real OpenClaw 2026.9.6 (issue 31): after `modelauth secrets
//! migrate --to keyring` on a state OpenClaw wrote (its SQLite generation), OpenClaw lists the profile
//! as a reference, resolves it through `modelauth secrets exec-provider`, its `secrets audit` finds no
//! plaintext for it; with the keyring locked both tools find it unresolvable. Runs when
//! `MODELAUTH_INTEROP_BIN` is set (see `tests/interop.rs`) and a Secret Service can be started.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::interop::openclaw_bin;
use crate::keyring_service::Keyring;
use crate::secrets_vault::{assert_nowhere, ma};

/// `openclaw ARGS` on `dir`, inside the keyring's session, with `stdin`.
fn oc(bin: &Path, dir: &Path, k: &Keyring, args: &str, stdin: &str) -> Output {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    assert_cmd::Command::new(bin.join("openclaw"))
        .args(args.split_whitespace())
        .env_clear()
        .envs(k.env())
        .env("PATH", path)
        .env("OPENCLAW_STATE_DIR", dir)
        .env("NO_COLOR", "1")
        .write_stdin(stdin)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    crate::common::text_of(out)
}

#[test]
fn openclaw_follows_a_profile_migrated_to_the_keyring() {
    let Some(bin) = openclaw_bin() else { return };
    let Some(k) = Keyring::start() else { return };
    let token = format!("sk-ant-oat01-KRINTEROPxx{}", "Ab3".repeat(28));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let paste = "models auth paste-token --provider anthropic --profile-id anthropic:work";
    let out = oc(&bin, d, &k, paste, &token);
    assert!(out.status.success(), "{}", text(&out));
    let set = "config set agents.defaults.model.primary anthropic/claude-opus-4-6";
    assert!(oc(&bin, d, &k, set, "").status.success());
    let env = k.env();
    let out = ma(d, "--json secrets migrate --to keyring", &env, "");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["items"][0]["state"], "moved", "{report}");
    assert_eq!(k.lookup("anthropic:work"), token);
    // OpenClaw lists the profile as a reference and resolves it through modelauth.
    let status = oc(&bin, d, &k, "models status --json", "");
    let v: Value =
        serde_json::from_slice(&status.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&status)));
    let anthropic = v["auth"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "anthropic")
        .unwrap()
        .clone();
    let labels = anthropic["profiles"]["labels"].to_string();
    assert!(
        labels.contains("anthropic:work=token:ref(exec:keyring/anthropic:work)"),
        "{labels}"
    );
    let audit = oc(&bin, d, &k, "secrets audit --json --allow-exec", "");
    let a: Value =
        serde_json::from_slice(&audit.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&audit)));
    assert_eq!(a["summary"]["unresolvedRefCount"], 0, "{a}");
    assert!(a["resolution"]["refsChecked"].as_u64() >= Some(1), "{a}");
    let about_profile = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["profileId"] == "anthropic:work")
        .count();
    assert_eq!(about_profile, 0, "{a}");
    // `--check`: modelauth resolves the reference and passes; OpenClaw 2026.9.6's CLI cannot confirm
    // any exec reference (with or without its gateway running) and says "indeterminate", exit 1
    // (the [better] decision on --check for file and exec references in docs/DECISIONS.md).
    let theirs = oc(&bin, d, &k, "models status --check", "");
    assert_eq!(theirs.status.code(), Some(1));
    assert!(
        text(&theirs).contains("[indeterminate]"),
        "{}",
        text(&theirs)
    );
    assert_eq!(
        ma(d, "models status --check", &env, "").status.code(),
        Some(0)
    );
    let ours_audit = ma(d, "secrets audit --check", &env, "");
    assert_eq!(ours_audit.status.code(), Some(0), "{}", text(&ours_audit));
    // A locked keyring: both tools find the reference unresolvable, and modelauth's check fails too.
    k.lock();
    let ours = ma(d, "models status --check", &env, "");
    assert_eq!(ours.status.code(), Some(1));
    assert!(text(&ours).contains("locked"), "{}", text(&ours));
    let locked = oc(&bin, d, &k, "secrets audit --json --allow-exec", "");
    let l: Value =
        serde_json::from_slice(&locked.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&locked)));
    assert_eq!(l["summary"]["unresolvedRefCount"], 1, "{l}");
    let ours_audit = ma(d, "--json secrets audit", &env, "");
    let o: Value = serde_json::from_slice(&ours_audit.stdout).unwrap();
    assert_eq!(o["unresolvedRefCount"], 1, "{o}");
    let shown = text(&status) + &text(&audit) + &text(&out) + &text(&locked) + &text(&ours);
    assert_nowhere(d, &[&token], &shown);
}
