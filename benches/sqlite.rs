//! The SQLite generation against the JSON one, through the public `Gateway` API: `next` (the check
//! that the state is unchanged — three `PRAGMA data_version`s on SQLite, a `stat` on JSON — plus the
//! resolution) and `report` (one outcome written: a `BEGIN IMMEDIATE` transaction on SQLite, a locked
//! atomic file rewrite on JSON). SQLite runs on a copy of the fixture databases OpenClaw 2026.9.6
//! wrote; JSON on the same two profiles; each with 14 API keys added (16 profiles).
//!
//! `cargo bench --bench sqlite`

use std::path::Path;

use criterion::Criterion;
use modelauth::store::{CredentialKind, NewCredential, ProviderId, Secret};
use modelauth::{Gateway, Outcome};

mod common;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn json_state(dir: &Path) {
    let agent = dir.join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    let store = serde_json::json!({"version": 1, "profiles": {
        "anthropic:work": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-bench-work"},
        "anthropic:home": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-bench-home"}},
        "order": {"anthropic": ["anthropic:home", "anthropic:work"]}});
    std::fs::write(agent.join("auth-profiles.json"), store.to_string()).unwrap();
    std::fs::write(
        dir.join("openclaw.json"),
        r#"{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-6"}}}}"#,
    )
    .unwrap();
}

fn benches(c: &mut Criterion) {
    let sqlite = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openclaw-2026.9.6"),
        sqlite.path(),
    );
    let json = tempfile::tempdir().unwrap();
    json_state(json.path());
    let mut g = c.benchmark_group("generation");
    for (name, dir) in [("sqlite", sqlite.path()), ("json", json.path())] {
        let gateway = Gateway::open(dir).unwrap();
        let agent = gateway.agent("main").unwrap();
        // 16 profiles in each generation: the fixture's two and 14 API keys.
        for i in 0..14 {
            let cred = NewCredential::new(
                ProviderId::new("anthropic").unwrap(),
                CredentialKind::ApiKey,
                Secret::new(format!("sk-ant-api03-bench-{i:02}")),
                None,
            );
            agent
                .put_credential(&format!("anthropic:k{i:02}"), &cred)
                .unwrap();
        }
        agent
            .next(Some("agent:main:bench"), "anthropic", None)
            .unwrap();
        g.bench_function(format!("next_{name}"), |b| {
            b.iter(|| {
                agent
                    .next(Some("agent:main:bench"), "anthropic", None)
                    .unwrap()
            })
        });
        g.bench_function(format!("report_{name}"), |b| {
            b.iter(|| {
                agent
                    .report("anthropic:home", None, Outcome::Success)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    let get = |id: &str| common::median_ns(&format!("generation/{id}"));
    for op in ["next", "report"] {
        if let (Some(s), Some(j)) = (get(&format!("{op}_sqlite")), get(&format!("{op}_json"))) {
            println!(
                "{op}: sqlite median {:.2} µs, json {:.2} µs, ratio {:.2}",
                s / 1000.0,
                j / 1000.0,
                s / j
            );
        }
    }
}
