//! Output conventions: data on stdout, diagnostics on stderr, color only on a terminal and never with
//! `NO_COLOR`, tracing on stderr controlled by `RUST_LOG`.

use std::io::{IsTerminal, Write};

use serde::Serialize;

/// Starts tracing to stderr; `RUST_LOG` sets the filter (default `warn`).
pub fn init_tracing() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // The HTTP and TLS libraries' own records (a token endpoint's answer in a wire dump, a header)
    // are never shown, whatever RUST_LOG says: no level or target filter a user sets shows a secret.
    let no_wire = tracing_subscriber::filter::filter_fn(|meta| {
        !WIRE_TARGETS.iter().any(|t| meta.target().starts_with(t))
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color_on_stderr())
        .with_target(false)
        .with_filter(filter)
        .with_filter(no_wire);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Log targets of libraries that may record request or answer bodies and headers.
const WIRE_TARGETS: [&str; 8] = [
    "ureq",
    "ureq_proto",
    "rustls",
    "hyper",
    "h2",
    "reqwest",
    "redis",
    "axum::rejection",
];

/// True when stdout is a terminal and `NO_COLOR` is not set.
pub fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// True when stderr is a terminal and `NO_COLOR` is not set.
fn color_on_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Wraps `text` in an ANSI color when color is on (`31` red, `32` green, `33` yellow).
pub fn paint(text: &str, code: u8) -> String {
    if color() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Prints `error: …` on stderr.
pub fn error(msg: &str) {
    let msg = modelauth::redact_secret_like(msg);
    let _ = writeln!(std::io::stderr(), "error: {msg}");
}

/// Prints `warning: …` on stderr.
pub fn warn(msg: &str) {
    let _ = writeln!(std::io::stderr(), "warning: {msg}");
}

/// Prints one JSON value on stdout.
pub fn json<T: Serialize>(value: &T) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
    println!("{text}");
}

/// Prints the one error document of a `--json` command on stdout: `{"error": {"code", "message"}}`.
pub fn json_error(code: &str, message: &str) {
    let message = modelauth::redact_secret_like(message);
    json(&serde_json::json!({ "error": { "code": code, "message": message } }));
}

/// Prints one JSON value on one line.
pub fn json_line<T: Serialize>(value: &T) {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
    println!("{text}");
}

/// "in 3h", "2h ago": a relative time for humans.
pub fn relative(ms: i64, now: i64) -> String {
    let d = modelauth::short_duration(ms.saturating_sub(now).saturating_abs());
    if ms >= now {
        format!("in {d}")
    } else {
        format!("{d} ago")
    }
}

/// True when `program` is a file in one of the `PATH` directories.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}
