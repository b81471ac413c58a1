//! The loop the whole daemon rests on: `transport::Server::serve_until` with a stop flag.
//!
//! Binds the endpoint of a holdfast home (a temp dir unless HOLDFAST_HOME is set), answers every
//! frame with a `pong`, and stops after `--requests N` frames (default 1) or on Ctrl-C.
//!
//!     cargo run --example serve_until -- --requests 3
//!     echo PING | socat - UNIX-CONNECT:<endpoint it prints>
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use holdfast::paths::Paths;
use holdfast::transport::Server;
use holdfast::wire::{Pong, Response, ResponseBody};

fn main() -> anyhow::Result<()> {
    let requests: u64 = match std::env::args().skip_while(|a| a != "--requests").nth(1) {
        Some(n) => n.parse()?,
        None => 1,
    };
    // A private home, so the example never touches a real daemon's endpoint.
    let temp = tempfile::tempdir()?;
    let home = std::env::var_os("HOLDFAST_HOME").unwrap_or_else(|| temp.path().into());
    let paths = Paths::resolve(&|k| (k == "HOLDFAST_HOME").then(|| home.clone()))?;

    // Bind probes a leftover endpoint first: a live server there makes this fail, a stale one is reclaimed.
    let server = Server::bind(&paths, Duration::from_millis(250))?;
    println!("listening on {}", server.endpoint());

    let stop = AtomicBool::new(false);
    let mut served = 0;
    server.serve_until(
        |frame, peer| {
            served += 1;
            if served >= requests {
                stop.store(true, Ordering::SeqCst);
            }
            // `frame` is the request without its newline, or why it could not be read.
            let answer = match frame {
                Ok(_) => ResponseBody::Pong(Pong { pid: std::process::id(), version: holdfast::VERSION.into() }),
                Err(e) => ResponseBody::Error(e.to_wire()),
            };
            eprintln!("answered peer pid {:?}", peer.pid);
            Some(Response::new(None, answer).to_frame())
        },
        &stop,
    );
    println!("served {served} request(s)");
    Ok(())
}
