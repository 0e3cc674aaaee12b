//! Table of SPEC §3 cases: each message with the parse fields that differ from a directive-only default.

use modelauth::parser::{Aliases, parse};
use serde_json::{Value, json};

fn aliases() -> Aliases {
    Aliases::new(["opus", "sonnet", "Gemini-Flash"])
}

/// Asserts the parse of `msg`; fields missing from `diff` take the directive-only defaults.
#[track_caller]
fn t(msg: &str, diff: Value) {
    let mut want = json!({"hasDirective": true, "source": "model", "rawModel": null, "rawProfile": null,
        "rawRuntime": null, "scope": null, "scopeConflict": false, "cleaned": ""});
    for (k, v) in diff.as_object().expect("object") {
        assert!(want.get(k).is_some(), "unknown field {k}");
        want[k] = v.clone();
    }
    let got = serde_json::to_value(parse(msg, &aliases())).expect("serialise");
    assert_eq!(got, want, "message {msg:?}");
}

/// Asserts that `msg` has no directive and comes back unchanged.
#[track_caller]
fn none(msg: &str) {
    t(
        msg,
        json!({"hasDirective": false, "source": null, "cleaned": msg}),
    );
}

#[test]
fn spec_table_rows() {
    t("/model", json!({}));
    t("/MODEL Status", json!({"rawModel": "Status"}));
    t(
        "/model gpt-5@work",
        json!({"rawModel": "gpt-5", "rawProfile": "work"}),
    );
    t(
        "/model anthropic/claude-opus-4-6@anthropic:work",
        json!({"rawModel": "anthropic/claude-opus-4-6", "rawProfile": "anthropic:work"}),
    );
    t(
        "/model flash@google-gemini-cli:me@gmail.com",
        json!({"rawModel": "flash", "rawProfile": "google-gemini-cli:me@gmail.com"}),
    );
    t(
        "/model custom/x@20251001@work",
        json!({"rawModel": "custom/x@20251001", "rawProfile": "work"}),
    );
    t(
        "/model lmstudio/gemma@q8_0",
        json!({"rawModel": "lmstudio/gemma@q8_0"}),
    );
    t(
        "/model openai/@cf/openai/gpt-oss-20b@cf:default",
        json!({"rawModel": "openai/@cf/openai/gpt-oss-20b", "rawProfile": "cf:default"}),
    );
    t(
        r#"/model "weird id"@"my profile""#,
        json!({"rawModel": "weird id", "rawProfile": "my profile"}),
    );
    t(
        "/model gpt --runtime codex -a",
        json!({"rawModel": "gpt", "rawRuntime": "codex", "scope": "agent"}),
    );
    t(
        "hello /model gpt-5 world",
        json!({"rawModel": "gpt-5", "cleaned": "hello world"}),
    );
    t(
        "/opus please",
        json!({"source": "alias", "rawModel": "opus", "cleaned": "please"}),
    );
    none("/models");
    none("x/model gpt");
}

#[test]
fn head_start_and_end_rules() {
    none("/model-x");
    none("//model");
    none("a/model b");
    none("/modelx");
    none("hello/model gpt");
    none("no slash at all");
    none("");
    t("/Model", json!({}));
    t("/mOdEl gpt", json!({"rawModel": "gpt"}));
    t(
        "hi\t/model gpt",
        json!({"rawModel": "gpt", "cleaned": "hi"}),
    );
    t(
        "hi\u{a0}/model gpt",
        json!({"rawModel": "gpt", "cleaned": "hi\u{a0}"}),
    );
    t(
        "hi\u{3000}/model gpt",
        json!({"rawModel": "gpt", "cleaned": "hi\u{3000}"}),
    );
    // U+0085 is not JavaScript whitespace: neither a start nor a separator.
    none("hi\u{85}/model gpt");
    t(
        "/model\u{85}gpt",
        json!({"hasDirective": false, "source": null, "cleaned": "/model\u{85}gpt"}),
    );
    t("/model\u{2003}gpt", json!({"rawModel": "gpt"}));
    t("/model\ngpt", json!({"rawModel": "gpt"}));
}

#[test]
fn colon_forms() {
    t("/model: gpt", json!({"rawModel": "gpt"}));
    t("/model:gpt", json!({"rawModel": "gpt"}));
    t("/model :gpt", json!({"rawModel": "gpt"}));
    t("/model : gpt", json!({"rawModel": "gpt"}));
    t("/model:", json!({}));
    t("/model::gpt", json!({"rawModel": ":gpt"}));
    t("/model: -s", json!({"scope": "session"}));
    t("/model:-g", json!({"scope": "global"}));
}

#[test]
fn unquoted_references() {
    t(
        "/model openrouter/anthropic/claude-3.5",
        json!({"rawModel": "openrouter/anthropic/claude-3.5"}),
    );
    t(
        "/model openai/",
        json!({"rawModel": "openai", "cleaned": "/"}),
    );
    t("/model a//b", json!({"rawModel": "a", "cleaned": "//b"}));
    t("/model @work", json!({"rawModel": "@work"}));
    t("/model gpt@", json!({"rawModel": "gpt@"}));
    t("/model a/@x", json!({"rawModel": "a/", "rawProfile": "x"}));
    t(
        "/model ollama/llama3:8b",
        json!({"rawModel": "ollama/llama3:8b"}),
    );
    t(
        "/model x@preset/fast@p",
        json!({"rawModel": "x@preset/fast", "rawProfile": "p"}),
    );
    t(
        "/model gpt-5, thanks",
        json!({"rawModel": "gpt-5", "cleaned": ", thanks"}),
    );
    t("/model 123", json!({"rawModel": "123"}));
}

#[test]
fn date_and_quant_suffixes() {
    t(
        "/model claude@20251001",
        json!({"rawModel": "claude@20251001"}),
    );
    t(
        "/model claude@2025100@w",
        json!({"rawModel": "claude", "rawProfile": "2025100@w"}),
    );
    t(
        "/model claude@202510011",
        json!({"rawModel": "claude", "rawProfile": "202510011"}),
    );
    t("/model m@Q4_K_M", json!({"rawModel": "m@Q4_K_M"}));
    t(
        "/model m@iq4_xs@team",
        json!({"rawModel": "m@iq4_xs", "rawProfile": "team"}),
    );
    t(
        "/model m@4bit@me",
        json!({"rawModel": "m@4bit", "rawProfile": "me"}),
    );
    t(
        "/model m@20251001@q8_0@me",
        json!({"rawModel": "m@20251001@q8_0", "rawProfile": "me"}),
    );
    t("/model m@q8_0x", json!({"rawModel": "m@q8_0x"}));
    t(
        "/model m@q8x",
        json!({"rawModel": "m", "rawProfile": "q8x"}),
    );
}

#[test]
fn quoted_atoms() {
    t(
        r#"/model gpt@"my profile""#,
        json!({"rawModel": "gpt", "rawProfile": "my profile"}),
    );
    t(
        r#"/model a/b@c@"p q""#,
        json!({"rawModel": "a/b@c", "rawProfile": "p q"}),
    );
    t(
        r#"/model "a\"b"@"c\\d""#,
        json!({"rawModel": "a\"b", "rawProfile": "c\\d"}),
    );
    t(
        r#"/model "\u00e9t\u00E9"@"\ud83d\ude00""#,
        json!({"rawModel": "été", "rawProfile": "😀"}),
    );
    t(
        r#"/model "x\/y"@"\t p \n""#,
        json!({"rawModel": "x/y", "rawProfile": "p"}),
    );
    t(r#"/model ""@"p""#, json!({"rawProfile": "p"}));
    t(r#"/model " "@" ""#, json!({}));
    t(
        r#"/model "\ud800"@"p""#,
        json!({"rawModel": "\u{fffd}", "rawProfile": "p"}),
    );
    // A bare quoted model, a bad escape, an unterminated quote or a raw control character: no directive.
    none(r#"/model "x""#);
    none(r#"/model "unterminated"#);
    none(r#"/model "a\q"@"p""#);
    none("/model \"a\u{1}\"@\"p\"");
    none(r#"/model gpt@"unterminated"#);
    none(r#"/model "x" /model gpt"#);
    t(
        r#"/model gpt@"p" -g"#,
        json!({"rawModel": "gpt", "rawProfile": "p", "scope": "global"}),
    );
    t(
        r#"/model gpt@"p" then"#,
        json!({"rawModel": "gpt", "rawProfile": "p", "cleaned": "then"}),
    );
}

#[test]
fn options_in_both_orders() {
    t(
        "/model gpt -s --runtime codex",
        json!({"rawModel": "gpt", "rawRuntime": "codex", "scope": "session"}),
    );
    t(
        "/model gpt --runtime codex --global",
        json!({"rawModel": "gpt", "rawRuntime": "codex", "scope": "global"}),
    );
    t(
        "/model gpt runtime=pi",
        json!({"rawModel": "gpt", "rawRuntime": "pi"}),
    );
    t(
        "/model gpt HARNESS= claude-cli",
        json!({"rawModel": "gpt", "rawRuntime": "claude-cli"}),
    );
    t("/model --runtime codex", json!({"rawRuntime": "codex"}));
    // "optional W": the value may follow `--runtime` directly, in every form (was read as a model).
    t("/model --runtimecodex", json!({"rawRuntime": "codex"}));
    t(
        "/model: --RUNTIMEcodex -g",
        json!({"rawRuntime": "codex", "scope": "global"}),
    );
    t(
        "/model -a --runtimecodex",
        json!({"scope": "agent", "rawRuntime": "codex"}),
    );
    t(
        "hi /model --runtimepi",
        json!({"rawRuntime": "pi", "cleaned": "hi"}),
    );
    t(
        "/model gpt --runtimecodex",
        json!({"rawModel": "gpt", "rawRuntime": "codex"}),
    );
    t(
        "/model --runtime--runtime x",
        json!({"rawModel": "--runtime--runtime", "cleaned": "x"}),
    );
    t("/model -a", json!({"scope": "agent"}));
    t(
        "/model --AGENT runtime=x",
        json!({"scope": "agent", "rawRuntime": "x"}),
    );
    t(
        "/model gpt -S",
        json!({"rawModel": "gpt", "scope": "session"}),
    );
    // A runtime value may not itself be an option.
    t("/model --runtime -s", json!({"cleaned": "--runtime -s"}));
    t(
        "/model gpt -sx",
        json!({"rawModel": "gpt", "cleaned": "-sx"}),
    );
    // The options-only match wins even after the reference-form match.
    t(
        "/model gpt /model -s",
        json!({"scope": "session", "cleaned": "/model gpt"}),
    );
    // A quoted profile keeps the reference form.
    t(
        r#"/model a@"b" /model -s"#,
        json!({"rawModel": "a", "rawProfile": "b", "cleaned": "/model -s"}),
    );
}

#[test]
fn scope_conflicts() {
    t(
        "/model gpt -s -a",
        json!({"rawModel": "gpt", "scope": "session", "scopeConflict": true, "cleaned": "-a"}),
    );
    t(
        "/model -g --runtime x -s",
        json!({"scope": "global", "rawRuntime": "x", "scopeConflict": true, "cleaned": "-s"}),
    );
    t(
        "/model gpt -s -s",
        json!({"rawModel": "gpt", "scope": "session", "scopeConflict": true, "cleaned": "-s"}),
    );
    t(
        "/model gpt -s -x",
        json!({"rawModel": "gpt", "scope": "session", "cleaned": "-x"}),
    );
}

#[test]
fn aliases_as_shortcuts() {
    t("/OPUS", json!({"source": "alias", "rawModel": "OPUS"}));
    t(
        "/opus: -s",
        json!({"source": "alias", "rawModel": "opus", "scope": "session"}),
    );
    t(
        "/gemini-flash --runtime x",
        json!({"source": "alias", "rawModel": "gemini-flash", "rawRuntime": "x"}),
    );
    t(
        "please /sonnet",
        json!({"source": "alias", "rawModel": "sonnet", "cleaned": "please"}),
    );
    none("/opus@x");
    none("/opusx");
    none("x/opus");
    none("/haiku");
    // A /model head anywhere beats an earlier alias.
    t(
        "/opus /model gpt",
        json!({"rawModel": "gpt", "cleaned": "/opus"}),
    );
}

#[test]
fn line_aware_removal() {
    t(
        "hello\n/model gpt\nworld",
        json!({"rawModel": "gpt", "cleaned": "hello\nworld"}),
    );
    t(
        "hello\r\n  /model gpt  \r\nworld",
        json!({"rawModel": "gpt", "cleaned": "hello\r\nworld"}),
    );
    t(
        "hello\n/model gpt",
        json!({"rawModel": "gpt", "cleaned": "hello\n"}),
    );
    t(
        "hello /model gpt\nworld",
        json!({"rawModel": "gpt", "cleaned": "hello\nworld"}),
    );
    t(
        "hello /model gpt\r\nworld",
        json!({"rawModel": "gpt", "cleaned": "hello\r\nworld"}),
    );
    t(
        "hello\t/model gpt",
        json!({"rawModel": "gpt", "cleaned": "hello"}),
    );
    t(
        "a /model gpt\tb",
        json!({"rawModel": "gpt", "cleaned": "a b"}),
    );
    t(
        "a\u{a0}/model gpt",
        json!({"rawModel": "gpt", "cleaned": "a\u{a0}"}),
    );
    t(
        "/model gpt\n\nnext",
        json!({"rawModel": "gpt", "cleaned": "\nnext"}),
    );
    t("  /model gpt  ", json!({"rawModel": "gpt"}));
    t("\n\n/model gpt", json!({"rawModel": "gpt"}));
    t(
        "/model gpt /model opus",
        json!({"rawModel": "gpt", "cleaned": "/model opus"}),
    );
}

#[test]
fn non_ascii_text() {
    t(
        "🎉 /model gpt 🎉",
        json!({"rawModel": "gpt", "cleaned": "🎉 🎉"}),
    );
    t(
        "/model gpt日本",
        json!({"rawModel": "gpt", "cleaned": "日本"}),
    );
    t(
        "Привет /model opus@anthropic:work",
        json!({"rawModel": "opus", "rawProfile": "anthropic:work", "cleaned": "Привет"}),
    );
    none("über/model gpt");
    none("/modél");
}
