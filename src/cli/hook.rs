//! `holdfast hook --agent NAME`: the one command every agent's hook runs.
//!
//! Infallible by design: every failure becomes the dialect's deny (an error exit could read as
//! "hook broken, carry on" to some agents, which would fail open).

use std::time::Duration;

use clap::Args;
use holdfast::hook::{self, AGENTS, flow};
use holdfast::paths::Paths;
use holdfast::transport::Client;

#[derive(Args, Debug)]
pub struct HookArgs {
    /// The agent whose hook protocol to speak.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(AGENTS))]
    agent: String,
    /// How long to wait for a human on a hold before denying (tests and tuning).
    #[arg(long, hide = true, default_value_t = flow::DEFAULT_HOLD_WAIT.as_millis() as u64)]
    hold_wait_ms: u64,
}

/// Runs the hook and returns the process exit code.
pub fn hook(args: &HookArgs) -> i32 {
    let dialect = hook::dialect(&args.agent).expect("clap restricts --agent to known dialects");
    let payload = hook::read_payload(std::io::stdin(), hook::READ_DEADLINE);
    let rendered = match Paths::from_env() {
        Ok(paths) => {
            let ctx = flow::Ctx {
                client: Client::new(paths.endpoint.clone()),
                config_dir: Some(paths.config_dir),
                run_dir: Some(paths.run_dir),
                hold_wait: Duration::from_millis(args.hold_wait_ms),
                poll_every: flow::POLL_EVERY,
            };
            flow::hook(dialect, payload, &ctx)
        }
        Err(e) => {
            let reason = format!("holdfast cannot find its files ({e:#}); denied to be safe. Run `holdfast doctor`.");
            eprintln!("holdfast: {reason}");
            dialect.render(&hook::Answer::Deny { reason })
        }
    };
    print!("{}", rendered.stdout);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    rendered.exit
}
