//! The console without a terminal: one line per hold as it appears and as it goes, for logs and
//! pipes (`holdfast console | tee holds.log`). Ends quietly when the reader goes away.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use holdfast::classify::Class;
use holdfast::transport::Client;
use holdfast::wire::PendingItem;

use super::Exit;
use super::model::Model;

/// Prints the holds, then (unless `once`) every change, until interrupted or stdout closes.
pub fn run(client: &Client, interval: Duration, once: bool) -> Result<Exit> {
    let mut model = Model::default();
    let mut shown: BTreeMap<String, PendingItem> = BTreeMap::new();
    let mut out = std::io::stdout().lock();
    let mut offline_said = false;
    loop {
        model.refresh(client);
        let lines = match &model.offline {
            Some(why) if !offline_said => vec![format!("daemon not reachable: {why}")],
            Some(_) => vec![],
            None => changes(&mut shown, &model.items),
        };
        offline_said = model.offline.is_some();
        if once && model.offline.is_none() && shown.is_empty() {
            writeln!(out, "nothing is held").ok();
        }
        for line in lines {
            // A closed reader (`| head`) ends the feed quietly.
            if writeln!(out, "{line}").is_err() {
                return Ok(Exit::Ok);
            }
        }
        if out.flush().is_err() {
            return Ok(Exit::Ok);
        }
        if once {
            return Ok(if model.offline.is_some() { Exit::NotRunning } else { Exit::Ok });
        }
        std::thread::sleep(interval);
    }
}

/// Lines for holds that appeared (`HOLD`) or went (`GONE`, answered or expired) since `shown`.
fn changes(shown: &mut BTreeMap<String, PendingItem>, now: &[PendingItem]) -> Vec<String> {
    let mut lines = Vec::new();
    let new: Vec<&PendingItem> = now.iter().filter(|i| !shown.contains_key(&i.id)).collect();
    for item in new {
        let class = item.class.map_or("?", Class::as_str);
        lines.push(format!(
            "HOLD {} {class} [{}] {}$ {}  — {} ({})",
            item.id,
            item.agent,
            item.cwd,
            item.command.replace('\n', " ⏎ "),
            item.reason,
            item.rule
        ));
        shown.insert(item.id.clone(), item.clone());
    }
    let gone: Vec<String> = shown.keys().filter(|id| !now.iter().any(|i| &i.id == *id)).cloned().collect();
    for id in gone {
        lines.push(format!("GONE {id}"));
        shown.remove(&id);
    }
    lines
}
