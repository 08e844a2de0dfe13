//! The workbench's state and the only place it changes (`App::update`, `App::on_done`).
//! The app never computes data: it asks for jobs (`Job`), which the event loop runs off
//! the UI thread, and takes their answers (`Done`). Rendering reads it (`view`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_core::engine::Table;
use assay_core::output;
use assay_core::profile::ColumnProfile;
use assay_core::progress::Progress;
use assay_core::source::browse::{self, Entry};
use assay_core::source::Dataset;
use assay_core::transform::filter::{Combine, Group, Kind};
use assay_core::transform::{self, SortKey, Step};
use assay_core::Result;

use super::checks::{CheckRun, Checks};
use super::filter::{FilterEditor, Outcome};
use super::keymap::{Action, Keymap, Scope};
pub use super::open::OpenDialog;
use super::sql::SqlEditor;

/// Rows fetched around the visible window, so short scrolls need no new job.
const PREFETCH: u64 = 100;
/// A job running longer than this shows progress.
pub const SLOW: Duration = Duration::from_millis(250);

/// A tab as jobs and their answers name it: a serial number no other tab of this
/// process had, and its dataset's table name (how the engines' workspace knows it).
/// A tab's position changes when a tab before it closes; its id does not, so an answer
/// for a closed tab is dropped instead of landing on its neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TabId {
    serial: u64,
    name: Arc<str>,
}

impl TabId {
    pub(crate) fn next(name: &str) -> TabId {
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        TabId { serial: SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed), name: name.into() }
    }

    /// The table name of the tab's dataset.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Work for the event loop to run in the background.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Rows `offset..offset+len` of tab `tab` after its steps; `generation` tells stale
    /// answers apart.
    Page { tab: TabId, generation: u64, steps: Vec<Step>, offset: u64, len: usize },
    /// The row count of tab `tab` after its steps, for view number `view`.
    Count { tab: TabId, view: u64, steps: Vec<Step>, progress: Arc<Progress> },
    /// Column statistics of tab `tab` after its steps, for view number `view`.
    Profile { tab: TabId, view: u64, steps: Vec<Step> },
    /// The next (or previous) row from `from` matching `pattern` in any column.
    Find { tab: TabId, view: u64, steps: Vec<Step>, pattern: String, from: u64, forward: bool },
    /// Drop every running job of `tab` (their answers will be ignored).
    Cancel { tab: TabId },
    /// The tab is closed: stop its jobs and forget its dataset.
    Close { tab: TabId },
    /// List a folder or S3 prefix for the open dialog.
    List { location: String },
    /// Open a dataset as a new tab.
    Open { spec: String },
    /// Run the checks of tab `tab` (rules version `version`) on its view.
    Check { tab: TabId, version: u64, steps: Vec<Step>, rules: assay_core::quality::Rules },
    /// Stop running the checks (and suggestions) of `tab`.
    CancelChecks { tab: TabId },
    /// Propose checks for tab `tab`'s view.
    Suggest { tab: TabId, steps: Vec<Step> },
    /// Make a check of `kind` on `column` of tab `tab`'s view.
    CheckFromColumn {
        tab: TabId,
        steps: Vec<Step>,
        column: String,
        kind: assay_core::quality::suggest::FromColumn,
    },
    /// Load the rules file beside tab `tab`'s dataset, if there is one.
    LoadRules { tab: TabId },
    /// Run a query on `engine` into a result named `name` (a new tab).
    Sql { query: String, engine: assay_core::engine::EngineChoice, name: String },
    /// Stop the running query.
    CancelSql,
    /// Run a statement that writes (confirmed by the user) on DataFusion.
    SqlWrite { query: String },
    /// Both engines' plans of a query.
    Explain { query: String, analyze: bool },
    /// Write the SQL history file.
    SaveHistory { history: Vec<String> },
    /// Write the named queries file.
    SaveQueries { saved: Vec<(String, String)> },
    /// Write plans shown in the explain view to a file.
    SavePlans { path: String, text: String },
    /// The columns of every open dataset, for the SQL editor's completion.
    Schemas,
    /// Write tab `tab`'s rules to `path`.
    SaveRules { tab: TabId, path: String, text: String },
    /// Count the rows after the steps `indexes` of tab `tab`'s view `view` (the recipe
    /// funnel; index 0 is the dataset itself).
    Funnel { tab: TabId, view: u64, steps: Vec<Step>, indexes: Vec<usize> },
    /// Write tab `tab`'s recipe to `path`.
    SaveRecipe { tab: TabId, path: String, text: String },
    /// Read a recipe file and open its sources.
    OpenRecipe { path: String },
    /// Export tab `tab`'s view (after `steps`) as `plan` says, followed by `watch`;
    /// replacing an existing file or table only if `overwrite`.
    Export {
        tab: TabId,
        steps: Vec<Step>,
        plan: assay_core::db::ExportPlan,
        overwrite: bool,
        watch: Arc<assay_core::sink::Watch>,
    },
}

/// A background job's answer.
#[derive(Debug)]
pub enum Done {
    Page {
        tab: TabId,
        generation: u64,
        offset: u64,
        result: Result<Table>,
    },
    Count {
        tab: TabId,
        view: u64,
        result: Result<u64>,
    },
    Profile {
        tab: TabId,
        view: u64,
        result: Result<Vec<ColumnProfile>>,
    },
    Find {
        tab: TabId,
        view: u64,
        pattern: String,
        result: Result<Option<u64>>,
    },
    Listed {
        location: String,
        result: Result<Vec<Entry>>,
    },
    /// A dataset opened (and already added to the engines' workspace).
    Opened {
        spec: String,
        result: Result<Dataset>,
    },
    Checked {
        tab: TabId,
        version: u64,
        steps: Vec<Step>,
        result: Result<assay_core::quality::Report>,
    },
    Suggested {
        tab: TabId,
        result: Result<Vec<assay_core::quality::suggest::Suggestion>>,
    },
    CheckMade {
        tab: TabId,
        result: Result<assay_core::quality::Check>,
    },
    Saved {
        tab: TabId,
        path: String,
        result: Result<()>,
    },
    /// The rows after step `index` of a funnel (0: the dataset itself).
    Funnel {
        tab: TabId,
        view: u64,
        index: usize,
        result: Result<u64>,
    },
    RecipeSaved {
        tab: TabId,
        path: String,
        result: Result<()>,
    },
    /// An export finished, failed or was cancelled; `exists`: it did not start because
    /// its destination exists and replacing it was not confirmed.
    Exported {
        tab: TabId,
        plan: assay_core::db::ExportPlan,
        exists: bool,
        result: Result<u64>,
    },
    /// A recipe read, with the datasets opened for it (already in the workspace).
    RecipeOpened {
        path: String,
        result: Result<(assay_core::recipe::Loaded, Vec<Dataset>)>,
    },
    /// The rules file found beside a dataset, read.
    RulesLoaded {
        tab: TabId,
        path: String,
        result: Result<assay_core::quality::Rules>,
    },
    /// A query's result, written to a file and opened as a dataset (already in the
    /// engines' workspace), with its row count.
    Queried {
        name: String,
        /// The engine that ran it, as shown (`Polars`, `DataFusion (auto: …)`).
        engine: String,
        elapsed: std::time::Duration,
        result: Result<(Dataset, u64)>,
    },
    Explained {
        result: Result<Vec<assay_core::engine::Plans>>,
    },
    /// A statement that writes, run after the user confirmed it.
    Written {
        result: Result<String>,
    },
    /// Table names and their columns.
    Schemas {
        tables: Vec<(String, Vec<String>)>,
    },
    PlansSaved {
        path: String,
        result: Result<()>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    pub dtype: String,
    pub numeric: bool,
}

/// Fetched rows, formatted once when they arrive.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub offset: u64,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Page {
    pub fn row(&self, n: u64) -> Option<&Vec<Option<String>>> {
        n.checked_sub(self.offset).and_then(|i| self.rows.get(i as usize))
    }
}

/// A tab's column profile, for one view of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    None,
    Running { view: u64, started: Instant },
    Ready { view: u64, columns: Vec<ColumnProfile> },
    Failed { view: u64, error: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum RowCount {
    NotStarted,
    Counting(Instant),
    Known(u64),
    Failed(String),
    Cancelled,
}

/// One open dataset and the user's place in it.
#[derive(Debug, Clone)]
pub struct Tab {
    pub id: TabId,
    pub dataset: Dataset,
    pub columns: Vec<ColumnInfo>,
    pub widths: Vec<u16>,
    pub page: Option<Page>,
    pub generation: u64,
    /// The length of the latest page request (a shorter answer marks the end).
    requested: usize,
    /// When the latest page request started, while it runs.
    pub fetching: Option<Instant>,
    pub count: RowCount,
    /// The cursor: row and column.
    pub row: u64,
    pub col: usize,
    /// The first visible row and first scrolled (unfrozen) column.
    pub top: u64,
    pub left: usize,
    /// The end of the data, when a short page proved it before the count did.
    pub end: Option<u64>,
    pub error: Option<String>,
    /// The window (view, first row, end) whose page failed: not asked for again until
    /// the view changes or the cursor leaves it (a failing page asked for on every
    /// event would read the file ten times a second).
    failed: Option<(u64, u64, u64)>,
    /// `G` was pressed before the row count was known.
    pending_bottom: bool,
    /// Its first page and count were asked for.
    started: bool,
    /// What the user did to the data (filters, sorts), applied in order.
    pub steps: Vec<Step>,
    /// Bumped whenever `steps` change, so answers about an older view are dropped.
    pub view: u64,
    pub profile: Profile,
    /// When the running search started.
    pub finding: Option<Instant>,
    /// The count waits for the first page (see `App::restart`).
    count_after_page: bool,
    /// How far the running count has got.
    pub count_progress: Arc<Progress>,
    /// Widths the user set (keys or mouse drag), by column name; they win over fitting.
    pub user_widths: std::collections::HashMap<String, u16>,
    /// The rules being built for this dataset and their last results.
    pub checks: Checks,
    /// Rows after each step (the recipe panel's funnel).
    pub funnel: Option<super::recipe::Funnel>,
    /// The recipe file this tab's steps were saved to or opened from.
    pub recipe_path: Option<String>,
    /// Where this tab's data went (exports done, or a recipe's outputs): its recipe's
    /// outputs.
    pub outputs: indexmap::IndexMap<String, assay_core::recipe::Output>,
}

impl Tab {
    pub(super) fn new(dataset: Dataset) -> Tab {
        Tab {
            id: TabId::next(&dataset.name),
            dataset,
            columns: Vec::new(),
            widths: Vec::new(),
            page: None,
            generation: 0,
            requested: 0,
            fetching: None,
            count: RowCount::NotStarted,
            row: 0,
            col: 0,
            top: 0,
            left: 0,
            end: None,
            error: None,
            failed: None,
            pending_bottom: false,
            started: false,
            steps: Vec::new(),
            view: 0,
            profile: Profile::None,
            finding: None,
            user_widths: Default::default(),
            count_after_page: false,
            count_progress: Default::default(),
            checks: Checks::default(),
            funnel: None,
            recipe_path: None,
            outputs: indexmap::IndexMap::new(),
        }
    }

    pub fn rows(&self) -> Option<u64> {
        match self.count {
            RowCount::Known(n) => Some(n),
            _ => self.end,
        }
    }

    /// The columns on screen in a grid `width` cells wide, with the x where each starts:
    /// the frozen first column, then from `left` on, each followed by one blank cell.
    pub fn visible_columns(&self, width: u16) -> Vec<(usize, u16)> {
        let mut out = Vec::new();
        let mut x = 0u16;
        let frozen = self.columns.len() > 1;
        let mut push = |c: usize, x: &mut u16| -> bool {
            let w = self.widths.get(c).copied().unwrap_or(1) + 1;
            if *x + w > width && !out.is_empty() {
                return false;
            }
            out.push((c, *x));
            *x += w;
            true
        };
        if frozen {
            push(0, &mut x);
        }
        for c in self.left.max(usize::from(frozen))..self.columns.len() {
            if !push(c, &mut x) {
                break;
            }
        }
        out
    }

    pub fn cell(&self, row: u64, col: usize) -> Option<Option<&str>> {
        let r = self.page.as_ref()?.row(row)?;
        r.get(col).map(|c| c.as_deref())
    }
}

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
    resizing: Option<(usize, u16)>,
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

    /// Asks for the count and the visible page of a tab's current view.
    fn restart(&mut self, tab: usize) -> Vec<Job> {
        let t = &mut self.tabs[tab];
        t.count = RowCount::Counting(Instant::now());
        // The count starts when the first page is in: on two cores, a count scanning a
        // big file at the same time delays the first screen.
        t.count_after_page = true;
        self.request_page(tab, true)
    }

    /// The count deferred by `restart`, once the first page of the view answered.
    fn deferred_count(&mut self, tab: usize) -> Vec<Job> {
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
    fn set_steps_keep_place(&mut self, tab: usize, steps: Vec<Step>) -> Vec<Job> {
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

    /// Shows only `names`, in this order (hiding or moving columns). Consecutive column
    /// changes make one step.
    fn select_columns(&mut self, tab: usize, names: Vec<String>) -> Vec<Job> {
        let mut steps = self.tabs[tab].steps.clone();
        match steps.last_mut() {
            Some(Step::Select { columns }) => *columns = names,
            _ => steps.push(Step::Select { columns: names }),
        }
        self.set_steps_keep_place(tab, steps)
    }

    /// Sets a column's width by hand (keys or mouse); fitting never overrides it.
    pub fn set_width(&mut self, tab: usize, col: usize, width: u16) {
        let Some(t) = self.tabs.get_mut(tab) else { return };
        let (Some(info), Some(w)) = (t.columns.get(col), t.widths.get_mut(col)) else { return };
        *w = width.clamp(1, 200);
        t.user_widths.insert(info.name.clone(), *w);
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

    /// Keys typed in the filter builder.
    pub fn filter_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let tab = self.active;
        let Some(t) = self.tabs.get(tab) else { return Vec::new() };
        let Mode::Filter(editor) = &mut self.mode else { return Vec::new() };
        match editor.key(key, &t.columns) {
            Outcome::Continue => Vec::new(),
            Outcome::Cancel => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Outcome::Apply(group) => {
                let replaces = editor.replaces;
                let mut steps = t.steps.clone();
                if replaces {
                    steps.pop();
                }
                if !group.items.is_empty() {
                    match Step::filter(&group.to_sql()) {
                        Ok(step) => steps.push(step),
                        Err(e) => {
                            editor.error = Some(e.to_string());
                            return Vec::new();
                        }
                    }
                } else if !replaces {
                    self.mode = Mode::Normal;
                    return Vec::new();
                }
                self.mode = Mode::Normal;
                self.set_steps(tab, steps)
            }
        }
    }

    /// A quick filter from the current cell: keep the rows equal (or not) to it.
    fn keep_cell(&mut self, tab: usize, equal: bool) -> Vec<Job> {
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
    fn sort(&mut self, tab: usize, descending: bool, add: bool) -> Vec<Job> {
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

    pub fn tab(&self) -> Option<&Tab> {
        self.tabs.get(self.active)
    }

    /// Data rows that fit on screen.
    pub fn visible_rows(&self) -> u64 {
        self.height.saturating_sub(CHROME_LINES).max(1) as u64
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

    pub fn resize(&mut self, width: u16, height: u16) -> Vec<Job> {
        self.width = width;
        self.height = height;
        let tab = self.active;
        self.scroll_into_view(tab);
        self.request_page(tab, false)
    }

    /// Asks for the page around the visible window unless it is already fetched.
    fn request_page(&mut self, tab: usize, force: bool) -> Vec<Job> {
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
    fn scroll_into_view(&mut self, tab: usize) {
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
    fn column_fits(&self, tab: usize) -> bool {
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

    pub fn update(&mut self, action: Action) -> Vec<Job> {
        let in_palette = matches!(self.mode, Mode::Palette { .. });
        match (&mut self.mode, action) {
            (_, Action::Quit) if !in_palette => {
                self.quit = true;
                Vec::new()
            }
            (Mode::Help { .. } | Mode::Cell { .. }, Action::Cancel | Action::Help | Action::ShowCell) => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            (Mode::Help { scroll }, Action::Down) => {
                *scroll += 1;
                Vec::new()
            }
            (Mode::Help { scroll }, Action::Up) => {
                *scroll = scroll.saturating_sub(1);
                Vec::new()
            }
            (Mode::Help { .. } | Mode::Cell { .. }, _) => Vec::new(),
            (Mode::Profile { .. }, Action::Cancel | Action::Profile) => {
                self.mode = Mode::Normal;
                let tab = self.active;
                match self.tabs.get_mut(tab) {
                    Some(t) if matches!(t.profile, Profile::Running { .. }) => {
                        t.profile = Profile::None;
                        self.message = Some(Message { text: "profile cancelled".into(), error: false });
                        vec![Job::Cancel { tab: self.tabs[tab].id.clone() }]
                    }
                    _ => Vec::new(),
                }
            }
            (Mode::Profile { scroll }, Action::Down | Action::PageDown) => {
                *scroll += 1;
                Vec::new()
            }
            (Mode::Profile { scroll }, Action::Up | Action::PageUp) => {
                *scroll = scroll.saturating_sub(1);
                Vec::new()
            }
            (
                Mode::Profile { .. },
                Action::Left | Action::Right | Action::FirstColumn | Action::LastColumn,
            ) => self.normal(action),
            (Mode::Profile { .. }, _) => Vec::new(),
            (Mode::Normal, action) => self.normal(action),
            // Modes that read keys themselves (`Mode::reads_keys`) take no actions.
            _ => Vec::new(),
        }
    }

    fn normal(&mut self, action: Action) -> Vec<Job> {
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
                Action::Profile => {
                    self.mode = Mode::Profile { scroll: 0 };
                    let view = t.view;
                    let fresh = match &t.profile {
                        Profile::Running { view: v, .. } | Profile::Ready { view: v, .. } => *v == view,
                        Profile::Failed { .. } | Profile::None => false,
                    };
                    if fresh {
                        return Vec::new();
                    }
                    t.profile = Profile::Running { view, started: Instant::now() };
                    return vec![Job::Profile { tab: t.id.clone(), view, steps: t.steps.clone() }];
                }
                Action::KeepNotEqual => return self.keep_cell(tab, false),
                Action::Open => {
                    // The folder (or S3 prefix) of the current dataset's first file.
                    let here =
                        t.dataset.files.first().and_then(|f| browse::parent(f)).unwrap_or_else(|| ".".into());
                    return self.open_dialog(here);
                }
                Action::Checks => return self.open_checks(),
                Action::Sql => return self.open_sql(),
                Action::Recipe => return self.open_recipe_panel(),
                Action::Export => return self.open_export(),
                Action::RenameColumn => {
                    self.column_prompt(|column| super::recipe::PromptKind::Rename { column });
                    return Vec::new();
                }
                Action::CastColumn => {
                    self.column_prompt(|column| super::recipe::PromptKind::Cast { column });
                    return Vec::new();
                }
                Action::DeriveColumn => {
                    self.prompt(super::recipe::PromptKind::Derive, String::new());
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

    /// Starts a search for the last pattern from the cursor.
    fn find(&mut self, tab: usize, forward: bool) -> Vec<Job> {
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

    /// Takes a background job's answer.
    pub fn on_done(&mut self, done: Done) -> Vec<Job> {
        match done {
            Done::Listed { location, result } => {
                let Mode::Open(dialog) = &mut self.mode else { return Vec::new() };
                if dialog.location != location {
                    return Vec::new();
                }
                dialog.waiting = None;
                match result {
                    Ok(entries) => dialog.entries = entries,
                    Err(e) => dialog.error = Some(e.to_string()),
                }
                Vec::new()
            }
            Done::Opened { spec, result } => match result {
                Ok(dataset) => {
                    if let Mode::Open(_) = self.mode {
                        self.mode = Mode::Normal;
                    }
                    self.tabs.push(Tab::new(dataset));
                    self.active = self.tabs.len() - 1;
                    self.message = Some(Message { text: format!("opened {spec}"), error: false });
                    let mut jobs = self.start_tab(self.active);
                    jobs.push(Job::LoadRules { tab: self.tabs[self.active].id.clone() });
                    jobs
                }
                Err(e) => {
                    match &mut self.mode {
                        Mode::Open(dialog) => {
                            dialog.waiting = None;
                            dialog.error = Some(e.to_string());
                        }
                        _ => self.message = Some(Message { text: e.to_string(), error: true }),
                    }
                    Vec::new()
                }
            },
            Done::Checked { tab, version, steps, result } => {
                let Some(tab) = self.index_of(&tab) else { return Vec::new() };
                let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
                if !matches!(t.checks.run, CheckRun::Running { version: v, .. } if v == version) {
                    return Vec::new(); // the rules changed (or the run was cancelled) since
                }
                t.checks.run = match result {
                    Ok(report) => CheckRun::Ready { version, steps, report },
                    Err(e) => {
                        self.message = Some(Message { text: format!("checks: {e}"), error: true });
                        CheckRun::Failed { version, error: e.to_string() }
                    }
                };
                Vec::new()
            }
            Done::Suggested { tab, result } => {
                let Some(tab) = self.index_of(&tab) else { return Vec::new() };
                let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
                if t.checks.suggesting.take().is_none() {
                    return Vec::new();
                }
                match result {
                    Ok(found) => {
                        // Only checks the rules do not have yet.
                        let have: Vec<String> = t.checks.rules.checks.iter().map(|c| c.id()).collect();
                        t.checks.suggestions =
                            found.into_iter().filter(|s| !have.contains(&s.check.id())).collect();
                        self.message = Some(Message {
                            text: format!(
                                "{} suggested checks (y accepts, d rejects, Y accepts all)",
                                t.checks.suggestions.len()
                            ),
                            error: false,
                        });
                    }
                    Err(e) => self.message = Some(Message { text: format!("suggest: {e}"), error: true }),
                }
                Vec::new()
            }
            Done::CheckMade { tab, result } => {
                let Some(tab) = self.index_of(&tab) else { return Vec::new() };
                let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
                if t.checks.adding.take().is_none() {
                    return Vec::new();
                }
                match result {
                    Ok(check) => self.add_check(tab, check),
                    Err(e) => {
                        self.message = Some(Message { text: e.to_string(), error: true });
                        Vec::new()
                    }
                }
            }
            done @ (Done::Queried { .. }
            | Done::Explained { .. }
            | Done::Written { .. }
            | Done::Schemas { .. }
            | Done::PlansSaved { .. }) => self.sql_done(done),
            Done::RulesLoaded { tab, path, result } => match (self.index_of(&tab), result) {
                (None, _) => Vec::new(),
                (Some(tab), Ok(rules)) => self.set_rules(tab, path, rules),
                (_, Err(e)) => {
                    self.message = Some(Message { text: format!("rules not loaded: {e}"), error: true });
                    Vec::new()
                }
            },
            Done::Saved { tab, path, result } => {
                let Some(tab) = self.index_of(&tab) else { return Vec::new() };
                let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
                self.message = Some(match result {
                    Ok(()) => {
                        t.checks.path = Some(path.clone());
                        t.checks.unsaved = false;
                        Message {
                            text: format!("saved {} checks to {path}", t.checks.rules.checks.len()),
                            error: false,
                        }
                    }
                    Err(e) => Message { text: format!("rules not saved: {e}"), error: true },
                });
                Vec::new()
            }
            Done::Funnel { tab, view, index, result } => {
                let Some(tab) = self.index_of(&tab) else { return Vec::new() };
                self.funnel_done(tab, view, index, result);
                Vec::new()
            }
            Done::RecipeSaved { tab, path, result } => {
                let Some(tab) = self.index_of(&tab) else { return Vec::new() };
                let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
                self.message = Some(match result {
                    Ok(()) => {
                        t.recipe_path = Some(path.clone());
                        Message {
                            text: format!(
                                "saved the recipe ({} steps, {} checks) to {path}; `assay run {path}` replays it",
                                t.steps.len(),
                                t.checks.rules.checks.len()
                            ),
                            error: false,
                        }
                    }
                    Err(e) => Message { text: format!("recipe not saved: {e}"), error: true },
                });
                Vec::new()
            }
            Done::RecipeOpened { path, result } => self.recipe_opened(path, result),
            Done::Exported { tab, plan, exists, result } => self.exported(tab, plan, exists, result),
            Done::Page { tab, generation, offset, result } => {
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
                            let old: std::collections::HashMap<&str, u16> = t
                                .columns
                                .iter()
                                .map(|c| c.name.as_str())
                                .zip(t.widths.iter().copied())
                                .collect();
                            let widths = columns
                                .iter()
                                .map(|c| old.get(c.name.as_str()).copied().unwrap_or(0))
                                .collect();
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
            Done::Find { tab, view, pattern, result } => {
                let Some(tab) = self.index_of(&tab) else { return Vec::new() };
                let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
                if t.finding.take().is_none() || view != t.view {
                    return Vec::new();
                }
                match result {
                    Ok(Some(row)) => {
                        let jobs = self.goto_row(row + 1);
                        self.message =
                            Some(Message { text: format!("/{pattern} · row {}", row + 1), error: false });
                        jobs
                    }
                    Ok(None) => {
                        self.message =
                            Some(Message { text: format!("/{pattern}: no more matches"), error: false });
                        Vec::new()
                    }
                    Err(e) => {
                        self.message = Some(Message { text: e.to_string(), error: true });
                        Vec::new()
                    }
                }
            }
            Done::Profile { tab, view, result } => {
                let Some(tab) = self.index_of(&tab) else { return Vec::new() };
                let Some(t) = self.tabs.get_mut(tab) else {
                    return Vec::new();
                };
                if !matches!(t.profile, Profile::Running { view: v, .. } if v == view) {
                    return Vec::new();
                }
                t.profile = match result {
                    Ok(columns) => Profile::Ready { view, columns },
                    Err(e) => {
                        self.message = Some(Message { text: e.to_string(), error: true });
                        Profile::Failed { view, error: e.to_string() }
                    }
                };
                Vec::new()
            }
            Done::Count { tab, view, result } => {
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

/// Column widths fitted to the header, the type and the fetched values (capped).
fn fit_widths(t: &mut Tab, rows: &[Vec<Option<String>>]) {
    const MAX: usize = 40;
    let widths = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let content = rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|v| v.as_deref().map(|s| s.chars().count()).unwrap_or(1))
                .max()
                .unwrap_or(0);
            content.max(c.name.chars().count()).max(c.dtype.chars().count()).clamp(1, MAX) as u16
        })
        .collect::<Vec<_>>();
    // Widths only grow while browsing, so columns do not jump as pages change.
    if t.widths.len() == widths.len() {
        for (w, new) in t.widths.iter_mut().zip(widths) {
            *w = (*w).max(new);
        }
    } else {
        t.widths = widths;
    }
    for (c, w) in t.columns.iter().zip(t.widths.iter_mut()) {
        if let Some(&user) = t.user_widths.get(&c.name) {
            *w = user;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use assay_core::source::{CsvDialect, Format, Location};
    use assay_core::Error;

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
