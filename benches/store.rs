//! Store benchmarks: load + parse of a 50- and a 1,000-profile `auth-profiles.json`, and one locked
//! atomic update (lock, re-read, parse, edit, write temp, fsync, rename, dir fsync); the lookup of a
//! session key absent from a 60,000-session `sessions.json` (a new chat), and a registry's first contact
//! with that file (one read that warms it) and with the sessions in it afterwards.
//!
//! `cargo bench --bench store`

use criterion::Criterion;
use std::sync::Arc;
use std::time::Instant;

use modelauth::backend::json::{AuthFile, SessionsFile};
use modelauth::resolver::ManualClock;
use modelauth::session::{Registry, RegistryOptions};
use modelauth::store::{StoreError, UsageStats};
use serde_json::json;

mod common;

/// Writes a store of `n` profiles (mixed kinds, with usage statistics) into `dir`.
fn write_store(dir: &std::path::Path, n: usize) -> AuthFile {
    let mut profiles = serde_json::Map::new();
    let mut stats = serde_json::Map::new();
    for i in 0..n {
        let id = format!("anthropic:p{i}");
        let entry = match i % 3 {
            0 => {
                json!({ "type": "api_key", "provider": "anthropic", "key": format!("sk-ant-api03-{i:040}") })
            }
            1 => {
                json!({ "type": "token", "provider": "anthropic", "token": format!("sk-ant-oat01-{i:060}"), "expires": 1_900_000_000_000i64 })
            }
            _ => {
                json!({ "type": "oauth", "provider": "openai-codex", "access": format!("{i:0200}"), "refresh": format!("{i:080}"), "expires": 1_900_000_000_000i64, "email": "me@example.com" })
            }
        };
        profiles.insert(id.clone(), entry);
        stats.insert(id, json!({ "lastUsed": 1_763_900_000_000i64 + i as i64, "errorCount": 0, "failureCounts": { "rate_limit": 1 } }));
    }
    let path = dir.join(format!("auth-profiles-{n}.json"));
    let doc = json!({ "version": 1, "profiles": profiles, "usageStats": stats, "order": { "anthropic": ["anthropic:p0", "anthropic:p1"] } });
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    AuthFile::new(path)
}

/// Sessions in the `sessions.json` of the session benches.
const SESSIONS: usize = 60_000;

/// Writes a gateway-like `sessions.json` of [`SESSIONS`] chats into `dir`.
fn write_sessions(dir: &std::path::Path) -> std::path::PathBuf {
    let mut root = serde_json::Map::new();
    for i in 0..SESSIONS {
        root.insert(
            format!("agent:main:telegram:{i}"),
            json!({ "sessionId": "0b5a1c2e-1111-4222-8333-444455556666",
                "updatedAt": 1_763_900_000_000i64 + i as i64, "chatType": "direct",
                "authProfileOverride": "anthropic:p1", "authProfileOverrideSource": "auto",
                "inputTokens": 1234, "outputTokens": 567 }),
        );
    }
    let path = dir.join("sessions.json");
    std::fs::write(&path, serde_json::to_vec(&root).unwrap()).unwrap();
    path
}

/// A registry's first contact with the sessions file: (ms for the first stored session, which reads
/// and warms, µs per first contact with each of 1,000 other stored sessions), median of 5 fresh runs.
#[allow(clippy::disallowed_methods)] // benches measure wall time themselves
fn first_contact(path: &std::path::Path) -> (f64, f64) {
    let mut firsts = Vec::new();
    let mut others = Vec::new();
    for _ in 0..5 {
        let reg = Registry::new(
            Some(Arc::new(modelauth::backend::json::JsonSessions::new(
                SessionsFile::new(path),
            ))),
            Arc::new(ManualClock::at(1_763_900_000_000)),
            RegistryOptions::default(),
        );
        let t = Instant::now();
        assert!(reg.pin("agent:main:telegram:7").unwrap().is_some());
        firsts.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        for i in 0..1000 {
            let key = format!("agent:main:telegram:{}", SESSIONS - 1 - i);
            assert!(reg.pin(&key).unwrap().is_some());
        }
        others.push(t.elapsed().as_secs_f64() * 1e6 / 1000.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut firsts), median(&mut others))
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let small = write_store(dir.path(), 50);
    let large = write_store(dir.path(), 1000);
    let mut g = c.benchmark_group("store");
    g.bench_function("load_50", |b| b.iter(|| small.load().unwrap()));
    g.bench_function("load_1000", |b| b.iter(|| large.load().unwrap()));
    let mut n = 0i64;
    g.bench_function("locked_update_50", |b| {
        b.iter(|| {
            n += 1;
            small
                .update(|e| {
                    e.set_usage(
                        "anthropic:p0",
                        &UsageStats {
                            last_used: n,
                            ..UsageStats::default()
                        },
                    );
                    Ok::<_, StoreError>(())
                })
                .unwrap()
        })
    });
    let sessions = SessionsFile::new(write_sessions(dir.path()));
    g.bench_function("sessions_absent_key_60k", |b| {
        b.iter(|| sessions.load_one("agent:main:discord:new").unwrap())
    });
    g.finish();
    let (first_ms, other_us) = first_contact(sessions.path());
    println!(
        "registry first contact with a {SESSIONS}-session sessions.json: {first_ms:.0} ms once (read + warm), then {other_us:.2} µs per stored session (median of 5)"
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    for id in [
        "store/load_50",
        "store/load_1000",
        "store/locked_update_50",
        "store/sessions_absent_key_60k",
    ] {
        if let Some(ns) = common::median_ns(id) {
            println!("{id}: median {:.1} µs", ns / 1000.0);
        }
    }
}
