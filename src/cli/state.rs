//! `state import|export`: moving routing records and pins between an agent's files and the shared
//! Redis server.

use super::args::StateCommand;
use super::context::Context;
use super::{CliError, output};

/// Runs one `state` command; exit 0 when it moved (or would move) what it said.
pub fn run(ctx: &Context, command: &StateCommand) -> Result<u8, CliError> {
    let agent = ctx.agent_to_change()?;
    let (to_shared, overwrite, dry_run) = match command {
        StateCommand::Import { dry_run, overwrite } => (true, *overwrite, *dry_run),
        StateCommand::Export { dry_run } => (false, false, *dry_run),
    };
    let m = agent.migrate(to_shared, overwrite, dry_run)?;
    if ctx.json {
        output::json(&m);
        return Ok(0);
    }
    let verb = match (to_shared, dry_run) {
        (true, true) => "would copy to the shared state",
        (true, false) => "copied to the shared state",
        (false, true) => "would copy to this agent's files",
        (false, false) => "copied to this agent's files",
    };
    println!(
        "{verb}: {} order override(s), {} lastGood entr{}, {} usage record(s), {} session(s)",
        m.orders,
        m.last_good,
        if m.last_good == 1 { "y" } else { "ies" },
        m.usage,
        m.sessions
    );
    if m.kept > 0 {
        println!(
            "kept {} record(s) the shared state already has (use --overwrite to replace them)",
            m.kept
        );
    }
    Ok(0)
}
