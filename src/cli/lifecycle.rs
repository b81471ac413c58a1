//! `daemon`, `start`, `stop`, `status`, `ping`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use holdfast::audit::Durability;
use holdfast::daemon::{self, DaemonOptions};
use holdfast::paths::Paths;
use holdfast::transport::{Client, ClientError};
use holdfast::wire::{RequestBody, ResponseBody};

use super::Exit;
use super::auth::{PasswordArgs, prove};
use super::output::{JsonFlag, print_json};

/// How long `start` waits for the new daemon to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Args, Debug)]
pub struct DaemonArgs {
    /// Milliseconds a peer has to deliver a whole frame.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    frame_deadline_ms: u64,
    /// Milliseconds an admin challenge stays answerable (tests only; can only shorten the 60 s default).
    #[arg(long, hide = true, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    auth_nonce_ttl_ms: u64,
    #[command(flatten)]
    durability: DurabilityArgs,
    /// Run as a Windows service: speak the Service Control Manager's protocol (report Running,
    /// stop on Stop and Shutdown). Only for the service's command line (`service install`).
    #[arg(long)]
    service: bool,
    /// Root the config, data and endpoint under DIR, as HOLDFAST_HOME does (a service's
    /// environment cannot be set by `sc.exe`).
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
}

/// When audit records reach the disk.
#[derive(Args, Debug)]
pub struct DurabilityArgs {
    /// `always`: fdatasync before every answer. `batch`: at most every --batch-ms
    /// (a power loss may lose what was answered within that window).
    /// Default: `[daemon] durability` of the global policy, else `always`.
    #[arg(long, value_parser = ["always", "batch"])]
    durability: Option<String>,
    /// Sync interval of `--durability batch`, in milliseconds (default: the policy's, else 5).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch_ms: Option<u64>,
}

impl DurabilityArgs {
    /// The flags win; otherwise the global policy's `[daemon]` table decides.
    fn get(&self, paths: &Paths) -> Durability {
        use holdfast::policy::{Durability as Configured, Policy};
        // A broken policy file is reported by the daemon itself; durability then stays `always`.
        let configured = Policy::load(&paths.policy()).map(|p| p.daemon).unwrap_or_default();
        let batch = match self.durability.as_deref() {
            Some(d) => d == "batch",
            None => configured.durability == Configured::Batch,
        };
        let every = Duration::from_millis(self.batch_ms.unwrap_or(configured.batch_ms));
        if batch { Durability::Batch { every } } else { Durability::Always }
    }

    /// The flags to pass on to a spawned daemon.
    fn to_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(d) = &self.durability {
            out.extend(["--durability".to_string(), d.clone()]);
        }
        if let Some(ms) = self.batch_ms {
            out.extend(["--batch-ms".to_string(), ms.to_string()]);
        }
        out
    }
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Milliseconds a peer has to deliver a whole frame.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    frame_deadline_ms: u64,
    /// Also start the backstop watcher on these trees (default: the current repository).
    #[arg(long, num_args = 0.., value_name = "PATH")]
    watch: Option<Vec<PathBuf>>,
    #[command(flatten)]
    durability: DurabilityArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) password: PasswordArgs,
}

/// The client for the endpoint this environment resolves to.
pub fn client() -> Result<Client> {
    Ok(Client::new(Paths::from_env()?.endpoint))
}

/// The pid of the daemon answering on `client`'s endpoint, if one answers.
pub fn running_pid(client: &Client) -> Option<u32> {
    match client.request(RequestBody::Ping).ok()?.body {
        ResponseBody::Pong(p) => Some(p.pid),
        _ => None,
    }
}

/// `holdfast daemon`: foreground.
pub fn daemon(args: &DaemonArgs) -> Result<Exit> {
    let paths = match &args.home {
        Some(home) => {
            let home = std::path::absolute(home)?.into_os_string();
            Paths::resolve(&|k| if k == "HOLDFAST_HOME" { Some(home.clone()) } else { std::env::var_os(k) })?
        }
        None => Paths::from_env()?,
    };
    let options = DaemonOptions {
        frame_deadline: Duration::from_millis(args.frame_deadline_ms),
        auth_nonce_ttl: Duration::from_millis(args.auth_nonce_ttl_ms),
        durability: args.durability.get(&paths),
    };
    if args.service {
        return service_daemon(paths, options);
    }
    let signals = holdfast::signals::install().context("cannot install signal handlers")?;
    daemon::run(paths, options, &signals)?;
    Ok(Exit::Ok)
}

/// `holdfast daemon --service` on Windows: the daemon under the Service Control Manager.
#[cfg(windows)]
fn service_daemon(paths: Paths, options: DaemonOptions) -> Result<Exit> {
    let body: holdfast::winservice::Body =
        Box::new(move |signals| daemon::run(paths, options, signals).map_err(|e| format!("{e:#}")));
    holdfast::winservice::run(holdfast::service::units::WINDOWS_SERVICE, body)?;
    Ok(Exit::Ok)
}

/// `holdfast daemon --service` elsewhere: an error (systemd and launchd run `holdfast daemon`).
#[cfg(not(windows))]
fn service_daemon(_paths: Paths, _options: DaemonOptions) -> Result<Exit> {
    bail!("--service is for the Windows Service Control Manager; systemd and launchd run `holdfast daemon`")
}

/// `holdfast start`: detached daemon, returns once it answers `ping`.
pub fn start(args: &StartArgs) -> Result<Exit> {
    let paths = Paths::from_env()?;
    let client = Client::new(paths.endpoint.clone()).with_timeout(Duration::from_secs(2));
    if let Some(pid) = running_pid(&client) {
        bail!(holdfast::transport::BindError::AlreadyRunning { pid, endpoint: paths.endpoint.to_string() });
    }
    // Said here, at the terminal, rather than only in the daemon's log.
    if let Err(e) = holdfast::policy::Policy::load(&paths.policy()) {
        bail!(e.refusal());
    }
    holdfast::paths::ensure_private_dir(&paths.data_dir)?;
    let log_path = paths.data_dir.join("daemon.log");
    let mut cmd = background(&log_path)?;
    cmd.arg("daemon")
        .arg("--frame-deadline-ms")
        .arg(args.frame_deadline_ms.to_string())
        .args(args.durability.to_args());
    detach(&mut cmd);
    let mut child = cmd.spawn().context("cannot spawn the daemon")?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("the daemon exited during start-up ({status}); see {}", log_path.display());
        }
        if let Some(pid) = running_pid(&client) {
            let watcher = match &args.watch {
                Some(trees) => Some(start_watcher(&paths, trees)?),
                None => None,
            };
            if args.json {
                let endpoint = paths.endpoint.to_string();
                let mut v = serde_json::json!({"started": true, "pid": pid, "endpoint": endpoint, "log": log_path});
                if let Some(w) = watcher {
                    v["watch_pid"] = w.into();
                }
                print_json(&v);
            } else {
                println!("holdfast started (pid {pid}) on {}", paths.endpoint);
                if let Some(w) = watcher {
                    println!("watcher started (pid {w}); log {}", paths.data_dir.join("watch.log").display());
                }
            }
            return Ok(Exit::Ok);
        }
        if Instant::now() > deadline {
            bail!("the daemon did not answer within {START_TIMEOUT:?}; see {}", log_path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// This `holdfast` executable as a background process: no stdin or stdout, stderr appended to
/// `log_path` (0600).
fn background(log_path: &std::path::Path) -> Result<Command> {
    let log = holdfast::paths::private_open_options()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let exe = std::env::current_exe().context("cannot find the holdfast executable")?;
    let mut cmd = Command::new(exe);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(log));
    Ok(cmd)
}

/// The watcher's PID file (written by the watcher; removing it stops the watcher).
fn watch_pid_file(paths: &Paths) -> PathBuf {
    paths.run_dir.join("watch.pid")
}

/// Starts a detached `holdfast watch` on `trees` and waits until it watches.
fn start_watcher(paths: &Paths, trees: &[PathBuf]) -> Result<u32> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let roots = holdfast::watch::resolve_roots(trees, &[], &cwd)?;
    let pid_file = watch_pid_file(paths);
    let log_path = paths.data_dir.join("watch.log");
    let mut cmd = background(&log_path)?;
    cmd.arg("watch").arg("--pid-file").arg(&pid_file).arg("--").args(&roots);
    detach(&mut cmd);
    let mut child = cmd.spawn().context("cannot spawn the watcher")?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("the watcher exited during start-up ({status}); see {}", log_path.display());
        }
        // The watcher writes its pid once every tree is watched.
        if holdfast::transport::read_pid_file(&pid_file) == Some(child.id()) {
            return Ok(child.id());
        }
        if Instant::now() > deadline {
            bail!("the watcher did not start within {START_TIMEOUT:?}; see {}", log_path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops a watcher that `start --watch` began: taking its pid file away tells it to
/// flush and exit (no signal to a pid that may have been reused). Returns its pid.
fn stop_watcher(paths: &Paths) -> Option<u32> {
    let pid_file = watch_pid_file(paths);
    let pid = holdfast::transport::read_pid_file(&pid_file)?;
    std::fs::remove_file(&pid_file).ok()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && process_alive(pid) {
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(pid)
}

/// The pid of the watcher `start --watch` began, if it runs.
fn watcher_pid(paths: &Paths) -> Option<u32> {
    let pid = holdfast::transport::read_pid_file(&watch_pid_file(paths))?;
    // Windows has no cheap liveness test here: the watcher removes its pid file when it exits.
    (cfg!(windows) || process_alive(pid)).then_some(pid)
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
    rustix::process::test_kill_process(pid).is_ok()
}

#[cfg(windows)]
fn process_alive(_pid: u32) -> bool {
    // No handle to wait on: the watcher checks its pid file every 250 ms and then
    // flushes for at most 2 s; give it that long.
    std::thread::sleep(Duration::from_millis(2500));
    false
}

#[cfg(unix)]
fn detach(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // Own process group: the terminal's Ctrl-C must not reach the background daemon.
    cmd.process_group(0);
}

#[cfg(windows)]
fn detach(cmd: &mut Command) {
    use std::os::windows::process::CommandExt;
    const DETACHED_PROCESS: u32 = 0x0000_0008;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    cmd.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
}

/// `holdfast stop`.
pub fn stop(args: &StopArgs) -> Result<Exit> {
    let paths = Paths::from_env()?;
    // The watcher first, so it can still hand its last changes to the daemon.
    let watcher = stop_watcher(&paths);
    if let Some(w) = watcher.filter(|_| !args.json) {
        println!("watcher stopped (pid {w})");
    }
    let client = Client::new(paths.endpoint.clone());
    let pid = match client.request(RequestBody::Ping)?.body {
        ResponseBody::Pong(p) => p.pid,
        other => bail!("unexpected answer to ping: {other:?}"),
    };
    let proof = prove(&client, "shutdown", &args.password)?;
    match client.request(RequestBody::Shutdown(proof))?.body {
        ResponseBody::Ack(_) => {}
        ResponseBody::Error(e) => return Err(anyhow::Error::new(e).context("the daemon refused to stop")),
        other => bail!("unexpected answer to shutdown: {other:?}"),
    }
    // Wait until the endpoint is gone so that a following `start` finds it free.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match client.request(RequestBody::Ping) {
            Err(ClientError::NotRunning(_)) => break,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    if args.json {
        let mut v = serde_json::json!({"stopped": true, "pid": pid});
        if let Some(w) = watcher {
            v["watch_pid"] = w.into();
        }
        print_json(&v);
    } else {
        println!("holdfast stopped (pid {pid})");
    }
    Ok(Exit::Ok)
}

/// `holdfast status`.
pub fn status(args: &JsonFlag) -> Result<Exit> {
    let client = client()?;
    let status = match client.request(RequestBody::Status) {
        Ok(r) => match r.body {
            ResponseBody::Status(s) => s,
            other => bail!("unexpected answer to status: {other:?}"),
        },
        Err(ClientError::NotRunning(endpoint)) => {
            if args.json {
                print_json(&serde_json::json!({"running": false, "endpoint": endpoint}));
            } else {
                println!("holdfast is not running (endpoint {endpoint})");
            }
            return Ok(Exit::NotRunning);
        }
        Err(e) => return Err(e.into()),
    };
    let watcher = watcher_pid(&Paths::from_env()?);
    if args.json {
        let mut v = serde_json::to_value(&status)?;
        v["running"] = true.into();
        v["watcher"] = serde_json::json!({"running": watcher.is_some(), "pid": watcher});
        print_json(&v);
    } else {
        println!("holdfast {} running", status.version);
        println!("  pid        {}", status.pid);
        println!("  endpoint   {}", status.endpoint);
        if let Some(tcp) = &status.tcp {
            println!("  tcp        tcp://{tcp} (token in {})", Paths::from_env()?.tcp_token().display());
        }
        println!("  uptime     {}s", status.uptime_s);
        println!("  requests   {} ({} errors)", status.requests, status.errors);
        println!("  vault      {}", status.vault);
        println!("  audit log  seq {} ({})", status.log_seq, status.durability);
        for d in &status.log_damage {
            println!("  LOG DAMAGE {d}");
        }
        let mut mode = status.mode.clone();
        if status.paused {
            mode.push_str(", PAUSED (recording without enforcing)");
        }
        println!("  mode       {mode}");
        if status.panic {
            println!("  KILL SWITCH ENGAGED: every command is denied (`holdfast panic --release` to release)");
        }
        if let Some(e) = &status.policy_error {
            println!("  POLICY     {e}");
        }
        println!("  pending    {} held, {} remembered decisions", status.pending, status.remembered);
        if status.notify_missed > 0 {
            println!(
                "  NOTIFY     {} holds not announced by the [notify] program (the daemon's log says why)",
                status.notify_missed
            );
        }
        match watcher {
            Some(pid) => println!("  watcher    running (pid {pid})"),
            None => println!(
                "  watcher    not running: changes that bypass the hooks go unseen (`holdfast start --watch DIR`)"
            ),
        }
        if status.bypass_flags > 0 {
            println!(
                "  BYPASS     {} changes no command explains (`holdfast log tail` shows them)",
                status.bypass_flags
            );
        }
    }
    Ok(Exit::Ok)
}

/// `holdfast ping`.
pub fn ping(args: &JsonFlag) -> Result<Exit> {
    let client = client()?;
    let started = Instant::now();
    let r = client.request(RequestBody::Ping)?;
    let micros = started.elapsed().as_micros();
    match r.body {
        ResponseBody::Pong(p) if args.json => {
            print_json(&serde_json::json!({"pong": true, "pid": p.pid, "version": p.version, "rtt_us": micros}))
        }
        ResponseBody::Pong(p) => println!("pong from pid {} in {micros} µs", p.pid),
        other => bail!("unexpected answer to ping: {other:?}"),
    }
    Ok(Exit::Ok)
}
