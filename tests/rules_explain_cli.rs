//! Runs the real `holdfast` binary: `rules [--json]` and `explain [--json] -- CMD`.

use std::process::Command;

fn bin(home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_holdfast"));
    c.env("HOLDFAST_HOME", home);
    c
}

fn json(out: std::process::Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn rules_lists_every_rule_with_family_and_safer_way() {
    let home = tempfile::tempdir().unwrap();
    let v = json(bin(home.path()).args(["rules", "--json"]).output().unwrap());
    let rules = v.as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = holdfast::classify::rule_ids().map(|(id, _, _)| id).collect();
    assert_eq!(ids, expected);
    for r in rules {
        let id = r["id"].as_str().unwrap();
        assert_eq!(r["family"].as_str().unwrap(), id.split('.').next().unwrap(), "{id}");
        assert!(r["reason"].as_str().unwrap().ends_with('.'), "{id}");
    }
    let find = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("no rule {id}"));
    assert!(find("git.reset_hard")["safer"].as_str().unwrap().contains("git stash"));
    assert!(find("git.force_push")["safer"].as_str().unwrap().contains("--force-with-lease"));
    assert_eq!(find("win.hive_dump")["class"], "catastrophic");
    assert_eq!(find("persist.service_enable")["family"], "persist");
    let text = bin(home.path()).arg("rules").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("supply.publish") && text.contains("safer: "), "{text}");
}

#[test]
fn explain_shows_unwrapped_commands_the_winning_rule_and_the_policy_decision() {
    let home = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join(".holdfast.toml"), "[[deny]]\npattern = \"cargo publish\"\nmatch = \"prefix\"\n")
        .unwrap();
    let cwd = repo.path().to_str().unwrap();

    // Unwrapped through sudo and bash -c; the git abbreviation is the rule that wins.
    let cmd = "sudo bash -c 'ls && git push --forc origin main'";
    let v = json(bin(home.path()).args(["explain", "--json", "--cwd", cwd, "--", cmd]).output().unwrap());
    assert_eq!(v["classification"]["rule"], "git.force_push");
    let steps = v["steps"].as_array().unwrap();
    let git = steps.iter().find(|s| s["program"] == "git").expect("git step");
    assert!(git["depth"].as_u64().unwrap() >= 1, "{git}");
    assert_eq!(git["raised"][0], "git.force_push");
    assert!(steps.iter().any(|s| s["program"] == "ls" && s["raised"].is_null()), "{steps:?}");
    assert_eq!(v["family"], "git");
    assert!(v["safer"].as_str().unwrap().contains("--force-with-lease"));
    assert_eq!(v["decision"]["decision"], "hold");

    // A line the classifier lets through, denied by the repository policy.
    let v = json(
        bin(home.path()).args(["explain", "--json", "--cwd", cwd, "--", "cargo publish --dry-run"]).output().unwrap(),
    );
    assert_eq!(v["classification"]["class"], "safe");
    assert!(v["policy"]["repository"].as_str().unwrap().ends_with(".holdfast.toml"));
    assert!(v["policy"]["matched"].as_str().unwrap().contains("cargo publish"), "{v}");
    assert_eq!(v["decision"]["decision"], "deny");

    // Human text carries the same facts.
    let out = bin(home.path()).args(["explain", "--cwd", cwd, "--", cmd]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("git push --forc origin main  -> git.force_push (catastrophic)"), "{text}");
    assert!(text.contains("decision: hold"), "{text}");
}
