//! `cargo bench --bench quota`: the quota-window simulation of issue 29 (see `quota_sim.rs`). Replays
//! one trace under the reactive policy (OpenClaw 2026.9.6's, modelauth's before) and under quota
//! windows with billing lanes, and prints the figures side by side with the targets.
//! `QUOTA_DAYS`, `QUOTA_SESSIONS`, `QUOTA_SEED`, `QUOTA_BUDGET_5H`, `QUOTA_BUDGET_7D` change the trace.

#[path = "quota_sim.rs"]
mod quota_sim;

use quota_sim::{Figures, Policy, Trace, replay};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn row(name: &str, a: impl std::fmt::Display, b: impl std::fmt::Display) {
    println!("{name:<58} {a:>12} {b:>12}");
}

fn main() {
    let trace = Trace {
        days: env_or("QUOTA_DAYS", 7) as i64,
        sessions: env_or("QUOTA_SESSIONS", 12) as usize,
        accounts: 3,
        budget_5h: env_or("QUOTA_BUDGET_5H", 3_000_000),
        budget_7d: env_or("QUOTA_BUDGET_7D", 36_000_000),
        seed: env_or("QUOTA_SEED", 29),
    };
    #[allow(
        clippy::disallowed_methods,
        reason = "a bench reports its own run time"
    )]
    let started = std::time::Instant::now();
    let reactive = replay(&trace, Policy::Reactive);
    let windows = replay(&trace, Policy::Windows);
    println!(
        "trace: {} days, {} sessions, {} messages; {} subscription accounts (5h budget {} tokens, 7d budget {}), 1 metered key; replayed twice in {:.1} s\n",
        trace.days,
        trace.sessions,
        reactive.messages,
        trace.accounts,
        trace.budget_5h,
        trace.budget_7d,
        started.elapsed().as_secs_f64()
    );
    row("", "reactive", "windows");
    print_rows(&reactive, &windows);
    let fewer = 100.0 * (1.0 - windows.rate_limited as f64 / reactive.rate_limited.max(1) as f64);
    println!("\ntargets (issue 29):");
    println!(
        "  429s: {fewer:.1} % fewer (target >= 90 %): {}",
        verdict(fewer >= 90.0)
    );
    println!(
        "  unintended lane crossings with windows: {} (target 0): {}",
        windows.unintended_crossings,
        verdict(windows.unintended_crossings == 0)
    );
    println!(
        "  mid-conversation switches: {} vs {} (target: no more than reactive): {}",
        windows.switches,
        reactive.switches,
        verdict(windows.switches <= reactive.switches)
    );
    sweep(&trace);
}

/// The same comparison at lighter and heavier loads, one line each (reactive / windows).
fn sweep(base: &Trace) {
    println!("\nby load (reactive / windows), same accounts and seed:");
    println!(
        "{:>9} {:>9} {:>13} {:>15} {:>17} {:>13} {:>15}",
        "sessions",
        "messages",
        "429s",
        "metered calls",
        "metered w/ room",
        "switches",
        "lane decisions"
    );
    for sessions in [6, 12, 24, 40] {
        let t = Trace { sessions, ..*base };
        let (r, w) = (replay(&t, Policy::Reactive), replay(&t, Policy::Windows));
        let pair = |a: u64, b: u64| format!("{a} / {b}");
        println!(
            "{:>9} {:>9} {:>13} {:>15} {:>17} {:>13} {:>15}",
            sessions,
            r.messages,
            pair(r.rate_limited, w.rate_limited),
            pair(r.metered_calls, w.metered_calls),
            pair(r.metered_with_room, w.metered_with_room),
            pair(r.switches, w.switches),
            pair(r.lane_decisions, w.lane_decisions)
        );
    }
}

fn print_rows(r: &Figures, w: &Figures) {
    row("429 answers received", r.rate_limited, w.rate_limited);
    row(
        "calls served by a subscription",
        r.subscription_calls,
        w.subscription_calls,
    );
    row(
        "calls billed to the metered key",
        r.metered_calls,
        w.metered_calls,
    );
    row(
        "  of which while a subscription had room",
        r.metered_with_room,
        w.metered_with_room,
    );
    row(
        "unintended lane crossings (no session opted in)",
        r.unintended_crossings,
        w.unintended_crossings,
    );
    row(
        "messages answered with a lane decision (no call)",
        r.lane_decisions,
        w.lane_decisions,
    );
    row(
        "messages that found every profile cooling",
        r.all_cooling,
        w.all_cooling,
    );
    row(
        "mid-conversation profile switches (< 5 min apart)",
        r.switches,
        w.switches,
    );
    let share = |f: &Figures| {
        let total: u64 = f.served.iter().sum::<u64>().max(1);
        f.served
            .iter()
            .map(|s| format!("{:.0}", *s as f64 * 100.0 / total as f64))
            .collect::<Vec<_>>()
            .join("/")
    };
    row("subscription tokens by account (%)", share(r), share(w));
    row(
        "spread of use across accounts (max - min, points)",
        format!("{:.1}", r.spread_points()),
        format!("{:.1}", w.spread_points()),
    );
    let served = |f: &Figures| f.served.iter().sum::<u64>() / 1_000_000;
    row(
        "subscription tokens served (millions)",
        served(r),
        served(w),
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}
