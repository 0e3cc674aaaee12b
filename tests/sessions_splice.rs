//! `sessions.json` written entry by entry (issue 28 item 18): only the changed entries are printed,
//! every other byte of the file stays as OpenClaw wrote it, and whatever the sequence of writers
//! (this handle, another process's handle, a tool that knows nothing of modelauth), the file holds
//! exactly what a whole-document rewrite would have produced.

use std::collections::BTreeMap;

use modelauth::backend::json::SessionsFile;
use modelauth::store::SessionRecord;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A record that sets the fields a pin sets.
fn pin(profile: &str, count: u32) -> SessionRecord {
    SessionRecord {
        auth_profile_override: Some(profile.to_owned()),
        auth_profile_override_source: Some(modelauth::store::OverrideSource::User),
        compaction_count: Some(count),
        ..SessionRecord::default()
    }
}

/// OpenClaw's layout with what a byte-for-byte copy must keep: unicode, escapes, a number spelled
/// `1.0e3`, a non-object entry, a key with an escape.
const OPENCLAW_TEXT: &str = "{\n  \"agent:main:a\": {\n    \"sessionId\": \"s-a\",\n    \"label\": \"caf\\u00e9 \\\"x\\\"\",\n    \"ratio\": 1.0e3\n  },\n  \"agent:main:\\u0062\": {\n    \"sessionId\": \"s-b\"\n  },\n  \"note\": [1, 2.50],\n  \"agent:main:c\": {\"compact\":true}\n}\n";

#[test]
fn a_changed_entry_is_rewritten_and_every_other_byte_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.json");
    std::fs::write(&path, OPENCLAW_TEXT).unwrap();
    let file = SessionsFile::new(&path);
    assert_eq!(
        file.load().unwrap().len(),
        3,
        "the array entry is no session"
    );
    file.store([("agent:main:c", &pin("anthropic:work", 2))])
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = OPENCLAW_TEXT.find("  \"agent:main:c\"").unwrap();
    assert_eq!(
        &text[..cut],
        &OPENCLAW_TEXT[..cut],
        "entries before it are untouched"
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc["agent:main:c"]["compact"],
        json!(true),
        "its other fields stay"
    );
    assert_eq!(
        doc["agent:main:c"]["authProfileOverride"],
        json!("anthropic:work")
    );
    // The index now describes our own write: a second change takes the copy path and is exact too.
    file.store([
        ("agent:main:a", &pin("anthropic:home", 1)),
        ("agent:main:new", &pin("x:y", 0)),
    ])
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("[1, 2.50]"),
        "an untouched entry keeps its spelling: {text}"
    );
    assert!(
        text.contains("\"agent:main:\\u0062\": {\n    \"sessionId\": \"s-b\"\n  }"),
        "{text}"
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["agent:main:a"]["label"], json!("café \"x\""));
    assert_eq!(
        doc["agent:main:a"]["authProfileOverride"],
        json!("anthropic:home")
    );
    assert_eq!(doc["note"], json!([1, 2.5]));
    assert_eq!(doc["agent:main:new"]["authProfileOverride"], json!("x:y"));
    // The escaped key is the same key: written in place, never a second entry.
    file.store([("agent:main:b", &pin("p:q", 4))]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(doc.len(), 5);
    let spellings =
        text.matches("agent:main:\\u0062").count() + text.matches("\"agent:main:b\"").count();
    assert_eq!(
        spellings, 1,
        "one entry for the key, however spelled: {text}"
    );
    assert_eq!(doc["agent:main:b"]["authProfileOverride"], json!("p:q"));
    let fresh = SessionsFile::new(&path);
    assert_eq!(
        fresh.load_one("agent:main:b").unwrap().unwrap(),
        pin("p:q", 4)
    );
}

#[test]
fn a_key_written_twice_is_read_and_rewritten_as_a_document_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.json");
    std::fs::write(&path, "{\"k\": {\"sessionId\": \"old\", \"label\": 1}, \"k\": {\"sessionId\": \"new\", \"label\": 2}}").unwrap();
    let file = SessionsFile::new(&path);
    assert_eq!(
        file.load_one("k").unwrap().unwrap().session_id.as_deref(),
        Some("new")
    );
    file.store([("k", &pin("a:b", 1))]).unwrap();
    let doc: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc.len(), 1);
    assert_eq!(
        doc["k"]["label"],
        json!(2),
        "the last value is the one kept"
    );
    assert_eq!(doc["k"]["authProfileOverride"], json!("a:b"));
}

#[test]
fn a_corrupt_file_is_refused_by_the_writer_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.json");
    let file = SessionsFile::new(&path);
    file.store([("k", &pin("a:b", 1))]).unwrap();
    // Cut off by a crash of another writer: the next write must not build on it.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let err = file.store([("k", &pin("c:d", 2))]).unwrap_err().to_string();
    assert!(err.contains("sessions.json"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text[..text.len() / 2]
    );
}

/// The top-level keys of `text` as written, repeats included (a map would fold them).
fn keys_in(text: &str) -> Vec<String> {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some((k, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                keys.push(k);
            }
            Ok(keys)
        }
    }
    use serde::Deserializer as _;
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Keys)
        .unwrap()
}

/// One step of a sequence of writers.
#[derive(Debug, Clone)]
enum Step {
    /// This handle writes these keys (indices into `KEYS`) with this count.
    Ours(Vec<usize>, u32),
    /// Another handle (another process) writes.
    Theirs(Vec<usize>, u32),
    /// A tool rewrites the file compactly, adding a field to one entry.
    Tool(usize),
}

const KEYS: [&str; 6] = ["a", "b", "agent:main:c", "é", "quote\"d", "tab\tkey"];

fn step() -> impl Strategy<Value = Step> {
    let keys = prop::collection::vec(0..KEYS.len(), 1..4);
    prop_oneof![
        3 => (keys.clone(), 0u32..50).prop_map(|(k, c)| Step::Ours(k, c)),
        1 => (keys, 0u32..50).prop_map(|(k, c)| Step::Theirs(k, c)),
        1 => (0..KEYS.len()).prop_map(Step::Tool),
    ]
}

/// Applies `keys` with `count` to the model as `SessionRecord::write_into` does.
fn model_write(model: &mut BTreeMap<String, Value>, keys: &[usize], count: u32) {
    for &k in keys {
        let entry = model.entry(KEYS[k].to_owned()).or_insert_with(|| json!({}));
        let mut map = entry.as_object().cloned().unwrap_or_default();
        pin(&format!("p:{count}"), count).write_into(&mut map);
        *entry = Value::Object(map);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_writers_leaves_what_a_document_rewrite_would(steps in prop::collection::vec(step(), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.json");
        std::fs::write(&path, "{\n  \"seed\": {\n    \"keep\": 1\n  }\n}\n").unwrap();
        let ours = SessionsFile::new(&path);
        let mut model: BTreeMap<String, Value> = BTreeMap::new();
        model.insert("seed".into(), json!({"keep": 1}));
        for s in &steps {
            match s {
                Step::Ours(keys, c) | Step::Theirs(keys, c) => {
                    let record = pin(&format!("p:{c}"), *c);
                    let batch: Vec<(&str, &SessionRecord)> = keys.iter().map(|&k| (KEYS[k], &record)).collect();
                    if matches!(s, Step::Ours(..)) {
                        ours.store(batch).unwrap();
                    } else {
                        SessionsFile::new(&path).store(batch).unwrap();
                    }
                    model_write(&mut model, keys, *c);
                }
                Step::Tool(k) => {
                    let mut doc: serde_json::Map<String, Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                    if let Some(Value::Object(e)) = doc.get_mut(KEYS[*k]) {
                        e.insert("tool".into(), json!(true));
                    }
                    if let Some(Value::Object(e)) = model.get_mut(KEYS[*k]) {
                        e.insert("tool".into(), json!(true));
                    }
                    std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
                }
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut keys = keys_in(&text);
            let written = keys.len();
            keys.sort();
            keys.dedup();
            prop_assert_eq!(keys.len(), written, "a key written twice: {}", text);
            let doc: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
            let got: BTreeMap<String, Value> = doc.into_iter().collect();
            prop_assert_eq!(&got, &model);
            for key in KEYS {
                let want = model.get(key).and_then(Value::as_object).map(SessionRecord::from_entry);
                prop_assert_eq!(ours.load_one(key).unwrap(), want);
            }
        }
    }
}
