//! Errors of the store layer: every one names the file, and says what to do.

use std::io;
use std::path::PathBuf;

use super::ids::IdError;

/// What went wrong reading or writing a state file. The file is left untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file or its directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The file could not be written (or its directory created).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The sidecar lock could not be taken.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Another process held the sidecar lock past the deadline.
    #[error(
        "{path} is held by {holder} (waited {waited_ms} ms); if that process is gone, check it and remove the lock file"
    )]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// Who holds it (`pid 123`, or why the owner is unknown).
        holder: String,
        /// How long this call waited.
        waited_ms: u64,
    },
    /// The file is not valid JSON (or JSON5 for `openclaw.json`).
    #[error(
        "{path} is not valid {format} (line {line}, column {column}: {message}); fix or move it away, modelauth has not changed it"
    )]
    Syntax {
        /// The file.
        path: PathBuf,
        /// `JSON` or `JSON5`.
        format: &'static str,
        /// 1-based line of the error (0 when unknown).
        line: usize,
        /// 1-based column of the error (0 when unknown).
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The file is JSON but its top level is not an object.
    #[error(
        "{path} must hold a JSON object at the top level, found {found}; fix or move it away, modelauth has not changed it"
    )]
    NotObject {
        /// The file.
        path: PathBuf,
        /// What was found instead (`array`, `null`, …).
        found: &'static str,
    },
    /// The file is not UTF-8 text.
    #[error(
        "{path} is not UTF-8 text (invalid byte at offset {offset}); fix or move it away, modelauth has not changed it"
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The file is larger than modelauth is willing to read.
    #[error(
        "{path} is {size} bytes, more than the {limit} bytes modelauth reads; it is probably not a state file"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The path is a symbolic link or not a regular file; modelauth neither follows nor replaces it.
    #[error(
        "{path} is {kind}, not a regular file; replace it with the file itself (modelauth does not follow or overwrite links)"
    )]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// `a symbolic link`, `a directory`, …
        kind: &'static str,
    },
    /// A top-level field of a state file has the wrong type; modelauth refuses to write on top of it.
    #[error(
        "{path}: \"{field}\" is {found}, expected {expected}; fix or move the file away, modelauth has not changed it"
    )]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The field (`profiles`, `order`, `usageStats`, …).
        field: &'static str,
        /// What it is (`an array`, …).
        found: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A change could not be applied because the state changed under it.
    #[error("{path}: {what}; try again")]
    Conflict {
        /// The file or store.
        path: PathBuf,
        /// What happened.
        what: String,
    },
    /// The replacement could not be given the owner of the file it replaces.
    #[error(
        "cannot keep the owner of {path} (uid {uid}, gid {gid}): {source}; run modelauth as that user, nothing was changed"
    )]
    Owner {
        /// The file.
        path: PathBuf,
        /// The owner to keep.
        uid: u32,
        /// The group to keep.
        gid: u32,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A JSON5 value a JSON rewrite cannot keep stands in the file; modelauth refuses to rewrite it.
    #[error(
        "{path} line {line}, column {column}: {value} cannot be kept when modelauth rewrites the file as JSON (JSON has no NaN or Infinity, and integers must fit 64 bits); change it (e.g. quote it) or make this change by hand. Nothing was changed"
    )]
    CannotRewrite {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The value as written.
        value: String,
    },
    /// The state directory belongs to OpenClaw's SQLite generation; its JSON files are not the state.
    #[error(
        "{path}: this state directory keeps its credentials and sessions in {db} (OpenClaw 2026.9 and later); writing {path} would make OpenClaw refuse the provider (AUTH_PROFILE_MIGRATION_REQUIRED). Drop `--layout json` to use the databases. Nothing was changed"
    )]
    SqliteGeneration {
        /// The JSON file that would have been written.
        path: PathBuf,
        /// The state database.
        db: PathBuf,
    },
    /// A first write into a state directory that holds nothing of either generation: OpenClaw
    /// 2026.9 and later would refuse JSON files there, and only OpenClaw creates its databases.
    #[error(
        "{dir} holds no OpenClaw state yet. OpenClaw 2026.9 and later keep credentials in {dir}/state/openclaw.sqlite, which only OpenClaw creates, and refuse JSON credential files (AUTH_PROFILE_MIGRATION_REQUIRED): run `openclaw onboard` (or `openclaw models auth paste-token --provider <provider>`) once, then run this command again. For an early-2026 OpenClaw that keeps JSON files, add --layout json. Nothing was written"
    )]
    FreshStateDir {
        /// The state directory.
        dir: PathBuf,
    },
    /// A SQLite state database could not be opened, read or written.
    #[error("cannot {action} {path}: {source}; nothing was changed")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// What was being done (`open`, `read`, `write`).
        action: &'static str,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// A database is not the OpenClaw state database modelauth knows (a table or column is missing, or
    /// a value has another shape).
    #[error(
        "{path}: {what}; this is not an OpenClaw 2026.9 state database modelauth understands (run `openclaw doctor`), nothing was changed"
    )]
    SqliteSchema {
        /// The database.
        path: PathBuf,
        /// What does not match.
        what: String,
    },
    /// A change belongs in an agent's database, which OpenClaw has not created yet.
    #[error(
        "{path} does not exist: OpenClaw creates an agent's database when the agent is first used (e.g. `openclaw models auth order set --agent {agent} --provider <provider> <profile>`, or its first chat); modelauth does not create OpenClaw's databases. Nothing was changed"
    )]
    AgentDatabaseMissing {
        /// The agent.
        agent: String,
        /// Where its database would be.
        path: PathBuf,
    },
    /// A session OpenClaw 2026.9 would refuse to list: its keys are `agent:<agent>:<rest>` in lower case.
    #[error(
        "session {key:?} is not a session key OpenClaw 2026.9 accepts (agent:{agent}:<name>, lower case); its row would make `openclaw sessions` fail, so it was not written. Use a key of that form"
    )]
    NonCanonicalSession {
        /// The key.
        key: String,
        /// The agent.
        agent: String,
    },
    /// The shared routing state in Redis could not be used (the URL is shown without its password).
    #[error("Redis at {url}: {problem}")]
    Redis {
        /// The server's URL, password replaced by `***`.
        url: String,
        /// What went wrong, and what to do.
        problem: RedisProblem,
    },
    /// `openclaw.json` is a symbolic link modelauth does not follow.
    #[error("{path} is a symbolic link modelauth does not follow: {why}; nothing was read or changed")]
    LinkRefused {
        /// The link.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// An id failed validation before any path was built.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The session registry has interned every distinct profile id, model and runtime it can address
    /// (over four billion): the process has been fed names without bound.
    #[error(
        "the session registry holds too many distinct profile ids, models and runtimes; restart the gateway"
    )]
    TooManyNames,
}

impl StoreError {
    /// A stable machine-readable name of the error (`--json` error documents, the service's error
    /// bodies): `io`, `busy`, `bad_state_file`, `wrong_generation`, `database`, `database_schema`,
    /// `agent_database_missing`, `openclaw_first`, `bad_session_key`, `shared_state_unavailable`, `bad_id`,
    /// `too_many_names`.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Read { .. } | StoreError::Write { .. } | StoreError::Lock { .. } => "io",
            StoreError::LockTimeout { .. } | StoreError::Conflict { .. } => "busy",
            StoreError::SqliteGeneration { .. } => "wrong_generation",
            StoreError::FreshStateDir { .. } => "openclaw_first",
            StoreError::Sqlite { .. } => "database",
            StoreError::SqliteSchema { .. } => "database_schema",
            StoreError::AgentDatabaseMissing { .. } => "agent_database_missing",
            StoreError::NonCanonicalSession { .. } => "bad_session_key",
            StoreError::Redis { .. } => "shared_state_unavailable",
            StoreError::Id(_) => "bad_id",
            StoreError::TooManyNames => "too_many_names",
            _ => "bad_state_file",
        }
    }
}

/// Why a Redis server could not be used ([`StoreError::Redis`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedisProblem {
    /// The URL cannot be parsed.
    #[error(
        "not a Redis URL ({0}); use redis://[user:password@]host[:port][/db], rediss://… or unix:///path/redis.sock[?db=N]"
    )]
    BadUrl(String),
    /// The CA file for `rediss://` cannot be read.
    #[error("cannot read the CA file {0} ({1}); give a PEM file with --redis-ca or MODELAUTH_REDIS_CA")]
    CaFile(String, String),
    /// The TLS handshake or the server's certificate failed.
    #[error(
        "TLS failed ({0}); is the server speaking TLS on this port (rediss:// needs its tls-port)? For a private CA give its PEM file with --redis-ca"
    )]
    Tls(String),
    /// The server refused the password or user.
    #[error(
        "authentication failed; check the password in the URL (--redis or MODELAUTH_REDIS_URL)"
    )]
    Auth,
    /// No connection could be made.
    #[error("cannot connect ({0}); is redis-server running there?")]
    Unreachable(String),
    /// The server did not answer within the bound.
    #[error(
        "no answer within {0} ms (server paused, overloaded or far away); raise --redis-timeout if it is slow by nature"
    )]
    Timeout(u64),
    /// The server is marked unreachable since an earlier failure; it is retried in the background.
    #[error("unreachable since an earlier failure; retried in the background")]
    Down,
    /// The server answered with an error.
    #[error("the server refused the command: {0}")]
    Server(String),
    /// The server answered something modelauth did not expect.
    #[error("unexpected reply: {0}")]
    Protocol(String),
    /// A change kept conflicting with other instances' changes.
    #[error("the change conflicted with other instances {0} times in a row; try again")]
    Contended(u32),
}

/// The name of a JSON value's type, for error messages.
pub(crate) fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
