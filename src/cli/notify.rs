//! `models status --check --notify-cmd CMD`: runs the operator's notification command when the check
//! fails, with a redacted JSON summary on stdin and the exit code in `MODELAUTH_CHECK_CODE`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use modelauth::Status;
use serde_json::json;

use super::output;

/// How long the notification command may run before it is killed.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// [`NOTIFY_TIMEOUT`], or `MODELAUTH_NOTIFY_TIMEOUT` (e.g. `5s`) when set.
fn timeout() -> Duration {
    std::env::var("MODELAUTH_NOTIFY_TIMEOUT")
        .ok()
        .and_then(|t| humantime::parse_duration(t.trim()).ok())
        .unwrap_or(NOTIFY_TIMEOUT)
}

/// Runs `cmd` with `sh -c` when `report.check` is not 0. The summary holds the agent, the code, the
/// findings (each naming a credential, never a secret) and the time. A failing command is reported on
/// stderr; the check's own exit code is kept either way.
pub fn run(cmd: &str, report: &Status, now_ms: i64) {
    if report.check == 0 {
        return;
    }
    let summary = json!({
        "agent": report.agent,
        "stateDir": report.state_dir,
        "check": report.check,
        "findings": report.findings,
        "at": modelauth::format_time(now_ms),
    });
    use std::os::unix::process::CommandExt as _;
    let spawned = Command::new("sh")
        // Its own process group: a timeout stops whatever it started too.
        .process_group(0)
        .arg("-c")
        .arg(cmd)
        .env("MODELAUTH_CHECK_CODE", report.check.to_string())
        .env("MODELAUTH_CHECK_AGENT", &report.agent)
        .stdin(Stdio::piped())
        // Its output goes to stderr: stdout is the status view (or the one JSON document).
        .stdout(std::io::stderr())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            output::warn(&format!(
                "the notification command could not be started: {e}"
            ));
            return;
        }
    };
    // Written by a thread of its own: a command that does not read its stdin must not block this
    // one past the deadline once the summary is larger than a pipe's buffer.
    if let Some(mut stdin) = child.stdin.take() {
        std::thread::spawn(move || {
            let _ = writeln!(stdin, "{summary}");
        });
    }
    #[allow(
        clippy::disallowed_methods,
        reason = "a deadline for a child process, not resolver time"
    )]
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return,
            Ok(Some(status)) => {
                output::warn(&format!("the notification command failed ({status})"));
                return;
            }
            Ok(None) if started.elapsed() > timeout() => {
                // Its pipe closes with it, which ends the writing thread. `--` first: procps-ng
                // 4.0's kill reads `-SIG -PGID` without it as `-1`.
                let _ = Command::new("kill")
                    .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                    .stderr(Stdio::null())
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                output::warn(&format!(
                    "the notification command took longer than {} and was stopped",
                    humantime::format_duration(timeout())
                ));
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                output::warn(&format!("waiting for the notification command failed: {e}"));
                return;
            }
        }
    }
}
