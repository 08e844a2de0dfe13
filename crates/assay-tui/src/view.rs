//! Drawing: reads the `App`, never changes it.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Mode, Profile, RowCount, Tab, CHROME_LINES, SLOW};
use super::checks::CheckRun;
use super::filter::{FilterEditor, Stage};
use super::keymap::{Action, Keymap, Scope};
use super::recipe::{self, PromptKind};
use super::sql::{ExplainView, SqlError};
use assay_core::config::ThemeName;
use assay_core::output::short_number;
use assay_core::profile::{sparkline, ColumnProfile};
use assay_core::quality::Status;
use assay_core::sql::assist::{self, Class, Kind};
use assay_core::transform::filter::{Combine, Node};

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

/// The style of a class of SQL token.
fn sql_style(theme: &Theme, class: Class) -> Style {
    match class {
        Class::Keyword => theme.header,
        Class::Function => theme.pass,
        Class::String => theme.warn,
        Class::Number => theme.dtype,
        Class::Comment => theme.null,
        Class::Identifier | Class::Operator | Class::Plain => Style::default(),
    }
}

/// The SQL editor, over the lower part of the grid: line numbers, highlighted text, the
/// matching bracket, the error's token underlined, completions under the cursor, and a
/// line saying what runs or what went wrong.
fn render_sql(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let Some(e) = &app.sql else { return };
    let height = (e.lines.len() as u16 + 3).clamp(8.min(area.height), area.height);
    let rect = Rect { y: area.y + area.height - height, height, ..area };
    frame.render_widget(Clear, rect);
    let k = |a| app.keymap.key(Scope::Sql, a);
    let (prev, next) = (k(Action::RecallPrev), k(Action::RecallNext));
    let history = match (prev.strip_prefix("ctrl-"), next.strip_prefix("ctrl-")) {
        (Some(_), Some(n)) => format!("{prev}/{n}"),
        _ => format!("{prev}/{next}"),
    };
    let title = format!(
        " SQL · {} · {} run · {} engine · {} explain · {} step · Tab complete · {history} history · {} ",
        e.engine.title(),
        k(Action::RunQuery),
        k(Action::NextEngine),
        k(Action::ExplainQuery),
        k(Action::OpenAsTab),
        k(Action::Cancel),
    );
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if inner.height < 2 || inner.width < 8 {
        return;
    }
    let text_height = (inner.height - 1) as usize;
    let gutter = 4usize;
    let width = (inner.width as usize).saturating_sub(gutter).max(1);
    let top = e.row.saturating_sub(text_height - 1);
    let left = e.col.saturating_sub(width - 1);
    // Per character of the visible lines: its style.
    let pieces = assist::highlight(&e.text());
    let brackets = e.brackets().map(|(a, b)| {
        let text = e.text();
        let at = |byte: usize| {
            let before = &text[..byte];
            let line = before.matches('\n').count();
            let col = before.rsplit('\n').next().unwrap_or("").chars().count();
            (line, col)
        };
        [at(a), at(b)]
    });
    let mut lines = Vec::new();
    for (n, line) in e.lines.iter().enumerate().skip(top).take(text_height) {
        let mut styles: Vec<Style> = vec![Style::default(); line.chars().count()];
        for p in pieces.iter().filter(|p| p.line == n) {
            for s in styles.iter_mut().take(p.end).skip(p.start) {
                *s = sql_style(theme, p.class);
            }
        }
        if let Some(SqlError { at: Some((l, c, len)), .. }) = &e.error {
            if *l == n {
                for s in styles.iter_mut().skip(*c).take(*len) {
                    *s = s.patch(theme.fail).add_modifier(Modifier::UNDERLINED);
                }
            }
        }
        for (l, c) in brackets.iter().flatten() {
            if *l == n {
                if let Some(s) = styles.get_mut(*c) {
                    *s = s.add_modifier(Modifier::REVERSED);
                }
            }
        }
        let mut spans = vec![Span::styled(format!("{:>3} ", n + 1), theme.null)];
        let chars: Vec<char> = line.chars().collect();
        let mut run = String::new();
        let mut style = None;
        for (i, ch) in chars.iter().enumerate().skip(left).take(width) {
            if style != Some(styles[i]) {
                if let Some(st) = style {
                    spans.push(Span::styled(std::mem::take(&mut run), st));
                }
                style = Some(styles[i]);
            }
            run.push(*ch);
        }
        if let Some(st) = style {
            spans.push(Span::styled(run, st));
        }
        lines.push(Line::from(spans));
    }
    let text_area = Rect { height: inner.height - 1, ..inner };
    frame.render_widget(Paragraph::new(lines), text_area);
    let status = Rect { y: inner.y + inner.height - 1, height: 1, ..inner };
    let line = match (&e.running, &e.error, &e.last) {
        (Some(started), _, _) => Line::styled(
            format!(
                "{} running on {}… {:.1} s (Esc cancels)",
                spinner(*started),
                e.engine.title(),
                started.elapsed().as_secs_f64()
            ),
            theme.status,
        ),
        (None, Some(err), _) => Line::styled(err.message.clone(), theme.error),
        (None, None, Some(last)) => Line::styled(last.clone(), theme.status),
        (None, None, None) => Line::styled(
            "results open as tabs named q1, q2, … (CREATE VIEW name AS … names one); query them like any table",
            theme.null,
        ),
    };
    frame.render_widget(Paragraph::new(line), status);
    let cursor = (inner.x + (gutter + e.col - left) as u16, inner.y + (e.row - top) as u16);
    frame.set_cursor_position(cursor);
    // The picker of named queries and history (ctrl-o), or the name prompt (ctrl-s).
    if let Some(picker) = &e.picker {
        let mut lines = Vec::new();
        if picker.naming {
            lines.push(Line::from(vec![
                Span::styled(" save as: ", theme.header),
                Span::raw(picker.input.clone()),
                Span::raw("▏"),
            ]));
            lines.push(Line::styled(" Enter saves · Esc goes back", theme.null));
        } else {
            lines.push(Line::from(vec![
                Span::styled(" find: ", theme.header),
                Span::raw(picker.input.clone()),
                Span::raw("▏"),
            ]));
            let picks = e.picks();
            let shown = 12usize;
            let selected = picker.selected.min(picks.len().saturating_sub(1));
            let first = selected.saturating_sub(shown - 1);
            for (i, p) in picks.iter().enumerate().skip(first).take(shown) {
                let one_line = p.query.split_whitespace().collect::<Vec<_>>().join(" ");
                let label = match &p.name {
                    Some(n) => format!(" ★ {n}: {one_line}"),
                    None => format!("   {one_line}"),
                };
                lines.push(Line::styled(label, if i == selected { theme.cursor } else { theme.popup }));
            }
            if picks.is_empty() {
                lines.push(Line::styled(" nothing matches", theme.null));
            }
        }
        let popup = centered(area, area.width.saturating_sub(8).min(120), lines.len() as u16 + 2);
        frame.render_widget(Clear, popup);
        let title = if picker.naming {
            " name this query "
        } else {
            " queries · ★ named · ↑↓ Enter loads · Esc "
        };
        let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
        frame.render_widget(Paragraph::new(lines).block(block), popup);
        return;
    }
    // Completions, under the cursor (above it near the bottom).
    if let Some((_, list, selected)) = &e.completions {
        let shown = list.len().min(8);
        let w = list.iter().map(|c| c.text.chars().count()).max().unwrap_or(4) as u16 + 12;
        let h = shown as u16 + 2;
        let below = cursor.1 + 1 + h <= area.y + area.height;
        let y = if below { cursor.1 + 1 } else { cursor.1.saturating_sub(h) };
        let x = cursor.0.min((area.x + area.width).saturating_sub(w));
        let popup = Rect { x, y, width: w.min(area.width), height: h };
        let first = selected.saturating_sub(shown - 1);
        let items: Vec<Line> = list
            .iter()
            .enumerate()
            .skip(first)
            .take(shown)
            .map(|(i, c)| {
                let kind = match c.kind {
                    Kind::Column => "column",
                    Kind::Table => "table",
                    Kind::Function => "function",
                    Kind::Keyword => "keyword",
                };
                let text = format!(" {:<width$} {kind}", c.text, width = (w as usize).saturating_sub(12));
                Line::styled(text, if i == *selected { theme.cursor } else { theme.popup })
            })
            .collect();
        frame.render_widget(Clear, popup);
        frame.render_widget(Paragraph::new(items).block(Block::default().borders(Borders::ALL)), popup);
    }
}

/// Both engines' plans side by side: logical, optimized, DataFusion's physical and, after
/// `a`, the analyzed plans with per-operator rows and time; sections fold with 1-4, and
/// the lines that push work into the scan are marked.
fn render_explain(frame: &mut Frame, keymap: &Keymap, theme: &Theme, area: Rect, view: &ExplainView) {
    use super::sql::LineKind;
    frame.render_widget(Clear, area);
    let k = |a| keymap.key(Scope::Explain, a);
    let analyze = if view.analyzed {
        String::new()
    } else {
        format!("{} runs it (rows, time) · ", k(Action::Analyze))
    };
    let title = format!(
        " explain · {}/{} move · {} folds · {} other engine · 1-4 sections · {analyze}{} saves · {} copies · {} back · ▶ pushdown ",
        k(Action::Down),
        k(Action::Up),
        k(Action::ToggleFold),
        k(Action::SwitchPane),
        k(Action::SavePlans),
        k(Action::Copy),
        k(Action::Cancel),
    );
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let n = view.plans.len().max(1);
    let columns = Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n]).split(inner);
    for (e, column) in columns.iter().enumerate().take(view.plans.len()) {
        let lines: Vec<Line> = view
            .lines(e)
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let style = match l.kind {
                    _ if e == view.side && i == view.cursor => theme.cursor,
                    LineKind::Engine | LineKind::Section(_) => theme.header,
                    LineKind::Operator { pushdown: true, .. } => theme.warn,
                    _ => Style::default(),
                };
                Line::styled(l.text, style)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines).scroll((view.scroll as u16, 0)), *column);
    }
}

fn render_tabs(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let mut spans = vec![Span::styled(" assay ", theme.header)];
    for (i, t) in app.tabs.iter().enumerate() {
        let style = if i == app.active { theme.tab_active } else { theme.tab };
        spans.push(Span::styled(format!(" {} ", t.dataset.name), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
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

/// The columns drawn: the frozen first one, then from `left` while they fit.
fn render_grid(frame: &mut Frame, tab: &Tab, theme: &Theme, area: Rect) {
    if tab.columns.is_empty() {
        let text = match (&tab.error, tab.fetching) {
            (Some(e), _) => Line::styled(e.clone(), theme.error),
            (None, Some(started)) if started.elapsed() >= SLOW => {
                Line::raw(format!("{} reading {}…", spinner(started), tab.dataset.spec))
            }
            _ => Line::raw(""),
        };
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let cols: Vec<usize> = tab.visible_columns(area.width).into_iter().map(|(c, _)| c).collect();
    let mut lines: Vec<Line> = Vec::with_capacity(area.height as usize);
    let cell_text = |c: usize, text: &str, right: bool| {
        let w = tab.widths.get(c).copied().unwrap_or(1) as usize;
        fit(text, w, right)
    };
    let mut names = Vec::new();
    let mut types = Vec::new();
    for &c in &cols {
        let info = &tab.columns[c];
        names.push(Span::styled(cell_text(c, &info.name, info.numeric), theme.header));
        names.push(Span::raw(" "));
        types.push(Span::styled(cell_text(c, &info.dtype, info.numeric), theme.dtype));
        types.push(Span::raw(" "));
    }
    lines.push(Line::from(names));
    lines.push(Line::from(types));
    let rows = area.height.saturating_sub(CHROME_LINES - 2) as u64;
    for r in tab.top..tab.top + rows {
        if tab.rows().is_some_and(|n| r >= n) {
            break;
        }
        let Some(values) = tab.page.as_ref().and_then(|p| p.row(r)) else {
            // Not fetched yet (the page is on its way): a quiet placeholder.
            lines.push(Line::styled("…", theme.dtype));
            continue;
        };
        let mut spans = Vec::new();
        for &c in &cols {
            let info = &tab.columns[c];
            let (text, mut style) = match values.get(c).and_then(|v| v.as_deref()) {
                Some(v) => (cell_text(c, v, info.numeric), Style::default()),
                None => (cell_text(c, "∅", info.numeric), theme.null),
            };
            if c == 0 && cols.len() > 1 {
                style = style.patch(theme.frozen);
            }
            if r == tab.row {
                style = style.patch(if c == tab.col { theme.cursor } else { theme.cursor_row });
            }
            spans.push(Span::styled(text, style));
            spans.push(Span::styled(" ", if r == tab.row { theme.cursor_row } else { Style::default() }));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), area);
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

fn render_help(frame: &mut Frame, app: &App, theme: &Theme, scroll: usize) {
    // The grid's keys, then each panel's and dialog's, as the keymap binds them.
    let mut lines: Vec<Line> = Vec::new();
    for (scope, _, title) in Scope::ALL {
        if *scope != Scope::Grid {
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!("{title}:"), theme.header));
        }
        for (keys, _, desc) in app.keymap.help_in(*scope) {
            lines
                .push(Line::from(vec![Span::styled(format!("{keys:>22}  "), theme.header), Span::raw(desc)]));
        }
    }
    let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    let area = centered(frame.area(), 90, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let block =
        Block::default().borders(Borders::ALL).title(" keys · j/k scroll · Esc closes ").style(theme.popup);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_palette(frame: &mut Frame, app: &App, theme: &Theme, input: &str, selected: usize) {
    let matches = app.palette_matches(input);
    let numeric =
        !input.is_empty() && input.trim().chars().all(|c| c.is_ascii_digit() || c == ',' || c == '_');
    let mut lines =
        vec![Line::from(vec![Span::styled(":", theme.header), Span::raw(input.to_string()), Span::raw("▏")])];
    if numeric {
        lines.push(Line::raw(format!("  go to row {}", input.trim())));
    } else {
        let sel = selected.min(matches.len().saturating_sub(1));
        for (i, (keys, action, desc)) in matches.iter().take(12).enumerate() {
            let style = if i == sel { theme.cursor } else { Style::default() };
            lines.push(Line::styled(format!("  {:<14} {desc}  [{keys}]", action.name()), style));
        }
        if matches.is_empty() {
            lines.push(Line::styled("  no matching command", theme.dtype));
        }
    }
    let area = centered(frame.area(), 70, lines.len() as u16 + 2);
    let area = Rect { y: frame.area().y + 2, ..area };
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(" command palette · a row number jumps there ");
    frame.render_widget(Paragraph::new(lines).block(block).style(theme.popup), area);
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

/// The filter builder: the conditions as a tree, the prompt being answered, the SQL.
fn render_filter(frame: &mut Frame, app: &App, theme: &Theme, editor: &FilterEditor) {
    let columns = app.tab().map(|t| t.columns.as_slice()).unwrap_or(&[]);
    let combine = |c: Combine| if c == Combine::All { "all of (AND)" } else { "any of (OR)" };
    let mut lines = Vec::new();
    let list = editor.stage == Stage::List;
    for (i, row) in editor.rows().iter().enumerate() {
        let text = match editor.node_at(&row.path) {
            None => format!("keep rows matching {}", combine(editor.group.combine)),
            Some(Node::Group(g)) => {
                format!("{}{}", combine(g.combine), if g.items.is_empty() { " (empty)" } else { "" })
            }
            Some(Node::Condition(c)) => c.describe(),
            Some(Node::Sql(sql)) => format!("sql: {sql}"),
        };
        let style = if list && i == editor.cursor { theme.cursor } else { Style::default() };
        lines.push(Line::styled(format!("{}{text}", "  ".repeat(row.depth)), style));
    }
    if editor.group.items.is_empty() {
        lines.push(Line::styled("  (no conditions yet)", theme.dtype));
    }
    lines.push(Line::raw(""));
    match &editor.stage {
        Stage::List => {}
        Stage::Column { input, selected } => {
            lines.push(Line::from(vec![
                Span::styled("column: ", theme.header),
                Span::raw(input.clone()),
                Span::raw("▏"),
            ]));
            for (i, &c) in editor.column_matches(columns, input).iter().take(8).enumerate() {
                let style = if i == *selected { theme.cursor } else { Style::default() };
                let info = &columns[c];
                lines.push(Line::styled(format!("  {:<24} {}", info.name, info.dtype), style));
            }
        }
        Stage::Operator { column, selected } => {
            let info = &columns[(*column).min(columns.len().saturating_sub(1))];
            lines.push(Line::styled(format!("{} …", info.name), theme.header));
            for (i, op) in FilterEditor::operators(info).iter().enumerate() {
                let style = if i == *selected { theme.cursor } else { Style::default() };
                lines.push(Line::styled(format!("  {}", op.label()), style));
            }
        }
        Stage::Value { column, op, input } => {
            let name = columns.get(*column).map(|c| c.name.as_str()).unwrap_or("?");
            let hint = match op.arity() {
                Some(2) => "  (low, high)",
                None => "  (values separated by commas)",
                _ => "",
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{name} {} ", op.label()), theme.header),
                Span::raw(input.clone()),
                Span::raw("▏"),
                Span::styled(hint, theme.dtype),
            ]));
        }
        Stage::Sql { input } => {
            lines.push(Line::from(vec![
                Span::styled("WHERE ", theme.header),
                Span::raw(input.clone()),
                Span::raw("▏"),
            ]));
        }
    }
    if let Some(e) = &editor.error {
        lines.push(Line::styled(e.clone(), theme.error));
    }
    lines.push(Line::from(vec![Span::styled("SQL  ", theme.dtype), Span::raw(editor.sql())]));
    let keys = match editor.stage {
        Stage::List => "a add · g add group · o and/or · d delete · e edit as SQL · Enter apply · Esc cancel",
        Stage::Sql { .. } => "Enter reads the SQL back into the builder · Esc back",
        _ => "type to narrow · ↑↓ choose · Enter next · Esc back",
    };
    lines.push(Line::styled(keys, theme.dtype));
    let area = centered(frame.area(), 96, (lines.len() as u16 + 2).min(frame.area().height));
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(" filter ");
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block).style(theme.popup),
        area,
    );
}

/// The status bar's word on a tab's checks: `checks 9 ✓ 1 ! 2 ✗`.
fn checks_summary(tab: &Tab) -> Option<String> {
    let checks = &tab.checks;
    if let CheckRun::Running { started, .. } = &checks.run {
        return Some(format!("{} checking", spinner(*started)));
    }
    if let Some(started) = checks.suggesting.or(checks.adding) {
        return Some(format!("{} reading the data for checks", spinner(started)));
    }
    let CheckRun::Ready { report, steps, version } = &checks.run else { return None };
    let n = |s: Status| report.count(s);
    let stale = if *steps != tab.steps || *version != checks.version { " (older view)" } else { "" };
    Some(format!("checks {} ✓ {} ! {} ✗{stale}", n(Status::Pass), n(Status::Warn), n(Status::Fail)))
}

/// The checks panel: one line per check and per suggestion, then the selected one in
/// detail with its first failing rows.
/// The recipe panel: the dataset, each step (● on, ○ off) with the rows after it, and
/// the checks that go with the recipe.
fn render_recipe(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, selected: usize) {
    let Some(tab) = app.tab() else { return };
    frame.render_widget(Clear, area);
    let from = tab.recipe_path.as_ref().map(|p| format!(" · {p}")).unwrap_or_else(|| " · not saved".into());
    let title = format!(" recipe · {}{from} · R or Esc closes ", tab.dataset.name);
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let funnel = tab.funnel.as_ref().filter(|f| f.view == tab.view);
    let count = |i: usize| match funnel.and_then(|f| f.counts.get(i)).cloned().flatten() {
        Some(Ok(n)) => thousands(n),
        Some(Err(_)) => "error".into(),
        None => "…".into(),
    };
    let width = (inner.width as usize).saturating_sub(34).max(10);
    let clip = |s: String| -> String {
        if s.chars().count() > width {
            s.chars().take(width.saturating_sub(1)).collect::<String>() + "…"
        } else {
            s
        }
    };
    let k = |a| app.keymap.key(Scope::Recipe, a);
    let mut lines = vec![Line::styled(
        format!(
            "{}/{} select · {} on/off · {}/{} move · {} edit · {} delete · {} save · {} open · {} recount",
            k(Action::Down),
            k(Action::Up),
            k(Action::ToggleStep),
            k(Action::MoveStepDown),
            k(Action::MoveStepUp),
            k(Action::Edit),
            k(Action::Delete),
            k(Action::SaveRecipe),
            k(Action::OpenRecipe),
            k(Action::CountRows),
        ),
        theme.dtype,
    )];
    let mark = |i: usize| if i == selected { "▶" } else { " " };
    lines.push(Line::from(vec![
        Span::raw(mark(0)),
        Span::styled(format!("{:>3}   {:<10} ", 0, "source"), theme.header),
        Span::raw(format!("{:<width$} ", clip(tab.dataset.spec.clone()))),
        Span::raw(format!("{:>12}", count(0))),
    ]));
    for (i, step) in tab.steps.iter().enumerate() {
        let on = step.enabled().is_some();
        let style = if on { Style::default() } else { theme.dtype };
        lines.push(Line::from(vec![
            Span::raw(mark(i + 1)),
            Span::styled(
                format!("{:>3} {} {:<10} ", i + 1, if on { "●" } else { "○" }, step.kind()),
                theme.header,
            ),
            Span::styled(format!("{:<width$} ", clip(recipe::describe(step))), style),
            Span::raw(format!("{:>12}", if on { count(i + 1) } else { "off".into() })),
        ]));
    }
    if tab.steps.is_empty() {
        lines.push(Line::styled(
            "  no steps yet: filters (f, =, !), sorts ([ ]), hidden columns (-), r rename, t type, d derive, \
             and SQL (s, then ctrl-t) become steps",
            theme.dtype,
        ));
    }
    if let Some(e) = funnel.and_then(|f| f.counts.iter().flatten().find_map(|c| c.as_ref().err())) {
        lines.push(Line::styled(e.clone(), theme.error));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(format!(
        "{} checks go with it (c opens the checks panel); `assay run FILE` replays the saved recipe",
        tab.checks.rules.checks.len()
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_checks(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, selected: usize) {
    let Some(tab) = app.tab() else { return };
    let checks = &tab.checks;
    frame.render_widget(Clear, area);
    let from = match (&checks.path, checks.unsaved) {
        (Some(p), false) => format!(" · {p}"),
        (Some(p), true) => format!(" · {p} (unsaved)"),
        (None, _) if checks.rules.checks.is_empty() => String::new(),
        (None, _) => " · not saved yet".into(),
    };
    let title = format!(" checks · {}{from} · c or Esc closes ", tab.dataset.name);
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    match &checks.run {
        CheckRun::None if checks.rules.checks.is_empty() => lines.push(Line::raw(
            "No checks yet. On a column, press a then n (not null), u (unique), s (its values) or r (its range); \
             or S here to suggest checks from a profile of the data.",
        )),
        CheckRun::None => lines.push(Line::styled("not run yet (r runs them)", theme.dtype)),
        CheckRun::Running { started, .. } => lines.push(Line::raw(format!(
            "{} running {} checks on the view (one scan; Esc in the grid cancels)…",
            spinner(*started),
            checks.rules.checks.len()
        ))),
        CheckRun::Failed { error, .. } => lines.push(Line::styled(error.clone(), theme.error)),
        CheckRun::Ready { steps, report, version } => {
            let n = |s: Status| report.count(s);
            lines.push(Line::from(vec![
                Span::raw(format!("{} rows · ", thousands(report.rows))),
                Span::styled(format!("{} pass", n(Status::Pass)), theme.pass),
                Span::raw(" · "),
                Span::styled(format!("{} warn", n(Status::Warn)), theme.warn),
                Span::raw(" · "),
                Span::styled(format!("{} fail", n(Status::Fail)), theme.fail),
                Span::raw(format!(
                    " · {} scan{} · {} ms",
                    report.scans,
                    if report.scans == 1 { "" } else { "s" },
                    report.elapsed_ms
                )),
            ]));
            if *steps != tab.steps || *version != checks.version {
                lines.push(Line::styled("(the view or the rules changed since: r runs them again)", theme.dtype));
            }
        }
    }
    if !checks.is_empty() {
        lines.push(Line::styled(
            format!(
                "  {:<6} {:<34} {:<14} {:>12} {:>8} {:>14}  {}",
                "status", "check", "type", "failing", "%", "observed", "threshold"
            ),
            theme.header,
        ));
    }
    let mut selected_line = 0;
    for (i, check) in checks.rules.checks.iter().enumerate() {
        let id = check.id();
        let result = checks.result(i);
        let (status, style) = match result.map(|r| r.status) {
            Some(Status::Pass) => ("✓ pass", theme.pass),
            Some(Status::Warn) => ("! warn", theme.warn),
            Some(Status::Fail) => ("✗ fail", theme.fail),
            None => ("·", theme.dtype),
        };
        let numbers = match result {
            Some(r) if r.row_level => {
                format!("{:>12} {:>7.2}% {:>14}", thousands(r.failing_rows), r.failing_fraction * 100.0, "")
            }
            Some(r) => {
                format!("{:>12} {:>8} {:>14}", "", "", r.observed.map(short_number).unwrap_or_default())
            }
            None => String::new(),
        };
        let threshold = result.map(|r| r.threshold.clone()).unwrap_or_default();
        let marker = if i == selected { "▸ " } else { "  " };
        let row_style = if i == selected { theme.cursor_row } else { Style::default() };
        if i == selected {
            selected_line = lines.len();
        }
        lines.push(Line::from(vec![
            Span::styled(marker, row_style),
            Span::styled(format!("{status:<6}"), style),
            Span::styled(
                format!(" {:<34} {:<14} {numbers}  {threshold}", cut(&id, 34), check.kind()),
                row_style,
            ),
        ]));
    }
    if !checks.suggestions.is_empty() {
        lines.push(Line::styled("  suggested (y accepts · d rejects · Y accepts all)", theme.header));
        for (j, s) in checks.suggestions.iter().enumerate() {
            let i = checks.rules.checks.len() + j;
            let marker = if i == selected { "▸ " } else { "  " };
            let row_style = if i == selected { theme.cursor_row } else { Style::default() };
            if i == selected {
                selected_line = lines.len();
            }
            lines.push(Line::styled(
                format!("{marker}+      {:<60} {}", cut(&s.check.to_toml(), 60), s.today),
                row_style,
            ));
        }
    }
    // The selected check in detail.
    if let Some(check) = checks.rules.checks.get(selected) {
        let result = checks.result(selected);
        lines.push(Line::raw(""));
        lines.push(Line::styled(check.to_toml(), theme.header));
        if let Some(d) = &check.common().description {
            lines.push(Line::raw(format!("  {d}")));
        }
        if let Some(r) = result {
            if let Some(detail) = &r.detail {
                lines.push(Line::raw(format!("  {detail}")));
            }
            if let Some(sql) = r.failing_sql.as_ref().filter(|_| r.failing_rows > 0) {
                lines.push(Line::styled(format!("  Enter shows the failing rows: WHERE {sql}"), theme.dtype));
            }
            if !r.samples.is_empty() {
                let names: Vec<&String> = r.samples[0].values.keys().collect();
                let mut head = format!("  {:>10}", "row");
                for n in &names {
                    head.push_str(&format!("  {:<18}", cut(n, 18)));
                }
                lines.push(Line::styled(head, theme.dtype));
                for sample in &r.samples {
                    let mut text = format!("  {:>10}", thousands(sample.row));
                    for n in &names {
                        let v = sample.values.get(*n).cloned().flatten().unwrap_or_else(|| "∅".into());
                        text.push_str(&format!("  {:<18}", cut(&v, 18)));
                    }
                    lines.push(Line::raw(text));
                }
            }
        }
    }
    let k = |a| app.keymap.key(Scope::Checks, a);
    let keys = format!(
        "{}/{} move · {} failing rows (or accept) · {} delete · {} re-run · {} suggest · {} save · {} close",
        k(Action::Down),
        k(Action::Up),
        k(Action::Confirm),
        k(Action::Delete),
        k(Action::RunChecks),
        k(Action::SuggestChecks),
        k(Action::SaveRules),
        k(Action::Cancel),
    );
    let body = inner.height.saturating_sub(1) as usize;
    // Keep the selected row on screen, a few lines of its detail below it if they fit.
    let skip = (selected_line + 4).saturating_sub(body);
    let shown: Vec<Line> = lines.into_iter().skip(skip).take(body).collect();
    let [list, foot] =
        Layout::vertical([Constraint::Length(inner.height.saturating_sub(1)), Constraint::Length(1)])
            .areas(inner);
    frame.render_widget(Paragraph::new(shown), list);
    frame.render_widget(Paragraph::new(Line::styled(keys, theme.dtype)), foot);
}

/// `s` cut to `w` characters, an ellipsis marking the cut.
fn cut(s: &str, w: usize) -> String {
    if s.chars().count() > w {
        format!("{}…", s.chars().take(w.saturating_sub(1)).collect::<String>())
    } else {
        s.to_string()
    }
}

/// The export dialog: one line per option of the destination, the selected one marked.
fn render_export(frame: &mut Frame, app: &App, theme: &Theme, dialog: &super::export::ExportDialog) {
    let name = app.tabs.get(dialog.tab).map(|t| t.dataset.name.as_str()).unwrap_or("?");
    let mut lines: Vec<Line> = dialog
        .lines()
        .into_iter()
        .map(|(label, value, selected)| {
            let marker = if selected { "▶ " } else { "  " };
            let mut spans = vec![
                Span::styled(format!("{marker}{label:>15}: "), theme.header),
                Span::styled(value, if selected { theme.cursor } else { theme.popup }),
            ];
            if selected {
                spans.push(Span::raw("▏"));
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::raw(""));
    match &dialog.error {
        Some(e) => lines.push(Line::styled(format!("  {e}"), theme.error)),
        None => lines.push(Line::raw(
            "  a file (.parquet .csv .tsv .ndjson .arrow; local or s3://), sqlite://PATH?table=T or postgres://…?table=T",
        )),
    }
    let area = centered(frame.area(), 110, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let title =
        format!(" export {name} · ↑↓ move · space/⌫ change · type to edit · Enter exports · Esc closes ");
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_popup(frame: &mut Frame, theme: &Theme, title: &str, text: &str) {
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

/// The profile panel: one line per column, then the current column in detail.
fn render_profile(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, scroll: usize) {
    let Some(tab) = app.tab() else { return };
    frame.render_widget(Clear, area);
    let title = format!(" profile · {} · p or Esc closes · j/k scroll ", tab.dataset.name);
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = match &tab.profile {
        Profile::None => vec![Line::raw("")],
        Profile::Running { started, .. } => vec![Line::raw(format!(
            "{} profiling {} (two scans; Esc cancels)…",
            spinner(*started),
            tab.dataset.spec
        ))],
        Profile::Failed { error, .. } => vec![Line::styled(error.clone(), theme.error)],
        Profile::Ready { view, columns } => {
            let mut lines = profile_lines(columns, tab.col, theme);
            if *view != tab.view {
                lines.insert(
                    0,
                    Line::styled("(the view changed since: press p twice to refresh)", theme.dtype),
                );
            }
            lines
        }
    };
    let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn profile_lines<'a>(columns: &'a [ColumnProfile], current: usize, theme: &Theme) -> Vec<Line<'a>> {
    let rows = columns.first().map(|c| c.rows).unwrap_or(0);
    let mut lines = vec![
        Line::styled(format!("{} rows · {} columns", thousands(rows), columns.len()), theme.dtype),
        Line::styled(
            format!(
                "{:<20} {:<12} {:>8} {:>10} {:<16} {:<16} {:>10} {}",
                "column", "type", "nulls", "distinct", "min", "max", "mean", "histogram"
            ),
            theme.header,
        ),
    ];
    for (i, c) in columns.iter().enumerate() {
        let text = format!(
            "{:<20} {:<12} {:>7.1}% {:>10} {:<16} {:<16} {:>10} {}",
            cut(&c.name, 20),
            cut(&c.dtype, 12),
            c.null_fraction * 100.0,
            thousands(c.distinct),
            cut(c.min.as_deref().unwrap_or(""), 16),
            cut(c.max.as_deref().unwrap_or(""), 16),
            c.mean.map(short_number).unwrap_or_default(),
            sparkline(&c.histogram),
        );
        let style = if i == current { theme.cursor } else { Style::default() };
        lines.push(Line::styled(text, style));
    }
    if let Some(c) = columns.get(current) {
        lines.push(Line::raw(""));
        lines.push(Line::styled(format!("{} ({})", c.name, c.dtype), theme.header));
        lines.push(Line::raw(format!(
            "  nulls {} of {} ({:.2}%) · distinct {}",
            thousands(c.nulls),
            thousands(c.rows),
            c.null_fraction * 100.0,
            thousands(c.distinct)
        )));
        if let (Some(mean), Some(std)) = (c.mean, c.std) {
            lines.push(Line::raw(format!("  mean {} · std {}", short_number(mean), short_number(std))));
        }
        if let Some([q1, q2, q3]) = c.quantiles {
            lines.push(Line::raw(format!(
                "  {}p25 {} · median {} · p75 {}",
                if c.approximate { "≈ " } else { "" },
                short_number(q1),
                short_number(q2),
                short_number(q3)
            )));
        }
        let top_max = c.top.iter().map(|t| t.1).max().unwrap_or(1).max(1);
        if !c.top.is_empty() {
            lines.push(Line::styled("  top values", theme.dtype));
        } else if c.approximate && c.distinct > 0 {
            lines.push(Line::styled("  top values: not counted (mostly distinct values)", theme.dtype));
        }
        for (value, n) in &c.top {
            let bar = "█".repeat(((n * 30) / top_max) as usize);
            lines.push(Line::raw(format!("  {:<24} {:>10} {bar}", cut(value, 24), thousands(*n))));
        }
        if !c.histogram.is_empty() {
            lines.push(Line::styled("  histogram (lower bound, rows)", theme.dtype));
            let h_max = c.histogram.iter().map(|b| b.1).max().unwrap_or(1).max(1);
            for (lo, n) in &c.histogram {
                let bar = "█".repeat(((n * 40) / h_max) as usize);
                lines.push(Line::raw(format!("  {:>12} {:>10} {bar}", short_number(*lo), thousands(*n))));
            }
        }
    }
    lines
}
