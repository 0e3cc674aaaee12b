//! `.env` text read exactly as OpenClaw 2026.9.6 reads it: dotenv 17's `parse` (its line expression,
//! quotes that span lines, `\n` and `\r` escapes in double quotes, `export`, `KEY: value`, the last
//! of duplicated keys winning, a UTF-8 BOM as white space, invalid bytes decoded as U+FFFD), then
//! OpenClaw's portable-name filter (`^[A-Za-z_][A-Za-z0-9_]*$`). What dotenv skips silently is named
//! here as a warning by line number, never with its value.

use once_cell::sync::Lazy;
use regex::Regex;

use crate::store::Secret;

/// A malformed `.env` line, reported by number and skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvWarning {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong (never the value).
    pub problem: &'static str,
}

/// dotenv 17's `LINE` expression, with JavaScript's `\s` (which includes U+FEFF) and ASCII `\w`.
static LINE: Lazy<Regex> = Lazy::new(|| {
    let s = r"[\s\x{FEFF}]";
    let expr = format!(
        r#"(?m)(?:^|^){s}*(?:export{s}+)?([A-Za-z0-9_.-]+)(?:{s}*={s}*?|:{s}+?)({s}*'(?:\\'|[^'])*'|{s}*"(?:\\"|[^"])*"|{s}*`(?:\\`|[^`])*`|[^#\r\n]+)?{s}*(?:#[^\n]*)?(?:$|$)"#
    );
    Regex::new(&expr).expect("dotenv's line expression compiles")
});

/// True when `line` of a `.env` assigns `name` (`NAME=…` or `export NAME=…`), for editing the file
/// line by line.
pub fn line_assigns(line: &str, name: &str) -> bool {
    let bare = line.trim_start();
    let bare = bare.strip_prefix("export ").unwrap_or(bare);
    bare.split_once('=').is_some_and(|(k, _)| k.trim() == name)
}

/// Parses `.env` bytes: the variables in file order (a duplicated key keeps its last value, at its
/// first place) and warnings for the lines that define nothing.
pub fn parse(bytes: &[u8]) -> (Vec<(String, Secret)>, Vec<DotenvWarning>) {
    let text = String::from_utf8_lossy(bytes);
    let text = zeroize::Zeroizing::new(text.replace("\r\n", "\n").replace('\r', "\n"));
    let mut pairs: Vec<(String, Secret)> = Vec::new();
    let mut warnings = Vec::new();
    let mut covered = vec![false; text.len() + 1];
    for caps in LINE.captures_iter(&text) {
        let whole = caps.get(0).expect("a match has a whole");
        covered[whole.start()..whole.end()].fill(true);
        let key = caps[1].trim();
        let line = line_of(&text, caps.get(1).map_or(0, |m| m.start()));
        if !portable(key) {
            warnings.push(DotenvWarning {
                line,
                problem: "invalid variable name (letters, digits and _, not starting with a digit)",
            });
            continue;
        }
        let value = unquote(caps.get(2).map_or("", |m| m.as_str()));
        if value.contains('\u{FFFD}') {
            warnings.push(DotenvWarning {
                line,
                problem: "the value has bytes that are not UTF-8 (read as U+FFFD, as OpenClaw reads them)",
            });
        }
        match pairs.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = Secret::new(value),
            None => pairs.push((key.to_owned(), Secret::new(value))),
        }
    }
    warnings.extend(uncovered_lines(&text, &covered));
    warnings.sort_by_key(|w| w.line);
    (pairs, warnings)
}

/// dotenv's value rule: trim, strip one pair of surrounding quotes, expand `\n` and `\r` inside
/// double quotes.
fn unquote(raw: &str) -> String {
    let value = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
    let quote = value.chars().next();
    let stripped = match quote {
        Some(q @ ('\'' | '"' | '`')) if value.len() >= 2 && value.ends_with(q) => {
            &value[1..value.len() - 1]
        }
        _ => value,
    };
    if quote == Some('"') {
        stripped.replace("\\n", "\n").replace("\\r", "\r")
    } else {
        stripped.to_owned()
    }
}

/// OpenClaw's portable variable name: `^[A-Za-z_][A-Za-z0-9_]*$`.
fn portable(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1
}

/// Lines with something on them that no definition covers (and that are not comments).
fn uncovered_lines(text: &str, covered: &[bool]) -> Vec<DotenvWarning> {
    let mut out = Vec::new();
    let mut start = 0;
    for (n, line) in text.split('\n').enumerate() {
        let trimmed = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
        let end = start + line.len();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && !covered[start..end].iter().any(|c| *c)
        {
            out.push(DotenvWarning {
                line: n + 1,
                problem: "not KEY=VALUE; ignored",
            });
        }
        start = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &[u8]) -> Vec<(String, String)> {
        parse(text)
            .0
            .into_iter()
            .map(|(k, v)| (k, v.expose_secret().to_owned()))
            .collect()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn dotenv_17_cases() {
        assert_eq!(vars(b"A=1\nA=2\n"), [pair("A", "2")]);
        assert_eq!(vars("\u{feff}A=1\nB=2".as_bytes()), [pair("A", "1"), pair("B", "2")]);
        assert_eq!(vars(b"M=\"line1\nline2\"\nN=x"), [pair("M", "line1\nline2"), pair("N", "x")]);
        assert_eq!(vars(b"E=\"a\\nb\"\nS='a\\nb'"), [pair("E", "a\nb"), pair("S", "a\\nb")]);
        assert_eq!(vars(b"export\tT=1\nexport  U = 2 "), [pair("T", "1"), pair("U", "2")]);
        assert_eq!(vars(b"Y: yaml\nZ=v # c\nH=\"#x\""), [pair("Y", "yaml"), pair("Z", "v"), pair("H", "#x")]);
        assert_eq!(vars(b"B=\xff\xfeok\nC=fine"), [pair("B", "\u{fffd}\u{fffd}ok"), pair("C", "fine")]);
        assert_eq!(vars(b"Q=\"open\nR=v"), [pair("Q", "\"open"), pair("R", "v")]);
        assert_eq!(vars(b"W=\r\nX=1\r\n"), [pair("W", ""), pair("X", "1")]);
    }

    #[test]
    fn skipped_lines_are_named() {
        let (pairs, warnings) = parse(b"# c\nA=1\nbad line\n9X=1\na.b=2\nB=\xffz\n");
        assert_eq!(pairs.len(), 2);
        let lines: Vec<_> = warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
    }
}
