//! The shared state through real processes: concurrent `models auth report` from three instances, an
//! order set with the CLI seen by a running `serve`, and what `status`/`doctor` say about the backend.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::redis_server::RedisServer;
use crate::serve_common::{json_state, serve_with};

/// `modelauth --state-dir DIR --redis URL ARGS…` with a clean environment.
fn modelauth(dir: &std::path::Path, url: &str, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("modelauth"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .envs(crate::common::no_real_token_endpoints())
        .arg("--state-dir")
        .arg(dir)
        .args(["--redis", url])
        .args(args);
    c
}

#[test]
fn three_instances_reporting_at_once_start_one_window() {
    let redis = RedisServer::start();
    let dirs: Vec<_> = (0..3).map(|_| json_state()).collect();
    let report = [
        "models",
        "auth",
        "report",
        "anthropic:work",
        "--outcome",
        "rate_limit",
        "--model",
        "claude-opus-4-6",
        "--json",
    ];
    let children: Vec<_> = (0..24)
        .map(|i| {
            modelauth(dirs[i % 3].path(), &redis.url(), &report)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut started = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        if v["applied"] == "windowStarted" {
            started += 1;
        }
    }
    let mut con = redis.con();
    let record: String = redis::cmd("GET")
        .arg("modelauth:main:usage:anthropic:work")
        .query(&mut con)
        .unwrap();
    let record: Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["errorCount"], 1, "{record}");
    assert_eq!(record["cooldownReason"], "rate_limit", "{record}");
    assert_eq!(started, 1, "exactly one report starts the window");
    // The record expires by itself: the window, then the 24 h counter reset.
    let ttl: i64 = redis::cmd("PTTL")
        .arg("modelauth:main:usage:anthropic:work")
        .query(&mut con)
        .unwrap();
    assert!(ttl > 23 * 3_600_000 && ttl <= 24 * 3_600_000, "{ttl}");
    // The local file holds no routing change: the shared state is the record.
    let local: Value =
        crate::common::read_json(&dirs[0].path().join("agents/main/agent/auth-profiles.json"));
    assert!(local.get("usageStats").is_none(), "{local}");
}

#[test]
fn an_order_set_with_the_cli_reaches_a_running_server() {
    let redis = RedisServer::start();
    let (one, two) = (json_state(), json_state());
    let sock = one.path().join("m.sock");
    let s = serve_with(
        one.path(),
        &["--listen", &format!("unix:{}", sock.display())],
        &[("MODELAUTH_REDIS_URL", &redis.url())],
    );
    let resolve = json!({"provider": "anthropic"});
    let (code, r) = s.unix("POST", "/v1/agents/main/resolve", Some(&resolve));
    assert_eq!(
        (code, r["profile"].as_str()),
        (200, Some("anthropic:home")),
        "{r}"
    );
    let out = modelauth(
        two.path(),
        &redis.url(),
        &[
            "models",
            "auth",
            "order",
            "set",
            "--provider",
            "anthropic",
            "anthropic:work",
        ],
    )
    .output()
    .unwrap();
    crate::common::assert_ok(&out);
    let mut seen = false;
    for _ in 0..500 {
        let (_, r) = s.unix("POST", "/v1/agents/main/resolve", Some(&resolve));
        if r["profile"] == "anthropic:work" {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(seen, "the running server never saw the order");
}

#[test]
fn status_and_doctor_name_the_backend_and_an_unreachable_server() {
    let redis = RedisServer::start();
    let dir = json_state();
    let out = modelauth(dir.path(), &redis.url(), &["doctor"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("shared through Redis at {}", redis.url())),
        "{text}"
    );
    let out = modelauth(dir.path(), &redis.url(), &["models", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Routing state: redis {}", redis.url())),
        "{text}"
    );
    // A server that is not there: named without its password, check exit 1, doctor fails.
    let port = redis.port;
    drop(redis);
    let gone = format!("redis://:s3cret-pw@127.0.0.1:{port}");
    let out = modelauth(dir.path(), &gone, &["models", "status", "--check"])
        .output()
        .unwrap();
    let text = crate::common::text_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("redis://:***@127.0.0.1:{port}")),
        "{text}"
    );
    assert!(!text.contains("s3cret-pw"), "{text}");
    let out = modelauth(dir.path(), &gone, &["doctor"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("cannot connect") && !text.contains("s3cret-pw"),
        "{text}"
    );
    // Without --redis, the files: doctor says so.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("modelauth"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("--state-dir")
        .arg(dir.path())
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("this host's files"), "{text}");
}

#[test]
fn state_import_and_export_move_orders_and_pins_idempotently() {
    let redis = RedisServer::start();
    let one = json_state();
    let sessions = one.path().join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    std::fs::write(
        sessions.join("sessions.json"),
        json!({"agent:main:tg:1": {"sessionId": "6f1c1c51-3b8a-4f43-a3c5-0d0d5c1f0a01",
            "authProfileOverride": "anthropic:home", "authProfileOverrideSource": "user", "updatedAt": 1}})
        .to_string(),
    )
    .unwrap();
    let json_of = |args: &[&str], dir: &std::path::Path| -> Value {
        let out = modelauth(dir, &redis.url(), args).output().unwrap();
        crate::common::assert_ok(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let dry = json_of(&["state", "import", "--dry-run", "--json"], one.path());
    assert_eq!(
        (dry["orders"].as_u64(), dry["sessions"].as_u64()),
        (Some(1), Some(1)),
        "{dry}"
    );
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("modelauth:main:*")
        .query(&mut redis.con())
        .unwrap();
    assert!(keys.is_empty(), "a dry run wrote {keys:?}");
    let done = json_of(&["state", "import", "--json"], one.path());
    assert_eq!(
        (done["orders"].as_u64(), done["kept"].as_u64()),
        (Some(1), Some(0)),
        "{done}"
    );
    let again = json_of(&["state", "import", "--json"], one.path());
    assert_eq!(
        (again["orders"].as_u64(), again["kept"].as_u64()),
        (Some(0), Some(2)),
        "{again}"
    );
    // Another instance, whose files have neither, follows the imported order and pin.
    let two = json_state();
    let file = two.path().join("agents/main/agent/auth-profiles.json");
    let mut doc = crate::common::read_json(&file);
    doc.as_object_mut().unwrap().remove("order");
    std::fs::write(&file, doc.to_string()).unwrap();
    let r = json_of(
        &[
            "resolve",
            "--provider",
            "anthropic",
            "--session",
            "agent:main:tg:1",
            "--json",
        ],
        two.path(),
    );
    assert_eq!(r["profile"], "anthropic:home", "{r}");
    let r = json_of(
        &["resolve", "--provider", "anthropic", "--json"],
        two.path(),
    );
    assert_eq!(r["profile"], "anthropic:work", "{r}");
    // Export writes them into the second instance's files (for running without Redis again).
    let out = json_of(&["state", "export", "--json"], two.path());
    assert_eq!(out["orders"], 1, "{out}");
    assert_eq!(
        crate::common::read_json(&file)["order"]["anthropic"],
        json!(["anthropic:work", "anthropic:home"])
    );
    let pins = crate::common::read_json(&two.path().join("agents/main/sessions/sessions.json"));
    assert_eq!(
        pins["agent:main:tg:1"]["authProfileOverride"], "anthropic:home",
        "{pins}"
    );
    // Without a server the command says what is missing.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("modelauth"))
        .env_clear()
        .arg("--state-dir")
        .arg(two.path())
        .args(["state", "export"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--redis URL"));
}
