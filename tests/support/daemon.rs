//! Test harness: the real `holdfast` binary serving a real socket in a temp `HOLDFAST_HOME`.
//!
//! Include with `#[path = "support/daemon.rs"] mod daemon;`. Works on Unix and on Windows
//! (named pipes; under Wine in `make test-windows`), except where an item says otherwise.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use holdfast::paths::{Endpoint, Paths};
use holdfast::transport::Client;
use holdfast::wire::{RequestBody, Response, ResponseBody};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_holdfast")
}

/// An isolated holdfast home (removed on drop) and helpers to run the CLI in it.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        // Short prefix under /tmp keeps socket paths well under sun_path.
        let dir = tempfile::Builder::new().prefix("hf").tempdir_in(std::env::temp_dir()).unwrap();
        Home { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn paths(&self) -> Paths {
        let home = self.path().to_path_buf();
        Paths::resolve(&move |k| (k == "HOLDFAST_HOME").then(|| home.clone().into_os_string())).unwrap()
    }

    pub fn endpoint(&self) -> Endpoint {
        self.paths().endpoint
    }

    pub fn socket(&self) -> PathBuf {
        match self.endpoint() {
            Endpoint::Socket(p) => p,
            Endpoint::Pipe(p) => PathBuf::from(p),
            Endpoint::Tcp { .. } => unreachable!("a home's own endpoint is local"),
        }
    }

    pub fn client(&self) -> Client {
        Client::new(self.endpoint()).with_timeout(Duration::from_secs(10))
    }

    /// A `holdfast` command with this home and a clean environment.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        self.clean_env(&mut c);
        c
    }

    /// Gives `c` this home and a clean environment (any program that talks to the home's daemon).
    pub fn clean_env(&self, c: &mut Command) {
        c.env_clear()
            .env("HOLDFAST_HOME", self.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path());
        // Windows processes need SystemRoot (DLL search, sockets); USERNAME stays unset in both
        // the child and `paths()`, so they agree on the pipe name.
        #[cfg(windows)]
        if let Some(root) = std::env::var_os("SystemRoot") {
            c.env("SystemRoot", root);
        }
        // The user's home for `init`/`doctor` is %USERPROFILE% on Windows.
        #[cfg(windows)]
        c.env("USERPROFILE", self.path());
    }

    /// Runs `holdfast args…` with `stdin` and returns its output.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child =
            self.cmd().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Starts `holdfast daemon extra…` in the foreground as a child and waits until it answers.
    pub fn daemon(&self, extra: &[&str]) -> Daemon {
        let child = self
            .cmd()
            .arg("daemon")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let d = Daemon { child, client: self.client() };
        d.wait_ready();
        d
    }
}

/// A daemon child process. Killed on drop.
pub struct Daemon {
    pub child: Child,
    pub client: Client,
}

impl Daemon {
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Response { body: ResponseBody::Pong(_), .. }) = self.client.request(RequestBody::Ping) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("daemon did not become ready");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn request(&self, body: RequestBody) -> ResponseBody {
        self.client.request(body).expect("request failed").body
    }

    /// Asserts the daemon still answers `ping` with its own pid.
    pub fn assert_alive(&self) {
        match self.request(RequestBody::Ping) {
            ResponseBody::Pong(p) => assert_eq!(p.pid, self.pid()),
            other => panic!("expected pong, got {other:?}"),
        }
    }

    /// Sends SIGTERM (Unix) and waits for a clean exit; returns the exit status and stderr.
    #[cfg(unix)]
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let status = wait_timeout(&mut self.child, Duration::from_secs(10)).expect("daemon did not exit on SIGTERM");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status, err)
    }

    /// Windows has no SIGTERM: asks the daemon to stop with a `shutdown` request and waits for
    /// a clean exit; returns the exit status and stderr.
    #[cfg(windows)]
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        match self.request(RequestBody::Shutdown(Default::default())) {
            ResponseBody::Ack(_) => {}
            other => panic!("expected ack to shutdown, got {other:?}"),
        }
        let status = wait_timeout(&mut self.child, Duration::from_secs(10)).expect("daemon did not exit on shutdown");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status, err)
    }

    /// Stops a daemon whose home has an admin vault with `password`, and waits for a clean exit.
    /// Unix: SIGTERM (signals need no proof). Windows: an authenticated `shutdown` (challenge,
    /// proof from the vault), which the daemon records as an `admin` attempt.
    #[cfg(unix)]
    pub fn terminate_authorized(self, _home: &Home, _password: &str) -> (std::process::ExitStatus, String) {
        self.terminate()
    }

    /// Stops a daemon whose home has an admin vault with `password`, and waits for a clean exit.
    /// Unix: SIGTERM (signals need no proof). Windows: an authenticated `shutdown` (challenge,
    /// proof from the vault), which the daemon records as an `admin` attempt.
    #[cfg(windows)]
    pub fn terminate_authorized(mut self, _home: &Home, password: &str) -> (std::process::ExitStatus, String) {
        use holdfast::wire::AuthBegin;
        let c = match self.request(RequestBody::AuthBegin(AuthBegin { op: "shutdown".into() })) {
            ResponseBody::Challenge(c) => c,
            other => panic!("expected a challenge, got {other:?}"),
        };
        let proof = holdfast::vault::answer(password, &c).unwrap();
        match self.request(RequestBody::Shutdown(proof)) {
            ResponseBody::Ack(_) => {}
            other => panic!("expected ack to an authenticated shutdown, got {other:?}"),
        }
        let status = wait_timeout(&mut self.child, Duration::from_secs(10)).expect("daemon did not exit on shutdown");
        (status, self.stderr())
    }

    /// Kills the daemon (the crash case) and returns what it wrote to stderr.
    pub fn kill_for_stderr(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr()
    }

    fn stderr(&mut self) -> String {
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }

    /// SIGKILL (TerminateProcess on Windows): the crash case.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to `limit` for `child` to exit.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Sends raw bytes on a fresh connection and returns everything the daemon answers before closing.
#[cfg(unix)]
pub fn raw_exchange(socket: &Path, bytes: &[u8]) -> Vec<u8> {
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Sends raw bytes on a fresh pipe connection and returns the daemon's reply line. A pipe cannot be half-closed, so the daemon sees no end of input: a frame without a
/// newline runs into the frame deadline. Writing happens on its own thread so that an oversized
/// frame the daemon stops reading cannot block the reply.
#[cfg(windows)]
pub fn raw_exchange(pipe: &Path, bytes: &[u8]) -> Vec<u8> {
    let stream = std::sync::Arc::new(raw_connect(pipe));
    let writer = std::sync::Arc::clone(&stream);
    let bytes = bytes.to_vec();
    std::thread::spawn(move || {
        let _ = (&*writer).write_all(&bytes);
    });
    read_reply(stream, Duration::from_secs(30))
}

/// A raw client connection to the pipe called `pipe` (a name as [`Home::socket`] returns it).
#[cfg(windows)]
pub fn raw_connect(pipe: &Path) -> interprocess::local_socket::Stream {
    use interprocess::local_socket::traits::Stream as _;
    use interprocess::local_socket::{GenericNamespaced, Stream, ToNsName};
    let name = pipe.to_str().unwrap().to_ns_name::<GenericNamespaced>().unwrap();
    Stream::connect(name).unwrap()
}

/// Reads one reply line from `stream` (up to its newline, or what came before the daemon closed the
/// pipe), failing the test after `limit`. The daemon cannot close a pipe whose peer stalls
/// mid-frame (its reader is still blocked on it), so the line, not the close, ends a reply.
#[cfg(windows)]
pub fn read_reply(stream: std::sync::Arc<interprocess::local_socket::Stream>, limit: Duration) -> Vec<u8> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = (&*stream).read(&mut chunk) {
            out.extend_from_slice(&chunk[..n]);
            if out.ends_with(b"\n") {
                break;
            }
        }
        let _ = tx.send(out);
    });
    rx.recv_timeout(limit).expect("the daemon neither answered nor closed the pipe")
}

/// Parses a reply frame and returns its error code, if it is an error.
pub fn error_code(reply: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(reply.strip_suffix(b"\n").unwrap_or(reply)).ok()?;
    (v["kind"] == "error").then(|| v["code"].as_str().unwrap_or_default().to_string())
}

/// Polls `cond` until it holds, panicking after `limit` (a hang guard, not a timing assertion).
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "condition not met within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An absolute directory valid on this OS, for a proposal's `cwd` (`/tmp` is not absolute on Windows).
pub fn abs_cwd() -> String {
    std::env::temp_dir().to_string_lossy().into_owned()
}

/// How a test reaches the daemon: its local socket, or loopback TCP with the token. Tests written
/// once over `Via` run over both (see [`over_both!`]).
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Socket,
    Tcp,
}

/// Runs each named `fn name(via: Via)` of the calling test file as two tests: `socket::name` and
/// `tcp::name`.
#[cfg(unix)]
#[macro_export]
macro_rules! over_both {
    ($($name:ident),* $(,)?) => {
        mod socket {
            $( #[test] fn $name() { super::$name(super::daemon::Via::Socket) } )*
        }
        mod tcp {
            $( #[test] fn $name() { super::$name(super::daemon::Via::Tcp) } )*
        }
    };
}

#[cfg(unix)]
impl Home {
    /// Turns on `[daemon] tcp` on a free loopback port in this home's global policy (the daemon
    /// reports the port it bound in `status`).
    pub fn enable_tcp(&self) {
        self.write_policy("[daemon]\ntcp = \"127.0.0.1:0\"\n");
    }

    /// Writes the global policy file.
    pub fn write_policy(&self, text: &str) {
        let dir = self.path().join("config");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("policy.toml"), text).unwrap();
    }

    /// The TCP token file the daemon created.
    pub fn tcp_token_file(&self) -> PathBuf {
        self.paths().tcp_token()
    }

    /// The TCP address the running daemon reports.
    pub fn tcp_addr(&self) -> std::net::SocketAddr {
        match self.client().request(RequestBody::Status).unwrap().body {
            ResponseBody::Status(s) => s.tcp.expect("the daemon listens on TCP").parse().unwrap(),
            other => panic!("expected status, got {other:?}"),
        }
    }

    /// Starts the daemon reachable `via` (TCP: with `[daemon] tcp` on) and returns how to reach it.
    pub fn daemon_via(&self, via: Via, extra: &[&str]) -> (Daemon, Target) {
        if via == Via::Tcp {
            self.enable_tcp();
        }
        let d = self.daemon(extra);
        (d, self.target(via))
    }

    /// How to reach this home's running daemon `via` the socket or TCP.
    pub fn target(&self, via: Via) -> Target {
        let tcp = (via == Via::Tcp).then(|| {
            let token = holdfast::transport::tcp::read_token_file(&self.tcp_token_file()).unwrap();
            (self.tcp_addr(), std::sync::Arc::new(token))
        });
        Target { socket: self.socket(), token_file: self.tcp_token_file(), tcp }
    }
}

/// Where a test connects: the socket, or a TCP address whose connections open with a hello line.
#[cfg(unix)]
pub struct Target {
    pub socket: PathBuf,
    pub token_file: PathBuf,
    /// The TCP address and the token, when over TCP.
    pub tcp: Option<(std::net::SocketAddr, std::sync::Arc<holdfast::transport::tcp::Token>)>,
}

#[cfg(unix)]
impl Target {
    /// A fresh connection; over TCP the hello line is already sent, and the daemon's server line
    /// is checked and taken off what is read (see [`ServerProof`]).
    pub fn connect(&self) -> Conn {
        self.try_connect().unwrap()
    }

    /// [`Target::connect`], failing softly (e.g. out of descriptors).
    pub fn try_connect(&self) -> std::io::Result<Conn> {
        Ok(match &self.tcp {
            None => Conn::Unix(std::os::unix::net::UnixStream::connect(&self.socket)?),
            Some((addr, token)) => {
                let nonce = holdfast::transport::tcp::fresh_nonce().unwrap();
                let mut s = std::net::TcpStream::connect(addr)?;
                s.write_all(&token.hello(&nonce))?;
                let mut expected = token.server_line(&nonce);
                expected.pop();
                Conn::Tcp(s, ServerProof::new(expected))
            }
        })
    }

    /// Sends raw bytes on a fresh connection and returns everything answered before the close.
    pub fn raw_exchange(&self, bytes: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = s.write_all(bytes);
        s.shutdown_write();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    }

    /// A library client over the same transport.
    pub fn client(&self) -> Client {
        let endpoint = match &self.tcp {
            None => Endpoint::Socket(self.socket.clone()),
            Some((addr, _)) => Endpoint::Tcp { addr: addr.to_string(), token_file: self.token_file.clone() },
        };
        Client::new(endpoint).with_timeout(Duration::from_secs(10))
    }
}

/// A test's connection to the daemon over either transport.
#[cfg(unix)]
pub enum Conn {
    Unix(std::os::unix::net::UnixStream),
    Tcp(std::net::TcpStream, ServerProof),
}

/// Takes the daemon's server line off the front of what a TCP connection reads, asserting it is
/// the right proof, so tests see the same bytes as on the socket. A first line that is not a
/// server line (a refusal, or `unavailable` before the hello checked) is passed through.
#[cfg(unix)]
pub struct ServerProof {
    /// The server line owed for this connection's nonce, without its newline.
    expected: Vec<u8>,
    /// Bytes read while looking for the first line.
    head: Vec<u8>,
    /// Bytes read past the first line, not yet handed out.
    rest: Vec<u8>,
    done: bool,
}

#[cfg(unix)]
impl ServerProof {
    fn new(expected: Vec<u8>) -> Self {
        ServerProof { expected, head: Vec::new(), rest: Vec::new(), done: false }
    }

    fn read(&mut self, s: &mut std::net::TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if !self.rest.is_empty() {
                let n = buf.len().min(self.rest.len());
                buf[..n].copy_from_slice(&self.rest[..n]);
                self.rest.drain(..n);
                return Ok(n);
            }
            if self.done {
                return s.read(buf);
            }
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk)?;
            if n == 0 {
                self.done = true;
                self.rest = std::mem::take(&mut self.head);
                if self.rest.is_empty() {
                    return Ok(0);
                }
                continue;
            }
            self.head.extend_from_slice(&chunk[..n]);
            if let Some(pos) = self.head.iter().position(|&b| b == b'\n') {
                self.done = true;
                let head = std::mem::take(&mut self.head);
                if head.starts_with(b"{\"server\":") {
                    assert_eq!(
                        String::from_utf8_lossy(&head[..pos]),
                        String::from_utf8_lossy(&self.expected),
                        "the daemon's server proof"
                    );
                    self.rest = head[pos + 1..].to_vec();
                } else {
                    self.rest = head;
                }
            }
        }
    }
}

#[cfg(unix)]
impl Conn {
    pub fn try_clone(&self) -> Conn {
        match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone().unwrap()),
            Conn::Tcp(s, p) => Conn::Tcp(s.try_clone().unwrap(), ServerProof::new(p.expected.clone())),
        }
    }

    pub fn set_read_timeout(&self, t: Option<Duration>) {
        match self {
            Conn::Unix(s) => s.set_read_timeout(t).unwrap(),
            Conn::Tcp(s, _) => s.set_read_timeout(t).unwrap(),
        }
    }

    pub fn shutdown_write(&self) {
        let _ = match self {
            Conn::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            Conn::Tcp(s, _) => s.shutdown(std::net::Shutdown::Write),
        };
    }
}

#[cfg(unix)]
impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s, proof) => proof.read(s, buf),
        }
    }
}

#[cfg(unix)]
impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s, _) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The audit log's records of `kind`, oldest first.
pub fn records_of(home: &Home, kind: &str) -> Vec<holdfast::audit::Record> {
    holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|r| r.kind == kind)
        .collect()
}
