//! Every privileged kind behind an admin vault, through the real daemon: refused without a proof,
//! with a wrong proof, with a replayed proof and with a proof made for another op — and then
//! accepted with the right one. Each refusal is checked by its effect too (nothing changed), and
//! each attempt by its `admin` audit record.
#[path = "support/daemon.rs"]
mod daemon;

#[path = "support/admin.rs"]
mod admin;

use std::time::Duration;

use admin::Admin;
use daemon::{Daemon, Home, wait_timeout};
use holdfast::wire::{
    Decide, ErrorCode, HumanDecision, PendingRef, PendingState, Proof, Proposal, RequestBody, Resolution, ResponseBody,
};

const PW: &str = "correct horse battery staple";

/// One privileged kind: its request for a proof, the op its proof must name, and how to see that it
/// took effect.
struct Gated<'a> {
    op: String,
    other_op: String,
    request: Box<dyn Fn(Proof) -> RequestBody + 'a>,
    took_effect: Box<dyn Fn(&Daemon) -> bool + 'a>,
}

fn hold(d: &Daemon, raw: &str) -> String {
    let p = Proposal { agent: "test".into(), cwd: daemon::abs_cwd(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => v.pending.clone().unwrap_or_else(|| panic!("{raw:?} was not held: {v:?}")),
        other => panic!("expected a verdict, got {other:?}"),
    }
}

fn state(d: &Daemon, id: &str) -> PendingState {
    match d.request(RequestBody::PendingStatus(PendingRef { pending: id.into() })) {
        ResponseBody::Pending(item) => item.state,
        other => panic!("{other:?}"),
    }
}

fn status(d: &Daemon) -> holdfast::wire::Status {
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => s,
        other => panic!("{other:?}"),
    }
}

fn admin_outcomes(home: &Home, op: &str) -> Vec<String> {
    holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|r| r.kind == "admin" && r.data["op"] == op)
        .map(|r| r.data["outcome"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn count(home: &Home, kind: &str) -> usize {
    holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|r| r.kind == kind)
        .count()
}

/// Sends `body` and asserts an `unauthorized` refusal.
fn refused(d: &Daemon, what: &str, body: RequestBody) {
    match d.request(body) {
        ResponseBody::Error(e) => assert_eq!(e.code, ErrorCode::Unauthorized, "{what}: {e:?}"),
        other => panic!("{what}: expected unauthorized, got {other:?}"),
    }
}

/// The four refusals, then the right proof, then its replay. Returns the accepted answer.
fn check_gate(home: &Home, d: &Daemon, g: &Gated) -> ResponseBody {
    let (right, wrong) = (Admin::unlock(home, PW), Admin::impostor());
    refused(d, &format!("{} without a proof", g.op), (g.request)(Proof::default()));
    refused(d, &format!("{} with a wrong proof", g.op), (g.request)(wrong.prove(d, &g.op)));
    refused(d, &format!("{} with a proof for {}", g.op, g.other_op), (g.request)(right.prove(d, &g.other_op)));
    assert!(!(g.took_effect)(d), "{}: a refused request took effect", g.op);
    let proof = right.prove(d, &g.op);
    let accepted = d.request((g.request)(proof.clone()));
    assert!(!matches!(accepted, ResponseBody::Error(_)), "{}: the right proof was refused: {accepted:?}", g.op);
    assert!((g.took_effect)(d), "{}: accepted but did not take effect", g.op);
    refused(d, &format!("{} with a replayed proof", g.op), (g.request)(proof));
    assert_eq!(admin_outcomes(home, &g.op), ["bad_proof", "bad_proof", "wrong_op", "ok", "replay"], "{}", g.op);
    accepted
}

fn decide(id: &str, allow: bool) -> impl Fn(Proof) -> RequestBody + '_ {
    move |proof| {
        let d = Decide { pending: id.into(), remember: false, proof };
        if allow { RequestBody::Approve(d) } else { RequestBody::Deny(d) }
    }
}

#[test]
fn approve_deny_and_resolve_need_the_proof_for_their_pending_id() {
    let home = Home::new();
    admin::init_vault(&home, PW);
    let d = home.daemon(&[]);
    let (a, b, c) = (hold(&d, "rm -rf src/a"), hold(&d, "rm -rf src/b"), hold(&d, "rm -rf src/c"));
    let approve = Gated {
        op: format!("approve:{a}"),
        other_op: format!("deny:{a}"),
        request: Box::new(decide(&a, true)),
        took_effect: Box::new(|d| state(d, &a) == PendingState::Approved),
    };
    check_gate(&home, &d, &approve);
    let deny = Gated {
        op: format!("deny:{b}"),
        other_op: format!("approve:{b}"),
        request: Box::new(decide(&b, false)),
        took_effect: Box::new(|d| state(d, &b) == PendingState::Denied),
    };
    check_gate(&home, &d, &deny);
    // A resolve that remembers is an admin answer (without `remember` and without a proof it is the
    // agent's report of its own prompt, which closes a hold but never approves it).
    let resolve = Gated {
        op: format!("resolve:{c}"),
        other_op: format!("approve:{c}"),
        request: Box::new(|proof| {
            RequestBody::Resolve(Resolution {
                command: "rm -rf src/c".into(),
                decision: HumanDecision::Allow,
                remember: true,
                cwd: None,
                agent: None,
                pending: Some(c.clone()),
                proof,
            })
        }),
        took_effect: Box::new(|d| state(d, &c) == PendingState::Approved),
    };
    check_gate(&home, &d, &resolve);
}

#[test]
fn switches_reload_and_shutdown_need_their_proof() {
    let home = Home::new();
    admin::init_vault(&home, PW);
    let mut d = home.daemon(&[]);
    let pause = Gated {
        op: "pause".into(),
        other_op: "resume".into(),
        request: Box::new(RequestBody::Pause),
        took_effect: Box::new(|d| status(d).paused),
    };
    check_gate(&home, &d, &pause);
    let resume = Gated {
        op: "resume".into(),
        other_op: "pause".into(),
        request: Box::new(RequestBody::Resume),
        took_effect: Box::new(|d| !status(d).paused),
    };
    check_gate(&home, &d, &resume);
    assert!(matches!(d.request(RequestBody::Panic), ResponseBody::Ack(_)), "panic needs no proof");
    let release = Gated {
        op: "release".into(),
        other_op: "resume".into(),
        request: Box::new(RequestBody::Release),
        took_effect: Box::new(|d| !status(d).panic),
    };
    check_gate(&home, &d, &release);
    let reloads = count(&home, "reload");
    let reload = Gated {
        op: "reload".into(),
        other_op: "release".into(),
        request: Box::new(RequestBody::Reload),
        took_effect: Box::new(|_| count(&home, "reload") > reloads),
    };
    check_gate(&home, &d, &reload);
    // The shutdown gate by hand: the replay cannot be sent to a daemon that stopped.
    let (right, wrong) = (Admin::unlock(&home, PW), Admin::impostor());
    refused(&d, "shutdown without a proof", RequestBody::Shutdown(Proof::default()));
    refused(&d, "shutdown with a wrong proof", RequestBody::Shutdown(wrong.prove(&d, "shutdown")));
    refused(&d, "shutdown with a proof for reload", RequestBody::Shutdown(right.prove(&d, "reload")));
    d.assert_alive();
    // A replay of an accepted proof of another op (reload's) is no proof of shutdown either.
    let used = right.prove(&d, "reload");
    assert!(matches!(d.request(RequestBody::Reload(used.clone())), ResponseBody::Ack(_)));
    refused(&d, "shutdown with a replayed proof", RequestBody::Shutdown(used));
    d.assert_alive();
    assert!(matches!(d.request(RequestBody::Shutdown(right.prove(&d, "shutdown"))), ResponseBody::Ack(_)));
    assert!(wait_timeout(&mut d.child, Duration::from_secs(10)).is_some(), "an authorized shutdown stops the daemon");
    assert_eq!(admin_outcomes(&home, "shutdown"), ["bad_proof", "bad_proof", "wrong_op", "replay", "ok"]);
}

/// A v2 proof is bound to the daemon's identity, its audit log id: the challenge names that id, and
/// a right proof made for another daemon's id is refused.
#[test]
fn a_proof_is_bound_to_this_daemons_audit_log() {
    let home = Home::new();
    admin::init_vault(&home, PW);
    let d = home.daemon(&[]);
    let genesis = holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .find(|r| r.kind == "genesis")
        .unwrap();
    let c = admin::challenge(&d, "pause");
    assert_eq!(c.daemon_id.as_deref(), genesis.data["log_id"].as_str(), "{c:?}");
    let right = Admin::unlock(&home, PW);
    let elsewhere = holdfast::wire::Challenge { daemon_id: Some("ab".repeat(16)), ..c };
    refused(&d, "pause proved for another daemon", RequestBody::Pause(right.answer(&elsewhere, "pause")));
    assert!(!status(&d).paused);
    assert_eq!(admin_outcomes(&home, "pause"), ["bad_proof"]);
}
