//! `onboard` (issue 19): the wizard driven through a pseudo-terminal (util-linux `script`), from an
//! empty state to a working one, a re-run that changes one answer, Ctrl-C half way, and the secret
//! never on the screen nor in any file but its store; and the non-interactive form.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const SECRET: &str = "sk-ant-api03-PTYSECRET00000";

/// Runs `modelauth --state-dir DIR onboard` on a terminal, typing `keys` one answer at a time.
fn wizard(dir: &Path, keys: &[&str]) -> (Option<i32>, String) {
    let bin = assert_cmd::cargo::cargo_bin("modelauth");
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("{} --state-dir {} onboard", bin.display(), dir.display()),
            "/dev/null",
        ])
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    let mut stdin = child.stdin.take().unwrap();
    for k in keys {
        std::thread::sleep(Duration::from_millis(400));
        stdin.write_all(k.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(400));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Every file under `dir` whose content contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
            {
                found.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found
}

fn status_check(dir: &Path) -> Option<i32> {
    Command::new(assert_cmd::cargo::cargo_bin("modelauth"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("--state-dir")
        .arg(dir)
        .args(["models", "status", "--check", "--quiet"])
        .status()
        .unwrap()
        .code()
}

#[test]
fn the_wizard_takes_an_empty_state_to_a_working_one_and_a_rerun_changes_one_answer() {
    let dir = tempfile::tempdir().unwrap();
    let secret_line = format!("{SECRET}\r");
    let keys = ["\r", "\r", "\r", "\r", secret_line.as_str(), "\r", "\r"];
    let (code, screen) = wizard(dir.path(), &keys);
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("saved api_key profile anthropic:default"),
        "{screen}"
    );
    assert!(screen.contains("models status --check: ok"), "{screen}");
    assert!(
        !screen.contains(SECRET) && !screen.contains("PTYSECRET"),
        "the secret was shown: {screen}"
    );
    assert_eq!(
        files_containing(dir.path(), "PTYSECRET"),
        vec!["agents/main/agent/auth-profiles.json".to_owned()]
    );
    assert_eq!(status_check(dir.path()), Some(0));
    // A field of the operator's own survives the re-run, which changes only the default model.
    let config = dir.path().join("openclaw.json");
    let mut doc: serde_json::Value = crate::common::read_json(&config);
    doc["keepMe"] = serde_json::json!({"nested": true});
    std::fs::write(&config, doc.to_string()).unwrap();
    let keys = [
        "\r",
        "\r",
        "\r",
        "\r",
        secret_line.as_str(),
        "anthropic/claude-sonnet-4-5\r",
        "\r",
    ];
    let (code, screen) = wizard(dir.path(), &keys);
    assert_eq!(code, Some(0), "{screen}");
    let doc = crate::common::read_json(&config);
    assert_eq!(
        doc["agents"]["defaults"]["model"]["primary"], "anthropic/claude-sonnet-4-5",
        "{doc}"
    );
    assert_eq!(doc["keepMe"]["nested"], true, "{doc}");
    assert_eq!(
        doc["auth"]["profiles"].as_object().unwrap().len(),
        1,
        "{doc}"
    );
}

#[test]
fn ctrl_c_half_way_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (code, screen) = wizard(dir.path(), &["\r", "\r", "\x03"]);
    assert_ne!(code, Some(0), "{screen}");
    assert!(screen.contains("nothing was written"), "{screen}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "files were written: {left:?}");
}

#[test]
fn the_non_interactive_form_reads_the_secret_from_stdin_and_never_from_argv() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| {
        assert_cmd::Command::cargo_bin("modelauth")
            .unwrap()
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .arg("--state-dir")
            .arg(dir.path())
            .arg("onboard")
            .args(args)
            .write_stdin(stdin.to_owned())
            .output()
            .unwrap()
    };
    let out = run(
        &[
            "--non-interactive",
            "--provider",
            "anthropic",
            "--kind",
            "token",
            "--expires-in",
            "365d",
            "--default-model",
            "anthropic/claude-opus-4-6",
        ],
        "sk-ant-oat01-NONINTERACTIVE00\n",
    );
    crate::common::assert_ok(&out);
    assert_eq!(status_check(dir.path()), Some(0));
    let store = crate::common::read_json(&dir.path().join("agents/main/agent/auth-profiles.json"));
    assert_eq!(
        store["profiles"]["anthropic:manual"]["type"], "token",
        "{store}"
    );
    // An API key for another provider into <state>/.env, mode 0600.
    let out = run(
        &[
            "--non-interactive",
            "--provider",
            "openai",
            "--store",
            "env",
        ],
        "sk-openai-NONINTERACTIVE0\n",
    );
    crate::common::assert_ok(&out);
    let env = dir.path().join(".env");
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "OPENAI_API_KEY=sk-openai-NONINTERACTIVE0\n"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A secret on the command line is refused and not echoed.
    let out = run(
        &[
            "--non-interactive",
            "--provider",
            "anthropic",
            "sk-ant-api03-ONARGV000000000",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ONARGV") && err.contains("never from arguments"),
        "{err}"
    );
    // Without a terminal and without --non-interactive: told how to script it.
    let out = run(&[], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--non-interactive"));
}
