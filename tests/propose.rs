//! The propose path through the real daemon: modes × classes, policy, the approval queue,
//! decision memory, the kill switch, pause, reload, and state rebuilt from the log.
#[path = "support/daemon.rs"]
mod daemon;

use std::time::Duration;

use daemon::{Daemon, Home};
use holdfast::classify::Class;
use holdfast::wire::{
    Decide, Decision, HumanDecision, PendingRef, PendingState, Proof, Proposal, RequestBody, Resolution, ResponseBody,
    Verdict,
};

const SAFE: &str = "ls -la";
const AMBIGUOUS: &str = "rm -rf src/old";
const CATASTROPHIC: &str = "rm -rf /";

fn write_policy(home: &Home, text: &str) {
    let dir = home.path().join("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("policy.toml"), text).unwrap();
}

fn propose_in(d: &Daemon, cwd: &str, raw: &str) -> Verdict {
    let p = Proposal { agent: "test".into(), cwd: cwd.into(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => v,
        other => panic!("expected a verdict for {raw:?}, got {other:?}"),
    }
}

fn propose(d: &Daemon, raw: &str) -> Verdict {
    propose_in(d, &daemon::abs_cwd(), raw)
}

fn decide(d: &Daemon, id: &str, allow: bool, remember: bool) -> ResponseBody {
    let decide = Decide { pending: id.into(), remember, proof: Proof::default() };
    d.request(if allow { RequestBody::Approve(decide) } else { RequestBody::Deny(decide) })
}

fn state(d: &Daemon, id: &str) -> PendingState {
    match d.request(RequestBody::PendingStatus(PendingRef { pending: id.into() })) {
        ResponseBody::Pending(item) => item.state,
        other => panic!("{other:?}"),
    }
}

fn records(home: &Home, kind: &str) -> Vec<serde_json::Value> {
    holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|r| r.kind == kind)
        .map(|r| serde_json::json!({"seq": r.seq, "data": r.data}))
        .collect()
}

#[test]
fn classes_are_what_the_corpus_says() {
    for (cmd, class) in [(SAFE, Class::Safe), (AMBIGUOUS, Class::Ambiguous), (CATASTROPHIC, Class::Catastrophic)] {
        assert_eq!(holdfast::classify::classify(cmd).class, class, "{cmd}");
    }
}

#[test]
fn mode_by_class_matrix() {
    let expect = [
        ("attended", [Decision::Allow, Decision::Hold, Decision::Hold]),
        ("unattended", [Decision::Allow, Decision::Deny, Decision::Deny]),
        ("notify", [Decision::Allow, Decision::Allow, Decision::Allow]),
    ];
    for (mode, decisions) in expect {
        let home = Home::new();
        write_policy(&home, &format!("mode = \"{mode}\"\n"));
        let d = home.daemon(&[]);
        let mut answered = Vec::new();
        for (cmd, want) in [SAFE, AMBIGUOUS, CATASTROPHIC].iter().zip(decisions) {
            let v = propose(&d, cmd);
            answered.push((v.seq, cmd.to_string()));
            assert_eq!(v.decision, want, "{mode} {cmd}: {v:?}");
            assert_eq!(v.pending.is_some(), want == Decision::Hold, "{v:?}");
            assert!(v.seq > 0 && !v.rule.is_empty() && !v.reason.is_empty(), "{v:?}");
            if mode == "notify" && *cmd != SAFE {
                assert!(v.flags.contains(&"notify".to_string()), "{v:?}");
            }
        }
        // Every verdict is in the log, with the seq the answer named.
        let logged: Vec<(u64, String)> = records(&home, "propose")
            .iter()
            .map(|r| (r["seq"].as_u64().unwrap(), r["data"]["raw"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(logged, answered, "{mode}");
    }
}

#[test]
fn a_repository_policy_only_tightens() {
    let home = Home::new();
    let repo = tempfile::Builder::new().prefix("hfr").tempdir().unwrap();
    std::fs::create_dir(repo.path().join(".git")).unwrap();
    std::fs::write(
        repo.path().join(".holdfast.toml"),
        "mode = \"notify\"\n[[allow]]\npattern = \"rm -rf /\"\n[[deny]]\npattern = \"make deploy\"\nreason = \"CI deploys\"\n",
    )
    .unwrap();
    let d = home.daemon(&[]);
    let cwd = repo.path().to_str().unwrap();
    let v = propose_in(&d, cwd, CATASTROPHIC);
    assert_eq!(v.decision, Decision::Hold, "a repo can neither allow catastrophic nor choose notify: {v:?}");
    assert!(v.flags.contains(&"repo_loosening_ignored".to_string()), "{v:?}");
    let v = propose_in(&d, cwd, "make deploy");
    assert_eq!(v.decision, Decision::Deny, "{v:?}");
    assert_eq!(v.rule, "policy.deny");
    // The audit record says what the repository tried.
    let rec = records(&home, "propose").into_iter().find(|r| r["data"]["raw"] == CATASTROPHIC).unwrap();
    let ignored = rec["data"]["repo_policy_ignored"].as_array().unwrap();
    assert!(ignored.iter().any(|s| s.as_str().unwrap().contains("notify")), "{ignored:?}");
    // A broken repository policy fails closed, within the second the daemon reuses a lookup.
    std::fs::write(repo.path().join(".holdfast.toml"), "mode = \n").unwrap();
    daemon::wait_for(Duration::from_secs(3), || propose_in(&d, cwd, SAFE).rule == "policy.invalid");
    let v = propose_in(&d, cwd, SAFE);
    assert_eq!(v.decision, Decision::Deny, "{v:?}");
    // `reload` makes a repository edit apply at once.
    std::fs::remove_file(repo.path().join(".holdfast.toml")).unwrap();
    assert!(matches!(d.request(RequestBody::Reload(Proof::default())), ResponseBody::Ack(_)));
    assert_eq!(propose_in(&d, cwd, SAFE).decision, Decision::Allow);
}

/// README "Policy": the daemon reuses a directory's repository lookup for one second, so a new,
/// edited or deleted `.holdfast.toml` applies within a second without a reload; `reload` applies
/// one at once. Each change is made right after a proposal refreshed the lookup, and checked once,
/// a little over a second later (a longer reuse, or none that expires, fails).
#[test]
fn a_new_edited_or_deleted_repository_policy_applies_within_a_second() {
    let home = Home::new();
    let repo = tempfile::Builder::new().prefix("hfr").tempdir().unwrap();
    std::fs::create_dir(repo.path().join(".git")).unwrap();
    let file = repo.path().join(".holdfast.toml");
    let deny = |pattern: &str| format!("[[deny]]\npattern = \"{pattern}\"\n");
    let d = home.daemon(&[]);
    let cwd = repo.path().to_str().unwrap();
    let denied = |raw: &str| propose_in(&d, cwd, raw).rule == "policy.deny";
    let just_over_the_reuse = Duration::from_millis(1300);
    assert!(!denied("make deploy"));
    std::fs::write(&file, deny("make deploy")).unwrap();
    std::thread::sleep(just_over_the_reuse);
    assert!(denied("make deploy"), "a new repository policy applies within a second");
    std::fs::write(&file, deny("make release")).unwrap();
    std::thread::sleep(just_over_the_reuse);
    assert!(denied("make release") && !denied("make deploy"), "an edit applies within a second");
    std::fs::remove_file(&file).unwrap();
    std::thread::sleep(just_over_the_reuse);
    assert!(!denied("make release"), "a deletion applies within a second");
    // The lookup was refreshed a moment ago: only the reload makes the new file apply now.
    std::fs::write(&file, deny("make deploy")).unwrap();
    assert!(matches!(d.request(RequestBody::Reload(Proof::default())), ResponseBody::Ack(_)));
    assert!(denied("make deploy"), "`reload` applies a repository policy at once");
}

#[test]
fn global_allow_and_deny_patterns() {
    let home = Home::new();
    write_policy(
        &home,
        "[[allow]]\npattern = \"rm -rf src/old\"\n[[allow]]\npattern = \"rm -rf /\"\n\
         [[deny]]\npattern = \"git push *\"\nmatch = \"glob\"\nreason = \"CI pushes\"\n",
    );
    let d = home.daemon(&[]);
    let v = propose(&d, AMBIGUOUS);
    assert_eq!(v.decision, Decision::Allow, "{v:?}");
    assert_eq!(v.rule, "policy.allow");
    let v = propose(&d, CATASTROPHIC);
    assert_eq!(v.decision, Decision::Hold, "an allow pattern never lowers catastrophic: {v:?}");
    let v = propose(&d, "git push origin feature");
    assert_eq!(v.decision, Decision::Deny, "{v:?}");
    assert!(v.reason.starts_with("CI pushes") && v.reason.contains("policy.toml line 5"), "{}", v.reason);
}

#[test]
fn queue_lifecycle_exactly_once() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let a = propose(&d, AMBIGUOUS).pending.unwrap();
    let b = propose(&d, CATASTROPHIC).pending.unwrap();
    assert_eq!(state(&d, &a), PendingState::Pending);
    match d.request(RequestBody::ListPending) {
        ResponseBody::PendingList { items, .. } => {
            let ids: Vec<_> = items.iter().map(|i| i.id.as_str()).collect();
            assert!(ids.contains(&a.as_str()) && ids.contains(&b.as_str()), "{ids:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(decide(&d, &a, true, false), ResponseBody::Pending(i) if i.state == PendingState::Approved));
    assert_eq!(state(&d, &a), PendingState::Approved);
    let again = decide(&d, &a, false, false);
    assert!(matches!(&again, ResponseBody::Error(e) if e.code == holdfast::wire::ErrorCode::Conflict), "{again:?}");
    assert!(matches!(decide(&d, &b, false, false), ResponseBody::Pending(i) if i.state == PendingState::Denied));
    assert_eq!(state(&d, &b), PendingState::Denied);
    let unknown = decide(&d, "zzzzzz", true, false);
    assert!(matches!(&unknown, ResponseBody::Error(e) if e.code == holdfast::wire::ErrorCode::NotFound), "{unknown:?}");
    assert_eq!(state(&d, "zzzzzz"), PendingState::Gone);
    let bad = decide(&d, "not an id!", true, false);
    assert!(matches!(&bad, ResponseBody::Error(e) if e.code == holdfast::wire::ErrorCode::InvalidField), "{bad:?}");
    assert_eq!(records(&home, "approve").len(), 1);
    assert_eq!(records(&home, "deny").len(), 1);
}

#[test]
fn approve_racing_expiry_fails_and_expiry_is_recorded() {
    let home = Home::new();
    write_policy(&home, "hold_expiry_secs = 1\n");
    let d = home.daemon(&[]);
    let id = propose(&d, AMBIGUOUS).pending.unwrap();
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(state(&d, &id), PendingState::Expired);
    let late = decide(&d, &id, true, false);
    assert!(matches!(&late, ResponseBody::Error(e) if e.code == holdfast::wire::ErrorCode::Conflict), "{late:?}");
    assert!(records(&home, "approve").is_empty(), "a refused approval records nothing as approved");
    daemon::wait_for(Duration::from_secs(10), || records(&home, "expire").len() == 1);
}

#[test]
fn decision_memory() {
    let home = Home::new();
    let d = home.daemon(&[]);
    // Remembered allow applies to the exact ambiguous command in that scope.
    let id = propose(&d, AMBIGUOUS).pending.unwrap();
    decide(&d, &id, true, true);
    let v = propose(&d, AMBIGUOUS);
    assert_eq!(v.decision, Decision::Allow, "{v:?}");
    assert!(v.flags.contains(&"remembered_allow".to_string()), "{v:?}");
    assert_eq!(propose(&d, "rm -rf src/older").decision, Decision::Hold, "exact command only");
    assert_eq!(propose_in(&d, home.path().to_str().unwrap(), AMBIGUOUS).decision, Decision::Hold, "same scope only");
    // A remembered allow is never stored for a catastrophic command.
    let id = propose(&d, CATASTROPHIC).pending.unwrap();
    decide(&d, &id, true, true);
    let approved = records(&home, "approve").pop().unwrap();
    assert_eq!((&approved["data"]["remember"], &approved["data"]["remember_refused"]), (&false.into(), &true.into()));
    // The approval itself lets the identical command through once (approval.once), never again.
    assert_eq!(propose(&d, CATASTROPHIC).rule, "approval.once");
    assert_eq!(propose(&d, CATASTROPHIC).decision, Decision::Hold);
    // A remembered deny always applies.
    let id = propose(&d, "rm -rf src/gone").pending.unwrap();
    decide(&d, &id, false, true);
    let v = propose(&d, "rm -rf src/gone");
    assert_eq!(v.decision, Decision::Deny, "{v:?}");
    assert_eq!(v.rule, "memory.deny");
    // resolve (a decision made in the agent's own prompt) can remember too.
    let r = Resolution {
        command: "rm -rf src/tmp".into(),
        decision: HumanDecision::Deny,
        remember: true,
        cwd: Some(daemon::abs_cwd()),
        agent: Some("claude-code".into()),
        pending: None,
        proof: Proof::default(),
    };
    assert!(matches!(d.request(RequestBody::Resolve(r)), ResponseBody::Ack(_)));
    assert_eq!(propose(&d, "rm -rf src/tmp").decision, Decision::Deny);
}

/// An allow answered in the agent's own prompt (`resolve` without a pending id): remembered only
/// when asked, never for a catastrophic command (and the ack says so).
fn resolve_allow(d: &Daemon, command: &str, remember: bool) -> Vec<String> {
    let r = Resolution {
        command: command.into(),
        decision: HumanDecision::Allow,
        remember,
        cwd: Some(daemon::abs_cwd()),
        agent: Some("claude-code".into()),
        pending: None,
        proof: Proof::default(),
    };
    match d.request(RequestBody::Resolve(r)) {
        ResponseBody::Ack(a) => a.flags,
        other => panic!("{other:?}"),
    }
}

#[test]
fn allows_in_the_agents_prompt_are_remembered_only_when_asked_and_never_catastrophic() {
    let home = Home::new();
    let d = home.daemon(&[]);
    assert!(resolve_allow(&d, "rm -rf src/once", false).is_empty());
    assert_eq!(propose(&d, "rm -rf src/once").decision, Decision::Hold, "not asked to remember");
    assert!(resolve_allow(&d, "rm -rf src/always", true).is_empty());
    let v = propose(&d, "rm -rf src/always");
    assert!(v.decision == Decision::Allow && v.flags.contains(&"remembered_allow".to_string()), "{v:?}");
    assert_eq!(resolve_allow(&d, CATASTROPHIC, true), ["remember_refused_catastrophic"]);
    let data: Vec<_> = records(&home, "resolve").into_iter().map(|r| r["data"].clone()).collect();
    let remembered: Vec<_> = data.iter().map(|d| (&d["remember"], &d["remember_refused"])).collect();
    let (t, f) = (&true.into(), &false.into());
    assert_eq!(remembered, [(f, f), (t, f), (f, t)]);
}

/// The agent's report that its user approved a held command closes that hold only for the very
/// command held; a report naming another command is refused and the hold stays open.
#[test]
fn an_agent_report_must_name_the_held_command() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let id = propose(&d, AMBIGUOUS).pending.unwrap();
    let report = |command: &str| Resolution {
        command: command.into(),
        decision: HumanDecision::Allow,
        remember: false,
        cwd: None,
        agent: Some("claude-code".into()),
        pending: Some(id.clone()),
        proof: Proof::default(),
    };
    match d.request(RequestBody::Resolve(report("rm -rf src/other"))) {
        ResponseBody::Error(e) => assert_eq!(e.code, holdfast::wire::ErrorCode::InvalidField, "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(state(&d, &id), PendingState::Pending);
    // A human's deny for that id must name the held command too.
    let deny = Resolution { decision: HumanDecision::Deny, ..report("rm -rf src/other") };
    match d.request(RequestBody::Resolve(deny)) {
        ResponseBody::Error(e) => assert_eq!(e.code, holdfast::wire::ErrorCode::InvalidField, "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(state(&d, &id), PendingState::Pending);
    assert!(matches!(d.request(RequestBody::Resolve(report(AMBIGUOUS))), ResponseBody::Ack(_)));
    assert_eq!(state(&d, &id), PendingState::AgentApproved);
}

#[test]
fn kill_switch_and_pause() {
    let home = Home::new();
    let d = home.daemon(&[]);
    assert!(matches!(d.request(RequestBody::Panic), ResponseBody::Ack(_)));
    let v = propose(&d, SAFE);
    assert_eq!((v.decision, v.rule.as_str()), (Decision::Deny, "killswitch"), "{v:?}");
    assert!(matches!(d.request(RequestBody::Release(Proof::default())), ResponseBody::Ack(_)));
    assert_eq!(propose(&d, SAFE).decision, Decision::Allow);

    assert!(matches!(d.request(RequestBody::Pause(Proof::default())), ResponseBody::Ack(_)));
    let v = propose(&d, CATASTROPHIC);
    assert_eq!(v.decision, Decision::Allow, "{v:?}");
    assert!(v.flags.contains(&"paused".to_string()) && v.flags.contains(&"would_hold".to_string()), "{v:?}");
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => assert!(s.paused && !s.panic && s.mode == "attended", "{s:?}"),
        other => panic!("{other:?}"),
    }
    // The kill switch beats pause.
    d.request(RequestBody::Panic);
    assert_eq!(propose(&d, SAFE).decision, Decision::Deny);
    d.request(RequestBody::Release(Proof::default()));
    d.request(RequestBody::Resume(Proof::default()));
    assert_eq!(propose(&d, CATASTROPHIC).decision, Decision::Hold);
}

#[test]
fn reload_keeps_the_last_good_policy_on_error() {
    let home = Home::new();
    write_policy(&home, "mode = \"unattended\"\n");
    let d = home.daemon(&[]);
    assert_eq!(propose(&d, AMBIGUOUS).decision, Decision::Deny);
    write_policy(&home, "mode = \"attended\"\nbogus_key = 1\n");
    match d.request(RequestBody::Reload(Proof::default())) {
        ResponseBody::Error(e) => {
            assert!(e.message.contains("policy.toml") && e.message.contains("line 2"), "{}", e.message)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(propose(&d, AMBIGUOUS).decision, Decision::Deny, "the last good policy stays");
    write_policy(&home, "mode = \"attended\"\n");
    #[cfg(unix)]
    {
        let pid = rustix::process::Pid::from_raw(d.pid() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::HUP).unwrap();
    }
    // Windows has no SIGHUP: `holdfast reload` sends the request.
    #[cfg(windows)]
    assert!(matches!(d.request(RequestBody::Reload(Proof::default())), ResponseBody::Ack(_)));
    daemon::wait_for(Duration::from_secs(10), || {
        propose(&d, SAFE).seq > 0 && propose(&d, AMBIGUOUS).decision == Decision::Hold
    });
}

#[test]
fn state_is_rebuilt_from_the_log_after_kill_9() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let held = propose(&d, CATASTROPHIC).pending.unwrap();
    let remembered = propose(&d, AMBIGUOUS).pending.unwrap();
    decide(&d, &remembered, true, true);
    d.request(RequestBody::Panic);
    d.kill9();

    let d = home.daemon(&[]);
    assert_eq!(state(&d, &held), PendingState::Pending, "the hold survives");
    assert_eq!(state(&d, &remembered), PendingState::Approved);
    let v = propose(&d, SAFE);
    assert_eq!(v.rule, "killswitch", "the kill switch survives: {v:?}");
    d.request(RequestBody::Release(Proof::default()));
    let v = propose(&d, AMBIGUOUS);
    assert!(v.flags.contains(&"remembered_allow".to_string()), "the memory survives: {v:?}");
    let out = home.run(&["pending", "--json"], "");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(listed["items"].as_array().unwrap().iter().any(|i| i["pending"] == held.as_str()), "{listed}");
}

#[test]
fn concurrent_proposers_with_one_approver() {
    let home = Home::new();
    let d = home.daemon(&["--durability", "batch"]);
    let proposers: Vec<_> = (0..32)
        .map(|t| {
            let client = home.client();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for i in 0..10 {
                    let p = Proposal {
                        agent: format!("agent{t}"),
                        cwd: daemon::abs_cwd(),
                        raw: format!("rm -rf src/t{t}_{i}"),
                        ..Default::default()
                    };
                    match client.request(RequestBody::Propose(p)).unwrap().body {
                        ResponseBody::Verdict(v) => ids.push(v.pending.expect("held")),
                        other => panic!("{other:?}"),
                    }
                }
                ids
            })
        })
        .collect();
    let approver = {
        let client = home.client();
        std::thread::spawn(move || {
            let mut approved = 0;
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while approved < 320 && std::time::Instant::now() < deadline {
                let ResponseBody::PendingList { items, .. } = client.request(RequestBody::ListPending).unwrap().body
                else {
                    panic!()
                };
                for item in items.iter().filter(|i| i.state == PendingState::Pending) {
                    let decide = Decide { pending: item.id.clone(), remember: false, proof: Proof::default() };
                    if let ResponseBody::Pending(_) = client.request(RequestBody::Approve(decide)).unwrap().body {
                        approved += 1;
                    }
                }
            }
            approved
        })
    };
    let ids: Vec<String> = proposers.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(ids.len(), 320);
    assert_eq!(approver.join().unwrap(), 320, "every hold approved exactly once");
    for id in &ids {
        assert_eq!(state(&d, id), PendingState::Approved);
    }
}

#[test]
fn a_burst_of_10000_proposals_is_answered_and_recorded() {
    let home = Home::new();
    let d = home.daemon(&["--durability", "batch"]);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let client = home.client();
            std::thread::spawn(move || {
                (0..2_500)
                    .map(|i| {
                        let p = Proposal {
                            agent: "burst".into(),
                            cwd: daemon::abs_cwd(),
                            raw: format!("echo burst-{t}-{i}"),
                            ..Default::default()
                        };
                        match client.request(RequestBody::Propose(p)).unwrap().body {
                            ResponseBody::Verdict(v) => v.seq,
                            other => panic!("{other:?}"),
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 10_000, "every answer names its own record");
    let logged = records(&home, "propose");
    assert_eq!(logged.len(), 10_000);
    let logged_seqs: std::collections::HashSet<u64> = logged.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(seqs.iter().all(|s| logged_seqs.contains(s)), "every answered seq is on disk");
    d.assert_alive();
}

#[test]
fn a_proposal_that_cannot_be_recorded_is_refused() {
    let home = Home::new();
    // The log path is a directory: nothing can be appended.
    std::fs::create_dir_all(home.paths().audit_log()).unwrap();
    let d = home.daemon(&[]);
    let p = Proposal { agent: "t".into(), cwd: daemon::abs_cwd(), raw: SAFE.into(), ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Error(e) => assert_eq!(e.code, holdfast::wire::ErrorCode::Unavailable, "{e:?}"),
        other => panic!("a proposal must not be answered unrecorded: {other:?}"),
    }
    // Refused (exit 1, a daemon error), not "daemon down" (3), "held" (5) or "denied" (4).
    let out = home.run(&["propose", "--", "ls"], "");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be written"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn invalid_proposals_are_typed_errors() {
    let home = Home::new();
    let d = home.daemon(&[]);
    for (cwd, raw) in [("relative/dir", "ls"), ("/t\0mp", "ls")] {
        let p = Proposal { agent: "t".into(), cwd: cwd.into(), raw: raw.into(), ..Default::default() };
        match d.request(RequestBody::Propose(p)) {
            ResponseBody::Error(e) => assert_eq!(e.code, holdfast::wire::ErrorCode::InvalidField),
            other => panic!("{other:?}"),
        }
    }
    // A human decision about a command longer than 1 MiB is refused before it is recorded.
    let r = Resolution {
        command: "x".repeat((1 << 20) + 1),
        decision: HumanDecision::Deny,
        remember: false,
        cwd: Some(daemon::abs_cwd()),
        agent: None,
        pending: None,
        proof: Proof::default(),
    };
    match d.request(RequestBody::Resolve(r.clone())) {
        ResponseBody::Error(e) => assert!(e.message.contains("too long"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert!(records(&home, "resolve").is_empty());
    // To remember a decision made without a pending id, its scope comes from an absolute cwd.
    for cwd in ["relative/dir", "/t\0mp"] {
        let r = Resolution { command: "rm -rf x".into(), remember: true, cwd: Some(cwd.into()), ..r.clone() };
        match d.request(RequestBody::Resolve(r)) {
            ResponseBody::Error(e) => assert!(e.message.contains("absolute `cwd`"), "{cwd:?}: {e:?}"),
            other => panic!("{cwd:?}: {other:?}"),
        }
    }
    let exactly_1_mib = Resolution { command: "x".repeat(1 << 20), ..r };
    assert!(matches!(d.request(RequestBody::Resolve(exactly_1_mib)), ResponseBody::Ack(_)));
    d.assert_alive();
}

#[test]
fn cli_propose_exit_codes_and_pending_card() {
    let home = Home::new();
    let _d = home.daemon(&[]);
    assert_eq!(home.run(&["propose", "--", "ls"], "").status.code(), Some(0));
    let out = home.run(&["propose", "--json", "--", "rm", "-rf", "/"], "");
    assert_eq!(out.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["pending"].as_str().unwrap().to_string();
    let card = String::from_utf8(home.run(&["pending"], "").stdout).unwrap();
    assert!(card.contains(&id) && card.contains("rm -rf /") && card.contains("cwd"), "{card}");
    assert!(home.run(&["deny", &id.to_uppercase()], "").status.success(), "ids are case-insensitive");
    let again = home.run(&["approve", &id], "");
    assert_eq!(again.status.code(), Some(1), "already denied: {}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(state(&_d, &id), PendingState::Denied, "the late approve changed nothing");
    home.run(&["panic"], "");
    assert_eq!(home.run(&["propose", "--", "ls"], "").status.code(), Some(4));
}
