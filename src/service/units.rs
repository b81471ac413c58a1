//! The service definitions `holdfast service install` writes, as pure text (golden-tested):
//! systemd system and user units, launchd plists, and the `sc.exe` command lines.

use std::path::Path;

use crate::trust::SystemDaemon;

/// The systemd unit of the system daemon (locked posture): its own account, a read-only system
/// except its own directories, restarted on failure.
pub fn systemd_system_unit(bin: &Path, system: &SystemDaemon) -> String {
    let rw = [system.config_dir.display().to_string(), system.data_dir.display().to_string()].join(" ");
    format!(
        "# Written by `holdfast service install --system`; removed by `holdfast service uninstall --system`.
[Unit]
Description=holdfast policy daemon (system, locked posture)
Documentation=man:holdfast(1)
After=local-fs.target

[Service]
Type=simple
ExecStart={bin} daemon
User={account}
Group={account}
Restart=on-failure
RestartSec=1s
# The socket directory is created by systemd for the account: group-accessible (0750) so the users
# that `--allow-user` adds to the group can connect; nobody else can enter it or plant a socket.
RuntimeDirectory=holdfast
RuntimeDirectoryMode=0750
StateDirectory=holdfast
StateDirectoryMode=0700
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={rw}
# Read-only, not hidden: the daemon reads a repository's .holdfast.toml where the repository's
# permissions let other accounts read it (repository policy can only tighten).
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictAddressFamilies=AF_UNIX
SystemCallArchitectures=native
CapabilityBoundingSet=
AmbientCapabilities=

[Install]
WantedBy=multi-user.target
",
        bin = bin.display(),
        account = system.account,
    )
}

/// The systemd user unit (personal posture): the daemon as the user, restarted on failure.
pub fn systemd_user_unit(bin: &Path) -> String {
    format!(
        "# Written by `holdfast service install --user`; removed by `holdfast service uninstall --user`.
[Unit]
Description=holdfast policy daemon (personal)

[Service]
Type=simple
ExecStart={bin} daemon
Restart=on-failure
RestartSec=1s
UMask=0077
NoNewPrivileges=yes

[Install]
WantedBy=default.target
",
        bin = bin.display()
    )
}

/// The systemd user unit that runs `holdfast notify` in the user's graphical session (installed by
/// `service install --user`, and for every user by `service install --system`): desktop
/// notifications come from the user's session, never from the daemon, which may have no desktop.
pub fn systemd_notify_unit(bin: &Path) -> String {
    format!(
        "# Written by `holdfast service install`; removed by `holdfast service uninstall`.
[Unit]
Description=holdfast desktop notifications for held commands
PartOf=graphical-session.target
After=graphical-session.target

[Service]
Type=simple
ExecStart={bin} notify
Restart=on-failure
RestartSec=5s
NoNewPrivileges=yes

[Install]
WantedBy=graphical-session.target
",
        bin = bin.display()
    )
}

/// The launchd label of the notifier's LaunchAgent.
pub const LAUNCHD_NOTIFY_LABEL: &str = "dev.holdfast.notify";

/// The LaunchAgent that runs `holdfast notify` in each user's session on macOS.
pub fn launchd_notify_plist(bin: &Path) -> String {
    let tail = "  <key>LimitLoadToSessionType</key>\n  <string>Aqua</string>\n";
    keepalive_plist(LAUNCHD_NOTIFY_LABEL, bin, "notify", "", tail)
}

/// The launchd label of both daemon plists.
pub const LAUNCHD_LABEL: &str = "dev.holdfast.daemon";

/// A launchd plist: a LaunchDaemon under `account` (system) or a LaunchAgent (user, `account`
/// `None`), kept alive when it exits with a failure.
pub fn launchd_plist(bin: &Path, account: Option<&str>) -> String {
    let user = account.map(|a| format!("  <key>UserName</key>\n  <string>{a}</string>\n  <key>GroupName</key>\n  <string>{a}</string>\n  <key>Umask</key>\n  <integer>63</integer>\n")).unwrap_or_default();
    let tail = "  <key>ProcessType</key>\n  <string>Background</string>\n";
    keepalive_plist(LAUNCHD_LABEL, bin, "daemon", &user, tail)
}

/// A plist that runs `bin arg` at load and again when it exits with a failure; `keys` go before
/// `RunAtLoad`, `tail` after `KeepAlive`.
fn keepalive_plist(label: &str, bin: &Path, arg: &str, keys: &str, tail: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{label}</string>
  <key>ProgramArguments</key>
  <array>
    <string>{bin}</string>
    <string>{arg}</string>
  </array>
{keys}  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
{tail}</dict>
</plist>
"#,
        bin = xml_escape(&bin.display().to_string()),
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The Windows service name.
pub const WINDOWS_SERVICE: &str = "holdfast";

/// `sc.exe` argument lists that install the Windows service under the LocalService account, start
/// it automatically and restart it on failure.
pub fn sc_install(bin: &Path) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // `--service`: the daemon speaks the Service Control Manager's protocol, or the SCM kills it.
    let bin_path = format!("\"{}\" daemon --service", bin.display());
    vec![
        s(&[
            "create",
            WINDOWS_SERVICE,
            "binPath=",
            &bin_path,
            "start=",
            "auto",
            "obj=",
            r"NT AUTHORITY\LocalService",
            "DisplayName=",
            "holdfast policy daemon",
        ]),
        s(&["description", WINDOWS_SERVICE, "holdfast: the policy daemon between AI coding agents and the machine"]),
        s(&["failure", WINDOWS_SERVICE, "reset=", "86400", "actions=", "restart/1000/restart/1000/restart/5000"]),
        s(&["start", WINDOWS_SERVICE]),
    ]
}

/// `sc.exe` argument lists that stop and delete the Windows service.
pub fn sc_uninstall() -> Vec<Vec<String>> {
    vec![vec!["stop".into(), WINDOWS_SERVICE.into()], vec!["delete".into(), WINDOWS_SERVICE.into()]]
}
