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
    // Where the time goes: the same parse over three disjoint parts of the corpus.
    let part = |keep: &dyn Fn(&str) -> bool| -> Vec<&str> {
        messages
            .iter()
            .map(String::as_str)
            .filter(|m| keep(m))
            .collect()
    };
    let parts = [
        ("directive", part(&|m| parse(m, &aliases).has_directive)),
        (
            "slash_no_directive",
            part(&|m| m.contains('/') && !parse(m, &aliases).has_directive),
        ),
        ("no_slash", part(&|m| !m.contains('/'))),
    ];
    let mut split = c.benchmark_group("parser_parts");
    for (name, set) in &parts {
        split.throughput(Throughput::Elements(set.len() as u64));
        split.bench_function(*name, |b| {
            b.iter(|| {
                set.iter()
                    .filter(|m| black_box(parse(m, &aliases)).has_directive)
                    .count()
            })
        });
    }
    split.finish();
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
    for (name, set) in &parts {
        if let Some(ns) = common::median_ns(&format!("parser_parts/{name}")) {
            println!(
                "  {name}: {} messages, {:.1} ns/message",
                set.len(),
                ns / set.len() as f64
            );
        }
    }
}
