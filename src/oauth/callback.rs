//! The loopback listener that receives the provider's redirect after a browser login
//! (`http://localhost:PORT/path?code=…&state=…`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::login::query_param;

/// What the redirect carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// The authorization code and the state.
    Code {
        /// The code.
        code: String,
        /// The state, if the provider sent one.
        state: Option<String>,
    },
    /// The provider reported an error (`?error=access_denied`).
    Denied(String),
}

/// The loopback address and path of a redirect URI, when it is `http://localhost|127.0.0.1|[::1]:PORT/…`.
pub fn loopback_of(redirect_uri: &str) -> Option<(SocketAddr, String)> {
    let rest = redirect_uri.strip_prefix("http://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = authority.rsplit_once(':')?;
    let ip = match host {
        "localhost" | "127.0.0.1" => "127.0.0.1",
        "[::1]" => "::1",
        _ => return None,
    };
    let port: u16 = port.parse().ok()?;
    let path = format!("/{}", path.split(['?', '#']).next().unwrap_or(""));
    Some((SocketAddr::new(ip.parse().ok()?, port), path))
}

/// Waits on `listener` until a request for `path` carries a code or an error, or until `deadline`
/// passes (`None`). Other requests (a favicon, a probe) get a 404 and the wait goes on.
#[allow(clippy::disallowed_methods, reason = "a deadline on real time")]
pub fn wait(listener: &TcpListener, path: &str, timeout: Duration) -> Option<Callback> {
    let started = Instant::now();
    listener.set_nonblocking(true).ok()?;
    while started.elapsed() < timeout {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(cb) = serve_one(stream, path) {
                    return Some(cb);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    None
}

/// Answers one connection; the callback when it was the redirect.
fn serve_one(mut stream: TcpStream, path: &str) -> Option<Callback> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let target = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("GET "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or("");
    let (req_path, query) = target.split_once('?').unwrap_or((target, ""));
    let found = if req_path == path {
        if let Some(e) = query_param(query, "error") {
            Some(Callback::Denied(e))
        } else {
            query_param(query, "code")
                .filter(|c| !c.is_empty())
                .map(|code| Callback::Code {
                    code,
                    state: query_param(query, "state"),
                })
        }
    } else {
        None
    };
    let (status, body) = match &found {
        Some(Callback::Code { .. }) => (
            "200 OK",
            "modelauth: login received. You can close this window and return to the terminal.",
        ),
        Some(Callback::Denied(_)) => (
            "200 OK",
            "modelauth: the provider reported an error; see the terminal.",
        ),
        None => ("404 Not Found", "not the login callback"),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_are_recognised() {
        let (addr, path) = loopback_of("http://localhost:1455/auth/callback").unwrap();
        assert_eq!(addr.to_string(), "127.0.0.1:1455");
        assert_eq!(path, "/auth/callback");
        assert_eq!(
            loopback_of("https://console.anthropic.com/oauth/code/callback"),
            None
        );
        assert_eq!(loopback_of("http://example.com:80/cb"), None);
        assert_eq!(loopback_of("http://[::1]:8085").unwrap().1, "/");
    }

    #[test]
    fn the_redirect_is_read_and_other_requests_are_ignored() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            for target in ["/favicon.ico", "/cb?code=c%2F1&state=s"] {
                let mut s = TcpStream::connect(addr).unwrap();
                write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                let mut answer = String::new();
                s.read_to_string(&mut answer).unwrap();
                assert!(answer.starts_with("HTTP/1.1"));
            }
        });
        let got = wait(&listener, "/cb", Duration::from_secs(10));
        client.join().unwrap();
        assert_eq!(
            got,
            Some(Callback::Code {
                code: "c/1".into(),
                state: Some("s".into())
            })
        );
    }
}
