//! `secrets migrate|audit|exec-provider`, and the `--store keyring|systemd|file` of the commands that
//! add a credential.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use modelauth::gateway::vault::{MigrateOutcome, MigrateRequest, VaultTarget};
use modelauth::secrets::systemd::DEFAULT_CREDSTORE;
use modelauth::secrets::vault::VaultKind;

use super::args::{KeepArgs, SecretsCommand};
use super::context::Context;
use super::{CliError, output};

/// The store `name` names, with the binary OpenClaw will run to read it back.
pub(super) fn target(name: &str, credstore: Option<&PathBuf>) -> Result<VaultTarget, CliError> {
    let kind = VaultKind::parse(name).ok_or_else(|| {
        CliError::User(format!(
            "unknown store {name:?}: use keyring, systemd or file"
        ))
    })?;
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|source| CliError::Io {
            what: "finding the modelauth binary OpenClaw will run".into(),
            source,
        })?;
    Ok(VaultTarget {
        kind,
        credstore: credstore
            .cloned()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CREDSTORE)),
        exe,
    })
}

/// The store of `--store`, when one was given.
pub(super) fn keep_target(keep: &KeepArgs) -> Result<Option<VaultTarget>, CliError> {
    keep.store
        .as_deref()
        .map(|s| target(s, keep.credstore.as_ref()))
        .transpose()
}

/// With a store, puts the secret of `cred` there and makes `cred` a reference to it (the secret then
/// never reaches the credential store).
pub(super) fn keep_off_store(
    agent: &modelauth::Agent,
    id: &str,
    cred: &mut modelauth::NewCredential,
    keep: Option<&VaultTarget>,
) -> Result<(), CliError> {
    if let Some(t) = keep {
        cred.reference = Some(agent.stash_secret(id, &cred.secret, t)?);
    }
    Ok(())
}

/// Runs a `secrets` command (but `exec-provider`, which runs without a state directory).
pub fn run(ctx: &Context, command: &SecretsCommand) -> Result<u8, CliError> {
    match command {
        SecretsCommand::Migrate {
            to,
            profile,
            provider,
            dry_run,
            credstore,
            env,
        } => {
            let req = MigrateRequest {
                target: target(to, credstore.as_ref())?,
                profile: profile.clone(),
                provider: provider.clone(),
                dry_run: *dry_run,
                include_env: *env,
            };
            migrate(ctx, &req)
        }
        SecretsCommand::Audit { check } => audit(ctx, *check),
        SecretsCommand::ExecProvider => exec_provider(),
    }
}

fn migrate(ctx: &Context, req: &MigrateRequest) -> Result<u8, CliError> {
    let agent = ctx.agent_to_change()?;
    let report = agent.migrate_secrets(req)?;
    let code = u8::from(report.any_failed());
    if ctx.json {
        output::json(&report);
        return Ok(code);
    }
    if report.items.is_empty() {
        println!("No profiles to move.");
    }
    for item in &report.items {
        let to = item.reference.as_deref().unwrap_or("-");
        let to = match item.from.as_str() {
            "profile" => to.to_owned(),
            from => format!("{to} (from {from})"),
        };
        let line = match &item.outcome {
            MigrateOutcome::Planned => format!("would move  {} → {to}", item.profile),
            MigrateOutcome::Moved => format!("moved       {} → {to}", item.profile),
            MigrateOutcome::Skipped(why) => format!("skipped     {}: {why}", item.profile),
            MigrateOutcome::Failed(why) => {
                format!(
                    "not moved   {}: {why} (its plaintext is kept)",
                    item.profile
                )
            }
        };
        println!("{line}");
    }
    if !report.unit_lines.is_empty() {
        println!("\nAdd to the [Service] section of modelauth's (and OpenClaw's) unit:");
        for l in &report.unit_lines {
            println!("  {l}");
        }
    }
    Ok(code)
}

fn audit(ctx: &Context, check: bool) -> Result<u8, CliError> {
    let report = ctx
        .gateway
        .audit_secrets()
        .map_err(super::context::gateway_err)?;
    let code = u8::from(check && report.has_warnings());
    if ctx.json {
        output::json(&report);
        return Ok(code);
    }
    for f in &report.findings {
        let at = match f.json_path.is_empty() {
            true => f.file.clone(),
            false => format!("{} {}", f.file, f.json_path),
        };
        println!("{:<4} {:<16} {at}\n     {}", f.severity, f.code, f.message);
    }
    println!(
        "{}: {} plaintext, {} unresolved reference(s) in {} file(s)",
        report.status,
        report.plaintext_count,
        report.unresolved_ref_count,
        report.files_scanned.len()
    );
    Ok(code)
}

/// `secrets exec-provider`: one request on stdin, one answer on stdout.
pub fn exec_provider() -> Result<u8, CliError> {
    use modelauth::secrets::exec_provider::{MAX_REQUEST, answer};
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_REQUEST as u64)
        .read_to_end(&mut input)
        .map_err(|source| CliError::Io {
            what: "reading the exec request from stdin".into(),
            source,
        })?;
    let env = modelauth::Env::process();
    let reply = zeroize::Zeroizing::new(answer(&input, &env).to_string());
    let mut out = std::io::stdout().lock();
    out.write_all(reply.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Io {
            what: "writing the exec answer".into(),
            source,
        })?;
    Ok(0)
}
