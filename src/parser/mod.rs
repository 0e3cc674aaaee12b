//! The chat grammar (SPEC §3): finds the one `/model` directive or alias shortcut in a message.
//!
//! Pure: text in, [`ParseResult`] out, no I/O. A message without a directive is answered without
//! allocating (the result borrows the message). Runs in time linear in the message length.

mod clean;
mod grammar;
mod quoted;
mod scan;
mod slashes;
mod split;

use std::borrow::Cow;

use serde::Serialize;

use grammar::{Options, Reference};
use scan::Candidate;
pub use scan::is_js_whitespace;

/// Which form produced the directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A `/model` directive.
    Model,
    /// An alias shortcut such as `/opus`.
    Alias,
}

/// Where a selection should apply (`-s`, `-a`, `-g`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// This chat session only (`-s`, `--session`).
    Session,
    /// The agent's default model (`-a`, `--agent`).
    Agent,
    /// The global default model (`-g`, `--global`).
    Global,
}

/// The parse of one message, with the field names of SPEC §3 when serialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseResult<'a> {
    /// True when the message carries a directive.
    pub has_directive: bool,
    /// The form of the directive; `None` without one.
    pub source: Option<Source>,
    /// The model as typed (trimmed; `None` when absent or empty).
    pub raw_model: Option<Cow<'a, str>>,
    /// The auth profile as typed after the `@` delimiter.
    pub raw_profile: Option<Cow<'a, str>>,
    /// The value of `--runtime`, `runtime=` or `harness=`.
    pub raw_runtime: Option<&'a str>,
    /// The scope flag, when one was given.
    pub scope: Option<Scope>,
    /// True when a second scope flag follows the directive.
    pub scope_conflict: bool,
    /// The message without the directive: what the agent should see.
    pub cleaned: Cow<'a, str>,
}

impl<'a> ParseResult<'a> {
    /// The result for a message that carries no directive: `cleaned` borrows the message.
    pub fn none(message: &'a str) -> Self {
        ParseResult {
            has_directive: false,
            source: None,
            raw_model: None,
            raw_profile: None,
            raw_runtime: None,
            scope: None,
            scope_conflict: false,
            cleaned: Cow::Borrowed(message),
        }
    }

    /// True when the message is only the directive (SPEC §4: only such messages act).
    pub fn is_directive_only(&self) -> bool {
        self.has_directive && self.cleaned.is_empty()
    }
}

/// The configured aliases that work as shortcuts (`/opus`), matched ASCII-case-insensitively.
///
/// Build it once per configuration and reuse it for every message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aliases {
    /// Lower-cased names, longest first, so the longest alias wins at one position.
    names: Vec<String>,
}

impl Aliases {
    /// Collects alias names; empty names are ignored and duplicates (by ASCII case) kept once.
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut names: Vec<String> = names
            .into_iter()
            .map(|n| n.as_ref().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        names.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        names.dedup();
        Aliases { names }
    }

    /// True when no alias is configured.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Byte length of the alias that `after_slash` starts with, followed by end, whitespace or `:`.
    fn match_at(&self, after_slash: &str) -> Option<usize> {
        let b = after_slash.as_bytes();
        self.names
            .iter()
            .map(String::len)
            .zip(&self.names)
            .find_map(|(n, name)| {
                let hit = b.len() >= n
                    && b[..n].eq_ignore_ascii_case(name.as_bytes())
                    && after_slash.is_char_boundary(n)
                    && scan::head_boundary(&after_slash[n..]);
                hit.then_some(n)
            })
    }
}

/// Parses one chat message (SPEC §3). Never panics, for any UTF-8 input.
///
/// A message without `/` (most chat traffic) is answered after one vector search.
pub fn parse<'a>(message: &'a str, aliases: &Aliases) -> ParseResult<'a> {
    match memchr::memchr(b'/', message.as_bytes()) {
        None => ParseResult::none(message),
        Some(first) => parse_from(message, first, aliases),
    }
}

/// [`parse`] for a message whose first `/` is at byte `first`.
fn parse_from<'a>(message: &'a str, first: usize, aliases: &Aliases) -> ParseResult<'a> {
    match scan::first_candidate(message, first, aliases) {
        Candidate::None => ParseResult::none(message),
        Candidate::Head(start) => parse_model(message, start),
        Candidate::Alias { start, len } => {
            let word = &message[start + 1..start + len];
            match grammar::alias_tail(&message[start + len..]) {
                Ok((rest, options)) => {
                    let end = message.len() - rest.len();
                    let model = Some(Cow::Borrowed(word));
                    build(message, (start, end), Source::Alias, (model, None), options)
                }
                Err(_) => ParseResult::none(message),
            }
        }
    }
}

/// The `/model` path: reference form at the first head, unless an options-only match wins.
fn parse_model(message: &str, head: usize) -> ParseResult<'_> {
    let Ok((rest, form)) = grammar::ref_form(&message[head..]) else {
        return ParseResult::none(message);
    };
    let unfinished = match &form.reference {
        None => true,
        Some(Reference::Unquoted(r)) => r.ends_with('@'),
        Some(Reference::QuotedProfile { .. }) => false,
    };
    if unfinished && grammar::quote_follows(rest) {
        return ParseResult::none(message);
    }
    if !matches!(form.reference, Some(Reference::QuotedProfile { .. })) {
        // The first head's head and colon are already parsed; later heads are parsed whole. A reference
        // never begins with an option, but one such as `--runtimecodex` does begin with a runtime option
        // (`--runtime` with its value right after it, SPEC §3 "optional W"): options-only wins then.
        let mut found = match &form.reference {
            None => grammar::options_after_colon(form.after_colon).ok(),
            Some(Reference::Unquoted(r)) if grammar::may_start_option(r) => {
                grammar::options_after_colon(form.after_colon).ok()
            }
            Some(_) => None,
        }
        .map(|found| (head, found));
        let mut next = head;
        while found.is_none() {
            let Some(at) = scan::find_head(message, next + "/model".len()) else {
                break;
            };
            found = grammar::options_only(&message[at..])
                .ok()
                .map(|found| (at, found));
            next = at;
        }
        if let Some((start, (rest, options))) = found {
            let end = message.len() - rest.len();
            return build(message, (start, end), Source::Model, (None, None), options);
        }
    }
    let end = message.len() - rest.len();
    let parts = match form.reference {
        None => (None, None),
        Some(Reference::Unquoted(r)) => {
            let (model, profile) = split::split_profile(r);
            (Some(Cow::Borrowed(model)), profile.map(Cow::Borrowed))
        }
        Some(Reference::QuotedProfile { model, profile }) => (Some(model), Some(profile)),
    };
    build(message, (head, end), Source::Model, parts, form.options)
}

/// Trims a raw value; an empty value is absent.
fn tidy(value: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    let value = value?;
    let solid = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_graphic());
    if solid(value.as_bytes().first()) && solid(value.as_bytes().last()) {
        return Some(value);
    }
    let trimmed = value.trim_matches(is_js_whitespace);
    if trimmed.is_empty() {
        return None;
    }
    Some(match value {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim_matches(is_js_whitespace)),
        Cow::Owned(ref o) if trimmed.len() == o.len() => value,
        Cow::Owned(_) => Cow::Owned(trimmed.to_owned()),
    })
}

/// Assembles the result for a directive spanning `span` in `message`.
fn build<'a>(
    message: &'a str,
    span: (usize, usize),
    source: Source,
    (model, profile): (Option<Cow<'a, str>>, Option<Cow<'a, str>>),
    options: Options<'a>,
) -> ParseResult<'a> {
    let (start, end) = span;
    ParseResult {
        has_directive: true,
        source: Some(source),
        raw_model: tidy(model),
        raw_profile: tidy(profile),
        raw_runtime: options.runtime,
        scope: options.scope,
        scope_conflict: grammar::conflicting_scope(&message[end..]),
        cleaned: clean::remove_span(message, start, end),
    }
}
