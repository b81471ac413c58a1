//! Shared output helpers: `--json` and human text.

use clap::Args;
use serde::Serialize;

/// A lone `--json` flag.
#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).expect("output types serialize"));
}
