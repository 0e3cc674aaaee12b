//! A real OAuth token server on a free loopback port, for the OAuth tests: counts refresh calls, can
//! rotate refresh tokens, refuse with `invalid_grant`, answer slowly or with 500, and runs the
//! authorization endpoint of the login flow (checking the PKCE verifier at the code exchange).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;

/// How the server answers refresh grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// New tokens.
    Ok,
    /// 400 `invalid_grant`.
    InvalidGrant,
    /// 500.
    Fail,
}

#[derive(Debug)]
struct State {
    mode: Mode,
    delay: Duration,
    rotate: bool,
    /// Refresh grants received (counted when the request arrives).
    refresh_calls: usize,
    /// Refresh grants answered with new tokens.
    issued: usize,
    /// The refresh token that is valid now (`None`: any).
    valid_refresh: Option<String>,
    /// code → (challenge, redirect_uri).
    codes: HashMap<String, (String, String)>,
    exchanges: usize,
    email: String,
    /// Content types of the token requests, in order.
    content_types: Vec<String>,
    /// What issued tokens start with.
    stem: String,
}

/// The running server; stops when dropped.
pub struct TokenServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl TokenServer {
    /// Starts a server on a free loopback port.
    pub fn start() -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Ok,
            delay: Duration::ZERO,
            rotate: true,
            refresh_calls: 0,
            issued: 0,
            valid_refresh: None,
            codes: HashMap::new(),
            exchanges: 0,
            email: "me@example.com".into(),
            content_types: Vec::new(),
            stem: String::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let st = Arc::clone(&st);
                    std::thread::spawn(move || handle(conn, &st));
                }
            }
        });
        TokenServer { addr, state, stop }
    }

    /// `http://127.0.0.1:PORT/token`.
    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// `http://127.0.0.1:PORT/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("http://{}/authorize", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Issued tokens start with `stem` (to look for them in logs).
    pub fn set_token_stem(&self, stem: &str) {
        self.state.lock().unwrap().stem = stem.to_owned();
    }

    pub fn set_rotate(&self, rotate: bool) {
        self.state.lock().unwrap().rotate = rotate;
    }

    /// Only `token` is accepted as a refresh token from now on.
    pub fn accept_refresh(&self, token: &str) {
        self.state.lock().unwrap().valid_refresh = Some(token.to_owned());
    }

    /// Refresh grants received.
    pub fn refresh_calls(&self) -> usize {
        self.state.lock().unwrap().refresh_calls
    }

    /// Code exchanges that passed the PKCE check.
    pub fn exchanges(&self) -> usize {
        self.state.lock().unwrap().exchanges
    }

    pub fn content_types(&self) -> Vec<String> {
        self.state.lock().unwrap().content_types.clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// One request: head and body.
struct Request {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: String,
}

fn read_request(conn: &mut TcpStream) -> Option<Request> {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + len {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&data[head_end..]).into_owned();
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn respond(conn: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
}

/// The fields of a form or JSON body.
fn fields_of(req: &Request) -> HashMap<String, String> {
    if req
        .headers
        .get("content-type")
        .is_some_and(|c| c.contains("json"))
    {
        let v: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        query(&req.body)
    }
}

fn query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn handle(mut conn: TcpStream, state: &Mutex<State>) {
    let Some(req) = read_request(&mut conn) else {
        return;
    };
    let (path, q) = req.target.split_once('?').unwrap_or((&req.target, ""));
    match (req.method.as_str(), path) {
        ("GET", "/authorize") => authorize(&mut conn, state, &query(q)),
        ("POST", "/token") => token(&mut conn, state, &req),
        _ => respond(&mut conn, "404 Not Found", "", "{}"),
    }
}

fn authorize(conn: &mut TcpStream, state: &Mutex<State>, q: &HashMap<String, String>) {
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return respond(
            conn,
            "400 Bad Request",
            "",
            r#"{"error":"invalid_request"}"#,
        );
    }
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    let redirect = q["redirect_uri"].clone();
    state.lock().unwrap().codes.insert(
        code.clone(),
        (q["code_challenge"].clone(), redirect.clone()),
    );
    let location = format!("{redirect}?code={code}&state={}", q["state"]);
    respond(
        conn,
        "302 Found",
        &format!("Location: {location}\r\n"),
        "{}",
    );
}

fn token(conn: &mut TcpStream, state: &Mutex<State>, req: &Request) {
    let f = fields_of(req);
    let ctype = req.headers.get("content-type").cloned().unwrap_or_default();
    state.lock().unwrap().content_types.push(ctype);
    match f.get("grant_type").map(String::as_str) {
        Some("refresh_token") => refresh(conn, state, &f),
        Some("authorization_code") => exchange(conn, state, &f),
        _ => respond(
            conn,
            "400 Bad Request",
            "",
            r#"{"error":"unsupported_grant_type"}"#,
        ),
    }
}

fn refresh(conn: &mut TcpStream, state: &Mutex<State>, f: &HashMap<String, String>) {
    let (mode, delay) = {
        let mut s = state.lock().unwrap();
        s.refresh_calls += 1;
        (s.mode, s.delay)
    };
    std::thread::sleep(delay);
    let mut s = state.lock().unwrap();
    let given = f.get("refresh_token").cloned().unwrap_or_default();
    match mode {
        Mode::Fail => {
            return respond(
                conn,
                "500 Internal Server Error",
                "",
                r#"{"error":"server_error"}"#,
            );
        }
        Mode::InvalidGrant => {
            return respond(
                conn,
                "400 Bad Request",
                "",
                r#"{"error":"invalid_grant","error_description":"Refresh token not found or invalid"}"#,
            );
        }
        Mode::Ok => {}
    }
    if s.valid_refresh.as_ref().is_some_and(|v| *v != given) {
        return respond(
            conn,
            "400 Bad Request",
            "",
            r#"{"error":"refresh_token_reused"}"#,
        );
    }
    s.issued += 1;
    let n = s.issued;
    let stem = s.stem.clone();
    let rotated = s.rotate.then(|| format!("{stem}refresh-{n}"));
    if let Some(r) = &rotated {
        s.valid_refresh = Some(r.clone());
    }
    let mut body = serde_json::json!({"access_token": format!("{stem}access-{n}"), "expires_in": 3600, "token_type": "Bearer"});
    if let Some(r) = rotated {
        body["refresh_token"] = r.into();
    }
    respond(conn, "200 OK", "", &body.to_string());
}

fn exchange(conn: &mut TcpStream, state: &Mutex<State>, f: &HashMap<String, String>) {
    let mut s = state.lock().unwrap();
    let Some((challenge, redirect)) = f.get("code").and_then(|c| s.codes.remove(c)) else {
        return respond(conn, "400 Bad Request", "", r#"{"error":"invalid_grant"}"#);
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let computed = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    if computed != challenge || f.get("redirect_uri") != Some(&redirect) {
        return respond(
            conn,
            "400 Bad Request",
            "",
            r#"{"error":"invalid_grant","error_description":"PKCE verification failed"}"#,
        );
    }
    s.exchanges += 1;
    let claims = URL_SAFE_NO_PAD.encode(serde_json::json!({"email": s.email}).to_string());
    let body = serde_json::json!({
        "access_token": "login-access", "refresh_token": "login-refresh", "expires_in": 3600,
        "id_token": format!("eyJhbGciOiJub25lIn0.{claims}.sig"),
    });
    s.valid_refresh = Some("login-refresh".into());
    respond(conn, "200 OK", "", &body.to_string());
}
