//! The daemon: all state, and one place per request kind (DESIGN §1).
//!
//! Single-threaded: [`Daemon::handle_frame`] is called for one connection at a
//! time by the transport's serve loop, so no state here needs a lock.

mod audit;
mod auth;
pub mod bypass;
mod clock;
mod control;
mod grant;
mod ingest;
pub mod log;
pub(crate) mod memory;
mod notify;
mod observe;
mod pending;
mod propose;
pub mod queue;
mod replay;
mod sessions;
mod tcp;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::audit::{AuditLog, Durability};
use crate::paths::Paths;
use crate::signals::Signals;
use crate::transport::{FrameError, Server};
use crate::wire::{self, Incoming, Peer, Pong, RequestBody, Response, ResponseBody, Status};
use log::log;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Settings the daemon starts with.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Time a peer has to deliver a whole frame.
    pub frame_deadline: Duration,
    /// Lifetime of an admin challenge nonce; capped at 60 s (tests shorten it).
    pub auth_nonce_ttl: Duration,
    /// When audit records reach the disk.
    pub durability: Durability,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            frame_deadline: crate::transport::DEFAULT_FRAME_DEADLINE,
            auth_nonce_ttl: auth::NONCE_TTL,
            durability: Durability::default(),
        }
    }
}

/// All daemon state.
pub struct Daemon {
    paths: Paths,
    started: Instant,
    requests: u64,
    errors: u64,
    stop: Arc<AtomicBool>,
    auth: auth::AuthState,
    /// The audit log; `None` when it cannot be opened (every record-needing request fails closed).
    audit: Option<AuditLog>,
    /// Damage found in the audit log at start, or why it cannot be opened.
    log_damage: Vec<String>,
    /// Whether the log has been opened (and replayed) once: a log that could not be opened at
    /// start is replayed when it first opens.
    log_opened: bool,
    /// When the next attempt to reopen an unusable log may run.
    log_retry: Option<Instant>,
    /// The endpoint of a `daemon_start` record not written yet (retried before any other record).
    start_pending: Option<String>,
    /// Frames whose handling panicked since start.
    panics: u64,
    durability: Durability,
    /// The global policy in force (the last good one after a failed reload).
    policy: crate::policy::Policy,
    /// Why the global policy file is not the one in force, if it is not.
    policy_error: Option<String>,
    /// Each working directory's repository policy and memory scope, remembered for a second.
    repos: crate::policy::RepoCache,
    queue: queue::Queue,
    memory: memory::Memory,
    /// One-time grants left by admin approvals.
    grants: grant::Grants,
    killswitch: bool,
    paused: bool,
    bypass: bypass::BypassDetector,
    bypass_flags: u64,
    /// Raised by SIGHUP: re-read the global policy.
    reload: Arc<AtomicBool>,
    /// When the expiry sweep last ran.
    last_sweep: Instant,
    /// Runs the policy's `[notify] command` for new holds.
    notifier: notify::Notifier,
    /// Open approval sessions (memory only).
    sessions: sessions::Sessions,
    /// The TCP address also listened on (`[daemon] tcp`), once bound.
    tcp_addr: Option<std::net::SocketAddr>,
    /// The rate limit on `tcp_refused` records.
    tcp_refusals: tcp::Refusals,
}

impl Daemon {
    /// Opens the daemon's state under `paths`. `stop` is raised by a `shutdown` request.
    pub fn open(paths: Paths, stop: Arc<AtomicBool>) -> Result<Self> {
        Self::open_with(paths, stop, Durability::default())
    }

    /// Like [`Daemon::open`], with the audit log's durability.
    pub fn open_with(paths: Paths, stop: Arc<AtomicBool>, durability: Durability) -> Result<Self> {
        crate::paths::ensure_private_dir(&paths.data_dir)?;
        crate::paths::ensure_private_dir(&paths.config_dir)?;
        // The vault is read once, from the daemon's own paths: a client's environment cannot redirect it.
        let auth = auth::AuthState::load(&paths.vault());
        let (audit, log_damage, checkpoint) = audit::open_log(&paths, durability)?;
        let (policy, policy_error) = control::load_policy(&paths.policy())?;
        let bypass = match std::env::var_os("HOME") {
            Some(home) => bypass::BypassDetector::default().with_home(home.into()),
            None => bypass::BypassDetector::default(),
        };
        let mut daemon = Daemon {
            paths,
            started: Instant::now(),
            requests: 0,
            errors: 0,
            stop,
            auth,
            log_opened: audit.is_some(),
            audit,
            log_damage,
            log_retry: None,
            start_pending: None,
            panics: 0,
            durability,
            policy,
            policy_error,
            repos: crate::policy::RepoCache::default(),
            queue: queue::Queue::new(),
            memory: memory::Memory::new(),
            grants: grant::Grants::default(),
            killswitch: false,
            paused: false,
            bypass,
            bypass_flags: 0,
            reload: Arc::new(AtomicBool::new(false)),
            last_sweep: Instant::now(),
            notifier: notify::Notifier::default(),
            sessions: sessions::Sessions::default(),
            tcp_addr: None,
            tcp_refusals: tcp::Refusals::default(),
        };
        daemon.apply_audit_policy();
        daemon.replay(checkpoint);
        // What hooks decided while the daemon was down joins the log before any new request.
        daemon.ingest_offline();
        daemon.checkpoint_if_due();
        Ok(daemon)
    }

    /// Periodic work between connections: SIGHUP reloads and the expiry sweep.
    fn housekeeping(&mut self) {
        if self.reload.swap(false, Ordering::SeqCst) {
            self.reload_policy(&Peer::default());
        }
        if self.last_sweep.elapsed() >= Duration::from_secs(1) {
            self.last_sweep = Instant::now();
            self.sweep_expired();
            self.notifier.reap();
        }
        if self.start_pending.is_some() || self.audit.as_ref().is_none_or(AuditLog::is_broken) {
            self.ensure_log();
        }
    }

    /// Handles one frame (or the reason it could not be read) and returns the reply bytes.
    pub fn handle_frame(&mut self, frame: Result<Vec<u8>, FrameError>, peer: &Peer) -> Option<Vec<u8>> {
        self.requests += 1;
        let frame = match frame {
            Ok(f) => f,
            Err(FrameError::Empty) => return None,
            Err(e) => {
                self.errors += 1;
                return Some(Response::error(None, e.to_wire()).to_frame());
            }
        };
        Some(self.handle_bytes(&frame, peer))
    }

    /// Handles one whole frame and returns the reply bytes.
    fn handle_bytes(&mut self, frame: &[u8], peer: &Peer) -> Vec<u8> {
        debug_panic_seam(frame);
        let response = match wire::decode(frame) {
            Ok(Incoming::Text(line)) => return self.text(&line).into_bytes(),
            Ok(Incoming::Json(req)) => Response::new(req.id, self.handle(req.body, peer)),
            Err((id, e)) => Response::error(id, e),
        };
        if matches!(response.body, ResponseBody::Error(_)) {
            self.errors += 1;
        }
        response.to_frame()
    }

    /// [`Daemon::handle_frame`] under a panic guard: a bug while handling one frame answers
    /// `internal`, is recorded (`internal_error`), and the daemon serves on.
    ///
    /// State after a panic: the handlers check, then record, then apply, so a panic before the
    /// record leaves the queue and memory unchanged, and one after it leaves a recorded change
    /// (which replay would also make) partly applied at worst. The audit writer is the one piece
    /// whose in-memory state (next seq, previous hash) must match the file exactly, so after a
    /// panic it is reopened from the file and the chain continues from what is on disk.
    pub fn handle_guarded(&mut self, frame: Result<Vec<u8>, FrameError>, peer: &Peer) -> Option<Vec<u8>> {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => return self.handle_frame(Err(e), peer),
        };
        self.requests += 1;
        match catch_unwind(AssertUnwindSafe(|| self.handle_bytes(&frame, peer))) {
            Ok(reply) => Some(reply),
            Err(payload) => {
                use sha2::Digest as _;
                let (size, digest) = (frame.len(), hex::encode(sha2::Sha256::digest(&frame)));
                self.panics += 1;
                self.errors += 1;
                let message = panic_message(payload.as_ref());
                log!("BUG: a request panicked ({message}); answered `internal`, serving on");
                self.reopen_log();
                let data = serde_json::json!({ "message": message, "frame_bytes": size, "frame_sha256": digest });
                let recorded = self.append("internal_error", peer, &data).is_ok();
                let why = if recorded { "recorded" } else { "and could not be recorded" };
                let e = wire::WireError::new(
                    wire::ErrorCode::Internal,
                    format!("the daemon hit a bug handling this request ({why}); nothing was allowed"),
                );
                Some(Response::error(None, e).to_frame())
            }
        }
    }

    /// Handles one decoded request.
    pub fn handle(&mut self, body: RequestBody, peer: &Peer) -> ResponseBody {
        match body {
            RequestBody::Ping => ResponseBody::Pong(Pong { pid: std::process::id(), version: crate::VERSION.into() }),
            RequestBody::Status => ResponseBody::Status(self.status()),
            RequestBody::AuthBegin(req) => self.auth_begin(&req),
            RequestBody::Shutdown(proof) => match self.authorize("shutdown", &proof, peer) {
                Ok(()) => {
                    self.stop.store(true, Ordering::SeqCst);
                    ResponseBody::Ack(wire::Ack { message: Some("shutting down".into()), ..Default::default() })
                }
                Err(e) => ResponseBody::Error(e),
            },
            RequestBody::Propose(p) => self.propose(p, peer),
            RequestBody::ListPending => self.list_pending(&wire::PageRequest::default()),
            RequestBody::ListPendingPage(page) => self.list_pending(&page),
            RequestBody::PendingStatus(r) => self.pending_status(&r),
            RequestBody::Approve(d) => self.decide_pending(d, wire::HumanDecision::Allow, peer),
            RequestBody::Deny(d) => self.decide_pending(d, wire::HumanDecision::Deny, peer),
            RequestBody::Resolve(r) => self.resolve(r, peer),
            RequestBody::Panic => self.panic(peer),
            RequestBody::Release(proof) => self.switch("release", &proof, peer),
            RequestBody::Pause(proof) => self.switch("pause", &proof, peer),
            RequestBody::Resume(proof) => self.switch("resume", &proof, peer),
            RequestBody::Reload(proof) => self.reload_request(&proof, peer),
            RequestBody::Record(p) => self.record(p, peer),
            RequestBody::Observe(o) => self.observe(o, peer),
            RequestBody::LogHead => self.log_head(),
            RequestBody::SessionOpen(r) => self.session_open(r, peer),
            RequestBody::SessionClose(r) => self.session_close(&r, peer),
            RequestBody::ListSessions => self.list_sessions(),
        }
    }

    fn status(&self) -> Status {
        Status {
            version: crate::VERSION.into(),
            pid: std::process::id(),
            endpoint: self.paths.endpoint.to_string(),
            uptime_s: self.started.elapsed().as_secs(),
            requests: self.requests,
            errors: self.errors,
            vault: self.auth.describe(Instant::now()),
            mode: self.policy.mode.as_str().into(),
            paused: self.paused,
            panic: self.killswitch,
            pending: self.queue.pending_len() as u64,
            remembered: self.memory.len() as u64,
            bypass_flags: self.bypass_flags,
            policy_error: self.policy_error.clone(),
            durability: self.durability.to_string(),
            log_seq: self.audit.as_ref().map_or(0, |a| a.head().seq),
            log_damage: self.log_damage.clone(),
            log_failures: log::failures(),
            panics: self.panics,
            tcp: self.tcp_addr.map(|a| a.to_string()),
            notify_missed: self.notifier.missed,
        }
    }

    /// Text mode for humans with `socat`/`nc`.
    fn text(&mut self, line: &str) -> String {
        match line.to_ascii_uppercase().as_str() {
            "PING" => "PONG\n".into(),
            "STATUS" => {
                let s = self.status();
                format!(
                    "holdfast {} running pid={} uptime={}s requests={} errors={}\n",
                    s.version, s.pid, s.uptime_s, s.requests, s.errors
                )
            }
            _ => {
                self.errors += 1;
                "ERR unknown text command; try PING or STATUS\n".into()
            }
        }
    }
}

/// Debug builds only: the test seam for the panic guard. A frame containing the text of
/// `HOLDFAST_DEBUG_PANIC_ON` panics (release builds compile this to nothing).
fn debug_panic_seam(frame: &[u8]) {
    #[cfg(debug_assertions)]
    if let Some(marker) = std::env::var_os("HOLDFAST_DEBUG_PANIC_ON")
        && !marker.is_empty()
        && frame.windows(marker.len()).any(|w| w == marker.as_encoded_bytes())
    {
        panic!("debug panic seam hit");
    }
    #[cfg(not(debug_assertions))]
    let _ = frame;
}

/// The text of a panic's payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".into(),
    }
}

/// Runs the daemon in the foreground until a stop signal or a `shutdown` request.
pub fn run(paths: Paths, options: DaemonOptions, signals: &Signals) -> Result<()> {
    // Each open connection is a descriptor: take the hard limit, so the connection bound (not
    // the usual 1,024 soft limit) decides who waits.
    #[cfg(unix)]
    let files = crate::transport::raise_open_file_limit();
    let mut server = Server::bind(&paths, options.frame_deadline)?;
    let mut daemon = Daemon::open_with(paths, Arc::clone(&signals.stop), options.durability)?;
    daemon.auth.set_nonce_ttl(options.auth_nonce_ttl);
    daemon.reload = Arc::clone(&signals.reload);
    daemon.record_start(&server.endpoint().to_string());
    if let Err(e) = daemon.open_tcp(&mut server) {
        // The start was recorded: close it in the log, so a failed TCP bind does not read as a crash.
        daemon.record_stop();
        return Err(e);
    }
    log!("admin vault: {}", daemon.auth.describe(Instant::now()));
    log!("listening on {} (pid {})", server.endpoint(), std::process::id());
    #[cfg(unix)]
    log!("open-file limit {files}; at most {} connections at once", crate::transport::connection_bound());
    server.serve(&mut daemon, &signals.stop);
    daemon.record_stop();
    log!("stopped");
    Ok(())
}
