//! The Windows locked posture through the real binary: `service install --system --root` stages the
//! marker and the directories; a daemon started on that marker serves its protected pipe; clients
//! find it with no `HOLDFAST_SOCKET`; an impostor on the pipe, another pipe, and a stopped daemon
//! all end in a deny. Runs under Wine in `make test-windows`.
//!
//! What Wine cannot show (one user, no ACL enforcement, no protected pipe prefixes): that another
//! user is refused `FILE_CREATE_PIPE_INSTANCE`, that only LocalService can create the pipe, that
//! `icacls` and `sc.exe` (printed here, not run) do what the golden plan says. The ACL is checked by
//! serializing it back (`pipe_acl_grants_allowed_users_without_create_instance`), the plan by
//! `tests/service_units.rs`.
#![cfg(windows)]

#[path = "support/daemon.rs"]
mod daemon;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use daemon::Home;
use holdfast::paths::Endpoint;
use holdfast::transport::Client;
use holdfast::trust::SystemDaemon;
use holdfast::wire::{RequestBody, ResponseBody};

const ALLOWED: &str = "S-1-5-21-1-2-3-1001";

/// A staged system install under a temp root.
struct Machine {
    home: Home,
    marker: PathBuf,
}

impl Machine {
    fn install() -> Machine {
        let home = Home::new();
        let root = home.path().join("root");
        let out = home.run(
            &["service", "install", "--system", "--root", &root.display().to_string(), "--allow-user", ALLOWED],
            "",
        );
        assert!(out.status.success(), "install: {}", text(&out));
        let marker = root.join(r"ProgramData\holdfast\holdfast.toml");
        assert!(text(&out).contains(&format!("wrote {}", marker.display())), "{}", text(&out));
        assert!(text(&out).contains("run: sc.exe create holdfast"), "commands are printed when staged");
        Machine { home, marker }
    }

    fn system(&self) -> SystemDaemon {
        SystemDaemon::load(&self.marker).unwrap()
    }

    fn pipe(&self) -> String {
        self.system().pipe_name().unwrap()
    }

    /// `holdfast args…` as a client on this machine: the marker, and no HOLDFAST_HOME or HOLDFAST_SOCKET.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.home.cmd();
        c.env_remove("HOLDFAST_HOME").env("HOLDFAST_SYSTEM", &self.marker).args(args);
        c
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
        let mut c = self.cmd(args);
        c.envs(env.iter().copied()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// The generic dialect's hook for `command`.
    fn hook(&self, env: &[(&str, &str)], command: &str) -> Output {
        let payload =
            holdfast::hook::dialect("generic").unwrap().sample(command, &self.home.path().display().to_string());
        // A held command waits this long for a human before it is denied.
        self.run(&["hook", "--agent", "generic", "--hold-wait-ms", "600"], env, &payload.to_string())
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn decision(o: &Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)));
    v["decision"].as_str().unwrap_or_default().to_string()
}

/// A daemon child, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` as a daemon and waits until `pipe` answers a ping (from this process, which has no
/// marker, so nothing is checked here).
fn serve(mut cmd: Command, pipe: &str) -> Running {
    let child = cmd.arg("daemon").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let running = Running(child);
    let client = Client::new(Endpoint::Pipe(pipe.into())).with_timeout(Duration::from_secs(2));
    let start = Instant::now();
    while !matches!(client.request(RequestBody::Ping).map(|r| r.body), Ok(ResponseBody::Pong(_))) {
        assert!(start.elapsed() < Duration::from_secs(20), "no daemon on {pipe}");
        std::thread::sleep(Duration::from_millis(20));
    }
    running
}

#[test]
fn the_marker_is_found_without_holdfast_socket_and_its_daemon_is_believed() {
    let m = Machine::install();
    let s = m.system();
    assert!(s.socket.to_string_lossy().starts_with(holdfast::trust::WINDOWS_PIPE_PREFIX), "{s:?}");
    assert_eq!(s.allow, [ALLOWED]);
    let _daemon = serve(m.cmd(&[]), &m.pipe());
    // The daemon wrote its PID file in the marker's run dir, where clients compare the server with it.
    assert!(s.pid_file().exists(), "{}", s.pid_file().display());
    let out = m.run(&["ping"], &[], "");
    assert!(out.status.success(), "ping through the marker: {}", text(&out));
    let root = m.marker.ancestors().nth(3).unwrap().display().to_string();
    let out = m.run(&["service", "status", "--root", &root], &[], "");
    assert!(
        text(&out).contains(r"account NT AUTHORITY\LocalService, socket \\.\pipe\ProtectedPrefix"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("  answering"), "{}", text(&out));
    let out = m.hook(&[], "ls");
    assert_eq!(decision(&out), "allow", "{}", text(&out));
    let out = m.hook(&[], "rm -rf /");
    assert_eq!(decision(&out), "deny", "{}", text(&out));
}

#[test]
fn an_impostor_on_the_pipe_or_another_pipe_is_refused_and_the_hook_denies() {
    let m = Machine::install();
    let pipe = m.pipe();
    // Another holdfast (its own home, no marker) serving the system daemon's pipe name: it answers
    // allow, but it is not the process the service recorded in its run dir.
    let other = Home::new();
    let mut impostor = other.cmd();
    impostor.env("HOLDFAST_SOCKET", &pipe);
    let _impostor = serve(impostor, &pipe);
    let out = m.hook(&[], "ls");
    assert_eq!(decision(&out), "deny", "{}", text(&out));
    assert!(text(&out).contains("not by the system daemon") && text(&out).contains("pid none"), "{}", text(&out));
    // A stale PID file (the service crashed) names another process: still refused.
    let pid_file = m.system().pid_file();
    std::fs::create_dir_all(pid_file.parent().unwrap()).unwrap();
    std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
    let out = m.hook(&[], "ls");
    assert_eq!(decision(&out), "deny", "{}", text(&out));
    assert!(text(&out).contains(&format!("recorded pid {}", std::process::id())), "{}", text(&out));
    let out = m.run(&["ping"], &[], "");
    assert!(!out.status.success() && text(&out).contains("impostor"), "{}", text(&out));

    // A pipe elsewhere (HOLDFAST_SOCKET) is never believed while the marker exists.
    let Endpoint::Pipe(own) = other.endpoint() else { panic!("a pipe") };
    let _own = serve(other.cmd(), &own);
    let elsewhere = other.endpoint().to_string();
    let out = m.hook(&[("HOLDFAST_SOCKET", &elsewhere)], "ls");
    assert_eq!(decision(&out), "deny", "{}", text(&out));
    assert!(text(&out).contains("only the system daemon's pipe"), "{}", text(&out));
}

#[test]
fn with_the_service_stopped_every_command_is_denied_and_says_how_to_start_it() {
    let m = Machine::install();
    for command in ["ls", "echo hi"] {
        let out = m.hook(&[], command);
        assert_eq!(decision(&out), "deny", "{}", text(&out));
        assert!(
            text(&out).contains("system daemon is not running") && text(&out).contains("HOLDFAST_SYSTEM="),
            "{}",
            text(&out)
        );
    }
    let out = m.run(&["ping"], &[], "");
    assert!(!out.status.success() && text(&out).contains("every command is denied"), "{}", text(&out));
    // A marker that names an unprotected pipe is itself refused: clients fail closed.
    let forged = std::fs::read_to_string(&m.marker).unwrap().replace(r"ProtectedPrefix\LocalService\", "");
    std::fs::write(&m.marker, forged).unwrap();
    let out = m.hook(&[], "ls");
    assert_eq!(decision(&out), "deny", "{}", text(&out));
    assert!(text(&out).contains("is not a name under"), "{}", text(&out));
}

#[test]
fn pipe_acl_grants_allowed_users_without_create_instance() {
    let sddl = holdfast::winsec::system_sddl(&[ALLOWED.into()]);
    let back = holdfast::winsec::dacl_round_trip(&sddl).unwrap();
    assert!(back.starts_with(holdfast::winsec::OWNER_ONLY_SDDL), "{back}");
    assert!(back.to_ascii_lowercase().contains(&format!("(a;;0x12019b;;;{})", ALLOWED.to_ascii_lowercase())), "{back}");
}
