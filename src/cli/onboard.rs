//! `onboard`: from nothing to a working, checked state. Interactive on a terminal (numbered choices
//! and defaults on a rustyline prompt, the secret on a hidden prompt), or `--non-interactive` with the
//! secret on stdin. Every answer is collected first and shown; nothing is written before the user
//! confirms, so Ctrl-C half way leaves no file behind. A re-run changes only what it is told to.

use std::io::IsTerminal;
use std::time::Duration;

use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use modelauth::{CredentialKind, Env, NewCredential, ProviderId, Secret, Severity};

use super::context::Context;
use super::{CliError, output};

/// Where an API key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The agent's credential store (`auth-profiles.json` or OpenClaw's database).
    Profiles,
    /// `<state>/.env` as `<P>_API_KEY`.
    DotEnv,
}

/// The answers, complete before anything is written.
#[derive(Debug)]
pub struct Plan {
    /// The provider.
    pub provider: ProviderId,
    /// API key or setup token.
    pub kind: CredentialKind,
    /// Where the secret goes.
    pub store: Store,
    /// The profile id (for [`Store::Profiles`]).
    pub profile_id: String,
    /// The secret.
    pub secret: Secret,
    /// Validity of a token.
    pub expires_in: Option<Duration>,
    /// A new default model, if one was chosen.
    pub default_model: Option<String>,
    /// A store off the disk for the secret (`--store keyring|systemd|file`).
    pub keep: Option<modelauth::gateway::vault::VaultTarget>,
}

/// The flags of `onboard --non-interactive`.
#[derive(Debug)]
pub struct Flags<'a> {
    /// `--provider`.
    pub provider: Option<&'a str>,
    /// `--kind api_key|token`.
    pub kind: Option<&'a str>,
    /// `--store profiles|env|keyring|systemd|file`.
    pub store: Option<&'a str>,
    /// `--credstore`.
    pub credstore: Option<&'a std::path::PathBuf>,
    /// `--profile-id`.
    pub profile_id: Option<&'a str>,
    /// `--default-model`.
    pub default_model: Option<&'a str>,
    /// `--expires-in`.
    pub expires_in: Option<Duration>,
}

/// Runs `onboard`.
pub fn run(
    cli: &super::args::Cli,
    ctx: &Context,
    non_interactive: bool,
    flags: &Flags<'_>,
) -> Result<u8, CliError> {
    // Before any question: a secret typed for a write that would be refused is a secret typed twice.
    if flags.store != Some("env")
        && let Some(refusal) = ctx.gateway.first_write_refusal()
    {
        return Err(CliError::Store(refusal));
    }
    let plan = if non_interactive {
        from_flags(ctx, flags)?
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::User(
                "onboard asks questions on a terminal; for scripts use onboard --non-interactive --provider P --kind api_key|token (secret on stdin)".into(),
            ));
        }
        match ask(ctx, flags)? {
            Some(Answer::Plan(plan)) => plan,
            Some(Answer::Login(provider)) => {
                let wait = Duration::from_secs(300);
                let code = super::login::run(ctx, provider.as_str(), None, false, wait)?;
                if code != 0 {
                    return Ok(code);
                }
                return check(&Context::from_cli(cli)?);
            }
            None => {
                eprintln!("onboard: stopped; nothing was written");
                return Ok(1);
            }
        }
    };
    let done = apply(ctx, &plan)?;
    // A fresh gateway: the files just written are read as every later command reads them.
    let fresh = Context::from_cli(cli)?;
    if ctx.json {
        let status = fresh.agent()?.status()?;
        output::json(&serde_json::json!({
            "done": done,
            "check": status.check,
            "findings": status.findings,
        }));
        return Ok(status.check.min(1));
    }
    for line in &done {
        println!("{line}");
    }
    check(&fresh)
}

/// A default model must be `provider/model`: config names the provider in use by it, and `--check`
/// watches that provider's credentials.
fn check_model_ref(m: &str) -> Result<(), CliError> {
    match m.split_once('/') {
        Some((p, model)) if !model.trim().is_empty() && modelauth::ProviderId::new(p).is_ok() => {
            Ok(())
        }
        _ => Err(CliError::User(format!(
            "--default-model takes provider/model (e.g. anthropic/claude-opus-4-6), not {m:?}; nothing was written"
        ))),
    }
}

fn kind_of(s: &str) -> Result<CredentialKind, CliError> {
    match s {
        "api_key" | "api-key" | "key" => Ok(CredentialKind::ApiKey),
        "token" | "setup_token" | "setup-token" => Ok(CredentialKind::Token),
        other => Err(CliError::User(format!(
            "--kind {other:?}: use api_key or token (OAuth logins: modelauth models auth login)"
        ))),
    }
}

fn store_of(s: Option<&str>) -> Result<Store, CliError> {
    match s {
        None | Some("profiles") => Ok(Store::Profiles),
        Some("env") | Some("dotenv") => Ok(Store::DotEnv),
        Some(other) => Err(CliError::User(format!(
            "--store {other:?}: use profiles, env, keyring, systemd or file"
        ))),
    }
}

fn default_id(provider: &ProviderId, kind: CredentialKind) -> String {
    match kind {
        CredentialKind::Token => format!("{provider}:manual"),
        _ => format!("{provider}:default"),
    }
}

fn from_flags(ctx: &Context, f: &Flags<'_>) -> Result<Plan, CliError> {
    let provider = ctx
        .provider(f.provider.ok_or_else(|| {
            CliError::User("onboard --non-interactive needs --provider".into())
        })?)?;
    let kind = kind_of(f.kind.unwrap_or("api_key"))?;
    let keep = match f.store {
        Some(s @ ("keyring" | "systemd" | "file")) => Some(super::secrets::target(s, f.credstore)?),
        _ => None,
    };
    let store = match keep {
        Some(_) => Store::Profiles,
        None => store_of(f.store)?,
    };
    if store == Store::DotEnv && kind != CredentialKind::ApiKey {
        return Err(CliError::User(
            "--store env holds API keys only; a token goes to the profiles".into(),
        ));
    }
    if let Some(m) = f.default_model {
        check_model_ref(m)?;
    }
    let secret = super::auth::read_secret("")?;
    Ok(Plan {
        profile_id: f
            .profile_id
            .map_or_else(|| default_id(&provider, kind), str::to_owned),
        provider,
        kind,
        store,
        secret,
        expires_in: f.expires_in,
        default_model: f.default_model.map(str::to_owned),
        keep,
    })
}

/// One line of input with a default; `None` on Ctrl-C or Ctrl-D.
fn line(
    editor: &mut DefaultEditor,
    prompt: &str,
    default: &str,
) -> Result<Option<String>, CliError> {
    let shown = if default.is_empty() {
        format!("{prompt}: ")
    } else {
        format!("{prompt} [{default}]: ")
    };
    match editor.readline(&shown) {
        Ok(text) if text.trim().is_empty() => Ok(Some(default.to_owned())),
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(ReadlineError::Interrupted | ReadlineError::Eof) => Ok(None),
        Err(e) => Err(CliError::User(format!(
            "the terminal could not be read ({e})"
        ))),
    }
}

/// A numbered choice; `None` on Ctrl-C.
fn choose(
    editor: &mut DefaultEditor,
    prompt: &str,
    options: &[&str],
) -> Result<Option<usize>, CliError> {
    for (i, o) in options.iter().enumerate() {
        println!("  {}) {o}", i + 1);
    }
    loop {
        let Some(answer) = line(editor, prompt, "1")? else {
            return Ok(None);
        };
        match answer.parse::<usize>() {
            Ok(n) if (1..=options.len()).contains(&n) => return Ok(Some(n - 1)),
            _ => println!("  type a number from 1 to {}", options.len()),
        }
    }
}

/// What the questions decided.
pub enum Answer {
    /// Store a secret.
    Plan(Plan),
    /// Run the OAuth login flow for this provider.
    Login(ProviderId),
}

/// The interactive questions; `None` when the user stopped.
fn ask(ctx: &Context, f: &Flags<'_>) -> Result<Option<Answer>, CliError> {
    let mut ed = DefaultEditor::new()
        .map_err(|e| CliError::User(format!("the terminal could not be opened ({e})")))?;
    println!(
        "modelauth onboard — answer a few questions; nothing is written until you confirm (Ctrl-C stops)."
    );
    let Some(provider) = ask_provider(&mut ed, ctx, f)? else {
        return Ok(None);
    };
    let mut kinds = vec!["API key"];
    if provider.as_str() == "anthropic" {
        kinds.push("setup token (from `claude setup-token`, a Claude subscription)");
    }
    if modelauth::oauth::PROVIDERS
        .iter()
        .any(|p| p.id == provider.as_str())
    {
        kinds.push("OAuth login in a browser");
    }
    let Some(k) = choose(&mut ed, "Credential", &kinds)? else {
        return Ok(None);
    };
    if kinds[k].starts_with("OAuth") {
        return Ok(Some(Answer::Login(provider)));
    }
    let kind = if k == 1 {
        CredentialKind::Token
    } else {
        CredentialKind::ApiKey
    };
    let Some(store) = ask_store(&mut ed, &provider, kind)? else {
        return Ok(None);
    };
    let profile_id = if store == Store::Profiles {
        let Some(id) = line(&mut ed, "Profile id", &default_id(&provider, kind))? else {
            return Ok(None);
        };
        id
    } else {
        String::new()
    };
    let Some(secret) = ask_secret(kind)? else {
        return Ok(None);
    };
    let current = ctx.agent_to_change()?.model_for(None)?;
    let Some(model) = line(&mut ed, "Default model (Enter keeps it)", &current)? else {
        return Ok(None);
    };
    if model != current {
        check_model_ref(&model)?;
    }
    let plan = Plan {
        provider,
        kind,
        store,
        profile_id,
        secret,
        expires_in: None,
        default_model: (model != current).then_some(model),
        keep: None,
    };
    println!("\nAbout to write:");
    for l in describe(&plan) {
        println!("  - {l}");
    }
    let Some(ok) = line(&mut ed, "Write these changes? (y/n)", "y")? else {
        return Ok(None);
    };
    if ok.eq_ignore_ascii_case("y") {
        Ok(Some(Answer::Plan(plan)))
    } else {
        println!("  nothing was written");
        Ok(None)
    }
}

/// The provider, asked until it is a valid id; `None`: the user stopped.
fn ask_provider(
    ed: &mut DefaultEditor,
    ctx: &Context,
    f: &Flags<'_>,
) -> Result<Option<ProviderId>, CliError> {
    loop {
        let Some(p) = line(
            ed,
            "Provider (anthropic, openai, google, xai, mistral, groq, deepseek, openrouter, …)",
            f.provider.unwrap_or("anthropic"),
        )?
        else {
            return Ok(None);
        };
        match ctx.provider(&p) {
            Ok(id) => return Ok(Some(id)),
            Err(e) => println!("  {e}"),
        }
    }
}

/// Where a new secret of `kind` goes (an API key may go to `.env`); for a setup token, offers to
/// run `claude setup-token` first. `None`: the user stopped.
fn ask_store(
    ed: &mut DefaultEditor,
    provider: &ProviderId,
    kind: CredentialKind,
) -> Result<Option<Store>, CliError> {
    if kind == CredentialKind::ApiKey {
        let env_name = Env::key_name(provider);
        let Some(s) = choose(
            ed,
            "Keep it in",
            &[
                "the agent's credential store (auth-profiles.json)",
                &format!("<state>/.env as {env_name} (environment-style, read by daemons too)"),
            ],
        )?
        else {
            return Ok(None);
        };
        return Ok(Some(if s == 1 {
            Store::DotEnv
        } else {
            Store::Profiles
        }));
    }
    if output::on_path("claude") {
        let Some(run) = line(ed, "Run `claude setup-token` now? (y/n)", "y")? else {
            return Ok(None);
        };
        if run.eq_ignore_ascii_case("y") {
            let status = std::process::Command::new("claude")
                .arg("setup-token")
                .status();
            if !status.is_ok_and(|s| s.success()) {
                println!(
                    "  `claude setup-token` did not succeed; paste a token you made elsewhere, or Ctrl-C"
                );
            }
        }
    } else {
        println!(
            "  make one with `claude setup-token` where Claude Code is installed, then paste it"
        );
    }
    Ok(Some(Store::Profiles))
}

/// The secret, read hidden and cleaned; `None` when none was given.
fn ask_secret(kind: CredentialKind) -> Result<Option<modelauth::Secret>, CliError> {
    let what = if kind == CredentialKind::Token {
        "token"
    } else {
        "API key"
    };
    Ok(Some(
        match rpassword::prompt_password(format!("Paste the {what} (input hidden): ")) {
            Ok(s) if s.trim().is_empty() => {
                println!("  no secret was given; nothing was written");
                return Ok(None);
            }
            Ok(s) => super::auth::clean_secret(&zeroize::Zeroizing::new(s))?,
            Err(e) => {
                return Err(CliError::Io {
                    what: "reading the hidden prompt".into(),
                    source: e,
                });
            }
        },
    ))
}

/// What `plan` changes, for the confirmation (no secret).
fn describe(plan: &Plan) -> Vec<String> {
    let mut out = vec![match plan.store {
        Store::Profiles => format!(
            "{} {} as profile {}",
            plan.provider, plan.kind, plan.profile_id
        ),
        Store::DotEnv => format!("{} in <state>/.env", Env::key_name(&plan.provider)),
    }];
    if let Some(m) = &plan.default_model {
        out.push(format!("default model {m}"));
    }
    out
}

fn apply(ctx: &Context, plan: &Plan) -> Result<Vec<String>, CliError> {
    let agent = ctx.agent_to_change()?;
    let mut done = Vec::new();
    match plan.store {
        Store::Profiles => {
            let expires = plan.expires_in.map(|d| {
                ctx.now()
                    .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            });
            let mut cred = NewCredential::new(
                plan.provider.clone(),
                plan.kind,
                plan.secret.clone(),
                expires,
            );
            super::secrets::keep_off_store(
                &agent,
                &plan.profile_id,
                &mut cred,
                plan.keep.as_ref(),
            )?;
            if agent.add_credential(&plan.profile_id, &cred)? {
                output::warn("openclaw.json had comments; they were dropped when it was rewritten");
            }
            done.push(format!("saved {} profile {}", plan.kind, plan.profile_id));
        }
        Store::DotEnv => {
            let name = Env::key_name(&plan.provider);
            ctx.gateway
                .set_dotenv(&name, &plan.secret)
                .map_err(super::context::gateway_err)?;
            done.push(format!("saved {name} in <state>/.env"));
        }
    }
    if let Some(m) = &plan.default_model {
        agent.set_default_model(m)?;
        done.push(format!("default model: {m}"));
    }
    Ok(done)
}

/// The checks of `models status` and `doctor` on the result, and what to do next.
fn check(ctx: &Context) -> Result<u8, CliError> {
    let status = ctx.agent()?.status()?;
    let doctor = ctx
        .gateway
        .doctor(ctx.agent_id.as_str(), false)
        .map_err(super::context::gateway_err)?;
    println!(
        "\nmodels status --check: {}",
        match status.check {
            0 => "ok".to_owned(),
            _ => status.findings.join("; "),
        }
    );
    for f in doctor
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
    {
        println!("doctor: {}", f.message);
    }
    println!(
        "\nNext:\n  modelauth models status          # what is in use\n  modelauth chat                   # try /model and a message\n  README \"Monitoring credentials\"  # a timer that runs models status --check"
    );
    Ok(status.check.min(1))
}
