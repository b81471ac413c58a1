//! System: power state, killing everything, fork bombs, cron, services, users.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::super::cx::Cx;
use super::super::ir::Word;
use super::names::FnvBuild;
use std::ops::Range;

use super::table::{Arm, ArmIndex, always, first_arm, index_arms, index_handlers};
use super::{Inv, any_of, flag, has_long, operands, selfprot};

rules! {
    POWER = ("system.power", Catastrophic, "Shuts down, reboots or halts the machine, ending every running job.");
    KILL_ALL = ("system.kill_all", Catastrophic, "Kills every process (or init) the user can signal, losing all their unsaved work. Kill the one process by its pid.");
    KILL_BROAD = ("system.kill_broad", Catastrophic, "Kills processes by a broad pattern or critical system processes. Kill the one process by its pid.");
    FORK_BOMB = ("system.fork_bomb", Catastrophic, "A function that spawns itself recursively: a fork bomb that freezes the machine.");
    CRONTAB_REMOVE = ("system.crontab_remove", Catastrophic, "Deletes the user's whole crontab. Save it with `crontab -l > backup` first.");
    CRONTAB_REPLACE = ("system.crontab_replace", Ambiguous, "Replaces the user's crontab, losing the old entries. Save it with `crontab -l > backup` first.");
    SERVICE_STOP = ("system.service_stop", Ambiguous, "Stops, disables or masks a system service, taking what it serves offline. Use `systemctl restart` when a restart is what you need.");
    SERVICE_CRITICAL = ("system.service_critical", Catastrophic, "Stops or disables a critical service (ssh, networking, the init system), which can cut off the machine.");
    USER_ADMIN = ("system.user_admin", Ambiguous, "Creates, changes or deletes system users, groups or passwords.");
    USER_DELETE = ("system.user_delete", Catastrophic, "Deletes a user together with their home directory. Lock the account instead (`usermod -L`).");
    FIREWALL = ("system.firewall", Ambiguous, "Changes or flushes firewall rules, which can cut off access or open ports. List the rules first (`iptables -S`, `ufw status`).");
    KERNEL = ("system.kernel", Ambiguous, "Changes kernel parameters, modules or boot/security settings.");
    SECURITY_OFF = ("system.security_disable", Catastrophic, "Disables an operating-system security protection, leaving the machine exposed.");
    HISTORY_WIPE = ("system.history_clear", Ambiguous, "Clears the shell history, erasing the record of what was run.");
}

const CRITICAL_PROCS: &[&str] = &[
    "init",
    "systemd",
    "launchd",
    "sshd",
    "kernel_task",
    "WindowServer",
    "loginwindow",
    "Finder",
    "Xorg",
    "dbus-daemon",
    "kthreadd",
    "gnome-shell",
    "explorer.exe",
    "csrss.exe",
    "winlogon.exe",
];

const CRITICAL_SERVICES: &[&str] = &[
    "ssh",
    "sshd",
    "networking",
    "network",
    "NetworkManager",
    "systemd-networkd",
    "systemd-resolved",
    "dbus",
    "systemd-journald",
    "systemd-logind",
    "firewalld",
    "getty",
    "cron",
    "auditd",
];

/// Programs whose verdict is a rule over their flags and first operands (first arm wins).
const ARMS: &[Arm] = &[
    Arm {
        on: &["shutdown"],
        path: &[],
        when: |a, _| !flag(a, 'c', "--cancel") && !has_long(a, "--help"),
        rule: &POWER,
    },
    Arm { on: &["reboot", "halt", "poweroff"], path: &[], when: |a, _| !has_long(a, "--help"), rule: &POWER },
    Arm { on: &["init", "telinit"], path: &["0|6|1|s|S"], when: always, rule: &POWER },
    Arm { on: &["crontab"], path: &[], when: |a, _| removes_crontab(a), rule: &CRONTAB_REMOVE },
    Arm { on: &["crontab"], path: &[], when: |a, o| !o.is_empty() || any_of(a, &["-"]), rule: &CRONTAB_REPLACE },
    Arm {
        on: &["useradd", "usermod", "passwd", "chpasswd", "groupdel", "groupmod", "adduser", "visudo", "chsh"],
        path: &[],
        when: |a, _| !any_of(a, &["--help", "-h", "-S", "--status"]),
        rule: &USER_ADMIN,
    },
    Arm {
        on: &["userdel", "deluser"],
        path: &[],
        when: |a, _| flag(a, 'r', "--remove") || has_long(a, "--remove-home") || has_long(a, "--remove-all-files"),
        rule: &USER_DELETE,
    },
    Arm { on: &["userdel", "deluser"], path: &[], when: always, rule: &USER_ADMIN },
    Arm {
        on: &["iptables", "ip6tables", "nft", "ufw", "pfctl"],
        path: &[],
        when: |a, _| !any_of(a, FIREWALL_LISTS) || any_of(a, FIREWALL_CHANGES),
        rule: &FIREWALL,
    },
    Arm {
        on: &["sysctl"],
        path: &[],
        when: |a, _| flag(a, 'w', "--write") || a.iter().any(|w| w.as_str().contains('=')),
        rule: &KERNEL,
    },
    Arm {
        on: &["modprobe", "rmmod", "insmod", "nvram", "bless", "swapoff"],
        path: &[],
        when: |a, _| !any_of(a, &["--help", "-h", "-p", "--version", "--show-depends", "-n", "--dry-run"]),
        rule: &KERNEL,
    },
    Arm {
        on: &["csrutil", "spctl", "setenforce"],
        path: &[],
        when: |a, o| o.iter().any(|w| SECURITY_OFF_WORDS.contains(w)) || any_of(a, &SECURITY_OFF_WORDS[4..]),
        rule: &SECURITY_OFF,
    },
    Arm { on: &["history"], path: &[], when: |a, _| any_of(a, &["-c"]), rule: &HISTORY_WIPE },
];

static INDEX: LazyLock<ArmIndex> = LazyLock::new(|| index_arms(ARMS));

/// Firewall arguments that only list, and those that change even in a listing.
const FIREWALL_LISTS: &[&str] =
    &["-L", "--list", "-S", "--list-rules", "list", "status", "-s", "-n", "-nvL", "-vL", "-nL"];
const FIREWALL_CHANGES: &[&str] = &["-F", "--flush", "flush", "-X", "-D", "-A", "-I"];
/// Operands that turn a protection off (the last two are also options).
const SECURITY_OFF_WORDS: &[&str] =
    &["disable", "0", "Permissive", "permissive", "--master-disable", "--global-disable"];

/// `crontab -r` (alone or in a cluster such as `-ir`).
fn removes_crontab(args: &[Word<'_>]) -> bool {
    args.iter().any(|a| {
        let t = a.as_str();
        t == "-r" || (t.starts_with('-') && t.contains('r') && !t.starts_with("--"))
    })
}

/// A program that reads its arguments itself: gets its name, argv and the whole command's span.
type Handler = fn(&mut Cx<'_>, &str, &[Word<'_>], Range<usize>);

const HANDLERS: &[(&[&str], Handler)] = &[
    (&["kill"], kill),
    (&["killall", "pkill", "killall5", "xkill"], kill_by_name),
    (&["systemctl", "service", "launchctl", "loginctl"], services),
];

static BY_NAME: LazyLock<HashMap<&str, Handler, FnvBuild>> = LazyLock::new(|| index_handlers(HANDLERS));

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], _inv: &Inv<'_>) {
    let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
    if let Some(h) = BY_NAME.get(name) {
        return h(cx, name, argv, whole);
    }
    let args = &argv[1..];
    let ops: Vec<&str> = operands(args).map(|w| w.as_str()).collect();
    if let Some(r) = first_arm(&INDEX, name, args, &ops) {
        cx.hit(r, whole);
    }
}

/// `kill`: a target of `-1` (after the signal options) is every process.
fn kill(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], _: Range<usize>) {
    let args = &argv[1..];
    let mut k = 0;
    let mut sig_done = false;
    while k < args.len() {
        let t = args[k].as_str();
        if !sig_done && matches!(t, "-s" | "-n" | "--signal") {
            k += 2;
            sig_done = true;
            continue;
        }
        // An option, `--`, or `kill -1 PID` (SIGHUP to PID) ends the signal options.
        if t == "--"
            || (!sig_done && t.starts_with('-') && t.len() > 1 && t != "-1")
            || (t == "-1" && !sig_done && args.len() > k + 1)
        {
            k += 1;
            sig_done = true;
            continue;
        }
        if t == "-1" || t == "1" {
            cx.hit(&KILL_ALL, args[k].span.clone());
        }
        if let Some(s) = &args[k].subst
            && s.contains("holdfast")
        {
            cx.hit(&selfprot::KILL, args[k].span.clone());
        }
        k += 1;
    }
}

/// Options of `killall`/`pkill` that take a value.
const KILL_VALUED: &[&str] = &[
    "-u",
    "-U",
    "-g",
    "-G",
    "-P",
    "-s",
    "--signal",
    "-t",
    "-F",
    "--user",
    "-o",
    "-y",
    "--older-than",
    "--younger-than",
    "-n",
    "--ns",
    "-c",
    "--parent",
];
/// Patterns that match every process or the user's shells.
const KILL_EVERYTHING: &[&str] = &[".", ".*", ".+", "*", "", "^", "$", "-1", "bash", "zsh", "sh"];

/// `killall`, `pkill`, `killall5`: broad patterns, critical processes, holdfast itself.
fn kill_by_name(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], whole: Range<usize>) {
    if name == "killall5" {
        return cx.hit(&KILL_ALL, whole);
    }
    let args = &argv[1..];
    let mut pats: Vec<&str> = Vec::new();
    let mut k = 0;
    while k < args.len() {
        let t = args[k].as_str();
        if KILL_VALUED.contains(&t) {
            k += 2;
            continue;
        }
        if !t.starts_with('-') || t == "-" {
            pats.push(t);
        }
        k += 1;
    }
    if pats.iter().any(|p| p.to_ascii_lowercase().contains("holdfast")) {
        return cx.hit(&selfprot::KILL, whole);
    }
    let by_user = any_of(args, &["-u", "-U", "--user"]);
    let broad = pats.is_empty() && (by_user || name == "killall")
        || pats.iter().any(|p| KILL_EVERYTHING.contains(p) || CRITICAL_PROCS.contains(p));
    if broad && !(pats.is_empty() && name == "pkill" && !by_user) {
        cx.hit(&KILL_BROAD, whole);
    }
}

/// Service-manager verbs that only read.
const SERVICE_READS: &[&str] = &["status", "is-active", "is-enabled", "show", "cat", "list", "print"];
/// Verbs that power the machine off or into a rescue state.
const SERVICE_POWER: &[&str] =
    &["poweroff", "reboot", "halt", "kexec", "suspend", "hibernate", "rescue", "emergency", "soft-reboot"];
/// Targets of `isolate` that power off or rescue.
const ISOLATE_POWER: &[&str] = &["rescue", "emergency", "poweroff", "reboot", "halt"];
/// Verbs that stop, disable or remove a service or session.
const SERVICE_STOPS: &[&str] = &[
    "stop",
    "disable",
    "mask",
    "kill",
    "unload",
    "bootout",
    "remove",
    "disable-linger",
    "terminate-session",
    "kill-user",
    "kill-session",
];

/// `systemctl`, `service`, `launchctl`, `loginctl`: power verbs, stopping (critical) services.
fn services(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], whole: Range<usize>) {
    let names: Vec<&str> = operands(&argv[1..]).map(|w| w.as_str()).collect();
    if names.iter().any(|n| n.contains("holdfast")) && !names.iter().any(|n| SERVICE_READS.contains(n)) {
        return cx.hit(&selfprot::KILL, whole);
    }
    // `service UNIT VERB`; the others: `VERB UNIT…`.
    let (verb, units) = match (name, names.as_slice()) {
        ("service", [unit, verb, ..]) => (*verb, std::slice::from_ref(unit)),
        ("service", units) => ("", units),
        (_, [verb, units @ ..]) => (*verb, units),
        (_, []) => ("", &[][..]),
    };
    if SERVICE_POWER.contains(&verb)
        || (verb == "isolate" && names.iter().any(|n| ISOLATE_POWER.iter().any(|p| n.contains(p))))
    {
        cx.hit(&POWER, whole)
    } else if SERVICE_STOPS.contains(&verb) {
        let critical = units.iter().any(|u| {
            let u = u.trim_end_matches(".service").trim_end_matches(".socket");
            let u = u.rsplit('/').next().unwrap_or(u);
            CRITICAL_SERVICES.contains(&u) || u.starts_with("systemd-") || u == "*"
        });
        cx.hit(if critical { &SERVICE_CRITICAL } else { &SERVICE_STOP }, whole)
    }
}
