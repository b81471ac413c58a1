//! Privilege escalation and host escape: capabilities, preloaded libraries,
//! bind mounts and chroots, privileged containers, namespaces.

use super::super::ir::Word;
use super::Inv;
use super::table::{Row, When};

rules! {
    SETCAP = ("privesc.setcap", Ambiguous, "Grants a program kernel capabilities, so anyone running it gains root-like powers. Run the one command that needs them with sudo instead.");
    PRELOAD = ("privesc.preload", Ambiguous, "Injects a shared library into every program started (LD_PRELOAD, DYLD_INSERT_LIBRARIES): it can take over sudo and anything else.");
    BIND_MOUNT = ("privesc.bind_mount", Ambiguous, "Bind-mounts or chroots into a host directory, exposing or replacing the real system files. Mount only the project directory, read-only where you can.");
    CONTAINER_ESCAPE = ("privesc.container_escape", Ambiguous, "Starts a container with host privileges (--privileged, host root or docker.sock mounted, host namespaces): it controls the host. Drop the flag or mount only the project directory.");
    CONTAINER_SHELL = ("privesc.container_shell", Ambiguous, "Opens an interactive shell inside a running container, where nothing it does is checked. Run the single command with `exec` instead.");
    NAMESPACE = ("privesc.namespace", Ambiguous, "Enters or creates namespaces (nsenter, unshare, capsh) to act as root or as another process.");
    GROUP_ADD = ("privesc.group_add", Ambiguous, "Adds a user to a group, which can grant admin, docker or disk access.");
}

const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "ash",
    "dash",
    "fish",
    "ksh",
    "/bin/sh",
    "/bin/bash",
    "/bin/zsh",
    "powershell",
    "pwsh",
    "cmd",
];

fn bind_mount(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    args.iter().enumerate().any(|(k, a)| {
        let t = a.as_str();
        matches!(t, "--bind" | "--rbind" | "-B" | "--make-shared")
            || ((t == "-o" || t == "--options")
                && args.get(k + 1).is_some_and(|v| v.as_str().split(',').any(|o| o == "bind" || o == "rbind")))
    })
}

/// `docker run` / `create` flags that hand the container the host.
fn host_container(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    args.iter().take_while(|a| a.as_str() != "--").enumerate().any(|(k, a)| {
        let t = a.as_str();
        let next = args.get(k + 1).map(|w| w.as_str()).unwrap_or("");
        let value = |opt: &str| -> Option<&str> {
            if t == opt { Some(next) } else { t.strip_prefix(opt).and_then(|r| r.strip_prefix('=')) }
        };
        let mount = value("-v").or_else(|| value("--volume")).or_else(|| value("--mount"));
        t == "--privileged"
            || ["--pid", "--ipc", "--userns", "--uts"].iter().any(|o| value(o) == Some("host"))
            || value("--cap-add").is_some_and(|c| c.eq_ignore_ascii_case("all") || c.eq_ignore_ascii_case("sys_admin"))
            || value("--security-opt").is_some_and(|s| s.contains("unconfined"))
            || value("--device").is_some()
            || mount.is_some_and(|m| {
                m.starts_with("/:") || m.contains("source=/,") || m.contains("src=/,") || m.contains("docker.sock")
            })
    })
}

fn interactive_shell(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    let interactive = args.iter().any(|a| {
        let t = a.as_str();
        matches!(t, "--interactive" | "--tty")
            || (t.starts_with('-') && !t.starts_with("--") && (t.contains('i') || t.contains('t')))
    });
    interactive && args.iter().any(|a| SHELLS.contains(&a.as_str()))
}

pub(crate) const ROWS: &[Row] = &[
    Row { progs: &["setcap"], path: &[], when: When::Unless(&["-v"]), rule: &SETCAP },
    Row { progs: &["mount"], path: &[], when: When::Test(bind_mount), rule: &BIND_MOUNT },
    Row { progs: &["chroot"], path: &[], when: When::Always, rule: &BIND_MOUNT },
    Row {
        progs: &["docker", "podman", "nerdctl"],
        path: &["run|create"],
        when: When::Test(host_container),
        rule: &CONTAINER_ESCAPE,
    },
    Row {
        progs: &["docker", "podman", "nerdctl"],
        path: &["container", "run|create"],
        when: When::Test(host_container),
        rule: &CONTAINER_ESCAPE,
    },
    Row {
        progs: &["kubectl", "oc"],
        path: &["run|debug"],
        when: When::Contains(&["hostpid", "hostnetwork", "privileged", "hostpath", "--profile=sysadmin"]),
        rule: &CONTAINER_ESCAPE,
    },
    Row {
        progs: &["docker", "podman", "nerdctl"],
        path: &["exec"],
        when: When::Test(interactive_shell),
        rule: &CONTAINER_SHELL,
    },
    Row { progs: &["kubectl", "oc"], path: &["exec"], when: When::Test(interactive_shell), rule: &CONTAINER_SHELL },
    Row { progs: &["nsenter", "unshare", "capsh"], path: &[], when: When::Always, rule: &NAMESPACE },
    Row { progs: &["gpasswd"], path: &[], when: When::Flag(&["-a", "-M", "--add", "--members"]), rule: &GROUP_ADD },
];

/// `LD_PRELOAD=…`, `DYLD_INSERT_LIBRARIES=…` anywhere in a command (assignment, `env`, `export`).
pub(crate) fn is_preload(t: &str) -> bool {
    ["LD_PRELOAD=", "LD_AUDIT=", "DYLD_INSERT_LIBRARIES="].iter().any(|p| t.starts_with(p) && t.len() > p.len())
}
