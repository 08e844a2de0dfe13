//! Drawing the grid: the tab bar, the column names and types, and the rows on screen.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::super::app::{App, CHROME_LINES, SLOW};
use super::super::tab::Tab;
use super::super::view::{fit, spinner, Theme};

pub(crate) fn render_tabs(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let mut spans = vec![Span::styled(" assay ", theme.header)];
    for (i, t) in app.tabs.iter().enumerate() {
        let style = if i == app.active { theme.tab_active } else { theme.tab };
        spans.push(Span::styled(format!(" {} ", t.dataset.name), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The columns drawn: the frozen first one, then from `left` while they fit.
pub(crate) fn render_grid(frame: &mut Frame, tab: &Tab, theme: &Theme, area: Rect) {
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
