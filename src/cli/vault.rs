//! `vault init|status|passwd|upgrade|wrap-key`: the admin vault file (format: docs/vault.md).
//!
//! The daemon reads the vault once, at start: a new or changed vault takes effect at the next start
//! (`holdfast stop`, then `holdfast start`). Until then the running daemon keeps the vault it loaded.
//!
//! These commands are the vault file's only writers. They also take the audit log's verification key
//! over from the plaintext file the daemon wrote (see `holdfast::vault::handover`): `init` and
//! `wrap-key` wrap it under the password, write the vault (fsync'd), and only then delete the file.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use holdfast::audit::VerificationKey;
use holdfast::paths::Paths;
use holdfast::transport::{Client, ClientError};
use holdfast::vault::handover::{FoundKey, Genesis, find_key_file, key_file_candidates, remove_key_file};
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
    /// Rewrite a v1 vault as v2 (needs the password): drops the password-equivalent auth_key.
    Upgrade(ChangeArgs),
    /// Wrap the audit log's verification key into the vault, then delete the plaintext key file.
    WrapKey(WrapKeyArgs),
}

#[derive(Args, Debug)]
pub struct WrapKeyArgs {
    /// Key file to wrap (default: the file the daemon wrote in the config dir, which is then deleted;
    /// a file named here is left in place).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Replace a different key already in the vault (another log's key, which is then lost from the vault).
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    password: PasswordArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
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
        VaultCommand::Upgrade(a) => upgrade(&paths, &client, a),
        VaultCommand::WrapKey(a) => wrap_key(&paths, a),
    }
}

/// The plaintext verification key the daemon left for the current log, if any, and notes on key
/// files that cannot be wrapped (no log to match them, or another log's key).
fn daemon_key_file(paths: &Paths) -> (Option<FoundKey>, Vec<String>) {
    let log = paths.audit_log();
    let plain = paths.config_dir.join("verification.key");
    match Genesis::read(&log) {
        Ok(Some(g)) => {
            let (found, others) = find_key_file(&g, &key_file_candidates(&paths.config_dir, &g.log_id));
            let notes = others
                .iter()
                .map(|p| format!("{} is not the key of the audit log {}; left as is", p.display(), g.log_id))
                .collect();
            (found, notes)
        }
        Ok(None) if plain.exists() => {
            (None, vec![format!("there is no audit log to match {} against; left as is", plain.display())])
        }
        Ok(None) => (None, Vec::new()),
        Err(e) => (None, vec![format!("cannot match a verification key to the audit log: {e}")]),
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
    let (key, notes) = daemon_key_file(paths);
    let pw = new_password(&args.password, "new admin password: ")?;
    let (mut vault, k) = Vault::create(&pw)?;
    if let Some(f) = &key {
        vault.set_seal_wrap(&k, f.key.bytes());
    }
    // save_new fsyncs the file and its directory: the key is durably wrapped before the plaintext goes.
    vault.save_new(&path)?;
    holdfast::trust::give_to_daemon(&path)?;
    let removed =
        match &key {
            Some(f) => Some(remove_key_file(&f.path).map(|()| f.path.clone()).with_context(|| {
                format!("the key is wrapped in the vault, but deleting {} failed", f.path.display())
            })?),
            None => None,
        };
    let running = daemon_vault(client).ok().flatten();
    if args.json {
        print_json(&serde_json::json!({
            "created": true, "path": path, "daemon_pid": running.as_ref().map(|r| r.0),
            "restart_needed": running.is_some(), "wrapped_key_from": removed, "notes": notes,
        }));
    } else {
        println!("created the admin vault at {}", path.display());
        if let Some(f) = &removed {
            println!(
                "wrapped the audit log's verification key into the vault and deleted {} \
                 (`holdfast log verify --vault` checks the seals with the admin password)",
                f.display()
            );
        }
        for n in &notes {
            println!("note: {n}");
        }
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
        Ok(Some(v)) => {
            ("present", serde_json::json!({"version": v.version(), "kdf": v.kdf, "seal_wrap": v.seal_wrap.is_some()}))
        }
        Err(e) => ("unusable", serde_json::json!({"error": e.to_string()})),
    };
    let plaintext = daemon_key_file(paths).0.map(|f| f.path);
    let daemon = daemon_vault(client)?;
    if args.json {
        print_json(&serde_json::json!({
            "path": path, "file": file, "detail": detail, "plaintext_key": plaintext,
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
            "  version   {}\n  kdf       {} m_kib={} t={} p={}\n  seal_wrap {}",
            match detail["version"].as_u64() {
                Some(1) => "1 (legacy: its auth_key answers challenges by itself; run `holdfast vault upgrade`)",
                _ => "2 (public key only)",
            },
            detail["kdf"]["alg"].as_str().unwrap_or_default(),
            detail["kdf"]["m_kib"],
            detail["kdf"]["t"],
            detail["kdf"]["p"],
            if detail["seal_wrap"] == true { "present" } else { "absent" }
        ),
        "unusable" => println!("  error     {}", detail["error"].as_str().unwrap_or_default()),
        _ => println!("  no vault: privileged operations need no password (`holdfast vault init` creates one)"),
    }
    if let Some(p) = &plaintext {
        let how = if file == "absent" { "vault init" } else { "vault wrap-key" };
        println!("key file    {} (plaintext verification key: `holdfast {how}` wraps and deletes it)", p.display());
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
    holdfast::trust::give_to_daemon(&path)?;
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

fn upgrade(paths: &Paths, client: &Client, args: &ChangeArgs) -> Result<Exit> {
    let path = paths.vault();
    let vault = Vault::load(&path)
        .with_context(|| format!("cannot use the vault at {}", path.display()))?
        .with_context(|| format!("no vault at {}; create one with `holdfast vault init`", path.display()))?;
    let was = vault.version();
    if was != 1 {
        bail!("the vault at {} is already version {was}; nothing to upgrade", path.display());
    }
    let pw = read_password(&args.password, "holdfast admin password: ")?;
    let next = vault.upgrade(&pw)?;
    drop(pw);
    next.replace(&path)?;
    holdfast::trust::give_to_daemon(&path)?;
    let running = daemon_vault(client).ok().flatten();
    if args.json {
        print_json(&serde_json::json!({
            "upgraded": true, "path": path, "from": was, "to": next.version(),
            "daemon_pid": running.as_ref().map(|r| r.0), "restart_needed": running.is_some(),
        }));
    } else {
        println!("upgraded {} to version 2: it now holds only a public key", path.display());
        if let Some((pid, _)) = running {
            println!(
                "the running daemon (pid {pid}) still checks proofs against the v1 key until it restarts: run \
                 `holdfast stop` then `holdfast start`"
            );
        }
    }
    Ok(Exit::Ok)
}

fn wrap_key(paths: &Paths, args: &WrapKeyArgs) -> Result<Exit> {
    let path = paths.vault();
    let vault =
        Vault::load(&path).with_context(|| format!("cannot use the vault at {}", path.display()))?.with_context(
            || format!("no vault at {}; `holdfast vault init` creates one and wraps the key", path.display()),
        )?;
    let log = paths.audit_log();
    let genesis = Genesis::read(&log)
        .map_err(anyhow::Error::msg)?
        .with_context(|| format!("no audit log at {}: there is no key to wrap", log.display()))?;
    // Everything that can fail without the password is checked before asking for it.
    let found = match &args.key_file {
        Some(f) => {
            let key = VerificationKey::read_file(f)?;
            if !genesis.sealed_by(&key) {
                bail!("{} is not the verification key of the audit log {}", f.display(), genesis.log_id);
            }
            FoundKey { path: f.clone(), key }
        }
        None => {
            let candidates = key_file_candidates(&paths.config_dir, &genesis.log_id);
            let (found, others) = find_key_file(&genesis, &candidates);
            match found {
                Some(f) => f,
                None if others.is_empty() => bail!(
                    "no verification key file for the audit log {} (looked for {} and {}); if you moved it, pass \
                     --key-file FILE",
                    genesis.log_id,
                    candidates[0].display(),
                    candidates[1].display()
                ),
                None => bail!(
                    "{} does not hold the verification key of the audit log {}; pass the right one with --key-file",
                    others[0].display(),
                    genesis.log_id
                ),
            }
        }
    };
    let pw = read_password(&args.password, "holdfast admin password: ")?;
    let k = vault.unlock(&pw)?;
    drop(pw);
    let already = match &vault.seal_wrap {
        Some(w) if *k.unwrap_key(w) == *found.key.bytes() => true,
        Some(_) if !args.replace => bail!(
            "the vault already holds another log's verification key; `--replace` wraps this log's key instead \
             (the other key is then no longer in the vault: keep a copy if you still need to check that log)"
        ),
        _ => false,
    };
    if !already {
        let mut next = vault.clone();
        next.set_seal_wrap(&k, found.key.bytes());
        // replace() is temp file + fsync + rename + dir fsync: durable before the plaintext is deleted.
        next.replace(&path)?;
        holdfast::trust::give_to_daemon(&path)?;
    }
    let removed = args.key_file.is_none();
    if removed {
        remove_key_file(&found.path).with_context(|| {
            format!("the key is wrapped in the vault, but deleting {} failed", found.path.display())
        })?;
    }
    if args.json {
        print_json(&serde_json::json!({
            "wrapped": true, "already_wrapped": already, "log_id": genesis.log_id, "key_file": found.path,
            "deleted": removed,
        }));
    } else {
        if already {
            println!("the vault already held the verification key of the audit log {}", genesis.log_id);
        } else {
            println!("wrapped the verification key of the audit log {} into {}", genesis.log_id, path.display());
        }
        if removed {
            println!("deleted the plaintext key file {}", found.path.display());
        } else {
            println!("left {} in place (named with --key-file)", found.path.display());
        }
        println!("`holdfast log verify --vault` checks the seals with the admin password");
    }
    Ok(Exit::Ok)
}
