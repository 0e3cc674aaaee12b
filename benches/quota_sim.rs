//! A trace-driven simulation of subscription quota windows (issue 29): several subscription accounts
//! with 5-hour and 7-day windows that reset at different times, one metered API key, and chat sessions
//! that talk in bursts. The same trace is replayed under two policies through the real `Gateway`
//! (in memory, manual clock):
//!
//! - **reactive**, OpenClaw 2026.9.6's policy and modelauth's before issue 29 (`quota.routing: false`):
//!   outcomes are reported without the provider's headers (the 30 s / 60 s / 5 min ladder after a
//!   429), pins stay until a failure, and nothing keeps a session off the metered key;
//! - **windows**: every answer is reported with its headers and usage (`Agent::report_answer`), and
//!   the default lane policy applies (no session opted in to metered billing).
//!
//! The mock provider is the ground truth: it knows each account's use per window and answers 429 with
//! Anthropic's headers once a window is used up.

use std::collections::HashMap;
use std::sync::Arc;

use modelauth::resolver::ManualClock;
use modelauth::{Answer, Decision, FailureReason, Gateway, Lanes, Outcome, QuotaPolicy, Tokens};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2027-01-01T00:00:00Z.
const START: i64 = 1_798_761_600_000;

/// The shape of a trace.
#[derive(Debug, Clone, Copy)]
pub struct Trace {
    /// Simulated days.
    pub days: i64,
    /// Chat sessions.
    pub sessions: usize,
    /// Subscription accounts.
    pub accounts: usize,
    /// Tokens an account may spend per 5-hour window.
    pub budget_5h: u64,
    /// Tokens an account may spend per 7-day window.
    pub budget_7d: u64,
    /// Seed of the trace.
    pub seed: u64,
}

/// One message of the trace.
#[derive(Debug, Clone, Copy)]
struct Message {
    at: i64,
    session: usize,
    tokens: u64,
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo) as u64) as i64
    }
}

/// The messages of `t`: each session holds a few conversations a day (bursts of messages 20–120 s
/// apart) during waking hours, each message costing 15k–60k tokens.
fn messages(t: &Trace) -> Vec<Message> {
    let mut rng = Rng(t.seed | 1);
    let mut out = Vec::new();
    for session in 0..t.sessions {
        for day in 0..t.days {
            let conversations = rng.range(2, 7);
            for _ in 0..conversations {
                let mut at = START + day * DAY + rng.range(7 * HOUR, 23 * HOUR);
                for _ in 0..rng.range(4, 20) {
                    let tokens = rng.range(15_000, 60_000) as u64;
                    out.push(Message {
                        at,
                        session,
                        tokens,
                    });
                    at += rng.range(20_000, 120_000);
                }
            }
        }
    }
    out.sort_by_key(|m| (m.at, m.session));
    out
}

/// One subscription account at the mock provider.
#[derive(Debug, Clone, Default)]
struct Account {
    used_5h: u64,
    window_5h: i64,
    used_7d: u64,
    window_7d: i64,
    served: u64,
}

/// The mock provider: subscription accounts with fixed windows (phase-shifted per account).
struct Provider {
    trace: Trace,
    accounts: Vec<Account>,
}

/// What the provider answered.
struct Reply {
    ok: bool,
    answer: Answer,
}

impl Provider {
    fn new(trace: Trace) -> Provider {
        Provider {
            trace,
            accounts: vec![Account::default(); trace.accounts],
        }
    }

    /// The start of account `i`'s 5-hour and 7-day windows at `now`.
    fn windows(&self, i: usize, now: i64) -> (i64, i64) {
        let phase_5h = i as i64 * 5 * HOUR / self.trace.accounts as i64;
        let phase_7d = i as i64 * 2 * DAY;
        let start = |len: i64, phase: i64| now - (now - START - phase).rem_euclid(len);
        (start(5 * HOUR, phase_5h), start(7 * DAY, phase_7d))
    }

    /// Rolls account `i`'s windows to `now`.
    fn roll(&mut self, i: usize, now: i64) {
        let (w5, w7) = self.windows(i, now);
        let a = &mut self.accounts[i];
        if a.window_5h != w5 {
            (a.window_5h, a.used_5h) = (w5, 0);
        }
        if a.window_7d != w7 {
            (a.window_7d, a.used_7d) = (w7, 0);
        }
    }

    /// True when account `i` would serve a call at `now`.
    fn has_room(&mut self, i: usize, now: i64) -> bool {
        self.roll(i, now);
        let a = &self.accounts[i];
        a.used_5h < self.trace.budget_5h && a.used_7d < self.trace.budget_7d
    }

    /// A call of `tokens` on account `i` at `now`: served (the window may end past its budget, as
    /// providers let the last call finish), or 429 once a window is used up.
    fn call(&mut self, i: usize, tokens: u64, now: i64) -> Reply {
        let ok = self.has_room(i, now);
        let (b5, b7) = (self.trace.budget_5h, self.trace.budget_7d);
        let a = &mut self.accounts[i];
        if ok {
            a.used_5h += tokens;
            a.used_7d += tokens;
            a.served += tokens;
        }
        let (reset_5h, reset_7d) = (
            (a.window_5h + 5 * HOUR) / 1000,
            (a.window_7d + 7 * DAY) / 1000,
        );
        let share = |used: u64, budget: u64| format!("{:.4}", used as f64 / budget as f64);
        let status = |used: u64, budget: u64| {
            if used >= budget && !ok {
                "rejected"
            } else {
                "allowed"
            }
        };
        let mut headers = vec![
            (
                "anthropic-ratelimit-unified-5h-utilization",
                share(a.used_5h, b5),
            ),
            ("anthropic-ratelimit-unified-5h-reset", reset_5h.to_string()),
            (
                "anthropic-ratelimit-unified-5h-status",
                status(a.used_5h, b5).to_owned(),
            ),
            (
                "anthropic-ratelimit-unified-7d-utilization",
                share(a.used_7d, b7),
            ),
            ("anthropic-ratelimit-unified-7d-reset", reset_7d.to_string()),
            (
                "anthropic-ratelimit-unified-7d-status",
                status(a.used_7d, b7).to_owned(),
            ),
        ];
        if !ok {
            let reset = if a.used_7d >= b7 { reset_7d } else { reset_5h };
            headers.push(("anthropic-ratelimit-unified-status", "rejected".into()));
            headers.push(("retry-after", (reset - now / 1000).max(1).to_string()));
        }
        Reply {
            ok,
            answer: Answer {
                status: Some(if ok { 200 } else { 429 }),
                headers: headers
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                usage: ok.then_some(Tokens {
                    input: tokens * 9 / 10,
                    output: tokens / 10,
                    ..Tokens::default()
                }),
            },
        }
    }
}

/// Which policy a replay follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Outcomes without headers; nothing keeps a session off the metered key.
    Reactive,
    /// Outcomes with headers and usage; the default lane policy.
    Windows,
}

/// What one replay measured.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Messages in the trace.
    pub messages: usize,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Calls answered by a subscription account.
    pub subscription_calls: u64,
    /// Calls billed to the metered key.
    pub metered_calls: u64,
    /// Of those, calls made while some subscription account still had room.
    pub metered_with_room: u64,
    /// Metered calls of sessions that never opted in.
    pub unintended_crossings: u64,
    /// Messages answered with a lane decision (no call made).
    pub lane_decisions: u64,
    /// Messages that found every profile cooling (no call made).
    pub all_cooling: u64,
    /// A message whose profile differs from the previous message of its session less than five
    /// minutes before (a broken prompt cache).
    pub switches: u64,
    /// Tokens each subscription account served.
    pub served: Vec<u64>,
}

impl Figures {
    /// Max minus min of the accounts' shares of the subscription tokens served, in points.
    pub fn spread_points(&self) -> f64 {
        let total: u64 = self.served.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let shares: Vec<f64> = self
            .served
            .iter()
            .map(|s| *s as f64 * 100.0 / total as f64)
            .collect();
        let max = shares.iter().cloned().fold(f64::MIN, f64::max);
        let min = shares.iter().cloned().fold(f64::MAX, f64::min);
        max - min
    }
}

/// The policy of a replay: routing on quota windows or not, with `QUOTA_WALL` (a share) as the wall
/// when set.
fn policy_of(policy: Policy) -> QuotaPolicy {
    let mut p = QuotaPolicy {
        routing: policy == Policy::Windows,
        ..QuotaPolicy::default()
    };
    if let Some(w) = std::env::var("QUOTA_WALL")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
    {
        p.thresholds.wall_ppm = (w * 1_000_000.0) as u32;
    }
    p
}

/// The gateway of a replay: the accounts' setup tokens and the metered key.
fn gateway(t: &Trace, clock: &ManualClock, policy: Policy) -> Gateway {
    let mut profiles = serde_json::Map::new();
    for i in 0..t.accounts {
        profiles.insert(
            format!("anthropic:sub{i}"),
            serde_json::json!({"type": "token", "provider": "anthropic", "token": format!("sk-ant-oat01-SIM{i:04}0000")}),
        );
    }
    profiles.insert(
        "anthropic:key".into(),
        serde_json::json!({"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-SIMKEY000000"}),
    );
    let store = serde_json::json!({"version": 1, "profiles": profiles}).to_string();
    let config = r#"{ agents: { defaults: { model: { primary: "anthropic/claude-opus-4-6" } } } }"#;
    Gateway::builder()
        .in_memory(config, &[("main", &store)])
        .expect("a valid in-memory state")
        .env(modelauth::config::Env::default())
        .clock(Arc::new(clock.clone()))
        .policy(policy_of(policy))
        .open()
        .expect("the gateway opens")
}

/// Replays `t` under `policy`.
pub fn replay(t: &Trace, policy: Policy) -> Figures {
    let clock = ManualClock::at(START);
    let g = gateway(t, &clock, policy);
    let agent = g.default_agent().expect("the main agent");
    let mut provider = Provider::new(*t);
    let trace = messages(t);
    let mut f = Figures {
        messages: trace.len(),
        ..Figures::default()
    };
    let mut last: HashMap<usize, (i64, String)> = HashMap::new();
    let lanes = Lanes {
        session_kind: None,
        allow_metered: policy == Policy::Reactive,
    };
    for m in trace {
        clock.set(m.at);
        let session = format!("s{}", m.session);
        for _attempt in 0..6 {
            let d = agent
                .next_in_lane(Some(&session), "anthropic", None, lanes)
                .expect("resolution works");
            let profile = match &d {
                Decision::Ready {
                    profile: Some(p), ..
                } => p.clone(),
                Decision::LaneClosed { .. } => {
                    f.lane_decisions += 1;
                    break;
                }
                _ => {
                    f.all_cooling += 1;
                    break;
                }
            };
            if !call(&agent, &mut provider, &mut f, &profile, m, policy) {
                continue;
            }
            if let Some((at, prev)) = last.get(&m.session)
                && *prev != profile
                && m.at - at < 5 * MIN
            {
                f.switches += 1;
                if std::env::var_os("QUOTA_DEBUG").is_some() {
                    let why = d.explanation().and_then(|e| {
                        e.candidates
                            .iter()
                            .find(|c| &*c.id == prev.as_str())
                            .map(|c| {
                                format!(
                                    "usable={} low={} wall={} problem={:?} rank={} place={:?}",
                                    c.usable, c.low, c.wall, c.problem, c.lose_rank, c.place
                                )
                            })
                    });
                    eprintln!(
                        "{policy:?} s{} {prev} -> {profile} after {} s: {why:?}",
                        m.session,
                        (m.at - at) / 1000
                    );
                }
            }
            last.insert(m.session, (m.at, profile));
            break;
        }
    }
    f.served = provider.accounts.iter().map(|a| a.served).collect();
    f
}

/// One call of message `m` with `profile`, reported under `policy`; true when it was answered.
fn call(
    agent: &modelauth::Agent,
    provider: &mut Provider,
    f: &mut Figures,
    profile: &str,
    m: Message,
    policy: Policy,
) -> bool {
    let Some(i) = profile
        .strip_prefix("anthropic:sub")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        f.metered_calls += 1;
        f.unintended_crossings += 1; // no session of the trace opted in
        let room = (0..provider.accounts.len()).any(|i| provider.has_room(i, m.at));
        f.metered_with_room += u64::from(room);
        let _ = agent.report(profile, None, Outcome::Success);
        return true;
    };
    let reply = provider.call(i, m.tokens, m.at);
    let outcome = if reply.ok {
        f.subscription_calls += 1;
        Outcome::Success
    } else {
        f.rate_limited += 1;
        Outcome::Failure {
            reason: FailureReason::RateLimit,
            retry_after_ms: None,
        }
    };
    match policy {
        Policy::Reactive => agent.report(profile, None, outcome).map(|_| ()),
        Policy::Windows => agent
            .report_answer(profile, None, outcome, &reply.answer)
            .map(|_| ()),
    }
    .expect("the outcome is recorded");
    reply.ok
}
