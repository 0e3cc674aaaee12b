//! Every commit modelauth makes to OpenClaw's databases touches one database file: a change that
//! spans the state database and the agent's never uses a SQLite super-journal (in rollback-journal
//! mode a hot journal that names one is refused by OpenClaw's read-only start-up snapshot).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::sqlite_state::{machine, plant_shared_order, sqlite_state};

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
    for _ in 0..40 {
        // An order in the shared layer too (as an older OpenClaw left it): clearing changes both files.
        plant_shared_order(&d);
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

/// A commit that waits for a reader does not keep other readers out meanwhile. In rollback-journal
/// mode a waiting commit holds SQLite's pending lock, which refuses every new reader; OpenClaw's
/// readers give up after 5 s ("database is locked": its start-up failed so beside a commit that
/// waited on its own start-up snapshot). modelauth's commit waits briefly, rolls back and tries again.
#[test]
fn a_commit_waiting_for_a_reader_lets_other_readers_in() {
    let dir = sqlite_state();
    let d = dir.path().to_owned();
    plant_shared_order(&d);
    // A long read of the state database, as OpenClaw's start-up snapshot.
    let snapshot = rusqlite::Connection::open(d.join("state/openclaw.sqlite")).unwrap();
    snapshot.execute_batch("BEGIN").unwrap();
    let rows: i64 = snapshot
        .query_row("SELECT count(*) FROM config_machine_state", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(rows > 0);
    // A change to both databases, which has to wait for that read to end.
    let writer = {
        let d = d.clone();
        std::thread::spawn(move || {
            crate::cli::run(&d, "models auth order clear --provider anthropic")
                .output()
                .unwrap()
        })
    };
    std::thread::sleep(std::time::Duration::from_secs(1));
    // Another process reads meanwhile; before, it waited out its busy timeout and failed.
    let order = crate::cli::run(&d, "--json models auth order get --provider anthropic")
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let text = crate::common::text_of(&order);
    assert!(order.status.success(), "a reader was kept out: {text}");
    assert!(
        !writer.is_finished(),
        "the change did not wait for the read: the test proves nothing"
    );
    snapshot.execute_batch("COMMIT").unwrap();
    let cleared = writer.join().unwrap();
    assert!(
        cleared.status.success(),
        "{}",
        crate::common::text_of(&cleared)
    );
    assert!(
        machine(&d, "authProfiles.state").unwrap()["order"]
            .get("anthropic")
            .is_none()
    );
}
