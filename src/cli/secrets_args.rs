//! The flags of `secrets …` and of `--store` on the commands that add a credential.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Where a new secret is kept instead of the agent's credential store.
#[derive(Debug, Args, Clone, Default)]
pub struct KeepArgs {
    /// Keep the secret off the credential store: `keyring` (the OS keyring), `systemd` (an encrypted
    /// systemd credential) or `file` (<state>/secrets/modelauth.json); the profile holds a reference
    /// that OpenClaw 2026.9.6 follows.
    #[arg(long = "store", value_name = "STORE", value_parser = ["keyring", "systemd", "file"])]
    pub store: Option<String>,
    /// Where `--store systemd` writes the encrypted credential (default /etc/credstore.encrypted).
    #[arg(long, value_name = "DIR")]
    pub credstore: Option<PathBuf>,
}

/// `secrets` subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Move plaintext keys and tokens into a store and leave references both tools follow; each is
    /// read back through its reference before its plaintext is removed.
    #[command(
        after_help = "Examples:\n  modelauth secrets migrate --to keyring --dry-run\n  modelauth secrets migrate --to keyring --provider anthropic\n  sudo modelauth secrets migrate --to systemd --profile anthropic:work"
    )]
    Migrate {
        /// The store: keyring, systemd or file.
        #[arg(long, value_parser = ["keyring", "systemd", "file"])]
        to: String,
        /// Only this profile.
        #[arg(long)]
        profile: Option<String>,
        /// Only this provider's profiles.
        #[arg(long)]
        provider: Option<String>,
        /// Say what would move; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where `--to systemd` writes encrypted credentials (default /etc/credstore.encrypted).
        #[arg(long, value_name = "DIR")]
        credstore: Option<PathBuf>,
        /// Also move the provider keys of <state>/.env (`<PROVIDER>_API_KEY`): each becomes the
        /// profile `<provider>:env` and its line leaves .env.
        #[arg(long)]
        env: bool,
    },
    /// List the plaintext secrets that remain (credential stores, .env, openclaw.json, backups) and
    /// references that do not resolve; exit 1 with --check when there are any.
    #[command(
        after_help = "Examples:\n  modelauth secrets audit\n  modelauth --json secrets audit --check"
    )]
    Audit {
        /// Exit 1 when something is found.
        #[arg(long)]
        check: bool,
    },
    /// OpenClaw's exec protocol v1 on stdin and stdout, answered from the OS keyring and systemd
    /// credentials: the command `secrets migrate` declares for OpenClaw to run (not run by hand).
    ExecProvider,
}
