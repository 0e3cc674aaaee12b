//! The rate-limit headers of a provider's answer, read into quota windows (issue 29). Pure: headers
//! and the time in, windows out. Unknown headers are skipped; a known header with a malformed value is
//! skipped and counted, never fatal.
//!
//! - Anthropic's unified windows: `anthropic-ratelimit-unified-{5h,7d,…}-{utilization,reset,status}`,
//!   `anthropic-ratelimit-unified-{status,reset,representative-claim}` (resets in Unix seconds);
//! - Anthropic's per-model limits: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
//!   {limit,remaining,reset}` (resets in RFC 3339);
//! - OpenAI's: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (resets as durations, `6m0s`);
//! - `retry-after` (seconds or an HTTP date) and `retry-after-ms`.

use serde_json::{Map, Value};

use crate::store::{Tokens, Window, WindowStatus};

/// What one answer's headers said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Windows reported (observations only: no ledger). `model` is set by [`Parsed::scope`].
    pub windows: Vec<Window>,
    /// The per-model windows' names (set apart from the account-wide unified ones).
    pub scoped: Vec<String>,
    /// `representative-claim`.
    pub claim: Option<String>,
    /// `anthropic-ratelimit-unified-status`.
    pub status: Option<WindowStatus>,
    /// `anthropic-ratelimit-unified-reset`, ms (0: absent).
    pub unified_reset: i64,
    /// `retry-after` / `retry-after-ms`, ms from now.
    pub retry_after_ms: Option<i64>,
    /// Known headers whose values were malformed (ignored).
    pub ignored: u32,
}

/// The unified windows' name for a representative claim (`five_hour` → `5h`).
pub fn claim_window(claim: &str) -> &str {
    match claim {
        "five_hour" => "5h",
        "seven_day" => "7d",
        other => other.strip_prefix("seven_day_").map_or(other, |_| "7d"),
    }
}

impl Parsed {
    /// The window `name` (created when absent).
    fn window(&mut self, name: &str, scoped: bool) -> &mut Window {
        let i = match self.windows.iter().position(|w| w.name == name) {
            Some(i) => i,
            None => {
                self.windows.push(Window {
                    name: name.to_owned(),
                    ..Window::default()
                });
                if scoped {
                    self.scoped.push(name.to_owned());
                }
                self.windows.len() - 1
            }
        };
        &mut self.windows[i]
    }

    /// Sets the model of the per-model windows to `model`.
    pub fn scope(&mut self, model: Option<&str>) {
        for w in &mut self.windows {
            if self.scoped.contains(&w.name) {
                w.model = model.map(str::to_owned);
            }
        }
    }
}

/// Reads `headers` (names case-insensitive) received at `now` (ms).
pub fn parse<'h>(headers: impl IntoIterator<Item = (&'h str, &'h str)>, now: i64) -> Parsed {
    let mut p = Parsed::default();
    for (name, value) in headers {
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        let ok = if let Some(rest) = name.strip_prefix("anthropic-ratelimit-unified-") {
            unified(&mut p, rest, value)
        } else if let Some(rest) = name.strip_prefix("anthropic-ratelimit-") {
            per_model(&mut p, rest, value, now, Reset::Rfc3339)
        } else if let Some(rest) = name.strip_prefix("x-ratelimit-") {
            openai(&mut p, rest, value, now)
        } else if name == "retry-after" {
            retry_after(value, now).map(|ms| p.retry_after_ms = Some(ms))
        } else if name == "retry-after-ms" {
            value
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| p.retry_after_ms = Some(f.min(1e15) as i64))
        } else {
            Some(())
        };
        if ok.is_none() {
            p.ignored = p.ignored.saturating_add(1);
        }
    }
    p
}

/// A JSON map of headers as name/value pairs: text as it is, numbers as written, arrays of those as
/// repeated headers; anything else is skipped and counted.
pub fn pairs_of(map: Option<&Map<String, Value>>) -> (Vec<(String, String)>, u32) {
    let mut out = Vec::new();
    let mut ignored = 0u32;
    let mut push = |name: &str, v: &Value| match v {
        Value::String(s) => out.push((name.to_owned(), s.clone())),
        Value::Number(n) => out.push((name.to_owned(), n.to_string())),
        _ => ignored = ignored.saturating_add(1),
    };
    for (name, v) in map.into_iter().flatten() {
        match v {
            Value::Array(items) => items.iter().for_each(|v| push(name, v)),
            v => push(name, v),
        }
    }
    (out, ignored)
}

/// The usage block of an answer: modelauth's names (`input`, `output`, `cacheRead`, `cacheWrite`),
/// Anthropic's (`input_tokens`, `output_tokens`, `cache_read_input_tokens`,
/// `cache_creation_input_tokens`) or OpenAI's (`prompt_tokens`, `completion_tokens`,
/// `prompt_tokens_details.cached_tokens`). `None` when it is not an object; counts that are not
/// whole numbers are 0.
pub fn usage_of(v: &Value) -> Option<Tokens> {
    let m = v.as_object()?;
    let first = |keys: &[&str]| keys.iter().find_map(|k| m.get(*k)?.as_u64()).unwrap_or(0);
    let cached = m
        .get("prompt_tokens_details")
        .and_then(|d| d.get("cached_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Some(Tokens {
        input: first(&["input", "inputTokens", "input_tokens", "prompt_tokens"]),
        output: first(&["output", "outputTokens", "output_tokens", "completion_tokens"]),
        cache_read: first(&["cacheRead", "cache_read_input_tokens"]).max(cached),
        cache_write: first(&["cacheWrite", "cache_creation_input_tokens"]),
    })
}

/// One `anthropic-ratelimit-unified-…` header (`rest` after the prefix).
fn unified(p: &mut Parsed, rest: &str, value: &str) -> Option<()> {
    match rest {
        "status" => p.status = Some(WindowStatus::parse(value)?),
        "reset" => p.unified_reset = epoch_ms(value)?,
        "representative-claim" => p.claim = Some(token(value)?.to_owned()),
        _ => {
            let (win, field) = rest.rsplit_once('-')?;
            if token(win).is_none() || win.starts_with("overage") {
                return Some(()); // not a plan window (overage billing has its own terms)
            }
            match field {
                "utilization" => p.window(win, false).utilization_ppm = Some(share(value)?),
                "reset" => p.window(win, false).reset_at = epoch_ms(value)?,
                "status" => p.window(win, false).status = Some(WindowStatus::parse(value)?),
                _ => {}
            }
        }
    }
    Some(())
}

/// How a family of headers writes its reset times.
#[derive(Clone, Copy)]
enum Reset {
    /// `2026-12-04T19:00:00Z`.
    Rfc3339,
    /// `6m0s`, `20ms`.
    Duration,
}

/// One `anthropic-ratelimit-{kind}-{field}` header.
fn per_model(p: &mut Parsed, rest: &str, value: &str, now: i64, reset: Reset) -> Option<()> {
    const KINDS: [&str; 4] = ["requests", "tokens", "input-tokens", "output-tokens"];
    let Some((kind, field)) = KINDS
        .iter()
        .find_map(|k| Some((*k, rest.strip_prefix(k)?.strip_prefix('-')?)))
    else {
        return Some(());
    };
    set_field(p, kind, field, value, now, reset)
}

/// One `x-ratelimit-{field}-{kind}` header.
fn openai(p: &mut Parsed, rest: &str, value: &str, now: i64) -> Option<()> {
    let Some((field, kind)) = rest.split_once('-') else {
        return Some(());
    };
    if !matches!(kind, "requests" | "tokens") {
        return Some(());
    }
    set_field(p, kind, field, value, now, Reset::Duration)
}

/// Sets `field` (`limit`, `remaining`, `reset`) of the per-model window `kind`.
fn set_field(p: &mut Parsed, kind: &str, field: &str, value: &str, now: i64, reset: Reset) -> Option<()> {
    match field {
        "limit" => p.window(kind, true).limit = Some(value.parse().ok()?),
        "remaining" => p.window(kind, true).remaining = Some(value.parse().ok()?),
        "reset" => {
            let at = match reset {
                Reset::Rfc3339 => rfc3339_ms(value)?,
                Reset::Duration => now.saturating_add(go_duration_ms(value)?),
            };
            p.window(kind, true).reset_at = at;
        }
        _ => {}
    }
    Some(())
}

/// A short lower-case name (`5h`, `seven_day`), or `None`.
fn token(s: &str) -> Option<&str> {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then_some(s)
}

/// A share written as a fraction (`0.95`; up to 2, for a window overdrawn) in millionths.
fn share(value: &str) -> Option<u32> {
    let f: f64 = value.parse().ok()?;
    (f.is_finite() && (0.0..=2.0).contains(&f)).then(|| (f * 1_000_000.0).round() as u32)
}

/// Unix seconds (or RFC 3339) as ms.
fn epoch_ms(value: &str) -> Option<i64> {
    match value.parse::<i64>() {
        Ok(s) if (0..=253_402_300_799).contains(&s) => Some(s * 1000),
        Ok(_) => None,
        Err(_) => rfc3339_ms(value),
    }
}

/// RFC 3339 as ms.
fn rfc3339_ms(value: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(value).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// `retry-after`: seconds, or an HTTP date; ms from `now`.
fn retry_after(value: &str, now: i64) -> Option<i64> {
    if let Ok(s) = value.parse::<u64>() {
        return Some(i64::try_from(s.min(1 << 40)).ok()? * 1000);
    }
    let t = httpdate::parse_http_date(value).ok()?;
    let at = i64::try_from(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()?;
    Some(at.saturating_sub(now).max(0))
}

/// A Go-style duration (`6m0s`, `1h2m3.5s`, `20ms`, `0.5s`) as ms.
fn go_duration_ms(value: &str) -> Option<i64> {
    let mut rest = value;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    (total.is_finite() && total < 1e15).then_some(total.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_ms("6m0s"), Some(360_000));
        assert_eq!(go_duration_ms("1h2m3.5s"), Some(3_723_500));
        assert_eq!(go_duration_ms("20ms"), Some(20));
        assert_eq!(go_duration_ms("0.5s"), Some(500));
        assert_eq!(go_duration_ms(""), None);
        assert_eq!(go_duration_ms("5 minutes"), None);
    }

    #[test]
    fn retry_after_forms() {
        let now = 1_445_412_480_000; // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(retry_after("120", now), Some(120_000));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now), Some(60_000));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn unknown_headers_are_skipped_and_malformed_known_ones_counted() {
        let p = parse(
            [
                ("Content-Type", "application/json"),
                ("anthropic-ratelimit-unified-5h-utilization", "lots"),
                ("anthropic-ratelimit-unified-fallback-percentage", "0.5"),
                ("x-ratelimit-remaining-requests", "-1"),
                ("x-ratelimit-whatever-requests", "3"),
            ],
            0,
        );
        assert_eq!(p.ignored, 2);
        assert!(p.windows.iter().all(|w| w.utilization_ppm.is_none() && w.remaining.is_none()));
    }
}
