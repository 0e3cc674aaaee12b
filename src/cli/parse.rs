//! `parse [MESSAGE] [--alias NAME …]`: the parse of a message as one JSON object (SPEC §3 field names);
//! without MESSAGE, JSON-string lines on stdin, one object per line.
//!
//! The stdin loop is built for bulk use (a gateway replaying its logs): one reused line buffer, output
//! serialised straight into a buffered writer, and messages without a `/` (most chat traffic) answered
//! without decoding them: their `cleaned` text is the input line itself, once checked to be a valid JSON
//! string.

use std::io::{BufRead, Write};

use modelauth::{Aliases, parse};
use serde::de::IgnoredAny;

use super::CliError;
use super::context::Context;
use super::output;

/// The fields before `cleaned` of a message without a directive, in the order `ParseResult` writes.
const NO_DIRECTIVE: &[u8] = br#"{"hasDirective":false,"source":null,"rawModel":null,"rawProfile":null,"rawRuntime":null,"scope":null,"scopeConflict":false,"cleaned":"#;

/// Runs `parse`. Bad stdin lines are reported by number and skipped; the exit code is then 1.
pub fn run(ctx: &Context, message: Option<&str>, extra: &[String]) -> Result<u8, CliError> {
    let configured = ctx
        .gateway
        .alias_names()
        .map_err(super::context::gateway_err)?;
    let names: Vec<&str> = extra
        .iter()
        .chain(&configured)
        .map(String::as_str)
        .collect();
    let aliases = Aliases::new(names);
    if let Some(m) = message {
        output::json_line(&parse(m, &aliases));
        return Ok(0);
    }
    let io_err = |what: &str| {
        let what = what.to_owned();
        move |source| CliError::Io { what, source }
    };
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut buf = Vec::with_capacity(1 << 12);
    let mut failed = 0usize;
    for n in 1.. {
        buf.clear();
        if stdin
            .read_until(b'\n', &mut buf)
            .map_err(io_err("reading stdin"))?
            == 0
        {
            break;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match one_line(line, &aliases, &mut stdout) {
            Ok(Ok(())) => {}
            Ok(Err(problem)) => {
                failed += 1;
                let report = serde_json::json!({ "line": n, "error": problem });
                writeln!(stdout, "{report}").map_err(io_err("writing stdout"))?;
                stdout.flush().map_err(io_err("writing stdout"))?;
                output::error(&format!("stdin line {n}: {problem}"));
            }
            Err(e) => return Err(io_err("writing stdout")(e)),
        }
    }
    stdout.flush().map_err(io_err("writing stdout"))?;
    Ok(u8::from(failed > 0))
}

/// Parses one input line and writes its result; `Ok(Err(problem))` for a line that is not a JSON string.
fn one_line(
    line: &[u8],
    aliases: &Aliases,
    out: &mut impl Write,
) -> std::io::Result<Result<(), String>> {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => {
            return Ok(Err(format!(
                "not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            )));
        }
    };
    let not_a_string =
        || "not a JSON string (each line must be one JSON string, e.g. \"/model opus\")".to_owned();
    // No `/` in the text and no `\u` escape that could spell one: no directive, and the line itself is
    // the cleaned text (after checking that it is exactly one JSON string).
    let may_have_slash =
        memchr::memchr(b'/', line).is_some() || memchr::memmem::find(line, b"\\u").is_some();
    if !may_have_slash && line.first() == Some(&b'"') {
        if serde_json::from_str::<IgnoredAny>(text).is_err() {
            return Ok(Err(not_a_string()));
        }
        out.write_all(NO_DIRECTIVE)?;
        out.write_all(line)?;
        out.write_all(b"}\n")?;
        return Ok(Ok(()));
    }
    let owned;
    let message: &str = match serde_json::from_str::<&str>(text) {
        Ok(borrowed) => borrowed,
        Err(_) => match serde_json::from_str::<String>(text) {
            Ok(decoded) => {
                owned = decoded;
                &owned
            }
            Err(_) => return Ok(Err(not_a_string())),
        },
    };
    serde_json::to_writer(&mut *out, &parse(message, aliases)).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    Ok(Ok(()))
}
