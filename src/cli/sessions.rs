//! `holdfast sessions`: the open approval sessions (opened by `holdfast console` with the admin
//! password), and `--revoke ID` to end one at once.

use anyhow::{Result, bail};
use clap::Args;
use holdfast::wire::{RequestBody, ResponseBody, SessionRef};

use super::Exit;
use super::lifecycle::client;
use super::output::print_json;

#[derive(Args, Debug)]
pub struct SessionsArgs {
    /// End this session now (no password needed: it only takes a way of approving away).
    #[arg(long, value_name = "ID")]
    revoke: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long)]
    json: bool,
}

/// `holdfast sessions [--revoke ID] [--json]`.
pub fn sessions(args: &SessionsArgs) -> Result<Exit> {
    let client = client()?;
    if let Some(session) = &args.revoke {
        match client.request(RequestBody::SessionClose(SessionRef { session: session.clone() }))?.body {
            ResponseBody::Ack(ack) if args.json => print_json(&ack),
            ResponseBody::Ack(_) => println!("session {session} revoked"),
            ResponseBody::Error(e) => return Err(anyhow::Error::new(e).context(format!("cannot revoke {session}"))),
            other => bail!("unexpected answer to session_close: {other:?}"),
        }
        return Ok(Exit::Ok);
    }
    let items = match client.request(RequestBody::ListSessions)?.body {
        ResponseBody::SessionList { items } => items,
        ResponseBody::Error(e) => return Err(e.into()),
        other => bail!("unexpected answer to list_sessions: {other:?}"),
    };
    if args.json {
        print_json(&serde_json::json!({ "items": items }));
    } else if items.is_empty() {
        println!("no approval session is open");
    } else {
        for s in items {
            let uid = s.uid.map_or_else(String::new, |u| format!("  uid {u}"));
            println!("{}  expires in {}s  {} answers{uid}", s.session, s.expires_in_s, s.uses);
        }
    }
    Ok(Exit::Ok)
}
