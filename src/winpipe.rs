//! Windows named-pipe I/O with deadlines (DESIGN §7).
//!
//! Named pipes have no I/O timeouts, and a nonblocking (`PIPE_NOWAIT`) read with no data
//! reports the same thing as end of stream (`ERROR_NO_DATA` becomes `Ok(0)`), so nonblocking
//! reads cannot implement a frame deadline. Instead blocking I/O runs on helper threads and
//! the caller waits on a channel with a deadline; a stalled peer only ever stalls its own
//! helper thread. The daemon's state stays single-threaded: the helpers only move bytes.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use interprocess::local_socket::traits::{Listener as _, Stream as _};
use interprocess::local_socket::{GenericNamespaced, ListenerOptions, ToNsName};
use interprocess::os::windows::local_socket::ListenerOptionsExt;

use crate::transport::{FrameError, read_frame, write_frame};

/// The pipe listener.
pub(crate) type OsListener = interprocess::os::windows::named_pipe::local_socket::Listener;
/// One pipe connection.
pub(crate) type OsStream = interprocess::os::windows::named_pipe::local_socket::Stream;

/// Accepted connections waiting for the serve loop (the acceptor blocks when it is full).
const ACCEPT_QUEUE: usize = 16;
/// Connection threads still blocked on a stalled peer beyond which new connections are closed
/// unanswered, so a misbehaving client cannot make the daemon spawn threads without bound.
const MAX_STALLED: usize = 64;
/// How long `Drop` waits for its own wake-up connection.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);
/// Deadline passed to the blocking frame functions, which the helper threads do not enforce.
const NO_DEADLINE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Creates the pipe `name` with the owner-only security descriptor, or, for the installed system
/// daemon's pipe, the one that also lets its allowed users connect (see `winsec`).
///
/// The first instance is created with `FILE_FLAG_FIRST_PIPE_INSTANCE` (interprocess does this), so
/// binding fails if anyone else already serves the name, and `PIPE_REJECT_REMOTE_CLIENTS` (the
/// default of interprocess) keeps clients on other machines out.
pub(crate) fn listen(name: &str) -> io::Result<OsListener> {
    ListenerOptions::new()
        .name(name.to_ns_name::<GenericNamespaced>()?)
        .security_descriptor(crate::winsec::descriptor_for(name)?)
        .create_sync_as::<OsListener>()
}

/// `ERROR_PIPE_BUSY`: every instance of the pipe is connected; try again.
const ERROR_PIPE_BUSY: i32 = 231;
/// `FILE_SHARE_READ | FILE_SHARE_WRITE`, as interprocess opens pipes.
const PIPE_SHARE: u32 = 0x1 | 0x2;
/// `FILE_FLAG_OVERLAPPED`: interprocess's blocking I/O uses `ReadFileEx`/`WriteFileEx`, which need it.
const FILE_FLAG_OVERLAPPED: u32 = 0x4000_0000;
/// `SECURITY_IDENTIFICATION`: the server may learn who the client is but never act as it.
const SECURITY_IDENTIFICATION: u32 = 0x0001_0000;
/// How long a client sleeps between tries while every instance is busy.
const BUSY_RETRY: Duration = Duration::from_millis(2);

/// Connects to the pipe `name`, waiting at most `timeout` for a free instance.
///
/// Opened with std (safe code) rather than interprocess's connect, which asks for `GENERIC_READ |
/// GENERIC_WRITE`: `GENERIC_WRITE` includes `FILE_APPEND_DATA` (`FILE_CREATE_PIPE_INSTANCE` on a
/// pipe), which the system daemon's ACL refuses to its users. This open asks only for
/// [`crate::winsec::CLIENT_OPEN_ACCESS`].
pub(crate) fn connect(name: &str, timeout: Duration) -> io::Result<OsStream> {
    use std::os::windows::fs::OpenOptionsExt;
    let path = format!(r"\\.\pipe\{name}");
    let deadline = Instant::now() + timeout.max(Duration::from_millis(1));
    loop {
        let opened = std::fs::OpenOptions::new()
            .access_mode(crate::winsec::CLIENT_OPEN_ACCESS)
            .share_mode(PIPE_SHARE)
            .custom_flags(FILE_FLAG_OVERLAPPED)
            .security_qos_flags(SECURITY_IDENTIFICATION)
            .open(&path);
        match opened {
            Ok(file) => {
                let handle = std::os::windows::io::OwnedHandle::from(file);
                return OsStream::try_from(handle).map_err(|e| io::Error::other(e.to_string()));
            }
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) && Instant::now() < deadline => {
                std::thread::sleep(BUSY_RETRY);
            }
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) => return Err(io::ErrorKind::TimedOut.into()),
            Err(e) => return Err(e),
        }
    }
}

/// The process id of the pipe's server (`GetNamedPipeServerProcessId`, through interprocess).
pub(crate) fn server_pid(stream: &OsStream) -> Option<u32> {
    stream.inner().server_process_id().ok()
}

/// Accepts connections on a thread (a blocking accept wakes at once, unlike polling) and hands
/// them to the serve loop. Dropping it stops the thread and closes the pipe.
pub(crate) struct Acceptor {
    incoming: Option<Receiver<OsStream>>,
    closing: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    name: String,
}

impl Acceptor {
    /// Starts accepting on `listener`, whose pipe is called `name`.
    pub(crate) fn start(listener: OsListener, name: String) -> io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(ACCEPT_QUEUE);
        let closing = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&closing);
        let thread = std::thread::Builder::new()
            .name("holdfast-accept".into())
            .spawn(move || accept_loop(&listener, &tx, &flag))?;
        Ok(Acceptor { incoming: Some(rx), closing, thread: Some(thread), name })
    }

    /// The next connection, or `None` after `wait` without one.
    pub(crate) fn next(&self, wait: Duration) -> Option<OsStream> {
        self.incoming.as_ref()?.recv_timeout(wait).ok()
    }
}

fn accept_loop(listener: &OsListener, queue: &SyncSender<OsStream>, closing: &AtomicBool) {
    while !closing.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok(stream) => {
                if closing.load(Ordering::SeqCst) || queue.send(stream).is_err() {
                    return;
                }
            }
            Err(e) => {
                eprintln!("holdfast: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        // Unblocks a queue send; then a connection of our own unblocks a pending accept. A
        // listener always has an instance waiting, so this connect succeeds while the thread runs.
        drop(self.incoming.take());
        let _ = connect(&self.name, WAKE_TIMEOUT);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves one accepted connection: reads a frame on a helper thread within `frame_deadline`,
/// answers with what `handler` returns, and waits for the answer to be written no longer than
/// another `frame_deadline`. The caller never blocks on the peer beyond these deadlines.
pub(crate) fn serve_connection<H>(stream: OsStream, frame_deadline: Duration, stalled: &Arc<AtomicUsize>, handler: H)
where
    H: FnOnce(Result<Vec<u8>, FrameError>) -> Option<Vec<u8>>,
{
    let deadline = Instant::now() + frame_deadline;
    if stalled.load(Ordering::SeqCst) >= MAX_STALLED {
        eprintln!("holdfast: {MAX_STALLED} connections are stalled; closing a new one unanswered");
        return;
    }
    let stream = Arc::new(stream);
    let (frame_tx, frame_rx) = mpsc::channel();
    let (reply_tx, reply_rx) = mpsc::channel::<Option<Vec<u8>>>();
    let (done_tx, done_rx) = mpsc::channel();
    let worker = Arc::clone(&stream);
    let guard = StalledGuard::new(stalled);
    let spawned = std::thread::Builder::new().name("holdfast-conn".into()).spawn(move || {
        let _guard = guard;
        let frame = read_frame(&worker, NO_DEADLINE);
        if frame_tx.send(frame).is_err() {
            return;
        }
        if let Ok(Some(reply)) = reply_rx.recv() {
            // Flush waits until the peer has read everything, so closing loses nothing.
            let written =
                write_frame(&worker, &reply, Instant::now() + NO_DEADLINE).and_then(|()| worker.inner().flush());
            let _ = done_tx.send(written);
        }
    });
    if let Err(e) = spawned {
        eprintln!("holdfast: cannot start a connection thread: {e}");
        return;
    }
    let frame = match frame_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(frame) => frame,
        Err(RecvTimeoutError::Timeout) => Err(FrameError::Timeout(frame_deadline)),
        Err(RecvTimeoutError::Disconnected) => Err(FrameError::Io(io::Error::other("connection thread ended"))),
    };
    let timed_out = matches!(frame, Err(FrameError::Timeout(_)));
    let reply = handler(frame);
    if timed_out {
        // The helper is still blocked reading; answer from here without ever blocking: the error
        // frame is small and nonblocking mode writes what fits, which is all of it on a fresh pipe.
        if let Some(reply) = reply
            && stream.set_nonblocking(true).is_ok()
        {
            let _ = io::Write::write(&mut &*stream, &reply);
        }
        return;
    }
    let answering = reply.is_some();
    if reply_tx.send(reply).is_ok() && answering {
        // A peer that stopped reading only loses its own answer.
        let wait = deadline.max(Instant::now() + frame_deadline).saturating_duration_since(Instant::now());
        let _ = done_rx.recv_timeout(wait);
    }
}

/// Counts a connection thread from its start until it ends, so stalled ones are visible.
struct StalledGuard(Arc<AtomicUsize>);

impl StalledGuard {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        StalledGuard(Arc::clone(count))
    }
}

impl Drop for StalledGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Client side: writes `frame` and reads the reply frame on a helper thread, giving up at
/// `deadline` (the helper then ends when the daemon closes the pipe).
pub(crate) fn exchange(stream: OsStream, frame: &[u8], deadline: Instant) -> Result<Vec<u8>, ExchangeError> {
    let frame = frame.to_vec();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("holdfast-client".into())
        .spawn(move || {
            let far = Instant::now() + NO_DEADLINE;
            let reply = write_frame(&stream, &frame, far)
                .map_err(FrameError::Io)
                .and_then(|()| read_frame(&stream, NO_DEADLINE));
            let _ = tx.send(reply);
        })
        .map_err(|e| ExchangeError::Frame(FrameError::Io(e)))?;
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(reply) => reply.map_err(ExchangeError::Frame),
        Err(RecvTimeoutError::Timeout) => Err(ExchangeError::Timeout),
        Err(RecvTimeoutError::Disconnected) => {
            Err(ExchangeError::Frame(FrameError::Io(io::Error::other("client thread ended"))))
        }
    }
}

/// Why a client exchange failed.
pub(crate) enum ExchangeError {
    /// The deadline passed.
    Timeout,
    /// Writing the request or reading the reply failed.
    Frame(FrameError),
}
