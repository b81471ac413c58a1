//! A release daemon in a temp `HOLDFAST_HOME`, for benches.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use holdfast::paths::Paths;
use holdfast::transport::Client;
use holdfast::wire::RequestBody;

/// A running daemon (killed on drop) and its home.
pub struct Rig {
    home: tempfile::TempDir,
    child: Child,
}

impl Rig {
    /// Starts `holdfast daemon extra…` and waits until it answers.
    pub fn start(extra: &[&str]) -> Rig {
        let home = tempfile::Builder::new().prefix("hfb").tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
            .arg("daemon")
            .args(extra)
            .env("HOLDFAST_HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let rig = Rig { home, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while rig.client().request(RequestBody::Ping).is_err() {
            assert!(Instant::now() < deadline, "bench daemon did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        rig
    }

    pub fn dir(&self) -> &std::path::Path {
        self.home.path()
    }

    pub fn paths(&self) -> Paths {
        let home = self.home.path().to_path_buf();
        Paths::resolve(&move |k| (k == "HOLDFAST_HOME").then(|| home.clone().into_os_string())).unwrap()
    }

    pub fn client(&self) -> Client {
        Client::new(self.paths().endpoint)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `f` with this process, and every process it starts meanwhile (they inherit the mask), on
/// one CPU. The protocol rows compare the daemon with a raw server. On a small VM a hand-off on
/// the same core costs about 35 µs and waking the other, idle core about 90 µs, and the scheduler
/// keeps a tiny raw server on the client's core more often than the busier daemon: one core for
/// all gives a figure and its baseline the same topology. Elsewhere it just runs `f`.
pub fn on_one_cpu<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(target_os = "linux")]
    {
        use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};
        let all = sched_getaffinity(None).expect("the CPU affinity mask");
        let first = (0..CpuSet::MAX_CPU).find(|&c| all.is_set(c)).expect("at least one CPU");
        let mut one = CpuSet::new();
        one.set(first);
        sched_setaffinity(None, &one).expect("pinning to one CPU");
        let result = f();
        sched_setaffinity(None, &all).expect("restoring the CPU affinity mask");
        result
    }
    #[cfg(not(target_os = "linux"))]
    f()
}
