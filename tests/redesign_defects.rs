//! The defects the state redesign fixed, each through the public API (or the real binary) on real
//! files: every test here failed on the code before the redesign.

use std::sync::Arc;

use modelauth::resolver::{ManualClock, Outcome};
use modelauth::{Agent, Applied, Decision, FailureReason, Gateway};
use serde_json::{Value, json};

use crate::common::read_json;

const NOW: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

/// A state directory with `profiles` for agent `main` and `config` as `openclaw.json`.
fn state(profiles: Value, config: Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    std::fs::write(
        agent.join("auth-profiles.json"),
        json!({ "version": 1, "profiles": profiles }).to_string(),
    )
    .unwrap();
    std::fs::write(dir.path().join("openclaw.json"), config.to_string()).unwrap();
    dir
}

fn agent_at(dir: &std::path::Path, clock: &ManualClock) -> Agent {
    Gateway::builder()
        .state_dir(dir)
        .env(modelauth::config::Env::default())
        .clock(Arc::new(clock.clone()))
        .open()
        .unwrap()
        .agent("main")
        .unwrap()
}

fn key(provider: &str, n: u32) -> Value {
    json!({ "type": "api_key", "provider": provider, "key": format!("sk-{provider}-{n}") })
}

fn two_keys() -> Value {
    json!({ "anthropic:a": key("anthropic", 1), "anthropic:b": key("anthropic", 2) })
}

#[test]
fn a_huge_or_negative_retry_after_is_clamped_and_time_saturates() {
    let dir = state(two_keys(), json!({}));
    let clock = ManualClock::at(NOW);
    let agent = agent_at(dir.path(), &clock);
    let fail = |retry| Outcome::Failure {
        reason: FailureReason::RateLimit,
        retry_after_ms: Some(retry),
    };
    // i64::MAX used to overflow `now + retry_after` into the past: the profile never cooled.
    assert_eq!(
        agent.report("anthropic:a", None, fail(i64::MAX)).unwrap(),
        Applied::WindowStarted(NOW + 24 * HOUR)
    );
    assert_eq!(
        agent.next(None, "anthropic", None).unwrap().profile(),
        Some("anthropic:b")
    );
    // A negative Retry-After is no Retry-After: the schedule's 30 s.
    assert_eq!(
        agent.report("anthropic:b", None, fail(-5)).unwrap(),
        Applied::WindowStarted(NOW + 30_000)
    );
    // Near the end of time the window saturates instead of wrapping.
    clock.set(i64::MAX - 10);
    assert_eq!(
        agent.report("anthropic:b", None, fail(60_000)).unwrap(),
        Applied::WindowStarted(i64::MAX)
    );
}

#[test]
fn a_cooldown_for_one_model_does_not_swallow_failures_of_another_scope() {
    let dir = state(two_keys(), json!({}));
    let clock = ManualClock::at(NOW);
    let agent = agent_at(dir.path(), &clock);
    let rate_limit = Outcome::Failure {
        reason: FailureReason::RateLimit,
        retry_after_ms: None,
    };
    agent
        .report("anthropic:a", Some("opus"), rate_limit)
        .unwrap();
    assert_eq!(
        agent
            .next(None, "anthropic", Some("sonnet"))
            .unwrap()
            .profile(),
        Some("anthropic:a")
    );
    // The same model inside its window changes nothing; another model does start a window.
    assert!(matches!(
        agent
            .report("anthropic:a", Some("opus"), rate_limit)
            .unwrap(),
        Applied::InsideActiveWindow(_)
    ));
    assert!(matches!(
        agent
            .report("anthropic:a", Some("sonnet"), rate_limit)
            .unwrap(),
        Applied::WindowStarted(_)
    ));
    assert_eq!(
        agent
            .next(None, "anthropic", Some("sonnet"))
            .unwrap()
            .profile(),
        Some("anthropic:b")
    );
    assert_eq!(
        agent
            .next(None, "anthropic", Some("opus"))
            .unwrap()
            .profile(),
        Some("anthropic:b")
    );
}

#[test]
fn aliases_follow_every_config_reload() {
    let dir = state(two_keys(), json!({}));
    let clock = ManualClock::at(NOW);
    let agent = agent_at(dir.path(), &clock);
    // The alias cache was keyed on the config's address, which the allocator reuses after a reload.
    for i in 0..40 {
        let name = format!("fast{i}");
        let config = json!({ "agents": { "defaults": { "models": {
            "anthropic/claude-opus-4-6": { "alias": name },
        } } } });
        std::fs::write(dir.path().join("openclaw.json"), config.to_string()).unwrap();
        // A different length each time, so the file stamp always changes.
        let text = format!("/{name}");
        assert!(
            agent.parse(&text).unwrap().has_directive,
            "alias {name} after reload {i}"
        );
        let other = format!("/fast{}", i + 100);
        assert!(!agent.parse(&other).unwrap().has_directive);
    }
}

#[test]
fn status_follows_the_resolver_for_never_cooling_providers_and_the_session_pin() {
    let profiles = json!({
        "openrouter:x": key("openrouter", 1),
        "anthropic:a": key("anthropic", 1),
        "anthropic:b": key("anthropic", 2),
    });
    let dir = state(profiles, json!({}));
    let clock = ManualClock::at(NOW);
    let agent = agent_at(dir.path(), &clock);
    let overloaded = Outcome::Failure {
        reason: FailureReason::Overloaded,
        retry_after_ms: None,
    };
    agent.report("openrouter:x", None, overloaded).unwrap();
    let status = agent.status().unwrap();
    let openrouter = status
        .providers
        .iter()
        .find(|p| p.provider == "openrouter")
        .unwrap();
    assert_eq!(
        serde_json::to_value(&openrouter.profiles[0]).unwrap()["state"],
        "ok",
        "openrouter never cools down; the resolver still uses it"
    );
    assert_eq!(
        agent.next(None, "openrouter", None).unwrap().profile(),
        Some("openrouter:x")
    );
    // `/model status` marks as next what the session's next request uses: its pin.
    let reply = agent
        .chat("s", "/model anthropic/claude-opus-4-6@anthropic:b")
        .unwrap();
    assert!(reply.reply.unwrap().contains("anthropic:b"));
    let status = agent.chat("s", "/model status").unwrap().reply.unwrap();
    assert!(
        status.contains("anthropic:b=api_key (next, pinned)"),
        "{status}"
    );
    assert!(
        status.contains("anthropic:a=api_key,") || status.contains("anthropic:a=api_key\n"),
        "{status}"
    );
    assert_eq!(
        agent.next(Some("s"), "anthropic", None).unwrap().profile(),
        Some("anthropic:b")
    );
}

#[test]
fn a_directive_that_cannot_be_saved_changes_neither_config_nor_session() {
    let dir = state(
        two_keys(),
        json!({ "agents": { "defaults": { "model": { "primary": "anthropic/claude-opus-4-6" } } } }),
    );
    let clock = ManualClock::at(NOW);
    let agent = agent_at(dir.path(), &clock);
    let config_before = std::fs::read_to_string(dir.path().join("openclaw.json")).unwrap();
    // sessions.json cannot be locked (a link where its lock goes): the config used to be written first.
    let sessions = dir.path().join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    std::os::unix::fs::symlink("/nonexistent-target", sessions.join("sessions.json.lock")).unwrap();
    let err = agent
        .chat("s", "/model anthropic/claude-sonnet-4-5@anthropic:a -g")
        .unwrap_err();
    assert!(err.to_string().contains("sessions.json.lock"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("openclaw.json")).unwrap(),
        config_before,
        "config untouched"
    );
    let s = agent.sessions().get("s").unwrap();
    assert!(
        s.is_none_or(|s| s.model_override.is_none() && s.pin.is_none()),
        "session untouched"
    );
    // Once the lock can be taken again the same directive applies.
    std::fs::remove_file(sessions.join("sessions.json.lock")).unwrap();
    agent
        .chat("s", "/model anthropic/claude-sonnet-4-5@anthropic:a -g")
        .unwrap();
    assert_eq!(
        agent.sessions().pin("s").unwrap().unwrap().profile.as_ref(),
        "anthropic:a"
    );
    let config = read_json(&dir.path().join("openclaw.json"));
    assert_eq!(
        config["agents"]["defaults"]["model"]["primary"],
        "anthropic/claude-sonnet-4-5"
    );
}

#[test]
fn runtime_values_typed_in_chat_are_not_kept_forever() {
    let dir = state(two_keys(), json!({}));
    let clock = ManualClock::at(NOW);
    let agent = agent_at(dir.path(), &clock);
    for i in 0..2_000 {
        let out = agent
            .chat(&format!("s{}", i % 10), &format!("/model --runtime r{i}"))
            .unwrap();
        assert_eq!(
            out.reply.as_deref(),
            Some(format!("Runtime set to r{i}.").as_str())
        );
    }
    assert!(
        agent.sessions().interned() <= 2,
        "{} names interned",
        agent.sessions().interned()
    );
}

#[test]
fn compaction_counts_are_saved_and_never_moved_back() {
    let dir = state(two_keys(), json!({}));
    let clock = ManualClock::at(NOW);
    let agent = agent_at(dir.path(), &clock);
    agent.sessions().note_compaction("s").unwrap();
    agent.sessions().note_compaction("s").unwrap();
    agent.flush().unwrap();
    let path = dir.path().join("agents/main/sessions/sessions.json");
    assert_eq!(read_json(&path)["s"]["compactionCount"], 2);
    // The gateway counted further meanwhile: our older count does not overwrite it.
    let mut doc = read_json(&path);
    doc["s"]["compactionCount"] = json!(9);
    std::fs::write(&path, doc.to_string()).unwrap();
    agent.sessions().note_compaction("s").unwrap();
    agent.flush().unwrap();
    assert_eq!(read_json(&path)["s"]["compactionCount"], 9);
}

#[test]
fn a_path_swapped_for_a_link_is_never_read_through() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("other-users-secret.json");
    std::fs::write(
        &target,
        r#"{"profiles":{"x:y":{"type":"api_key","key":"TARGET-SECRET"}}}"#,
    )
    .unwrap();
    let path = dir.path().join("auth-profiles.json");
    let regular = dir.path().join("regular.json");
    let link = dir.path().join("link.json");
    std::fs::write(&path, r#"{"profiles":{}}"#).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, path, regular, link, target) = (
            Arc::clone(&stop),
            path.clone(),
            regular.clone(),
            link.clone(),
            target.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::os::unix::fs::symlink(&target, &link);
                let _ = std::fs::rename(&link, &path);
                let _ = std::fs::write(&regular, r#"{"profiles":{}}"#);
                let _ = std::fs::rename(&regular, &path);
            }
        })
    };
    let file = modelauth::backend::json::AuthFile::new(&path);
    let mut links_refused = 0;
    for _ in 0..20_000 {
        match file.load() {
            Ok(view) => assert!(view.profiles.is_empty(), "read through the link"),
            Err(e) => {
                assert!(e.to_string().contains("symbolic link"), "{e}");
                links_refused += 1;
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flipper.join().unwrap();
    assert!(links_refused > 0, "the race was exercised");
}

#[test]
fn a_store_with_a_top_level_field_of_the_wrong_type_is_shown_as_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    let text = r#"{"version":1,"profiles":[{"type":"api_key","key":"sk-KEEP"}]}"#;
    std::fs::write(agent.join("auth-profiles.json"), text).unwrap();
    for line in ["models auth list", "models status"] {
        let out = crate::cli::all_output(&mut crate::cli::run(dir.path(), line));
        assert!(out.contains("\"profiles\" is an array"), "{line}: {out}");
        assert!(!out.contains("No auth profiles"), "{line}: {out}");
    }
    let mut paste = crate::cli::run(
        dir.path(),
        "--layout json models auth paste-token --provider anthropic",
    );
    let out = paste.write_stdin("sk-ant-oat01-NEW\n").output().unwrap();
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read_to_string(agent.join("auth-profiles.json")).unwrap(),
        text
    );
}

#[test]
fn decisions_never_hand_out_an_expired_oauth_token() {
    let profiles = json!({ "anthropic:me": {
        "type": "oauth", "provider": "anthropic", "access": "EXPIRED-ACCESS", "refresh": "R", "expires": NOW - 1,
    } });
    let dir = state(profiles, json!({}));
    let agent = agent_at(dir.path(), &ManualClock::at(NOW));
    // Without network calls the answer is "refresh first".
    match agent.next_cached(None, "anthropic", None).unwrap() {
        Decision::NeedsRefresh { profile, .. } => assert_eq!(profile, "anthropic:me"),
        other => panic!("expected NeedsRefresh, got {other:?}"),
    }
    // With them, the refresh fails (this checkout's token endpoints are a closed loopback port), the
    // profile cools down, and still no expired token is handed out.
    match agent.next(None, "anthropic", None).unwrap() {
        Decision::AllCooling { profile, .. } => assert_eq!(profile, "anthropic:me"),
        other => panic!("expected AllCooling after the failed refresh, got {other:?}"),
    }
}

#[test]
fn a_write_does_not_list_the_directory_for_temp_files_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-profiles.json");
    let file = modelauth::backend::json::AuthFile::new(&path);
    let provider = modelauth::ProviderId::new("anthropic").unwrap();
    let write = |n: &str| {
        file.update(|e| {
            e.set_order(&provider, &[n.to_owned()]);
            Ok::<_, modelauth::StoreError>(())
        })
        .unwrap()
    };
    // A writer killed before this process started left a temp file: the first write cleans it.
    let stale = dir.path().join(".auth-profiles.json.old.tmp");
    std::fs::write(&stale, "x").unwrap();
    write("a:1");
    assert!(!stale.exists());
    // Later writes of this process do not scan the directory (that used to happen on every write);
    // only taking over a dead writer's lock does.
    std::fs::write(&stale, "x").unwrap();
    write("a:2");
    assert!(stale.exists());
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(
        dir.path().join("auth-profiles.json.lock"),
        format!("{{\"pid\": {pid}}}"),
    )
    .unwrap();
    write("a:3");
    assert!(
        !stale.exists(),
        "cleaned after reclaiming the dead writer's lock"
    );
}

#[test]
fn a_timestamp_past_year_9999_never_aborts_a_command() {
    let dir = state(two_keys(), json!({}));
    let run = |line: &str| crate::cli::run(dir.path(), line).output().unwrap();
    let out = run("models auth report anthropic:a --outcome rate_limit --retry-after 20000years");
    crate::common::assert_ok(&out);
    let mut paste = crate::cli::run(
        dir.path(),
        "models auth paste-token --provider anthropic --profile-id anthropic:t --expires-in 10000years",
    );
    assert!(
        paste
            .write_stdin("sk-ant-oat01-x\n")
            .output()
            .unwrap()
            .status
            .success()
    );
    // A file written by another tool with absurd values.
    let path = dir.path().join("agents/main/agent/auth-profiles.json");
    let mut doc = read_json(&path);
    doc["usageStats"]["anthropic:b"] = json!({ "cooldownUntil": 1e20, "disabledUntil": 1.5e300 });
    doc["profiles"]["anthropic:t"]["expires"] = json!(1.5e300);
    std::fs::write(&path, doc.to_string()).unwrap();
    for line in [
        "models status",
        "models auth list",
        "resolve --provider anthropic",
        "doctor",
    ] {
        let out = run(line);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{line}: {code:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&run("models auth list").stdout).into_owned();
    assert!(text.contains("after 9999-12-31T23:59:59Z"), "{text}");
}

#[test]
fn a_stored_window_beyond_24_hours_ends_24_hours_after_its_failure_and_doctor_says_so() {
    let dir = state(two_keys(), json!({}));
    let path = dir.path().join("agents/main/agent/auth-profiles.json");
    let mut doc = read_json(&path);
    doc["usageStats"]["anthropic:a"] =
        json!({ "cooldownUntil": 1e20, "lastFailureAt": NOW - 2 * HOUR });
    doc["usageStats"]["anthropic:b"] = json!({ "disabledUntil": NOW + 100 * HOUR });
    std::fs::write(&path, doc.to_string()).unwrap();
    let clock = ManualClock::at(NOW);
    let agent = agent_at(dir.path(), &clock);
    assert_eq!(
        agent
            .store()
            .unwrap()
            .usage_of("anthropic:a")
            .cooldown_until,
        NOW + 22 * HOUR
    );
    let report = Gateway::builder()
        .state_dir(dir.path())
        .env(modelauth::config::Env::default())
        .clock(Arc::new(clock.clone()))
        .open()
        .unwrap()
        .doctor("main", false)
        .unwrap();
    let beyond: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.message.contains("beyond the 24 h maximum"))
        .collect();
    assert_eq!(beyond.len(), 1, "{:#?}", report.findings);
    assert!(beyond[0].message.contains("anthropic:b"));
    clock.set(NOW + 22 * HOUR + 1);
    assert_eq!(
        agent.next(None, "anthropic", None).unwrap().profile(),
        Some("anthropic:a")
    );
}

#[test]
fn a_second_scope_flag_is_rejected_with_the_reference_reply() {
    let dir = state(two_keys(), json!({}));
    let agent = agent_at(dir.path(), &ManualClock::at(NOW));
    let config_before = std::fs::read_to_string(dir.path().join("openclaw.json")).unwrap();
    for text in ["/model anthropic/claude-sonnet-4-5 -a -g", "/model -g -s"] {
        let out = agent.chat("s", text).unwrap();
        assert_eq!(
            out.reply.as_deref(),
            Some("Use only one model scope option."),
            "{text}"
        );
        assert_eq!(out.directive, modelauth::DirectiveStatus::Rejected);
        assert!(out.changes.is_empty());
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("openclaw.json")).unwrap(),
        config_before
    );
    assert!(
        agent
            .sessions()
            .get("s")
            .unwrap()
            .is_none_or(|s| s.model_override.is_none())
    );
}

#[test]
fn a_fallback_model_on_another_provider_keeps_the_user_pin() {
    let profiles = json!({
        "anthropic:a": key("anthropic", 1),
        "anthropic:work": key("anthropic", 2),
        "openai:o": key("openai", 1),
    });
    let dir = state(profiles, json!({}));
    let agent = agent_at(dir.path(), &ManualClock::at(NOW));
    agent
        .chat("s", "/model anthropic/claude-opus-4-6@anthropic:work")
        .unwrap();
    // The runtime falls back to an openai model for one request.
    assert_eq!(
        agent
            .next(Some("s"), "openai", Some("gpt-5"))
            .unwrap()
            .profile(),
        Some("openai:o")
    );
    let pin = agent.sessions().pin("s").unwrap().unwrap();
    assert_eq!(
        (&*pin.profile, pin.source),
        ("anthropic:work", modelauth::store::OverrideSource::User)
    );
    // The next anthropic request still uses the pinned account.
    assert_eq!(
        agent.next(Some("s"), "anthropic", None).unwrap().profile(),
        Some("anthropic:work")
    );
    // A pin whose profile was deleted is not cleared by another provider's request either.
    agent.remove_credential("anthropic:work").unwrap();
    agent.next(Some("s"), "openai", None).unwrap();
    assert!(agent.sessions().pin("s").unwrap().is_some());
    // Its own provider clears it and moves on.
    assert_eq!(
        agent.next(Some("s"), "anthropic", None).unwrap().profile(),
        Some("anthropic:a")
    );
}

#[test]
fn a_blank_key_does_not_hide_a_legacy_api_key() {
    let profiles = json!({ "anthropic:a": { "type": "api_key", "provider": "anthropic", "key": "", "apiKey": "sk-ant-LEGACY" } });
    let dir = state(profiles, json!({}));
    let agent = agent_at(dir.path(), &ManualClock::at(NOW));
    match agent.next(None, "anthropic", None).unwrap() {
        Decision::Ready {
            secret, profile, ..
        } => {
            assert_eq!(profile.as_deref(), Some("anthropic:a"));
            assert_eq!(secret.expose_secret(), "sk-ant-LEGACY");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deeply_nested_config_is_a_config_error_not_a_crash() {
    let dir = state(two_keys(), json!({}));
    let deep = format!("{{ a: {}1{} }}", "[".repeat(40_000), "]".repeat(40_000));
    std::fs::write(dir.path().join("openclaw.json"), &deep).unwrap();
    for line in ["models status", "doctor"] {
        let out = crate::cli::run(dir.path(), line).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{line}");
        let text = crate::common::text_of(&out);
        assert!(
            text.contains("nested deeper than 256 levels") && text.contains("openclaw.json"),
            "{line}: {text}"
        );
    }
    // Nesting in strings and comments does not count; 200 real levels are fine.
    let ok = format!(
        "{{ // [[[[[[\n s: \"{}\", a: {}1{} }}",
        "[".repeat(1000),
        "[".repeat(200),
        "]".repeat(200)
    );
    std::fs::write(dir.path().join("openclaw.json"), &ok).unwrap();
    assert!(
        crate::cli::run(dir.path(), "models status")
            .output()
            .unwrap()
            .status
            .success()
    );
}

#[test]
fn spoofing_ids_are_refused_and_unusual_stored_ids_are_printed_escaped() {
    for id in [
        "anthropic:w\u{200b}ork",
        "anthropic:\u{202e}krow",
        "\u{0430}nthropic:work",
        "anthropic:wo\u{a0}rk",
        "anthropic:\u{1b}[31mred",
    ] {
        assert!(modelauth::ProfileId::new(id).is_err(), "{id:?}");
        let dir = state(two_keys(), json!({}));
        let mut add = crate::cli::run(
            dir.path(),
            "models auth add --provider anthropic --profile-id",
        );
        add.arg(id);
        let out = add.write_stdin("sk-ant-api03-x\n").output().unwrap();
        assert!(!out.status.success(), "{id:?} accepted");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains('\u{1b}'),
            "{id:?} echoed raw"
        );
    }
    assert!(modelauth::ProfileId::new("google-gemini-cli:me@gmail.com").is_ok());
    assert!(modelauth::ProfileId::new("anthropic:café").is_ok());
    // An id another tool stored with an escape sequence is shown escaped by every text view.
    let profiles = json!({ "anthropic:\u{1b}[2Jx": key("anthropic", 1) });
    let dir = state(profiles, json!({}));
    for line in [
        "models auth list",
        "models status",
        "resolve --provider anthropic",
    ] {
        let out = crate::cli::run(dir.path(), line).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains('\u{1b}'), "{line}: raw escape printed");
        assert!(text.contains("anthropic:\\u{1b}[2Jx"), "{line}: {text}");
    }
    let agent = agent_at(dir.path(), &ManualClock::at(NOW));
    let reply = agent.chat("s", "/model status").unwrap().reply.unwrap();
    assert!(
        !reply.contains('\u{1b}') && reply.contains("\\u{1b}"),
        "{reply}"
    );
}

#[test]
fn pinning_never_changes_an_existing_session_id() {
    let dir = state(two_keys(), json!({}));
    let sessions = dir.path().join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    let path = sessions.join("sessions.json");
    let upper = "6F1C3A2E-9B7D-4C1A-8E2F-0123456789AB";
    std::fs::write(
        &path,
        json!({
            "odd": { "sessionId": "transcript-2026-11-30", "updatedAt": 1 },
            "upper": { "sessionId": upper, "updatedAt": 2 },
            "none": { "updatedAt": 3, "channel": "telegram" },
        })
        .to_string(),
    )
    .unwrap();
    let agent = agent_at(dir.path(), &ManualClock::at(NOW));
    for key in ["odd", "upper", "none"] {
        let out = agent
            .chat(key, "/model anthropic/claude-opus-4-6@anthropic:b")
            .unwrap();
        assert_eq!(out.directive, modelauth::DirectiveStatus::Applied, "{key}");
    }
    agent.flush().unwrap();
    let doc = read_json(&path);
    assert_eq!(doc["odd"]["sessionId"], "transcript-2026-11-30");
    assert_eq!(doc["upper"]["sessionId"], upper);
    assert!(doc["none"].get("sessionId").is_none(), "{}", doc["none"]);
    assert_eq!(doc["none"]["channel"], "telegram");
    assert_eq!(doc["odd"]["authProfileOverride"], "anthropic:b");
    // Only /new mints a new id.
    let out = agent.chat("odd", "/new").unwrap();
    agent.flush().unwrap();
    let minted = read_json(&path)["odd"]["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(minted, "transcript-2026-11-30");
    assert!(out.reply.unwrap().contains(&minted));
}

#[test]
fn a_profile_that_cannot_be_read_is_still_a_profile() {
    let profiles = json!({ "anthropic:t": {
        "type": "token", "provider": "anthropic", "token": "sk-ant-oat01-t", "expires": "soon",
    } });
    let dir = state(profiles, json!({}));
    let env_run = |line: &str| {
        crate::cli::run(dir.path(), line)
            .env("ANTHROPIC_API_KEY", "sk-ant-api03-ENVKEY")
            .output()
            .unwrap()
    };
    // The environment key used to be picked, and --check said ok: billing moved to another account.
    let out = env_run("resolve --provider anthropic");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("anthropic:t: invalid") && err.contains("expires"),
        "{err}"
    );
    let out = env_run("models status --check");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("anthropic:t") && text.contains("invalid"),
        "{text}"
    );
    let out = env_run("models auth list");
    assert!(String::from_utf8_lossy(&out.stdout).contains("invalid"));
    let secret_free = crate::common::text_of(&out);
    assert!(!secret_free.contains("sk-ant-oat01-t") && !secret_free.contains("ENVKEY"));
}

#[test]
fn root_writing_another_users_state_keeps_their_ownership() {
    use std::os::unix::fs::MetadataExt;
    let dir = state(two_keys(), json!({}));
    let me = std::fs::metadata(dir.path()).unwrap().uid();
    if me != 0 {
        return; // only root can give files away; CI and these machines run the tests as root
    }
    let (uid, gid) = (4242, 4343);
    let agent_dir = dir.path().join("agents/main/agent");
    let main_dir = dir.path().join("agents/main");
    for p in [
        dir.path().to_owned(),
        dir.path().join("agents"),
        main_dir,
        agent_dir.clone(),
        agent_dir.join("auth-profiles.json"),
        dir.path().join("openclaw.json"),
    ] {
        std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
    }
    let agent = agent_at(dir.path(), &ManualClock::at(NOW));
    agent
        .set_order("anthropic", &["anthropic:b".into()])
        .unwrap();
    // The sessions directory and file do not exist yet: root creates both, for their owner.
    agent
        .chat("s", "/model anthropic/claude-sonnet-4-5 -g")
        .unwrap();
    let owner = |p: &std::path::Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.uid(), m.gid())
    };
    assert_eq!(owner(&agent_dir.join("auth-profiles.json")), (uid, gid));
    assert_eq!(owner(&dir.path().join("openclaw.json")), (uid, gid));
    let sessions = dir.path().join("agents/main/sessions");
    assert_eq!(owner(&dir.path().join("agents/main")), (uid, gid));
    assert_eq!(owner(&sessions), (uid, gid));
    assert_eq!(owner(&sessions.join("sessions.json")), (uid, gid));
    // doctor names a file someone else owns.
    std::os::unix::fs::chown(agent_dir.join("auth-profiles.json"), Some(0), Some(0)).unwrap();
    let out = crate::cli::run(dir.path(), "doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("auth-profiles.json is owned by uid 0, the state directory by uid 4242"),
        "{text}"
    );
}

#[test]
fn doctor_reports_lock_files_and_removes_stale_ones() {
    let dir = state(two_keys(), json!({}));
    let lock = dir.path().join("agents/main/agent/auth-profiles.json.lock");
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(
        &lock,
        format!("{{\"pid\": {pid}, \"createdAt\": \"2026-01-01T00:00:00Z\"}}"),
    )
    .unwrap();
    let live = dir.path().join("openclaw.json.lock");
    std::fs::write(&live, format!("{{\"pid\": {}}}", std::process::id())).unwrap();
    let out = crate::cli::run(dir.path(), "doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "auth-profiles.json.lock is a stale lock (pid {pid})"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "openclaw.json.lock is held by pid {}",
            std::process::id()
        )),
        "{text}"
    );
    let out = crate::cli::run(dir.path(), "doctor --fix")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(": removed the stale lock"));
    assert!(!lock.exists());
    assert!(live.exists(), "a live holder's lock is never removed");
}

#[test]
fn a_config_rewrite_refuses_values_json_cannot_keep() {
    let dir = state(json!({}), json!({}));
    let config = dir.path().join("openclaw.json");
    for (text, value) in [
        ("{\n  gateway: { timeout: NaN },\n}\n", "NaN"),
        ("{ x: -Infinity }", "Infinity"),
        (
            "{ big: 123456789012345678901234567890 }",
            "123456789012345678901234567890",
        ),
        ("{ h: 0x1FFFFFFFFFFFFFFFFF }", "0x1FFFFFFFFFFFFFFFFF"),
    ] {
        std::fs::write(&config, text).unwrap();
        let mut add = crate::cli::run(dir.path(), "models auth add --provider anthropic");
        let out = add.write_stdin("sk-ant-api03-x\n").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(value) && err.contains("cannot be kept"),
            "{text}: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(&config).unwrap(),
            text,
            "config untouched"
        );
        let store = dir.path().join("agents/main/agent/auth-profiles.json");
        assert!(
            !read_json(&store)["profiles"]
                .as_object()
                .unwrap()
                .contains_key("anthropic:default"),
            "no half-done add"
        );
    }
    // Keys, strings and comments that spell them are fine, and so are 64-bit integers.
    std::fs::write(
        &config,
        "{ NaN: 'Infinity', // NaN\n n: 18446744073709551615, f: 1.5 }",
    )
    .unwrap();
    let mut add = crate::cli::run(dir.path(), "models auth add --provider anthropic");
    assert!(
        add.write_stdin("sk-ant-api03-x\n")
            .output()
            .unwrap()
            .status
            .success()
    );
    let doc = read_json(&config);
    assert_eq!(
        (doc["NaN"].clone(), doc["n"].clone()),
        (json!("Infinity"), json!(18446744073709551615u64))
    );
}

#[test]
fn duplicate_keys_in_a_store_are_named_before_a_rewrite_drops_them() {
    let dir = state(json!({}), json!({}));
    let path = dir.path().join("agents/main/agent/auth-profiles.json");
    std::fs::write(
        &path,
        r#"{"version":1,"profiles":{
            "anthropic:work":{"type":"api_key","provider":"anthropic","key":"sk-ant-FIRST"},
            "anthropic:work":{"type":"api_key","provider":"anthropic"}}}"#,
    )
    .unwrap();
    let out = crate::cli::run(dir.path(), "doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("key \"profiles.anthropic:work\" appears more than once"),
        "{text}"
    );
    assert!(!text.contains("sk-ant-FIRST"));
    // Like OpenClaw's JSON.parse, the last copy is the one in force (here: no secret).
    let agent = agent_at(dir.path(), &ManualClock::at(NOW));
    let states = agent.profile_states(None).unwrap();
    assert_eq!(
        serde_json::to_value(&states[0]).unwrap()["state"],
        "missing"
    );
}

#[test]
fn order_set_trims_dedups_and_refuses_other_providers_and_doctor_reports_stored_ones() {
    let profiles = json!({ "anthropic:a": key("anthropic", 1), "anthropic:b": key("anthropic", 2), "openai:o": key("openai", 1) });
    let dir = state(profiles, json!({}));
    let run = |args: &[&str]| {
        let mut c = crate::cli::run(dir.path(), "models auth order set --provider anthropic");
        c.args(args);
        c.output().unwrap()
    };
    let out = run(&[" anthropic:b", "anthropic:a", "anthropic:b"]);
    crate::common::assert_ok(&out);
    let path = dir.path().join("agents/main/agent/auth-profiles.json");
    assert_eq!(
        read_json(&path)["order"]["anthropic"],
        json!(["anthropic:b", "anthropic:a"])
    );
    let out = run(&["anthropic:a", "openai:o"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"openai:o\" is for openai, not anthropic")
    );
    assert_eq!(
        read_json(&path)["order"]["anthropic"],
        json!(["anthropic:b", "anthropic:a"]),
        "unchanged"
    );
    // Written by another tool: doctor says what is wrong.
    let mut doc = read_json(&path);
    doc["order"]["anthropic"] = json!(["openai:o", "anthropic:a", "anthropic:a"]);
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = crate::cli::run(dir.path(), "doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("order for anthropic names profile(s) of another provider: openai:o"),
        "{text}"
    );
    assert!(text.contains("names anthropic:a more than once"), "{text}");
}

#[test]
fn under_a_restrictive_umask_lock_and_state_files_stay_usable() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("state");
    let bin = assert_cmd::cargo::cargo_bin("modelauth");
    for n in 0..3 {
        let script = format!(
            "umask 277; printf sk-ant-api03-x{n} | '{}' --state-dir '{}' models auth add --provider anthropic --profile-id anthropic:k{n}",
            bin.display(),
            s.display()
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "write {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = read_json(&s.join("agents/main/agent/auth-profiles.json"));
    assert_eq!(store["profiles"].as_object().unwrap().len(), 3);
    let leftovers: Vec<_> = std::fs::read_dir(s.join("agents/main/agent"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lock"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_sqlite_generation_directory_forced_to_json_is_never_written_as_json() {
    let dir = state(two_keys(), json!({}));
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    std::fs::write(
        dir.path().join("state/openclaw.sqlite"),
        b"SQLite format 3\0",
    )
    .unwrap();
    let store = dir.path().join("agents/main/agent/auth-profiles.json");
    let before = std::fs::read_to_string(&store).unwrap();
    let config_before = std::fs::read_to_string(dir.path().join("openclaw.json")).unwrap();
    let mut paste = crate::cli::run(
        dir.path(),
        "--layout json models auth paste-token --provider anthropic",
    );
    let out = paste.write_stdin("sk-ant-oat01-x\n").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("openclaw.sqlite") && err.contains("AUTH_PROFILE_MIGRATION_REQUIRED"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&store).unwrap(), before);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("openclaw.json")).unwrap(),
        config_before
    );
    let out = crate::cli::run(dir.path(), "--layout json models status --check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("OpenClaw 2026.9+ keeps this directory"));
    let out = crate::cli::run(dir.path(), "--layout json doctor")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("SQLite generation"));
    // Detected, the same directory is read as a database, and a file that is not one is named.
    let out = crate::cli::run(dir.path(), "models status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("openclaw.sqlite"), "{err}");
    assert!(
        !dir.path()
            .join("agents/main/sessions/sessions.json")
            .exists()
    );
}
