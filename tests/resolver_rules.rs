//! SPEC §5, rule by rule, with a manual clock and in-memory stores.

use modelauth::config::{Config, Env};
use modelauth::resolver::{
    Applied, Choice, OrderSource, Outcome, PinChange, PinView, Reason, ResolveError,
    ResolveRequest, apply, resolve,
};
use modelauth::store::{
    AuthProfiles, Document, FailureReason, OverrideSource, ProviderId, UsageStats,
};
use serde_json::{Value, json};

/// The fixed "now" of the resolver tests.
pub const NOW: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;

/// A store view from JSON.
pub fn store(v: Value) -> AuthProfiles {
    let mut doc = Document::default();
    doc.root = v.as_object().unwrap().clone();
    AuthProfiles::from_document(&doc)
}

/// A config view from JSON.
pub fn config(v: Value) -> Config {
    let mut doc = Document::default();
    doc.root = v.as_object().unwrap().clone();
    Config::from_document(&doc)
}

fn p(id: &str) -> ProviderId {
    ProviderId::new(id).unwrap()
}

fn key(provider: &str, k: &str) -> Value {
    json!({ "type": "api_key", "provider": provider, "key": k })
}

/// The chosen id and the candidate order.
fn order_of(
    s: &AuthProfiles,
    c: &Config,
    provider: &str,
    model: Option<&str>,
    pin: Option<PinView<'_>>,
) -> (String, Vec<String>) {
    let provider = p(provider);
    let req = ResolveRequest {
        unresolved: &[],
        provider: &provider,
        model,
        pin,
        compaction_count: 0,
        now_ms: NOW,
        quota: Default::default(),
    };
    let r = resolve(s, c, &Env::default(), &req).unwrap();
    (
        r.chosen_profile().unwrap().to_owned(),
        r.candidates.iter().map(|c| c.id.to_string()).collect(),
    )
}

fn three() -> Value {
    json!({ "a:1": key("anthropic", "k1"), "a:2": key("anthropic", "k2"), "a:3": key("anthropic", "k3") })
}

#[test]
fn order_override_beats_config_order_beats_config_profiles_beats_stored() {
    let s = store(json!({ "profiles": three(), "order": { "anthropic": ["a:3", "a:1"] } }));
    let c = config(json!({ "auth": { "order": { "anthropic": ["a:2"] } } }));
    assert_eq!(order_of(&s, &c, "anthropic", None, None).1, ["a:3", "a:1"]);
    let s = store(json!({ "profiles": three() }));
    assert_eq!(order_of(&s, &c, "anthropic", None, None).1, ["a:2"]);
    let c = config(
        json!({ "auth": { "profiles": { "a:3": { "provider": "anthropic", "mode": "api_key" }, "a:2": { "provider": "anthropic" } } } }),
    );
    assert_eq!(order_of(&s, &c, "anthropic", None, None).1, ["a:2", "a:3"]);
    assert_eq!(
        order_of(&s, &Config::default(), "anthropic", None, None).1,
        ["a:1", "a:2", "a:3"]
    );
}

#[test]
fn explicit_order_of_only_missing_ids_falls_back_to_all_stored() {
    let s = store(json!({ "profiles": three(), "order": { "anthropic": ["gone:1", "gone:2"] } }));
    let provider = p("anthropic");
    let req = request(&provider);
    let c0 = Config::default();
    let r = resolve(&s, &c0, &Env::default(), &req).unwrap();
    assert_eq!(r.order_source, OrderSource::Stored);
    assert_eq!(r.candidates.len(), 3);
    // One present id keeps the explicit order; missing ids go last as not-in-store.
    let s = store(json!({ "profiles": three(), "order": { "anthropic": ["gone:1", "a:2"] } }));
    let r = resolve(&s, &c0, &Env::default(), &req).unwrap();
    assert_eq!(r.chosen_profile(), Some("a:2"));
    assert_eq!(r.candidates[1].problem, Some(Reason::NotInStore));
}

#[test]
fn ineligible_profiles_are_never_chosen() {
    let s = store(json!({ "profiles": {
        "a:nokey": { "type": "api_key", "provider": "anthropic", "key": "  " },
        "a:expired": { "type": "token", "provider": "anthropic", "token": "t", "expires": NOW - 1 },
        "a:other": key("openai", "k"),
        "a:mode": { "type": "api_key", "provider": "anthropic", "key": "k" },
        "a:oauthdead": { "type": "oauth", "provider": "anthropic" },
        "a:ok": { "type": "token", "provider": "anthropic", "token": "t", "expires": NOW + MIN },
    }, "order": { "anthropic": ["a:nokey", "a:expired", "a:other", "a:mode", "a:oauthdead", "a:ok"] } }));
    let c = config(
        json!({ "auth": { "profiles": { "a:mode": { "provider": "anthropic", "mode": "token" } } } }),
    );
    let provider = p("anthropic");
    let req = request(&provider);
    let r = resolve(&s, &c, &Env::default(), &req).unwrap();
    assert_eq!(r.chosen_profile(), Some("a:ok"));
    let problems: Vec<_> = r.candidates[1..]
        .iter()
        .map(|c| (c.id.to_string(), c.problem.unwrap()))
        .collect();
    assert!(problems.contains(&("a:nokey".into(), Reason::MissingKey)));
    assert!(problems.contains(&("a:expired".into(), Reason::Expired { at: NOW - 1 })));
    assert!(problems.contains(&("a:other".into(), Reason::ProviderMismatch)));
    assert!(problems.contains(&("a:mode".into(), Reason::ModeMismatch)));
    assert!(problems.contains(&("a:oauthdead".into(), Reason::MissingKey)));
    // An oauth mode accepts a token credential.
    let c = config(json!({ "auth": { "profiles": {
        "a:mode": { "provider": "anthropic", "mode": "token" }, "a:ok": { "provider": "anthropic", "mode": "oauth" } } } }));
    assert_eq!(
        resolve(&s, &c, &Env::default(), &req)
            .unwrap()
            .chosen_profile(),
        Some("a:ok")
    );
}

#[test]
fn round_robin_sorts_by_type_then_expired_oauth_then_least_recently_used() {
    let s = store(json!({ "profiles": {
        "a:key-old": key("anthropic", "k"), "a:key-new": key("anthropic", "k"),
        "a:tok": { "type": "token", "provider": "anthropic", "token": "t" },
        "a:oauth": { "type": "oauth", "provider": "anthropic", "access": "x", "refresh": "r", "expires": NOW + MIN },
        "a:oauth-exp": { "type": "oauth", "provider": "anthropic", "access": "x", "refresh": "r", "expires": NOW - MIN },
        "a:default": key("anthropic", "k"),
    }, "usageStats": { "a:key-old": { "lastUsed": 5 }, "a:key-new": { "lastUsed": 9 }, "a:default": { "lastUsed": 7 } } }));
    let (_, order) = order_of(&s, &Config::default(), "anthropic", None, None);
    assert_eq!(
        order,
        [
            "a:oauth",
            "a:oauth-exp",
            "a:tok",
            "a:key-old",
            "a:default",
            "a:key-new"
        ]
    );
}

#[test]
fn cooldowns_skip_profiles_and_model_scoped_ones_only_block_their_model() {
    let s = store(
        json!({ "profiles": three(), "order": { "anthropic": ["a:1", "a:2", "a:3"] }, "usageStats": {
        "a:1": { "cooldownUntil": NOW + MIN, "cooldownReason": "rate_limit", "cooldownModel": "opus" },
        "a:2": { "disabledUntil": NOW + 10 * MIN, "disabledReason": "billing" },
    } }),
    );
    let c = Config::default();
    assert_eq!(
        order_of(&s, &c, "anthropic", Some("opus"), None),
        ("a:3".into(), vec!["a:3".into(), "a:1".into(), "a:2".into()])
    );
    assert_eq!(order_of(&s, &c, "anthropic", Some("sonnet"), None).0, "a:1");
    // A cooldown without a model, or for overloaded, blocks every model.
    let s2 = store(
        json!({ "profiles": three(), "order": { "anthropic": ["a:1", "a:3"] }, "usageStats": {
        "a:1": { "cooldownUntil": NOW + MIN, "cooldownReason": "overloaded", "cooldownModel": "opus" } } }),
    );
    assert_eq!(
        order_of(&s2, &c, "anthropic", Some("sonnet"), None).0,
        "a:3"
    );
    // blockedUntil written by other tools is honoured.
    let s3 = store(
        json!({ "profiles": three(), "order": { "anthropic": ["a:1", "a:3"] }, "usageStats": { "a:1": { "blockedUntil": NOW + 1 } } }),
    );
    assert_eq!(order_of(&s3, &c, "anthropic", None, None).0, "a:3");
}

#[test]
fn openrouter_and_kilocode_never_cool_down() {
    for provider in ["openrouter", "kilocode"] {
        let s = store(
            json!({ "profiles": { "x:1": key(provider, "k") }, "usageStats": {
            "x:1": { "cooldownUntil": NOW + MIN, "disabledUntil": NOW + MIN, "disabledReason": "billing" } } }),
        );
        assert_eq!(
            order_of(&s, &Config::default(), provider, None, None).0,
            "x:1"
        );
    }
}

#[test]
fn all_cooling_names_the_soonest_time_and_nothing_at_all_names_the_env_variable() {
    let s = store(json!({ "profiles": three(), "usageStats": {
        "a:1": { "cooldownUntil": NOW + 5 * MIN }, "a:2": { "cooldownUntil": NOW + 2 * MIN }, "a:3": { "disabledUntil": NOW + 60 * MIN } } }));
    let provider = p("anthropic");
    let req = request(&provider);
    match resolve(
        &s,
        &Config::default(),
        &Env::from_pairs([("ANTHROPIC_API_KEY", "sk-env")]),
        &req,
    ) {
        Err(ResolveError::AllCooling { until_ms, id, .. }) => {
            assert_eq!((until_ms, id.as_str()), (NOW + 2 * MIN, "a:2"))
        }
        other => panic!("{other:?}"),
    }
    let empty = AuthProfiles::default();
    let google = p("google");
    let req = ResolveRequest {
        unresolved: &[],
        provider: &google,
        ..req
    };
    let err = resolve(&empty, &Config::default(), &Env::default(), &req)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "No credentials found for google. Run modelauth models auth paste-api-key --provider google, or set GEMINI_API_KEY."
    );
}

#[test]
fn env_and_config_keys_only_when_the_provider_has_no_profile_at_all() {
    let env = Env::from_pairs([
        ("ANTHROPIC_API_KEY", "sk-env"),
        ("OPENAI_API_KEYS", "k1,k2"),
    ]);
    let provider = p("openai");
    let req = request(&provider);
    let (e0, c0) = (AuthProfiles::default(), Config::default());
    let r = resolve(&e0, &c0, &env, &req).unwrap();
    assert_eq!(r.source_label(), "env: OPENAI_API_KEYS[1]");
    let c = config(json!({ "models": { "providers": { "custom": { "apiKey": "cfg" } } } }));
    let custom = p("custom");
    let req_c = ResolveRequest {
        unresolved: &[],
        provider: &custom,
        ..req
    };
    let r = resolve(&e0, &c, &env, &req_c).unwrap();
    assert!(
        matches!(&r.choice, Choice::Key { source, secret } if source == "config" && secret.expose_secret() == "cfg")
    );
    // A configured-but-unstored profile means "profiles exist": no silent switch to the env key.
    let c = config(
        json!({ "auth": { "profiles": { "anthropic:gone": { "provider": "anthropic", "mode": "api_key" } } } }),
    );
    let a = p("anthropic");
    let req_a = ResolveRequest {
        unresolved: &[],
        provider: &a,
        ..req
    };
    assert!(resolve(&AuthProfiles::default(), &c, &env, &req_a).is_err());
}

/// A request for `provider` at `NOW`: no model, no pin, no compaction.
fn request(provider: &ProviderId) -> ResolveRequest<'_> {
    ResolveRequest {
        unresolved: &[],
        provider,
        model: None,
        pin: None,
        compaction_count: 0,
        now_ms: NOW,
        quota: Default::default(),
    }
}

fn pin(profile: &str, source: OverrideSource) -> PinView<'_> {
    PinView {
        profile,
        source,
        compaction_at_pin: 0,
        order_hash: None,
        rotate: false,
    }
}

/// Resolves `base` with `pin` in its place (the default environment); panics on an error.
fn with_pin<'a>(
    s: &'a AuthProfiles,
    c: &'a Config,
    base: &ResolveRequest<'a>,
    pin: Option<PinView<'a>>,
) -> modelauth::resolver::Resolution<'a> {
    resolve(
        s,
        c,
        &Env::default(),
        &ResolveRequest {
            unresolved: &[],
            pin,
            ..*base
        },
    )
    .unwrap()
}

#[test]
fn user_pin_stays_first_even_while_cooling_and_auto_pin_moves_on() {
    let s = store(
        json!({ "profiles": three(), "order": { "anthropic": ["a:1", "a:2", "a:3"] }, "usageStats": {
        "a:2": { "cooldownUntil": NOW + MIN, "cooldownReason": "rate_limit" } } }),
    );
    let c = Config::default();
    let (chosen, order) = order_of(
        &s,
        &c,
        "anthropic",
        None,
        Some(pin("a:2", OverrideSource::User)),
    );
    assert_eq!((chosen.as_str(), order[0].as_str()), ("a:2", "a:2"));
    let provider = p("anthropic");
    let base = request(&provider);
    let r = with_pin(&s, &c, &base, Some(pin("a:2", OverrideSource::Auto)));
    assert_eq!(r.chosen_profile(), Some("a:1"));
    assert_eq!(r.pin_change, PinChange::SetAuto("a:1".into()));
    let r = with_pin(&s, &c, &base, Some(pin("a:3", OverrideSource::Auto)));
    assert_eq!(
        (r.chosen_profile(), &r.pin_change),
        (Some("a:3"), &PinChange::Keep)
    );
    assert_eq!(r.candidates[0].place, Reason::AutoPin);
}

#[test]
fn deleted_user_pin_is_cleared_silently_and_auto_pin_rotates_on_compaction_and_order_change() {
    let s = store(json!({ "profiles": three(), "order": { "anthropic": ["a:1", "a:2", "a:3"] } }));
    let c = Config::default();
    let provider = p("anthropic");
    let base = request(&provider);
    let r = with_pin(&s, &c, &base, Some(pin("a:9", OverrideSource::User)));
    assert_eq!(r.chosen_profile(), Some("a:1"));
    assert_eq!(r.pin_change, PinChange::SetAuto("a:1".into()));
    // A user pin on another provider's profile is neither used nor replaced (one pin per session,
    // owned by its provider: a fallback model must not erase it).
    let s2 =
        store(json!({ "profiles": { "a:1": key("anthropic", "k"), "o:1": key("openai", "k") } }));
    let r = with_pin(&s2, &c, &base, Some(pin("o:1", OverrideSource::User)));
    assert_eq!(r.chosen_profile(), Some("a:1"));
    assert_eq!(r.pin_change, PinChange::Keep);
    // Compaction since the pin: move to the next profile after it.
    let compacted = ResolveRequest {
        unresolved: &[],
        compaction_count: 1,
        ..base
    };
    let r = with_pin(&s, &c, &compacted, Some(pin("a:2", OverrideSource::Auto)));
    assert_eq!(r.pin_change, PinChange::SetAuto("a:3".into()));
    let rotate = PinView {
        rotate: true,
        ..pin("a:3", OverrideSource::Auto)
    };
    let r = with_pin(&s, &c, &base, Some(rotate));
    assert_eq!(
        r.pin_change,
        PinChange::SetAuto("a:1".into()),
        "rotation wraps around"
    );
    // Order changed since the auto pin was made: first usable of the new order.
    let first = with_pin(&s, &c, &base, None);
    let stale = PinView {
        order_hash: Some(first.order_hash ^ 0x10),
        ..pin("a:2", OverrideSource::Auto)
    };
    assert_eq!(
        with_pin(&s, &c, &base, Some(stale)).chosen_profile(),
        Some("a:1")
    );
    let same = PinView {
        order_hash: Some(first.order_hash),
        ..pin("a:2", OverrideSource::Auto)
    };
    assert_eq!(
        with_pin(&s, &c, &base, Some(same)).chosen_profile(),
        Some("a:2")
    );
}

#[test]
fn the_stored_order_fingerprint_changes_when_a_profile_is_added_or_removed() {
    let provider = p("anthropic");
    let c = Config::default();
    let base = request(&provider);
    let two = store(
        json!({ "profiles": { "a:1": key("anthropic", "k"), "a:2": key("anthropic", "k") } }),
    );
    let all3 = store(json!({ "profiles": three() }));
    let again = store(
        json!({ "profiles": { "a:2": key("anthropic", "k"), "a:1": key("anthropic", "k") } }),
    );
    let (h2, h3) = (
        with_pin(&two, &c, &base, None),
        with_pin(&all3, &c, &base, None),
    );
    assert_eq!(h2.order_source, OrderSource::Stored);
    assert_ne!(h2.order_hash, h3.order_hash);
    assert_eq!(
        h2.order_hash,
        with_pin(&again, &c, &base, None).order_hash,
        "same profiles, same fingerprint, whatever the file's key order"
    );
    // An auto pin made under the two-profile store moves to the first usable one of the new store.
    let stale = PinView {
        order_hash: Some(h2.order_hash),
        ..pin("a:2", OverrideSource::Auto)
    };
    let r = with_pin(&all3, &c, &base, Some(stale));
    assert_eq!(r.pin_change, PinChange::SetAuto("a:1".into()));
    // The explicit order with the same ids has its own fingerprint.
    let listed =
        store(json!({ "profiles": three(), "order": { "anthropic": ["a:1", "a:2", "a:3"] } }));
    assert_ne!(with_pin(&listed, &c, &base, None).order_hash, h3.order_hash);
}

#[test]
fn backoff_schedule_windows_and_reset() {
    let mut st = UsageStats::default();
    let fail = |reason| Outcome::Failure {
        reason,
        retry_after_ms: None,
    };
    let mut t = NOW;
    let mut windows = Vec::new();
    for _ in 0..4 {
        match apply(&mut st, fail(FailureReason::RateLimit), Some("opus"), t) {
            Applied::WindowStarted(until) => windows.push(until - t),
            other => panic!("{other:?}"),
        }
        t = st.cooldown_until;
    }
    assert_eq!(windows, [30_000, 60_000, 300_000, 300_000]);
    assert_eq!(st.cooldown_model.as_deref(), Some("opus"));
    // Inside an active window of the same scope nothing moves.
    let before = st.clone();
    assert_eq!(
        apply(&mut st, fail(FailureReason::RateLimit), Some("opus"), t - 1),
        Applied::InsideActiveWindow(before.cooldown_until)
    );
    assert_eq!(st, before);
    // Retry-After longer than the schedule wins.
    let mut st2 = UsageStats::default();
    apply(
        &mut st2,
        Outcome::Failure {
            reason: FailureReason::Timeout,
            retry_after_ms: Some(90_000),
        },
        None,
        NOW,
    );
    assert_eq!(st2.cooldown_until, NOW + 90_000);
    // 24 h quiet resets the counters.
    apply(
        &mut st,
        fail(FailureReason::Overloaded),
        None,
        t + 24 * 60 * MIN,
    );
    assert_eq!(st.error_count, 1);
    assert_eq!(st.cooldown_model, None, "overloaded is not model-scoped");
    // Billing doubles from 10 min; auth_permanent caps at 60 min.
    let mut b = UsageStats::default();
    let mut t = NOW;
    let mut bw = Vec::new();
    for _ in 0..3 {
        apply(&mut b, fail(FailureReason::Billing), None, t);
        bw.push(b.disabled_until - t);
        t = b.disabled_until;
    }
    assert_eq!(bw, [10 * MIN, 20 * MIN, 40 * MIN]);
    let mut a = UsageStats::default();
    let mut t = NOW;
    for _ in 0..5 {
        apply(&mut a, fail(FailureReason::AuthPermanent), None, t);
        t = a.disabled_until;
    }
    assert_eq!(a.disabled_until - a.last_failure_at, 60 * MIN);
    assert_eq!(apply(&mut a, Outcome::Success, None, t), Applied::Succeeded);
    assert_eq!(
        a,
        UsageStats {
            last_used: t,
            ..UsageStats::default()
        }
    );
}
