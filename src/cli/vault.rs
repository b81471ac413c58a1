//! `vault init|status|passwd`: the admin vault file.
//!
//! The daemon reads the vault once, at start: a new or changed vault takes effect at the next start
//! (`holdfast stop`, then `holdfast start`). Until then the running daemon keeps the vault it loaded.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use holdfast::paths::Paths;
use holdfast::transport::{Client, ClientError};
use holdfast::vault::{Vault, check_new_password};
use holdfast::wire::{RequestBody, ResponseBody};
use zeroize::Zeroizing;

use super::Exit;
use super::auth::{PasswordArgs, read_password};
use super::output::{JsonFlag, print_json};

#[derive(Subcommand, Debug)]
pub enum VaultCommand {
    /// Create the admin vault (asks for the new password twice, or reads one line with --password-stdin).
    Init(ChangeArgs),
    /// Show the vault file and what the running daemon enforces.
    Status(JsonFlag),
    /// Change the admin password (with --password-stdin: the old password, then the new one, one per line).
    Passwd(ChangeArgs),
}

#[derive(Args, Debug)]
pub struct ChangeArgs {
    #[command(flatten)]
    password: PasswordArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `vault` subcommand.
pub fn run(cmd: &VaultCommand) -> Result<Exit> {
    let paths = Paths::from_env()?;
    let client = Client::new(paths.endpoint.clone());
    match cmd {
        VaultCommand::Init(a) => init(&paths, &client, a),
        VaultCommand::Status(a) => status(&paths, &client, a),
        VaultCommand::Passwd(a) => passwd(&paths, &client, a),
    }
}

/// A new password: one stdin line, or typed twice on the terminal.
fn new_password(args: &PasswordArgs, prompt: &str) -> Result<Zeroizing<String>> {
    let pw = read_password(args, prompt)?;
    check_new_password(&pw)?;
    if !args.password_stdin {
        let again = read_password(args, "again: ")?;
        if *again != *pw {
            bail!("the passwords do not match; nothing changed");
        }
    }
    Ok(pw)
}

/// The running daemon's `status.vault`, or None when no daemon answers.
fn daemon_vault(client: &Client) -> Result<Option<(u32, String)>> {
    match client.request(RequestBody::Status) {
        Ok(r) => match r.body {
            ResponseBody::Status(s) => Ok(Some((s.pid, s.vault))),
            other => bail!("unexpected answer to status: {other:?}"),
        },
        Err(ClientError::NotRunning(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn init(paths: &Paths, client: &Client, args: &ChangeArgs) -> Result<Exit> {
    let path = paths.vault();
    if std::fs::symlink_metadata(&path).is_ok() {
        bail!(holdfast::vault::VaultError::Exists(path.display().to_string()));
    }
    let pw = new_password(&args.password, "new admin password: ")?;
    let (vault, _k) = Vault::create(&pw)?;
    // TODO(merge): wrap the audit log's verification key here when the admin has it
    // (vault.set_seal_wrap(&_k, &k0)); see vault::kdf for the wrap.
    vault.save_new(&path)?;
    let running = daemon_vault(client).ok().flatten();
    if args.json {
        print_json(&serde_json::json!({
            "created": true, "path": path, "daemon_pid": running.as_ref().map(|r| r.0),
            "restart_needed": running.is_some(),
        }));
    } else {
        println!("created the admin vault at {}", path.display());
        if let Some((pid, _)) = running {
            println!(
                "the running daemon (pid {pid}) loaded no vault and will not ask for the password until it \
                 restarts: run `holdfast stop` then `holdfast start`"
            );
        }
    }
    Ok(Exit::Ok)
}

fn status(paths: &Paths, client: &Client, args: &JsonFlag) -> Result<Exit> {
    let path = paths.vault();
    let (file, detail) = match Vault::load(&path) {
        Ok(None) => ("absent", serde_json::Value::Null),
        Ok(Some(v)) => ("present", serde_json::json!({"kdf": v.kdf, "seal_wrap": v.seal_wrap.is_some()})),
        Err(e) => ("unusable", serde_json::json!({"error": e.to_string()})),
    };
    let daemon = daemon_vault(client)?;
    if args.json {
        print_json(&serde_json::json!({
            "path": path, "file": file, "detail": detail,
            "daemon": match &daemon {
                Some((pid, vault)) => serde_json::json!({"running": true, "pid": pid, "vault": vault}),
                None => serde_json::json!({"running": false}),
            },
        }));
        return Ok(Exit::Ok);
    }
    println!("vault file  {} ({file})", path.display());
    match file {
        "present" => println!(
            "  kdf       {} m_kib={} t={} p={}\n  seal_wrap {}",
            detail["kdf"]["alg"].as_str().unwrap_or_default(),
            detail["kdf"]["m_kib"],
            detail["kdf"]["t"],
            detail["kdf"]["p"],
            if detail["seal_wrap"] == true { "present" } else { "absent" }
        ),
        "unusable" => println!("  error     {}", detail["error"].as_str().unwrap_or_default()),
        _ => println!("  no vault: privileged operations need no password (`holdfast vault init` creates one)"),
    }
    match daemon {
        Some((pid, vault)) => println!("daemon      pid {pid}: {vault}"),
        None => println!("daemon      not running"),
    }
    Ok(Exit::Ok)
}

fn passwd(paths: &Paths, client: &Client, args: &ChangeArgs) -> Result<Exit> {
    let path = paths.vault();
    let vault = Vault::load(&path)
        .with_context(|| format!("cannot use the vault at {}", path.display()))?
        .with_context(|| format!("no vault at {}; create one with `holdfast vault init`", path.display()))?;
    let old = read_password(&args.password, "current admin password: ")?;
    // Check the old password before asking for the new one.
    vault.unlock(&old)?;
    let new = new_password(&args.password, "new admin password: ")?;
    let next = vault.change_password(&old, &new)?;
    next.replace(&path)?;
    let running = daemon_vault(client).ok().flatten();
    if args.json {
        print_json(&serde_json::json!({
            "changed": true, "path": path, "daemon_pid": running.as_ref().map(|r| r.0),
            "restart_needed": running.is_some(),
        }));
    } else {
        println!("changed the admin password in {}", path.display());
        if let Some((pid, _)) = running {
            println!(
                "the running daemon (pid {pid}) still accepts the old password until it restarts: run \
                 `holdfast stop` (old password) then `holdfast start`"
            );
        }
    }
    Ok(Exit::Ok)
}
