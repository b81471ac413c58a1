//! `ping` through the daemon against a raw Unix-socket ping-pong of the same bytes.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};

use holdfast::wire::{Request, RequestBody};

use crate::report::{Row, latency_row, sample};
use crate::rig::Rig;

const ROUNDS: usize = 5_000;

/// A raw server answering each connection's line with `reply`, same connection pattern as the protocol.
pub fn raw_server(path: &std::path::Path, reply: Vec<u8>) -> std::thread::JoinHandle<()> {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
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
    })
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
    let server = raw_server(&path, reply);
    for _ in 0..200 {
        raw_round_trip(&path, frame);
    }
    let samples = sample(rounds, || raw_round_trip(&path, frame));
    raw_round_trip(&path, b"QUIT\n");
    server.join().unwrap();
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
