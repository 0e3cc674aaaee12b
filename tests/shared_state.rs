//! Several gateway instances sharing one real Redis (started by the test on its own port): the
//! behaviour tests, cooldowns and pins across instances, one backoff schedule under concurrent
//! reports, and a server that is killed, restarted (empty or not), paused, or wrongly addressed.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wall time for bounds on how long a call may take (not a measurement: that is the benchmark's).
#[allow(clippy::disallowed_methods, reason = "bounds on blocking, not timings")]
fn now() -> Instant {
    Instant::now()
}

use modelauth::resolver::{ManualClock, Outcome};
use modelauth::{Agent, Applied, FailureReason, Gateway, RedisSettings};

use crate::backends::{CONFIG, NOW, api_key, scenario};
use crate::redis_server::RedisServer;

/// A gateway instance: its own state directory (the same credentials as the others) and `url`.
pub struct Instance {
    /// The state directory.
    pub dir: tempfile::TempDir,
    /// The gateway.
    pub gateway: Gateway,
}

/// An instance on `url` holding credentials `ids`.
pub fn instance(url: &str, clock: &ManualClock, ids: &[&str]) -> Instance {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("openclaw.json"), CONFIG).unwrap();
    let gateway = Gateway::builder()
        .state_dir(dir.path())
        .env(modelauth::config::Env::default())
        .clock(Arc::new(clock.clone()))
        .redis(Some(RedisSettings::new(url)))
        .open()
        .unwrap();
    let agent = gateway.default_agent().unwrap();
    for id in ids {
        agent
            .put_credential(id, &api_key(&format!("sk-{id}")))
            .unwrap();
    }
    Instance { dir, gateway }
}

/// Two instances on `redis` with [`IDS`], and their default agents.
fn two_instances(redis: &RedisServer, clock: &ManualClock) -> ([Instance; 2], Agent, Agent) {
    let pair = [
        instance(&redis.url(), clock, &IDS),
        instance(&redis.url(), clock, &IDS),
    ];
    let a = pair[0].gateway.default_agent().unwrap();
    let b = pair[1].gateway.default_agent().unwrap();
    (pair, a, b)
}

const IDS: [&str; 3] = ["anthropic:a", "anthropic:b", "anthropic:c"];
const MODEL: Option<&str> = Some("claude-opus-4-6");

fn rate_limit() -> Outcome {
    Outcome::Failure {
        reason: FailureReason::RateLimit,
        retry_after_ms: None,
    }
}

/// Waits (up to 5 s) until `f` holds; the propagation itself is measured by the benchmark.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(5), "never: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn the_redis_backend_passes_the_behaviour_tests() {
    let redis = RedisServer::start();
    let clock = ManualClock::at(NOW);
    let one = instance(&redis.url(), &clock, &[]);
    scenario(&one.gateway, &clock);
    // The routing state is on the server, the secrets are not.
    let mut con = redis.con();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(
        keys.contains(&"modelauth:main:lastgood".to_owned()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"modelauth:main:session:s".to_owned()),
        "{keys:?}"
    );
    for k in &keys {
        let t: String = redis::cmd("TYPE").arg(k).query(&mut con).unwrap();
        let dump = if t == "hash" {
            format!(
                "{:?}",
                redis::cmd("HGETALL")
                    .arg(k)
                    .query::<Vec<String>>(&mut con)
                    .unwrap()
            )
        } else {
            redis::cmd("GET")
                .arg(k)
                .query::<Option<String>>(&mut con)
                .unwrap()
                .unwrap_or_default()
        };
        assert!(!dump.contains("sk-"), "{k} holds a secret: {dump}");
    }
}

#[test]
fn a_cooldown_and_an_order_set_through_one_instance_apply_on_another() {
    let redis = RedisServer::start();
    let clock = ManualClock::at(NOW);
    let (_instances, a, b) = two_instances(&redis, &clock);
    assert_eq!(
        b.next(None, "anthropic", MODEL).unwrap().profile(),
        Some("anthropic:a")
    );
    assert_eq!(
        a.report("anthropic:a", MODEL, rate_limit()).unwrap(),
        Applied::WindowStarted(NOW + 30_000)
    );
    eventually("b sees a's cooldown", || {
        b.next(None, "anthropic", MODEL).unwrap().profile() == Some("anthropic:b")
    });
    assert!(matches!(
        b.report("anthropic:a", MODEL, rate_limit()).unwrap(),
        Applied::InsideActiveWindow(_)
    ));
    a.set_order("anthropic", &["anthropic:c".into()]).unwrap();
    eventually("b sees a's order", || {
        b.next(None, "anthropic", MODEL).unwrap().profile() == Some("anthropic:c")
    });
    assert!(b.clear_order("anthropic").unwrap());
    eventually("a sees b's clear", || {
        a.order("anthropic").unwrap().override_ids.is_none()
    });
}

#[test]
fn a_pin_set_through_one_instance_holds_on_another() {
    let redis = RedisServer::start();
    let clock = ManualClock::at(NOW);
    let (_instances, a, b) = two_instances(&redis, &clock);
    // b knows the chat already (its copy must not hide a's change).
    assert_eq!(
        b.next(Some("chat"), "anthropic", MODEL).unwrap().profile(),
        Some("anthropic:a")
    );
    let out = a.chat("chat", "/model sonnet@anthropic:c").unwrap();
    assert!(out.reply.unwrap().contains("anthropic:c"));
    eventually("b honours a's pin", || {
        b.next(Some("chat"), "anthropic", None).unwrap().profile() == Some("anthropic:c")
    });
    assert_eq!(
        b.model_for(Some("chat")).unwrap(),
        "anthropic/claude-sonnet-4-5"
    );
    b.chat("chat", "/model default").unwrap();
    eventually("a sees the pin cleared", || {
        a.sessions().pin("chat").unwrap().is_none()
    });
}

#[test]
fn concurrent_reports_from_three_instances_follow_one_schedule() {
    let redis = RedisServer::start();
    let clock = ManualClock::at(NOW);
    let instances: Vec<Instance> = (0..3)
        .map(|_| instance(&redis.url(), &clock, &IDS))
        .collect();
    let agents: Vec<_> = instances
        .iter()
        .map(|i| i.gateway.default_agent().unwrap())
        .collect();
    // Each round: 3 instances × 4 threads × 10 reports at once, then the window ends. One step per
    // round: 30 s, 60 s, 5 min (SPEC §5).
    for (round, window) in [(1u32, 30_000i64), (2, 60_000), (3, 300_000)] {
        let started = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for agent in &agents {
                for _ in 0..4 {
                    let started = &started;
                    s.spawn(move || {
                        let mut mine = 0;
                        for _ in 0..10 {
                            if let Applied::WindowStarted(_) =
                                agent.report("anthropic:a", MODEL, rate_limit()).unwrap()
                            {
                                mine += 1;
                            }
                        }
                        started.fetch_add(mine, std::sync::atomic::Ordering::Relaxed);
                    });
                }
            }
        });
        assert_eq!(
            started.into_inner(),
            1,
            "round {round}: one report starts the window"
        );
        let now = modelauth::Clock::now_ms(&clock);
        for agent in &agents {
            eventually("every instance agrees", || {
                let u = agent.store().unwrap().usage_of("anthropic:a");
                (u.error_count, u.cooldown_until) == (round, now + window)
            });
        }
        clock.advance(window + 1);
    }
}

#[test]
fn a_server_restarted_empty_is_repopulated_and_one_with_data_keeps_it() {
    let mut redis = RedisServer::start();
    let clock = ManualClock::at(NOW);
    let a = instance(&redis.url(), &clock, &IDS);
    let agent = a.gateway.default_agent().unwrap();
    agent.report("anthropic:a", MODEL, rate_limit()).unwrap();
    agent
        .set_order("anthropic", &["anthropic:a".into(), "anthropic:b".into()])
        .unwrap();
    agent.chat("chat", "/model opus@anthropic:b").unwrap();
    redis.kill();
    // Serving goes on from what the instance knows; a change made now is kept.
    let t = now();
    assert_eq!(
        agent
            .next(Some("chat"), "anthropic", MODEL)
            .unwrap()
            .profile(),
        Some("anthropic:b")
    );
    agent.chat("other", "/model opus@anthropic:c").unwrap();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let health = a.gateway.shared_health().unwrap();
    assert!(!health.up, "{health:?}");
    assert!(health.pending >= 1, "{health:?}");
    redis.restart(false);
    // Repopulated from the instance: a new instance sees the cooldown, the order and both pins.
    eventually("written back", || a.gateway.shared_health().unwrap().up);
    let b = instance(&redis.url(), &clock, &IDS);
    let b = b.gateway.default_agent().unwrap();
    assert_eq!(b.order("anthropic").unwrap().override_ids.unwrap().len(), 2);
    assert_eq!(
        b.store().unwrap().usage_of("anthropic:a").cooldown_until,
        NOW + 30_000
    );
    assert_eq!(
        b.next(Some("other"), "anthropic", MODEL).unwrap().profile(),
        Some("anthropic:c")
    );
    // The pin made before the crash is back too (from the instance's memory).
    let pin = b
        .session_view("chat")
        .unwrap()
        .expect("the pin was repopulated");
    assert_eq!(
        (pin.profile.as_deref(), pin.profile_source),
        (Some("anthropic:b"), Some("user"))
    );
    // With data: everything is still there after the restart.
    redis.save();
    redis.restart(true);
    eventually("reconnected", || {
        let h = a.gateway.shared_health().unwrap();
        h.up && h.pending == 0
    });
    let c = instance(&redis.url(), &clock, &IDS);
    let c = c.gateway.default_agent().unwrap();
    assert_eq!(
        c.next(Some("other"), "anthropic", MODEL).unwrap().profile(),
        Some("anthropic:c")
    );
    assert_eq!(c.store().unwrap().usage_of("anthropic:a").error_count, 1);
}

#[test]
fn a_paused_server_costs_at_most_the_bound_and_a_pin_set_meanwhile_is_written_back() {
    let redis = RedisServer::start();
    let clock = ManualClock::at(NOW);
    let a = instance(&redis.url(), &clock, &IDS);
    let agent = a.gateway.default_agent().unwrap();
    agent.next(Some("chat"), "anthropic", MODEL).unwrap();
    redis.pause();
    let t = now();
    agent.chat("chat", "/model opus@anthropic:b").unwrap();
    agent.report("anthropic:a", MODEL, rate_limit()).unwrap();
    for _ in 0..100 {
        agent.next(Some("chat"), "anthropic", MODEL).unwrap();
    }
    // The first call waits for the 50 ms bound; the rest do not wait at all.
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(
        agent
            .next(Some("chat"), "anthropic", MODEL)
            .unwrap()
            .profile(),
        Some("anthropic:b")
    );
    redis.resume();
    eventually("written back", || {
        let h = a.gateway.shared_health().unwrap();
        h.up && h.pending == 0
    });
    let b = instance(&redis.url(), &clock, &IDS);
    let b = b.gateway.default_agent().unwrap();
    assert_eq!(
        b.next(Some("chat"), "anthropic", MODEL).unwrap().profile(),
        Some("anthropic:b")
    );
    assert_eq!(
        b.store().unwrap().usage_of("anthropic:a").cooldown_until,
        NOW + 30_000
    );
}

#[test]
fn wrong_urls_and_passwords_are_named_without_the_password() {
    let redis = RedisServer::start_with(Some("right-horse"));
    let clock = ManualClock::at(NOW);
    let open = |url: &str| {
        Gateway::builder()
            .in_memory(CONFIG, &[])
            .unwrap()
            .env(modelauth::config::Env::default())
            .clock(Arc::new(clock.clone()))
            .redis(Some(RedisSettings::new(url)))
            .open()
    };
    let bad = open("redis//nowhere").unwrap_err().to_string();
    assert!(bad.contains("not a Redis URL"), "{bad}");
    // TLS to a server that does not speak it.
    let tls = open(&format!("rediss://:right-horse@127.0.0.1:{}", redis.port)).unwrap();
    eventually("the TLS problem is known", || {
        tls.shared_health().unwrap().problem.is_some()
    });
    let h = tls.shared_health().unwrap();
    let problem = h.problem.unwrap();
    assert!(
        problem.contains("TLS failed") && !problem.contains("right-horse"),
        "{problem}"
    );
    assert!(h.url.contains(":***@127.0.0.1"), "{}", h.url);
    // An unreadable CA file is refused at once, naming it.
    let ca = Gateway::builder()
        .in_memory(CONFIG, &[])
        .unwrap()
        .env(modelauth::config::Env::default())
        .redis(Some(RedisSettings::new("rediss://127.0.0.1:1")))
        .redis_ca("/nonexistent/ca.pem")
        .open()
        .unwrap_err()
        .to_string();
    assert!(ca.contains("/nonexistent/ca.pem"), "{ca}");
    // A wrong password opens (the server may come back right), and says what is wrong.
    let wrong = open(&format!("redis://:wrong-horse@127.0.0.1:{}", redis.port)).unwrap();
    eventually("the problem is known", || {
        wrong.shared_health().unwrap().problem.is_some()
    });
    let h = wrong.shared_health().unwrap();
    let problem = h.problem.unwrap();
    assert!(problem.contains("authentication failed"), "{problem}");
    assert!(
        !problem.contains("wrong-horse") && h.url.contains(":***@"),
        "{problem} {}",
        h.url
    );
    let right = open(&redis.url()).unwrap();
    eventually("up", || right.shared_health().unwrap().up);
}

#[test]
fn an_agent_that_outlives_its_gateway_still_hears_other_instances() {
    let redis = RedisServer::start();
    let clock = ManualClock::at(NOW);
    let a = instance(&redis.url(), &clock, &IDS);
    let b = instance(&redis.url(), &clock, &IDS);
    let b_agent = b.gateway.default_agent().unwrap();
    let Instance {
        dir: _keep,
        gateway,
    } = b;
    drop(gateway);
    let a = a.gateway.default_agent().unwrap();
    a.report("anthropic:a", MODEL, rate_limit()).unwrap();
    eventually("the agent still hears changes", || {
        b_agent.next(None, "anthropic", MODEL).unwrap().profile() == Some("anthropic:b")
    });
}

#[test]
fn a_tls_server_is_used_with_its_ca_and_refused_without() {
    let redis = RedisServer::start_tls();
    let clock = ManualClock::at(NOW);
    let open = |ca: Option<&std::path::Path>| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("openclaw.json"), CONFIG).unwrap();
        let mut b = Gateway::builder()
            .state_dir(dir.path())
            .env(modelauth::config::Env::default())
            .clock(Arc::new(clock.clone()))
            .redis(Some(RedisSettings::new(redis.url())))
            // A TLS handshake in a debug build takes 50-100 ms here (a release build: a few).
            .redis_timeout(std::time::Duration::from_millis(500));
        if let Some(ca) = ca {
            b = b.redis_ca(ca);
        }
        let g = b.open().unwrap();
        let agent = g.default_agent().unwrap();
        for id in IDS {
            agent.put_credential(id, &api_key(id)).unwrap();
        }
        (dir, g, agent)
    };
    let (_d1, g1, a) = open(Some(&redis.ca()));
    let (_d2, _g2, b) = open(Some(&redis.ca()));
    assert!(g1.shared_health().unwrap().up, "{:?}", g1.shared_health());
    a.report("anthropic:a", MODEL, rate_limit()).unwrap();
    eventually("b sees a's cooldown over TLS", || {
        b.next(None, "anthropic", MODEL).unwrap().profile() == Some("anthropic:b")
    });
    // Without the CA the certificate is not trusted: said, and served from local records meanwhile.
    let (_d3, g3, c) = open(None);
    eventually("the certificate problem is known", || {
        g3.shared_health().unwrap().problem.is_some()
    });
    let problem = g3.shared_health().unwrap().problem.unwrap();
    assert!(
        problem.contains("TLS failed") && problem.contains("--redis-ca"),
        "{problem}"
    );
    assert_eq!(
        c.next(None, "anthropic", MODEL).unwrap().profile(),
        Some("anthropic:a")
    );
}
