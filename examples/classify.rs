//! Classify command lines from stdin with the library: class, rule, the span that triggered it,
//! and the reason. Pure: no daemon, no I/O besides stdin/stdout.
//!
//!     printf '%s\n' 'ls -la' 'git push --force' 'echo "rm -rf /"' | cargo run --example classify
use std::io::BufRead;

fn main() -> std::io::Result<()> {
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let c = holdfast::classify::classify(&line);
        // The span is a byte range into the line; `None` when no rule matched.
        let part = c.span.clone().map_or("", |s| &line[s]);
        println!("{:<12} {:<28} {:<24} {}", c.class, c.rule, part, c.reason);
    }
    Ok(())
}
