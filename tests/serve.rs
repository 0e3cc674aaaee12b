//! `modelauth serve` through real sockets: the API flow, auth on TCP, bad input of every kind, socket
//! life cycle, other writers, shutdown with requests in flight, and the OpenAPI document.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::{Value, json};

use crate::serve_common::{Conn, json_state, raw, request, serve};

const SECRETS: [&str; 2] = ["sk-ant-api03-SERVEWORK0000", "sk-ant-api03-SERVEHOME0000"];

fn no_secret(v: &Value) {
    let text = v.to_string();
    for s in SECRETS {
        assert!(!text.contains(s), "secret in {text}");
    }
}

#[test]
fn pin_resolve_report_and_resolve_again() {
    let dir = json_state();
    let s = serve(
        dir.path(),
        &[
            "--listen",
            "tcp:127.0.0.1:0",
            "--listen",
            &format!("unix:{}", dir.path().join("m.sock").display()),
        ],
    );
    let (code, reply) = s.tcp(
        "POST",
        "/v1/agents/main/messages",
        Some(&json!({"session": "agent:main:t1", "text": "/model sonnet@anthropic:home"})),
    );
    assert_eq!(code, 200, "{reply}");
    assert_eq!(
        reply["reply"],
        "Model set to sonnet (anthropic/claude-sonnet-4-6). Auth profile set to anthropic:home."
    );
    assert_eq!(reply["directive"], "applied");
    let (code, r) = s.unix(
        "POST",
        "/v1/agents/main/resolve",
        Some(&json!({"session": "agent:main:t1", "provider": "anthropic"})),
    );
    assert_eq!(code, 200);
    assert_eq!(r["decision"], "ready");
    assert_eq!(r["profile"], "anthropic:home");
    assert!(r.get("secret").is_none(), "no secret unless asked: {r}");
    no_secret(&r);
    let (_, r) = s.unix(
        "POST",
        "/v1/agents/main/resolve",
        Some(&json!({"session": "agent:main:t1", "provider": "anthropic", "includeSecret": true})),
    );
    assert_eq!(r["secret"], "sk-ant-api03-SERVEHOME0000");
    // An unpinned session rotates away from a profile that hit a rate limit.
    let (_, r) = s.tcp(
        "POST",
        "/v1/agents/main/resolve",
        Some(&json!({"session": "agent:main:t2", "provider": "anthropic"})),
    );
    assert_eq!(r["profile"], "anthropic:work");
    let (code, o) = s.tcp("POST", "/v1/agents/main/outcomes", Some(&json!({"profile": "anthropic:work", "outcome": "failure", "status": 429, "body": "rate limited"})));
    assert_eq!(code, 200, "{o}");
    assert_eq!(o["applied"], "windowStarted");
    assert_eq!(o["state"]["state"], "cooldown");
    let (_, r) = s.tcp(
        "POST",
        "/v1/agents/main/resolve",
        Some(&json!({"session": "agent:main:t2", "provider": "anthropic"})),
    );
    assert_eq!(r["profile"], "anthropic:home", "{r}");
    let (code, v) = s.unix("GET", "/v1/agents/main/sessions/agent:main:t1", None);
    assert_eq!(code, 200);
    assert_eq!(v["profile"], "anthropic:home");
    assert_eq!(v["profileSource"], "user");
    let (code, st) = s.unix("GET", "/v1/agents/main/status", None);
    assert_eq!(code, 200);
    assert_eq!(st["agent"], "main");
    no_secret(&st);
    let (code, o) = s.unix(
        "PUT",
        "/v1/agents/main/order/anthropic",
        Some(&json!({"profiles": ["anthropic:home", "anthropic:work"]})),
    );
    assert_eq!(code, 200, "{o}");
    assert_eq!(o["override"], json!(["anthropic:home", "anthropic:work"]));
    let (_, o) = s.unix("DELETE", "/v1/agents/main/order/anthropic", None);
    assert_eq!(o["cleared"], true);
    let (_, o) = s.unix("GET", "/v1/agents/main/order/anthropic", None);
    assert_eq!(o["override"], Value::Null);
    let (_, m) = s.unix("GET", "/metrics", None);
    let m = m.as_str().unwrap().to_owned();
    assert!(
        m.contains("modelauth_requests_total{route=\"/v1/agents/{agent}/resolve\",code=\"200\"}"),
        "{m}"
    );
    assert!(m.contains("modelauth_resolve_seconds_count 4"), "{m}");
    assert!(
        m.contains("modelauth_profiles_blocked{agent=\"main\",state=\"cooldown\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("modelauth_session_pins{agent=\"main\",source=\"user\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("modelauth_session_pins{agent=\"main\",source=\"auto\"} 1"),
        "{m}"
    );
    assert!(
        !m.contains("agent:main:t1") && !m.contains("anthropic:home"),
        "no ids in labels: {m}"
    );
}

#[test]
fn tcp_needs_the_token_and_the_unix_socket_is_private() {
    let dir = json_state();
    let sock = dir.path().join("m.sock");
    let mut s = serve(
        dir.path(),
        &[
            "--listen",
            "tcp:127.0.0.1:0",
            "--listen",
            &format!("unix:{}", sock.display()),
        ],
    );
    let addr = s.tcp.clone().unwrap();
    let (code, e) = request(Conn::Tcp(&addr), "GET", "/v1/agents/main/status", None, &[]);
    assert_eq!(code, 401);
    assert_eq!(e["error"]["code"], "unauthorized");
    let (code, _) = request(
        Conn::Tcp(&addr),
        "GET",
        "/v1/agents/main/status",
        None,
        &[("authorization", "Bearer wrong-token")],
    );
    assert_eq!(code, 401);
    assert_eq!(s.tcp("GET", "/healthz", None).0, 200);
    // Refusals are counted under the route's template; the client's id never becomes a label.
    let (code, _) = request(
        Conn::Tcp(&addr),
        "GET",
        "/v1/agents/sneaky/status",
        None,
        &[],
    );
    assert_eq!(code, 401);
    let (_, metrics) = s.unix("GET", "/metrics", None);
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains(
            "modelauth_requests_total{route=\"/v1/agents/{agent}/status\",code=\"401\"} 3"
        ),
        "{metrics}"
    );
    assert!(!metrics.contains("sneaky"), "{metrics}");
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let token_file = dir.path().join("modelauth.token");
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let token = s.token.clone().unwrap();
    assert!(token.len() >= 32);
    // The scheme is case-insensitive.
    let lower = format!("bearer {token}");
    let (code, _) = request(
        Conn::Tcp(&addr),
        "GET",
        "/v1/agents/main/status",
        None,
        &[("authorization", lower.as_str())],
    );
    assert_eq!(code, 200);
    // A flood of refused requests is counted, and logged at most once per 10 s.
    for _ in 0..200 {
        let (code, _) = request(Conn::Tcp(&addr), "GET", "/healthz?x", None, &[]);
        assert_eq!(code, 401);
    }
    s.terminate();
    let log = s.stderr();
    assert!(
        log.contains("bearer token refused")
            && !log.contains("wrong-token")
            && !log.contains(&token),
        "{log}"
    );
    assert!(
        log.matches("bearer token refused").count() <= 2,
        "one line per interval: {log}"
    );
    // A remote address needs --allow-remote.
    let out = crate::cli::run(dir.path(), "serve --listen tcp:0.0.0.0:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

#[test]
fn bad_input_of_every_kind_gets_a_named_4xx() {
    let dir = json_state();
    let s = serve(
        dir.path(),
        &[
            "--listen",
            &format!("unix:{}", dir.path().join("m.sock").display()),
        ],
    );
    let sock = s.unix.clone().unwrap();
    let c = Conn::Unix(&sock);
    let post = |path: &str, body: &str| request(c, "POST", path, Some(body), &[]);
    let (code, e) = post("/v1/agents/main/messages", "{not json");
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("bad_json")),
        "{e}"
    );
    let (code, e) = post("/v1/agents/main/messages", r#"{"session": 5, "text": "x"}"#);
    assert_eq!(code, 400);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("session"),
        "{e}"
    );
    let (code, e) = post(
        "/v1/agents/main/resolve",
        r#"{"provider": "anthropic", "secret": true}"#,
    );
    assert_eq!(code, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `secret`"),
        "{e}"
    );
    let (code, e) = post(
        "/v1/agents/main/outcomes",
        r#"{"profile": "anthropic:work", "outcome": "exploded"}"#,
    );
    assert_eq!(code, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rate_limit"),
        "{e}"
    );
    let (code, e) = post(
        "/v1/agents/main/outcomes",
        r#"{"profile": "anthropic:nope", "outcome": "success"}"#,
    );
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (404, Some("unknown_profile")),
        "{e}"
    );
    let big = format!(r#"{{"session": "s", "text": "{}"}}"#, "x".repeat(1 << 20));
    let (code, e) = post("/v1/agents/main/messages", &big);
    assert_eq!(code, 413, "{e}");
    let (code, e) = request(c, "GET", "/v1/agents/..%2F..%2Fetc/status", None, &[]);
    assert!(code == 400 || code == 404, "{code} {e}");
    let (code, e) = request(c, "GET", "/v1/agents/../status", None, &[]);
    assert!(code == 400 || code == 404, "{code} {e}");
    let (code, e) = request(c, "GET", "/v1/agents/nobody/status", None, &[]);
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (404, Some("unknown_agent"))
    );
    let (code, e) = raw(c, b"POST /v1/agents/main/messages HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}");
    assert_eq!(code, 415, "{e}");
    let (code, _) = request(c, "GET", "/v1/agents/main/sessions/never-seen", None, &[]);
    assert_eq!(code, 404);
    let (code, e) = request(
        c,
        "PUT",
        "/v1/agents/main/order/anthropic",
        Some(r#"{"profiles": ["openai:x"]}"#),
        &[],
    );
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (404, Some("unknown_profile")),
        "{e}"
    );
    // hyper's own refusals, sent before any service runs, carry the documented body too.
    let (code, e) = raw(c, b"NOT A REQUEST LINE\r\n\r\n");
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{e}"
    );
    let many: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
    let (code, e) = raw(
        c,
        format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{many}\r\n").as_bytes(),
    );
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (431, Some("headers_too_large")),
        "{e}"
    );
    // The server is still fine.
    assert_eq!(s.unix("GET", "/healthz", None).0, 200);
}

#[test]
fn a_live_socket_is_refused_and_a_stale_one_replaced() {
    let dir = json_state();
    let sock = dir.path().join("m.sock");
    let listen = format!("unix:{}", sock.display());
    let first = serve(dir.path(), &["--listen", &listen]);
    let out = crate::cli::run(dir.path(), &format!("serve --listen {listen}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by a running server"));
    drop(first);
    // The killed server left its socket behind: the next one replaces it.
    assert!(sock.exists());
    let second = serve(dir.path(), &["--listen", &listen]);
    assert_eq!(second.unix("GET", "/healthz", None).0, 200);
}

#[test]
fn edits_by_the_cli_are_seen_and_a_corrupt_file_is_a_503_for_that_agent_only() {
    let dir = json_state();
    let ops = dir.path().join("agents/ops/agent");
    std::fs::create_dir_all(&ops).unwrap();
    std::fs::write(
        ops.join("auth-profiles.json"),
        r#"{"version":1,"profiles":{}}"#,
    )
    .unwrap();
    let s = serve(
        dir.path(),
        &[
            "--listen",
            &format!("unix:{}", dir.path().join("m.sock").display()),
        ],
    );
    assert_eq!(s.unix("GET", "/v1/agents/ops/status", None).0, 200);
    let out = crate::cli::run(
        dir.path(),
        "models auth order set --provider anthropic anthropic:home",
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let (_, o) = s.unix("GET", "/v1/agents/main/order/anthropic", None);
    assert_eq!(o["override"], json!(["anthropic:home"]));
    std::fs::write(ops.join("auth-profiles.json"), "{ broken").unwrap();
    let (code, e) = s.unix("GET", "/v1/agents/ops/status", None);
    assert_eq!(code, 503, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agents/ops/agent/auth-profiles.json"),
        "{e}"
    );
    assert_eq!(
        s.unix("GET", "/v1/agents/main/status", None).0,
        200,
        "other agents still served"
    );
}

#[test]
fn shutdown_finishes_requests_in_flight_and_writes_every_pin() {
    let dir = json_state();
    let mut s = serve(dir.path(), &["--listen", "tcp:127.0.0.1:0"]);
    let addr = s.tcp.clone().unwrap();
    let token = format!("Bearer {}", s.token.clone().unwrap());
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let (addr, token) = (addr.clone(), token.clone());
            std::thread::spawn(move || {
                let mut done = Vec::new();
                for j in 0..200 {
                    let body = json!({"session": format!("agent:main:c{i}-{j}"), "text": "/model opus@anthropic:home"}).to_string();
                    let r = std::panic::catch_unwind(|| request(Conn::Tcp(&addr), "POST", "/v1/agents/main/messages", Some(&body), &[("authorization", &token)]));
                    match r {
                        Ok((200, _)) => done.push(format!("agent:main:c{i}-{j}")),
                        Ok((0, _)) | Err(_) => break,
                        Ok((code, v)) => panic!("{code} {v}"),
                    }
                }
                done
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    let (code, took) = s.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(2), "exit took {took:?}");
    let answered: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(!answered.is_empty());
    let sessions: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("agents/main/sessions/sessions.json")).unwrap(),
    )
    .unwrap();
    for key in &answered {
        assert_eq!(
            sessions[key]["authProfileOverride"], "anthropic:home",
            "{key} answered but not written"
        );
    }
}

#[test]
fn concurrent_clients_and_a_slow_one() {
    let dir = json_state();
    let s = serve(dir.path(), &["--listen", "tcp:127.0.0.1:0"]);
    let addr = s.tcp.clone().unwrap();
    // A client that sends its headers one byte at a time, slowly, while others are served.
    let slow = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut c = std::net::TcpStream::connect(&addr).unwrap();
            for b in b"GET /healthz HTTP/1.1\r\nhost: x\r\n" {
                if c.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(40));
            }
        })
    };
    let token = format!("Bearer {}", s.token.clone().unwrap());
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let (addr, token) = (addr.clone(), token.clone());
            std::thread::spawn(move || {
                for j in 0..25 {
                    let body =
                        json!({"session": format!("agent:main:w{i}-{j}"), "provider": "anthropic"})
                            .to_string();
                    let (code, r) = request(
                        Conn::Tcp(&addr),
                        "POST",
                        "/v1/agents/main/resolve",
                        Some(&body),
                        &[("authorization", &token)],
                    );
                    assert_eq!(code, 200, "{r}");
                    assert_eq!(r["decision"], "ready");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    slow.join().unwrap();
}

#[test]
fn a_slow_loris_client_is_cut_off_at_the_header_timeout() {
    let dir = json_state();
    let s = serve(
        dir.path(),
        &["--listen", "tcp:127.0.0.1:0", "--header-timeout", "1s"],
    );
    let addr = s.tcp.clone().unwrap();
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    // One header byte every 200 ms, never finishing the headers.
    let mut closed = false;
    for b in
        b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    {
        if c.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        match c.read(&mut buf) {
            Ok(_) => {
                closed = true;
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let took = started.elapsed();
    assert!(closed, "the slow client was never disconnected");
    assert!(took < Duration::from_secs(5), "cut off after {took:?}");
    // Others are still served.
    let (code, _) = s.tcp("GET", "/healthz", None);
    assert_eq!(code, 200);
}

#[test]
fn the_openapi_document_matches_the_routes() {
    let doc: Value = serde_json::from_str(modelauth::server::api::OPENAPI).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut served: Vec<(String, String)> = modelauth::server::api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    served.sort();
    assert_eq!(documented, served);
    // Every schema reference resolves.
    let text = modelauth::server::api::OPENAPI;
    for r in text.split("\"$ref\": \"#/components/").skip(1) {
        let name = r.split('"').next().unwrap();
        let mut parts = name.split('/');
        let (kind, item) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(
            doc["components"][kind].get(item).is_some(),
            "dangling $ref {name}"
        );
    }
    let dir = json_state();
    let s = serve(
        dir.path(),
        &[
            "--listen",
            &format!("unix:{}", dir.path().join("m.sock").display()),
        ],
    );
    let (code, served) = s.unix("GET", "/v1/openapi.json", None);
    assert_eq!(code, 200);
    assert_eq!(served, doc);
    // Every documented GET route without parameters answers.
    for (method, path) in modelauth::server::api::ROUTES {
        if *method == "get" && !path.contains('{') {
            assert_eq!(s.unix("GET", path, None).0, 200, "{path}");
        }
    }
}

/// Runs one of the example clients and returns its JSON lines by step.
fn client_steps(mut cmd: std::process::Command) -> std::collections::BTreeMap<String, Value> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["step"].as_str().unwrap().to_owned(), v))
        .collect()
}

fn assert_demo(steps: &std::collections::BTreeMap<String, Value>) {
    assert_eq!(
        steps["pin"]["reply"],
        "Model reset to default (opus (anthropic/claude-opus-4-6)). Auth profile set to anthropic:work."
    );
    assert_eq!(steps["resolve"]["profile"], "anthropic:work");
    assert_eq!(steps["report"]["applied"], "windowStarted");
    assert_eq!(
        steps["resolve-again"]["pinned"], "anthropic:work",
        "a user pin stays first"
    );
    assert_eq!(
        steps["resolve-again"]["unpinned"], "anthropic:home",
        "the next profile"
    );
    assert_eq!(steps["error"]["status"], 400);
    assert_eq!(steps["error"]["code"], "bad_field");
}

#[test]
fn the_example_clients_pin_resolve_report_and_resolve_again() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for client in ["node", "python"] {
        let dir = json_state();
        let sock = dir.path().join("m.sock");
        let s = serve(
            dir.path(),
            &[
                "--listen",
                "tcp:127.0.0.1:0",
                "--listen",
                &format!("unix:{}", sock.display()),
            ],
        );
        // Node over TCP with the token, Python over the unix socket.
        let cmd = match client {
            "node" => {
                let mut c = std::process::Command::new("node");
                c.arg(root.join("clients/node/modelauth.mjs"));
                c.env("MODELAUTH_DEMO", "1");
                c.env(
                    "MODELAUTH_URL",
                    format!("http://{}", s.tcp.as_deref().unwrap()),
                );
                c.env("MODELAUTH_TOKEN", s.token.as_deref().unwrap());
                c
            }
            _ => {
                let mut c = std::process::Command::new("python3");
                c.arg(root.join("clients/python/modelauth_client.py"));
                c.env("MODELAUTH_DEMO", "1");
                c.env("MODELAUTH_SOCKET", &sock);
                c
            }
        };
        assert_demo(&client_steps(cmd));
    }
}

#[test]
fn auto_pins_are_written_within_a_second_while_serving() {
    let dir = json_state();
    let s = serve(
        dir.path(),
        &[
            "--listen",
            &format!("unix:{}", dir.path().join("m.sock").display()),
        ],
    );
    let (code, r) = s.unix(
        "POST",
        "/v1/agents/main/resolve",
        Some(&json!({"session": "agent:main:auto", "provider": "anthropic"})),
    );
    assert_eq!(code, 200, "{r}");
    std::thread::sleep(modelauth::server::AUTOSAVE * 2 + Duration::from_millis(500));
    drop(s); // SIGKILL: no shutdown flush
    let sessions: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("agents/main/sessions/sessions.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        sessions["agent:main:auto"]["authProfileOverride"],
        r["profile"]
    );
    assert_eq!(
        sessions["agent:main:auto"]["authProfileOverrideSource"],
        "auto"
    );
}

#[test]
fn a_write_waiting_on_a_lock_does_not_stall_reads() {
    use modelauth::store::lock::{LockOptions, acquire};
    let dir = json_state();
    // The default: one thread answers every connection.
    let s = serve(dir.path(), &["--listen", "tcp:127.0.0.1:0"]);
    let store = dir.path().join("agents/main/agent/auth-profiles.json");
    // This test process holds the store's lock, as a running OpenClaw writing it would.
    let held = acquire(&store, LockOptions::default()).unwrap();
    let released = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let put = scope.spawn(|| {
            let r = s.tcp(
                "PUT",
                "/v1/agents/main/order/anthropic",
                Some(&json!({"profiles": ["anthropic:home"]})),
            );
            // The answer can only come once this test has let the lock go.
            assert!(released.load(std::sync::atomic::Ordering::SeqCst));
            r
        });
        std::thread::sleep(Duration::from_millis(300));
        for i in 0..20 {
            let (code, r) = s.tcp(
                "POST",
                "/v1/agents/main/resolve",
                Some(&json!({"session": format!("agent:main:r{i}"), "provider": "anthropic"})),
            );
            assert_eq!(code, 200, "{r}");
            assert_eq!(
                r["profile"], "anthropic:work",
                "the old order still applies"
            );
        }
        assert!(!put.is_finished(), "the write waits for the lock");
        released.store(true, std::sync::atomic::Ordering::SeqCst);
        drop(held);
        let (code, r) = put.join().unwrap();
        assert_eq!(code, 200, "{r}");
        assert_eq!(r["override"], json!(["anthropic:home"]));
    });
    let (code, r) = s.tcp(
        "POST",
        "/v1/agents/main/resolve",
        Some(&json!({"provider": "anthropic"})),
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(
        r["profile"], "anthropic:home",
        "the new order applies once written"
    );
}

#[test]
fn several_worker_threads_serve_too_and_zero_is_refused() {
    let dir = json_state();
    let s = serve(
        dir.path(),
        &["--listen", "tcp:127.0.0.1:0", "--threads", "2"],
    );
    std::thread::scope(|scope| {
        for i in 0..4 {
            let s = &s;
            scope.spawn(move || {
                let texts = ["/model sonnet", "/model opus"];
                for j in 0..10 {
                    let (code, r) = s.tcp(
                        "POST",
                        "/v1/agents/main/messages",
                        Some(&json!({"session": format!("agent:main:t{i}"), "text": texts[j % 2]})),
                    );
                    assert_eq!(code, 200, "{r}");
                    assert_eq!(r["directive"], "applied", "{r}");
                }
            });
        }
    });
    let (code, r) = s.tcp("GET", "/v1/agents/main/sessions/agent:main:t3", None);
    assert_eq!(code, 200, "{r}");
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("modelauth"))
        .arg("--state-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "tcp:127.0.0.1:0", "--threads", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--threads"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `POST …/resolve` goes the direct path when its body is plain JSON of a declared length and its
/// agent segment has no escapes, and through the router otherwise (chunked body, `%`-escaped agent,
/// another content type, an oversized length): the answers and refusals are the same either way,
/// and every one is counted under the route.
#[test]
fn resolve_answers_alike_whichever_way_the_request_goes() {
    let dir = json_state();
    let sock = dir.path().join("m.sock");
    let _server = serve(
        dir.path(),
        &["--listen", &format!("unix:{}", sock.display())],
    );
    let c = Conn::Unix(&sock);
    let body = r#"{"session":"agent:main:alike","provider":"anthropic"}"#;
    let direct = |path: &str, body: &str| request(c, "POST", path, Some(body), &[]);
    let (code, first) = direct("/v1/agents/main/resolve", body);
    assert_eq!(code, 200, "{first}");
    let (_, again) = direct("/v1/agents/main/resolve", body);
    let chunked = format!(
        "POST /v1/agents/main/resolve HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let (code, routed) = raw(c, chunked.as_bytes());
    assert_eq!(code, 200, "{routed}");
    let (code, escaped) = direct("/v1/agents/ma%69n/resolve", body);
    assert_eq!(code, 200, "{escaped}");
    // The first resolution pinned the session; every later one answers from the pin.
    assert_eq!(again["profile"], first["profile"]);
    assert_eq!(again["candidates"][0]["place"], "auto pin", "{again}");
    assert_eq!(
        routed, again,
        "the router's answer differs from the direct one"
    );
    assert_eq!(escaped, again);
    assert_eq!(first["decision"], "ready", "{first}");
    // Refusals on the direct path name what is wrong, as the router's do.
    let (code, e) = direct("/v1/agents/main/resolve", r#"{"provider": 5}"#);
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("bad_field")),
        "{e}"
    );
    assert!(
        e["error"]["message"].as_str().unwrap().contains("provider"),
        "{e}"
    );
    let (code, e) = direct("/v1/agents/main/resolve", "{\"provider\":");
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("bad_json")),
        "{e}"
    );
    let (code, e) = direct("/v1/agents/nobody/resolve", body);
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (404, Some("unknown_agent")),
        "{e}"
    );
    let (code, e) = direct("/v1/agents/BAD%20ID/resolve", body);
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("bad_id")),
        "{e}"
    );
    let (code, e) = raw(c, format!("POST /v1/agents/main/resolve HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}", body.len()).as_bytes());
    assert_eq!(code, 415, "{e}");
    let (code, e) = raw(c, b"POST /v1/agents/main/resolve HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 70000\r\n\r\n{}");
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (413, Some("body_too_large")),
        "{e}"
    );
    let (_, metrics) = request(c, "GET", "/metrics", None, &[]);
    let text = metrics.as_str().unwrap();
    let count = |code: &str| -> u64 {
        let line = format!(
            "modelauth_requests_total{{route=\"/v1/agents/{{agent}}/resolve\",code=\"{code}\"}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(line.as_str()))
            .map_or(0, |n| n.trim().parse().unwrap())
    };
    assert_eq!(
        (count("200"), count("400"), count("404")),
        (4, 3, 1),
        "{text}"
    );
    assert_eq!((count("413"), count("415")), (1, 1), "{text}");
}
