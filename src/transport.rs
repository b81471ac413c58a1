//! Local-socket transport (DESIGN §7): bind with stale detection, the serve
//! loop with per-connection deadlines, and the client.
//!
//! Unix: a socket file (parent 0700, socket 0600) served by a readiness loop over
//! the listener and every open connection (`conns`). Windows: a
//! named pipe with an owner-only ACL; blocking pipe I/O runs on helper threads
//! and the serve loop waits for it with deadlines (see `winpipe`).

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;
#[cfg(windows)]
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[cfg(unix)]
use interprocess::local_socket::traits::Stream as _;
use interprocess::local_socket::traits::StreamCommon as _;
use thiserror::Error;

use crate::paths::{self, Endpoint, Paths};
#[cfg(unix)]
mod conns;
pub mod tcp;
#[cfg(unix)]
pub use conns::{MAX_CONNECTIONS, connection_bound, raise_open_file_limit};

use crate::wire::{self, ErrorCode, MAX_FRAME, Peer, Request, RequestBody, Response, ResponseBody, WireError};

#[cfg(unix)]
type OsListener = interprocess::os::unix::uds_local_socket::Listener;
#[cfg(unix)]
type OsStream = interprocess::os::unix::uds_local_socket::Stream;
#[cfg(windows)]
use crate::winpipe::OsStream;

/// Default time a peer has to deliver a whole frame.
pub const DEFAULT_FRAME_DEADLINE: Duration = Duration::from_millis(250);
/// How often the serve loop looks at the stop flag when idle.
const STOP_POLL: Duration = Duration::from_millis(100);
/// How long a stale-endpoint probe waits for the old daemon to answer.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// Why a frame could not be read.
#[derive(Debug, Error)]
pub enum FrameError {
    /// The peer closed without sending anything (not an error worth answering).
    #[error("peer closed the connection without sending a frame")]
    Empty,
    /// The peer closed after this many bytes, before the newline.
    #[error("connection closed before the end of the frame (no newline after {0} bytes)")]
    Truncated(usize),
    /// The frame passed [`crate::wire::MAX_FRAME`] bytes.
    #[error("frame exceeds the 16 MiB limit")]
    TooLarge,
    /// The frame did not arrive within the deadline.
    #[error("the frame did not arrive within {0:?}")]
    Timeout(Duration),
    /// Reading failed.
    #[error("i/o error while reading the frame: {0}")]
    Io(#[from] io::Error),
}

impl FrameError {
    /// The typed wire error this read failure answers with.
    pub fn to_wire(&self) -> WireError {
        let code = match self {
            FrameError::Empty | FrameError::Truncated(_) | FrameError::Io(_) => ErrorCode::BadFrame,
            FrameError::TooLarge => ErrorCode::FrameTooLarge,
            FrameError::Timeout(_) => ErrorCode::Timeout,
        };
        WireError::new(code, self.to_string())
    }
}

/// Failures to bind the endpoint.
#[derive(Debug, Error)]
pub enum BindError {
    /// Another holdfast answers on the endpoint.
    #[error("holdfast is already running (pid {pid}) on {endpoint}")]
    AlreadyRunning {
        /// The running daemon's pid.
        pid: u32,
        /// The endpoint it serves.
        endpoint: String,
    },
    /// Something answers on the endpoint, but not as holdfast.
    #[error("{endpoint} exists and answers, but not as holdfast; refusing to touch it")]
    Occupied {
        /// The endpoint.
        endpoint: String,
    },
    /// The endpoint path exists and is not a socket.
    #[error("{0} exists and is not a socket; refusing to remove it")]
    NotASocket(String),
    /// Binding failed.
    #[error("cannot bind {endpoint}: {source}")]
    Io {
        /// The endpoint.
        endpoint: String,
        /// The OS error.
        source: io::Error,
    },
    /// The paths could not be resolved or prepared.
    #[error(transparent)]
    Paths(#[from] anyhow::Error),
}

/// A bound endpoint, ready to serve. Dropping it removes the socket and PID file.
pub struct Server {
    #[cfg(unix)]
    listener: OsListener,
    #[cfg(windows)]
    listener: crate::winpipe::Acceptor,
    /// Connection threads still running (Windows: those blocked on a stalled peer).
    #[cfg(windows)]
    stalled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    endpoint: Endpoint,
    pid_file: std::path::PathBuf,
    frame_deadline: Duration,
    /// The TCP listener, when the policy turns it on (see [`Server::listen_tcp`]).
    tcp: Option<tcp::Gate>,
}

impl Server {
    /// Binds the endpoint of `paths`: probes a leftover endpoint, reclaims it when stale,
    /// refuses when a daemon answers, then writes the PID file.
    pub fn bind(paths: &Paths, frame_deadline: Duration) -> Result<Self, BindError> {
        let endpoint = paths.endpoint.clone();
        let shown = endpoint.to_string();
        if let Endpoint::Tcp { .. } = endpoint {
            return Err(BindError::Paths(anyhow::anyhow!(
                "{} names where clients connect ({shown}); unset it for the daemon, which listens on its socket and \
                 on the global policy's `[daemon] tcp` address",
                paths::ENDPOINT_ENV
            )));
        }
        crate::trust::ensure_socket_dir(&paths.run_dir)
            .map_err(|source| BindError::Io { endpoint: shown.clone(), source })?;
        probe_existing(&endpoint)?;
        let listener = listen(&endpoint).map_err(|source| BindError::Io { endpoint: shown.clone(), source })?;
        let pid_file = paths.pid_file();
        let contents = format!("{}\n{}\n", std::process::id(), shown);
        // Advisory only (the daemon is found by its endpoint): a full disk must not keep it from serving.
        if let Err(e) = paths::write_atomic(&pid_file, contents.as_bytes()) {
            crate::daemon::log::line(format_args!(
                "cannot write the PID file {}: {e}; serving anyway",
                pid_file.display()
            ));
        }
        #[cfg(windows)]
        let (listener, stalled) = (
            crate::winpipe::Acceptor::start(listener, pipe_name(&endpoint).to_string())
                .map_err(|source| BindError::Io { endpoint: endpoint.to_string(), source })?,
            Default::default(),
        );
        Ok(Server {
            listener,
            endpoint,
            pid_file,
            frame_deadline,
            tcp: None,
            #[cfg(windows)]
            stalled,
        })
    }

    /// Also listens on TCP at `addr` (loopback unless `allow_remote`), every connection
    /// authenticated both ways with `token`; the listener joins the same serve loop. Returns the address actually bound.
    pub fn listen_tcp(
        &mut self,
        addr: std::net::SocketAddr,
        allow_remote: bool,
        token: tcp::Token,
    ) -> Result<std::net::SocketAddr, BindError> {
        let gate = tcp::Gate::bind(addr, allow_remote, token)
            .map_err(|source| BindError::Io { endpoint: format!("tcp://{addr}"), source })?;
        let bound = gate.local_addr();
        self.tcp = Some(gate);
        Ok(bound)
    }

    /// The endpoint this server listens on.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Serves connections until `stop` is set: one frame in, one frame out, per connection.
    /// `handler` gets the frame (or why it could not be read) and the peer, and returns the
    /// bytes to answer with (`None` sends nothing).
    pub fn serve_until<H>(&self, handler: H, stop: &AtomicBool)
    where
        H: FnMut(Result<Vec<u8>, FrameError>, &Peer) -> Option<Vec<u8>>,
    {
        struct Handler<H>(H);
        impl<H: FnMut(Result<Vec<u8>, FrameError>, &Peer) -> Option<Vec<u8>>> Service for Handler<H> {
            fn handle(&mut self, frame: Result<Vec<u8>, FrameError>, peer: &Peer) -> Option<Vec<u8>> {
                (self.0)(frame, peer)
            }
        }
        self.serve(&mut Handler(handler), stop)
    }

    /// Serves `service` until `stop` is set, calling its [`Service::idle`] between turns.
    /// Unix: a readiness loop over every connection (see `conns`); Windows: one connection at a
    /// time, its blocking pipe I/O on helper threads (see `winpipe`).
    pub fn serve(&self, service: &mut impl Service, stop: &AtomicBool) {
        #[cfg(unix)]
        conns::Loop::new(&self.listener, self.tcp.as_ref(), self.frame_deadline).run(service, stop);
        #[cfg(windows)]
        while !stop.load(Ordering::SeqCst) {
            let mut wait = service.idle().map_or(STOP_POLL, |d| d.min(STOP_POLL));
            if let Some(gate) = &self.tcp {
                // No readiness API over both a pipe and a socket here: look at TCP often instead.
                wait = wait.min(WINDOWS_TCP_POLL);
                tcp::serve_pending(gate, self.frame_deadline, service);
            }
            let Some(stream) = self.listener.next(wait) else { continue };
            let peer = peer_of(&stream);
            crate::winpipe::serve_connection(stream, self.frame_deadline, &self.stalled, |frame| {
                service.handle(frame, &peer)
            });
        }
    }
}

/// Windows: how often the serve loop looks for TCP connections between pipe waits.
#[cfg(windows)]
const WINDOWS_TCP_POLL: Duration = Duration::from_millis(5);

/// What the serve loop drives: one frame at a time, plus periodic idle work.
pub trait Service {
    /// Answers one frame (or why it could not be read); `None` sends nothing.
    fn handle(&mut self, frame: Result<Vec<u8>, FrameError>, peer: &Peer) -> Option<Vec<u8>>;
    /// Called before each wait (at least every 100 ms); returns how soon it wants to be called again.
    fn idle(&mut self) -> Option<Duration> {
        None
    }
    /// A TCP connection was refused before any request was read (wrong, missing or late hello).
    fn refused(&mut self, peer: &Peer, why: tcp::Refusal) {
        let _ = (peer, why);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The listener unlinks its socket file itself (reclaim_name), and a pipe vanishes with its
        // last handle; the PID file is ours.
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

#[cfg(unix)]
fn listen(endpoint: &Endpoint) -> io::Result<OsListener> {
    use interprocess::local_socket::{GenericFilePath, ListenerNonblockingMode, ListenerOptions, ToFsName};
    use interprocess::os::unix::local_socket::ListenerOptionsExt;
    let Endpoint::Socket(path) = endpoint else { unreachable!("Unix endpoints are sockets") };
    if let Some(parent) = path.parent() {
        crate::trust::ensure_socket_dir(parent)?;
    }
    let options = || {
        ListenerOptions::new()
            .name(path.as_path().to_fs_name::<GenericFilePath>().expect("absolute paths are valid names"))
            .nonblocking(ListenerNonblockingMode::Accept)
            .reclaim_name(true)
    };
    // 0600 set before bind(): no window in which another user could connect.
    let listener = match options().mode(0o600).create_sync_as::<OsListener>() {
        Err(e) if e.kind() == io::ErrorKind::Unsupported => options().create_sync_as::<OsListener>(),
        other => other,
    }?;
    crate::trust::open_socket_to_group(path)?;
    Ok(listener)
}

#[cfg(windows)]
fn listen(endpoint: &Endpoint) -> io::Result<crate::winpipe::OsListener> {
    crate::winpipe::listen(pipe_name(endpoint))
}

#[cfg(windows)]
fn pipe_name(endpoint: &Endpoint) -> &str {
    let Endpoint::Pipe(name) = endpoint else { unreachable!("Windows endpoints are pipes") };
    name
}

/// Looks at a leftover endpoint: a live daemon means refuse; a dead socket is removed.
/// (A Windows pipe exists only while its server holds it, so a pipe is never stale; a stale
/// PID file is simply overwritten.)
fn probe_existing(endpoint: &Endpoint) -> Result<(), BindError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let Endpoint::Socket(path) = endpoint else { unreachable!() };
        match std::fs::symlink_metadata(path) {
            Err(_) => return Ok(()),
            Ok(m) if !m.file_type().is_socket() => return Err(BindError::NotASocket(path.display().to_string())),
            Ok(_) => {}
        }
    }
    let client = Client::new(endpoint.clone()).with_timeout(PROBE_TIMEOUT);
    match client.request(RequestBody::Ping) {
        Ok(Response { body: ResponseBody::Pong(p), .. }) => {
            Err(BindError::AlreadyRunning { pid: p.pid, endpoint: endpoint.to_string() })
        }
        Ok(_) | Err(ClientError::Protocol(_)) | Err(ClientError::Timeout) => {
            Err(BindError::Occupied { endpoint: endpoint.to_string() })
        }
        Err(_) => {
            #[cfg(unix)]
            if let Endpoint::Socket(path) = endpoint {
                // Refused: nobody listens. Reclaim the stale socket file.
                std::fs::remove_file(path)
                    .or_else(|e| if e.kind() == io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
                    .map_err(|source| BindError::Io { endpoint: endpoint.to_string(), source })?;
            }
            Ok(())
        }
    }
}

#[allow(clippy::useless_conversion)] // the pid is i32 on Unix and already u32 on Windows
fn peer_of(stream: &OsStream) -> Peer {
    match stream.peer_creds() {
        Ok(c) => Peer {
            pid: c.pid().and_then(|p| u32::try_from(p).ok()),
            #[cfg(unix)]
            uid: c.euid(),
            #[cfg(not(unix))]
            uid: None,
            addr: None,
        },
        Err(_) => Peer::default(),
    }
}

/// Reads one newline-terminated frame, never buffering more than [`MAX_FRAME`] bytes
/// and never waiting longer than `budget` in all (on Windows the stream is blocking and the
/// caller enforces the deadline). Bytes after the newline are ignored.
pub fn read_frame(stream: &OsStream, budget: Duration) -> Result<Vec<u8>, FrameError> {
    read_frame_from(stream, budget, |left| set_read_deadline(stream, left))
}

/// [`read_frame`] over any reader; `set_deadline` is told the time left before each read.
pub(crate) fn read_frame_from<R: Read>(
    mut reader: R,
    budget: Duration,
    mut set_deadline: impl FnMut(Duration) -> io::Result<()>,
) -> Result<Vec<u8>, FrameError> {
    let deadline = Instant::now() + budget;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(FrameError::Timeout(budget));
        }
        set_deadline(deadline - now)?;
        let n = match reader.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(FrameError::Timeout(budget)),
            Err(e) => return Err(FrameError::Io(e)),
        };
        if n == 0 {
            return Err(if buf.is_empty() { FrameError::Empty } else { FrameError::Truncated(buf.len()) });
        }
        if let Some(frame) = ingest(&mut buf, &chunk[..n]) {
            return frame;
        }
    }
}

/// Adds `got` to a frame being read (by a client here, by the daemon's serve loop per
/// connection); `Some` once it is complete (bytes after its newline are ignored) or over
/// [`MAX_FRAME`]. The buffer never grows past the bound.
pub(crate) fn ingest(buf: &mut Vec<u8>, got: &[u8]) -> Option<Result<Vec<u8>, FrameError>> {
    if let Some(pos) = got.iter().position(|&b| b == b'\n') {
        if buf.len() + pos + 1 > MAX_FRAME {
            return Some(Err(FrameError::TooLarge));
        }
        buf.extend_from_slice(&got[..pos]);
        return Some(Ok(std::mem::take(buf)));
    }
    // Without a newline yet, the frame needs at least one more byte: refuse at the bound.
    if buf.len() + got.len() >= MAX_FRAME {
        return Some(Err(FrameError::TooLarge));
    }
    buf.extend_from_slice(got);
    None
}

#[cfg(unix)]
fn set_read_deadline(stream: &OsStream, remaining: Duration) -> io::Result<()> {
    stream.set_recv_timeout(Some(remaining.max(Duration::from_millis(1))))
}

#[cfg(windows)]
fn set_read_deadline(_stream: &OsStream, _remaining: Duration) -> io::Result<()> {
    Ok(())
}

/// Sends a whole frame, giving up after `timeout`. A frame that fits the socket buffer leaves in
/// one non-blocking send; only a peer slow to read costs the send timeout's own syscall.
#[cfg(unix)]
fn send_frame(stream: &OsStream, bytes: &[u8], timeout: Duration) -> io::Result<()> {
    use rustix::io::Errno;
    use rustix::net::{SendFlags, send};
    let deadline = Instant::now() + timeout;
    // No SIGPIPE from a peer that hung up (Rust ignores SIGPIPE anyway; this holds inside a host
    // process that does not). BSDs have no MSG_NOSIGNAL.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = SendFlags::DONTWAIT;
    let sent = match send(stream, bytes, flags) {
        Ok(n) => n,
        Err(Errno::AGAIN | Errno::INTR) => 0,
        Err(e) => return Err(e.into()),
    };
    if sent == bytes.len() {
        return Ok(());
    }
    stream.set_send_timeout(Some(timeout))?;
    write_frame(stream, &bytes[sent..], deadline)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Writes a whole frame, giving up at `deadline`.
pub(crate) fn write_frame(stream: &OsStream, bytes: &[u8], deadline: Instant) -> io::Result<()> {
    let mut rest = bytes;
    while !rest.is_empty() {
        match (&*stream).write(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(e),
        }
    }
    (&*stream).flush()
}

/// Why a client request failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// Nothing listens on the endpoint.
    #[error("holdfast is not running (nothing answers on {0})")]
    NotRunning(String),
    /// No answer within the client's timeout.
    #[error("the daemon did not answer in time")]
    Timeout,
    /// Connecting, writing or reading failed.
    #[error("i/o error talking to the daemon: {0}")]
    Io(#[from] io::Error),
    /// The answer was not a valid response frame.
    #[error("{0}")]
    Protocol(WireError),
    /// A system daemon is installed and this endpoint is not it, or it is unreachable (see `trust`).
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    /// A TCP endpoint cannot be reached (refused, unresolvable). Unlike [`ClientError::NotRunning`]
    /// this is never taken for "no daemon": a hook denies.
    #[error("cannot reach the holdfast daemon at {0}")]
    Unreachable(String),
    /// The TCP token file is missing, unreadable or malformed.
    #[error("{0}")]
    Token(String),
    /// A TCP peer did not prove it holds the token (no server line, or a wrong one): something
    /// other than the daemon listens on the address, or the token file is wrong. Never taken for
    /// "no daemon": a hook denies, and nothing the peer sent is believed.
    #[error("{0}")]
    Impostor(String),
}

/// A client of the daemon: one connection per request.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: Endpoint,
    timeout: Duration,
}

impl Client {
    /// A client for `endpoint` with a 5 s response deadline.
    pub fn new(endpoint: Endpoint) -> Self {
        Client { endpoint, timeout: Duration::from_secs(5) }
    }

    /// Sets how long to wait for the connection and the response together.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one request and reads its response.
    pub fn request(&self, body: RequestBody) -> Result<Response, ClientError> {
        let frame = Request::new(body).to_frame();
        let reply = self.exchange(&frame)?;
        wire::decode_response(&reply).map_err(ClientError::Protocol)
    }

    /// Sends raw bytes and returns the raw reply frame (without its newline).
    pub fn exchange(&self, frame: &[u8]) -> Result<Vec<u8>, ClientError> {
        if let Endpoint::Tcp { addr, token_file } = &self.endpoint {
            // Where a system daemon is installed only its socket, whose owner can be checked, is believed.
            if crate::trust::SystemDaemon::find()?.is_some() {
                return Err(crate::trust::TrustError::Untrusted(format!(
                    "refusing {}: a holdfast system daemon is installed here, and a TCP peer's identity cannot be \
                     checked; use its socket",
                    self.endpoint
                ))
                .into());
            }
            return tcp::exchange(addr, token_file, frame, self.timeout);
        }
        let deadline = Instant::now() + self.timeout;
        let stream = self.connect()?;
        #[cfg(unix)]
        let reply = {
            send_frame(&stream, frame, self.timeout)?;
            read_frame(&stream, deadline.saturating_duration_since(Instant::now()))
        };
        #[cfg(windows)]
        let reply = match crate::winpipe::exchange(stream, frame, deadline) {
            Ok(reply) => Ok(reply),
            Err(crate::winpipe::ExchangeError::Timeout) => return Err(ClientError::Timeout),
            Err(crate::winpipe::ExchangeError::Frame(e)) => Err(e),
        };
        match reply {
            Ok(reply) => Ok(reply),
            Err(FrameError::Timeout(_)) => Err(ClientError::Timeout),
            Err(FrameError::Io(e)) => Err(ClientError::Io(e)),
            Err(e) => Err(ClientError::Protocol(e.to_wire())),
        }
    }

    /// Connects, and where a system daemon is installed believes only it (see `trust`).
    fn connect(&self) -> Result<OsStream, ClientError> {
        let Some(system) = crate::trust::SystemDaemon::find()? else { return self.raw_connect() };
        #[cfg(unix)]
        if let Endpoint::Socket(path) = &self.endpoint {
            system.check_endpoint(path)?;
        }
        #[cfg(windows)]
        system.check_pipe(&self.endpoint)?;
        let stream = match self.raw_connect() {
            Err(ClientError::NotRunning(_)) => return Err(system.down(Path::new(&self.endpoint.to_string())).into()),
            other => other?,
        };
        #[cfg(unix)]
        system.check_peer(&self.endpoint.to_string(), stream.peer_creds().ok().and_then(|c| c.euid()))?;
        #[cfg(windows)]
        system.check_server_pid(
            &self.endpoint.to_string(),
            crate::winpipe::server_pid(&stream),
            read_pid_file(&system.pid_file()),
        )?;
        Ok(stream)
    }

    fn raw_connect(&self) -> Result<OsStream, ClientError> {
        let not_running = |e: io::Error| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning(self.endpoint.to_string())
            }
            _ => ClientError::Io(e),
        };
        match &self.endpoint {
            #[cfg(unix)]
            Endpoint::Socket(path) => {
                use interprocess::local_socket::{GenericFilePath, ToFsName};
                let name = path.as_path().to_fs_name::<GenericFilePath>().map_err(ClientError::Io)?;
                OsStream::connect(name).map_err(not_running)
            }
            #[cfg(windows)]
            Endpoint::Pipe(pipe) => match crate::winpipe::connect(pipe, self.timeout) {
                // Every instance stayed busy for the whole timeout.
                Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {
                    Err(ClientError::Timeout)
                }
                other => other.map_err(not_running),
            },
            #[allow(unreachable_patterns)]
            other => Err(ClientError::Io(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("endpoint {other} is not supported on this OS"),
            ))),
        }
    }
}

/// Reads the PID file: the pid of the daemon that last bound this endpoint.
pub fn read_pid_file(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.lines().next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// A reader that returns the scripted results in order, then end of file.
    struct Script(VecDeque<io::Result<Vec<u8>>>);

    impl Read for Script {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                None => Ok(0),
                Some(Err(e)) => Err(e),
                Some(Ok(mut bytes)) => {
                    let n = bytes.len().min(out.len());
                    out[..n].copy_from_slice(&bytes[..n]);
                    if n < bytes.len() {
                        self.0.push_front(Ok(bytes.split_off(n)));
                    }
                    Ok(n)
                }
            }
        }
    }

    fn read(script: Vec<io::Result<Vec<u8>>>) -> Result<Vec<u8>, FrameError> {
        read_frame_from(Script(script.into()), Duration::from_secs(60), |_| Ok(()))
    }

    fn err(kind: io::ErrorKind) -> io::Result<Vec<u8>> {
        Err(io::Error::from(kind))
    }

    #[test]
    fn an_interrupted_read_is_retried() {
        let frame = read(vec![Ok(b"pi".to_vec()), err(io::ErrorKind::Interrupted), Ok(b"ng\nrest".to_vec())]);
        assert_eq!(frame.unwrap(), b"ping");
    }

    #[test]
    fn a_receive_timeout_is_a_timeout_and_other_errors_are_io() {
        for kind in [io::ErrorKind::WouldBlock, io::ErrorKind::TimedOut] {
            assert!(matches!(read(vec![Ok(b"pi".to_vec()), err(kind)]), Err(FrameError::Timeout(_))), "{kind:?}");
        }
        // Not retried until the deadline: a reset connection is reported at once, as what it is.
        let reset = read(vec![err(io::ErrorKind::ConnectionReset), Ok(b"ping\n".to_vec())]);
        assert!(matches!(reset, Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::ConnectionReset));
    }

    #[test]
    fn the_end_of_input_is_empty_or_truncated() {
        assert!(matches!(read(vec![]), Err(FrameError::Empty)));
        assert!(matches!(read(vec![Ok(b"pin".to_vec())]), Err(FrameError::Truncated(3))));
    }

    #[test]
    fn a_frame_over_the_bound_is_refused_with_or_without_its_newline() {
        // Exactly the bound, newline included: accepted.
        let mut exact = vec![b'x'; MAX_FRAME - 1];
        exact.push(b'\n');
        assert_eq!(read(vec![Ok(exact)]).unwrap().len(), MAX_FRAME - 1);
        // The newline arrives in a read that takes the frame well past the bound.
        let under = vec![b'x'; MAX_FRAME - 10];
        let mut tail = vec![b'x'; 100];
        tail.push(b'\n');
        assert!(matches!(read(vec![Ok(under.clone()), Ok(tail)]), Err(FrameError::TooLarge)));
        // No newline: refused once the bound is reached, before any more is read.
        assert!(matches!(read(vec![Ok(under), Ok(vec![b'x'; 10]), Ok(b"\n".to_vec())]), Err(FrameError::TooLarge)));
    }
}
