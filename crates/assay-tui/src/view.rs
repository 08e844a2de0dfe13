//! Drawing: reads the `App`, never changes it.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Mode, RowCount, SLOW};
use super::checks::{checks_summary, render_checks};
use super::export::render_export;
use super::filter::render_filter;
use super::grid::{render_grid, render_tabs};
use super::help::render_help;
use super::palette::render_palette;
use super::profile::render_profile;
use super::recipe::render_recipe;
use super::recipe::PromptKind;
use super::sql::{render_explain, render_sql};
use assay_core::config::ThemeName;

/// Smallest usable terminal.
pub const MIN_WIDTH: u16 = 30;
pub const MIN_HEIGHT: u16 = 6;

/// Styles; with `NO_COLOR` only bold, dim and reverse are used.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub header: Style,
    pub dtype: Style,
    pub null: Style,
    pub cursor: Style,
    pub cursor_row: Style,
    pub frozen: Style,
    pub status: Style,
    pub error: Style,
    pub tab_active: Style,
    pub tab: Style,
    pub popup: Style,
    /// Check statuses.
    pub pass: Style,
    pub warn: Style,
    pub fail: Style,
}

impl Theme {
    pub fn new(name: ThemeName, color: bool) -> Theme {
        let plain = Style::default();
        if !color {
            return Theme {
                header: plain.add_modifier(Modifier::BOLD),
                dtype: plain.add_modifier(Modifier::DIM),
                null: plain.add_modifier(Modifier::DIM),
                cursor: plain.add_modifier(Modifier::REVERSED),
                cursor_row: plain.add_modifier(Modifier::UNDERLINED),
                frozen: plain.add_modifier(Modifier::BOLD),
                status: plain.add_modifier(Modifier::REVERSED),
                error: plain.add_modifier(Modifier::BOLD),
                tab_active: plain.add_modifier(Modifier::REVERSED),
                tab: plain,
                popup: plain,
                pass: plain,
                warn: plain.add_modifier(Modifier::BOLD),
                fail: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            };
        }
        let (fg, accent, dim, bar) = match name {
            ThemeName::Dark => (Color::White, Color::Cyan, Color::DarkGray, Color::Rgb(40, 44, 52)),
            ThemeName::Light => (Color::Black, Color::Blue, Color::Gray, Color::Rgb(225, 228, 232)),
        };
        Theme {
            header: Style::default().fg(accent).add_modifier(Modifier::BOLD),
            dtype: Style::default().fg(dim),
            null: Style::default().fg(dim).add_modifier(Modifier::ITALIC),
            cursor: Style::default().fg(Color::Black).bg(accent),
            cursor_row: Style::default().bg(bar),
            frozen: Style::default().fg(fg).add_modifier(Modifier::BOLD),
            status: Style::default().fg(fg).bg(bar),
            error: Style::default().fg(Color::Red).bg(bar).add_modifier(Modifier::BOLD),
            tab_active: Style::default().fg(Color::Black).bg(accent).add_modifier(Modifier::BOLD),
            tab: Style::default().fg(fg),
            popup: Style::default().fg(fg),
            pass: Style::default().fg(Color::Green),
            warn: Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            fail: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }
}

pub fn render(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small: {}×{} (assay needs {MIN_WIDTH}×{MIN_HEIGHT})",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [tabs, grid, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(area.height - 2), Constraint::Length(1)])
            .areas(area);
    render_tabs(frame, app, theme, tabs);
    if let Some(tab) = app.tab() {
        render_grid(frame, tab, theme, grid);
    }
    render_status(frame, app, theme, status);
    match &app.mode {
        Mode::Normal => {}
        Mode::Help { scroll } => render_help(frame, app, theme, *scroll),
        Mode::Palette { input, selected } => render_palette(frame, app, theme, input, *selected),
        Mode::Cell { title, text } => render_popup(frame, theme, title, text),
        Mode::Profile { scroll } => render_profile(frame, app, theme, grid, *scroll),
        Mode::Filter(editor) => render_filter(frame, app, theme, editor),
        Mode::Open(dialog) => super::open::render(frame, theme, dialog),
        Mode::Checks { selected } => render_checks(frame, app, theme, grid, *selected),
        Mode::Sql => render_sql(frame, app, theme, grid),
        Mode::Explain(explain) => render_explain(frame, &app.keymap, theme, grid, explain),
        Mode::Recipe { selected } => render_recipe(frame, app, theme, grid, *selected),
        Mode::Export(dialog) => render_export(frame, app, theme, dialog),
        Mode::Prompt(prompt) => {
            if let PromptKind::EditStep { index } = prompt.kind {
                render_recipe(frame, app, theme, grid, index + 1);
            } else if matches!(prompt.kind, PromptKind::SaveRecipe | PromptKind::OpenRecipe) {
                render_recipe(frame, app, theme, grid, 0);
            }
            let mut spans = vec![
                Span::styled(format!(" {}: ", prompt.kind.title()), theme.header),
                Span::raw(prompt.input.clone()),
                Span::raw("▏"),
            ];
            if prompt.proposed {
                spans.push(Span::styled(
                    "  (typing replaces it; Backspace edits it; ctrl-u clears)",
                    theme.dtype,
                ));
            }
            if let Some(e) = &prompt.error {
                spans.push(Span::styled(format!("  {e}"), theme.error));
            }
            frame.render_widget(Clear, status);
            frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.status), status);
        }
        Mode::AddCheck { column } => {
            let line = Line::from(vec![
                Span::styled(format!(" add a check on {column}: "), theme.header),
                Span::raw("n not null · u unique · s in its current values · r its current range · Esc"),
            ]);
            frame.render_widget(Clear, status);
            frame.render_widget(Paragraph::new(line).style(theme.status), status);
        }
        Mode::Search { input } => {
            let line = Line::from(vec![
                Span::styled("/", theme.header),
                Span::raw(input.clone()),
                Span::raw("▏  (a regular expression over every column · Enter searches · Esc)"),
            ]);
            frame.render_widget(Clear, status);
            frame.render_widget(Paragraph::new(line).style(theme.status), status);
        }
    }
}

/// Pads or cuts `text` to `width` display cells, right-aligned when `right`.
pub(crate) fn fit(text: &str, width: usize, right: bool) -> String {
    let count = text.chars().count();
    if count > width {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        return format!("{cut}…");
    }
    if right {
        format!("{text:>width$}")
    } else {
        format!("{text:<width$}")
    }
}

pub(crate) fn spinner(started: std::time::Instant) -> char {
    const FRAMES: [char; 8] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧'];
    FRAMES[(started.elapsed().as_millis() / 100) as usize % FRAMES.len()]
}

/// A count with thousands separators: 1,234,567.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn render_status(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    if let Some(m) = &app.message {
        let style = if m.error { theme.error } else { theme.status };
        frame.render_widget(Paragraph::new(format!(" {}", m.text)).style(style), area);
        return;
    }
    // A running export owns the status line: a bar when the total is known, then rows,
    // bytes, time left.
    if let Some(e) = &app.exporting {
        let mut spans = Vec::new();
        if let Some(total) = e.total.filter(|t| *t > 0) {
            let width = 20usize;
            let filled = ((e.watch.rows() as f64 / total as f64).min(1.0) * width as f64).round() as usize;
            spans.push(Span::styled(format!(" {}", "█".repeat(filled)), theme.header));
            spans.push(Span::raw("░".repeat(width - filled)));
        }
        spans.push(Span::raw(format!(" {}", e.status())));
        frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.status), area);
        return;
    }
    let Some(tab) = app.tab() else {
        frame.render_widget(Paragraph::new(" no data open · ? help · q quit").style(theme.status), area);
        return;
    };
    let total = match &tab.count {
        RowCount::Known(n) => thousands(*n),
        RowCount::Counting(started) if started.elapsed() >= SLOW => match tab.count_progress.fraction() {
            Some(f) => format!("{} counting {:.0}%", spinner(*started), f * 100.0),
            None => format!("{} counting", spinner(*started)),
        },
        RowCount::Counting(_) | RowCount::NotStarted => "…".into(),
        RowCount::Failed(_) => "?".into(),
        RowCount::Cancelled => "? (count cancelled)".into(),
    };
    let mut left = format!(
        " {} · {} · row {} of {}",
        tab.dataset.name,
        tab.dataset.format.name(),
        thousands(tab.row + 1),
        total
    );
    if let Some(col) = tab.columns.get(tab.col) {
        left.push_str(&format!(" · {} ({})", col.name, col.dtype));
    }
    if let (Some(started), Some(pattern)) = (tab.finding, &app.search) {
        left.push_str(&format!(" · {} searching /{pattern} (Esc cancels)", spinner(started)));
    }
    if let Some(started) = tab.fetching {
        if started.elapsed() >= SLOW {
            left.push_str(&format!(" · {} fetching rows (Esc cancels)", spinner(started)));
        }
    }
    if let Some(summary) = checks_summary(tab) {
        left.push_str(&format!(" · {summary}"));
    }
    if let Some(sql) = app.view_sql() {
        // The view as the SQL it stands for, after its `SELECT * FROM t`.
        let shown = sql.split_once(" FROM ").and_then(|(_, r)| r.split_once(' ')).map(|(_, r)| r);
        left.push_str(&format!(" · {}", shown.unwrap_or(&sql)));
    }
    let right = "? help · : palette · q quit ";
    let pad = (area.width as usize).saturating_sub(left.chars().count() + right.chars().count());
    let text = format!("{left}{}{right}", " ".repeat(pad));
    frame.render_widget(Paragraph::new(text).style(theme.status), area);
}

pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2));
    let h = height.min(area.height.saturating_sub(2));
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

/// A byte count as people read it: 1.2 MB.
pub(super) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `s` cut to `w` characters, an ellipsis marking the cut.
pub(super) fn cut(s: &str, w: usize) -> String {
    if s.chars().count() > w {
        format!("{}…", s.chars().take(w.saturating_sub(1)).collect::<String>())
    } else {
        s.to_string()
    }
}

pub(super) fn render_popup(frame: &mut Frame, theme: &Theme, title: &str, text: &str) {
    let longest = text.chars().count().max(title.chars().count() + 16) as u16;
    let width = (longest + 4).clamp(30, 90);
    let inner = width.saturating_sub(2).max(1) as usize;
    let height = (text.lines().map(|l| l.chars().count() / inner + 1).sum::<usize>() as u16 + 2).min(30);
    let area = centered(frame.area(), width, height);
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(format!(" {title} (Esc closes) "));
    frame.render_widget(
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: false })
            .block(block)
            .style(theme.popup)
            .alignment(Alignment::Left),
        area,
    );
}
