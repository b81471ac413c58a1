//! Classification when the daemon cannot be reached.
//!
//! [`classify`] is the single call site of the classifier for the hook, `exec` and `doctor`.
//! Until `holdfast::classify::classify` lands on this branch it uses [`interim`], a deliberately
//! small conservative table (only the unmistakable catastrophes, a short list of read-only programs,
//! everything else ambiguous). Switching is a one-line change in [`classify`].

use crate::classify::Class;

/// A local classification: class, stable rule id, one plain sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    pub class: Class,
    pub rule: &'static str,
    pub reason: &'static str,
}

/// Classifies `command` without the daemon.
pub fn classify(command: &str) -> Local {
    interim(command)
}

/// The interim table; see the module docs.
fn interim(command: &str) -> Local {
    let mut worst = Local { class: Class::Safe, rule: "safe.read_only", reason: "The command only reads." };
    if command.trim().is_empty() {
        return Local { class: Class::Ambiguous, rule: "parse.empty", reason: "The command is empty." };
    }
    if command.contains(":(){") || command.contains(":() {") {
        return Local { class: Class::Catastrophic, rule: "proc.fork_bomb", reason: "This is a fork bomb." };
    }
    // Anything a shell would expand or redirect is beyond this table: at least ambiguous.
    let complex = command.contains(['`', '$', '>', '<', '(', ')', '{', '}', '\\', '"', '\'']);
    for part in command.split(['\n', ';', '|', '&']) {
        let got = simple(part);
        if got.class > worst.class {
            worst = got;
        }
    }
    if complex && worst.class == Class::Safe {
        worst = Local {
            class: Class::Ambiguous,
            rule: "parse.complex",
            reason: "The command uses shell features that need the full classifier.",
        };
    }
    worst
}

fn simple(part: &str) -> Local {
    let mut words = part.split_whitespace().peekable();
    // Unwrap the common prefixes: sudo/doas/env/nice/nohup/command/exec/time and VAR=value.
    while let Some(w) = words.peek() {
        let name = w.rsplit('/').next().unwrap_or(w).trim_start_matches('\\');
        if matches!(name, "sudo" | "doas" | "env" | "nice" | "nohup" | "command" | "exec" | "time")
            || (w.contains('=') && !w.starts_with('-'))
            || (w.starts_with('-') && name != *w)
        {
            words.next();
        } else {
            break;
        }
    }
    let Some(prog) = words.next() else {
        return Local { class: Class::Safe, rule: "safe.read_only", reason: "The command only reads." };
    };
    let prog = prog.rsplit('/').next().unwrap_or(prog).trim_start_matches('\\');
    let args: Vec<&str> = words.collect();
    let ambiguous =
        Local { class: Class::Ambiguous, rule: "interim.unknown", reason: "The command may change the machine." };
    match prog {
        "rm" => {
            let recursive = args
                .iter()
                .any(|a| *a == "--recursive" || (a.starts_with('-') && !a.starts_with("--") && a.contains(['r', 'R'])));
            let root = args.iter().any(|a| matches!(*a, "/" | "/*" | "~" | "~/" | "~/*" | "$HOME" | "/home" | "/usr"));
            if recursive && root {
                return Local {
                    class: Class::Catastrophic,
                    rule: "fs.rm_recursive_root",
                    reason: "This recursively deletes the root, home or a system directory.",
                };
            }
            ambiguous
        }
        p if p.starts_with("mkfs") => {
            Local { class: Class::Catastrophic, rule: "disk.mkfs", reason: "This formats a filesystem." }
        }
        "dd" if args.iter().any(|a| a.starts_with("of=/dev/")) => {
            Local { class: Class::Catastrophic, rule: "disk.dd_device", reason: "This writes raw bytes over a device." }
        }
        "ls" | "pwd" | "echo" | "cat" | "head" | "tail" | "wc" | "grep" | "rg" | "true" | "which" | "whoami"
        | "date" | "id" | "uname" | "printf" | "stat" | "file" => {
            Local { class: Class::Safe, rule: "safe.read_only", reason: "The command only reads." }
        }
        "git" if matches!(args.first(), Some(&("status" | "log" | "diff" | "show" | "branch"))) && args.len() <= 3 => {
            Local { class: Class::Safe, rule: "safe.read_only", reason: "The command only reads." }
        }
        _ => ambiguous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmistakable_cases() {
        assert_eq!(classify("rm -rf /").class, Class::Catastrophic);
        assert_eq!(classify("sudo rm -fr ~").class, Class::Catastrophic);
        assert_eq!(classify("ls -la && mkfs.ext4 /dev/sda1").class, Class::Catastrophic);
        assert_eq!(classify("ls").class, Class::Safe);
        assert_eq!(classify("git status").class, Class::Safe);
        assert_eq!(classify("rm -rf build").class, Class::Ambiguous);
        assert_eq!(classify("ls > out.txt").class, Class::Ambiguous);
        assert_eq!(classify("").class, Class::Ambiguous);
    }
}
