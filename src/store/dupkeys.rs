//! Duplicate keys in a JSON state file. `serde_json` (like the reference's `JSON.parse`) keeps the last
//! value of a repeated key, so a rewrite silently drops the first copy; this finds them so that the user
//! is told which key, before anything is rewritten.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The repeated keys of `text` (a JSON document) at the top level and one level below it, as paths
/// (`profiles.anthropic:work`). Empty when the text is not valid JSON (the parser reports that).
pub fn duplicate_keys(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = Level {
        path: String::new(),
        depth: 0,
        found: &mut found,
    }
    .deserialize(&mut de);
    found
}

/// One object level being checked.
struct Level<'a> {
    path: String,
    depth: usize,
    found: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                self.found.push(path.clone());
            }
            if self.depth < 1 {
                map.next_value_seed(Level {
                    path,
                    depth: self.depth + 1,
                    found: self.found,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_repeated_keys_at_the_top_and_one_level_down() {
        let text = r#"{"a":1,"profiles":{"x":{"k":1,"k":2},"y":1,"x":{}},"a":2,"deep":{"n":{"z":1,"z":2}}}"#;
        assert_eq!(duplicate_keys(text), ["profiles.x", "a"]);
        assert!(duplicate_keys("{\"a\":1}").is_empty());
        assert!(duplicate_keys("not json").is_empty());
    }
}
