//! What the console shows: the holds, the daemon's status and the recent decisions, refreshed from
//! the daemon (and from the audit log when this user can read it). No terminal code here.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use holdfast::audit::Record;
use holdfast::transport::Client;
use holdfast::wire::{PendingItem, PendingState, RequestBody, ResponseBody, Status};

/// How much of the audit log's end the timeline reads each refresh.
const TIMELINE_WINDOW: u64 = 256 * 1024;
/// Most timeline rows kept.
const TIMELINE_ROWS: usize = 200;
/// How long a message stays in the footer.
const MESSAGE_FOR: Duration = Duration::from_secs(8);

/// One row of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    /// `HH:MM:SS` of the record (UTC, the daemon's clock).
    pub time: String,
    /// `allow`, `hold`, `deny`, `approve`, `deny (human)`, `bypass`, …
    pub what: String,
    pub detail: String,
}

/// The console's state.
#[derive(Default)]
pub struct Model {
    /// Holds still waiting, oldest first.
    pub items: Vec<PendingItem>,
    pub status: Option<Status>,
    /// Why the daemon could not be reached, when it could not.
    pub offline: Option<String>,
    pub timeline: Vec<Event>,
    pub selected: usize,
    pub filter: String,
    pub filtering: bool,
    pub details: bool,
    message: Option<(String, Instant)>,
    seen: HashSet<String>,
}

impl Model {
    /// Refreshes holds and status from the daemon. Returns how many holds are new since the last call.
    pub fn refresh(&mut self, client: &Client) -> usize {
        let items = match client.request(RequestBody::ListPending) {
            Ok(r) => match r.body {
                ResponseBody::PendingList { items, .. } => items,
                ResponseBody::Error(e) => return self.went_offline(e.message),
                other => return self.went_offline(format!("unexpected answer {other:?}")),
            },
            Err(e) => return self.went_offline(e.to_string()),
        };
        self.status = match client.request(RequestBody::Status).map(|r| r.body) {
            Ok(ResponseBody::Status(s)) => Some(s),
            _ => None,
        };
        self.offline = None;
        self.set_items(items)
    }

    fn went_offline(&mut self, why: String) -> usize {
        self.offline = Some(why);
        self.status = None;
        0
    }

    /// Replaces the holds with `items` (keeping the pending ones); returns how many are new.
    pub fn set_items(&mut self, items: Vec<PendingItem>) -> usize {
        let selected_id = self.selected().map(|i| i.id.clone());
        self.items = items.into_iter().filter(|i| i.state == PendingState::Pending).collect();
        self.items.sort_by(|a, b| b.age_s.cmp(&a.age_s).then_with(|| a.id.cmp(&b.id)));
        let new = self.items.iter().filter(|i| self.seen.insert(i.id.clone())).count();
        // Keep the cursor on the same hold when it is still there.
        let visible = self.visible();
        self.selected = selected_id
            .and_then(|id| visible.iter().position(|i| i.id == id))
            .unwrap_or(self.selected.min(visible.len().saturating_sub(1)));
        new
    }

    /// The holds that match the filter (agent, cwd, command, rule).
    pub fn visible(&self) -> Vec<&PendingItem> {
        let f = self.filter.to_lowercase();
        self.items
            .iter()
            .filter(|i| {
                f.is_empty() || [&i.agent, &i.cwd, &i.command, &i.rule].iter().any(|s| s.to_lowercase().contains(&f))
            })
            .collect()
    }

    /// The hold under the cursor.
    pub fn selected(&self) -> Option<&PendingItem> {
        self.visible().get(self.selected).copied()
    }

    /// Moves the cursor by `delta` rows, within the visible holds.
    pub fn move_by(&mut self, delta: isize) {
        let n = self.visible().len();
        if n > 0 {
            self.selected = self.selected.saturating_add_signed(delta).min(n - 1);
        }
    }

    /// Shows `text` in the footer for a while.
    pub fn say(&mut self, text: impl Into<String>) {
        self.message = Some((text.into(), Instant::now()));
    }

    /// The footer message, while it is fresh.
    pub fn message(&self) -> Option<&str> {
        self.message.as_ref().filter(|(_, at)| at.elapsed() < MESSAGE_FOR).map(|(m, _)| m.as_str())
    }

    /// Reads the timeline from the end of the audit log, when this user can read it.
    pub fn refresh_timeline(&mut self, log: &Path) {
        if let Ok(records) = tail_records(log, TIMELINE_WINDOW) {
            self.timeline = records.iter().rev().filter_map(event_of).take(TIMELINE_ROWS).collect();
        }
    }
}

/// The whole records in the last `window` bytes of the log, oldest first.
fn tail_records(log: &Path, window: u64) -> std::io::Result<Vec<Record>> {
    let mut file = std::fs::File::open(log)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(window);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity((len - start) as usize);
    file.take(window).read_to_end(&mut bytes)?;
    let mut lines = bytes.split(|&b| b == b'\n');
    if start > 0 {
        lines.next(); // a partial first line
    }
    Ok(lines
        .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .filter_map(|v| serde_json::from_value::<Record>(v["body"].clone()).ok())
        .collect())
}

/// The timeline row for a record, for the kinds a human watches.
fn event_of(r: &Record) -> Option<Event> {
    let d = &r.data;
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    let (what, detail) = match r.kind.as_str() {
        "propose" => (d["verdict"]["decision"].as_str()?.to_string(), format!("[{}] {}", s("agent"), s("raw"))),
        "approve" => ("approved".into(), format!("{} {}", s("pending"), s("command"))),
        "deny" => ("denied".into(), format!("{} {}", s("pending"), s("command"))),
        "expire" => ("expired".into(), format!("{} {}", s("pending"), s("command"))),
        "resolve" => (format!("{} in agent", s("decision")), s("command")),
        "observe" if d["bypass"] == true => ("BYPASS".into(), format!("{} {}", s("change"), s("path"))),
        "panic" | "release" | "pause" | "resume" => (r.kind.clone(), String::new()),
        _ => return None,
    };
    let time = r.ts.get(11..19).unwrap_or_default().to_string();
    Some(Event { seq: r.seq, time, what, detail: detail.replace('\n', " ⏎ ") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, age: u64, command: &str) -> PendingItem {
        PendingItem {
            id: id.into(),
            state: PendingState::Pending,
            created: String::new(),
            age_s: age,
            expires_in_s: 600 - age,
            agent: "claude-code".into(),
            cwd: "/repo".into(),
            command: command.into(),
            class: None,
            rule: "fs.rm_recursive".into(),
            reason: String::new(),
            command_len: None,
            command_sha256: None,
        }
    }

    #[test]
    fn new_holds_are_counted_once_and_the_cursor_follows_its_hold() {
        let mut m = Model::default();
        assert_eq!(m.set_items(vec![item("aaaaaa", 5, "rm -rf a"), item("bbbbbb", 9, "rm -rf b")]), 2);
        // Oldest first: bbbbbb, then aaaaaa. Put the cursor on aaaaaa.
        m.move_by(1);
        assert_eq!(m.selected().unwrap().id, "aaaaaa");
        // bbbbbb was answered elsewhere, a new one arrived: one new, cursor stays on aaaaaa.
        assert_eq!(m.set_items(vec![item("aaaaaa", 6, "rm -rf a"), item("cccccc", 0, "git push -f")]), 1);
        assert_eq!(m.selected().unwrap().id, "aaaaaa");
        m.filter = "push".into();
        assert_eq!(m.visible().len(), 1);
        m.move_by(5);
        assert_eq!(m.selected, 0);
    }

    #[test]
    fn the_timeline_reads_whole_records_from_the_end_of_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.jsonl");
        let mut text = String::new();
        for seq in 1..=3000u64 {
            let body = serde_json::json!({"seq": seq, "ts": "2026-12-03T08:41:01.353000Z", "prev": "", "kind": "propose",
                "peer": {}, "data": {"agent": "a", "raw": format!("cmd {seq}"), "verdict": {"decision": "allow"}}});
            text.push_str(&serde_json::json!({"body": body, "hash": "", "mac": ""}).to_string());
            text.push('\n');
        }
        std::fs::write(&log, text).unwrap();
        let mut m = Model::default();
        m.refresh_timeline(&log);
        assert_eq!(m.timeline.len(), TIMELINE_ROWS);
        assert_eq!(m.timeline[0].seq, 3000, "newest first");
        assert_eq!(m.timeline[0].detail, "[a] cmd 3000");
        assert_eq!(m.timeline[0].time, "08:41:01");
    }
}
