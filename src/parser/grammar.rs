//! The nom rules of SPEC §3, one small function per rule. Input is `&str`; nothing here allocates
//! except decoding a quoted atom that contains escapes.

use std::borrow::Cow;

use nom::branch::alt;
use nom::bytes::complete::{take_while, take_while_m_n, take_while1};
use nom::character::complete::{char, one_of};
use nom::combinator::{map, not, opt, peek, recognize, value};
use nom::error::{Error, ErrorKind};
use nom::multi::many0_count;
use nom::sequence::preceded;
use nom::{IResult, Parser};

use super::Scope;
use super::quoted::decode;
use super::scan::is_js_whitespace;

type Res<'a, T> = IResult<&'a str, T>;

/// The runtime and scope options that a directive carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Options<'a> {
    pub runtime: Option<&'a str>,
    pub scope: Option<Scope>,
}

/// A reference as written: unquoted, or with a quoted profile (and maybe a quoted model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reference<'a> {
    Unquoted(&'a str),
    QuotedProfile {
        model: Cow<'a, str>,
        profile: Cow<'a, str>,
    },
}

/// What the reference form matched after its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RefForm<'a> {
    /// The text right after the head and colon, where an options-only match would continue.
    pub after_colon: &'a str,
    pub reference: Option<Reference<'a>>,
    pub options: Options<'a>,
}

/// A recoverable failure at `i`.
#[inline]
fn reject<T>(i: &str) -> Res<'_, T> {
    Err(nom::Err::Error(Error::new(i, ErrorKind::Verify)))
}

/// An ASCII-case-insensitive keyword (letter case is ASCII-only in this grammar).
#[inline]
fn keyword<'a>(word: &'static str) -> impl Fn(&'a str) -> Res<'a, &'a str> {
    move |i: &'a str| {
        let n = word.len();
        if i.len() >= n && i.as_bytes()[..n].eq_ignore_ascii_case(word.as_bytes()) {
            Ok((&i[n..], &i[..n]))
        } else {
            reject(i)
        }
    }
}

/// The longest prefix of ASCII bytes matching `pred` (a char boundary, since only ASCII matches).
#[inline]
fn ascii_run(i: &str, pred: impl Fn(u8) -> bool) -> usize {
    i.bytes().take_while(|&b| pred(b)).count()
}

/// One or more ASCII characters matching `pred`.
#[inline]
fn ascii_run1(i: &str, pred: impl Fn(u8) -> bool) -> Res<'_, &str> {
    match ascii_run(i, pred) {
        0 => reject(i),
        n => Ok((&i[n..], &i[..n])),
    }
}

/// One or more whitespace characters (JavaScript's `\s`).
#[inline]
fn ws1(i: &str) -> Res<'_, &str> {
    take_while1(is_js_whitespace).parse(i)
}

/// Zero or more whitespace characters.
#[inline]
fn ws0(i: &str) -> Res<'_, &str> {
    take_while(is_js_whitespace).parse(i)
}

/// End of text or whitespace follows (nothing consumed).
#[inline]
fn word_end(i: &str) -> Res<'_, ()> {
    if i.chars().next().is_none_or(is_js_whitespace) {
        Ok((i, ()))
    } else {
        reject(i)
    }
}

/// End of text, whitespace or `:` follows (nothing consumed).
#[inline]
fn head_end(i: &str) -> Res<'_, ()> {
    if super::scan::head_boundary(i) {
        Ok((i, ()))
    } else {
        reject(i)
    }
}

/// The `/model` head in any letter case, followed by end, whitespace or `:`.
#[inline]
fn head(i: &str) -> Res<'_, &str> {
    let (rest, word) = keyword("/model")(i)?;
    head_end(rest).map(|(rest, ())| (rest, word))
}

/// Optional whitespace then one colon, consumed only together.
#[inline]
pub(super) fn colon(i: &str) -> Res<'_, Option<&str>> {
    opt(recognize((ws0, char(':')))).parse(i)
}

/// A scope flag (`-s`/`--session`, `-a`/`--agent`, `-g`/`--global`) followed by end or whitespace.
#[inline]
fn scope_flag(i: &str) -> Res<'_, Scope> {
    let (rest, scope) = alt((
        value(Scope::Session, alt((keyword("--session"), keyword("-s")))),
        value(Scope::Agent, alt((keyword("--agent"), keyword("-a")))),
        value(Scope::Global, alt((keyword("--global"), keyword("-g")))),
    ))
    .parse(i)?;
    word_end(rest).map(|(rest, ())| (rest, scope))
}

/// True when the first byte could begin an option (`-`, `r`, `h`): a cheap filter before the keywords.
#[inline]
fn may_start_option(i: &str) -> bool {
    matches!(i.as_bytes().first(), Some(b'-' | b'r' | b'R' | b'h' | b'H'))
}

/// The start of an option: a scope flag, `--runtime` before end or whitespace, `runtime=`, `harness=`.
#[inline]
fn option_start(i: &str) -> Res<'_, ()> {
    if !may_start_option(i) {
        return reject(i);
    }
    let runtime_word = |i| keyword("--runtime")(i).and_then(|(rest, _)| word_end(rest));
    peek(alt((
        value((), scope_flag),
        value((), runtime_word),
        value((), keyword("runtime=")),
        value((), keyword("harness=")),
    )))
    .parse(i)
}

/// A byte of a runtime value: `[A-Za-z0-9_.:-]`.
#[inline]
fn is_runtime_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')
}

/// A runtime value that does not itself begin with an option.
#[inline]
fn runtime_value(i: &str) -> Res<'_, &str> {
    preceded(not(option_start), |i| ascii_run1(i, is_runtime_byte)).parse(i)
}

/// `--runtime`, `runtime=` or `harness=`, optional whitespace, then a runtime value.
#[inline]
fn runtime_option(i: &str) -> Res<'_, &str> {
    let intro = alt((
        keyword("--runtime"),
        keyword("runtime="),
        keyword("harness="),
    ));
    preceded((intro, ws0), runtime_value).parse(i)
}

/// A runtime option optionally followed by a scope flag, or a scope flag optionally followed by one.
#[inline]
fn option_pair(i: &str) -> Res<'_, Options<'_>> {
    if !may_start_option(i) {
        return reject(i);
    }
    alt((
        map(
            (runtime_option, opt(preceded(ws1, scope_flag))),
            |(runtime, scope)| Options {
                runtime: Some(runtime),
                scope,
            },
        ),
        map(
            (scope_flag, opt(preceded(ws1, runtime_option))),
            |(scope, runtime)| Options {
                runtime,
                scope: Some(scope),
            },
        ),
    ))
    .parse(i)
}

/// Whitespace then an option pair, after a reference or an alias.
#[inline]
fn trailing_options(i: &str) -> Res<'_, Options<'_>> {
    preceded(ws1, option_pair).parse(i)
}

/// A byte of an unquoted reference: `[A-Za-z0-9_.:@-]`.
#[inline]
fn is_ref_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'@' | b'-')
}

/// One run of reference characters.
#[inline]
fn ref_segment(i: &str) -> Res<'_, &str> {
    ascii_run1(i, is_ref_byte)
}

/// Segments joined by single `/`; a trailing `/` is not part of it.
#[inline]
fn unquoted_ref(i: &str) -> Res<'_, &str> {
    recognize((ref_segment, many0_count(preceded(char('/'), ref_segment)))).parse(i)
}

/// A character allowed raw inside a JSON string: not `"`, `\` or a control character.
#[inline]
fn is_plain_string_char(c: char) -> bool {
    c != '"' && c != '\\' && c >= ' '
}

/// One JSON escape: `\" \\ \/ \b \f \n \r \t` or `\uXXXX`.
#[inline]
fn escape(i: &str) -> Res<'_, &str> {
    let unicode = recognize((
        char('u'),
        take_while_m_n(4, 4, |c: char| c.is_ascii_hexdigit()),
    ));
    recognize(preceded(
        char('\\'),
        alt((recognize(one_of("\"\\/bfnrt")), unicode)),
    ))
    .parse(i)
}

/// A JSON string literal, returned with its quotes.
#[inline]
fn quoted_atom(i: &str) -> Res<'_, &str> {
    let body = many0_count(alt((take_while1(is_plain_string_char), escape)));
    recognize((char('"'), body, char('"'))).parse(i)
}

/// `"MODEL"@"PROFILE"`.
#[inline]
fn quoted_pair(i: &str) -> Res<'_, Reference<'_>> {
    map(
        (quoted_atom, char('@'), quoted_atom),
        |(model, _, profile)| Reference::QuotedProfile {
            model: decode(model),
            profile: decode(profile),
        },
    )
    .parse(i)
}

/// An unquoted reference, or `REF@"PROFILE"` when the run ends in `@` right before a quoted profile.
#[inline]
fn unquoted_or_quoted_profile(i: &str) -> Res<'_, Reference<'_>> {
    let (rest, run) = unquoted_ref(i)?;
    // `"` is not a reference character, so `@"` can only stand where the run ends in `@`.
    let model = run
        .strip_suffix('@')
        .filter(|m| !m.is_empty() && !m.ends_with('/'));
    if let Some(model) = model
        && let Ok((rest, profile)) = quoted_atom(rest)
    {
        let profile = decode(profile);
        return Ok((
            rest,
            Reference::QuotedProfile {
                model: Cow::Borrowed(model),
                profile,
            },
        ));
    }
    Ok((rest, Reference::Unquoted(run)))
}

/// A reference: `"MODEL"@"PROFILE"`, `REF@"PROFILE"` or unquoted; never begins with an option.
#[inline]
fn reference(i: &str) -> Res<'_, Reference<'_>> {
    if i.starts_with('"') {
        return quoted_pair(i);
    }
    preceded(not(option_start), unquoted_or_quoted_profile).parse(i)
}

/// Reference form: head, colon, optionally whitespace and a reference, optional trailing options.
#[inline]
pub(super) fn ref_form(i: &str) -> Res<'_, RefForm<'_>> {
    let (after_colon, _) = (head, colon).parse(i)?;
    let (i, reference) = opt(preceded(ws0, reference)).parse(after_colon)?;
    let (i, options) = opt(trailing_options).parse(i)?;
    Ok((
        i,
        RefForm {
            after_colon,
            reference,
            options: options.unwrap_or_default(),
        },
    ))
}

/// Options-only form: head, colon, optional whitespace, then an option pair.
#[inline]
pub(super) fn options_only(i: &str) -> Res<'_, Options<'_>> {
    preceded((head, colon), options_after_colon).parse(i)
}

/// The rest of the options-only form once head and colon matched: optional whitespace, an option pair.
#[inline]
pub(super) fn options_after_colon(i: &str) -> Res<'_, Options<'_>> {
    preceded(ws0, option_pair).parse(i)
}

/// What follows an alias word: colon, then optional trailing options.
#[inline]
pub(super) fn alias_tail(i: &str) -> Res<'_, Options<'_>> {
    let (i, _) = colon(i)?;
    map(opt(trailing_options), Option::unwrap_or_default).parse(i)
}

/// True when whitespace and another scope flag follow a directive.
#[inline]
pub(super) fn conflicting_scope(i: &str) -> bool {
    preceded(ws1, scope_flag).parse(i).is_ok()
}

/// True when the text, after optional whitespace, starts with `"` (a quote that failed to form a reference).
#[inline]
pub(super) fn quote_follows(i: &str) -> bool {
    i.trim_start_matches(is_js_whitespace).starts_with('"')
}
