//! `serve` while another process holds OpenClaw's databases locked (rollback-journal fixture, where a
//! lock blocks readers) for 20 s: the answering thread never waits on it. `/healthz` and resolves that can be
//! answered from the last snapshot answer at once; a request that must read the locked database
//! waits on the blocking pool and gets its answer or a 503 within the busy timeout.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::serve_common::serve_with;
use crate::sqlite_state::sqlite_state;

/// Holds an exclusive lock on each of `dbs` for `hold`; returns when the locks are taken.
fn lock_for(dbs: Vec<std::path::PathBuf>, hold: Duration) -> std::thread::JoinHandle<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let conns: Vec<rusqlite::Connection> = dbs
            .iter()
            .map(|db| {
                let c = rusqlite::Connection::open(db).unwrap();
                c.busy_timeout(Duration::from_secs(10)).unwrap();
                // The server's own short writes (its session autosave) may be in the way: retry.
                let mut tries = 0;
                while let Err(e) = c.execute_batch("BEGIN EXCLUSIVE") {
                    tries += 1;
                    assert!(tries < 5, "cannot lock {}: {e}", db.display());
                }
                c
            })
            .collect();
        tx.send(()).unwrap();
        std::thread::sleep(hold);
        for c in conns {
            c.execute_batch("ROLLBACK").unwrap();
        }
    });
    rx.recv().unwrap();
    handle
}

#[test]
#[allow(clippy::disallowed_methods, reason = "latency bounds are real time")]
fn a_locked_database_never_holds_the_answering_thread() {
    let dir = sqlite_state();
    let d = dir.path();
    let server = std::sync::Arc::new(serve_with(d, &[], &[]));
    let resolve = |agent: &str, session: &str| {
        let body = json!({"provider": "anthropic", "session": session});
        server.unix("POST", &format!("/v1/agents/{agent}/resolve"), Some(&body))
    };
    assert_eq!(resolve("main", "agent:main:warm").0, 200);
    assert_eq!(resolve("ops", "agent:ops:warm").0, 200);
    // A new session's automatic pin: the autosave writes it during the lock (and must not keep the
    // waiting request behind it for a whole busy timeout).
    assert_eq!(resolve("main", "agent:main:dirty").0, 200);
    let locked = lock_for(
        vec![
            d.join("state/openclaw.sqlite"),
            d.join("agents/main/agent/openclaw-agent.sqlite"),
        ],
        Duration::from_secs(20),
    );
    let started = Instant::now();
    // A session nobody has seen must be read from the locked database: it waits off the answering
    // thread.
    let waiting = {
        let server = std::sync::Arc::clone(&server);
        std::thread::spawn(move || {
            let body = json!({"provider": "anthropic", "session": "agent:main:new"});
            let answer = server.unix("POST", "/v1/agents/main/resolve", Some(&body));
            (answer, started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        for (agent, session) in [("ops", "agent:ops:warm"), ("main", "agent:main:warm")] {
            let t = Instant::now();
            let (code, answer) = resolve(agent, session);
            slowest = slowest.max(t.elapsed());
            assert_eq!(code, 200, "{agent}: {answer}");
        }
        let t = Instant::now();
        assert_eq!(server.unix("GET", "/healthz", None).0, 200);
        slowest = slowest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        slowest < Duration::from_millis(50),
        "slowest answer during the lock: {slowest:?}"
    );
    let ((code, answer), took) = waiting.join().unwrap();
    assert!(code == 200 || code == 503, "{code}: {answer}");
    if code == 503 {
        assert_eq!(answer["error"]["code"], "state_unavailable", "{answer}");
    }
    assert!(
        took < Duration::from_secs(12),
        "the waiting request took {took:?}"
    );
    locked.join().unwrap();
    assert_eq!(resolve("main", "agent:main:new").0, 200);
}

/// Sends `head` (request line and headers, with a Content-Length of 100) then `drip` body bytes
/// one every 300 ms; returns what the server answered (status line) and when.
#[allow(clippy::disallowed_methods, reason = "time bounds are real time")]
fn stall_body(addr: &str, token: &str, drip: usize) -> (String, Duration) {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let head = format!(
        "POST /v1/agents/main/resolve HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{"
    );
    c.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(8) {
        if sent < drip {
            let _ = c.write_all(b" ");
            sent += 1;
        }
        let mut buf = [0u8; 512];
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    (
        text.lines().next().unwrap_or("").to_owned(),
        started.elapsed(),
    )
}

#[test]
#[allow(clippy::disallowed_methods, reason = "time bounds are real time")]
fn a_stalled_or_dripping_body_is_cut_off_and_shutdown_has_a_deadline() {
    let dir = crate::serve_common::json_state();
    let d = dir.path();
    let mut s = serve_with(
        d,
        &["--listen", "tcp:127.0.0.1:0", "--header-timeout", "1s"],
        &[],
    );
    let addr = s.tcp.clone().unwrap();
    let token = s.token.clone().unwrap();
    for drip in [0, 20] {
        let (status, took) = stall_body(&addr, &token, drip);
        assert!(status.contains("408"), "drip {drip}: {status:?}");
        assert!(took < Duration::from_secs(4), "drip {drip}: {took:?}");
    }
    // A client that keeps a request open does not hold SIGTERM past the drain deadline.
    use std::io::Write;
    let mut stuck = std::net::TcpStream::connect(&addr).unwrap();
    stuck
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (code, took) = s.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(12), "shutdown took {took:?}");
    drop(stuck);
}

#[test]
fn every_refusal_is_the_documented_json_error() {
    let dir = crate::serve_common::json_state();
    let s = serve_with(dir.path(), &[], &[]);
    use crate::serve_common::{Conn, raw};
    let sock = s.unix.clone().unwrap();
    // A path segment that is not UTF-8, a method the route does not take, an empty order.
    let (code, body) = raw(
        Conn::Unix(&sock),
        b"GET /v1/agents/%FF%FE/status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"]["code"].is_string() && body["error"]["message"].is_string(),
        "{body}"
    );
    let (code, body) = raw(
        Conn::Unix(&sock),
        b"DELETE /v1/agents/main/resolve HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert_eq!(code, 405, "{body}");
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    let (code, body) = s.unix(
        "PUT",
        "/v1/agents/main/order/anthropic",
        Some(&json!({"profiles": []})),
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"]["code"], "empty_order");
}
