//! The raw command line as clap parses it. [`super::context::Context`] turns it into resolved settings.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use super::secrets_args::{KeepArgs, SecretsCommand};

/// Decides which credential a conversation uses; manage and inspect credentials of an OpenClaw state directory.
#[derive(Debug, Parser)]
#[command(name = "modelauth", version, about, propagate_version = true)]
pub struct Cli {
    /// State directory (default: $OPENCLAW_STATE_DIR, else ~/.openclaw).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "DIR"
    )]
    pub state_dir: Option<PathBuf>,
    /// Agent id (default: the config's default agent, else `main`).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "ID"
    )]
    pub agent: Option<String>,
    /// Let a command that changes state create the agent named by --agent when it does not exist.
    #[arg(long, global = true, help_heading = "Global options")]
    pub create: bool,
    /// Print JSON instead of text.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// OpenClaw state generation to use (default: detected; `sqlite` when state/openclaw.sqlite exists).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "LAYOUT"
    )]
    pub layout: Option<LayoutArg>,
    /// Share pins, cooldowns and orders with other gateway instances through this Redis server
    /// (redis://[:password@]host[:port][/db] or unix:///path; default: $MODELAUTH_REDIS_URL).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "URL"
    )]
    pub redis: Option<String>,
    /// Key prefix on the Redis server (default: $MODELAUTH_REDIS_PREFIX, else `modelauth:`).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PREFIX"
    )]
    pub redis_prefix: Option<String>,
    /// Longest wait for the Redis server per call (default: $MODELAUTH_REDIS_TIMEOUT, else 50ms).
    #[arg(long, global = true, help_heading = "Global options", value_parser = parse_duration, value_name = "DURATION")]
    pub redis_timeout: Option<Duration>,
    /// For rediss://: the PEM file of the CA that signed the server's certificate (default:
    /// $MODELAUTH_REDIS_CA, else the system's trusted roots).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub redis_ca: Option<PathBuf>,
    /// Keep the routing state in this host's files even when $MODELAUTH_REDIS_URL is set.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        conflicts_with = "redis"
    )]
    pub no_redis: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `--layout`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LayoutArg {
    /// The JSON files of OpenClaw's early-2026 releases.
    Json,
    /// The SQLite databases of OpenClaw 2026.9 and later.
    Sqlite,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Models and credentials.
    Models(ModelsArgs),
    /// Check files, permissions, orders, expiry and shadowing environment keys.
    #[command(
        after_help = "Examples:\n  modelauth doctor\n  modelauth doctor --fix\n  modelauth --json doctor"
    )]
    Doctor {
        /// Repair what can be repaired (permissions, dangling order entries), after saying what changes.
        #[arg(long)]
        fix: bool,
    },
    /// Interactive session: type messages and /model commands (line by line when stdin is not a terminal).
    #[command(
        after_help = "Examples:\n  modelauth chat --demo\n  printf '/model opus@anthropic:work\\nhello\\n' | modelauth chat"
    )]
    Chat {
        /// Session key (default: agent:<agent>:main).
        #[arg(long, value_name = "KEY")]
        session: Option<String>,
        /// Use a throw-away demo state directory with a few providers and profiles.
        #[arg(long)]
        demo: bool,
    },
    /// Show how a message parses (JSON lines on stdin when no MESSAGE is given).
    #[command(after_help = "Examples:\n  modelauth parse '/model opus@anthropic:work thanks'")]
    Parse {
        /// The message.
        message: Option<String>,
        /// An alias shortcut to recognise (repeatable); config aliases are added automatically.
        #[arg(long = "alias", value_name = "NAME")]
        aliases: Vec<String>,
    },
    /// Which profile is next for a provider, and why (read-only: pins are not changed).
    #[command(
        after_help = "Examples:\n  modelauth resolve --provider anthropic\n  modelauth resolve --provider anthropic --session agent:main:main --json"
    )]
    Resolve {
        /// Provider id.
        #[arg(long)]
        provider: String,
        /// Model id (scopes rate-limit cooldowns).
        #[arg(long)]
        model: Option<String>,
        /// Session key whose pin to take into account.
        #[arg(long, value_name = "KEY")]
        session: Option<String>,
        /// The session's kind (`cron`, `group`, …), for the lane policy of modelauth.json.
        #[arg(long, value_name = "KIND")]
        session_kind: Option<String>,
        /// Opt in to a metered (per-token) profile when the session's subscription is used up.
        #[arg(long)]
        allow_metered: bool,
    },
    /// Move orders, usage records and session pins between this agent's files and the shared Redis
    /// server (credentials never move).
    #[command(
        after_help = "Examples:\n  modelauth --redis redis://127.0.0.1:6379 state import --dry-run\n  modelauth --redis redis://127.0.0.1:6379 state export"
    )]
    State {
        /// What to move.
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Serve the credential layer over HTTP for gateways in any language (unix socket and/or loopback TCP).
    #[command(
        after_help = "Examples:\n  modelauth serve\n  modelauth serve --listen tcp:127.0.0.1:8787"
    )]
    Serve {
        /// `unix:PATH` or `tcp:IP:PORT`, repeatable (default: unix:<state>/modelauth.sock). TCP needs a
        /// bearer token: <state>/modelauth.token, created on first start.
        #[arg(long, value_name = "ADDR")]
        listen: Vec<String>,
        /// Allow a TCP address other than loopback.
        #[arg(long)]
        allow_remote: bool,
        /// The bearer token file for TCP.
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// How long a client may take to send a request's headers (default 10s).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        header_timeout: Option<Duration>,
        /// Threads that answer connections (default 1; calls that wait on a lock or a token endpoint
        /// run on a separate pool either way).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
        threads: Option<u16>,
    },
    /// First-run setup: a provider's credential (API key or setup token; kept in the agent's store or
    /// <state>/.env), the default model, then the checks of `models status` and `doctor`.
    #[command(
        after_help = "Examples:\n  modelauth onboard\n  printf %s \"$ANTHROPIC_KEY\" | modelauth onboard --non-interactive --provider anthropic --kind api_key --default-model anthropic/claude-opus-4-6"
    )]
    Onboard {
        /// No questions: take the answers from the flags and the secret from stdin.
        #[arg(long)]
        non_interactive: bool,
        /// Provider id (default: anthropic when asked).
        #[arg(long)]
        provider: Option<String>,
        /// `api_key` or `token` (--non-interactive; default api_key).
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// `profiles` (the agent's store, default), `env` (<state>/.env; API keys only), or off the
        /// disk: `keyring`, `systemd`, `file` (the profile holds a reference, see `secrets migrate`).
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
        /// Where `--store systemd` writes the encrypted credential (default /etc/credstore.encrypted).
        #[arg(long, value_name = "DIR")]
        credstore: Option<PathBuf>,
        /// Profile id (default: <provider>:default, or <provider>:manual for a token).
        #[arg(long)]
        profile_id: Option<String>,
        /// Set the default model (provider/model).
        #[arg(long, value_name = "REF")]
        default_model: Option<String>,
        /// A token's validity, e.g. 365d.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        expires_in: Option<Duration>,
    },
    /// Keep keys and tokens off the disk: the OS keyring, systemd credentials, a private file.
    Secrets {
        /// What to do.
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  modelauth completions bash > ~/.local/share/bash-completion/completions/modelauth\n  modelauth completions zsh > ~/.zfunc/_modelauth\n  modelauth completions fish > ~/.config/fish/completions/modelauth.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(
        after_help = "Examples:\n  modelauth man > ~/.local/share/man/man1/modelauth.1 && man modelauth"
    )]
    Man,
}

/// `models …`
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// The models command.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// `models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Overview: default model, aliases, providers, profiles, environment keys.
    #[command(
        after_help = "Examples:\n  modelauth models status\n  modelauth models status --check --quiet || echo 'credentials need attention'\n  modelauth models status --probe --probe-provider anthropic --probe-timeout 5s"
    )]
    Status {
        /// Ask each provider whether its credentials work (an unbilled check: listing models);
        /// exit 1 when a profile that would be chosen fails, else --check's code.
        #[command(flatten)]
        probe: ProbeArgs,
        /// Exit 1 when a provider in use has no usable credential or a profile is expired/missing,
        /// 2 when something expires within 24 h.
        #[arg(long)]
        check: bool,
        /// With --check: print nothing when all is well, else only the problem lines (for cron mail).
        #[arg(long, requires = "check")]
        quiet: bool,
        /// With --check: when the code is not 0, run CMD with `sh -c`, a JSON summary on stdin
        /// (agent, check, findings, at; no secrets) and the code in $MODELAUTH_CHECK_CODE.
        #[arg(long, requires = "check", value_name = "CMD")]
        notify_cmd: Option<String>,
    },
    /// Allowed models with aliases.
    #[command(
        after_help = "Examples:\n  modelauth models list\n  modelauth models list --provider openai"
    )]
    List {
        /// Only this provider.
        #[arg(long)]
        provider: Option<String>,
    },
    /// Credentials (auth profiles).
    Auth(AuthArgs),
}

/// `models auth …`
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// The auth command.
    #[command(subcommand)]
    pub command: AuthCommand,
}

/// `models auth` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Profiles: id, type, provider, state, expiry, cooldown (no secrets).
    #[command(
        after_help = "Examples:\n  modelauth models auth list\n  modelauth --json models auth list --provider anthropic"
    )]
    List {
        /// Only this provider.
        #[arg(long)]
        provider: Option<String>,
    },
    /// Store an API key, read from a hidden prompt or stdin (never from the command line).
    #[command(
        after_help = "Examples:\n  printf %s \"$ANTHROPIC_KEY\" | modelauth models auth add --provider anthropic --profile-id anthropic:work"
    )]
    Add {
        /// Provider id.
        #[arg(long)]
        provider: String,
        /// Profile id (default: <provider>:default).
        #[arg(long)]
        profile_id: Option<String>,
        #[command(flatten)]
        keep: KeepArgs,
    },
    /// Log in with OAuth (authorization code + PKCE): prints the URL, takes the code from the local
    /// redirect or from a hidden paste prompt (or stdin), stores `<provider>:<email>`.
    #[command(
        after_help = "Examples:\n  modelauth models auth login --provider openai-codex\n  modelauth models auth login --provider anthropic --no-browser"
    )]
    Login {
        /// anthropic, openai-codex or google-gemini-cli.
        #[arg(long)]
        provider: String,
        /// Profile id (default: <provider>:<email>, else <provider>:default).
        #[arg(long)]
        profile_id: Option<String>,
        /// Do not try to open a browser (print the URL only).
        #[arg(long)]
        no_browser: bool,
        /// How long to wait for the code (default 5m).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION", default_value = "5m")]
        wait: Duration,
    },
    /// Store an API key as OpenClaw's `paste-api-key` does (default id `<provider>:manual`), read from
    /// a hidden prompt or stdin.
    #[command(
        after_help = "Examples:\n  modelauth models auth paste-api-key --provider openai\n  printf %s \"$KEY\" | modelauth models auth paste-api-key --provider anthropic --profile-id anthropic:work"
    )]
    PasteApiKey {
        /// Provider id.
        #[arg(long)]
        provider: String,
        /// Profile id (default: <provider>:manual, as OpenClaw).
        #[arg(long)]
        profile_id: Option<String>,
        #[command(flatten)]
        keep: KeepArgs,
    },
    /// Store a token (e.g. from `claude setup-token`), read from a hidden prompt or stdin.
    #[command(
        after_help = "Examples:\n  claude setup-token   # on any machine, then:\n  modelauth models auth paste-token --provider anthropic --expires-in 365d"
    )]
    PasteToken {
        /// Provider id.
        #[arg(long)]
        provider: String,
        /// Profile id (default: <provider>:manual).
        #[arg(long)]
        profile_id: Option<String>,
        /// Validity, e.g. 365d or 12h (default: does not expire).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        expires_in: Option<Duration>,
        #[command(flatten)]
        keep: KeepArgs,
    },
    /// Run `claude setup-token` (needs a terminal), then paste the token.
    #[command(
        after_help = "Examples:\n  modelauth models auth setup-token\n  modelauth models auth setup-token --profile-id anthropic:work"
    )]
    SetupToken {
        /// Provider id (only anthropic).
        #[arg(long, default_value = "anthropic")]
        provider: String,
        /// Profile id (default: <provider>:manual).
        #[arg(long)]
        profile_id: Option<String>,
    },
    /// Remove a profile, its usage statistics and its order entries.
    #[command(after_help = "Examples:\n  modelauth models auth remove anthropic:old")]
    Remove {
        /// Profile id.
        id: String,
    },
    /// The agent's per-provider order override.
    Order(OrderArgs),
    /// Record the outcome of a request made with a profile, with the provider's answer (its
    /// rate-limit headers and usage) when given.
    #[command(
        after_help = "Examples:\n  modelauth models auth report anthropic:work --outcome rate_limit --model claude-opus-4-6 --retry-after 30s\n  modelauth models auth report anthropic:work --outcome success --header 'anthropic-ratelimit-unified-5h-utilization: 0.95' --usage '{\"input\":1200,\"output\":300}'\n  modelauth models auth report anthropic:work --outcome failure --status 429 --header 'retry-after: 120'"
    )]
    Report(ReportArgs),
}

/// `models status --probe` and its settings.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Probe the credentials (tier 0: local; tier 1: the provider's unbilled check).
    #[arg(long)]
    pub probe: bool,
    /// Only this provider.
    #[arg(long, requires = "probe", value_name = "PROVIDER")]
    pub probe_provider: Option<String>,
    /// Only this profile.
    #[arg(long, requires = "probe", value_name = "ID")]
    pub probe_profile: Option<String>,
    /// The longest one probe may take, e.g. 5s.
    #[arg(long, requires = "probe", value_parser = parse_duration, value_name = "DURATION", default_value = "8s")]
    pub probe_timeout: Duration,
    /// Reuse a profile's last probe when younger than this (e.g. 6h): a monitoring timer re-probes
    /// only what is stale.
    #[arg(long, requires = "probe", value_parser = parse_duration, value_name = "DURATION")]
    pub probe_max_age: Option<Duration>,
    /// Tier 2: a one-token request for this model (provider/model) with each probed profile of its
    /// provider. Billed (one token).
    #[arg(long, requires = "probe", value_name = "MODEL")]
    pub probe_model: Option<String>,
    /// Tier 2 along the fallback chain: the default model and each fallback, with the profile the
    /// resolver would choose for it. Billed (one token each).
    #[arg(long, requires = "probe")]
    pub probe_chain: bool,
    /// Output tokens a tier-2 request asks for.
    #[arg(long, requires = "probe", value_name = "N", default_value_t = 1)]
    pub probe_max_tokens: u32,
    /// Report the outcomes into the routing state like real traffic (off by default).
    #[arg(long, requires = "probe")]
    pub probe_record: bool,
    /// Probes at once.
    #[arg(long, requires = "probe", value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub probe_concurrency: u16,
}

/// `models auth report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Profile id.
    pub id: String,
    /// What happened (`failure`: classified from --status and --body).
    #[arg(long, value_enum)]
    pub outcome: OutcomeArg,
    /// The model used (scopes rate-limit and timeout cooldowns).
    #[arg(long)]
    pub model: Option<String>,
    /// The provider's Retry-After, e.g. 30s.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub retry_after: Option<Duration>,
    /// The HTTP status of the answer.
    #[arg(long, value_name = "N")]
    pub status: Option<u16>,
    /// The answer's error text (to classify a `failure`).
    #[arg(long, value_name = "TEXT")]
    pub body: Option<String>,
    /// A response header, `Name: value` (repeat for each).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The answer's usage block as JSON (`{"input":…,"output":…,"cacheRead":…,"cacheWrite":…}`, or
    /// the provider's own names).
    #[arg(long, value_name = "JSON")]
    pub usage: Option<String>,
}

/// `state …`
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy this agent's orders, lastGood, usage and session pins from its files to the Redis server
    /// (records the server already has are kept).
    #[command(
        after_help = "Examples:\n  modelauth --redis redis://127.0.0.1:6379 state import --dry-run\n  modelauth --redis redis://127.0.0.1:6379 state import"
    )]
    Import {
        /// Only say what would be copied.
        #[arg(long)]
        dry_run: bool,
        /// Replace records the server already has with this agent's.
        #[arg(long)]
        overwrite: bool,
    },
    /// Copy the shared records back into this agent's files (before turning Redis off).
    #[command(
        after_help = "Examples:\n  modelauth --redis redis://127.0.0.1:6379 state export --dry-run"
    )]
    Export {
        /// Only say what would be copied.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `models auth order …`
#[derive(Debug, Args)]
pub struct OrderArgs {
    /// The order command.
    #[command(subcommand)]
    pub command: OrderCommand,
}

/// `models auth order` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Show the order override.
    #[command(after_help = "Examples:\n  modelauth models auth order get --provider anthropic")]
    Get {
        /// Provider id.
        #[arg(long)]
        provider: String,
    },
    /// Set the order override.
    #[command(
        after_help = "Examples:\n  modelauth models auth order set --provider anthropic anthropic:work anthropic:home"
    )]
    Set {
        /// Provider id.
        #[arg(long)]
        provider: String,
        /// Profile ids, first preferred.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Remove the order override.
    #[command(after_help = "Examples:\n  modelauth models auth order clear --provider anthropic")]
    Clear {
        /// Provider id.
        #[arg(long)]
        provider: String,
    },
}

/// Outcomes `models auth report` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum OutcomeArg {
    /// The request succeeded.
    Success,
    /// The request failed: the reason is classified from --status and --body.
    Failure,
    /// 429.
    RateLimit,
    /// Timed out.
    Timeout,
    /// 503/529.
    Overloaded,
    /// Out of credit.
    Billing,
    /// Rejected credential.
    Auth,
    /// A credential that will never work here.
    AuthPermanent,
}

/// Parses `30s`, `5m`, `365d` (humantime syntax).
fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (use e.g. 30s, 10m, 12h, 365d)"))
}
