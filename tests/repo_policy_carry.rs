//! Repository policy carried by the client (`repo_policy` in a proposal), personal posture.
//!
//! A daemon that cannot see a repository's `.holdfast.toml` uses the text the client carried; one
//! that can read the file uses its own read. Here "cannot see" is a file that exists only in the
//! proposal (the daemon's walk finds nothing, as it does in a directory it may not enter); the real
//! unreadable repository, with two accounts, is in tests/locked_posture.rs (needs root).
#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;

use daemon::{Daemon, Home};
use holdfast::wire::{CarriedPolicy, Decision, ErrorCode, Proposal, RequestBody, ResponseBody, Verdict};

const POLICY: &str = "[[deny]]\npattern = \"make release\"\nreason = \"releases are cut by CI\"\n";
const LOOSENING: &str = "mode = \"notify\"\n\n[[allow]]\npattern = \"rm -rf src/old\"\n";

fn carried(path: &Path, text: &str) -> CarriedPolicy {
    CarriedPolicy { path: path.to_string_lossy().into_owned(), text: Some(text.into()) }
}

fn send(d: &Daemon, cwd: &Path, raw: &str, repo_policy: Option<CarriedPolicy>) -> ResponseBody {
    let cwd = cwd.to_string_lossy().into_owned();
    let repo_policy = repo_policy.map(Box::new);
    d.request(RequestBody::Propose(Proposal {
        agent: "t".into(),
        cwd,
        raw: raw.into(),
        repo_policy,
        ..Default::default()
    }))
}

fn verdict(d: &Daemon, cwd: &Path, raw: &str, repo_policy: Option<CarriedPolicy>) -> Verdict {
    match send(d, cwd, raw, repo_policy) {
        ResponseBody::Verdict(v) => v,
        other => panic!("expected a verdict for {raw:?}, got {other:?}"),
    }
}

/// The data of the newest `propose` record.
fn last_record(home: &Home) -> serde_json::Value {
    holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|r| r.kind == "propose")
        .last()
        .map(|r| serde_json::to_value(&r.data).unwrap())
        .unwrap()
}

#[test]
fn a_carried_deny_reaches_a_daemon_that_cannot_see_the_file() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let repo = home.path().join("repo");
    let sub = repo.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let file = repo.join(".holdfast.toml");

    let v = verdict(&d, &sub, "make release", Some(carried(&file, POLICY)));
    assert_eq!((v.decision, v.rule.as_str()), (Decision::Deny, "policy.deny"), "{v:?}");
    let rec = last_record(&home);
    assert_eq!(rec["repo_policy"]["source"], "client", "{rec}");
    assert_eq!(Path::new(rec["repo_policy"]["path"].as_str().unwrap()), file);

    // Without the carried policy (an older client, or one that omits it) the daemon sees none.
    let v = verdict(&d, &sub, "make release", None);
    assert_eq!(v.decision, Decision::Allow, "{v:?}");
    assert!(last_record(&home).get("repo_policy").is_none());

    // Found but not carried (unreadable to the client, or too large): fail closed.
    let unread = CarriedPolicy { path: file.to_string_lossy().into_owned(), text: None };
    let v = verdict(&d, &sub, "ls", Some(unread));
    assert_eq!(v.decision, Decision::Deny, "{v:?}");

    // A path that is not the policy file of an ancestor of cwd is refused, not guessed at.
    let elsewhere = home.path().join("other/.holdfast.toml");
    match send(&d, &sub, "ls", Some(carried(&elsewhere, POLICY))) {
        ResponseBody::Error(e) => assert_eq!(e.code, ErrorCode::InvalidField, "{e:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_carried_policy_that_loosens_is_ignored_and_reported_like_a_file() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let repo = home.path().join("repo");
    let (a, b) = (repo.join("a"), repo.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let file = repo.join(".holdfast.toml");

    // Carried (the daemon sees no file): the allow and the notify mode are ignored.
    let v = verdict(&d, &a, "rm -rf src/old", Some(carried(&file, LOOSENING)));
    assert_eq!(v.decision, Decision::Hold, "{v:?}");
    assert!(v.flags.iter().any(|f| f == "repo_loosening_ignored"), "{v:?}");
    let from_client = last_record(&home);
    assert_eq!(from_client["repo_policy"]["source"], "client");

    // The same text as a file the daemon reads (another cwd: the lookup cache is per cwd).
    std::fs::write(&file, LOOSENING).unwrap();
    let v = verdict(&d, &b, "rm -rf src/old", None);
    assert_eq!(v.decision, Decision::Hold, "{v:?}");
    let from_file = last_record(&home);
    assert_eq!(from_file["repo_policy"]["source"], "daemon");
    assert!(from_file["repo_policy_ignored"].as_array().is_some_and(|r| r.len() == 2), "{from_file}");
    assert_eq!(from_client["repo_policy_ignored"], from_file["repo_policy_ignored"]);
}

#[test]
fn the_daemons_own_read_beats_what_the_client_carries() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let repo = home.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let file = repo.join(".holdfast.toml");
    std::fs::write(&file, POLICY).unwrap();
    // A client that sends an empty policy for the same file cannot drop the file's deny.
    let v = verdict(&d, &repo, "make release", Some(carried(&file, "")));
    assert_eq!(v.decision, Decision::Deny, "{v:?}");
    assert_eq!(last_record(&home)["repo_policy"]["source"], "daemon");
}
