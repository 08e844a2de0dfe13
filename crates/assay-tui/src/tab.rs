//! A tab: one dataset (a file, a table, a query's result) and everything the
//! workbench keeps about it — its view (steps), the page of rows on screen, the row
//! count, the cursor, column widths, its profile, checks, recipe and outputs.

use std::sync::Arc;
use std::time::Instant;

use assay_core::progress::Progress;
use assay_core::source::Dataset;
use assay_core::transform::Step;

use super::checks::Checks;
use super::jobs::TabId;
use super::profile::Profile;

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
    pub(crate) requested: usize,
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
    pub(crate) failed: Option<(u64, u64, u64)>,
    /// `G` was pressed before the row count was known.
    pub(crate) pending_bottom: bool,
    /// Its first page and count were asked for.
    pub(crate) started: bool,
    /// What the user did to the data (filters, sorts), applied in order.
    pub steps: Vec<Step>,
    /// Bumped whenever `steps` change, so answers about an older view are dropped.
    pub view: u64,
    pub profile: Profile,
    /// When the running search started.
    pub finding: Option<Instant>,
    /// The count waits for the first page (see `App::restart`).
    pub(crate) count_after_page: bool,
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

/// Column widths fitted to the header, the type and the fetched values (capped).
pub(super) fn fit_widths(t: &mut Tab, rows: &[Vec<Option<String>>]) {
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
