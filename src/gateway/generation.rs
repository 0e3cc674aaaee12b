//! What `doctor` says about a state directory's generation: which one is used, a directory holding
//! both (and what OpenClaw 2026.9.6 does with it), and the databases' modes.

use std::path::PathBuf;

use super::finding::Finding;
use super::{Gateway, StateLayout};
use crate::backend::sqlite::{SharedLocation, state_db_of};
use crate::config::StateDir;
use crate::store::AgentId;

/// The JSON state files of the early-2026 layout that exist under `state` (for `agents`).
fn json_files(state: &StateDir, agents: &[AgentId]) -> Vec<PathBuf> {
    agents
        .iter()
        .flat_map(|a| [state.auth_path(a), state.sessions_path(a)])
        .filter(|p| p.symlink_metadata().is_ok())
        .collect()
}

fn names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The generation findings of `g` for `agents`.
pub(crate) fn findings(g: &Gateway, state: &StateDir, agents: &[AgentId], out: &mut Vec<Finding>) {
    let db = state_db_of(state.root());
    let json = json_files(state, agents);
    match g.layout() {
        Some(StateLayout::Sqlite) => {
            let location = match g.sqlite().map(|s| s.location()) {
                Some(SharedLocation::StateDb) => "shared credentials in its config_machine_state",
                _ => "shared credentials in the main agent's database (legacy-main)",
            };
            out.push(Finding::info(format!(
                "layout: sqlite (OpenClaw 2026.9 and later): {} with {location}; per-agent orders and sessions in agents/<id>/agent/openclaw-agent.sqlite",
                db.display()
            )));
            if !json.is_empty() {
                out.push(Finding::warning(format!(
                    "this directory holds both generations: {} beside {}. OpenClaw 2026.9.6 does not read the JSON files; while they exist it refuses the provider with AUTH_PROFILE_MIGRATION_REQUIRED until `openclaw doctor --fix` imports them into the database and renames them *.migrated-<time>-<uuid>. modelauth uses the database and never writes the JSON files here; run `openclaw doctor --fix` (after a backup) to finish the migration",
                    names(&json),
                    db.display()
                )));
            }
            for agent in agents {
                let path = crate::backend::sqlite::agent_db_of(state.root(), agent.as_str());
                if path.is_file() {
                    super::finding::check_db_mode(&path, out);
                }
            }
            super::finding::check_db_mode(&db, out);
        }
        Some(StateLayout::Json) if db.is_file() => out.push(Finding::error(format!(
            "--layout json on a directory of OpenClaw's SQLite generation: {} exists and is what OpenClaw 2026.9+ uses; the JSON files shown here are not, and modelauth refuses to write them (a JSON auth-profiles.json would make OpenClaw stop with AUTH_PROFILE_MIGRATION_REQUIRED). Drop --layout json",
            db.display()
        ))),
        Some(StateLayout::Json) => out.push(Finding::info(
            "layout: json (OpenClaw's early-2026 files); modelauth never migrates it: OpenClaw 2026.9+ imports these files with `openclaw doctor --fix`".to_owned(),
        )),
        None => {}
    }
}
