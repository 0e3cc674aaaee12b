//! Prometheus text for `/metrics`: requests by route and status code, and the resolve latency. Labels
//! are route templates and numbers only — never ids, sessions or anything a client sent.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the resolve latency histogram, seconds.
const BUCKETS: [f64; 10] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25,
];

/// Counters shared by every connection (short critical sections, never held across `.await`).
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    resolve: Mutex<Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Counts one request of `route` (a route template, never a client's text) answered with `status`.
    pub fn count(&self, route: &'static str, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((route, status)).or_default() += 1;
    }

    /// Records one resolve's duration.
    pub fn observe_resolve(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let mut h = self.resolve.lock().unwrap_or_else(|e| e.into_inner());
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP modelauth_requests_total HTTP requests by route and status code.\n# TYPE modelauth_requests_total counter\n",
        );
        for ((route, code), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            out.push_str(&format!(
                "modelauth_requests_total{{route=\"{route}\",code=\"{code}\"}} {n}\n"
            ));
        }
        out.push_str("# HELP modelauth_resolve_seconds Time to answer a resolve request.\n# TYPE modelauth_resolve_seconds histogram\n");
        let h = self.resolve.lock().unwrap_or_else(|e| e.into_inner());
        for (i, b) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "modelauth_resolve_seconds_bucket{{le=\"{b}\"}} {}\n",
                h.counts[i]
            ));
        }
        out.push_str(&format!(
            "modelauth_resolve_seconds_bucket{{le=\"+Inf\"}} {}\n",
            h.count
        ));
        out.push_str(&format!(
            "modelauth_resolve_seconds_sum {}\nmodelauth_resolve_seconds_count {}\n",
            h.sum, h.count
        ));
        out
    }
}

/// The help and type lines of [`quota_gauges`].
pub const QUOTA_HELP: &str = "# HELP modelauth_lane_crossings_total Subscription sessions handed a metered profile (opted in) by this process.\n# TYPE modelauth_lane_crossings_total counter\n# HELP modelauth_quota_used_ratio Share of a quota window used, as the provider last reported it.\n# TYPE modelauth_quota_used_ratio gauge\n# HELP modelauth_ledger_calls_total Calls reported per profile (ledger), by lane.\n# TYPE modelauth_ledger_calls_total counter\n# HELP modelauth_ledger_failures_total Failed calls reported per profile (ledger).\n# TYPE modelauth_ledger_failures_total counter\n# HELP modelauth_ledger_tokens_total Tokens reported per profile (ledger), by kind.\n# TYPE modelauth_ledger_tokens_total counter\n";

/// One agent's lane crossings and its profiles' quota windows and ledgers. Labels are the agent id,
/// the profile ids and window names the operator's store holds (never a client's text).
pub fn quota_gauges(agent: &str, states: &[crate::ProfileStatus], crossings: u64) -> String {
    let mut out = format!("modelauth_lane_crossings_total{{agent=\"{agent}\"}} {crossings}\n");
    for st in states {
        let Some(q) = &st.quota else { continue };
        let p = &st.id;
        for w in &q.windows {
            if let Some(u) = w.used_ppm() {
                let model = w.model.as_deref().unwrap_or("");
                out.push_str(&format!(
                    "modelauth_quota_used_ratio{{agent=\"{agent}\",profile=\"{p}\",window=\"{}\",model=\"{model}\"}} {}\n",
                    w.name,
                    f64::from(u) / 1_000_000.0
                ));
            }
        }
        let t = &q.total;
        out.push_str(&format!(
            "modelauth_ledger_calls_total{{agent=\"{agent}\",profile=\"{p}\",lane=\"{}\"}} {}\nmodelauth_ledger_failures_total{{agent=\"{agent}\",profile=\"{p}\"}} {}\n",
            st.lane,
            t.calls,
            t.failed()
        ));
        for (kind, n) in [
            ("input", t.tokens.input),
            ("output", t.tokens.output),
            ("cache_read", t.tokens.cache_read),
            ("cache_write", t.tokens.cache_write),
        ] {
            out.push_str(&format!(
                "modelauth_ledger_tokens_total{{agent=\"{agent}\",profile=\"{p}\",kind=\"{kind}\"}} {n}\n"
            ));
        }
    }
    out
}
