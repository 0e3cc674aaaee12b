//! `modelauth secrets exec-provider`: the exec protocol v1 answered from modelauth's own stores, so
//! that OpenClaw resolves `{"source":"exec","provider":"modelauth","id":"keyring/…"}` through the
//! installed binary. Request on stdin, answer on stdout; an id that fails gets an error code and a
//! message that names the store and the fix (never a value).

use serde_json::{Map, Value, json};

use super::vault::{self, VaultError};
use crate::config::Env;

/// The largest request read.
pub const MAX_REQUEST: usize = 1 << 20;

/// The answer to `request` (the bytes OpenClaw wrote on stdin).
pub fn answer(request: &[u8], env: &Env) -> Value {
    let ids = match parse_request(request) {
        Ok(ids) => ids,
        Err(why) => {
            return json!({"protocolVersion": 1, "values": {},
                          "errors": {"": {"code": "BAD_REQUEST", "message": why}}});
        }
    };
    let mut values = Map::new();
    let mut errors = Map::new();
    for id in ids {
        match vault::read_id(&id, env) {
            Ok(secret) => {
                values.insert(id, Value::String(secret.expose_secret().to_owned()));
            }
            Err(e) => {
                let code = match &e {
                    VaultError::Missing { .. } => "NOT_FOUND",
                    VaultError::Unavailable { .. } => "UNAVAILABLE",
                    VaultError::Failed { .. } => "FAILED",
                };
                errors.insert(id, json!({"code": code, "message": e.to_string()}));
            }
        }
    }
    json!({"protocolVersion": 1, "values": values, "errors": errors})
}

/// The ids of a protocol v1 request.
fn parse_request(request: &[u8]) -> Result<Vec<String>, String> {
    let v: Value =
        serde_json::from_slice(request).map_err(|e| format!("the request is not JSON ({e})"))?;
    if v.get("protocolVersion").and_then(Value::as_f64) != Some(1.0) {
        return Err("the request's protocolVersion must be 1".into());
    }
    let ids = v
        .get("ids")
        .and_then(Value::as_array)
        .ok_or("the request has no \"ids\" array")?;
    ids.iter()
        .map(|i| {
            i.as_str()
                .map(str::to_owned)
                .ok_or_else(|| "every id is a string".to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert!(parse_request(b"{}").is_err());
        assert!(parse_request(br#"{"protocolVersion":2,"ids":[]}"#).is_err());
        assert_eq!(
            parse_request(br#"{"protocolVersion":1,"provider":"m","ids":["a","b"]}"#).unwrap(),
            ["a", "b"]
        );
        let env = Env::default();
        let a = answer(br#"{"protocolVersion":1,"ids":["nope/x"]}"#, &env);
        assert_eq!(a["errors"]["nope/x"]["code"], "FAILED");
        assert_eq!(a["values"], json!({}));
    }
}
