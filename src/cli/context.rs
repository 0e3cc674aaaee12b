//! Resolved settings of one invocation: the gateway over the state directory, the agent, the output
//! mode. Everything the commands do goes through the `Gateway`/`Agent` API.

use modelauth::{Agent, AgentId, Gateway, GatewayError, ProviderId};

use super::CliError;
use super::args::Cli;

/// What every command needs, resolved from flags and environment.
#[derive(Debug)]
pub struct Context {
    /// The agent.
    pub agent_id: AgentId,
    /// `--json`.
    pub json: bool,
    /// The gateway over the state directory.
    pub gateway: Gateway,
    /// `--agent` was given (the default agent always exists).
    pub explicit_agent: bool,
    /// `--create`.
    pub create: bool,
}

impl Context {
    /// Opens the gateway for `cli` (`--state-dir`, else `$OPENCLAW_STATE_DIR`, else `~/.openclaw`);
    /// `.env` problems are reported on stderr.
    pub fn from_cli(cli: &Cli) -> Result<Context, CliError> {
        let mut builder = Gateway::builder();
        if let Some(dir) = &cli.state_dir {
            builder = builder.state_dir(dir);
        }
        if let Some(layout) = cli.layout {
            builder = builder.layout(match layout {
                super::args::LayoutArg::Json => modelauth::StateLayout::Json,
                super::args::LayoutArg::Sqlite => modelauth::StateLayout::Sqlite,
            });
        }
        if cli.no_redis {
            builder = builder.redis(None);
        } else if let Some(url) = &cli.redis {
            builder = builder.redis(Some(modelauth::RedisSettings::new(url.as_str())));
        }
        if let Some(p) = &cli.redis_prefix {
            builder = builder.redis_prefix(p.as_str());
        }
        if let Some(t) = cli.redis_timeout {
            builder = builder.redis_timeout(t);
        }
        if let Some(ca) = &cli.redis_ca {
            builder = builder.redis_ca(ca);
        }
        let gateway = builder.open().map_err(gateway_err)?;
        if let Some(root) = gateway.state_dir() {
            for w in gateway.dotenv_warnings() {
                super::output::warn(&format!(
                    "{} line {}: {}; line skipped",
                    root.join(".env").display(),
                    w.line,
                    w.problem
                ));
            }
        }
        Self::with_gateway(cli, gateway)
    }

    /// Settings over an opened gateway (used by `chat --demo`).
    pub fn with_gateway(cli: &Cli, gateway: Gateway) -> Result<Context, CliError> {
        let agent_id = match &cli.agent {
            Some(a) => AgentId::new(a)?,
            None => gateway.default_agent_id().map_err(gateway_err)?,
        };
        Ok(Context {
            agent_id,
            json: cli.json,
            gateway,
            explicit_agent: cli.agent.is_some(),
            create: cli.create,
        })
    }

    /// Now, ms.
    pub fn now(&self) -> i64 {
        self.gateway.now_ms()
    }

    /// Opens the agent (reads config and credential store; corrupt files are errors).
    pub fn agent(&self) -> Result<Agent, CliError> {
        self.existing_agent(false)
    }

    /// The agent for a command that changes it: an `--agent` that does not exist yet needs
    /// `--create` (a typo must not create an empty agent).
    pub fn agent_to_change(&self) -> Result<Agent, CliError> {
        self.writable()?;
        self.existing_agent(true)
    }

    /// Refuses a change while the shared state's server (Redis) is out of reach: a one-shot command
    /// exits before it could write the change back, so it would be lost.
    pub fn writable(&self) -> Result<(), CliError> {
        self.gateway.check_shared_reachable().map_err(|e| CliError::Coded {
            code: "shared_state_unavailable",
            message: format!(
                "{e}; nothing was changed (neither in Redis nor in this host's files). Start Redis and run the command again, or add --no-redis to change this host's files only"
            ),
        })
    }

    fn existing_agent(&self, change: bool) -> Result<Agent, CliError> {
        let known = |g: &Gateway| g.knows_agent(self.agent_id.as_str());
        if self.explicit_agent
            && !(change && self.create)
            && !known(&self.gateway).map_err(gateway_err)?
        {
            let list = self.gateway.known_agents().map_err(gateway_err)?.join(", ");
            let what = if change {
                "add --create to create it"
            } else {
                "check the name"
            };
            return Err(CliError::Coded {
                code: "unknown_agent",
                message: format!("no agent \"{}\" (known: {list}); {what}", self.agent_id),
            });
        }
        self.gateway
            .agent(self.agent_id.as_str())
            .map_err(gateway_err)
    }
}

/// A gateway error as a CLI error.
pub fn gateway_err(e: GatewayError) -> CliError {
    match e {
        GatewayError::Store(e) => CliError::Store(e),
        GatewayError::Id(e) => CliError::Id(e),
        GatewayError::NotADirectory(p) => CliError::User(format!(
            "state directory {} is not a directory; pass --state-dir DIR",
            p.display()
        )),
        other => CliError::User(other.to_string()),
    }
}

/// Validates a provider id from the command line.
pub fn provider_arg(p: &str) -> Result<ProviderId, CliError> {
    Ok(ProviderId::new(p)?)
}

impl Context {
    /// A provider id from the command line, refused with a did-you-mean when it matches nothing known
    /// but is close to a known one (`anthropc` → `anthropic`); an unknown provider with no near match
    /// (a new one) is accepted.
    pub fn provider(&self, p: &str) -> Result<ProviderId, CliError> {
        let id = provider_arg(p)?;
        // Only the provider is checked here: whether the agent exists is the command's question.
        let agent = self
            .gateway
            .agent(self.agent_id.as_str())
            .map_err(gateway_err)?;
        if let Some(near) = agent.provider_suggestion(id.as_str())? {
            return Err(CliError::Coded {
                code: "unknown_provider",
                message: format!(
                    "unknown provider `{id}`; did you mean `{near}`? (nothing was changed)"
                ),
            });
        }
        Ok(id)
    }
}
