//! The service definitions `holdfast service install` writes, against golden files
//! (tests/fixtures/service/). macOS and Windows installs can only be checked this way here.
//! Regenerate after an intended change with `HOLDFAST_BLESS=1 cargo test --test service_units`.

use std::path::Path;

use holdfast::service::units;
use holdfast::trust::SystemDaemon;

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/service").join(name);
    if std::env::var_os("HOLDFAST_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, want, "{name} differs from its golden file");
}

fn system() -> SystemDaemon {
    SystemDaemon {
        account: "holdfast".into(),
        uid: 990,
        gid: 990,
        config_dir: "/etc/holdfast".into(),
        data_dir: "/var/lib/holdfast".into(),
        socket: "/run/holdfast/holdfast.sock".into(),
        start: "sudo systemctl start holdfast".into(),
        run_dir: None,
        allow: vec![],
    }
}

#[test]
fn systemd_system_unit_is_hardened() {
    let unit = units::systemd_system_unit(Path::new("/usr/local/bin/holdfast"), &system());
    for line in [
        "User=holdfast",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "Restart=on-failure",
        "RuntimeDirectory=holdfast",
        "RuntimeDirectoryMode=0750",
        "StateDirectory=holdfast",
        "ReadWritePaths=/etc/holdfast /var/lib/holdfast",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_UNIX",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing `{line}`");
    }
    golden("holdfast-system.service", &unit);
}

#[test]
fn systemd_user_unit() {
    golden("holdfast-user.service", &units::systemd_user_unit(Path::new("/home/ann/.cargo/bin/holdfast")));
}

#[test]
fn the_notifier_runs_in_the_graphical_session() {
    let unit = units::systemd_notify_unit(Path::new("/home/ann/.cargo/bin/holdfast"));
    for line in [
        "ExecStart=/home/ann/.cargo/bin/holdfast notify",
        "PartOf=graphical-session.target",
        "WantedBy=graphical-session.target",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing `{line}`");
    }
    golden("holdfast-notify.service", &unit);
    let agent = units::launchd_notify_plist(Path::new("/usr/local/bin/holdfast"));
    assert!(agent.contains("<string>notify</string>") && !agent.contains("UserName"), "{agent}");
    golden("dev.holdfast.notify.plist", &agent);
}

#[test]
fn launchd_plists() {
    let bin = Path::new("/usr/local/bin/holdfast");
    let daemon = units::launchd_plist(bin, Some("_holdfast"));
    assert!(daemon.contains("<key>UserName</key>\n  <string>_holdfast</string>"));
    golden("dev.holdfast.daemon.system.plist", &daemon);
    let agent = units::launchd_plist(bin, None);
    assert!(!agent.contains("UserName"));
    golden("dev.holdfast.daemon.user.plist", &agent);
    // A path with XML metacharacters stays well-formed.
    assert!(units::launchd_plist(Path::new("/opt/a&b<c>/holdfast"), None).contains("/opt/a&amp;b&lt;c&gt;/holdfast"));
}

#[test]
fn windows_sc_command_lines() {
    let render = |cmds: Vec<Vec<String>>| {
        cmds.iter()
            .map(|a| format!("sc.exe {}\n", a.iter().map(|x| format!("[{x}]")).collect::<Vec<_>>().join(" ")))
            .collect::<String>()
    };
    let install = render(units::sc_install(Path::new(r"C:\Program Files\holdfast\holdfast.exe")));
    // sc.exe's option syntax: `name= value` as two arguments, the binPath quoted for spaces.
    assert!(install.contains(r#"[binPath=] ["C:\Program Files\holdfast\holdfast.exe" daemon --service]"#), "{install}");
    golden("windows-sc-install.txt", &install);
    golden("windows-sc-uninstall.txt", &render(units::sc_uninstall()));
}

#[test]
fn windows_system_install_plan() {
    use holdfast::service::windows::{Step, WindowsInstall};
    let install = WindowsInstall {
        root: "/".into(),
        bin: r"C:\Program Files\holdfast\holdfast.exe".into(),
        allow: vec!["S-1-5-21-1004336348-1177238915-682003330-1001".into(), "S-1-5-32-545".into()],
    };
    let plan = install.plan();
    let text: String = plan.iter().map(|s| format!("{s}\n")).collect();
    // The service exists (with its own SID) before the ACLs name it; the marker is written after
    // the ACLs (it inherits them) and before the start (the daemon reads it when it starts).
    let position = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("missing `{needle}` in\n{text}"));
    assert!(position("sc.exe sidtype holdfast unrestricted") < position("icacls"));
    assert!(position(r"icacls C:\ProgramData\holdfast\run /inheritance:r") < position("write "));
    assert!(position("write ") < position("sc.exe start holdfast"));
    assert!(text.contains(r#""NT SERVICE\holdfast:(OI)(CI)M""#), "{text}");
    let Some(Step::Write(path, marker)) = plan.iter().find(|s| matches!(s, Step::Write(..))) else { panic!() };
    assert_eq!(path.to_string_lossy(), holdfast::trust::WINDOWS_SYSTEM_MARKER);
    let parsed: SystemDaemon = toml::from_str(marker).unwrap();
    assert_eq!(parsed, install.layout());
    assert!(parsed.check_windows().is_ok());
    assert_eq!(parsed.socket.to_string_lossy(), r"\\.\pipe\ProtectedPrefix\LocalService\holdfast");
    golden("windows-system-install.txt", &text);
    let uninstall: String = install.uninstall_plan(true).iter().map(|s| format!("{s}\n")).collect();
    golden("windows-system-uninstall.txt", &uninstall);
}

#[test]
fn windows_user_install_plan() {
    use holdfast::service::windows::{user_plan, user_uninstall_plan};
    let bin = std::path::Path::new(r"C:\Users\ann\.cargo\bin\holdfast.exe");
    let render =
        |steps: Vec<holdfast::service::windows::Step>| steps.iter().map(|s| format!("{s}\n")).collect::<String>();
    let install = render(user_plan(bin));
    // The logon starts the daemon and the notifier, as the user, with no service and no administrator.
    assert!(install.contains(r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"), "{install}");
    assert!(!install.contains("sc.exe") && !install.contains("LocalService"), "{install}");
    golden("windows-user-install.txt", &install);
    golden("windows-user-uninstall.txt", &render(user_uninstall_plan(bin)));
}
