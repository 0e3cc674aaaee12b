//! The last probe of each profile, kept in `<state>/modelauth-probes.json` (issue 30) so a monitoring
//! timer can ask `--probe-max-age 6h` and re-probe only what is stale, and `models status` can show
//! the last probe. Written under the file's lock with an atomic rewrite; an unreadable file counts as
//! empty (it holds nothing that cannot be probed again) and is replaced on the next write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{StoreError, atomic};

/// The cache file's name in the state directory.
pub const PROBES_FILE: &str = "modelauth-probes.json";

/// The largest cache file read (1 MiB).
const LIMIT: u64 = 1 << 20;

/// One profile's last probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastProbe {
    /// When, ms.
    pub at: i64,
    /// The tier that ran.
    pub tier: u8,
    /// Whether it worked.
    pub ok: bool,
    /// Its reason code.
    pub reason: String,
    /// The provider's HTTP status, if asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

/// Agent id → profile id → last probe.
type Cache = BTreeMap<String, BTreeMap<String, LastProbe>>;

/// The cache file of state directory `root`.
pub fn path_in(root: &Path) -> PathBuf {
    root.join(PROBES_FILE)
}

/// The last probes of `agent` (empty when there is no file or it cannot be read).
pub fn read(path: &Path, agent: &str) -> BTreeMap<String, LastProbe> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    let mut cache: Cache = serde_json::from_str(&text).unwrap_or_default();
    cache.remove(agent).unwrap_or_default()
}

/// Records `probes` of `agent`, keeping every other entry.
pub fn write(path: &Path, agent: &str, probes: &[(String, LastProbe)]) -> Result<(), StoreError> {
    if probes.is_empty() {
        return Ok(());
    }
    atomic::update(path, LIMIT, |text: Option<String>| {
        let mut cache: Cache = text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let mine = cache.entry(agent.to_owned()).or_default();
        for (id, p) in probes {
            mine.insert(id.clone(), p.clone());
        }
        let out = serde_json::to_string_pretty(&cache).unwrap_or_default();
        Ok::<_, StoreError>((Some(out + "\n"), ()))
    })
}
