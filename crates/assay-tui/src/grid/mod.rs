//! The grid: the rows of the current tab's view, the cursor and the columns on screen
//! (widths fitted, frozen and scrolled), the keys that move, sort, filter and reshape
//! the view, the mouse, and the paging that asks only for the rows around the window
//! (`Job::Page`, `Job::Count`) and takes their answers.

mod keys;
mod view;

pub(crate) use view::{render_grid, render_tabs};

use std::sync::Arc;
use std::time::Instant;

use assay_core::engine::Table;
use assay_core::output;
use assay_core::progress::Progress;
use assay_core::transform::{self, Step};
use assay_core::Result;

use super::app::{App, Message, CHROME_LINES};
use super::jobs::{Job, TabId};
use super::tab::{fit_widths, ColumnInfo, Page, RowCount};

/// Rows fetched around the visible window, so short scrolls need no new job.
const PREFETCH: u64 = 100;

/// What the mouse did, in screen cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mouse {
    ScrollUp,
    ScrollDown,
    Press { x: u16, y: u16 },
    Drag { x: u16, y: u16 },
    Release,
}

/// Rows the mouse wheel moves per notch.
const WHEEL_ROWS: u64 = 3;

/// The screen line of the first data row (under the tab bar, names and types).
const FIRST_DATA_LINE: u16 = 3;

impl App {
    /// Asks for the count and the visible page of a tab's current view.
    pub(super) fn restart(&mut self, tab: usize) -> Vec<Job> {
        let t = &mut self.tabs[tab];
        t.count = RowCount::Counting(Instant::now());
        // The count starts when the first page is in: on two cores, a count scanning a
        // big file at the same time delays the first screen.
        t.count_after_page = true;
        self.request_page(tab, true)
    }

    /// The count deferred by `restart`, once the first page of the view answered.
    pub(super) fn deferred_count(&mut self, tab: usize) -> Vec<Job> {
        let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
        if !std::mem::take(&mut t.count_after_page) || !matches!(t.count, RowCount::Counting(_)) {
            return Vec::new();
        }
        t.count_progress = Arc::new(Progress::default());
        vec![Job::Count {
            tab: t.id.clone(),
            view: t.view,
            steps: t.steps.clone(),
            progress: t.count_progress.clone(),
        }]
    }

    /// Replaces a tab's steps: back to the first row of the new view.
    pub(super) fn set_steps(&mut self, tab: usize, steps: Vec<Step>) -> Vec<Job> {
        let t = &mut self.tabs[tab];
        t.steps = steps;
        t.view += 1;
        t.page = None;
        t.end = None;
        t.pending_bottom = false;
        t.row = 0;
        t.top = 0;
        let mut jobs = vec![Job::Cancel { tab: self.tabs[tab].id.clone() }];
        jobs.extend(self.restart(tab));
        jobs
    }

    /// Like `set_steps`, but keeps the cursor row and column and the row count (a change
    /// of columns only).
    pub(super) fn set_steps_keep_place(&mut self, tab: usize, steps: Vec<Step>) -> Vec<Job> {
        let (row, top, col, count, end) = {
            let t = &self.tabs[tab];
            (t.row, t.top, t.col, t.count.clone(), t.end)
        };
        let jobs = self.set_steps(tab, steps);
        let t = &mut self.tabs[tab];
        (t.row, t.top, t.col) = (row, top, col);
        // Choosing columns keeps every row: a known count (or end) still holds.
        if let RowCount::Known(_) = count {
            t.count = count;
            t.count_after_page = false;
        }
        t.end = end;
        let mut jobs = jobs;
        // The page asked for by `set_steps` was for the top; ask for the window again.
        jobs.retain(|j| !matches!(j, Job::Page { .. }));
        jobs.extend(self.request_page(tab, true));
        jobs
    }

    /// The current view of the active tab as SQL, when it has steps (steps SQL cannot
    /// show in one plain query are listed by kind; the recipe panel shows them).
    pub fn view_sql(&self) -> Option<String> {
        let t = self.tab()?;
        if t.steps.is_empty() {
            return None;
        }
        if transform::is_simple(&t.steps) {
            return Some(transform::to_sql(&t.dataset.name, &t.steps));
        }
        let kinds: Vec<&str> = t.steps.iter().filter_map(|s| s.enabled()).map(|s| s.kind()).collect();
        Some(format!("{} steps: {} (R shows the recipe)", kinds.len(), kinds.join(" → ")))
    }

    /// Data rows that fit on screen.
    pub fn visible_rows(&self) -> u64 {
        self.height.saturating_sub(CHROME_LINES).max(1) as u64
    }

    pub fn resize(&mut self, width: u16, height: u16) -> Vec<Job> {
        self.width = width;
        self.height = height;
        let tab = self.active;
        self.scroll_into_view(tab);
        self.request_page(tab, false)
    }

    /// Asks for the page around the visible window unless it is already fetched.
    pub(super) fn request_page(&mut self, tab: usize, force: bool) -> Vec<Job> {
        let visible = self.visible_rows();
        let Some(t) = self.tabs.get_mut(tab) else {
            return Vec::new();
        };
        let want_end = match t.rows() {
            Some(n) => (t.top + visible).min(n),
            None => t.top + visible,
        };
        let covered = t.page.as_ref().is_some_and(|p| {
            let end = p.offset + p.rows.len() as u64;
            p.offset <= t.top.min(want_end) && want_end <= end
        });
        if covered && !force {
            return Vec::new();
        }
        let failed_here = t.failed.is_some_and(|(view, start, end)| {
            view == t.view && start <= t.top.min(want_end) && want_end <= end
        });
        if failed_here && !force {
            return Vec::new();
        }
        let offset = t.top.saturating_sub(PREFETCH);
        let len = (t.top - offset + visible + PREFETCH) as usize;
        t.generation += 1;
        t.requested = len;
        t.fetching = Some(Instant::now());
        vec![Job::Page { tab: t.id.clone(), generation: t.generation, steps: t.steps.clone(), offset, len }]
    }

    /// Keeps the cursor on screen, moving the window.
    pub(super) fn scroll_into_view(&mut self, tab: usize) {
        let visible = self.visible_rows();
        let Some(t) = self.tabs.get_mut(tab) else {
            return;
        };
        if let Some(n) = t.rows() {
            t.row = t.row.min(n.saturating_sub(1));
        }
        if t.row < t.top {
            t.top = t.row;
        } else if t.row >= t.top + visible {
            t.top = t.row + 1 - visible;
        }
        if t.col < t.left {
            t.left = t.col;
        }
        // Scroll right until the cursor column fits after the frozen first column.
        while self.tabs[tab].col > self.tabs[tab].left && !self.column_fits(tab) {
            self.tabs[tab].left += 1;
        }
    }

    /// Whether the cursor column is fully visible with the current `left`.
    pub(super) fn column_fits(&self, tab: usize) -> bool {
        let t = &self.tabs[tab];
        let mut x: u16 = 0;
        let frozen = usize::from(t.columns.len() > 1);
        if frozen == 1 {
            x += t.widths.first().copied().unwrap_or(0) + 1;
        }
        for c in t.left.max(frozen)..t.columns.len() {
            x += t.widths.get(c).copied().unwrap_or(0) + 1;
            if c == t.col {
                return x <= self.width;
            }
        }
        true
    }

    /// Moves the cursor to row `n` (1-based, as shown on screen).
    pub fn goto_row(&mut self, n: u64) -> Vec<Job> {
        let tab = self.active;
        let Some(t) = self.tabs.get_mut(tab) else {
            return Vec::new();
        };
        t.row = n.saturating_sub(1);
        if let Some(total) = t.rows() {
            if n > total {
                self.message =
                    Some(Message { text: format!("row {n} is past the last row ({total})"), error: true });
            }
        }
        let visible = self.visible_rows();
        let t = &mut self.tabs[tab];
        // Put the target in the middle of the screen.
        t.top = t.row.saturating_sub(visible / 2);
        self.scroll_into_view(tab);
        self.request_page(tab, false)
    }

    /// A page of rows came in: shown if it answers the latest request; then the count
    /// that waited for it, the checks that waited for it, and any page still missing.
    pub(super) fn page_done(
        &mut self,
        tab: TabId,
        generation: u64,
        offset: u64,
        result: Result<Table>,
    ) -> Vec<Job> {
        let Some(tab) = self.index_of(&tab) else { return Vec::new() };
        let Some(t) = self.tabs.get_mut(tab) else {
            return Vec::new();
        };
        if generation != t.generation {
            return Vec::new(); // a newer request replaced this one
        }
        t.fetching = None;
        match result.and_then(|table| Ok((output::cells(&table, usize::MAX)?, table))) {
            Ok((rows, table)) => {
                let columns: Vec<ColumnInfo> = table
                    .schema
                    .fields()
                    .iter()
                    .map(|f| ColumnInfo {
                        name: f.name().clone(),
                        dtype: output::short_type(f.data_type()),
                        numeric: f.data_type().is_numeric(),
                    })
                    .collect();
                if t.columns != columns {
                    // Columns hidden or moved: widths follow their columns.
                    let old: std::collections::HashMap<&str, u16> =
                        t.columns.iter().map(|c| c.name.as_str()).zip(t.widths.iter().copied()).collect();
                    let widths =
                        columns.iter().map(|c| old.get(c.name.as_str()).copied().unwrap_or(0)).collect();
                    t.widths = widths;
                    t.columns = columns;
                    t.col = t.col.min(t.columns.len().saturating_sub(1));
                }
                t.error = None;
                t.failed = None;
                fit_widths(t, &rows);
                if rows.len() < t.requested {
                    // A short answer: the data ends here.
                    t.end = Some(offset + rows.len() as u64);
                }
                t.page = Some(Page { offset, rows });
            }
            Err(e) => {
                t.error = Some(e.to_string());
                t.failed = Some((t.view, offset, offset + t.requested as u64));
                self.message = Some(Message { text: e.to_string(), error: true });
            }
        }
        self.scroll_into_view(tab);
        let mut jobs = self.deferred_count(tab);
        if self.tabs[tab].checks.after_page {
            jobs.extend(self.run_checks(tab));
        }
        jobs.extend(self.request_page(tab, false));
        jobs
    }

    /// The row count came in (or failed).
    pub(super) fn count_done(&mut self, tab: TabId, view: u64, result: Result<u64>) -> Vec<Job> {
        let Some(tab) = self.index_of(&tab) else { return Vec::new() };
        let Some(t) = self.tabs.get_mut(tab) else {
            return Vec::new();
        };
        if t.count == RowCount::Cancelled || view != t.view {
            return Vec::new();
        }
        match result {
            Ok(n) => {
                t.count = RowCount::Known(n);
                if t.pending_bottom {
                    t.pending_bottom = false;
                    t.row = n.saturating_sub(1);
                    if self.message.as_ref().is_some_and(|m| !m.error) {
                        self.message = None;
                    }
                }
            }
            Err(e) => {
                t.count = RowCount::Failed(e.to_string());
                t.pending_bottom = false;
                self.message = Some(Message { text: e.to_string(), error: true });
            }
        }
        self.scroll_into_view(tab);
        self.request_page(tab, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_core::source::{CsvDialect, Dataset, Format, Location};
    use assay_core::Error;

    use super::super::jobs::Done;
    use super::super::keymap::{Action, Keymap};

    fn pages(jobs: &[Job]) -> Vec<(u64, u64)> {
        jobs.iter()
            .filter_map(|j| match j {
                Job::Page { generation, offset, .. } => Some((*generation, *offset)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_failing_page_is_not_asked_for_again_until_the_cursor_leaves_it() {
        let ds = Dataset {
            name: "orders".into(),
            spec: "orders.csv".into(),
            files: vec!["orders.csv".into()],
            format: Format::Csv(CsvDialect::default()),
            location: Location::Local,
        };
        let (mut app, jobs) = App::new(vec![ds], Keymap::new(&[]).unwrap(), 120, 30);
        let [(generation, offset)] = pages(&jobs)[..] else { panic!("one first page: {jobs:?}") };
        let id = app.tabs[0].id.clone();
        let failed = |generation, offset| Done::Page {
            tab: id.clone(),
            generation,
            offset,
            result: Err(Error::input("orders.csv: line 3: 5 fields where the first row has 4")),
        };
        // The answer is an error: shown, and not asked for again on the next event.
        let jobs = app.on_done(failed(generation, offset));
        assert!(pages(&jobs).is_empty(), "{jobs:?}");
        assert!(app.tabs[0].error.as_deref().is_some_and(|e| e.contains("line 3")));
        assert!(pages(&app.resize(120, 30)).is_empty());
        assert!(pages(&app.update(Action::Down)).is_empty());
        // Leaving the failed window asks again; a new view always does.
        let far = app.goto_row(10_000);
        let [(generation, offset)] = pages(&far)[..] else { panic!("a page far away: {far:?}") };
        assert!(offset > 9_000);
        assert!(pages(&app.on_done(failed(generation, offset))).is_empty());
        let filtered = app.set_steps(0, vec![Step::Filter { sql: "price > 1".into() }]);
        assert_eq!(pages(&filtered).len(), 1);
    }
}
