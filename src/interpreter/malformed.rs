//! Mixed messages whose directive is a mistake rather than a command with chat text after it: they
//! get a reply that names the mistake instead of being stripped silently (issue 18).

use crate::parser::ParseResult;

/// The keywords that take nothing after them.
const BARE: [&str; 3] = ["list", "status", "default"];

/// The reply for a mixed `message` whose directive is malformed, or `None` for an ordinary mixed
/// message (a directive followed by text for the model, such as `/model sonnet please`).
pub fn reply(parsed: &ParseResult<'_>, message: &str) -> Option<String> {
    if !parsed.has_directive || parsed.cleaned.is_empty() {
        return None;
    }
    let model = parsed.raw_model.as_deref();
    if let Some(profile) = parsed.raw_profile.as_deref()
        && let Some(bad) = char_after(message, &format!("@{profile}"))
    {
        return Some(format!(
            "Auth profile ids take letters, digits and - _ . : + only: \"{profile}{bad}…\" has {bad:?}. Nothing was changed; check the id with /model status."
        ));
    }
    if let Some(kw) = model.filter(|m| BARE.iter().any(|k| k.eq_ignore_ascii_case(m)))
        && parsed.raw_profile.is_none()
    {
        let extra: String = parsed.cleaned.chars().take(40).collect();
        let hint = if kw.eq_ignore_ascii_case("list") {
            " (it lists every provider's models); to switch, type /model <provider/model>"
        } else {
            ""
        };
        return Some(format!(
            "/model {kw} takes nothing after it (\"{extra}\"): send /model {kw} on its own{hint}. Nothing was changed."
        ));
    }
    None
}

/// The character right after the first `needle` in `message`, when it is not whitespace: where the
/// grammar stopped reading an id.
fn char_after(message: &str, needle: &str) -> Option<char> {
    let at = message.find(needle)? + needle.len();
    message[at..].chars().next().filter(|c| !c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::reply;
    use crate::parser::{Aliases, parse};

    fn r(m: &str) -> Option<String> {
        reply(&parse(m, &Aliases::default()), m)
    }

    #[test]
    fn mistakes_are_named_and_ordinary_mixed_messages_are_not() {
        let list = r("/model list anthropic").unwrap();
        assert!(list.contains("/model list takes nothing after it (\"anthropic\")"), "{list}");
        assert!(r("/model status extra").unwrap().contains("/model status takes nothing"));
        let bad = r("/model opus@anthropic:wörk").unwrap();
        assert!(bad.contains("\"anthropic:wö…\" has 'ö'"), "{bad}");
        assert_eq!(r("/model sonnet please"), None);
        assert_eq!(r("/model opus@anthropic:work thanks"), None);
        assert_eq!(r("/model list"), None);
        assert_eq!(r("hello"), None);
    }
}
