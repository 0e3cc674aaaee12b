//! Issue 28 ("trust under faults") through the real binary: what a user typed by mistake is never
//! echoed when it looks like a secret, a failed `--create` leaves no directory, and no log level shows
//! a token endpoint's answer.

use std::path::Path;

use crate::common::modelauth_in;

const PASTED: &str = "sk-ant-api03-PASTEDKEYxxYYzz0123456789abcdef";

/// Every 8-character slice of `secret` that `text` contains.
fn slices_in(text: &str, secret: &str) -> Vec<String> {
    (0..=secret.len() - 8)
        .map(|i| &secret[i..i + 8])
        .filter(|s| !s.starts_with("sk-ant-a") && text.contains(*s))
        .map(str::to_owned)
        .collect()
}

fn all(dir: &Path, args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let out = modelauth_in(dir)
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    let text = crate::common::text_of(&out);
    (out.status.code(), text)
}

#[test]
fn a_key_typed_where_an_id_goes_is_never_echoed() {
    let dir = crate::serve_common::json_state();
    let d = dir.path();
    let cases: Vec<Vec<&str>> = vec![
        vec!["models", "auth", "remove", PASTED],
        vec!["--json", "models", "auth", "remove", PASTED],
        vec![
            "models",
            "auth",
            "order",
            "set",
            "--provider",
            "anthropic",
            PASTED,
        ],
        vec![
            "models",
            "auth",
            "report",
            PASTED,
            "--outcome",
            "rate_limit",
        ],
        vec!["--agent", PASTED, "models", "status"],
        vec!["resolve", "--provider", PASTED],
        vec!["--json", "resolve", "--provider", PASTED],
    ];
    for args in cases {
        let (code, text) = all(d, &args, "");
        assert_ne!(code, Some(0), "{args:?}: {text}");
        assert!(
            slices_in(&text, PASTED).is_empty(),
            "{args:?} echoed the key: {text}"
        );
    }
    let lower = PASTED.to_ascii_lowercase();
    let (_, text) = all(
        d,
        &["models", "auth", "paste-token", "--provider", &lower],
        "tok\n",
    );
    assert!(
        slices_in(&text.to_ascii_lowercase(), &lower).is_empty(),
        "{text}"
    );
    let (_, text) = all(
        d,
        &["chat", "--session", "agent:main:x"],
        &format!("/model opus@{PASTED}\n"),
    );
    assert!(
        slices_in(&text, PASTED).is_empty(),
        "chat echoed the key: {text}"
    );
}

#[test]
fn a_failing_create_leaves_no_agent_directory() {
    let dir = crate::serve_common::json_state();
    let d = dir.path();
    let (code, text) = all(
        d,
        &[
            "--agent",
            "ops",
            "--create",
            "models",
            "auth",
            "order",
            "set",
            "--provider",
            "anthropic",
            "anthropic:nope",
        ],
        "",
    );
    assert_ne!(code, Some(0), "{text}");
    assert!(
        !d.join("agents/ops").exists(),
        "agents/ops was left behind: {text}"
    );
    let (code, text) = all(
        d,
        &[
            "--agent",
            "ops",
            "--create",
            "models",
            "auth",
            "paste-token",
            "--provider",
            "anthropic",
        ],
        "sk-ant-oat01-CREATEDxxxxxxxxxxxxxxxxxxxx\n",
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(d.join("agents/ops/agent/auth-profiles.json").is_file());
}

#[test]
fn a_one_shot_change_while_redis_is_unreachable_says_nothing_was_changed() {
    let dir = crate::serve_common::json_state();
    let d = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let before = std::fs::read_to_string(d.join("agents/main/agent/auth-profiles.json")).unwrap();
    for args in [
        vec![
            "--redis",
            &url,
            "models",
            "auth",
            "order",
            "set",
            "--provider",
            "anthropic",
            "anthropic:home",
            "anthropic:work",
        ],
        vec![
            "--redis",
            &url,
            "models",
            "auth",
            "report",
            "anthropic:work",
            "--outcome",
            "rate_limit",
        ],
        vec![
            "--redis",
            &url,
            "--json",
            "models",
            "auth",
            "order",
            "clear",
            "--provider",
            "anthropic",
        ],
    ] {
        let (code, text) = all(d, &args, "");
        assert_eq!(code, Some(1), "{args:?}: {text}");
        assert!(
            text.contains("nothing was changed") || text.contains("were not saved"),
            "{args:?}: {text}"
        );
        assert!(
            text.contains("shared_state_unavailable") || !args.contains(&"--json"),
            "{text}"
        );
    }
    let (code, text) = all(
        d,
        &["--redis", &url, "chat", "--session", "agent:main:r"],
        "/model sonnet@anthropic:home\n",
    );
    assert_eq!(code, Some(1), "chat: {text}");
    assert_eq!(
        std::fs::read_to_string(d.join("agents/main/agent/auth-profiles.json")).unwrap(),
        before
    );
    // Reads still work from this host's state.
    let (code, text) = all(d, &["--redis", &url, "models", "auth", "list"], "");
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn serve_refuses_a_token_file_it_cannot_trust_and_doctor_names_it() {
    let dir = crate::serve_common::json_state();
    let d = dir.path();
    let token = d.join("modelauth.token");
    let serve = |d: &Path| {
        modelauth_in(d)
            .args(["serve", "--listen", "tcp:127.0.0.1:0"])
            .timeout(std::time::Duration::from_secs(10))
            .output()
            .unwrap()
    };
    // Short, world-readable, a link to a system file: each refused with the fix named.
    std::fs::write(&token, "abc\n").unwrap();
    let set_mode = |mode: u32| {
        let mut perm = std::fs::metadata(&token).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, mode);
        std::fs::set_permissions(&token, perm).unwrap();
    };
    set_mode(0o644);
    let out = serve(d);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    let doctor = all(d, &["doctor"], "").1;
    assert!(
        doctor.contains("modelauth.token has mode 644") && doctor.contains("shorter than 32"),
        "{doctor}"
    );
    set_mode(0o600);
    let err = String::from_utf8_lossy(&serve(d).stderr).into_owned();
    assert!(err.contains("shorter than 32"), "{err}");
    std::fs::remove_file(&token).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", &token).unwrap();
    let err = String::from_utf8_lossy(&serve(d).stderr).into_owned();
    assert!(err.contains("symbolic link"), "{err}");
}

#[test]
fn a_login_modelauth_refreshes_itself_does_not_wake_the_monitoring_timer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let agent = d.join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    #[allow(
        clippy::disallowed_methods,
        reason = "expiry relative to the real clock the binary uses"
    )]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    std::fs::write(
        d.join("openclaw.json"),
        r#"{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-6"}}}}"#,
    )
    .unwrap();
    let write = |note: serde_json::Value| {
        let mut login = serde_json::json!({"type": "oauth", "provider": "anthropic", "access": "a1",
            "refresh": "r1", "expires": now + 3_600_000, "email": "me@example.com"});
        if !note.is_null() {
            login["modelauthRefresh"] = note;
        }
        let doc = serde_json::json!({"version": 1, "profiles": {"anthropic:me": login}});
        std::fs::write(agent.join("auth-profiles.json"), doc.to_string()).unwrap();
    };
    // Access token good for an hour, refreshable: nothing to do.
    write(serde_json::Value::Null);
    let (code, text) = all(d, &["models", "status", "--check"], "");
    assert_eq!(code, Some(0), "{text}");
    // modelauth's last refresh of it failed: now its expiry matters.
    write(
        serde_json::json!({"at": now - 60_000, "ok": false, "error": "HTTP 503", "refreshFingerprint": "x"}),
    );
    let (code, text) = all(d, &["models", "status", "--check"], "");
    assert_eq!(code, Some(2), "{text}");
}

#[test]
#[allow(clippy::disallowed_methods, reason = "the bound is real time")]
fn a_notify_command_that_never_reads_stdin_cannot_hold_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let agent = d.join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    std::fs::write(
        d.join("openclaw.json"),
        r#"{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-6"}}}}"#,
    )
    .unwrap();
    // 3,000 expired tokens: a summary far larger than a pipe's buffer.
    let profiles: serde_json::Map<String, serde_json::Value> = (0..3000)
        .map(|i| {
            (
                format!("anthropic:expired-token-number-{i:05}"),
                serde_json::json!({"type": "token", "provider": "anthropic", "token": "t", "expires": 1000}),
            )
        })
        .collect();
    let doc = serde_json::json!({"version": 1, "profiles": profiles});
    std::fs::write(agent.join("auth-profiles.json"), doc.to_string()).unwrap();
    let started = std::time::Instant::now();
    let out = modelauth_in(d)
        .env("MODELAUTH_NOTIFY_TIMEOUT", "2s")
        .args([
            "models",
            "status",
            "--check",
            "--quiet",
            "--notify-cmd",
            "sleep 60",
        ])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("was stopped"));
}

#[test]
fn onboard_refuses_what_it_would_store_wrongly_and_speaks_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let onboard = |extra: &[&str], stdin: &str| {
        let mut args = vec![
            "onboard",
            "--non-interactive",
            "--provider",
            "anthropic",
            "--kind",
            "api_key",
        ];
        args.extend_from_slice(extra);
        all(d, &args, stdin)
    };
    // Two values pasted together: refused, never glued into one wrong key.
    let (code, text) = onboard(&[], "sk-ant-api03-AAAAAAAAAAAAAAAA\nOPENAI_API_KEY=x\n");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("line break") && !d.join("agents").exists(),
        "{text}"
    );
    // A 2 MB "secret": refused without being read whole.
    let (code, text) = onboard(&["--store", "env"], &"k".repeat(2 << 20));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("longer than 16 KiB") && !d.join(".env").exists(),
        "{text}"
    );
    // A default model without its provider: refused before the secret is read.
    for bad in ["opus", "nonsense", "/claude"] {
        let (code, text) = onboard(&["--default-model", bad], "sk-ant-api03-BBBBBBBBBBBBBBBB\n");
        assert_eq!(code, Some(1), "{bad}: {text}");
        assert!(text.contains("provider/model"), "{text}");
    }
    // --json: one document.
    let (code, text) = onboard(
        &["--default-model", "anthropic/claude-opus-4-6"],
        "sk-ant-api03-CCCCCCCCCCCCCCCC\n",
    );
    let out = modelauth_in(d)
        .args([
            "--json",
            "onboard",
            "--non-interactive",
            "--provider",
            "anthropic",
            "--kind",
            "api_key",
            "--profile-id",
            "anthropic:two",
        ])
        .write_stdin("sk-ant-api03-DDDDDDDDDDDDDDDD\n")
        .output()
        .unwrap();
    assert_eq!(code, Some(0), "{text}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["check"], 0, "{doc}");
    assert!(
        doc["done"][0].as_str().unwrap().contains("anthropic:two"),
        "{doc}"
    );
}

#[test]
fn the_client_demos_never_change_a_real_state() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = crate::serve_common::json_state();
    let d = dir.path();
    let s = crate::serve_common::serve(d, &[]);
    let sock = s.unix.clone().unwrap();
    let before = std::fs::read_to_string(d.join("agents/main/agent/auth-profiles.json")).unwrap();
    for (program, script) in [
        ("node", "clients/node/modelauth.mjs"),
        ("python3", "clients/python/modelauth_client.py"),
    ] {
        // Without configuration: says what to set.
        let out = std::process::Command::new(program)
            .arg(root.join(script))
            .env_remove("MODELAUTH_SOCKET")
            .env_remove("MODELAUTH_URL")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{program}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("MODELAUTH_SOCKET"));
        // Pointed at a server, without MODELAUTH_DEMO=1: it only reads.
        let out = std::process::Command::new(program)
            .arg(root.join(script))
            .env("MODELAUTH_SOCKET", &sock)
            .env_remove("MODELAUTH_DEMO")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("changed nothing"));
    }
    drop(s);
    assert_eq!(
        std::fs::read_to_string(d.join("agents/main/agent/auth-profiles.json")).unwrap(),
        before
    );
    assert!(!d.join("agents/main/sessions/sessions.json").exists());
}

#[test]
fn bogus_values_in_shared_or_file_records_are_refused_not_obeyed() {
    let redis = crate::redis_server::RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let agent = d.join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    std::fs::create_dir_all(d.join("agents/main/sessions")).unwrap();
    // A usage time near i64::MAX: every write for the profile failed on Redis's PXAT.
    let doc = serde_json::json!({"version": 1,
        "profiles": {
            "anthropic:work": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-WORK"},
            "anthropic:home": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-HOME"}},
        "usageStats": {"anthropic:work": {"lastUsed": 9_223_372_036_854_775_000_i64}}});
    std::fs::write(agent.join("auth-profiles.json"), doc.to_string()).unwrap();
    // A pin whose source is neither user nor auto.
    let sessions = serde_json::json!({"agent:main:odd": {"sessionId": "123e4567-e89b-42d3-a456-426614174000",
        "updatedAt": 1, "authProfileOverride": "anthropic:work", "authProfileOverrideSource": "attacker"}});
    std::fs::write(
        d.join("agents/main/sessions/sessions.json"),
        sessions.to_string(),
    )
    .unwrap();
    let (code, text) = all(d, &["--redis", &url, "state", "import"], "");
    assert_eq!(code, Some(0), "import: {text}");
    let report = |outcome: &str| {
        let args = [
            "--redis",
            &url,
            "models",
            "auth",
            "report",
            "anthropic:work",
            "--outcome",
            outcome,
        ];
        all(d, &args, "")
    };
    let (code, text) = report("rate_limit");
    assert_eq!(code, Some(0), "report: {text}");
    // Values that are not UTF-8 (usage, lastGood, a session) are ignored with a warning, never a
    // refusal, and the next outcome replaces the usage record.
    let mut con = redis.con();
    let usage_key = "modelauth:main:usage:anthropic:work";
    let _: () = redis::cmd("SET")
        .arg(usage_key)
        .arg(&[0xff_u8, 0xfe, 0x00][..])
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("modelauth:main:lastgood")
        .arg("anthropic")
        .arg(&[0xc3_u8, 0x28][..])
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("modelauth:main:session:agent:main:bin")
        .arg(&[0x80_u8][..])
        .query(&mut con)
        .unwrap();
    let (code, text) = report("auth");
    assert_eq!(
        code,
        Some(0),
        "report over a value that is not UTF-8: {text}"
    );
    let stored: Vec<u8> = redis::cmd("GET").arg(usage_key).query(&mut con).unwrap();
    let stored: serde_json::Value =
        serde_json::from_slice(&stored).expect("replaced by a JSON record");
    assert!(
        stored.get("errorCount").is_some() || stored.get("failureCounts").is_some(),
        "{stored}"
    );
    let (code, text) = all(
        d,
        &[
            "--redis",
            &url,
            "--json",
            "resolve",
            "--provider",
            "anthropic",
            "--session",
            "agent:main:bin",
        ],
        "",
    );
    assert_eq!(code, Some(0), "resolve beside unreadable values: {text}");
    // `state import` is resumable: records lost on the way are moved by running it again, the rest kept.
    let _: () = redis::cmd("DEL")
        .arg("modelauth:main:session:agent:main:odd")
        .query(&mut con)
        .unwrap();
    let (code, text) = all(d, &["--redis", &url, "--json", "state", "import"], "");
    assert_eq!(code, Some(0), "{text}");
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(m["sessions"], 1, "the missing session moves again: {m}");
    assert!(
        m["kept"].as_u64().unwrap() >= 1,
        "what arrived is kept: {m}"
    );
    // The odd pin is not obeyed, in the files or through Redis.
    for extra in [&["--no-redis"][..], &["--redis", &url][..]] {
        let mut args = extra.to_vec();
        args.extend([
            "--json",
            "resolve",
            "--provider",
            "anthropic",
            "--session",
            "agent:main:odd",
        ]);
        let (code, text) = all(d, &args, "");
        assert_eq!(code, Some(0), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_ne!(
            v["candidates"][0]["place"], "pinned by user",
            "{extra:?}: {v}"
        );
    }
}

#[test]
#[allow(
    clippy::disallowed_methods,
    reason = "write-back is awaited in real time"
)]
fn redis_refusing_writes_is_an_outage_with_write_back() {
    let redis = crate::redis_server::RedisServer::start();
    let url = redis.url();
    let dir = crate::serve_common::json_state();
    let d = dir.path();
    let s = crate::serve_common::serve_with(d, &[], &[("MODELAUTH_REDIS_URL", &url)]);
    let mut con = redis.con();
    // The server now refuses every write (OOM under maxmemory with noeviction).
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("noeviction")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query(&mut con)
        .unwrap();
    let body =
        serde_json::json!({"profile": "anthropic:work", "outcome": "failure", "status": 429});
    let (code, answer) = s.unix("POST", "/v1/agents/main/outcomes", Some(&body));
    assert_eq!(code, 200, "kept for write-back, not a 503: {answer}");
    let (_, status) = s.unix("GET", "/v1/agents/main/status", None);
    assert_eq!(status["shared"]["up"], false, "{status}");
    assert!(
        status["shared"]["problem"]
            .as_str()
            .unwrap_or("")
            .contains("OOM"),
        "{status}"
    );
    // The server takes writes again: the kept change reaches it.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query(&mut con)
        .unwrap();
    let started = std::time::Instant::now();
    let key = loop {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*usage:anthropic:work")
            .query(&mut con)
            .unwrap();
        if let Some(k) = keys.into_iter().next() {
            break k;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "never written back"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let value: String = redis::cmd("GET").arg(&key).query(&mut con).unwrap();
    assert!(value.contains("cooldownUntil"), "{value}");
}
