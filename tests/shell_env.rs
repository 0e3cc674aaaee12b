//! The daemon environment (`env.shellEnv`): provider keys missing from the environment are imported
//! from the login shell, bounded and safe with a shell that is slow, fails or prints garbage; every
//! view names the source; values never reach a log. Fake shells are scripts named by
//! MODELAUTH_SHELL_ENV_SHELL.

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// A state directory with `env.shellEnv` on (`timeoutMs` given) and a fake login shell `body`.
fn setup(body: &str, timeout_ms: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        format!(r#"{{ env: {{ shellEnv: {{ enabled: true, timeoutMs: {timeout_ms} }} }} }}"#),
    )
    .unwrap();
    let shell = dir.path().join("fake-shell");
    std::fs::write(&shell, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut perm = std::fs::metadata(&shell).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&shell, perm).unwrap();
    (dir, shell)
}

fn modelauth(dir: &Path, shell: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("modelauth")
        .unwrap()
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("RUST_LOG", "trace")
        .env("MODELAUTH_SHELL_ENV_SHELL", shell)
        .arg("--state-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = r"echo 'Welcome to the login shell'
printf '\0ANTHROPIC_API_KEY=sk-ant-api03-SHELLKEY0000\0OPENAI_API_KEY=\0UNRELATED=1\0'";

#[test]
fn a_missing_key_is_imported_from_the_login_shell_and_named_so() {
    let (dir, shell) = setup(GOOD, 5_000);
    let (code, out, err) = modelauth(
        dir.path(),
        &shell,
        &["--json", "resolve", "--provider", "anthropic"],
    );
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["source"], "shell env: ANTHROPIC_API_KEY", "{v}");
    assert!(
        !out.contains("SHELLKEY") && !err.contains("SHELLKEY"),
        "the value was printed or logged"
    );
    let (_, out, err) = modelauth(dir.path(), &shell, &["doctor"]);
    assert!(
        out.contains("ANTHROPIC_API_KEY from the login shell"),
        "{out}"
    );
    assert!(!err.contains("SHELLKEY"));
    // Off in config: nothing is imported.
    std::fs::write(dir.path().join("openclaw.json"), "{}").unwrap();
    let (code, _, err) = modelauth(dir.path(), &shell, &["resolve", "--provider", "anthropic"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("No credentials found for anthropic"), "{err}");
    let (_, out, _) = modelauth(dir.path(), &shell, &["doctor"]);
    assert!(out.contains("set env.shellEnv.enabled: true"), "{out}");
}

#[test]
fn a_slow_failing_or_garbage_shell_is_bounded_and_harmless() {
    #[allow(
        clippy::disallowed_methods,
        reason = "a bound on blocking, not a timing"
    )]
    let start = Instant::now();
    let (dir, shell) = setup("sleep 30; printf '\\0ANTHROPIC_API_KEY=late\\0'", 300);
    let (code, _, err) = modelauth(dir.path(), &shell, &["resolve", "--provider", "anthropic"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    let (_, out, _) = modelauth(dir.path(), &shell, &["doctor"]);
    assert!(out.contains("did not finish within 300 ms"), "{out}");

    let (dir, shell) = setup("echo oops >&2; exit 3", 5_000);
    let (_, out, _) = modelauth(dir.path(), &shell, &["doctor"]);
    assert!(out.contains("exited with exit status: 3"), "{out}");

    let (dir, shell) = setup(
        "head -c 4096 /dev/urandom; printf 'ANTHROPIC_API_KEY=nonul'",
        5_000,
    );
    let (code, _, err) = modelauth(dir.path(), &shell, &["resolve", "--provider", "anthropic"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("No credentials found"), "{err}");
}

#[test]
fn a_key_from_dot_env_keeps_its_value_and_source_while_the_others_are_imported() {
    let (dir, shell) = setup("touch \"$HOME/shell-was-run\"; printf '\\0'", 5_000);
    // The other providers' keys are still missing, so the shell runs; the .env key keeps its value and
    // its source (the shell only fills what is missing).
    crate::common::write_private(
        &dir.path().join(".env"),
        "ANTHROPIC_API_KEY=sk-ant-api03-DOTENV0000\n",
    );
    let (_, out, _) = modelauth(
        dir.path(),
        &shell,
        &["--json", "resolve", "--provider", "anthropic"],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["source"], "env: ANTHROPIC_API_KEY", "{v}");
    assert!(dir.path().join("shell-was-run").exists());
}

#[test]
fn a_background_job_of_the_login_profile_cannot_hold_the_command() {
    for body in [
        "sleep 40 &\nprintf '\\0ANTHROPIC_API_KEY=sk-ant-api03-BGJOB00000000\\0'",
        "setsid sleep 40 &\nprintf '\\0ANTHROPIC_API_KEY=sk-ant-api03-BGJOB00000000\\0'",
    ] {
        #[allow(
            clippy::disallowed_methods,
            reason = "a bound on blocking, not a timing"
        )]
        let start = Instant::now();
        let (dir, shell) = setup(body, 3_000);
        let (code, out, err) = modelauth(
            dir.path(),
            &shell,
            &["--json", "resolve", "--provider", "anthropic"],
        );
        assert_eq!(code, Some(0), "{body}: {err}");
        assert!(out.contains("shell env: ANTHROPIC_API_KEY"), "{out}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{body}: {:?}",
            start.elapsed()
        );
    }
}
