//! The locked posture end to end, with two real Unix accounts (needs root; skipped otherwise).
//!
//! `service install --system` (staged under a temp root, so the machine's own `/etc` is untouched)
//! creates the daemon account; the daemon runs as it (`setpriv`, as systemd would); an "agent" account
//! in the daemon's group then tries every attack a hostile agent could, and each must fail — and be
//! recorded where it reaches the daemon.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DAEMON_ACCOUNT: &str = "hfltestd";
const AGENT_ACCOUNT: &str = "hfltesta";
const PW: &str = "correct horse battery staple";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_holdfast")
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn uid_of(name: &str) -> Option<u32> {
    let out = Command::new("id").args(["-u", name]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Removes both test accounts, whether the test passed or not (and before it, if a previous run died).
struct Accounts;

impl Accounts {
    fn fresh() -> Accounts {
        Accounts.remove();
        let ok = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/usr/sbin/nologin", AGENT_ACCOUNT])
            .status()
            .unwrap()
            .success();
        assert!(ok, "useradd {AGENT_ACCOUNT}");
        Accounts
    }

    fn remove(&self) {
        for name in [AGENT_ACCOUNT, DAEMON_ACCOUNT] {
            if uid_of(name).is_some() {
                let _ = Command::new("userdel").arg(name).status();
            }
        }
        let _ = Command::new("groupdel").arg(DAEMON_ACCOUNT).stderr(Stdio::null()).status();
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The staged install root and the environment every process of the test gets.
struct Machine {
    root: tempfile::TempDir,
}

impl Machine {
    fn marker(&self) -> PathBuf {
        self.root.path().join("etc/holdfast.toml")
    }

    fn path(&self, p: &str) -> PathBuf {
        self.root.path().join(p)
    }

    /// A holdfast command as `user` (None: root), with only the marker in its environment.
    fn cmd(&self, user: Option<&str>, args: &[&str]) -> Command {
        let mut c = match user {
            Some(u) => {
                let mut c = Command::new("setpriv");
                c.args([&format!("--reuid={u}"), &format!("--regid={u}"), "--init-groups", bin()]);
                c
            }
            None => Command::new(bin()),
        };
        c.args(args)
            .env_clear()
            .env("HOLDFAST_SYSTEM", self.marker())
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", "/nonexistent");
        c
    }

    fn run(&self, user: Option<&str>, args: &[&str], stdin: &str) -> Output {
        let mut child =
            self.cmd(user, args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    /// A shell command as `user`.
    fn sh(&self, user: &str, script: &str) -> Output {
        Command::new("setpriv")
            .args([&format!("--reuid={user}"), &format!("--regid={user}"), "--init-groups", "sh", "-c", script])
            .output()
            .unwrap()
    }

    fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("var/lib/holdfast/audit.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

struct Daemon(Child);

impl Daemon {
    fn start(m: &Machine) -> Daemon {
        let child = m.cmd(Some(DAEMON_ACCOUNT), &["daemon"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        let d = Daemon(child.unwrap());
        let start = Instant::now();
        while !m.run(None, &["ping"], "").status.success() {
            assert!(start.elapsed() < Duration::from_secs(20), "the system daemon did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn generic_hook(m: &Machine, extra_env: &[(&str, &str)], command: &str) -> Output {
    generic_hook_in(m, extra_env, "/", command)
}

fn generic_hook_in(m: &Machine, extra_env: &[(&str, &str)], cwd: &str, command: &str) -> Output {
    let mut c = m.cmd(Some(AGENT_ACCOUNT), &["hook", "--agent", "generic"]);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let payload = serde_json::json!({"command": command, "cwd": cwd}).to_string();
    let _ = child.stdin.take().unwrap().write_all(payload.as_bytes());
    child.wait_with_output().unwrap()
}

/// Root serves an "allow" on a socket in a directory owned by the daemon's uid, then the agent's
/// hook is pointed at it.
fn impostor_with_the_right_owner(m: &Machine, daemon_uid: u32) -> Output {
    use std::io::{BufRead, BufReader};
    let dir = m.path("impostor");
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("holdfast.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    for (p, mode) in [(&dir, 0o755), (&sock, 0o777)] {
        std::os::unix::fs::chown(p, Some(daemon_uid), None).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let server = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut line = String::new();
            let _ = BufReader::new(&s).read_line(&mut line);
            let allow = r#"{"v":1,"kind":"verdict","decision":"allow","class":"safe","rule":"x","reason":"x","seq":1}"#;
            let _ = s.write_all(format!("{allow}\n").as_bytes());
        }
    });
    let out = generic_hook(m, &[("HOLDFAST_SOCKET", sock.to_str().unwrap())], "rm -rf /");
    // The hook never connected when it refused early; unblock the accept either way.
    let _ = std::os::unix::net::UnixStream::connect(&sock);
    server.join().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    out
}

fn propose(m: &Machine, command: &str) -> serde_json::Value {
    propose_in(m, "/", command)
}

fn propose_in(m: &Machine, cwd: &str, command: &str) -> serde_json::Value {
    let out = m.run(Some(AGENT_ACCOUNT), &["propose", "--json", "--cwd", cwd, "--", command], "");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        let ls = Command::new("ls").arg("-lan").arg(m.path("run/holdfast")).output().unwrap();
        let id = m.sh(AGENT_ACCOUNT, "id");
        panic!("propose: {}\n{}\n{}", text(&out), text(&ls), text(&id))
    })
}

#[test]
fn the_agent_account_cannot_read_forge_signal_or_impersonate() {
    if !is_root() {
        eprintln!("skipped: the locked posture test creates accounts and needs root");
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: setpriv is not installed");
        return;
    }
    let _accounts = Accounts::fresh();
    let root = tempfile::Builder::new().prefix("hfl").tempdir_in("/tmp").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let m = Machine { root };
    let root_arg = m.root.path().to_str().unwrap().to_string();
    let scope = ["--system", "--account", DAEMON_ACCOUNT, "--root", &root_arg];

    // Install: the account, the directories, the marker; the agent's user joins the group.
    let mut args = vec!["service", "install"];
    args.extend(scope);
    args.extend(["--allow-user", AGENT_ACCOUNT]);
    let out = m.run(None, &args, "");
    assert!(out.status.success(), "install: {}", text(&out));
    let daemon_uid = uid_of(DAEMON_ACCOUNT).expect("install created the daemon account");
    // Desktop notifications run in each user's session, not under the daemon's account.
    let notify_unit = std::fs::read_to_string(m.root.path().join("etc/systemd/user/holdfast-notify.service"))
        .expect("install wrote the notifier's user unit");
    assert!(notify_unit.lines().any(|l| l.starts_with("ExecStart=") && l.ends_with(" notify")), "{notify_unit}");
    let agent_uid = uid_of(AGENT_ACCOUNT).unwrap();
    let out = m.run(None, &["vault", "init", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "vault init: {}", text(&out));
    let d = Daemon::start(&m);

    // Proposals from the agent's user are answered and recorded with its uid.
    let held = propose(&m, "rm -rf /");
    let id = held["pending"].as_str().unwrap_or_else(|| panic!("held: {held}")).to_string();
    let held2 = propose(&m, "rm -rf /srv");
    let id2 = held2["pending"].as_str().unwrap().to_string();
    let proposed: Vec<_> = m.audit().into_iter().filter(|r| r["body"]["kind"] == "propose").collect();
    assert!(!proposed.is_empty());
    assert!(proposed.iter().all(|r| r["body"]["peer"]["uid"] == agent_uid), "{proposed:?}");

    // The human with the password approves (here typed into the agent user's terminal).
    let out = m.run(Some(AGENT_ACCOUNT), &["approve", &id, "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "approve with the password: {}", text(&out));

    // The agent cannot read the vault, the log or the sealing key.
    for f in ["etc/holdfast/vault.json", "var/lib/holdfast/audit.jsonl", "var/lib/holdfast/seal.key"] {
        let p = m.path(f);
        assert!(p.exists(), "{f} exists");
        let out = m.sh(AGENT_ACCOUNT, &format!("cat '{}'", p.display()));
        assert!(!out.status.success(), "the agent read {f}");
    }

    // Privileged ops without the password: refused, each attempt recorded with the agent's uid.
    let guess = "a password the agent guessed\n";
    for args in [
        vec!["approve", id2.as_str()],
        vec!["deny", id2.as_str()],
        vec!["stop"],
        vec!["pause"],
        vec!["reload"],
        vec!["resume"],
    ] {
        let mut a = args.clone();
        a.push("--password-stdin");
        let out = m.run(Some(AGENT_ACCOUNT), &a, guess);
        assert!(!out.status.success(), "{args:?} succeeded without the password: {}", text(&out));
    }
    let admin: Vec<_> = m
        .audit()
        .into_iter()
        .filter(|r| r["body"]["kind"] == "admin" && r["body"]["peer"]["uid"] == agent_uid)
        .map(|r| r["body"]["data"]["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(admin.first().map(String::as_str), Some("ok"), "the password's approval: {admin:?}");
    assert!(admin[1..].len() >= 5 && admin[1..].iter().all(|o| o == "bad_proof" || o == "locked_out"), "{admin:?}");

    // Signals: the agent cannot kill the daemon.
    let out = m.sh(AGENT_ACCOUNT, &format!("kill -9 {}", d.0.id()));
    assert!(!out.status.success(), "the agent signalled the daemon");
    assert!(m.run(None, &["ping"], "").status.success(), "the daemon survived");

    // Planting: the agent cannot create anything in the socket's directory...
    let run_dir = m.path("run/holdfast");
    let out = m.sh(AGENT_ACCOUNT, &format!("touch '{}/x'", run_dir.display()));
    assert!(!out.status.success(), "the agent wrote into {}", run_dir.display());
    // ...and its own daemon, wherever the hook is pointed, is refused: the command is denied.
    let fake_home = Path::new("/tmp").join(format!("hflfake{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fake_home);
    std::fs::create_dir_all(&fake_home).unwrap();
    std::os::unix::fs::chown(&fake_home, Some(agent_uid), None).unwrap();
    let mut fake = m
        .cmd(Some(AGENT_ACCOUNT), &["daemon"])
        .env("HOLDFAST_HOME", &fake_home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let fake_sock = fake_home.join("run/holdfast.sock");
    let start = Instant::now();
    while !fake_sock.exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = generic_hook(&m, &[("HOLDFAST_SOCKET", fake_sock.to_str().unwrap())], "ls");
    let _ = fake.kill();
    let _ = fake.wait();
    let _ = std::fs::remove_dir_all(&fake_home);
    assert_eq!(out.status.code(), Some(2), "the hook believed an impostor: {}", text(&out));
    assert!(text(&out).contains(&format!("is owned by uid {agent_uid}")), "{}", text(&out));
    // An impostor whose socket and directory look right (only root could arrange that) is still
    // refused by the peer check: it answers "allow" as root, not as the daemon's uid.
    let out = impostor_with_the_right_owner(&m, daemon_uid);
    assert_eq!(out.status.code(), Some(2), "the hook believed an impostor: {}", text(&out));
    assert!(text(&out).contains("served by uid 0"), "{}", text(&out));
    // The real daemon through the hook: a safe command is allowed.
    let out = generic_hook(&m, &[], "ls");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The agent's repositories, which the daemon's account cannot read: the policy travels with
    // the proposal.
    repository_policy_reaches_the_daemon_through_the_client(&m, agent_uid);

    // The daemon down: the hook denies everything and says how to start it.
    d.stop();
    let out = generic_hook(&m, &[], "ls");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("system daemon is not running"), "{}", text(&out));

    // Uninstall --purge leaves nothing behind: no file, socket or account.
    let mut args = vec!["service", "uninstall", "--purge"];
    args.extend(scope);
    let out = m.run(None, &args, "");
    assert!(out.status.success(), "uninstall: {}", text(&out));
    let mut left = Vec::new();
    let mut dirs = vec![m.root.path().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                left.push(e.path());
            }
        }
    }
    assert!(left.is_empty(), "uninstall left {left:?}");
    assert_eq!(uid_of(DAEMON_ACCOUNT), None, "uninstall --purge removed the account (was uid {daemon_uid})");
}

/// A repository the daemon's account cannot read, twice: a private directory (the daemon cannot
/// even see the file) and a readable directory with a private file (it sees it, cannot read it).
/// Its `[[deny]]` applies through the hook and the CLI, and its `[[allow]]` is ignored and reported.
fn repository_policy_reaches_the_daemon_through_the_client(m: &Machine, agent_uid: u32) {
    use std::os::unix::fs::PermissionsExt;
    let policy = "[[deny]]\npattern = \"make release\"\n\n[[allow]]\npattern = \"rm -rf /srv\"\n";
    for (dir_mode, name) in [(0o700, "private-dir"), (0o755, "private-file")] {
        let repo = m.path(&format!("home/{name}"));
        std::fs::create_dir_all(&repo).unwrap();
        let file = repo.join(".holdfast.toml");
        std::fs::write(&file, policy).unwrap();
        for (p, mode) in [(m.path("home"), 0o755), (repo.clone(), dir_mode), (file.clone(), 0o600)] {
            std::os::unix::fs::chown(&p, Some(agent_uid), None).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let out = m.sh(DAEMON_ACCOUNT, &format!("cat '{}'", file.display()));
        assert!(!out.status.success(), "{name}: the daemon's account can read the repository policy");
        let cwd = repo.to_str().unwrap();

        let out = generic_hook_in(m, &[], cwd, "make release");
        assert_eq!(out.status.code(), Some(2), "{name}: the hook allowed a repository deny: {}", text(&out));
        let rec = last_propose(m);
        assert_eq!(rec["verdict"]["rule"], "policy.deny", "{name}: {rec}");
        assert_eq!(rec["repo_policy"]["source"], "client", "{name}: {rec}");
        assert_eq!(rec["repo_policy"]["path"], file.to_str().unwrap(), "{name}: {rec}");

        let v = propose_in(m, cwd, "make release");
        assert_eq!((v["decision"].as_str(), v["rule"].as_str()), (Some("deny"), Some("policy.deny")), "{name}: {v}");

        // The carried [[allow]] loosens nothing: the catastrophic command is still held, and
        // the attempt is reported exactly as for a file the daemon reads.
        let v = propose_in(m, cwd, "rm -rf /srv");
        assert_eq!(v["decision"], "hold", "{name}: {v}");
        assert!(v["flags"].as_array().unwrap().iter().any(|f| f == "repo_loosening_ignored"), "{name}: {v}");
        let rec = last_propose(m);
        let ignored = format!(
            "repo policy {} line 4: [[allow]] pattern \"rm -rf /srv\" ignored: a repository policy cannot allow \
             commands; only the global policy may",
            file.display()
        );
        assert_eq!(rec["repo_policy_ignored"], serde_json::json!([ignored]), "{name}: {rec}");
        assert_eq!(rec["repo_policy"]["source"], "client", "{name}: {rec}");
    }
    std::fs::remove_dir_all(m.path("home")).unwrap();
}

/// The data of the newest `propose` record.
fn last_propose(m: &Machine) -> serde_json::Value {
    let records = m.audit();
    let last = records.iter().rev().find(|r| r["body"]["kind"] == "propose").expect("a propose record");
    last["body"]["data"].clone()
}
