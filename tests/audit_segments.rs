//! Audit log segments through the real binary: rolls by size, verify across segments (with the
//! verification key), compression, retention and where history starts, a removed or edited
//! middle segment, an interrupted roll, and `kill -9` while rolling under load.
#[path = "support/daemon.rs"]
mod daemon;

use std::path::PathBuf;
use std::time::Duration;

use daemon::{Daemon, Home};
use holdfast::wire::{Proposal, RequestBody, ResponseBody, Verdict};

fn home_with(audit: &str) -> Home {
    let home = Home::new();
    let paths = home.paths();
    std::fs::create_dir_all(&paths.config_dir).unwrap();
    std::fs::write(paths.policy(), format!("[audit]\n{audit}\n")).unwrap();
    home
}

fn propose(d: &Daemon, raw: &str) -> Verdict {
    let p = Proposal { agent: "test".into(), cwd: daemon::abs_cwd(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => v,
        other => panic!("expected a verdict for {raw:?}, got {other:?}"),
    }
}

/// `(number, compressed)` of every archived segment.
fn archives(home: &Home) -> Vec<(u64, bool)> {
    holdfast::audit::segments::archives(&home.paths().audit_log())
        .unwrap()
        .iter()
        .map(|s| (s.number, s.compressed))
        .collect()
}

fn archive(home: &Home, n: u64) -> PathBuf {
    holdfast::audit::segments::archive_path(&home.paths().audit_log(), n, false)
}

/// `holdfast log verify --key-file …`: (success, stdout).
fn verify(home: &Home) -> (bool, String) {
    let key = home.paths().config_dir.join("verification.key");
    let out = home.run(&["log", "verify", "--key-file", key.to_str().unwrap()], "");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Seqs `log export` streams from the start.
fn exported(home: &Home) -> Vec<u64> {
    let out = home.run(&["log", "export"], "");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["body"]["seq"].as_u64().unwrap())
        .collect()
}

/// A daemon that has written `n` proposals; a few are held.
fn busy(home: &Home, n: usize) -> Daemon {
    let d = home.daemon(&[]);
    for i in 0..n {
        let raw = if i.is_multiple_of(10) { format!("rm -rf build{i}") } else { format!("cargo test -- case_{i}") };
        propose(&d, &raw);
    }
    d
}

#[test]
fn the_log_rolls_into_segments_that_verify_export_and_restart_as_one_log() {
    let home = home_with("segment_bytes = 4096\ncompress = false");
    let d = busy(&home, 60);
    let (st, _) = d.terminate();
    assert!(st.success());
    let segs = archives(&home);
    assert!(segs.len() >= 3, "{segs:?}");
    assert!(segs.iter().enumerate().all(|(i, s)| *s == (i as u64 + 1, false)), "{segs:?}");
    let (ok, out) = verify(&home);
    assert!(ok, "{out}");
    assert!(out.contains("every MAC checked") && out.contains("segments"), "{out}");
    let seqs = exported(&home);
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    // The start reads only the active segment: the checkpoint written after the roll is there.
    let d = home.daemon(&[]);
    let pending = match d.request(RequestBody::ListPending) {
        ResponseBody::PendingList { items, .. } => items.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(pending, 6);
    let (_, stderr) = d.terminate();
    assert!(stderr.contains("state restored from checkpoint"), "{stderr}");
    // `log tail` reaches into archived segments when the active one has fewer records.
    let all = exported(&home).len();
    for n in [50, all + 10] {
        let tail = home.run(&["log", "tail", "-n", &n.to_string(), "--json"], "");
        assert_eq!(String::from_utf8_lossy(&tail.stdout).lines().count(), n.min(all));
    }
}

#[test]
fn compressed_segments_verify_and_export() {
    let home = home_with("segment_bytes = 4096\ncompress = true");
    let d = busy(&home, 40);
    daemon::wait_for(Duration::from_secs(20), || {
        let segs = archives(&home);
        segs.len() >= 2 && segs.iter().all(|(_, gz)| *gz)
    });
    let (st, _) = d.terminate();
    assert!(st.success());
    let (ok, out) = verify(&home);
    assert!(ok, "{out}");
    let seqs = exported(&home);
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

#[test]
fn retention_removes_old_segments_records_it_and_verify_says_where_history_starts() {
    let home = home_with("segment_bytes = 4096\ncompress = false\nretain_segments = 2");
    let d = busy(&home, 80);
    // Retention runs at the tick after a roll; the stop's own records may roll once more.
    daemon::wait_for(Duration::from_secs(20), || {
        let segs = archives(&home);
        segs.len() <= 2 && segs.first().is_some_and(|(n, _)| *n > 1)
    });
    let (st, _) = d.terminate();
    assert!(st.success());
    let segs = archives(&home);
    assert!(segs.len() <= 3, "{segs:?}");
    let (ok, out) = verify(&home);
    assert!(ok, "{out}");
    assert!(out.contains("history  starts at seq") && out.contains("removed by retention"), "{out}");
    let retention: Vec<_> = holdfast::audit::read_log_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|r| r.kind == "retention")
        .collect();
    assert!(!retention.is_empty());
    // Deleting the oldest remaining segment by hand is not retention.
    let oldest = segs[0].0;
    std::fs::remove_file(archive(&home, oldest)).unwrap();
    let (ok, out) = verify(&home);
    assert!(!ok && out.contains("no retention record"), "{out}");
    // So is deleting every archive: the active segment alone is still a segment of a longer log.
    let active = holdfast::audit::segments::all(&home.paths().audit_log()).unwrap().last().unwrap().number;
    for (n, _) in archives(&home) {
        std::fs::remove_file(archive(&home, n)).unwrap();
    }
    let (ok, out) = verify(&home);
    assert!(!ok && out.contains(&format!("(segment {active}), but no retention record")), "{out}");
}

/// A crash between compressing a segment and removing its plain file leaves both; retention must
/// remove both, or the compressed copy comes back as an old segment followed by a gap. (Found by
/// `kill_9_while_rolling_under_load…` under load.)
#[test]
fn retention_removes_both_forms_of_a_segment_a_crash_left_compressed_and_plain() {
    let home = home_with("segment_bytes = 4096\ncompress = false");
    let (st, _) = busy(&home, 60).terminate();
    assert!(st.success());
    let log = home.paths().audit_log();
    let oldest = holdfast::audit::segments::archives(&log).unwrap().remove(0);
    let plain = std::fs::read(&oldest.path).unwrap();
    holdfast::audit::segments::compress(&oldest, &log).unwrap();
    std::fs::write(&oldest.path, plain).unwrap();
    let kept = archives(&home).len() - 1;
    std::fs::write(
        home.paths().policy(),
        format!("[audit]\nsegment_bytes = 4096\ncompress = false\nretain_segments = {kept}\n"),
    )
    .unwrap();
    let d = home.daemon(&[]);
    daemon::wait_for(Duration::from_secs(20), || !oldest.path.exists());
    let (st, _) = d.terminate();
    assert!(st.success());
    let (ok, out) = verify(&home);
    assert!(ok && out.contains("removed by retention"), "{out}");
}

/// A log that never rolled is verified as one file (`segments` 0), and a log that is not there is
/// an error, never an empty clean report.
#[test]
fn a_log_that_never_rolled_is_one_file_and_a_missing_log_is_an_error() {
    let home = Home::new();
    let (st, _) = busy(&home, 3).terminate();
    assert!(st.success());
    let options = holdfast::audit::VerifyOptions::default();
    let report = holdfast::audit::verify_log(&home.paths().audit_log(), &options).unwrap();
    assert!(report.ok && report.lines > 3, "{report:?}");
    assert_eq!(report.segments, 0, "{report:?}");
    assert_eq!(report.bytes, std::fs::metadata(home.paths().audit_log()).unwrap().len(), "every byte read is counted");
    let missing = holdfast::audit::verify_log(&home.path().join("no-such-audit.jsonl"), &options);
    assert!(missing.is_err(), "{missing:?}");
}

#[test]
fn a_removed_or_edited_middle_segment_is_detected() {
    let home = home_with("segment_bytes = 4096\ncompress = false");
    let (st, _) = busy(&home, 60).terminate();
    assert!(st.success());
    let middle = archive(&home, 2);
    let saved = std::fs::read(&middle).unwrap();

    std::fs::remove_file(&middle).unwrap();
    let (ok, out) = verify(&home);
    assert!(!ok && out.contains("segment(s) 2..2 are missing"), "{out}");

    let edited = String::from_utf8(saved.clone()).unwrap().replacen("cargo test", "cargo best", 1);
    std::fs::write(&middle, edited).unwrap();
    let (ok, out) = verify(&home);
    assert!(!ok && out.contains("audit-000002.jsonl") && out.contains("`hash` does not match"), "{out}");

    let headless: String =
        String::from_utf8(saved.clone()).unwrap().lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&middle, headless).unwrap();
    let (ok, out) = verify(&home);
    assert!(!ok && out.contains("segment 2 does not start with its segment record"), "{out}");

    std::fs::write(&middle, &saved).unwrap();
    let (ok, out) = verify(&home);
    assert!(ok, "{out}");
}

#[test]
fn a_roll_interrupted_between_link_and_rename_is_undone_on_start() {
    let home = home_with("segment_bytes = 4096\ncompress = false");
    let (st, _) = busy(&home, 30).terminate();
    assert!(st.success());
    let log = home.paths().audit_log();
    let active = holdfast::audit::segments::all(&log).unwrap().last().unwrap().number;
    // The crash window: the archive link exists, the next segment is written but not renamed.
    std::fs::hard_link(&log, archive(&home, active)).unwrap();
    std::fs::write(holdfast::audit::segments::next_path(&log), b"{\"partial\":").unwrap();
    let d = home.daemon(&[]);
    propose(&d, "ls");
    let (_, stderr) = d.terminate();
    assert!(stderr.contains("interrupted"), "{stderr}");
    let (ok, out) = verify(&home);
    assert!(ok, "{out}");
}

#[cfg(unix)]
#[test]
fn kill_9_while_rolling_under_load_leaves_a_verifiable_chain_with_every_answer() {
    let home = home_with("segment_bytes = 2048\ncompress = true\nretain_segments = 4");
    for round in 0..3 {
        let crashing = std::sync::Arc::new(home.daemon(&[]));
        let mut acked = Vec::new();
        std::thread::scope(|s| {
            let writers: Vec<_> = (0..2)
                .map(|w| {
                    let d = crashing.clone();
                    s.spawn(move || {
                        let mut seqs = Vec::new();
                        for i in 0.. {
                            let p = Proposal {
                                agent: "test".into(),
                                cwd: daemon::abs_cwd(),
                                raw: format!("cargo test -- r{round}w{w}c{i}"),
                                ..Default::default()
                            };
                            match d.client.request(RequestBody::Propose(p)) {
                                Ok(r) => match r.body {
                                    ResponseBody::Verdict(v) => seqs.push(v.seq),
                                    _ => break,
                                },
                                Err(_) => break,
                            }
                        }
                        seqs
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(300 + 170 * round));
            // SIGKILL while the writers are mid-flight (and rolls happen every few records).
            let pid = rustix::process::Pid::from_raw(crashing.pid() as i32).unwrap();
            rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
            for w in writers {
                acked.extend(w.join().unwrap());
            }
        });
        let (ok, out) = verify(&home);
        // Before the restart only a torn last write may show (the start quarantines it).
        assert!(ok || out.contains("incomplete last line"), "round {round}: {out}");
        drop(crashing);
        let (st, _) = home.daemon(&[]).terminate();
        assert!(st.success());
        let (ok, out) = verify(&home);
        assert!(ok, "round {round}: {out}");
        let present: std::collections::HashSet<u64> = exported(&home).into_iter().collect();
        let first = *present.iter().min().unwrap();
        let lost: Vec<_> = acked.iter().filter(|s| **s >= first && !present.contains(s)).collect();
        assert!(lost.is_empty(), "round {round}: acknowledged records missing: {lost:?}");
        assert!(acked.len() > 4, "round {round}: only {} proposals answered", acked.len());
    }
}

#[test]
fn the_log_rolls_by_age_while_idle() {
    let home = home_with("segment_age = \"1s\"\ncompress = false");
    let d = busy(&home, 3);
    daemon::wait_for(Duration::from_secs(15), || !archives(&home).is_empty());
    propose(&d, "ls");
    let (st, _) = d.terminate();
    assert!(st.success());
    let (ok, out) = verify(&home);
    assert!(ok, "{out}");
}
