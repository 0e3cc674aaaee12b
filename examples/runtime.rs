//! How an agent runtime uses modelauth: open a gateway, get the credential for a session, report a
//! 429, and ask again to get the next profile. Runs on a throw-away state directory.
//!
//! `cargo run --example runtime`

use modelauth::resolver::classify;
use modelauth::store::{CredentialKind, NewCredential, ProviderId, Secret};
use modelauth::{Decision, Gateway, Outcome};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A state directory with two Anthropic API keys (a real gateway points at ~/.openclaw instead).
    let dir = tempfile::tempdir()?;
    let gateway = Gateway::open(dir.path())?;
    let agent = gateway.default_agent()?;
    for (id, key) in [
        ("anthropic:work", "sk-ant-api03-work"),
        ("anthropic:backup", "sk-ant-api03-backup"),
    ] {
        let cred = NewCredential {
            provider: ProviderId::new("anthropic")?,
            kind: CredentialKind::ApiKey,
            secret: Secret::new(key),
            expires: None,
            refresh: None,
            email: None,
            reference: None,
        };
        agent.put_credential(id, &cred)?;
    }

    // The runtime's part: a few lines per request.
    let session = "agent:main:telegram:12345";
    let model = Some("claude-opus-4-6");
    let Decision::Ready {
        profile, secret, ..
    } = agent.next(Some(session), "anthropic", model)?
    else {
        return Err("no usable credential".into());
    };
    let profile = profile.unwrap_or_default();
    println!("use {profile}");
    let _header = secret.expose_secret(); // goes into the request, nowhere else

    let reason = classify(Some(429), "rate limited");
    agent.report(
        &profile,
        model,
        Outcome::Failure {
            reason,
            retry_after_ms: None,
        },
    )?;

    let next = agent.next(Some(session), "anthropic", model)?;
    println!("after a 429: use {}", next.profile().unwrap_or("-"));
    for c in next.explanation().map(|e| &e.candidates[..]).unwrap_or(&[]) {
        println!(
            "  {} — {}{}",
            c.id,
            c.place,
            c.problem
                .as_ref()
                .map(|p| format!("; {p}"))
                .unwrap_or_default()
        );
    }
    gateway.flush()?;
    Ok(())
}
