//! Helpers shared by the integration tests: temp state directories and fixtures.

use std::path::{Path, PathBuf};

/// The fixture directory.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A temp state directory holding the rich fixtures for agent `main`.
pub fn rich_state() -> (tempfile::TempDir, modelauth::config::StateDir) {
    let dir = tempfile::tempdir().unwrap();
    let state = modelauth::config::StateDir::new(dir.path());
    let agent_dir = state.agent_dir(&modelauth::store::AgentId::main());
    std::fs::create_dir_all(&agent_dir).unwrap();
    std::fs::copy(
        fixture("auth-profiles.rich.json"),
        agent_dir.join("auth-profiles.json"),
    )
    .unwrap();
    std::fs::copy(fixture("openclaw.json5"), dir.path().join("openclaw.json")).unwrap();
    (dir, state)
}

/// Every secret string in the rich fixtures.
pub const RICH_SECRETS: [&str; 7] = [
    "sk-ant-api03-WORKSECRET111111",
    "sk-ant-oat01-MANUALSECRET22222",
    "ACCESSSECRET33333",
    "REFRESHSECRET44444",
    "sk-LEGACYSECRET55555",
    "gsk_OLDSECRET66666",
    "CONFIGSECRET77777",
];

/// Reads a JSON file as a value.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The token-endpoint overrides that keep a child process of the tests off the providers' real
/// endpoints: a closed loopback port (the fixtures hold fake OAuth logins). Tests that refresh set
/// their own token server's URL instead.
pub fn no_real_token_endpoints() -> Vec<(&'static str, &'static str)> {
    [
        "MODELAUTH_ANTHROPIC_TOKEN_URL",
        "MODELAUTH_OPENAI_CODEX_TOKEN_URL",
        "MODELAUTH_GOOGLE_GEMINI_CLI_TOKEN_URL",
        "MODELAUTH_ANTHROPIC_BASE_URL",
        "MODELAUTH_OPENAI_BASE_URL",
    ]
    .map(|k| (k, "http://127.0.0.1:9/tests-use-their-own-token-server"))
    .to_vec()
}

/// `modelauth --state-dir DIR` with a clean environment: PATH, `NO_COLOR`, and token endpoints that
/// cannot be real ([`no_real_token_endpoints`]).
pub fn modelauth_in(dir: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("modelauth").unwrap();
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .envs(no_real_token_endpoints())
        .arg("--state-dir")
        .arg(dir);
    c
}

/// Writes `text` to `path` with mode 0600 (a `.env`, as modelauth expects it).
pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let mut perm = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o600);
    std::fs::set_permissions(path, perm).unwrap();
}

/// The main agent's `auth-profiles.json` in `state`.
pub fn main_auth_file(state: &modelauth::config::StateDir) -> modelauth::backend::json::AuthFile {
    modelauth::backend::json::AuthFile::new(state.auth_path(&modelauth::store::AgentId::main()))
}

/// The main agent's `sessions.json` in `state`.
pub fn main_sessions_file(
    state: &modelauth::config::StateDir,
) -> modelauth::backend::json::SessionsFile {
    modelauth::backend::json::SessionsFile::new(
        state.sessions_path(&modelauth::store::AgentId::main()),
    )
}

/// Standard output then standard error of a finished process, as text.
pub fn text_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts that a process succeeded, with its standard error as the message.
pub fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
