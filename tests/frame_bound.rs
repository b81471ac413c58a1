//! A frame that never ends is bounded before its newline: a peer streaming more than the frame limit
//! without a newline gets `frame_too_large` as soon as the limit is crossed, while it is still
//! sending, not at the frame deadline (which could be long) and not after buffering all it sends.
#![cfg(unix)]

#[path = "support/daemon.rs"]
mod daemon;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use daemon::Home;
use holdfast::wire::MAX_FRAME;

#[test]
fn a_frame_without_a_newline_is_refused_at_the_limit_while_the_peer_still_sends() {
    let home = Home::new();
    // A long frame deadline: only the size bound can end this frame early.
    let d = home.daemon(&["--frame-deadline-ms", "10000"]);
    let total = MAX_FRAME + 1024 * 1024;
    let stream = UnixStream::connect(home.socket()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (mut s, sent) = (stream.try_clone().unwrap(), Arc::clone(&sent));
        std::thread::spawn(move || {
            let chunk = vec![b'a'; 64 * 1024];
            while sent.load(Ordering::SeqCst) < total {
                match s.write(&chunk) {
                    Ok(n) => sent.fetch_add(n, Ordering::SeqCst),
                    Err(_) => return, // the daemon closed: it stopped reading
                };
            }
        })
    };
    let mut reply = Vec::new();
    let _ = (&stream).read_to_end(&mut reply);
    assert_eq!(daemon::error_code(&reply).as_deref(), Some("frame_too_large"), "{}", String::from_utf8_lossy(&reply));
    writer.join().unwrap();
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < total, "the daemon read all {sent} bytes of an endless frame before refusing it");
    d.assert_alive();
}
