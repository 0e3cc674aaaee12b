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
    tls: bool,
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
            tls: false,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        s.spawn();
        s
    }

    /// Starts a server that speaks only TLS, with a certificate for 127.0.0.1 signed by a CA of the
    /// test's own ([`RedisServer::ca`]), made with `openssl`.
    pub fn start_tls() -> RedisServer {
        let mut s = RedisServer {
            port: free_port(),
            password: None,
            tls: true,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        let d = s.dir.path();
        let openssl = |args: &[&str]| {
            let ok = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl");
            assert!(ok.success(), "openssl {args:?}");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=modelauth test CA",
            "-days",
            "2",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(d.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        s.spawn();
        s
    }

    /// The CA that signed a TLS server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn client(&self) -> redis::Client {
        if self.tls {
            let certs = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(std::fs::read(self.ca()).unwrap()),
            };
            redis::Client::build_with_tls(self.url(), certs).unwrap()
        } else {
            redis::Client::open(self.url()).unwrap()
        }
    }

    /// `redis://127.0.0.1:<port>` (with the password when there is one).
    pub fn url(&self) -> String {
        if self.tls {
            return format!("rediss://127.0.0.1:{}", self.port);
        }
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(binary());
        if self.tls {
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .args([
                    "--tls-cert-file",
                    "server.crt",
                    "--tls-key-file",
                    "server.key",
                ])
                .args(["--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"])
                .current_dir(self.dir.path());
        } else {
            cmd.args(["--port", &self.port.to_string()]);
        }
        cmd.args(["--bind", "127.0.0.1"])
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
        let client = self.client();
        let Ok(mut con) = client.get_connection_with_timeout(Duration::from_millis(200)) else {
            return false;
        };
        let _ = con.set_read_timeout(Some(Duration::from_millis(200)));
        redis::cmd("PING").query::<String>(&mut con).is_ok()
    }

    /// A connection for the test's own checks.
    pub fn con(&self) -> redis::Connection {
        let client = self.client();
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
            .args(["-s", sig, "--", &pid])
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
                .args(["-s", "CONT", "--", &c.id().to_string()])
                .status();
        }
    }
}
