//! The shared (Redis) backend against the file backend, on a redis-server this bench starts on a free
//! loopback port:
//!
//! - `resolve`: `Agent::next` on the hot path, files vs Redis (target: within 2×, no round trip);
//! - `propagation`: from the start of instance A's `report` until instance B's snapshot shows it
//!   (target p99 ≤ 10 ms on loopback);
//! - `report throughput`: outcomes per second from 3 instances (2 threads each), distinct profiles.
//!
//! `cargo bench --bench shared` (prints percentiles and ratios)

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures wall time itself"
)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use modelauth::resolver::Outcome;
use modelauth::store::{CredentialKind, NewCredential, ProviderId, Secret};
use modelauth::{Agent, FailureReason, Gateway, RedisSettings};

const CONFIG: &str =
    r#"{ agents: { defaults: { model: { primary: "anthropic/claude-opus-4-6" } } } }"#;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[allow(
    clippy::zombie_processes,
    reason = "Server's Drop kills and waits for it"
)]
fn start_redis() -> (Server, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    let url = format!("redis://127.0.0.1:{port}");
    for _ in 0..500 {
        if let Ok(c) = redis::Client::open(url.as_str())
            && let Ok(mut con) = c.get_connection()
            && redis::cmd("PING").query::<String>(&mut con).is_ok()
        {
            return (Server(child), url);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("redis-server did not start");
}

/// A gateway on a fresh state directory with 16 anthropic profiles.
fn instance(redis: Option<&str>) -> (tempfile::TempDir, Agent) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("openclaw.json"), CONFIG).unwrap();
    let gateway = Gateway::builder()
        .state_dir(dir.path())
        .env(modelauth::config::Env::default())
        .redis(redis.map(RedisSettings::new))
        .open()
        .unwrap();
    let agent = gateway.default_agent().unwrap();
    for i in 0..16 {
        let cred = NewCredential {
            provider: ProviderId::new("anthropic").unwrap(),
            kind: CredentialKind::ApiKey,
            secret: Secret::new(format!("sk-bench-{i}")),
            expires: None,
            refresh: None,
            email: None,
            reference: None,
        };
        agent
            .put_credential(&format!("anthropic:p{i:02}"), &cred)
            .unwrap();
    }
    (dir, agent)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// ns per `next` call: samples of 1,000 calls each.
fn resolve_samples(agent: &Agent) -> Vec<f64> {
    for _ in 0..20_000 {
        agent
            .next(
                Some("agent:main:bench"),
                "anthropic",
                Some("claude-opus-4-6"),
            )
            .unwrap();
    }
    let mut out: Vec<f64> = (0..300)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..1_000 {
                std::hint::black_box(
                    agent
                        .next(
                            Some("agent:main:bench"),
                            "anthropic",
                            Some("claude-opus-4-6"),
                        )
                        .unwrap(),
                );
            }
            t.elapsed().as_nanos() as f64 / 1_000.0
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn rate_limit() -> Outcome {
    Outcome::Failure {
        reason: FailureReason::RateLimit,
        retry_after_ms: None,
    }
}

/// µs from A's report until B sees it, alternating a failure and a success on one profile.
fn propagation(a: &Agent, b: &Agent, n: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut seen, mut own) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let failing = i % 2 == 0;
        let t = Instant::now();
        a.report(
            "anthropic:p03",
            None,
            if failing {
                rate_limit()
            } else {
                Outcome::Success
            },
        )
        .unwrap();
        own.push(t.elapsed().as_nanos() as f64 / 1_000.0);
        loop {
            let cooling = b.store().unwrap().usage_of("anthropic:p03").cooldown_until > 0;
            if cooling == failing {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(5), "never propagated");
            std::hint::spin_loop();
        }
        seen.push(t.elapsed().as_nanos() as f64 / 1_000.0);
    }
    seen.sort_by(f64::total_cmp);
    own.sort_by(f64::total_cmp);
    (seen, own)
}

/// Reports per second from 3 instances × 2 threads for `secs`, each thread on its own profile.
fn throughput(agents: &[Agent], secs: u64) -> f64 {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let t = Instant::now();
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = agents
            .iter()
            .enumerate()
            .flat_map(|(i, a)| (0..2).map(move |j| (i * 2 + j, a)))
            .map(|(k, a)| {
                let stop = Arc::clone(&stop);
                s.spawn(move || {
                    let id = format!("anthropic:p{:02}", 8 + k);
                    let mut n = 0usize;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        a.report(&id, None, Outcome::Success).unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (_server, url) = start_redis();
    let (_f, file_agent) = instance(None);
    let (_r, redis_agent) = instance(Some(&url));
    let files = resolve_samples(&file_agent);
    let shared = resolve_samples(&redis_agent);
    println!("resolve (Agent::next, 16 profiles), ns per call over 300 samples of 1,000 calls:");
    println!(
        "  files  p50 {:>7.0}  p99 {:>7.0}",
        pct(&files, 0.5),
        pct(&files, 0.99)
    );
    println!(
        "  redis  p50 {:>7.0}  p99 {:>7.0}",
        pct(&shared, 0.5),
        pct(&shared, 0.99)
    );
    println!(
        "  ratio redis/files at p50: {:.2}x (target <= 2x)",
        pct(&shared, 0.5) / pct(&files, 0.5)
    );

    let (_a, a) = instance(Some(&url));
    let (_b, b) = instance(Some(&url));
    let (seen, own) = propagation(&a, &b, 2_000);
    println!("propagation A report -> B snapshot, µs over 2,000 changes:");
    println!(
        "  p50 {:.0}  p90 {:.0}  p99 {:.0}  max {:.0} (target p99 <= 10,000)",
        pct(&seen, 0.5),
        pct(&seen, 0.9),
        pct(&seen, 0.99),
        pct(&seen, 1.0)
    );
    println!(
        "  (of which A's own report call: p50 {:.0}  p99 {:.0})",
        pct(&own, 0.5),
        pct(&own, 0.99)
    );

    let (_c, c) = instance(Some(&url));
    let agents = [a, b, c];
    let rate = throughput(&agents, 3);
    println!("report throughput, 3 instances x 2 threads, distinct profiles: {rate:.0} reports/s");
}
