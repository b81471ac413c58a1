//! Exfiltration: the environment, shell history or archives of local files
//! sent off the machine (secret files themselves are `secrets`' business).

use std::ops::Range;

use super::super::cx::Cx;
use super::super::ir::Word;
use super::super::paths::{self, PathKind};
use super::table::{Row, When};
use super::{Inv, operands, program_name, secrets};

rules! {
    ENV_DUMP = ("exfil.env_dump", Catastrophic, "Sends the environment or shell history, which hold tokens and passwords, to another machine. Send only the variables the task needs.");
    PROC_ENVIRON = ("exfil.proc_environ", Ambiguous, "Reads a process's environment from /proc, which holds its tokens and passwords. Print only the variable you need (`printenv NAME`).");
    ARCHIVE_UPLOAD = ("exfil.archive_upload", Ambiguous, "Streams an archive of local files to another machine. Name the files and the destination so a human can check them.");
    HOME_UPLOAD = ("exfil.home_upload", Ambiguous, "Copies a home directory tree to a remote; personal files leave the machine. Copy only the project files.");
}

fn home_to_remote(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    let ops: Vec<&str> = operands(args).map(|w| w.as_str()).collect();
    ops.len() >= 2
        && matches!(paths::kind(ops[0]), PathKind::Home | PathKind::HomeTop | PathKind::HomePath)
        && ops[ops.len() - 1].contains(':')
}

pub(crate) const ROWS: &[Row] = &[Row {
    progs: &["rclone"],
    path: &["copy|sync|move|copyto"],
    when: When::Test(home_to_remote),
    rule: &HOME_UPLOAD,
}];

/// `~/.ssh`, `~/.aws`, `~/.gnupg` and the like: directories of keys.
fn secret_dir(t: &str) -> bool {
    let n = paths::normalize(t);
    ["~/.ssh", "~/.aws", "~/.gnupg", "~/.kube", "~/.docker", "~/.config/gcloud", "~/.azure"]
        .iter()
        .any(|d| n == *d || n.strip_prefix(d).is_some_and(|r| r.starts_with('/')))
}

fn is_history(t: &str) -> bool {
    t.ends_with("_history") || t.ends_with("/environ") || t.ends_with("history.txt")
}

/// What a pipeline stage sends downstream, when it matters here: the rule a
/// network sink reading it would break.
pub(crate) fn producer(words: &[Word<'_>]) -> Option<&'static super::super::Rule> {
    let first = words.iter().position(|w| !w.assign)?;
    let args = &words[first + 1..];
    match program_name(words[first].as_str()) {
        "env" | "printenv" => operands(args).all(|w| w.as_str().contains('=')).then_some(&ENV_DUMP),
        "set" | "declare" | "typeset" | "export" | "history" | "fc" => Some(&ENV_DUMP),
        "cat" | "tac" | "base64" | "xxd" | "gzip" | "strings" | "tr" | "head" | "tail" => {
            operands(args).any(|w| is_history(w.as_str())).then_some(&ENV_DUMP)
        }
        "tar" | "zip" | "7z" | "cpio" | "pax" => {
            // An archive of key or credential directories is the secrets themselves.
            let secret = operands(args).any(|w| paths::secret(w.as_str()).is_some() || secret_dir(w.as_str()));
            Some(if secret { &secrets::EXFILTRATE } else { &ARCHIVE_UPLOAD })
        }
        "git" => args.iter().any(|w| matches!(w.as_str(), "bundle" | "archive")).then_some(&ARCHIVE_UPLOAD),
        _ => None,
    }
}

/// The command sends what it reads on stdin to the network.
fn sends_stdin(name: &str, args: &[Word<'_>]) -> bool {
    match name {
        "nc" | "ncat" | "netcat" | "socat" | "telnet" | "openssl" => true,
        "curl" | "http" | "https" | "xh" | "wget" => args.iter().any(|a| {
            let t = a.as_str();
            t.ends_with("@-") || t == "-" || t.contains("/dev/stdin") || t == "@/dev/stdin"
        }),
        _ => false,
    }
}

/// A network sink at the end of a pipe from a [`producer`].
pub(crate) fn check_sink(
    cx: &mut Cx<'_>,
    words: &[Word<'_>],
    from: Option<(&'static super::super::Rule, Range<usize>)>,
) {
    let Some((rule, span)) = from else { return };
    let Some(first) = words.iter().position(|w| !w.assign) else { return };
    let mut k = first;
    while k < words.len() && matches!(program_name(words[k].as_str()), "sudo" | "env" | "command" | "nohup") {
        k += 1;
    }
    let Some(w) = words.get(k) else { return };
    if sends_stdin(program_name(w.as_str()), &words[k + 1..]) {
        cx.hit(rule, span.start..w.span.end);
    }
}

/// Arguments of a network program that substitute the environment or
/// history (`curl -d "$(env)" …`), and `/proc/*/environ` reads.
pub(crate) fn check_args(cx: &mut Cx<'_>, network: bool, reader: bool, argv: &[Word<'_>], _inv: &Inv<'_>) {
    for a in &argv[1..] {
        if network && let Some(s) = &a.subst {
            let s = s.trim_start_matches(['$', '(', '`', ' ']);
            if ["env", "printenv", "set", "history", "export"]
                .iter()
                .any(|p| s == *p || s.starts_with(&format!("{p})")) || s.starts_with(&format!("{p} ")))
                || s.contains("_history")
            {
                cx.hit(&ENV_DUMP, a.span.clone());
            }
        }
        if network
            && let Some(s) = &a.subst
            && s.split(|c: char| c.is_whitespace() || matches!(c, '|' | ';' | '<' | '(' | ')'))
                .any(|t| paths::secret(t).is_some())
        {
            cx.hit(&secrets::EXFILTRATE, a.span.clone());
        }
        if reader && a.as_str().starts_with("/proc/") && a.as_str().ends_with("/environ") {
            cx.hit(&PROC_ENVIRON, a.span.clone());
        }
    }
}
