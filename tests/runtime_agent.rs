//! The agent facade as a runtime uses it: properties of resolution, persistence of reports and pins,
//! reloads after other processes' edits, concurrency, and no secret in Debug or TRACE logs.

use std::sync::{Arc, Mutex};

use modelauth::config::{Config, Env, StateDir};
use modelauth::resolver::{Outcome, PinView, ResolveRequest, resolve};
use modelauth::session::RegistryOptions;
use modelauth::store::{AuthProfiles, FailureReason, OverrideSource, ProviderId, StoreError};
use proptest::prelude::*;
use serde_json::json;

use crate::resolver_rules::{NOW, store};

fn state_with(profiles: serde_json::Value) -> (tempfile::TempDir, StateDir) {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    let path = crate::common::main_auth_file(&state).path().to_owned();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        json!({ "version": 1, "profiles": profiles }).to_string(),
    )
    .unwrap();
    (dir, state)
}

fn open(state: &StateDir, clock: &modelauth::resolver::ManualClock) -> modelauth::Agent {
    modelauth::Gateway::builder()
        .state_dir(state.root())
        .env(Env::default())
        .clock(Arc::new(clock.clone()))
        .open()
        .unwrap()
        .agent("main")
        .unwrap()
}

fn keys(n: usize) -> serde_json::Value {
    (0..n).map(|i| (format!("anthropic:k{i}"), json!({ "type": "api_key", "provider": "anthropic", "key": format!("sk-ant-k{i}") }))).collect::<serde_json::Map<_, _>>().into()
}

#[test]
fn report_429_moves_to_the_next_profile_and_is_persisted() {
    let (_d, state) = state_with(keys(2));
    let clock = modelauth::resolver::ManualClock::at(NOW);
    let agent = open(&state, &clock);
    let anthropic = ProviderId::new("anthropic").unwrap();
    let first = agent
        .next(Some("s1"), anthropic.as_str(), Some("opus"))
        .unwrap();
    assert_eq!(first.profile(), Some("anthropic:k0"));
    assert_eq!(first.secret().unwrap().expose_secret(), "sk-ant-k0");
    agent
        .report(
            "anthropic:k0",
            Some("opus"),
            Outcome::Failure {
                reason: FailureReason::RateLimit,
                retry_after_ms: None,
            },
        )
        .unwrap();
    let second = agent
        .next(Some("s1"), anthropic.as_str(), Some("opus"))
        .unwrap();
    assert_eq!(second.profile(), Some("anthropic:k1"));
    // The cooldown is on disk, scoped to the model.
    let on_disk = crate::common::main_auth_file(&state)
        .load()
        .unwrap()
        .usage_of("anthropic:k0");
    assert_eq!(
        (on_disk.cooldown_until, on_disk.cooldown_model.as_deref()),
        (NOW + 30_000, Some("opus"))
    );
    // The auto pin moved and is persisted on flush.
    agent.sessions().flush().unwrap();
    let rec = crate::common::main_sessions_file(&state)
        .load_one("s1")
        .unwrap()
        .unwrap();
    assert_eq!(rec.auth_profile_override.as_deref(), Some("anthropic:k1"));
    clock.advance(31_000);
    agent
        .report("anthropic:k1", Some("opus"), Outcome::Success)
        .unwrap();
    let view = crate::common::main_auth_file(&state).load().unwrap();
    assert_eq!(view.last_good[&anthropic], "anthropic:k1");
}

#[test]
fn edits_by_another_process_are_seen_on_the_next_call() {
    let (_d, state) = state_with(keys(3));
    let clock = modelauth::resolver::ManualClock::at(NOW);
    let agent = open(&state, &clock);
    let anthropic = ProviderId::new("anthropic").unwrap();
    assert_eq!(
        agent
            .next(None, anthropic.as_str(), None)
            .unwrap()
            .profile(),
        Some("anthropic:k0")
    );
    // Another writer (as `models auth order set` would) changes the order.
    crate::common::main_auth_file(&state)
        .update(|e| {
            e.set_order(&anthropic, &["anthropic:k2".into(), "anthropic:k0".into()]);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(
        agent
            .next(None, anthropic.as_str(), None)
            .unwrap()
            .profile(),
        Some("anthropic:k2")
    );
    // The agent's own report does not clobber that order.
    agent
        .report("anthropic:k2", None, Outcome::Success)
        .unwrap();
    assert_eq!(
        crate::common::main_auth_file(&state).load().unwrap().order[&anthropic],
        ["anthropic:k2", "anthropic:k0"]
    );
}

#[test]
fn registry_persists_pins_and_evicts_idle_sessions_that_reload_from_disk() {
    let (_d, state) = state_with(keys(1));
    let clock = modelauth::resolver::ManualClock::at(NOW);
    let agent = modelauth::Gateway::builder()
        .state_dir(state.root())
        .env(Env::default())
        .clock(Arc::new(clock))
        .registry(RegistryOptions { max_sessions: 64 })
        .open()
        .unwrap()
        .agent("main")
        .unwrap();
    let reg = agent.sessions();
    for i in 0..500 {
        reg.set_pin(&format!("s{i}"), "anthropic:k0", OverrideSource::User, 0)
            .unwrap();
    }
    // Saving for eviction happens on a background thread, never on the caller's: once saved, the
    // registry is back under its cap.
    reg.flush().unwrap();
    reg.set_pin("s0", "anthropic:k0", OverrideSource::User, 0)
        .unwrap();
    reg.flush().unwrap();
    reg.set_pin("s1", "anthropic:k0", OverrideSource::User, 0)
        .unwrap();
    assert!(reg.len() <= 65, "bounded: {}", reg.len());
    assert!(
        reg.writes() < 40,
        "evictions save in batches: {} writes for 500 changes",
        reg.writes()
    );
    // Without eviction, any number of changes becomes one write per flush.
    let big = modelauth::session::Registry::new(
        Some(Arc::new(modelauth::backend::json::JsonSessions::new(
            crate::common::main_sessions_file(&state),
        ))),
        Arc::new(modelauth::resolver::ManualClock::at(NOW)),
        RegistryOptions::default(),
    );
    for i in 0..1000 {
        big.set_pin(
            &format!("b{}", i % 100),
            "anthropic:k0",
            OverrideSource::Auto,
            7,
        )
        .unwrap();
    }
    assert_eq!((big.flush().unwrap(), big.writes()), (100, 1));
    for i in [0, 250, 499] {
        let pin = reg.pin(&format!("s{i}")).unwrap().unwrap();
        assert_eq!(
            (&*pin.profile, pin.source),
            ("anthropic:k0", OverrideSource::User)
        );
    }
    let id = reg.get("s0").unwrap().unwrap().session_id;
    let new_id = reg.new_session("s0").unwrap();
    assert_ne!(id.as_deref(), Some(new_id.to_string().as_str()));
    assert_eq!(
        reg.get("s0").unwrap().unwrap().session_id.as_deref(),
        Some(new_id.to_string().as_str())
    );
    let pin = reg.pin("s0").unwrap().unwrap();
    assert_eq!((pin.source, pin.rotate), (OverrideSource::Auto, true));
}

#[test]
fn first_contact_with_a_stored_session_loads_the_most_recent_others_up_to_three_quarters_of_the_cap()
 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.json");
    let mut root = serde_json::Map::new();
    for i in 0..20i64 {
        root.insert(
            format!("chat{i:02}"),
            json!({ "updatedAt": NOW - 1000 * (20 - i), "authProfileOverride": format!("anthropic:k{i}"),
                "authProfileOverrideSource": "user", "gatewayField": i }),
        );
    }
    std::fs::write(&path, serde_json::to_vec(&root).unwrap()).unwrap();
    let reg = modelauth::session::Registry::new(
        Some(Arc::new(modelauth::backend::json::JsonSessions::new(
            modelauth::backend::json::SessionsFile::new(&path),
        ))),
        Arc::new(modelauth::resolver::ManualClock::at(NOW)),
        RegistryOptions { max_sessions: 8 },
    );
    // A new chat reads the file once (nothing on disk for it) and warms the registry with it.
    assert_eq!(reg.pin("new").unwrap(), None);
    assert_eq!(
        reg.len(),
        5,
        "three quarters of 8, less one for the asked key"
    );
    // The five most recently updated stored sessions are the ones in memory: with the file made
    // unreadable they still answer, while an older one has to read it and reports the damage.
    let good = std::fs::read(&path).unwrap();
    std::fs::write(&path, b"{ not json").unwrap();
    for i in 15..20 {
        let pin = reg.pin(&format!("chat{i:02}")).unwrap().unwrap();
        assert_eq!(&*pin.profile, format!("anthropic:k{i}"));
    }
    let err = reg.pin("chat03").unwrap_err().to_string();
    assert!(err.contains("sessions.json"), "{err}");
    // Changes still merge into the repaired file without touching the gateway's fields.
    std::fs::write(&path, good).unwrap();
    reg.set_pin("chat19", "anthropic:k0", OverrideSource::Auto, 1)
        .unwrap();
    reg.flush().unwrap();
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(after["chat19"]["authProfileOverride"], "anthropic:k0");
    assert_eq!(
        (
            after["chat19"]["gatewayField"].as_i64(),
            after["chat03"]["gatewayField"].as_i64()
        ),
        (Some(19), Some(3))
    );
}

#[test]
fn concurrent_resolve_pin_and_report_agree_with_the_files() {
    let (_d, state) = state_with(keys(4));
    let clock = modelauth::resolver::ManualClock::at(NOW);
    let agent = modelauth::Gateway::builder()
        .state_dir(state.root())
        .env(Env::default())
        .clock(Arc::new(clock.clone()))
        .registry(RegistryOptions {
            max_sessions: 20_000,
        })
        .open()
        .unwrap()
        .agent("main")
        .unwrap();
    let anthropic = ProviderId::new("anthropic").unwrap();
    let threads: Vec<_> = (0..2u64)
        .map(|t| {
            let agent = agent.clone();
            let anthropic = anthropic.clone();
            std::thread::spawn(move || {
                let mut x = 0x2545_f491_4f6c_dd1d_u64 ^ t;
                for n in 0..100_000u64 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let key = format!("agent:main:s{}", x % 10_000);
                    match n % 100 {
                        0 => {
                            let id = format!("anthropic:k{}", x % 4);
                            agent.report(&id, Some("opus"), Outcome::Success).unwrap();
                        }
                        1..=30 => agent
                            .sessions()
                            .set_pin(
                                &key,
                                &format!("anthropic:k{}", x % 4),
                                OverrideSource::User,
                                0,
                            )
                            .unwrap(),
                        31..=35 => agent.sessions().clear_pin(&key).unwrap(),
                        _ => {
                            let d = agent
                                .next(Some(&key), anthropic.as_str(), Some("opus"))
                                .unwrap();
                            assert!(d.profile().is_some());
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no panic");
    }
    agent.sessions().flush().unwrap();
    let on_disk: std::collections::HashMap<String, _> = crate::common::main_sessions_file(&state)
        .load()
        .unwrap()
        .into_iter()
        .collect();
    let in_memory = agent.sessions().snapshot();
    assert!(in_memory.len() > 9_000);
    for (key, s) in in_memory {
        let rec = &on_disk[&key];
        assert_eq!(
            rec.auth_profile_override.as_deref(),
            s.pin.as_ref().map(|p| &*p.profile),
            "{key}"
        );
        assert_eq!(rec.session_id.as_deref(), s.session_id.as_deref());
    }
}

fn arb_store() -> impl Strategy<Value = (AuthProfiles, Vec<String>)> {
    prop::collection::vec((0u8..3, 0i64..4, 0i64..3, any::<bool>()), 1..8).prop_map(|rows| {
        let mut profiles = serde_json::Map::new();
        let mut stats = serde_json::Map::new();
        let mut ids = Vec::new();
        for (i, (kind, cooling, used, scoped)) in rows.into_iter().enumerate() {
            let id = format!("anthropic:p{i}");
            let entry = match kind {
                0 => json!({ "type": "api_key", "provider": "anthropic", "key": "k" }),
                1 => json!({ "type": "token", "provider": "anthropic", "token": "t", "expires": NOW + 1000 }),
                _ => json!({ "type": "oauth", "provider": "anthropic", "access": "a", "refresh": "r" }),
            };
            profiles.insert(id.clone(), entry);
            let mut s = json!({ "lastUsed": used });
            if cooling > 0 {
                s["cooldownUntil"] = json!(NOW + cooling * 1000);
                s["cooldownReason"] = json!("rate_limit");
                if scoped {
                    s["cooldownModel"] = json!("opus");
                }
            }
            stats.insert(id.clone(), s);
            ids.push(id);
        }
        (store(json!({ "profiles": profiles, "usageStats": stats })), ids)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn resolution_properties((s, ids) in arb_store(), pick in any::<prop::sample::Index>(), user in any::<bool>(), model_opus in any::<bool>()) {
        let anthropic = ProviderId::new("anthropic").unwrap();
        let c = Config::default();
        let env = Env::default();
        let pinned = pick.get(&ids).clone();
        let source = if user { OverrideSource::User } else { OverrideSource::Auto };
        let model = if model_opus { Some("opus") } else { Some("sonnet") };
        let pin = PinView { profile: &pinned, source, compaction_at_pin: 0, order_hash: None, rotate: false };
        let req = ResolveRequest { unresolved: &[], provider: &anthropic, model, pin: Some(pin), compaction_count: 0, now_ms: NOW, quota: Default::default() };
        let a = resolve(&s, &c, &env, &req);
        let b = resolve(&s, &c, &env, &req);
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "deterministic");
        match a {
            Ok(r) => {
                let chosen = r.chosen_profile().unwrap();
                if user {
                    prop_assert_eq!(chosen, pinned.as_str(), "a user pin is always first");
                } else {
                    prop_assert!(r.candidates[0].usable, "never a cooling profile while a usable one exists");
                }
            }
            Err(_) => prop_assert!(!user, "a valid user pin always resolves"),
        }
    }

    #[test]
    fn failures_inside_an_active_window_never_move_its_end(n in 1usize..6, offsets in prop::collection::vec(0i64..29_000, 1..5), reason_i in 0usize..5) {
        let reasons = [FailureReason::RateLimit, FailureReason::Timeout, FailureReason::Overloaded, FailureReason::Billing, FailureReason::AuthPermanent];
        let reason = reasons[reason_i];
        let mut st = modelauth::store::UsageStats::default();
        let mut t = NOW;
        for _ in 0..n {
            modelauth::resolver::apply(&mut st, Outcome::Failure { reason, retry_after_ms: None }, Some("m"), t);
            t = st.cooldown_until.max(st.disabled_until);
        }
        let end = st.cooldown_until.max(st.disabled_until);
        for off in offsets {
            let at = (end - 1 - off).max(st.last_failure_at);
            let before = st.clone();
            modelauth::resolver::apply(&mut st, Outcome::Failure { reason, retry_after_ms: Some(3_600_000) }, Some("m"), at);
            prop_assert_eq!(&st, &before);
        }
    }
}

/// Collects everything a TRACE subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_secret_in_debug_or_trace_output_on_load_update_and_error_paths() {
    let (_dir, state) = crate::common::rich_state();
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let mut debug = String::new();
    tracing::subscriber::with_default(subscriber, || {
        let env = Env::from_pairs([("ANTHROPIC_API_KEY", "sk-ant-ENVSECRET88888")]);
        let agent = modelauth::Gateway::builder()
            .state_dir(state.root())
            .env(env.clone())
            .clock(Arc::new(modelauth::resolver::ManualClock::at(NOW)))
            .open()
            .unwrap()
            .agent("main")
            .unwrap();
        let store = agent.store().unwrap();
        let config = agent.config().unwrap();
        let anthropic = ProviderId::new("anthropic").unwrap();
        let d = agent.next(Some("s"), anthropic.as_str(), None).unwrap();
        agent
            .report(
                d.profile().unwrap(),
                None,
                Outcome::Failure {
                    reason: FailureReason::Auth,
                    retry_after_ms: None,
                },
            )
            .unwrap();
        let _ = agent.report("missing:id", None, Outcome::Success);
        let doc = crate::common::main_auth_file(&state)
            .load_document()
            .unwrap();
        debug = format!(
            "{store:?}{config:?}{d:?}{doc:?}{env:?}{:?}{agent:?}",
            env.provider_keys(&anthropic)
        );
        tracing::trace!(?store, ?config, ?d, "dump");
        // Error path: a corrupt store that contains a secret.
        let path = crate::common::main_auth_file(&state).path().to_owned();
        std::fs::write(
            &path,
            "{\"profiles\": {\"x:y\": {\"key\": \"sk-ant-CORRUPTSECRET9999\" ",
        )
        .unwrap();
        let err = agent.store().unwrap_err();
        debug.push_str(&format!("{err} {err:?}"));
    });
    let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("dump"), "the subscriber captured events");
    for secret in crate::common::RICH_SECRETS
        .iter()
        .chain(&["sk-ant-ENVSECRET88888", "sk-ant-CORRUPTSECRET9999"])
    {
        assert!(!debug.contains(secret), "Debug leaked {secret}");
        assert!(!logged.contains(secret), "TRACE log leaked {secret}");
    }
}
