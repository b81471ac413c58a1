//! Loopback TCP (issue 19): the same protocol as the socket, behind a token, authenticated both ways.
//!
//! The daemon listens on TCP only when the global policy's `[daemon] tcp` names an address, and
//! only on loopback unless `tcp_allow_remote = true`. The token is 32 random bytes, kept in hex in
//! `<data dir>/tcp.token` (0600), created on the first start with TCP on; it never crosses the wire.
//!
//! Every connection first sends one **hello line**, `{"v":2,"nonce":"<64 hex>","mac":"<64 hex>"}`
//! and a newline: a fresh 32-byte nonce and HMAC-SHA256(token, `"holdfast tcp client v2"` ‖ nonce)
//! ([`Token::hello`]). It must arrive within the frame deadline and be at most [`MAX_HELLO`] bytes;
//! only then is a request frame read, exactly as on the socket. A wrong, missing, oversized,
//! truncated or late hello is refused before any request byte is looked at: the daemon records it
//! (`tcp_refused`), answers one error frame and closes.
//!
//! The daemon proves itself in turn: before the response frame it writes the **server line**
//! `{"server":"<64 hex>"}`, HMAC-SHA256(token, `"holdfast tcp server v2"` ‖ nonce)
//! ([`Token::server_line`]). The client still sends hello and request in one write, reads the
//! server line first, and believes nothing after it unless it checks ([`ClientError::Impostor`]
//! otherwise): whoever binds the port while the daemon is down learns no token and cannot forge an
//! answer.
//!
//! What remains: an eavesdropper who sees a hello can replay it (sniffing loopback needs root); that
//! gains only what the token grants, proposing commands and reading the queue, and privileged
//! requests over TCP always need the admin proof.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{ClientError, FrameError};
use crate::wire::{ErrorCode, MAX_FRAME, WireError};

/// Longest hello line accepted, newline included (a well-formed one is 156 bytes); also the
/// longest server line a client reads. An unauthenticated peer never gets the 16 MiB frame buffer.
pub const MAX_HELLO: usize = 256;
/// The `v` of the hello line.
pub const HELLO_VERSION: u32 = 2;
/// Largest token file read.
const MAX_TOKEN_FILE: u64 = 1024;
// Distinct labels of equal length before a fixed-length nonce: a client MAC is never a valid
// server proof (an impostor echoing the hello's `mac` back fails), and no message is ambiguous.
/// What the client's MAC covers before the nonce.
const CLIENT_LABEL: &[u8; 22] = b"holdfast tcp client v2";
/// What the server's proof covers before the nonce.
const SERVER_LABEL: &[u8; 22] = b"holdfast tcp server v2";

/// A client's per-connection nonce: 32 random bytes.
pub type Nonce = [u8; 32];

/// A fresh random [`Nonce`].
pub fn fresh_nonce() -> io::Result<Nonce> {
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(format!("cannot get random bytes: {e}")))?;
    Ok(nonce)
}

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

    /// HMAC-SHA256 keyed with the token over `label` ‖ `nonce`, not yet finalized.
    fn keyed(&self, label: &[u8; 22], nonce: &Nonce) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0[..]).expect("HMAC takes any key length");
        mac.update(label);
        mac.update(nonce);
        mac
    }

    /// The client's proof for `nonce`: HMAC-SHA256(token, `"holdfast tcp client v2"` ‖ nonce).
    pub fn client_mac(&self, nonce: &Nonce) -> [u8; 32] {
        self.keyed(CLIENT_LABEL, nonce).finalize().into_bytes().into()
    }

    /// The daemon's proof for `nonce`: HMAC-SHA256(token, `"holdfast tcp server v2"` ‖ nonce).
    pub fn server_mac(&self, nonce: &Nonce) -> [u8; 32] {
        self.keyed(SERVER_LABEL, nonce).finalize().into_bytes().into()
    }

    /// The hello line a client sends first: `{"v":2,"nonce":"<hex>","mac":"<hex>"}\n`.
    pub fn hello(&self, nonce: &Nonce) -> Vec<u8> {
        format!(
            "{{\"v\":{HELLO_VERSION},\"nonce\":\"{}\",\"mac\":\"{}\"}}\n",
            hex::encode(nonce),
            hex::encode(self.client_mac(nonce))
        )
        .into_bytes()
    }

    /// Checks a hello line (without its newline). On success, returns the server line the daemon
    /// must write before anything else it answers on this connection.
    pub fn check_hello(&self, line: &[u8]) -> Result<Vec<u8>, Refusal> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Hello {
            v: u32,
            nonce: String,
            mac: String,
        }
        let Ok(hello) = serde_json::from_slice::<Hello>(line) else { return Err(Refusal::Missing) };
        if hello.v != HELLO_VERSION {
            return Err(Refusal::Missing);
        }
        let mut nonce = [0u8; 32];
        hex::decode_to_slice(&hello.nonce, &mut nonce).map_err(|_| Refusal::Wrong)?;
        let mac = hex::decode(&hello.mac).map_err(|_| Refusal::Wrong)?;
        // Constant time: how long the check takes says nothing about how much of the MAC was right.
        self.keyed(CLIENT_LABEL, &nonce).verify_slice(&mac).map_err(|_| Refusal::Wrong)?;
        Ok(self.server_line(&nonce))
    }

    /// The line the daemon writes first on an accepted connection: `{"server":"<hex>"}\n`.
    pub fn server_line(&self, nonce: &Nonce) -> Vec<u8> {
        format!("{{\"server\":\"{}\"}}\n", hex::encode(self.server_mac(nonce))).into_bytes()
    }

    /// Checks a server line (without its newline) against the `nonce` this client sent.
    pub fn check_server_line(&self, nonce: &Nonce, line: &[u8]) -> bool {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ServerLine {
            server: String,
        }
        let Ok(parsed) = serde_json::from_slice::<ServerLine>(line) else { return false };
        let Ok(proof) = hex::decode(&parsed.server) else { return false };
        // Constant time, as on the daemon's side.
        self.keyed(SERVER_LABEL, nonce).verify_slice(&proof).is_ok()
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
    /// The first line is not a v2 hello (e.g. a request sent without one, or an old token line).
    Missing,
    /// A hello whose MAC is not the token's (or whose nonce or MAC is not hex).
    Wrong,
    /// More than [`MAX_HELLO`] bytes without a newline.
    TooLong,
    /// No whole hello line within the frame deadline.
    Timeout,
    /// The peer closed before its hello line was complete.
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
            Refusal::Timeout => (ErrorCode::Timeout, "no hello line arrived in time"),
            Refusal::Missing => (
                ErrorCode::Unauthorized,
                "a TCP connection must first send {\"v\":2,\"nonce\":\"<hex>\",\"mac\":\"<hex>\"}",
            ),
            Refusal::TooLong => (ErrorCode::Unauthorized, "the hello line is too long"),
            Refusal::Wrong | Refusal::Closed => (ErrorCode::Unauthorized, "wrong token"),
        };
        WireError::new(code, format!("{why}; connection refused and recorded"))
    }
}

/// The daemon's TCP listener (non-blocking) and the token every connection must prove it holds.
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

/// The client's side: connects to `addr`, sends the hello line and `frame` in one write (no extra
/// round trip), reads the daemon's server line and checks it, then reads the reply frame, all
/// within `timeout`. A refused or unreachable address is [`ClientError::Unreachable`], and a peer
/// that does not prove it holds the token is [`ClientError::Impostor`]; neither is ever "not
/// running": a hook must not fall back to its local decision because a network path failed or
/// something else answered on the port.
pub(crate) fn exchange(addr: &str, token_file: &Path, frame: &[u8], timeout: Duration) -> Result<Vec<u8>, ClientError> {
    let token = read_token_file(token_file).map_err(|e| ClientError::Token(e.describe(token_file)))?;
    let nonce = fresh_nonce()?;
    let deadline = Instant::now() + timeout;
    let stream = connect(addr, deadline)?;
    let _ = stream.set_nodelay(true);
    let mut out = token.hello(&nonce);
    out.extend_from_slice(frame);
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ClientError::Timeout);
    }
    stream.set_write_timeout(Some(left))?;
    (&stream)
        .write_all(&out)
        .map_err(|e| if super::is_timeout(&e) { ClientError::Timeout } else { ClientError::Io(e) })?;
    let mut buf = Vec::new();
    // Nothing the peer sends is believed before its server line checks, not even an error frame.
    match read_line(&stream, &mut buf, MAX_HELLO, deadline) {
        Ok(line) if token.check_server_line(&nonce, &line) => {}
        Ok(line) => return Err(impostor(addr, Some(&line))),
        Err(LineError::Timeout) => return Err(ClientError::Timeout),
        Err(LineError::Io(e)) => return Err(ClientError::Io(e)),
        Err(LineError::TooLong | LineError::Closed(_)) => return Err(impostor(addr, None)),
    }
    read_line(&stream, &mut buf, MAX_FRAME, deadline).map_err(|e| match frame_error(e, timeout) {
        FrameError::Timeout(_) => ClientError::Timeout,
        FrameError::Io(e) => ClientError::Io(e),
        e => ClientError::Protocol(e.to_wire()),
    })
}

/// The error for a peer at `addr` whose first line (`line`, when there was one) is no valid server
/// proof. When that line is an error frame, its message is quoted (shortened) for the human: the
/// daemon refusing a wrong token answers this way too, unauthenticated.
fn impostor(addr: &str, line: Option<&[u8]>) -> ClientError {
    let said = line
        .and_then(|l| crate::wire::decode_response(l).ok())
        .and_then(|r| match r.body {
            crate::wire::ResponseBody::Error(e) => Some(e.message.chars().take(200).collect::<String>()),
            _ => None,
        })
        .map_or_else(String::new, |m| format!(" (it said, unauthenticated: {m:?})"));
    ClientError::Impostor(format!(
        "the peer at tcp://{addr} did not prove it holds the holdfast token{said}: either the token file is wrong \
         (copy the host's tcp.token again) or something other than the holdfast daemon listens there"
    ))
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

/// Windows: serves the TCP connections waiting on `gate`, one at a time, with the same hello
/// line, server line, bounds and deadlines as the Unix readiness loop (the serve loop calls this
/// between pipe waits; a slow peer costs it at most the frame deadline, as a pipe peer does).
#[cfg(windows)]
pub(crate) fn serve_pending(gate: &Gate, budget: Duration, service: &mut impl super::Service) {
    /// Connections taken per call, so pipe clients are not starved by a TCP flood.
    const BATCH: usize = 64;
    for _ in 0..BATCH {
        let Ok((stream, addr)) = gate.listener.accept() else { return };
        serve_blocking(&stream, crate::wire::Peer::tcp(addr), budget, &gate.token, service);
    }
}

/// Serves one TCP connection with blocking reads and writes under total deadlines: the hello
/// line, then one request frame, then the server line and the reply in one write.
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
    let checked = match read_line(stream, &mut buf, MAX_HELLO, Instant::now() + budget) {
        Ok(line) => token.check_hello(&line),
        Err(LineError::TooLong) => Err(Refusal::TooLong),
        Err(LineError::Timeout) => Err(Refusal::Timeout),
        Err(LineError::Closed(_) | LineError::Io(_)) => Err(Refusal::Closed),
    };
    let reply = match checked {
        Err(why) => {
            service.refused(&peer, why);
            Some(crate::wire::Response::error(None, why.to_wire()).to_frame())
        }
        Ok(mut proof) => {
            let frame =
                read_line(stream, &mut buf, MAX_FRAME, Instant::now() + budget).map_err(|e| frame_error(e, budget));
            service.handle(frame, &peer).map(|reply| {
                // The server line goes first: the client believes nothing that does not follow it.
                proof.extend_from_slice(&reply);
                proof
            })
        }
    };
    if let Some(reply) = reply {
        let _ = stream.set_write_timeout(Some(budget));
        let _ = (&*stream).write_all(&reply);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Why [`read_line`] returned no line.
enum LineError {
    TooLong,
    Timeout,
    /// The peer closed after this many bytes of an unfinished line.
    Closed(usize),
    Io(io::Error),
}

/// The frame error a failed [`read_line`] of a request or reply frame is (`budget`: its deadline).
fn frame_error(e: LineError, budget: Duration) -> FrameError {
    match e {
        LineError::TooLong => FrameError::TooLarge,
        LineError::Timeout => FrameError::Timeout(budget),
        LineError::Closed(0) => FrameError::Empty,
        LineError::Closed(n) => FrameError::Truncated(n),
        LineError::Io(e) => FrameError::Io(e),
    }
}

/// Reads one line (without its newline) of at most `max` bytes, newline included, before
/// `deadline`; bytes after it stay in `buf` for the next line.
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
        // Never more than the line may still hold: a peer cannot make us buffer past `max`.
        let room = (max - buf.len()).min(chunk.len());
        match (&*stream).read(&mut chunk[..room]) {
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

    /// A hello for `token` and a fresh nonce, without its newline.
    fn hello_of(token: &Token) -> (Nonce, Vec<u8>) {
        let nonce = fresh_nonce().unwrap();
        let mut line = token.hello(&nonce);
        assert_eq!(line.pop(), Some(b'\n'));
        (nonce, line)
    }

    #[test]
    fn blocking_server_checks_the_hello_then_answers_its_proof_and_one_frame() {
        let token = Token::generate().unwrap();
        let mut seen = Seen::default();
        let nonce = fresh_nonce().unwrap();
        let mut bytes = token.hello(&nonce);
        bytes.extend_from_slice(b"{\"kind\":\"ping\"}\n");
        let mut expected = token.server_line(&nonce);
        expected.extend_from_slice(b"ok\n");
        assert_eq!(blocking_exchange(&token, &bytes, &mut seen), expected, "the server line comes first");
        assert_eq!(seen.frames, vec![Ok(b"{\"kind\":\"ping\"}".to_vec())]);
        let reply = blocking_exchange(&token, b"{\"kind\":\"ping\"}\n", &mut seen);
        assert!(String::from_utf8_lossy(&reply).contains("unauthorized"));
        assert!(!String::from_utf8_lossy(&reply).contains("server"), "a refusal carries no proof");
        let reply = blocking_exchange(&token, b"{\"v\":2,\"non", &mut seen);
        assert!(String::from_utf8_lossy(&reply).contains("timeout"));
        blocking_exchange(&token, &[b'x'; 1000], &mut seen);
        let other = Token::generate().unwrap();
        blocking_exchange(&token, &other.hello(&nonce), &mut seen);
        assert_eq!(seen.refused, vec![Refusal::Missing, Refusal::Timeout, Refusal::TooLong, Refusal::Wrong]);
        assert_eq!(seen.frames.len(), 1);
    }

    #[test]
    fn hellos_are_checked_strictly() {
        let t = Token::generate().unwrap();
        let (nonce, line) = hello_of(&t);
        assert!(line.len() < MAX_HELLO, "room for the newline");
        assert_eq!(t.check_hello(&line), Ok(t.server_line(&nonce)));
        // The same nonce under another token.
        let other = Token::generate().unwrap();
        let mut foreign = other.hello(&nonce);
        foreign.pop();
        assert_eq!(t.check_hello(&foreign), Err(Refusal::Wrong));
        // Not a hello at all: a request, the old raw-token line, another version, extra fields.
        assert_eq!(t.check_hello(b"{\"kind\":\"ping\"}"), Err(Refusal::Missing));
        let raw = format!("{{\"token\":\"{}\"}}", t.to_hex().as_str());
        assert_eq!(t.check_hello(raw.as_bytes()), Err(Refusal::Missing));
        let text = String::from_utf8(line.clone()).unwrap();
        assert_eq!(t.check_hello(text.replace("\"v\":2", "\"v\":1").as_bytes()), Err(Refusal::Missing));
        assert_eq!(t.check_hello(text.replace('}', ",\"x\":1}").as_bytes()), Err(Refusal::Missing));
        // A MAC for another nonce, a truncated MAC, a nonce that is not 32 bytes.
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        let (n, m) = (v["nonce"].as_str().unwrap(), v["mac"].as_str().unwrap());
        let hello = |n: &str, m: &str| format!("{{\"v\":2,\"nonce\":\"{n}\",\"mac\":\"{m}\"}}");
        let (_, other_line) = hello_of(&t);
        let other_v: serde_json::Value = serde_json::from_slice(&other_line).unwrap();
        assert_eq!(t.check_hello(hello(n, other_v["mac"].as_str().unwrap()).as_bytes()), Err(Refusal::Wrong));
        assert_eq!(t.check_hello(hello(n, &m[..62]).as_bytes()), Err(Refusal::Wrong));
        assert_eq!(t.check_hello(hello(&n[..62], m).as_bytes()), Err(Refusal::Wrong));
        assert_eq!(t.check_hello(hello(n, "zz").as_bytes()), Err(Refusal::Wrong));
        // Hex in either case.
        assert_eq!(t.check_hello(hello(&n.to_uppercase(), &m.to_uppercase()).as_bytes()), Ok(t.server_line(&nonce)));
    }

    #[test]
    fn the_two_macs_are_domain_separated_and_bound_to_token_and_nonce() {
        let t = Token::from_hex(&"11".repeat(32)).unwrap();
        let nonce = [7u8; 32];
        assert_ne!(t.client_mac(&nonce), t.server_mac(&nonce));
        assert_ne!(t.server_mac(&nonce), t.server_mac(&[8u8; 32]));
        assert_ne!(t.server_mac(&nonce), Token::from_hex(&"22".repeat(32)).unwrap().server_mac(&nonce));
        // Pinned: HMAC-SHA256 over the label and the raw nonce bytes, as docs/protocol.md says.
        let mut msg = b"holdfast tcp server v2".to_vec();
        msg.extend_from_slice(&nonce);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0x11; 32]).unwrap();
        mac.update(&msg);
        assert_eq!(t.server_mac(&nonce)[..], mac.finalize().into_bytes()[..]);
        let line = t.server_line(&nonce);
        assert_eq!(line, format!("{{\"server\":\"{}\"}}\n", hex::encode(t.server_mac(&nonce))).into_bytes());
        let hello = String::from_utf8(t.hello(&nonce)).unwrap();
        let want = format!(
            "{{\"v\":2,\"nonce\":\"{}\",\"mac\":\"{}\"}}\n",
            "07".repeat(32),
            hex::encode(t.client_mac(&nonce))
        );
        assert_eq!(hello, want);
        assert_eq!((hello.len(), line.len()), (156, 78), "the lengths docs/protocol.md gives");
        assert!(!hello.contains(t.to_hex().as_str()), "the token never crosses the wire");
    }

    #[test]
    fn server_lines_are_checked_against_the_nonce_and_token() {
        let t = Token::generate().unwrap();
        let nonce = fresh_nonce().unwrap();
        let line = t.server_line(&nonce);
        let line = &line[..line.len() - 1];
        assert!(t.check_server_line(&nonce, line));
        assert!(!t.check_server_line(&fresh_nonce().unwrap(), line), "another connection's proof");
        assert!(!Token::generate().unwrap().check_server_line(&nonce, line), "another token's proof");
        // The client's own MAC echoed back is not a server proof.
        let echo = format!("{{\"server\":\"{}\"}}", hex::encode(t.client_mac(&nonce)));
        assert!(!t.check_server_line(&nonce, echo.as_bytes()));
        let text = std::str::from_utf8(line).unwrap();
        assert!(!t.check_server_line(&nonce, text.replace('}', ",\"x\":1}").as_bytes()));
        assert!(!t.check_server_line(&nonce, &text.as_bytes()[..text.len() - 4]));
        assert!(!t.check_server_line(&nonce, b"{\"server\":\"\"}"));
        assert!(!t.check_server_line(&nonce, b"{\"v\":1,\"kind\":\"verdict\",\"decision\":\"allow\"}"));
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
