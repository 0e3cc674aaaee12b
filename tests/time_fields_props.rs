//! Any JSON number or string in any time field of a store never panics any view and never moves a
//! request to the wrong credential (issue "Hardening", item 1; the property behind `report … 20000years`).

use std::sync::Arc;

use modelauth::resolver::{ManualClock, Outcome};
use modelauth::{Decision, FailureReason, Gateway};
use proptest::prelude::*;
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000_000;

/// Numbers of every magnitude and sign, floats, strings and other types.
fn any_time_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON has no NaN/inf", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        Just(json!(1.5e300)),
        Just(json!(1e20)),
        Just(json!(-1e20)),
        Just(json!(NOW + 3_600_000)),
        Just(json!(NOW - 1)),
        "[a-z0-9 .:-]{0,12}".prop_map(|s| json!(s)),
        Just(Value::Null),
        Just(json!(true)),
        Just(json!([])),
    ]
}

const FIELDS: [&str; 6] = [
    "cooldownUntil",
    "disabledUntil",
    "blockedUntil",
    "lastUsed",
    "lastFailureAt",
    "errorCount",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn time_fields_never_panic_or_pick_the_environment_key(
        values in proptest::collection::vec(any_time_value(), 7),
        retry in any::<i64>(),
    ) {
        let mut usage = serde_json::Map::new();
        for (f, v) in FIELDS.iter().zip(&values) {
            usage.insert((*f).to_owned(), v.clone());
        }
        let store = json!({
            "version": 1,
            "profiles": {
                "anthropic:a": { "type": "token", "provider": "anthropic", "token": "sk-ant-oat01-a", "expires": values[6] },
                "anthropic:b": { "type": "api_key", "provider": "anthropic", "key": "sk-ant-b" },
            },
            "usageStats": { "anthropic:a": usage.clone(), "anthropic:b": usage },
        });
        let env = modelauth::Env::from_pairs([("ANTHROPIC_API_KEY", "sk-ant-ENV")]);
        let clock = ManualClock::at(NOW);
        let gateway = Gateway::builder()
            .in_memory("{}", &[("main", &store.to_string())])
            .unwrap()
            .env(env)
            .clock(Arc::new(clock.clone()))
            .open()
            .unwrap();
        let agent = gateway.agent("main").unwrap();
        let decision = agent.next(Some("s"), "anthropic", Some("m")).unwrap();
        if let Decision::Ready { profile, .. } = &decision {
            prop_assert!(profile.is_some(), "stored profiles exist: the environment key is never used");
        }
        let status = agent.status().unwrap();
        let _ = serde_json::to_string(&status).unwrap();
        let reply = agent.chat("s", "/model status").unwrap().reply.unwrap();
        prop_assert!(reply.contains("anthropic:b"));
        let applied = agent.report("anthropic:b", Some("m"), Outcome::Failure {
            reason: FailureReason::RateLimit,
            retry_after_ms: Some(retry),
        });
        prop_assert!(applied.is_ok());
        let _ = gateway.doctor("main", false).unwrap();
        let _ = agent.profile_states(None).unwrap();
    }
}
