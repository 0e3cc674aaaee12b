//! The daemon environment (OpenClaw's `env.shellEnv`): a process started by systemd or launchd does
//! not see what the operator's login shell exports. When enabled, the provider keys missing from the
//! environment are imported from `$SHELL -l -c 'printf "\0"; env -0'`, bounded in time and output,
//! and named `shell env: NAME` in every view. Values are never logged.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::env::Env;

/// OpenClaw's default bound on the login shell (15 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The most output read from the login shell (2 MiB, as OpenClaw).
const MAX_OUTPUT: usize = 2 * 1024 * 1024;

/// What the import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellImport {
    /// The shell that was run (`None` when nothing was missing).
    pub shell: Option<PathBuf>,
    /// The variables imported.
    pub applied: Vec<String>,
    /// The expected variables the shell did not have either.
    pub still_missing: Vec<String>,
    /// Why the import failed (timeout, exit status, no output), if it did.
    pub error: Option<String>,
}

/// The shell to run: `$MODELAUTH_SHELL_ENV_SHELL` (an explicit choice), else `$SHELL` when it is an
/// absolute path listed in `/etc/shells` (as OpenClaw), else `/bin/sh`.
fn shell(env: &Env) -> PathBuf {
    if let Some(explicit) = env.get_plain("MODELAUTH_SHELL_ENV_SHELL") {
        return PathBuf::from(explicit.trim());
    }
    let listed = |s: &str| {
        std::fs::read_to_string("/etc/shells").is_ok_and(|t| {
            t.lines()
                .map(str::trim)
                .any(|l| !l.starts_with('#') && l == s)
        })
    };
    match env.get_plain("SHELL").map(str::trim) {
        Some(s) if Path::new(s).is_absolute() && listed(s) => PathBuf::from(s),
        _ => PathBuf::from("/bin/sh"),
    }
}

/// Imports the variables of `expected` that `env` lacks from the login shell, waiting at most
/// `timeout`. Nothing missing: nothing is run.
pub fn import(env: &mut Env, expected: &[String], timeout: Duration) -> ShellImport {
    let missing: Vec<String> = expected
        .iter()
        .filter(|k| env.get(k).is_none())
        .cloned()
        .collect();
    if missing.is_empty() {
        return ShellImport::default();
    }
    let shell = shell(env);
    let mut out = ShellImport {
        shell: Some(shell.clone()),
        ..ShellImport::default()
    };
    match run(&shell, env, timeout) {
        Ok(found) => {
            for key in &missing {
                match found.iter().find(|(k, v)| k == key && !v.trim().is_empty()) {
                    Some((k, v)) => {
                        env.set_from_shell(k, v);
                        out.applied.push(k.clone());
                    }
                    None => out.still_missing.push(key.clone()),
                }
            }
            tracing::debug!(shell = %shell.display(), applied = ?out.applied, "keys imported from the login shell");
        }
        Err(e) => {
            tracing::warn!(shell = %shell.display(), "importing the login shell's environment failed: {e}");
            out.still_missing = missing;
            out.error = Some(e);
        }
    }
    out
}

/// Runs the login shell and parses `KEY=VALUE` pairs after its first NUL.
fn run(shell: &Path, env: &Env, timeout: Duration) -> Result<Vec<(String, String)>, String> {
    use std::os::unix::process::CommandExt;
    let bash = shell.file_name().is_some_and(|n| n == "bash");
    let mut cmd = Command::new(shell);
    cmd.args([if bash { "-lic" } else { "-lc" }, "printf '\\0'; env -0"])
        .env_clear()
        .envs(env.plain_vars())
        .env_remove("ZDOTDIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so a timeout stops whatever the profile started too.
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{} could not be started ({e})", shell.display()))?;
    let mut stdout = child.stdout.take().ok_or("no output pipe")?;
    // Read by a thread that hands over chunks: a background job of the profile that keeps the pipe
    // open (`sleep 40 &`), or one that left the process group (`setsid`), cannot hold this call
    // past the timeout.
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let status = wait_bounded(&mut child, timeout)?;
    let buf = drain(&rx, Duration::from_millis(200));
    // Whatever the profile left behind in the group goes with it.
    kill_group(child.id());
    if !status.success() {
        return Err(format!("{} exited with {status}", shell.display()));
    }
    if buf.len() > MAX_OUTPUT {
        return Err(format!("{} printed more than 2 MiB", shell.display()));
    }
    Ok(parse(&buf))
}

/// What the pipe still delivers until it closes or stays quiet for `quiet` (the shell has exited;
/// a background job holding the pipe does not hold the caller), at most [`MAX_OUTPUT`] + 1 bytes.
fn drain(rx: &std::sync::mpsc::Receiver<Vec<u8>>, quiet: Duration) -> Vec<u8> {
    let mut buf = Vec::new();
    while let Ok(chunk) = rx.recv_timeout(quiet) {
        buf.extend_from_slice(&chunk);
        if buf.len() > MAX_OUTPUT {
            break;
        }
    }
    buf
}

/// Kills process group `pgid` (`--` first: procps-ng 4.0's kill reads `-SIG -PGID` as `-1`).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Waits for `child` at most `timeout`; on timeout kills its process group.
fn wait_bounded(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Result<std::process::ExitStatus, String> {
    let step = Duration::from_millis(10);
    let mut waited = Duration::ZERO;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if waited >= timeout => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the login shell did not finish within {} ms (env.shellEnv.timeoutMs)",
                    timeout.as_millis()
                ));
            }
            Ok(None) => {
                std::thread::sleep(step);
                waited += step;
            }
            Err(e) => return Err(format!("waiting for the login shell failed ({e})")),
        }
    }
}

/// `KEY=VALUE` pairs separated by NUL, after the first NUL (what the profile printed before it is
/// skipped); anything else is ignored.
fn parse(out: &[u8]) -> Vec<(String, String)> {
    let Some(start) = out.iter().position(|b| *b == 0) else {
        return Vec::new();
    };
    out[start + 1..]
        .split(|b| *b == 0)
        .filter_map(|part| {
            let text = std::str::from_utf8(part).ok()?;
            let (k, v) = text.split_once('=')?;
            (!k.is_empty()).then(|| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{parse, shell};
    use crate::config::Env;

    #[test]
    fn only_a_shell_listed_in_etc_shells_or_named_explicitly_is_run() {
        let untrusted = Env::from_pairs([("SHELL", "/tmp/not-a-login-shell")]);
        assert_eq!(shell(&untrusted), std::path::PathBuf::from("/bin/sh"));
        let relative = Env::from_pairs([("SHELL", "bash")]);
        assert_eq!(shell(&relative), std::path::PathBuf::from("/bin/sh"));
        let explicit = Env::from_pairs([("MODELAUTH_SHELL_ENV_SHELL", "/opt/my-shell")]);
        assert_eq!(shell(&explicit), std::path::PathBuf::from("/opt/my-shell"));
        if std::fs::read_to_string("/etc/shells").is_ok_and(|t| t.lines().any(|l| l == "/bin/bash")) {
            let listed = Env::from_pairs([("SHELL", "/bin/bash")]);
            assert_eq!(shell(&listed), std::path::PathBuf::from("/bin/bash"));
        }
    }

    #[test]
    fn only_pairs_after_the_first_nul_count() {
        let out = b"Welcome! motd\n\0A=1\0B=two=2\0garbage\0=x\0\xff\xfe=3\0";
        assert_eq!(
            parse(out),
            vec![("A".into(), "1".into()), ("B".into(), "two=2".into())]
        );
        assert!(parse(b"no nul at all A=1").is_empty());
    }
}
