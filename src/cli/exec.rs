//! `exec -- CMD…` (propose, then run), `record -- CMD` (a human already ran it), `shell-init SHELL`.

use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, ValueEnum};
use holdfast::hook::approve_hint;
use holdfast::hook::flow::{self, Ctx, Outcome, WaitEnd};
use holdfast::paths::Paths;
use holdfast::transport::Client;
use holdfast::wire::{Proposal, RequestBody, ResponseBody};

use super::Exit;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Agent name recorded with the proposal.
    #[arg(long, default_value = "exec")]
    agent: String,
    /// Give up waiting on a hold after this many milliseconds (default: wait until decided).
    #[arg(long, hide = true)]
    hold_wait_ms: Option<u64>,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true, num_args = 1..)]
    command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Say on stderr when the record could not be sent.
    #[arg(long)]
    verbose: bool,
    /// Who ran the command.
    #[arg(long, default_value = "human")]
    agent: String,
    /// The command line as it was run.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true, num_args = 1..)]
    command: Vec<String>,
}

/// Shells `shell-init` knows.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
pub struct ShellInitArgs {
    /// The shell to print the snippet for.
    shell: Shell,
}

/// Quotes words for a POSIX shell so the proposed line reads as what will run.
fn shell_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
            if plain { w.clone() } else { format!("'{}'", w.replace('\'', r"'\''")) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `holdfast exec -- CMD…`: returns the exit code (the command's own when it ran).
pub fn exec(args: &ExecArgs) -> Result<i32> {
    let paths = Paths::from_env()?;
    let ctx = Ctx::new(&paths, Duration::ZERO);
    let cwd = std::env::current_dir()?.display().to_string();
    let raw = shell_join(&args.command);
    let proposal = Proposal {
        agent: args.agent.clone(),
        cwd: cwd.clone(),
        raw: raw.clone(),
        argv: Some(args.command.clone()),
        pid: Some(std::process::id()),
        repo_policy: holdfast::policy::carry::carry(std::path::Path::new(&cwd)),
        ..Default::default()
    };
    match flow::propose(&ctx, proposal) {
        Outcome::Allow { reason, verdict } => {
            if verdict.is_none() {
                eprintln!("holdfast: {reason}");
            }
        }
        Outcome::Deny { reason, .. } => {
            eprintln!("holdfast: denied: {reason}");
            return Ok(Exit::Denied as i32);
        }
        Outcome::Hold { pending, verdict } => {
            eprintln!("┌ holdfast is holding this command for a human");
            eprintln!("│ command: {raw}");
            eprintln!("│ reason:  {} ({})", verdict.reason, verdict.rule);
            eprintln!("│ id:      {pending}");
            eprintln!("└ {}", approve_hint(&pending));
            let limit = args.hold_wait_ms.map(Duration::from_millis);
            match flow::wait_for(&ctx.client, &pending, limit, flow::POLL_EVERY) {
                WaitEnd::Approved => eprintln!("holdfast: {pending} approved; running"),
                WaitEnd::Denied(why) => {
                    eprintln!("holdfast: denied: {why}");
                    return Ok(Exit::Denied as i32);
                }
                WaitEnd::TimedOut => {
                    eprintln!("holdfast: {pending} is still held; {}", approve_hint(&pending));
                    return Ok(Exit::Held as i32);
                }
            }
        }
    }
    run(&args.command)
}

#[cfg(unix)]
fn run(command: &[String]) -> Result<i32> {
    use std::os::unix::process::CommandExt;
    let err = Command::new(&command[0]).args(&command[1..]).exec();
    eprintln!("holdfast: cannot run {}: {err}", command[0]);
    Ok(if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 })
}

#[cfg(not(unix))]
fn run(command: &[String]) -> Result<i32> {
    match Command::new(&command[0]).args(&command[1..]).status() {
        Ok(s) => Ok(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("holdfast: cannot run {}: {e}", command[0]);
            Ok(if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 })
        }
    }
}

/// `holdfast record -- CMD`: never blocks a prompt for long, never fails the shell.
pub fn record(args: &RecordArgs) -> Exit {
    let sent = (|| -> Result<()> {
        let paths = Paths::from_env()?;
        let client = Client::new(paths.endpoint).with_timeout(Duration::from_millis(300));
        let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default();
        let raw = args.command.join(" ");
        let body = RequestBody::Record(Proposal { agent: args.agent.clone(), cwd, raw, ..Default::default() });
        match client.request(body)?.body {
            ResponseBody::Error(e) => anyhow::bail!("{}", e.message),
            _ => Ok(()),
        }
    })();
    if let (Err(e), true) = (sent, args.verbose) {
        eprintln!("holdfast: record not sent: {e:#}");
    }
    Exit::Ok
}

/// `holdfast shell-init SHELL`: a preexec snippet that records each command in the background.
pub fn shell_init(args: &ShellInitArgs) -> Result<Exit> {
    let exe = std::env::current_exe()?.display().to_string();
    let exe = format!("'{}'", exe.replace('\'', r"'\''"));
    let snippet = match args.shell {
        Shell::Bash => format!(
            r#"# holdfast: record each command you run (eval "$(holdfast shell-init bash)")
# The exact line typed is read from history. While a line is being read, HISTCONTROL/HISTIGNORE are
# cleared so every line reaches history whole; before it runs they come back, and an entry the
# user's settings would have dropped (leading space, duplicate) is deleted again. Each record is
# sent before the command runs (at most 0.3 s), so records keep the order commands were typed.
__holdfast_armed= __holdfast_in_prompt= __holdfast_swapped= __holdfast_hist= __holdfast_last=
__holdfast_record() {{ {exe} record -- "$1" >/dev/null 2>&1; }}
__holdfast_restore() {{
  [ -n "$__holdfast_swapped" ] || return 0
  HISTCONTROL=$__holdfast_hc HISTIGNORE=$__holdfast_hi __holdfast_swapped=
}}
__holdfast_preexec() {{
  [ -n "$__holdfast_armed" ] && [ -z "$__holdfast_in_prompt" ] && [ -z "$COMP_LINE" ] || return 0
  case "$BASH_COMMAND" in __holdfast_prompt_*) return 0 ;; esac
  __holdfast_armed=
  __holdfast_restore
  local entry num line
  entry=$(HISTTIMEFORMAT= builtin history 1)
  if [[ $entry =~ ^\ *([0-9]+)[*\ ]\ (.*)$ ]] && [ "${{BASH_REMATCH[1]}}" != "$__holdfast_hist" ]; then
    num=${{BASH_REMATCH[1]}} line=${{BASH_REMATCH[2]}}
    case ":$HISTCONTROL:" in *:ignorespace:*|*:ignoreboth:*) [[ $line == [[:space:]]* ]] && builtin history -d "$num" ;; esac
    case ":$HISTCONTROL:" in *:ignoredups:*|*:ignoreboth:*) [[ $line == "$__holdfast_last" ]] && builtin history -d "$num" ;; esac
  else
    line=$BASH_COMMAND  # history is off: the first simple command is all bash tells
  fi
  __holdfast_record "$line"
}}
__holdfast_prompt_begin() {{ __holdfast_in_prompt=1; }}
__holdfast_prompt_end() {{
  local entry
  entry=$(HISTTIMEFORMAT= builtin history 1)
  __holdfast_hist= __holdfast_last=
  [[ $entry =~ ^\ *([0-9]+)[*\ ]\ (.*)$ ]] && __holdfast_hist=${{BASH_REMATCH[1]}} __holdfast_last=${{BASH_REMATCH[2]}}
  if [ -z "$__holdfast_swapped" ]; then
    __holdfast_hc=$HISTCONTROL __holdfast_hi=$HISTIGNORE __holdfast_swapped=1
    case ":$HISTCONTROL:" in *:erasedups:*) HISTCONTROL=erasedups ;; *) HISTCONTROL= ;; esac
    HISTIGNORE=
  fi
  __holdfast_armed=1 __holdfast_in_prompt=
}}
if declare -F __bp_preexec_invoke_exec >/dev/null 2>&1; then
  # bash-preexec is loaded: join its hooks (it hands preexec the typed line) instead of the trap.
  __holdfast_bp_preexec() {{ __holdfast_record "$1"; }}
  preexec_functions+=(__holdfast_bp_preexec)
else
  # Keep any DEBUG trap already set: it runs after ours ("$_" is passed through unchanged).
  __holdfast_prev=$(trap -p DEBUG)
  case "$__holdfast_prev" in
    *__holdfast_preexec*) ;;
    '') trap '__holdfast_preexec "$_"' DEBUG ;;
    *) __holdfast_prev=${{__holdfast_prev#trap -- }}; eval "__holdfast_prev=${{__holdfast_prev% DEBUG}}"
       trap '__holdfast_preexec "$_"; '"$__holdfast_prev" DEBUG ;;
  esac
  if [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
    PROMPT_COMMAND=(__holdfast_prompt_begin "${{PROMPT_COMMAND[@]}}" __holdfast_prompt_end)
  else
    PROMPT_COMMAND="__holdfast_prompt_begin${{PROMPT_COMMAND:+;$PROMPT_COMMAND}};__holdfast_prompt_end"
  fi
fi
"#
        ),
        Shell::Zsh => format!(
            r#"# holdfast: record each command you run (eval "$(holdfast shell-init zsh)")
# preexec hands over the line as typed; add-zsh-hook keeps every other preexec hook. Sent before the
# command runs (at most 0.3 s) so records keep the order commands were typed.
__holdfast_preexec() {{ {exe} record -- "$1" >/dev/null 2>&1 }}
autoload -Uz add-zsh-hook
add-zsh-hook preexec __holdfast_preexec
"#
        ),
        Shell::Fish => format!(
            r#"# holdfast: record each command you run (holdfast shell-init fish | source)
function __holdfast_preexec --on-event fish_preexec
    command {exe} record -- $argv[1] >/dev/null 2>&1 &
    disown 2>/dev/null
end
"#
        ),
    };
    print!("{snippet}");
    Ok(Exit::Ok)
}
