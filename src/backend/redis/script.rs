//! The two server-side scripts: one atomic, checked change of an agent's routing records (and the
//! notice of it to every instance), and one consistent read of them.

use once_cell::sync::Lazy;
use redis::{Connection, RedisError, Script, Value};
use serde_json::json;

/// How an [`Op`] treats the value it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Write whatever is there.
    None,
    /// The whole change happens only if the value is still `old` (compare and set).
    Equal,
    /// This op is skipped when a value is there (repopulating a server that restarted empty).
    Absent,
}

/// One write (or check) of a string key or a hash field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The full key.
    pub key: String,
    /// The hash field, for hash keys.
    pub field: Option<String>,
    /// What the value must be for [`Check::Equal`] (`None`: absent).
    pub old: Option<String>,
    /// The new value (`None`: delete).
    pub new: Option<String>,
    /// How the value found is checked.
    pub check: Check,
    /// False for a pure check (nothing written).
    pub write: bool,
    /// For string keys: when the key expires by itself (ms since the epoch; 0: never).
    pub expire_at_ms: i64,
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written; the agent's change counter is now this (unchanged when nothing was written).
    Done(u64),
    /// Op number `n` (0-based) found another value: nothing was written.
    Conflict(usize),
}

/// KEYS[1]: the agent's change counter; KEYS[2..]: the ops' keys. ARGV[1]: the ops (JSON),
/// ARGV[2]: the channel, ARGV[3]: the agent, ARGV[4]: the writing instance.
const APPLY: &str = r#"
local ops = cjson.decode(ARGV[1])
local function get(op)
  local v
  if op.f then v = redis.call('HGET', KEYS[op.k], op.f) else v = redis.call('GET', KEYS[op.k]) end
  if v == false then return nil end
  return v
end
local function want(v) if v == cjson.null then return nil end return v end
local skip = {}
for i, op in ipairs(ops) do
  if op.c == 1 and get(op) ~= want(op.o) then return {0, i} end
  if op.c == 2 and get(op) ~= nil then skip[i] = true end
end
local out = {}
for i, op in ipairs(ops) do
  if op.w == 1 and not skip[i] then
    local key, new = KEYS[op.k], want(op.n)
    if op.f then
      if new then redis.call('HSET', key, op.f, new) else redis.call('HDEL', key, op.f) end
    elseif new then
      if op.x > 0 then redis.call('SET', key, new, 'PXAT', op.x) else redis.call('SET', key, new) end
    else
      redis.call('DEL', key)
    end
    out[#out + 1] = {k = key, f = op.f, n = op.n}
  end
end
if #out == 0 then return {1, tonumber(redis.call('GET', KEYS[1]) or '0')} end
local rev = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[2], cjson.encode({a = ARGV[3], o = ARGV[4], r = rev, ops = out}))
return {1, rev}
"#;

/// KEYS[1]: the change counter, KEYS[2]: the order hash, KEYS[3]: the lastGood hash, KEYS[4..]: usage
/// keys. Returns {counter, order fields and values, lastGood fields and values, usage values}.
const READ: &str = r#"
local usage = {}
if #KEYS > 3 then usage = redis.call('MGET', unpack(KEYS, 4)) end
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('HGETALL', KEYS[2]),
        redis.call('HGETALL', KEYS[3]), usage}
"#;

static APPLY_SCRIPT: Lazy<Script> = Lazy::new(|| Script::new(APPLY));
static READ_SCRIPT: Lazy<Script> = Lazy::new(|| Script::new(READ));

/// Runs `ops` atomically: all checks first, then all writes, the counter `rev_key` increased and one
/// notice published on `channel`.
pub fn apply(
    con: &mut Connection,
    rev_key: &str,
    channel: &str,
    agent: &str,
    origin: &str,
    ops: &[Op],
) -> Result<Applied, RedisError> {
    let encoded: Vec<serde_json::Value> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let mut o = json!({
                "k": i + 2,
                "o": op.old,
                "n": op.new,
                "c": match op.check { Check::None => 0, Check::Equal => 1, Check::Absent => 2 },
                "w": u8::from(op.write),
                "x": op.expire_at_ms,
            });
            // Only present for hash fields: Lua's cjson reads a JSON null as a true value.
            if let Some(f) = &op.field {
                o["f"] = json!(f);
            }
            o
        })
        .collect();
    let mut call = APPLY_SCRIPT.key(rev_key);
    for op in ops {
        call.key(&op.key);
    }
    call.arg(serde_json::Value::Array(encoded).to_string())
        .arg(channel)
        .arg(agent)
        .arg(origin);
    let (ok, n): (i64, i64) = call.invoke(con)?;
    Ok(if ok == 1 {
        Applied::Done(n.max(0) as u64)
    } else {
        Applied::Conflict((n.max(1) - 1) as usize)
    })
}

/// Field/value pairs of a hash.
type Pairs = Vec<(String, String)>;

/// One consistent read of an agent's routing records.
#[derive(Debug, Default)]
pub struct Read {
    /// The change counter the read saw.
    pub rev: u64,
    /// Order overrides: provider → JSON list.
    pub order: Vec<(String, String)>,
    /// lastGood: provider → profile id.
    pub last_good: Vec<(String, String)>,
    /// The usage record of each asked-for key, in order (`None`: absent).
    pub usage: Vec<Option<String>>,
}

/// Reads the counter, both hashes and the `usage_keys` in one atomic step.
pub fn read(
    con: &mut Connection,
    rev_key: &str,
    order_key: &str,
    last_good_key: &str,
    usage_keys: &[String],
) -> Result<Read, RedisError> {
    let mut call = READ_SCRIPT.key(rev_key);
    call.key(order_key).key(last_good_key);
    for k in usage_keys {
        call.key(k);
    }
    let (rev, order, last_good, usage): (u64, Value, Value, Value) = call.invoke(con)?;
    let usage = match usage {
        Value::Array(items) => items.into_iter().map(text_of).collect(),
        _ => Vec::new(),
    };
    Ok(Read {
        rev,
        order: pairs(order),
        last_good: pairs(last_good),
        usage,
    })
}

/// What a value that is not UTF-8 reads as: not JSON and not an id, so every reader ignores it (with
/// a warning), and a write replaces it without comparing (it can never equal what was read).
pub const UNREADABLE: &str = "\u{1}(not UTF-8)";

/// A value as text: `None` when absent, [`UNREADABLE`] when it is not UTF-8.
fn text_of(v: Value) -> Option<String> {
    match redis::from_redis_value::<Option<Vec<u8>>>(v) {
        Ok(Some(bytes)) => Some(String::from_utf8(bytes).unwrap_or_else(|_| UNREADABLE.to_owned())),
        Ok(None) => None,
        Err(_) => Some(UNREADABLE.to_owned()),
    }
}

/// The field/value pairs of an `HGETALL` answer; a field that is not UTF-8 is no provider and is
/// left out.
fn pairs(v: Value) -> Pairs {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    let mut items = items.into_iter();
    let mut out = Vec::with_capacity(items.len() / 2);
    while let (Some(field), Some(value)) = (items.next(), items.next()) {
        if let Some(field) = text_of(field).filter(|f| f != UNREADABLE) {
            out.push((field, text_of(value).unwrap_or_default()));
        }
    }
    out
}
