//! The real binary on temp state directories: every command, exit codes, JSON shapes, bad input, and
//! the leak test (no secret, nor any 6-character piece of one, in any output at RUST_LOG=trace).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use serde_json::{Value, json};

use crate::common::{RICH_SECRETS, rich_state};

/// `modelauth --state-dir DIR …` with a clean environment.
fn cmd(state: &Path) -> Command {
    let mut c = Command::cargo_bin("modelauth").unwrap();
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .envs(crate::common::no_real_token_endpoints());
    c.arg("--state-dir").arg(state);
    c
}

/// [`cmd`] with the arguments of `line`, split at whitespace (`run(s, "models auth order get")`).
pub fn run(state: &Path, line: &str) -> Command {
    let mut c = cmd(state);
    c.args(line.split_whitespace());
    c
}

/// Runs `c` and returns its stdout followed by its stderr.
pub fn all_output(c: &mut Command) -> String {
    let out = c.output().unwrap();
    crate::common::text_of(&out)
}

fn stdout_of(c: &mut Command) -> String {
    let out = c.output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn ms_now() -> i64 {
    #[allow(clippy::disallowed_methods)]
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    d.as_millis() as i64
}

/// A state dir with one anthropic profile in `kind`/`expires` shape.
fn state_with(entry: Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(
        path.join("auth-profiles.json"),
        json!({ "version": 1, "profiles": { "anthropic:x": entry } }).to_string(),
    )
    .unwrap();
    dir
}

#[test]
fn parse_prints_the_spec_fields() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(cmd(dir.path()).args(["parse", "/model opus@anthropic:work"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        json!({ "hasDirective": true, "source": "model", "rawModel": "opus", "rawProfile": "anthropic:work",
                "rawRuntime": null, "scope": null, "scopeConflict": false, "cleaned": "" })
    );
    let out = stdout_of(cmd(dir.path()).args(["parse", "/opus please", "--alias", "opus"]));
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["source"],
        "alias"
    );
}

/// Runs `parse` with `input` on stdin: the exit code, every stdout line as JSON, and stderr.
fn parse_lines(state: &Path, input: impl Into<Vec<u8>>) -> (Option<i32>, Vec<Value>, String) {
    let out = cmd(state)
        .arg("parse")
        .write_stdin(input.into())
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code(),
        lines,
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn parse_stdin_reports_bad_lines_by_number_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = b"\"/model gpt\"\nnot json\n\"hello\"\n".to_vec();
    input.extend_from_slice(b"\"\xff\"\n42\n");
    let (code, lines, err) = parse_lines(dir.path(), input);
    assert_eq!(code, Some(1));
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["rawModel"], "gpt");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[2]["hasDirective"], false);
    assert_eq!(lines[3]["line"], 4);
    assert!(
        err.contains("stdin line 2: not a JSON string") && err.contains("stdin line 4: not UTF-8"),
        "{err}"
    );
}

#[test]
fn parse_stdin_answers_plain_lines_from_the_raw_text_and_decodes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let input = concat!(
        "\"say \\\"hi\\\" \\t now\"\n", // escapes, no slash: answered from the raw line
        "\"\\u002fmodel opus\"\n",      // a slash spelled as \u002f: decoded, a directive
        "\"a\\/b\"\n",                  // an escaped slash
        "\"unterminated\n",
        "\"two\" \"strings\"\n",
        "\"caf\u{e9} /model x\"\n",
    );
    let (code, lines, err) = parse_lines(dir.path(), input);
    assert_eq!(code, Some(1));
    assert!(err.contains("stdin line 4"));
    assert_eq!(lines[0]["cleaned"], "say \"hi\" \t now");
    assert_eq!(lines[0]["hasDirective"], false);
    assert_eq!(lines[1]["rawModel"], "opus");
    assert_eq!(lines[2]["cleaned"], "a/b");
    assert_eq!(lines[3]["line"], 4);
    assert_eq!(lines[4]["line"], 5);
    assert_eq!(
        (lines[5]["rawModel"].clone(), lines[5]["cleaned"].clone()),
        (json!("x"), json!("café"))
    );
}

#[test]
fn status_check_exit_codes_follow_the_state_of_credentials() {
    let now = ms_now();
    let ok =
        state_with(json!({ "type": "api_key", "provider": "anthropic", "key": "sk-ant-aaaa" }));
    cmd(ok.path())
        .args(["models", "status", "--check"])
        .assert()
        .code(0);
    let expiring = state_with(
        json!({ "type": "token", "provider": "anthropic", "token": "sk-ant-oat-b", "expires": now + 3_600_000 }),
    );
    cmd(expiring.path())
        .args(["models", "status", "--check"])
        .assert()
        .code(2);
    let expired = state_with(
        json!({ "type": "token", "provider": "anthropic", "token": "sk-ant-oat-c", "expires": now - 1000 }),
    );
    cmd(expired.path())
        .args(["models", "status", "--check"])
        .assert()
        .code(1);
    let oauth = state_with(
        json!({ "type": "oauth", "provider": "anthropic", "access": "a", "refresh": "r", "expires": now - 1000 }),
    );
    let out = cmd(oauth.path())
        .args(["--json", "models", "status", "--check"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an expired OAuth access token is never ok"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["providers"][0]["profiles"][0]["state"], "expired");
    let missing = state_with(json!({ "type": "api_key", "provider": "anthropic" }));
    cmd(missing.path())
        .args(["models", "status", "--check"])
        .assert()
        .code(1);
    let none = tempfile::tempdir().unwrap();
    cmd(none.path())
        .args(["models", "status", "--check"])
        .assert()
        .code(1);
    cmd(none.path())
        .env("ANTHROPIC_API_KEY", "sk-ant-envonly")
        .args(["models", "status", "--check"])
        .assert()
        .code(0);
    // Without --check the code is 0 whatever the state.
    cmd(expired.path())
        .args(["models", "status"])
        .assert()
        .code(0);
}

#[test]
fn status_json_shape_is_stable() {
    let (_d, state) = rich_state();
    let out = cmd(state.root())
        .args(["--json", "models", "status"])
        .output()
        .unwrap();
    let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["stateDir"] = json!("[dir]");
    let store = v["store"].as_str().unwrap().to_owned();
    assert!(
        store.starts_with(&state.root().display().to_string()),
        "{store}"
    );
    v["store"] = json!(store.replace(&state.root().display().to_string(), "[dir]"));
    for p in v["providers"].as_array_mut().unwrap() {
        for prof in p["profiles"].as_array_mut().unwrap() {
            for k in ["expires", "until"] {
                if !prof[k].is_null() {
                    prof[k] = json!("[time]");
                }
            }
        }
    }
    insta::assert_json_snapshot!("status_rich", v);
}

#[test]
fn auth_commands_add_paste_order_report_remove() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    run(
        s,
        "models auth add --provider anthropic --profile-id anthropic:work",
    )
    .write_stdin("sk-ant-api03-abc\n")
    .assert()
    .success();
    let out = run(
        s,
        "models auth paste-token --provider anthropic --expires-in 365d",
    )
    .write_stdin("sk-ant-oat01-12\n  34 56\n")
    .output()
    .unwrap();
    assert!(out.status.success());
    let store: Value = serde_json::from_str(
        &std::fs::read_to_string(s.join("agents/main/agent/auth-profiles.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        store["profiles"]["anthropic:manual"]["token"], "sk-ant-oat01-123456",
        "all whitespace removed"
    );
    assert_eq!(store["profiles"]["anthropic:work"]["type"], "api_key");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(s.join("openclaw.json")).unwrap()).unwrap();
    assert_eq!(
        config["auth"]["profiles"]["anthropic:manual"],
        json!({ "provider": "anthropic", "mode": "token" })
    );
    let warn = run(
        s,
        "models auth add --provider anthropic --profile-id anthropic:odd",
    )
    .write_stdin("abc")
    .output()
    .unwrap();
    assert!(
        warn.status.success()
            && String::from_utf8_lossy(&warn.stderr).contains("usually start with sk-ant-")
    );
    run(
        s,
        "models auth order set --provider anthropic anthropic:manual anthropic:work",
    )
    .assert()
    .success();
    let got = stdout_of(&mut run(s, "models auth order get --provider anthropic"));
    assert_eq!(got.trim(), "anthropic: anthropic:manual, anthropic:work");
    let r = stdout_of(&mut run(s, "--json resolve --provider anthropic"));
    assert_eq!(
        serde_json::from_str::<Value>(&r).unwrap()["profile"],
        "anthropic:manual"
    );
    let rep = stdout_of(&mut run(
        s,
        "models auth report anthropic:manual --outcome rate_limit --retry-after 2m",
    ));
    assert!(rep.contains("cools down until"), "{rep}");
    // The setup token (a subscription) cools; the API key bills per token: not without an opt-in.
    let closed = run(s, "resolve --provider anthropic").output().unwrap();
    assert_eq!(closed.status.code(), Some(1));
    let err = String::from_utf8_lossy(&closed.stderr);
    assert!(
        err.contains("anthropic:manual")
            && err.contains("anthropic:work bills per token")
            && err.contains("--allow-metered"),
        "{err}"
    );
    let r = stdout_of(&mut run(s, "resolve --provider anthropic --allow-metered"));
    assert!(r.starts_with("next: profile anthropic:work"), "{r}");
    assert!(
        r.contains("lane crossing: a subscription session billed to a metered profile"),
        "{r}"
    );
    assert!(r.contains("cooldown (rate_limit)"), "{r}");
    run(s, "models auth order clear --provider anthropic")
        .assert()
        .success();
    run(s, "models auth remove anthropic:odd")
        .assert()
        .success();
    let list = stdout_of(&mut run(s, "--json models auth list"));
    let ids: Vec<String> = serde_json::from_str::<Vec<Value>>(&list)
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["anthropic:manual", "anthropic:work"]);
    let setup = run(s, "models auth setup-token")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(setup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&setup.stderr).contains("paste-token --provider anthropic"));
}

#[test]
fn bad_input_gets_clear_messages_and_non_zero_exits() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let cases: Vec<(&str, i32, &str)> = vec![
        (
            "models auth order get --provider open/ai",
            1,
            "invalid provider id",
        ),
        ("models auth remove ../etc", 1, "invalid profile id"),
        ("models auth remove anthropic:none", 1, "not found"),
        (
            "models auth order set --provider anthropic anthropic:none",
            1,
            "not found",
        ),
        (
            "models auth paste-token --provider anthropic --expires-in soon",
            64,
            "use e.g. 30s",
        ),
        ("--agent ../x models status", 1, "invalid agent id"),
        ("models frobnicate", 64, "unrecognized subcommand"),
        (
            "resolve --provider google",
            1,
            "No credentials found for google",
        ),
    ];
    for (args, code, needle) in cases {
        let out = run(s, args).write_stdin("").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let empty = run(s, "models auth add --provider anthropic")
        .write_stdin("  \n")
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(1));
    // Corrupt files: named with position, left untouched.
    let path = s.join("agents/main/agent/auth-profiles.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{\"profiles\": ").unwrap();
    let out = run(s, "models auth add --provider openai")
        .write_stdin("sk-x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("auth-profiles.json is not valid JSON (line 1")
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"profiles\": ");
    std::fs::write(s.join("openclaw.json"), "{ a: ").unwrap();
    let out = run(s, "models status").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("openclaw.json is not valid JSON5"));
    // A state "directory" that is a file.
    let file = s.join("plainfile");
    std::fs::write(&file, "x").unwrap();
    let out = cmd(&file).args(["models", "status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
}

#[test]
fn files_are_0600_and_dirs_0700_under_umask_000_and_doctor_fixes_wider_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("state");
    let bin = assert_cmd::cargo::cargo_bin("modelauth");
    let script = format!(
        "umask 000; printf sk-ant-api03-x | '{}' --state-dir '{}' models auth add --provider anthropic",
        bin.display(),
        s.display()
    );
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("NO_COLOR", "1")
        .status()
        .unwrap();
    assert!(st.success());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s), 0o700);
    assert_eq!(mode(&s.join("agents/main/agent")), 0o700);
    assert_eq!(mode(&s.join("agents/main/agent/auth-profiles.json")), 0o600);
    assert_eq!(mode(&s.join("openclaw.json")), 0o600);
    std::fs::set_permissions(
        s.join("openclaw.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = cmd(&s).arg("doctor").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("has mode 644"));
    let fixed = cmd(&s).args(["doctor", "--fix"]).output().unwrap();
    assert_eq!(fixed.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&fixed.stdout).contains("openclaw.json: mode was 644, now 600")
    );
    assert!(
        String::from_utf8_lossy(&fixed.stdout).lines().any(
            |l| l.starts_with("fixed: ") && l.ends_with("openclaw.json: mode was 644, now 600")
        ),
        "one line per repair, saying what changed"
    );
    assert_eq!(mode(&s.join("openclaw.json")), 0o600);
    // A link planted in the state directory is reported, never followed by --fix.
    let target = dir.path().join("outside");
    std::fs::write(&target, "x").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::create_dir_all(s.join("agents/main/sessions")).unwrap();
    std::os::unix::fs::symlink(&target, s.join("agents/main/sessions/sessions.json")).unwrap();
    let out = cmd(&s).args(["doctor", "--fix"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sessions.json is a symbolic link"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(mode(&target), 0o644, "the link's target keeps its mode");
}

#[test]
fn doctor_reports_dangling_orders_shadowing_keys_and_auth_permanent() {
    let now = ms_now();
    let dir =
        state_with(json!({ "type": "token", "provider": "anthropic", "token": "sk-ant-oat01-t" }));
    let s = dir.path();
    let path = s.join("agents/main/agent/auth-profiles.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["order"] = json!({ "anthropic": ["anthropic:x", "anthropic:gone"] });
    v["usageStats"] = json!({ "anthropic:x": { "disabledUntil": now + 600_000, "disabledReason": "auth_permanent" } });
    std::fs::write(&path, v.to_string()).unwrap();
    let out = cmd(s)
        .env("ANTHROPIC_API_KEY", "sk-ant-env")
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("names missing profile(s) anthropic:gone"),
        "{text}"
    );
    assert!(
        text.contains("ANTHROPIC_API_KEY is set while anthropic has token/OAuth profiles"),
        "{text}"
    );
    assert!(
        text.contains(
            "Use an Anthropic API key instead (modelauth models auth add --provider anthropic)."
        ),
        "{text}"
    );
    let fixed = run(s, "doctor --fix").output().unwrap();
    let fixed = String::from_utf8_lossy(&fixed.stdout);
    assert!(
        fixed.contains("fixed: agent main: removed anthropic:gone from the order of anthropic"),
        "{fixed}"
    );
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(after["order"]["anthropic"], json!(["anthropic:x"]));
}

/// Runs the demo chat with `input` and returns stdout.
fn demo_chat(input: &str, json: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cmd(dir.path());
    if json {
        c.arg("--json");
    }
    let out = c
        .args(["chat", "--demo"])
        .write_stdin(input)
        .output()
        .unwrap();
    crate::common::assert_ok(&out);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn chat_demo_replies_with_the_spec_texts() {
    let out = demo_chat(
        "/model\n/model list\n/model opus@anthropic:work\n/model\n/model gpt\n/model default\n/model gpt-4\n/model claude\n/model x@anthropic:nope\n/model gpt@anthropic:work\n/model 42\n/model status@anthropic:work\n/model sonnet@anthropic:work\nhello\n",
        false,
    );
    let expect = [
        "Current: opus (anthropic/claude-opus-4-6)\n\nSwitch: /model <provider/model>\nBrowse: /model list\nMore: /model status\n",
        "Providers:\n- anthropic (2)\n- google (1)\n- openai (2)\n\nSwitch: /model <provider/model>\n",
        "Model reset to default (opus (anthropic/claude-opus-4-6)). Auth profile set to anthropic:work.\n",
        "Current: opus (anthropic/claude-opus-4-6)\nPinned profile: anthropic:work (user)\n",
        "Model set to gpt (openai/gpt-5).\n",
        "Model reset to default (opus (anthropic/claude-opus-4-6)).\n",
        "Model \"anthropic/gpt-4\" is not allowed. Use /model list to see providers and models. Did you mean openai/gpt-5?\n",
        "Model \"claude\" is ambiguous: anthropic/claude-opus-4-6, anthropic/claude-sonnet-4-5.\n",
        "Model \"anthropic/x\" is not allowed. Use /model list to see providers and models.\n",
        "Auth profile \"anthropic:work\" is for anthropic, not openai.\n",
        "Numeric model selection is not supported in chat.\n\nBrowse: /model list\nSwitch: /model <provider/model>\n",
        "Auth profile override requires a model selection.\n",
        "Model set to sonnet (anthropic/claude-sonnet-4-5). Auth profile set to anthropic:work.\n",
        "→ agent would use anthropic/claude-sonnet-4-5 with profile anthropic:work (pinned by user)\n",
    ];
    let mut rest = out.as_str();
    for e in expect {
        let at = rest
            .find(e)
            .unwrap_or_else(|| panic!("missing {e:?} in\n{out}"));
        rest = &rest[at + e.len()..];
    }
    let st = demo_chat("/model status\n", false);
    assert!(st.contains("[anthropic] endpoint: default api: anthropic-messages auth: anthropic:work=api_key (next), anthropic:manual=token (exp 20h), anthropic:backup=api_key (cooldown 4m)"), "{st}");
    assert!(
        st.contains("Session pin: none") && st.contains("  • anthropic/claude-opus-4-6 (opus)"),
        "{st}"
    );
}

#[test]
fn chat_json_reports_outcomes_mixed_messages_and_new_sessions() {
    let out = demo_chat(
        "hey /model gpt there\n/model gpt@openai:default\n/new\nhi\n/model x@nope\n",
        true,
    );
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["directive"], "ignored");
    assert_eq!(lines[0]["cleaned"], "hey there");
    assert_eq!(lines[0]["next"]["profile"], "anthropic:work");
    assert_eq!(
        lines[1]["changes"],
        json!([{ "kind": "modelSet", "model": "openai/gpt-5" }, { "kind": "pinSet", "profile": "openai:default" }])
    );
    assert_eq!(lines[2]["changes"][0]["kind"], "newSession");
    assert_eq!(
        lines[3]["next"]["model"], "openai/gpt-5",
        "the model override carries over /new"
    );
    assert_eq!(
        lines[3]["next"]["reason"], "auto pin",
        "the user pin became auto"
    );
    assert_eq!(lines[4]["directive"], "rejected");
}

#[test]
fn scope_flags_write_defaults_to_config() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    run(s, "models auth add --provider openai")
        .write_stdin("sk-openai")
        .assert()
        .success();
    let out = stdout_of(
        run(s, "chat").write_stdin("/model openai/gpt-5 -g\n/model openai/gpt-5-mini --agent\n"),
    );
    assert!(
        out.contains("Global default model set to openai/gpt-5."),
        "{out}"
    );
    assert!(
        out.contains("Default model for agent main set to openai/gpt-5-mini."),
        "{out}"
    );
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(s.join("openclaw.json")).unwrap()).unwrap();
    assert_eq!(
        config["agents"]["defaults"]["model"]["primary"],
        "openai/gpt-5"
    );
    assert_eq!(
        config["agents"]["list"][0],
        json!({ "id": "main", "model": { "primary": "openai/gpt-5-mini" } })
    );
}

#[test]
fn completions_and_help_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("modelauth")
        .unwrap()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("modelauth"));
    // --state-dir does nothing for completions: refused, not ignored.
    cmd(dir.path())
        .args(["completions", "bash"])
        .assert()
        .code(64);
    cmd(dir.path()).arg("--help").assert().code(0);
}

/// Every 6-character window of every secret.
fn pieces(secrets: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for s in secrets {
        let chars: Vec<char> = s.chars().collect();
        for w in chars.windows(6) {
            out.push(w.iter().collect());
        }
    }
    out
}

#[test]
fn leak_test_no_secret_or_piece_of_one_in_any_output() {
    let (_d, state) = rich_state();
    let s = state.root();
    let env_secret = "sk-ant-api03-ENVLEAKZZZZ99";
    let new_secret = "sk-ant-oat01-PASTEDQQQQ77";
    let mut secrets: Vec<&str> = RICH_SECRETS.to_vec();
    secrets.extend([env_secret, new_secret]);
    // Pieces shared with ordinary words (prefixes such as "sk-ant") are not secret material.
    let allowed = [
        "sk-ant", "k-ant-", "-ant-a", "ant-ap", "nt-api", "t-api0", "-api03", "api03-", "-ant-o",
        "ant-oa", "nt-oat", "t-oat0", "-oat01", "oat01-",
    ];
    let needles: Vec<String> = pieces(&secrets)
        .into_iter()
        .filter(|p| !allowed.contains(&p.as_str()))
        .collect();
    let runs: Vec<(&str, &str)> = vec![
        ("models status", ""),
        ("--json models status --check", ""),
        ("models list", ""),
        ("--json models auth list", ""),
        (
            "models auth paste-token --provider anthropic --profile-id anthropic:new",
            new_secret,
        ),
        (
            "models auth add --provider openai --profile-id openai:new",
            "PASTEDQQQQ77-not-prefixed",
        ),
        (
            "models auth order set --provider anthropic anthropic:new anthropic:work",
            "",
        ),
        ("models auth order get --provider anthropic", ""),
        ("--json resolve --provider anthropic --session s", ""),
        ("resolve --provider custom", ""),
        (
            "models auth report anthropic:work --outcome auth_permanent",
            "",
        ),
        ("doctor", ""),
        ("doctor --fix", ""),
        ("parse", "\"/model x@anthropic:work\"\n"),
        (
            "chat",
            "/model\n/model list\n/model status\n/model opus@anthropic:work\n/model status\nhello\n/model gpt\n/new\n/model default\n/model x@nope\n/model 1\n/opus\n",
        ),
        ("--json chat", "/model status\nhi\n"),
        ("models auth remove anthropic:new", ""),
    ];
    for (args, input) in runs {
        let text = all_output(
            run(s, args)
                .env("RUST_LOG", "trace")
                .env("ANTHROPIC_API_KEY", env_secret)
                .write_stdin(input),
        );
        for n in &needles {
            assert!(
                !text.contains(n.as_str()),
                "{args:?} printed a piece of a secret ({n:?}):\n{text}"
            );
        }
    }
    // A corrupt store holding a secret: the error names the position, never the content.
    let path = crate::common::main_auth_file(&state).path().to_owned();
    std::fs::write(
        &path,
        "{\"profiles\":{\"a:b\":{\"key\":\"sk-ant-CORRUPTLEAK55\"",
    )
    .unwrap();
    let text = all_output(run(s, "models status").env("RUST_LOG", "trace"));
    assert!(
        !text.contains("CORRUP") && !text.contains("LEAK55"),
        "{text}"
    );
}

#[test]
fn a_secret_typed_on_the_command_line_is_not_echoed_back() {
    let (dir, _) = rich_state();
    let out = run(
        dir.path(),
        "models auth add --provider anthropic sk-ant-api03-TYPEDBYMISTAKE123",
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(64), "the usage exit code");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("TYPEDBYMISTAKE"), "{err}");
    assert!(
        err.contains("[REDACTED]") && err.contains("never from arguments"),
        "{err}"
    );
    // An ordinary usage error is shown as clap writes it.
    let out = run(dir.path(), "models auth add --provider anthropic extra")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("'extra'"));
}

#[test]
fn a_mistyped_provider_gets_a_did_you_mean_before_any_variable_name() {
    let (dir, _) = rich_state();
    let before =
        std::fs::read_to_string(dir.path().join("agents/main/agent/auth-profiles.json")).unwrap();
    let out = run(dir.path(), "resolve --provider anthropc")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("did you mean `anthropic`"), "{err}");
    assert!(!err.contains("ANTHROPC_API_KEY"), "{err}");
    let mut add = run(dir.path(), "models auth paste-token --provider antropic");
    let out = add.write_stdin("sk-ant-oat01-X\n").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `anthropic`"));
    let after =
        std::fs::read_to_string(dir.path().join("agents/main/agent/auth-profiles.json")).unwrap();
    assert_eq!(before, after, "nothing was stored");
    // A provider far from every known one is a new provider, not a typo.
    let out = run(dir.path(), "resolve --provider fireworks")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("did you mean"));
}

#[test]
fn auth_list_has_a_header_row() {
    let (dir, _) = rich_state();
    let out = stdout_of(&mut run(dir.path(), "models auth list"));
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(
        header.contains("PROFILE") && header.contains("TYPE") && header.contains("STATE"),
        "{out}"
    );
    assert!(lines.any(|l| l.contains("anthropic:work")), "{out}");
}

#[test]
fn status_check_quiet_prints_only_the_problems() {
    let (dir, _) = rich_state();
    let out = run(dir.path(), "models status --check --quiet")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        !text.contains("Agent:") && !text.contains("Default model"),
        "{text}"
    );
    assert!(
        text.lines()
            .all(|l| l.contains("profile") || l.contains("(in use)")),
        "{text}"
    );
    assert!(text.contains("openai-codex:me@example.com"), "{text}");
    let healthy = tempfile::tempdir().unwrap();
    let agent = healthy.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    std::fs::write(
        agent.join("auth-profiles.json"),
        r#"{"version":1,"profiles":{"anthropic:work":{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-Q"}}}"#,
    )
    .unwrap();
    std::fs::write(
        healthy.path().join("openclaw.json"),
        r#"{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-6"}}}}"#,
    )
    .unwrap();
    let out = run(healthy.path(), "models status --check --quiet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "nothing on success"
    );
}

#[test]
fn a_config_value_of_the_wrong_type_is_named_by_status_and_doctor() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        r#"{"agents":{"defaults":{"model":{"primary":42}}}}"#,
    )
    .unwrap();
    let file = dir.path().join("openclaw.json").display().to_string();
    for line in ["models status", "doctor"] {
        let out = all_output(&mut run(dir.path(), line));
        assert!(
            out.contains(&file)
                && out.contains("`agents.defaults.model.primary` is a number, not a string"),
            "{line}: {out}"
        );
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let state = format!("--state-dir={}", dir.path().display());
    let cases: [&[&str]; 3] = [
        &["completions", "bash"],
        &["man"],
        &[&state, "models", "list"],
    ];
    for args in cases {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("modelauth"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before the first write
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_fresh_directory_beside_an_installed_openclaw_gets_no_json_files() {
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("openclaw");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
    let mut perm = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&fake, perm).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dir = tempfile::tempdir().unwrap();
    let paste = |extra: &[&str]| {
        let mut c = cmd(dir.path());
        c.env("PATH", &path)
            .args(extra)
            .args(["models", "auth", "paste-token", "--provider", "anthropic"])
            .write_stdin("sk-ant-oat01-FRESHxxxxxxxxxxxxxxxxxxxxxxxx\n");
        c.output().unwrap()
    };
    let refused = paste(&[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("run `openclaw onboard`"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let onboard = {
        let mut c = cmd(dir.path());
        c.env("PATH", &path)
            .args([
                "onboard",
                "--non-interactive",
                "--provider",
                "anthropic",
                "--kind",
                "api_key",
            ])
            .write_stdin("sk-ant-api03-FRESHxxxxxxxxxxxxxxxxxxxxxxxx\n");
        c.output().unwrap()
    };
    assert_eq!(
        onboard.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&onboard.stderr)
    );
    // The user's explicit choice of the JSON generation is honoured, and from then on it is evidence.
    assert!(paste(&["--layout", "json"]).status.success());
    assert!(
        dir.path()
            .join("agents/main/agent/auth-profiles.json")
            .is_file()
    );
    assert!(paste(&[]).status.success());
}
