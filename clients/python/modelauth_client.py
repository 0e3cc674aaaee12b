"""A small client for `modelauth serve`, for gateways written in Python (standard library only).

Copy this file into your gateway. API: docs/openapi.json.

    ma = ModelAuth(socket_path=os.path.expanduser("~/.openclaw/modelauth.sock"))
    # or: ModelAuth(base_url="http://127.0.0.1:8787", token=open(".../modelauth.token").read().strip())
    out = ma.message("main", session_key, text)          # every inbound message: send out["cleaned"]
    r = ma.resolve("main", session=session_key, provider="anthropic", include_secret=True)
    ... call the provider with r["secret"] ...
    ma.outcome("main", profile=r["profile"], outcome="failure", status=429, body=body)

Run it as a script for a demo against a running server:
    MODELAUTH_SOCKET=~/.openclaw/modelauth.sock python3 modelauth_client.py
    MODELAUTH_URL=http://127.0.0.1:8787 MODELAUTH_TOKEN=... python3 modelauth_client.py
"""

import http.client
import json
import os
import socket
import sys
import urllib.parse


class ModelAuthError(Exception):
    """An error answer: `status`, `code` and `message` from `{"error": {...}}`."""

    def __init__(self, status, code, message):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class ModelAuth:
    def __init__(self, socket_path=None, base_url=None, token=None, timeout=30):
        self.socket_path, self.token, self.timeout = socket_path, token, timeout
        self.url = urllib.parse.urlsplit(base_url) if base_url else None

    def _connection(self):
        if self.socket_path:
            return _UnixConnection(self.socket_path, self.timeout)
        return http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=self.timeout)

    def request(self, method, path, body=None):
        headers = {"accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps({k: v for k, v in body.items() if v is not None})
            headers["content-type"] = "application/json"
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        conn = self._connection()
        try:
            conn.request(method, path, body=payload, headers=headers)
            res = conn.getresponse()
            text = res.read().decode()
        finally:
            conn.close()
        value = json.loads(text) if text else None
        if res.status >= 400:
            err = (value or {}).get("error", {})
            raise ModelAuthError(res.status, err.get("code"), err.get("message"))
        return value

    def _agent(self, agent):
        return urllib.parse.quote(agent, safe="")

    def message(self, agent, session, text):
        """Interprets an inbound chat message; send `cleaned` to the model, show `reply` if set."""
        return self.request("POST", f"/v1/agents/{self._agent(agent)}/messages", {"session": session, "text": text})

    def resolve(self, agent, provider, session=None, model=None, include_secret=False):
        """Which credential to use next: `{decision, profile, candidates, secret?}`."""
        body = {"session": session, "provider": provider, "model": model, "includeSecret": include_secret}
        return self.request("POST", f"/v1/agents/{self._agent(agent)}/resolve", body)

    def outcome(self, agent, profile, outcome, model=None, status=None, body=None, retry_after_s=None):
        """Records what happened: "success", "failure" (with status/body) or a reason name."""
        payload = {"profile": profile, "outcome": outcome, "model": model, "status": status, "body": body, "retryAfterS": retry_after_s}
        return self.request("POST", f"/v1/agents/{self._agent(agent)}/outcomes", payload)

    def status(self, agent):
        return self.request("GET", f"/v1/agents/{self._agent(agent)}/status")


def demo():
    if not os.environ.get("MODELAUTH_SOCKET") and not os.environ.get("MODELAUTH_URL"):
        print("set MODELAUTH_SOCKET=<state>/modelauth.sock (or MODELAUTH_URL and MODELAUTH_TOKEN) to a modelauth serve",
              file=sys.stderr)
        sys.exit(2)
    if os.environ.get("MODELAUTH_SOCKET"):
        ma = ModelAuth(socket_path=os.environ["MODELAUTH_SOCKET"])
    else:
        ma = ModelAuth(base_url=os.environ["MODELAUTH_URL"], token=os.environ.get("MODELAUTH_TOKEN"))
    agent = os.environ.get("MODELAUTH_AGENT", "main")
    # The full demo pins a session and reports a made-up 429: never against a real state by accident.
    if os.environ.get("MODELAUTH_DEMO") != "1":
        r = ma.resolve(agent, "anthropic")
        print(json.dumps({"step": "resolve", "profile": r["profile"], "decision": r["decision"]}))
        print("read-only demo: it changed nothing. For pins and cooldowns, start a scratch server "
              "(modelauth --state-dir \"$(mktemp -d)\" serve) and set MODELAUTH_DEMO=1", file=sys.stderr)
        return
    out = ma.message(agent, "agent:main:py-pinned", "/model opus@anthropic:work")
    print(json.dumps({"step": "pin", "reply": out["reply"]}))
    first = ma.resolve(agent, "anthropic", session="agent:main:py-pinned")
    print(json.dumps({"step": "resolve", "profile": first["profile"], "decision": first["decision"]}))
    rep = ma.outcome(agent, first["profile"], "failure", status=429, body="rate limited")
    print(json.dumps({"step": "report", "applied": rep["applied"]}))
    # A user pin stays first even while cooling down; a session without one gets the next profile.
    again = ma.resolve(agent, "anthropic", session="agent:main:py-pinned")
    nxt = ma.resolve(agent, "anthropic", session="agent:main:py-free")
    print(json.dumps({"step": "resolve-again", "pinned": again["profile"], "unpinned": nxt["profile"]}))
    try:
        ma.message(agent, 42, "x")
    except ModelAuthError as e:
        print(json.dumps({"step": "error", "status": e.status, "code": e.code}))


if __name__ == "__main__":
    try:
        demo()
    except Exception as e:  # noqa: BLE001 - a demo reports any failure and exits non-zero
        print(e, file=sys.stderr)
        sys.exit(1)
