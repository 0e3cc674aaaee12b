//! One JSON contract for every `--json` command: exactly one document on stdout, success or failure,
//! one error shape (`{"error": {"code", "message"}}`) with a non-zero exit, fields rather than
//! sentences, and nothing JSON on stderr. Each document's shape is snapshot-tested (docs/json.md).

use std::path::Path;

use serde_json::{Value, json};

use crate::common::rich_state;

/// Runs `modelauth --state-dir DIR --json ARGS`: exit code, the one stdout document, stderr.
fn json_run(dir: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = crate::common::modelauth_in(dir)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON document ({e}): {stdout}"));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !stderr.lines().any(|l| l.trim_start().starts_with('{')),
        "{args:?}: JSON on stderr: {stderr}"
    );
    (out.status.code(), doc, stderr)
}

/// `doc` with the state directory and times made stable for a snapshot.
fn stable(doc: Value, dir: &Path) -> Value {
    let text = doc.to_string().replace(&dir.display().to_string(), "[dir]");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    let timeish = k.ends_with("Ms")
                        || ["until", "expires", "at", "lastUsed", "lastRefresh"]
                            .contains(&k.as_str());
                    if timeish && !x.is_null() {
                        *x = json!("[time]");
                    } else {
                        walk(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

#[test]
fn every_json_document_has_its_documented_shape() {
    let (_d, state) = rich_state();
    let dir = state.root();
    let mut docs = serde_json::Map::new();
    for (name, args) in [
        ("models_list", &["models", "list"][..]),
        ("auth_list", &["models", "auth", "list"]),
        (
            "order_get",
            &["models", "auth", "order", "get", "--provider", "anthropic"],
        ),
        (
            "order_set",
            &[
                "models",
                "auth",
                "order",
                "set",
                "--provider",
                "anthropic",
                "anthropic:manual",
                "anthropic:work",
            ],
        ),
        (
            "order_clear",
            &[
                "models",
                "auth",
                "order",
                "clear",
                "--provider",
                "anthropic",
            ],
        ),
        ("resolve", &["resolve", "--provider", "anthropic"]),
        (
            "report",
            &[
                "models",
                "auth",
                "report",
                "anthropic:work",
                "--outcome",
                "rate_limit",
                "--model",
                "claude-opus-4-6",
            ],
        ),
        (
            "report_again",
            &[
                "models",
                "auth",
                "report",
                "anthropic:work",
                "--outcome",
                "rate_limit",
                "--model",
                "claude-opus-4-6",
            ],
        ),
        ("remove", &["models", "auth", "remove", "groq:old"]),
    ] {
        let (code, doc, err) = json_run(dir, args);
        assert_eq!(code, Some(0), "{name}: {doc} {err}");
        assert!(doc.get("error").is_none(), "{name}: {doc}");
        docs.insert(name.to_owned(), stable(doc, dir));
    }
    insta::assert_json_snapshot!("json_documents", Value::Object(docs));
}

#[test]
fn every_failure_is_one_error_document_with_a_code() {
    let (_d, state) = rich_state();
    let dir = state.root();
    for (args, code, exit) in [
        (
            &["models", "auth", "remove", "anthropic:nope"][..],
            "unknown_profile",
            1,
        ),
        (
            &[
                "models",
                "auth",
                "report",
                "anthropic:nope",
                "--outcome",
                "success",
            ],
            "unknown_profile",
            1,
        ),
        (
            &["--agent", "nobody", "models", "status"],
            "unknown_agent",
            1,
        ),
        (
            &["models", "auth", "order", "get", "--provider", "anthropc"],
            "unknown_provider",
            1,
        ),
        (
            &[
                "models",
                "auth",
                "order",
                "set",
                "--provider",
                "openai",
                "anthropic:work",
            ],
            "wrong_provider",
            1,
        ),
        (&["state", "export"], "not_shared", 1),
        (&["models", "auth", "report"], "usage", 64),
    ] {
        let (exit_code, doc, stderr) = json_run(dir, args);
        assert_eq!(exit_code, Some(exit), "{args:?}: {doc}");
        assert_eq!(doc["error"]["code"], code, "{args:?}: {doc}");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty() && !message.contains("Debug"), "{doc}");
        assert!(!stderr.is_empty(), "the text is on stderr too");
        assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
    }
    // A failed resolve lists every profile it considered and why it refused each.
    for id in ["anthropic:work", "anthropic:manual"] {
        json_run(
            dir,
            &["models", "auth", "report", id, "--outcome", "rate_limit"],
        );
    }
    let (code, doc, stderr) = json_run(dir, &["resolve", "--provider", "anthropic"]);
    assert_eq!(code, Some(1), "{doc}");
    let candidates = doc["error"]["candidates"].as_array().expect("candidates");
    let work = candidates
        .iter()
        .find(|c| c["id"] == "anthropic:work")
        .expect("work");
    assert!(
        work["why"]
            .as_str()
            .unwrap()
            .starts_with("cooling down until"),
        "{doc}"
    );
    assert!(
        stderr.contains("anthropic:work — cooling down until"),
        "{stderr}"
    );
    // A corrupt store is named, with its own code.
    std::fs::write(
        dir.join("agents/main/agent/auth-profiles.json"),
        "{ not json",
    )
    .unwrap();
    let (code, doc, _) = json_run(dir, &["models", "auth", "list"]);
    assert_eq!(code, Some(1));
    assert_eq!(doc["error"]["code"], "bad_state_file", "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("auth-profiles.json"),
        "{doc}"
    );
}
