//! Search (`/`, `n`, `N`): a regular expression over every column of the view, from
//! the cursor on, run in the background; the cursor jumps to the next match.

use std::time::Instant;

use super::app::{App, Message, Mode, PaletteKey};
use super::jobs::{Job, TabId};

impl App {
    /// Starts a search for the last pattern from the cursor.
    pub(super) fn find(&mut self, tab: usize, forward: bool) -> Vec<Job> {
        let Some(pattern) = self.search.clone() else {
            self.message = Some(Message { text: "no search yet: press / to search".into(), error: false });
            return Vec::new();
        };
        let t = &mut self.tabs[tab];
        t.finding = Some(Instant::now());
        vec![Job::Find {
            tab: t.id.clone(),
            view: t.view,
            steps: t.steps.clone(),
            pattern,
            from: t.row,
            forward,
        }]
    }

    /// Typing the search pattern: text, Backspace, Enter (search forward), Esc.
    pub fn search_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let Mode::Search { input } = &mut self.mode else { return Vec::new() };
        match key {
            PaletteKey::Char(c) => input.push(c),
            PaletteKey::Backspace => {
                input.pop();
            }
            PaletteKey::Esc => self.mode = Mode::Normal,
            PaletteKey::Enter => {
                let pattern = std::mem::take(input);
                self.mode = Mode::Normal;
                if pattern.is_empty() {
                    return Vec::new();
                }
                self.search = Some(pattern);
                let tab = self.active;
                if tab < self.tabs.len() {
                    return self.find(tab, true);
                }
            }
            PaletteKey::Up | PaletteKey::Down | PaletteKey::Act(_) => {}
        }
        Vec::new()
    }

    /// A search answered: the cursor goes to the match, if it is of the current view.
    pub(super) fn found(
        &mut self,
        tab: TabId,
        view: u64,
        pattern: String,
        result: assay_core::Result<Option<u64>>,
    ) -> Vec<Job> {
        let Some(tab) = self.index_of(&tab) else { return Vec::new() };
        let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
        if t.finding.take().is_none() || view != t.view {
            return Vec::new();
        }
        match result {
            Ok(Some(row)) => {
                let jobs = self.goto_row(row + 1);
                self.message = Some(Message { text: format!("/{pattern} · row {}", row + 1), error: false });
                jobs
            }
            Ok(None) => {
                self.message = Some(Message { text: format!("/{pattern}: no more matches"), error: false });
                Vec::new()
            }
            Err(e) => {
                self.message = Some(Message { text: e.to_string(), error: true });
                Vec::new()
            }
        }
    }
}
