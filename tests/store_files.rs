//! Store and config on real files: round trips that keep unknown fields, legacy layouts, corrupt inputs.

use std::os::unix::fs::PermissionsExt;

use modelauth::backend::json::{AuthFile, SessionsFile};
use modelauth::config::file::{set_primary_model, set_profile_meta};
use modelauth::store::{
    AgentId, CredentialKind, NewCredential, ProviderId, Secret, SessionRecord, StoreError,
};
use serde_json::{Value, json};

use crate::common::{read_json, rich_state};

fn provider(p: &str) -> ProviderId {
    ProviderId::new(p).unwrap()
}

#[test]
fn rich_store_reads_every_kind_and_skips_what_it_cannot_understand() {
    let (_dir, state) = rich_state();
    let view = AuthFile::new(state.auth_path(&AgentId::main()))
        .load()
        .unwrap();
    let ids: Vec<&str> = view.profiles.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "anthropic:manual",
            "anthropic:work",
            "groq:old",
            "openai-codex:me@example.com",
            "openai:legacy"
        ]
    );
    assert_eq!(view.profiles["openai:legacy"].kind, CredentialKind::ApiKey);
    assert_eq!(
        view.profiles["openai:legacy"]
            .secret
            .as_ref()
            .unwrap()
            .expose_secret(),
        "sk-LEGACYSECRET55555"
    );
    assert_eq!(view.profiles["groq:old"].kind, CredentialKind::ApiKey);
    assert_eq!(
        view.profiles["openai-codex:me@example.com"].kind,
        CredentialKind::OAuth
    );
    assert_eq!(
        view.profiles["anthropic:manual"].expires,
        Some(1_895_000_000_000)
    );
    let stats = view.usage_of("anthropic:work");
    assert_eq!(stats.cooldown_model.as_deref(), Some("claude-opus-4-6"));
    assert_eq!(stats.failure_counts.len(), 1);
    assert_eq!(view.warnings.len(), 2, "{:?}", view.warnings);
    assert!(
        view.warnings
            .iter()
            .any(|w| w.contains("broken:entry") && w.contains("warp-drive"))
    );
    assert!(view.warnings.iter().any(|w| w.contains("also:broken")));
}

#[test]
fn changing_one_profile_and_one_order_keeps_everything_else_byte_for_byte() {
    let (_dir, state) = rich_state();
    let file = AuthFile::new(state.auth_path(&AgentId::main()));
    let before = read_json(file.path());
    file.update(|edit| {
        let cred = NewCredential {
            provider: provider("anthropic"),
            kind: CredentialKind::Token,
            secret: Secret::new("sk-ant-oat01-NEW"),
            expires: Some(1_900_000_000_000),
            refresh: None,
            email: None,
            reference: None,
        };
        edit.put_profile("anthropic:manual", &cred);
        edit.set_order(
            &provider("anthropic"),
            &["anthropic:manual".into(), "anthropic:work".into()],
        );
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let after = read_json(file.path());
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&before),
        keys(&after),
        "top-level keys and their order are kept"
    );
    for key in [
        "version",
        "x-gateway",
        "lastGood",
        "usageStats",
        "x-trailer",
    ] {
        assert_eq!(
            before[key].to_string(),
            after[key].to_string(),
            "{key} untouched"
        );
    }
    for (id, entry) in before["profiles"].as_object().unwrap() {
        if id != "anthropic:manual" {
            assert_eq!(
                entry.to_string(),
                after["profiles"][id].to_string(),
                "profile {id} untouched"
            );
        }
    }
    assert_eq!(
        after["profiles"]["anthropic:manual"]["token"],
        "sk-ant-oat01-NEW"
    );
    assert_eq!(
        after["order"]["anthropic"],
        json!(["anthropic:manual", "anthropic:work"])
    );
    assert_eq!(
        before["order"]["x-custom"].to_string(),
        after["order"]["x-custom"].to_string()
    );
    let mode = std::fs::metadata(file.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn legacy_provider_map_is_read_and_migrated_on_first_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-profiles.json");
    std::fs::write(&path, r#"{"anthropic":{"key":"sk-ant-LEGACY","x":1},"openai":{"type":"api_key","apiKey":"sk-O"}}"#).unwrap();
    let file = AuthFile::new(&path);
    let view = file.load().unwrap();
    assert_eq!(view.profiles["anthropic"].provider.as_str(), "anthropic");
    assert_eq!(
        view.profiles["openai"]
            .secret
            .as_ref()
            .unwrap()
            .expose_secret(),
        "sk-O"
    );
    file.update(|edit| {
        edit.set_last_good(&provider("anthropic"), "anthropic");
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let after = read_json(&path);
    assert_eq!(after["version"], 1);
    assert_eq!(after["profiles"]["anthropic"]["x"], 1);
    assert_eq!(after["profiles"]["anthropic"]["key"], "sk-ant-LEGACY");
    assert_eq!(file.load().unwrap().profiles.len(), 2);
}

#[test]
fn remove_profile_drops_its_stats_order_entries_and_last_good() {
    let (_dir, state) = rich_state();
    let file = AuthFile::new(state.auth_path(&AgentId::main()));
    let removed = file
        .update(|e| Ok::<_, StoreError>(e.remove_profile("anthropic:work")))
        .unwrap();
    assert!(removed);
    let after = read_json(file.path());
    assert!(after["profiles"].get("anthropic:work").is_none());
    assert!(after["usageStats"].get("anthropic:work").is_none());
    assert_eq!(after["order"]["anthropic"], json!(["anthropic:manual"]));
    assert!(after["lastGood"].get("anthropic").is_none());
    assert!(
        !file
            .update(|e| Ok::<_, StoreError>(e.remove_profile("nope")))
            .unwrap()
    );
}

#[test]
fn config_json5_is_typed_and_rewrites_keep_unknown_keys() {
    let (_dir, state) = rich_state();
    let cf = state.config_file_followed().unwrap();
    let config = cf.load().unwrap();
    assert_eq!(
        config.primary_model(&AgentId::main()),
        "anthropic/claude-opus-4-6"
    );
    assert_eq!(config.fallbacks(&AgentId::main()), ["openai/gpt-5"]);
    assert_eq!(
        config.aliases().collect::<Vec<_>>(),
        [
            ("opus", "anthropic/claude-opus-4-6"),
            ("gpt", "openai/gpt-5")
        ]
    );
    assert_eq!(
        config.auth_profiles["anthropic:work"].mode,
        Some(CredentialKind::ApiKey)
    );
    assert_eq!(
        config.auth_order[&provider("anthropic")],
        ["anthropic:work"]
    );
    let custom = &config.providers[&provider("custom")];
    assert_eq!(custom.base_url.as_deref(), Some("http://localhost:1234/v1"));
    assert_eq!(custom.models, ["m1"]);
    let w = cf
        .update(|doc| {
            let a = set_primary_model(doc, None, "openai/gpt-5");
            let b = set_profile_meta(
                doc,
                "openai:default",
                &provider("openai"),
                CredentialKind::ApiKey,
            );
            a | b
        })
        .unwrap();
    assert!(w.written && w.dropped_comments);
    let after = read_json(cf.path());
    assert_eq!(
        after["gateway"],
        json!({ "port": 18789, "bind": "loopback" })
    );
    assert_eq!(after["channels"]["telegram"]["enabled"], true);
    assert_eq!(
        after["agents"]["defaults"]["model"]["fallbacks"],
        json!(["openai/gpt-5"])
    );
    assert_eq!(after["agents"]["defaults"]["workspace"], "~/clawd");
    assert_eq!(
        after["agents"]["defaults"]["models"]["openai/gpt-5"]["params"]["x"],
        1
    );
    assert_eq!(after["auth"]["profiles"]["anthropic:work"]["note"], "keep");
    assert_eq!(
        after["auth"]["profiles"]["openai:default"],
        json!({ "provider": "openai", "mode": "api_key" })
    );
    assert_eq!(
        cf.load().unwrap().primary_model(&AgentId::main()),
        "openai/gpt-5"
    );
    let leftovers: Vec<_> = std::fs::read_dir(state.root())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().contains(".tmp")),
        "no backup or temp copy: {leftovers:?}"
    );
    let agent = AgentId::new("work").unwrap();
    cf.update(|doc| set_primary_model(doc, Some(&agent), "anthropic/claude-sonnet-4-5"))
        .unwrap();
    assert_eq!(
        cf.load().unwrap().primary_model(&agent),
        "anthropic/claude-sonnet-4-5"
    );
}

#[test]
fn config_syntax_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openclaw.json");
    std::fs::write(
        &path,
        "{\n  a: 1,\n  b: [1, 2\n  apiKey: \"SECRETVALUE\"\n}\n",
    )
    .unwrap();
    let err = modelauth::config::ConfigFile::new(&path)
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("openclaw.json")
            && err.contains("JSON5")
            && err.contains("line 4, column 3: expected comma"),
        "{err}"
    );
    assert!(!err.contains("SECRETVALUE"), "{err}");
}

#[test]
fn sessions_keep_other_fields_and_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.json");
    std::fs::write(&path, r#"{"agent:main:main":{"sessionId":"x","chatType":"direct","origin":{"a":1}},"other":{"keep":true}}"#).unwrap();
    let file = SessionsFile::new(&path);
    let rec = SessionRecord {
        provider_override: Some("openai".into()),
        model_override: Some("gpt-5".into()),
        auth_profile_override: Some("openai:default".into()),
        auth_profile_override_source: Some(modelauth::store::OverrideSource::User),
        updated_at: Some(5),
        ..SessionRecord::default()
    };
    file.store([("agent:main:main", &rec), ("new:one", &rec)])
        .unwrap();
    let after = read_json(&path);
    assert_eq!(after["other"], json!({ "keep": true }));
    assert_eq!(after["agent:main:main"]["chatType"], "direct");
    assert_eq!(after["agent:main:main"]["origin"], json!({ "a": 1 }));
    assert_eq!(
        after["agent:main:main"]["authProfileOverride"],
        "openai:default"
    );
    assert!(
        after["agent:main:main"].get("sessionId").is_none(),
        "owned fields absent from the record are removed"
    );
    assert_eq!(
        file.load_one("new:one").unwrap().unwrap(),
        SessionRecord {
            compaction_count: None,
            ..rec
        }
    );
}

/// Writes `bytes` as the store, tries a read and an update, and checks the file is untouched.
fn assert_rejected_untouched(bytes: &[u8], expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-profiles.json");
    std::fs::write(&path, bytes).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let file = AuthFile::new(&path);
    let read = file.load().unwrap_err().to_string();
    assert!(
        read.contains("auth-profiles.json") && read.contains(expect),
        "{read}"
    );
    let wrote = file
        .update(|e| {
            e.set_last_good(&provider("anthropic"), "x");
            Ok::<_, StoreError>(())
        })
        .unwrap_err()
        .to_string();
    assert_eq!(read, wrote);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
        "{names:?}"
    );
}

#[test]
fn corrupt_files_are_errors_with_positions_and_stay_untouched() {
    assert_rejected_untouched(b"", "the file is empty");
    assert_rejected_untouched(b"{", "truncated");
    assert_rejected_untouched(b"[]", "an array");
    assert_rejected_untouched(b"null", "null");
    assert_rejected_untouched(
        b"{\"profiles\": {\"a:b\": {\"type\": \"api_key\", \"key\": \"sk-SECRET\"}",
        "line 1",
    );
    assert_rejected_untouched(b"{\n\"x\": tru\n}", "line 3");
    assert_rejected_untouched(b"{\"a\": \"\xff\xfe\"}", "offset 7");
}

#[test]
fn wrong_types_in_every_field_load_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-profiles.json");
    let text = r#"{"version":"one","profiles":{"a:1":{"type":1},"a:2":{"type":"api_key","provider":3},"a:3":{"type":"api_key","provider":"anthropic","key":5},"a:4":{"type":"token","provider":"anthropic","token":"t","expires":"soon"},"a:5":[]},"order":{"anthropic":"a:1","BAD PROVIDER":[]},"lastGood":{"anthropic":7},"usageStats":{"a:1":{"lastUsed":"x","errorCount":-1,"failureCounts":[]},"a:2":7}}"#;
    std::fs::write(&path, text).unwrap();
    let view = AuthFile::new(&path).load().unwrap();
    assert!(view.profiles.is_empty());
    assert!(view.warnings.len() >= 7, "{:#?}", view.warnings);
    assert!(view.warnings.iter().all(|w| !w.contains("\"t\"")));
    assert_eq!(view.usage_of("a:1").last_used, 0);
}

#[test]
fn a_top_level_field_of_the_wrong_type_is_an_error_and_never_written_over() {
    for (field, value) in [
        ("profiles", "[]"),
        ("order", "\"anthropic:a\""),
        ("usageStats", "7"),
        ("lastGood", "[]"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth-profiles.json");
        let text = format!(
            r#"{{"version":1,"{field}":{value},"keep":{{"a:1":{{"type":"api_key","key":"sk-KEEP"}}}}}}"#
        );
        std::fs::write(&path, &text).unwrap();
        let file = AuthFile::new(&path);
        let err = file.load().unwrap_err();
        assert!(
            matches!(&err, StoreError::WrongType { field: f, .. } if *f == field),
            "{field}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("\"{field}\"")) && message.contains("auth-profiles.json")
        );
        let write = file.update(|e| {
            e.set_order(&provider("anthropic"), &["anthropic:x".into()]);
            Ok::<_, StoreError>(())
        });
        assert!(
            matches!(write, Err(StoreError::WrongType { .. })),
            "{field}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "{field}: untouched"
        );
    }
}

#[test]
fn oversized_non_regular_and_linked_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("auth-profiles.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap();
    drop(f);
    let err = AuthFile::new(&big).load().unwrap_err().to_string();
    assert!(err.contains("104857600 bytes"), "{err}");
    assert_eq!(std::fs::metadata(&big).unwrap().len(), 100 * 1024 * 1024);

    let target = dir.path().join("elsewhere.json");
    std::fs::write(&target, "{}").unwrap();
    let link = dir.path().join("linked.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let file = AuthFile::new(&link);
    let err = file.load().unwrap_err().to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert!(
        file.update(|e| Ok::<_, StoreError>(e.clear_order(&provider("x"))))
            .is_err()
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}");
}

#[test]
fn ids_are_validated_before_paths() {
    for bad in ["../x", "a/b", "", "A", "x\0y", &"a".repeat(65)] {
        let err = AgentId::new(bad).unwrap_err().to_string();
        assert!(err.contains("invalid agent id"), "{err}");
    }
    assert!(ProviderId::new("open/ai").is_err());
    assert!(modelauth::store::ProfileId::new("../../etc").is_err());
    assert_eq!(ProviderId::new("Z.AI").unwrap().as_str(), "zai");
}

/// Overwrites `path` in place with `bytes` of the same length and puts its modification time back, so
/// that its stamp (mtime, size, inode) is unchanged: a read would see `bytes`, a stamp check would not.
fn overwrite_keeping_stamp(path: &std::path::Path, bytes: &[u8]) {
    let meta = std::fs::metadata(path).unwrap();
    assert_eq!(meta.len(), bytes.len() as u64);
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    std::io::Write::write_all(&mut &f, bytes).unwrap();
    f.set_modified(meta.modified().unwrap()).unwrap();
}

#[test]
fn unknown_session_keys_cost_a_stat_not_a_read_until_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.json");
    let file = SessionsFile::new(&path);
    // No file yet: absent, and remembered as absent.
    assert_eq!(file.load_one("a").unwrap(), None);
    let rec = SessionRecord {
        model_override: Some("gpt-5".into()),
        ..SessionRecord::default()
    };
    file.store([("a", &rec)]).unwrap();
    // Our own write indexed the file: a new key is answered without reading it. Prove it by making the
    // content unreadable behind an unchanged stamp.
    let text = std::fs::read(&path).unwrap();
    overwrite_keeping_stamp(&path, &vec![b'#'; text.len()]);
    assert_eq!(file.load_one("never-seen").unwrap(), None);
    // A key the index holds is read from the file (and the garbage is reported, not hidden).
    let err = file.load_one("a").unwrap_err().to_string();
    assert!(err.contains("sessions.json"), "{err}");
    overwrite_keeping_stamp(&path, &text);
    assert_eq!(file.load_one("a").unwrap(), Some(rec.clone()));
    // Another writer (another handle: another process) adds a key: the stamp changes and it is found.
    SessionsFile::new(&path).store([("b", &rec)]).unwrap();
    assert_eq!(file.load_one("b").unwrap(), Some(rec.clone()));
    // A file replaced by a tool that knows nothing of the index is read again too.
    let mut doc = read_json(&path);
    doc["c"] = json!({ "modelOverride": "opus" });
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let c = file.load_one("c").unwrap().unwrap();
    assert_eq!(c.model_override.as_deref(), Some("opus"));
    assert_eq!(file.load_one("still-unknown").unwrap(), None);
}
