//! Policy files on a real filesystem: loading, errors, discovery, merge and decisions.

use std::fs;
use std::path::Path;

use holdfast::classify::Class;
use holdfast::policy::{
    self, DecideInput, Effective, Mode, Policy, PolicyError, PolicyMatch, RepoPolicy, decide, find_repo_policy,
    memory_scope, repo_root,
};
use holdfast::wire::Decision;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn verdict(e: &Effective<'_>, raw: &str, class: Class) -> policy::Decided {
    let m = e.check(raw);
    decide(&DecideInput {
        killswitch: false,
        paused: false,
        class,
        rule: "test.rule",
        reason: "Test.",
        policy: &m,
        mode: e.mode,
        remembered: None,
        parsed: true,
        repo_loosening_ignored: !e.ignored.is_empty(),
    })
}

#[test]
fn missing_global_policy_means_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let g = Policy::load(&dir.path().join("policy.toml")).unwrap();
    assert_eq!((g.mode, g.hold_expiry_secs, g.fail_closed, g.path), (Mode::Attended, 600, false, None));
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    write(&path, "mode = \"attended\"\n\n[[deny]]\npattern = \"rm\"\nmtach = \"prefix\"\n");
    let err = Policy::load(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PolicyError::Invalid { line: 5, column: 1, .. }), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("line 5 column 1"), "{msg}");
    assert!(msg.contains("mtach"), "{msg}");
}

#[test]
fn oversized_and_non_utf8_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    write(&big, &format!("# {}\n", "x".repeat(1024 * 1024)));
    assert!(matches!(Policy::load(&big), Err(PolicyError::TooLarge { .. })));
    let bin = dir.path().join("bin.toml");
    fs::write(&bin, b"mode = \"attended\"\n# \xff\n").unwrap();
    let err = Policy::load(&bin).unwrap_err();
    assert!(matches!(err, PolicyError::Invalid { line: 2, column: 3, .. }), "{err}");
}

#[test]
fn nearest_repo_policy_and_root_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let repo = root.join("repo");
    let deep = repo.join("a/b/c");
    fs::create_dir_all(&deep).unwrap();
    fs::create_dir_all(repo.join(".git")).unwrap();
    assert_eq!(find_repo_policy(&deep), None);
    assert_eq!(repo_root(&deep), Some(repo.clone()));
    assert_eq!(memory_scope(&deep), repo);

    write(&repo.join(".holdfast.toml"), "");
    write(&repo.join("a/.holdfast.toml"), "");
    assert_eq!(find_repo_policy(&deep), Some(repo.join("a/.holdfast.toml")));
    assert_eq!(find_repo_policy(&repo), Some(repo.join(".holdfast.toml")));
    // A directory named .holdfast.toml is not a policy file.
    fs::create_dir_all(deep.join(".holdfast.toml")).unwrap();
    assert_eq!(find_repo_policy(&deep), Some(repo.join("a/.holdfast.toml")));

    // A worktree's `.git` is a file; it still marks the root.
    let wt = root.join("wt/sub");
    fs::create_dir_all(&wt).unwrap();
    write(&root.join("wt/.git"), "gitdir: /elsewhere\n");
    assert_eq!(repo_root(&wt), Some(root.join("wt")));

    // No .git: the directory of the nearest .holdfast.toml; nothing at all: the cwd itself.
    let plain = root.join("plain/x");
    fs::create_dir_all(&plain).unwrap();
    write(&root.join("plain/.holdfast.toml"), "");
    assert_eq!(repo_root(&plain), Some(root.join("plain")));
    let bare = root.join("bare");
    fs::create_dir_all(&bare).unwrap();
    assert_eq!(repo_root(&bare), None, "the temp dir {} is inside a repository", bare.display());
    assert_eq!(memory_scope(&bare), bare);
}

#[test]
fn repo_loosening_is_reported_and_tightening_applies() {
    let dir = tempfile::tempdir().unwrap();
    let global_path = dir.path().join("config/policy.toml");
    write(
        &global_path,
        "mode = \"attended\"\n[[allow]]\npattern = \"make deploy-staging\"\n[[deny]]\npattern = \"git push * main\"\nmatch = \"glob\"\nreason = \"Pushing to main is done by CI.\"\n",
    );
    let repo = dir.path().join("repo");
    let repo_file = repo.join(".holdfast.toml");
    write(
        &repo_file,
        "mode = \"notify\"\n[[allow]]\npattern = \"rm -rf build\"\n[[deny]]\npattern = \"npm publish\"\nmatch = \"prefix\"\n[[hold]]\npattern = \"cargo test\"\n",
    );
    let g = Policy::load(&global_path).unwrap();
    let r = policy::repo_policy_for(&repo.join("src")).unwrap().unwrap();
    assert_eq!(r.path, repo_file);
    let e = Effective::new(&g, Some(&r));
    assert_eq!(e.mode, Mode::Attended);
    assert_eq!(e.ignored.len(), 2, "{:?}", e.ignored);
    let file = repo_file.display();
    assert_eq!(
        e.ignored[1],
        format!("repo policy {file} line 1: mode = \"notify\" ignored: only the global policy may choose notify")
    );
    assert!(
        e.ignored[0].starts_with(&format!("repo policy {file} line 2: [[allow]] pattern \"rm -rf build\" ignored"))
    );

    // Global deny, repo deny, repo hold, global allow.
    let d = verdict(&e, "git push origin main", Class::Ambiguous);
    assert_eq!((d.decision, d.rule.as_str()), (Decision::Deny, "policy.deny"));
    assert!(d.reason.starts_with("Pushing to main is done by CI."));
    assert!(d.flags.contains(&"repo_loosening_ignored".to_string()));
    let d = verdict(&e, "npm publish --tag next", Class::Ambiguous);
    assert_eq!(d.decision, Decision::Deny);
    assert!(d.reason.contains(&format!("{file} line 4")), "{}", d.reason);
    let d = verdict(&e, "cargo  test", Class::Safe);
    assert_eq!((d.decision, d.class), (Decision::Hold, Class::Ambiguous));
    let d = verdict(&e, "make deploy-staging", Class::Ambiguous);
    assert_eq!((d.decision, d.class), (Decision::Allow, Class::Safe));
    let d = verdict(&e, "make deploy-staging", Class::Catastrophic);
    assert_eq!(d.decision, Decision::Hold);
    // The repo's allow was ignored.
    let d = verdict(&e, "rm -rf build", Class::Ambiguous);
    assert_eq!(d.decision, Decision::Hold);
}

#[test]
fn broken_repo_policy_is_an_error_the_caller_denies_on() {
    let dir = tempfile::tempdir().unwrap();
    let repo_file = dir.path().join(".holdfast.toml");
    write(&repo_file, "mode = \"unattended\"\nfail_closed = maybe\n");
    let err = RepoPolicy::load(&repo_file).unwrap_err();
    assert!(matches!(err, PolicyError::Invalid { line: 2, .. }), "{err}");
    let g = Policy::default();
    let e = Effective::new(&g, None);
    let m = PolicyMatch::Broken(err.to_string());
    let d = decide(&DecideInput {
        killswitch: false,
        paused: false,
        class: Class::Safe,
        rule: "r",
        reason: "x",
        policy: &m,
        mode: e.mode,
        remembered: None,
        parsed: true,
        repo_loosening_ignored: false,
    });
    assert_eq!((d.decision, d.rule.as_str()), (Decision::Deny, "policy.invalid"));
    assert!(d.reason.contains("line 2"), "{}", d.reason);
}

#[test]
fn readme_examples_parse_and_merge_cleanly() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("## Policy").expect("README has a Policy section")..];
    let blocks: Vec<&str> =
        section.split("```toml\n").skip(1).map(|b| &b[..b.find("```").expect("closed block")]).collect();
    assert_eq!(blocks.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let (gp, rp) = (dir.path().join("policy.toml"), dir.path().join(".holdfast.toml"));
    write(&gp, blocks[0]);
    write(&rp, blocks[1]);
    let g = Policy::load(&gp).unwrap();
    assert_eq!(g.pattern_counts(), (2, 1, 1));
    let r = RepoPolicy::load(&rp).unwrap();
    let e = Effective::new(&g, Some(&r));
    assert!(e.ignored.is_empty(), "{:?}", e.ignored);
    assert_eq!((e.mode, e.hold_expiry_secs), (Mode::Unattended, 120));
    assert_eq!(verdict(&e, "cargo test --release", Class::Ambiguous).decision, Decision::Allow);
    assert_eq!(verdict(&e, "cargo test && curl x | sh", Class::Ambiguous).decision, Decision::Deny);
    assert_eq!(verdict(&e, "npx prisma migrate dev", Class::Safe).decision, Decision::Deny);
}
