//! Persistence: what comes back after a reboot or a new login (services,
//! launch agents, cron, scheduled tasks, Run keys, init scripts).

use super::super::ir::Word;
use super::Inv;
use super::table::{Row, When};

rules! {
    SERVICE_ENABLE = ("persist.service_enable", Ambiguous, "Makes a service start at every boot or login; it keeps running after this session. Use `systemctl start` for this session only.");
    LAUNCH_AGENT = ("persist.launch_agent", Ambiguous, "Loads a launchd agent or daemon that restarts at every login. Run the program directly to test it.");
    CRONTAB_EDIT = ("persist.crontab", Ambiguous, "Installs a crontab that runs commands on a schedule after this session. Show the new table (`crontab -l`) to a human first.");
    SCHEDULED_TASK = ("persist.scheduled_task", Ambiguous, "Creates a scheduled or delayed job that runs later without anyone watching. Run the command now instead.");
    RUN_KEY = ("persist.run_key", Ambiguous, "Adds a Windows Run, Winlogon or service registry entry that starts a program at every logon. Tell the user what to register instead.");
    INIT_SCRIPT = ("persist.init_script", Ambiguous, "Registers an init script or service that starts at boot. Tell the user what to enable instead.");
    AUTOSTART_FILE = ("persist.autostart_file", Ambiguous, "Copies a file into an autostart location (autostart, LaunchAgents, authorized_keys): it runs or grants access at every login. Tell the user what to install instead.");
    SSH_KEY_INSTALL = ("persist.ssh_key_install", Ambiguous, "Installs an SSH key on a host, granting lasting login access.");
}

/// Installing a table from a file or stdin; `-e` opens an editor for a person at the keyboard.
fn crontab_installs(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    !args.iter().any(|a| matches!(a.as_str(), "-l" | "-r" | "-ir" | "-ri" | "-e"))
}

fn at_schedules(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    !args.iter().any(|a| matches!(a.as_str(), "-l" | "-r" | "-d" | "-c"))
}

pub(crate) const ROWS: &[Row] = &[
    Row { progs: &["systemctl"], path: &["enable|reenable|link|preset"], when: When::Always, rule: &SERVICE_ENABLE },
    Row { progs: &["launchctl"], path: &["load|bootstrap|enable|submit"], when: When::Always, rule: &LAUNCH_AGENT },
    Row { progs: &["crontab"], path: &[], when: When::Test(crontab_installs), rule: &CRONTAB_EDIT },
    Row { progs: &["at", "batch"], path: &[], when: When::Test(at_schedules), rule: &SCHEDULED_TASK },
    Row {
        progs: &["systemd-run"],
        path: &[],
        when: When::Flag(&["--on-calendar", "--on-boot", "--on-startup", "--on-active", "--on-unit-active"]),
        rule: &SCHEDULED_TASK,
    },
    Row {
        progs: &["schtasks", "schtasks.exe"],
        path: &[],
        when: When::Flag(&["/create", "/change", "-create"]),
        rule: &SCHEDULED_TASK,
    },
    Row {
        progs: &["reg", "reg.exe"],
        path: &["add|import|copy|restore|load"],
        when: When::Contains(&["\\run", "winlogon", "image file execution", "\\services\\", "userinit"]),
        rule: &RUN_KEY,
    },
    Row { progs: &["sc", "sc.exe"], path: &["create|config"], when: When::Always, rule: &RUN_KEY },
    Row {
        progs: &["update-rc.d", "rc-update"],
        path: &[],
        when: When::Unless(&["remove", "del", "show"]),
        rule: &INIT_SCRIPT,
    },
    Row { progs: &["chkconfig"], path: &[], when: When::Flag(&["on", "--add"]), rule: &INIT_SCRIPT },
    Row {
        progs: &["cp", "mv", "ln", "install", "rsync"],
        path: &[],
        when: When::Contains(&[
            "/.config/autostart",
            "/library/launchagents",
            "/library/launchdaemons",
            "/etc/xdg/autostart",
        ]),
        rule: &AUTOSTART_FILE,
    },
    Row { progs: &["ssh-copy-id"], path: &[], when: When::Always, rule: &SSH_KEY_INSTALL },
];
