//! Client side of the admin challenge-response, shared by every privileged command.
//!
//! Passwords come from the terminal (`rpassword`, no echo) or, with `--password-stdin`, one line of
//! stdin each; never from argv or the environment. They are zeroized after use.

use std::io::BufRead;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use holdfast::transport::Client;
use holdfast::wire::{AuthBegin, Challenge, Proof, RequestBody, ResponseBody};
use zeroize::Zeroizing;

/// Re-ask for a challenge when the password took longer than this to type (nonces live 60 s).
const FRESH_CHALLENGE: Duration = Duration::from_secs(30);

/// `--password-stdin`, flattened into every command that may need the admin password.
#[derive(Args, Debug, Default, Clone)]
pub struct PasswordArgs {
    /// Read the admin password from stdin (one line) instead of the terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Reads one password: the next line of stdin, or from the terminal after `prompt`.
pub(crate) fn read_password(args: &PasswordArgs, prompt: &str) -> Result<Zeroizing<String>> {
    if !args.password_stdin {
        let pw = rpassword::prompt_password(prompt)
            .context("cannot read the password from the terminal (scripts: use --password-stdin)")?;
        return Ok(Zeroizing::new(pw));
    }
    // Room up front so the buffer is not reallocated (leaving unzeroized copies) while reading.
    let mut line = Zeroizing::new(String::with_capacity(4096));
    let n = std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
    if n == 0 {
        bail!("--password-stdin: no password line on stdin");
    }
    let len = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(len);
    if line.is_empty() {
        bail!("--password-stdin: the password line is empty");
    }
    Ok(line)
}

fn begin(client: &Client, op: &str) -> Result<Challenge> {
    match client.request(RequestBody::AuthBegin(AuthBegin { op: op.into() }))?.body {
        ResponseBody::Challenge(c) if c.op == op => Ok(c),
        ResponseBody::Challenge(c) => bail!("the daemon answered a challenge for `{}` instead of `{op}`", c.op),
        ResponseBody::Error(e) => Err(anyhow::Error::new(e).context(format!("the daemon refused to authorize `{op}`"))),
        other => bail!("unexpected answer to auth_begin: {other:?}"),
    }
}

/// Runs `auth_begin{op}`, asks for the password if the daemon has a vault, and returns the proof to
/// put in the privileged request (empty when no vault exists).
pub(crate) fn prove(client: &Client, op: &str, password: &PasswordArgs) -> Result<Proof> {
    let asked = Instant::now();
    let mut challenge = begin(client, op)?;
    if !challenge.locked {
        return Ok(Proof::default());
    }
    let pw = read_password(password, "holdfast admin password: ")?;
    if asked.elapsed() > FRESH_CHALLENGE {
        challenge = begin(client, op)?;
    }
    // answer() bounds the challenge's KDF parameters: a hostile endpoint cannot make us allocate gigabytes.
    Ok(holdfast::vault::answer(&pw, &challenge)?)
}

/// Like [`prove`], with a password the caller already holds (the console's own prompt).
pub(crate) fn prove_with(client: &Client, op: &str, password: &str) -> Result<Proof> {
    let challenge = begin(client, op)?;
    // answer() gives an empty proof when no vault exists, and bounds the KDF parameters.
    Ok(holdfast::vault::answer(password, &challenge)?)
}
