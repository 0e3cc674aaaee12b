// A small client for `modelauth serve`, for gateways written in JavaScript/TypeScript on Node.
// Node's built-in `http` only: copy this file into your gateway. API: docs/openapi.json.
//
//   const ma = new ModelAuth({ socketPath: `${process.env.HOME}/.openclaw/modelauth.sock` });
//   // or: new ModelAuth({ baseUrl: "http://127.0.0.1:8787", token: fs.readFileSync(".../modelauth.token", "utf8").trim() })
//   const { cleaned, reply } = await ma.message("main", sessionKey, text);   // every inbound message
//   const r = await ma.resolve("main", { session: sessionKey, provider: "anthropic", includeSecret: true });
//   ... call the provider with r.secret ...
//   await ma.outcome("main", { profile: r.profile, outcome: "failure", status: 429, body });
//
// Run it as a script for a demo against a running server:
//   MODELAUTH_SOCKET=~/.openclaw/modelauth.sock node modelauth.mjs
//   MODELAUTH_URL=http://127.0.0.1:8787 MODELAUTH_TOKEN=... node modelauth.mjs
import http from "node:http";

export class ModelAuthError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

export class ModelAuth {
  constructor({ socketPath, baseUrl, token } = {}) {
    this.socketPath = socketPath;
    this.url = baseUrl ? new URL(baseUrl) : undefined;
    this.token = token;
  }

  request(method, path, body) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { accept: "application/json" };
    if (payload !== undefined) headers["content-type"] = "application/json";
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const target = this.socketPath
      ? { socketPath: this.socketPath }
      : { host: this.url.hostname, port: this.url.port };
    return new Promise((resolve, reject) => {
      const req = http.request({ ...target, method, path, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => {
          const value = text ? JSON.parse(text) : null;
          if (res.statusCode >= 400) {
            const e = value?.error ?? {};
            reject(new ModelAuthError(res.statusCode, e.code, e.message));
          } else resolve(value);
        });
      });
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Interprets an inbound chat message; send `cleaned` to the model, show `reply` if set. */
  message(agent, session, text) {
    return this.request("POST", `/v1/agents/${encodeURIComponent(agent)}/messages`, { session, text });
  }

  /** Which credential to use next: `{decision, profile, candidates, secret?}`. */
  resolve(agent, { session, provider, model, includeSecret = false }) {
    return this.request("POST", `/v1/agents/${encodeURIComponent(agent)}/resolve`, { session, provider, model, includeSecret });
  }

  /** Records what happened: `outcome` is "success", "failure" (with `status`/`body`) or a reason. */
  outcome(agent, { profile, model, outcome, status, body, retryAfterS }) {
    return this.request("POST", `/v1/agents/${encodeURIComponent(agent)}/outcomes`, { profile, model, outcome, status, body, retryAfterS });
  }

  status(agent) {
    return this.request("GET", `/v1/agents/${encodeURIComponent(agent)}/status`);
  }
}

async function demo() {
  if (!process.env.MODELAUTH_SOCKET && !process.env.MODELAUTH_URL) {
    console.error("set MODELAUTH_SOCKET=<state>/modelauth.sock (or MODELAUTH_URL and MODELAUTH_TOKEN) to a modelauth serve");
    process.exit(2);
  }
  const ma = process.env.MODELAUTH_SOCKET
    ? new ModelAuth({ socketPath: process.env.MODELAUTH_SOCKET })
    : new ModelAuth({ baseUrl: process.env.MODELAUTH_URL, token: process.env.MODELAUTH_TOKEN });
  const agent = process.env.MODELAUTH_AGENT ?? "main";
  // The full demo pins a session and reports a made-up 429: never against a real state by accident.
  if (process.env.MODELAUTH_DEMO !== "1") {
    const r = await ma.resolve(agent, { provider: "anthropic" });
    console.log(JSON.stringify({ step: "resolve", profile: r.profile, decision: r.decision }));
    console.error("read-only demo: it changed nothing. For pins and cooldowns, start a scratch server " +
      "(modelauth --state-dir \"$(mktemp -d)\" serve) and set MODELAUTH_DEMO=1");
    return;
  }
  const pinned = await ma.message(agent, "agent:main:demo-pinned", "/model opus@anthropic:work");
  console.log(JSON.stringify({ step: "pin", reply: pinned.reply }));
  const first = await ma.resolve(agent, { session: "agent:main:demo-pinned", provider: "anthropic" });
  console.log(JSON.stringify({ step: "resolve", profile: first.profile, decision: first.decision }));
  const reported = await ma.outcome(agent, { profile: first.profile, outcome: "failure", status: 429, body: "rate limited" });
  console.log(JSON.stringify({ step: "report", applied: reported.applied }));
  // A user pin stays first even while cooling down (the caller moves to a fallback model); a session
  // without one gets the next profile.
  const again = await ma.resolve(agent, { session: "agent:main:demo-pinned", provider: "anthropic" });
  const next = await ma.resolve(agent, { session: "agent:main:demo-free", provider: "anthropic" });
  console.log(JSON.stringify({ step: "resolve-again", pinned: again.profile, unpinned: next.profile }));
  try {
    await ma.message(agent, 42, "x");
  } catch (e) {
    console.log(JSON.stringify({ step: "error", status: e.status, code: e.code }));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  demo().catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
