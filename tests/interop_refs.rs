//! Secret references and OpenClaw's OAuth refresh fence, beside the real OpenClaw 2026.9.6: states
//! written by `openclaw secrets apply` (env, file and exec providers) and fences made by OpenClaw's
//! own `createOAuthRefreshFence`. Runs when `MODELAUTH_INTEROP_BIN` is set (see `tests/interop.rs`).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};

use crate::interop::{oc_json, oc_ok, openclaw_bin};
use crate::serve_common::serve_with;
use crate::token_server::TokenServer;

const ENV_SECRET: &str = "sk-ant-api03-REFENVxxDDDD1111222233334444";
const FILE_SECRET: &str = "sk-ant-api03-REFFILExxEEEE5555666677778888";
const EXEC_SECRET: &str = "sk-ant-api03-REFEXECxxFFFF9999000011112222";

/// `openclaw ARGS` with extra environment variables.
fn oc_env(bin: &Path, dir: &Path, args: &str, env: &[(&str, &str)]) -> Output {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::process::Command::new(bin.join("openclaw"))
        .args(args.split_whitespace())
        .env("OPENCLAW_STATE_DIR", dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// `modelauth --state-dir DIR ARGS` with extra environment variables.
fn ma(dir: &Path, args: &str, env: &[(&str, &str)]) -> Output {
    crate::common::modelauth_in(dir)
        .args(args.split_whitespace())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    crate::common::text_of(out)
}

/// Writes a private file (mode `mode`).
fn write_mode(path: &Path, body: &str, mode: u32) {
    std::fs::write(path, body).unwrap();
    let mut perm = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, mode);
    std::fs::set_permissions(path, perm).unwrap();
}

/// A state directory whose anthropic profiles OpenClaw turned into env, file and exec references
/// with `openclaw secrets apply`; returns it with the secrets directory (outside the state dir).
fn ref_state(bin: &Path) -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sec = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = sec.path().join("secrets.json");
    write_mode(
        &file,
        &json!({"providers": {"anthropic": {"apiKey": FILE_SECRET}}}).to_string(),
        0o600,
    );
    let resolver = sec.path().join("resolver.sh");
    write_mode(
        &resolver,
        &format!(
            "#!/bin/sh\nread -r req\nprintf '{{\"protocolVersion\":1,\"values\":{{\"anthropic/exec\":\"{EXEC_SECRET}\"}}}}'\n"
        ),
        0o700,
    );
    oc_ok(
        bin,
        d,
        "config set agents.defaults.model.primary anthropic/claude-opus-4-6",
        "",
    );
    let target = |id: &str, r: Value| {
        json!({"type": "auth-profiles.api_key.key", "path": format!("profiles.{id}.key"),
               "pathSegments": ["profiles", id, "key"], "agentId": "main",
               "authProfileProvider": "anthropic", "ref": r})
    };
    let plan = json!({"version": 1, "protocolVersion": 1,
    "providerUpserts": {
        "filemain": {"source": "file", "path": file, "mode": "json"},
        "vault": {"source": "exec", "command": resolver, "passEnv": ["PATH"]}},
    "targets": [
        target("anthropic:envp", json!({"source": "env", "provider": "default", "id": "ANTHROPIC_REF_KEY"})),
        target("anthropic:filep", json!({"source": "file", "provider": "filemain", "id": "/providers/anthropic/apiKey"})),
        target("anthropic:execp", json!({"source": "exec", "provider": "vault", "id": "anthropic/exec"})),
    ]});
    let plan_path = sec.path().join("plan.json");
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let applied = oc_env(
        bin,
        d,
        &format!("secrets apply --from {} --allow-exec", plan_path.display()),
        &[("ANTHROPIC_REF_KEY", ENV_SECRET)],
    );
    assert!(
        applied.status.success(),
        "secrets apply: {}",
        text(&applied)
    );
    (dir, sec)
}

/// The profile OpenClaw's `models status --json` says it would use first for anthropic.
fn oc_effective(bin: &Path, dir: &Path, env: &[(&str, &str)]) -> String {
    let out = oc_env(bin, dir, "models status --json", env);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let providers = v["auth"]["oauth"]["providers"].as_array().unwrap();
    let anthropic = providers
        .iter()
        .find(|p| p["provider"] == "anthropic")
        .unwrap();
    anthropic["effectiveProfiles"][0]["profileId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every 8-character slice of `secret`, for "never shown anywhere" checks.
fn slices(secret: &str) -> Vec<&str> {
    (0..=secret.len() - 8)
        .map(|i| &secret[i..i + 8])
        .filter(|s| !s.starts_with("sk-ant-a"))
        .collect()
}

fn assert_no_secret(what: &str, haystack: &str) {
    for secret in [ENV_SECRET, FILE_SECRET, EXEC_SECRET] {
        for s in slices(secret) {
            assert!(
                !haystack.contains(s),
                "{what} shows a slice of a secret ({s})"
            );
        }
    }
}

/// Every file under `dir`, read as bytes (lossy text).
fn all_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

#[test]
fn references_openclaw_wrote_choose_the_same_profile_and_hand_out_the_value() {
    let Some(bin) = openclaw_bin() else { return };
    let (dir, _sec) = ref_state(&bin);
    let d = dir.path();
    let env = [("ANTHROPIC_REF_KEY", ENV_SECRET)];
    // The env reference first: both tools pick it, both --check codes are 0.
    oc_ok(
        &bin,
        d,
        "models auth order set --provider anthropic anthropic:envp anthropic:execp anthropic:filep",
        "",
    );
    let chosen: Value =
        serde_json::from_slice(&ma(d, "--json resolve --provider anthropic", &env).stdout).unwrap();
    assert_eq!(chosen["profile"], oc_effective(&bin, d, &env));
    assert_eq!(chosen["profile"], "anthropic:envp");
    let oc_check = oc_env(&bin, d, "models status --check", &env).status.code();
    let ma_check = ma(d, "models status --check", &env).status.code();
    assert_eq!((oc_check, ma_check), (Some(0), Some(0)));
    // Without the variable the env reference does not resolve: OpenClaw's --check fails, and so does
    // modelauth's when it is the only profile in the order (it names the reference).
    oc_ok(
        &bin,
        d,
        "models auth order set --provider anthropic anthropic:envp",
        "",
    );
    let oc_check = oc_env(&bin, d, "models status --check", &[]).status.code();
    let out = ma(d, "models status --check", &[]);
    assert_eq!(
        (oc_check, out.status.code()),
        (Some(1), Some(1)),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("ANTHROPIC_REF_KEY is missing or empty"),
        "{}",
        text(&out)
    );
    // The exec reference first: the same profile is chosen; modelauth resolves it for --check
    // ([better] in docs/DECISIONS.md: OpenClaw's CLI reports it indeterminate, exit 1).
    oc_ok(
        &bin,
        d,
        "models auth order set --provider anthropic anthropic:execp anthropic:filep anthropic:envp",
        "",
    );
    let chosen: Value =
        serde_json::from_slice(&ma(d, "--json resolve --provider anthropic", &[]).stdout).unwrap();
    assert_eq!(chosen["profile"], oc_effective(&bin, d, &[]));
    assert_eq!(ma(d, "models status --check", &[]).status.code(), Some(0));
    // serve hands out the resolved value; nothing of any secret in any output or file.
    let mut server = serve_with(d, &[], &[]);
    let body = json!({"provider": "anthropic", "includeSecret": true});
    let (code, answer) = server.unix("POST", "/v1/agents/main/resolve", Some(&body));
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["profile"], "anthropic:execp");
    assert_eq!(answer["secret"], EXEC_SECRET, "{answer}");
    oc_ok(
        &bin,
        d,
        "models auth order set --provider anthropic anthropic:filep anthropic:execp",
        "",
    );
    let (_, answer) = server.unix("POST", "/v1/agents/main/resolve", Some(&body));
    assert_eq!(
        (answer["profile"].as_str(), answer["secret"].as_str()),
        (Some("anthropic:filep"), Some(FILE_SECRET))
    );
    server.terminate();
    let log = server.stderr();
    let mut shown = log;
    for args in [
        "models status",
        "--json models status",
        "doctor",
        "--json doctor",
        "models auth list",
        "--json resolve --provider anthropic",
    ] {
        let out = ma(d, args, &env);
        shown.push_str(&text(&out));
        assert!(
            text(&out).contains("anthropic:filep"),
            "{args}: {}",
            text(&out)
        );
    }
    assert!(
        shown.contains("ref (file:/providers/anthropic/apiKey)"),
        "{shown}"
    );
    assert_no_secret("modelauth's output", &shown);
    for (path, body) in all_files(d) {
        assert_no_secret(&path.display().to_string(), &body);
    }
}

#[test]
fn a_broken_reference_is_skipped_and_named_never_replaced_by_plaintext() {
    let Some(bin) = openclaw_bin() else { return };
    let (dir, sec) = ref_state(&bin);
    let d = dir.path();
    oc_ok(
        &bin,
        d,
        "models auth order set --provider anthropic anthropic:filep anthropic:execp",
        "",
    );
    // A world-readable secrets file is refused by both tools: modelauth moves on to the exec profile.
    let file = sec.path().join("secrets.json");
    let mut perm = std::fs::metadata(&file).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o644);
    std::fs::set_permissions(&file, perm).unwrap();
    let chosen: Value =
        serde_json::from_slice(&ma(d, "--json resolve --provider anthropic", &[]).stdout).unwrap();
    assert_eq!(chosen["profile"], "anthropic:execp", "{chosen}");
    let doctor = text(&ma(d, "doctor", &[]));
    assert!(
        doctor.contains("permissions are too open") && doctor.contains("chmod 600"),
        "{doctor}"
    );
    assert!(
        !doctor.contains("models auth add --provider anthropic --profile-id anthropic:filep"),
        "{doctor}"
    );
    // A resolver that hangs is bounded by its timeoutMs, and the next profile serves.
    write_mode(
        &sec.path().join("resolver.sh"),
        "#!/bin/sh\nsleep 30\n",
        0o700,
    );
    oc_ok(
        &bin,
        d,
        "config set secrets.providers.vault.timeoutMs 700",
        "",
    );
    oc_ok(
        &bin,
        d,
        "models auth order set --provider anthropic anthropic:execp anthropic:envp",
        "",
    );
    #[allow(clippy::disallowed_methods, reason = "the timeout bound is real time")]
    let started = std::time::Instant::now();
    let chosen: Value = serde_json::from_slice(
        &ma(
            d,
            "--json resolve --provider anthropic",
            &[("ANTHROPIC_REF_KEY", ENV_SECRET)],
        )
        .stdout,
    )
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(chosen["profile"], "anthropic:envp", "{chosen}");
    let status = text(&ma(d, "models status", &[]));
    assert!(status.contains("timed out after 700 ms"), "{status}");
}

/// OpenClaw's own fence of `credential` for profile `id` (pending, or failed when `failed`).
fn openclaw_fence(bin: &Path, id: &str, credential: &Value, failed: bool) -> Value {
    let dist = bin.parent().unwrap().join("oc/node_modules/openclaw/dist");
    let module = std::fs::read_dir(&dist)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("credential-state-") && n.ends_with(".mjs")
        })
        .expect("OpenClaw's credential-state module");
    let script = format!(
        "const m = await import({module:?});\nconst f = m.c({{ profileId: {id:?}, credential: {credential} }});\nconsole.log(JSON.stringify({failed} ? m.s(f) : f));",
        module = module.display().to_string()
    );
    let out = std::process::Command::new(bin.join("node"))
        .args(["--input-type=module", "-e", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "node: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Puts `credential` under `id` in the shared credential store of the state database.
fn put_shared(dir: &Path, id: &str, credential: &Value) {
    let db = dir.join("state/openclaw.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let text: String = conn
        .query_row(
            "SELECT value_json FROM config_machine_state WHERE state_key = 'authProfiles.store'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut store: Value = serde_json::from_str(&text).unwrap();
    store["profiles"][id] = credential.clone();
    conn.execute(
        "UPDATE config_machine_state SET value_json = ?1 WHERE state_key = 'authProfiles.store'",
        [store.to_string()],
    )
    .unwrap();
}

fn ms_now() -> i64 {
    #[allow(clippy::disallowed_methods)]
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    d.as_millis() as i64
}

#[test]
fn an_openclaw_refresh_fence_is_waited_out_never_sent_or_recorded() {
    let Some(bin) = openclaw_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oc_ok(
        &bin,
        d,
        "config set agents.defaults.model.primary anthropic/claude-opus-4-6",
        "",
    );
    oc_ok(
        &bin,
        d,
        "models auth paste-token --provider anthropic --profile-id anthropic:setup",
        &crate::interop::token("F"),
    );
    let live = json!({"type": "oauth", "provider": "anthropic", "access": "sk-ant-oat01-OLDACCESS",
                      "refresh": "sk-ant-ort01-OLDREFRESH", "expires": ms_now() - 1000, "email": "me@example.com"});
    put_shared(
        d,
        "anthropic:me",
        &openclaw_fence(&bin, "anthropic:me", &live, false),
    );
    oc_ok(
        &bin,
        d,
        "models auth order set --provider anthropic anthropic:me anthropic:setup",
        "",
    );
    let tokens = TokenServer::start();
    let url = tokens.token_url();
    let env = [
        ("MODELAUTH_ANTHROPIC_TOKEN_URL", url.as_str()),
        ("MODELAUTH_OAUTH_TIMEOUT", "10s"),
    ];
    // While the fence is pending, a resolve waits; OpenClaw's refresh lands 1.5 s later.
    let dir_path = d.to_path_buf();
    let settle = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        let fresh = json!({"type": "oauth", "provider": "anthropic", "access": "sk-ant-oat01-NEWACCESS",
                           "refresh": "sk-ant-ort01-NEWREFRESH", "expires": ms_now() + 3_600_000, "email": "me@example.com"});
        put_shared(&dir_path, "anthropic:me", &fresh);
    });
    let out = ma(d, "--json resolve --provider anthropic", &env);
    settle.join().unwrap();
    let chosen: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(chosen["profile"], "anthropic:me", "{chosen}");
    assert_eq!(
        tokens.refresh_calls(),
        0,
        "a fence marker reached the token endpoint"
    );
    let state = crate::sqlite_state::machine(d, "authProfiles.state").unwrap_or(Value::Null);
    assert!(
        state["usageStats"]["anthropic:me"]["disabledUntil"].is_null(),
        "{state}"
    );
    // A failed fence: re-auth needed, no network call, the other profile serves.
    put_shared(
        d,
        "anthropic:me",
        &openclaw_fence(&bin, "anthropic:me", &live, true),
    );
    let chosen: Value =
        serde_json::from_slice(&ma(d, "--json resolve --provider anthropic", &env).stdout).unwrap();
    assert_eq!(chosen["profile"], "anthropic:setup", "{chosen}");
    let status = text(&ma(d, "models status", &env));
    assert!(
        status.contains("re-auth needed") && status.contains("OpenClaw's refresh"),
        "{status}"
    );
    assert_eq!(tokens.refresh_calls(), 0);
    let oc_status = oc_json(&bin, d, "models status --json");
    assert!(oc_status.to_string().contains("anthropic:me"));
}

/// The last 8 characters of the key OpenClaw's `models status --json` shows as `provider`'s
/// effective environment credential (`sk-ant-a...bbbb2222`), if any.
fn oc_env_key_tail(bin: &Path, dir: &Path, provider: &str) -> Option<String> {
    let out = oc_env(bin, dir, "models status --json", &[]);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let p = v["auth"]["providers"]
        .as_array()?
        .iter()
        .find(|p| p["provider"] == provider)?;
    let shown = p["env"]["value"].as_str()?;
    Some(shown[shown.len() - 8..].to_owned())
}

/// The last 8 characters of the key modelauth's `serve` hands out for `provider`, if any.
fn ma_key_tail(server: &crate::serve_common::Serve, provider: &str) -> Option<String> {
    let body = json!({"provider": provider, "includeSecret": true});
    let (code, answer) = server.unix("POST", "/v1/agents/main/resolve", Some(&body));
    if code != 200 {
        return None;
    }
    let secret = answer["secret"].as_str()?;
    Some(secret[secret.len() - 8..].to_owned())
}

#[test]
fn dotenv_files_and_environment_keys_pick_the_key_openclaw_picks() {
    let Some(bin) = openclaw_bin() else { return };
    let cases: [(&str, &[u8]); 6] = [
        ("a duplicated key (the last wins)", b"ANTHROPIC_API_KEY=sk-ant-api03-FIRSTaaaaaaaa11111111\nANTHROPIC_API_KEY=sk-ant-api03-SECONDbbbbbbb22222222\n"),
        ("a UTF-8 BOM", b"\xef\xbb\xbfANTHROPIC_API_KEY=sk-ant-api03-BOMccccccccccc33333333\n"),
        ("a multi-line double-quoted value before the key", b"NOTE=\"line one\nline two\"\nANTHROPIC_API_KEY=sk-ant-api03-MULTIdddddddd44444444\n"),
        ("export and a tab", b"export\tANTHROPIC_API_KEY=sk-ant-api03-TABeeeeeeeeeee55555555\n"),
        ("an invalid byte on another line", b"BROKEN=\xff\xfe\nANTHROPIC_API_KEY=sk-ant-api03-BYTEffffffffff66666666\n"),
        ("a comment and quotes", b"# keys\nANTHROPIC_API_KEY='sk-ant-api03-QUOTEgggggggg77777777' # work\n"),
    ];
    for (what, body) in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        oc_ok(
            &bin,
            d,
            "config set agents.defaults.model.primary anthropic/claude-opus-4-6",
            "",
        );
        std::fs::write(d.join(".env"), body).unwrap();
        let mut perm = std::fs::metadata(d.join(".env")).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o600);
        std::fs::set_permissions(d.join(".env"), perm).unwrap();
        let theirs = oc_env_key_tail(&bin, d, "anthropic");
        let mut server = serve_with(d, &[], &[]);
        let ours = ma_key_tail(&server, "anthropic");
        server.terminate();
        assert!(theirs.is_some(), "{what}: OpenClaw found no key");
        assert_eq!(ours, theirs, "{what}");
        let status = text(&ma(d, "models status", &[]));
        assert!(status.contains("[anthropic]"), "{what}: {status}");
    }
    // GOOGLE_API_KEY is a google credential; OPENAI_API_KEYS (a list) is not one for 2026.9.6.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oc_ok(
        &bin,
        d,
        "config set agents.defaults.model.primary google/gemini-3-pro-preview",
        "",
    );
    std::fs::write(
        d.join(".env"),
        "GOOGLE_API_KEY=AIzaSyGOOGLExxxxxxxx88888888\nOPENAI_API_KEYS=sk-one sk-two;sk-three\n",
    )
    .unwrap();
    let theirs = oc_env_key_tail(&bin, d, "google");
    let mut server = serve_with(d, &[], &[]);
    assert_eq!(ma_key_tail(&server, "google"), theirs);
    assert_eq!(
        (
            ma_key_tail(&server, "openai"),
            oc_env_key_tail(&bin, d, "openai")
        ),
        (None, None)
    );
    server.terminate();
}

#[test]
fn paste_api_key_writes_what_openclaw_reads_under_its_default_id() {
    let Some(bin) = openclaw_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oc_ok(
        &bin,
        d,
        "models auth paste-token --provider anthropic --profile-id anthropic:t",
        &crate::interop::token("P"),
    );
    let out = crate::common::modelauth_in(d)
        .args(["models", "auth", "paste-api-key", "--provider", "openai"])
        .write_stdin("sk-proj-PASTEAPIKEYxxxxxxxx99999999\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let theirs = oc_json(&bin, d, "models auth list --json").to_string();
    assert!(theirs.contains("openai:manual"), "{theirs}");
}
