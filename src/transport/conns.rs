//! The Unix serve loop: one `poll(2)` over the listener and every open connection.
//!
//! Each connection has its own buffer and its own **total** deadlines: the whole frame must
//! arrive within the frame deadline counted from the accept (a peer trickling one byte at a time
//! cannot extend it), and the whole reply must leave within the same budget counted from the
//! moment it is ready (a peer reading slowly cannot extend that either). Reads and writes never
//! block — `recv`/`send` with `MSG_DONTWAIT` — so no peer can stall the loop, and frames are
//! still handled one at a time by the single caller of [`Service::handle`]. The number of open
//! connections is bounded: at the bound, the oldest connection still waiting for its frame is
//! closed to make room (idle peers cannot lock everyone else out).
//!
//! A TCP listener (`[daemon] tcp`), when there is one, joins the same loop: its connections get
//! the same bound, buffers and deadlines, and one more state in front, [`State::Hello`], in which
//! only a short hello line is read (see [`super::tcp`]); no request byte is read before it checks.
//! A connection whose hello checks owes the daemon's server line, sent ahead of whatever is
//! answered on it.

use std::io;
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use interprocess::local_socket::traits::Listener as _;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags, recv, send};

use super::tcp::{Gate, MAX_HELLO, Refusal};
use super::{FrameError, OsListener, OsStream, STOP_POLL, Service, ingest, peer_of};
use crate::wire::{ErrorCode, Peer, Response, WireError};

/// Most connections open at once (further clamped by the open-file limit).
pub const MAX_CONNECTIONS: usize = 4096;
/// File descriptors kept free for everything else the daemon opens (log, policy, vault).
const FD_RESERVE: u64 = 64;
/// New connections taken per wake-up, so a connect flood cannot starve the open ones.
const ACCEPT_BATCH: usize = 256;
/// Bytes read from one connection per wake-up, so one fast sender cannot starve the rest.
const READ_TURN: usize = 1 << 20;
/// Size of one read.
const CHUNK: usize = 64 * 1024;

/// No SIGPIPE from a peer that hung up (Rust ignores SIGPIPE anyway; this holds inside a host
/// process that does not). BSDs have no MSG_NOSIGNAL.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_FLAGS: SendFlags = SendFlags::DONTWAIT.union(SendFlags::NOSIGNAL);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEND_FLAGS: SendFlags = SendFlags::DONTWAIT;

/// Raises this process's soft open-file limit to its hard limit (the daemon calls it once at
/// start, so the connection bound is not the 1,024 many systems default to). Returns the soft
/// limit in force afterwards.
pub fn raise_open_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    open_file_limit()
}

fn open_file_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// The connection bound in force: [`MAX_CONNECTIONS`], or fewer when the open-file limit is low.
pub fn connection_bound() -> usize {
    let fds = open_file_limit().saturating_sub(FD_RESERVE).max(8);
    MAX_CONNECTIONS.min(usize::try_from(fds).unwrap_or(usize::MAX))
}

/// A connection's socket: the local socket, or TCP.
enum Stream {
    Local(OsStream),
    Tcp(TcpStream),
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Local(s) => s.as_fd(),
            Stream::Tcp(s) => s.as_fd(),
        }
    }
}

/// What a read produced.
enum Got {
    /// A whole frame, or why it cannot be one.
    Frame(Result<Vec<u8>, FrameError>),
    /// A TCP connection's hello line was refused.
    Refused(Refusal),
}

/// What a connection is doing.
enum State {
    /// TCP only: waiting for the hello line; nothing else is read before it checks.
    Hello { buf: Vec<u8>, deadline: Instant },
    /// Waiting for the rest of its frame.
    Reading { buf: Vec<u8>, deadline: Instant },
    /// Its reply is being sent; then it is closed.
    Writing { out: Vec<u8>, sent: usize, deadline: Instant },
    /// Done: removed at the end of the turn.
    Closed,
}

struct Conn {
    stream: Stream,
    peer: Peer,
    state: State,
    /// TCP only, once the hello checked: the server line, owed ahead of any answer.
    proof: Vec<u8>,
}

impl Conn {
    fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Hello { deadline, .. } | State::Reading { deadline, .. } | State::Writing { deadline, .. } => {
                Some(*deadline)
            }
            State::Closed => None,
        }
    }

    fn interest(&self) -> PollFlags {
        match self.state {
            State::Hello { .. } | State::Reading { .. } => PollFlags::IN,
            State::Writing { .. } => PollFlags::OUT,
            State::Closed => PollFlags::empty(),
        }
    }

    /// Reads what has arrived; `Some` once the frame is complete or cannot be, or the hello is
    /// refused. `gate` checks a TCP connection's hello line; `budget` is the next frame's deadline.
    fn read(&mut self, chunk: &mut [u8], gate: Option<&Gate>, budget: Duration) -> Option<Got> {
        let mut taken = 0;
        while taken < READ_TURN {
            let n = match recv(&self.stream, &mut *chunk, RecvFlags::DONTWAIT) {
                Ok((n, _)) => n,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return None,
                Err(_) if matches!(self.state, State::Hello { .. }) => return Some(Got::Refused(Refusal::Closed)),
                Err(e) => return Some(Got::Frame(Err(FrameError::Io(e.into())))),
            };
            taken += n;
            let got = &chunk[..n];
            match &mut self.state {
                State::Hello { buf, .. } => {
                    if n == 0 {
                        return Some(Got::Refused(Refusal::Closed));
                    }
                    let rest = match hello_line(buf, got, gate) {
                        Ok(Some((rest, proof))) => {
                            self.proof = proof;
                            rest
                        }
                        Ok(None) => continue,
                        Err(why) => return Some(Got::Refused(why)),
                    };
                    // Bytes after the hello line are the start of the request: keep them.
                    let mut next = Vec::new();
                    let frame = ingest(&mut next, rest);
                    self.state = State::Reading { buf: next, deadline: Instant::now() + budget };
                    if let Some(frame) = frame {
                        return Some(Got::Frame(frame));
                    }
                }
                State::Reading { buf, .. } => {
                    if n == 0 {
                        let e = if buf.is_empty() { FrameError::Empty } else { FrameError::Truncated(buf.len()) };
                        return Some(Got::Frame(Err(e)));
                    }
                    if let Some(frame) = ingest(buf, got) {
                        return Some(Got::Frame(frame));
                    }
                }
                State::Writing { .. } | State::Closed => return None,
            }
        }
        None
    }

    /// Starts sending `reply` (or closes when there is none) and sends what the socket takes now.
    /// A TCP connection's server line goes first, in the same buffer.
    fn reply(&mut self, reply: Option<Vec<u8>>, budget: Duration) {
        self.state = match reply {
            Some(reply) => {
                let mut out = std::mem::take(&mut self.proof);
                out.extend_from_slice(&reply);
                State::Writing { out, sent: 0, deadline: Instant::now() + budget }
            }
            None => State::Closed,
        };
        self.write();
    }

    /// Sends what the socket takes without waiting; closes when done or the peer is gone.
    fn write(&mut self) {
        let State::Writing { out, sent, .. } = &mut self.state else { return };
        while *sent < out.len() {
            match send(&self.stream, &out[*sent..], SEND_FLAGS) {
                Ok(n) => *sent += n,
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                // A peer that stopped reading only loses its own answer.
                Err(_) => break,
            }
        }
        self.state = State::Closed;
    }
}

/// The bytes after a checked hello line, and the server line owed to its peer.
type Hello<'g> = (&'g [u8], Vec<u8>);

/// Adds `got` to a hello line being read. `Ok(Some((rest, proof)))` once the line is complete and
/// its MAC is right (`rest`: the bytes after it; `proof`: the server line), `Ok(None)` while
/// incomplete, `Err` when refused.
fn hello_line<'g>(buf: &mut Vec<u8>, got: &'g [u8], gate: Option<&Gate>) -> Result<Option<Hello<'g>>, Refusal> {
    let Some(pos) = got.iter().position(|&b| b == b'\n') else {
        // A short bound: an unauthenticated peer never gets the 16 MiB frame buffer.
        if buf.len() + got.len() >= MAX_HELLO {
            return Err(Refusal::TooLong);
        }
        buf.extend_from_slice(got);
        return Ok(None);
    };
    if buf.len() + pos + 1 > MAX_HELLO {
        return Err(Refusal::TooLong);
    }
    buf.extend_from_slice(&got[..pos]);
    // No gate means no MAC can be right (a TCP connection always has one): fail closed.
    let proof = gate.map_or(Err(Refusal::Wrong), |g| g.token.check_hello(buf))?;
    Ok(Some((&got[pos + 1..], proof)))
}

/// The loop's state: the open connections, oldest first.
pub(super) struct Loop<'a> {
    listener: &'a OsListener,
    tcp: Option<&'a Gate>,
    budget: Duration,
    bound: usize,
    conns: Vec<Conn>,
    chunk: Vec<u8>,
}

impl<'a> Loop<'a> {
    pub(super) fn new(listener: &'a OsListener, tcp: Option<&'a Gate>, budget: Duration) -> Self {
        Loop { listener, tcp, budget, bound: connection_bound(), conns: Vec::new(), chunk: vec![0; CHUNK] }
    }

    /// How many listeners lead the poll set (the socket, then TCP when on).
    fn listeners(&self) -> usize {
        1 + usize::from(self.tcp.is_some())
    }

    /// Serves until `stop` is set.
    pub(super) fn run(&mut self, service: &mut impl Service, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            let mut wait = service.idle().map_or(STOP_POLL, |d| d.min(STOP_POLL));
            let now = Instant::now();
            if let Some(first) = self.conns.iter().filter_map(Conn::deadline).min() {
                wait = wait.min(first.saturating_duration_since(now));
            }
            let ready = match self.wait(wait) {
                Ok(r) => r,
                Err(e) => {
                    crate::daemon::log::line(format_args!("poll failed: {e}"));
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            self.turn(&ready, service);
        }
    }

    /// Polls; returns the events of the listeners (first) and each connection, in order.
    fn wait(&self, wait: Duration) -> io::Result<Vec<PollFlags>> {
        let mut fds = Vec::with_capacity(self.conns.len() + 2);
        fds.push(PollFd::new(self.listener, PollFlags::IN));
        if let Some(gate) = self.tcp {
            fds.push(PollFd::new(&gate.listener, PollFlags::IN));
        }
        fds.extend(self.conns.iter().map(|c| PollFd::new(&c.stream, c.interest())));
        let ts = Timespec { tv_sec: wait.as_secs() as i64, tv_nsec: i64::from(wait.subsec_nanos()) };
        match poll(&mut fds, Some(&ts)) {
            Ok(_) | Err(Errno::INTR) => Ok(fds.iter().map(PollFd::revents).collect()),
            Err(e) => Err(e.into()),
        }
    }

    /// Serves every ready connection once, applies the deadlines, then accepts new ones.
    fn turn(&mut self, ready: &[PollFlags], service: &mut impl Service) {
        let woke = PollFlags::IN | PollFlags::OUT | PollFlags::HUP | PollFlags::ERR;
        let listeners = self.listeners();
        for (i, events) in ready.iter().enumerate().skip(listeners) {
            if events.intersects(woke) {
                self.serve_one(i - listeners, service);
            }
        }
        let now = Instant::now();
        for conn in &mut self.conns {
            match &conn.state {
                State::Hello { deadline, .. } if now >= *deadline => {
                    settle(conn, Got::Refused(Refusal::Timeout), service, self.budget);
                }
                State::Reading { deadline, .. } if now >= *deadline => {
                    settle(conn, Got::Frame(Err(FrameError::Timeout(self.budget))), service, self.budget);
                }
                State::Writing { deadline, .. } if now >= *deadline => conn.state = State::Closed,
                _ => {}
            }
        }
        self.conns.retain(|c| !matches!(c.state, State::Closed));
        if ready.first().is_some_and(|e| e.intersects(woke)) {
            self.accept(service);
        }
        if listeners > 1 && ready.get(1).is_some_and(|e| e.intersects(woke)) {
            self.accept_tcp(service);
        }
    }

    /// Moves connection `i` on: reads (and handles a complete frame) or writes.
    fn serve_one(&mut self, i: usize, service: &mut impl Service) {
        let conn = &mut self.conns[i];
        match conn.state {
            State::Hello { .. } | State::Reading { .. } => {
                if let Some(got) = conn.read(&mut self.chunk, self.tcp, self.budget) {
                    settle(conn, got, service, self.budget);
                }
            }
            State::Writing { .. } => conn.write(),
            State::Closed => {}
        }
    }

    /// Takes waiting connections; most requests have arrived with the connect and are answered at once.
    fn accept(&mut self, service: &mut impl Service) {
        for _ in 0..ACCEPT_BATCH {
            let stream = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::daemon::log::line(format_args!("accept failed: {e}"));
                    // Out of descriptors or memory: make room, and let the next turn try again.
                    self.evict_oldest_idle();
                    return;
                }
            };
            let peer = peer_of(&stream);
            let deadline = Instant::now() + self.budget;
            self.admit(Stream::Local(stream), peer, State::Reading { buf: Vec::new(), deadline }, service);
        }
    }

    /// Takes waiting TCP connections: each starts by owing its hello line.
    fn accept_tcp(&mut self, service: &mut impl Service) {
        let Some(gate) = self.tcp else { return };
        for _ in 0..ACCEPT_BATCH {
            let (stream, addr) = match gate.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::daemon::log::line(format_args!("tcp accept failed: {e}"));
                    self.evict_oldest_idle();
                    return;
                }
            };
            let _ = stream.set_nodelay(true);
            // A TCP peer is its address only: no uid, so nothing uid-based can ever apply to it.
            let peer = Peer::tcp(addr);
            let deadline = Instant::now() + self.budget;
            self.admit(Stream::Tcp(stream), peer, State::Hello { buf: Vec::new(), deadline }, service);
        }
    }

    /// Makes room at the bound (or refuses), reads what arrived with the connect, and keeps the
    /// connection while it still has something to do.
    fn admit(&mut self, stream: Stream, peer: Peer, state: State, service: &mut impl Service) {
        if self.conns.len() >= self.bound && !self.evict_oldest_idle() {
            refuse(&stream, &[]);
            return;
        }
        let mut conn = Conn { stream, peer, state, proof: Vec::new() };
        if let Some(got) = conn.read(&mut self.chunk, self.tcp, self.budget) {
            settle(&mut conn, got, service, self.budget);
        }
        if !matches!(conn.state, State::Closed) {
            self.conns.push(conn);
        }
    }

    /// Closes the oldest connection still waiting for its frame; false when there is none.
    fn evict_oldest_idle(&mut self) -> bool {
        match self.conns.iter().position(|c| matches!(c.state, State::Hello { .. } | State::Reading { .. })) {
            Some(i) => {
                let conn = self.conns.remove(i);
                refuse(&conn.stream, &conn.proof);
                true
            }
            None => false,
        }
    }
}

/// Answers what a read produced: a frame goes to the service; a refused hello is reported to it
/// (it records the attempt) and answered with one error frame, then the connection closes.
fn settle(conn: &mut Conn, got: Got, service: &mut impl Service, budget: Duration) {
    let reply = match got {
        Got::Frame(frame) => service.handle(frame, &conn.peer),
        Got::Refused(why) => {
            service.refused(&conn.peer, why);
            Some(Response::error(None, why.to_wire()).to_frame())
        }
    };
    conn.reply(reply, budget);
}

/// Tells a connection the daemon has no room for it (one send that never waits), then drops it.
/// `proof`: the server line a TCP peer is owed, if its hello checked (else empty).
fn refuse(stream: &impl AsFd, proof: &[u8]) {
    let busy = WireError::new(ErrorCode::Unavailable, "too many open connections; try again");
    let mut out = proof.to_vec();
    out.extend_from_slice(&Response::error(None, busy).to_frame());
    let _ = send(stream, &out, SEND_FLAGS);
}
