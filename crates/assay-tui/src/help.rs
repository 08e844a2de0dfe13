//! The help screen (`?`), generated from the keymap: every mode's keys, with the
//! user's own bindings; and the popup of one cell's whole value (`Enter`), which closes
//! the same way.

use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::app::{App, Mode};
use super::jobs::Job;
use super::keymap::{Action, Scope};
use super::view::{centered, Theme};

impl App {
    /// Keys of the help screen and the cell popup: up and down scroll the help; Esc,
    /// `?` or `Enter` close either.
    pub(super) fn popup_key(&mut self, action: Action) -> Vec<Job> {
        match (&mut self.mode, action) {
            (Mode::Help { .. } | Mode::Cell { .. }, Action::Cancel | Action::Help | Action::ShowCell) => {
                self.mode = Mode::Normal;
            }
            (Mode::Help { scroll }, Action::Down) => *scroll += 1,
            (Mode::Help { scroll }, Action::Up) => *scroll = scroll.saturating_sub(1),
            _ => {}
        }
        Vec::new()
    }
}

pub(super) fn render_help(frame: &mut Frame, app: &App, theme: &Theme, scroll: usize) {
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
