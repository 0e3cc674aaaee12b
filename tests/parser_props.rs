//! Property tests of the chat parser over grammar-shaped and arbitrary text.

use modelauth::parser::{Aliases, parse};
use proptest::prelude::*;

use crate::fuzz_input;

/// Pieces that exercise every rule of the grammar, joined at random.
fn grammar_text() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "/model",
        "/MODEL",
        "/models",
        "/opus",
        "/Opus",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\u{a0}",
        "\u{85}",
        ":",
        "@",
        "\"",
        "\\",
        "\\u00e9",
        "\\x",
        "-s",
        "--agent",
        "-g",
        "--runtime",
        "runtime=",
        "harness=",
        "gpt",
        "a/b",
        "/",
        "//",
        "q8_0",
        "20251001",
        "work",
        "é",
        "😀",
        "x@y",
        "@\"p\"",
        "\"m\"",
        "-",
    ]);
    prop::collection::vec(tokens, 0..24).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn grammar_shaped_text_keeps_invariants(msg in grammar_text()) {
        fuzz_input::check_invariants(&msg, &Aliases::new(["opus", "sonnet"]));
    }

    #[test]
    fn arbitrary_text_keeps_invariants(msg in any::<String>()) {
        fuzz_input::check_invariants(&msg, &Aliases::new(["opus"]));
    }

    #[test]
    fn text_without_slash_has_no_directive(msg in "[^/]*") {
        let result = parse(&msg, &Aliases::new(["opus"]));
        prop_assert!(!result.has_directive);
        prop_assert_eq!(result.cleaned, msg.as_str());
    }

    #[test]
    fn embedded_directive_is_removed_and_gone(
        before in "[a-z ]{0,12}", model in "[a-z][a-z0-9.-]{0,10}", after in "[a-z ]{0,12}",
    ) {
        let msg = format!("{before} /model {model} {after}");
        let result = parse(&msg, &Aliases::default());
        prop_assert!(result.has_directive);
        prop_assert_eq!(result.raw_model.as_deref(), Some(model.as_str()));
        prop_assert!(!parse(&result.cleaned, &Aliases::default()).has_directive);
    }
}

#[test]
fn huge_message_with_many_heads_parses() {
    // 10 MB of near-miss fragments: must stay linear (a quadratic scan would not finish in test time).
    let unit = "/model -x /modelx /model\u{a0}--runtime /model \"a\\\" ";
    let msg = unit.repeat(10_000_000 / unit.len());
    let result = parse(&msg, &Aliases::new(["opus"]));
    assert!(result.has_directive);
    let msg2 = "/opu ".repeat(2_000_000);
    assert!(!parse(&msg2, &Aliases::new(["opus"])).has_directive);
}
