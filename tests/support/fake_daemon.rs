//! Test support for watcher tests: a fake daemon on a Unix socket that records
//! every frame it receives and acks it (`ack{seq: n}`) — or, as its [`Control`] says, answers
//! `unavailable` or acks slowly — and a `holdfast watch` child whose stderr is collected.
//!
//! Include with `#[path = "support/fake_daemon.rs"] mod fake_daemon;` (Unix only).
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Frames received, in order, across restarts.
pub type Frames = Arc<Mutex<Vec<serde_json::Value>>>;

/// A fake daemon serving `path` on a thread.
pub struct FakeDaemon {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    path: PathBuf,
}

/// How a [`FakeDaemon`] answers, switchable while it runs, and what it saw arrive.
#[derive(Clone, Default)]
pub struct Control {
    /// While set, every non-ping request is answered `error{code:"unavailable"}` (an audit log
    /// failing closed) and not recorded as a frame.
    pub unavailable: Arc<AtomicBool>,
    /// Each ack is sent this many milliseconds after its frame arrived (a slow daemon).
    pub ack_delay_ms: Arc<AtomicU64>,
    /// Every non-ping request, with the time it arrived and whether it was acked.
    pub arrivals: Arc<Mutex<Vec<(Instant, bool)>>>,
}

impl Control {
    /// Arrival times of the requests answered `unavailable`.
    pub fn refused(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().iter().filter(|(_, ok)| !ok).map(|(t, _)| *t).collect()
    }

    /// Arrival times of the frames acked (recorded in `Frames`).
    pub fn acked(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().iter().filter(|(_, ok)| *ok).map(|(t, _)| *t).collect()
    }
}

impl FakeDaemon {
    /// Binds `path` (removing a leftover socket) and serves until stopped.
    pub fn start(path: &Path, frames: Frames) -> Self {
        Self::start_with(path, frames, Control::default())
    }

    /// As [`start`](Self::start), answering as `control` says.
    pub fn start_with(path: &Path, frames: Frames, control: Control) -> Self {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                let (stream, _) = match listener.accept() {
                    Ok(s) => s,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                };
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut line = String::new();
                if BufReader::new(&stream).read_line(&mut line).is_err() || line.is_empty() {
                    continue;
                }
                let at = Instant::now();
                let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
                let reply = if v["kind"] == "ping" {
                    serde_json::json!({"v": 1, "kind": "pong", "pid": std::process::id(), "version": "fake"})
                } else if control.unavailable.load(Ordering::SeqCst) {
                    control.arrivals.lock().unwrap().push((at, false));
                    serde_json::json!({"v": 1, "kind": "error", "code": "unavailable", "message": "fake: the audit log cannot be written"})
                } else {
                    control.arrivals.lock().unwrap().push((at, true));
                    std::thread::sleep(Duration::from_millis(control.ack_delay_ms.load(Ordering::SeqCst)));
                    let mut f = frames.lock().unwrap();
                    f.push(v);
                    serde_json::json!({"v": 1, "kind": "ack", "seq": f.len()})
                };
                let mut out = serde_json::to_vec(&reply).unwrap();
                out.push(b'\n');
                let _ = (&stream).write_all(&out);
            }
        });
        FakeDaemon { stop, handle: Some(handle), path: path.to_path_buf() }
    }

    /// Stops serving and removes the socket: clients now get "not running".
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Polls `cond` until it holds or `limit` passes (a generous bound, not a timing assertion).
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// A running `holdfast watch` child with its stderr collected.
pub struct WatchProc {
    pub child: Child,
    pub log: Arc<Mutex<String>>,
}

impl WatchProc {
    /// Spawns `cmd` (a prepared `holdfast watch …`) and waits until it watches.
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let err = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let w = WatchProc { child, log };
        wait_until(Duration::from_secs(30), "the watcher to start", || w.log().contains("holdfast watch: watching"));
        w
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, then wait for exit; returns the status and stderr.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                // Let the reader thread drain the pipe.
                std::thread::sleep(Duration::from_millis(50));
                return (s, self.log());
            }
            assert!(Instant::now() < deadline, "watcher did not exit on SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for WatchProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a [`ScriptedDaemon`] answers every request: each way a daemon can fail its client.
#[derive(Clone, Debug)]
pub enum Script {
    /// A well-formed `error` reply with this code (any string, known to the wire or not).
    Error(String),
    /// Reads the request and never answers; the connection stays open (the client's deadline runs out).
    Silent,
    /// A line that is not JSON.
    Garbage,
    /// The first half of a valid verdict, then the connection closes.
    Half,
    /// Closes the connection without a byte.
    Close,
    /// A well-formed reply of the wrong kind (`ack` where a verdict was due).
    WrongKind,
    /// A `hold` verdict whose pending id is empty: nothing to wait on.
    HoldWithoutPending,
    /// A `hold` verdict for `pend-1`, then an `error` reply with this code to each `pending_status`.
    HoldThenStatusError(String),
}

impl Script {
    /// Every failure: each error code of the wire, an unknown code, and each broken exchange.
    pub fn every_failure() -> Vec<Script> {
        let codes = [
            "bad_frame",
            "frame_too_large",
            "bad_utf8",
            "unknown_kind",
            "invalid_field",
            "unsupported_version",
            "timeout",
            "unauthorized",
            "locked_out",
            "not_found",
            "conflict",
            "unavailable",
            "internal",
            "a_code_from_the_future",
        ];
        let mut all: Vec<Script> = codes.iter().map(|c| Script::Error((*c).into())).collect();
        all.extend([
            Script::Silent,
            Script::Garbage,
            Script::Half,
            Script::Close,
            Script::WrongKind,
            Script::HoldWithoutPending,
        ]);
        all
    }

    /// The bytes sent back for a request of `kind` (`None`: nothing, the connection is closed or held).
    fn reply(&self, kind: &str) -> Option<Vec<u8>> {
        let verdict = r#"{"v":1,"kind":"verdict","decision":"allow","class":"safe","rule":"r","reason":"x","seq":1}"#;
        match self {
            Script::Error(code) => Some(format!(r#"{{"v":1,"kind":"error","code":"{code}","message":"scripted"}}"#)),
            Script::Silent | Script::Close => None,
            Script::Garbage => Some("this is not json at all".into()),
            Script::Half => return Some(verdict.as_bytes()[..verdict.len() / 2].to_vec()),
            Script::WrongKind => Some(r#"{"v":1,"kind":"ack","seq":1}"#.into()),
            Script::HoldWithoutPending => Some(
                r#"{"v":1,"kind":"verdict","decision":"hold","class":"ambiguous","rule":"r","reason":"x","seq":1,"pending":""}"#
                    .into(),
            ),
            Script::HoldThenStatusError(code) if kind == "pending_status" => {
                Some(format!(r#"{{"v":1,"kind":"error","code":"{code}","message":"scripted"}}"#))
            }
            Script::HoldThenStatusError(_) => Some(
                r#"{"v":1,"kind":"verdict","decision":"hold","class":"ambiguous","rule":"r","reason":"x","seq":1,"pending":"pend-1"}"#
                    .into(),
            ),
        }
        .map(|s| format!("{s}\n").into_bytes())
    }
}

/// A fake daemon on a Unix socket that records each request and fails it as its [`Script`] says.
pub struct ScriptedDaemon {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    path: PathBuf,
    /// Requests received, in order.
    pub requests: Frames,
}

impl ScriptedDaemon {
    /// Binds `path` and answers every request per `script` until dropped.
    pub fn start(path: &Path, script: Script) -> Self {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests: Frames = Arc::default();
        let (flag, log) = (Arc::clone(&stop), Arc::clone(&requests));
        let handle = std::thread::spawn(move || {
            let mut held = Vec::new(); // silent connections stay open until the fake stops
            while !flag.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut line = String::new();
                if BufReader::new(&stream).read_line(&mut line).is_err() || line.is_empty() {
                    continue;
                }
                let request: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap_or_default();
                let kind = request["kind"].as_str().unwrap_or_default().to_string();
                log.lock().unwrap().push(request);
                match script.reply(&kind) {
                    Some(bytes) => {
                        let _ = (&stream).write_all(&bytes);
                    }
                    None if matches!(script, Script::Silent) => held.push(stream),
                    None => {}
                }
            }
        });
        ScriptedDaemon { stop, handle: Some(handle), path: path.to_path_buf(), requests }
    }

    /// The kinds of the requests received so far.
    pub fn kinds(&self) -> Vec<String> {
        self.requests.lock().unwrap().iter().map(|v| v["kind"].as_str().unwrap_or_default().to_string()).collect()
    }
}

impl Drop for ScriptedDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `holdfast hook --agent AGENT` in `cwd`, pointed at the fake daemon's `socket`, with a clean
/// environment whose home is `home`, all stdio piped.
pub fn hook_child(agent: &str, cwd: &Path, home: &Path, socket: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["hook", "--agent", agent])
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("HOLDFAST_HOME", home)
        .env("HOLDFAST_SOCKET", socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}
