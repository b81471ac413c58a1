//! Holds have a memory bound: the queue is bounded by bytes as well as count, a hold beyond it is
//! a recorded denial, and every `list_pending` reply is a page that fits a frame.
#![cfg(unix)]

#[path = "support/daemon.rs"]
mod daemon;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use daemon::{Home, abs_cwd};
use holdfast::wire::{Decision, PageRequest, PendingItem, Proposal, RequestBody, ResponseBody, Verdict};

fn propose(d: &daemon::Daemon, raw: &str) -> Verdict {
    let p = Proposal { agent: "t".into(), cwd: abs_cwd(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => v,
        other => panic!("expected a verdict, got {other:?}"),
    }
}

/// A command that is held, padded to `len` bytes.
fn held_command(i: usize, len: usize) -> String {
    let head = format!("rm -rf build{i} # ");
    format!("{head}{}", "a".repeat(len - head.len()))
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Every page of `list_pending`, `limit` items at a time.
fn all_pages(d: &daemon::Daemon, limit: u32) -> (Vec<PendingItem>, usize) {
    let (mut items, mut pages, mut after) = (Vec::new(), 0, None);
    loop {
        let page = PageRequest { after: after.take(), limit: Some(limit) };
        let ResponseBody::PendingList { items: got, more, next } = d.request(RequestBody::ListPendingPage(page)) else {
            panic!("expected a pending list")
        };
        pages += 1;
        assert!(got.len() <= limit as usize);
        items.extend(got);
        if !more {
            return (items, pages);
        }
        after = next;
    }
}

#[test]
fn a_flood_of_maximal_holds_keeps_memory_bounded_and_pending_works() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let max = 1 << 20; // the longest `raw` a proposal may carry
    let (mut held, mut refused) = (0, 0);
    for i in 0..48 {
        let v = propose(&d, &held_command(i, max));
        match v.decision {
            Decision::Hold => held += 1,
            Decision::Deny => {
                assert!(v.reason.contains("approval queue is full"), "{v:?}");
                assert!(v.seq > 0, "the refusal is recorded: {v:?}");
                refused += 1;
            }
            Decision::Allow => panic!("a held command was allowed: {v:?}"),
        }
    }
    let peak = peak_rss_kib(d.pid());
    eprintln!("{held} holds of 1 MiB kept, {refused} refused; daemon peak RSS {peak} KiB");
    assert!(held > 0 && refused > 0, "held {held}, refused {refused}");
    assert!(held <= (holdfast::daemon::queue::MAX_PENDING_BYTES >> 20), "held {held}");
    // 32 MiB of held text, plus one frame in flight and its parse: nowhere near 48 MiB × 3.
    assert!(peak < 160 * 1024, "daemon peak RSS {peak} KiB");
    let (items, pages) = all_pages(&d, 7);
    assert_eq!(items.len(), held);
    assert!(pages > 1);
    let mut ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), held, "each item on exactly one page");
    for item in &items {
        assert_eq!(item.command_len, Some(max as u64));
        assert!(item.command.len() <= holdfast::daemon::queue::LIST_COMMAND_MAX);
        assert_eq!(item.command_sha256.as_ref().map(String::len), Some(64));
    }
    let out = home.run(&["pending", "--json"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), held);
    let out = home.run(&["pending"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("cut: {max} bytes in all")));
}

#[test]
fn a_slow_reader_of_a_big_reply_stalls_no_one() {
    let home = Home::new();
    let d = home.daemon(&[]);
    // 600 items of 4 KiB: a page of some 2.6 MB, far more than a socket buffer holds.
    for i in 0..600 {
        assert_eq!(propose(&d, &held_command(i, 4000)).decision, Decision::Hold);
    }
    let mut slow = UnixStream::connect(home.socket()).unwrap();
    slow.write_all(b"{\"kind\":\"list_pending\"}\n").unwrap();
    // The slow reader reads nothing for a while: everyone else is served meanwhile.
    for _ in 0..10 {
        d.assert_alive();
    }
    std::thread::sleep(Duration::from_secs(1));
    // Its reply was cut off at the send deadline (250 ms), not sent at its pace.
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let _ = slow.read_to_end(&mut got);
    assert!(!got.ends_with(b"\n"), "the whole reply ({} bytes) went to a peer that did not read", got.len());
    d.assert_alive();
}
