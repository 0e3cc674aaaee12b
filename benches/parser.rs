//! Parser throughput over the shared 100,000-message chat corpus, beside a `memchr` scan for `/` as the
//! floor. Prints mean ns per message for both and their ratio (targets: <= 40 ns, <= 3x the floor).

#[path = "common.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use modelauth::parser::{Aliases, parse};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/bench/chat_corpus.jsonl"
);

fn load_corpus() -> Vec<String> {
    let text = std::fs::read_to_string(CORPUS).unwrap_or_else(|e| panic!("reading {CORPUS}: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("corpus line is a JSON string"))
        .collect()
}

fn main() {
    let messages = load_corpus();
    let aliases = Aliases::new(["opus", "sonnet", "gpt"]);
    let directives = messages
        .iter()
        .filter(|m| parse(m, &aliases).has_directive)
        .count();
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("parser");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("parse_corpus", |b| {
        b.iter(|| {
            messages
                .iter()
                .filter(|m| black_box(parse(m, &aliases)).has_directive)
                .count()
        })
    });
    group.bench_function("memchr_floor", |b| {
        b.iter(|| {
            messages
                .iter()
                .filter(|m| memchr::memchr(b'/', black_box(m.as_bytes())).is_some())
                .count()
        })
    });
    group.finish();
    c.final_summary();
    let n = messages.len() as f64;
    if let (Some(ours), Some(floor)) = (
        common::median_ns("parser/parse_corpus"),
        common::median_ns("parser/memchr_floor"),
    ) {
        println!(
            "corpus: {} messages, {directives} with a directive\nparse: {:.1} ns/message (median)\nmemchr floor: {:.1} ns/message\nratio: {:.2}x",
            messages.len(),
            ours / n,
            floor / n,
            ours / floor
        );
    }
}
