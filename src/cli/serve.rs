//! `serve`: runs the HTTP service until SIGTERM/SIGINT, printing each bound address on stdout
//! (`listening on tcp:127.0.0.1:8787`) so a supervisor or test can find a port chosen with `:0`.

use std::path::PathBuf;

use modelauth::server::{Listen, ServeOptions, Server, shutdown_signal};

use super::CliError;
use super::context::Context;

/// Runs `serve`; returns 0 after a clean shutdown.
pub fn run(
    ctx: &Context,
    listen: &[String],
    allow_remote: bool,
    token_file: Option<PathBuf>,
    header_timeout: Option<std::time::Duration>,
    threads: Option<u16>,
) -> Result<u8, CliError> {
    let listen = listen
        .iter()
        .map(|l| l.parse::<Listen>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::User(e.to_string()))?;
    let options = ServeOptions {
        listen,
        allow_remote,
        token_file,
        header_timeout,
    };
    // One thread answers every connection unless asked otherwise: a resolve costs microseconds, and
    // on a host shared with the gateway a second worker adds wake-ups and work stealing to each
    // request (docs/DECISIONS.md, "modelauth serve"). Calls that may wait run on the blocking pool.
    let mut builder = match threads.unwrap_or(1) {
        0 | 1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(usize::from(n));
            b
        }
    };
    let runtime = builder
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            what: "start the server runtime".into(),
            source,
        })?;
    let gateway = ctx.gateway.clone();
    runtime.block_on(async move {
        let server = Server::bind(gateway, options)
            .await
            .map_err(|e| CliError::User(e.to_string()))?;
        for a in server.addresses() {
            println!("listening on {a}");
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server
            .run(shutdown_signal())
            .await
            .map_err(|e| CliError::User(e.to_string()))?;
        Ok::<_, CliError>(())
    })?;
    Ok(0)
}
