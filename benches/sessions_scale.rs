//! A large `sessions.json` (issue 28 item 18): 1M sessions written as OpenClaw writes them (pretty,
//! ~230 bytes an entry). Prints the memory a gateway needs to open it and answer a session that is
//! on disk (peak RSS over the process before, as a multiple of the file), and what one flush of a few
//! changed sessions costs (wall and CPU time, median of 5), for 1 and 100 changed sessions.
//!
//! `cargo bench --bench sessions_scale` (`MODELAUTH_BENCH_SESSIONS=N` for another size)

use std::io::Write;
use std::time::{Duration, Instant};

use modelauth::{Env, Gateway};

/// Writes `n` entries in OpenClaw's own layout (`JSON.stringify(store, null, 2)`), streaming.
fn write_sessions(path: &std::path::Path, n: usize) {
    let file = std::fs::File::create(path).unwrap();
    let mut out = std::io::BufWriter::new(file);
    out.write_all(b"{").unwrap();
    for i in 0..n {
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(
            out,
            "{sep}  \"agent:main:telegram:direct:{i:09}\": {{\n    \"sessionId\": \"{:08x}-0000-4000-8000-{i:012}\",\n    \"updatedAt\": {},\n    \"systemSent\": true,\n    \"chatType\": \"direct\",\n    \"lastChannel\": \"telegram\",\n    \"lastTo\": \"telegram:{i}\"\n  }}",
            i,
            1_790_000_000_000_i64 + i as i64
        )
        .unwrap();
    }
    out.write_all(b"\n}\n").unwrap();
    out.flush().unwrap();
}

/// A field of `/proc/self/status` in kB.
fn status_kb(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

/// User + system CPU time of this process.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

#[allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]
fn flush_cost(
    agent: &modelauth::Agent,
    n: usize,
    changed: usize,
    round: usize,
) -> (Duration, Duration) {
    for k in 0..changed {
        let key = format!(
            "agent:main:telegram:direct:{:09}",
            (k * 7919 + round * 104_729) % n
        );
        agent.sessions().note_compaction(&key).unwrap();
    }
    let (t, c) = (Instant::now(), cpu());
    assert_eq!(agent.flush().unwrap(), changed);
    (t.elapsed(), cpu() - c)
}

#[allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]
fn main() {
    let n: usize = std::env::var("MODELAUTH_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    std::fs::create_dir_all(dir.path().join("agents/main/agent")).unwrap();
    std::fs::write(dir.path().join("openclaw.json"), "{}").unwrap();
    let file = sessions.join("sessions.json");
    write_sessions(&file, n);
    let size = std::fs::metadata(&file).unwrap().len();
    // Peak RSS from here on: reset the high-water mark.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kb("VmRSS:");
    let gateway = Gateway::builder()
        .state_dir(dir.path())
        .env(Env::from_pairs([("HOME", "/nonexistent")]))
        .open()
        .unwrap();
    let agent = gateway.agent("main").unwrap();
    let t = Instant::now();
    let key = format!("agent:main:telegram:direct:{:09}", n / 2);
    assert!(agent.session_view(&key).unwrap().is_some());
    let open = t.elapsed();
    let peak = status_kb("VmHWM:").saturating_sub(before) * 1024;
    println!(
        "sessions.json with {n} sessions: {:.1} MB",
        size as f64 / 1e6
    );
    println!(
        "  open + first session: {:.0} ms, peak memory {:.1} MB = x{:.2} the file",
        open.as_secs_f64() * 1e3,
        peak as f64 / 1e6,
        peak as f64 / size as f64
    );
    let t = Instant::now();
    let far = format!("agent:main:telegram:direct:{:09}", 3);
    assert!(agent.session_view(&far).unwrap().is_some());
    println!(
        "  a session on disk but not in memory: {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    for changed in [1, 100] {
        let mut runs: Vec<(Duration, Duration)> = (0..5)
            .map(|round| flush_cost(&agent, n, changed, round))
            .collect();
        runs.sort();
        let (wall, cpu) = runs[2];
        println!(
            "  flush of {changed:>3} changed session(s): {:.0} ms wall, {:.0} ms CPU (median of 5)",
            wall.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3
        );
    }
    let peak = status_kb("VmHWM:").saturating_sub(before) * 1024;
    println!(
        "  peak memory after the flushes: {:.1} MB = x{:.2} the file",
        peak as f64 / 1e6,
        peak as f64 / size as f64
    );
}
