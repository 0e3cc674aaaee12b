//! `models status --probe`: does each credential work, asked of its provider (issue 30).

use modelauth::{ProbeOptions, ProbeReport, format_time};

use super::args::ProbeArgs;
use super::context::Context;
use super::{CliError, output};

/// Runs the probe; exit code 1 when a profile that would be chosen failed, else `--check`'s code.
pub fn run(ctx: &Context, args: &ProbeArgs) -> Result<u8, CliError> {
    let opts = ProbeOptions {
        provider: args.probe_provider.clone(),
        profile: args.probe_profile.clone(),
        timeout: args.probe_timeout,
        concurrency: usize::from(args.probe_concurrency),
        max_age: args.probe_max_age,
        model: args.probe_model.clone(),
        chain: args.probe_chain,
        max_tokens: args.probe_max_tokens.max(1),
        record: args.probe_record,
    };
    let report = ctx.agent()?.probe(&opts)?;
    if ctx.json {
        output::json(&report);
    } else {
        print(&report);
    }
    Ok(report.check)
}

/// The text of a probe report: a line per profile, a summary line per provider.
fn print(report: &ProbeReport) {
    let mut provider = "";
    for r in &report.results {
        if r.provider != provider {
            provider = &r.provider;
            println!("[{provider}]");
        }
        let mut line = format!("  {:<32} ", modelauth::display_id(&r.profile));
        if let Some(m) = &r.model {
            line.push_str(&format!("{m}: "));
        }
        line.push_str(if r.ok { "ok" } else { "FAILED" });
        if !r.ok || r.reason != "ok" {
            line.push_str(&format!(" {}", r.reason));
        }
        match r.http_status {
            Some(s) => line.push_str(&format!(
                " (tier {}, HTTP {s}, {} ms)",
                r.tier, r.elapsed_ms
            )),
            None if r.tier > 0 => {
                line.push_str(&format!(" (tier {}, {} ms)", r.tier, r.elapsed_ms))
            }
            None => line.push_str(" (tier 0)"),
        }
        if let Some(until) = r.until_ms {
            line.push_str(&format!(" until {}", format_time(until)));
        }
        if r.cached {
            line.push_str(&format!(" [probed {}]", format_time(r.at)));
        }
        if r.chosen {
            line.push_str(" [next]");
        }
        if let Some(h) = r.hint {
            line.push_str(&format!("\n    hint: {h}"));
        }
        println!("{line}");
    }
    for p in &report.providers {
        println!("{}: {} ok, {} failed", p.provider, p.ok, p.failed);
    }
}
