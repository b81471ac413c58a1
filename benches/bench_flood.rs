//! `ping_flooded`: `ping` while 5,000 idle and 100 trickling connections are held open, against
//! an unloaded `ping` in the same run. The daemon closes each idle or trickling peer at its frame
//! deadline (250 ms) and, at its connection bound, the oldest idle one first; the load keeps
//! reopening them, so the counts hold for the whole measurement.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use holdfast::wire::{Request, RequestBody};
use rustix::event::{PollFd, PollFlags, Timespec, poll};

use crate::report::{Row, latency_row, sample};
use crate::rig::Rig;

const ROUNDS: usize = 2_000;
const IDLE: usize = 5_000;
const TRICKLING: usize = 100;
/// The budget for `ping` p99 under this load.
const BUDGET: Duration = Duration::from_millis(50);

/// The flood: connections held open by one thread until dropped.
struct Flood {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Flood {
    fn start(socket: PathBuf) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut idle: Vec<UnixStream> = (0..IDLE).filter_map(|_| UnixStream::connect(&socket).ok()).collect();
            let mut trickling: Vec<UnixStream> =
                (0..TRICKLING).filter_map(|_| UnixStream::connect(&socket).ok()).collect();
            while !flag.load(Ordering::SeqCst) {
                for s in &mut trickling {
                    let _ = s.write_all(b" ");
                }
                reopen_closed(&mut idle, &socket);
                reopen_closed(&mut trickling, &socket);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Flood { stop, thread: Some(thread) }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Replaces every connection the daemon answered or closed with a fresh one.
fn reopen_closed(conns: &mut [UnixStream], socket: &Path) {
    let ready: Vec<bool> = {
        let mut fds: Vec<PollFd> = conns.iter().map(|s| PollFd::new(s, PollFlags::IN)).collect();
        let zero = Timespec { tv_sec: 0, tv_nsec: 0 };
        let _ = poll(&mut fds, Some(&zero));
        fds.iter().map(|f| !f.revents().is_empty()).collect()
    };
    for (s, closed) in conns.iter_mut().zip(ready) {
        if closed && let Ok(fresh) = UnixStream::connect(socket) {
            *s = fresh;
        }
    }
}

/// Each held connection is a descriptor: take the hard limit.
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    l.current = l.maximum;
    let _ = setrlimit(Resource::Nofile, l);
}

pub fn rows() -> Vec<Row> {
    raise_open_file_limit();
    let rig = Rig::start(&[]);
    let client = rig.client();
    let frame = Request::new(RequestBody::Ping).to_frame();
    let mut ping = || {
        client.exchange(&frame).expect("ping");
    };
    for _ in 0..200 {
        ping();
    }
    let unloaded = sample(ROUNDS, &mut ping);
    let socket = match rig.paths().endpoint {
        holdfast::paths::Endpoint::Socket(p) => p,
        holdfast::paths::Endpoint::Pipe(_) | holdfast::paths::Endpoint::Tcp { .. } => unreachable!("Unix socket"),
    };
    let flood = Flood::start(socket);
    // Let the flood reach its counts (and the daemon its connection bound) before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let flooded = sample(ROUNDS, &mut ping);
    drop(flood);
    let budget = format!("p99 <= {} ms", BUDGET.as_millis());
    vec![latency_row("ping_flooded", &flooded, "ping_unloaded", &unloaded, &budget, |_, p99, _| {
        p99 <= BUDGET.as_nanos() as u64
    })]
}
