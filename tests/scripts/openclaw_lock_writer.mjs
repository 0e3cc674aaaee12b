// A writer that follows OpenClaw 2026.9.6's sidecar lock protocol (@openclaw/fs-safe sidecar-lock):
// exclusive create of `<file>.lock` holding {pid, createdAt} JSON plus a whitespace ownership token,
// stale when the pid is dead, deleted when done. Used by tests/lock_protocol.rs.
//
// usage: node openclaw_lock_writer.mjs FILE WORKER COUNT [HOLD_MS]
//   COUNT > 0: COUNT locked read-modify-write updates of FILE (profile `node:w<WORKER>-<i>` and
//              usageStats["counter:node<WORKER>"].errorCount += 1).
//   COUNT = 0: take the lock, print "held", hold it HOLD_MS, release, exit.
import fs from "node:fs";
import crypto from "node:crypto";

const [file, worker, countText, holdText] = process.argv.slice(2);
const count = Number(countText);
const lock = `${file}.lock`;

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === "EPERM"; }
}

function token() {
  let t = "\t".repeat(8);
  for (const b of crypto.randomBytes(16)) for (let i = 7; i >= 0; i--) t += b & (1 << i) ? "\t" : " ";
  return t;
}

function acquire() {
  const started = Date.now();
  for (;;) {
    const raw = `${JSON.stringify({ pid: process.pid, createdAt: new Date().toISOString() }, null, 2)}\n${token()}\n`;
    try {
      const fd = fs.openSync(lock, "wx", 0o600);
      fs.writeSync(fd, raw);
      fs.closeSync(fd);
      return raw;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
    }
    let owner = null;
    try { owner = JSON.parse(fs.readFileSync(lock, "utf8")); } catch {}
    if (owner && Number.isInteger(owner.pid) && !alive(owner.pid)) {
      try { fs.unlinkSync(lock); } catch {}
      continue;
    }
    if (Date.now() - started > 20000) throw new Error(`file lock timeout ${lock}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1 + Math.floor(Math.random() * 3));
  }
}

function release(raw) {
  if (fs.readFileSync(lock, "utf8") !== raw) throw new Error("lock compromised");
  fs.unlinkSync(lock);
}

function update(i) {
  const raw = acquire();
  let doc = { version: 1, profiles: {} };
  try { doc = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) { if (e.code !== "ENOENT") throw e; }
  doc.profiles ??= {};
  doc.profiles[`node:w${worker}-${i}`] = { type: "api_key", provider: "node", key: `sk-node-${worker}-${i}` };
  doc.usageStats ??= {};
  const key = `counter:node${worker}`;
  doc.usageStats[key] ??= {};
  doc.usageStats[key].errorCount = (doc.usageStats[key].errorCount ?? 0) + 1;
  const tmp = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  release(raw);
}

if (count === 0) {
  const raw = acquire();
  process.stdout.write("held\n");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(holdText ?? 1000));
  release(raw);
} else {
  for (let i = 0; i < count; i++) update(i);
}
