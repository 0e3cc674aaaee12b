//! `doctor [--fix]`: prints what [`modelauth::Gateway::doctor`] found and repaired.

use modelauth::Severity;

use super::CliError;
use super::context::Context;
use super::output::{self, paint};

/// `doctor [--fix]`: exit 1 while an error remains.
pub fn run(ctx: &Context, fix: bool) -> Result<u8, CliError> {
    let report = ctx
        .gateway
        .doctor(ctx.agent_id.as_str(), fix)
        .map_err(super::context::gateway_err)?;
    if ctx.json {
        output::json(&report);
        return Ok(u8::from(!report.ok));
    }
    if report.findings.is_empty() {
        println!(
            "{} no problems found in {}",
            paint("✓", 32),
            report.state_dir
        );
    }
    for f in &report.findings {
        match &f.fixed {
            // What was done says it all ("<file>: mode was 755, now 700"); the finding is history.
            Some(what) => println!("{} {what}", paint("fixed:", 32)),
            None => {
                let mark = match f.severity {
                    Severity::Error => paint("✗", 31),
                    Severity::Warning => paint("!", 33),
                    Severity::Info => paint("i", 36),
                };
                let tail = if f.fixable {
                    " (modelauth doctor --fix repairs this)"
                } else {
                    ""
                };
                println!("{mark} {}{tail}", f.message);
            }
        }
    }
    Ok(u8::from(!report.ok))
}
