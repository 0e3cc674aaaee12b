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
    let m = match agent.migrate(to_shared, overwrite, dry_run) {
        Ok(m) => m,
        // Each record moves on its own and a second run keeps what arrived: say how to finish.
        Err(e) if to_shared && !dry_run => {
            return Err(CliError::Coded {
                code: "import_incomplete",
                message: format!(
                    "{e}; the import may have stopped part-way: run the same command again once the shared state takes writes (it keeps what already arrived and moves the rest); nothing was removed from this agent's files"
                ),
            });
        }
        Err(e) => return Err(e.into()),
    };
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
