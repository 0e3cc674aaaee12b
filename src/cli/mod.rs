//! The `modelauth` command line (SPEC §6, §7): one file per command group. Exit codes: 0 success,
//! 1 failure the user must act on, 2 only for `models status --check`'s "expiring", 64 usage errors.

pub mod args;
pub mod auth;
pub mod chat;
pub mod chat_input;
pub mod context;
pub mod demo;
pub mod doctor;
pub mod login;
pub mod models;
pub mod notify;
pub mod onboard;
pub mod output;
pub mod parse;
pub mod probe;
pub mod report;
pub mod resolve;
pub mod secrets;
pub mod secrets_args;
pub mod serve;
pub mod state;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command, ModelsCommand};
use context::Context;

/// Exit code for usage errors (bad flags or values), as `sysexits.h` names it.
pub const EXIT_USAGE: u8 = 64;

/// A failure the user must act on (exit 1). The message names the thing and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A state file problem.
    #[error(transparent)]
    Store(#[from] modelauth::StoreError),
    /// An agent operation failed.
    #[error(transparent)]
    Agent(#[from] modelauth::AgentError),
    /// An invalid id.
    #[error(transparent)]
    Id(#[from] modelauth::IdError),
    /// Reading input or writing output failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The reason.
        source: std::io::Error,
    },
    /// Anything else the user did wrong, with the advice in the text.
    #[error("{0}")]
    User(String),
    /// A refusal with its own code in JSON documents (`unknown_agent`, `unknown_profile`, …).
    #[error("{message}")]
    Coded {
        /// The machine-readable name.
        code: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
}

impl CliError {
    /// The machine-readable name of the error in `--json` error documents.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Store(e) => e.code(),
            CliError::Agent(e) => e.code(),
            CliError::Id(_) => "bad_id",
            CliError::Io { .. } => "io",
            CliError::User(_) => "invalid_request",
            CliError::Coded { code, .. } => code,
        }
    }
}

/// A reader that went away (`modelauth … | head`) ends the command quietly with exit 0, as cargo
/// and ripgrep do, instead of a panic message and an abort: `print!` panics on `EPIPE`, and this
/// hook turns exactly that panic into a quiet exit. Every other panic keeps the default report.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        // `print!`'s "failed printing to stdout: Broken pipe", clap_complete's "failed to write
        // completion file: … BrokenPipe …".
        if message.contains("Broken pipe") || message.contains("BrokenPipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let text = print_usage_error(&e);
            if code != 0 && std::env::args().any(|a| a == "--json") {
                let first = text.lines().next().unwrap_or("usage error");
                let message = first.strip_prefix("error: ").unwrap_or(first);
                output::json_error("usage", message);
            }
            return ExitCode::from(code);
        }
    };
    output::init_tracing();
    let json = cli.json;
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // A key typed where an id goes is never echoed back (text or JSON).
            let message = modelauth::redact_secret_like(&e.to_string());
            if json {
                output::json_error(e.code(), &message);
            }
            output::error(&message);
            ExitCode::from(1)
        }
    }
}

/// Dispatches one parsed command line; returns the exit code.
fn run(cli: Cli) -> Result<u8, CliError> {
    if matches!(cli.command, Command::Completions { .. } | Command::Man) {
        return print_generated(&cli);
    }
    if let Command::Chat {
        demo: true,
        session,
    } = &cli.command
    {
        return chat::run_demo(&cli, session.as_deref());
    }
    if let Command::Secrets {
        command: args::SecretsCommand::ExecProvider,
    } = &cli.command
    {
        // Run by OpenClaw with only passEnv in its environment: no state directory is needed.
        return secrets::exec_provider();
    }
    let ctx = Context::from_cli(&cli)?;
    let code = dispatch(&cli, &ctx)?;
    // A change kept for write-back dies with this process: say so instead of reporting success.
    if !matches!(cli.command, Command::Serve { .. })
        && let Some(h) = ctx.gateway.shared_health().filter(|h| h.pending > 0)
    {
        return Err(CliError::Coded {
            code: "shared_state_unavailable",
            message: format!(
                "shared state at {} became unreachable ({}); {} change(s) of this command were not saved (nothing reached Redis or this host's files). Start Redis and run the command again",
                h.url,
                h.problem.as_deref().unwrap_or("no answer"),
                h.pending
            ),
        });
    }
    Ok(code)
}

/// Runs the command of `cli` with its settings.
fn dispatch(cli: &Cli, ctx: &Context) -> Result<u8, CliError> {
    match &cli.command {
        Command::Models(m) => match &m.command {
            ModelsCommand::Status { probe, .. } if probe.probe => probe::run(ctx, probe),
            ModelsCommand::Status {
                check,
                quiet,
                notify_cmd,
                ..
            } => models::status(ctx, *check, *quiet, notify_cmd.as_deref()),
            ModelsCommand::List { provider } => models::list(ctx, provider.as_deref()),
            ModelsCommand::Auth(a) => auth::run(ctx, &a.command),
        },
        Command::Doctor { fix } => doctor::run(ctx, *fix),
        Command::State { command } => state::run(ctx, command),
        Command::Secrets { command } => secrets::run(ctx, command),
        Command::Chat { session, .. } => chat::run(ctx, session.as_deref()),
        Command::Parse { message, aliases } => parse::run(ctx, message.as_deref(), aliases),
        Command::Resolve {
            provider,
            model,
            session,
            session_kind,
            allow_metered,
        } => {
            let lanes = modelauth::Lanes {
                session_kind: session_kind.as_deref(),
                allow_metered: *allow_metered,
            };
            resolve::run(ctx, provider, model.as_deref(), session.as_deref(), lanes)
        }
        Command::Serve {
            listen,
            allow_remote,
            token_file,
            header_timeout,
            threads,
        } => serve::run(
            ctx,
            listen,
            *allow_remote,
            token_file.clone(),
            *header_timeout,
            *threads,
        ),
        Command::Onboard {
            non_interactive,
            provider,
            kind,
            store,
            credstore,
            profile_id,
            default_model,
            expires_in,
        } => onboard::run(
            cli,
            ctx,
            *non_interactive,
            &onboard::Flags {
                provider: provider.as_deref(),
                kind: kind.as_deref(),
                store: store.as_deref(),
                credstore: credstore.as_ref(),
                profile_id: profile_id.as_deref(),
                default_model: default_model.as_deref(),
                expires_in: *expires_in,
            },
        ),
        Command::Completions { .. } | Command::Man => Ok(0),
    }
}

/// `completions SHELL` and `man`: generated from the command definition; the global options do
/// nothing there, so giving one is a usage error rather than silently ignored.
fn print_generated(cli: &Cli) -> Result<u8, CliError> {
    let ignored = [
        (cli.state_dir.is_some(), "--state-dir"),
        (cli.agent.is_some(), "--agent"),
        (cli.json, "--json"),
        (cli.layout.is_some(), "--layout"),
        (cli.redis.is_some(), "--redis"),
        (cli.redis_prefix.is_some(), "--redis-prefix"),
        (cli.redis_timeout.is_some(), "--redis-timeout"),
        (cli.redis_ca.is_some(), "--redis-ca"),
        (cli.no_redis, "--no-redis"),
        (cli.create, "--create"),
    ];
    if let Some((_, flag)) = ignored.iter().find(|(given, _)| *given) {
        let what = if matches!(cli.command, Command::Man) {
            "man"
        } else {
            "completions"
        };
        eprintln!("error: {flag} does nothing for `{what}`; run it without options");
        return Ok(EXIT_USAGE);
    }
    let mut out = std::io::stdout();
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "modelauth", &mut out);
        }
        _ => match clap_mangen::Man::new(Cli::command()).render(&mut out) {
            // `modelauth man | head`: the reader left; nothing is wrong.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            r => r.map_err(|source| CliError::Io {
                what: "writing the man page".into(),
                source,
            })?,
        },
    }
    Ok(0)
}

/// Prints a usage error; an argument that looks like a secret (typed on the command line by mistake) is
/// never echoed back, and the user is told where secrets go.
/// Returns the text printed (secrets redacted).
fn print_usage_error(e: &clap::Error) -> String {
    let secrets: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| looks_like_secret(a))
        .collect();
    if secrets.is_empty() || !e.use_stderr() {
        let _ = e.print();
        return e.render().to_string();
    }
    let mut text = e.render().to_string();
    for s in &secrets {
        text = text.replace(s.as_str(), "[REDACTED]");
    }
    eprint!("{text}");
    eprintln!(
        "note: an argument looked like a secret and was not shown. Secrets are read from stdin or the hidden prompt, \
         never from arguments (they would stay in the shell history and the process list); nothing was stored."
    );
    text
}

use modelauth::looks_like_secret;

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_told_from_ids_paths_and_models() {
        use modelauth::looks_like_secret as s;
        assert!(s("sk-ant-api03-abcdefghijkl"));
        assert!(s("AIzaSyA1234567890abcdefghij"));
        assert!(s("0123456789abcdefABCDEFxyz_12"));
        for plain in [
            "anthropic",
            "anthropic:work",
            "claude-opus-4-6",
            "--provider",
            "/tmp/x",
            "sk-",
            "models",
        ] {
            assert!(!s(plain), "{plain}");
        }
    }
}
