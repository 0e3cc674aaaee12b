//! How `models status` (the status view; `doctor` and `GET …/status` share it) grows with the number
//! of profiles: 1k, 10k and 40k API keys of one provider with an order override naming half of them,
//! on real files. Prints the fastest of 9 runs per size (the least disturbed by other processes on a
//! shared machine) and the growth per doubling beyond linear
//! (issue 28: at most 1.2×).
//!
//! `cargo bench --bench status_scale`

use std::time::{Duration, Instant};

use modelauth::{Env, Gateway};
use serde_json::{Map, Value, json};

/// A JSON-generation state with `n` anthropic keys and an order naming every other one.
fn state(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    let mut profiles = Map::new();
    let mut order = Vec::new();
    for i in 0..n {
        let id = format!("anthropic:k{i:06}");
        profiles.insert(id.clone(), json!({"type": "api_key", "provider": "anthropic", "key": format!("sk-ant-api03-{i:020}")}));
        if i % 2 == 0 {
            order.push(Value::from(id));
        }
    }
    let doc = json!({"version": 1, "profiles": profiles, "order": {"anthropic": order}});
    std::fs::write(agent.join("auth-profiles.json"), doc.to_string()).unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        r#"{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-6"}}}}"#,
    )
    .unwrap();
    dir
}

#[allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]
fn fastest_status(n: usize) -> Duration {
    let dir = state(n);
    let gateway = Gateway::builder()
        .state_dir(dir.path())
        .env(Env::from_pairs([("HOME", "/nonexistent")]))
        .open()
        .unwrap();
    let agent = gateway.agent("main").unwrap();
    agent.status().unwrap(); // warm: the file is parsed once
    let mut runs: Vec<Duration> = (0..9)
        .map(|_| {
            let t = Instant::now();
            let s = agent.status().unwrap();
            assert_eq!(
                s.providers.iter().map(|p| p.profiles.len()).sum::<usize>(),
                n
            );
            t.elapsed()
        })
        .collect();
    runs.sort();
    runs[0]
}

fn main() {
    let sizes = [1_000, 10_000, 40_000];
    let times: Vec<(usize, Duration)> = sizes.iter().map(|&n| (n, fastest_status(n))).collect();
    println!("models status (fastest of 9 runs):");
    for (n, t) in &times {
        println!(
            "  {n:>6} profiles: {:>9.2} ms  ({:.2} µs per profile)",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e6 / *n as f64
        );
    }
    for pair in times.windows(2) {
        let ((n1, t1), (n2, t2)) = (pair[0], pair[1]);
        let ratio = t2.as_secs_f64() / t1.as_secs_f64();
        let linear = n2 as f64 / n1 as f64;
        let per_doubling = (ratio / linear).powf(1.0 / linear.log2());
        println!(
            "  {n1} -> {n2}: time x{ratio:.2} for x{linear:.0} profiles; growth per doubling beyond linear: x{per_doubling:.3} (target <= 1.2)"
        );
    }
}
