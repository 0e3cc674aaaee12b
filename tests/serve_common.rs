//! A real `modelauth serve` process for the server tests, and a minimal HTTP/1.1 client over TCP or
//! the unix socket (no client library: what goes over the wire is exactly what the test wrote).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A running server; killed when dropped.
pub struct Serve {
    /// The process.
    pub child: Child,
    /// `127.0.0.1:PORT` of its TCP listener, if any.
    pub tcp: Option<String>,
    /// Its unix socket, if any.
    pub unix: Option<PathBuf>,
    /// The bearer token (read from the token file), if TCP.
    pub token: Option<String>,
    /// Everything it wrote on stderr so far is read by [`Serve::stderr`].
    stderr: Option<std::process::ChildStderr>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A state directory with two anthropic API keys (JSON generation).
pub fn json_state() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/main/agent");
    std::fs::create_dir_all(&agent).unwrap();
    let profiles = json!({"version": 1, "profiles": {
        "anthropic:work": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-SERVEWORK0000"},
        "anthropic:home": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-SERVEHOME0000"}},
        "order": {"anthropic": ["anthropic:work", "anthropic:home"]}});
    std::fs::write(agent.join("auth-profiles.json"), profiles.to_string()).unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        json!({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-6"},
            "models": {"anthropic/claude-opus-4-6": {"alias": "opus"}, "anthropic/claude-sonnet-4-6": {"alias": "sonnet"}}}}})
            .to_string(),
    )
    .unwrap();
    dir
}

/// Starts `modelauth --state-dir DIR serve ARGS` and waits for its `listening on` lines.
pub fn serve(dir: &Path, args: &[&str]) -> Serve {
    serve_with(dir, args, &[])
}

/// [`serve`] with extra environment variables.
pub fn serve_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Serve {
    let bin = assert_cmd::cargo::cargo_bin("modelauth");
    let mut child = std::process::Command::new(bin)
        .arg("--state-dir")
        .arg(dir)
        .arg("serve")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .envs(crate::common::no_real_token_endpoints())
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let expected = args
        .iter()
        .filter(|a| a.starts_with("unix:") || a.starts_with("tcp:"))
        .count()
        .max(1);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut tcp, mut unix) = (None, None);
    for _ in 0..expected {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("serve did not start: {line}{err}");
        };
        if let Some(a) = addr.strip_prefix("tcp:") {
            tcp = Some(a.to_owned());
        } else if let Some(p) = addr.strip_prefix("unix:") {
            unix = Some(PathBuf::from(p));
        }
    }
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let token = tcp.as_ref().map(|_| {
        std::fs::read_to_string(dir.join("modelauth.token"))
            .unwrap()
            .trim()
            .to_owned()
    });
    let stderr = child.stderr.take();
    Serve {
        child,
        tcp,
        unix,
        token,
        stderr,
    }
}

impl Serve {
    /// Sends SIGTERM and waits for the exit; returns the exit code and how long it took.
    pub fn terminate(&mut self) -> (Option<i32>, Duration) {
        #[allow(
            clippy::disallowed_methods,
            reason = "the shutdown deadline is real time"
        )]
        let started = Instant::now();
        let sent = std::process::Command::new("kill")
            .args(["-s", "TERM", "--", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        (status.code(), started.elapsed())
    }

    /// Everything the server wrote on stderr (after it exited).
    pub fn stderr(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }

    /// `method path` over TCP with the token, JSON `body`.
    pub fn tcp(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token.as_deref().unwrap());
        request(
            Conn::Tcp(self.tcp.as_deref().unwrap()),
            method,
            path,
            body.map(|b| b.to_string()).as_deref(),
            &[("authorization", &auth)],
        )
    }

    /// `method path` over the unix socket, JSON `body`.
    pub fn unix(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        request(
            Conn::Unix(self.unix.as_deref().unwrap()),
            method,
            path,
            body.map(|b| b.to_string()).as_deref(),
            &[],
        )
    }
}

/// Where to connect.
#[derive(Clone, Copy)]
pub enum Conn<'a> {
    /// `IP:PORT`.
    Tcp(&'a str),
    /// A socket path.
    Unix(&'a Path),
}

/// One request on a fresh connection (`Connection: close`); the status and the body as JSON (or as a
/// JSON string when it is not JSON).
pub fn request(
    conn: Conn<'_>,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    raw(conn, req.as_bytes())
}

/// Writes `bytes` and reads the whole response.
pub fn raw(conn: Conn<'_>, bytes: &[u8]) -> (u16, Value) {
    let mut text = Vec::new();
    match conn {
        Conn::Tcp(a) => {
            let mut s = std::net::TcpStream::connect(a).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let _ = s.write_all(bytes);
            let _ = s.read_to_end(&mut text);
        }
        Conn::Unix(p) => {
            let mut s = std::os::unix::net::UnixStream::connect(p).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let _ = s.write_all(bytes);
            let _ = s.read_to_end(&mut text);
        }
    }
    parse_response(&String::from_utf8_lossy(&text))
}

fn parse_response(text: &str) -> (u16, Value) {
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, value)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}
