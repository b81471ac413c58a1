//! The `holdfast` command: parses arguments and hands off to `cli`.
#![forbid(unsafe_code)]

mod cli;

fn main() {
    cli::quiet_on_broken_pipe();
    std::process::exit(cli::main());
}
