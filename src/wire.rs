//! Wire protocol v1 (DESIGN §2): request and response types and their framing.
//!
//! A frame is one UTF-8 JSON object followed by `\n`, at most [`MAX_FRAME`]
//! bytes including the newline. Requests are parsed in two passes: a cheap
//! header pass (`v`, `kind`, `id`) that decides which typed error applies, then
//! a typed pass into the kind's body, so that a wrong field is `invalid_field`
//! and an unknown kind is `unknown_kind`, never confused.

use serde::{Deserialize, Serialize};

use crate::classify::Class;

/// Largest frame, newline included: 16 MiB.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;
/// The only protocol version this build speaks.
pub const VERSION: u32 = 1;

/// Error codes of DESIGN §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadFrame,
    FrameTooLarge,
    BadUtf8,
    UnknownKind,
    InvalidField,
    UnsupportedVersion,
    Timeout,
    Unauthorized,
    LockedOut,
    NotFound,
    Conflict,
    Unavailable,
    Internal,
}

/// A typed protocol failure: a code and one human sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct WireError {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorCode {
    /// The code as the wire spells it (`locked_out`, `conflict`, …).
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

impl WireError {
    /// Builds an error from a code and a sentence.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        WireError { code, message: message.into() }
    }
}

/// Who is on the other end of a connection, as far as the OS says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
}

/// A decoded request: optional correlation id and the kind's body.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Option<String>,
    pub body: RequestBody,
}

/// One variant per request kind of DESIGN §2 (plus `panic`/`release` for the kill switch).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestBody {
    Propose(Proposal),
    Record(Proposal),
    Observe(Observation),
    Resolve(Resolution),
    /// `list_pending` without paging fields: the first page.
    ListPending,
    /// `list_pending` with `after` and/or `limit`: a later page, or a smaller one.
    #[serde(rename = "list_pending")]
    ListPendingPage(PageRequest),
    PendingStatus(PendingRef),
    Approve(Decide),
    Deny(Decide),
    Status,
    Ping,
    AuthBegin(AuthBegin),
    Shutdown(Proof),
    Pause(Proof),
    Resume(Proof),
    Reload(Proof),
    LogHead,
    /// Engage the kill switch: needs no proof, it only tightens.
    Panic,
    /// Release the kill switch: privileged.
    Release(Proof),
    /// Open an approval session (admin proof).
    SessionOpen(SessionOpen),
    /// Close an approval session (no proof: closing only tightens).
    SessionClose(SessionRef),
    /// List the open approval sessions.
    ListSessions,
}

impl RequestBody {
    /// The wire name of this request's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            RequestBody::Propose(_) => "propose",
            RequestBody::Record(_) => "record",
            RequestBody::Observe(_) => "observe",
            RequestBody::Resolve(_) => "resolve",
            RequestBody::ListPending | RequestBody::ListPendingPage(_) => "list_pending",
            RequestBody::PendingStatus(_) => "pending_status",
            RequestBody::Approve(_) => "approve",
            RequestBody::Deny(_) => "deny",
            RequestBody::Status => "status",
            RequestBody::Ping => "ping",
            RequestBody::AuthBegin(_) => "auth_begin",
            RequestBody::Shutdown(_) => "shutdown",
            RequestBody::Pause(_) => "pause",
            RequestBody::Resume(_) => "resume",
            RequestBody::Reload(_) => "reload",
            RequestBody::LogHead => "log_head",
            RequestBody::Panic => "panic",
            RequestBody::Release(_) => "release",
            RequestBody::SessionOpen(_) => "session_open",
            RequestBody::SessionClose(_) => "session_close",
            RequestBody::ListSessions => "list_sessions",
        }
    }
}

/// A command an agent is about to run (`propose`) or a human already ran (`record`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub agent: String,
    pub cwd: String,
    pub raw: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ts: Option<String>,
    /// The nearest `.holdfast.toml` as the client read it, for a daemon that cannot read it
    /// itself (see [`crate::policy::carry`]). Absent: the client found none, or is older.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_policy: Option<Box<CarriedPolicy>>,
}

/// A repository policy file carried in a proposal: where the client found it and its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedPolicy {
    /// Absolute path of the file: `<an ancestor of cwd>/.holdfast.toml`.
    pub path: String,
    /// The file's text (at most [`crate::policy::carry::MAX_CARRIED`] bytes); absent when the
    /// client found the file but could not read it within that bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A filesystem change seen by the watcher.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// `create`, `modify`, `remove`, `rename` or `overflow`.
    pub change: String,
    #[serde(default)]
    pub path: String,
    /// New name, for a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// How many raw events this observation coalesces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ts: Option<String>,
    /// True when `path` is a directory and this observation summarizes `count` changes of this kind
    /// somewhere under it (a burst, or a backlog the watcher's rate limit folded together).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub summary: bool,
}

/// Allow or deny, as a human decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HumanDecision {
    Allow,
    Deny,
}

/// A decision a human made in the agent's own prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    pub command: String,
    pub decision: HumanDecision,
    #[serde(default)]
    pub remember: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    #[serde(flatten)]
    pub proof: Proof,
}

/// Paging fields of `list_pending` (both optional; an old client sends neither and gets the
/// first page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// The `next` cursor of the previous page: list the items after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many items (the daemon caps it, and also stops at a byte budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Names a pending item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRef {
    pub pending: String,
}

/// Approve or deny a pending item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decide {
    pub pending: String,
    #[serde(default)]
    pub remember: bool,
    #[serde(flatten)]
    pub proof: Proof,
}

/// Starts a challenge-response for `op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthBegin {
    pub op: String,
}

/// The answer to a challenge, carried by privileged requests. Empty when no vault exists.
///
/// With an approval session (`approve`, `deny`, `resolve` only), `nonce` is
/// `session:<session id>:<counter>` and `proof` the session key's signature (see
/// [`crate::session`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// Opens an approval session for an ephemeral public key, proved by the admin (op
/// `session:<public_key>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOpen {
    /// The session key's Ed25519 public key, 64 hex digits.
    pub public_key: String,
    /// Lifetime in seconds (default 3600, at most 28800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_s: Option<u64>,
    #[serde(flatten)]
    pub proof: Proof,
}

/// Names an approval session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRef {
    pub session: String,
}

/// An open approval session, as `session_open` and `list_sessions` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub session: String,
    pub expires_in_s: u64,
    /// How many approvals and denials it answered.
    #[serde(default)]
    pub uses: u64,
    /// The uid that opened it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
}

/// allow / hold / deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Hold,
    Deny,
}

/// The daemon's answer to `propose`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub decision: Decision,
    pub class: Class,
    pub rule: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    pub seq: u64,
    /// Notes that qualify the decision: `notify`, `paused`, `remembered`, `repo_loosening_ignored`…
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// A plain acknowledgement, with the audit seq that records it when there is one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// The lifecycle state of a pending item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PendingState {
    Pending,
    Approved,
    Denied,
    Expired,
    Gone,
    /// Closed by the agent's report that its user approved the command in the agent's own prompt
    /// and it ran. Not an admin approval: a waiting hook reads it as "not approved".
    #[serde(rename = "agent_approved")]
    AgentApproved,
}

/// A held command, as shown to humans and polled by hooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingItem {
    /// The pending id. On the wire it is `pending`, as in requests and verdicts: a response's
    /// top-level `id` is the echoed request id, which a flattened `pending` body must not shadow.
    #[serde(rename = "pending")]
    pub id: String,
    pub state: PendingState,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub age_s: u64,
    #[serde(default)]
    pub expires_in_s: u64,
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub cwd: String,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub class: Option<Class>,
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub reason: String,
    /// Set when `command` was shortened for a list: the full command's length in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_len: Option<u64>,
    /// Set when `command` was shortened for a list: SHA-256 (hex) of the full command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_sha256: Option<String>,
}

/// Argon2id parameters as the vault stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub alg: String,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

/// The daemon's challenge for a privileged op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub op: String,
    /// True when a vault exists and a proof is required.
    pub locked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf: Option<KdfParams>,
    /// The vault's format version, which names the proof to send: 2 (Ed25519) or absent/1 (legacy HMAC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_v: Option<u32>,
    /// The daemon's identity (its audit log id), which a v2 proof signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_id: Option<String>,
}

/// The audit log's head: what an external anchor records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    pub seq: u64,
    pub hash: String,
    #[serde(default)]
    pub log_id: String,
}

/// Daemon status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub pid: u32,
    pub endpoint: String,
    pub uptime_s: u64,
    pub requests: u64,
    pub errors: u64,
    /// `attended`, `unattended` or `notify`.
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub panic: bool,
    /// `unlocked` (no vault), `locked` (vault loaded) or `degraded: <why>`.
    #[serde(default)]
    pub vault: String,
    /// `always`, or `batch (every N ms)`.
    #[serde(default)]
    pub durability: String,
    #[serde(default)]
    pub log_seq: u64,
    /// Damage found in the audit log at start, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_damage: Vec<String>,
    #[serde(default)]
    pub pending: u64,
    /// Decisions remembered for exact commands.
    #[serde(default)]
    pub remembered: u64,
    /// Filesystem changes flagged as bypassing the hooks since start.
    #[serde(default)]
    pub bypass_flags: u64,
    /// Why the global policy file is not the one in force (a parse error), if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_error: Option<String>,
    /// Daemon log lines lost since start (stderr / daemon.log could not be written).
    #[serde(default)]
    pub log_failures: u64,
    /// Requests whose handling panicked since start (each answered `internal` and recorded).
    #[serde(default)]
    pub panics: u64,
}

/// A `pong`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    pub pid: u32,
    pub version: String,
}

/// One variant per response kind of DESIGN §2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResponseBody {
    Verdict(Verdict),
    Ack(Ack),
    /// One page of the pending items, oldest first. `more`: items remain after this page;
    /// ask again with `after` set to `next`.
    PendingList {
        items: Vec<PendingItem>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    Pending(PendingItem),
    Status(Status),
    Pong(Pong),
    Challenge(Challenge),
    LogHead(LogHead),
    Session(SessionInfo),
    SessionList {
        items: Vec<SessionInfo>,
    },
    Error(WireError),
}

/// A response as sent: `v`, optional echoed `id`, and the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub body: ResponseBody,
}

impl Response {
    /// Wraps a body with the current version and an echoed id.
    pub fn new(id: Option<String>, body: ResponseBody) -> Self {
        Response { v: VERSION, id, body }
    }

    /// An error response.
    pub fn error(id: Option<String>, err: WireError) -> Self {
        Response::new(id, ResponseBody::Error(err))
    }

    /// Encodes the response as one frame, newline included.
    pub fn to_frame(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).unwrap_or_else(|e| {
            // Serializing our own types cannot fail short of a bug; still answer typed.
            format!(r#"{{"v":1,"kind":"error","code":"internal","message":"cannot encode response: {e}"}}"#)
                .into_bytes()
        });
        out.push(b'\n');
        out
    }
}

#[derive(Serialize)]
struct OutgoingRequest<'a> {
    v: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(flatten)]
    body: &'a RequestBody,
}

impl Request {
    /// A request without an id.
    pub fn new(body: RequestBody) -> Self {
        Request { id: None, body }
    }

    /// Encodes the request as one frame, newline included.
    pub fn to_frame(&self) -> Vec<u8> {
        let out = OutgoingRequest { v: VERSION, id: self.id.as_deref(), body: &self.body };
        let mut bytes = serde_json::to_vec(&out).expect("request types always serialize");
        bytes.push(b'\n');
        bytes
    }
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    v: Option<serde_json::Value>,
    #[serde(default)]
    kind: Option<serde_json::Value>,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// A frame as the daemon sees it: JSON for programs, or a text line for humans.
#[derive(Debug)]
pub enum Incoming {
    Json(Request),
    /// A line that does not start with `{`: `PING`, `STATUS`, …
    Text(String),
}

/// Decodes one frame (without its newline). On failure returns the error and any `id` that could be read.
pub fn decode(frame: &[u8]) -> Result<Incoming, (Option<String>, WireError)> {
    let text = std::str::from_utf8(frame).map_err(|e| {
        (None, WireError::new(ErrorCode::BadUtf8, format!("frame is not valid UTF-8 (at byte {})", e.valid_up_to())))
    })?;
    let trimmed = text.trim_end_matches('\r');
    if !trimmed.trim_start().starts_with('{') {
        return Ok(Incoming::Text(trimmed.trim().to_string()));
    }
    let header: Header = serde_json::from_str(trimmed).map_err(|e| {
        let code = if e.is_data() { ErrorCode::InvalidField } else { ErrorCode::BadFrame };
        (None, WireError::new(code, format!("frame is not a valid JSON object: {e}")))
    })?;
    let id = match header.id {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) => return Err((None, WireError::new(ErrorCode::InvalidField, "field `id` must be a string"))),
    };
    let fail = |code, msg: String| Err((id.clone(), WireError::new(code, msg)));
    match header.v {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(1) => {}
            _ => {
                return fail(
                    ErrorCode::UnsupportedVersion,
                    format!("protocol version {n} is not supported; this daemon speaks v1"),
                );
            }
        },
        Some(_) => return fail(ErrorCode::InvalidField, "field `v` must be the integer 1".into()),
    }
    let kind = match header.kind {
        Some(serde_json::Value::String(k)) => k,
        None | Some(serde_json::Value::Null) => return fail(ErrorCode::InvalidField, "missing field `kind`".into()),
        Some(_) => return fail(ErrorCode::InvalidField, "field `kind` must be a string".into()),
    };
    let body = decode_body(&kind, trimmed).map_err(|e| (id.clone(), e))?;
    Ok(Incoming::Json(Request { id, body }))
}

fn decode_body(kind: &str, text: &str) -> Result<RequestBody, WireError> {
    fn typed<T: for<'de> Deserialize<'de>>(kind: &str, text: &str) -> Result<T, WireError> {
        serde_json::from_str(text)
            .map_err(|e| WireError::new(ErrorCode::InvalidField, format!("bad `{kind}` request: {e}")))
    }
    Ok(match kind {
        "propose" => RequestBody::Propose(typed(kind, text)?),
        "record" => RequestBody::Record(typed(kind, text)?),
        "observe" => RequestBody::Observe(typed(kind, text)?),
        "resolve" => RequestBody::Resolve(typed(kind, text)?),
        "list_pending" => match typed::<PageRequest>(kind, text)? {
            page if page == PageRequest::default() => RequestBody::ListPending,
            page => RequestBody::ListPendingPage(page),
        },
        "pending_status" => RequestBody::PendingStatus(typed(kind, text)?),
        "approve" => RequestBody::Approve(typed(kind, text)?),
        "deny" => RequestBody::Deny(typed(kind, text)?),
        "status" => RequestBody::Status,
        "ping" => RequestBody::Ping,
        "auth_begin" => RequestBody::AuthBegin(typed(kind, text)?),
        "shutdown" => RequestBody::Shutdown(typed(kind, text)?),
        "pause" => RequestBody::Pause(typed(kind, text)?),
        "resume" => RequestBody::Resume(typed(kind, text)?),
        "reload" => RequestBody::Reload(typed(kind, text)?),
        "log_head" => RequestBody::LogHead,
        "panic" => RequestBody::Panic,
        "release" => RequestBody::Release(typed(kind, text)?),
        "session_open" => RequestBody::SessionOpen(typed(kind, text)?),
        "session_close" => RequestBody::SessionClose(typed(kind, text)?),
        "list_sessions" => RequestBody::ListSessions,
        other => {
            let shown: String = other.chars().take(64).collect();
            return Err(WireError::new(ErrorCode::UnknownKind, format!("unknown request kind `{shown}`")));
        }
    })
}

/// Decodes a response frame (client side).
pub fn decode_response(frame: &[u8]) -> Result<Response, WireError> {
    serde_json::from_slice(frame)
        .map_err(|e| WireError::new(ErrorCode::BadFrame, format!("daemon sent an unreadable response: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_code(frame: &str) -> ErrorCode {
        match decode(frame.as_bytes()) {
            Err((_, e)) => e.code,
            Ok(x) => panic!("expected an error, got {x:?}"),
        }
    }

    #[test]
    fn typed_errors() {
        assert_eq!(err_code("{not json"), ErrorCode::BadFrame);
        assert_eq!(err_code(r#"{"kind":"nope"}"#), ErrorCode::UnknownKind);
        assert_eq!(err_code(r#"{"kind":5}"#), ErrorCode::InvalidField);
        assert_eq!(err_code(r#"{"v":2,"kind":"ping"}"#), ErrorCode::UnsupportedVersion);
        assert_eq!(err_code(r#"{"v":"1","kind":"ping"}"#), ErrorCode::InvalidField);
        assert_eq!(err_code(r#"{"kind":"propose","agent":1,"cwd":"/","raw":"ls"}"#), ErrorCode::InvalidField);
        assert_eq!(err_code(r#"{"kind":"approve","pending":"ABC","remember":"yes"}"#), ErrorCode::InvalidField);
        assert!(matches!(decode(b"\xff\xfe"), Err((_, WireError { code: ErrorCode::BadUtf8, .. }))));
    }

    #[test]
    fn id_is_echoed_on_errors() {
        let (id, _) = decode(br#"{"kind":"nope","id":"x1"}"#).unwrap_err();
        assert_eq!(id.as_deref(), Some("x1"));
    }

    #[test]
    fn request_round_trips() {
        let req = Request {
            id: Some("7".into()),
            body: RequestBody::Propose(Proposal {
                agent: "a".into(),
                cwd: "/".into(),
                raw: "ls".into(),
                ..Default::default()
            }),
        };
        let frame = req.to_frame();
        let Incoming::Json(back) = decode(&frame[..frame.len() - 1]).unwrap() else { panic!() };
        assert_eq!(back, req);
        let ping = Request::new(RequestBody::Ping).to_frame();
        assert_eq!(ping, b"{\"v\":1,\"kind\":\"ping\"}\n");
    }

    #[test]
    fn pending_item_id_survives_a_request_id() {
        let item = PendingItem {
            id: "ab12cd".into(),
            state: PendingState::Approved,
            created: String::new(),
            age_s: 1,
            expires_in_s: 2,
            agent: "a".into(),
            cwd: "/".into(),
            command: "x".into(),
            class: None,
            rule: String::new(),
            reason: String::new(),
            command_len: None,
            command_sha256: None,
        };
        let r = Response::new(Some("req-1".into()), ResponseBody::Pending(item.clone()));
        let back = decode_response(&r.to_frame()).unwrap();
        assert_eq!(back.id.as_deref(), Some("req-1"));
        assert_eq!(back.body, ResponseBody::Pending(item));
    }

    #[test]
    fn text_mode_lines() {
        assert!(matches!(decode(b"PING\r"), Ok(Incoming::Text(t)) if t == "PING"));
    }

    #[test]
    fn response_round_trips() {
        let r = Response::new(Some("a".into()), ResponseBody::Pong(Pong { pid: 3, version: "x".into() }));
        let frame = r.to_frame();
        assert_eq!(decode_response(&frame).unwrap(), r);
        let e = Response::error(None, WireError::new(ErrorCode::Timeout, "slow"));
        let text = String::from_utf8(e.to_frame()).unwrap();
        assert_eq!(text, "{\"v\":1,\"kind\":\"error\",\"code\":\"timeout\",\"message\":\"slow\"}\n");
    }
}
