//! The command palette (`:`): every action of the keymap, found by fuzzy matching its
//! name and description, or a row number to jump to.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::app::{App, Message, Mode, PaletteKey};
use super::jobs::Job;
use super::keymap::Action;
use super::view::{centered, Theme};

impl App {
    /// Typing in the palette: text, Backspace, Enter, Esc, Up/Down.
    pub fn palette_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let Mode::Palette { input, selected } = &mut self.mode else {
            return Vec::new();
        };
        match key {
            PaletteKey::Char(c) => {
                input.push(c);
                *selected = 0;
            }
            PaletteKey::Backspace => {
                input.pop();
                *selected = 0;
            }
            PaletteKey::Down => *selected += 1,
            PaletteKey::Up => *selected = selected.saturating_sub(1),
            PaletteKey::Act(_) => {}
            PaletteKey::Esc => self.mode = Mode::Normal,
            PaletteKey::Enter => {
                let input = input.trim().to_string();
                let chosen = *selected;
                self.mode = Mode::Normal;
                if let Ok(n) = input.replace(['_', ','], "").parse::<u64>() {
                    return self.goto_row(n);
                }
                let matches = self.palette_matches(&input);
                if let Some((_, action, _)) = matches.get(chosen.min(matches.len().saturating_sub(1))) {
                    return self.update(*action);
                }
                self.message = Some(Message { text: format!("no command matches `{input}`"), error: true });
            }
        }
        Vec::new()
    }

    /// Actions matching the palette input, best first.
    pub fn palette_matches(&self, input: &str) -> Vec<(String, Action, String)> {
        let mut scored: Vec<(i64, (String, Action, String))> = self
            .keymap
            .help()
            .into_iter()
            .filter(|(_, a, _)| *a != Action::Palette)
            .filter_map(|line| {
                let hay = format!("{} {}", line.1.name().replace('_', " "), line.2);
                fuzzy_score(input, &hay).map(|s| (s, line))
            })
            .collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        scored.into_iter().map(|(_, l)| l).collect()
    }
}

/// Subsequence match of `needle` in `hay` (case-insensitive); higher is better: adjacent
/// letters and a match at a word start score more.
pub fn fuzzy_score(needle: &str, hay: &str) -> Option<i64> {
    let hay: Vec<char> = hay.to_lowercase().chars().collect();
    let mut score = 0i64;
    let mut pos = 0usize;
    let mut last: Option<usize> = None;
    for n in needle.to_lowercase().chars().filter(|c| !c.is_whitespace()) {
        let found = (pos..hay.len()).find(|&i| hay[i] == n)?;
        score += 1;
        if last.is_some_and(|l| l + 1 == found) {
            score += 3;
        }
        if found == 0 || !hay[found - 1].is_alphanumeric() {
            score += 2;
        }
        last = Some(found);
        pos = found + 1;
    }
    Some(score * 100 - hay.len() as i64)
}

pub(super) fn render_palette(frame: &mut Frame, app: &App, theme: &Theme, input: &str, selected: usize) {
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
