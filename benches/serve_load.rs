//! Load on `modelauth serve` from a separate process over loopback TCP (with the bearer token, keep-alive
//! connections): latency percentiles of `resolve` and `messages` at a fixed open-loop rate (default
//! 5,000 requests/s; latency counted from each request's scheduled send time, so a stall is not
//! hidden), then the maximum throughput of a closed loop.
//!
//! `cargo bench --bench serve_load` (RATE=n, SECS=n, CONNS=n, THREADS=n for `serve --threads`, UNIX=1 for
//! the unix socket instead of TCP; MODELAUTH_BIN=path for another build). The state is a temp copy of
//! two API-key profiles (JSON generation). `benches/wrk.sh` measures the same routes with wrk.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn state() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    std::fs::write(
        agent.join("auth-profiles.json"),
        r#"{"version":1,"profiles":{"anthropic:work":{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-LOADWORK"},"anthropic:home":{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-LOADHOME"}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        r#"{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-6"}}}}"#,
    )
    .unwrap();
    dir
}

/// A connection of either kind.
trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One keep-alive connection.
struct Conn {
    stream: Box<dyn Stream>,
    buf: Vec<u8>,
}

impl Conn {
    /// `addr` is `IP:PORT` or `unix:PATH`.
    fn new(addr: &str) -> Conn {
        let stream: Box<dyn Stream> = match addr.strip_prefix("unix:") {
            Some(path) => Box::new(std::os::unix::net::UnixStream::connect(path).unwrap()),
            None => {
                let s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                Box::new(s)
            }
        };
        Conn {
            stream,
            buf: Vec::with_capacity(8192),
        }
    }

    /// Sends `req` and reads one response; returns its status.
    fn call(&mut self, req: &[u8]) -> u16 {
        self.stream.write_all(req).unwrap();
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        loop {
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            let Some(end) = find(&self.buf, b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if self.buf.len() >= end + 4 + len {
                return head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn request(path: &str, body: &str, token: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Open loop: `conns` connections share `rate` requests/s for `secs`; latencies from scheduled times.
#[allow(
    clippy::disallowed_methods,
    reason = "a load generator measures real time"
)]
fn open_loop(
    addr: &str,
    req: &[u8],
    rate: u64,
    secs: u64,
    conns: u64,
) -> (Vec<Duration>, Vec<Duration>) {
    let interval = Duration::from_nanos(1_000_000_000 * conns / rate);
    let per_conn = rate * secs / conns;
    let handles: Vec<_> = (0..conns)
        .map(|i| {
            let (addr, req) = (addr.to_owned(), req.to_vec());
            std::thread::spawn(move || {
                let mut c = Conn::new(&addr);
                let start = Instant::now() + interval.mul_f64(i as f64 / conns as f64);
                let mut lat = Vec::with_capacity(per_conn as usize);
                let mut service = Vec::with_capacity(per_conn as usize);
                for n in 0..per_conn {
                    let due = start + interval * n as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let sent = Instant::now();
                    assert_eq!(c.call(&req), 200);
                    let done = Instant::now();
                    lat.push(done.duration_since(due));
                    service.push(done.duration_since(sent));
                }
                (lat, service)
            })
        })
        .collect();
    let (mut all, mut service) = (Vec::new(), Vec::new());
    for h in handles {
        let (l, s) = h.join().unwrap();
        all.extend(l);
        service.extend(s);
    }
    all.sort();
    service.sort();
    (all, service)
}

/// Closed loop: `conns` connections as fast as the server answers for `secs`; requests/s.
#[allow(
    clippy::disallowed_methods,
    reason = "a load generator measures real time"
)]
fn closed_loop(addr: &str, req: &[u8], secs: u64, conns: u64) -> f64 {
    let until = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            let (addr, req) = (addr.to_owned(), req.to_vec());
            std::thread::spawn(move || {
                let mut c = Conn::new(&addr);
                let mut n = 0u64;
                while Instant::now() < until {
                    assert_eq!(c.call(&req), 200);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / secs as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (rate, secs, conns) = (env_or("RATE", 5000), env_or("SECS", 10), env_or("CONNS", 4));
    // Linux lets a thread oversleep by its timer slack (50 µs by default), which would be counted as
    // the server's latency "from schedule". The load threads inherit this thread's slack of 1 ns.
    if std::fs::write("/proc/self/timerslack_ns", "1").is_err() {
        eprintln!(
            "note: cannot set the timer slack; 'from schedule' includes up to 50 µs of oversleep"
        );
    }
    let bin =
        std::env::var("MODELAUTH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_modelauth").into());
    let dir = state();
    let threads = std::env::var("THREADS").ok();
    let unix = std::env::var("UNIX").is_ok_and(|v| v == "1");
    let listen = if unix {
        format!("unix:{}", dir.path().join("modelauth.sock").display())
    } else {
        "tcp:127.0.0.1:0".to_owned()
    };
    let mut child = Command::new(&bin)
        .arg("--state-dir")
        .arg(dir.path())
        .args(["serve", "--listen", &listen])
        .args(threads.iter().flat_map(|t| ["--threads", t.as_str()]))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let printed = line
        .trim()
        .strip_prefix("listening on ")
        .expect("serve printed its address");
    let addr = printed.strip_prefix("tcp:").unwrap_or(printed).to_owned();
    // The unix socket needs no token (the socket file is private); TCP does.
    let token = std::fs::read_to_string(dir.path().join("modelauth.token"))
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    let cases = [
        (
            "resolve",
            request(
                "/v1/agents/main/resolve",
                r#"{"session":"agent:main:load","provider":"anthropic"}"#,
                &token,
            ),
        ),
        (
            "messages",
            request(
                "/v1/agents/main/messages",
                r#"{"session":"agent:main:load","text":"hello, how are you today?"}"#,
                &token,
            ),
        ),
    ];
    println!(
        "modelauth serve over {}, {conns} keep-alive connections, open loop at {rate} requests/s for {secs} s:",
        if unix {
            "its unix socket"
        } else {
            "loopback TCP"
        }
    );
    for (name, req) in &cases {
        open_loop(&addr, req, rate.min(2000), 1, conns); // warm up
        let (lat, service) = open_loop(&addr, req, rate, secs, conns);
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        for (what, v) in [("from schedule", &lat), ("from send", &service)] {
            println!(
                "{name} ({what}): n={} p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs (targets p50 ≤ 100 µs, p99 ≤ 1000 µs)",
                v.len(),
                us(percentile(v, 0.5)),
                us(percentile(v, 0.9)),
                us(percentile(v, 0.99)),
                us(percentile(v, 0.999)),
                us(*v.last().unwrap())
            );
        }
    }
    for (name, req) in &cases {
        let rps = closed_loop(&addr, req, secs.min(5), conns);
        println!(
            "{name}: maximum throughput {rps:.0} requests/s (closed loop, {conns} connections)"
        );
    }
    let _ = Command::new("kill")
        .args(["-s", "TERM", "--", &child.id().to_string()])
        .status();
    let _ = child.wait();
}
