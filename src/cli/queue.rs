//! `propose`, `pending`, `approve`, `deny`: the approval queue from the command line.

use anyhow::{Result, bail};
use clap::Args;
use holdfast::wire::{Decide, Decision, PageRequest, PendingItem, PendingState, Proposal, RequestBody, ResponseBody};

use super::Exit;
use super::auth::{PasswordArgs, prove};
use super::lifecycle::client;
use super::output::{JsonFlag, print_json};

#[derive(Args, Debug)]
pub struct ProposeArgs {
    /// The agent proposing the command.
    #[arg(long, default_value = "cli")]
    agent: String,
    /// The command's working directory (default: the current directory).
    #[arg(long)]
    cwd: Option<std::path::PathBuf>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// The command line (several words are joined with spaces).
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct DecideArgs {
    /// The pending id, as `holdfast pending` shows it.
    id: String,
    /// Remember this decision for the exact command in this repository.
    #[arg(long)]
    remember: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

/// `holdfast propose`: exit 0 allow, 4 deny, 5 hold.
pub fn propose(args: &ProposeArgs) -> Result<Exit> {
    let cwd = match &args.cwd {
        Some(c) => std::path::absolute(c)?,
        None => std::env::current_dir()?,
    };
    let proposal = Proposal {
        agent: args.agent.clone(),
        cwd: cwd.to_string_lossy().into_owned(),
        raw: args.command.join(" "),
        pid: Some(std::process::id()),
        ..Default::default()
    };
    let verdict = match client()?.request(RequestBody::Propose(proposal))?.body {
        ResponseBody::Verdict(v) => v,
        ResponseBody::Error(e) => return Err(anyhow::Error::new(e).context("the daemon refused the proposal")),
        other => bail!("unexpected answer to propose: {other:?}"),
    };
    if args.json {
        print_json(&verdict);
    } else {
        let word = match verdict.decision {
            Decision::Allow => "ALLOW",
            Decision::Hold => "HOLD",
            Decision::Deny => "DENY",
        };
        println!("{word} ({}, {}) {}", verdict.class.as_str(), verdict.rule, verdict.reason);
        if let Some(id) = &verdict.pending {
            println!("held as {id}: approve with `holdfast approve {id}`, deny with `holdfast deny {id}`");
        }
        if !verdict.flags.is_empty() {
            println!("flags: {}", verdict.flags.join(", "));
        }
    }
    Ok(match verdict.decision {
        Decision::Allow => Exit::Ok,
        Decision::Hold => Exit::Held,
        Decision::Deny => Exit::Denied,
    })
}

/// `holdfast pending`.
pub fn pending(args: &JsonFlag) -> Result<Exit> {
    let items = all_pending()?;
    if args.json {
        print_json(&serde_json::json!({ "items": items }));
        return Ok(Exit::Ok);
    }
    let waiting: Vec<&PendingItem> = items.iter().filter(|i| i.state == PendingState::Pending).collect();
    if waiting.is_empty() {
        println!("nothing is waiting for approval");
    }
    for item in waiting {
        println!("{}  {:>5} ago  expires in {}  {}", item.id, age(item.age_s), age(item.expires_in_s), item.agent);
        println!("    cwd     {}", item.cwd);
        println!("    command {}", shown_command(item));
        println!("    why     {}", item.reason);
    }
    Ok(Exit::Ok)
}

/// Every pending item, page after page.
fn all_pending() -> Result<Vec<PendingItem>> {
    let client = client()?;
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = PageRequest { after: after.take(), limit: None };
        match client.request(RequestBody::ListPendingPage(page))?.body {
            ResponseBody::PendingList { items: mut got, more, next } => {
                let progressed = !got.is_empty();
                items.append(&mut got);
                match next {
                    // A page without items cannot move the cursor: stop rather than loop.
                    Some(n) if more && progressed => after = Some(n),
                    _ => return Ok(items),
                }
            }
            ResponseBody::Error(e) => return Err(e.into()),
            other => bail!("unexpected answer to list_pending: {other:?}"),
        }
    }
}

/// A listed command: as sent, or cut with its full length and hash.
fn shown_command(item: &PendingItem) -> String {
    let command = item.command.replace('\n', "\n            ");
    match (item.command_len, &item.command_sha256) {
        (Some(len), Some(sha)) => format!("{command}…\n            (cut: {len} bytes in all, sha256 {sha})"),
        _ => command,
    }
}

fn age(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => format!("{}h", s / 3600),
    }
}

/// `holdfast approve` / `holdfast deny`.
pub fn decide(args: &DecideArgs, approve: bool) -> Result<Exit> {
    let client = client()?;
    let id = holdfast::daemon::queue::normalize_id(&args.id).ok_or_else(|| {
        anyhow::anyhow!("`{}` is not a pending id (6 characters, as `holdfast pending` shows)", args.id)
    })?;
    let verb = if approve { "approve" } else { "deny" };
    let proof = prove(&client, &format!("{verb}:{id}"), &args.password)?;
    let decide = Decide { pending: id, remember: args.remember, proof };
    let body = if approve { RequestBody::Approve(decide) } else { RequestBody::Deny(decide) };
    let item = match client.request(body)?.body {
        ResponseBody::Pending(item) => item,
        ResponseBody::Error(e) => return Err(anyhow::Error::new(e).context(format!("cannot {verb}"))),
        other => bail!("unexpected answer to {verb}: {other:?}"),
    };
    if args.json {
        print_json(&item);
    } else {
        let done = if approve { "approved" } else { "denied" };
        println!("{done} {}: {}", item.id, item.command);
    }
    Ok(Exit::Ok)
}
