//! `modelauth secrets audit`: the plaintext that remains in a state directory — the credential
//! stores of every agent (both generations), `.env`, `openclaw.json` and its backups
//! (`openclaw.json.bak*`, `auth-profiles.json.bak*`) — and references that do not resolve. Findings
//! follow `openclaw secrets audit --json`'s shape and codes; no finding holds a value.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Gateway, GatewayError};
use crate::store::{CredentialKind, secret::looks_like_secret};

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditFinding {
    /// `PLAINTEXT_FOUND`, `REF_UNRESOLVED`, `OAUTH_AT_REST`, `SECRETS_FILE`, `UNREADABLE`.
    pub code: &'static str,
    /// `warn` (counted by `--check`) or `info`.
    pub severity: &'static str,
    /// The file.
    pub file: String,
    /// Where in it (`profiles.anthropic:work.token`, `$env.OPENAI_API_KEY`).
    pub json_path: String,
    /// What it is and what to do.
    pub message: String,
    /// The profile, for a credential-store finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
}

/// The audit of a state directory.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditReport {
    /// `clean` or `findings` (warnings only count).
    pub status: &'static str,
    /// Every file read.
    pub files_scanned: Vec<String>,
    /// Plaintext findings.
    pub plaintext_count: usize,
    /// References that do not resolve.
    pub unresolved_ref_count: usize,
    /// Everything found.
    pub findings: Vec<AuditFinding>,
}

impl AuditReport {
    /// True when a warning was found (what `--check` turns into exit 1).
    pub fn has_warnings(&self) -> bool {
        self.findings.iter().any(|f| f.severity == "warn")
    }
}

fn finding(code: &'static str, file: &Path, path: String, message: String) -> AuditFinding {
    let severity = match code {
        "PLAINTEXT_FOUND" | "REF_UNRESOLVED" | "UNREADABLE" => "warn",
        _ => "info",
    };
    AuditFinding {
        code,
        severity,
        file: file.display().to_string(),
        json_path: path,
        message,
        profile_id: None,
    }
}

impl Gateway {
    /// Audits this gateway's state directory for plaintext secrets and unresolvable references.
    pub fn audit_secrets(&self) -> Result<AuditReport, GatewayError> {
        let mut found = Vec::new();
        let mut scanned = Vec::new();
        for id in self.known_agents()? {
            let agent = self.agent(&id)?;
            scanned.push(agent.store_location());
            store_findings(&agent, &mut found);
        }
        if let Some(root) = self.state_dir() {
            scan_files(root, &mut scanned, &mut found);
        }
        scanned.sort();
        scanned.dedup();
        let count = |code| found.iter().filter(|f| f.code == code).count();
        Ok(AuditReport {
            status: if found.iter().any(|f| f.severity == "warn") {
                "findings"
            } else {
                "clean"
            },
            files_scanned: scanned,
            plaintext_count: count("PLAINTEXT_FOUND"),
            unresolved_ref_count: count("REF_UNRESOLVED"),
            findings: found,
        })
    }
}

/// Plaintext and unresolvable references in `agent`'s credential store.
fn store_findings(agent: &super::Agent, out: &mut Vec<AuditFinding>) {
    let file = PathBuf::from(agent.store_location());
    let Ok(store) = agent.store() else {
        out.push(finding(
            "UNREADABLE",
            &file,
            String::new(),
            "the credential store cannot be read: run modelauth doctor".into(),
        ));
        return;
    };
    for p in store.profiles.values() {
        let mut add = |code, field: &str, message: String| {
            let mut f = finding(code, &file, format!("profiles.{}.{field}", p.id), message);
            f.profile_id = Some(p.id.clone());
            out.push(f);
        };
        if let Some(Err(e)) = agent.resolve_ref(p) {
            add("REF_UNRESOLVED", "ref", e.to_string());
        }
        if p.secret_ref.is_some() || p.secret.as_ref().is_none_or(|s| s.is_blank()) {
            continue;
        }
        match p.kind {
            CredentialKind::OAuth => add(
                "OAUTH_AT_REST",
                "access",
                "an OAuth login's tokens rotate on every refresh and stay in the store".into(),
            ),
            kind => {
                let field = if kind == CredentialKind::Token {
                    "token"
                } else {
                    "key"
                };
                add(
                    "PLAINTEXT_FOUND",
                    field,
                    format!(
                        "Auth profile {field} is stored as plaintext: modelauth secrets migrate --to keyring --profile {}",
                        p.id
                    ),
                );
            }
        }
    }
}

/// `.env`, `openclaw.json`, its backups and the secrets file of `root`.
fn scan_files(root: &Path, scanned: &mut Vec<String>, out: &mut Vec<AuditFinding>) {
    let env = root.join(".env");
    if let Ok(bytes) = std::fs::read(&env) {
        scanned.push(env.display().to_string());
        let (vars, _) = crate::config::dotenv::parse(&bytes);
        for (name, value) in vars {
            if secret_env_name(&name) && !value.is_blank() {
                out.push(finding(
                    "PLAINTEXT_FOUND",
                    &env,
                    format!("$env.{name}"),
                    format!("Potential secret found in .env ({name})."),
                ));
            }
        }
    }
    for file in config_files(root) {
        scanned.push(file.display().to_string());
        scan_json_file(&file, out);
    }
    let secrets = crate::secrets::vault::file_path(root);
    if secrets.exists() {
        scanned.push(secrets.display().to_string());
        out.push(finding(
            "SECRETS_FILE",
            &secrets,
            String::new(),
            "modelauth's secrets file (mode 0600, the file store): its secrets are on disk by choice; \
             move them with --to keyring or --to systemd to keep them off the disk"
                .into(),
        ));
    }
}

/// `openclaw.json` and every backup beside it or beside an agent's `auth-profiles.json`.
fn config_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut backups_in = |dir: &Path, stem: &str| {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(stem) && name != stem && name.contains(".bak") {
                files.push(e.path());
            }
        }
    };
    backups_in(root, "openclaw.json");
    if let Ok(agents) = std::fs::read_dir(root.join("agents")) {
        for a in agents.flatten() {
            backups_in(&a.path().join("agent"), "auth-profiles.json");
        }
    }
    files.sort();
    let main = root.join("openclaw.json");
    if main.exists() {
        files.insert(0, main);
    }
    files
}

/// Every secret-looking string of a JSON/JSON5 file, by path.
fn scan_json_file(file: &Path, out: &mut Vec<AuditFinding>) {
    let Ok(text) = std::fs::read_to_string(file) else {
        out.push(finding(
            "UNREADABLE",
            file,
            String::new(),
            "cannot be read".into(),
        ));
        return;
    };
    let text = zeroize::Zeroizing::new(text);
    let Ok(doc) = json5::from_str::<Value>(&text) else {
        out.push(finding(
            "UNREADABLE",
            file,
            String::new(),
            "is not JSON: check it by hand for secrets".into(),
        ));
        return;
    };
    let mut paths = Vec::new();
    walk(&doc, String::new(), None, &mut paths);
    for path in paths {
        out.push(finding(
            "PLAINTEXT_FOUND",
            file,
            path,
            "a secret stored as plaintext: replace it with a reference (openclaw secrets configure, \
             or modelauth secrets migrate for auth profiles)"
                .into(),
        ));
    }
}

/// Collects the paths of plaintext secrets under `v`: a string under a sensitive key name, or one
/// that looks like a key whatever its name. References (`{source, provider, id}`, `$NAME`) are not.
fn walk(v: &Value, path: String, key: Option<&str>, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(child, p, Some(k), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                walk(child, format!("{path}[{i}]"), key, out);
            }
        }
        Value::String(s) => {
            let s = s.trim();
            let is_ref = crate::store::SecretRef::coerce(v).is_some();
            let sensitive = key.is_some_and(sensitive_key) && s.len() >= 8 && !s.contains(' ');
            if !s.is_empty() && !is_ref && (sensitive || looks_like_secret(s)) {
                out.push(path);
            }
        }
        _ => {}
    }
}

/// Key names that hold secrets in OpenClaw's files: `key`, and names ending in `apiKey`, `token`,
/// `secret` or `password` (`botToken`, `clientSecret`, …; not `sessionKey` or `maxTokens`).
fn sensitive_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase().replace(['_', '-'], "");
    k == "key"
        || ["apikey", "token", "secret", "password"]
            .iter()
            .any(|s| k.ends_with(s))
}

/// Environment variable names that hold secrets: `*_API_KEY(S)`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`.
fn secret_env_name(name: &str) -> bool {
    [
        "_API_KEY",
        "_API_KEYS",
        "_TOKEN",
        "_SECRET",
        "_PASSWORD",
        "_KEY",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_counts_as_plaintext() {
        let doc = serde_json::json!({
            "models": {"providers": {"x": {"apiKey": "abc123def456"}, "y": {"apiKey": "$Y_KEY"}}},
            "channels": {"tg": {"botToken": "123456:ABCdef", "sessionKey": "agent:main:main"}},
            "agents": {"defaults": {"maxTokens": 4096, "model": {"primary": "anthropic/claude-opus-4-6"}}},
            "auth": {"profiles": {"anthropic:work": {"provider": "anthropic", "mode": "token"}}},
            "misc": {"note": "sk-ant-api03-LOOKSLIKEAKEY1234567890"},
        });
        let mut found = Vec::new();
        walk(&doc, String::new(), None, &mut found);
        assert_eq!(
            found,
            [
                "models.providers.x.apiKey",
                "channels.tg.botToken",
                "misc.note"
            ]
        );
    }
}
