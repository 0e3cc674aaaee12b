//! OpenClaw 2026.9.6 starting and writing while modelauth commits changes that span the state
//! database and the agent's (an order cleared from both layers), on copies of the fixture databases
//! (rollback-journal mode, where a transaction over two files needs a super-journal). Runs when
//! `MODELAUTH_INTEROP_BIN` is set (see `tests/interop.rs`).

use std::path::Path;

use crate::cli::run;
use crate::interop::{oc, oc_ok, openclaw_bin, token};
use crate::sqlite_state::{agent_cell, machine, plant_shared_order, sqlite_state, succeed};

/// Files SQLite leaves when a transaction over several rollback-journal databases was cut short.
fn super_journals(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name.contains("-mj") {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn openclaw_starts_and_writes_while_modelauth_commits_across_both_databases() {
    let Some(bin) = openclaw_bin() else { return };
    let dir = sqlite_state();
    let d = dir.path().to_owned();
    let theirs = {
        let (bin, d) = (bin.clone(), d.clone());
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            for i in 0..5 {
                let status = oc(&bin, &d, "models status --json", "");
                if !status.status.success() {
                    failures.push(format!(
                        "models status exited {:?}: {}",
                        status.status.code(),
                        String::from_utf8_lossy(&status.stderr)
                    ));
                }
                let args = format!(
                    "models auth paste-token --agent main --provider anthropic --profile-id anthropic:oc{i}"
                );
                let pasted = oc(&bin, &d, &args, &token(&format!("W{i}")));
                let text = String::from_utf8_lossy(&pasted.stderr).into_owned();
                // OpenClaw's own optimistic config check may ask for a re-run; anything else fails.
                if !pasted.status.success()
                    && !text.contains("changed since last load")
                    && !text.contains("changed during startup")
                {
                    failures.push(format!(
                        "paste-token exited {:?}: {text}",
                        pasted.status.code()
                    ));
                }
            }
            failures
        })
    };
    let mut rounds = 0;
    while !theirs.is_finished() || rounds < 6 {
        plant_shared_order(&d);
        succeed(
            &d,
            "models auth order set --provider anthropic anthropic:work anthropic:home",
        );
        succeed(&d, "models auth order clear --provider anthropic");
        rounds += 1;
        // A gateway's pace of changes, not a write storm (OpenClaw's start-up snapshot of a
        // rollback-journal database waits for a quiet moment between commits).
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let failures = theirs.join().unwrap();
    assert!(
        failures.is_empty(),
        "OpenClaw failed beside modelauth's writes: {failures:#?}"
    );
    // The last clear reached both databases.
    assert!(
        machine(&d, "authProfiles.state").unwrap()["order"]
            .get("anthropic")
            .is_none()
    );
    assert!(
        agent_cell(&d, "main", "auth_profile_state")
            .is_none_or(|s| s["order"].get("anthropic").is_none())
    );
    assert_eq!(super_journals(&d), Vec::<String>::new());
    oc_ok(&bin, &d, "models status --json", "");
}

#[test]
fn a_first_write_on_a_fresh_machine_never_leaves_a_directory_openclaw_refuses() {
    let Some(bin) = openclaw_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let paste = |id: &str, tag: &str| {
        crate::common::modelauth_in(d)
            .env("PATH", &path)
            .args([
                "models",
                "auth",
                "paste-token",
                "--provider",
                "anthropic",
                "--profile-id",
                id,
            ])
            .write_stdin(token(tag))
            .output()
            .unwrap()
    };
    // OpenClaw is installed and the directory is empty: nothing is written, the message says what
    // to run first.
    let refused = paste("anthropic:ma", "FRESH1");
    let text = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(
        text.contains("openclaw onboard") && text.contains("Nothing was written"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_dir(d).unwrap().count(),
        0,
        "something was written"
    );
    // As the message says: OpenClaw first, then modelauth, and OpenClaw reads both without a migration.
    oc_ok(
        &bin,
        d,
        "models auth paste-token --provider anthropic --profile-id anthropic:oc",
        &token("FRESH2"),
    );
    let pasted = paste("anthropic:ma", "FRESH3");
    crate::common::assert_ok(&pasted);
    let status = oc(&bin, d, "models status --json", "");
    let all = crate::common::text_of(&status);
    assert!(!all.contains("AUTH_PROFILE_MIGRATION_REQUIRED"), "{all}");
    let listed: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let ids: Vec<&str> = listed["auth"]["oauth"]["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profileId"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"anthropic:ma") && ids.contains(&"anthropic:oc"),
        "{ids:?}"
    );
    assert!(!d.join("agents/main/agent/auth-profiles.json").exists());
}

#[test]
fn check_codes_agree_with_openclaw_on_expired_and_expiring_spares() {
    let Some(bin) = openclaw_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oc_ok(
        &bin,
        d,
        "config set agents.defaults.model.primary anthropic/claude-opus-4-6",
        "",
    );
    for (id, extra) in [
        ("anthropic:good", ""),
        ("anthropic:soon", " --expires-in 12h"),
        ("anthropic:gone", " --expires-in 1s"),
    ] {
        let args = format!("models auth paste-token --provider anthropic --profile-id {id}{extra}");
        oc_ok(&bin, d, &args, &token(id.trim_start_matches("anthropic:")));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let codes = |order: &str| {
        oc_ok(
            &bin,
            d,
            &format!("models auth order set --provider anthropic {order}"),
            "",
        );
        let theirs = oc(&bin, d, "models status --check", "").status.code();
        let ours = run(d, "models status --check").output().unwrap();
        (
            theirs,
            ours.status.code(),
            String::from_utf8_lossy(&ours.stdout).into_owned(),
        )
    };
    // The selected profile is fine: an expiring and an expired spare change nothing (both 0).
    let (theirs, ours, text) = codes("anthropic:good anthropic:soon anthropic:gone");
    assert_eq!((theirs, ours), (Some(0), Some(0)), "{text}");
    assert!(
        text.contains("note (does not change the code): profile anthropic:gone is expired"),
        "{text}"
    );
    // The selected profile expires within 24 hours: 2.
    let (theirs, ours, text) = codes("anthropic:soon anthropic:good anthropic:gone");
    assert_eq!((theirs, ours), (Some(2), Some(2)), "{text}");
    // Nothing usable in the order: 1.
    let (theirs, ours, text) = codes("anthropic:gone");
    assert_eq!((theirs, ours), (Some(1), Some(1)), "{text}");
}
