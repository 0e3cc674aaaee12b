//! `resolve --provider P [--model M] [--session KEY]`: which profile is next and why. Read-only.

use serde_json::json;

use modelauth::{Decision, format_time};

use super::CliError;
use super::context::Context;
use super::output;

/// Runs `resolve`. Exit 1 when no credential can be used.
pub fn run(
    ctx: &Context,
    provider: &str,
    model: Option<&str>,
    session: Option<&str>,
) -> Result<u8, CliError> {
    let provider = ctx.provider(provider)?;
    let agent = ctx.agent()?;
    // Pins the resolver would change stay in memory: this command never flushes the registry.
    let decision = agent.next(session, provider.as_str(), model)?;
    let Some(r) = decision.explanation() else {
        return report_error(ctx, decision.problem().unwrap_or("no credential"));
    };
    let source = match &decision {
        Decision::Ready { source, .. } => source.clone(),
        other => format!("profile {} (refresh needed)", other.profile().unwrap_or("")),
    };
    if ctx.json {
        let candidates: Vec<_> = r
            .candidates
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "type": c.kind.map(|k| k.as_str()),
                    "usable": c.usable,
                    "place": c.place.to_string(),
                    "problem": c.problem.as_ref().map(ToString::to_string),
                    "blockedUntil": (c.blocked_until > 0).then_some(c.blocked_until),
                })
            })
            .collect();
        output::json(&json!({
            "provider": provider.as_str(),
            "model": model,
            "source": source,
            "profile": decision.profile(),
            "orderSource": format!("{:?}", r.order_source),
            "candidates": candidates,
        }));
        return Ok(0);
    }
    println!("next: {}", modelauth::display_id(&source));
    if decision.profile().is_some() {
        for (i, c) in r.candidates.iter().enumerate() {
            let kind = c.kind.map_or("-", |k| k.as_str());
            let id = modelauth::display_id(&c.id);
            let mut line = format!("{:>2}. {id} ({kind}) — {}", i + 1, c.place);
            if let Some(p) = &c.problem {
                line.push_str(&format!("; {p}"));
                if c.blocked_until > 0 {
                    line.push_str(&format!(" until {}", format_time(c.blocked_until)));
                }
            }
            println!("{line}");
        }
    }
    Ok(0)
}

/// Prints a resolution error and returns exit code 1.
fn report_error(ctx: &Context, e: &str) -> Result<u8, CliError> {
    if ctx.json {
        output::json(&json!({ "error": e }));
    }
    output::error(e);
    Ok(1)
}
