//! `store` references: OpenClaw's own secret store, the team-scope rows of `secret_store_entries` in
//! `<state>/state/openclaw.sqlite`, read through a read-only connection.

use std::path::Path;

use rusqlite::{OpenFlags, OptionalExtension as _};

use super::SecretError;
use crate::store::{Secret, SecretRef, secret_ref::is_env_id};

/// Resolves `r` from the secret store in `db`.
pub(super) fn resolve(
    db: Option<&Path>,
    r: &SecretRef,
    label: &str,
) -> Result<Secret, SecretError> {
    let not_found = || SecretError::NotFound {
        reference: label.to_owned(),
        message: format!("OpenClaw's secret store has no entry \"{}\"", r.id),
    };
    if !is_env_id(&r.id) {
        return Err(SecretError::Refused {
            reference: label.to_owned(),
            message: "a store reference's id is a variable name (A-Z, 0-9, _)".into(),
        });
    }
    let Some(db) = db.filter(|p| p.exists()) else {
        return Err(not_found());
    };
    let fail = |e: rusqlite::Error| SecretError::Provider {
        reference: label.to_owned(),
        message: format!(
            "OpenClaw's secret store in {} cannot be read: {e}",
            db.display()
        ),
    };
    let conn = rusqlite::Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(fail)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(fail)?;
    let row = conn.query_row(
        "SELECT value FROM secret_store_entries WHERE scope_kind = 'team' AND scope_id = '' \
         AND name = ?1 AND deleted_at_ms IS NULL",
        [&r.id],
        |row| row.get::<_, String>(0),
    );
    match row.optional() {
        Ok(Some(v)) => Ok(Secret::new(v)),
        Ok(None) => Err(not_found()),
        Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.contains("no such table") => {
            Err(not_found())
        }
        Err(e) => Err(fail(e)),
    }
}
