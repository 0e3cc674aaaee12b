//! `parse [MESSAGE] [--alias NAME …]`: the parse of a message as one JSON object (SPEC §3 field names);
//! without MESSAGE, JSON-string lines on stdin, one object per line.

use std::io::{BufRead, Write};

use modelauth::{Aliases, parse};

use super::CliError;
use super::context::Context;
use super::output;

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
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0usize;
    for (n, line) in stdin.split(b'\n').enumerate() {
        let line = line.map_err(|source| CliError::Io {
            what: "reading stdin".into(),
            source,
        })?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let problem = match std::str::from_utf8(line) {
            Err(e) => format!("not UTF-8 (invalid byte at offset {})", e.valid_up_to()),
            Ok(text) => match serde_json::from_str::<String>(text) {
                Ok(msg) => {
                    let json = serde_json::to_string(&parse(&msg, &aliases)).unwrap_or_default();
                    writeln!(stdout, "{json}").map_err(|source| CliError::Io {
                        what: "writing stdout".into(),
                        source,
                    })?;
                    continue;
                }
                Err(_) => {
                    "not a JSON string (each line must be one JSON string, e.g. \"/model opus\")"
                        .to_owned()
                }
            },
        };
        failed += 1;
        let _ = writeln!(
            stdout,
            "{}",
            serde_json::json!({ "line": n + 1, "error": problem })
        );
        let _ = stdout.flush();
        output::error(&format!("stdin line {}: {problem}", n + 1));
    }
    stdout.flush().map_err(|source| CliError::Io {
        what: "writing stdout".into(),
        source,
    })?;
    Ok(u8::from(failed > 0))
}
