//! `holdfast service install|uninstall|status`: the daemon supervised by the OS.
//!
//! - Linux `--system` (locked posture): a system account and group, `/etc/holdfast` (the account's,
//!   0700: vault and verification key; `policy.toml` root-owned inside), `/var/lib/holdfast` (0700),
//!   the socket in `/run/holdfast` (0750, socket 0660: the group's members may connect), the marker
//!   `/etc/holdfast.toml` that tells clients which daemon to believe, and a hardened systemd unit.
//! - Linux `--user`: a systemd user unit (personal posture).
//! - Both: a user unit that runs `holdfast notify` in the graphical session (desktop notifications).
//! - Windows `--system` (locked posture): the service under LocalService with its own SID, its
//!   directories under `C:\ProgramData\holdfast` (ACLs by `icacls`), and the marker ([`windows`]).
//! - macOS: the launchd plists are generated ([`units`]).
//!
//! `--root DIR` stages every file under DIR (tests, packaging); accounts are real either way.

#[cfg(unix)]
pub mod system;
pub mod units;
pub mod windows;

pub use units::{
    launchd_notify_plist, launchd_plist, sc_install, sc_uninstall, systemd_notify_unit, systemd_system_unit,
    systemd_user_unit,
};
