#![no_main]
//! `Daemon::handle_frame` on a daemon over a temporary home: any frame gets an answer (or none
//! for an empty one) and the daemon still answers `ping` afterwards.
//! `cargo +nightly fuzz run daemon_frame`

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use holdfast::audit::Durability;
use holdfast::daemon::Daemon;
use holdfast::paths::Paths;
use holdfast::wire::{Peer, Response, ResponseBody};
use libfuzzer_sys::fuzz_target;

/// Frames handled before the daemon (and its audit log) is replaced by a fresh one.
const FRAMES_PER_DAEMON: u32 = 5_000;

struct Rig {
    home: PathBuf,
    daemon: Daemon,
    frames: u32,
}

impl Rig {
    fn new() -> Self {
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let home = std::env::temp_dir().join(format!("hf-fuzz-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let h = home.clone();
        let paths = Paths::resolve(&move |k| (k == "HOLDFAST_HOME").then(|| h.clone().into_os_string())).unwrap();
        let daemon = Daemon::open_with(
            paths,
            Arc::new(AtomicBool::new(false)),
            Durability::Batch { every: Duration::from_secs(60) },
        )
        .unwrap();
        Rig { home, daemon, frames: 0 }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

thread_local! {
    static RIG: RefCell<Option<Rig>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    RIG.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|r| r.frames >= FRAMES_PER_DAEMON) {
            *slot = None;
            *slot = Some(Rig::new());
        }
        let rig = slot.as_mut().unwrap();
        rig.frames += 1;
        let peer = Peer::default();
        let reply = rig.daemon.handle_frame(Ok(data.to_vec()), &peer);
        assert!(reply.is_some(), "every frame is answered");
        let pong =
            rig.daemon.handle_frame(Ok(br#"{"v":1,"kind":"ping"}"#.to_vec()), &peer).expect("a ping is answered");
        let pong = holdfast::wire::decode_response(pong.strip_suffix(b"\n").unwrap_or(&pong)).expect("a response");
        assert!(matches!(pong, Response { body: ResponseBody::Pong(_), .. }), "{pong:?}");
    });
});
