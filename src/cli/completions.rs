//! `holdfast completions SHELL` and the man page (`holdfast man`, used by `make man`).

use anyhow::Result;
use clap::{Args, CommandFactory};

use super::{Cli, Exit};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

/// Prints the completion script for a shell on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<Exit> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "holdfast", &mut out);
    emit(&out)
}

/// Prints the man page (roff) on stdout.
pub fn man() -> Result<Exit> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    emit(&out)
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is not an error.
fn emit(bytes: &[u8]) -> Result<Exit> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(Exit::Ok),
    }
}
