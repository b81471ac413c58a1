//! Windows transport and lifecycle through the real binary: the named pipe, its owner-only
//! security descriptor, the frame deadline without pipe timeouts, bad input, stale endpoints.
//! Runs under Wine in `make test-windows`.
#![cfg(windows)]

#[path = "support/daemon.rs"]
mod daemon;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use daemon::{Home, error_code, raw_exchange};
use holdfast::paths::Endpoint;
use holdfast::transport::{ClientError, Server};
use holdfast::wire::RequestBody;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr))
    })
}

#[test]
fn endpoint_is_a_per_home_named_pipe() {
    let (a, b) = (Home::new(), Home::new());
    let Endpoint::Pipe(name) = a.endpoint() else { panic!("expected a pipe") };
    assert!(name.starts_with("holdfast-"), "{name}");
    assert_ne!(a.endpoint(), b.endpoint(), "isolated homes must not share a pipe");
    assert!(a.endpoint().to_string().starts_with(r"\\.\pipe\holdfast-"));
}

#[test]
fn server_round_trip_and_the_pipe_vanishes_with_the_server() {
    let home = Home::new();
    let paths = home.paths();
    let server = Server::bind(&paths, Duration::from_millis(250)).unwrap();
    assert!(paths.pid_file().exists());
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let serving = std::thread::spawn(move || {
        server.serve_until(|frame, _peer| Some([b"echo:".as_slice(), &frame.unwrap(), b"\n"].concat()), &flag);
    });
    let client = home.client();
    for body in [&b"{\"kind\":\"ping\"}"[..], b"hello", &[b'x'; 100_000]] {
        let reply = client.exchange(&[body, b"\n"].concat()).unwrap();
        assert_eq!(reply, [b"echo:", body].concat());
    }
    stop.store(true, Ordering::SeqCst);
    serving.join().unwrap();
    // The pipe exists only while a server holds it: nothing stale is left to reclaim.
    assert!(matches!(client.request(RequestBody::Ping), Err(ClientError::NotRunning(_))));
    assert!(!paths.pid_file().exists(), "pid file left behind");
    drop(Server::bind(&paths, Duration::from_millis(250)).expect("the name is free again"));
}

/// `holdfast start --json` with stdout and stderr in files, not pipes: std on Windows always lets a
/// child inherit inheritable handles, so the detached daemon would keep a captured pipe open
/// until it exits (see the README's Windows section).
fn start_to_files(home: &Home) -> std::process::Output {
    let (out, err) = (home.path().join("start.out"), home.path().join("start.err"));
    let status = home
        .cmd()
        .args(["start", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    std::process::Output { status, stdout: std::fs::read(out).unwrap(), stderr: std::fs::read(err).unwrap() }
}

#[test]
fn ping_status_stop_through_the_binary() {
    let home = Home::new();
    let out = home.run(&["status", "--json"], "");
    assert_eq!(out.status.code(), Some(3), "not running yet");
    assert_eq!(json(&out)["running"], false);

    let out = start_to_files(&home);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let started = json(&out);
    let pid = started["pid"].as_u64().unwrap();
    assert_eq!(started["endpoint"], home.endpoint().to_string());

    let out = home.run(&["ping", "--json"], "");
    assert!(out.status.success());
    assert_eq!(json(&out)["pid"], pid);

    let out = home.run(&["status", "--json"], "");
    assert!(out.status.success());
    let status = json(&out);
    assert_eq!((status["running"].clone(), status["pid"].as_u64()), (true.into(), Some(pid)));
    assert_eq!(status["endpoint"], home.endpoint().to_string());

    let out = home.run(&["start"], "");
    assert_eq!(out.status.code(), Some(7), "second start must refuse");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("pid {pid}")));

    let out = home.run(&["stop", "--json"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["stopped"], true);
    assert_eq!(home.run(&["status"], "").status.code(), Some(3));
    assert!(!home.paths().pid_file().exists(), "pid file left behind");
}

#[test]
fn shutdown_request_removes_pid_file_and_exits_zero() {
    let home = Home::new();
    let d = home.daemon(&[]);
    d.assert_alive();
    assert!(home.paths().pid_file().exists());
    let (status, _) = d.terminate();
    assert!(status.success(), "{status}");
    assert!(!home.paths().pid_file().exists(), "pid file left behind");
    assert!(matches!(home.client().request(RequestBody::Ping), Err(ClientError::NotRunning(_))));
}

#[test]
fn wire_round_trip_with_id_and_text_mode() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let reply = raw_exchange(&home.socket(), b"{\"v\":1,\"kind\":\"ping\",\"id\":\"w1\"}\n");
    let v: serde_json::Value = serde_json::from_slice(reply.strip_suffix(b"\n").expect("newline-terminated")).unwrap();
    assert_eq!(
        (v["kind"].as_str(), v["id"].as_str(), v["pid"].as_u64()),
        (Some("pong"), Some("w1"), Some(d.pid().into()))
    );
    assert_eq!(raw_exchange(&home.socket(), b"PING\n"), b"PONG\n");
}

#[test]
fn bad_input_gets_typed_errors_and_the_daemon_keeps_serving() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let cases: [(&[u8], &str); 5] = [
        (b"{not json\n", "bad_frame"),
        (b"{\"kind\":\"nope\"}\n", "unknown_kind"),
        (b"{\"v\":2,\"kind\":\"ping\"}\n", "unsupported_version"),
        (b"{\"kind\":\"ping\",\"id\":7}\n", "invalid_field"),
        (b"{\"kind\":\"ping\"\xff}\n", "bad_utf8"),
    ];
    for (frame, code) in cases {
        let reply = raw_exchange(&home.socket(), frame);
        assert_eq!(error_code(&reply).as_deref(), Some(code), "{}", String::from_utf8_lossy(&reply));
        d.assert_alive();
    }
}

#[test]
fn oversized_frame_is_refused() {
    let home = Home::new();
    // Wine moves pipe data slowly; the bound, not the throughput, is under test here.
    let d = home.daemon(&["--frame-deadline-ms", "20000"]);
    let mut big = vec![b'a'; 17 * 1024 * 1024];
    big.push(b'\n');
    let reply = raw_exchange(&home.socket(), &big);
    assert_eq!(error_code(&reply).as_deref(), Some("frame_too_large"));
    d.assert_alive();
}

#[test]
fn stalled_peer_gets_timeout_and_cannot_block_the_daemon() {
    let home = Home::new();
    let d = home.daemon(&["--frame-deadline-ms", "300"]);
    // Half a frame, then silence, with the pipe held open.
    let stalled = Arc::new(daemon::raw_connect(&home.socket()));
    (&*stalled).write_all(b"{\"kind\":\"pi").unwrap();
    let reply = daemon::read_reply(Arc::clone(&stalled), Duration::from_secs(10));
    assert_eq!(error_code(&reply).as_deref(), Some("timeout"), "{}", String::from_utf8_lossy(&reply));
    // A peer that connects and says nothing at all while others are served.
    let silent = daemon::raw_connect(&home.socket());
    d.assert_alive();
    d.assert_alive();
    drop(silent);
    d.assert_alive();
    drop(stalled);
}

#[test]
fn second_daemon_refuses_and_touches_nothing() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let pid_file = std::fs::read_to_string(home.paths().pid_file()).unwrap();
    let out = home.run(&["daemon"], "");
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("already running (pid {})", d.pid())));
    assert_eq!(std::fs::read_to_string(home.paths().pid_file()).unwrap(), pid_file);
    d.assert_alive();
}

#[test]
fn stale_pid_file_after_a_crash_is_replaced() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let old = d.pid();
    d.kill9();
    // The pipe died with its process; only the PID file is stale.
    assert!(home.paths().pid_file().exists());
    assert_eq!(home.run(&["status"], "").status.code(), Some(3));
    let d = home.daemon(&[]);
    assert_ne!(d.pid(), old);
    let pid_file = std::fs::read_to_string(home.paths().pid_file()).unwrap();
    assert_eq!(pid_file.lines().next(), Some(d.pid().to_string().as_str()));
    d.assert_alive();
}

#[test]
fn a_foreign_server_on_the_name_is_left_alone() {
    use interprocess::local_socket::traits::ListenerExt as _;
    use interprocess::local_socket::{GenericNamespaced, ListenerOptions, ToNsName};
    let home = Home::new();
    let Endpoint::Pipe(name) = home.endpoint() else { unreachable!() };
    let foreign =
        ListenerOptions::new().name(name.as_str().to_ns_name::<GenericNamespaced>().unwrap()).create_sync().unwrap();
    // It accepts and answers something that is not holdfast.
    let answering = std::thread::spawn(move || {
        let s = foreign.incoming().next().unwrap().unwrap();
        let _ = (&s).write_all(b"HELLO FROM SOMEONE ELSE\n");
        s // kept open until the daemon gave up, so the answer is not lost
    });
    let out = home.run(&["daemon"], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not as holdfast"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!home.paths().pid_file().exists(), "must not claim the endpoint");
    drop(answering.join().unwrap());
}

#[test]
fn pipe_is_created_with_the_owner_only_descriptor() {
    // Wine has a single user, so "another user cannot open the pipe" cannot be exercised here;
    // instead assert what the listener is built with, read back through the Win32 serializer.
    let sddl = holdfast::winsec::dacl_round_trip(holdfast::winsec::OWNER_ONLY_SDDL).unwrap();
    assert_eq!(sddl, holdfast::winsec::OWNER_ONLY_SDDL);
    assert!(sddl.starts_with("D:P"), "DACL must be protected from inheritance: {sddl}");
    assert!(!sddl.contains(";;;WD)") && !sddl.contains(";;;AU)") && !sddl.contains(";;;BU)"), "{sddl}");
}
