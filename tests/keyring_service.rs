//! A real Secret Service for tests: a private D-Bus session bus (`dbus-daemon`) with
//! `gnome-keyring-daemon` on it, its login keyring created and unlocked with a known password, in a
//! temporary home. `.ci/run` installs both; elsewhere the tests that need it say so and skip, unless
//! `CI` is set (then a missing daemon fails the test).

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Secret Service; stopped when dropped.
pub struct Keyring {
    dir: tempfile::TempDir,
    bus: Child,
    daemon: Child,
    address: String,
}

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Keyring {
    /// Starts one, or `None` (with a note) when the daemons are not installed outside CI.
    pub fn start() -> Option<Keyring> {
        let tools = [
            "dbus-daemon",
            "gnome-keyring-daemon",
            "secret-tool",
            "dbus-send",
            "gdbus",
        ];
        if let Some(missing) = tools.iter().find(|t| !on_path(t)) {
            assert!(
                std::env::var_os("CI").is_none(),
                "{missing} is missing: .ci/run installs dbus, gnome-keyring, libsecret-tools and libglib2.0-bin"
            );
            eprintln!(
                "skipped: {missing} is not installed (apt-get install dbus gnome-keyring libsecret-tools)"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "run", "data"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let mut perm = std::fs::metadata(dir.path().join("run"))
            .unwrap()
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o700);
        std::fs::set_permissions(dir.path().join("run"), perm).unwrap();
        let address = format!("unix:path={}", dir.path().join("bus").display());
        let bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(|| dir.path().join("bus").exists(), "the session bus");
        let mut k = Keyring {
            daemon: Command::new("true").spawn().unwrap(),
            dir,
            bus,
            address,
        };
        k.daemon = k.spawn_daemon();
        let ready = || k.dbus_send_has_owner();
        wait_for(ready, "gnome-keyring-daemon on the bus");
        Some(k)
    }

    fn spawn_daemon(&self) -> Child {
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The login keyring's password, read from stdin until it closes.
        let mut stdin = daemon.stdin.take().unwrap();
        stdin.write_all(b"test-password").unwrap();
        drop(stdin);
        daemon
    }

    fn dbus_send_has_owner(&self) -> bool {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .env_clear()
            .envs(self.env())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    /// The variables a process needs to reach this keyring.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let p = |s: &str| self.dir.path().join(s).display().to_string();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", self.address.clone()),
            ("HOME", p("home")),
            ("XDG_RUNTIME_DIR", p("run")),
            ("XDG_DATA_HOME", p("data")),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
        ]
    }

    /// `secret-tool ARGS` against this keyring, with `input` on stdin; its stdout.
    pub fn secret_tool(&self, args: &[&str], input: &str) -> String {
        let mut child = Command::new("secret-tool")
            .args(args)
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "secret-tool {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// What the keyring holds for profile `account` (as modelauth stores it), read by another client.
    pub fn lookup(&self, account: &str) -> String {
        self.secret_tool(&["lookup", "service", "modelauth", "account", account], "")
    }

    /// Replaces the secret of `account` from outside modelauth (a user rotating the key).
    pub fn store(&self, account: &str, secret: &str) {
        let label = format!("--label=modelauth: {account}");
        let args = [
            "store",
            &label,
            "service",
            "modelauth",
            "account",
            account,
            "application",
            "modelauth",
        ];
        self.secret_tool(&args, secret);
    }

    /// Stops (`true`) or continues (`false`) the keyring daemon: a stopped one never answers.
    pub fn freeze(&self, stop: bool) {
        let signal = if stop { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &self.daemon.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Locks the login collection (as a screen lock or a logout does), with the Secret Service's
    /// own `Lock` call.
    pub fn lock(&self) {
        let out = Command::new("gdbus")
            .args([
                "call",
                "--session",
                "--dest",
                "org.freedesktop.secrets",
                "--object-path",
                "/org/freedesktop/secrets",
                "--method",
                "org.freedesktop.Secret.Service.Lock",
                "['/org/freedesktop/secrets/collection/login']",
            ])
            .env_clear()
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "lock: {out:?}");
    }
}

#[allow(clippy::disallowed_methods, reason = "a start-up bound in real time")]
fn wait_for(mut ready: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}
