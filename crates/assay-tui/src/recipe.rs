//! The recipe panel and the workbench's recording: every change a tab makes to its data
//! (filters, sorts, column choices, renames, casts, derived columns, adopted SQL) is a
//! step of the tab's recipe; the tab's rules are its checks. The panel lists the steps
//! with the rows left after each (the funnel, counted in the background), switches
//! them off and on, moves, edits (as the recipe's TOML) and deletes them, and saves the
//! recipe to a `.toml` file that `assay run` replays; recipes open from a file or the
//! recently used list in the data dir.

use indexmap::IndexMap;

use super::app::{App, Job, Message, Mode, PaletteKey};
use super::keymap::Action;
use assay_core::recipe::{self, Recipe, Source, StepEntry};
use assay_core::transform::{self, ColumnType, Step};

/// A one-line text prompt in the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
    pub error: Option<String>,
    /// Recently used recipes (`OpenRecipe`), stepped through with Up/Down.
    pub recent: Vec<String>,
    pub recalled: Option<usize>,
    /// The input is what the workbench proposed (a file name, the column's name, a
    /// recent recipe): the first character typed replaces it; other keys edit it.
    pub proposed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PromptKind {
    /// A new name for `column`.
    Rename { column: String },
    /// A type to cast `column` to.
    Cast { column: String },
    /// `name = SQL expression`.
    Derive,
    /// Where to save the active tab's recipe.
    SaveRecipe,
    /// A recipe file to open.
    OpenRecipe,
    /// Step `index` of the active tab, as its recipe TOML.
    EditStep { index: usize },
}

impl PromptKind {
    pub fn title(&self) -> String {
        match self {
            PromptKind::Rename { column } => format!("rename {column} to"),
            PromptKind::Cast { column } => format!(
                "cast {column} to ({})",
                ColumnType::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(" ")
            ),
            PromptKind::Derive => "new column: name = SQL expression".into(),
            PromptKind::SaveRecipe => "save the recipe to".into(),
            PromptKind::OpenRecipe => "open recipe (Up/Down: recent)".into(),
            PromptKind::EditStep { index } => format!("step {} (recipe TOML)", index + 1),
        }
    }
}

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

    /// Opens a prompt of `kind` with `input` typed (proposed, for a file name or a name
    /// to change: typing replaces it).
    pub fn prompt(&mut self, kind: PromptKind, input: String) {
        let proposed = !input.is_empty()
            && matches!(kind, PromptKind::SaveRecipe | PromptKind::OpenRecipe | PromptKind::Rename { .. });
        self.mode = Mode::Prompt(Box::new(Prompt {
            kind,
            input,
            error: None,
            recent: Vec::new(),
            recalled: None,
            proposed,
        }));
    }

    /// A column prompt (rename, cast) on the current column, or the derive prompt.
    pub fn column_prompt(&mut self, kind: fn(String) -> PromptKind) {
        let Some(t) = self.tab() else { return };
        let Some(c) = t.columns.get(t.col) else { return };
        let kind = kind(c.name.clone());
        let input = match &kind {
            PromptKind::Rename { column } => column.clone(),
            _ => String::new(),
        };
        self.prompt(kind, input);
    }

    /// Keys of a prompt.
    pub fn prompt_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let Mode::Prompt(p) = &mut self.mode else { return Vec::new() };
        match key {
            PaletteKey::Char(c) => {
                if std::mem::take(&mut p.proposed) {
                    p.input.clear();
                }
                p.input.push(c);
                p.error = None;
            }
            PaletteKey::Backspace => {
                p.proposed = false;
                p.input.pop();
                p.error = None;
            }
            PaletteKey::Up | PaletteKey::Down if !p.recent.is_empty() => {
                let n = p.recent.len();
                let i = match (p.recalled, key) {
                    (None, _) => 0,
                    (Some(i), PaletteKey::Down) => (i + 1) % n,
                    (Some(i), _) => (i + n - 1) % n,
                };
                p.recalled = Some(i);
                p.input = p.recent[i].clone();
                p.proposed = true;
            }
            PaletteKey::Up | PaletteKey::Down | PaletteKey::Act(_) => {}
            PaletteKey::Esc => {
                let back_to_panel = matches!(
                    p.kind,
                    PromptKind::EditStep { .. } | PromptKind::SaveRecipe | PromptKind::OpenRecipe
                );
                self.mode = if back_to_panel { Mode::Recipe { selected: 0 } } else { Mode::Normal };
            }
            PaletteKey::Enter => {
                let (kind, text) = (p.kind.clone(), p.input.trim().to_string());
                match self.apply_prompt(&kind, &text) {
                    Ok(jobs) => return jobs,
                    Err(e) => {
                        if let Mode::Prompt(p) = &mut self.mode {
                            p.error = Some(e);
                        }
                    }
                }
            }
        }
        Vec::new()
    }

    /// What Enter in a prompt does; an error keeps the prompt open with the message.
    fn apply_prompt(&mut self, kind: &PromptKind, text: &str) -> std::result::Result<Vec<Job>, String> {
        let tab = self.active;
        let Some(t) = self.tabs.get(tab) else { return Ok(Vec::new()) };
        let mut steps = t.steps.clone();
        match kind {
            PromptKind::Rename { column } => {
                if text.is_empty() || text == column {
                    self.mode = Mode::Normal;
                    return Ok(Vec::new());
                }
                if t.columns.iter().any(|c| c.name == text) {
                    return Err(format!("there is already a column `{text}`"));
                }
                match steps.last_mut() {
                    // Renaming a column the last step renamed: that step renames it
                    // straight to the new name (or not at all when it comes back to
                    // its first name), so no name is ever renamed twice in one step.
                    Some(Step::Rename { columns }) => match columns.iter().position(|(_, new)| new == column)
                    {
                        Some(i) if columns[i].0 == text => {
                            columns.remove(i);
                        }
                        Some(i) => columns[i].1 = text.to_string(),
                        // The grid still shows the name from before the last rename.
                        None if columns.iter().any(|(old, _)| old == column) => {
                            return Err(format!("`{column}` was just renamed: wait for the grid to show it"));
                        }
                        None => columns.push((column.clone(), text.to_string())),
                    },
                    _ => steps.push(Step::Rename { columns: vec![(column.clone(), text.to_string())] }),
                }
                if matches!(steps.last(), Some(Step::Rename { columns }) if columns.is_empty()) {
                    steps.pop();
                }
            }
            PromptKind::Cast { column } => {
                let to = ColumnType::ALL
                    .iter()
                    .find(|t| t.name() == text.to_ascii_lowercase())
                    .ok_or_else(|| format!("unknown type `{text}`"))?;
                steps.push(Step::Cast { columns: vec![(column.clone(), *to)] });
            }
            PromptKind::Derive => {
                let (name, sql) = text.split_once('=').ok_or("write name = SQL expression")?;
                let (name, sql) = (name.trim(), sql.trim());
                if name.is_empty() {
                    return Err("the new column needs a name".into());
                }
                transform::check_expression(sql).map_err(|e| e.to_string())?;
                let name = name.trim_matches('"').to_string();
                match steps.last_mut() {
                    Some(Step::Derive { columns }) => columns.push((name, sql.to_string())),
                    _ => steps.push(Step::Derive { columns: vec![(name, sql.to_string())] }),
                }
            }
            PromptKind::EditStep { index } => {
                let entry = read_line(text)?;
                let parsed = recipe::parse(&single_step_recipe(&t.dataset.name, &entry), "step", &[])
                    .map_err(|e| e.to_string())?;
                let mut step =
                    parsed.steps.into_iter().next().map(|p| (p.step, p.enabled)).ok_or("no step")?;
                if !step.1 {
                    step.0 = Step::Disabled(Box::new(step.0));
                }
                if let Some(slot) = steps.get_mut(*index) {
                    *slot = step.0;
                }
                self.mode = Mode::Recipe { selected: index + 1 };
                return Ok(self.recorded(tab, steps));
            }
            PromptKind::SaveRecipe => {
                if !text.ends_with(".toml") && !text.ends_with(".yaml") && !text.ends_with(".yml") {
                    return Err("a recipe file ends in .toml".into());
                }
                let recipe = self.recipe_of(tab).ok_or("no tab")?;
                let text_out = if text.ends_with(".toml") {
                    recipe.to_toml().map_err(|e| e.to_string())?
                } else {
                    serde_norway::to_string(&recipe).map_err(|e| e.to_string())?
                };
                self.mode = Mode::Recipe { selected: 0 };
                return Ok(vec![Job::SaveRecipe {
                    tab: self.tabs[tab].id.clone(),
                    path: text.to_string(),
                    text: text_out,
                }]);
            }
            PromptKind::OpenRecipe => {
                if text.is_empty() {
                    return Err("name a recipe file".into());
                }
                self.mode = Mode::Normal;
                self.message = Some(Message { text: format!("opening recipe {text}…"), error: false });
                return Ok(vec![Job::OpenRecipe { path: text.to_string() }]);
            }
        }
        self.mode = Mode::Normal;
        Ok(self.set_steps(tab, steps))
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

/// A recipe holding one step over `table`, to read an edited step with the recipe's
/// own validation.
fn single_step_recipe(table: &str, entry: &StepEntry) -> String {
    let recipe = Recipe {
        sources: IndexMap::from([(table.to_string(), Source { path: "-".into(), ..Default::default() })]),
        steps: vec![entry.clone()],
        ..Default::default()
    };
    recipe.to_toml().unwrap_or_default()
}

/// A step as one line of TOML: the body of an inline table (`filter = "x", enabled =
/// false`), what the edit prompt shows and reads back (`read_line`).
pub fn step_line(step: &Step) -> String {
    let mut entry = StepEntry::from_step(step);
    if let Some(q) = entry.sql.as_mut() {
        *q = q.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    toml::Value::try_from(&entry)
        .ok()
        .and_then(|v| assay_core::quality::rules::fields(&v, ", "))
        .unwrap_or_default()
}

/// A step entry from the edit prompt's line.
fn read_line(text: &str) -> std::result::Result<StepEntry, String> {
    #[derive(serde::Deserialize)]
    struct One {
        step: StepEntry,
    }
    toml::from_str::<One>(&format!("step = {{ {text} }}"))
        .map(|o| o.step)
        .map_err(|e| e.message().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_edit_as_one_line_of_toml() {
        let step = Step::Derive { columns: vec![("total".into(), "price * quantity".into())] };
        let line = step_line(&step);
        assert_eq!(line, "derive = { total = \"price * quantity\" }");
        let entry = read_line(&line).unwrap();
        let parsed = recipe::parse(&single_step_recipe("orders", &entry), "step", &[]).unwrap();
        assert_eq!(parsed.steps[0].step, step);
        let off =
            Step::Disabled(Box::new(Step::Sql { query: "SELECT *\n  FROM input".into(), engine: None }));
        assert_eq!(step_line(&off), "sql = \"SELECT * FROM input\", enabled = false");
        assert!(read_line("filtre = \"x\"").unwrap_err().contains("unknown field `filtre`"));
        assert_eq!(counted(&[step, Step::Filter { sql: "x".into() }]), vec![0, 2]);
    }
}
