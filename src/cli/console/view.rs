//! Drawing the console with ratatui. Colour is decoration only: with `NO_COLOR` every distinction
//! is still made with bold and reverse video.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use holdfast::classify::{Class, classify};
use holdfast::wire::PendingItem;

use super::keys;
use super::model::Model;

/// Styles, with or without colour.
pub struct Palette {
    color: bool,
}

impl Palette {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Self {
        Palette { color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color { Style::default().fg(c) } else { Style::default() }
    }

    fn class(&self, class: Option<Class>) -> Style {
        match class {
            Some(Class::Catastrophic) => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Some(Class::Ambiguous) => self.fg(Color::Yellow),
            _ => Style::default(),
        }
    }

    fn decision(&self, what: &str) -> Style {
        match what {
            "deny" | "denied" | "BYPASS" | "panic" => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            "hold" | "expired" => self.fg(Color::Yellow),
            "approved" => self.fg(Color::Green),
            _ => Style::default(),
        }
    }

    /// The part of a command that triggered its rule.
    fn trigger(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }
}

/// What the footer is doing.
pub enum Footer<'a> {
    Help,
    Filter(&'a str),
    Password { action: &'a str, typed: usize },
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, model: &Model, footer: &Footer, palette: &Palette) {
    let detail_rows = if model.details { 14 } else { 7 };
    let [header, holds, detail, timeline, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(detail_rows),
        Constraint::Percentage(30),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(header_line(model, palette)), header);
    draw_holds(frame, holds, model, palette);
    draw_detail(frame, detail, model.selected(), palette);
    draw_timeline(frame, timeline, model, palette);
    draw_footer(frame, foot, model, footer);
    if let Footer::Password { action, typed } = footer {
        draw_password(frame, action, *typed);
    }
}

fn header_line(model: &Model, p: &Palette) -> Line<'static> {
    let mut spans = vec![Span::styled("holdfast console  ", Style::default().add_modifier(Modifier::BOLD))];
    let Some(s) = &model.status else {
        let why = model.offline.clone().unwrap_or_else(|| "connecting…".into());
        spans.push(Span::styled(format!("daemon not reachable: {why}"), p.decision("deny")));
        return Line::from(spans);
    };
    if s.panic {
        spans.push(Span::styled("KILL SWITCH ON  ", p.decision("panic").add_modifier(Modifier::REVERSED)));
    }
    if s.paused {
        spans.push(Span::styled("PAUSED  ", p.decision("hold").add_modifier(Modifier::BOLD)));
    }
    spans.push(Span::raw(format!(
        "mode {} · vault {} · log #{} · {} held · up {}s",
        s.mode, s.vault, s.log_seq, s.pending, s.uptime_s
    )));
    if s.bypass_flags > 0 {
        spans.push(Span::styled(format!(" · {} bypass flags", s.bypass_flags), p.decision("BYPASS")));
    }
    Line::from(spans)
}

fn draw_holds(frame: &mut Frame, area: Rect, model: &Model, p: &Palette) {
    let visible = model.visible();
    let rows = visible.iter().map(|i| {
        let class = i.class.map_or("?", Class::as_str);
        Row::new(vec![
            Cell::from(i.id.clone()),
            Cell::from(duration(i.age_s)),
            Cell::from(duration(i.expires_in_s)),
            Cell::from(i.agent.clone()),
            Cell::from(Span::styled(class, p.class(i.class))),
            Cell::from(i.command.lines().next().unwrap_or_default().to_string()),
        ])
    });
    let widths = [
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(12),
        Constraint::Length(12),
        Constraint::Min(10),
    ];
    let title = match (visible.len(), model.filter.is_empty()) {
        (0, true) => " nothing is held ".to_string(),
        (n, true) => format!(" held: {n} "),
        (n, false) => format!(" held: {n} matching “{}” ", model.filter),
    };
    let table = Table::new(rows, widths)
        .header(Row::new(["id", "age", "left", "agent", "class", "command"]).style(Style::new().bold()))
        .block(Block::default().borders(Borders::ALL).title(title))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("› ");
    let mut state = TableState::default().with_selected((!visible.is_empty()).then_some(model.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_detail(frame: &mut Frame, area: Rect, item: Option<&PendingItem>, p: &Palette) {
    let block = Block::default().borders(Borders::ALL).title(" details ");
    let Some(i) = item else {
        frame.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(i.class.map_or("?", Class::as_str).to_string(), p.class(i.class)),
            Span::raw(format!("  {}  ", i.rule)),
            Span::raw(i.reason.clone()),
        ]),
        Line::from(format!(
            "{} · {} · held {} ago · expires in {}",
            i.agent,
            i.cwd,
            duration(i.age_s),
            duration(i.expires_in_s)
        )),
    ];
    lines.extend(command_lines(&i.command, p));
    let text = Text::from(lines);
    frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: false }), area);
}

/// The command, with the part that triggered its rule highlighted (classification is pure and
/// local, so the console finds the span itself).
fn command_lines(command: &str, p: &Palette) -> Vec<Line<'static>> {
    let span = classify(command).span.filter(|s| command.is_char_boundary(s.start) && command.is_char_boundary(s.end));
    let (before, hit, after) = match span {
        Some(s) => (&command[..s.start], &command[s.start..s.end], &command[s.end..]),
        None => (command, "", ""),
    };
    let mut lines = vec![Line::from(Span::raw("$ "))];
    for (text, style) in [(before, Style::default()), (hit, p.trigger()), (after, Style::default())] {
        for (n, piece) in text.split('\n').enumerate() {
            if n > 0 {
                lines.push(Line::from(Span::raw("  ")));
            }
            if !piece.is_empty() {
                lines.last_mut().expect("one line at least").push_span(Span::styled(piece.to_string(), style));
            }
        }
    }
    lines
}

fn draw_timeline(frame: &mut Frame, area: Rect, model: &Model, p: &Palette) {
    let rows = model.timeline.iter().map(|e| {
        Row::new(vec![
            Cell::from(e.time.clone()),
            Cell::from(Span::styled(e.what.clone(), p.decision(&e.what))),
            Cell::from(e.detail.clone()),
        ])
    });
    let widths = [Constraint::Length(9), Constraint::Length(16), Constraint::Min(10)];
    let title =
        if model.timeline.is_empty() { " recent decisions (log not readable here) " } else { " recent decisions " };
    frame.render_widget(Table::new(rows, widths).block(Block::default().borders(Borders::ALL).title(title)), area);
}

fn draw_footer(frame: &mut Frame, area: Rect, model: &Model, footer: &Footer) {
    let text = match footer {
        Footer::Filter(f) => format!("filter: {f}▏ (enter to keep, esc to clear)"),
        _ => model.message().map_or_else(keys::help_line, str::to_string),
    };
    frame.render_widget(Paragraph::new(text), area);
}

fn draw_password(frame: &mut Frame, action: &str, typed: usize) {
    let area = frame.area();
    let w = area.width.clamp(20, 60);
    let popup = Rect { x: area.x + (area.width - w) / 2, y: area.y + area.height / 3, width: w, height: 4 };
    frame.render_widget(Clear, popup);
    let text = format!("admin password to {action}:\n{}", "•".repeat(typed.min(40)));
    let block = Block::default().borders(Borders::ALL).title(" password (esc cancels) ");
    frame.render_widget(Paragraph::new(text).block(block), popup);
}

/// `42s`, `3m`, `2h`.
pub fn duration(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => format!("{}h", s / 3600),
    }
}
