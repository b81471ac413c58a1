//! `panic`, `pause`, `resume`, `reload`: switches on the running daemon.

use anyhow::{Result, bail};
use clap::Args;
use holdfast::wire::{Ack, RequestBody, ResponseBody};

use super::Exit;
use super::auth::{PasswordArgs, prove};
use super::lifecycle::client;
use super::output::print_json;

#[derive(Args, Debug)]
pub struct PanicArgs {
    /// Release the kill switch instead (privileged).
    #[arg(long)]
    release: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

#[derive(Args, Debug)]
pub struct SwitchArgs {
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

fn print_ack(ack: &Ack, json: bool) {
    if json {
        print_json(ack);
    } else if let Some(m) = &ack.message {
        println!("{m}");
    }
}

fn send(body: RequestBody, json: bool) -> Result<Exit> {
    let kind = body.kind();
    match client()?.request(body)?.body {
        ResponseBody::Ack(ack) => print_ack(&ack, json),
        ResponseBody::Error(e) => return Err(anyhow::Error::new(e).context(format!("`{kind}` refused"))),
        other => bail!("unexpected answer to {kind}: {other:?}"),
    }
    Ok(Exit::Ok)
}

/// `holdfast panic [--release]`: engaging needs no password; releasing does.
pub fn panic(args: &PanicArgs) -> Result<Exit> {
    if !args.release {
        return send(RequestBody::Panic, args.json);
    }
    let proof = prove(&client()?, "release", &args.password)?;
    send(RequestBody::Release(proof), args.json)
}

/// `holdfast pause|resume|reload`.
pub fn switch(kind: &str, args: &SwitchArgs) -> Result<Exit> {
    let proof = prove(&client()?, kind, &args.password)?;
    let body = match kind {
        "pause" => RequestBody::Pause(proof),
        "resume" => RequestBody::Resume(proof),
        _ => RequestBody::Reload(proof),
    };
    send(body, args.json)
}
