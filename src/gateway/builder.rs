//! [`GatewayBuilder`]: where the state lives, the environment, the clock, the shared state; and
//! what opening a gateway reads first (the login shell's environment, the Redis settings).

use super::*;

/// Settings for [`Gateway`]: where the state lives, the environment, the clock.
#[derive(Debug, Default)]
pub struct GatewayBuilder {
    state_dir: Option<PathBuf>,
    memory: Option<(Document, Vec<(AgentId, Document)>)>,
    env: Option<Env>,
    clock: Option<SharedClock>,
    options: RegistryOptions,
    layout: Option<StateLayout>,
    oauth_timeout: Option<Duration>,
    redis: Option<Option<RedisSettings>>,
    redis_prefix: Option<String>,
    redis_timeout: Option<Duration>,
    redis_ca: Option<PathBuf>,
    policy: Option<crate::config::QuotaPolicy>,
}

impl GatewayBuilder {
    /// Use this generation of the state directory instead of detecting it ([`StateLayout::detect`]).
    /// A JSON-era directory is never migrated: forcing [`StateLayout::Sqlite`] needs the database.
    pub fn layout(mut self, layout: StateLayout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Use OpenClaw's files in `dir` (the default: `$OPENCLAW_STATE_DIR`, else `~/.openclaw`).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Keep the state in memory: `config` is an `openclaw.json` text (JSON5), `stores` each agent's
    /// `auth-profiles.json` text. Nothing is written to disk.
    pub fn in_memory(
        mut self,
        config: &str,
        stores: &[(&str, &str)],
    ) -> Result<Self, GatewayError> {
        let config = Document::parse_json5(std::path::Path::new("memory:openclaw.json"), config)?;
        let mut docs = Vec::new();
        for (agent, text) in stores {
            let path = PathBuf::from(format!("memory:{agent}/auth-profiles.json"));
            docs.push((AgentId::new(agent)?, Document::parse_json(&path, text)?));
        }
        self.memory = Some((config, docs));
        Ok(self)
    }

    /// The environment to look keys up in (default: the process environment plus `<state>/.env`).
    pub fn env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    /// The clock (default: the system clock). Tests pass a [`crate::ManualClock`].
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How long an OAuth refresh may take, waiting for another refresher included (default 15 s, or
    /// `MODELAUTH_OAUTH_TIMEOUT` such as `5s`). A caller never waits longer for a token endpoint.
    pub fn oauth_timeout(mut self, timeout: Duration) -> Self {
        self.oauth_timeout = Some(timeout);
        self
    }

    /// Keep the routing state (pins, usage and cooldowns, lastGood, orders) in this Redis server,
    /// shared with every gateway instance that uses it (`None`: only this host's files, even when
    /// `MODELAUTH_REDIS_URL` is set). Without this call, `MODELAUTH_REDIS_URL` (with
    /// `MODELAUTH_REDIS_PREFIX` and `MODELAUTH_REDIS_TIMEOUT`) decides. Credentials stay local.
    pub fn redis(mut self, settings: Option<RedisSettings>) -> Self {
        self.redis = Some(settings);
        self
    }

    /// The key prefix on the shared server (default `modelauth:`), for settings from
    /// [`GatewayBuilder::redis`] or the environment alike.
    pub fn redis_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.redis_prefix = Some(prefix.into());
        self
    }

    /// For a `rediss://` server: trust the CA in this PEM file instead of the system's roots.
    pub fn redis_ca(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.redis_ca = Some(pem_file.into());
        self
    }

    /// The longest wait for the shared server per call (default 50 ms).
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.redis_timeout = Some(timeout);
        self
    }

    /// The routing policy (quota thresholds, lanes); without it a file gateway reads
    /// `<state>/modelauth.json` (the default policy when there is none).
    pub fn policy(mut self, policy: crate::config::QuotaPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Session registry settings.
    pub fn registry(mut self, options: RegistryOptions) -> Self {
        self.options = options;
        self
    }

    /// Opens the gateway. With files, `<state>/.env` is loaded into the environment unless an
    /// environment was given (its problems are in [`Gateway::dotenv_warnings`]).
    pub fn open(self) -> Result<Gateway, GatewayError> {
        let explicit_env = self.env.is_some();
        let layout_forced = self.layout.is_some();
        let mut env = self.env.unwrap_or_else(Env::process);
        let mut dotenv_warnings = Vec::new();
        let mut shell_env = None;
        let mut policy = self.policy;
        let layout = match self.memory {
            Some((config, docs)) => Layout::Memory {
                config: Arc::new(MemoryConfig::new(config)),
                stores: Mutex::new(
                    docs.into_iter()
                        .map(|(id, doc)| (id, Arc::new(MemoryProfiles::new(doc))))
                        .collect(),
                ),
                locks: Arc::new(MemoryLocks::default()),
            },
            None => {
                let state = StateDir::resolve(self.state_dir.as_deref(), &env)?;
                if state.root().exists() && !state.root().is_dir() {
                    return Err(GatewayError::NotADirectory(state.root().to_owned()));
                }
                if policy.is_none() {
                    policy = Some(crate::config::QuotaPolicy::load(state.root())?);
                }
                if !explicit_env {
                    dotenv_warnings = env.load_dotenv(&state.dotenv_path())?;
                    shell_env = import_shell_env(&mut env, &state);
                }
                let layout = self
                    .layout
                    .unwrap_or_else(|| StateLayout::detect(state.root()));
                let sqlite = match layout {
                    StateLayout::Json => None,
                    StateLayout::Sqlite => match sqlite_db_of(state.root()) {
                        Some(_) => {
                            env.set_key_rules(crate::config::env::KeyRules::OpenClaw2026_9);
                            Some(SqliteLayout::open(state.root())?)
                        }
                        None => {
                            return Err(GatewayError::NoStateDatabase(state_db_of(state.root())));
                        }
                    },
                };
                Layout::Files(state, sqlite)
            }
        };
        let oauth_timeout = self
            .oauth_timeout
            .or_else(|| {
                let text = env.get_plain("MODELAUTH_OAUTH_TIMEOUT")?;
                humantime::parse_duration(text.trim()).ok()
            })
            .unwrap_or(DEFAULT_OAUTH_TIMEOUT);
        let shared = shared_state(
            self.redis,
            self.redis_prefix,
            self.redis_timeout,
            self.redis_ca,
            &env,
        )?;
        Ok(Gateway {
            inner: Arc::new(Inner {
                shared,
                shell_env,
                layout,
                env,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                options: self.options,
                refresher: Arc::new(Refresher::new(oauth_timeout)),
                agents: Mutex::new(HashMap::new()),
                config: once_cell::sync::OnceCell::new(),
                dotenv_warnings,
                layout_forced,
                policy: Arc::new(policy.unwrap_or_default()),
            }),
        })
    }
}

/// When config `env.shellEnv.enabled` (or `OPENCLAW_LOAD_SHELL_ENV`) is on: imports the provider keys
/// the environment lacks from the login shell ([`crate::config::shell_env`]).
pub(super) fn import_shell_env(
    env: &mut Env,
    state: &StateDir,
) -> Option<crate::config::ShellImport> {
    let config = crate::config::ConfigFile::following(state.root().join("openclaw.json"))
        .and_then(|c| c.load())
        .unwrap_or_default();
    let by_env = env.get_plain("OPENCLAW_LOAD_SHELL_ENV").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    });
    if !config.shell_env.enabled && !by_env {
        return None;
    }
    let mut providers: Vec<crate::store::ProviderId> = crate::interpreter::models::WELL_KNOWN
        .iter()
        .filter_map(|p| crate::store::ProviderId::new(p).ok())
        .collect();
    providers.extend(config.providers.keys().cloned());
    providers.extend(config.auth_profiles.values().map(|m| m.provider.clone()));
    providers.sort();
    providers.dedup();
    let timeout = config.shell_env.timeout_ms.map_or(
        crate::config::shell_env::DEFAULT_TIMEOUT,
        Duration::from_millis,
    );
    Some(crate::config::shell_env::import(
        env,
        &Env::key_names(&providers),
        timeout,
    ))
}

/// The shared state named by `MODELAUTH_REDIS_URL` (with `MODELAUTH_REDIS_PREFIX`,
/// `MODELAUTH_REDIS_TIMEOUT`, `MODELAUTH_REDIS_CA`), if set and not empty.
pub(super) fn redis_from_env(env: &Env) -> Option<RedisSettings> {
    let url = env.get_plain("MODELAUTH_REDIS_URL")?;
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let mut settings = RedisSettings::new(url);
    if let Some(p) = env.get_plain("MODELAUTH_REDIS_PREFIX") {
        settings.prefix = p.trim().to_owned();
    }
    if let Some(t) = env
        .get_plain("MODELAUTH_REDIS_TIMEOUT")
        .and_then(|t| humantime::parse_duration(t.trim()).ok())
    {
        settings.timeout = t;
    }
    settings.ca_file = env
        .get_plain("MODELAUTH_REDIS_CA")
        .map(|p| PathBuf::from(p.trim()));
    Some(settings)
}

/// An agent's stores with its routing state on the shared server: credentials stay in `parts`'
/// stores, pins go to the server (sessions the server lacks are read from the local store), OAuth
/// refresh locks are taken there (this host's while it is unreachable).
pub(super) fn share(
    mut parts: agent::Parts,
    shared: &Arc<SharedState>,
    id: &AgentId,
    clock: &SharedClock,
) -> Result<agent::Parts, GatewayError> {
    let link = &shared.link;
    let local = parts.profiles.snapshot()?;
    let routing = AgentRouting::open(
        Arc::clone(link),
        id.as_str(),
        Arc::clone(clock),
        &local.value,
    );
    let shared_sessions = Arc::new(RedisSessions::new(
        Arc::clone(link),
        id.as_str(),
        parts.sessions.clone(),
    ));
    parts.migration = Some(MigrationParts {
        routing: Arc::clone(&routing),
        shared_sessions: Arc::clone(&shared_sessions),
        local_profiles: Arc::clone(&parts.profiles),
        local_sessions: parts.sessions.clone(),
    });
    parts.profiles = Arc::new(RedisProfiles::new(parts.profiles, routing));
    parts.sessions = Some(shared_sessions);
    // `*` is no agent id: one lock per credential for every agent, as with the files.
    parts.refresh_locks = Arc::new(RedisLocks::new(Arc::clone(link), "*", parts.refresh_locks));
    parts.shared = Some(Arc::clone(shared));
    Ok(parts)
}

/// The shared routing state: the builder's Redis settings (or those of the environment) with its
/// overrides; `None` when none is configured.
fn shared_state(
    redis: Option<Option<RedisSettings>>,
    prefix: Option<String>,
    timeout: Option<Duration>,
    ca: Option<PathBuf>,
    env: &Env,
) -> Result<Option<Arc<SharedState>>, GatewayError> {
    match redis {
        Some(settings) => settings,
        None => redis_from_env(env),
    }
    .map(|mut settings| {
        if let Some(p) = prefix {
            settings.prefix = p;
        }
        if let Some(t) = timeout {
            settings.timeout = t;
        }
        if let Some(ca) = ca {
            settings.ca_file = Some(ca);
        }
        Ok::<_, GatewayError>(SharedState::start(Link::new(settings)?))
    })
    .transpose()
}
