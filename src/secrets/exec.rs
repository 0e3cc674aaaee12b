//! `exec` references: OpenClaw's exec protocol v1. The command (an absolute path to a regular file of
//! this user that nobody else may write, not a symlink, inside `trustedDirs` when set) runs directly,
//! no shell, in its own process group, with only `passEnv` and `env` in its environment, its
//! directory as working directory, `{"protocolVersion":1,"provider":…,"ids":[…]}` on stdin. It answers
//! `{"protocolVersion":1,"values":{id: value},"errors":{id:{code}}}` on stdout (with `jsonOnly: false`,
//! plain text for a single id). `timeoutMs`, `noOutputTimeoutMs` and `maxOutputBytes` bound it; its
//! stderr is discarded (it may hold secrets).

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{SecretError, expand_home};
use crate::config::Env;
use crate::config::secrets::ExecDef;
use crate::store::{Secret, SecretRef};

/// Resolves `r` by running the exec provider `alias`.
pub(super) fn resolve(
    alias: &str,
    def: &ExecDef,
    r: &SecretRef,
    env: &Env,
    label: &str,
) -> Result<Secret, SecretError> {
    let fail = |message: String| SecretError::Provider {
        reference: label.to_owned(),
        message,
    };
    if let Err(why) = check_id(&r.id) {
        return Err(SecretError::Refused {
            reference: label.to_owned(),
            message: why.into(),
        });
    }
    if super::vault::is_self_exec(def) {
        return in_process(&r.id, env, label);
    }
    let command = expand_home(&def.command, Some(env));
    check_command(&command, def)
        .map_err(|why| fail(format!("secrets.providers.{alias}.command {why}")))?;
    let request = serde_json::json!({"protocolVersion": 1, "provider": alias, "ids": [r.id]});
    let out = run(&command, def, env, request.to_string().as_bytes())
        .map_err(|why| fail(format!("exec provider \"{alias}\" {why}")))?;
    let out = zeroize::Zeroizing::new(out);
    parse_answer(&out, &r.id, def.json_only).map_err(|e| match e {
        Answer::Missing(message) => SecretError::NotFound {
            reference: label.to_owned(),
            message: format!("exec provider \"{alias}\" {message}"),
        },
        Answer::Bad(message) => fail(format!("exec provider \"{alias}\" {message}")),
    })
}

/// A reference to modelauth's own exec provider, answered without running it.
fn in_process(id: &str, env: &Env, label: &str) -> Result<Secret, SecretError> {
    use super::vault::VaultError;
    super::vault::read_id(id, env).map_err(|e| match e {
        VaultError::Missing { .. } => SecretError::NotFound {
            reference: label.to_owned(),
            message: e.to_string(),
        },
        _ => SecretError::Provider {
            reference: label.to_owned(),
            message: e.to_string(),
        },
    })
}

/// OpenClaw's exec id rule: `^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,255}$`, no `.` or `..` segment.
fn check_id(id: &str) -> Result<(), &'static str> {
    let b = id.as_bytes();
    let ok_char = |c: &u8| c.is_ascii_alphanumeric() || b"._:/#-".contains(c);
    if b.is_empty() || b.len() > 256 || !b[0].is_ascii_alphanumeric() || !b.iter().all(ok_char) {
        return Err(
            "an exec reference's id is letters, digits and ._:/#- (at most 256, starting with a letter or digit)",
        );
    }
    if id.split('/').any(|s| s == "." || s == "..") {
        return Err("an exec reference's id must not contain . or .. path segments");
    }
    Ok(())
}

/// OpenClaw's checks on the command path.
fn check_command(path: &Path, def: &ExecDef) -> Result<(), String> {
    let shown = path.display();
    let hint = format!(" (configure the real path: realpath {shown})");
    let meta = super::regular_file(path, &hint)?;
    if !def.trusted_dirs.is_empty()
        && !def
            .trusted_dirs
            .iter()
            .any(|d| path.starts_with(expand_home(d, None)))
    {
        return Err(format!("is outside trustedDirs: {shown}"));
    }
    super::check_mode_and_owner(&meta, &shown, 0o022, "go-w")?;
    Ok(())
}

/// Runs the command with `input` on stdin; its stdout, or why it failed.
#[allow(
    clippy::disallowed_methods,
    reason = "a deadline on real time, not the injected clock"
)]
fn run(command: &Path, def: &ExecDef, env: &Env, input: &[u8]) -> Result<Vec<u8>, String> {
    use std::os::unix::process::CommandExt as _;
    let mut cmd = Command::new(command);
    cmd.args(&def.args)
        .env_clear()
        .current_dir(command.parent().unwrap_or(Path::new("/")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    for name in &def.pass_env {
        if let Some(v) = env.get_plain(name) {
            cmd.env(name, v);
        }
    }
    cmd.envs(&def.env);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not be started ({e})"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is not an error.
        let _ = stdin.write_all(input);
    }
    let mut stdout = child.stdout.take().ok_or("has no output pipe")?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let result = collect(&rx, def);
    if result.is_ok() {
        // The output is complete: give the command the rest of its time to exit.
        let deadline = start + Duration::from_millis(def.timeout_ms);
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // Whatever happened, nothing of the command's group outlives this call.
    kill_group(child.id());
    let _ = child.kill();
    let status = child
        .wait()
        .map_err(|e| format!("could not be waited for ({e})"))?;
    let out = result?;
    match status.code() {
        Some(0) => Ok(out),
        Some(code) => Err(format!("exited with code {code}")),
        None => Err(format!(
            "did not exit within {} ms (timeoutMs)",
            def.timeout_ms
        )),
    }
}

/// Reads the output until the pipe closes, within the provider's time and size bounds.
#[allow(
    clippy::disallowed_methods,
    reason = "a deadline on real time, not the injected clock"
)]
fn collect(rx: &mpsc::Receiver<Vec<u8>>, def: &ExecDef) -> Result<Vec<u8>, String> {
    let start = Instant::now();
    let total = Duration::from_millis(def.timeout_ms);
    let quiet = Duration::from_millis(def.no_output_timeout_ms);
    let mut out = Vec::new();
    loop {
        let left = total.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(format!("timed out after {} ms (timeoutMs)", def.timeout_ms));
        }
        match rx.recv_timeout(left.min(quiet)) {
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if out.len() as u64 > def.max_output_bytes {
                    return Err(format!(
                        "output exceeded maxOutputBytes ({})",
                        def.max_output_bytes
                    ));
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(out),
            Err(mpsc::RecvTimeoutError::Timeout) if left > quiet => {
                return Err(format!(
                    "produced no output for {} ms (noOutputTimeoutMs)",
                    def.no_output_timeout_ms
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!("timed out after {} ms (timeoutMs)", def.timeout_ms));
            }
        }
    }
}

/// Kills the process group `pgid` (the command and whatever it started).
fn kill_group(pgid: u32) {
    // `--` first: procps-ng 4.0's kill reads `-SIG -PGID` without it as `-1`.
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status();
}

/// Why an answer gave no value.
enum Answer {
    /// The provider answered, without this id (or with an error for it).
    Missing(String),
    /// The answer does not follow the protocol.
    Bad(String),
}

/// The value of `id` in the command's answer.
fn parse_answer(out: &[u8], id: &str, json_only: bool) -> Result<Secret, Answer> {
    let text = std::str::from_utf8(out)
        .map_err(|_| Answer::Bad("answered with non-UTF-8 output".into()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Answer::Bad("returned empty stdout".into()));
    }
    let parsed: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) if !json_only => return Ok(Secret::new(text)),
        Err(_) => return Err(Answer::Bad("returned invalid JSON".into())),
    };
    let obj = match parsed {
        Value::Object(o) => o,
        Value::String(s) if !json_only => return Ok(Secret::new(s)),
        _ => return Err(Answer::Bad("answer must be a JSON object".into())),
    };
    if obj.get("protocolVersion").and_then(Value::as_f64) != Some(1.0) {
        return Err(Answer::Bad("answer's protocolVersion must be 1".into()));
    }
    let Some(values) = obj.get("values").and_then(Value::as_object) else {
        return Err(Answer::Bad("answer has no \"values\" object".into()));
    };
    if let Some(err) = obj.get("errors").and_then(|e| e.get(id)) {
        // Only the codes OpenClaw shows are shown: other fields may hold credential material.
        let code = err.get("code").and_then(Value::as_str);
        let shown = match code {
            Some(c @ ("NOT_FOUND" | "AMBIGUOUS_DUPLICATE_KEY")) => format!(" ({c})"),
            _ => String::new(),
        };
        return Err(Answer::Missing(format!("failed for id \"{id}\"{shown}")));
    }
    match values.get(id) {
        Some(Value::String(s)) => Ok(Secret::new(s.as_str())),
        Some(_) => Err(Answer::Bad(format!(
            "answered a non-string value for id \"{id}\""
        ))),
        None => Err(Answer::Missing(format!("answer has no id \"{id}\""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_answers() {
        assert!(check_id("providers/openai/apiKey#value").is_ok());
        assert!(check_id("a/../b").is_err());
        assert!(check_id("/abs").is_err());
        assert!(check_id("").is_err());
        let ok = br#"{"protocolVersion":1,"values":{"k":"v1"}}"#;
        assert_eq!(
            parse_answer(ok, "k", true).ok().unwrap().expose_secret(),
            "v1"
        );
        let err = br#"{"protocolVersion":1,"values":{},"errors":{"k":{"code":"NOT_FOUND","message":"sk-leak"}}}"#;
        match parse_answer(err, "k", true) {
            Err(Answer::Missing(m)) => assert_eq!(m, "failed for id \"k\" (NOT_FOUND)"),
            _ => panic!("expected a missing id"),
        }
        assert!(matches!(
            parse_answer(b"plain", "k", true),
            Err(Answer::Bad(_))
        ));
        assert_eq!(
            parse_answer(b"plain\n", "k", false)
                .ok()
                .unwrap()
                .expose_secret(),
            "plain"
        );
        assert!(matches!(
            parse_answer(br#"{"protocolVersion":2,"values":{}}"#, "k", true),
            Err(Answer::Bad(_))
        ));
    }
}
