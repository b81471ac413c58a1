//! `propose`, `pending`, `approve`, `deny`: the approval queue from the command line.

use anyhow::{Result, bail};
use clap::Args;
use holdfast::classify::Class;
use holdfast::wire::{Decide, Decision, PendingItem, PendingState, Proposal, RequestBody, ResponseBody};

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
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true, value_name = "CMD")]
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
    let items = match client()?.request(RequestBody::ListPending)?.body {
        ResponseBody::PendingList { items } => items,
        ResponseBody::Error(e) => return Err(e.into()),
        other => bail!("unexpected answer to list_pending: {other:?}"),
    };
    if args.json {
        print_json(&serde_json::json!({ "items": items }));
        return Ok(Exit::Ok);
    }
    let waiting: Vec<&PendingItem> = items.iter().filter(|i| i.state == PendingState::Pending).collect();
    if waiting.is_empty() {
        println!("nothing is waiting for approval");
    }
    for item in waiting {
        let class = item.class.map_or("?", |c| c.as_str());
        println!(
            "{}  {class:<12} {:>5} ago  expires in {}  {}",
            item.id,
            age(item.age_s),
            age(item.expires_in_s),
            item.agent
        );
        println!("    cwd     {}", item.cwd);
        println!("    command {}", item.command.replace('\n', "\n            "));
        println!("    why     {}", item.reason);
    }
    Ok(Exit::Ok)
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
    let id = holdfast::daemon::queue::normalize_id(&args.id).ok_or_else(|| not_an_id(&args.id))?;
    let verb = if approve { "approve" } else { "deny" };
    let proof = prove(&client, &format!("{verb}:{id}"), &args.password)?;
    let decide = Decide { pending: id, remember: args.remember, proof };
    let body = if approve { RequestBody::Approve(decide) } else { RequestBody::Deny(decide) };
    let item = match client.request(body)?.body {
        ResponseBody::Pending(item) => item,
        ResponseBody::Error(e) => return Err(anyhow::Error::new(e).context(format!("cannot {verb}"))),
        other => bail!("unexpected answer to {verb}: {other:?}"),
    };
    // The daemon never remembers an approval of a catastrophic command; say so instead of nothing.
    let unremembered = approve && args.remember && item.class == Some(Class::Catastrophic);
    if args.json {
        let mut v = serde_json::to_value(&item)?;
        v["remembered"] = (args.remember && !unremembered).into();
        print_json(&v);
    } else {
        let done = if approve { "approved" } else { "denied" };
        println!("{done} {}: {}", item.id, item.command);
    }
    if unremembered {
        eprintln!(
            "holdfast: approved once, NOT remembered: a remembered approval never applies to catastrophic commands"
        );
    }
    Ok(Exit::Ok)
}

/// Why `raw` is not a pending id: the first character ids never contain, or the wrong length.
fn not_an_id(raw: &str) -> anyhow::Error {
    let typed: Vec<char> = raw.chars().filter(|c| *c != '-' && !c.is_whitespace()).collect();
    let bad = typed.iter().find(|c| !c.is_ascii_alphanumeric() || c.eq_ignore_ascii_case(&'u'));
    match bad {
        Some(c) => anyhow::anyhow!(
            "`{raw}` is not a pending id: `{c}` is never in one (ids are 6 of 0-9 and a-z without u, \
             as `holdfast pending` shows)"
        ),
        None => anyhow::anyhow!(
            "`{raw}` is not a pending id: it has {} characters, ids have 6 (as `holdfast pending` shows)",
            typed.len()
        ),
    }
}
