//! Secrets off the disk (issue 31): the OS keyring (a real Secret Service, see
//! [`crate::keyring_service`]), systemd credentials (a real `systemd-creds` and credentials
//! directory) and the secrets file, through the binary: add, resolve, rotate, migrate (with and
//! without `--dry-run`, killed at each step), audit, a locked keyring, no session bus.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::keyring_service::Keyring;
use crate::serve_common::serve_with;

const KEY_A: &str = "sk-ant-api03-VAULTAxxQQQQ1111222233334444";
const KEY_B: &str = "sk-ant-api03-VAULTBxxRRRR5555666677778888";
const KEY_C: &str = "sk-ant-api03-VAULTCxxSSSS9999000011112222";
const TOKEN: &str = "sk-ant-oat01-VAULTTxxTTTT3333444455556666";

/// `modelauth --state-dir DIR ARGS` with `env`, `stdin` as input.
pub fn ma(dir: &Path, args: &str, env: &[(&str, String)], stdin: &str) -> Output {
    crate::common::modelauth_in(dir)
        .args(args.split_whitespace())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .write_stdin(stdin)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    crate::common::assert_ok(&out);
    crate::common::text_of(&out)
}

/// Every 8-character slice of each secret (past the common `sk-ant-…` prefix).
fn slices<'a>(secrets: &[&'a str]) -> Vec<&'a str> {
    secrets
        .iter()
        .flat_map(|s| (13..=s.len() - 8).map(move |i| &s[i..i + 8]))
        .collect()
}

/// Fails when any file under `dir` (any depth, binary files too) or `extra` holds a slice.
pub fn assert_nowhere(dir: &Path, secrets: &[&str], extra: &str) {
    let mut texts = vec![("output".to_owned(), extra.as_bytes().to_vec())];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                texts.push((p.display().to_string(), bytes));
            }
        }
    }
    for s in slices(secrets) {
        for (name, bytes) in &texts {
            let found = bytes.windows(s.len()).any(|w| w == s.as_bytes());
            assert!(!found, "{name} holds a slice of a secret ({s})");
        }
    }
}

fn profile_entry(dir: &Path, id: &str) -> Value {
    let doc = crate::common::read_json(&dir.join("agents/main/agent/auth-profiles.json"));
    doc["profiles"][id].clone()
}

fn usage_entry(dir: &Path, id: &str) -> Value {
    let doc = crate::common::read_json(&dir.join("agents/main/agent/auth-profiles.json"));
    doc["usageStats"][id].clone()
}

#[test]
#[allow(clippy::disallowed_methods, reason = "the rotation bound is real time")]
fn keyring_add_resolve_rotate_resolve_through_serve() {
    let Some(k) = Keyring::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = k.env();
    let saved = ok(ma(
        d,
        "models auth paste-api-key --provider anthropic --profile-id anthropic:work --store keyring",
        &env,
        KEY_A,
    ));
    assert!(saved.contains("exec:keyring/anthropic:work"), "{saved}");
    assert_eq!(
        profile_entry(d, "anthropic:work")["keyRef"],
        json!({"source": "exec", "provider": "modelauth", "id": "keyring/anthropic:work"})
    );
    assert_eq!(k.lookup("anthropic:work"), KEY_A);
    let mut env_s: Vec<(&str, &str)> = env.iter().map(|(a, b)| (*a, b.as_str())).collect();
    env_s.push(("MODELAUTH_SECRET_TTL", "1s"));
    let mut s = serve_with(d, &[], &env_s);
    let ask = json!({"provider": "anthropic", "includeSecret": true});
    let resolve =
        |s: &crate::serve_common::Serve| s.unix("POST", "/v1/agents/main/resolve", Some(&ask)).1;
    assert_eq!(resolve(&s)["secret"], KEY_A);
    // Rotated outside modelauth, then refused: the store is read again, nothing is held against it.
    k.store("anthropic:work", KEY_B);
    let refused = json!({"profile": "anthropic:work", "outcome": "failure", "status": 401});
    let (code, o) = s.unix("POST", "/v1/agents/main/outcomes", Some(&refused));
    assert_eq!(
        (code, o["applied"].as_str()),
        (200, Some("secretRotated")),
        "{o}"
    );
    assert_eq!(resolve(&s)["secret"], KEY_B);
    // The new secret refused too: disabled, with the fingerprint of the secret that earned it.
    let (_, o) = s.unix("POST", "/v1/agents/main/outcomes", Some(&refused));
    assert_eq!(o["applied"], "windowStarted", "{o}");
    let fp_b = modelauth::Secret::new(KEY_B).fingerprint();
    assert_eq!(
        usage_entry(d, "anthropic:work")["modelauthSecretFp"],
        fp_b,
        "{}",
        usage_entry(d, "anthropic:work")
    );
    assert_ne!(resolve(&s)["decision"], "ready");
    // Rotated again: within the cache bound the disable ends and the new secret is handed out.
    k.store("anthropic:work", KEY_C);
    let start = Instant::now();
    loop {
        let a = resolve(&s);
        if a["secret"] == KEY_C {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "not seen: {a}");
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("rotation seen by serve after {:?}", start.elapsed());
    let usage = usage_entry(d, "anthropic:work");
    assert!(
        usage["cooldownUntil"].is_null() && usage["disabledUntil"].is_null(),
        "{usage}"
    );
    s.terminate();
    let log = s.stderr();
    assert_nowhere(d, &[KEY_A, KEY_B, KEY_C], &log);
}

#[test]
fn migrate_to_keyring_dry_run_then_for_real() {
    let Some(k) = Keyring::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = k.env();
    let add = "models auth paste-api-key --provider anthropic --profile-id anthropic:work";
    ok(ma(d, add, &env, KEY_A));
    let tok = "models auth paste-token --provider anthropic --profile-id anthropic:tok";
    ok(ma(d, tok, &env, TOKEN));
    let audit = ma(d, "--json secrets audit --check", &env, "");
    assert_eq!(audit.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(report["plaintextCount"], 2, "{report}");
    let files = |d: &Path| {
        ["agents/main/agent/auth-profiles.json", "openclaw.json"]
            .map(|f| std::fs::read(d.join(f)).unwrap_or_default())
    };
    let before = files(d);
    let dry = ok(ma(d, "secrets migrate --to keyring --dry-run", &env, ""));
    assert!(
        dry.contains("would move  anthropic:work → exec:keyring/anthropic:work"),
        "{dry}"
    );
    assert_eq!(files(d), before, "a dry run changed a file");
    let out = ma(d, "--json secrets migrate --to keyring", &env, "");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    let states: Vec<&str> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["moved", "moved"]);
    assert_eq!(k.lookup("anthropic:work"), KEY_A);
    assert_eq!(k.lookup("anthropic:tok"), TOKEN);
    assert!(profile_entry(d, "anthropic:tok")["tokenRef"].is_object());
    let audit = ma(d, "secrets audit --check", &env, "");
    assert_eq!(
        audit.status.code(),
        Some(0),
        "{}",
        crate::common::text_of(&audit)
    );
    // modelauth answers its own exec provider in-process: a command it could not run changes nothing.
    let config = d.join("openclaw.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("modelauth")
        .canonicalize()
        .unwrap();
    let moved = text.replace(&*exe.to_string_lossy(), "/nonexistent/bin/modelauth");
    assert_ne!(moved, text);
    std::fs::write(&config, moved).unwrap();
    let chosen = ok(ma(d, "--json resolve --provider anthropic", &env, ""));
    assert!(chosen.contains("anthropic:"), "{chosen}");
    let status = ok(ma(d, "models status", &env, ""));
    assert!(!status.contains("unresolved"), "{status}");
    // Again: nothing left to move.
    let again = ok(ma(d, "secrets migrate --to keyring", &env, ""));
    assert!(again.contains("already a reference"), "{again}");
    assert_nowhere(d, &[KEY_A, TOKEN], &(dry + &again + &chosen));
}

/// `anthropic:kept` (KEY_A in the keyring) first in the order, then `anthropic:plain` (KEY_B inline).
fn kept_then_plain(d: &Path, env: &[(&str, String)]) {
    let add = "models auth paste-api-key --provider anthropic --profile-id";
    ok(ma(
        d,
        &format!("{add} anthropic:kept --store keyring"),
        env,
        KEY_A,
    ));
    ok(ma(d, &format!("{add} anthropic:plain"), env, KEY_B));
    let order = "models auth order set --provider anthropic anthropic:kept anthropic:plain";
    ok(ma(d, order, env, ""));
}

#[test]
fn a_locked_keyring_is_named_and_nothing_is_written() {
    let Some(k) = Keyring::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = k.env();
    kept_then_plain(d, &env);
    k.lock();
    // Resolution moves on to the next profile; the locked one is unresolvable, not missing.
    let out = ma(d, "--json resolve --provider anthropic", &env, "");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["profile"], "anthropic:plain", "{v}");
    let status = ok(ma(d, "models status", &env, ""));
    assert!(status.contains("locked"), "{status}");
    // A new secret for the locked keyring: refused with the store named, nothing stored.
    let before = std::fs::read(d.join("agents/main/agent/auth-profiles.json")).unwrap();
    let add = "models auth paste-api-key --provider anthropic --profile-id anthropic:new";
    let out = ma(d, &format!("{add} --store keyring"), &env, KEY_C);
    assert_eq!(out.status.code(), Some(1));
    let text = crate::common::text_of(&out);
    assert!(
        text.contains("the OS keyring is not available") && text.contains("locked"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(d.join("agents/main/agent/auth-profiles.json")).unwrap(),
        before
    );
    // A migration keeps the plaintext of what it cannot store.
    let out = ma(d, "secrets migrate --to keyring", &env, "");
    assert_eq!(out.status.code(), Some(1));
    assert!(crate::common::text_of(&out).contains("not moved   anthropic:plain"));
    assert_eq!(profile_entry(d, "anthropic:plain")["key"], KEY_B);
    assert_nowhere(d, &[KEY_A, KEY_C], &text);
}

#[test]
fn without_a_session_bus_the_keyring_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let add = "models auth paste-api-key --provider anthropic --profile-id anthropic:work --store keyring";
    let out = ma(d, add, &[("HOME", d.display().to_string())], KEY_A);
    assert_eq!(out.status.code(), Some(1));
    let text = crate::common::text_of(&out);
    assert!(
        text.contains("no Secret Service on the session bus") && text.contains("--to systemd"),
        "{text}"
    );
    assert!(!d.join("agents/main/agent/auth-profiles.json").exists());
}

/// Runs `secrets migrate --to keyring EXTRA…`, paused at `step` (MODELAUTH_PAUSE_AT), and SIGKILLs it
/// there.
fn kill_migration_at(d: &Path, env: &[(&str, String)], step: &str, extra: &[&str]) {
    let bin = assert_cmd::cargo::cargo_bin("modelauth");
    let mut child = std::process::Command::new(bin)
        .arg("--state-dir")
        .arg(d)
        .args(["secrets", "migrate", "--to", "keyring"])
        .args(extra)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("MODELAUTH_PAUSE_AT", step)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert!(line.contains(&format!("paused at {step}")), "{line}");
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn a_migration_killed_at_any_step_loses_no_key() {
    let Some(k) = Keyring::start() else { return };
    let env = k.env();
    for (i, step) in ["stored", "declared", "replaced"].iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let id = format!("anthropic:k{i}");
        let add = format!("models auth paste-api-key --provider anthropic --profile-id {id}");
        ok(ma(d, &add, &env, KEY_A));
        kill_migration_at(d, &env, step, &[]);
        // The key is in the profile, or in the keyring behind the profile's reference.
        let entry = profile_entry(d, &id);
        match entry["key"].as_str() {
            Some(key) => assert_eq!(key, KEY_A, "{step}"),
            None => {
                assert!(entry["keyRef"].is_object(), "{step}: {entry}");
                assert_eq!(k.lookup(&id), KEY_A, "{step}");
            }
        }
        let chosen = ok(ma(d, "--json resolve --provider anthropic", &env, ""));
        assert!(chosen.contains(&id), "{step}: {chosen}");
        // Run again: it finishes what is left.
        ok(ma(d, "secrets migrate --to keyring", &env, ""));
        assert!(profile_entry(d, &id)["keyRef"].is_object());
        assert_eq!(
            ma(d, "secrets audit --check", &env, "").status.code(),
            Some(0)
        );
        assert_nowhere(d, &[KEY_A], "");
    }
}

#[test]
fn exec_provider_speaks_protocol_v1() {
    let Some(k) = Keyring::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let env = k.env();
    let add = "models auth paste-api-key --provider anthropic --profile-id anthropic:work --store keyring";
    ok(ma(dir.path(), add, &env, KEY_A));
    let bin = assert_cmd::cargo::cargo_bin("modelauth");
    let run = |input: &str| {
        let out = assert_cmd::Command::new(&bin)
            .args(["secrets", "exec-provider"])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let req = json!({"protocolVersion": 1, "provider": "modelauth",
                     "ids": ["keyring/anthropic:work", "keyring/anthropic:none", "systemd/x"]});
    let a = run(&req.to_string());
    assert_eq!(a["protocolVersion"], 1);
    assert_eq!(a["values"]["keyring/anthropic:work"], KEY_A);
    assert_eq!(a["errors"]["keyring/anthropic:none"]["code"], "NOT_FOUND");
    assert_eq!(a["errors"]["systemd/x"]["code"], "UNAVAILABLE");
    assert!(
        a["errors"]["systemd/x"]["message"]
            .as_str()
            .unwrap()
            .contains("CREDENTIALS_DIRECTORY")
    );
    assert_eq!(run("not json")["errors"][""]["code"], "BAD_REQUEST");
}

#[test]
fn dotenv_keys_move_on_request_and_a_killed_run_finishes() {
    let Some(k) = Keyring::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = k.env();
    let dotenv = format!("OTHER=kept\nANTHROPIC_API_KEY={KEY_A}\nOPENAI_API_KEY={KEY_B}\n");
    crate::common::write_private(&d.join(".env"), &dotenv);
    ok(ma(d, "secrets migrate --to keyring", &env, ""));
    assert_eq!(
        std::fs::read_to_string(d.join(".env")).unwrap(),
        dotenv,
        "moved without --env"
    );
    let dry = ok(ma(
        d,
        "secrets migrate --to keyring --env --dry-run --provider anthropic",
        &env,
        "",
    ));
    assert!(
        dry.contains(
            "would move  anthropic:env → exec:keyring/anthropic:env (from .env ANTHROPIC_API_KEY)"
        ),
        "{dry}"
    );
    assert!(!dry.contains("openai"), "{dry}");
    assert_eq!(std::fs::read_to_string(d.join(".env")).unwrap(), dotenv);
    // Killed after the profile was added: the key is in both places; the next run finishes.
    kill_migration_at(d, &env, "env-added", &["--env", "--provider", "anthropic"]);
    assert!(
        std::fs::read_to_string(d.join(".env"))
            .unwrap()
            .contains("ANTHROPIC_API_KEY")
    );
    assert_eq!(k.lookup("anthropic:env"), KEY_A);
    let done = ok(ma(d, "secrets migrate --to keyring --env", &env, ""));
    assert!(done.contains("moved       anthropic:env"), "{done}");
    assert!(done.contains("moved       openai:env"), "{done}");
    assert_eq!(
        std::fs::read_to_string(d.join(".env")).unwrap(),
        "OTHER=kept\n"
    );
    assert!(profile_entry(d, "openai:env")["keyRef"].is_object());
    let chosen: Value =
        serde_json::from_slice(&ma(d, "--json resolve --provider anthropic", &env, "").stdout)
            .unwrap();
    assert_eq!(chosen["profile"], "anthropic:env");
    assert_eq!(
        ma(d, "secrets audit --check", &env, "").status.code(),
        Some(0)
    );
    assert_nowhere(d, &[KEY_A, KEY_B], &(dry + &done));
}

#[test]
fn onboard_writes_the_key_straight_into_the_keyring() {
    let Some(k) = Keyring::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = "onboard --non-interactive --provider anthropic --kind api_key --store keyring";
    let out = ma(d, args, &k.env(), KEY_A);
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "{}",
        crate::common::text_of(&out)
    );
    assert!(profile_entry(d, "anthropic:default")["keyRef"].is_object());
    assert_eq!(k.lookup("anthropic:default"), KEY_A);
    assert_nowhere(d, &[KEY_A], &crate::common::text_of(&out));
}

#[test]
#[allow(clippy::disallowed_methods, reason = "the bound is real time")]
fn a_keyring_that_does_not_answer_is_named_within_its_bound() {
    let Some(k) = Keyring::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut env = k.env();
    kept_then_plain(d, &env);
    env.push(("MODELAUTH_KEYRING_TIMEOUT", "1s".into()));
    k.freeze(true);
    let start = Instant::now();
    let out = ma(d, "--json resolve --provider anthropic", &env, "");
    let status = ma(d, "models status", &env, "");
    let took = start.elapsed();
    k.freeze(false);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["profile"], "anthropic:plain", "{v}");
    let text = crate::common::text_of(&status);
    assert!(text.contains("did not answer within 1s"), "{text}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    println!("two commands against a stopped keyring daemon took {took:?}");
}
