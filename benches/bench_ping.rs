//! `ping` through the daemon against a raw Unix-socket ping-pong of the same bytes.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Child;

use holdfast::wire::{Request, RequestBody};

use crate::report::{Row, reported_row, sample_interleaved};
use crate::rig::Rig;

const ROUNDS: usize = 5_000;

/// Environment variable that turns the bench binary into the raw baseline server.
pub const RAW_SERVER_ENV: &str = "HOLDFAST_BENCH_RAW_SERVER";
/// File the raw server appends to and syncs before each answer, when set.
const RAW_SYNC_ENV: &str = "HOLDFAST_BENCH_RAW_SYNC";

/// The raw baseline server: answers each connection's first line with the reply given in
/// `HOLDFAST_BENCH_RAW_REPLY`, same connection pattern as the protocol. Runs as its own
/// process, like the daemon, so the ratio measures the protocol and not process topology.
///
/// With `HOLDFAST_BENCH_RAW_SYNC` set to a file, it appends 200 bytes to it and `fdatasync`s before
/// each answer: the floor of any daemon that records durably before it answers.
pub fn raw_server_main(path: &str) {
    let reply = std::env::var("HOLDFAST_BENCH_RAW_REPLY").unwrap().into_bytes();
    let mut sync =
        std::env::var_os(RAW_SYNC_ENV).map(|f| std::fs::OpenOptions::new().create(true).append(true).open(f).unwrap());
    let listener = UnixListener::bind(path).unwrap();
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { break };
        let mut buf = [0u8; 4096];
        let mut got = 0;
        loop {
            let n = s.read(&mut buf[got..]).unwrap_or(0);
            if n == 0 {
                break;
            }
            got += n;
            if buf[..got].contains(&b'\n') {
                if let Some(f) = &mut sync {
                    f.write_all(&[b'x'; 200]).unwrap();
                    f.sync_data().unwrap();
                }
                let _ = s.write_all(&reply);
                break;
            }
        }
        if buf[..got].starts_with(b"QUIT") {
            break;
        }
    }
}

/// A running raw baseline server (stopped on drop).
pub struct RawServer {
    path: PathBuf,
    child: Child,
}

impl RawServer {
    /// Starts a raw server in the rig's dir answering every line with `reply` (newline included).
    pub fn start(rig: &Rig, reply: &[u8]) -> RawServer {
        RawServer::spawn(rig, reply, false)
    }

    /// Like [`RawServer::start`], but each answer waits for a 200-byte append + `fdatasync`.
    pub fn start_syncing(rig: &Rig, reply: &[u8]) -> RawServer {
        RawServer::spawn(rig, reply, true)
    }

    fn spawn(rig: &Rig, reply: &[u8], sync: bool) -> RawServer {
        let path = rig.dir().join("raw.sock");
        let _ = std::fs::remove_file(&path);
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command.env(RAW_SERVER_ENV, &path).env("HOLDFAST_BENCH_RAW_REPLY", std::str::from_utf8(reply).unwrap());
        if sync {
            command.env(RAW_SYNC_ENV, rig.dir().join("raw-server.fdatasync"));
        }
        let child = command.spawn().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while UnixStream::connect(&path).is_err() {
            assert!(std::time::Instant::now() < deadline, "raw server did not start");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        RawServer { path, child }
    }

    /// One connection, one line out, one line back: the raw baseline.
    pub fn round_trip(&self, frame: &[u8]) {
        raw_round_trip(&self.path, frame);
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        raw_round_trip(&self.path, b"QUIT\n");
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

fn raw_round_trip(path: &Path, frame: &[u8]) {
    let mut s = UnixStream::connect(path).unwrap();
    s.write_all(frame).unwrap();
    let mut buf = [0u8; 4096];
    let mut got = 0;
    while !buf[..got].contains(&b'\n') {
        let n = s.read(&mut buf[got..]).unwrap();
        assert!(n > 0, "raw server closed early");
        got += n;
    }
}

pub fn rows(rig: &Rig) -> Vec<Row> {
    let frame = Request::new(RequestBody::Ping).to_frame();
    let client = rig.client();
    let mut reply = client.exchange(&frame).unwrap();
    reply.push(b'\n');
    let raw = RawServer::start(rig, &reply);
    for _ in 0..200 {
        client.exchange(&frame).unwrap();
        raw.round_trip(&frame);
    }
    let (samples, base) = sample_interleaved(
        ROUNDS,
        || {
            client.exchange(&frame).unwrap();
        },
        || raw.round_trip(&frame),
    );
    vec![reported_row("ping", &samples, "raw_uds", &base)]
}
