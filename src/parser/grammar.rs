//! The nom rules of SPEC §3, one small function per rule. Input is `&str`; nothing here allocates
//! except decoding a quoted atom that contains escapes.

use std::borrow::Cow;

use nom::branch::alt;
use nom::bytes::complete::{take_while_m_n, take_while1};
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

/// Class bit of the bytes of an unquoted reference: `[A-Za-z0-9_.:@-]`.
const REF: u8 = 1;
/// Class bit of the bytes of a runtime value: `[A-Za-z0-9_.:-]`.
const RUNTIME: u8 = 2;

/// The class bits of every byte value (non-ASCII bytes have none), so a run is one load per byte.
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let word = c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b':' || c == b'-';
        if word {
            table[b] = REF | RUNTIME;
        }
        b += 1;
    }
    table[b'@' as usize] = REF;
    table
};

/// True when byte `b` has class bit `class`.
#[inline]
fn has_class(b: u8, class: u8) -> bool {
    CLASS[usize::from(b)] & class != 0
}

/// The longest prefix of bytes in `class` (a char boundary, since only ASCII bytes have a class).
#[inline]
fn class_run(i: &str, class: u8) -> usize {
    i.bytes()
        .position(|b| !has_class(b, class))
        .unwrap_or(i.len())
}

/// One or more bytes of `class`.
#[inline]
fn class_run1(i: &str, class: u8) -> Res<'_, &str> {
    match class_run(i, class) {
        0 => reject(i),
        n => Ok((&i[n..], &i[..n])),
    }
}

/// Byte length of the leading whitespace of `i`: ASCII bytes directly, other characters decoded.
#[inline]
fn ws_len(i: &str) -> usize {
    let b = i.as_bytes();
    let ascii = b
        .iter()
        .position(|&c| !matches!(c, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' '))
        .unwrap_or(b.len());
    if b.get(ascii).is_none_or(|&c| c < 0x80) {
        return ascii;
    }
    ascii + wide_ws_len(&i[ascii..])
}

/// Byte length of leading whitespace that starts with a non-ASCII character (the rare case).
#[cold]
fn wide_ws_len(i: &str) -> usize {
    i.find(|c| !is_js_whitespace(c)).unwrap_or(i.len())
}

/// One or more whitespace characters (JavaScript's `\s`).
#[inline]
fn ws1(i: &str) -> Res<'_, &str> {
    match ws_len(i) {
        0 => reject(i),
        n => Ok((&i[n..], &i[..n])),
    }
}

/// Zero or more whitespace characters.
#[inline]
fn ws0(i: &str) -> Res<'_, &str> {
    let n = ws_len(i);
    Ok((&i[n..], &i[..n]))
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
    let n = ws_len(i);
    if i.as_bytes().get(n) == Some(&b':') {
        Ok((&i[n + 1..], Some(&i[..=n])))
    } else {
        Ok((i, None))
    }
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
pub(super) fn may_start_option(i: &str) -> bool {
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

/// A runtime value that does not itself begin with an option.
#[inline]
fn runtime_value(i: &str) -> Res<'_, &str> {
    preceded(not(option_start), |i| class_run1(i, RUNTIME)).parse(i)
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

/// Segments of reference bytes joined by single `/`; a trailing or doubled `/` is not part of it.
#[inline]
fn unquoted_ref(i: &str) -> Res<'_, &str> {
    let b = i.as_bytes();
    let mut n = class_run(i, REF);
    if n == 0 {
        return reject(i);
    }
    while b.get(n) == Some(&b'/') && b.get(n + 1).is_some_and(|&c| has_class(c, REF)) {
        n += 1 + class_run(&i[n + 1..], REF);
    }
    Ok((&i[n..], &i[..n]))
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
    let (i, _) = ws0(i)?;
    option_pair(i)
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
    !i.is_empty() && preceded(ws1, scope_flag).parse(i).is_ok()
}

/// True when the text, after optional whitespace, starts with `"` (a quote that failed to form a reference).
#[inline]
pub(super) fn quote_follows(i: &str) -> bool {
    i.trim_start_matches(is_js_whitespace).starts_with('"')
}
