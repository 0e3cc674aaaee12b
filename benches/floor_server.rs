//! The HTTP floor for `benches/floor.sh` (issue 32): a bare hyper server with `serve`'s runtime
//! settings (one current-thread runtime, HTTP/1.1, the same header timeout) that reads each request's
//! body and answers a fixed JSON document of `FLOOR_BYTES` bytes. What `serve` costs beyond this is
//! modelauth's own work. Prints `listening on tcp:ADDR` as `serve` does.
//!
//! `cargo build --release --features cli --example floor_server` (built by `benches/floor.sh`)

use std::convert::Infallible;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

fn main() {
    let bytes: usize = std::env::var("FLOOR_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut doc = String::from("{\"pad\":\"");
    doc.push_str(&"x".repeat(bytes.saturating_sub(doc.len() + 2)));
    doc.push_str("\"}");
    let doc: &'static str = Box::leak(doc.into_boxed_str());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on tcp:{}", listener.local_addr().unwrap());
        use std::io::Write;
        std::io::stdout().flush().unwrap();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| async move {
                        let body =
                            axum::body::to_bytes(axum::body::Body::new(req.into_body()), 1 << 20)
                                .await;
                        let status = if body.is_ok() { 200 } else { 400 };
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(axum::body::Body::from(doc))
                                .unwrap(),
                        )
                    },
                );
                let mut http = http1::Builder::new();
                http.timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10));
                let _ = http.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
}
