//! Secret references without OpenClaw: a slow exec provider is resolved off `serve`'s answering
//! thread (`/healthz` and other requests answer meanwhile), its value is handed out, and a rotated
//! value is seen once the cache lifetime has passed.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::serve_common::serve_with;

const SLOW_SECRET: &str = "sk-ant-api03-SLOWEXECxxxx12345678";

#[test]
#[allow(clippy::disallowed_methods, reason = "latency bounds are real time")]
fn a_slow_exec_reference_never_holds_the_answering_thread() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let agent = d.join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    let sec = tempfile::tempdir().unwrap();
    let script = sec.path().join("slow.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nsleep 2\nprintf '{{\"protocolVersion\":1,\"values\":{{\"k\":\"{SLOW_SECRET}\"}}}}'\n"),
    )
    .unwrap();
    let mut perm = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o700);
    std::fs::set_permissions(&script, perm).unwrap();
    let profiles = json!({"version": 1, "profiles": {
        "anthropic:slow": {"type": "api_key", "provider": "anthropic",
                           "keyRef": {"source": "exec", "provider": "slow", "id": "k"}}}});
    std::fs::write(agent.join("auth-profiles.json"), profiles.to_string()).unwrap();
    let config = json!({"secrets": {"providers": {"slow": {"source": "exec", "command": script}}},
        "agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-6"}}}});
    std::fs::write(d.join("openclaw.json"), config.to_string()).unwrap();
    let server = std::sync::Arc::new(serve_with(d, &[], &[]));
    let s2 = std::sync::Arc::clone(&server);
    let started = Instant::now();
    let slow = std::thread::spawn(move || {
        let body = json!({"provider": "anthropic", "includeSecret": true});
        s2.unix("POST", "/v1/agents/main/resolve", Some(&body))
    });
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(server.unix("GET", "/healthz", None).0, 200);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "healthz took {:?}",
        t.elapsed()
    );
    let (code, answer) = slow.join().unwrap();
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["secret"], SLOW_SECRET);
    assert!(started.elapsed() >= Duration::from_secs(2));
    // Cached now: the next resolve does not run the command again.
    let t = Instant::now();
    let body = json!({"provider": "anthropic"});
    let (code, answer) = server.unix("POST", "/v1/agents/main/resolve", Some(&body));
    assert_eq!(
        (code, answer["profile"].as_str()),
        (200, Some("anthropic:slow"))
    );
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "cached resolve took {:?}",
        t.elapsed()
    );
}

/// Eight threads told at once that the secret they were handed was refused read the store once
/// between them, and all get the rotated secret (issue 31: single flight).
#[test]
fn a_refused_secret_is_read_again_once_for_all_who_saw_it_refused() {
    use modelauth::config::Env;
    use modelauth::config::secrets::SecretsConfig;
    use modelauth::secrets::{RefContext, RefResolver};
    use modelauth::store::{RefSource, SecretRef};
    let dir = tempfile::tempdir().unwrap();
    let value = dir.path().join("value");
    let runs = dir.path().join("runs");
    std::fs::write(&value, "sk-ant-api03-OLDxxxxAAAA1111222233334444").unwrap();
    let script = dir.path().join("provider.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho run >> {runs}\nprintf '{{\"protocolVersion\":1,\"values\":{{\"k\":\"%s\"}}}}' \"$(cat {value})\"\n",
            runs = runs.display(),
            value = value.display()
        ),
    )
    .unwrap();
    let mut perm = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o700);
    std::fs::set_permissions(&script, perm).unwrap();
    let root = json!({"secrets": {"providers": {"vault": {"source": "exec", "command": script}}}});
    let config = SecretsConfig::from_root(root.as_object().unwrap());
    let env = Env::default();
    let ctx = RefContext {
        config: &config,
        env: &env,
        state_db: None,
    };
    let r = SecretRef {
        source: RefSource::Exec,
        provider: Some("vault".into()),
        id: "k".into(),
    };
    let cache = RefResolver::default();
    let old = cache.resolve(&r, &ctx).unwrap();
    std::fs::write(&value, "sk-ant-api03-NEWxxxxBBBB5555666677778888").unwrap();
    let refused = old.fingerprint();
    let answers: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    cache
                        .reread(&r, &ctx, &refused)
                        .unwrap()
                        .expose_secret()
                        .to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        answers
            .iter()
            .all(|a| a == "sk-ant-api03-NEWxxxxBBBB5555666677778888"),
        "{answers:?}"
    );
    let count = std::fs::read_to_string(&runs).unwrap().lines().count();
    assert_eq!(
        count, 2,
        "the provider ran {count} times: once to resolve, once to read again"
    );
}
