//! Hostile and malformed input against the real daemon: every case ends in its typed
//! error or a clean close, and the daemon answers the next `ping`. Every test runs twice, over
//! the socket and over loopback TCP with the token (`socket::…`, `tcp::…`): the same loop serves both.
#![cfg(unix)]

#[path = "support/daemon.rs"]
mod daemon;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daemon::{Conn, Home, Target, Via, error_code};

crate::over_both!(
    malformed_frames_get_typed_errors_and_the_daemon_keeps_serving,
    errors_echo_the_request_id,
    oversized_frame_is_refused_without_buffering_it_all,
    a_frame_of_exactly_the_limit_is_accepted,
    silent_and_stalled_peers_time_out_without_stalling_the_daemon,
    a_trickling_peer_cannot_extend_its_deadline,
    idle_and_trickling_peers_do_not_starve_the_others,
    at_the_connection_bound_the_oldest_idle_peer_goes_first,
    a_thousand_connections_opened_and_dropped,
    text_mode_for_humans,
    every_kind_is_served_and_missing_fields_are_typed_errors,
    rss_stays_bounded_while_huge_frames_arrive,
);

/// Far above the 250 ms frame deadline: only catches a hang, never measures speed.
const HANG: Duration = Duration::from_secs(10);

fn expect_code(t: &Target, bytes: &[u8], code: &str) {
    let reply = t.raw_exchange(bytes);
    assert_eq!(error_code(&reply).as_deref(), Some(code), "reply: {}", String::from_utf8_lossy(&reply));
    assert!(reply.ends_with(b"\n"), "reply is one newline-terminated frame");
}

fn malformed_frames_get_typed_errors_and_the_daemon_keeps_serving(via: Via) {
    let home = Home::new();
    let (d, t) = home.daemon_via(via, &[]);
    let cases: &[(&[u8], &str)] = &[
        (b"{\"kind\":\"ping\"\n", "bad_frame"),
        (b"{nope}\n", "bad_frame"),
        (b"{\"kind\":\"ping\",\"x\":\"\xff\xfe\"}\n", "bad_utf8"),
        (b"{\"kind\":\"launch_missiles\"}\n", "unknown_kind"),
        (b"{\"kind\":\"propose\",\"agent\":7,\"cwd\":\"/\",\"raw\":\"ls\"}\n", "invalid_field"),
        (b"{\"kind\":\"pending_status\",\"pending\":[1]}\n", "invalid_field"),
        (b"{\"kind\":\"ping\",\"id\":42}\n", "invalid_field"),
        (b"{\"v\":2,\"kind\":\"ping\"}\n", "unsupported_version"),
        (b"{\"kind\":\"ping\"}", "bad_frame"), // bytes without a newline, then EOF
    ];
    for (bytes, code) in cases {
        expect_code(&t, bytes, code);
        d.assert_alive();
    }
}

fn errors_echo_the_request_id(via: Via) {
    let home = Home::new();
    let (_d, t) = home.daemon_via(via, &[]);
    let reply = t.raw_exchange(b"{\"v\":2,\"kind\":\"ping\",\"id\":\"abc\"}\n");
    let v: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(v["id"], "abc");
    assert_eq!(v["v"], 1);
    assert!(v["message"].as_str().unwrap().contains("version"));
}

fn oversized_frame_is_refused_without_buffering_it_all(via: Via) {
    let home = Home::new();
    // About size, not speed: a loaded debug build may need more than 250 ms for 16 MiB.
    let (d, t) = home.daemon_via(via, &["--frame-deadline-ms", "10000"]);
    let mut s = t.connect();
    s.set_read_timeout(Some(HANG));
    let writer = {
        let mut s = s.try_clone();
        std::thread::spawn(move || {
            let chunk = vec![b'a'; 1 << 20];
            for _ in 0..17 {
                if s.write_all(&chunk).is_err() {
                    break; // the daemon stopped reading: expected
                }
            }
            let _ = s.write_all(b"\n");
        })
    };
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    writer.join().unwrap();
    assert_eq!(error_code(&reply).as_deref(), Some("frame_too_large"), "{}", String::from_utf8_lossy(&reply));
    d.assert_alive();
}

fn a_frame_of_exactly_the_limit_is_accepted(via: Via) {
    let home = Home::new();
    // This test is about size, not speed: give a debug build time to move 16 MiB.
    let (d, t) = home.daemon_via(via, &["--frame-deadline-ms", "10000"]);
    // {"kind":"ping","pad":"aaa…"}\n == 16 MiB exactly.
    let head = b"{\"kind\":\"ping\",\"pad\":\"";
    let tail = b"\"}\n";
    let pad = holdfast::wire::MAX_FRAME - head.len() - tail.len();
    let mut frame = head.to_vec();
    frame.resize(head.len() + pad, b'a');
    frame.extend_from_slice(tail);
    assert_eq!(frame.len(), holdfast::wire::MAX_FRAME);
    let reply = t.raw_exchange(&frame);
    let v: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(v["kind"], "pong", "{v}");
    // One byte more is too large.
    frame.insert(head.len(), b'a');
    let reply = t.raw_exchange(&frame);
    assert_eq!(error_code(&reply).as_deref(), Some("frame_too_large"), "{}", String::from_utf8_lossy(&reply));
    d.assert_alive();
}

fn silent_and_stalled_peers_time_out_without_stalling_the_daemon(via: Via) {
    let home = Home::new();
    let (d, t) = home.daemon_via(via, &[]);
    for partial in [&b""[..], &b"{\"kind\":\"pi"[..]] {
        let started = Instant::now();
        let mut s = t.connect();
        s.write_all(partial).unwrap();
        // While this peer stalls, others are served as soon as its deadline passes.
        d.assert_alive();
        s.set_read_timeout(Some(HANG));
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).unwrap();
        assert_eq!(error_code(&reply).as_deref(), Some("timeout"), "{}", String::from_utf8_lossy(&reply));
        assert!(started.elapsed() < HANG);
    }
    d.assert_alive();
}

fn a_trickling_peer_cannot_extend_its_deadline(via: Via) {
    let home = Home::new();
    let (d, t) = home.daemon_via(via, &["--frame-deadline-ms", "300"]);
    let mut s = t.connect();
    s.set_read_timeout(Some(HANG));
    let started = Instant::now();
    // One byte every 20 ms for as long as HANG: a per-read timeout would never fire while this
    // runs, so its answer would come only after the trickle ends.
    let trickler = {
        let mut s = s.try_clone();
        std::thread::spawn(move || {
            for b in b"{\"kind\":\"ping\"".iter().cycle() {
                if s.write_all(&[*b]).is_err() || started.elapsed() > HANG {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    let answered_after = started.elapsed();
    assert_eq!(error_code(&reply).as_deref(), Some("timeout"), "{}", String::from_utf8_lossy(&reply));
    // The total deadline (300 ms) ends the frame while the trickle is still going.
    assert!(answered_after < HANG / 2, "cut off only after {answered_after:?}: the deadline is per read");
    trickler.join().unwrap();
    d.assert_alive();
}

/// Holds `n` connections open to `t` (each silent, or sending one byte every 20 ms).
fn hold_connections(t: &Target, n: usize) -> Vec<Conn> {
    (0..n).map(|_| t.connect()).collect()
}

/// Raises this test process's open-file limit (each held connection is a descriptor).
fn raise_nofile() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    l.current = l.maximum;
    let _ = setrlimit(Resource::Nofile, l);
}

fn idle_and_trickling_peers_do_not_starve_the_others(via: Via) {
    raise_nofile();
    let home = Home::new();
    let (d, t) = home.daemon_via(via, &[]);
    // The figures: 2,000 silent peers or 50 trickling ones denied every command when the
    // daemon read one connection at a time (a 5 s client timeout against 250 ms each).
    let idle = hold_connections(&t, 2_000);
    let trickling = hold_connections(&t, 50);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickler = {
        let stop = std::sync::Arc::clone(&stop);
        let mut conns = trickling;
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                for c in &mut conns {
                    let _ = c.write_all(b" ");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let client = t.client().with_timeout(Duration::from_secs(5));
    for _ in 0..20 {
        let reply = client.request(holdfast::wire::RequestBody::Ping).expect("ping while flooded");
        assert!(matches!(reply.body, holdfast::wire::ResponseBody::Pong(_)));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    trickler.join().unwrap();
    drop(idle);
    d.assert_alive();
}

fn at_the_connection_bound_the_oldest_idle_peer_goes_first(via: Via) {
    raise_nofile();
    let home = Home::new();
    if via == Via::Tcp {
        home.enable_tcp();
    }
    // 200 descriptors for the daemon: its connection bound is 200 less its reserve of 64.
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -n 200 && exec \"$0\" daemon --frame-deadline-ms 30000")
        .arg(daemon::bin())
        .env_clear()
        .env("HOLDFAST_HOME", home.path())
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let d = daemon::Daemon { child: sh.spawn().unwrap(), client: home.client() };
    d.wait_ready();
    let t = home.target(via);
    let mut oldest = t.connect();
    oldest.set_read_timeout(Some(HANG));
    // Far more silent peers than the bound, each with a 30 s frame deadline.
    let _idle = hold_connections(&t, 300);
    let mut reply = Vec::new();
    let _ = oldest.read_to_end(&mut reply);
    assert_eq!(error_code(&reply).as_deref(), Some("unavailable"), "{}", String::from_utf8_lossy(&reply));
    // A newcomer is still served: it pushes out the oldest idle peer, not itself.
    for _ in 0..5 {
        d.assert_alive();
    }
}

fn a_thousand_connections_opened_and_dropped(via: Via) {
    let home = Home::new();
    let (d, t) = home.daemon_via(via, &[]);
    let conns: Vec<_> = (0..1000).filter_map(|_| t.try_connect().ok()).collect();
    assert!(conns.len() > 100, "could open only {} connections", conns.len());
    drop(conns);
    d.assert_alive();
    let status = d.request(holdfast::wire::RequestBody::Status);
    assert!(matches!(status, holdfast::wire::ResponseBody::Status(_)));
}

fn text_mode_for_humans(via: Via) {
    let home = Home::new();
    let (d, t) = home.daemon_via(via, &[]);
    assert_eq!(t.raw_exchange(b"PING\n"), b"PONG\n");
    let status = String::from_utf8(t.raw_exchange(b"STATUS\n")).unwrap();
    assert!(status.starts_with("holdfast ") && status.contains(&format!("pid={}", d.pid())), "{status}");
    let unknown = String::from_utf8(t.raw_exchange(b"REBOOT\n")).unwrap();
    assert!(unknown.starts_with("ERR "), "{unknown}");
}

fn every_kind_is_served_and_missing_fields_are_typed_errors(via: Via) {
    let home = Home::new();
    let (d, t) = home.daemon_via(via, &[]);
    // A bare `{"kind": k}`: kinds that need fields say which is missing; the others answer.
    let cases = [
        ("propose", "error"),
        ("record", "error"),
        ("observe", "error"),
        ("resolve", "error"),
        ("pending_status", "error"),
        ("approve", "error"),
        ("deny", "error"),
        ("auth_begin", "error"),
        ("list_pending", "pending_list"),
        ("status", "status"),
        ("ping", "pong"),
        ("log_head", "log_head"),
    ];
    for (kind, answer) in cases {
        let reply = t.raw_exchange(format!("{{\"kind\":\"{kind}\"}}\n").as_bytes());
        let v: serde_json::Value = serde_json::from_slice(&reply).unwrap();
        assert_eq!(v["kind"], answer, "{kind}: {v}");
        if answer == "error" {
            assert_eq!(v["code"], "invalid_field", "{kind}: {v}");
            assert!(v["message"].as_str().unwrap().contains("missing field"), "{kind}: {v}");
        }
    }
    d.assert_alive();
}

fn rss_stays_bounded_while_huge_frames_arrive(via: Via) {
    let home = Home::new();
    let (d, t) = home.daemon_via(via, &["--frame-deadline-ms", "10000"]);
    let frame = {
        let mut f = b"{\"kind\":\"ping\",\"pad\":\"".to_vec();
        f.resize(15 << 20, b'a');
        f.extend_from_slice(b"\"}\n");
        f
    };
    let oversized = vec![b'x'; 20 << 20];
    for i in 0..12 {
        let bytes = if i % 2 == 0 { &frame } else { &oversized };
        let _ = t.raw_exchange(bytes);
    }
    d.assert_alive();
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap();
    let hwm_kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap();
    // One 16 MiB frame buffer plus its parse; 12 frames of 15–20 MiB must not accumulate.
    assert!(hwm_kib < 96 * 1024, "daemon peak RSS {hwm_kib} KiB");
    eprintln!("daemon peak RSS after 12 huge frames: {hwm_kib} KiB");
}
