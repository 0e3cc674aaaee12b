//! `/model` beside OpenClaw 2026.9.6: for each typed text, modelauth's reply and stored selection
//! agree with OpenClaw's own directive selection (its config materialisation, alias index and
//! `resolveModelDirectiveSelection`, run from the installed package by `tests/interop/model_directive.mjs`),
//! on a state directory OpenClaw wrote. Fuzzy matches are left out: they depend on OpenClaw's full
//! model catalog, which modelauth does not have. Runs when `MODELAUTH_INTEROP_BIN` is set.

use std::path::Path;

use serde_json::{Value, json};

use crate::cli::run;
use crate::interop::{oc_ok, openclaw_bin, token};

/// OpenClaw's selection for `/model raw` with the config of `dir`.
fn openclaw_selection(bin: &Path, dir: &Path, raw: &str) -> Value {
    let dist = bin.parent().unwrap().join("oc/node_modules/openclaw/dist");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/model_directive.mjs");
    let out = std::process::Command::new(bin.join("node"))
        .arg(script)
        .arg(dir.join("openclaw.json"))
        .arg(raw)
        .env("OC_DIST", dist)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    answer["selection"].clone()
}

/// The session row of `key` in agent main's database.
fn session(dir: &Path, key: &str) -> Value {
    crate::sqlite_state::cell(
        &dir.join("agents/main/agent/openclaw-agent.sqlite"),
        "SELECT entry_json FROM session_nodes WHERE session_key = ?1",
        key,
    )
    .unwrap_or(Value::Null)
}

#[test]
fn model_directives_select_and_label_what_openclaw_does() {
    let Some(bin) = openclaw_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oc_ok(
        &bin,
        d,
        "models auth paste-token --provider anthropic --profile-id anthropic:a",
        &token("AL"),
    );
    oc_ok(
        &bin,
        d,
        "config set agents.defaults.model.primary anthropic/claude-opus-4-6",
        "",
    );
    // OpenClaw creates the agent's database (where sessions live) on its first write for the agent.
    oc_ok(
        &bin,
        d,
        "models auth order set --agent main --provider anthropic anthropic:a",
        "",
    );
    for listed in [false, true] {
        // A bare `opus` without an active alias is normalised by OpenClaw's anthropic plugin
        // (`modelIdNormalization`: opus -> claude-opus-5), which modelauth does not carry: only
        // checked where the alias is active.
        let cases: &[&str] = if listed {
            &[
                "gpt-mini",
                "gpt",
                "opus",
                "openai/gpt-5.4-mini",
                "anthropic/claude-opus-4-6",
                "default",
            ]
        } else {
            &[
                "gpt-mini",
                "gpt",
                "openai/gpt-5.4-mini",
                "anthropic/claude-opus-4-6",
                "default",
            ]
        };
        if listed {
            // An entry (without an alias) for two built-in targets activates their aliases.
            let mut config: Value =
                serde_json::from_str(&std::fs::read_to_string(d.join("openclaw.json")).unwrap())
                    .unwrap();
            config["agents"]["defaults"]["models"] =
                json!({"openai/gpt-5.4-mini": {}, "anthropic/claude-opus-5": {}});
            std::fs::write(d.join("openclaw.json"), config.to_string()).unwrap();
        }
        for (n, raw) in cases.iter().enumerate() {
            let theirs = openclaw_selection(&bin, d, raw);
            let key = format!("agent:main:alias{}{n}", u8::from(listed));
            let out = run(d, &format!("chat --session {key}"))
                .write_stdin(format!("/model {raw}\n"))
                .output()
                .unwrap();
            let reply = crate::common::text_of(&out);
            let (what, case) = (format!("listed={listed} /model {raw}"), &theirs);
            if *raw == "default" || theirs["isDefault"] == true {
                let default = "anthropic/claude-opus-4-6";
                assert!(
                    reply.contains(&format!(
                        "Session model reset to configured default ({default})."
                    )),
                    "{what}: {reply} / {case}"
                );
                assert_eq!(session(d, &key)["modelOverrideSource"], "default", "{what}");
                continue;
            }
            let model_ref = format!(
                "{}/{}",
                theirs["provider"].as_str().unwrap(),
                theirs["model"].as_str().unwrap()
            );
            let label = match theirs["alias"].as_str() {
                Some(alias) => format!("{alias} ({model_ref})"),
                None => model_ref.clone(),
            };
            assert!(
                reply.contains(&format!(
                    "Model set to {label} for this session only; configured default unchanged."
                )),
                "{what}: modelauth said {reply:?}, OpenClaw selected {case}"
            );
            let row = session(d, &key);
            assert_eq!(row["providerOverride"], theirs["provider"], "{what}: {row}");
            assert_eq!(row["modelOverride"], theirs["model"], "{what}: {row}");
        }
    }
}
