//! The approval queue: held commands waiting for a human, and their final states for a while.
//!
//! Built to be driven by the audit log: no clock and no randomness inside. Every state change
//! is one call taking `now` (unix milliseconds, from the audit record's `ts`), and the same call
//! is made live (after the record is durable) and at replay, so replay rebuilds the same queue:
//!
//! | audit record | call |
//! |---|---|
//! | a held verdict | `Queue::hold` with the [`Held`] the record carries |
//! | an approval / denial of a pending id | `Queue::resolve` |
//! | any record (before applying it), and start-up | `Queue::expire` with its time |
//!
//! Live, the checks run first without changing anything (`Queue::new_id`,
//! `Queue::check_resolve`), then the record is written, then the change is applied.
//!
//! **Expiry** is a function of time: an item is expired from its `expires_ms` on, whether or not
//! `Queue::expire` has swept it yet. An approval or denial at or after `expires_ms` fails with
//! `QueueError::Conflict` (state `expired`), so "approve racing expiry" has one answer.
//! **Resolve exactly once**: a second approval or denial is a `Conflict` naming the final state.
//! **Retention**: resolved and expired items stay visible to `Queue::status` for
//! `RETAIN_RESOLVED_MS` (1 h), at most `RETAIN_RESOLVED_MAX` of them (oldest dropped first),
//! so a hook polling `pending_status` sees `approved`/`denied`/`expired`, not `gone`.
//!
//! **Memory**: at most `MAX_PENDING` items and [`MAX_PENDING_BYTES`] of their text are pending;
//! a hold beyond either is refused (the proposal is denied, and recorded as such). A list is
//! paged (`Queue::page`) and shortens long commands, so every reply fits a frame.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::classify::Class;
use crate::wire::{HumanDecision, PendingItem, PendingState};

/// Default time a held command waits for a human.
#[cfg(test)]
pub(crate) const DEFAULT_EXPIRY_MS: u64 = 600_000;
/// Most items pending at once; beyond it, `new_id` fails with [`QueueError::Full`].
pub(crate) const MAX_PENDING: usize = 10_000;
/// Most bytes of held text (command, cwd, reason, …) pending at once: 300 holds of 1 MiB
/// commands took the daemon to 929 MB before this bound.
pub const MAX_PENDING_BYTES: usize = 32 << 20;
/// Bookkeeping counted per item on top of its text.
const ITEM_OVERHEAD: usize = 256;
/// Longest command a list shows; a longer one is cut and carries its length and SHA-256.
pub const LIST_COMMAND_MAX: usize = 4096;
/// Most items in one `list_pending` page.
pub(crate) const PAGE_MAX_ITEMS: usize = 500;
/// A page stops growing past this many bytes of JSON (well under the 16 MiB frame limit).
pub(crate) const PAGE_MAX_BYTES: usize = 4 << 20;
/// How long a resolved item's final state stays visible.
pub(crate) const RETAIN_RESOLVED_MS: u64 = 3_600_000;
/// How many resolved items stay visible at most.
pub(crate) const RETAIN_RESOLVED_MAX: usize = 1_000;
/// Characters in a pending id.
pub(crate) const ID_LEN: usize = 6;
/// Fresh random draws `new_id` tries before giving up.
const ID_ATTEMPTS: usize = 64;

/// Crockford base32, lowercase (ids are typed by humans).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A held command, exactly as its audit record carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The pending id (6 characters of lower-case Crockford base32).
    pub id: String,
    /// When it was held, in ms since the Unix epoch.
    pub created_ms: u64,
    /// When it expires, in ms since the Unix epoch.
    pub expires_ms: u64,
    /// The agent that proposed it.
    pub agent: String,
    /// The directory it would run in.
    pub cwd: String,
    /// Decision-memory scope ([`crate::policy::memory_scope`] of `cwd` when held).
    pub scope: String,
    /// The agent's session, when the proposal named one (a one-time grant is bound to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The command line.
    pub command: String,
    /// The class the daemon gave it.
    pub class: Class,
    /// The rule that held it.
    pub rule: String,
    /// Why it was held.
    pub reason: String,
}

impl Held {
    /// A copy without the command (which may be a megabyte), for a shortened view.
    fn clone_without_command(&self) -> Held {
        Held {
            id: self.id.clone(),
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            agent: self.agent.clone(),
            cwd: self.cwd.clone(),
            scope: self.scope.clone(),
            session: self.session.clone(),
            command: String::new(),
            class: self.class,
            rule: self.rule.clone(),
            reason: self.reason.clone(),
        }
    }

    /// What this item counts against [`MAX_PENDING_BYTES`].
    pub fn bytes(&self) -> usize {
        [&self.id, &self.agent, &self.cwd, &self.scope, &self.command, &self.rule, &self.reason]
            .iter()
            .map(|s| s.len())
            .sum::<usize>()
            + ITEM_OVERHEAD
    }
}

/// Why a queue operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QueueError {
    #[error("no pending item `{0}`")]
    NotFound(String),
    #[error("pending item `{id}` is already {}", state_word(*state))]
    Conflict { id: String, state: PendingState },
    #[error("the approval queue is full ({MAX_PENDING} items pending)")]
    Full,
    #[error("the approval queue is full ({} MiB of held commands pending; this one is {} bytes)", MAX_PENDING_BYTES >> 20, .0)]
    TooLarge(usize),
    #[error("pending id `{0}` is already in use")]
    Duplicate(String),
    #[error("could not draw a free pending id")]
    NoFreeId,
}

fn state_word(s: PendingState) -> &'static str {
    match s {
        PendingState::Pending => "pending",
        PendingState::Approved => "approved",
        PendingState::Denied => "denied",
        PendingState::Expired => "expired",
        PendingState::Gone => "gone",
        PendingState::AgentApproved => "approved in the agent's prompt",
    }
}

/// Canonical form of a human-typed id: case-insensitive, `-` and spaces ignored, Crockford's
/// `i`/`l` → `1` and `o` → `0`. `None` if it cannot be an id.
pub fn normalize_id(s: &str) -> Option<String> {
    normalize_prefix(s).filter(|p| p.len() == ID_LEN)
}

/// Like [`normalize_id`] for the first 1 to 6 characters of an id (what a human may type).
pub fn normalize_prefix(s: &str) -> Option<String> {
    let mut out = String::with_capacity(ID_LEN);
    for c in s.chars().filter(|c| *c != '-' && !c.is_whitespace()) {
        let c = match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || out.len() == ID_LEN {
            return None;
        }
        out.push(c);
    }
    (!out.is_empty()).then_some(out)
}

fn encode_id(random: [u8; 4]) -> String {
    let n = u32::from_le_bytes(random);
    (0..ID_LEN).map(|i| ALPHABET[((n >> (5 * i)) & 31) as usize] as char).collect()
}

/// RFC 3339 UTC with microseconds, from unix milliseconds.
fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_micros(SystemTime::UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Resolved {
    held: Held,
    state: PendingState,
}

/// The approval queue (serialized whole into audit checkpoints).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Queue {
    pending: HashMap<String, Held>,
    resolved: HashMap<String, Resolved>,
    /// Resolution order (time, id), for retention.
    order: VecDeque<(u64, String)>,
    /// [`Held::bytes`] summed over `pending`.
    pending_bytes: usize,
    /// SHA-256 (hex) of each pending command longer than [`LIST_COMMAND_MAX`], taken once at
    /// hold time so a list never hashes megabytes.
    digests: HashMap<String, String>,
}

impl Queue {
    /// An empty queue.
    pub fn new() -> Queue {
        Queue::default()
    }

    /// Number of items waiting (some may be past expiry until the next [`Queue::expire`]).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Draws a fresh id from `random` (4 bytes per draw; live: OS randomness), unique among
    /// pending and retained items, for an item of `bytes` ([`Held::bytes`]). Fails when the
    /// queue has no room for it. Changes nothing.
    pub fn new_id(&self, bytes: usize, mut random: impl FnMut() -> [u8; 4]) -> Result<String, QueueError> {
        self.room_for(bytes)?;
        (0..ID_ATTEMPTS)
            .map(|_| encode_id(random()))
            .find(|id| !self.pending.contains_key(id) && !self.resolved.contains_key(id))
            .ok_or(QueueError::NoFreeId)
    }

    /// Adds a held command (live after its record is durable; at replay from the record).
    pub fn hold(&mut self, held: Held) -> Result<(), QueueError> {
        if self.pending.contains_key(&held.id) || self.resolved.contains_key(&held.id) {
            return Err(QueueError::Duplicate(held.id));
        }
        self.room_for(held.bytes())?;
        self.pending_bytes += held.bytes();
        if held.command.len() > LIST_COMMAND_MAX {
            use sha2::Digest as _;
            self.digests.insert(held.id.clone(), hex::encode(sha2::Sha256::digest(held.command.as_bytes())));
        }
        self.pending.insert(held.id.clone(), held);
        Ok(())
    }

    fn room_for(&self, bytes: usize) -> Result<(), QueueError> {
        if self.pending.len() >= MAX_PENDING {
            return Err(QueueError::Full);
        }
        if self.pending_bytes.saturating_add(bytes) > MAX_PENDING_BYTES {
            return Err(QueueError::TooLarge(bytes));
        }
        Ok(())
    }

    /// Takes `id` out of the pending items.
    fn take(&mut self, id: &str) -> Option<Held> {
        let held = self.pending.remove(id)?;
        self.pending_bytes -= held.bytes();
        self.digests.remove(id);
        Some(held)
    }

    /// Whether `id` can be approved or denied at `now`; changes nothing. `id` may be human-typed.
    pub fn check_resolve(&self, id: &str, now: u64) -> Result<&Held, QueueError> {
        let key = normalize_id(id).ok_or_else(|| QueueError::NotFound(id.to_string()))?;
        if let Some(h) = self.pending.get(&key) {
            return if now >= h.expires_ms {
                Err(QueueError::Conflict { id: key, state: PendingState::Expired })
            } else {
                Ok(h)
            };
        }
        match self.resolved.get(&key) {
            Some(r) => Err(QueueError::Conflict { id: key, state: r.state }),
            None => Err(QueueError::NotFound(id.to_string())),
        }
    }

    /// Approves or denies `id` at `now`, exactly once; returns the item (for decision memory).
    pub fn resolve(&mut self, id: &str, decision: HumanDecision, now: u64) -> Result<Held, QueueError> {
        let state = match decision {
            HumanDecision::Allow => PendingState::Approved,
            HumanDecision::Deny => PendingState::Denied,
        };
        self.close(id, state, now)
    }

    /// Closes `id` at `now` in `state`, exactly once; returns the item.
    pub fn close(&mut self, id: &str, state: PendingState, now: u64) -> Result<Held, QueueError> {
        let key = self.check_resolve(id, now)?.id.clone();
        let held = self.take(&key).expect("checked above");
        self.retire(held.clone(), state, now);
        Ok(held)
    }

    fn retire(&mut self, held: Held, state: PendingState, at: u64) {
        self.order.push_back((at, held.id.clone()));
        self.resolved.insert(held.id.clone(), Resolved { held, state });
        while self.order.len() > RETAIN_RESOLVED_MAX {
            if let Some((_, id)) = self.order.pop_front() {
                self.resolved.remove(&id);
            }
        }
    }

    /// Moves every item whose expiry is at or before `now` to `expired` (returned, oldest first)
    /// and forgets resolved items older than the retention window. Idempotent for a given `now`.
    pub fn expire(&mut self, now: u64) -> Vec<Held> {
        let mut due: Vec<Held> = self.pending.values().filter(|h| now >= h.expires_ms).cloned().collect();
        due.sort_by(|a, b| (a.expires_ms, &a.id).cmp(&(b.expires_ms, &b.id)));
        for h in &due {
            self.take(&h.id);
            self.retire(h.clone(), PendingState::Expired, h.expires_ms);
        }
        while let Some((at, _)) = self.order.front() {
            if at.saturating_add(RETAIN_RESOLVED_MS) > now {
                break;
            }
            if let Some((_, id)) = self.order.pop_front() {
                self.resolved.remove(&id);
            }
        }
        due
    }

    /// The state of `id` at `now` (a pending item past its expiry reads `expired`).
    #[cfg(test)]
    pub fn status(&self, id: &str, now: u64) -> PendingState {
        self.item(id, now).state
    }

    /// The `pending_status` answer for `id` at `now`: the item with its state, or a bare `gone`.
    pub fn item(&self, id: &str, now: u64) -> PendingItem {
        let Some(key) = normalize_id(id) else { return gone(id) };
        if let Some(h) = self.pending.get(&key) {
            let state = if now >= h.expires_ms { PendingState::Expired } else { PendingState::Pending };
            return to_item(h, state, now);
        }
        match self.resolved.get(&key) {
            Some(r) => to_item(&r.held, r.state, now),
            None => gone(id),
        }
    }

    /// The items still pending at `now`, oldest first.
    #[cfg(test)]
    pub fn list(&self, now: u64) -> Vec<PendingItem> {
        let mut live: Vec<&Held> = self.pending.values().filter(|h| now < h.expires_ms).collect();
        live.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        live.into_iter().map(|h| to_item(h, PendingState::Pending, now)).collect()
    }

    /// `h` as a list shows it: its command cut to [`LIST_COMMAND_MAX`] bytes (at a character
    /// boundary), with the full command's length and SHA-256 when it was cut.
    fn listed(&self, h: &Held, now: u64) -> PendingItem {
        if h.command.len() <= LIST_COMMAND_MAX {
            return to_item(h, PendingState::Pending, now);
        }
        let mut cut = LIST_COMMAND_MAX;
        while !h.command.is_char_boundary(cut) {
            cut -= 1;
        }
        let short = Held { command: h.command[..cut].to_string(), ..h.clone_without_command() };
        let mut item = to_item(&short, PendingState::Pending, now);
        item.command_len = Some(h.command.len() as u64);
        item.command_sha256 = self.digests.get(&h.id).cloned();
        item
    }

    /// One page of the items still pending at `now`, oldest first: those after the cursor
    /// `after` (a previous page's `next`), at most `limit` (capped at [`PAGE_MAX_ITEMS`]) and
    /// about [`PAGE_MAX_BYTES`] of JSON, commands cut at [`LIST_COMMAND_MAX`]. Returns the items
    /// and, when more remain, the cursor of the last one.
    pub fn page(&self, now: u64, after: Option<&str>, limit: usize) -> (Vec<PendingItem>, Option<String>) {
        let after = after.and_then(parse_cursor);
        let mut live: Vec<&Held> = self
            .pending
            .values()
            .filter(|h| now < h.expires_ms)
            .filter(|h| after.as_ref().is_none_or(|(ms, id)| (h.created_ms, h.id.as_str()) > (*ms, id.as_str())))
            .collect();
        live.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        let limit = limit.clamp(1, PAGE_MAX_ITEMS);
        let mut items = Vec::new();
        let mut bytes = 0;
        for h in &live {
            let item = self.listed(h, now);
            bytes += serde_json::to_vec(&item).map_or(0, |v| v.len());
            // At least one item per page, so a page always makes progress.
            if items.len() == limit || (!items.is_empty() && bytes > PAGE_MAX_BYTES) {
                break;
            }
            items.push(item);
        }
        let next = (items.len() < live.len()).then(|| {
            let last = live[items.len() - 1];
            format!("{}-{}", last.created_ms, last.id)
        });
        (items, next)
    }
}

/// `<created_ms>-<id>`, as [`Queue::page`] writes it.
fn parse_cursor(cursor: &str) -> Option<(u64, String)> {
    let (ms, id) = cursor.split_once('-')?;
    Some((ms.parse().ok()?, normalize_id(id)?))
}

fn gone(id: &str) -> PendingItem {
    PendingItem {
        id: id.to_string(),
        state: PendingState::Gone,
        created: String::new(),
        age_s: 0,
        expires_in_s: 0,
        agent: String::new(),
        cwd: String::new(),
        command: String::new(),
        class: None,
        rule: String::new(),
        reason: String::new(),
        command_len: None,
        command_sha256: None,
    }
}

fn to_item(h: &Held, state: PendingState, now: u64) -> PendingItem {
    PendingItem {
        id: h.id.clone(),
        state,
        created: rfc3339(h.created_ms),
        age_s: now.saturating_sub(h.created_ms) / 1000,
        expires_in_s: if state == PendingState::Pending { h.expires_ms.saturating_sub(now).div_ceil(1000) } else { 0 },
        agent: h.agent.clone(),
        cwd: h.cwd.clone(),
        command: h.command.clone(),
        class: Some(h.class),
        rule: h.rule.clone(),
        reason: h.reason.clone(),
        command_len: None,
        command_sha256: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic "random" source: a counter.
    fn counter(start: u32) -> impl FnMut() -> [u8; 4] {
        let mut n = start;
        move || {
            n = n.wrapping_add(1);
            n.to_le_bytes()
        }
    }

    fn held(id: &str, created_ms: u64) -> Held {
        Held {
            id: id.into(),
            created_ms,
            expires_ms: created_ms + DEFAULT_EXPIRY_MS,
            agent: "claude".into(),
            cwd: "/repo/src".into(),
            scope: "/repo".into(),
            session: None,
            command: "rm -rf build".into(),
            class: Class::Ambiguous,
            rule: "fs.rm_recursive".into(),
            reason: "Deletes a directory tree.".into(),
        }
    }

    fn hold_new(q: &mut Queue, rng: &mut impl FnMut() -> [u8; 4], now: u64) -> String {
        let id = q.new_id(0, &mut *rng).unwrap();
        q.hold(held(&id, now)).unwrap();
        id
    }

    #[test]
    fn ids_are_six_crockford_chars_and_deterministic() {
        let q = Queue::new();
        let a = q.new_id(0, counter(41)).unwrap();
        let b = q.new_id(0, counter(41)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), ID_LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(encode_id([0, 0, 0, 0]), "000000");
        assert_eq!(encode_id([0xff; 4]), "zzzzzz");
    }

    #[test]
    fn ids_are_unique_among_pending_and_retained() {
        let mut q = Queue::new();
        let same = || [7u8, 7, 7, 7];
        let id = q.new_id(0, same).unwrap();
        q.hold(held(&id, 0)).unwrap();
        assert_eq!(q.new_id(0, same), Err(QueueError::NoFreeId));
        q.resolve(&id, HumanDecision::Deny, 1).unwrap();
        assert_eq!(q.new_id(0, same), Err(QueueError::NoFreeId)); // still retained
        // A source that repeats once then moves on yields a fresh id.
        let mut draws = [[7u8, 7, 7, 7], [8, 8, 8, 8]].into_iter();
        let fresh = q.new_id(0, || draws.next().unwrap()).unwrap();
        assert_ne!(fresh, id);
        assert_eq!(q.hold(held(&id, 2)), Err(QueueError::Duplicate(id)));
    }

    #[test]
    fn normalize_accepts_human_typing() {
        assert_eq!(normalize_id("AB1-0XZZ"), None); // 7 chars
        assert_eq!(normalize_id("ab-10z"), None); // 5 chars
        assert_eq!(normalize_id("AB1 0ZZ").as_deref(), Some("ab10zz"));
        assert_eq!(normalize_id("abIOzL").as_deref(), Some("ab10z1"));
        assert_eq!(normalize_id("abcdeu"), None); // u is not Crockford
        assert_eq!(normalize_id(""), None);
        assert_eq!(normalize_id("ab10zé"), None);
    }

    #[test]
    fn approve_exactly_once() {
        let mut q = Queue::new();
        let mut rng = counter(0);
        let id = hold_new(&mut q, &mut rng, 1_000);
        assert_eq!(q.status(&id, 1_000), PendingState::Pending);
        assert_eq!(q.list(1_000).len(), 1);
        let h = q.resolve(&id.to_uppercase(), HumanDecision::Allow, 2_000).unwrap();
        assert_eq!(h.command, "rm -rf build");
        assert_eq!(q.status(&id, 2_000), PendingState::Approved);
        assert!(q.list(2_000).is_empty());
        for d in [HumanDecision::Allow, HumanDecision::Deny] {
            assert_eq!(
                q.resolve(&id, d, 3_000),
                Err(QueueError::Conflict { id: id.clone(), state: PendingState::Approved })
            );
        }
        let id2 = hold_new(&mut q, &mut rng, 1_000);
        q.resolve(&id2, HumanDecision::Deny, 2_000).unwrap();
        assert_eq!(q.status(&id2, 2_000), PendingState::Denied);
        assert!(matches!(q.check_resolve(&id2, 2_000), Err(QueueError::Conflict { state: PendingState::Denied, .. })));
    }

    #[test]
    fn unknown_and_malformed_ids_are_not_found() {
        let mut q = Queue::new();
        assert_eq!(q.resolve("abcdef", HumanDecision::Allow, 0), Err(QueueError::NotFound("abcdef".into())));
        assert_eq!(q.resolve("../etc", HumanDecision::Allow, 0), Err(QueueError::NotFound("../etc".into())));
        assert_eq!(q.status("abcdef", 0), PendingState::Gone);
        let item = q.item("nope", 0);
        assert_eq!((item.id.as_str(), item.state, item.class), ("nope", PendingState::Gone, None));
    }

    #[test]
    fn approval_at_or_after_expiry_fails() {
        let mut q = Queue::new();
        let mut rng = counter(0);
        let id = hold_new(&mut q, &mut rng, 0);
        let at = DEFAULT_EXPIRY_MS;
        assert!(q.check_resolve(&id, at - 1).is_ok());
        let expired = Err(QueueError::Conflict { id: id.clone(), state: PendingState::Expired });
        assert_eq!(q.resolve(&id, HumanDecision::Allow, at).map(|_| ()), expired);
        assert_eq!(q.resolve(&id, HumanDecision::Allow, at + 5).map(|_| ()), expired);
        // Unswept, it already reads expired and is not listed.
        assert_eq!(q.status(&id, at), PendingState::Expired);
        assert!(q.list(at).is_empty());
        assert_eq!(q.pending_len(), 1);
        // Sweeping makes it final, once.
        let swept = q.expire(at + 10);
        assert_eq!(swept.len(), 1);
        assert!(q.expire(at + 10).is_empty());
        assert_eq!(q.pending_len(), 0);
        assert_eq!(q.status(&id, at + 10), PendingState::Expired);
        assert_eq!(q.resolve(&id, HumanDecision::Allow, at + 11).map(|_| ()), expired);
        // One millisecond before expiry, an approval wins and expiry no longer applies.
        let id2 = hold_new(&mut q, &mut rng, 0);
        q.resolve(&id2, HumanDecision::Allow, at - 1).unwrap();
        q.expire(at + 20);
        assert_eq!(q.status(&id2, at + 20), PendingState::Approved);
    }

    #[test]
    fn resolved_states_are_retained_for_an_hour() {
        let mut q = Queue::new();
        let mut rng = counter(0);
        let id = hold_new(&mut q, &mut rng, 0);
        q.resolve(&id, HumanDecision::Allow, 1_000).unwrap();
        q.expire(1_000 + RETAIN_RESOLVED_MS - 1);
        assert_eq!(q.status(&id, 1_000 + RETAIN_RESOLVED_MS - 1), PendingState::Approved);
        q.expire(1_000 + RETAIN_RESOLVED_MS);
        assert_eq!(q.status(&id, 1_000 + RETAIN_RESOLVED_MS), PendingState::Gone);
    }

    #[test]
    fn resolved_states_are_bounded() {
        let mut q = Queue::new();
        let mut rng = counter(0);
        let first = hold_new(&mut q, &mut rng, 0);
        q.resolve(&first, HumanDecision::Deny, 1).unwrap();
        for _ in 0..RETAIN_RESOLVED_MAX {
            let id = hold_new(&mut q, &mut rng, 0);
            q.resolve(&id, HumanDecision::Deny, 2).unwrap();
        }
        assert_eq!(q.status(&first, 3), PendingState::Gone);
        assert_eq!(q.resolved.len(), RETAIN_RESOLVED_MAX);
    }

    #[test]
    fn queue_is_bounded() {
        let mut q = Queue::new();
        let mut rng = counter(0);
        for _ in 0..MAX_PENDING {
            hold_new(&mut q, &mut rng, 0);
        }
        assert_eq!(q.new_id(0, &mut rng), Err(QueueError::Full));
        assert_eq!(q.hold(held("zzzzzz", 0)), Err(QueueError::Full));
    }

    #[test]
    fn items_render_for_the_wire() {
        let mut q = Queue::new();
        let mut h = held("abc123", 1_700_000_000_000);
        h.expires_ms = h.created_ms + 600_000;
        q.hold(h).unwrap();
        let item = q.item("ABC123", 1_700_000_001_500);
        assert_eq!(item.created, "2023-11-14T22:13:20.000000Z");
        assert_eq!((item.age_s, item.expires_in_s), (1, 599));
        assert_eq!(item.class, Some(Class::Ambiguous));
        assert_eq!(item.state, PendingState::Pending);
        let list = q.list(1_700_000_001_500);
        assert_eq!(list, vec![item]);
    }

    #[test]
    fn replay_rebuilds_the_same_state() {
        // The same sequence of (time, event) applied twice yields identical answers.
        let run = || {
            let mut q = Queue::new();
            let mut rng = counter(99);
            let mut ids = Vec::new();
            for t in 0..20u64 {
                q.expire(t * 60_000);
                ids.push(hold_new(&mut q, &mut rng, t * 60_000));
                if t % 3 == 0 {
                    let _ = q.resolve(&ids[(t / 2) as usize], HumanDecision::Allow, t * 60_000 + 1);
                }
            }
            q.expire(25 * 60_000);
            ids.iter().map(|id| (id.clone(), q.status(id, 25 * 60_000))).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|(_, s)| *s == PendingState::Expired));
        assert!(a.iter().any(|(_, s)| *s == PendingState::Approved));
        assert!(a.iter().any(|(_, s)| *s == PendingState::Pending));
    }
}
