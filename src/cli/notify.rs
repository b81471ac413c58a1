//! `holdfast notify`: a desktop notification the moment a command is held. It runs in the user's
//! own session (the daemon may run under another account, with no desktop), polls the daemon like
//! the console does, and announces each new hold once.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use holdfast::classify::Class;
use holdfast::wire::{PendingItem, PendingState, RequestBody, ResponseBody};

use super::Exit;
use super::lifecycle::client;

#[derive(Args, Debug)]
pub struct NotifyArgs {
    /// How often to ask the daemon for holds, in milliseconds (200..=10000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(200..=10000))]
    interval_ms: u64,
}

/// Longest command shown in a notification.
const SHOWN: usize = 200;

/// `holdfast notify`: runs until interrupted.
pub fn notify(args: &NotifyArgs) -> Result<Exit> {
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() && std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        anyhow::bail!(
            "no desktop session here (no D-Bus session bus): run `holdfast notify` from your desktop session, \
             or use `holdfast console` or a [notify] command in the global policy"
        );
    }
    let client = client()?;
    let mut announced: HashSet<String> = HashSet::new();
    let mut down = false;
    eprintln!("holdfast notify: announcing new holds on the desktop (Ctrl-C stops)");
    loop {
        match client.request(RequestBody::ListPending).map(|r| r.body) {
            Ok(ResponseBody::PendingList { items, .. }) => {
                down = false;
                for item in items.iter().filter(|i| i.state == PendingState::Pending) {
                    if announced.insert(item.id.clone()) {
                        show(item);
                    }
                }
                // Forget answered holds so the set stays as small as the queue.
                announced.retain(|id| items.iter().any(|i| &i.id == id && i.state == PendingState::Pending));
            }
            Ok(_) | Err(_) if !down => {
                down = true;
                eprintln!("holdfast notify: the daemon does not answer; still trying");
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(args.interval_ms));
    }
}

fn show(item: &PendingItem) {
    let class = item.class.map_or("held", Class::as_str);
    let mut command: String = item.command.chars().take(SHOWN).collect();
    if command.len() < item.command.len() {
        command.push('…');
    }
    let body = format!(
        "{}: {command}\n{}\nholdfast approve {}  ·  holdfast deny {}",
        item.agent, item.reason, item.id, item.id
    );
    let sent = notify_rust::Notification::new()
        .appname("holdfast")
        .summary(&format!("holdfast held a {class} command ({})", item.id))
        .body(&body)
        .show();
    // A desktop without a notification service must not stop the loop: say so and go on.
    if let Err(e) = sent {
        eprintln!("holdfast notify: cannot show the notification for {}: {e}", item.id);
    }
}
