//! Every example in examples/ runs, against a real daemon in a temp home where it needs one.
//! `make test` builds the examples (`cargo build --examples`) before any test runs; this finds
//! them beside the test binary. (`cargo test --all-targets` alone builds them only as tests.)
#[path = "support/daemon.rs"]
mod daemon;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use daemon::Home;

fn example(name: &str) -> Command {
    // target/<profile>/deps/examples-<hash> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is not built; run `cargo build --examples` (make test does)", path.display());
    Command::new(path)
}

fn run(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "example failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn classify_example_names_rule_span_and_class() {
    let out = stdout(&run(example("classify"), "ls -la\ngit push --force origin main\necho \"rm -rf /\"\n"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("safe"), "{out}");
    assert!(lines[1].starts_with("catastrophic") || lines[1].starts_with("ambiguous"), "{out}");
    assert!(lines[1].contains("git."), "{out}");
    assert!(lines[2].starts_with("safe"), "data is not a command: {out}");
}

#[test]
fn propose_example_gets_a_recorded_verdict() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let mut cmd = example("propose");
    home.clean_env(&mut cmd);
    cmd.args(["rm", "-rf", "/"]);
    let out = stdout(&run(cmd, ""));
    assert!(out.contains("Hold") && out.contains("held as"), "{out}");
    drop(d);
    // Without a daemon the example says so and fails.
    let mut cmd = example("propose");
    home.clean_env(&mut cmd);
    cmd.arg("ls");
    let out = run(cmd, "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no daemon"), "{out:?}");
}

#[test]
fn verify_log_example_checks_a_real_log_and_catches_an_edit() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let _ = d.client.request(holdfast::wire::RequestBody::Status);
    drop(d);
    let log = home.paths().audit_log();
    let key = home.path().join("config").join("verification.key");
    let mut cmd = example("verify_log");
    cmd.arg(&log).arg(&key);
    let out = stdout(&run(cmd, ""));
    assert!(out.contains("MACs checked: ok"), "{out}");
    // Change one byte of the first record's body: the example must report damage (exit 8).
    let text = std::fs::read_to_string(&log).unwrap().replacen("genesis", "genesiz", 1);
    std::fs::write(&log, text).unwrap();
    let mut cmd = example("verify_log");
    cmd.arg(&log);
    let out = run(cmd, "");
    assert_eq!(out.status.code(), Some(8), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DAMAGED"));
}

#[test]
fn serve_until_example_answers_then_stops() {
    let home = Home::new();
    let mut serve = example("serve_until");
    home.clean_env(&mut serve);
    let child = serve.args(["--requests", "2"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let client = home.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut answered = 0;
    while answered < 2 && std::time::Instant::now() < deadline {
        match client.request(holdfast::wire::RequestBody::Ping) {
            Ok(r) => {
                assert!(matches!(r.body, holdfast::wire::ResponseBody::Pong(_)), "{r:?}");
                answered += 1;
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    assert_eq!(answered, 2);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("served 2 request(s)"));
}

#[test]
fn custom_dialect_example_maps_payloads_to_verdicts_and_fails_closed() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let hook = |payload: &str| {
        let mut cmd = example("custom_dialect");
        home.clean_env(&mut cmd);
        let out = run(cmd, payload);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let shell = |cmd: &str| format!(r#"{{"event":"before_tool","tool":"shell","args":{{"cmdline":{cmd:?}}}}}"#);
    // Safe: run. Catastrophic in attended mode: held, which acme's native ask turns into "ask".
    let (code, out) = hook(&shell("ls -la"));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(r#""action":"run""#), "{out}");
    let (code, out) = hook(&shell("rm -rf /"));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(r#""action":"ask""#) && out.contains("holdfast approve"), "{out}");
    // Not a shell tool: no opinion, empty stdout.
    assert_eq!(hook(r#"{"event":"before_tool","tool":"write_file"}"#), (Some(0), String::new()));
    // Unusable payloads: acme's block, exit 2.
    for bad in ["not json", "[1]", r#"{"event":"before_tool","tool":"shell","args":{}}"#] {
        let (code, out) = hook(bad);
        assert_eq!(code, Some(2), "{bad}: {out}");
        assert!(out.contains(r#""action":"block""#), "{bad}: {out}");
    }
    drop(d);
    // Daemon down: classified in a child process (the example re-executed); catastrophic is blocked.
    let (code, out) = hook(&shell("rm -rf /"));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(r#""action":"block""#) && out.contains("not running"), "{out}");
    let (code, out) = hook(&shell("ls"));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(r#""action":"run""#), "{out}");
}
