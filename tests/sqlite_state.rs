//! OpenClaw 2026.9.6's SQLite generation through the real binary, on copies of the fixture databases
//! that OpenClaw itself wrote (`tests/fixtures/openclaw-2026.9.6`, made by
//! `tests/interop/make_fixtures.sh`). Rows are checked with SQLite directly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use serde_json::Value;

use crate::cli::{all_output, run};
use crate::common::fixture;

/// A temp copy of the fixture state directory.
pub fn sqlite_state() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("openclaw-2026.9.6"), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn state_db(dir: &Path) -> PathBuf {
    dir.join("state/openclaw.sqlite")
}

fn agent_db(dir: &Path, agent: &str) -> PathBuf {
    dir.join("agents")
        .join(agent)
        .join("agent/openclaw-agent.sqlite")
}

/// The JSON of one cell (`None`: no row).
pub fn cell(db: &Path, sql: &str, key: &str) -> Option<Value> {
    let conn = Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let text: Option<String> = conn
        .query_row(sql, [key], |r| r.get(0))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .unwrap();
    text.map(|t| serde_json::from_str(&t).unwrap())
}

/// The JSON of `config_machine_state` row `key` of the state database.
pub fn machine(dir: &Path, key: &str) -> Option<Value> {
    cell(
        &state_db(dir),
        "SELECT value_json FROM config_machine_state WHERE state_key = ?1",
        key,
    )
}

/// The JSON of row `primary` of `table` in agent `agent`'s database.
pub fn agent_cell(dir: &Path, agent: &str, table: &str) -> Option<Value> {
    let (col, key) = if table == "auth_profile_store" {
        ("store_json", "store_key")
    } else {
        ("state_json", "state_key")
    };
    cell(
        &agent_db(dir, agent),
        &format!("SELECT {col} FROM {table} WHERE {key} = ?1"),
        "primary",
    )
}

fn session(dir: &Path, agent: &str, key: &str) -> Option<Value> {
    cell(
        &agent_db(dir, agent),
        "SELECT entry_json FROM session_nodes WHERE session_key = ?1",
        key,
    )
}

/// No JSON state file and no lock file anywhere under `dir`.
pub fn assert_no_json_or_locks(dir: &Path) {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name != "auth-profiles.json" && name != "sessions.json" && !name.ends_with(".lock"),
            "{} must not exist",
            f.display()
        );
    }
}

/// Runs `modelauth … line` on `dir` and asserts it succeeded; its stdout.
pub fn succeed(dir: &Path, line: &str) -> String {
    let out = run(dir, line).output().unwrap();
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON `modelauth … line` prints on `dir`.
pub fn json_of(dir: &Path, line: &str) -> Value {
    let out = run(dir, line).output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{line}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// The profile ids of a `models status --json` document, sorted.
pub fn profile_ids(status: &Value) -> Vec<String> {
    let mut ids: Vec<String> = status["providers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["profiles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q["id"].as_str().unwrap().to_owned())
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn what_openclaw_wrote_is_what_modelauth_shows() {
    let dir = sqlite_state();
    let status = json_of(dir.path(), "--json models status");
    assert_eq!(status["layout"], "sqlite");
    let mut ids = profile_ids(&status);
    ids.sort();
    assert_eq!(ids, ["anthropic:home", "anthropic:work"]);
    let ops = json_of(dir.path(), "--agent ops --json models status");
    let mut ids = profile_ids(&ops);
    ids.sort();
    assert_eq!(
        ids,
        ["anthropic:home", "anthropic:ops", "anthropic:work"],
        "ops inherits the shared profiles"
    );
    let order = all_output(&mut run(
        dir.path(),
        "models auth order get --provider anthropic",
    ));
    assert!(order.contains("anthropic:home, anthropic:work"), "{order}");
    let order = all_output(&mut run(
        dir.path(),
        "--agent ops models auth order get --provider anthropic",
    ));
    assert!(order.contains("anthropic:ops, anthropic:work"), "{order}");
    assert_eq!(
        run(dir.path(), "models status --check")
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    assert_no_json_or_locks(dir.path());
}

#[test]
fn writes_land_where_openclaw_keeps_them() {
    let dir = sqlite_state();
    let d = dir.path();
    let mut paste = run(
        d,
        "models auth paste-token --provider anthropic --profile-id anthropic:new",
    );
    assert!(
        paste
            .write_stdin("sk-ant-oat01-NEWSECRET000000000000\n")
            .output()
            .unwrap()
            .status
            .success()
    );
    let shared = machine(d, "authProfiles.store").unwrap();
    assert_eq!(
        shared["profiles"]["anthropic:new"]["token"],
        "sk-ant-oat01-NEWSECRET000000000000"
    );
    assert_eq!(shared["profiles"]["anthropic:new"]["type"], "token");
    assert!(
        shared["profiles"]["anthropic:work"].is_object(),
        "other profiles kept"
    );
    // An agent of its own keeps its new credentials in its own database.
    let mut paste = run(
        d,
        "--agent ops models auth paste-token --provider anthropic --profile-id anthropic:ops2",
    );
    assert!(
        paste
            .write_stdin("sk-ant-oat01-OPSSECRET000000000000\n")
            .output()
            .unwrap()
            .status
            .success()
    );
    assert!(
        agent_cell(d, "ops", "auth_profile_store").unwrap()["profiles"]["anthropic:ops2"]
            .is_object()
    );
    assert!(
        machine(d, "authProfiles.store").unwrap()["profiles"]
            .get("anthropic:ops2")
            .is_none()
    );

    succeed(
        d,
        "models auth order set --provider anthropic anthropic:new anthropic:work",
    );
    let state = agent_cell(d, "main", "auth_profile_state").unwrap();
    assert_eq!(
        state["order"]["anthropic"],
        serde_json::json!(["anthropic:new", "anthropic:work"])
    );
    assert_eq!(state["version"], 1);

    succeed(d, "models auth report anthropic:work --outcome rate_limit");
    let shared_state =
        machine(d, "authProfiles.state").expect("usage of a shared profile is shared");
    assert!(
        shared_state["usageStats"]["anthropic:work"]["cooldownUntil"]
            .as_i64()
            .is_some(),
        "{shared_state}"
    );

    succeed(d, "models auth remove anthropic:home");
    assert!(
        machine(d, "authProfiles.store").unwrap()["profiles"]
            .get("anthropic:home")
            .is_none()
    );
    assert_no_json_or_locks(d);
}

#[test]
fn a_chat_pin_is_stored_in_the_session_row_keeping_openclaws_fields() {
    let dir = sqlite_state();
    let d = dir.path();
    let before =
        session(d, "main", "agent:main:fixture").expect("the fixture has OpenClaw's session");
    let mut chat = run(d, "chat --session agent:main:fixture");
    let out = chat
        .write_stdin("/model sonnet@anthropic:work\n")
        .output()
        .unwrap();
    crate::common::assert_ok(&out);
    let after = session(d, "main", "agent:main:fixture").unwrap();
    assert_eq!(after["authProfileOverride"], "anthropic:work");
    assert_eq!(after["authProfileOverrideSource"], "user");
    assert_eq!(after["sessionId"], before["sessionId"]);
    for (k, v) in before.as_object().unwrap() {
        if k != "updatedAt" {
            assert_eq!(&after[k], v, "field {k} kept");
        }
    }
    // OpenClaw's readers refuse a row its triggers marked unvalidated; a valid row stays certified.
    let conn = Connection::open(agent_db(d, "main")).unwrap();
    let valid: i64 = conn
        .query_row(
            "SELECT entry_valid FROM session_nodes WHERE session_key = 'agent:main:fixture'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(valid, 1);
    let (updated, id): (i64, String) = conn
        .query_row("SELECT updated_at, current_session_id FROM session_nodes WHERE session_key = 'agent:main:fixture'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        Some(updated),
        after["updatedAt"].as_i64(),
        "row and entry agree on updatedAt"
    );
    assert_eq!(Some(id.as_str()), after["sessionId"].as_str());
    // A key OpenClaw would not list is refused, not written.
    let mut chat = run(d, "chat --session telegram:42");
    let out = chat
        .write_stdin("/model opus@anthropic:home\n")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a session key OpenClaw 2026.9 accepts")
    );
    assert!(session(d, "main", "telegram:42").is_none());
    // A new chat gets a row of its own.
    let mut chat = run(d, "chat --session agent:main:new-chat");
    assert!(
        chat.write_stdin("/model opus@anthropic:home\n")
            .output()
            .unwrap()
            .status
            .success()
    );
    let new = session(d, "main", "agent:main:new-chat").expect("new session row");
    assert_eq!(new["authProfileOverride"], "anthropic:home");
    assert!(new["sessionId"].as_str().is_some_and(|s| s.len() == 36));
    assert_no_json_or_locks(d);
}

#[test]
fn a_corrupt_cell_is_named_and_nothing_is_written() {
    let dir = sqlite_state();
    let d = dir.path();
    let conn = Connection::open(state_db(d)).unwrap();
    conn.execute("UPDATE config_machine_state SET value_json = '{\"version\":1,\"profiles\":' WHERE state_key = 'authProfiles.store'", []).unwrap();
    drop(conn);
    let out = run(d, "models status").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config_machine_state[authProfiles.store]") && err.contains("openclaw.sqlite"),
        "{err}"
    );
    let mut paste = run(
        d,
        "models auth paste-token --provider anthropic --profile-id anthropic:x",
    );
    assert_eq!(
        paste
            .write_stdin("sk-ant-oat01-XSECRET0000000000\n")
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    let conn = Connection::open(state_db(d)).unwrap();
    let text: String = conn
        .query_row(
            "SELECT value_json FROM config_machine_state WHERE state_key = 'authProfiles.store'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(text, "{\"version\":1,\"profiles\":");
}

#[test]
fn an_agent_without_a_database_is_told_who_creates_it() {
    let dir = sqlite_state();
    let d = dir.path();
    let out = run(
        d,
        "--agent fresh --create models auth order set --provider anthropic anthropic:work",
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("openclaw-agent.sqlite does not exist") && err.contains("--agent fresh"),
        "{err}"
    );
    assert!(
        !agent_db(d, "fresh").exists(),
        "modelauth never creates OpenClaw's databases"
    );
    // A read names the agents that exist instead of showing an empty one.
    let out = run(d, "--agent fresh models status").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no agent \"fresh\" (known: main"));
    // An agent OpenClaw created (its directory exists) sees the shared profiles without its database.
    std::fs::create_dir_all(d.join("agents/fresh/agent")).unwrap();
    let status = json_of(d, "--agent fresh --json models status");
    assert_eq!(profile_ids(&status).len(), 2);
}

#[test]
fn a_writer_holding_the_database_is_waited_for() {
    let dir = sqlite_state();
    let d = dir.path().to_owned();
    let mut conn = Connection::open(state_db(&d)).unwrap();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("UPDATE config_machine_state SET updated_at_ms = updated_at_ms WHERE state_key = 'auth.sharedStore'", [])
        .unwrap();
    let child = std::thread::spawn(move || {
        let mut paste = run(
            &d,
            "models auth paste-token --provider anthropic --profile-id anthropic:late",
        );
        paste
            .write_stdin("sk-ant-oat01-LATESECRET00000000\n")
            .output()
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(700));
    tx.commit().unwrap();
    let out = child.join().unwrap();
    crate::common::assert_ok(&out);
    assert!(
        machine(dir.path(), "authProfiles.store").unwrap()["profiles"]["anthropic:late"]
            .is_object()
    );
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = sqlite_state();
    let d = dir.path().to_owned();
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let d = d.clone();
            std::thread::spawn(move || {
                for i in 0..8 {
                    let mut paste = run(&d, &format!("models auth paste-token --provider anthropic --profile-id anthropic:w{w}-{i}"));
                    let out = paste.write_stdin(format!("sk-ant-oat01-W{w}I{i}SECRET0000\n")).output().unwrap();
                    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                }
            })
        })
        .collect();
    // Meanwhile another program changes a row of its own in the same database.
    let conn = Connection::open(state_db(&d)).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    for i in 0..50 {
        conn.execute(
            "INSERT INTO config_machine_state (state_key, value_json, updated_at_ms) VALUES ('test.counter', ?1, 0) \
             ON CONFLICT(state_key) DO UPDATE SET value_json = excluded.value_json",
            [i.to_string()],
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    for w in writers {
        w.join().unwrap();
    }
    let profiles = machine(&d, "authProfiles.store").unwrap()["profiles"]
        .as_object()
        .unwrap()
        .clone();
    for w in 0..3 {
        for i in 0..8 {
            assert!(
                profiles.contains_key(&format!("anthropic:w{w}-{i}")),
                "w{w}-{i} lost"
            );
        }
    }
    assert_eq!(machine(&d, "test.counter").unwrap(), 49);
    assert_no_json_or_locks(&d);
}

#[test]
fn doctor_names_the_layout_and_explains_a_directory_holding_both() {
    let dir = sqlite_state();
    let d = dir.path();
    let out = all_output(&mut run(d, "doctor"));
    assert!(
        out.contains("layout: sqlite") && out.contains("config_machine_state"),
        "{out}"
    );
    assert!(!out.contains("both generations"), "{out}");
    let legacy = d.join("agents/main/agent/auth-profiles.json");
    std::fs::write(&legacy, r#"{"version":1,"profiles":{}}"#).unwrap();
    let out = all_output(&mut run(d, "doctor"));
    assert!(
        out.contains("holds both generations")
            && out.contains("AUTH_PROFILE_MIGRATION_REQUIRED")
            && out.contains("openclaw doctor --fix")
            && out.contains(&legacy.display().to_string()),
        "{out}"
    );
    // modelauth keeps using the database, and never touches the legacy file.
    let mut paste = run(
        d,
        "models auth paste-token --provider anthropic --profile-id anthropic:mixed",
    );
    assert!(
        paste
            .write_stdin("sk-ant-oat01-MIXEDSECRET0000000\n")
            .output()
            .unwrap()
            .status
            .success()
    );
    assert_eq!(
        std::fs::read_to_string(&legacy).unwrap(),
        r#"{"version":1,"profiles":{}}"#
    );
    assert!(machine(d, "authProfiles.store").unwrap()["profiles"]["anthropic:mixed"].is_object());
    // A JSON-era directory says so.
    let json_dir = tempfile::tempdir().unwrap();
    let out = all_output(&mut run(json_dir.path(), "doctor"));
    assert!(out.contains("layout: json"), "{out}");
    let out = all_output(&mut run(json_dir.path(), "--layout sqlite models status"));
    assert!(
        out.contains("does not exist") && out.contains("--layout sqlite"),
        "{out}"
    );
}

/// Puts an order for anthropic into the shared routing state (as an older OpenClaw left it), so that
/// modelauth's `order clear` changes both databases.
pub fn plant_shared_order(dir: &Path) {
    let conn = Connection::open(dir.join("state/openclaw.sqlite")).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(20))
        .unwrap();
    let mut state =
        machine(dir, "authProfiles.state").unwrap_or_else(|| serde_json::json!({"version": 1}));
    state["order"] = serde_json::json!({"anthropic": ["anthropic:home", "anthropic:work"]});
    let changed = conn
        .execute(
            "UPDATE config_machine_state SET value_json = ?1 WHERE state_key = 'authProfiles.state'",
            [state.to_string()],
        )
        .unwrap();
    if changed == 0 {
        conn.execute(
            "INSERT INTO config_machine_state (state_key, value_json, updated_at_ms) VALUES ('authProfiles.state', ?1, 0)",
            [state.to_string()],
        )
        .unwrap();
    }
}
