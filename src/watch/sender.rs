//! Delivery to the daemon: a token-bucket rate limit, backlog folding, and the
//! spool while the daemon cannot take observations.
//!
//! Order is kept: while anything waits in the spool, new observations queue
//! behind it. A daemon that is down, times out, or answers `unavailable` (its
//! audit log fails closed) is retried with
//! backoff (250 ms doubling to 5 s) and everything waits in the spool. Any
//! other error answer means the daemon rejects that observation: it is reported
//! on stderr and skipped, so one bad entry cannot wedge the queue.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::transport::{Client, ClientError};
use crate::wire::{ErrorCode, Observation, RequestBody, ResponseBody};

use super::coalesce::compact;
use super::spool::Spool;

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest one [`Sender::pump`] keeps delivering: the watcher's loop must come back to read events
/// and to notice a stop (a slow daemon would otherwise hold it for a whole bucket of deliveries).
const PUMP_BUDGET: Duration = Duration::from_millis(100);

/// A token bucket: `rate` tokens per second, at most one second's worth banked.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket refilling at `rate` per second (at least 1).
    pub fn new(rate: u32, now: Instant) -> Self {
        let rate = f64::from(rate.max(1));
        TokenBucket { rate, tokens: rate, last: now }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The most observations one second can carry: the backlog bound.
    pub fn per_second(&self) -> usize {
        self.rate as usize
    }
}

/// What became of one delivery attempt.
#[derive(Debug)]
pub(crate) enum Delivery {
    Delivered,
    /// Try again later: the daemon is down, slow, or cannot record right now.
    Retry(String),
    /// The daemon refuses this observation.
    Rejected(String),
}

/// The wire name of an error code (`unavailable`, …).
fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// Counters for the final report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendStats {
    pub delivered: u64,
    pub spooled: u64,
    pub rejected: u64,
    /// Backlog foldings forced by the rate limit.
    pub compactions: u64,
}

/// Sends observations to the daemon, spooling while it cannot take them.
pub(crate) struct Sender {
    client: Client,
    bucket: TokenBucket,
    queue: VecDeque<Observation>,
    spool: Spool,
    retry_at: Option<Instant>,
    backoff: Duration,
    /// Why the daemon is unreachable, while it is.
    down: Option<String>,
    pub stats: SendStats,
}

impl Sender {
    /// A sender to `client`, at most `rate` observations per second, spooling into `spool`.
    pub fn new(client: Client, rate: u32, spool: Spool, now: Instant) -> Self {
        // Whatever a previous run spooled goes first, once the daemon answers.
        Sender {
            client,
            bucket: TokenBucket::new(rate, now),
            queue: VecDeque::new(),
            spool,
            retry_at: None,
            backoff: FIRST_BACKOFF,
            down: None,
            stats: SendStats::default(),
        }
    }

    /// Queues observations for delivery.
    pub fn enqueue(&mut self, batch: Vec<Observation>) {
        self.queue.extend(batch);
        let limit = self.bucket.per_second().max(1);
        if self.queue.len() > limit {
            // The rate limit cannot keep up: fold the backlog into summaries, counts kept.
            let folded = compact(self.queue.drain(..).collect(), limit);
            self.queue.extend(folded);
            self.stats.compactions += 1;
        }
    }

    /// Sends what the rate limit allows, for at most [`PUMP_BUDGET`] (and one delivery); spools
    /// everything while the daemon is unreachable.
    pub fn pump(&mut self, now: Instant) {
        if self.retry_at.is_some_and(|t| now < t) {
            self.spool_queue();
            return;
        }
        let until = Instant::now() + PUMP_BUDGET;
        while Instant::now() < until && self.bucket.try_take(now) {
            let next = if let Some(o) = self.spool.front() {
                o.clone()
            } else if let Some(o) = self.queue.front() {
                o.clone()
            } else if self.spool.dropped() > 0 {
                self.spool.dropped_observation()
            } else {
                break;
            };
            match self.deliver(&next) {
                Delivery::Delivered => {
                    if let Some(why) = self.down.take() {
                        eprintln!("holdfast watch: daemon reachable again (was: {why}); flushing the spool");
                    }
                    self.retry_at = None;
                    self.backoff = FIRST_BACKOFF;
                    self.stats.delivered += 1;
                    self.consume(&next);
                }
                Delivery::Retry(why) => {
                    if self.down.is_none() {
                        eprintln!(
                            "holdfast watch: cannot deliver ({why}); spooling to {}",
                            self.spool.path().display()
                        );
                    }
                    self.down = Some(why);
                    self.retry_at = Some(now + self.backoff);
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    self.spool_queue();
                    break;
                }
                Delivery::Rejected(why) => {
                    eprintln!("holdfast watch: daemon rejected {} {}: {why}", next.change, next.path);
                    self.stats.rejected += 1;
                    self.consume(&next);
                }
            }
        }
        if let Err(e) = self.spool.commit() {
            eprintln!("holdfast watch: cannot rewrite the spool {}: {e}", self.spool.path().display());
        }
    }

    fn consume(&mut self, sent: &Observation) {
        if !self.spool.is_empty() {
            self.spool.pop_front();
        } else if !self.queue.is_empty() {
            self.queue.pop_front();
        } else {
            let dropped = self.spool.take_dropped();
            debug_assert_eq!(Some(dropped), sent.count);
        }
    }

    /// Moves the in-memory queue behind the spool.
    fn spool_queue(&mut self) {
        while let Some(o) = self.queue.pop_front() {
            match self.spool.push(&o) {
                Ok(true) => self.stats.spooled += 1,
                Ok(false) => {}
                Err(e) => {
                    eprintln!("holdfast watch: cannot write the spool {}: {e}", self.spool.path().display());
                    // Counted, not silently lost.
                    self.spool.count_lost(o.count.unwrap_or(1));
                }
            }
        }
    }

    fn deliver(&self, obs: &Observation) -> Delivery {
        match self.client.request(RequestBody::Observe(obs.clone())) {
            Ok(r) => match r.body {
                ResponseBody::Ack(_) => Delivery::Delivered,
                ResponseBody::Error(e) if matches!(e.code, ErrorCode::Unavailable | ErrorCode::Timeout) => {
                    Delivery::Retry(format!("daemon answered {}: {}", code_name(e.code), e.message))
                }
                ResponseBody::Error(e) => Delivery::Rejected(format!("{}: {}", code_name(e.code), e.message)),
                other => Delivery::Rejected(format!("unexpected answer {other:?}")),
            },
            Err(
                e @ (ClientError::NotRunning(_)
                | ClientError::Unreachable(_)
                | ClientError::Token(_)
                | ClientError::Timeout
                | ClientError::Io(_)),
            ) => Delivery::Retry(e.to_string()),
            // A garbled or cut-off answer: the daemon may be going down; keep the observation.
            Err(e @ ClientError::Protocol(_)) => Delivery::Retry(e.to_string()),
            // Not the installed system daemon, or it is down: keep the observation for the real one.
            Err(e @ ClientError::Trust(_)) => Delivery::Retry(e.to_string()),
            // Not the daemon on the TCP address (no server proof): keep the observation for the real one.
            Err(e @ ClientError::Impostor(_)) => Delivery::Retry(e.to_string()),
        }
    }

    /// True when nothing waits (queue, spool, dropped count).
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.spool.is_empty() && self.spool.dropped() == 0
    }

    /// True while the daemon is considered unreachable.
    pub fn is_down(&self) -> bool {
        self.down.is_some()
    }

    /// Observations waiting in memory and in the spool.
    pub fn backlog(&self) -> (usize, usize) {
        (self.queue.len(), self.spool.len())
    }

    /// At stop: delivers what it can until `deadline`, then spools the rest and
    /// keeps the dropped count on disk.
    pub fn shutdown(&mut self, deadline: Instant) {
        while !self.is_idle() && !self.is_down() && Instant::now() < deadline {
            self.pump(Instant::now());
            std::thread::sleep(Duration::from_millis(5));
        }
        self.spool_queue();
        if let Err(e) = self.spool.persist_dropped().and_then(|()| self.spool.commit()) {
            eprintln!("holdfast watch: cannot write the spool {}: {e}", self.spool.path().display());
        }
        if self.spool.dropped() > 0 {
            eprintln!("holdfast watch: {} change(s) could not be kept", self.spool.dropped());
        }
    }
}
