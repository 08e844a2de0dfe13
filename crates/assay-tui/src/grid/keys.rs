//! The grid's keys and mouse: moving the cursor and the columns, sorting, quick
//! filters, hiding, moving and resizing columns, and what opens the panels.

use assay_core::transform::{SortKey, Step};

use super::super::app::{App, Message, Mode};
use super::super::checks::CheckRun;
use super::super::filter::FilterEditor;
use super::super::jobs::Job;
use super::super::keymap::Action;
use super::super::tab::RowCount;
use super::{Mouse, FIRST_DATA_LINE, WHEEL_ROWS};
use assay_core::source::browse;
use assay_core::transform;
use assay_core::transform::filter::{Combine, Group, Kind};

impl App {
    pub(crate) fn normal(&mut self, action: Action) -> Vec<Job> {
        let tab = self.active;
        let visible = self.visible_rows();
        if self.tabs.is_empty() {
            match action {
                Action::Help => self.mode = Mode::Help { scroll: 0 },
                Action::Open => return self.open_dialog(".".into()),
                _ => {}
            }
            return Vec::new();
        }
        // Esc stops a running export first.
        if let (Action::Cancel, Some(e)) = (action, &self.exporting) {
            if !e.watch.cancelled() {
                e.watch.cancel();
                return Vec::new();
            }
        }
        if action == Action::CloseTab {
            return self.close_tab(tab);
        }
        let mut jobs = Vec::new();
        {
            let t = &mut self.tabs[tab];
            let last_col = t.columns.len().saturating_sub(1);
            match action {
                Action::Down => t.row += 1,
                Action::Up => t.row = t.row.saturating_sub(1),
                Action::PageDown => {
                    t.row += visible;
                    t.top += visible;
                }
                Action::PageUp => {
                    t.row = t.row.saturating_sub(visible);
                    t.top = t.top.saturating_sub(visible);
                }
                Action::Top => t.row = 0,
                Action::Bottom => match t.rows() {
                    Some(n) => t.row = n.saturating_sub(1),
                    None => {
                        t.pending_bottom = true;
                        self.message = Some(Message {
                            text: "counting rows to find the last one… (Esc cancels)".into(),
                            error: false,
                        });
                    }
                },
                Action::Right => t.col = (t.col + 1).min(last_col),
                Action::Left => t.col = t.col.saturating_sub(1),
                Action::FirstColumn => {
                    t.col = 0;
                    t.left = 0;
                }
                Action::LastColumn => t.col = last_col,
                Action::ShowCell => {
                    if let (Some(cell), Some(col)) = (t.cell(t.row, t.col), t.columns.get(t.col)) {
                        self.mode = Mode::Cell {
                            title: format!("{} · row {}", col.name, t.row + 1),
                            text: cell.map(str::to_string).unwrap_or_else(|| "∅ (null)".into()),
                        };
                    }
                }
                Action::Copy => {
                    if let Some(cell) = t.cell(t.row, t.col) {
                        let text = cell.unwrap_or("").to_string();
                        self.message = Some(Message {
                            text: format!("copied {} characters to the clipboard", text.chars().count()),
                            error: false,
                        });
                        self.clipboard = Some(text);
                    }
                }
                Action::NextTab => self.active = (self.active + 1) % self.tabs.len(),
                Action::PrevTab => self.active = (self.active + self.tabs.len() - 1) % self.tabs.len(),
                Action::Palette => self.mode = Mode::Palette { input: String::new(), selected: 0 },
                Action::Help => self.mode = Mode::Help { scroll: 0 },
                Action::Cancel => {
                    let mut cancelled = false;
                    if t.fetching.take().is_some() {
                        t.generation += 1;
                        cancelled = true;
                    }
                    if t.finding.take().is_some() {
                        cancelled = true;
                    }
                    if matches!(t.count, RowCount::Counting(_)) {
                        t.count = RowCount::Cancelled;
                        t.pending_bottom = false;
                        cancelled = true;
                    }
                    if t.checks.running() {
                        let version = t.checks.version;
                        if matches!(t.checks.run, CheckRun::Running { .. }) {
                            t.checks.run = CheckRun::Failed {
                                version,
                                error: "cancelled (r in the checks panel runs them)".into(),
                            };
                        }
                        t.checks.suggesting = None;
                        t.checks.adding = None;
                        self.message = Some(Message { text: "checks cancelled".into(), error: false });
                        let mut jobs = vec![Job::CancelChecks { tab: self.tabs[tab].id.clone() }];
                        if cancelled {
                            jobs.push(Job::Cancel { tab: self.tabs[tab].id.clone() });
                        }
                        return jobs;
                    }
                    if cancelled {
                        self.message = Some(Message {
                            text: "cancelled (move to fetch rows again)".into(),
                            error: false,
                        });
                        return vec![Job::Cancel { tab: self.tabs[tab].id.clone() }];
                    }
                    self.message = None;
                }
                Action::Quit => self.quit = true,
                Action::SortAsc => return self.sort(tab, false, false),
                Action::SortDesc => return self.sort(tab, true, false),
                Action::SortAddAsc => return self.sort(tab, false, true),
                Action::SortAddDesc => return self.sort(tab, true, true),
                Action::KeepEqual => return self.keep_cell(tab, true),
                Action::Search => {
                    self.mode = Mode::Search { input: String::new() };
                    return Vec::new();
                }
                Action::SearchNext => return self.find(tab, true),
                Action::SearchPrev => return self.find(tab, false),
                Action::Profile => return self.open_profile(tab),
                Action::KeepNotEqual => return self.keep_cell(tab, false),
                Action::Open => {
                    // The folder (or S3 prefix) of the current dataset's first file, as the
                    // user gave it (a workbook or a compressed file, not its scratch copy).
                    let here = t
                        .dataset
                        .files
                        .first()
                        .and_then(|f| browse::parent(&assay_core::source::say_given(f)))
                        .unwrap_or_else(|| ".".into());
                    return self.open_dialog(here);
                }
                Action::Checks => return self.open_checks(),
                Action::Sql => return self.open_sql(),
                Action::Recipe => return self.open_recipe_panel(),
                Action::Export => return self.open_export(),
                Action::RenameColumn => {
                    self.column_prompt(|column| super::super::recipe::PromptKind::Rename { column });
                    return Vec::new();
                }
                Action::CastColumn => {
                    self.column_prompt(|column| super::super::recipe::PromptKind::Cast { column });
                    return Vec::new();
                }
                Action::DeriveColumn => {
                    self.prompt(super::super::recipe::PromptKind::Derive, String::new());
                    return Vec::new();
                }
                Action::AddCheck => {
                    if let Some(c) = t.columns.get(t.col) {
                        self.mode = Mode::AddCheck { column: c.name.clone() };
                    }
                    return Vec::new();
                }
                Action::Filter => {
                    let kind_of = |name: &str| {
                        t.columns.iter().find(|c| c.name == name).map(|c| Kind::of(&c.dtype, c.numeric))
                    };
                    // The view's last step, when it is a filter, opens for editing.
                    let last = match t.steps.last() {
                        Some(Step::Filter { sql }) => Group::from_sql(sql, &kind_of).ok(),
                        _ => None,
                    };
                    let replaces = last.is_some();
                    let group = last.unwrap_or_else(|| Group::new(Combine::All));
                    self.mode = Mode::Filter(Box::new(FilterEditor::new(group, t.col, replaces)));
                    return Vec::new();
                }
                Action::HideColumn => {
                    if t.columns.len() <= 1 {
                        self.message =
                            Some(Message { text: "the last column cannot be hidden".into(), error: true });
                        return Vec::new();
                    }
                    let mut names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
                    names.remove(t.col.min(names.len() - 1));
                    return self.select_columns(tab, names);
                }
                Action::ShowColumns => {
                    let steps: Vec<Step> =
                        t.steps.iter().filter(|s| !matches!(s, Step::Select { .. })).cloned().collect();
                    if steps.len() == t.steps.len() {
                        return Vec::new();
                    }
                    return self.set_steps_keep_place(tab, steps);
                }
                Action::MoveColumnLeft | Action::MoveColumnRight => {
                    let mut names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
                    let to =
                        if action == Action::MoveColumnLeft { t.col.checked_sub(1) } else { Some(t.col + 1) };
                    let Some(to) = to.filter(|&to| to < names.len()) else { return Vec::new() };
                    names.swap(t.col, to);
                    t.col = to;
                    return self.select_columns(tab, names);
                }
                Action::WidenColumn | Action::NarrowColumn => {
                    let Some(w) = t.widths.get(t.col).copied() else { return Vec::new() };
                    let w = if action == Action::WidenColumn {
                        w.saturating_add(2).min(200)
                    } else {
                        w.saturating_sub(2).max(3)
                    };
                    let col = t.col;
                    self.set_width(tab, col, w);
                }
                Action::UndoStep => {
                    let mut steps = t.steps.clone();
                    if steps.pop().is_none() {
                        self.message = Some(Message { text: "nothing to undo".into(), error: false });
                        return Vec::new();
                    }
                    return self.set_steps(tab, steps);
                }
                Action::ClearSteps => {
                    if t.steps.is_empty() {
                        return Vec::new();
                    }
                    return self.set_steps(tab, Vec::new());
                }
                // The actions of panels and dialogs (`keymap::Scope`) do nothing on the
                // grid (a user binding may name one there).
                _ => return Vec::new(),
            }
        }
        let tab = self.active;
        jobs.extend(self.start_tab(tab));
        self.scroll_into_view(tab);
        jobs.extend(self.request_page(tab, false));
        jobs
    }

    /// A quick filter from the current cell: keep the rows equal (or not) to it.
    pub(crate) fn keep_cell(&mut self, tab: usize, equal: bool) -> Vec<Job> {
        let t = &self.tabs[tab];
        let (Some(cell), Some(info)) = (t.cell(t.row, t.col), t.columns.get(t.col)) else {
            return Vec::new();
        };
        let column = transform::ident(&info.name);
        let sql = match cell {
            None if equal => format!("{column} IS NULL"),
            None => format!("{column} IS NOT NULL"),
            Some(value) => {
                let literal = Kind::of(&info.dtype, info.numeric).literal(value);
                let op = if equal { "=" } else { "<>" };
                if equal {
                    format!("{column} {op} {literal}")
                } else {
                    // SQL's <> drops nulls; "not equal to this value" keeps them.
                    format!("({column} {op} {literal} OR {column} IS NULL)")
                }
            }
        };
        match Step::filter(&sql) {
            Ok(step) => {
                let mut steps = t.steps.clone();
                steps.push(step);
                self.set_steps(tab, steps)
            }
            Err(e) => {
                self.message = Some(Message { text: e.to_string(), error: true });
                Vec::new()
            }
        }
    }

    /// Sorts by the current column: alone, or added to the current sort keys.
    pub(crate) fn sort(&mut self, tab: usize, descending: bool, add: bool) -> Vec<Job> {
        let t = &self.tabs[tab];
        let Some(info) = t.columns.get(t.col) else { return Vec::new() };
        let key = SortKey { column: info.name.clone(), descending };
        let mut steps = t.steps.clone();
        match (add, steps.last_mut()) {
            (true, Some(Step::Sort { keys })) => {
                keys.retain(|k| k.column != key.column);
                keys.push(key);
            }
            (false, Some(Step::Sort { keys })) => *keys = vec![key],
            _ => steps.push(Step::Sort { keys: vec![key] }),
        }
        self.set_steps(tab, steps)
    }

    /// Shows only `names`, in this order (hiding or moving columns). Consecutive column
    /// changes make one step.
    pub(crate) fn select_columns(&mut self, tab: usize, names: Vec<String>) -> Vec<Job> {
        let mut steps = self.tabs[tab].steps.clone();
        match steps.last_mut() {
            Some(Step::Select { columns }) => *columns = names,
            _ => steps.push(Step::Select { columns: names }),
        }
        self.set_steps_keep_place(tab, steps)
    }

    /// The mouse in the grid: the wheel scrolls, a click selects a cell, dragging a
    /// column's right edge (the blank cell after it) resizes it.
    pub fn mouse(&mut self, event: Mouse) -> Vec<Job> {
        let tab = self.active;
        if self.tabs.is_empty() {
            return Vec::new();
        }
        match (&self.mode, event) {
            (Mode::Normal | Mode::Profile { .. }, Mouse::ScrollDown) => {
                let mut jobs = Vec::new();
                for _ in 0..WHEEL_ROWS {
                    jobs = self.update(Action::Down);
                }
                jobs
            }
            (Mode::Normal | Mode::Profile { .. }, Mouse::ScrollUp) => {
                let mut jobs = Vec::new();
                for _ in 0..WHEEL_ROWS {
                    jobs = self.update(Action::Up);
                }
                jobs
            }
            (Mode::Normal, Mouse::Press { x, y }) => {
                let visible = self.visible_rows() as u16;
                let t = &mut self.tabs[tab];
                let columns = t.visible_columns(self.width);
                let edge =
                    columns.iter().find(|(c, start)| x == start + t.widths.get(*c).copied().unwrap_or(1));
                if let (Some(&(c, start)), true) = (edge, y >= 1) {
                    self.resizing = Some((c, start));
                    return Vec::new();
                }
                let Some(&(c, _)) = columns.iter().rev().find(|(_, start)| x >= *start) else {
                    return Vec::new();
                };
                t.col = c;
                if y >= FIRST_DATA_LINE && y < FIRST_DATA_LINE + visible {
                    let row = t.top + u64::from(y - FIRST_DATA_LINE);
                    if t.rows().is_none_or(|n| row < n) {
                        t.row = row;
                    }
                }
                self.scroll_into_view(tab);
                self.request_page(tab, false)
            }
            (_, Mouse::Drag { x, .. }) => {
                if let Some((c, start)) = self.resizing {
                    self.set_width(tab, c, x.saturating_sub(start).max(1));
                }
                Vec::new()
            }
            (_, Mouse::Release) => {
                self.resizing = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Sets a column's width by hand (keys or mouse); fitting never overrides it.
    pub fn set_width(&mut self, tab: usize, col: usize, width: u16) {
        let Some(t) = self.tabs.get_mut(tab) else { return };
        let (Some(info), Some(w)) = (t.columns.get(col), t.widths.get_mut(col)) else { return };
        *w = width.clamp(1, 200);
        t.user_widths.insert(info.name.clone(), *w);
    }
}
