//! `models auth login`: the OAuth login in a terminal, or on a headless host.

use std::io::{BufRead, IsTerminal};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use modelauth::{Login, LoginError, format_time};

use super::CliError;
use super::context::Context;
use super::output;

/// Where the code came from.
type Code = Result<(String, Option<String>), LoginError>;

/// Runs the login for `provider` and stores the profile.
pub fn run(
    ctx: &Context,
    provider: &str,
    profile_id: Option<&str>,
    no_browser: bool,
    wait: Duration,
) -> Result<u8, CliError> {
    let agent = ctx.agent_to_change()?;
    let login = agent.begin_login(provider).map_err(login_err)?;
    let url = login.url();
    eprintln!(
        "Log in to {} by opening this URL in a browser:\n\n  {url}\n",
        login.provider()
    );
    if !no_browser {
        open_browser(&url);
    }
    let login = Arc::new(login);
    let (tx, rx) = mpsc::channel::<Code>();
    let mut sources = 0;
    match login.listen() {
        Some(Ok(listener)) => {
            eprintln!("Waiting for the redirect to {} …", login.redirect_uri());
            sources += 1;
            let (tx, login) = (tx.clone(), Arc::clone(&login));
            std::thread::spawn(move || {
                if let Some(code) = login.wait_for_redirect(&listener, wait) {
                    let _ = tx.send(code);
                }
            });
        }
        Some(Err(e)) => eprintln!(
            "Cannot listen on {} ({e}); paste the redirect URL instead.",
            login.redirect_uri()
        ),
        None => {}
    }
    let tty = std::io::stdin().is_terminal();
    sources += 1;
    read_pasted(tx.clone(), tty);
    drop(tx);
    let code = receive(&rx, sources, wait, tty)?;
    let (code, state) = code.map_err(login_err)?;
    let done = login
        .finish(&code, state.as_deref(), profile_id)
        .map_err(login_err)?;
    if ctx.json {
        output::json(&serde_json::json!({
            "profile": done.profile, "expires": done.expires, "email": done.email,
        }));
    } else {
        println!(
            "Logged in: stored {} (access token valid until {}; modelauth refreshes it when it is used).",
            done.profile,
            format_time(done.expires)
        );
    }
    Ok(0)
}

/// Reads a pasted code or redirect URL on a thread of its own (hidden on a terminal), sending what
/// it got to `tx`; without a terminal, an empty input is sent as "no code".
fn read_pasted(tx: mpsc::Sender<Code>, tty: bool) {
    std::thread::spawn(move || {
        let pasted = if tty {
            rpassword::prompt_password(
                "Paste the authorization code or the redirect URL (input hidden): ",
            )
            .ok()
        } else {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .ok()
                .map(|_| line)
        };
        match pasted.filter(|p| !p.trim().is_empty()) {
            Some(p) => {
                let _ = tx.send(Login::parse_pasted(&p));
            }
            None if !tty => {
                let _ = tx.send(Err(LoginError::NoCode));
            }
            None => {}
        }
    });
}

/// The first code any source delivers within `wait`. A source that ends without one (stdin at its
/// end) is skipped while another one may still deliver.
fn receive(
    rx: &mpsc::Receiver<Code>,
    mut sources: usize,
    wait: Duration,
    tty: bool,
) -> Result<Code, CliError> {
    loop {
        match rx.recv_timeout(wait) {
            Ok(Err(LoginError::NoCode)) if sources > 1 => sources -= 1,
            Ok(Err(LoginError::NoCode)) if !tty => {
                return Err(CliError::User(
                    "no terminal to paste the authorization code into, and none on stdin: run the login in a terminal, \
                     or pipe the code (or the whole redirect URL) into `modelauth models auth login`"
                        .into(),
                ));
            }
            Ok(code) => return Ok(code),
            Err(_) => {
                return Err(CliError::User(format!(
                    "no authorization code arrived within {}; run the login again (--wait sets how long to wait)",
                    humantime::format_duration(wait)
                )));
            }
        }
    }
}

/// Tries to open `url` in the desktop's browser; silent when there is none (a headless host).
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        "xdg-open"
    } else {
        return;
    };
    let _ = std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// A login error as a CLI error.
fn login_err(e: LoginError) -> CliError {
    match e {
        LoginError::Agent(a) => CliError::Agent(a),
        other => CliError::User(other.to_string()),
    }
}
