//! A frame that never ends is bounded before its newline: a peer streaming more than the frame limit
//! without a newline gets `frame_too_large` as soon as the limit is crossed, while it is still
//! sending, not at the frame deadline (which could be long) and not after buffering all it sends.
//! Runs over the socket and over loopback TCP (`socket::…`, `tcp::…`).
#![cfg(unix)]

#[path = "support/daemon.rs"]
mod daemon;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use daemon::{Home, Via};
use holdfast::wire::MAX_FRAME;

crate::over_both!(a_frame_without_a_newline_is_refused_at_the_limit_while_the_peer_still_sends);

fn a_frame_without_a_newline_is_refused_at_the_limit_while_the_peer_still_sends(via: Via) {
    let home = Home::new();
    // A long frame deadline: only the size bound can end this frame early.
    let (d, t) = home.daemon_via(via, &["--frame-deadline-ms", "10000"]);
    // What the kernel buffers between the two ends is not read by the daemon but counts as sent:
    // loopback TCP buffers several MiB (autotuned), a Unix socket a few hundred KiB.
    let slack = if via == Via::Tcp { 32 << 20 } else { 1 << 20 };
    let total = MAX_FRAME + slack;
    let mut stream = t.connect();
    stream.set_read_timeout(Some(Duration::from_secs(30)));
    let sent = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (mut s, sent) = (stream.try_clone(), Arc::clone(&sent));
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
    let _ = stream.read_to_end(&mut reply);
    assert_eq!(daemon::error_code(&reply).as_deref(), Some("frame_too_large"), "{}", String::from_utf8_lossy(&reply));
    writer.join().unwrap();
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < total, "the daemon read all {sent} bytes of an endless frame before refusing it");
    d.assert_alive();
}
