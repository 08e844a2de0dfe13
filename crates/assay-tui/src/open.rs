//! The open dialog: a folder's (or S3 prefix's) entries narrowed by fuzzy typing, a
//! typed path, glob or `s3://` location, and the opening of the chosen dataset in a new
//! tab — its state, its keys and its rendering.

use std::time::Instant;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use assay_core::source::browse::{self, Entry};

use super::app::{App, Job, Message, Mode, PaletteKey, Tab, SLOW};
use super::palette::fuzzy_score;
use super::view::{centered, fit, human_bytes, spinner, Theme};
use assay_core::source::Dataset;

/// The open dialog: a folder's (or S3 prefix's) entries, narrowed by fuzzy typing.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenDialog {
    pub location: String,
    pub entries: Vec<Entry>,
    pub input: String,
    pub selected: usize,
    /// When the listing (or the opening) being waited for started.
    pub waiting: Option<Instant>,
    pub error: Option<String>,
}

impl OpenDialog {
    /// The entries matching the typed text, best first (all, in order, when empty).
    pub fn matches(&self) -> Vec<&Entry> {
        if self.input.is_empty() || looks_like_path(&self.input) {
            return self.entries.iter().collect();
        }
        let mut scored: Vec<(i64, &Entry)> =
            self.entries.iter().filter_map(|e| fuzzy_score(&self.input, &e.name).map(|s| (s, e))).collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        scored.into_iter().map(|s| s.1).collect()
    }
}

/// Typed text that is a location itself, not a filter of the list.
fn looks_like_path(input: &str) -> bool {
    input.starts_with(['/', '~', '.'])
        || assay_core::source::Place::of(input).is_s3()
        || input.contains(['/', '*'])
}

impl App {
    /// A folder or prefix was listed for the open dialog.
    pub(super) fn listed(&mut self, location: String, result: assay_core::Result<Vec<Entry>>) -> Vec<Job> {
        let Mode::Open(dialog) = &mut self.mode else { return Vec::new() };
        if dialog.location != location {
            return Vec::new();
        }
        dialog.waiting = None;
        match result {
            Ok(entries) => dialog.entries = entries,
            Err(e) => dialog.error = Some(e.to_string()),
        }
        Vec::new()
    }

    /// A dataset was opened (it is in the engines' workspace already): a new tab.
    pub(super) fn opened(&mut self, spec: String, result: assay_core::Result<Dataset>) -> Vec<Job> {
        match result {
            Ok(dataset) => {
                if let Mode::Open(_) = self.mode {
                    self.mode = Mode::Normal;
                }
                self.tabs.push(Tab::new(dataset));
                self.active = self.tabs.len() - 1;
                self.message = Some(Message { text: format!("opened {spec}"), error: false });
                let mut jobs = self.start_tab(self.active);
                jobs.push(Job::LoadRules { tab: self.tabs[self.active].id.clone() });
                jobs
            }
            Err(e) => {
                match &mut self.mode {
                    Mode::Open(dialog) => {
                        dialog.waiting = None;
                        dialog.error = Some(e.to_string());
                    }
                    _ => self.message = Some(Message { text: e.to_string(), error: true }),
                }
                Vec::new()
            }
        }
    }

    /// Opens the open dialog on `location` and asks for its listing.
    pub fn open_dialog(&mut self, location: String) -> Vec<Job> {
        self.mode = Mode::Open(Box::new(OpenDialog {
            location: location.clone(),
            entries: Vec::new(),
            input: String::new(),
            selected: 0,
            waiting: Some(Instant::now()),
            error: None,
        }));
        vec![Job::List { location }]
    }

    /// Keys typed in the open dialog.
    pub fn open_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let Mode::Open(dialog) = &mut self.mode else { return Vec::new() };
        match key {
            PaletteKey::Char(c) => {
                dialog.input.push(c);
                dialog.selected = 0;
            }
            PaletteKey::Backspace if dialog.input.is_empty() => {
                if let Some(up) = browse::parent(&dialog.location) {
                    return self.open_dialog(up);
                }
            }
            PaletteKey::Backspace => {
                dialog.input.pop();
                dialog.selected = 0;
            }
            PaletteKey::Up => dialog.selected = dialog.selected.saturating_sub(1),
            PaletteKey::Down => {
                dialog.selected = (dialog.selected + 1).min(dialog.matches().len().saturating_sub(1))
            }
            PaletteKey::Act(_) => {}
            PaletteKey::Esc => {
                self.mode = Mode::Normal;
                if self.tabs.is_empty() {
                    self.quit = true;
                }
            }
            PaletteKey::Enter => {
                let typed = dialog.input.trim().to_string();
                let (spec, is_dir) = if looks_like_path(&typed) {
                    let expanded = match typed.strip_prefix("~/") {
                        Some(rest) => {
                            std::env::var("HOME").map(|h| format!("{h}/{rest}")).unwrap_or(typed.clone())
                        }
                        None => typed.clone(),
                    };
                    let dir = expanded.ends_with('/') || std::path::Path::new(&expanded).is_dir();
                    (expanded, dir)
                } else {
                    let matches = dialog.matches();
                    let Some(entry) = matches.get(dialog.selected.min(matches.len().saturating_sub(1)))
                    else {
                        return Vec::new();
                    };
                    (entry.spec.clone(), entry.is_dir)
                };
                // A workbook opens like a folder: its sheets are listed, Enter opens one.
                if is_dir || assay_core::source::excel::is_workbook(&spec) {
                    return self.open_dialog(spec);
                }
                dialog.waiting = Some(Instant::now());
                dialog.error = None;
                return vec![Job::Open { spec }];
            }
        }
        Vec::new()
    }
}

/// The open dialog: where we are, what was typed, and the matching entries.
pub(crate) fn render(frame: &mut Frame, theme: &Theme, dialog: &OpenDialog) {
    let height = frame.area().height.saturating_sub(4).clamp(6, 30);
    let mut lines = vec![Line::from(vec![
        Span::styled("open ", theme.header),
        Span::raw(dialog.input.clone()),
        Span::raw("▏"),
    ])];
    if let Some(e) = &dialog.error {
        lines.push(Line::styled(e.clone(), theme.error));
    }
    match dialog.waiting {
        Some(started) if started.elapsed() >= SLOW => {
            lines.push(Line::raw(format!("{} reading {}…", spinner(started), dialog.location)));
        }
        _ => {}
    }
    let matches = dialog.matches();
    let room = (height as usize).saturating_sub(lines.len() + 3);
    let selected = dialog.selected.min(matches.len().saturating_sub(1));
    let first = selected.saturating_sub(room.saturating_sub(1));
    for (i, e) in matches.iter().enumerate().skip(first).take(room) {
        let size = e.size.map(human_bytes).unwrap_or_default();
        let style = if i == selected {
            theme.cursor
        } else if e.is_dir || e.data {
            Style::default()
        } else {
            theme.dtype
        };
        lines.push(Line::styled(format!("  {:<60} {size:>10}", fit(&e.name, 60, false)), style));
    }
    if matches.is_empty() && dialog.waiting.is_none() && dialog.error.is_none() {
        lines.push(Line::styled("  nothing here matches", theme.dtype));
    }
    lines.push(Line::styled(
        "type to narrow · ↑↓ · Enter opens · Backspace: up a folder · a path, glob or s3://bucket/ · Esc",
        theme.dtype,
    ));
    let area = centered(frame.area(), 96, (lines.len() as u16 + 2).min(frame.area().height));
    frame.render_widget(Clear, area);
    let title = format!(" {} ", dialog.location);
    let block = Block::default().borders(Borders::ALL).title(title);
    frame.render_widget(Paragraph::new(lines).block(block).style(theme.popup), area);
}
