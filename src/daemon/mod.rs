//! The daemon: all state, and one place per request kind (DESIGN §1).
//!
//! Single-threaded: [`Daemon::handle_frame`] is called for one connection at a
//! time by the transport's serve loop, so no state here needs a lock.

mod audit;
mod auth;
// Used by the propose/approve handlers (issue 6); drop the allows when they are wired in.
pub mod bypass;
#[allow(dead_code)]
pub(crate) mod memory;
#[allow(dead_code)]
pub(crate) mod queue;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::audit::{AuditLog, Durability};
use crate::paths::Paths;
use crate::signals::Signals;
use crate::transport::{FrameError, Server};
use crate::wire::{self, ErrorCode, Incoming, Peer, Pong, RequestBody, Response, ResponseBody, Status, WireError};

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
    durability: Durability,
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
        let (audit, log_damage) = audit::open_log(&paths, durability)?;
        Ok(Daemon { paths, started: Instant::now(), requests: 0, errors: 0, stop, auth, audit, log_damage, durability })
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
        let response = match wire::decode(&frame) {
            Ok(Incoming::Text(line)) => return Some(self.text(&line).into_bytes()),
            Ok(Incoming::Json(req)) => Response::new(req.id, self.handle(req.body, peer)),
            Err((id, e)) => Response::error(id, e),
        };
        if matches!(response.body, ResponseBody::Error(_)) {
            self.errors += 1;
        }
        Some(response.to_frame())
    }

    /// Handles one decoded request.
    pub fn handle(&mut self, body: RequestBody, peer: &Peer) -> ResponseBody {
        let kind = body.kind();
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
            // Gated now; the operations themselves come with the propose path.
            RequestBody::Pause(proof)
            | RequestBody::Resume(proof)
            | RequestBody::Reload(proof)
            | RequestBody::Release(proof) => match self.authorize(kind, &proof, peer) {
                Ok(()) => ResponseBody::Error(WireError::new(
                    ErrorCode::Unavailable,
                    format!("proof accepted, but `{kind}` is not available in this build yet"),
                )),
                Err(e) => ResponseBody::Error(e),
            },
            RequestBody::Record(p) => self.record(p, peer),
            RequestBody::Observe(o) => self.observe(o, peer),
            RequestBody::LogHead => self.log_head(),
            other => unavailable(other.kind()),
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
            unavailable: UNBUILT.iter().map(|s| s.to_string()).collect(),
            durability: self.durability.to_string(),
            log_seq: self.audit.as_ref().map_or(0, |a| a.head().seq),
            log_damage: self.log_damage.clone(),
            ..Default::default()
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

/// Request kinds whose feature is not built yet.
const UNBUILT: &[&str] = &[
    "propose",
    "resolve",
    "list_pending",
    "pending_status",
    "approve",
    "deny",
    "pause",
    "resume",
    "reload",
    "panic",
    "release",
];

fn unavailable(kind: &str) -> ResponseBody {
    ResponseBody::Error(WireError::new(ErrorCode::Unavailable, format!("`{kind}` is not available in this build yet")))
}

/// Runs the daemon in the foreground until a stop signal or a `shutdown` request.
pub fn run(paths: Paths, options: DaemonOptions, signals: &Signals) -> Result<()> {
    let server = Server::bind(&paths, options.frame_deadline)?;
    let mut daemon = Daemon::open_with(paths, Arc::clone(&signals.stop), options.durability)?;
    daemon.auth.set_nonce_ttl(options.auth_nonce_ttl);
    daemon.record_start(&server.endpoint().to_string());
    eprintln!("holdfast: admin vault: {}", daemon.auth.describe(Instant::now()));
    eprintln!("holdfast: listening on {} (pid {})", server.endpoint(), std::process::id());
    server.serve(&mut daemon, &signals.stop);
    daemon.record_stop();
    eprintln!("holdfast: stopped");
    Ok(())
}
