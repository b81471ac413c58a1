//! System: power state, killing everything, fork bombs, cron, services, users.

use super::super::cx::Cx;
use super::super::ir::Word;
use super::{Inv, flag, has_long, operands, selfprot};

rules! {
    POWER = ("system.power", Catastrophic, "Shuts down, reboots or halts the machine, ending every running job.");
    KILL_ALL = ("system.kill_all", Catastrophic, "Kills every process (or init) the user can signal, losing all their unsaved work. Kill the one process by its pid.");
    KILL_BROAD = ("system.kill_broad", Catastrophic, "Kills processes by a broad pattern or critical system processes. Kill the one process by its pid.");
    FORK_BOMB = ("system.fork_bomb", Catastrophic, "A function that spawns itself recursively: a fork bomb that freezes the machine.");
    CRONTAB_REMOVE = ("system.crontab_remove", Catastrophic, "Deletes the user's whole crontab. Save it with `crontab -l > backup` first.");
    CRONTAB_REPLACE = ("system.crontab_replace", Ambiguous, "Replaces the user's crontab, losing the old entries. Save it with `crontab -l > backup` first.");
    SERVICE_STOP = ("system.service_stop", Ambiguous, "Stops, disables or masks a system service, taking what it serves offline.");
    SERVICE_CRITICAL = ("system.service_critical", Catastrophic, "Stops or disables a critical service (ssh, networking, the init system), which can cut off the machine.");
    USER_ADMIN = ("system.user_admin", Ambiguous, "Creates, changes or deletes system users, groups or passwords.");
    USER_DELETE = ("system.user_delete", Catastrophic, "Deletes a user together with their home directory. Lock the account instead (`usermod -L`).");
    FIREWALL = ("system.firewall", Ambiguous, "Changes or flushes firewall rules, which can cut off access or open ports.");
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

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], _inv: &Inv<'_>) {
    let args = &argv[1..];
    let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
    let ops: Vec<&Word<'_>> = operands(args).collect();
    match name {
        "shutdown" if !flag(args, 'c', "--cancel") && !has_long(args, "--help") => cx.hit(&POWER, whole),
        "reboot" | "halt" | "poweroff" if !has_long(args, "--help") => cx.hit(&POWER, whole),
        "init" | "telinit" if ops.first().is_some_and(|w| matches!(w.as_str(), "0" | "6" | "1" | "s" | "S")) => {
            cx.hit(&POWER, whole)
        }
        "kill" => {
            // Targets: `-1` after signal options means every process.
            let mut k = 0;
            let mut sig_done = false;
            while k < args.len() {
                let t = args[k].as_str();
                if !sig_done && matches!(t, "-s" | "-n" | "--signal") {
                    k += 2;
                    sig_done = true;
                    continue;
                }
                if !sig_done && t.starts_with('-') && t.len() > 1 && t != "--" && t != "-1" {
                    k += 1;
                    sig_done = true;
                    continue;
                }
                if t == "--" {
                    k += 1;
                    sig_done = true;
                    continue;
                }
                if t == "-1" && !sig_done && args.len() > k + 1 {
                    // `kill -1 PID` is SIGHUP to PID.
                    sig_done = true;
                    k += 1;
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
        "killall" | "pkill" | "killall5" | "xkill" => {
            if name == "killall5" {
                return cx.hit(&KILL_ALL, whole);
            }
            let pats: Vec<&str> = {
                let mut v = Vec::new();
                let mut k = 0;
                while k < args.len() {
                    let t = args[k].as_str();
                    if matches!(
                        t,
                        "-u" | "-U"
                            | "-g"
                            | "-G"
                            | "-P"
                            | "-s"
                            | "--signal"
                            | "-t"
                            | "-F"
                            | "--user"
                            | "-o"
                            | "-y"
                            | "--older-than"
                            | "--younger-than"
                            | "-n"
                            | "--ns"
                            | "-c"
                            | "--parent"
                    ) {
                        k += 2;
                        continue;
                    }
                    if !t.starts_with('-') || t == "-" {
                        v.push(t);
                    }
                    k += 1;
                }
                v
            };
            if pats.iter().any(|p| p.to_ascii_lowercase().contains("holdfast")) {
                return cx.hit(&selfprot::KILL, whole);
            }
            let by_user = args.iter().any(|a| matches!(a.as_str(), "-u" | "-U" | "--user"));
            let broad = pats.is_empty() && (by_user || name == "killall")
                || pats.iter().any(|p| {
                    matches!(*p, "." | ".*" | ".+" | "*" | "" | "^" | "$" | "-1" | "bash" | "zsh" | "sh")
                        || CRITICAL_PROCS.contains(p)
                });
            if broad && !(pats.is_empty() && name == "pkill" && !by_user) {
                cx.hit(&KILL_BROAD, whole);
            }
        }
        "crontab" => {
            if args.iter().any(|a| {
                a.as_str() == "-r"
                    || (a.as_str().starts_with('-') && a.as_str().contains('r') && !a.as_str().starts_with("--"))
            }) {
                cx.hit(&CRONTAB_REMOVE, whole)
            } else if !ops.is_empty() || args.iter().any(|a| a.as_str() == "-") {
                cx.hit(&CRONTAB_REPLACE, whole)
            }
        }
        "systemctl" | "service" | "launchctl" | "loginctl" => {
            let names: Vec<&str> = ops.iter().map(|w| w.as_str()).collect();
            if names.iter().any(|n| n.contains("holdfast"))
                && !names
                    .iter()
                    .any(|n| matches!(*n, "status" | "is-active" | "is-enabled" | "show" | "cat" | "list" | "print"))
            {
                return cx.hit(&selfprot::KILL, whole);
            }
            let verb_idx = if name == "service" { 1 } else { 0 };
            let verb = names.get(verb_idx).copied().unwrap_or("");
            match verb {
                "poweroff" | "reboot" | "halt" | "kexec" | "suspend" | "hibernate" | "rescue" | "emergency"
                | "soft-reboot" => cx.hit(&POWER, whole),
                "isolate"
                    if names.iter().any(|n| {
                        n.contains("rescue")
                            || n.contains("emergency")
                            || n.contains("poweroff")
                            || n.contains("reboot")
                            || n.contains("halt")
                    }) =>
                {
                    cx.hit(&POWER, whole)
                }
                "stop" | "disable" | "mask" | "kill" | "unload" | "bootout" | "remove" | "disable-linger"
                | "terminate-session" | "kill-user" | "kill-session" => {
                    let units: Vec<&str> = if name == "service" {
                        names[..1.min(names.len())].to_vec()
                    } else {
                        names[1.min(names.len())..].to_vec()
                    };
                    let critical = units.iter().any(|u| {
                        let u = u.trim_end_matches(".service").trim_end_matches(".socket");
                        let u = u.rsplit('/').next().unwrap_or(u);
                        CRITICAL_SERVICES.contains(&u) || u.starts_with("systemd-") || u == "*"
                    });
                    cx.hit(if critical { &SERVICE_CRITICAL } else { &SERVICE_STOP }, whole)
                }
                _ => {}
            }
        }
        "useradd" | "usermod" | "passwd" | "chpasswd" | "groupdel" | "groupmod" | "adduser" | "visudo" | "chsh"
            if !args.iter().any(|a| matches!(a.as_str(), "--help" | "-h" | "-S" | "--status")) =>
        {
            cx.hit(&USER_ADMIN, whole)
        }
        "userdel" | "deluser" => {
            if flag(args, 'r', "--remove") || has_long(args, "--remove-home") || has_long(args, "--remove-all-files") {
                cx.hit(&USER_DELETE, whole)
            } else {
                cx.hit(&USER_ADMIN, whole)
            }
        }
        "iptables" | "ip6tables" | "nft" | "ufw" | "pfctl" => {
            let list = args.iter().any(|a| {
                matches!(
                    a.as_str(),
                    "-L" | "--list" | "-S" | "--list-rules" | "list" | "status" | "-s" | "-n" | "-nvL" | "-vL" | "-nL"
                )
            }) && !args
                .iter()
                .any(|a| matches!(a.as_str(), "-F" | "--flush" | "flush" | "-X" | "-D" | "-A" | "-I"));
            if !list {
                cx.hit(&FIREWALL, whole)
            }
        }
        "sysctl" if (flag(args, 'w', "--write") || args.iter().any(|a| a.as_str().contains('='))) => {
            cx.hit(&KERNEL, whole)
        }
        "modprobe" | "rmmod" | "insmod" | "nvram" | "bless" | "swapoff"
            if !args.iter().any(|a| {
                matches!(a.as_str(), "--help" | "-h" | "-p" | "--version" | "--show-depends" | "-n" | "--dry-run")
            }) =>
        {
            cx.hit(&KERNEL, whole)
        }
        "csrutil" | "spctl" | "setenforce" => {
            let off = ops.iter().any(|w| {
                matches!(
                    w.as_str(),
                    "disable" | "0" | "Permissive" | "permissive" | "--master-disable" | "--global-disable"
                )
            }) || args.iter().any(|a| matches!(a.as_str(), "--master-disable" | "--global-disable"));
            if off {
                cx.hit(&SECURITY_OFF, whole)
            }
        }
        "history" if args.iter().any(|a| a.as_str() == "-c") => cx.hit(&HISTORY_WIPE, whole),
        _ => {}
    }
}
