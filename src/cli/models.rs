//! `models status [--check]` and `models list`.

use modelauth::{ProfileStatus, State, format_time};

use super::CliError;
use super::context::Context;
use super::output::{self, paint};

/// The state word, colored on a terminal.
pub fn state_word(s: State) -> String {
    let color = match s {
        State::Ok => 32,
        State::Expiring | State::Cooldown | State::Refreshing => 33,
        State::Expired
        | State::Missing
        | State::Invalid
        | State::Reauth
        | State::Disabled
        | State::Unresolved => 31,
    };
    paint(s.label(), color)
}

/// One profile as a text line (no secrets).
pub fn profile_line(s: &ProfileStatus, now: i64) -> String {
    let id = modelauth::display_id(&s.id);
    let mut line = format!("  {id:<32} {:<8} {}", s.kind, state_word(s.state));
    if let Some(r) = &s.secret_ref {
        line.push_str(&format!(" ref ({r})"));
    }
    if let Some(e) = &s.ref_error {
        line.push_str(&format!(": {e}"));
    }
    if let Some(until) = s.until {
        line.push_str(&format!(
            " until {} ({})",
            format_time(until),
            output::relative(until, now)
        ));
    }
    if let Some(r) = s.reason {
        line.push_str(&format!(" reason {r}"));
    }
    if let Some(m) = &s.cooldown_model {
        line.push_str(&format!(" model {m}"));
    }
    if let Some(e) = s.expires {
        line.push_str(&format!(
            " expires {} ({})",
            format_time(e),
            output::relative(e, now)
        ));
    }
    if let Some(p) = &s.problem {
        line.push_str(&format!(" ({})", modelauth::display_id(p)));
    }
    if let Some(r) = s.refreshable {
        line.push_str(if r {
            " refreshable"
        } else {
            " not refreshable"
        });
    }
    if let Some(last) = &s.last_refresh {
        let result = match &last.error {
            None if last.ok => "ok".to_owned(),
            None => "failed".to_owned(),
            Some(e) => format!("failed: {e}"),
        };
        line.push_str(&format!(
            " last refresh {} ({result})",
            output::relative(last.at, now)
        ));
    }
    if let Some(h) = s.hint {
        line.push_str(&format!("\n    hint: {h}"));
    }
    if let Some(p) = &s.last_probe {
        let result = if p.ok {
            "ok".to_owned()
        } else {
            format!("failed: {}", p.reason)
        };
        line.push_str(&format!(
            " last probe {} ({result})",
            output::relative(p.at, now)
        ));
    }
    if let Some(q) = s.quota.as_ref().and_then(|q| modelauth::quota_line(q, now)) {
        line.push_str(&format!("\n    quota ({}): {q}", s.lane));
    }
    line
}

/// `models status [--check [--quiet] [--notify-cmd CMD]]`.
pub fn status(
    ctx: &Context,
    check: bool,
    quiet: bool,
    notify_cmd: Option<&str>,
) -> Result<u8, CliError> {
    let report = ctx.agent()?.status()?;
    if let Some(cmd) = notify_cmd {
        super::notify::run(cmd, &report, ctx.now());
    }
    if quiet && !ctx.json {
        for f in &report.findings {
            println!("{f}");
        }
        return Ok(report.check);
    }
    if ctx.json {
        output::json(&report);
    } else {
        print_status(&report, check, ctx.now());
    }
    Ok(if check { report.check } else { 0 })
}

/// The text of `models status`.
fn print_status(report: &modelauth::gateway::status::Status, check: bool, now: i64) {
    if let Some(problem) = &report.layout_problem {
        println!("{} {problem}", paint("warning:", 33));
    }
    for w in &report.config_warnings {
        println!("{} {w}", paint("warning:", 33));
    }
    println!("Agent: {}", report.agent);
    println!("State dir: {}", report.state_dir);
    if let Some(layout) = &report.layout {
        println!("Layout: {layout} ({})", report.store);
    }
    println!("Routing state: {}", report.backend);
    if let Some(h) = report.shared.as_ref().filter(|h| !h.up) {
        println!(
            "{} {}",
            paint("warning:", 33),
            modelauth::gateway::status::shared_down(h)
        );
    }
    println!("Default model: {}", report.default_model);
    if !report.fallbacks.is_empty() {
        println!("Fallbacks: {}", report.fallbacks.join(", "));
    }
    if !report.aliases.is_empty() {
        let list: Vec<String> = report
            .aliases
            .iter()
            .map(|(a, r)| format!("{a} → {r}"))
            .collect();
        println!("Aliases: {}", list.join(", "));
    }

    for p in &report.providers {
        print_provider(p, now);
    }
    if check {
        let verdict = match report.check {
            0 => "ok".to_owned(),
            _ => report.findings.join("; "),
        };
        println!("\nCheck: {verdict}");
        for n in &report.notices {
            println!("  note (does not change the code): {n}");
        }
    }
}

/// One provider's block of `models status`.
fn print_provider(p: &modelauth::gateway::status::ProviderStatus, now: i64) {
    let used = if p.in_use { " (in use)" } else { "" };
    let source = match (&p.source, &p.problem) {
        (Some(s), _) => format!("next: {}", modelauth::display_id(s)),
        (None, Some(problem)) => paint(&modelauth::display_id(problem), 31),
        (None, None) => String::new(),
    };
    println!("\n[{}]{used} {source}", p.provider);
    let outside = if p.outside_order.is_empty() {
        String::new()
    } else {
        format!("; not in it: {}", p.outside_order.join(", "))
    };
    match (p.order_source, &p.order) {
        ("orderOverride", Some(ids)) => {
            println!(
                "  order: override (models auth order set): {}{outside}",
                ids.join(", ")
            )
        }
        (_, Some(ids)) => {
            println!("  order: auth.order in config: {}{outside}", ids.join(", "))
        }
        _ => println!("  order: automatic (every stored profile)"),
    }
    for s in &p.profiles {
        println!("{}", profile_line(s, now));
    }
    if !p.env_keys.is_empty() {
        println!("  env keys: {}", p.env_keys.join(", "));
    }
    if let Some(w) = &p.env_shadow_warning {
        println!("  {} {w}", paint("warning:", 33));
    }
}

/// `models list [--provider P]`.
pub fn list(ctx: &Context, provider: Option<&str>) -> Result<u8, CliError> {
    let list = ctx.agent()?.models(provider)?;
    if ctx.json {
        let items: Vec<_> = list
            .models
            .iter()
            .map(|(r, a)| serde_json::json!({ "model": r, "aliases": a }))
            .collect();
        output::json(&serde_json::json!({ "restricted": list.restricted, "models": items }));
        return Ok(0);
    }
    if list.models.is_empty() {
        println!(
            "No models listed{}.",
            provider.map(|p| format!(" for {p}")).unwrap_or_default()
        );
    }
    for (r, aliases) in &list.models {
        if aliases.is_empty() {
            println!("{r}");
        } else {
            println!("{r} ({})", aliases.join(", "));
        }
    }
    if !list.restricted {
        println!("\nNo allowlist is configured: any model of a known provider may be selected.");
    }
    Ok(0)
}
