//! [`Stream`]: a connection from either kind of listener, as one I/O type for hyper. It also gives
//! hyper's own refusals (a malformed request line, headers too large: answered before any service
//! runs, with an empty body) the documented `{"error":{code,message}}` body.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// A unix-socket or TCP connection.
#[derive(Debug)]
pub struct Stream {
    inner: Inner,
    /// A replacement response still to be written before anything else.
    pending: Vec<u8>,
}

#[derive(Debug)]
enum Inner {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    /// A connection from a unix listener.
    pub fn unix(s: UnixStream) -> Stream {
        Stream {
            inner: Inner::Unix(s),
            pending: Vec::new(),
        }
    }

    /// A connection from a TCP listener.
    pub fn tcp(s: TcpStream) -> Stream {
        Stream {
            inner: Inner::Tcp(s),
            pending: Vec::new(),
        }
    }

    fn inner(&mut self) -> Pin<&mut (dyn AsyncWrite + Unpin + Send)> {
        match &mut self.inner {
            Inner::Unix(s) => Pin::new(s),
            Inner::Tcp(s) => Pin::new(s),
        }
    }

    /// Writes what is pending; ready once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            match self.inner().poll_write(cx, &pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.pending = pending[n..].to_vec(),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    self.pending = pending;
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// hyper's own answer to a request it could not read, with a JSON body instead of none; `None` for
/// anything else. The service's own 4xx answers always have a body, so an empty 4xx is hyper's.
fn json_refusal(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let rest = text.strip_prefix("HTTP/1.1 4")?;
    if !text.ends_with("\r\n\r\n")
        || !text
            .to_ascii_lowercase()
            .contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let status = format!("4{}", rest.get(..2)?);
    let reason = rest.get(3..)?.split("\r\n").next()?;
    let (code, message) = match status.as_str() {
        "431" => (
            "headers_too_large",
            "the request's headers are too large; send fewer or shorter headers",
        ),
        "414" => ("uri_too_long", "the request's path is too long"),
        "408" => (
            "header_timeout",
            "the request's headers did not arrive in time; send the whole request at once",
        ),
        _ => (
            "bad_request",
            "the request could not be read as HTTP/1.1 (a malformed request line or header); see docs/api.md",
        ),
    };
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        if buf.len() < 512
            && let Some(answer) = json_refusal(buf)
        {
            this.pending = answer;
            // Written as far as hyper knows; the replacement goes out on the next drain.
            let _ = this.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        this.inner().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        this.inner().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        this.inner().poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total < 512 {
            // Small writes (where hyper's refusals are) go through the check as one buffer.
            let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            return self.poll_write(cx, &joined);
        }
        let this = self.get_mut();
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        match &mut this.inner {
            Inner::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Inner::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::json_refusal;

    #[test]
    fn only_an_empty_4xx_is_given_a_body() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = String::from_utf8(json_refusal(hyper_400).unwrap()).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.ends_with("\"code\":\"bad_request\",\"message\":\"the request could not be read as HTTP/1.1 (a malformed request line or header); see docs/api.md\"}}"), "{answer}");
        let hyper_431 =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(
            String::from_utf8(json_refusal(hyper_431).unwrap())
                .unwrap()
                .contains("headers_too_large")
        );
        assert!(json_refusal(b"HTTP/1.1 404 Not Found\r\ncontent-length: 20\r\n\r\n").is_none());
        assert!(json_refusal(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(
            json_refusal(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none(),
            "a head not yet whole"
        );
    }
}
