//! `models auth list|add|paste-api-key|paste-token|setup-token|remove|order|report`.

use std::io::{IsTerminal, Read};

use modelauth::gateway::vault::VaultTarget;
use modelauth::{CredentialKind, NewCredential, ProfileId, ProviderId, Secret, format_time};

use super::CliError;
use super::args::{AuthCommand, KeepArgs, OrderCommand};
use super::context::Context;
use super::models::profile_line;
use super::output;

/// Stores an API key read from a hidden prompt or stdin as `profile_id`, else `<provider>:<default_name>`.
fn add_api_key(
    ctx: &Context,
    provider: &str,
    profile_id: Option<&str>,
    default_name: &str,
    keep: &KeepArgs,
) -> Result<u8, CliError> {
    let keep = super::secrets::keep_target(keep)?;
    let provider = ctx.provider(provider)?;
    let id = profile_id.map_or_else(|| format!("{provider}:{default_name}"), str::to_owned);
    let secret = read_secret(&format!("API key for {provider} (input hidden): "))?;
    let cred = NewCredential::new(provider, CredentialKind::ApiKey, secret, None);
    save(ctx, &id, cred, keep.as_ref())
}

/// Dispatches a `models auth` command.
pub fn run(ctx: &Context, cmd: &AuthCommand) -> Result<u8, CliError> {
    // Before a secret is asked for: a write that would be refused is refused first.
    let stores_a_secret = matches!(
        cmd,
        AuthCommand::Add { .. }
            | AuthCommand::PasteApiKey { .. }
            | AuthCommand::PasteToken { .. }
            | AuthCommand::SetupToken { .. }
            | AuthCommand::Login { .. }
    );
    if stores_a_secret && let Some(refusal) = ctx.gateway.first_write_refusal() {
        return Err(CliError::Store(refusal));
    }
    match cmd {
        AuthCommand::List { provider } => list(ctx, provider.as_deref()),
        AuthCommand::Add {
            provider,
            profile_id,
            keep,
        } => add_api_key(ctx, provider, profile_id.as_deref(), "default", keep),
        // OpenClaw's command and default id.
        AuthCommand::PasteApiKey {
            provider,
            profile_id,
            keep,
        } => add_api_key(ctx, provider, profile_id.as_deref(), "manual", keep),
        AuthCommand::PasteToken {
            provider,
            profile_id,
            expires_in,
            keep,
        } => paste_token(ctx, provider, profile_id.as_deref(), *expires_in, keep),
        AuthCommand::Login {
            provider,
            profile_id,
            no_browser,
            wait,
        } => super::login::run(ctx, provider, profile_id.as_deref(), *no_browser, *wait),
        AuthCommand::SetupToken {
            provider,
            profile_id,
        } => setup_token(ctx, provider, profile_id.as_deref()),
        AuthCommand::Remove { id } => remove(ctx, id),
        AuthCommand::Order(o) => order(ctx, &o.command),
        AuthCommand::Report(args) => super::report::run(ctx, args),
    }
}

/// `models auth paste-token`.
fn paste_token(
    ctx: &Context,
    provider: &str,
    profile_id: Option<&str>,
    expires_in: Option<std::time::Duration>,
    keep: &KeepArgs,
) -> Result<u8, CliError> {
    let keep = super::secrets::keep_target(keep)?;
    let provider = ctx.provider(provider)?;
    let id = profile_id
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{provider}:manual"));
    let expires = expires_in.map(|d| {
        ctx.now()
            .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    });
    let secret = read_secret(&format!("Paste the token for {provider} (input hidden): "))?;
    let cred = NewCredential::new(provider, CredentialKind::Token, secret, expires);
    save(ctx, &id, cred, keep.as_ref())
}

/// `models auth list`.
fn list(ctx: &Context, provider: Option<&str>) -> Result<u8, CliError> {
    let rows = ctx.agent()?.profile_states(provider)?;
    let now = ctx.now();
    if ctx.json {
        output::json(&rows);
    } else if rows.is_empty() {
        println!(
            "No auth profiles. Add one with: modelauth models auth paste-token --provider <provider>"
        );
    } else {
        println!(
            "  {:<32} {:<8} STATE, WINDOW, EXPIRY [PROVIDER]",
            "PROFILE", "TYPE"
        );
        for r in &rows {
            println!("{} [{}]", profile_line(r, now), r.provider);
        }
    }
    Ok(0)
}

/// Reads a secret from a hidden prompt (terminal) or from stdin; all whitespace is removed.
pub(super) fn read_secret(prompt: &str) -> Result<Secret, CliError> {
    let raw = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(|source| CliError::Io {
            what: "reading the hidden prompt".into(),
            source,
        })?
    } else {
        // Bounded: a huge input is refused without being read whole.
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(MAX_SECRET as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| CliError::Io {
                what: "reading the secret from stdin".into(),
                source,
            })?;
        let bytes = zeroize::Zeroizing::new(bytes);
        String::from_utf8(bytes.to_vec())
            .map_err(|_| CliError::User("the secret is not UTF-8 text; nothing was saved".into()))?
    };
    clean_secret(&zeroize::Zeroizing::new(raw))
}

/// The longest secret accepted (keys and tokens are far shorter; a `.env` holds at most 1 MiB).
pub(super) const MAX_SECRET: usize = 16 * 1024;

/// A pasted secret as it is stored: outer white space removed, and the pieces of a paste a terminal
/// wrapped across lines joined. Two values pasted together (a piece that is a `KEY=VALUE` line or
/// starts like another key), a control character, or more than [`MAX_SECRET`] are refused, never
/// silently rewritten into one wrong key.
pub(super) fn clean_secret(raw: &str) -> Result<Secret, CliError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(CliError::User(
            "no secret was given (empty input); nothing was saved".into(),
        ));
    }
    if trimmed.len() > MAX_SECRET {
        return Err(CliError::User(format!(
            "the secret is longer than {} KiB (a key or token is far shorter: was a file pasted?); nothing was saved",
            MAX_SECRET / 1024
        )));
    }
    let pieces: Vec<&str> = trimmed.split_whitespace().collect();
    let two_values = pieces.iter().any(|p| p.contains('='))
        || pieces.iter().skip(1).any(|p| modelauth::has_key_prefix(p));
    if two_values
        || trimmed
            .chars()
            .any(|c| c.is_control() && !c.is_whitespace())
    {
        return Err(CliError::User(
            "the input holds more than one value (a KEY=VALUE line, or a second key after a line break) or a control character; paste the key alone; nothing was saved".into(),
        ));
    }
    Ok(Secret::new(pieces.concat()))
}

/// The prefix a provider's secrets usually start with, for a warning.
fn expected_prefix(provider: &ProviderId, kind: CredentialKind) -> Option<&'static str> {
    match (provider.as_str(), kind) {
        ("anthropic", CredentialKind::Token) => Some("sk-ant-oat"),
        ("anthropic", _) => Some("sk-ant-"),
        ("openai", CredentialKind::ApiKey) => Some("sk-"),
        ("openrouter", CredentialKind::ApiKey) => Some("sk-or-"),
        _ => None,
    }
}

/// Stores a credential in the agent's store (or, with `keep`, in that store with a reference in the
/// agent's) and records its metadata in config.
fn save(
    ctx: &Context,
    id: &str,
    mut cred: NewCredential,
    keep: Option<&VaultTarget>,
) -> Result<u8, CliError> {
    let (provider, kind, expires) = (cred.provider.clone(), cred.kind, cred.expires);
    let id = ProfileId::new(id)?;
    if let Some(owner) = id.provider_prefix().filter(|p| *p != provider) {
        return Err(CliError::User(format!(
            "profile id {id} names provider {owner}, not {provider}; pass --profile-id {provider}:<name>"
        )));
    }
    let agent = ctx.agent_to_change()?;
    if let Some(prefix) = expected_prefix(&provider, kind)
        && !cred.secret.expose_secret().starts_with(prefix)
    {
        output::warn(&format!(
            "{provider} {kind} values usually start with {prefix}; saving it anyway"
        ));
    }
    super::secrets::keep_off_store(&agent, id.as_str(), &mut cred, keep)?;
    if agent.add_credential(id.as_str(), &cred)? {
        output::warn(&format!(
            "{} had comments; they were dropped when it was rewritten",
            agent.config_location()
        ));
    }
    let expiry = expires
        .map(|e| format!(", expires {}", format_time(e)))
        .unwrap_or_default();
    let place = cred.reference.as_ref().map(|r| r.label());
    if ctx.json {
        output::json(
            &serde_json::json!({ "saved": id.as_str(), "provider": provider.as_str(), "type": kind.as_str(), "expires": expires, "reference": place }),
        );
    } else {
        let place = place
            .map(|r| format!(" (the secret in {r})"))
            .unwrap_or_default();
        println!("Saved {kind} profile {id} for {provider}{expiry}{place}.");
    }
    Ok(0)
}

/// `models auth setup-token`.
fn setup_token(ctx: &Context, provider: &str, profile_id: Option<&str>) -> Result<u8, CliError> {
    let provider = ctx.provider(provider)?;
    if provider.as_str() != "anthropic" {
        return Err(CliError::User(format!(
            "setup-token is only for anthropic; for {provider} use: modelauth models auth paste-token --provider {provider}"
        )));
    }
    let found = output::on_path("claude");
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if !found || !tty {
        let why = if found {
            "no terminal is attached"
        } else {
            "the `claude` program (Claude Code) was not found on PATH"
        };
        return Err(CliError::User(format!(
            "cannot run `claude setup-token`: {why}. Run `claude setup-token` in a terminal where Claude Code is installed, \
             then store the token with: modelauth models auth paste-token --provider anthropic"
        )));
    }
    let status = std::process::Command::new("claude")
        .arg("setup-token")
        .status()
        .map_err(|source| CliError::Io {
            what: "running `claude setup-token`".into(),
            source,
        })?;
    if !status.success() {
        return Err(CliError::User(format!(
            "`claude setup-token` failed ({status}); nothing was saved"
        )));
    }
    let id = profile_id.map_or_else(|| format!("{provider}:manual"), str::to_owned);
    let secret = read_secret("Paste the token printed above (input hidden): ")?;
    let cred = NewCredential::new(provider, CredentialKind::Token, secret, None);
    save(ctx, &id, cred, None)
}

/// `models auth remove ID`.
fn remove(ctx: &Context, id: &str) -> Result<u8, CliError> {
    let id = ProfileId::new(id)?;
    if !ctx.agent_to_change()?.remove_credential(id.as_str())? {
        return Err(CliError::Coded {
            code: "unknown_profile",
            message: format!("Auth profile \"{id}\" not found; see modelauth models auth list"),
        });
    }
    if ctx.json {
        output::json(&serde_json::json!({ "removed": id.as_str() }));
    } else {
        println!("Removed {id}.");
    }
    Ok(0)
}

/// `models auth order get|set|clear`.
fn order(ctx: &Context, cmd: &OrderCommand) -> Result<u8, CliError> {
    let agent = match cmd {
        OrderCommand::Get { .. } => ctx.agent()?,
        _ => ctx.agent_to_change()?,
    };
    match cmd {
        OrderCommand::Get { provider } => {
            let provider = ctx.provider(provider)?;
            let ids = agent.order(provider.as_str())?.override_ids;
            if ctx.json {
                output::json(&serde_json::json!({ "provider": provider.as_str(), "order": ids }));
            } else {
                match ids {
                    Some(ids) => println!("{provider}: {}", ids.join(", ")),
                    None => println!(
                        "{provider}: no order override (config order or round robin applies)"
                    ),
                }
            }
        }
        OrderCommand::Set { provider, ids } => {
            let provider = ctx.provider(provider)?;
            let ids = agent.set_order(provider.as_str(), ids)?;
            if ctx.json {
                output::json(&serde_json::json!({ "provider": provider.as_str(), "order": ids }));
            } else {
                println!("Order for {provider}: {}", ids.join(", "));
            }
        }
        OrderCommand::Clear { provider } => {
            let provider = ctx.provider(provider)?;
            let removed = agent.clear_order(provider.as_str())?;
            if ctx.json {
                output::json(
                    &serde_json::json!({ "provider": provider.as_str(), "cleared": removed }),
                );
            } else if removed {
                println!("Order override for {provider} cleared.");
            } else {
                println!("{provider} had no order override.");
            }
        }
    }
    Ok(0)
}
