//! The `holdfast` command: parses arguments and hands off to `cli`.
#![forbid(unsafe_code)]

mod cli;

fn main() {
    std::process::exit(cli::main());
}
