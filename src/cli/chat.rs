//! `chat [--session KEY] [--demo]`: read messages, run the interpreter, print the reply or, for ordinary
//! messages, which model and profile the agent would use next and why. Works line by line on a pipe.

use std::io::Write;

use serde_json::json;

use modelauth::{Agent, ChatOutcome, Decision, DirectiveStatus};

use super::CliError;
use super::args::Cli;
use super::chat_input::{Input, Read};
use super::context::Context;
use super::output;

/// What `/help` prints.
const HELP: &str = "\
/model                     what is selected now, and how to change it
/model list                every provider's models (with aliases)
/model status              current model, the session's pin, each provider's profiles in order
/model <model>             switch model for this session (alias, provider/model, or a unique part)
/model <model>@<profile>   switch model and pin a credential profile, e.g. /model opus@anthropic:work
/model default             back to the configured default model (and no pin)
/new, /reset               a new conversation (an auto pin moves on with the next message)
/help                      this list
exit, quit, Ctrl-D, Ctrl-C leave
Anything else is a message: the reply says which model and credential the agent would use.
";

/// `chat --demo`: chats with the in-memory demo state (nothing is written to disk).
pub fn run_demo(cli: &Cli, session: Option<&str>) -> Result<u8, CliError> {
    let now = modelauth::Clock::now_ms(&modelauth::SystemClock);
    let ctx = Context::with_gateway(cli, super::demo::gateway(now)?)?;
    let note = "demo state in memory (nothing is saved)\nTry: /model list · /model status · /model opus@anthropic:work · /model gpt · /model default · /new · hello";
    run_with(&ctx, session, Some(note))
}

/// The chat loop.
pub fn run(ctx: &Context, session: Option<&str>) -> Result<u8, CliError> {
    run_with(ctx, session, None)
}

fn run_with(ctx: &Context, session: Option<&str>, note: Option<&str>) -> Result<u8, CliError> {
    let agent = ctx.agent_to_change()?;
    let key = session.map_or_else(|| format!("agent:{}:main", ctx.agent_id), str::to_owned);
    let mut input = Input::open();
    let banner = format!(
        "modelauth chat — agent {}, session {key}{}\n/help for commands; exit, quit, Ctrl-D or Ctrl-C to leave\n",
        ctx.agent_id,
        note.map_or_else(String::new, |n| format!("\n{n}")),
    );
    // On a pipe the banner goes to stderr: stdout is the replies (or JSON lines).
    if input.interactive() {
        print!("{banner}");
    } else {
        eprint!("{banner}");
    }
    let mut failures = 0u8;
    loop {
        let line = match input.read() {
            Read::End => break,
            Read::Skipped(why) => {
                output::warn(&why);
                continue;
            }
            Read::Line(line) => line,
        };
        match line.trim() {
            "exit" | "quit" | "/exit" | "/quit" => break,
            "/help" => {
                print!("{HELP}");
                continue;
            }
            "" if input.interactive() => continue,
            _ => {}
        }
        match agent.chat(&key, &line) {
            Ok(outcome) => {
                let next = next_use(&agent, &key, &outcome)?;
                print_outcome(ctx, &outcome, next);
            }
            Err(e) => {
                failures = 1;
                if ctx.json {
                    output::json_line(
                        &json!({ "error": { "code": e.code(), "message": e.to_string() } }),
                    );
                }
                output::error(&e.to_string());
            }
        }
        let _ = std::io::stdout().flush();
    }
    agent.flush()?;
    Ok(failures)
}

/// For a message the agent would answer: which model and credential it would use, or why none.
fn next_use(
    agent: &Agent,
    key: &str,
    outcome: &ChatOutcome,
) -> Result<Option<serde_json::Value>, CliError> {
    // A refused directive is answered, not sent on (its text was a mistake, not a message).
    if outcome.cleaned.trim().is_empty() || outcome.directive == DirectiveStatus::Rejected {
        return Ok(None);
    }
    let model = agent.model_for(Some(key))?;
    let Some((provider, model_id)) = model.split_once('/') else {
        return Ok(Some(
            json!({ "model": model, "error": "the model has no provider/ prefix" }),
        ));
    };
    let decision = agent.next(Some(key), provider, Some(model_id))?;
    let why = decision
        .explanation()
        .and_then(|r| r.candidates.first())
        .map(|c| c.place.to_string());
    let value = match &decision {
        Decision::Ready {
            source, profile, ..
        } => json!({ "model": model, "source": source, "profile": profile, "reason": why }),
        Decision::NeedsRefresh { profile, .. } => json!({
            "model": model,
            "error": format!("profile {profile} has an expired OAuth access token; it must be refreshed first"),
        }),
        other => json!({ "model": model, "error": other.problem() }),
    };
    agent.flush()?;
    Ok(Some(value))
}

/// Prints one outcome as text or a JSON line.
fn print_outcome(ctx: &Context, outcome: &ChatOutcome, next: Option<serde_json::Value>) {
    if outcome.config_comments_dropped {
        output::warn("openclaw.json had comments; they were dropped when it was rewritten");
    }
    if ctx.json {
        let mut v = serde_json::to_value(outcome).unwrap_or_default();
        if let (Some(obj), Some(next)) = (v.as_object_mut(), next) {
            obj.insert("next".into(), next);
        }
        output::json_line(&v);
        return;
    }
    if let Some(reply) = &outcome.reply {
        println!("{reply}");
    }
    if outcome.directive == DirectiveStatus::Ignored {
        println!(
            "(the /model directive in a mixed message is removed and not applied; send it on its own)"
        );
    }
    if let Some(next) = next {
        match next.get("error").and_then(|e| e.as_str()) {
            Some(e) => println!("→ {}: {e}", next["model"].as_str().unwrap_or("")),
            None => println!(
                "→ agent would use {} with {} ({})",
                next["model"].as_str().unwrap_or(""),
                next["source"].as_str().unwrap_or(""),
                next["reason"].as_str().unwrap_or("")
            ),
        }
    }
}
