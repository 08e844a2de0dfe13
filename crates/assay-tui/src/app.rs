//! The workbench's state and the only way it changes: `App::update` (an action),
//! `App::on_done` (a job's answer), and the key handlers of the focused panel. The app
//! never computes data: it asks for jobs (`Job`), which the runner runs off the UI
//! thread, and takes their answers (`Done`). Each feature lives in its own module with
//! its state, keys, jobs' answers and drawing (grid, profile, checks, filter, SQL and
//! explain, recipe and prompt, export, open dialog, search, palette, help); this one
//! holds what they share — the tabs, the mode, the message — and routes to them.

use std::time::Duration;

use assay_core::source::Dataset;

use super::filter::FilterEditor;
pub use super::grid::Mouse;
pub use super::jobs::{Done, Job, TabId};
use super::keymap::{Action, Keymap, Scope};
pub use super::open::OpenDialog;
pub use super::profile::Profile;
use super::sql::SqlEditor;
pub use super::tab::{ColumnInfo, Page, RowCount, Tab};

/// A job running longer than this shows progress.
pub const SLOW: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Help {
        scroll: usize,
    },
    Palette {
        input: String,
        selected: usize,
    },
    Cell {
        title: String,
        text: String,
    },
    /// The profile panel of the active tab.
    Profile {
        scroll: usize,
    },
    /// Typing a regular expression to search for.
    Search {
        input: String,
    },
    /// The filter builder.
    Filter(Box<FilterEditor>),
    /// Choosing a file or S3 object to open.
    Open(Box<OpenDialog>),
    /// The checks panel, `selected` indexing its checks then its suggestions.
    Checks {
        selected: usize,
    },
    /// `a` was pressed on `column`: the next key says which check to add.
    AddCheck {
        column: String,
    },
    /// The SQL editor (`App::sql`).
    Sql,
    /// Both engines' plans of the editor's query, side by side.
    Explain(Box<super::sql::ExplainView>),
    /// The export dialog.
    Export(Box<super::export::ExportDialog>),
    /// The recipe panel of the active tab, `selected` 0 the dataset, i step i.
    Recipe {
        selected: usize,
    },
    /// A one-line prompt (rename, cast, derive, save or open a recipe, edit a step).
    Prompt(Box<super::recipe::Prompt>),
}

impl Mode {
    /// Whether the mode reads keys itself (typed text, its own chords) instead of
    /// through the keymap's actions.
    pub fn reads_keys(&self) -> bool {
        matches!(
            self,
            Mode::Palette { .. }
                | Mode::Search { .. }
                | Mode::Filter(_)
                | Mode::Open(_)
                | Mode::Checks { .. }
                | Mode::AddCheck { .. }
                | Mode::Sql
                | Mode::Explain(_)
                | Mode::Recipe { .. }
                | Mode::Prompt(_)
                | Mode::Export(_)
        )
    }

    /// Where a key is looked up first (`keymap::Scope`): the focused panel's, or
    /// `Input` where typing goes into a text field.
    pub fn scope(&self) -> Scope {
        match self {
            Mode::Checks { .. } => Scope::Checks,
            Mode::AddCheck { .. } => Scope::AddCheck,
            Mode::Recipe { .. } => Scope::Recipe,
            Mode::Filter(editor) if editor.takes_commands() => Scope::Filter,
            Mode::Export(dialog) if dialog.takes_commands() => Scope::Export,
            Mode::Sql => Scope::Sql,
            Mode::Explain(_) => Scope::Explain,
            Mode::Normal | Mode::Help { .. } | Mode::Cell { .. } | Mode::Profile { .. } => Scope::Grid,
            _ => Scope::Input,
        }
    }
}

/// A line in the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

pub struct App {
    pub tabs: Vec<Tab>,
    pub active: usize,
    pub mode: Mode,
    pub message: Option<Message>,
    pub keymap: Keymap,
    /// The last search pattern, for next / previous.
    pub search: Option<String>,
    pub quit: bool,
    /// Terminal size, from the last resize.
    pub width: u16,
    pub height: u16,
    /// The column whose right edge the mouse is dragging, and where it starts.
    pub(super) resizing: Option<(usize, u16)>,
    /// The SQL editor, kept with its text while hidden.
    pub sql: Option<SqlEditor>,
    /// Queries run in earlier sessions (the editor starts with them).
    pub sql_history: Vec<String>,
    /// Queries saved under a name (ctrl-s in the editor; `queries.toml` in the data dir).
    pub sql_saved: Vec<(String, String)>,
    /// Results made so far (they are named q1, q2, …).
    pub(super) results: usize,
    /// The export running in the background.
    pub exporting: Option<super::export::Exporting>,
    /// Text to put on the terminal's clipboard (OSC 52) after this key.
    pub clipboard: Option<String>,
}

/// Screen lines that are not data rows: tab bar, column names, types, status bar.
pub const CHROME_LINES: u16 = 4;

impl App {
    /// A workbench over `datasets`; returns the jobs to start (first pages, counts).
    pub fn new(datasets: Vec<Dataset>, keymap: Keymap, width: u16, height: u16) -> (App, Vec<Job>) {
        let mut app = App {
            tabs: datasets.into_iter().map(Tab::new).collect(),
            active: 0,
            mode: Mode::Normal,
            message: None,
            keymap,
            search: None,
            quit: false,
            width,
            height,
            resizing: None,
            sql: None,
            sql_history: Vec::new(),
            sql_saved: Vec::new(),
            results: 0,
            exporting: None,
            clipboard: None,
        };
        if app.tabs.is_empty() {
            let jobs = app.open_dialog(".".into());
            return (app, jobs);
        }
        // Only the tab on screen is read now; the others start when first shown.
        let jobs = app.start_tab(0);
        (app, jobs)
    }

    /// Where the tab `id` is now (none once it is closed).
    pub(super) fn index_of(&self, id: &TabId) -> Option<usize> {
        self.tabs.iter().position(|t| t.id == *id)
    }

    /// Closes tab `tab`: its jobs stop and its dataset leaves the engines' workspace (the
    /// SQL editor no longer sees its table). A tab whose table another tab's steps read
    /// stays open. Closing the last tab opens the open dialog.
    pub(super) fn close_tab(&mut self, tab: usize) -> Vec<Job> {
        let Some(t) = self.tabs.get(tab) else { return Vec::new() };
        let name = t.dataset.name.to_lowercase();
        if let Some(reader) = self
            .tabs
            .iter()
            .find(|o| o.id != t.id && assay_core::transform::tables_read(&o.steps).contains(&name))
        {
            self.message = Some(Message {
                text: format!(
                    "{} stays open: the steps of tab {} read it (remove those steps or close that tab first)",
                    t.dataset.name, reader.dataset.name
                ),
                error: true,
            });
            return Vec::new();
        }
        let t = self.tabs.remove(tab);
        if self.active > tab || self.active == self.tabs.len() {
            self.active = self.active.saturating_sub(1);
        }
        self.message = Some(Message { text: format!("closed {}", t.dataset.name), error: false });
        let mut jobs = vec![Job::Close { tab: t.id }];
        if self.tabs.is_empty() {
            jobs.extend(self.open_dialog(".".into()));
        } else {
            jobs.extend(self.start_tab(self.active));
        }
        jobs
    }

    /// The first page and the row count of a tab not read yet.
    pub(super) fn start_tab(&mut self, tab: usize) -> Vec<Job> {
        let Some(t) = self.tabs.get_mut(tab) else {
            return Vec::new();
        };
        if t.started {
            return Vec::new();
        }
        t.started = true;
        self.restart(tab)
    }

    pub fn tab(&self) -> Option<&Tab> {
        self.tabs.get(self.active)
    }

    pub fn busy(&self) -> bool {
        self.tabs.iter().any(|t| {
            t.fetching.is_some()
                || matches!(t.count, RowCount::Counting(_))
                || matches!(t.profile, Profile::Running { .. })
                || t.finding.is_some()
                || t.checks.running()
        }) || matches!(&self.mode, Mode::Open(d) if d.waiting.is_some())
            || self.sql.as_ref().is_some_and(|e| e.running.is_some())
            || self.exporting.is_some()
    }

    pub fn update(&mut self, action: Action) -> Vec<Job> {
        let in_palette = matches!(self.mode, Mode::Palette { .. });
        match (&mut self.mode, action) {
            (_, Action::Quit) if !in_palette => {
                self.quit = true;
                Vec::new()
            }
            (Mode::Help { .. } | Mode::Cell { .. }, action) => self.popup_key(action),
            (Mode::Profile { .. }, action) => self.profile_key(action),
            (Mode::Normal, action) => self.normal(action),
            // Modes that read keys themselves (`Mode::reads_keys`) take no actions.
            _ => Vec::new(),
        }
    }

    /// ctrl-u in a line being typed (palette, search, prompt, open dialog, export dialog
    /// field, filter builder): empties it.
    pub fn clear_input(&mut self) {
        match &mut self.mode {
            Mode::Palette { input, selected } => {
                input.clear();
                *selected = 0;
            }
            Mode::Search { input } => input.clear(),
            Mode::Prompt(p) => {
                p.input.clear();
                p.proposed = false;
                p.error = None;
            }
            Mode::Open(dialog) => {
                dialog.input.clear();
                dialog.selected = 0;
            }
            Mode::Export(dialog) => dialog.clear_field(),
            Mode::Filter(editor) => editor.clear_input(),
            _ => {}
        }
    }

    /// Takes a background job's answer.
    pub fn on_done(&mut self, done: Done) -> Vec<Job> {
        match done {
            Done::Listed { location, result } => self.listed(location, result),
            Done::Opened { spec, result } => self.opened(spec, result),
            Done::RecipeSaved { tab, path, result } => self.recipe_saved(tab, path, result),
            done @ (Done::Checked { .. }
            | Done::Suggested { .. }
            | Done::CheckMade { .. }
            | Done::RulesLoaded { .. }
            | Done::Saved { .. }) => self.checks_done(done),
            Done::Page { tab, generation, offset, result } => self.page_done(tab, generation, offset, result),
            Done::Count { tab, view, result } => self.count_done(tab, view, result),
            done @ (Done::Queried { .. }
            | Done::Explained { .. }
            | Done::Written { .. }
            | Done::Schemas { .. }
            | Done::PlansSaved { .. }) => self.sql_done(done),
            Done::Funnel { tab, view, index, result } => {
                let Some(tab) = self.index_of(&tab) else { return Vec::new() };
                self.funnel_done(tab, view, index, result);
                Vec::new()
            }
            Done::RecipeOpened { path, result } => self.recipe_opened(path, result),
            Done::Exported { tab, plan, exists, result } => self.exported(tab, plan, exists, result),
            Done::Find { tab, view, pattern, result } => self.found(tab, view, pattern, result),
            Done::Profile { tab, view, result } => self.profile_done(tab, view, result),
        }
    }
}

/// Keys the palette's text box takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaletteKey {
    /// A key bound to `Action` in the focused panel's scope (`Mode::scope`).
    Act(Action),
    Char(char),
    Backspace,
    Enter,
    Esc,
    Up,
    Down,
}

#[cfg(test)]
mod tests {}
