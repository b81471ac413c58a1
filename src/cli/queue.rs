//! `propose`, `pending`, `approve`, `deny`: the approval queue from the command line.

use anyhow::{Result, bail};
use clap::Args;
use holdfast::classify::Class;
use holdfast::wire::{Decide, Decision, PageRequest, PendingItem, PendingState, Proposal, RequestBody, ResponseBody};

use super::Exit;
use super::auth::{PasswordArgs, prove};
use super::lifecycle::client;
use super::output::print_json;

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
pub struct PendingArgs {
    /// Show only the hold whose id starts with this (a unique prefix is enough).
    id: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct DecideArgs {
    /// The pending id as `holdfast pending` shows it, or a unique prefix of it. Without it, the only
    /// held command is shown and answered (an error when several are held).
    id: Option<String>,
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
        repo_policy: holdfast::policy::carry::carry(&cwd),
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

/// `holdfast pending [ID]`.
pub fn pending(args: &PendingArgs) -> Result<Exit> {
    let mut items = list(&client()?)?;
    if let Some(prefix) = &args.id {
        let id = find(&items, prefix)?.id.clone();
        items.retain(|i| i.id == id);
    }
    if args.json {
        print_json(&serde_json::json!({ "items": items }));
        return Ok(Exit::Ok);
    }
    let waiting: Vec<&PendingItem> = items.iter().filter(|i| i.state == PendingState::Pending).collect();
    if waiting.is_empty() {
        println!("nothing is waiting for approval");
    }
    for item in waiting {
        show(item);
    }
    Ok(Exit::Ok)
}

fn show(item: &PendingItem) {
    let class = item.class.map_or("?", holdfast::classify::Class::as_str);
    println!("{}  {:>5} ago  expires in {}  {}", item.id, age(item.age_s), age(item.expires_in_s), item.agent);
    println!("    class   {class} ({})", item.rule);
    println!("    cwd     {}", item.cwd);
    println!("    command {}", shown_command(item));
    println!("    why     {}", item.reason);
}

/// The one waiting hold whose id starts with `prefix`.
fn find<'a>(items: &'a [PendingItem], prefix: &str) -> Result<&'a PendingItem> {
    let Some(p) = holdfast::daemon::queue::normalize_prefix(prefix) else { return Err(not_an_id(prefix)) };
    let matching: Vec<&PendingItem> =
        items.iter().filter(|i| i.state == PendingState::Pending && i.id.starts_with(&p)).collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => bail!("nothing held has an id starting with `{p}` (see `holdfast pending`)"),
        many => bail!(
            "`{p}` matches {} held commands ({}); type more of the id",
            many.len(),
            many.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The hold `approve`/`deny` answer: the prefix's match, or the only one held (shown first).
fn target(client: &holdfast::transport::Client, id: Option<&str>) -> Result<String> {
    let items = list(client)?;
    if let Some(prefix) = id {
        return Ok(find(&items, prefix)?.id.clone());
    }
    let waiting: Vec<&PendingItem> = items.iter().filter(|i| i.state == PendingState::Pending).collect();
    match waiting.as_slice() {
        [one] => {
            show(one);
            Ok(one.id.clone())
        }
        [] => bail!("nothing is held"),
        many => bail!(
            "{} commands are held ({}); name one",
            many.len(),
            many.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Every pending item, page after page.
fn list(client: &holdfast::transport::Client) -> Result<Vec<PendingItem>> {
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
    // A full id needs no lookup (and works for a hold that is no longer listed, to get its state).
    let id = match args.id.as_deref().and_then(holdfast::daemon::queue::normalize_id) {
        Some(id) => id,
        None => target(&client, args.id.as_deref())?,
    };
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
