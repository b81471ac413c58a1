//! Remote execution: the command sent to other machines (ansible ad hoc,
//! pdsh, parallel-ssh, clush, salt, `gcloud compute ssh --command`) is
//! classified like a local one; playbooks and fleet commands are held.

use std::borrow::Cow;

use super::super::cx::{Cx, Origin};
use super::super::ir::Word;
use super::table::{Handler, Row, When};
use super::{Inv, opt_value};

rules! {
    PLAYBOOK = ("remote.playbook", Ambiguous, "Runs a playbook that changes many hosts at once. Run it with `--check --diff` first.");
    FLEET_COMMAND = ("remote.fleet_command", Ambiguous, "Sends a command to a fleet through a cloud run-command service; its content is not checked here.");
}

fn applies(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    !args.iter().any(|a| {
        matches!(a.as_str(), "--check" | "-C" | "--syntax-check" | "--list-tasks" | "--list-hosts" | "--list-tags")
    })
}

pub(crate) const ROWS: &[Row] = &[
    Row { progs: &["ansible-playbook"], path: &[], when: When::Test(applies), rule: &PLAYBOOK },
    Row { progs: &["aws"], path: &["ssm", "send-command|start-session"], when: When::Always, rule: &FLEET_COMMAND },
    Row { progs: &["az"], path: &["vm", "run-command"], when: When::Always, rule: &FLEET_COMMAND },
];

/// Classify `words` (joined) as shell code sent elsewhere.
fn run_remote(cx: &mut Cx<'_>, words: &[Word<'_>], inv: &Inv<'_>) {
    let Some(first) = words.first() else { return };
    let code = words.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" ");
    let origin = if words.len() == 1 {
        cx.origin_of(first, &code)
    } else {
        let span = first.span.start..words[words.len() - 1].span.end;
        Origin { base: span.start, pin: Some(span) }
    };
    cx.run_code(&code, &origin, inv.depth + 1);
}

/// `ansible HOSTS -m shell|command|raw -a CODE`
fn ansible(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    let module = opt_value(args, &["-m", "--module-name"]).map(|(m, _)| m.into_owned());
    if module
        .as_deref()
        .is_some_and(|m| matches!(m, "shell" | "command" | "raw" | "ansible.builtin.shell" | "ansible.builtin.command"))
        && let Some((_, w)) = opt_value(args, &["-a", "--args"])
    {
        run_remote(cx, std::slice::from_ref(w), inv);
    }
}

/// pdsh / pssh / parallel-ssh / clush: options, then the command.
fn fanout(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    const WITH_ARG: &[&str] = &[
        "-w",
        "-x",
        "-h",
        "-H",
        "-l",
        "-t",
        "-u",
        "-f",
        "-g",
        "-p",
        "-O",
        "-o",
        "-e",
        "-R",
        "-X",
        "-w",
        "-x",
        "--hosts",
        "--host",
        "--user",
        "--par",
        "--timeout",
        "-P",
    ];
    let mut k = 1;
    while k < argv.len() {
        let t = argv[k].as_str();
        if t == "--" {
            k += 1;
            break;
        }
        if !t.starts_with('-') {
            break;
        }
        k += if WITH_ARG.contains(&t) { 2 } else { 1 };
    }
    if k < argv.len() {
        run_remote(cx, &argv[k..], inv);
    }
}

/// `salt TARGET cmd.run CODE` (and `salt-ssh`).
fn salt(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    if let Some(k) = argv.iter().position(|w| matches!(w.as_str(), "cmd.run" | "cmd.shell" | "cmd.script"))
        && k + 1 < argv.len()
    {
        run_remote(cx, &argv[k + 1..k + 2], inv);
    }
}

/// `gcloud compute ssh VM --command CODE`
fn gcloud(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    if !(args.iter().any(|a| a.as_str() == "ssh") && args.iter().any(|a| a.as_str() == "compute")) {
        return;
    }
    if let Some((code, w)) = opt_value(args, &["--command"]) {
        let word = Word { text: Cow::Owned(code.into_owned()), span: w.span.clone(), ..Default::default() };
        run_remote(cx, std::slice::from_ref(&word), inv);
    }
}

pub(crate) const HANDLERS: &[(&[&str], Handler)] = &[
    (&["ansible"], ansible),
    (&["pdsh", "pssh", "parallel-ssh", "clush"], fanout),
    (&["salt", "salt-ssh"], salt),
    (&["gcloud"], gcloud),
];
