//! The `modelauth` command line (SPEC §6, §7): one file per command group. Exit codes: 0 success,
//! 1 failure the user must act on, 2 only for `models status --check`'s "expiring", 64 usage errors.

pub mod args;
pub mod auth;
pub mod chat;
pub mod context;
pub mod demo;
pub mod doctor;
pub mod login;
pub mod models;
pub mod output;
pub mod parse;
pub mod resolve;
pub mod serve;

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
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    output::init_tracing();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::error(&e.to_string());
            ExitCode::from(1)
        }
    }
}

/// Dispatches one parsed command line; returns the exit code.
fn run(cli: Cli) -> Result<u8, CliError> {
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "modelauth",
            &mut std::io::stdout(),
        );
        return Ok(0);
    }
    if let Command::Chat {
        demo: true,
        session,
    } = &cli.command
    {
        return chat::run_demo(&cli, session.as_deref());
    }
    let ctx = Context::from_cli(&cli)?;
    match &cli.command {
        Command::Models(m) => match &m.command {
            ModelsCommand::Status { check } => models::status(&ctx, *check),
            ModelsCommand::List { provider } => models::list(&ctx, provider.as_deref()),
            ModelsCommand::Auth(a) => auth::run(&ctx, &a.command),
        },
        Command::Doctor { fix } => doctor::run(&ctx, *fix),
        Command::Chat { session, .. } => chat::run(&ctx, session.as_deref()),
        Command::Parse { message, aliases } => parse::run(&ctx, message.as_deref(), aliases),
        Command::Resolve {
            provider,
            model,
            session,
        } => resolve::run(&ctx, provider, model.as_deref(), session.as_deref()),
        Command::Serve {
            listen,
            allow_remote,
            token_file,
            header_timeout,
        } => serve::run(
            &ctx,
            listen,
            *allow_remote,
            token_file.clone(),
            *header_timeout,
        ),
        Command::Completions { .. } => Ok(0),
    }
}
