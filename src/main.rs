#![forbid(unsafe_code)]
// Minimal entry point for the `classify` branch; the lead rewrites main.rs on merge.
mod cli {
    pub mod classify;
}

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "holdfast", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Classify a shell command (safe / ambiguous / catastrophic).
    Classify(cli::classify::ClassifyArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Classify(a) => cli::classify::run(a)?,
    };
    std::process::exit(code);
}
