//! Command-line surface (DESIGN §8). Thin: parse, call the library, print.

mod auth;
mod classify;
mod completions;
mod console;
mod container;
mod control;
mod doctor;
mod exec;
mod exit;
mod explain;
mod export;
mod hook;
mod init;
mod lifecycle;
mod log;
mod notify;
mod output;
mod pipe;
mod probe;
mod queue;
mod rules;
mod service;
mod sessions;
mod uninstall;
mod vault;
mod watch;

use clap::{Parser, Subcommand};

pub use exit::Exit;
pub use pipe::quiet_on_broken_pipe;

/// holdfast: the seatbelt between AI coding agents and your machine.
#[derive(Parser, Debug)]
#[command(name = "holdfast", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the daemon in the foreground (logs to stderr).
    Daemon(lifecycle::DaemonArgs),
    /// Start the daemon in the background; returns once it answers.
    Start(lifecycle::StartArgs),
    /// Stop the running daemon.
    Stop(lifecycle::StopArgs),
    /// Show whether the daemon runs, and its state.
    Status(output::JsonFlag),
    /// Check that the daemon answers.
    Ping(output::JsonFlag),
    /// Propose a command to the daemon and print its verdict (exit 0 allow, 4 deny, 5 hold).
    Propose(queue::ProposeArgs),
    /// List the commands waiting for a human.
    Pending(queue::PendingArgs),
    /// The approval console: what is held, live, answered with one key (plain text when piped).
    Console(console::ConsoleArgs),
    /// List the open approval sessions, or revoke one.
    Sessions(sessions::SessionsArgs),
    /// Show a desktop notification whenever a command is held (run it in your desktop session).
    Notify(notify::NotifyArgs),
    /// Approve a held command.
    Approve(queue::DecideArgs),
    /// Deny a held command.
    Deny(queue::DecideArgs),
    /// Engage the kill switch: deny every command until released (`--release`, privileged).
    Panic(control::PanicArgs),
    /// Stop enforcing (commands are still recorded) until `resume`. Privileged.
    Pause(control::SwitchArgs),
    /// Enforce again after `pause`. Privileged.
    Resume(control::SwitchArgs),
    /// Re-read the global policy. Privileged.
    Reload(control::SwitchArgs),
    /// Classify a command without a daemon: class, rule, reason and the part that triggered it.
    Classify(classify::ClassifyArgs),
    /// List every classifier rule: id, class, family, reason and the safer way.
    Rules(output::JsonFlag),
    /// Show how a command is parsed, unwrapped and matched, and what the policies decide.
    Explain(explain::ExplainArgs),
    /// Manage the admin vault (the password that guards privileged operations).
    #[command(subcommand)]
    Vault(vault::VaultCommand),
    /// Install, remove or inspect the daemon as an OS service (systemd, launchd, Windows service).
    #[command(subcommand)]
    Service(service::ServiceCommand),
    /// Watch trees for changes that bypass the hooks and report them to the daemon.
    Watch(watch::WatchArgs),
    /// The audit log: verify, tail, head.
    #[command(subcommand)]
    Log(log::LogCommand),
    /// The agent hook: reads the agent's JSON on stdin, answers in its protocol.
    Hook(hook::HookArgs),
    /// How an agent in a dev container reaches this daemon: the mount and environment to use.
    Container(container::ContainerArgs),
    /// Install holdfast's hook into each detected agent (and start the daemon).
    Init(init::InitArgs),
    /// Check that holdfast is running and every agent's hook fires.
    Doctor(output::JsonFlag),
    /// Propose a command, then run it (waiting on a hold).
    Exec(exec::ExecArgs),
    /// Record a command a human already ran (for shell integration; never blocks).
    Record(exec::RecordArgs),
    /// Print the shell snippet that records each command you run.
    ShellInit(exec::ShellInitArgs),
    /// Print shell completions: `holdfast completions bash > …` (bash, zsh, fish, powershell, elvish).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff); `make man` writes it to target/man/holdfast.1.
    #[command(hide = true)]
    Man,
    /// Remove holdfast: agents' hooks, the running daemon, its files. Shows the plan; `--yes` does it.
    Uninstall(uninstall::UninstallArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    if hook::is_classifier_child(std::env::args_os().skip(1)) {
        return holdfast::hook::isolate::child_main();
    }
    // `hook` runs once per agent shell command, so it skips building clap's command tree
    // (see `hook::fast_args`); any argv it does not fully recognise falls through to clap.
    if let Some(args) = hook::fast_args(std::env::args_os().skip(1)) {
        return hook::hook(&args);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Exit::Usage as i32 } else { Exit::Ok as i32 };
        }
    };
    let result = match cli.command {
        Command::Hook(a) => return hook::hook(&a),
        Command::Exec(a) => {
            return exec::exec(&a).unwrap_or_else(|e| {
                eprintln!("holdfast: {e:#}");
                Exit::from_error(&e) as i32
            });
        }
        Command::Record(a) => Ok(exec::record(&a)),
        Command::ShellInit(a) => exec::shell_init(&a),
        Command::Completions(a) => completions::completions(&a),
        Command::Man => completions::man(),
        Command::Uninstall(a) => uninstall::uninstall(&a),
        Command::Init(a) => init::init(&a),
        Command::Container(a) => container::container(&a),
        Command::Doctor(a) => doctor::doctor(&a),
        Command::Daemon(a) => lifecycle::daemon(&a),
        Command::Start(a) => lifecycle::start(&a),
        Command::Stop(a) => lifecycle::stop(&a),
        Command::Status(a) => lifecycle::status(&a),
        Command::Ping(a) => lifecycle::ping(&a),
        Command::Classify(a) => classify::run(&a),
        Command::Rules(a) => rules::run(&a),
        Command::Explain(a) => explain::run(&a),
        Command::Propose(a) => queue::propose(&a),
        Command::Pending(a) => queue::pending(&a),
        Command::Console(a) => console::console(&a),
        Command::Notify(a) => notify::notify(&a),
        Command::Sessions(a) => sessions::sessions(&a),
        Command::Approve(a) => queue::decide(&a, true),
        Command::Deny(a) => queue::decide(&a, false),
        Command::Panic(a) => control::panic(&a),
        Command::Pause(a) => control::switch("pause", &a),
        Command::Resume(a) => control::switch("resume", &a),
        Command::Reload(a) => control::switch("reload", &a),
        Command::Vault(c) => vault::run(&c),
        Command::Service(c) => service::run(&c),
        Command::Watch(a) => watch::watch(&a),
        Command::Log(c) => log::run(&c),
    };
    match result {
        Ok(code) => code as i32,
        Err(e) if pipe::is_broken_pipe(&e) => pipe::EXIT_BROKEN_PIPE,
        Err(e) => {
            eprintln!("holdfast: {e:#}");
            let exit = Exit::from_error(&e);
            if wants_json() {
                output::print_json(&output::error_json(&e, exit));
            }
            exit as i32
        }
    }
}

/// True when `--json` was given (before any `--`): a failure is then reported on stdout too.
fn wants_json() -> bool {
    std::env::args().skip(1).take_while(|a| a != "--").any(|a| a == "--json")
}
