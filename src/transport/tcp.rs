//! Loopback TCP (issue 19): the same protocol as the socket, behind a token.
//!
//! The daemon listens on TCP only when the global policy's `[daemon] tcp` names an address, and
//! only on loopback unless `tcp_allow_remote = true`. Every connection first sends one **token
//! line**, `{"token":"<64 hex digits>"}` and a newline, within the frame deadline and at most
//! [`MAX_TOKEN_LINE`] bytes; only then is a request frame read, exactly as on the socket. A wrong,
//! missing, oversized, truncated or late token is refused before any request byte is looked at: the
//! daemon records it (`tcp_refused`), answers one error frame and closes. The token is 32 random
//! bytes, kept in hex in `<data dir>/tcp.token` (0600), created on the first start with TCP on.
//!
//! The token authenticates the client to the daemon, not the daemon to the client: a client sends
//! it to whoever listens on the address it was given. Keep the listener on loopback.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{ClientError, FrameError};
use crate::wire::{ErrorCode, WireError};

/// Longest token line accepted, newline included (a well-formed one is 77 bytes). An
/// unauthenticated peer never gets the 16 MiB frame buffer.
pub const MAX_TOKEN_LINE: usize = 256;
/// Largest token file read.
const MAX_TOKEN_FILE: u64 = 1024;

/// The shared secret of the TCP listener: 32 random bytes, wiped from memory on drop.
pub struct Token(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// A fresh random token.
    pub fn generate() -> io::Result<Token> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(|e| io::Error::other(format!("cannot get random bytes: {e}")))?;
        Ok(Token(bytes))
    }

    /// Parses exactly 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Option<Token> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), &mut bytes[..]).ok()?;
        Some(Token(bytes))
    }

    /// The token in lowercase hex, as the token file holds it.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&self.0[..]))
    }

    /// The line a client sends first: `{"token":"<hex>"}\n`.
    pub fn line(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(format!("{{\"token\":\"{}\"}}\n", self.to_hex().as_str()).into_bytes())
    }

    /// Checks a token line (without its newline) against this token.
    pub fn check_line(&self, line: &[u8]) -> Result<(), Refusal> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Line {
            token: String,
        }
        let Ok(parsed) = serde_json::from_slice::<Line>(line) else { return Err(Refusal::Missing) };
        let hex = Zeroizing::new(parsed.token);
        let Some(offered) = Token::from_hex(&hex) else { return Err(Refusal::Wrong) };
        // Constant time: how long the comparison takes says nothing about how much of the token was right.
        if bool::from(offered.0[..].ct_eq(&self.0[..])) { Ok(()) } else { Err(Refusal::Wrong) }
    }
}

/// Loads the daemon's token from `path`, creating it (0600) when it does not exist. A token file
/// that others may read is refused: the token is the only thing guarding the port.
pub fn load_or_create(path: &Path) -> io::Result<Token> {
    match read_token_file(path) {
        Ok(token) => {
            check_private(path)?;
            Ok(token)
        }
        Err(TokenFileError::Missing) => {
            let token = Token::generate()?;
            let mut text = token.to_hex();
            text.push('\n');
            crate::paths::write_atomic(path, text.as_bytes())?;
            Ok(token)
        }
        Err(e) => Err(io::Error::other(e.describe(path))),
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(io::Error::other(format!(
            "{} is readable by others (mode {mode:o}); the token guards the TCP listener. Run `chmod 600` on it, \
             or delete it to make a new token",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// Why a token file could not be used.
#[derive(Debug)]
pub enum TokenFileError {
    /// The file does not exist.
    Missing,
    /// It exists but cannot be read.
    Unreadable(io::Error),
    /// It does not hold 64 hex digits.
    Malformed,
}

impl TokenFileError {
    /// One sentence naming the file and what to do.
    pub fn describe(&self, path: &Path) -> String {
        let what = match self {
            TokenFileError::Missing => "does not exist".to_string(),
            TokenFileError::Unreadable(e) => format!("cannot be read ({e})"),
            TokenFileError::Malformed => "does not hold a token (64 hex digits)".to_string(),
        };
        format!(
            "the holdfast TCP token file {} {what}; copy the host's `<holdfast data dir>/tcp.token` there, or point \
             {} at it",
            path.display(),
            crate::paths::TOKEN_FILE_ENV
        )
    }
}

/// Reads a token file: 64 hex digits, surrounding whitespace ignored.
pub fn read_token_file(path: &Path) -> Result<Token, TokenFileError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(TokenFileError::Missing),
        Err(e) => return Err(TokenFileError::Unreadable(e)),
    };
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_TOKEN_FILE).read_to_string(&mut text).map_err(TokenFileError::Unreadable)?;
    Token::from_hex(&text).ok_or(TokenFileError::Malformed)
}

/// Why a TCP connection was refused before any request was read (the `reason` of its
/// `tcp_refused` record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The first line is not a token line (e.g. a request sent without one).
    Missing,
    /// A token line with the wrong token.
    Wrong,
    /// More than [`MAX_TOKEN_LINE`] bytes without a newline.
    TooLong,
    /// No whole token line within the frame deadline.
    Timeout,
    /// The peer closed before its token line was complete.
    Closed,
}

impl Refusal {
    /// The reason as recorded: `missing`, `wrong`, `too_long`, `timeout`, `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::Wrong => "wrong",
            Refusal::TooLong => "too_long",
            Refusal::Timeout => "timeout",
            Refusal::Closed => "closed",
        }
    }

    /// The one error frame the peer gets before the connection closes.
    pub fn to_wire(self) -> WireError {
        let (code, why) = match self {
            Refusal::Timeout => (ErrorCode::Timeout, "no token line arrived in time"),
            Refusal::Missing => (ErrorCode::Unauthorized, "a TCP connection must first send {\"token\":\"<hex>\"}"),
            Refusal::TooLong => (ErrorCode::Unauthorized, "the token line is too long"),
            Refusal::Wrong | Refusal::Closed => (ErrorCode::Unauthorized, "wrong token"),
        };
        WireError::new(code, format!("{why}; connection refused and recorded"))
    }
}

/// The daemon's TCP listener (non-blocking) and the token every connection must present.
pub struct Gate {
    pub(crate) listener: TcpListener,
    pub(crate) token: Token,
    addr: SocketAddr,
}

impl Gate {
    /// Binds `addr`. A non-loopback address is refused unless `allow_remote` (the policy already
    /// refuses it; this is the second lock on the same door).
    pub fn bind(addr: SocketAddr, allow_remote: bool, token: Token) -> io::Result<Gate> {
        if !addr.ip().is_loopback() && !allow_remote {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{addr} is not a loopback address and tcp_allow_remote is not set"),
            ));
        }
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        Ok(Gate { listener, token, addr })
    }

    /// The address actually bound (port 0 in the policy becomes the port the OS chose).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The client's side: connects to `addr`, sends the token line and `frame` in one write (no extra
/// round trip), and reads the reply frame, all within `timeout`. A refused or unreachable address
/// is [`ClientError::Unreachable`], never "not running": a hook must not fall back to its local
/// decision because a network path failed.
pub(crate) fn exchange(addr: &str, token_file: &Path, frame: &[u8], timeout: Duration) -> Result<Vec<u8>, ClientError> {
    let token = read_token_file(token_file).map_err(|e| ClientError::Token(e.describe(token_file)))?;
    let deadline = Instant::now() + timeout;
    let stream = connect(addr, deadline)?;
    let _ = stream.set_nodelay(true);
    let mut out = token.line();
    out.extend_from_slice(frame);
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ClientError::Timeout);
    }
    stream.set_write_timeout(Some(left))?;
    (&stream)
        .write_all(&out)
        .map_err(|e| if super::is_timeout(&e) { ClientError::Timeout } else { ClientError::Io(e) })?;
    let budget = deadline.saturating_duration_since(Instant::now());
    match super::read_frame_from(&stream, budget, |d| stream.set_read_timeout(Some(d))) {
        Ok(reply) => Ok(reply),
        Err(FrameError::Timeout(_)) => Err(ClientError::Timeout),
        Err(FrameError::Io(e)) => Err(ClientError::Io(e)),
        Err(e) => Err(ClientError::Protocol(e.to_wire())),
    }
}

/// Resolves `addr` (a name such as `host.docker.internal` is fine on the client side) and connects
/// to the first address that answers before `deadline`.
fn connect(addr: &str, deadline: Instant) -> Result<TcpStream, ClientError> {
    let unreachable = |why: String| ClientError::Unreachable(format!("tcp://{addr}: {why}"));
    let targets: Vec<SocketAddr> =
        addr.to_socket_addrs().map_err(|e| unreachable(format!("cannot resolve: {e}")))?.collect();
    let mut last = None;
    for target in targets {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ClientError::Timeout);
        }
        match TcpStream::connect_timeout(&target, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(unreachable(last.map_or_else(|| "no address".into(), |e| e.to_string())))
}

/// Windows: serves the TCP connections waiting on `gate`, one at a time, with the same token
/// line, bounds and deadlines as the Unix readiness loop (the serve loop calls this between pipe
/// waits; a slow peer costs it at most the frame deadline, as a pipe peer does).
#[cfg(windows)]
pub(crate) fn serve_pending(gate: &Gate, budget: Duration, service: &mut impl super::Service) {
    /// Connections taken per call, so pipe clients are not starved by a TCP flood.
    const BATCH: usize = 64;
    for _ in 0..BATCH {
        let Ok((stream, addr)) = gate.listener.accept() else { return };
        serve_blocking(&stream, crate::wire::Peer::tcp(addr), budget, &gate.token, service);
    }
}

/// Serves one TCP connection with blocking reads and writes under total deadlines: the token
/// line, then one request frame, then the reply.
#[cfg(any(windows, test))]
fn serve_blocking(
    stream: &TcpStream,
    peer: crate::wire::Peer,
    budget: Duration,
    token: &Token,
    service: &mut impl super::Service,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let checked = match read_line(stream, &mut buf, MAX_TOKEN_LINE, Instant::now() + budget) {
        Ok(line) => token.check_line(&Zeroizing::new(line)),
        Err(LineError::TooLong) => Err(Refusal::TooLong),
        Err(LineError::Timeout) => Err(Refusal::Timeout),
        Err(LineError::Closed(_) | LineError::Io(_)) => Err(Refusal::Closed),
    };
    let reply = match checked {
        Err(why) => {
            service.refused(&peer, why);
            Some(crate::wire::Response::error(None, why.to_wire()).to_frame())
        }
        Ok(()) => {
            let frame = match read_line(stream, &mut buf, crate::wire::MAX_FRAME, Instant::now() + budget) {
                Ok(line) => Ok(line),
                Err(LineError::TooLong) => Err(FrameError::TooLarge),
                Err(LineError::Timeout) => Err(FrameError::Timeout(budget)),
                Err(LineError::Closed(0)) => Err(FrameError::Empty),
                Err(LineError::Closed(n)) => Err(FrameError::Truncated(n)),
                Err(LineError::Io(e)) => Err(FrameError::Io(e)),
            };
            service.handle(frame, &peer)
        }
    };
    if let Some(reply) = reply {
        let _ = stream.set_write_timeout(Some(budget));
        let _ = (&*stream).write_all(&reply);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Why [`read_line`] returned no line.
#[cfg(any(windows, test))]
enum LineError {
    TooLong,
    Timeout,
    /// The peer closed after this many bytes of an unfinished line.
    Closed(usize),
    Io(io::Error),
}

/// Reads one line (without its newline) of at most `max` bytes, newline included, before
/// `deadline`; bytes after it stay in `buf` for the next line.
#[cfg(any(windows, test))]
fn read_line(stream: &TcpStream, buf: &mut Vec<u8>, max: usize, deadline: Instant) -> Result<Vec<u8>, LineError> {
    let mut chunk = vec![0u8; 16 * 1024];
    let mut scanned = 0;
    loop {
        if let Some(pos) = buf[scanned..].iter().position(|&b| b == b'\n').map(|p| p + scanned) {
            if pos + 1 > max {
                return Err(LineError::TooLong);
            }
            let line = buf[..pos].to_vec();
            buf.drain(..=pos);
            return Ok(line);
        }
        scanned = buf.len();
        if buf.len() >= max {
            return Err(LineError::TooLong);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(LineError::Timeout);
        }
        stream.set_read_timeout(Some(left)).map_err(LineError::Io)?;
        match (&*stream).read(&mut chunk) {
            Ok(0) => return Err(LineError::Closed(buf.len())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if super::is_timeout(&e) => return Err(LineError::Timeout),
            Err(e) => return Err(LineError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the blocking server hands it.
    #[derive(Default)]
    struct Seen {
        frames: Vec<Result<Vec<u8>, String>>,
        refused: Vec<Refusal>,
    }

    impl super::super::Service for Seen {
        fn handle(&mut self, frame: Result<Vec<u8>, FrameError>, _: &crate::wire::Peer) -> Option<Vec<u8>> {
            self.frames.push(frame.map_err(|e| e.to_string()));
            Some(b"ok\n".to_vec())
        }
        fn refused(&mut self, _: &crate::wire::Peer, why: Refusal) {
            self.refused.push(why);
        }
    }

    /// The blocking (Windows) server against one client that sends `bytes`; returns the reply.
    fn blocking_exchange(token: &Token, bytes: &[u8], seen: &mut Seen) -> Vec<u8> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.write_all(bytes).unwrap();
        let (stream, addr) = listener.accept().unwrap();
        serve_blocking(&stream, crate::wire::Peer::tcp(addr), Duration::from_millis(300), token, seen);
        let mut reply = Vec::new();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = client.read_to_end(&mut reply);
        reply
    }

    #[test]
    fn blocking_server_checks_the_token_then_reads_one_frame() {
        let token = Token::generate().unwrap();
        let mut seen = Seen::default();
        let mut bytes = token.line().to_vec();
        bytes.extend_from_slice(b"{\"kind\":\"ping\"}\n");
        assert_eq!(blocking_exchange(&token, &bytes, &mut seen), b"ok\n");
        assert_eq!(seen.frames, vec![Ok(b"{\"kind\":\"ping\"}".to_vec())]);
        let reply = blocking_exchange(&token, b"{\"kind\":\"ping\"}\n", &mut seen);
        assert!(String::from_utf8_lossy(&reply).contains("unauthorized"));
        let reply = blocking_exchange(&token, b"{\"tok", &mut seen);
        assert!(String::from_utf8_lossy(&reply).contains("timeout"));
        blocking_exchange(&token, &[b'x'; 1000], &mut seen);
        assert_eq!(seen.refused, vec![Refusal::Missing, Refusal::Timeout, Refusal::TooLong]);
        assert_eq!(seen.frames.len(), 1);
    }

    #[test]
    fn token_lines_are_checked_strictly() {
        let t = Token::generate().unwrap();
        let line = t.line();
        assert!(line.ends_with(b"\n") && line.len() < MAX_TOKEN_LINE);
        assert_eq!(t.check_line(&line[..line.len() - 1]), Ok(()));
        let other = Token::generate().unwrap().line();
        assert_eq!(t.check_line(&other[..other.len() - 1]), Err(Refusal::Wrong));
        assert_eq!(t.check_line(b"{\"kind\":\"ping\"}"), Err(Refusal::Missing));
        assert_eq!(t.check_line(b"{\"token\":\"abc\"}"), Err(Refusal::Wrong));
        let hex = t.to_hex();
        let extra = format!("{{\"token\":\"{}\",\"x\":1}}", hex.as_str());
        assert_eq!(t.check_line(extra.as_bytes()), Err(Refusal::Missing));
        let upper = format!("{{\"token\":\"{}\"}}", hex.to_uppercase());
        assert_eq!(t.check_line(upper.as_bytes()), Ok(()));
    }

    #[test]
    fn token_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tcp.token");
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a.to_hex(), b.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(load_or_create(&path).unwrap_err().to_string().contains("readable by others"));
        }
        std::fs::write(&path, "nope").unwrap();
        assert!(matches!(read_token_file(&path), Err(TokenFileError::Malformed)));
        assert!(matches!(read_token_file(&dir.path().join("none")), Err(TokenFileError::Missing)));
    }
}
