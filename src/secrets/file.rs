//! `file` references: a private regular file (one link, owned by this user, readable by no one else,
//! not a symlink), read within `maxBytes`; `json` mode looks the id up as a JSON pointer, `singleValue`
//! mode returns the whole file (one trailing newline removed) for the id `value`.

use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;

use serde_json::Value;

use super::{SecretError, expand_home};
use crate::config::secrets::ProviderDef;
use crate::store::{Secret, SecretRef};

/// Resolves `r` against the file provider `alias` (`def` is a [`ProviderDef::File`]).
pub(super) fn resolve(
    alias: &str,
    def: &ProviderDef,
    r: &SecretRef,
    label: &str,
) -> Result<Secret, SecretError> {
    let ProviderDef::File {
        path,
        single_value,
        max_bytes,
        ..
    } = def
    else {
        unreachable!("file::resolve is called for file providers");
    };
    let fail = |message: String| SecretError::Provider {
        reference: label.to_owned(),
        message,
    };
    let not_found = |message: String| SecretError::NotFound {
        reference: label.to_owned(),
        message,
    };
    let text = read_private(&expand_home(path, None), *max_bytes)
        .map_err(|why| fail(format!("secrets.providers.{alias}.path {why}")))?;
    let text = zeroize::Zeroizing::new(text);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if *single_value {
        if r.id != "value" {
            return Err(SecretError::Refused {
                reference: label.to_owned(),
                message: format!(
                    "the singleValue file provider \"{alias}\" takes the id \"value\""
                ),
            });
        }
        let one = text
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t));
        return Ok(Secret::new(one.unwrap_or(text)));
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        fail(format!(
            "{path} is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if !doc.is_object() {
        return Err(fail(format!("{path} does not hold a JSON object")));
    }
    if !r.id.starts_with('/') {
        return Err(SecretError::Refused {
            reference: label.to_owned(),
            message: "a file reference's id is an absolute JSON pointer (/a/b)".into(),
        });
    }
    match doc.pointer(&r.id) {
        Some(Value::String(s)) => Ok(Secret::new(s.as_str())),
        Some(_) => Err(not_found(format!("{} in {path} is not a string", r.id))),
        None => Err(not_found(format!("{path} has nothing at {}", r.id))),
    }
}

/// The text of `path` when it is a private regular file of this user within `max` bytes; else why not.
fn read_private(path: &std::path::Path, max: u64) -> Result<String, String> {
    let shown = path.display();
    let meta = super::regular_file(path, "")?;
    if meta.nlink() > 1 {
        return Err(format!(
            "must not be hardlinked: {shown} (copy it into a new private file and replace the path)"
        ));
    }
    super::check_mode_and_owner(&meta, &shown, 0o077, "600")?;
    let file = std::fs::File::open(path).map_err(|e| format!("is not readable: {shown} ({e})"))?;
    let mut buf = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("is not readable: {shown} ({e})"))?;
    if buf.len() as u64 > max {
        return Err(format!("is larger than its maxBytes ({max}): {shown}"));
    }
    String::from_utf8(buf).map_err(|_| format!("is not UTF-8 text: {shown}"))
}
