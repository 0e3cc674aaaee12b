//! What a new operator meets on a fresh state directory (issue 18), through the real binary.

use assert_cmd::Command;
use serde_json::json;

/// A state directory with no config at all and two anthropic API keys.
fn fresh_state() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    let profiles = json!({"version": 1, "profiles": {
        "anthropic:work": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-UXWORK0000"},
        "anthropic:home": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-UXHOME0000"}}});
    std::fs::write(agent.join("auth-profiles.json"), profiles.to_string()).unwrap();
    dir
}

/// `modelauth --state-dir DIR chat` with `lines` on stdin: its stdout.
fn chat(dir: &std::path::Path, lines: &str) -> String {
    let out = crate::common::modelauth_in(dir)
        .arg("chat")
        .write_stdin(lines.to_owned())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_headline_example_works_on_a_fresh_state_directory() {
    let dir = fresh_state();
    let out = chat(dir.path(), "/model opus@anthropic:work\n");
    assert!(
        out.contains(
            "Model set to opus (anthropic/claude-opus-5). Auth profile set to anthropic:work."
        ),
        "{out}"
    );
    let out = chat(dir.path(), "/model sonnet\n");
    assert!(
        out.contains("Model set to sonnet (anthropic/claude-sonnet-5)."),
        "{out}"
    );
}

#[test]
fn a_model_id_nothing_knows_gets_a_did_you_mean_and_a_full_ref_is_taken_with_a_note() {
    let dir = fresh_state();
    let out = chat(dir.path(), "/model claude-opus-4.6\n");
    assert!(
        out.contains("Model \"anthropic/claude-opus-4.6\" is not a model modelauth knows for anthropic. Did you mean anthropic/claude-opus-4-6?"),
        "{out}"
    );
    assert!(!out.contains("Model set to"), "{out}");
    let out = chat(dir.path(), "/model anthropic/claude-opus-9\n");
    assert!(
        out.contains("Model set to anthropic/claude-opus-9."),
        "{out}"
    );
    assert!(
        out.contains("modelauth does not list anthropic/claude-opus-9"),
        "{out}"
    );
}

#[test]
fn configured_aliases_win_over_the_built_in_ones() {
    let dir = fresh_state();
    std::fs::write(
        dir.path().join("openclaw.json"),
        json!({"agents": {"defaults": {"models": {"anthropic/claude-opus-4-6": {"alias": "opus"}}}}})
            .to_string(),
    )
    .unwrap();
    let out = chat(dir.path(), "/model opus\n/model gpt\n");
    // (claude-opus-4-6 is also the default model here, so this is a reset to it.)
    assert!(out.contains("(opus (anthropic/claude-opus-4-6))"), "{out}");
    // Under an allowlist a built-in alias whose target is not allowed is not offered.
    assert!(
        out.contains("Model \"anthropic/gpt\" is not allowed"),
        "{out}"
    );
}

#[test]
fn malformed_directives_get_a_reply_that_names_the_mistake() {
    let dir = fresh_state();
    let out = chat(
        dir.path(),
        "/model list anthropic\n/model status extra\n/model opus@anthropic:wörk\n/model sonnet please\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        out.contains("/model list takes nothing after it (\"anthropic\")"),
        "{out}"
    );
    assert!(
        out.contains("/model status takes nothing after it (\"extra\")"),
        "{out}"
    );
    assert!(out.contains("\"anthropic:wö…\" has 'ö'"), "{out}");
    // The refused ones are not sent on; the ordinary mixed message is (its directive stripped).
    let sent = lines.iter().filter(|l| l.starts_with('→')).count();
    assert_eq!(sent, 1, "{out}");
    assert_eq!(
        lines.iter().filter(|l| l.contains("mixed message")).count(),
        1,
        "{out}"
    );
    // Nothing was pinned by the refused directive.
    let status = chat(dir.path(), "/model status\n");
    assert!(!status.contains("(user)"), "{status}");
}

/// `modelauth --state-dir DIR ARGS…` (stdin `input`): exit code, stdout, stderr.
fn run(dir: &std::path::Path, args: &[&str], input: &str) -> (Option<i32>, String, String) {
    let out = crate::common::modelauth_in(dir)
        .args(args)
        .write_stdin(input.to_owned())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_agent_that_does_not_exist_is_named_and_only_created_on_request() {
    let dir = fresh_state();
    std::fs::create_dir_all(dir.path().join("agents/ops/agent")).unwrap();
    let (code, out, err) = run(
        dir.path(),
        &["--agent", "work", "models", "auth", "list"],
        "",
    );
    assert_ne!(code, Some(0), "{out}");
    assert!(
        err.contains("no agent \"work\" (known: main, ops); check the name"),
        "{err}"
    );
    let (code, _, err) = run(
        dir.path(),
        &[
            "--agent",
            "work",
            "models",
            "auth",
            "order",
            "set",
            "--provider",
            "anthropic",
            "anthropic:x",
        ],
        "",
    );
    assert_ne!(code, Some(0));
    assert!(err.contains("add --create to create it"), "{err}");
    assert!(
        !dir.path().join("agents/work").exists(),
        "a refused write created the agent"
    );
    let (code, _, err) = run(
        dir.path(),
        &[
            "--agent",
            "work",
            "--create",
            "models",
            "auth",
            "paste-token",
            "--provider",
            "anthropic",
        ],
        "sk-ant-api03-NEWAGENT0000\n",
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(
        dir.path(),
        &["--agent", "work", "models", "auth", "list"],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("anthropic:"), "{out}");
    // Existing agents need nothing.
    let (code, _, err) = run(dir.path(), &["--agent", "ops", "models", "status"], "");
    assert_eq!(code, Some(0), "{err}");
}

/// [`fresh_state`] with `extra` profiles merged in and the order override `order`.
fn state_with(extra: serde_json::Value, order: &[&str]) -> tempfile::TempDir {
    let dir = fresh_state();
    let file = dir.path().join("agents/main/agent/auth-profiles.json");
    let mut doc: serde_json::Value = crate::common::read_json(&file);
    for (k, v) in extra.as_object().unwrap() {
        doc["profiles"][k] = v.clone();
    }
    if !order.is_empty() {
        doc["order"] = json!({ "anthropic": order });
    }
    std::fs::write(&file, doc.to_string()).unwrap();
    dir
}

#[test]
fn status_shows_the_order_that_applies_and_a_healthy_profile_it_leaves_out() {
    let x = json!({"anthropic:x": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-UXX000000"}});
    let dir = state_with(x, &["anthropic:work", "anthropic:home"]);
    for id in ["anthropic:work", "anthropic:home"] {
        let (code, _, err) = run(
            dir.path(),
            &["models", "auth", "report", id, "--outcome", "rate_limit"],
            "",
        );
        assert_eq!(code, Some(0), "{err}");
    }
    let (_, out, _) = run(dir.path(), &["models", "status"], "");
    assert!(
        out.contains("order: override (models auth order set): anthropic:work, anthropic:home; not in it: anthropic:x"),
        "{out}"
    );
    assert!(
        out.contains("no profile in the order override can be used now; anthropic:x is healthy but not in the order (modelauth models auth order clear --provider anthropic)"),
        "{out}"
    );
    assert!(
        !out.contains("All credentials for anthropic are cooling down"),
        "{out}"
    );
    let (_, out, _) = run(dir.path(), &["doctor"], "");
    assert!(
        out.contains("anthropic:x is healthy but not in the order"),
        "{out}"
    );
    let (_, out, _) = run(dir.path(), &["--json", "models", "status"], "");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["providers"][0]["orderSource"], "orderOverride", "{v}");
    assert_eq!(
        v["providers"][0]["outsideOrder"],
        json!(["anthropic:x"]),
        "{v}"
    );
}

#[test]
fn an_expired_profile_the_order_leaves_out_does_not_fail_the_check() {
    let old = json!({"anthropic:old": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-UXOLD0000", "expires": 1_000}});
    let dir = state_with(old.clone(), &["anthropic:work"]);
    let (code, out, _) = run(dir.path(), &["models", "status", "--check", "--quiet"], "");
    assert_eq!((code, out.as_str()), (Some(0), ""), "{out}");
    // Without an order it could be chosen, so it counts.
    let dir = state_with(old, &[]);
    let (code, out, _) = run(dir.path(), &["models", "status", "--check", "--quiet"], "");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("profile anthropic:old is expired"), "{out}");
}

#[test]
fn a_disabled_profile_is_disabled_and_the_api_key_hint_is_only_for_claude_code_tokens() {
    let extra = json!({
        "anthropic:cc": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-UXCC00000"},
        "openai:k": {"type": "api_key", "provider": "openai", "key": "sk-UXOPENAI0000000"}});
    let dir = state_with(extra, &[]);
    let report = |id: &str, outcome: &str| {
        run(
            dir.path(),
            &["models", "auth", "report", id, "--outcome", outcome],
            "",
        )
    };
    let (_, out, _) = report("anthropic:work", "billing");
    assert!(out.contains("anthropic:work is disabled until"), "{out}");
    let (_, out, _) = report("anthropic:work", "billing");
    assert!(out.contains("is already disabled until"), "{out}");
    report("anthropic:cc", "auth_permanent");
    report("openai:k", "auth_permanent");
    let (_, out, _) = run(dir.path(), &["--json", "models", "auth", "list"], "");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = |id: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(row("anthropic:work")["state"], "disabled");
    assert!(
        row("anthropic:cc")["hint"]
            .as_str()
            .unwrap()
            .contains("Anthropic API key"),
        "{rows}"
    );
    assert!(row("openai:k")["hint"].is_null(), "{rows}");
    // Every anthropic profile disabled or cooling: the resolve error says which.
    report("anthropic:home", "billing");
    report("anthropic:cc", "billing");
    let (code, _, err) = run(dir.path(), &["resolve", "--provider", "anthropic"], "");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("All credentials for anthropic are disabled"),
        "{err}"
    );
}

#[test]
fn model_status_after_new_agrees_with_what_the_next_message_uses() {
    let dir = fresh_state();
    let out = chat(
        dir.path(),
        "hello\n/new\n/model status\nhi again\n/model status\n",
    );
    let next_flag = |text: &str| -> String {
        let auth = text
            .lines()
            .find(|l| l.contains("auth: "))
            .expect("auth line")
            .to_owned();
        let part = auth.split("auth: ").nth(1).unwrap().to_owned();
        part.split(", ")
            .find(|p| p.contains("(next"))
            .and_then(|p| p.split('=').next())
            .expect("a next profile")
            .to_owned()
    };
    let status_after_new = out.split("New session started").nth(1).unwrap();
    let marked = next_flag(status_after_new);
    assert!(
        status_after_new.contains("(auto; the next message moves it to the next profile)"),
        "{out}"
    );
    let used = out
        .lines()
        .filter(|l| l.starts_with("→ agent would use"))
        .nth(1)
        .expect("second message");
    assert!(
        used.contains(&format!("profile {marked} ")),
        "marked {marked}, used: {used}\n{out}"
    );
    // And afterwards the pin is that profile.
    let last = out.rsplit("Current:").next().unwrap();
    assert!(
        last.contains(&format!("Session pin: {marked} (auto)")),
        "{out}"
    );
}

/// Runs `modelauth chat --demo` on a pseudo-terminal (util-linux `script`), typing `keys` slowly;
/// returns the exit code and what the terminal showed.
fn chat_on_a_terminal(keys: &[&str]) -> (Option<i32>, String) {
    use std::io::Write;
    let bin = assert_cmd::cargo::cargo_bin("modelauth");
    let mut child = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} chat --demo", bin.display()),
            "/dev/null",
        ])
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    let mut stdin = child.stdin.take().unwrap();
    for k in keys {
        std::thread::sleep(std::time::Duration::from_millis(300));
        stdin.write_all(k.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_chat_prompt_has_help_a_banner_that_says_how_to_leave_and_exits_cleanly() {
    let (code, screen) = chat_on_a_terminal(&["/help\r", "/model opus@anthropic:work\r", "exit\r"]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("exit, quit, Ctrl-D or Ctrl-C to leave"),
        "{screen}"
    );
    assert!(screen.contains("/model <model>@<profile>"), "{screen}");
    assert!(
        screen.contains("Auth profile set to anthropic:work."),
        "{screen}"
    );
    // Ctrl-C at the prompt leaves too, with exit 0.
    let (code, screen) = chat_on_a_terminal(&["/model status\r", "\x03"]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Session pin:"), "{screen}");
}

#[test]
fn one_bad_line_on_a_pipe_does_not_end_the_chat_and_is_not_echoed() {
    let dir = fresh_state();
    let mut input = b"/model opus@anthropic:work\n\xff\xfe\n".to_vec();
    input.extend(std::iter::repeat_n(b'Q', 2 * 1024 * 1024));
    input.extend_from_slice(b"\n/model status\n");
    let out = Command::cargo_bin("modelauth")
        .unwrap()
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("--state-dir")
        .arg(dir.path())
        .arg("chat")
        .write_stdin(input)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("line 2 is not valid UTF-8; skipped"),
        "{stderr}"
    );
    assert!(stderr.contains("longer than 64 KiB; skipped"), "{stderr}");
    assert!(
        stdout.contains("Session pin: anthropic:work (user)"),
        "{stdout}"
    );
    assert!(
        stdout.len() + stderr.len() < 20_000,
        "the long line was echoed"
    );
}

#[test]
fn the_library_and_the_cli_see_the_same_credentials_from_the_state_dot_env() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_private(
        &dir.path().join(".env"),
        "ANTHROPIC_API_KEY=sk-ant-api03-DOTENV00000\n",
    );
    // The documented entry point of the library.
    let gateway = modelauth::Gateway::open(dir.path()).unwrap();
    let decision = gateway
        .default_agent()
        .unwrap()
        .next(None, "anthropic", None)
        .unwrap();
    let library_source = match &decision {
        modelauth::Decision::Ready { source, secret, .. } => {
            assert_eq!(secret.expose_secret(), "sk-ant-api03-DOTENV00000");
            source.clone()
        }
        other => panic!("the library did not see <state>/.env: {other:?}"),
    };
    let (code, out, err) = run(
        dir.path(),
        &["--json", "resolve", "--provider", "anthropic"],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["source"], library_source.as_str(), "{v}");
}

#[test]
fn help_has_examples_completions_take_no_stray_options_and_a_man_page_is_generated() {
    let dir = fresh_state();
    // Every command that does something has examples (the groups list their commands).
    let leaves: &[&[&str]] = &[
        &["models", "status"],
        &["models", "list"],
        &["models", "auth", "list"],
        &["models", "auth", "add"],
        &["models", "auth", "login"],
        &["models", "auth", "paste-api-key"],
        &["models", "auth", "paste-token"],
        &["models", "auth", "setup-token"],
        &["models", "auth", "remove"],
        &["models", "auth", "report"],
        &["models", "auth", "order", "get"],
        &["models", "auth", "order", "set"],
        &["models", "auth", "order", "clear"],
        &["doctor"],
        &["chat"],
        &["parse"],
        &["resolve"],
        &["state", "import"],
        &["state", "export"],
        &["serve"],
        &["onboard"],
        &["completions"],
        &["man"],
    ];
    for leaf in leaves {
        let args: Vec<&str> = leaf.iter().copied().chain(["--help"]).collect();
        let args = &args[..];
        let (code, out, _) = run(dir.path(), args, "");
        assert_eq!(code, Some(0));
        let examples = out.split("Examples:\n  ").nth(1).unwrap_or("");
        assert!(examples.contains("modelauth "), "{args:?}: {out}");
        assert_eq!(out.matches("Global options:").count(), 1, "{args:?}: {out}");
        assert_eq!(out.matches("--state-dir").count(), 1, "{args:?}: {out}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::cargo_bin("modelauth")
            .unwrap()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}");
    }
    let out = Command::cargo_bin("modelauth")
        .unwrap()
        .args(["--agent", "ops", "completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--agent does nothing for `completions`")
    );
    let out = Command::cargo_bin("modelauth")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && man.contains(".TH modelauth 1"),
        "{man}"
    );
    assert!(man.contains("models") && man.contains("doctor"), "{man}");
}

#[test]
fn a_symlinked_openclaw_json_is_read_and_written_through_its_link() {
    let dir = fresh_state();
    let dotfiles = tempfile::tempdir().unwrap();
    let target = dotfiles.path().join("openclaw.json");
    std::fs::write(
        &target,
        r#"{ agents: { defaults: { model: { primary: "anthropic/claude-sonnet-4-5" } } }, keepMe: 1 }"#,
    )
    .unwrap();
    let link = dir.path().join("openclaw.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (code, out, err) = run(dir.path(), &["models", "status"], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("Default model: anthropic/claude-sonnet-4-5"),
        "{out}"
    );
    // A write (a new credential's auth.profiles entry) goes to the target; the link stays a link.
    let (code, _, err) = run(
        dir.path(),
        &[
            "models",
            "auth",
            "paste-token",
            "--provider",
            "anthropic",
            "--profile-id",
            "anthropic:linked",
        ],
        "sk-ant-oat01-LINKED0000000\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written = crate::common::read_json(&target);
    assert_eq!(
        written["auth"]["profiles"]["anthropic:linked"]["provider"], "anthropic",
        "{written}"
    );
    assert_eq!(written["keepMe"], 1);
    let (_, out, _) = run(dir.path(), &["doctor"], "");
    assert!(
        out.contains("is a symbolic link to") && out.contains("writes the target in place"),
        "{out}"
    );
    // A link to something that is not a regular file is refused, naming it.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(dotfiles.path(), &link).unwrap();
    let (code, _, err) = run(dir.path(), &["models", "status"], "");
    assert_ne!(code, Some(0));
    assert!(
        err.contains("is a symbolic link modelauth does not follow")
            && err.contains("not a regular file"),
        "{err}"
    );
}
