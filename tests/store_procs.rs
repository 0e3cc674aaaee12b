//! Several real processes writing one store: no lost updates, and SIGKILL never leaves a torn file.
//! The writers are this test binary re-run as a helper (`helper_writer`, ignored in normal runs).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use modelauth::backend::json::AuthFile;
use modelauth::store::{CredentialKind, NewCredential, ProviderId, Secret, StoreError, UsageStats};
use serde_json::Value;

use crate::common::read_json;

/// Spawns this binary as a helper in `mode` for `file`.
pub fn spawn_helper(mode: &str, file: &Path, worker: usize) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "store_procs::helper_writer",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("MODELAUTH_TEST_HELPER", mode)
        .env("MODELAUTH_TEST_FILE", file)
        .env("MODELAUTH_TEST_WORKER", worker.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The content written as version `seq` by the crash helper.
fn crash_version(edit: &mut modelauth::store::AuthEdit, seq: i64) {
    let provider = ProviderId::new("anthropic").unwrap();
    for i in 0..20 {
        let cred = NewCredential {
            provider: provider.clone(),
            kind: CredentialKind::ApiKey,
            secret: Secret::new(format!("sk-ant-v{seq}-{i}")),
            expires: None,
            refresh: None,
            email: None,
            reference: None,
        };
        edit.put_profile(&format!("anthropic:p{i}"), &cred);
    }
    edit.set_usage(
        "anthropic:p0",
        &UsageStats {
            last_used: seq,
            ..UsageStats::default()
        },
    );
}

/// Not a test: the writer process of the tests below.
#[test]
#[ignore = "helper process for store_procs tests"]
fn helper_writer() {
    let Ok(mode) = std::env::var("MODELAUTH_TEST_HELPER") else {
        return;
    };
    let file = AuthFile::new(std::env::var("MODELAUTH_TEST_FILE").unwrap());
    let worker: usize = std::env::var("MODELAUTH_TEST_WORKER")
        .unwrap()
        .parse()
        .unwrap();
    let provider = ProviderId::new("anthropic").unwrap();
    match mode.as_str() {
        "updates" => {
            for i in 0..100 {
                // A lock held past the 10 s deadline is an error that changed nothing; a caller tries
                // again. (On two loaded cores, eight writers that re-take the lock at once can starve
                // one for that long.) Lost updates would show as missing profiles or a short count.
                let mut timeouts = 0;
                loop {
                    let result = file.update(|edit| {
                        let cred = NewCredential {
                            provider: provider.clone(),
                            kind: CredentialKind::ApiKey,
                            secret: Secret::new(format!("sk-ant-{worker}-{i}")),
                            expires: None,
                            refresh: None,
                            email: None,
                            reference: None,
                        };
                        edit.put_profile(&format!("anthropic:w{worker}-{i}"), &cred);
                        let counter = format!("counter:w{worker}");
                        let mut stats = edit.view().usage_of(&counter);
                        stats.error_count += 1;
                        edit.set_usage(&counter, &stats);
                        Ok::<_, StoreError>(())
                    });
                    match result {
                        Ok(()) => break,
                        Err(StoreError::LockTimeout { .. }) if timeouts < 5 => timeouts += 1,
                        Err(e) => panic!("update {i} of writer {worker}: {e}"),
                    }
                }
            }
        }
        "crash" => {
            let mut seq = file.load().unwrap().usage_of("anthropic:p0").last_used;
            loop {
                seq += 1;
                file.update(|edit| {
                    crash_version(edit, seq);
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            }
        }
        other => panic!("unknown helper mode {other}"),
    }
}

#[test]
fn eight_processes_times_one_hundred_updates_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent").join("auth-profiles.json");
    let children: Vec<_> = (0..8).map(|w| spawn_helper("updates", &path, w)).collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let doc = read_json(&path);
    let profiles = doc["profiles"].as_object().unwrap();
    assert_eq!(profiles.len(), 800);
    for w in 0..8 {
        for i in 0..100 {
            assert_eq!(
                profiles[&format!("anthropic:w{w}-{i}")]["key"],
                format!("sk-ant-{w}-{i}")
            );
        }
        assert_eq!(
            doc["usageStats"][format!("counter:w{w}")]["errorCount"],
            100
        );
    }
}

#[test]
fn sigkill_at_random_moments_never_tears_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-profiles.json");
    let file = AuthFile::new(&path);
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut last_seq = 0;
    let mut kills_after_a_write = 0;
    for round in 0..200 {
        let mut child = spawn_helper("crash", &path, 0);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_micros(2_000 + rng % 25_000));
        child.kill().unwrap();
        child.wait().unwrap();
        if !path.exists() {
            continue;
        }
        let doc: Value = read_json(&path);
        let seq = doc["usageStats"]["anthropic:p0"]["lastUsed"]
            .as_i64()
            .unwrap();
        assert!(
            seq >= last_seq,
            "round {round}: the file went back from {last_seq} to {seq}"
        );
        kills_after_a_write += usize::from(seq > last_seq);
        last_seq = seq;
        // The file must equal exactly the version `seq` the writer produced.
        let mut expected = modelauth::store::Document::default();
        expected.root.insert("version".into(), 1.into());
        expected
            .root
            .insert("profiles".into(), Value::Object(Default::default()));
        let expected_text = {
            let scratch = dir.path().join("expected.json");
            std::fs::write(&scratch, expected.to_text()).unwrap();
            AuthFile::new(&scratch)
                .update(|edit| {
                    crash_version(edit, seq);
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            std::fs::read_to_string(&scratch).unwrap()
        };
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            expected_text,
            "round {round}, version {seq}"
        );
    }
    assert!(
        kills_after_a_write > 20,
        "the writer made progress in only {kills_after_a_write} rounds"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    // Only what the last killed writer left (nobody wrote after it): one data and one lock temp file
    // at most; everything earlier writers left was cleaned by the next writer.
    let locks = leftovers.iter().filter(|n| n.contains(".lock-")).count();
    assert!(
        locks <= 1 && leftovers.len() - locks <= 1,
        "stale temp files are cleaned by the next writer: {leftovers:?}"
    );
    file.load().unwrap();
}
