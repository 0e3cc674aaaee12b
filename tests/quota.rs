//! Issue 29: quota windows and billing lanes, through the real binary, `serve` and the library.

use std::path::Path;
use std::sync::Arc;

use modelauth::resolver::ManualClock;
use modelauth::resolver::headers::parse;
use modelauth::{Answer, Decision, FailureReason, Gateway, Lanes, Outcome, QuotaPolicy};
use serde_json::{Value, json};

use crate::common::modelauth_in;

/// Two setup tokens (subscriptions) and an API key (metered), with `order` as the agent's order.
fn state(order: Option<&[&str]>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    let mut doc = json!({"version": 1, "profiles": {
        "anthropic:a": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-QUOTA-A-000000"},
        "anthropic:b": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-QUOTA-B-000000"},
        "anthropic:key": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-QUOTA-KEY-0000"}}});
    if let Some(o) = order {
        doc["order"] = json!({ "anthropic": o });
    }
    std::fs::write(agent.join("auth-profiles.json"), doc.to_string()).unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        json!({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-6"},
            "models": {"anthropic/claude-opus-4-6": {"alias": "opus"}}}}})
        .to_string(),
    )
    .unwrap();
    dir
}

/// Unix seconds now.
fn now_s() -> i64 {
    #[allow(
        clippy::disallowed_methods,
        reason = "the binary runs on the real clock"
    )]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// `modelauth --json ARGS` in `dir`: exit code and document.
fn json_cmd(dir: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let out = modelauth_in(dir).arg("--json").args(args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let doc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"));
    (out.status.code(), doc)
}

/// The profile `resolve` chooses now.
fn next(dir: &Path) -> String {
    let (code, doc) = json_cmd(dir, &["resolve", "--provider", "anthropic"]);
    assert_eq!(code, Some(0), "{doc}");
    doc["profile"].as_str().unwrap().to_owned()
}

/// `--header` arguments for `pairs`.
fn header_args(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| ["--header".to_owned(), format!("{k}: {v}")])
        .collect()
}

/// `models auth report ID --outcome OUTCOME` with headers and extra flags.
fn report(
    dir: &Path,
    id: &str,
    outcome: &str,
    headers: &[(&str, String)],
    extra: &[&str],
) -> Value {
    let mut args: Vec<String> = ["models", "auth", "report", id, "--outcome", outcome]
        .map(String::from)
        .to_vec();
    args.extend(header_args(headers));
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, doc) = json_cmd(dir, &refs);
    assert_eq!(code, Some(0), "{doc}");
    doc
}

/// The headers of a success at `share` of the 5-hour window, resetting in `reset_in` seconds.
fn five_hour(share: f64, reset_in: i64) -> Vec<(&'static str, String)> {
    vec![
        (
            "anthropic-ratelimit-unified-5h-utilization",
            share.to_string(),
        ),
        (
            "anthropic-ratelimit-unified-5h-reset",
            (now_s() + reset_in).to_string(),
        ),
        ("anthropic-ratelimit-unified-status", "allowed".into()),
    ]
}

/// The headers of a 429 whose 5-hour window is used up until `reset` (Unix seconds).
fn rejected(reset: i64) -> Vec<(&'static str, String)> {
    vec![
        ("anthropic-ratelimit-unified-status", "rejected".into()),
        ("anthropic-ratelimit-unified-5h-status", "rejected".into()),
        ("anthropic-ratelimit-unified-5h-utilization", "1.0".into()),
        ("anthropic-ratelimit-unified-5h-reset", reset.to_string()),
        (
            "anthropic-ratelimit-unified-representative-claim",
            "five_hour".into(),
        ),
        ("anthropic-ratelimit-unified-reset", reset.to_string()),
    ]
}

#[test]
fn a_success_past_the_five_hour_threshold_moves_the_next_resolve_to_headroom() {
    let dir = state(Some(&["anthropic:a", "anthropic:b"]));
    let d = dir.path();
    assert_eq!(next(d), "anthropic:a", "the order's first");
    // Below the threshold (90 %): nothing moves.
    let doc = report(d, "anthropic:a", "success", &five_hour(0.5, 3 * 3600), &[]);
    assert_eq!(
        (doc["windows"].as_u64(), doc["ignoredHeaders"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(next(d), "anthropic:a");
    report(
        d,
        "anthropic:a",
        "success",
        &five_hour(0.95, 3 * 3600),
        &[
            "--usage",
            r#"{"input_tokens":1200,"output_tokens":300,"cache_read_input_tokens":800}"#,
        ],
    );
    let (_, doc) = json_cmd(d, &["resolve", "--provider", "anthropic"]);
    assert_eq!(doc["profile"], "anthropic:b", "{doc}");
    let a = doc["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "anthropic:a")
        .unwrap();
    assert_eq!(
        (a["usable"].as_bool(), a["pastThreshold"].as_bool()),
        (Some(true), Some(true)),
        "behind, never blocked: {a}"
    );
    // The ledger and the window are in the status, text and JSON.
    let (_, status) = json_cmd(d, &["models", "status"]);
    let profiles = status["providers"][0]["profiles"].as_array().unwrap();
    let a = profiles.iter().find(|p| p["id"] == "anthropic:a").unwrap();
    assert_eq!(a["lane"], "subscription");
    assert_eq!(a["quota"]["windows"][0]["utilizationPpm"], 950_000);
    assert_eq!(a["quota"]["total"]["calls"], 2);
    assert_eq!(a["quota"]["total"]["tokens"]["cacheRead"], 800);
    let text = modelauth_in(d).args(["models", "status"]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("quota (subscription): 5h 95%, resets in 3h — 2 calls, 0 failed, 1200 in / 300 out tokens (800 cached)"), "{text}");
    // The window resets: a window whose reset has passed no longer counts.
    report(d, "anthropic:a", "success", &five_hour(0.95, -5), &[]);
    assert_eq!(next(d), "anthropic:a");
}

#[test]
fn a_429_with_a_reset_37_minutes_away_cools_the_profile_until_exactly_then() {
    let dir = state(Some(&["anthropic:a", "anthropic:b"]));
    let d = dir.path();
    let reset = now_s() + 37 * 60;
    let doc = report(
        d,
        "anthropic:a",
        "failure",
        &rejected(reset),
        &["--status", "429"],
    );
    assert_eq!(doc["applied"], "windowStarted");
    assert_eq!(
        doc["untilMs"],
        reset * 1000,
        "the provider's reset, not the 30 s ladder: {doc}"
    );
    assert_eq!(doc["providerReset"], reset * 1000);
    let stored = crate::common::read_json(&d.join("agents/main/agent/auth-profiles.json"));
    let usage = &stored["usageStats"]["anthropic:a"];
    assert_eq!(usage["cooldownUntil"], reset * 1000);
    assert_eq!(usage["cooldownReason"], "rate_limit");
    assert!(
        usage.get("cooldownModel").is_none(),
        "a plan window covers every model"
    );
    let (_, r) = json_cmd(d, &["resolve", "--provider", "anthropic"]);
    assert_eq!(r["profile"], "anthropic:b");
    let a = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "anthropic:a")
        .unwrap();
    assert_eq!(a["blockedUntil"], reset * 1000);
    // Without a known reset the ladder applies as before (30 s for the first failure).
    let doc = report(d, "anthropic:b", "rate_limit", &[], &[]);
    let until = doc["untilMs"].as_i64().unwrap();
    assert!((until - now_s() * 1000 - 30_000).abs() < 5_000, "{doc}");
}

#[test]
fn a_used_up_subscription_never_falls_to_the_metered_key_without_an_opt_in() {
    let dir = state(None);
    let d = dir.path();
    let reset = now_s() + 2 * 3600;
    for id in ["anthropic:a", "anthropic:b"] {
        report(d, id, "failure", &rejected(reset), &["--status", "429"]);
    }
    let (code, doc) = json_cmd(
        d,
        &["resolve", "--provider", "anthropic", "--session", "s1"],
    );
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(doc["error"]["code"], "lane_closed");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("subscription credentials for anthropic are used up"),
        "{message}"
    );
    assert!(
        message.contains(&modelauth::format_time(reset * 1000)),
        "when it resets: {message}"
    );
    assert!(
        message.contains("anthropic:key bills per token") && message.contains("allowMetered"),
        "{message}"
    );
    let (code, doc) = json_cmd(
        d,
        &["resolve", "--provider", "anthropic", "--allow-metered"],
    );
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["profile"], "anthropic:key");
    assert_eq!(
        doc["laneCrossing"],
        json!({"from": "subscription", "to": "metered"})
    );
    let out = modelauth_in(d)
        .env("RUST_LOG", "warn")
        .args(["resolve", "--provider", "anthropic", "--allow-metered"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lane crossing"), "logged: {err}");
    // An environment key never beats a stored subscription either.
    let out = modelauth_in(d)
        .env("ANTHROPIC_API_KEY", "sk-ant-api03-ENVKEY-00000000")
        .args(["--json", "resolve", "--provider", "anthropic"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("lane_closed"));
}

#[test]
fn the_policy_file_can_allow_metered_and_a_bad_one_names_its_key() {
    let dir = state(None);
    let d = dir.path();
    let reset = now_s() + 3600;
    for id in ["anthropic:a", "anthropic:b"] {
        report(d, id, "failure", &rejected(reset), &["--status", "429"]);
    }
    std::fs::write(
        d.join("modelauth.json"),
        r#"{ lanes: { sessionKinds: { cron: "allow" } } }"#,
    )
    .unwrap();
    let (code, _) = json_cmd(d, &["resolve", "--provider", "anthropic"]);
    assert_eq!(code, Some(1), "an interactive session still asks");
    let (code, doc) = json_cmd(
        d,
        &[
            "resolve",
            "--provider",
            "anthropic",
            "--session-kind",
            "cron",
        ],
    );
    assert_eq!(
        (code, doc["profile"].as_str()),
        (Some(0), Some("anthropic:key")),
        "{doc}"
    );
    std::fs::write(
        d.join("modelauth.json"),
        r#"{ quota: { thresholds: { fiveHour: 95 } } }"#,
    )
    .unwrap();
    let out = modelauth_in(d)
        .args(["resolve", "--provider", "anthropic"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("modelauth.json") && err.contains("quota.thresholds.fiveHour"),
        "{err}"
    );
}

#[test]
fn garbage_headers_change_nothing() {
    let dir = state(Some(&["anthropic:a", "anthropic:b"]));
    let d = dir.path();
    let garbage: Vec<(&str, String)> = vec![
        (
            "anthropic-ratelimit-unified-5h-utilization",
            "ninety".into(),
        ),
        ("anthropic-ratelimit-unified-5h-reset", "tomorrow".into()),
        ("anthropic-ratelimit-unified-status", "maybe".into()),
        ("x-ratelimit-remaining-requests", "-4".into()),
        ("x-ratelimit-reset-requests", "6 minutes".into()),
        ("retry-after", "soon".into()),
        ("x-unrelated", "\u{1F600}".into()),
    ];
    let doc = report(d, "anthropic:a", "success", &garbage, &[]);
    assert_eq!(doc["ignoredHeaders"], 6, "{doc}");
    assert_eq!(next(d), "anthropic:a");
    let stored = crate::common::read_json(&d.join("agents/main/agent/auth-profiles.json"));
    let q = &stored["usageStats"]["anthropic:a"]["modelauthQuota"];
    assert_eq!(q["windows"], json!([]), "{q}");
    assert_eq!(q["ignored"], 6);
    // A header without a colon is a usage error of the command, and nothing is written.
    let out = modelauth_in(d)
        .args([
            "models",
            "auth",
            "report",
            "anthropic:b",
            "--outcome",
            "success",
            "--header",
            "nocolon",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Name: value"));
    let stored = crate::common::read_json(&d.join("agents/main/agent/auth-profiles.json"));
    assert!(stored["usageStats"].get("anthropic:b").is_none());
}

/// Reads a recorded sample's headers.
fn sample(name: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(crate::common::fixture(&format!("quota/{name}"))).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[test]
fn recorded_anthropic_and_openai_answers_parse_into_their_windows() {
    let now = 1_796_400_000_000;
    let pairs = sample("anthropic_success.txt");
    let p = parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now);
    assert_eq!(p.ignored, 0);
    let w = |name: &str| p.windows.iter().find(|w| w.name == name).unwrap().clone();
    assert_eq!(
        (w("5h").utilization_ppm, w("5h").reset_at),
        (Some(930_000), 1_796_403_600_000)
    );
    assert_eq!(
        w("5h").status,
        Some(modelauth::store::WindowStatus::AllowedWarning)
    );
    assert_eq!(
        (w("7d").utilization_ppm, w("7d").reset_at),
        (Some(410_000), 1_796_860_800_000)
    );
    assert_eq!(
        (w("requests").limit, w("requests").remaining),
        (Some(4000), Some(3999))
    );
    assert_eq!(
        w("input-tokens").reset_at,
        1_796_410_800_000,
        "2026-12-04T19:00:00Z"
    );
    assert_eq!(w("output-tokens").remaining, Some(399_700));
    assert_eq!(p.claim.as_deref(), Some("five_hour"));
    assert_eq!(p.windows.len(), 5, "fallback-percentage is no window");

    let pairs = sample("anthropic_429.txt");
    let p = parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now);
    assert_eq!(p.retry_after_ms, Some(2_220_000));
    assert_eq!(p.status, Some(modelauth::store::WindowStatus::Rejected));

    let pairs = sample("openai_success.txt");
    let p = parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now);
    let w = |name: &str| p.windows.iter().find(|w| w.name == name).unwrap().clone();
    assert_eq!(
        (w("requests").remaining, w("requests").reset_at),
        (Some(9999), now + 6)
    );
    assert_eq!(
        (w("tokens").limit, w("tokens").reset_at),
        (Some(2_000_000), now + 24)
    );

    let pairs = sample("openai_429.txt");
    let p = parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now);
    let w = |name: &str| p.windows.iter().find(|w| w.name == name).unwrap().clone();
    assert_eq!(p.retry_after_ms, Some(20_000));
    assert!(w("requests").exhausted());
    assert_eq!(w("requests").reset_at, now + 360_000);
    assert_eq!(w("tokens").reset_at, now + 72_500);
}

/// An in-memory gateway with the state of [`state`] and a manual clock.
fn memory(clock: &ManualClock, order: bool, policy: QuotaPolicy) -> Gateway {
    let mut doc = json!({"version": 1, "profiles": {
        "anthropic:a": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-MEM-A-00000000"},
        "anthropic:b": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-MEM-B-00000000"},
        "anthropic:key": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-MEM-KEY-000000"}}});
    if order {
        doc["order"] = json!({"anthropic": ["anthropic:a", "anthropic:b"]});
    }
    Gateway::builder()
        .in_memory(crate::backends::CONFIG, &[("main", &doc.to_string())])
        .unwrap()
        .env(modelauth::config::Env::default())
        .clock(Arc::new(clock.clone()))
        .policy(policy)
        .open()
        .unwrap()
}

/// A success answer at `share` of the 5-hour window, resetting at `reset_ms`.
fn answer(share: f64, reset_ms: i64) -> Answer {
    Answer {
        status: Some(200),
        headers: vec![
            (
                "anthropic-ratelimit-unified-5h-utilization".into(),
                share.to_string(),
            ),
            (
                "anthropic-ratelimit-unified-5h-reset".into(),
                (reset_ms / 1000).to_string(),
            ),
        ],
        usage: None,
    }
}

#[test]
fn an_automatic_pin_stays_below_the_threshold_and_while_warm_and_a_user_pin_never_moves() {
    let clock = ManualClock::at(crate::backends::NOW);
    let g = memory(&clock, false, QuotaPolicy::default());
    let agent = g.default_agent().unwrap();
    let now = crate::backends::NOW;
    let next = |session: &str| {
        let d = agent.next(Some(session), "anthropic", None).unwrap();
        d.profile().map(str::to_owned).unwrap_or_default()
    };
    let used = |id: &str, share: f64, reset_in: i64| {
        let a = answer(share, now + reset_in);
        agent.report_answer(id, None, Outcome::Success, &a).unwrap();
    };
    assert_eq!(next("s"), "anthropic:a", "ids in order, both fresh");
    // b's window resets sooner and has more room: but not while s's cache is warm.
    used("anthropic:a", 0.5, 4 * 3_600_000);
    used("anthropic:b", 0.2, 3_600_000);
    clock.advance(60_000);
    assert_eq!(next("s"), "anthropic:a", "warm: kept");
    assert_eq!(
        next("new"),
        "anthropic:b",
        "a new session takes the room lost first"
    );
    clock.advance(6 * 60_000);
    assert_eq!(
        next("s"),
        "anthropic:b",
        "idle past the cache lifetime: moved"
    );
    // Past the threshold a profile takes no new session, but a warm one finishes its conversation
    // there; at the wall (98 %) it moves at once.
    used("anthropic:b", 0.91, 3_600_000);
    clock.advance(1_000);
    assert_eq!(next("s"), "anthropic:b", "warm: kept");
    assert_eq!(next("other"), "anthropic:a", "new: headroom");
    used("anthropic:b", 0.985, 3_600_000);
    clock.advance(1_000);
    assert_eq!(next("s"), "anthropic:a", "the wall");
    // A user pin stays on a profile past its threshold.
    agent.chat("u", "/model opus@anthropic:b").unwrap();
    assert_eq!(next("u"), "anthropic:b");
    // A user pin on the metered key is its own opt-in: no lane decision, no crossing.
    agent.chat("k", "/model opus@anthropic:key").unwrap();
    let d = agent.next(Some("k"), "anthropic", None).unwrap();
    assert_eq!(d.profile(), Some("anthropic:key"));
    assert!(d.explanation().unwrap().crossing.is_none());
}

#[test]
fn lanes_through_the_library_decision_and_the_crossing_counter() {
    let clock = ManualClock::at(crate::backends::NOW);
    let g = memory(&clock, false, QuotaPolicy::default());
    let agent = g.default_agent().unwrap();
    let reset = crate::backends::NOW + 3_600_000;
    let used_up = Answer {
        status: Some(429),
        headers: vec![
            (
                "Anthropic-Ratelimit-Unified-5h-Status".into(),
                "rejected".into(),
            ),
            (
                "ANTHROPIC-RATELIMIT-UNIFIED-5H-RESET".into(),
                (reset / 1000).to_string(),
            ),
        ],
        usage: None,
    };
    let limit = Outcome::Failure {
        reason: FailureReason::RateLimit,
        retry_after_ms: None,
    };
    for id in ["anthropic:a", "anthropic:b"] {
        let (_, seen) = agent.report_answer(id, None, limit, &used_up).unwrap();
        assert_eq!(seen.provider_reset, Some(reset), "header names in any case");
    }
    match agent.next(Some("s"), "anthropic", None).unwrap() {
        Decision::LaneClosed {
            profile,
            until_ms,
            metered,
            ..
        } => {
            assert_eq!(
                (profile.as_str(), until_ms, metered.as_str()),
                ("anthropic:a", reset, "anthropic:key")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(agent.lane_crossings(), 0);
    let lanes = Lanes {
        session_kind: None,
        allow_metered: true,
    };
    let d = agent
        .next_in_lane(Some("s"), "anthropic", None, lanes)
        .unwrap();
    assert_eq!(d.profile(), Some("anthropic:key"));
    assert_eq!(agent.lane_crossings(), 1);
    let status = agent.chat("s", "/model status").unwrap().reply.unwrap();
    assert!(
        status.contains("Lane crossings") && status.contains(": 1"),
        "{status}"
    );
    assert!(
        status
            .contains("anthropic:a [subscription]: 5h rejected, resets in 1h — 1 calls, 1 failed"),
        "{status}"
    );
    // The window resets: the subscription is back, no opt-in needed.
    clock.set(reset + 1);
    assert_eq!(
        agent.next(Some("t"), "anthropic", None).unwrap().profile(),
        Some("anthropic:a")
    );
    // And the session pinned to the key by its crossing goes back to its own lane.
    assert_eq!(
        agent.next(Some("s"), "anthropic", None).unwrap().profile(),
        Some("anthropic:a")
    );
}

/// Headers as the JSON map `POST …/outcomes` takes.
fn header_map(pairs: &[(&str, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

#[test]
fn serve_takes_the_answer_and_answers_the_lane_decision() {
    use crate::serve_common::serve;
    let dir = state(None);
    let s = serve(dir.path(), &[]);
    let resolve = |body: Value| s.unix("POST", "/v1/agents/main/resolve", Some(&body)).1;
    assert_eq!(
        resolve(json!({"provider": "anthropic", "session": "s1"}))["profile"],
        "anthropic:a"
    );
    let outcome = json!({"profile": "anthropic:a", "outcome": "success",
        "headers": header_map(&five_hour(0.95, 3 * 3600)),
        "usage": {"input": 1000, "output": 200, "cacheWrite": 50}});
    let (code, doc) = s.unix("POST", "/v1/agents/main/outcomes", Some(&outcome));
    assert_eq!((code, doc["windows"].as_u64()), (200, Some(1)), "{doc}");
    assert_eq!(doc["state"]["quota"]["total"]["tokens"]["cacheWrite"], 50);
    let r = resolve(json!({"provider": "anthropic", "session": "s2"}));
    assert_eq!(
        r["profile"], "anthropic:b",
        "past the threshold: a new session goes elsewhere ({r})"
    );
    let r = resolve(json!({"provider": "anthropic", "session": "s1"}));
    assert_eq!(
        r["profile"], "anthropic:a",
        "a warm session keeps its cache ({r})"
    );
    let wall = json!({"profile": "anthropic:a", "outcome": "success", "headers": header_map(&five_hour(0.99, 3 * 3600))});
    assert_eq!(
        s.unix("POST", "/v1/agents/main/outcomes", Some(&wall)).0,
        200
    );
    let r = resolve(json!({"provider": "anthropic", "session": "s1"}));
    assert_eq!(
        r["profile"], "anthropic:b",
        "at the wall the pin moves ({r})"
    );
    // Garbage: a value that is not text, and malformed ones, are counted and change nothing.
    let garbage = json!({"profile": "anthropic:b", "outcome": "success",
        "headers": {"anthropic-ratelimit-unified-5h-utilization": {"nested": 1}, "retry-after": "later", "x-ratelimit-remaining-tokens": "lots"}});
    let (code, doc) = s.unix("POST", "/v1/agents/main/outcomes", Some(&garbage));
    assert_eq!(
        (
            code,
            doc["ignoredHeaders"].as_u64(),
            doc["windows"].as_u64()
        ),
        (200, Some(3), Some(0)),
        "{doc}"
    );
    assert_eq!(
        resolve(json!({"provider": "anthropic", "session": "s1"}))["profile"],
        "anthropic:b"
    );
    // Both subscriptions used up: the lane decision, then the opt-in with its crossing.
    let reset = now_s() + 3600;
    for id in ["anthropic:a", "anthropic:b"] {
        let o = json!({"profile": id, "outcome": "failure", "status": 429, "headers": header_map(&rejected(reset))});
        let (code, doc) = s.unix("POST", "/v1/agents/main/outcomes", Some(&o));
        assert_eq!(
            (code, doc["untilMs"].as_i64()),
            (200, Some(reset * 1000)),
            "{doc}"
        );
    }
    let r = resolve(json!({"provider": "anthropic", "session": "s1"}));
    assert_eq!(r["decision"], "laneClosed", "{r}");
    assert_eq!(
        (r["untilMs"].as_i64(), r["metered"].as_str()),
        (Some(reset * 1000), Some("anthropic:key"))
    );
    let r = resolve(json!({"provider": "anthropic", "session": "s1", "allowMetered": true}));
    assert_eq!(
        (r["decision"].as_str(), r["profile"].as_str()),
        (Some("ready"), Some("anthropic:key")),
        "{r}"
    );
    assert_eq!(r["laneCrossing"]["to"], "metered");
    let (_, status) = s.unix("GET", "/v1/agents/main/status", None);
    let a = status["providers"][0]["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "anthropic:a")
        .unwrap()
        .clone();
    assert_eq!(a["quota"]["total"]["failures"]["rate_limit"], 1, "{a}");
    let (_, metrics) = s.unix("GET", "/metrics", None);
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("modelauth_lane_crossings_total{agent=\"main\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("modelauth_quota_used_ratio{agent=\"main\",profile=\"anthropic:a\",window=\"5h\",model=\"\"} 1"), "{metrics}");
    assert!(metrics.contains("modelauth_ledger_tokens_total{agent=\"main\",profile=\"anthropic:a\",kind=\"input\"} 1000"), "{metrics}");
    let (_, chat) = s.unix(
        "POST",
        "/v1/agents/main/messages",
        Some(&json!({"session": "s1", "text": "/model status"})),
    );
    assert!(
        chat["reply"].as_str().unwrap().contains("Lane crossings"),
        "{chat}"
    );
}

#[test]
fn a_window_learned_by_one_instance_steers_another_through_redis() {
    use crate::serve_common::serve_with;
    let redis = crate::redis_server::RedisServer::start();
    let (one, two) = (
        state(Some(&["anthropic:a", "anthropic:b"])),
        state(Some(&["anthropic:a", "anthropic:b"])),
    );
    let env = [("MODELAUTH_REDIS_URL", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s1 = serve_with(one.path(), &[], &env);
    let s2 = serve_with(two.path(), &[], &env);
    let ask = json!({"provider": "anthropic"});
    assert_eq!(
        s2.unix("POST", "/v1/agents/main/resolve", Some(&ask)).1["profile"],
        "anthropic:a"
    );
    let outcome = json!({"profile": "anthropic:a", "outcome": "success", "headers": header_map(&five_hour(0.97, 3 * 3600))});
    assert_eq!(
        s1.unix("POST", "/v1/agents/main/outcomes", Some(&outcome))
            .0,
        200
    );
    #[allow(
        clippy::disallowed_methods,
        reason = "a propagation deadline is real time"
    )]
    let started = std::time::Instant::now();
    loop {
        let r = s2.unix("POST", "/v1/agents/main/resolve", Some(&ask)).1;
        if r["profile"] == "anthropic:b" {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "not seen by the other instance: {r}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let stored = redis.con();
    let mut con = stored;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*usage:anthropic:a")
        .query(&mut con)
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let record: String = redis::cmd("GET").arg(&keys[0]).query(&mut con).unwrap();
    assert!(
        record.contains("modelauthQuota"),
        "the window is in the shared record: {record}"
    );
}

#[test]
fn the_simulated_trace_meets_the_targets_of_the_issue() {
    use crate::quota_sim::{Policy, Trace, replay};
    let trace = Trace {
        days: 3,
        sessions: 12,
        accounts: 3,
        budget_5h: 3_000_000,
        budget_7d: 15_000_000,
        seed: 29,
    };
    let (r, w) = (
        replay(&trace, Policy::Reactive),
        replay(&trace, Policy::Windows),
    );
    assert!(
        r.rate_limited >= 10,
        "the trace must reach the limits: {r:?}"
    );
    assert!(
        w.rate_limited * 10 <= r.rate_limited,
        "at least 90 % fewer 429s: {r:?} {w:?}"
    );
    assert_eq!(w.unintended_crossings, 0, "{w:?}");
    assert_eq!(w.metered_with_room, 0, "{w:?}");
    assert!(w.switches <= r.switches, "{r:?} {w:?}");
    assert!(
        r.metered_calls > 0,
        "the reactive policy falls to the key in silence: {r:?}"
    );
}

#[test]
fn on_openclaw_2026_9_databases_the_window_lands_beside_the_usage_and_steers_the_next_resolve() {
    let dir = crate::sqlite_state::sqlite_state();
    let d = dir.path();
    let (_, first) = json_cmd(d, &["resolve", "--provider", "anthropic"]);
    let chosen = first["profile"].as_str().unwrap().to_owned();
    let usable = first["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["usable"] == true)
        .count();
    assert!(
        usable >= 2,
        "the fixture has two usable anthropic profiles: {first}"
    );
    report(d, &chosen, "success", &five_hour(0.96, 2 * 3600), &[]);
    let (_, next) = json_cmd(d, &["resolve", "--provider", "anthropic"]);
    assert_ne!(next["profile"], chosen.as_str(), "{next}");
    let shared = crate::sqlite_state::machine(d, "authProfiles.state").unwrap();
    let q = &shared["usageStats"][chosen.as_str()]["modelauthQuota"];
    assert_eq!(q["windows"][0]["name"], "5h", "{shared}");
    assert_eq!(q["windows"][0]["utilizationPpm"], 960_000);
    crate::sqlite_state::assert_no_json_or_locks(d);
}

#[test]
fn openclaw_2026_9_6_honours_a_cooldown_from_the_providers_reset_and_keeps_the_record() {
    let Some(bin) = crate::interop::openclaw_bin() else {
        return;
    };
    let dir = crate::sqlite_state::sqlite_state();
    let d = dir.path();
    let reset = now_s() + 37 * 60;
    report(
        d,
        "anthropic:work",
        "failure",
        &rejected(reset),
        &["--status", "429"],
    );
    let status = crate::interop::oc_json(&bin, d, "models status --json");
    let unusable: Vec<(String, String)> = status["auth"]["unusableProfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["profileId"].as_str().unwrap().to_owned(),
                p["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        unusable.contains(&("anthropic:work".to_owned(), "rate_limit".to_owned())),
        "OpenClaw cools the profile modelauth cooled until the provider's reset: {status}"
    );
    crate::interop::ok(
        crate::interop::oc(
            &bin,
            d,
            "models auth order set --agent main --provider anthropic anthropic:home anthropic:work",
            "",
        ),
        "openclaw order set",
    );
    let shared = crate::sqlite_state::machine(d, "authProfiles.state").unwrap();
    let usage = &shared["usageStats"]["anthropic:work"];
    assert_eq!(usage["cooldownUntil"], reset * 1000, "{usage}");
    assert_eq!(
        usage["modelauthQuota"]["windows"][0]["status"], "rejected",
        "kept beside OpenClaw's fields: {usage}"
    );
}

proptest::proptest! {
    /// Any header names and values: parsing never panics, and what it keeps is well-formed.
    #[test]
    fn any_headers_parse_without_panic(
        pairs in proptest::collection::vec(("(anthropic-ratelimit-(unified-)?|x-ratelimit-|retry-after)?[a-z0-9_-]{0,24}", "\\PC{0,24}"), 0..24),
        now in 0i64..4_102_444_800_000,
    ) {
        let p = parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now);
        proptest::prop_assert!(p.ignored as usize <= pairs.len());
        for w in &p.windows {
            proptest::prop_assert!(w.utilization_ppm.is_none_or(|u| u <= 2_000_000));
            proptest::prop_assert!(w.reset_at >= 0);
        }
        proptest::prop_assert!(p.retry_after_ms.is_none_or(|ms| ms >= 0));
    }
}
