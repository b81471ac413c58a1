//! `ping` through the daemon against a raw Unix-socket ping-pong of the same bytes.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};

use holdfast::wire::{Request, RequestBody};

use crate::report::{Row, latency_row, sample};
use crate::rig::Rig;

const ROUNDS: usize = 5_000;

/// Environment variable that turns the bench binary into the raw baseline server.
pub const RAW_SERVER_ENV: &str = "HOLDFAST_BENCH_RAW_SERVER";

/// The raw baseline server: answers each connection's first line with the reply given in
/// `HOLDFAST_BENCH_RAW_REPLY`, same connection pattern as the protocol. Runs as its own
/// process, like the daemon, so the ratio measures the protocol and not process topology.
pub fn raw_server_main(path: &str) {
    let reply = std::env::var("HOLDFAST_BENCH_RAW_REPLY").unwrap().into_bytes();
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
                let _ = s.write_all(&reply);
                break;
            }
        }
        if buf[..got].starts_with(b"QUIT") {
            break;
        }
    }
}

fn spawn_raw_server(path: &std::path::Path, reply: &[u8]) -> std::process::Child {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .env(RAW_SERVER_ENV, path)
        .env("HOLDFAST_BENCH_RAW_REPLY", std::str::from_utf8(reply).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while UnixStream::connect(path).is_err() {
        assert!(std::time::Instant::now() < deadline, "raw server did not start");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

/// One connection, one line out, one line back: the raw baseline.
pub fn raw_round_trip(path: &std::path::Path, frame: &[u8]) {
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

/// Measures raw round trips of `frame` answered with `reply`.
pub fn raw_baseline(rig: &Rig, frame: &[u8], reply: Vec<u8>, rounds: usize) -> Vec<u64> {
    let path = rig.dir().join("raw.sock");
    let _ = std::fs::remove_file(&path);
    let mut server = spawn_raw_server(&path, &reply);
    for _ in 0..200 {
        raw_round_trip(&path, frame);
    }
    let samples = sample(rounds, || raw_round_trip(&path, frame));
    raw_round_trip(&path, b"QUIT\n");
    server.wait().unwrap();
    let _ = std::fs::remove_file(&path);
    samples
}

pub fn rows(rig: &Rig) -> Vec<Row> {
    let frame = Request::new(RequestBody::Ping).to_frame();
    let client = rig.client();
    let pong = client.exchange(&frame).unwrap();
    for _ in 0..200 {
        client.exchange(&frame).unwrap();
    }
    let samples = sample(ROUNDS, || {
        client.exchange(&frame).unwrap();
    });
    let mut reply = pong;
    reply.push(b'\n');
    let base = raw_baseline(rig, &frame, reply, ROUNDS);
    vec![latency_row("ping", &samples, "raw_uds", &base, "reported (no budget)", |_, _, _| true)]
}
