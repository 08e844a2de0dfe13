//! The recipe panel and the workbench's recording: every change a tab makes to its data
//! (filters, sorts, column choices, renames, casts, derived columns, adopted SQL) is a
//! step of the tab's recipe; the tab's rules are its checks. The panel lists the steps
//! with the rows left after each (the funnel, counted in the background), switches
//! them off and on, moves, edits (as the recipe's TOML) and deletes them, and saves the
//! recipe to a `.toml` file that `assay run` replays; recipes open from a file or the
//! recently used list in the data dir.

mod prompt;

pub use prompt::{step_line, Prompt, PromptKind};

use indexmap::IndexMap;

use super::app::TabId;
use super::app::{App, Job, Message, Mode, PaletteKey};
use super::keymap::Action;
use super::keymap::Scope;
use super::view::{thousands, Theme};
use assay_core::recipe::{self, Recipe, Source, StepEntry};
use assay_core::transform::Step;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// Rows after each step of a view: index 0 is the dataset itself, `i` is after step `i`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Funnel {
    /// The tab view the counts are for.
    pub view: u64,
    pub counts: Vec<Option<std::result::Result<u64, String>>>,
}

/// The recently used recipes file in the data dir (newest first, one path a line).
pub fn recent_path() -> Option<std::path::PathBuf> {
    assay_core::config::data_dir().map(|d| d.join("recipes.recent"))
}

/// Recently used recipes, newest first.
pub fn load_recent() -> Vec<String> {
    recent_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Puts `path` first in the recently used list (at most 20).
pub fn remember(path: &str) {
    let Some(file) = recent_path() else { return };
    let absolute =
        std::fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or_else(|_| path.into());
    let mut list = load_recent();
    list.retain(|p| *p != absolute);
    list.insert(0, absolute);
    list.truncate(20);
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = assay_core::sink::write_text(&(list.join("\n") + "\n"), &file.display().to_string()) {
        tracing::warn!("recent recipes not saved: {e}");
    }
}

/// One line describing a step (the panel's list).
pub fn describe(step: &Step) -> String {
    let list = |v: &[String]| v.join(", ");
    match step {
        Step::Filter { sql } => sql.clone(),
        Step::Sort { keys } => keys
            .iter()
            .map(|k| format!("{}{}", k.column, if k.descending { " desc" } else { "" }))
            .collect::<Vec<_>>()
            .join(", "),
        Step::Select { columns } | Step::Drop { columns } => list(columns),
        Step::Rename { columns } => {
            columns.iter().map(|(a, b)| format!("{a} → {b}")).collect::<Vec<_>>().join(", ")
        }
        Step::Cast { columns } => {
            columns.iter().map(|(a, t)| format!("{a} as {}", t.name())).collect::<Vec<_>>().join(", ")
        }
        Step::Derive { columns } => {
            columns.iter().map(|(a, e)| format!("{a} = {e}")).collect::<Vec<_>>().join(", ")
        }
        Step::FillNull { columns } => {
            columns.iter().map(|(a, v)| format!("{a} ← {v:?}")).collect::<Vec<_>>().join(", ")
        }
        Step::Dedupe { columns, keep, .. } => {
            format!("{} (keep {keep:?})", if columns.is_empty() { "rows".into() } else { list(columns) })
        }
        Step::Join(j) => format!("{:?} {} on {}", j.how, j.table, list(&j.left_on)),
        Step::Sql { query, engine } => format!(
            "{}{}",
            query.split_whitespace().collect::<Vec<_>>().join(" "),
            engine.map(|e| format!(" ({})", e.title())).unwrap_or_default()
        ),
        Step::Limit { rows } => rows.to_string(),
        Step::Disabled(inner) => describe(inner),
    }
}

/// The steps after which the funnel needs its own count (the others keep the count
/// before them).
fn counted(steps: &[Step]) -> Vec<usize> {
    (0..=steps.len()).filter(|&i| i == 0 || !steps[i - 1].keeps_rows()).collect()
}

impl App {
    /// Opens the recipe panel of the active tab and counts its funnel if needed.
    pub fn open_recipe_panel(&mut self) -> Vec<Job> {
        if self.tabs.is_empty() {
            return Vec::new();
        }
        self.mode = Mode::Recipe { selected: 0 };
        self.funnel_jobs(self.active)
    }

    /// Counts the rows after each step of `tab`'s view, unless already counted.
    fn funnel_jobs(&mut self, tab: usize) -> Vec<Job> {
        let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
        if t.funnel.as_ref().is_some_and(|f| f.view == t.view) {
            return Vec::new();
        }
        let mut funnel = Funnel { view: t.view, counts: vec![None; t.steps.len() + 1] };
        let mut indexes = counted(&t.steps);
        // The view's own row count, when the tab has it, is the last count: not again.
        if let (super::app::RowCount::Known(n), Some(&last)) = (&t.count, indexes.last()) {
            if last == t.steps.len() {
                indexes.pop();
                funnel.counts[last] = Some(Ok(*n));
            }
        }
        t.funnel = Some(funnel);
        if indexes.is_empty() {
            return Vec::new();
        }
        vec![Job::Funnel { tab: t.id.clone(), view: t.view, steps: t.steps.clone(), indexes }]
    }

    /// A funnel count came in.
    pub(super) fn funnel_done(
        &mut self,
        tab: usize,
        view: u64,
        index: usize,
        result: assay_core::Result<u64>,
    ) {
        let Some(t) = self.tabs.get_mut(tab) else { return };
        let Some(f) = t.funnel.as_mut().filter(|f| f.view == view) else { return };
        let value = result.map_err(|e| e.to_string());
        if let Some(slot) = f.counts.get_mut(index) {
            *slot = Some(value.clone());
        }
        // Steps that keep the row count show the count before them.
        let steps = &t.steps;
        for i in index + 1..f.counts.len() {
            if !steps[i - 1].keeps_rows() {
                break;
            }
            f.counts[i] = Some(value.clone());
        }
    }

    /// The recipe the active tab's work makes: its dataset (and the datasets its steps
    /// read), its steps, its checks.
    pub fn recipe_of(&self, tab: usize) -> Option<Recipe> {
        let t = self.tabs.get(tab)?;
        let mut sources = IndexMap::new();
        sources.insert(t.dataset.name.clone(), Source { path: t.dataset.spec.clone(), ..Default::default() });
        for step in t.steps.iter().filter_map(|s| s.enabled()) {
            let read: Vec<String> = match step {
                Step::Join(j) => vec![j.table.clone()],
                Step::Sql { query, .. } => assay_core::sql::parse(query)
                    .map(|s| assay_core::sql::tables_read(&s))
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            for name in read {
                if let Some(other) = self.tabs.iter().find(|o| o.dataset.name == name) {
                    sources
                        .entry(name)
                        .or_insert_with(|| Source { path: other.dataset.spec.clone(), ..Default::default() });
                }
            }
        }
        let rules = &t.checks.rules;
        Some(Recipe {
            name: Some(format!("{}-recipe", t.dataset.name)),
            sources,
            steps: t.steps.iter().map(StepEntry::from_step).collect(),
            key: rules.key.clone(),
            samples: rules.samples,
            checks: rules.checks.clone(),
            outputs: t.outputs.clone(),
            ..Default::default()
        })
    }

    /// Keys of the recipe panel.
    pub fn recipe_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let tab = self.active;
        let Mode::Recipe { selected } = self.mode else { return Vec::new() };
        let Some(t) = self.tabs.get(tab) else { return Vec::new() };
        let n = t.steps.len();
        // `selected` 0 is the dataset line; step i is line i + 1.
        let step = selected.checked_sub(1).filter(|&i| i < n);
        let mut steps = t.steps.clone();
        match key {
            PaletteKey::Esc | PaletteKey::Act(Action::Cancel) => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            PaletteKey::Down | PaletteKey::Act(Action::Down) => {
                self.mode = Mode::Recipe { selected: (selected + 1).min(n) };
                Vec::new()
            }
            PaletteKey::Up | PaletteKey::Act(Action::Up) => {
                self.mode = Mode::Recipe { selected: selected.saturating_sub(1) };
                Vec::new()
            }
            PaletteKey::Act(Action::ToggleStep) => {
                let Some(i) = step else { return Vec::new() };
                steps[i] = match steps[i].clone() {
                    Step::Disabled(inner) => *inner,
                    other => Step::Disabled(Box::new(other)),
                };
                self.recorded(tab, steps)
            }
            PaletteKey::Act(Action::Delete) => {
                let Some(i) = step else { return Vec::new() };
                steps.remove(i);
                self.mode = Mode::Recipe { selected: selected.min(steps.len()) };
                self.recorded(tab, steps)
            }
            PaletteKey::Act(Action::MoveStepUp) => {
                let Some(i) = step.filter(|&i| i > 0) else { return Vec::new() };
                steps.swap(i, i - 1);
                self.mode = Mode::Recipe { selected: selected - 1 };
                self.recorded(tab, steps)
            }
            PaletteKey::Act(Action::MoveStepDown) => {
                let Some(i) = step.filter(|&i| i + 1 < n) else { return Vec::new() };
                steps.swap(i, i + 1);
                self.mode = Mode::Recipe { selected: selected + 1 };
                self.recorded(tab, steps)
            }
            PaletteKey::Act(Action::Edit) | PaletteKey::Enter | PaletteKey::Act(Action::Confirm) => {
                let Some(i) = step else { return Vec::new() };
                self.prompt(PromptKind::EditStep { index: i }, step_line(&steps[i]));
                Vec::new()
            }
            PaletteKey::Act(Action::SaveRecipe) => {
                let path = t.recipe_path.clone().unwrap_or_else(|| format!("{}.recipe.toml", t.dataset.name));
                self.prompt(PromptKind::SaveRecipe, path);
                Vec::new()
            }
            PaletteKey::Act(Action::OpenRecipe) => {
                let recent = load_recent();
                let first = recent.first().cloned().unwrap_or_default();
                self.prompt(PromptKind::OpenRecipe, first);
                if let Mode::Prompt(p) = &mut self.mode {
                    p.recent = recent;
                    p.recalled = (!p.input.is_empty()).then_some(0);
                }
                Vec::new()
            }
            PaletteKey::Act(Action::CountRows) => {
                if let Some(t) = self.tabs.get_mut(tab) {
                    t.funnel = None;
                }
                self.funnel_jobs(tab)
            }
            _ => Vec::new(),
        }
    }

    /// The tab's steps changed through the panel: the view follows, the funnel is
    /// counted again.
    fn recorded(&mut self, tab: usize, steps: Vec<Step>) -> Vec<Job> {
        let mode = std::mem::replace(&mut self.mode, Mode::Normal);
        let mut jobs = self.set_steps(tab, steps);
        self.mode = mode;
        jobs.extend(self.funnel_jobs(tab));
        jobs
    }

    /// Adopts the SQL editor's query as a step of the active tab (`input` in the query
    /// is the tab's view so far).
    pub fn adopt_sql(&mut self, query: String, engine: assay_core::engine::EngineChoice) -> Vec<Job> {
        let tab = self.active;
        let Some(t) = self.tabs.get(tab) else { return Vec::new() };
        // `SELECT * FROM this WHERE …` over a view of filters only (what the editor opens
        // on): the WHERE clause becomes the view's filter, for the builder (f) to edit.
        let only_filters = t.steps.iter().all(|s| matches!(s, Step::Filter { .. }));
        let condition = assay_core::sql::parse(&query)
            .ok()
            .and_then(|s| assay_core::sql::where_of(&s, &t.dataset.name))
            .filter(|_| only_filters);
        if let Some(condition) = condition {
            let steps: Vec<Step> = condition.map(|sql| Step::Filter { sql }).into_iter().collect();
            self.mode = Mode::Normal;
            self.message = Some(Message {
                text: "the WHERE clause is the view's filter now (f edits it in the builder)".into(),
                error: false,
            });
            return self.set_steps(tab, steps);
        }
        let mut steps = t.steps.clone();
        steps.push(Step::Sql { query, engine: engine.kind() });
        self.mode = Mode::Normal;
        self.message = Some(Message {
            text: format!("the query is step {} of {}'s recipe (R shows it)", steps.len(), t.dataset.name),
            error: false,
        });
        self.set_steps(tab, steps)
    }

    /// A recipe file was read and its new sources opened (already in the workspace):
    /// its first source's tab takes its steps and checks.
    pub(super) fn recipe_opened(
        &mut self,
        path: String,
        result: assay_core::Result<(recipe::Loaded, Vec<assay_core::source::Dataset>)>,
    ) -> Vec<Job> {
        let (loaded, opened) = match result {
            Ok(r) => r,
            Err(e) => {
                self.message = Some(Message { text: e.to_string(), error: true });
                return Vec::new();
            }
        };
        let mut jobs = Vec::new();
        for ds in opened {
            self.tabs.push(super::app::Tab::new(ds));
        }
        let main = loaded.main_source().to_string();
        let Some(tab) = self.tabs.iter().position(|t| t.dataset.name == main) else {
            self.message =
                Some(Message { text: format!("{path}: source `{main}` did not open"), error: true });
            return jobs;
        };
        let steps: Vec<Step> = loaded
            .steps
            .iter()
            .map(|p| if p.enabled { p.step.clone() } else { Step::Disabled(Box::new(p.step.clone())) })
            .collect();
        self.active = tab;
        jobs.extend(self.start_tab(tab));
        jobs.extend(self.set_steps(tab, steps));
        let rules = loaded.rules();
        let checks = rules.checks.len();
        if checks > 0 {
            jobs.extend(self.set_rules(tab, path.clone(), rules));
        }
        if let Some(t) = self.tabs.get_mut(tab) {
            t.recipe_path = Some(path.clone());
            t.outputs = loaded.recipe.outputs.clone();
        }
        self.mode = Mode::Recipe { selected: 0 };
        jobs.extend(self.funnel_jobs(tab));
        self.message = Some(Message {
            text: format!("opened recipe {path}: {} steps, {checks} checks", loaded.steps.len()),
            error: false,
        });
        jobs
    }
}

impl App {
    /// The recipe was written (or not).
    pub(super) fn recipe_saved(
        &mut self,
        tab: TabId,
        path: String,
        result: assay_core::Result<()>,
    ) -> Vec<Job> {
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
}

/// The checks panel: one line per check and per suggestion, then the selected one in
/// detail with its first failing rows.
/// The recipe panel: the dataset, each step (● on, ○ off) with the rows after it, and
/// the checks that go with the recipe.
pub(super) fn render_recipe(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, selected: usize) {
    let Some(tab) = app.tab() else { return };
    frame.render_widget(Clear, area);
    let from = tab.recipe_path.as_ref().map(|p| format!(" · {p}")).unwrap_or_else(|| " · not saved".into());
    let title = format!(" recipe · {}{from} · R or Esc closes ", tab.dataset.name);
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let funnel = tab.funnel.as_ref().filter(|f| f.view == tab.view);
    let count = |i: usize| match funnel.and_then(|f| f.counts.get(i)).cloned().flatten() {
        Some(Ok(n)) => thousands(n),
        Some(Err(_)) => "error".into(),
        None => "…".into(),
    };
    let width = (inner.width as usize).saturating_sub(34).max(10);
    let clip = |s: String| -> String {
        if s.chars().count() > width {
            s.chars().take(width.saturating_sub(1)).collect::<String>() + "…"
        } else {
            s
        }
    };
    let k = |a| app.keymap.key(Scope::Recipe, a);
    let mut lines = vec![Line::styled(
        format!(
            "{}/{} select · {} on/off · {}/{} move · {} edit · {} delete · {} save · {} open · {} recount",
            k(Action::Down),
            k(Action::Up),
            k(Action::ToggleStep),
            k(Action::MoveStepDown),
            k(Action::MoveStepUp),
            k(Action::Edit),
            k(Action::Delete),
            k(Action::SaveRecipe),
            k(Action::OpenRecipe),
            k(Action::CountRows),
        ),
        theme.dtype,
    )];
    let mark = |i: usize| if i == selected { "▶" } else { " " };
    lines.push(Line::from(vec![
        Span::raw(mark(0)),
        Span::styled(format!("{:>3}   {:<10} ", 0, "source"), theme.header),
        Span::raw(format!("{:<width$} ", clip(tab.dataset.spec.clone()))),
        Span::raw(format!("{:>12}", count(0))),
    ]));
    for (i, step) in tab.steps.iter().enumerate() {
        let on = step.enabled().is_some();
        let style = if on { Style::default() } else { theme.dtype };
        lines.push(Line::from(vec![
            Span::raw(mark(i + 1)),
            Span::styled(
                format!("{:>3} {} {:<10} ", i + 1, if on { "●" } else { "○" }, step.kind()),
                theme.header,
            ),
            Span::styled(format!("{:<width$} ", clip(describe(step))), style),
            Span::raw(format!("{:>12}", if on { count(i + 1) } else { "off".into() })),
        ]));
    }
    if tab.steps.is_empty() {
        lines.push(Line::styled(
            "  no steps yet: filters (f, =, !), sorts ([ ]), hidden columns (-), r rename, t type, d derive, \
             and SQL (s, then ctrl-t) become steps",
            theme.dtype,
        ));
    }
    if let Some(e) = funnel.and_then(|f| f.counts.iter().flatten().find_map(|c| c.as_ref().err())) {
        lines.push(Line::styled(e.clone(), theme.error));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(format!(
        "{} checks go with it (c opens the checks panel); `assay run FILE` replays the saved recipe",
        tab.checks.rules.checks.len()
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}
