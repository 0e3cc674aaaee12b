//! `models auth report ID --outcome …`: records what happened when a profile was used, with the
//! provider's answer (rate-limit headers, usage) when given.

use modelauth::{Answer, Applied, FailureReason, Observed, Outcome, classify, format_time};

use super::args::{OutcomeArg, ReportArgs};
use super::context::Context;
use super::{CliError, output};

/// Runs `models auth report`.
pub fn run(ctx: &Context, args: &ReportArgs) -> Result<u8, CliError> {
    let agent = ctx.agent_to_change()?;
    let outcome = outcome_of(args);
    let id = args.id.as_str();
    let model = args.model.as_deref();
    let (applied, observed) = match answer_of(args)? {
        Some(answer) => {
            let (applied, seen) = agent.report_answer(id, model, outcome, &answer)?;
            (applied, Some(seen))
        }
        None => (agent.report(id, model, outcome)?, None),
    };
    if ctx.json {
        let (name, until) = applied.wire();
        let mut doc = serde_json::json!({
            "profile": id,
            "applied": name,
            "untilMs": until,
            "until": until.map(format_time),
        });
        if let Some(o) = observed {
            doc["windows"] = o.windows.into();
            doc["ignoredHeaders"] = o.ignored.into();
            doc["providerReset"] = o.provider_reset.into();
        }
        output::json(&doc);
    } else {
        println!("{}", text(id, outcome, applied, observed));
    }
    Ok(0)
}

/// The outcome the flags describe.
fn outcome_of(args: &ReportArgs) -> Outcome {
    let reason = match args.outcome {
        OutcomeArg::Success => return Outcome::Success,
        OutcomeArg::Failure => classify(args.status, args.body.as_deref().unwrap_or("")),
        OutcomeArg::RateLimit => FailureReason::RateLimit,
        OutcomeArg::Timeout => FailureReason::Timeout,
        OutcomeArg::Overloaded => FailureReason::Overloaded,
        OutcomeArg::Billing => FailureReason::Billing,
        OutcomeArg::Auth => FailureReason::Auth,
        OutcomeArg::AuthPermanent => FailureReason::AuthPermanent,
    };
    Outcome::Failure {
        reason,
        retry_after_ms: args
            .retry_after
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    }
}

/// The provider's answer from `--header`, `--usage` and `--status`, when headers or usage were given.
fn answer_of(args: &ReportArgs) -> Result<Option<Answer>, CliError> {
    if args.headers.is_empty() && args.usage.is_none() {
        return Ok(None);
    }
    let mut headers = Vec::with_capacity(args.headers.len());
    for h in &args.headers {
        let Some((name, value)) = h.split_once(':') else {
            return Err(CliError::User(format!(
                "--header {h:?} is not `Name: value` (e.g. --header 'retry-after: 30')"
            )));
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let usage = match &args.usage {
        None => None,
        Some(text) => {
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                CliError::User(format!(
                    "--usage is not JSON ({e}); e.g. --usage '{{\"input\":1200,\"output\":300}}'"
                ))
            })?;
            Some(Answer::usage_from_json(&v).ok_or_else(|| {
                CliError::User("--usage must be a JSON object of token counts".to_owned())
            })?)
        }
    };
    Ok(Some(Answer {
        status: args.status,
        headers,
        usage,
    }))
}

/// The sentence printed for a recorded outcome.
fn text(id: &str, outcome: Outcome, applied: Applied, observed: Option<Observed>) -> String {
    let disables = matches!(
        outcome,
        Outcome::Failure {
            reason: FailureReason::Billing | FailureReason::AuthPermanent,
            ..
        }
    );
    let mut text = match applied {
        Applied::Succeeded => format!("Recorded success for {id}."),
        Applied::WindowStarted(until) => {
            let verb = if disables {
                "is disabled"
            } else {
                "cools down"
            };
            format!("{id} {verb} until {}.", format_time(until))
        }
        Applied::InsideActiveWindow(until) => format!(
            "{id} is already {} until {}; the window was not extended.",
            if disables { "disabled" } else { "cooling down" },
            format_time(until)
        ),
        Applied::SecretRotated => format!(
            "{id}'s secret reference holds a new secret now (it was rotated): nothing was recorded; use {id} again."
        ),
    };
    if let Some(o) = observed {
        if o.provider_reset.is_some() {
            text.push_str(" (the provider's own reset)");
        }
        if o.windows > 0 {
            text.push_str(&format!(" Quota windows reported: {}.", o.windows));
        }
        if o.ignored > 0 {
            text.push_str(&format!(
                " Ignored {} malformed header value(s).",
                o.ignored
            ));
        }
    }
    text
}
