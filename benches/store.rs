//! Store benchmarks: load + parse of a 50- and a 1,000-profile `auth-profiles.json`, and one locked
//! atomic update (lock, re-read, parse, edit, write temp, fsync, rename, dir fsync).
//!
//! `cargo bench --bench store`

use criterion::Criterion;
use modelauth::store::{AuthFile, StoreError, UsageStats};
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
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    for id in ["store/load_50", "store/load_1000", "store/locked_update_50"] {
        if let Some(ns) = common::median_ns(id) {
            println!("{id}: median {:.1} µs", ns / 1000.0);
        }
    }
}
