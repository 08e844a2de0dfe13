//! What the app asks the event loop to run in the background (`Job`) and the answers
//! it gets back (`Done`): the whole vocabulary between the pure state machine (`App`)
//! and the runner (`lib.rs`), so the workbench is testable without a terminal. Jobs
//! about a tab name it by its `TabId`.

use std::sync::Arc;

use assay_core::engine::Table;
use assay_core::profile::ColumnProfile;
use assay_core::progress::Progress;
use assay_core::source::browse::Entry;
use assay_core::source::Dataset;
use assay_core::transform::Step;
use assay_core::Result;

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
