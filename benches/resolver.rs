//! Resolver and registry benchmarks.
//!
//! - `resolve_16`: the pure resolver with 16 profiles of one provider, half of them cooling (target ≤ 500 ns);
//! - `agent_resolve_16`: the same through `Agent::resolve` (file stamp check, snapshot, session pin);
//! - `registry_get` / `registry_set_pin` with 1,000,000 sessions, and bytes per session (target ≤ 200 B);
//! - resolve throughput on 1 vs 2 threads (target ≥ 1.8× scaling).
//!
//! `cargo bench --bench resolver`

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use modelauth::config::{Config, Env, StateDir};
use modelauth::resolver::{ManualClock, ResolveRequest, resolve};
use modelauth::session::{Registry, RegistryOptions};
use modelauth::store::{AgentId, AuthProfiles, Document, OverrideSource, ProviderId};
use serde_json::json;

mod common;

const NOW: i64 = 1_800_000_000_000;

/// 16 anthropic profiles; odd ones cool down.
fn store_json() -> serde_json::Value {
    let mut profiles = serde_json::Map::new();
    let mut stats = serde_json::Map::new();
    for i in 0..16 {
        let id = format!("anthropic:p{i:02}");
        profiles.insert(id.clone(), json!({ "type": if i % 4 == 0 { "token" } else { "api_key" }, "provider": "anthropic", "key": "k", "token": "t" }));
        let mut s = json!({ "lastUsed": NOW - 1000 * (i as i64 % 5) });
        if i % 2 == 1 {
            s["cooldownUntil"] = json!(NOW + 60_000 + i as i64);
            s["cooldownReason"] = json!("rate_limit");
        }
        stats.insert(id, s);
    }
    json!({ "version": 1, "profiles": profiles, "usageStats": stats })
}

fn store() -> AuthProfiles {
    let mut doc = Document::default();
    doc.root = store_json().as_object().unwrap().clone();
    AuthProfiles::from_document(&doc)
}

/// Resident set size in bytes, from /proc.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Median wall time of `threads` threads each doing `n` resolves.
#[allow(clippy::disallowed_methods)] // benches measure wall time themselves
fn threaded_resolves(threads: usize, n: usize) -> f64 {
    let s = Arc::new(store());
    let c = Arc::new(Config::default());
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let start = std::time::Instant::now();
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (s, c) = (Arc::clone(&s), Arc::clone(&c));
                    std::thread::spawn(move || {
                        let env = Env::default();
                        let p = ProviderId::new("anthropic").unwrap();
                        for i in 0..n {
                            let req = ResolveRequest {
                                unresolved: &[],
                                provider: &p,
                                model: Some("opus"),
                                pin: None,
                                compaction_count: 0,
                                now_ms: NOW + i as i64 % 7,
                                quota: Default::default(),
                            };
                            black_box(resolve(&s, &c, &env, &req).unwrap());
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[3]
}

fn benches(c: &mut Criterion) {
    let s = store();
    let cfg = Config::default();
    let env = Env::default();
    let p = ProviderId::new("anthropic").unwrap();
    let mut g = c.benchmark_group("resolver");
    g.bench_function("resolve_16", |b| {
        b.iter(|| {
            let req = ResolveRequest {
                unresolved: &[],
                provider: &p,
                model: Some("opus"),
                pin: None,
                compaction_count: 0,
                now_ms: NOW,
                quota: Default::default(),
            };
            black_box(resolve(black_box(&s), &cfg, &env, &req).unwrap())
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    let path = state.auth_path(&AgentId::main());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, store_json().to_string()).unwrap();
    let agent = modelauth::Gateway::builder()
        .state_dir(state.root())
        .env(Env::default())
        .clock(Arc::new(ManualClock::at(NOW)))
        .open()
        .unwrap()
        .agent("main")
        .unwrap();
    g.bench_function("agent_resolve_16", |b| {
        b.iter(|| {
            black_box(
                agent
                    .next(Some("agent:main:main"), p.as_str(), Some("opus"))
                    .unwrap(),
            )
        })
    });
    g.finish();

    // Registry with 1,000,000 sessions.
    let keys: Vec<String> = (0..1_000_000)
        .map(|i| format!("agent:main:telegram:{i:07}"))
        .collect();
    let before = rss();
    let reg = Registry::new(
        None,
        Arc::new(ManualClock::at(NOW)),
        RegistryOptions {
            max_sessions: 2_000_000,
        },
    );
    for (i, k) in keys.iter().enumerate() {
        reg.set_pin(
            k,
            if i % 2 == 0 {
                "anthropic:work"
            } else {
                "anthropic:backup"
            },
            OverrideSource::Auto,
            1,
        )
        .unwrap();
    }
    let per_session = (rss().saturating_sub(before)) as f64 / keys.len() as f64;
    let _ = reg.flush();
    let mut g = c.benchmark_group("registry");
    let mut i = 0usize;
    g.bench_function("get_pin_1m", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            black_box(reg.pin(&keys[i]).unwrap())
        })
    });
    g.bench_function("set_pin_1m", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            reg.set_pin(&keys[i], "anthropic:work", OverrideSource::User, 0)
                .unwrap()
        })
    });
    g.finish();
    println!(
        "registry: {} sessions, {per_session:.0} bytes per session (RSS growth)",
        reg.len()
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    for id in [
        "resolver/resolve_16",
        "resolver/agent_resolve_16",
        "registry/get_pin_1m",
        "registry/set_pin_1m",
    ] {
        if let Some(ns) = common::median_ns(id) {
            println!("{id}: median {ns:.0} ns");
        }
    }
    let n = 200_000;
    let t1 = threaded_resolves(1, n);
    let t2 = threaded_resolves(2, n);
    println!(
        "resolve throughput: 1 thread {:.2} M/s, 2 threads {:.2} M/s, scaling {:.2}x",
        n as f64 / t1 / 1e6,
        2.0 * n as f64 / t2 / 1e6,
        2.0 * t1 / t2
    );
}
