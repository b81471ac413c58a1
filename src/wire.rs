//! Wire protocol v1 (DESIGN §2): request and response types and their framing.
//!
//! A frame is one UTF-8 JSON object followed by `\n`, at most [`MAX_FRAME`]
//! bytes including the newline. Requests are parsed in two passes: a cheap
//! header pass (`v`, `kind`, `id`) that decides which typed error applies, then
//! a typed pass into the kind's body, so that a wrong field is `invalid_field`
//! and an unknown kind is `unknown_kind`, never confused.
//!
//! ```
//! use holdfast::wire::{Incoming, Request, RequestBody, decode};
//!
//! let frame = Request::new(RequestBody::Ping).to_frame();
//! assert_eq!(frame, b"{\"v\":1,\"kind\":\"ping\"}\n");
//! // `decode` takes the frame without its newline.
//! match decode(&frame[..frame.len() - 1]) {
//!     Ok(Incoming::Json(req)) => assert_eq!(req.body, RequestBody::Ping),
//!     other => panic!("{other:?}"),
//! }
//! // A wrong field is a typed error, and the request's `id` survives for the answer.
//! let (id, err) = decode(br#"{"v":1,"id":"a1","kind":"propose","cwd":7}"#).unwrap_err();
//! assert_eq!((id.as_deref(), err.code.name().as_str()), (Some("a1"), "invalid_field"));
//! ```

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
    /// The frame is not a JSON object, or the connection closed before its newline.
    BadFrame,
    /// The frame passed 16 MiB before its newline.
    FrameTooLarge,
    /// The frame is not valid UTF-8.
    BadUtf8,
    /// No request kind of that name.
    UnknownKind,
    /// A field is missing, of the wrong type or out of range; the message names it.
    InvalidField,
    /// `v` is not 1.
    UnsupportedVersion,
    /// The frame did not arrive within the read deadline.
    Timeout,
    /// A proof is missing or wrong, its nonce unknown, used, expired or for another op, or the vault is degraded.
    Unauthorized,
    /// Too many failed proofs; the message says for how long.
    LockedOut,
    /// No such pending id (or session).
    NotFound,
    /// The item was already answered, or too many challenges are outstanding.
    Conflict,
    /// The daemon cannot record right now (log unwritable, queue full): a client treats it as a deny.
    Unavailable,
    /// A bug in the daemon, recorded; the daemon serves on. A client treats it as a deny.
    Internal,
}

/// A typed protocol failure: a code and one human sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct WireError {
    /// What went wrong, for a program to branch on.
    pub code: ErrorCode,
    /// One sentence for a human; may change between versions.
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
    /// The peer's process id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The peer's user id (Unix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// A TCP peer's address (a TCP peer has no pid or uid: the OS does not say who it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<std::net::SocketAddr>,
}

impl Peer {
    /// A TCP peer: its address only.
    pub fn tcp(addr: std::net::SocketAddr) -> Self {
        Peer { pid: None, uid: None, addr: Some(addr) }
    }

    /// True for a peer that came over TCP (authenticated by the token only, never by uid).
    pub fn is_tcp(&self) -> bool {
        self.addr.is_some()
    }
}

/// A decoded request: optional correlation id and the kind's body.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The request's `id`, echoed in the response.
    pub id: Option<String>,
    /// What is asked, by kind.
    pub body: RequestBody,
}

/// One variant per request kind of DESIGN §2 (plus `panic`/`release` for the kill switch).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestBody {
    /// `propose`: decide on a command an agent is about to run.
    Propose(Proposal),
    /// `record`: record a command a human already ran (`holdfast exec`, `record`).
    Record(Proposal),
    /// `observe`: a filesystem change from the watcher.
    Observe(Observation),
    /// `resolve`: what the human answered in the agent's own prompt.
    Resolve(Resolution),
    /// `list_pending` without paging fields: the first page.
    ListPending,
    /// `list_pending` with `after` and/or `limit`: a later page, or a smaller one.
    #[serde(rename = "list_pending")]
    ListPendingPage(PageRequest),
    /// `pending_status`: one held command's state (polled by waiting hooks).
    PendingStatus(PendingRef),
    /// `approve`: let a held command run (privileged when a vault exists).
    Approve(Decide),
    /// `deny`: refuse a held command (privileged when a vault exists).
    Deny(Decide),
    /// `status`: the daemon's state.
    Status,
    /// `ping`: liveness.
    Ping,
    /// `auth_begin`: ask for a challenge for a privileged op.
    AuthBegin(AuthBegin),
    /// `shutdown`: stop the daemon (privileged).
    Shutdown(Proof),
    /// `pause`: stop enforcing: proposals are allowed, flagged `paused`, and still recorded (privileged).
    Pause(Proof),
    /// `resume`: end a pause (privileged).
    Resume(Proof),
    /// `reload`: re-read the global policy (privileged).
    Reload(Proof),
    /// `log_head`: the audit log's head, for external anchoring.
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
    /// The agent's name (`claude-code`, `codex`, …).
    pub agent: String,
    /// The absolute directory the command runs in; selects the repository policy.
    pub cwd: String,
    /// The command line exactly as the agent gave it.
    pub raw: String,
    /// The argv, when the agent has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// The agent's session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The agent's pid, as it claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The client's clock: recorded, never trusted.
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
    /// The path that changed (absolute).
    #[serde(default)]
    pub path: String,
    /// New name, for a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// How many raw events this observation coalesces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The watcher's clock: recorded, never trusted.
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
    /// The human allowed the command.
    Allow,
    /// The human denied the command.
    Deny,
}

/// A decision a human made in the agent's own prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// The command line the human answered for.
    pub command: String,
    /// What the human answered.
    pub decision: HumanDecision,
    /// Remember the answer for this exact command in this repository.
    #[serde(default)]
    pub remember: bool,
    /// The directory the command runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The agent that asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The hold the hook had opened for this command, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// The admin proof, when the resolution needs one.
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
    /// The pending id.
    pub pending: String,
}

/// Approve or deny a pending item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decide {
    /// The pending id.
    pub pending: String,
    /// Remember the decision for this exact command in this repository.
    #[serde(default)]
    pub remember: bool,
    /// The admin proof (op `approve:<id>` or `deny:<id>`), or an approval session's.
    #[serde(flatten)]
    pub proof: Proof,
}

/// Starts a challenge-response for `op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthBegin {
    /// The op to prove: `shutdown`, `approve:<id>`, `session:<public key>`, …
    pub op: String,
}

/// The answer to a challenge, carried by privileged requests. Empty when no vault exists.
///
/// With an approval session (`approve`, `deny`, `resolve` only), `nonce` is
/// `session:<session id>:<counter>` and `proof` the session key's signature (see
/// [`crate::session`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The challenge's nonce (hex), or `session:<id>:<counter>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The proof: hex signature (vault v2 or session) or HMAC (vault v1).
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
    /// The admin proof for op `session:<public_key>`.
    #[serde(flatten)]
    pub proof: Proof,
}

/// Names an approval session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRef {
    /// The session id.
    pub session: String,
}

/// An open approval session, as `session_open` and `list_sessions` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session id.
    pub session: String,
    /// Seconds until it expires.
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
    /// Run it.
    Allow,
    /// Wait for a human.
    Hold,
    /// Do not run it.
    Deny,
}

/// The daemon's answer to `propose`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// What the daemon decided.
    pub decision: Decision,
    /// How dangerous the command is.
    pub class: Class,
    /// The stable dotted id of the rule that decided (`fs.rm_recursive`, …).
    pub rule: String,
    /// One sentence a human understands.
    pub reason: String,
    /// The pending id, when held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// The audit sequence number of the record that holds this decision.
    pub seq: u64,
    /// Notes that qualify the decision: `notify`, `paused`, `remembered_allow`, `policy_deny`, `repo_loosening_ignored`…
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// A plain acknowledgement, with the audit seq that records it when there is one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// The audit sequence number of the record, when one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// A note for a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Qualifiers, as in [`Verdict::flags`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// The lifecycle state of a pending item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PendingState {
    /// Waiting for a human.
    Pending,
    /// Approved by an admin (or an approval session): a waiting hook lets it run.
    Approved,
    /// Denied by a human.
    Denied,
    /// Nobody answered in time.
    Expired,
    /// The daemon does not hold this id (never did, or retired it after it was answered).
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
    /// Its state.
    pub state: PendingState,
    /// When it was held (RFC 3339 UTC).
    #[serde(default)]
    pub created: String,
    /// Seconds since it was held.
    #[serde(default)]
    pub age_s: u64,
    /// Seconds until it expires (0 once answered).
    #[serde(default)]
    pub expires_in_s: u64,
    /// The agent that proposed it.
    #[serde(default)]
    pub agent: String,
    /// The directory it would run in.
    #[serde(default)]
    pub cwd: String,
    /// The command line (shortened in lists; see `command_len`).
    #[serde(default)]
    pub command: String,
    /// The class the daemon gave it.
    #[serde(default)]
    pub class: Option<Class>,
    /// The rule that held it.
    #[serde(default)]
    pub rule: String,
    /// Why it was held.
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
    /// `argon2id`.
    pub alg: String,
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
}

/// The daemon's challenge for a privileged op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The op the challenge is for.
    pub op: String,
    /// True when a vault exists and a proof is required.
    pub locked: bool,
    /// Single-use nonce, 32 bytes as hex (locked only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The vault's Argon2id salt, hex (locked only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// The vault's Argon2id parameters (locked only).
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
    /// The sequence number of the newest record.
    pub seq: u64,
    /// Its chain hash (hex).
    pub hash: String,
    /// The log's id (hex), from its genesis record.
    #[serde(default)]
    pub log_id: String,
}

/// Daemon status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The daemon's version.
    pub version: String,
    /// The daemon's pid.
    pub pid: u32,
    /// The endpoint it serves.
    pub endpoint: String,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Requests answered since start.
    pub requests: u64,
    /// Error responses since start.
    pub errors: u64,
    /// `attended`, `unattended` or `notify`.
    #[serde(default)]
    pub mode: String,
    /// True while paused.
    #[serde(default)]
    pub paused: bool,
    /// True while the kill switch is engaged.
    #[serde(default)]
    pub panic: bool,
    /// `unlocked` (no vault), `locked` (vault loaded) or `degraded: <why>`.
    #[serde(default)]
    pub vault: String,
    /// `always`, or `batch (every N ms)`.
    #[serde(default)]
    pub durability: String,
    /// The newest audit sequence number.
    #[serde(default)]
    pub log_seq: u64,
    /// Damage found in the audit log at start, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_damage: Vec<String>,
    /// Held commands waiting.
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
    /// The TCP address the daemon also listens on (`[daemon] tcp`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// Holds the `[notify]` program did not announce since start (too many still running, or it
    /// could not start).
    #[serde(default)]
    pub notify_missed: u64,
}

/// A `pong`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// The daemon's pid.
    pub pid: u32,
    /// The daemon's version.
    pub version: String,
}

/// One variant per response kind of DESIGN §2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResponseBody {
    /// The answer to `propose`.
    Verdict(Verdict),
    /// The answer to most state changes.
    Ack(Ack),
    /// One page of the pending items, oldest first. `more`: items remain after this page;
    /// ask again with `after` set to `next`.
    PendingList {
        /// The items on this page.
        items: Vec<PendingItem>,
        /// True when items remain after this page.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
        /// The cursor to send as `after` for the next page (set when `more`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// `pending_status`, `approve`, `deny`: one held command.
    Pending(PendingItem),
    /// `status`.
    Status(Status),
    /// `ping`.
    Pong(Pong),
    /// `auth_begin`.
    Challenge(Challenge),
    /// `log_head`.
    LogHead(LogHead),
    /// `session_open`: the session just opened.
    Session(SessionInfo),
    /// `list_sessions`.
    SessionList {
        /// The open sessions.
        items: Vec<SessionInfo>,
    },
    /// Any request that failed: a code and a sentence.
    Error(WireError),
}

/// A response as sent: `v`, optional echoed `id`, and the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The protocol version, 1.
    pub v: u32,
    /// The request's `id`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What is answered, by kind.
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
    /// A JSON request.
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
