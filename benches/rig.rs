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
