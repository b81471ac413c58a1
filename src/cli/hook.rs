//! `holdfast hook --agent NAME`: the one command every agent's hook runs.
//!
//! Infallible by design: every failure becomes the dialect's deny (an error exit could read as
//! "hook broken, carry on" to some agents, which would fail open). A panic anywhere in the hook is
//! turned into the deny by [`hook::deny_on_panic`]; the daemon-less classification runs in a child
//! process (`holdfast __hook-classify`, see [`holdfast::hook::isolate`]) so that a crash there is a deny too.

use std::ffi::OsString;
use std::time::Duration;

use clap::Args;
use holdfast::hook::{self, AGENTS, flow, isolate};
use holdfast::paths::Paths;

#[derive(Args, Debug)]
pub struct HookArgs {
    /// The agent whose hook protocol to speak.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(AGENTS))]
    agent: String,
    /// How long to wait for a human on a hold before denying (tests and tuning).
    #[arg(long, hide = true, default_value_t = DEFAULT_HOLD_WAIT_MS)]
    hold_wait_ms: u64,
}

/// The hook's own argument parser, run before clap: agents spawn `holdfast hook` for every shell
/// command, and building clap's whole command tree (every subcommand and argument) on each start
/// costs ~30 extra page faults and a tenth of a millisecond of CPU.
/// Accepts exactly `hook --agent NAME [--hold-wait-ms N]` (either `--flag value` or `--flag=value`,
/// NAME one of [`AGENTS`]); anything else returns `None` and goes through clap, which parses the same
/// grammar and owns every error and help message.
pub fn fast_args(mut argv: impl Iterator<Item = OsString>) -> Option<HookArgs> {
    if argv.next()? != "hook" {
        return None;
    }
    let (mut agent, mut hold_wait_ms) = (None, None);
    while let Some(arg) = argv.next() {
        let arg = arg.into_string().ok()?;
        let (flag, value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), value.to_owned()),
            None => (arg, argv.next()?.into_string().ok()?),
        };
        match flag.as_str() {
            "--agent" if agent.is_none() && AGENTS.contains(&value.as_str()) => agent = Some(value),
            "--hold-wait-ms" if hold_wait_ms.is_none() => hold_wait_ms = Some(value.parse().ok()?),
            _ => return None,
        }
    }
    Some(HookArgs { agent: agent?, hold_wait_ms: hold_wait_ms.unwrap_or(DEFAULT_HOLD_WAIT_MS) })
}

const DEFAULT_HOLD_WAIT_MS: u64 = flow::DEFAULT_HOLD_WAIT.as_millis() as u64;

/// True when `argv` (without the program name) is the isolated classifier's hidden subcommand.
pub fn is_classifier_child(mut argv: impl Iterator<Item = OsString>) -> bool {
    argv.next().is_some_and(|a| a == isolate::CHILD_ARG) && argv.next().is_none()
}

/// Runs the hook and returns the process exit code.
pub fn hook(args: &HookArgs) -> i32 {
    let dialect = hook::dialect(&args.agent).expect("--agent is restricted to known dialects");
    hook::deny_on_panic(dialect);
    let payload = hook::read_payload(hook::READ_DEADLINE);
    let rendered = match Paths::from_env() {
        Ok(paths) => flow::hook(dialect, payload, &flow::Ctx::new(&paths, Duration::from_millis(args.hold_wait_ms))),
        Err(e) => {
            let reason = format!("holdfast cannot find its files ({e:#}); denied to be safe. Run `holdfast doctor`.");
            eprintln!("holdfast: {reason}");
            dialect.render(&hook::Answer::Deny { reason })
        }
    };
    // Not `print!`, which panics when the agent closed the pipe: there is nobody left to answer.
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(rendered.stdout.as_bytes()).and_then(|()| out.flush());
    rendered.exit
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// clap's reading of the same argv, for the equivalence checks.
    #[derive(Parser)]
    struct Wrap {
        #[command(subcommand)]
        cmd: Sub,
    }
    #[derive(clap::Subcommand)]
    enum Sub {
        Hook(HookArgs),
    }

    fn fast(argv: &[&str]) -> Option<(String, u64)> {
        fast_args(argv.iter().map(OsString::from)).map(|a| (a.agent, a.hold_wait_ms))
    }

    fn clap(argv: &[&str]) -> Option<(String, u64)> {
        let Sub::Hook(a) = Wrap::try_parse_from(std::iter::once("holdfast").chain(argv.iter().copied())).ok()?.cmd;
        Some((a.agent, a.hold_wait_ms))
    }

    #[test]
    fn fast_path_agrees_with_clap_or_defers() {
        let accepted: &[&[&str]] = &[
            &["hook", "--agent", "claude-code"],
            &["hook", "--agent=codex"],
            &["hook", "--agent", "generic", "--hold-wait-ms", "600"],
            &["hook", "--hold-wait-ms=5", "--agent", "cursor"],
        ];
        for argv in accepted {
            assert!(fast(argv).is_some(), "{argv:?}");
            assert_eq!(fast(argv), clap(argv), "{argv:?}");
        }
        assert_eq!(fast(&["hook", "--agent", "gemini"]), Some(("gemini".into(), 45_000)));
        let deferred: &[&[&str]] = &[
            &["hook"],
            &["hook", "--agent"],
            &["hook", "--agent", "claude"],
            &["hook", "--agent", "nobody"],
            &["hook", "--agent", "codex", "--agent", "codex"],
            &["hook", "--agent", "codex", "--hold-wait-ms", "-1"],
            &["hook", "--agent", "codex", "--help"],
            &["hook", "--agent", "codex", "extra"],
            &["hook", "-h"],
            &["--version"],
            &["exec", "--", "hook", "--agent", "codex"],
        ];
        for argv in deferred {
            assert_eq!(fast(argv), None, "{argv:?} must go through clap");
        }
    }
}
