//! A client: propose one command to a running daemon and print the verdict.
//!
//!     holdfast start
//!     cargo run --example propose -- rm -rf build/
//!
//! The endpoint comes from the environment exactly as the CLI finds it (HOLDFAST_HOME,
//! HOLDFAST_SOCKET, XDG_RUNTIME_DIR…).
use holdfast::paths::Paths;
use holdfast::transport::{Client, ClientError};
use holdfast::wire::{Proposal, RequestBody, ResponseBody};

fn main() -> anyhow::Result<()> {
    let raw = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    anyhow::ensure!(!raw.is_empty(), "usage: propose COMMAND…");
    let client = Client::new(Paths::from_env()?.endpoint);
    let proposal = Proposal {
        agent: "example".into(),
        cwd: std::env::current_dir()?.display().to_string(),
        raw,
        ..Default::default()
    };
    match client.request(RequestBody::Propose(proposal)) {
        Ok(r) => match r.body {
            ResponseBody::Verdict(v) => {
                println!("{:?} ({}) {}: {}", v.decision, v.class, v.rule, v.reason);
                if let Some(id) = v.pending {
                    println!("held as {id}: `holdfast approve {id}` lets it run");
                }
                println!("audit record {}", v.seq);
            }
            // Any error is a refusal: a client must never run a command the daemon did not allow.
            ResponseBody::Error(e) => anyhow::bail!("refused: {} ({:?})", e.message, e.code),
            other => anyhow::bail!("unexpected answer: {other:?}"),
        },
        Err(ClientError::NotRunning(at)) => anyhow::bail!("no daemon on {at}: run `holdfast start`"),
        Err(e) => anyhow::bail!("{e}"),
    }
    Ok(())
}
