//! Issue 30: `models status --probe` against a mock provider on loopback (never a real one).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::modelauth_in;

/// A mock Anthropic API on a loopback port: answers `GET /v1/models` by the credential it gets.
struct MockProvider {
    base: String,
    /// Requests answered or held so far.
    seen: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// An answer of the mock: status, extra headers, body.
type MockAnswer = (u16, Vec<(&'static str, String)>, String);

/// The answer the mock gives a credential (by its tag).
fn answer_for(credential: &str) -> Option<MockAnswer> {
    let json = |v: Value| v.to_string();
    Some(if credential.contains("GOOD") {
        (
            200,
            vec![],
            json(json!({"data": [{"id": "claude-opus-4-6"}]})),
        )
    } else if credential.contains("BAD") {
        (
            401,
            vec![],
            json(
                json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
            ),
        )
    } else if credential.contains("CCONLY") {
        (
            403,
            vec![],
            json(
                json!({"type": "error", "error": {"type": "permission_error", "message": modelauth::resolver::CLAUDE_CODE_ONLY}}),
            ),
        )
    } else if credential.contains("LIMITED") {
        (
            429,
            vec![("retry-after", "120".to_owned())],
            json(
                json!({"type": "error", "error": {"type": "rate_limit_error", "message": "rate limited"}}),
            ),
        )
    } else if credential.contains("HUGE") {
        (500, vec![], "x".repeat(5 << 20))
    } else {
        return None; // HANG: never answers
    })
}

impl MockProvider {
    fn start() -> MockProvider {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::spawn(move || serve_one(stream));
            }
        });
        MockProvider { base, seen }
    }
}

/// One request: reads the head, answers by the credential header.
fn serve_one(mut stream: std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let (mut credential, mut length, mut request) = (String::new(), 0usize, String::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if request.is_empty() {
            request = line.clone();
        }
        if lower.starts_with("x-api-key:") || lower.starts_with("authorization:") {
            credential = line.clone();
        }
        if let Some(n) = lower.strip_prefix("content-length:") {
            length = n.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    let _ = std::io::Read::read_exact(&mut reader, &mut body);
    let body = String::from_utf8_lossy(&body);
    if request.starts_with("POST /v1/messages")
        && body.contains("claude-missing")
        && credential.contains("GOOD")
    {
        let answer = json!({"type": "error", "error": {"type": "not_found_error", "message": "model: claude-missing"}}).to_string();
        let head = format!(
            "HTTP/1.1 404 X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            answer.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(answer.as_bytes());
        return;
    }
    let Some((status, headers, body)) = answer_for(&credential) else {
        std::thread::sleep(Duration::from_secs(30));
        return;
    };
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

/// A state with one profile per behaviour of the mock, all anthropic, the provider's base URL at it.
fn state(base: &str, tags: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    let mut profiles = serde_json::Map::new();
    for tag in tags {
        let id = format!("anthropic:{}", tag.to_ascii_lowercase());
        let entry = if *tag == "CCONLY" {
            json!({"type": "token", "provider": "anthropic", "token": format!("sk-ant-oat01-{tag}-0000000000")})
        } else {
            json!({"type": "api_key", "provider": "anthropic", "key": format!("sk-ant-api03-{tag}-0000000000")})
        };
        profiles.insert(id, entry);
    }
    let order: Vec<String> = tags
        .iter()
        .map(|t| format!("anthropic:{}", t.to_ascii_lowercase()))
        .collect();
    std::fs::write(
        agent.join("auth-profiles.json"),
        json!({"version": 1, "profiles": profiles, "order": {"anthropic": order}}).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        json!({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-6"}}},
               "models": {"providers": {"anthropic": {"baseUrl": base}}}})
        .to_string(),
    )
    .unwrap();
    dir
}

/// `modelauth --json models status --probe ARGS`: exit code, document, wall time.
fn probe(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, Value, Duration) {
    #[allow(clippy::disallowed_methods, reason = "the probe's bound is real time")]
    let started = std::time::Instant::now();
    let out = modelauth_in(dir)
        .args(["--json", "models", "status", "--probe"])
        .args(args)
        .output()
        .unwrap();
    let took = started.elapsed();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", crate::common::text_of(&out)));
    (out.status.code(), doc, took)
}

fn result<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == id)
        .unwrap_or_else(|| panic!("{id}: {doc}"))
}

#[test]
fn each_answer_is_classified_and_a_hung_endpoint_ends_at_the_timeout() {
    let mock = MockProvider::start();
    let dir = state(
        &mock.base,
        &["GOOD", "BAD", "CCONLY", "LIMITED", "HUGE", "HANG"],
    );
    let (code, doc, took) = probe(
        dir.path(),
        &["--probe-timeout", "2s", "--probe-concurrency", "8"],
    );
    assert_eq!(code, Some(0), "the chosen profile (good) works: {doc}");
    eprintln!("figure: 6 profiles, one hung, timeout 2 s, concurrency 8: {took:?}");
    assert!(
        took < Duration::from_secs(3),
        "a hung endpoint returns within the timeout + 1 s: {took:?}"
    );
    assert_eq!(
        (
            result(&doc, "anthropic:good")["ok"].as_bool(),
            result(&doc, "anthropic:good")["httpStatus"].as_u64()
        ),
        (Some(true), Some(200))
    );
    assert_eq!(result(&doc, "anthropic:good")["chosen"], true);
    assert_eq!(result(&doc, "anthropic:bad")["reason"], "auth");
    let cc = result(&doc, "anthropic:cconly");
    assert_eq!(cc["reason"], "auth_permanent");
    assert!(cc["hint"].as_str().unwrap().contains("API key"), "{cc}");
    let limited = result(&doc, "anthropic:limited");
    assert_eq!(limited["reason"], "rate_limit");
    assert!(
        limited["untilMs"].as_i64().is_some(),
        "the provider's reset: {limited}"
    );
    assert_eq!(result(&doc, "anthropic:huge")["reason"], "unclassified");
    assert_eq!(result(&doc, "anthropic:hang")["reason"], "timeout");
    assert_eq!(
        doc["providers"][0],
        json!({"provider": "anthropic", "ok": 1, "failed": 5})
    );
    let text = modelauth_in(dir.path())
        .args(["models", "status", "--probe", "--probe-timeout", "1s"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(!text.contains("sk-ant-"), "no secret in the output: {text}");
    assert!(text.contains("anthropic: 1 ok, 5 failed"), "{text}");
}

#[test]
fn a_failing_profile_that_would_be_chosen_exits_one_and_local_reasons_need_no_network() {
    let mock = MockProvider::start();
    let dir = state(&mock.base, &["BAD", "GOOD"]);
    let (code, doc, _) = probe(dir.path(), &["--probe-timeout", "2s"]);
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(result(&doc, "anthropic:bad")["chosen"], true);
    // Only one profile; one outside the order is not asked at all.
    let (code, doc, _) = probe(dir.path(), &["--probe-profile", "anthropic:good"]);
    assert_eq!(
        (code, doc["results"].as_array().unwrap().len()),
        (Some(0), 1),
        "{doc}"
    );
    let path = dir.path().join("agents/main/agent/auth-profiles.json");
    let mut store: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    store["order"]["anthropic"] = json!(["anthropic:good"]);
    std::fs::write(&path, store.to_string()).unwrap();
    let (code, doc, _) = probe(dir.path(), &[]);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(
        result(&doc, "anthropic:bad")["reason"],
        "excluded_by_auth_order"
    );
    assert_eq!(result(&doc, "anthropic:bad")["tier"], 0);
}

#[test]
fn fifty_profiles_probe_in_one_timeouts_time_with_concurrency_eight() {
    let mock = MockProvider::start();
    let tags: Vec<String> = (0..50)
        .map(|i| {
            if i % 10 == 9 {
                format!("HANG{i}")
            } else {
                format!("GOOD{i}")
            }
        })
        .collect();
    let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    let dir = state(&mock.base, &refs);
    let (_, doc, took) = probe(
        dir.path(),
        &["--probe-timeout", "2s", "--probe-concurrency", "8"],
    );
    assert_eq!(
        doc["providers"][0],
        json!({"provider": "anthropic", "ok": 45, "failed": 5}),
        "{doc}"
    );
    eprintln!("figure: 50 profiles, 5 hung, timeout 2 s, concurrency 8: {took:?}");
    assert!(
        took < Duration::from_secs(4),
        "5 hung of 50 with 8 at once: one timeout, not five: {took:?}"
    );
}

#[test]
fn serve_probes_on_request() {
    let mock = MockProvider::start();
    let dir = state(&mock.base, &["GOOD", "CCONLY"]);
    let s = crate::serve_common::serve(dir.path(), &[]);
    let (code, doc) = s.unix(
        "POST",
        "/v1/agents/main/probe",
        Some(&json!({"timeoutMs": 2000})),
    );
    assert_eq!(code, 200, "{doc}");
    assert_eq!(result(&doc, "anthropic:good")["ok"], true);
    assert_eq!(result(&doc, "anthropic:cconly")["reason"], "auth_permanent");
    let (code, doc) = s.unix(
        "POST",
        "/v1/agents/main/probe",
        Some(&json!({"timeoutMs": 0})),
    );
    assert_eq!(
        (code, doc["error"]["code"].as_str()),
        (400, Some("bad_field")),
        "{doc}"
    );
}

#[test]
fn a_fresh_result_is_reused_and_status_shows_the_last_probe() {
    let mock = MockProvider::start();
    let dir = state(&mock.base, &["GOOD", "BAD"]);
    let (_, first, _) = probe(dir.path(), &["--probe-timeout", "2s"]);
    let asked = mock.seen.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(asked, 2, "{first}");
    let (code, doc, _) = probe(dir.path(), &["--probe-max-age", "6h"]);
    assert_eq!(
        mock.seen.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "nothing stale: nothing asked"
    );
    assert_eq!(code, Some(0), "the chosen profile (good) works: {doc}");
    assert_eq!(result(&doc, "anthropic:bad")["cached"], true);
    assert_eq!(result(&doc, "anthropic:bad")["reason"], "auth");
    let (_, _, _) = probe(
        dir.path(),
        &[
            "--probe-max-age",
            "1ms",
            "--probe-profile",
            "anthropic:good",
        ],
    );
    assert_eq!(
        mock.seen.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "stale: asked again"
    );
    let text = modelauth_in(dir.path())
        .args(["models", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("last probe") && text.contains("failed: auth"),
        "{text}"
    );
    // A corrupt cache counts as empty and is replaced.
    std::fs::write(dir.path().join("modelauth-probes.json"), "{not json").unwrap();
    let (code, doc, _) = probe(dir.path(), &["--probe-max-age", "6h"]);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(result(&doc, "anthropic:good")["cached"], false);
    assert_eq!(
        mock.seen.load(std::sync::atomic::Ordering::SeqCst),
        5,
        "both probed again"
    );
    let kept: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("modelauth-probes.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(kept["main"]["anthropic:good"]["ok"], true);
}

#[test]
fn the_opt_in_probe_unit_notifies_when_the_chosen_profile_fails() {
    let mock = MockProvider::start();
    let dir = state(&mock.base, &["BAD", "GOOD"]);
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".cargo/bin")).unwrap();
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin("modelauth"),
        home.path().join(".cargo/bin/modelauth"),
    )
    .unwrap();
    let unit = std::fs::read_to_string(crate::common::fixture(
        "../../contrib/systemd/modelauth-probe.service",
    ))
    .unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/bin/sh -c '"))
        .unwrap();
    // systemd's own unescaping of the command line: `%%` is `%`, `\\` is `\`.
    let script = exec
        .trim_end_matches('\'')
        .replace("%%", "%")
        .replace("\\\\", "\\");
    let note = home.path().join("note.txt");
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", &script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("OPENCLAW_STATE_DIR", dir.path())
        .env("MODELAUTH_NOTIFY_CMD", format!("cat > {}", note.display()))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        crate::common::text_of(&out)
    );
    let note = std::fs::read_to_string(&note).unwrap();
    assert!(
        note.contains("anthropic:bad") && note.contains("FAILED auth") && note.contains("[next]"),
        "{note}"
    );
}

#[test]
fn tier_two_asks_each_model_and_the_chain_and_record_reports_like_traffic() {
    let mock = MockProvider::start();
    let dir = state(&mock.base, &["GOOD", "BAD"]);
    let (_, doc, _) = probe(
        dir.path(),
        &[
            "--probe-model",
            "anthropic/claude-missing",
            "--probe-timeout",
            "2s",
        ],
    );
    let tier2: Vec<&Value> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["model"].is_string())
        .collect();
    assert_eq!(tier2.len(), 2, "{doc}");
    let good = tier2
        .iter()
        .find(|r| r["profile"] == "anthropic:good")
        .unwrap();
    assert_eq!(
        (good["tier"].as_u64(), good["reason"].as_str()),
        (Some(2), Some("model_not_found")),
        "{good}"
    );
    // The chain: the default model with the profile the resolver would choose, then a fallback of a
    // provider with no credential at all.
    let config = dir.path().join("openclaw.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    c["agents"]["defaults"]["model"]["fallbacks"] = json!(["openai/gpt-5"]);
    std::fs::write(&config, c.to_string()).unwrap();
    let (code, doc, _) = probe(dir.path(), &["--probe-chain", "--probe-timeout", "2s"]);
    let chain: Vec<&Value> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["model"].is_string())
        .collect();
    assert_eq!(chain.len(), 2, "{doc}");
    assert_eq!(
        (
            chain[0]["profile"].as_str(),
            chain[0]["ok"].as_bool(),
            chain[0]["tier"].as_u64()
        ),
        (Some("anthropic:good"), Some(true), Some(2))
    );
    assert_eq!(
        (chain[1]["model"].as_str(), chain[1]["reason"].as_str()),
        (Some("openai/gpt-5"), Some("missing_credential"))
    );
    assert_eq!(
        code,
        Some(1),
        "a fallback with no credential would fail: {doc}"
    );
    // Without --probe-record nothing is recorded; with it the refusal cools the profile.
    let store = dir.path().join("agents/main/agent/auth-profiles.json");
    let read =
        || -> Value { serde_json::from_str(&std::fs::read_to_string(&store).unwrap()).unwrap() };
    assert!(read()["usageStats"].get("anthropic:bad").is_none());
    probe(dir.path(), &["--probe-record", "--probe-timeout", "2s"]);
    let usage = &read()["usageStats"];
    assert_eq!(usage["anthropic:bad"]["cooldownReason"], "auth", "{usage}");
    assert!(
        usage["anthropic:good"]["lastUsed"].as_i64().is_some(),
        "{usage}"
    );
}

#[test]
fn the_termux_script_probes_when_opted_in() {
    let mock = MockProvider::start();
    let dir = state(&mock.base, &["BAD", "GOOD"]);
    let note = dir.path().join("note.txt");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/termux/modelauth-check.sh");
    let run = |probe: &str| {
        std::process::Command::new("/bin/sh")
            .arg(&script)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("MODELAUTH", assert_cmd::cargo::cargo_bin("modelauth"))
            .env("OPENCLAW_STATE_DIR", dir.path())
            .env("MODELAUTH_PROBE", probe)
            .env("MODELAUTH_NOTIFY_CMD", format!("cat > {}", note.display()))
            .output()
            .unwrap()
    };
    let out = run("0");
    assert_eq!(
        out.status.code(),
        Some(0),
        "files alone look fine: {}",
        crate::common::text_of(&out)
    );
    assert_eq!(
        mock.seen.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no provider asked without the opt-in"
    );
    let out = run("1");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        crate::common::text_of(&out)
    );
    let note = std::fs::read_to_string(&note).unwrap();
    assert!(
        note.contains("credentials need attention") && note.contains("FAILED auth"),
        "{note}"
    );
}
