//! `resolve --provider P [--model M] [--session KEY]`: which profile is next and why. Read-only.

use serde_json::json;

use modelauth::{Agent, Decision, State, format_time};

use super::CliError;
use super::context::Context;
use super::output;

/// Runs `resolve`. Exit 1 when no credential can be used.
pub fn run(
    ctx: &Context,
    provider: &str,
    model: Option<&str>,
    session: Option<&str>,
    lanes: modelauth::Lanes<'_>,
) -> Result<u8, CliError> {
    let provider = ctx.provider(provider)?;
    let agent = ctx.agent()?;
    // Pins the resolver would change stay in memory: this command never flushes the registry.
    let decision = agent.next_in_lane(session, provider.as_str(), model, lanes)?;
    let Some(r) = decision.explanation() else {
        return report_error(ctx, &agent, provider.as_str(), &decision);
    };
    let source = match &decision {
        Decision::Ready { source, .. } => source.clone(),
        other => format!("profile {} (refresh needed)", other.profile().unwrap_or("")),
    };
    if ctx.json {
        output::json(&json!({
            "provider": provider.as_str(),
            "model": model,
            "source": source,
            "profile": decision.profile(),
            "orderSource": r.order_source.as_str(),
            "candidates": r.candidates_json(),
            "laneCrossing": r.crossing.map(|c| json!({"from": c.from.as_str(), "to": c.to.as_str()})),
        }));
        return Ok(0);
    }
    println!("next: {}", modelauth::display_id(&source));
    if let Some(c) = r.crossing {
        println!(
            "lane crossing: a {} session billed to a {} profile (opted in)",
            c.from, c.to
        );
    }
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

/// Prints a resolution error with every profile it considered and why it was refused; exit 1.
fn report_error(
    ctx: &Context,
    agent: &Agent,
    provider: &str,
    decision: &Decision,
) -> Result<u8, CliError> {
    let message = decision.problem().unwrap_or("no credential");
    let code = match decision {
        Decision::NoCredentials { .. } => "no_credentials",
        Decision::AllCooling { .. } => "all_cooling",
        Decision::LaneClosed { .. } => "lane_closed",
        _ => "none_usable",
    };
    let closed = matches!(decision, Decision::LaneClosed { .. });
    let refused = refusals(agent, provider, closed)?;
    if ctx.json {
        let candidates: Vec<_> = refused
            .iter()
            .map(|(id, state, why)| json!({ "id": id, "state": state, "why": why }))
            .collect();
        output::json(
            &json!({ "error": { "code": code, "message": message, "candidates": candidates } }),
        );
    }
    output::error(message);
    for (id, _, why) in &refused {
        eprintln!("  {} — {why}", modelauth::display_id(id));
    }
    Ok(1)
}

/// Each profile of `provider` with its state and why the resolver did not take it.
fn refusals(
    agent: &Agent,
    provider: &str,
    closed: bool,
) -> Result<Vec<(String, State, String)>, CliError> {
    let order = agent.order(provider)?.override_ids;
    let mut out = Vec::new();
    for p in agent.profile_states(Some(provider))? {
        let until = p.until.map(format_time).unwrap_or_default();
        let reason = p.reason.unwrap_or("");
        let outside = order.as_ref().is_some_and(|o| !o.contains(&p.id));
        let why = match p.state {
            State::Ok | State::Expiring if outside => format!(
                "healthy but not in the order override (modelauth models auth order clear --provider {provider})"
            ),
            State::Ok | State::Expiring if p.lane == "metered" && closed => {
                "metered (bills per token): not used for this session without --allow-metered"
                    .to_owned()
            }
            State::Ok | State::Expiring => "usable".to_owned(),
            State::Cooldown => match &p.cooldown_model {
                Some(m) => format!("cooling down until {until} ({reason}, model {m})"),
                None => format!("cooling down until {until} ({reason})"),
            },
            State::Disabled => format!("disabled until {until} ({reason})"),
            State::Expired => "expired".to_owned(),
            State::Missing => "no key or token stored".to_owned(),
            State::Invalid => format!(
                "unreadable: {}",
                p.problem.as_deref().unwrap_or("invalid entry")
            ),
            State::Reauth => "re-auth needed (the provider refused the refresh token)".to_owned(),
            State::Unresolved => format!(
                "its secret reference does not resolve ({})",
                p.ref_error.as_deref().unwrap_or("unknown")
            ),
            State::Refreshing => "OpenClaw is refreshing this login".to_owned(),
        };
        out.push((p.id, p.state, why));
    }
    Ok(out)
}
