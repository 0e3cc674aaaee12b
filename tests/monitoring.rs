//! Unattended credential monitoring (issue 19): `--notify-cmd`, the shell script for Termux and cron
//! run against states that are ok, expiring and expired, and the systemd/launchd units.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn ms_now() -> i64 {
    #[allow(
        clippy::disallowed_methods,
        reason = "fixture expiry times relative to the wall clock"
    )]
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    d.as_millis() as i64
}

/// A state whose one anthropic token expires `in_ms` from now (`None`: an API key, fine).
fn state(in_ms: Option<i64>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    let entry = match in_ms {
        Some(ms) => {
            json!({"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-MONITOR000000", "expires": ms_now() + ms})
        }
        None => {
            json!({"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-MONITOR000000"})
        }
    };
    std::fs::write(
        agent.join("auth-profiles.json"),
        json!({"version": 1, "profiles": {"anthropic:main": entry}}).to_string(),
    )
    .unwrap();
    dir
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("modelauth")
}

#[test]
fn notify_cmd_gets_a_redacted_summary_and_the_code_only_when_something_is_wrong() {
    let out_dir = tempfile::tempdir().unwrap();
    let sink = out_dir.path().join("notified");
    let cmd = format!(
        "cat > {0}; echo \"code=$MODELAUTH_CHECK_CODE\" >> {0}",
        sink.display()
    );
    for (in_ms, code) in [(None, 0), (Some(3_600_000), 2), (Some(-3_600_000), 1)] {
        let dir = state(in_ms);
        let _ = std::fs::remove_file(&sink);
        let out = Command::new(bin())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .arg("--state-dir")
            .arg(dir.path())
            .args([
                "models",
                "status",
                "--check",
                "--quiet",
                "--notify-cmd",
                &cmd,
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if code == 0 {
            assert!(!sink.exists(), "notified although all is well");
            continue;
        }
        let text = std::fs::read_to_string(&sink).unwrap();
        let (doc, tail) = text.split_once('\n').unwrap();
        let v: Value = serde_json::from_str(doc).unwrap();
        assert_eq!(v["check"], code);
        assert_eq!(v["agent"], "main");
        assert!(
            v["findings"][0]
                .as_str()
                .unwrap()
                .contains("anthropic:main"),
            "{v}"
        );
        assert_eq!(tail.trim(), format!("code={code}"));
        assert!(
            !text.contains("MONITOR000000"),
            "a secret reached the notification"
        );
    }
}

/// Runs the Termux/cron script against `dir` with a notification command writing to a file.
fn script(dir: &Path, sink: &Path) -> (Option<i32>, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/termux/modelauth-check.sh"
    );
    let out = Command::new("sh")
        .arg(script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MODELAUTH", bin())
        .env("OPENCLAW_STATE_DIR", dir)
        .env("MODELAUTH_NOTIFY_CMD", format!("cat > {}", sink.display()))
        .output()
        .unwrap();
    let sent = std::fs::read_to_string(sink).unwrap_or_default();
    (out.status.code(), sent)
}

#[test]
fn the_shell_script_exits_with_the_check_code_and_sends_the_problem_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = tmp.path().join("sent");
    let (code, sent) = script(state(None).path(), &sink);
    assert_eq!((code, sent.as_str()), (Some(0), ""));
    let (code, sent) = script(state(Some(3_600_000)).path(), &sink);
    assert_eq!(code, Some(2));
    assert!(
        sent.starts_with("modelauth: a credential expires soon\n"),
        "{sent}"
    );
    assert!(
        sent.contains("profile anthropic:main expires within 24 hours"),
        "{sent}"
    );
    let (code, sent) = script(state(Some(-3_600_000)).path(), &sink);
    assert_eq!(code, Some(1));
    assert!(
        sent.starts_with("modelauth: credentials need attention\n"),
        "{sent}"
    );
    assert!(sent.contains("profile anthropic:main is expired"), "{sent}");
    assert!(!sent.contains("MONITOR000000"));
    // Without modelauth: exit 3 and a message.
    let out = Command::new("sh")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/contrib/termux/modelauth-check.sh"
        ))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("MODELAUTH", "/nonexistent/modelauth")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn the_units_pass_systemd_analyze_and_the_plists_are_well_formed() {
    let contrib = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib");
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok()
    {
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(contrib.join("systemd/modelauth-check.service"))
            .arg(contrib.join("systemd/modelauth-check.timer"))
            .arg(contrib.join("systemd/modelauth-probe.service"))
            .arg(contrib.join("systemd/modelauth-probe.timer"))
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !text.contains("ignoring"), "{text}");
    } else {
        eprintln!("systemd-analyze not installed: unit files not verified");
    }
    for plist in [
        "launchd/ai.modelauth.check.plist",
        "launchd/ai.modelauth.probe.plist",
        "launchd/ai.modelauth.serve.plist",
    ] {
        let text = std::fs::read_to_string(contrib.join(plist)).unwrap();
        assert!(text.contains("<plist version=\"1.0\">") && text.trim_end().ends_with("</plist>"));
        assert_eq!(
            text.matches("<dict>").count(),
            text.matches("</dict>").count(),
            "{plist}"
        );
        assert_eq!(
            text.matches("<array>").count(),
            text.matches("</array>").count(),
            "{plist}"
        );
    }
}
