//! Where OpenClaw 2026.9.6 differs from SPEC.md, on a directory of its generation (docs/DECISIONS.md):
//! pins that survive a same-provider model change, the reply wording, `--check` 2 only for a selected
//! profile, and the config shape of `agents.entries`.

use std::path::Path;

use serde_json::{Value, json};

use crate::cli::{all_output, run};
use crate::sqlite_state::{agent_cell, sqlite_state};

fn chat(dir: &Path, session: &str, lines: &str) -> String {
    let mut c = run(dir, &format!("chat --session {session}"));
    let out = c.write_stdin(lines.to_owned()).output().unwrap();
    crate::common::assert_ok(&out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pin_of(dir: &Path, session: &str) -> Value {
    let entry = crate::sqlite_state::cell(
        &dir.join("agents/main/agent/openclaw-agent.sqlite"),
        "SELECT entry_json FROM session_nodes WHERE session_key = ?1",
        session,
    )
    .unwrap();
    entry["authProfileOverride"].clone()
}

fn config(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("openclaw.json")).unwrap()).unwrap()
}

#[test]
fn a_same_provider_pin_survives_a_model_change_and_default_with_2026_9_wording() {
    let dir = sqlite_state();
    let d = dir.path();
    let out = chat(
        d,
        "agent:main:s1",
        "/model anthropic/claude-sonnet-4-6@anthropic:work\n",
    );
    assert!(
        out.contains("Model set to anthropic/claude-sonnet-4-6 for this session only; configured default unchanged. Auth profile set to anthropic:work."),
        "{out}"
    );
    let out = chat(d, "agent:main:s1", "/model anthropic/claude-haiku-4-5\n");
    assert!(
        out.contains("for this session only; configured default unchanged."),
        "{out}"
    );
    assert_eq!(
        pin_of(d, "agent:main:s1"),
        "anthropic:work",
        "pin of the same provider kept"
    );
    let out = chat(d, "agent:main:s1", "/model default\n");
    assert!(
        out.contains("Session model reset to configured default (anthropic/claude-opus-4-6)."),
        "{out}"
    );
    assert_eq!(
        pin_of(d, "agent:main:s1"),
        "anthropic:work",
        "pin kept by /model default"
    );
    // Another provider's model drops it.
    let out = chat(d, "agent:main:s1", "/model openai/gpt-5\n");
    assert!(
        out.contains("Model set to openai/gpt-5 for this session only"),
        "{out}"
    );
    assert_eq!(pin_of(d, "agent:main:s1"), Value::Null);
}

#[test]
fn the_check_wakes_nobody_for_an_expiring_spare() {
    let dir = sqlite_state();
    let d = dir.path();
    let mut paste = run(
        d,
        "models auth paste-token --provider anthropic --profile-id anthropic:spare --expires-in 2h",
    );
    assert!(
        paste
            .write_stdin("sk-ant-oat01-SPARESECRET000000\n")
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = run(d, "models status --check").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Once the order selects it, its expiry matters.
    let out = run(
        d,
        "models auth order set --provider anthropic anthropic:spare anthropic:work",
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let out = run(d, "models status --check").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn an_agent_default_is_written_where_2026_9_reads_it() {
    let dir = sqlite_state();
    let d = dir.path();
    let out = chat(
        d,
        "agent:main:s3",
        "/model anthropic/claude-sonnet-4-6 -a\n",
    );
    assert!(
        out.contains("Default model for agent main set to anthropic/claude-sonnet-4-6"),
        "{out}"
    );
    let cfg = config(d);
    assert!(
        cfg["agents"].get("list").is_none(),
        "no agents.list in a 2026.9 config: {cfg}"
    );
    assert_eq!(
        cfg["agents"]["entries"]["main"]["model"]["primary"],
        "anthropic/claude-sonnet-4-6"
    );
    assert_eq!(
        cfg["agents"]["entries"]["ops"]["name"], "ops",
        "other entries kept"
    );
    let status = all_output(&mut run(d, "models status"));
    assert!(
        status.contains("Default model: anthropic/claude-sonnet-4-6"),
        "{status}"
    );
}

#[test]
fn a_model_policy_allowlist_with_wildcards_limits_the_selection() {
    let dir = sqlite_state();
    let d = dir.path();
    let mut cfg = config(d);
    cfg["agents"]["defaults"]["modelPolicy"] = json!({"allow": ["anthropic/*"]});
    cfg["agents"]["defaults"]["models"] = json!({"anthropic/claude-opus-4-6": {"alias": "opus"}});
    std::fs::write(
        d.join("openclaw.json"),
        serde_json::to_string_pretty(&cfg).unwrap(),
    )
    .unwrap();
    let out = chat(
        d,
        "agent:main:s2",
        "/model anthropic/claude-some-new-model\n",
    );
    assert!(
        out.contains("Model set to anthropic/claude-some-new-model"),
        "wildcard allows: {out}"
    );
    let out = chat(d, "agent:main:s2", "/model openai/gpt-5\n");
    assert!(out.contains("is not allowed"), "{out}");
    let out = chat(d, "agent:main:s2", "/model opus\n");
    assert!(
        out.contains(
            "Session model reset to configured default (anthropic/claude-opus-4-6 (opus))"
        ) || out.contains("opus"),
        "aliases still work: {out}"
    );
    // The order override of ops is untouched by any of this.
    assert_eq!(
        agent_cell(d, "ops", "auth_profile_state").unwrap()["order"]["anthropic"],
        json!(["anthropic:ops", "anthropic:work"])
    );
}

#[test]
fn openclaws_default_source_marker_survives_a_modelauth_write() {
    let dir = sqlite_state();
    let d = dir.path();
    let db = d.join("agents/main/agent/openclaw-agent.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE session_nodes SET entry_json = json_set(entry_json, '$.modelOverrideSource', 'default') WHERE session_key = 'agent:main:fixture'",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE session_nodes SET entry_valid = 1 WHERE session_key = 'agent:main:fixture'",
        [],
    )
    .unwrap();
    drop(conn);
    // The configured default with a profile: no model override of modelauth's own to write.
    let out = chat(
        d,
        "agent:main:fixture",
        "/model anthropic/claude-opus-4-6@anthropic:work\n",
    );
    assert!(out.contains("Auth profile set to anthropic:work"), "{out}");
    let entry = crate::sqlite_state::cell(
        &db,
        "SELECT entry_json FROM session_nodes WHERE session_key = ?1",
        "agent:main:fixture",
    )
    .unwrap();
    assert_eq!(entry["modelOverrideSource"], "default", "{entry}");
    assert_eq!(entry["authProfileOverride"], "anthropic:work");
}

fn entry_of(dir: &Path, session: &str) -> Value {
    crate::sqlite_state::cell(
        &dir.join("agents/main/agent/openclaw-agent.sqlite"),
        "SELECT entry_json FROM session_nodes WHERE session_key = ?1",
        session,
    )
    .unwrap()
}

/// Adds `agents.defaults.models[model_ref] = {}` (an entry without an alias) to openclaw.json.
fn list_model(dir: &Path, model_ref: &str) {
    let mut c = config(dir);
    c["agents"]["defaults"]["models"][model_ref] = json!({});
    std::fs::write(dir.join("openclaw.json"), c.to_string()).unwrap();
}

#[test]
fn builtin_aliases_labels_and_the_default_source_follow_2026_9() {
    let dir = sqlite_state();
    let d = dir.path();
    // No entry in agents.defaults.models: `gpt-mini` is a bare id of the default model's provider.
    let out = chat(d, "agent:main:a1", "/model gpt-mini\n");
    assert!(
        out.contains("Model set to anthropic/gpt-mini for this session only"),
        "{out}"
    );
    assert_eq!(
        entry_of(d, "agent:main:a1")["providerOverride"],
        "anthropic"
    );
    assert_eq!(entry_of(d, "agent:main:a1")["modelOverride"], "gpt-mini");
    // With an entry (and no alias of its own) the built-in alias is active, and labels the reply
    // because it was typed.
    list_model(d, "openai/gpt-5.4-mini");
    let out = chat(d, "agent:main:a2", "/model gpt-mini\n");
    assert!(
        out.contains("Model set to gpt-mini (openai/gpt-5.4-mini) for this session only"),
        "{out}"
    );
    // The same model typed in full is named in full.
    let out = chat(d, "agent:main:a3", "/model openai/gpt-5.4-mini\n");
    assert!(
        out.contains("Model set to openai/gpt-5.4-mini for this session only"),
        "{out}"
    );
    // The configured default, by name or by `default`: no override, modelOverrideSource "default".
    for (session, line) in [
        ("agent:main:a4", "/model anthropic/claude-opus-4-6\n"),
        ("agent:main:a5", "/model default\n"),
    ] {
        let out = chat(d, session, line);
        assert!(
            out.contains("Session model reset to configured default (anthropic/claude-opus-4-6)."),
            "{out}"
        );
        let entry = entry_of(d, session);
        assert_eq!(entry["modelOverrideSource"], "default", "{entry}");
        assert!(entry.get("modelOverride").is_none(), "{entry}");
    }
    // A later selection replaces the marker.
    chat(d, "agent:main:a5", "/model openai/gpt-5.4-mini\n");
    assert_eq!(entry_of(d, "agent:main:a5")["modelOverrideSource"], "user");
}
