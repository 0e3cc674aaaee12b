//! The file backend and the in-memory backend pass the same behaviour tests: one scenario run through
//! the `Gateway` API against each.

use std::sync::Arc;

use modelauth::resolver::{ManualClock, Outcome};
use modelauth::store::{CredentialKind, NewCredential, ProviderId, Secret};
use modelauth::{Applied, Decision, FailureReason, Gateway};

/// The test clock's start.
pub const NOW: i64 = 1_800_000_000_000;
/// The config of the behaviour tests.
pub const CONFIG: &str = r#"{ agents: { defaults: { model: { primary: "anthropic/claude-opus-4-6" },
    models: { "anthropic/claude-opus-4-6": { alias: "opus" }, "anthropic/claude-sonnet-4-5": { alias: "sonnet" } } } } }"#;

fn file_gateway(dir: &std::path::Path, clock: &ManualClock) -> Gateway {
    std::fs::write(dir.join("openclaw.json"), CONFIG).unwrap();
    Gateway::builder()
        .state_dir(dir)
        .env(modelauth::config::Env::default())
        .clock(Arc::new(clock.clone()))
        .open()
        .unwrap()
}

fn memory_gateway(clock: &ManualClock) -> Gateway {
    Gateway::builder()
        .in_memory(CONFIG, &[])
        .unwrap()
        .env(modelauth::config::Env::default())
        .clock(Arc::new(clock.clone()))
        .open()
        .unwrap()
}

/// An Anthropic API key credential.
pub fn api_key(secret: &str) -> NewCredential {
    NewCredential {
        provider: ProviderId::new("anthropic").unwrap(),
        kind: CredentialKind::ApiKey,
        secret: Secret::new(secret),
        expires: None,
        refresh: None,
        email: None,
        reference: None,
    }
}

/// The behaviour every backend must have.
pub fn scenario(gateway: &Gateway, clock: &ManualClock) {
    let agent = gateway.default_agent().unwrap();
    assert!(matches!(
        agent.next(None, "anthropic", None).unwrap(),
        Decision::NoCredentials { .. }
    ));
    for (id, key) in [
        ("anthropic:a", "sk-a"),
        ("anthropic:b", "sk-b"),
        ("anthropic:c", "sk-c"),
    ] {
        agent.put_credential(id, &api_key(key)).unwrap();
    }
    match agent
        .next(Some("s"), "anthropic", Some("claude-opus-4-6"))
        .unwrap()
    {
        Decision::Ready {
            profile, secret, ..
        } => {
            assert_eq!(profile.as_deref(), Some("anthropic:a"));
            assert_eq!(secret.expose_secret(), "sk-a");
        }
        other => panic!("{other:?}"),
    }
    // A 429 moves the session to the next profile; the same failure inside the window changes nothing.
    let rate_limit = Outcome::Failure {
        reason: FailureReason::RateLimit,
        retry_after_ms: None,
    };
    let model = Some("claude-opus-4-6");
    assert_eq!(
        agent.report("anthropic:a", model, rate_limit).unwrap(),
        Applied::WindowStarted(NOW + 30_000)
    );
    assert!(matches!(
        agent.report("anthropic:a", model, rate_limit).unwrap(),
        Applied::InsideActiveWindow(_)
    ));
    assert_eq!(
        agent.next(Some("s"), "anthropic", model).unwrap().profile(),
        Some("anthropic:b")
    );
    // Concurrent reports on one profile: one window, every success counted once.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    agent.report("anthropic:c", model, rate_limit).unwrap();
                }
            });
        }
    });
    let usage = agent.store().unwrap().usage_of("anthropic:c");
    assert_eq!((usage.error_count, usage.cooldown_until), (1, NOW + 30_000));
    // Orders.
    agent
        .set_order("anthropic", &["anthropic:c".into(), "anthropic:b".into()])
        .unwrap();
    assert_eq!(
        agent.order("anthropic").unwrap().override_ids,
        Some(vec!["anthropic:c".to_owned(), "anthropic:b".to_owned()])
    );
    assert_eq!(
        agent.next(None, "anthropic", model).unwrap().profile(),
        Some("anthropic:b")
    );
    assert!(agent.clear_order("anthropic").unwrap());
    assert!(!agent.clear_order("anthropic").unwrap());
    // A user pin survives resolution and cooldown ends; `/model default` clears it.
    clock.advance(31_000);
    let out = agent.chat("u", "/model sonnet@anthropic:c").unwrap();
    assert_eq!(
        out.reply.as_deref(),
        Some("Model set to sonnet (anthropic/claude-sonnet-4-5). Auth profile set to anthropic:c.")
    );
    assert_eq!(
        agent.next(Some("u"), "anthropic", None).unwrap().profile(),
        Some("anthropic:c")
    );
    agent.chat("u", "/model default").unwrap();
    assert_eq!(agent.sessions().pin("u").unwrap(), None);
    // Success sets lastGood and clears the cooldown.
    assert_eq!(
        agent
            .report("anthropic:a", model, Outcome::Success)
            .unwrap(),
        Applied::Succeeded
    );
    let store = agent.store().unwrap();
    assert_eq!(
        store.last_good[&ProviderId::new("anthropic").unwrap()],
        "anthropic:a"
    );
    assert_eq!(store.usage_of("anthropic:a").cooldown_until, 0);
    // Status and removal.
    let status = agent.status().unwrap();
    assert_eq!(status.check, 0, "{:?}", status.findings);
    assert!(agent.remove_credential("anthropic:b").unwrap());
    assert!(!agent.remove_credential("anthropic:b").unwrap());
    assert!(!agent.store().unwrap().profiles.contains_key("anthropic:b"));
    let err = agent
        .report("anthropic:b", None, Outcome::Success)
        .unwrap_err();
    assert!(err.to_string().contains("anthropic:b"), "{err}");
    gateway.flush().unwrap();
}

#[test]
fn the_file_backend_passes_the_behaviour_tests() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(NOW);
    scenario(&file_gateway(dir.path(), &clock), &clock);
    // And it is all on disk for the next process.
    let clock = ManualClock::at(NOW + 31_000);
    let again = file_gateway(dir.path(), &clock).default_agent().unwrap();
    assert_eq!(again.store().unwrap().profiles.len(), 2);
    assert!(again.sessions().get("s").unwrap().is_some());
}

#[test]
fn the_memory_backend_passes_the_behaviour_tests() {
    let clock = ManualClock::at(NOW);
    scenario(&memory_gateway(&clock), &clock);
}
