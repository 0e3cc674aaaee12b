//! OpenClaw's sidecar lock protocol: modelauth and a writer following the reference's protocol
//! (tests/scripts/openclaw_lock_writer.mjs, run with `node`) exclude each other, lose nothing and leave
//! no lock behind; stale, empty, foreign and linked locks are handled as the reference does.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use modelauth::store::StoreError;
use modelauth::store::lock::{LockOptions, acquire, lock_path};

use crate::common::read_json;
use crate::store_procs::spawn_helper;

fn node_writer(file: &Path, worker: usize, count: usize, hold_ms: u64) -> Command {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/openclaw_lock_writer.mjs");
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .arg(file)
        .arg(worker.to_string())
        .arg(count.to_string())
        .arg(hold_ms.to_string());
    cmd
}

fn short(deadline_ms: u64) -> LockOptions {
    LockOptions {
        deadline: Duration::from_millis(deadline_ms),
        ..LockOptions::default()
    }
}

#[test]
fn openclaw_protocol_writers_and_modelauth_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent").join("auth-profiles.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let nodes: Vec<_> = (0..3)
        .map(|w| node_writer(&path, w, 100, 0).spawn().unwrap())
        .collect();
    let ours: Vec<_> = (0..3).map(|w| spawn_helper("updates", &path, w)).collect();
    for mut c in nodes.into_iter().chain(ours) {
        assert!(c.wait().unwrap().success());
    }
    let doc = read_json(&path);
    let profiles = doc["profiles"].as_object().unwrap();
    assert_eq!(
        profiles.len(),
        600,
        "every update of both tools is in the file"
    );
    for w in 0..3 {
        assert_eq!(
            doc["usageStats"][format!("counter:w{w}")]["errorCount"],
            100
        );
        assert_eq!(
            doc["usageStats"][format!("counter:node{w}")]["errorCount"],
            100
        );
        assert_eq!(
            profiles[&format!("node:w{w}-99")]["key"],
            format!("sk-node-{w}-99")
        );
        assert_eq!(
            profiles[&format!("anthropic:w{w}-99")]["key"],
            format!("sk-ant-{w}-99")
        );
    }
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "auth-profiles.json")
        .collect();
    assert!(
        left.is_empty(),
        "no lock or temp file is left behind: {left:?}"
    );
}

#[test]
fn a_lock_held_by_a_live_openclaw_times_out_naming_its_pid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-profiles.json");
    let mut holder = node_writer(&path, 0, 0, 1500)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "held\n");
    let err = acquire(&path, short(200)).unwrap_err();
    match &err {
        StoreError::LockTimeout {
            holder: h, path: p, ..
        } => {
            assert_eq!(h, &format!("pid {}", holder.id()));
            assert_eq!(p, &lock_path(&path));
        }
        other => panic!("expected a lock timeout, got {other:?}"),
    }
    assert!(err.to_string().contains(&format!("pid {}", holder.id())));
    // Once the holder releases it, the lock is ours within the deadline.
    let lock = acquire(&path, short(10_000)).unwrap();
    assert!(!lock.reclaimed);
    assert!(holder.wait().unwrap().success());
    drop(lock);
    assert!(!lock_path(&path).exists());
}

#[test]
fn a_lock_of_a_dead_process_is_reclaimed_and_ours_is_deleted_on_release() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-profiles.json");
    let mut dead = Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(
        lock_path(&path),
        format!("{{\n  \"pid\": {pid},\n  \"createdAt\": \"2026-01-01T00:00:00.000Z\"\n}}\n"),
    )
    .unwrap();
    let lock = acquire(&path, short(2_000)).unwrap();
    assert!(lock.reclaimed);
    let held: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lock_path(&path)).unwrap()).unwrap();
    assert_eq!(held["pid"], std::process::id());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(lock_path(&path))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(lock);
    assert!(!lock_path(&path).exists());
}

#[test]
fn an_empty_lock_counts_as_held_until_it_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.json");
    let lock = lock_path(&path);
    std::fs::write(&lock, "").unwrap();
    let err = acquire(&path, short(100)).unwrap_err();
    assert!(err.to_string().contains("an empty lock file"), "{err}");
    // An empty lock file of an earlier modelauth, untouched since 2023, no longer blocks anyone.
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let held = acquire(&path, short(1_000)).unwrap();
    assert!(held.reclaimed);
}

#[test]
fn a_linked_lock_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-profiles.json");
    let target = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, lock_path(&path)).unwrap();
    let err = acquire(&path, short(100)).unwrap_err();
    assert!(matches!(err, StoreError::Lock { .. }), "{err:?}");
    assert!(!target.exists(), "the link's target was not created");
}
