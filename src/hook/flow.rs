//! The decision flow shared by every dialect and by `exec`: propose, wait on holds, fall back.
//!
//! Fail-safe rules, in one place:
//! - daemon answers a verdict → that verdict;
//! - daemon answers an error (`unavailable` when it cannot record, or any other code) → **deny**:
//!   the daemon is there and did not approve, and nothing may run unrecorded;
//! - nothing listens on the endpoint → classify locally, in a child process ([`super::isolate`]):
//!   catastrophic is denied, and so is every command the child could not classify (crash, memory or
//!   time limit, garbage); the rest is allowed unless fail-closed is set (marker file
//!   `config_dir/fail-closed`, or a `fail_closed = true` line in `policy.toml`), in which case
//!   everything is denied with how to start the daemon. Every such decision goes to the offline
//!   spool ([`super::offline`]) for the daemon to record when it starts; an allow that cannot be
//!   spooled (full, locked, unwritable) is denied;
//! - the daemon exists but times out, or the connection fails otherwise → deny (it may be mid-record);
//! - a payload that cannot be read → deny (see [`malformed`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::classify::Class;
use crate::paths::Paths;
use crate::transport::{Client, ClientError};
use crate::wire::{
    Decision, ErrorCode, HumanDecision, PendingRef, PendingState, Proposal, RequestBody, Resolution, ResponseBody,
    Verdict,
};

use super::isolate::{self, IsolationError, LocalVerdict};
use super::offline::{self, OfflineEntry};
use super::{Answer, Dialect, HookInput, Parsed, PayloadError, Phase, Rendered, approve_hint};

/// Default time a hook waits for a human on a hold (under the agents' 60 s hook timeout).
pub const DEFAULT_HOLD_WAIT: Duration = Duration::from_secs(45);
/// How often a waiting hook asks the daemon about its held command.
pub const POLL_EVERY: Duration = Duration::from_millis(200);
/// Marker file whose presence makes a daemon-less hook deny everything.
pub(crate) const FAIL_CLOSED_MARKER: &str = "fail-closed";

/// Where the flow talks and looks.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The daemon's client.
    pub client: Client,
    /// The config dir (for the fail-closed marker and policy), when paths resolved.
    pub config_dir: Option<PathBuf>,
    /// The run dir (for ask markers that pair a pre-tool ask with its post-tool report).
    pub run_dir: Option<PathBuf>,
    /// The data dir (for the offline spool); `None` makes every daemon-less allow a deny.
    pub data_dir: Option<PathBuf>,
    /// The holdfast binary that classifies in a child process while the daemon is down; `None`
    /// makes every daemon-less command a deny.
    pub classifier: Option<PathBuf>,
    /// How long a hold is waited on before denying.
    pub hold_wait: Duration,
    /// Poll interval while waiting.
    pub poll_every: Duration,
}

impl Ctx {
    /// The context for `paths`: its endpoint, dirs, and this very binary as the offline classifier.
    pub fn new(paths: &Paths, hold_wait: Duration) -> Self {
        Ctx {
            client: Client::new(paths.endpoint.clone()),
            config_dir: Some(paths.config_dir.clone()),
            run_dir: Some(paths.run_dir.clone()),
            data_dir: Some(paths.data_dir.clone()),
            classifier: std::env::current_exe().ok(),
            hold_wait,
            poll_every: POLL_EVERY,
        }
    }
}

/// The result of proposing a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Run it (`verdict` is `None` when decided without the daemon).
    Allow {
        /// Why.
        reason: String,
        /// The daemon's verdict, when it answered one.
        verdict: Option<Verdict>,
    },
    /// Do not run it (`verdict` is `None` when decided without the daemon or on an error).
    Deny {
        /// Why, and what to do.
        reason: String,
        /// The daemon's verdict, when it answered one.
        verdict: Option<Verdict>,
    },
    /// Held for a human as `pending`.
    Hold {
        /// The pending id.
        pending: String,
        /// The daemon's verdict.
        verdict: Verdict,
    },
}

/// How a wait on a held command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitEnd {
    /// A human approved it.
    Approved,
    /// It will not run: denied, expired or gone; says which.
    Denied(String),
    /// Nobody answered within the limit.
    TimedOut,
}

/// Proposes `proposal` and maps every possible answer to an [`Outcome`] (see the module rules).
pub fn propose(ctx: &Ctx, proposal: Proposal) -> Outcome {
    let (agent, cwd, raw) = (proposal.agent.clone(), proposal.cwd.clone(), proposal.raw.clone());
    match ctx.client.request(RequestBody::Propose(proposal)) {
        Ok(r) => match r.body {
            ResponseBody::Verdict(v) => from_verdict(v),
            ResponseBody::Error(e) if e.code == ErrorCode::Unavailable => Outcome::Deny {
                reason: format!(
                    "holdfast cannot record decisions right now ({}); denied, because nothing runs unrecorded. \
                     Check `holdfast doctor`.",
                    e.message
                ),
                verdict: None,
            },
            ResponseBody::Error(e) => Outcome::Deny {
                reason: format!("holdfast refused the command: {} ({})", e.message, e.code.name()),
                verdict: None,
            },
            other => Outcome::Deny {
                reason: format!("holdfast answered `{}` instead of a verdict; denied to be safe", kind_of(&other)),
                verdict: None,
            },
        },
        Err(ClientError::NotRunning(_)) => offline_decision(ctx, &agent, &cwd, &raw),
        Err(e) => Outcome::Deny {
            reason: format!(
                "holdfast daemon did not answer properly ({e}); denied to be safe. Check `holdfast status`, \
                 restart with `holdfast stop && holdfast start`."
            ),
            verdict: None,
        },
    }
}

fn from_verdict(v: Verdict) -> Outcome {
    match (v.decision, v.pending.clone()) {
        (Decision::Allow, _) => Outcome::Allow { reason: v.reason.clone(), verdict: Some(v) },
        (Decision::Deny, _) => {
            Outcome::Deny { reason: format!("holdfast denied this command: {}", v.reason), verdict: Some(v) }
        }
        (Decision::Hold, Some(p)) if !p.is_empty() => Outcome::Hold { pending: p, verdict: v },
        (Decision::Hold, _) => Outcome::Deny {
            reason: format!("holdfast held this command without a pending id; denied: {}", v.reason),
            verdict: Some(v),
        },
    }
}

fn kind_of(body: &ResponseBody) -> String {
    serde_json::to_value(body).ok().and_then(|v| v["kind"].as_str().map(str::to_owned)).unwrap_or_default()
}

/// The daemon-less path: classify in a child process, decide, spool the decision. Only this path
/// touches the classifier; with the daemon up the hook never does.
fn offline_decision(ctx: &Ctx, agent: &str, cwd: &str, raw: &str) -> Outcome {
    let local = match &ctx.classifier {
        Some(exe) => isolate::classify_in_child(exe, raw),
        None => Err(IsolationError::Spawn("the holdfast binary's own path is unknown".into())),
    };
    decide_and_spool(ctx, agent, cwd, raw, &local)
}

/// Decides from the classifier's answer and spools the decision; an allow not spooled is a deny.
fn decide_and_spool(
    ctx: &Ctx,
    agent: &str,
    cwd: &str,
    raw: &str,
    local: &Result<LocalVerdict, IsolationError>,
) -> Outcome {
    let (decision, reason) = daemon_down(local, ctx.config_dir.as_deref());
    let (class, rule) = match local {
        Ok(v) => (v.class.as_str(), v.rule.as_str()),
        Err(_) => ("unknown", "offline.unclassified"),
    };
    let entry = OfflineEntry::new(agent, cwd, raw, class, rule, decision, &reason);
    let spooled = match &ctx.data_dir {
        Some(dir) => offline::append(dir, &entry).map_err(|e| e.to_string()),
        None => Err("holdfast has no data directory".into()),
    };
    match (decision, spooled) {
        (Decision::Allow, Ok(())) => Outcome::Allow { reason, verdict: None },
        (Decision::Allow, Err(why)) => Outcome::Deny {
            reason: format!(
                "holdfast daemon is not running, and this decision could not be recorded ({why}); denied, because \
                 nothing runs unrecorded. Start the daemon with `holdfast start`."
            ),
            verdict: None,
        },
        (_, spooled) => {
            if let Err(why) = spooled {
                eprintln!("holdfast: this deny could not be recorded offline: {why}");
            }
            Outcome::Deny { reason, verdict: None }
        }
    }
}

/// The daemon-less decision (allow or deny, and the reason) from the isolated classifier's answer
/// and the fail-closed switch. No answer from the classifier is a deny.
pub(crate) fn daemon_down(
    local: &Result<LocalVerdict, IsolationError>,
    config_dir: Option<&Path>,
) -> (Decision, String) {
    let c = match local {
        Ok(c) => c,
        Err(e) => {
            return (
                Decision::Deny,
                format!(
                    "holdfast daemon is not running, and this command could not be classified safely ({e}); \
                     denied. Start the daemon with `holdfast start`."
                ),
            );
        }
    };
    if c.class == Class::Catastrophic {
        let reason = format!(
            "holdfast daemon is not running, and this command is catastrophic ({}): {} \
             Start the daemon with `holdfast start`.",
            c.rule, c.reason
        );
        return (Decision::Deny, reason);
    }
    // Text that does not parse could do anything, and there is no daemon to hold it for a human.
    if c.rule.starts_with("parse.") {
        let reason = format!(
            "holdfast daemon is not running, and this command could not be analysed ({}): {} With no daemon to \
             hold it for a human, it is denied. Start the daemon with `holdfast start`.",
            c.rule, c.reason
        );
        return (Decision::Deny, reason);
    }
    if config_dir.is_none_or(fail_closed) {
        let reason = "holdfast daemon is not running; start it with `holdfast start` (fail-closed is on, so every \
                      command is denied until it runs).";
        return (Decision::Deny, reason.into());
    }
    let reason = format!(
        "holdfast daemon is not running; allowed by local classification ({}), recorded in the offline spool \
         until the daemon takes it into the audit log. Start it with `holdfast start`.",
        c.class.as_str()
    );
    (Decision::Allow, reason)
}

/// True when a daemon-less hook must deny everything: the marker file exists, or `policy.toml` has a
/// `fail_closed = true` line. Read only on the daemon-down path; the line check is a cheap textual
/// scan (whitespace-insensitive, comments skipped), so it can only err toward closed.
pub fn fail_closed(config_dir: &Path) -> bool {
    if config_dir.join(FAIL_CLOSED_MARKER).exists() {
        return true;
    }
    let Ok(text) = std::fs::read_to_string(config_dir.join("policy.toml")) else { return false };
    text.lines().any(|l| {
        let code = l.split('#').next().unwrap_or("");
        let squashed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        squashed == "fail_closed=true"
    })
}

/// Polls `pending_status` until the item is approved or denied, or `limit` (None: no limit) passes.
pub fn wait_for(client: &Client, pending: &str, limit: Option<Duration>, every: Duration) -> WaitEnd {
    let start = Instant::now();
    loop {
        let req = RequestBody::PendingStatus(PendingRef { pending: pending.to_string() });
        match client.request(req).map(|r| r.body) {
            Ok(ResponseBody::Pending(item)) => match item.state {
                PendingState::Approved => return WaitEnd::Approved,
                PendingState::Denied => return WaitEnd::Denied(format!("a human denied held command {pending}")),
                PendingState::Expired => return WaitEnd::Denied(format!("held command {pending} expired")),
                PendingState::Gone => return WaitEnd::Denied(format!("held command {pending} is gone")),
                // Only an admin approval lets a waiting hook run the command.
                PendingState::AgentApproved => {
                    return WaitEnd::Denied(format!("held command {pending} was answered in an agent's prompt"));
                }
                PendingState::Pending => {}
            },
            Ok(ResponseBody::Error(e)) if e.code == ErrorCode::NotFound => {
                return WaitEnd::Denied(format!("holdfast no longer knows held command {pending}"));
            }
            Ok(ResponseBody::Error(e)) => {
                return WaitEnd::Denied(format!("holdfast could not report on {pending}: {}", e.message));
            }
            Ok(_) => return WaitEnd::Denied(format!("holdfast gave an unexpected answer about {pending}")),
            Err(ClientError::NotRunning(_)) => {
                return WaitEnd::Denied(format!("the holdfast daemon stopped while {pending} was held"));
            }
            // A slow answer is retried until the limit; anything else is not an approval.
            Err(ClientError::Timeout) => {}
            Err(e) => return WaitEnd::Denied(format!("cannot ask holdfast about {pending}: {e}")),
        }
        let waited = start.elapsed();
        if limit.is_some_and(|l| waited + every > l) {
            return WaitEnd::TimedOut;
        }
        std::thread::sleep(every);
    }
}

/// The whole hook: payload (or why it could not be read) → the dialect's rendered answer.
pub fn hook(dialect: &dyn Dialect, payload: Result<Value, PayloadError>, ctx: &Ctx) -> Rendered {
    let parsed = payload.and_then(|v| dialect.parse(&v));
    let input = match parsed {
        Ok(Parsed::Shell(input)) => input,
        Ok(Parsed::NotShell { .. }) => return dialect.render(&Answer::NoOpinion),
        Err(e) => return malformed(dialect, &e),
    };
    if std::env::var_os(super::HOOK_FAULT_ENV).is_some() {
        panic!("injected hook fault");
    }
    if input.phase == Phase::Post {
        report_post(ctx, &input);
        return dialect.render(&Answer::NoOpinion);
    }
    let cwd = input.cwd.clone().unwrap_or_else(process_cwd);
    let proposal = Proposal {
        agent: input.agent.to_string(),
        cwd: cwd.clone(),
        raw: input.command.clone(),
        session: input.session.clone(),
        pid: Some(std::process::id()),
        // The daemon may run under an account that cannot read this repository (locked posture).
        repo_policy: crate::policy::carry::carry(std::path::Path::new(&cwd)),
        ..Default::default()
    };
    match propose(ctx, proposal) {
        Outcome::Allow { reason, verdict } => {
            if verdict.is_none() {
                eprintln!("holdfast: {reason}");
            }
            dialect.render_verdict(&Answer::Allow { reason }, verdict.as_ref())
        }
        Outcome::Deny { reason, verdict } => dialect.render_verdict(&Answer::Deny { reason }, verdict.as_ref()),
        Outcome::Hold { pending, verdict } if dialect.native_ask() => {
            remember_ask(ctx, &input, &pending);
            let reason = format!(
                "holdfast holds this command ({}, {}): {} Answer here, or {}.",
                verdict.class.as_str(),
                verdict.rule,
                verdict.reason,
                approve_hint(&pending)
            );
            dialect.render_verdict(&Answer::Ask { reason }, Some(&verdict))
        }
        Outcome::Hold { pending, verdict } => {
            eprintln!("holdfast: waiting for a human to approve {pending}: {}", approve_hint(&pending));
            let answer = match wait_for(&ctx.client, &pending, Some(ctx.hold_wait), ctx.poll_every) {
                WaitEnd::Approved => Answer::Allow { reason: format!("approved by a human ({pending})") },
                WaitEnd::Denied(why) => Answer::Deny { reason: format!("holdfast denied this command: {why}.") },
                WaitEnd::TimedOut => Answer::Deny { reason: held_instructions(&pending, &verdict) },
            };
            dialect.render_verdict(&answer, Some(&verdict))
        }
    }
}

/// The deny text for a hold nobody answered in time: exactly how to approve, then retry.
pub(crate) fn held_instructions(pending: &str, verdict: &Verdict) -> String {
    format!(
        "holdfast is holding this command for a human ({}, {}): {} Nobody approved it in time. \
         Ask the human to run `holdfast approve {pending}`, then run the command again.",
        verdict.class.as_str(),
        verdict.rule,
        verdict.reason
    )
}

/// The answer to a payload that cannot be used: the dialect's deny, and what was wrong on stderr.
/// Hooks are installed for shell tools only, so this blocks one shell command, never the agent
/// itself; a silent allow would let an unseen command through.
pub fn malformed(dialect: &dyn Dialect, err: &PayloadError) -> Rendered {
    eprintln!("holdfast: unusable {} hook payload: {err}", dialect.agent());
    let reason = format!(
        "holdfast could not read this hook payload ({err}); denied to be safe. If this repeats, the agent's hook \
         protocol may have changed: run `holdfast doctor`."
    );
    dialect.render(&Answer::Deny { reason })
}

fn process_cwd() -> String {
    std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_else(|_| "/".into())
}

/// The file that pairs a pre-tool `ask` with the post-tool report of the same call.
fn ask_marker(ctx: &Ctx, input: &HookInput) -> Option<PathBuf> {
    use sha2::{Digest, Sha256};
    let run = ctx.run_dir.as_ref()?;
    let mut h = Sha256::new();
    for part in [input.agent, input.session.as_deref().unwrap_or(""), input.call_id.as_deref().unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(input.command.as_bytes());
    Some(run.join("asked").join(&hex::encode(h.finalize())[..32]))
}

fn remember_ask(ctx: &Ctx, input: &HookInput, pending: &str) {
    let Some(path) = ask_marker(ctx, input) else { return };
    if let Some(dir) = path.parent() {
        let _ = crate::paths::ensure_private_dir(dir);
    }
    // Best effort, like the rest of the ask bookkeeping; 0600 like every file holdfast writes.
    let _ = crate::paths::private_open_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, pending.as_bytes()));
}

/// After the tool ran: if holdfast had asked about this exact call, the human said yes in the
/// agent's UI — report it with `resolve` (best effort; never blocks the agent for long).
fn report_post(ctx: &Ctx, input: &HookInput) {
    let Some(path) = ask_marker(ctx, input) else { return };
    let Ok(pending) = std::fs::read_to_string(&path) else { return };
    let _ = std::fs::remove_file(&path);
    let resolution = Resolution {
        command: input.command.clone(),
        decision: HumanDecision::Allow,
        remember: false,
        cwd: input.cwd.clone(),
        agent: Some(input.agent.to_string()),
        pending: Some(pending.trim().to_string()).filter(|p| !p.is_empty()),
        proof: Default::default(),
    };
    let client = ctx.client.clone().with_timeout(Duration::from_secs(2));
    match client.request(RequestBody::Resolve(resolution)).map(|r| r.body) {
        Ok(ResponseBody::Error(e)) => eprintln!("holdfast: could not report the approval: {}", e.message),
        Err(e) => eprintln!("holdfast: could not report the approval: {e}"),
        Ok(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(class: Class) -> Result<LocalVerdict, IsolationError> {
        Ok(LocalVerdict { class, rule: "test.rule".into(), reason: "Test reason.".into() })
    }

    #[test]
    fn daemon_down_decides_from_the_isolated_classifier() {
        let dir = tempfile::tempdir().unwrap();
        let (d, reason) = daemon_down(&local(Class::Catastrophic), Some(dir.path()));
        assert_eq!(d, Decision::Deny, "catastrophic must be denied");
        assert!(reason.contains("catastrophic") && reason.contains("holdfast start"), "{reason}");
        let (d, reason) = daemon_down(&local(Class::Safe), Some(dir.path()));
        assert_eq!(d, Decision::Allow);
        assert!(reason.contains("not running") && reason.contains("(safe)"), "{reason}");
        // Ambiguous: allowed (and spooled) while fail-closed is off, unless it did not parse.
        assert_eq!(daemon_down(&local(Class::Ambiguous), Some(dir.path())).0, Decision::Allow);
        let unparsed = Ok(LocalVerdict { class: Class::Ambiguous, rule: "parse.error".into(), reason: "R.".into() });
        assert_eq!(daemon_down(&unparsed, Some(dir.path())).0, Decision::Deny);
        for e in [IsolationError::TimedOut(Duration::from_secs(5)), IsolationError::Died("signal 6".into())] {
            let (d, reason) = daemon_down(&Err(e), Some(dir.path()));
            assert_eq!(d, Decision::Deny, "no answer from the classifier is a deny");
            assert!(reason.contains("could not be classified"), "{reason}");
        }
    }

    #[test]
    fn fail_closed_denies_everything_and_no_config_dir_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FAIL_CLOSED_MARKER), "").unwrap();
        for class in [Class::Safe, Class::Ambiguous] {
            let (d, reason) = daemon_down(&local(class), Some(dir.path()));
            assert_eq!(d, Decision::Deny, "{class}: fail-closed");
            assert!(reason.contains("fail-closed"), "{reason}");
        }
        assert_eq!(daemon_down(&local(Class::Safe), None).0, Decision::Deny);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("policy.toml"), "# fail_closed = true\nfail_closed = false\n").unwrap();
        assert_eq!(daemon_down(&local(Class::Safe), Some(dir.path())).0, Decision::Allow);
        std::fs::write(dir.path().join("policy.toml"), " fail_closed =true # strict\n").unwrap();
        assert_eq!(daemon_down(&local(Class::Safe), Some(dir.path())).0, Decision::Deny);
    }

    #[test]
    fn offline_decisions_are_spooled_and_an_allow_that_cannot_be_is_denied() {
        let config = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let ctx = |data_dir: Option<&Path>| Ctx {
            client: Client::new(crate::paths::Endpoint::Socket("/nonexistent/holdfast.sock".into())),
            config_dir: Some(config.path().to_path_buf()),
            run_dir: None,
            data_dir: data_dir.map(Path::to_path_buf),
            classifier: None,
            hold_wait: Duration::ZERO,
            poll_every: POLL_EVERY,
        };
        // No classifier binary: denied, and the deny is spooled.
        let Outcome::Deny { reason, .. } = offline_decision(&ctx(Some(data.path())), "codex", "/w", "ls") else {
            panic!("no classifier is a deny")
        };
        assert!(reason.contains("could not be classified"), "{reason}");
        let Outcome::Allow { .. } = decide_and_spool(&ctx(Some(data.path())), "codex", "/w", "ls", &local(Class::Safe))
        else {
            panic!("safe is allowed when it can be spooled")
        };
        let spooled = std::fs::read_to_string(offline::path(data.path())).unwrap();
        let lines: Vec<&str> = spooled.lines().collect();
        assert_eq!(lines.len(), 2, "{spooled}");
        assert!(lines[0].contains("offline.unclassified") && lines[0].contains(r#""decision":"deny""#));
        assert!(lines[1].contains(r#""rule":"test.rule""#) && lines[1].contains(r#""decision":"allow""#));
        // Full spool, or nowhere to spool: what would be allowed is denied.
        std::fs::File::options()
            .append(true)
            .open(offline::path(data.path()))
            .unwrap()
            .set_len(offline::MAX_BYTES)
            .unwrap();
        for ctx in [ctx(Some(data.path())), ctx(None)] {
            let Outcome::Deny { reason, .. } = decide_and_spool(&ctx, "codex", "/w", "ls", &local(Class::Safe)) else {
                panic!("an allow that cannot be recorded is a deny")
            };
            assert!(reason.contains("could not be recorded"), "{reason}");
        }
    }
}
