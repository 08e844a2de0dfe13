//! Drawing the SQL editor: the query highlighted by sqlparser's tokenizer, the
//! completion list, the error underlined where the engine points, the engine and keys.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use assay_core::sql::assist::{self, Class, Kind};

use super::super::app::App;
use super::super::keymap::{Action, Scope};
use super::super::view::{centered, spinner, Theme};
use super::SqlError;

/// The style of a class of SQL token.
pub(super) fn sql_style(theme: &Theme, class: Class) -> Style {
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
pub(crate) fn render_sql(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
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
