//! Broken pipes (`holdfast log tail | head -1`): the reader left, so the CLI ends quietly.
//!
//! Exit status 141 (128 + SIGPIPE), what a shell reports for a C tool killed by SIGPIPE, so a
//! script under `set -o pipefail` still sees that the output was cut short; nothing is printed.
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with `BrokenPipe` instead: `println!`
//! panics with it (caught by [`quiet_on_broken_pipe`]) and `?` returns it (caught by [`is_broken_pipe`]).

use std::io;

/// The exit status of a CLI whose reader went away.
pub const EXIT_BROKEN_PIPE: i32 = 141;

/// Makes a panic from printing to a closed stdout end the process quietly with [`EXIT_BROKEN_PIPE`];
/// every other panic is reported as usual.
pub fn quiet_on_broken_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // std formats this panic's message, so its payload is a `String`.
        if info.payload().downcast_ref::<String>().is_some_and(|m| is_stdout_broken_pipe_panic(m)) {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        report(info)
    }));
}

/// True for std's `failed printing to stdout: <error>` panic when the error is a broken pipe (the
/// error text is the OS's own for EPIPE, or Windows' closed-pipe codes).
fn is_stdout_broken_pipe_panic(message: &str) -> bool {
    let Some(error) = message.strip_prefix("failed printing to stdout: ") else { return false };
    broken_pipe_errors().iter().any(|e| error == e.to_string())
}

#[cfg(unix)]
fn broken_pipe_errors() -> Vec<io::Error> {
    vec![io::Error::from_raw_os_error(rustix::io::Errno::PIPE.raw_os_error())]
}

/// `ERROR_BROKEN_PIPE` (109) and `ERROR_NO_DATA` (232, "the pipe is being closed").
#[cfg(windows)]
fn broken_pipe_errors() -> Vec<io::Error> {
    vec![io::Error::from_raw_os_error(109), io::Error::from_raw_os_error(232)]
}

/// True when `e` (or anything in its chain) is a broken pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_broken_stdout_is_quiet() {
        let epipe = broken_pipe_errors().remove(0);
        assert_eq!(epipe.kind(), io::ErrorKind::BrokenPipe);
        assert!(is_stdout_broken_pipe_panic(&format!("failed printing to stdout: {epipe}")));
        assert!(!is_stdout_broken_pipe_panic(&format!("failed printing to stderr: {epipe}")));
        let full = io::Error::from(io::ErrorKind::StorageFull);
        assert!(!is_stdout_broken_pipe_panic(&format!("failed printing to stdout: {full}")));
        assert!(is_broken_pipe(&anyhow::Error::new(epipe).context("writing the tail")));
        assert!(!is_broken_pipe(&anyhow::anyhow!("Broken pipe")));
    }
}
