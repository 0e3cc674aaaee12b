//! OAuth refresh and login against a real local token server (tests/token_server.rs): single flight
//! across 8 processes and 32 tasks, refused refresh tokens, slow endpoints, a refresher killed
//! mid-call, copied refresh tokens, and the PKCE login end to end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use modelauth::{Decision, Env, Gateway};
use serde_json::{Value, json};

use crate::token_server::{Mode, TokenServer};

const URL_VAR: &str = "MODELAUTH_ANTHROPIC_TOKEN_URL";

#[allow(clippy::disallowed_methods)]
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A JSON-era state directory whose agent `agent` holds `profiles`.
fn state_with(agents: &[(&str, Value)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("openclaw.json"), "{}").unwrap();
    for (agent, profiles) in agents {
        let d = dir.path().join("agents").join(agent).join("agent");
        std::fs::create_dir_all(&d).unwrap();
        let doc = json!({ "version": 1, "profiles": profiles });
        std::fs::write(d.join("auth-profiles.json"), doc.to_string()).unwrap();
    }
    dir
}

/// One anthropic OAuth login whose access token expires at `expires`.
fn login_expiring(expires: i64, refresh: &str) -> Value {
    json!({ "anthropic:me": {
        "type": "oauth", "provider": "anthropic", "access": "old-access", "refresh": refresh,
        "expires": expires, "email": "me@example.com",
    } })
}

fn store_of(dir: &Path, agent: &str) -> Value {
    let p = dir
        .join("agents")
        .join(agent)
        .join("agent/auth-profiles.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn modelauth(dir: &Path, server: &TokenServer) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("modelauth"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .envs(crate::common::no_real_token_endpoints())
        .env(URL_VAR, server.token_url())
        .arg("--state-dir")
        .arg(dir);
    c
}

fn gateway(dir: &Path, server: &TokenServer, timeout: Duration) -> Gateway {
    Gateway::builder()
        .state_dir(dir)
        .env(Env::from_pairs([(URL_VAR, server.token_url())]))
        .oauth_timeout(timeout)
        .open()
        .unwrap()
}

/// No refresh lock is left in `<state>/locks/oauth-refresh`.
fn assert_no_refresh_lock(dir: &Path) {
    let locks = dir.join("locks/oauth-refresh");
    let left: Vec<_> = std::fs::read_dir(&locks)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "locks left: {left:?}");
}

#[test]
fn eight_processes_and_32_tasks_refresh_an_expiring_login_exactly_once() {
    let server = TokenServer::start();
    server.set_delay(Duration::from_millis(400));
    server.accept_refresh("refresh-0");
    let dir = state_with(&[("main", login_expiring(now_ms() + 60_000, "refresh-0"))]);
    let procs: Vec<_> = (0..8)
        .map(|_| {
            modelauth(dir.path(), &server)
                .args(["--json", "resolve", "--provider", "anthropic"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let g = gateway(dir.path(), &server, Duration::from_secs(20));
    let agent = g.default_agent().unwrap();
    let secrets: Vec<String> = std::thread::scope(|s| {
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let agent = agent.clone();
                s.spawn(move || match agent.next(None, "anthropic", None).unwrap() {
                    Decision::Ready { secret, .. } => secret.expose_secret().to_owned(),
                    other => panic!("not ready: {other:?}"),
                })
            })
            .collect();
        tasks.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for p in procs {
        let out = p.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["source"], "profile anthropic:me", "{text}");
    }
    assert_eq!(server.refresh_calls(), 1, "one call to the token endpoint");
    assert!(secrets.iter().all(|s| s == "access-1"), "{secrets:?}");
    let raw =
        std::fs::read_to_string(dir.path().join("agents/main/agent/auth-profiles.json")).unwrap();
    assert_eq!(raw.matches("access-1").count(), 1, "{raw}");
    let p = &store_of(dir.path(), "main")["profiles"]["anthropic:me"];
    assert_eq!(p["refresh"], "refresh-1");
    assert_eq!(p["email"], "me@example.com", "other fields are kept");
    assert!(p["expires"].as_i64().unwrap() > now_ms() + 3_000_000);
    assert_eq!(p["modelauthRefresh"]["ok"], true);
    assert_eq!(
        server.content_types(),
        ["application/json"],
        "Anthropic's endpoint takes JSON"
    );
    assert_no_refresh_lock(dir.path());
    // The refreshed token is good for an hour: nobody refreshes again.
    assert!(matches!(
        agent.next(None, "anthropic", None).unwrap(),
        Decision::Ready { .. }
    ));
    assert_eq!(server.refresh_calls(), 1);
}

#[test]
fn a_refused_refresh_token_means_reauth_and_check_exit_1_and_no_second_call() {
    let server = TokenServer::start();
    server.set_mode(Mode::InvalidGrant);
    let dir = state_with(&[("main", login_expiring(now_ms() - 1_000, "dead-refresh"))]);
    let out = modelauth(dir.path(), &server)
        .args(["resolve", "--provider", "anthropic"])
        .output()
        .unwrap();
    let text = crate::common::text_of(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        !text.contains("dead-refresh") && !text.contains("old-access"),
        "{text}"
    );
    assert_eq!(server.refresh_calls(), 1);
    let stats = &store_of(dir.path(), "main")["usageStats"]["anthropic:me"];
    assert_eq!(stats["disabledReason"], "auth_permanent", "{stats}");
    let note = &store_of(dir.path(), "main")["profiles"]["anthropic:me"]["modelauthRefresh"];
    assert_eq!(note["error"], "invalid_grant");
    assert_eq!(note["permanent"], true);
    let status = modelauth(dir.path(), &server)
        .args(["models", "status", "--check"])
        .output()
        .unwrap();
    let st = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(1), "{st}");
    assert!(st.contains("re-auth needed"), "{st}");
    assert!(
        st.contains("models auth login --provider anthropic"),
        "{st}"
    );
    let list = modelauth(dir.path(), &server)
        .args(["--json", "models", "auth", "list"])
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows[0]["state"], "reauth");
    assert_eq!(rows[0]["refreshable"], false);
    assert_eq!(rows[0]["lastRefresh"]["error"], "invalid_grant");
    let doctor = modelauth(dir.path(), &server)
        .arg("doctor")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("needs a new login"));
    // A known-dead refresh token is never sent again, even after the disable window (2 h later).
    server.set_mode(Mode::Ok);
    let g = Gateway::builder()
        .state_dir(dir.path())
        .env(Env::from_pairs([(URL_VAR, server.token_url())]))
        .clock(std::sync::Arc::new(modelauth::ManualClock::at(
            now_ms() + 7_200_000,
        )))
        .open()
        .unwrap();
    let d = g
        .default_agent()
        .unwrap()
        .next(None, "anthropic", None)
        .unwrap();
    assert!(!matches!(d, Decision::Ready { .. }), "{d:?}");
    assert_eq!(server.refresh_calls(), 1);
}

#[test]
fn a_failing_endpoint_keeps_the_valid_old_token_in_use() {
    let server = TokenServer::start();
    server.set_mode(Mode::Fail);
    let dir = state_with(&[("main", login_expiring(now_ms() + 120_000, "r0"))]);
    let g = gateway(dir.path(), &server, Duration::from_secs(5));
    let agent = g.default_agent().unwrap();
    for _ in 0..3 {
        match agent.next(None, "anthropic", None).unwrap() {
            Decision::Ready { secret, .. } => assert_eq!(secret.expose_secret(), "old-access"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        server.refresh_calls(),
        1,
        "a failed refresh is retried after 30 s, not per call"
    );
    let p = &store_of(dir.path(), "main")["profiles"]["anthropic:me"];
    assert_eq!(p["modelauthRefresh"]["error"], "HTTP 500");
    assert!(
        store_of(dir.path(), "main").get("usageStats").is_none(),
        "no cooldown for a valid token"
    );
}

#[test]
fn a_slow_endpoint_is_cut_off_at_the_callers_timeout_and_leaves_nothing_locked() {
    let server = TokenServer::start();
    server.set_delay(Duration::from_secs(8));
    let dir = state_with(&[("main", login_expiring(now_ms() - 1_000, "r0"))]);
    let g = gateway(dir.path(), &server, Duration::from_millis(800));
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let d = g
        .default_agent()
        .unwrap()
        .next(None, "anthropic", None)
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(!matches!(d, Decision::Ready { .. }), "{d:?}");
    assert_no_refresh_lock(dir.path());
    let p = &store_of(dir.path(), "main")["profiles"]["anthropic:me"];
    assert_eq!(p["access"], "old-access");
    assert_eq!(p["modelauthRefresh"]["error"], "network");
}

#[test]
fn a_refresher_killed_mid_call_leaves_a_valid_file_and_the_next_caller_refreshes() {
    let server = TokenServer::start();
    server.set_rotate(false);
    server.set_delay(Duration::from_secs(3));
    let dir = state_with(&[("main", login_expiring(now_ms() - 1_000, "r0"))]);
    let mut child = modelauth(dir.path(), &server)
        .args(["resolve", "--provider", "anthropic"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    while server.refresh_calls() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the child never called"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let lock_dir = dir.path().join("locks/oauth-refresh");
    assert_eq!(
        std::fs::read_dir(&lock_dir).unwrap().count(),
        1,
        "the dead holder's lock is left"
    );
    server.set_delay(Duration::ZERO);
    let g = gateway(dir.path(), &server, Duration::from_secs(10));
    match g
        .default_agent()
        .unwrap()
        .next(None, "anthropic", None)
        .unwrap()
    {
        Decision::Ready { secret, .. } => assert!(secret.expose_secret().starts_with("access-")),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.refresh_calls(), 2);
    let p = &store_of(dir.path(), "main")["profiles"]["anthropic:me"];
    assert!(p["access"].as_str().unwrap().starts_with("access-"), "{p}");
    assert_no_refresh_lock(dir.path());
}

#[test]
fn doctor_finds_one_refresh_token_copied_into_two_agents() {
    let server = TokenServer::start();
    let later = now_ms() + 86_400_000;
    let dir = state_with(&[
        ("main", login_expiring(later, "shared-refresh")),
        (
            "ops",
            json!({ "anthropic:ops": {
            "type": "oauth", "provider": "anthropic", "access": "a2", "refresh": "shared-refresh", "expires": later,
        } }),
        ),
    ]);
    let out = modelauth(dir.path(), &server)
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("one OAuth refresh token is stored 2 times"),
        "{text}"
    );
    assert!(
        text.contains("anthropic:me (agent main)") && text.contains("anthropic:ops (agent ops)"),
        "{text}"
    );
    assert!(
        !text.contains("shared-refresh"),
        "the token itself is never shown"
    );
    assert_eq!(server.refresh_calls(), 0);
}

/// A GET over a raw socket; returns the status line and the `Location` header.
fn get(url: &str) -> (String, Option<String>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer.lines().next().unwrap_or("").to_owned();
    let location = answer
        .lines()
        .find_map(|l| l.strip_prefix("Location: ").map(str::to_owned));
    (status, location)
}

/// Reads the child's stderr until the authorization URL line.
fn login_url(stderr: &mut impl BufRead) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no URL printed");
        if let Some(url) = line.trim().strip_prefix("http://") {
            return format!("http://{url}");
        }
    }
}

#[test]
fn login_with_the_loopback_redirect_stores_the_profile_by_email() {
    let server = TokenServer::start();
    let dir = state_with(&[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = modelauth(dir.path(), &server)
        .env("MODELAUTH_OPENAI_CODEX_TOKEN_URL", server.token_url())
        .env(
            "MODELAUTH_OPENAI_CODEX_AUTHORIZE_URL",
            server.authorize_url(),
        )
        .env(
            "MODELAUTH_OPENAI_CODEX_REDIRECT_URI",
            format!("http://127.0.0.1:{port}/auth/callback"),
        )
        .args([
            "models",
            "auth",
            "login",
            "--provider",
            "openai-codex",
            "--no-browser",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let url = login_url(&mut stderr);
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("client_id=app_"),
        "{url}"
    );
    let (status, location) = get(&url); // the "browser" at the provider
    assert!(status.contains("302"), "{status}");
    std::thread::sleep(Duration::from_millis(300)); // the callback listener is up by now
    let (status, _) = get(&location.unwrap()); // the redirect back to modelauth
    assert!(status.contains("200"), "{status}");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(server.exchanges(), 1, "the PKCE verifier matched");
    let p = &store_of(dir.path(), "main")["profiles"]["openai-codex:me@example.com"];
    assert_eq!(p["type"], "oauth");
    assert_eq!(p["access"], "login-access");
    assert_eq!(p["refresh"], "login-refresh");
    let config: Value =
        json5::from_str(&std::fs::read_to_string(dir.path().join("openclaw.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["auth"]["profiles"]["openai-codex:me@example.com"]["mode"],
        "oauth"
    );
    assert!(
        server
            .content_types()
            .iter()
            .all(|c| c.contains("x-www-form-urlencoded"))
    );
}

#[test]
fn login_by_paste_on_a_headless_host_checks_the_state() {
    let server = TokenServer::start();
    let dir = state_with(&[]);
    let start = |dir: &Path| {
        modelauth(dir, &server)
            .env("MODELAUTH_ANTHROPIC_AUTHORIZE_URL", server.authorize_url())
            .env(
                "MODELAUTH_ANTHROPIC_REDIRECT_URI",
                "https://console.anthropic.invalid/oauth/code/callback",
            )
            .args([
                "models",
                "auth",
                "login",
                "--provider",
                "anthropic",
                "--no-browser",
                "--profile-id",
                "anthropic:work",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // A pasted code of another login (wrong state) is refused and nothing is stored.
    let mut child = start(dir.path());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let url = login_url(&mut stderr);
    let (_, location) = get(&url);
    let code = location
        .unwrap()
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    writeln!(child.stdin.take().unwrap(), "{code}#not-the-state").unwrap();
    let out = child.wait_with_output().unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    assert!(!out.status.success());
    assert!(err.contains("state does not match"), "{err}");
    assert_eq!(server.exchanges(), 0);
    // The whole redirect URL, pasted, logs in.
    let mut child = start(dir.path());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (_, location) = get(&login_url(&mut stderr));
    writeln!(child.stdin.take().unwrap(), "{}", location.unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(server.exchanges(), 1);
    let p = &store_of(dir.path(), "main")["profiles"]["anthropic:work"];
    assert_eq!(p["refresh"], "login-refresh");
    // A bogus code with the right state: the endpoint refuses the authorization code (not a refresh
    // token), and its description is shown.
    let mut child = start(dir.path());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (_, location) = get(&login_url(&mut stderr));
    let location = location.unwrap();
    let state = location
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    writeln!(child.stdin.take().unwrap(), "bogus-code#{state}").unwrap();
    let out = child.wait_with_output().unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    let all = format!("{}{err}", String::from_utf8_lossy(&out.stdout));
    assert!(!out.status.success());
    assert!(
        all.contains("refused the authorization code (invalid_grant"),
        "{all}"
    );
    assert!(
        !all.contains("refresh token") && !all.contains("retries later"),
        "{all}"
    );
    // Nothing on stdin and no loopback redirect: a clear message, not a hang.
    let mut child = start(dir.path());
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no terminal to paste"));
}

#[test]
fn serve_refreshes_a_due_login_once_for_concurrent_resolves() {
    let server = TokenServer::start();
    server.set_delay(Duration::from_millis(300));
    let dir = state_with(&[("main", login_expiring(now_ms() - 1_000, "r0"))]);
    let sock = dir.path().join("m.sock");
    let s = crate::serve_common::serve_with(
        dir.path(),
        &["--listen", &format!("unix:{}", sock.display())],
        &[(URL_VAR, &server.token_url())],
    );
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    let body = json!({"provider": "anthropic", "includeSecret": true});
                    let (code, r) = s.unix("POST", "/v1/agents/main/resolve", Some(&body));
                    assert_eq!(code, 200, "{r}");
                    r
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for r in &answers {
        assert_eq!(r["decision"], "ready", "{r}");
        assert_eq!(r["secret"], "access-1", "{r}");
    }
    assert_eq!(server.refresh_calls(), 1);
    let (code, status) = s.unix("GET", "/v1/agents/main/status", None);
    assert_eq!(code, 200);
    let text = status.to_string();
    assert!(
        text.contains("\"refreshable\":true") && !text.contains("access-1"),
        "{text}"
    );
}

#[test]
fn a_login_in_openclaws_sqlite_state_is_refreshed_in_its_shared_store_once_for_both_agents() {
    let server = TokenServer::start();
    server.set_delay(Duration::from_millis(200));
    let dir = crate::sqlite_state::sqlite_state();
    let d = dir.path();
    let g = gateway(d, &server, Duration::from_secs(10));
    let main = g.agent("main").unwrap();
    let mut cred = modelauth::NewCredential::new(
        modelauth::ProviderId::new("anthropic").unwrap(),
        modelauth::CredentialKind::OAuth,
        modelauth::Secret::new("old-access"),
        Some(now_ms() + 30_000),
    );
    cred.refresh = Some(modelauth::Secret::new("r0"));
    main.put_credential("anthropic:sub", &cred).unwrap();
    main.set_order("anthropic", &["anthropic:sub".to_owned()])
        .unwrap();
    g.agent("ops")
        .unwrap()
        .set_order("anthropic", &["anthropic:sub".to_owned()])
        .unwrap();
    let secrets: Vec<String> = std::thread::scope(|s| {
        let calls: Vec<_> = ["main", "ops", "main", "ops"]
            .iter()
            .map(|a| {
                let agent = g.agent(a).unwrap();
                s.spawn(move || match agent.next(None, "anthropic", None).unwrap() {
                    Decision::Ready { secret, .. } => secret.expose_secret().to_owned(),
                    other => panic!("{other:?}"),
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert_eq!(
        server.refresh_calls(),
        1,
        "one credential, one refresh, whichever agent asks"
    );
    assert!(secrets.iter().all(|s| s == "access-1"), "{secrets:?}");
    let shared = crate::sqlite_state::machine(d, "authProfiles.store").unwrap();
    let p = &shared["profiles"]["anthropic:sub"];
    assert_eq!(
        p["access"], "access-1",
        "written to the shared store the credential lives in"
    );
    assert_eq!(p["refresh"], "refresh-1");
    let ops_own = crate::sqlite_state::agent_cell(d, "ops", "auth_profile_store");
    assert!(
        ops_own.is_none_or(|c| c["profiles"].get("anthropic:sub").is_none()),
        "never copied into another agent's store"
    );
}

#[test]
fn trace_logging_never_shows_a_token_endpoints_answer() {
    let server = TokenServer::start();
    let stem = "TRACEplantedTOKENxyzzy0123456789";
    server.set_token_stem(stem);
    server.set_rotate(true);
    let old_refresh = "OLDrefreshPLANTEDqwerty9876543210";
    let dir = state_with(&[("main", login_expiring(now_ms() - 1000, old_refresh))]);
    let out = modelauth(dir.path(), &server)
        .env("RUST_LOG", "trace")
        .args(["--json", "resolve", "--provider", "anthropic"])
        .output()
        .unwrap();
    crate::common::assert_ok(&out);
    assert_eq!(server.refresh_calls(), 1);
    let all = crate::common::text_of(&out);
    assert!(
        all.contains("refreshing OAuth access token"),
        "trace logging is on: {all}"
    );
    for secret in [stem, old_refresh] {
        for i in 0..=secret.len() - 8 {
            let slice = &secret[i..i + 8];
            assert!(
                !all.contains(slice),
                "a slice of a token ({slice}) is in the trace output"
            );
        }
    }
}

#[test]
#[allow(clippy::disallowed_methods, reason = "latency bounds are real time")]
fn a_slow_token_endpoint_never_delays_a_still_valid_token_in_serve() {
    let server = TokenServer::start();
    server.set_delay(Duration::from_secs(3));
    // Valid for two more minutes: due for a refresh (5-minute margin), still usable.
    let dir = state_with(&[("main", login_expiring(now_ms() + 120_000, "r0"))]);
    let sock = dir.path().join("m.sock");
    let s = crate::serve_common::serve_with(
        dir.path(),
        &["--listen", &format!("unix:{}", sock.display())],
        &[(URL_VAR, &server.token_url())],
    );
    let body = json!({"provider": "anthropic", "includeSecret": true});
    let started = std::time::Instant::now();
    let (code, answer) = s.unix("POST", "/v1/agents/main/resolve", Some(&body));
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["secret"], "old-access");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    // Meanwhile the refresh runs once; its token is handed out once it lands.
    for _ in 0..5 {
        let (_, again) = s.unix("POST", "/v1/agents/main/resolve", Some(&body));
        assert_eq!(again["secret"], "old-access");
    }
    std::thread::sleep(Duration::from_millis(3500));
    let (_, after) = s.unix("POST", "/v1/agents/main/resolve", Some(&body));
    assert_eq!(after["secret"], "access-1", "{after}");
    assert_eq!(server.refresh_calls(), 1);
}
