//! `holdfast pending` and `approve`/`deny` take a unique prefix of an id, and `approve` without an
//! id answers the only held command after showing it.
#[path = "support/daemon.rs"]
mod daemon;

use daemon::Home;
use holdfast::wire::{PendingState, RequestBody, ResponseBody};

fn hold(home: &Home, command: &str) -> String {
    let out = home.run(&["propose", "--json", "--", command], "");
    assert_eq!(out.status.code(), Some(5), "{command} should be held: {out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["pending"].as_str().unwrap().to_string()
}

fn state(d: &daemon::Daemon, id: &str) -> PendingState {
    match d.request(RequestBody::PendingStatus(holdfast::wire::PendingRef { pending: id.into() })) {
        ResponseBody::Pending(i) => i.state,
        other => panic!("{other:?}"),
    }
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn approve_without_an_id_answers_the_only_hold_after_showing_it() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let out = home.run(&["approve"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("nothing is held"), "{}", text(&out));
    let id = hold(&home, "git push --force origin main");
    let out = home.run(&["approve"], "");
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.starts_with(&id) && shown.contains("git.force_push"), "shown first: {shown}");
    assert_eq!(state(&d, &id), PendingState::Approved);
    let a = hold(&home, "git push --force origin a");
    let b = hold(&home, "git push --force origin b");
    let out = home.run(&["deny"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains(&a) && text(&out).contains(&b), "{}", text(&out));
    assert_eq!(state(&d, &a), PendingState::Pending);
}

#[test]
fn a_unique_prefix_names_a_hold_and_an_ambiguous_one_is_refused() {
    let home = Home::new();
    let d = home.daemon(&[]);
    // 33 holds: two of them share a first character (32 symbols).
    let ids: Vec<String> = (0..33).map(|n| hold(&home, &format!("git push --force origin b{n}"))).collect();
    let first = |id: &String| id[..1].to_string();
    let shared = ids.iter().map(first).find(|c| ids.iter().filter(|i| first(i) == *c).count() > 1).unwrap();
    let out = home.run(&["approve", &shared.to_uppercase()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("type more of the id"), "{}", text(&out));
    // The shortest unique prefix of some id approves exactly that hold.
    let (id, prefix) = ids
        .iter()
        .find_map(|id| {
            (1..=6).map(|n| &id[..n]).find(|p| ids.iter().filter(|i| i.starts_with(p)).count() == 1).map(|p| (id, p))
        })
        .unwrap();
    let out = home.run(&["pending", prefix], "");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with(' ')).count(), 1);
    let out = home.run(&["deny", prefix], "");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(state(&d, id), PendingState::Denied);
    assert!(ids.iter().filter(|i| *i != id).all(|i| state(&d, i) == PendingState::Pending));
    // Letters that no id uses are named as such, not blamed on the length.
    let out = home.run(&["approve", "nosuch"], "");
    assert!(text(&out).contains("`u` is never in one"), "{}", text(&out));
}
