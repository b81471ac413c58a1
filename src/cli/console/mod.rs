//! `holdfast console`: the human's side of a hold. A terminal UI (ratatui + crossterm) that shows
//! what is held the moment it is held and answers it with one key; a plain-text feed when stdout is
//! not a terminal.
//!
//! The console only polls the daemon (`list_pending` and `status`, a few times a second): the
//! single-threaded daemon never waits on it.

mod keys;
mod model;
mod plain;
mod view;

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use crossterm::event::{self, Event, KeyCode, KeyEventKind};
use holdfast::paths::Paths;
use holdfast::session::SessionKey;
use holdfast::transport::Client;
use holdfast::wire::{Decide, Proof, RequestBody, ResponseBody, SessionOpen, SessionRef};
use zeroize::Zeroizing;

use super::Exit;
use super::auth::prove_with;
use super::lifecycle::client;
use keys::Action;
use model::Model;
use view::{Footer, Palette};

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    /// How often to ask the daemon for holds, in milliseconds (100..=5000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(100..=5000))]
    interval_ms: u64,
    /// How long the approval session opened by the first password lasts, in minutes (1..=480).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=480))]
    session_minutes: u64,
    /// Plain output only: print what is held once and exit (the default when stdout is not a terminal
    /// is to keep printing new holds).
    #[arg(long)]
    once: bool,
}

/// `holdfast console`.
pub fn console(args: &ConsoleArgs) -> Result<Exit> {
    let paths = Paths::from_env()?;
    let client = client()?;
    let interval = Duration::from_millis(args.interval_ms);
    if args.once || !std::io::stdout().is_terminal() {
        return plain::run(&client, interval, args.once);
    }
    // try_init installs a panic hook that restores the terminal before the panic message prints.
    let mut terminal = ratatui::try_init()?;
    let mut console = Console::new(client, paths, interval, args.session_minutes * 60);
    let result = console.run(&mut terminal);
    ratatui::restore();
    result // dropping the console closes its approval session
}

/// An answer waiting for the admin password.
struct Prompt {
    action: Action,
    pending: String,
    password: Zeroizing<String>,
}

struct Console {
    client: Client,
    paths: Paths,
    interval: Duration,
    model: Model,
    palette: Palette,
    prompt: Option<Prompt>,
    started: Instant,
    /// The approval session opened with the first password (its key lives only in this process).
    session: Option<SessionKey>,
    session_ttl_s: u64,
}

impl Console {
    fn new(client: Client, paths: Paths, interval: Duration, session_ttl_s: u64) -> Self {
        Console {
            client,
            paths,
            interval,
            model: Model::default(),
            palette: Palette::from_env(),
            prompt: None,
            started: Instant::now(),
            session: None,
            session_ttl_s,
        }
    }

    fn run(&mut self, terminal: &mut ratatui::DefaultTerminal) -> Result<Exit> {
        let mut next_refresh = Instant::now();
        let mut first = true;
        loop {
            if Instant::now() >= next_refresh {
                let new = self.model.refresh(&self.client);
                self.model.refresh_timeline(&self.paths.audit_log());
                if new > 0 && !first {
                    ring_bell();
                }
                first = false;
                next_refresh = Instant::now() + self.interval;
            }
            self.injected_panic();
            terminal.draw(|f| view::draw(f, &self.model, &self.footer(), &self.palette))?;
            if event::poll(Duration::from_millis(100))?
                && let Event::Key(key) = event::read()?
                && key.kind != KeyEventKind::Release
                && self.on_key(key)
            {
                return Ok(Exit::Ok);
            }
        }
    }

    fn footer(&self) -> Footer<'_> {
        match &self.prompt {
            Some(p) => Footer::Password { action: verb(p.action).0, typed: p.password.chars().count() },
            None if self.model.filtering => Footer::Filter(&self.model.filter),
            None => Footer::Help,
        }
    }

    /// Handles one key; true means quit.
    fn on_key(&mut self, key: event::KeyEvent) -> bool {
        if self.prompt.is_some() {
            self.on_password_key(key.code);
            return false;
        }
        if self.model.filtering {
            match key.code {
                KeyCode::Enter => self.model.filtering = false,
                KeyCode::Esc => {
                    self.model.filtering = false;
                    self.model.filter.clear();
                }
                KeyCode::Backspace => drop(self.model.filter.pop()),
                KeyCode::Char(c) => self.model.filter.push(c),
                _ => {}
            }
            self.model.move_by(0);
            return false;
        }
        match keys::action_for(&key) {
            Some(Action::Quit) => return true,
            Some(Action::Up) => self.model.move_by(-1),
            Some(Action::Down) => self.model.move_by(1),
            Some(Action::Details) => self.model.details = !self.model.details,
            Some(Action::Filter) => self.model.filtering = true,
            Some(Action::Panic) => self.panic(),
            Some(answer) => self.answer(answer),
            None => {}
        }
        false
    }

    fn on_password_key(&mut self, code: KeyCode) {
        let Some(prompt) = self.prompt.as_mut() else { return };
        match code {
            KeyCode::Esc => {
                self.prompt = None;
                self.model.say("cancelled");
            }
            KeyCode::Backspace => drop(prompt.password.pop()),
            KeyCode::Char(c) => prompt.password.push(c),
            KeyCode::Enter => {
                let prompt = self.prompt.take().expect("checked above");
                match self.open_session(&prompt.password) {
                    Ok(()) => self.send(prompt.action, &prompt.pending),
                    Err(e) => self.model.say(format!("cannot open an approval session: {e:#}")),
                }
            }
            _ => {}
        }
    }

    /// Approve or deny the selected hold: at once without a vault, after the password with one.
    fn answer(&mut self, action: Action) {
        let Some(item) = self.model.selected() else {
            self.model.say("nothing is held");
            return;
        };
        let pending = item.id.clone();
        // Without a vault no password is asked; when unsure, ask (the daemon decides either way).
        let locked = self.model.status.as_ref().is_none_or(|s| !s.vault.starts_with("unlocked"));
        if locked && self.session.is_some() {
            self.send(action, &pending);
        } else if locked {
            self.prompt = Some(Prompt { action, pending, password: Zeroizing::new(String::new()) });
        } else {
            self.send(action, &pending);
        }
    }

    /// Opens an approval session with the admin password: the one time the console asks for it.
    fn open_session(&mut self, password: &str) -> Result<()> {
        let mut key = SessionKey::generate()?;
        let proof = prove_with(&self.client, &key.open_op(), password)?;
        let open = SessionOpen { public_key: key.public_hex(), ttl_s: Some(self.session_ttl_s), proof };
        match self.client.request(RequestBody::SessionOpen(open))?.body {
            ResponseBody::Session(info) => key.session = Some(info.session),
            ResponseBody::Error(e) => return Err(e.into()),
            other => anyhow::bail!("unexpected answer to session_open: {other:?}"),
        }
        self.session = Some(key);
        Ok(())
    }

    /// Ends the approval session with the console (it would also expire by itself).
    fn close_session(&mut self) {
        if let Some(session) = self.session.take().and_then(|k| k.session) {
            let _ = self.client.request(RequestBody::SessionClose(SessionRef { session }));
        }
    }

    /// The proof for `op`: the session's signature when one is open, else none (no vault).
    fn proof(&mut self, op: &str) -> Result<Proof> {
        match self.session.as_mut() {
            Some(key) => key.prove(op).ok_or_else(|| anyhow::anyhow!("the approval session is not open")),
            None => prove_with(&self.client, op, ""),
        }
    }

    fn send(&mut self, action: Action, pending: &str) {
        let approve = matches!(action, Action::Approve | Action::ApproveRemember);
        let remember = matches!(action, Action::ApproveRemember | Action::DenyRemember);
        let op = format!("{}:{pending}", if approve { "approve" } else { "deny" });
        let result = self.proof(&op).and_then(|proof| {
            let decide = Decide { pending: pending.to_string(), remember, proof };
            let body = if approve { RequestBody::Approve(decide) } else { RequestBody::Deny(decide) };
            Ok(self.client.request(body)?.body)
        });
        let message = match result {
            Ok(ResponseBody::Pending(item)) => format!("{} {}: {}", verb(action).1, item.id, item.command),
            Ok(ResponseBody::Error(e)) => {
                // A session that expired or was revoked: the next answer asks for the password again.
                if e.message.contains("approval session") {
                    self.session = None;
                }
                format!("cannot {}: {}", verb(action).0, e.message)
            }
            Ok(other) => format!("unexpected answer: {other:?}"),
            Err(e) => format!("cannot {}: {e:#}", verb(action).0),
        };
        self.model.say(message);
        self.model.refresh(&self.client);
    }

    fn panic(&mut self) {
        let message = match self.client.request(RequestBody::Panic).map(|r| r.body) {
            Ok(ResponseBody::Ack(_)) => {
                "kill switch ON: every command is denied until `holdfast panic --release`".into()
            }
            Ok(ResponseBody::Error(e)) => format!("cannot engage the kill switch: {}", e.message),
            Ok(other) => format!("unexpected answer: {other:?}"),
            Err(e) => format!("cannot engage the kill switch: {e}"),
        };
        self.model.say(message);
        self.model.refresh(&self.client);
    }

    /// Test builds only: `HOLDFAST_CONSOLE_TEST_PANIC_MS=N` panics N ms after start, so a test can
    /// prove the terminal is restored after a panic. Release builds have no such switch.
    fn injected_panic(&self) {
        #[cfg(debug_assertions)]
        if let Some(ms) = std::env::var("HOLDFAST_CONSOLE_TEST_PANIC_MS").ok().and_then(|v| v.parse().ok())
            && self.started.elapsed() >= Duration::from_millis(ms)
        {
            panic!("injected console panic (test build)");
        }
        #[cfg(not(debug_assertions))]
        let _ = self.started;
    }
}

/// What an answer does, as asked (`approve`) and as done (`approved`).
impl Drop for Console {
    /// The approval session ends with the console, also when it ends by a panic.
    fn drop(&mut self) {
        self.close_session();
    }
}

fn verb(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Approve => ("approve", "approved"),
        Action::ApproveRemember => ("approve and remember", "approved and remembered"),
        Action::DenyRemember => ("deny and remember", "denied and remembered"),
        _ => ("deny", "denied"),
    }
}

/// The terminal bell, for a new hold.
fn ring_bell() {
    let mut out = std::io::stdout();
    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
}
