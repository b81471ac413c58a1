//! Crash safety: `kill -9` under load loses nothing that was acknowledged, and the chain verifies —
//! with the default durability and in batch mode (README: a crash of the daemon loses nothing in
//! either; a power loss may lose the last batch window).
#[path = "support/daemon.rs"]
mod daemon;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use daemon::Home;
use holdfast::wire::{Proposal, RequestBody, ResponseBody};

const ITERATIONS: u64 = 20;
const THREADS: usize = 8;

/// xorshift64*: a deterministic PRNG so a failing run can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn kill9_under_load_loses_nothing_acknowledged() {
    kill9_under_load(&[]);
}

#[test]
fn kill9_under_load_loses_nothing_acknowledged_in_batch_mode() {
    kill9_under_load(&["--durability", "batch"]);
}

fn kill9_under_load(extra: &[&str]) {
    let home = Home::new();
    let mut rng = Rng(0x5eed_a0d1_7c4a_5e11);
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    for iter in 0..ITERATIONS {
        let d = home.daemon(extra);
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (client, stop, acked) = (home.client(), Arc::clone(&stop), Arc::clone(&acked));
                std::thread::spawn(move || {
                    let client = client.with_timeout(Duration::from_secs(2));
                    for n in 0.. {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let token = format!("tok-{iter}-{t}-{n}");
                        let p = Proposal {
                            agent: "crash".into(),
                            cwd: daemon::abs_cwd(),
                            raw: format!("echo {token}"),
                            ..Default::default()
                        };
                        match client.request(RequestBody::Record(p)) {
                            Ok(r) => match r.body {
                                ResponseBody::Ack(_) => acked.lock().unwrap().push(token),
                                other => panic!("unexpected answer: {other:?}"),
                            },
                            Err(_) => break, // the daemon is gone
                        }
                    }
                })
            })
            .collect();
        // Each round kills a daemon that is under load: wait for some acks first (a slow machine or
        // Wine needs longer to get going), then a random moment.
        let before = acked.lock().unwrap().len();
        daemon::wait_for(Duration::from_secs(10), || acked.lock().unwrap().len() >= before + 10);
        std::thread::sleep(Duration::from_millis(20 + rng.next() % 131));
        d.kill9();
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.join().unwrap();
        }
    }
    // One more start recovers the last crash; a clean stop seals.
    let d = home.daemon(extra);
    let (status, _) = d.terminate();
    assert!(status.success());

    let acked = acked.lock().unwrap();
    assert!(acked.len() > 100, "too little load: {} acks", acked.len());
    let log = std::fs::read_to_string(home.paths().audit_log()).unwrap();
    let present: std::collections::HashSet<&str> = log
        .lines()
        .filter_map(|l| l.split("\"raw\":\"echo ").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let lost: Vec<_> = acked.iter().filter(|t| !present.contains(t.as_str())).collect();
    assert!(lost.is_empty(), "{} acknowledged records lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);

    // Every recovered torn tail is in its quarantine file.
    for line in log.lines().filter(|l| l.contains("\"kind\":\"recovered\"")) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let q = v["body"]["data"]["quarantine"].as_str().unwrap();
        assert!(std::path::Path::new(q).exists(), "quarantine file {q} missing");
    }
    let key = home.paths().config_dir.join("verification.key");
    let out = home.run(&["log", "verify", "--key-file", key.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
