//! `modelauth parse` as a whole process over the shared 100,000-message corpus (JSON lines in, JSON
//! lines out): start-up, reading, parsing, writing. Prints percentiles of the wall time per message over
//! repeated runs and the ratio to the reference extractor's 5,924 ns/message (parse alone, no I/O).
//!
//! `cargo bench --bench parse_process` (RUNS=n to change the number of runs, MODELAUTH_BIN=path to
//! measure another build).

use std::process::{Command, Stdio};
use std::time::Instant;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/bench/chat_corpus.jsonl"
);
/// The reference TypeScript extractor, per message, without I/O (issue "One core, pluggable state").
const REFERENCE_NS: f64 = 5_924.0;

#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(31);
    let messages = std::fs::read_to_string(CORPUS)
        .expect("the corpus beside the repository (../shared/bench)")
        .lines()
        .count();
    let state = tempfile::tempdir().unwrap();
    // MODELAUTH_BIN compares another build (e.g. a previous commit's) with the same harness.
    let bin =
        std::env::var("MODELAUTH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_modelauth").into());
    let once = || {
        let input = std::fs::File::open(CORPUS).unwrap();
        let t = Instant::now();
        let status = Command::new(&bin)
            .arg("--state-dir")
            .arg(state.path())
            .arg("parse")
            .stdin(input)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        t.elapsed().as_secs_f64() * 1e9 / messages as f64
    };
    for _ in 0..3 {
        once();
    }
    let mut per_message: Vec<f64> = (0..runs).map(|_| once()).collect();
    per_message.sort_by(f64::total_cmp);
    let pct = |p: f64| per_message[((per_message.len() - 1) as f64 * p).round() as usize];
    println!("parse_process: {messages} messages, {runs} runs of the whole process");
    println!(
        "ns/message: p10 {:.0}, median {:.0}, p90 {:.0}, max {:.0}",
        pct(0.1),
        pct(0.5),
        pct(0.9),
        pct(1.0)
    );
    println!(
        "ratio to the reference extractor (5,924 ns, no I/O): {:.1}x faster; target median <= 590 ns",
        REFERENCE_NS / pct(0.5)
    );
}
