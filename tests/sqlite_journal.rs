//! Every commit modelauth makes to OpenClaw's databases touches one database file: a change that
//! spans the state database and the agent's never uses a SQLite super-journal (in rollback-journal
//! mode a hot journal that names one is refused by OpenClaw's read-only start-up snapshot).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::json;

use crate::sqlite_state::{machine, sqlite_state};

#[test]
fn a_change_across_both_databases_never_makes_a_super_journal() {
    let dir = sqlite_state();
    let d = dir.path().to_owned();
    let gateway = modelauth::Gateway::builder()
        .state_dir(&d)
        .env(modelauth::Env::from_pairs([("HOME", "/nonexistent")]))
        .open()
        .unwrap();
    let agent = gateway.agent("main").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (stop, seen, state) = (Arc::clone(&stop), Arc::clone(&seen), d.join("state"));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(entries) = std::fs::read_dir(&state) {
                    for e in entries.flatten() {
                        if e.file_name().to_string_lossy().contains("-mj") {
                            seen.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        })
    };
    let conn = rusqlite::Connection::open(d.join("state/openclaw.sqlite")).unwrap();
    for _ in 0..40 {
        // An order in the shared layer too (as an older OpenClaw left it): clearing changes both files.
        let mut state = machine(&d, "authProfiles.state").unwrap_or_else(|| json!({"version": 1}));
        state["order"] = json!({"anthropic": ["anthropic:home", "anthropic:work"]});
        let updated = conn
            .execute(
                "UPDATE config_machine_state SET value_json = ?1 WHERE state_key = 'authProfiles.state'",
                [state.to_string()],
            )
            .unwrap();
        if updated == 0 {
            conn.execute(
                "INSERT INTO config_machine_state (state_key, value_json, updated_at_ms) VALUES ('authProfiles.state', ?1, 0)",
                [state.to_string()],
            )
            .unwrap();
        }
        agent
            .set_order(
                "anthropic",
                &["anthropic:work".into(), "anthropic:home".into()],
            )
            .unwrap();
        assert!(agent.clear_order("anthropic").unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    assert!(
        machine(&d, "authProfiles.state").unwrap()["order"]
            .get("anthropic")
            .is_none()
    );
    assert_eq!(
        seen.load(Ordering::Relaxed),
        0,
        "a super-journal was seen beside the state database"
    );
}

/// issue 32: the freshness check reads SQLite's commit counters without a lock; every commit of
/// another process (here the CLI, as OpenClaw would) is still seen by the very next call, with the
/// databases in rollback-journal mode (as OpenClaw leaves them at rest) and in WAL mode (as its
/// running gateway uses them).
#[test]
fn every_commit_of_another_process_is_seen_by_the_next_call_in_both_journal_modes() {
    for mode in ["DELETE", "WAL"] {
        let dir = crate::sqlite_state::sqlite_state();
        let d = dir.path();
        let dbs = [
            d.join("state/openclaw.sqlite"),
            d.join("agents/main/agent/openclaw-agent.sqlite"),
        ];
        // A connection of "OpenClaw" that stays open (a running gateway keeps its WAL index alive).
        let holders: Vec<rusqlite::Connection> = dbs
            .iter()
            .map(|db| {
                let c = rusqlite::Connection::open(db).unwrap();
                let got: String = c
                    .query_row(&format!("PRAGMA journal_mode={mode}"), [], |r| r.get(0))
                    .unwrap();
                assert_eq!(got.to_ascii_uppercase(), mode);
                c
            })
            .collect();
        let gateway = modelauth::Gateway::open(d).unwrap();
        let agent = gateway.agent("main").unwrap();
        for round in 0..6 {
            let order = if round % 2 == 0 {
                ["anthropic:work", "anthropic:home"]
            } else {
                ["anthropic:home", "anthropic:work"]
            };
            crate::sqlite_state::succeed(
                d,
                &format!(
                    "models auth order set --provider anthropic {} {}",
                    order[0], order[1]
                ),
            );
            let decision = agent.next(None, "anthropic", None).unwrap();
            assert_eq!(
                decision.profile(),
                Some(order[0]),
                "{mode}, round {round}: the other process's commit was not seen"
            );
            // Answered again without a commit in between: the same.
            assert_eq!(
                agent.next(None, "anthropic", None).unwrap().profile(),
                Some(order[0])
            );
        }
        drop(holders);
    }
}
