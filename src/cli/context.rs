//! Resolved settings of one invocation: state directory, agent, environment, clock, output mode.

use std::sync::Arc;

use crate::config::{Config, Env, StateDir};
use crate::gateway::{Agent, Gateway};
use crate::resolver::{SharedClock, SystemClock};
use crate::store::{AgentId, ProviderId};

use super::CliError;
use super::args::Cli;

/// What every command needs, resolved from flags and environment.
#[derive(Debug)]
pub struct Context {
    /// The state directory.
    pub state: StateDir,
    /// The agent.
    pub agent_id: AgentId,
    /// Process environment plus `.env`.
    pub env: Env,
    /// The clock.
    pub clock: SharedClock,
    /// `--json`.
    pub json: bool,
    /// The gateway over the state directory.
    pub gateway: Gateway,
}

impl Context {
    /// Resolves the settings of `cli`; `.env` problems are reported on stderr.
    pub fn from_cli(cli: &Cli) -> Result<Context, CliError> {
        let env = Env::process();
        let state = StateDir::resolve(cli.state_dir.as_deref(), &env)?;
        Self::with_state(cli, state, env)
    }

    /// Settings over an explicit state directory (used by `chat --demo`).
    pub fn with_state(cli: &Cli, state: StateDir, mut env: Env) -> Result<Context, CliError> {
        if state.root().exists() && !state.root().is_dir() {
            return Err(CliError::User(format!(
                "state directory {} is not a directory; pass --state-dir DIR",
                state.root().display()
            )));
        }
        for w in env.load_dotenv(&state.dotenv_path())? {
            super::output::warn(&format!(
                "{} line {}: {}; line skipped",
                state.dotenv_path().display(),
                w.line,
                w.problem
            ));
        }
        let agent_id = match &cli.agent {
            Some(a) => AgentId::new(a)?,
            None => state.config_file().load()?.default_agent(),
        };
        let clock: crate::resolver::SharedClock = Arc::new(SystemClock);
        let gateway = Gateway::builder()
            .state_dir(state.root())
            .env(env.clone())
            .clock(Arc::clone(&clock))
            .open()
            .map_err(gateway_err)?;
        Ok(Context {
            state,
            agent_id,
            env,
            clock,
            json: cli.json,
            gateway,
        })
    }

    /// Opens the agent (reads config and credential store; corrupt files are errors).
    pub fn agent(&self) -> Result<Agent, CliError> {
        self.gateway
            .agent(self.agent_id.as_str())
            .map_err(gateway_err)
    }

    /// The config.
    pub fn config(&self) -> Result<Config, CliError> {
        Ok(self.state.config_file().load()?)
    }

    /// Now, ms.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// A gateway error as a CLI error.
pub fn gateway_err(e: crate::gateway::GatewayError) -> CliError {
    use crate::gateway::GatewayError as G;
    match e {
        G::Store(e) => CliError::Store(e),
        G::Id(e) => CliError::Id(e),
        G::StateDir(e) => CliError::StateDir(e),
        G::NotADirectory(p) => CliError::User(format!(
            "state directory {} is not a directory; pass --state-dir DIR",
            p.display()
        )),
    }
}

/// Validates a provider id from the command line.
pub fn provider_arg(p: &str) -> Result<ProviderId, CliError> {
    Ok(ProviderId::new(p)?)
}
