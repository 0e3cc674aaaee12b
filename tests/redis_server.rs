//! A real `redis-server` of the test's own, on a free loopback port, that the test can kill, pause
//! (`SIGSTOP`) and restart, empty or with its data.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One server process and its data directory.
pub struct RedisServer {
    /// Its loopback port.
    pub port: u16,
    password: Option<String>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// The binary: `MODELAUTH_REDIS_SERVER`, else `redis-server` on PATH (`.ci/run` installs it).
fn binary() -> PathBuf {
    std::env::var_os("MODELAUTH_REDIS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// Starts a server without a password.
    pub fn start() -> RedisServer {
        RedisServer::start_with(None)
    }

    /// Starts a server, with `requirepass` when a password is given.
    pub fn start_with(password: Option<&str>) -> RedisServer {
        let mut s = RedisServer {
            port: free_port(),
            password: password.map(str::to_owned),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        s.spawn();
        s
    }

    /// `redis://127.0.0.1:<port>` (with the password when there is one).
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(binary());
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--dbfilename", "dump.rdb", "--loglevel", "warning"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = &self.password {
            cmd.args(["--requirepass", p]);
        }
        self.child = Some(
            cmd.spawn()
                .expect("redis-server (install it: apt-get install redis-server)"),
        );
        for _ in 0..500 {
            if self.ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// True when the server answers PING.
    pub fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut con) = client.get_connection_with_timeout(Duration::from_millis(200)) else {
            return false;
        };
        let _ = con.set_read_timeout(Some(Duration::from_millis(200)));
        redis::cmd("PING").query::<String>(&mut con).is_ok()
    }

    /// A connection for the test's own checks.
    pub fn con(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).unwrap();
        let con = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap();
        con.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        con
    }

    /// Kills the server (SIGKILL), losing what it did not save.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Saves the data to disk (so a restart keeps it).
    pub fn save(&self) {
        let _: String = redis::cmd("SAVE").query(&mut self.con()).unwrap();
    }

    /// Starts it again on the same port; `keep_data`: with what it last saved, else empty.
    pub fn restart(&mut self, keep_data: bool) {
        self.kill();
        if !keep_data {
            let _ = std::fs::remove_file(self.dir.path().join("dump.rdb"));
        }
        self.spawn();
    }

    /// Stops the process with SIGSTOP: connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Continues a paused server.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.resume_quietly();
        self.kill();
    }
}

impl RedisServer {
    fn resume_quietly(&self) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
        }
    }
}
