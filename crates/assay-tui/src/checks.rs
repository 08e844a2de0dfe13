//! The checks panel: a tab's rules being built (loaded from a rules file, added from a
//! column in two keys, accepted from suggestions), run in the background on the tab's
//! view whenever they change, their results, and a check's failing rows as a filtered
//! view. The same `quality` library runs them as `assay check` does.

use std::time::Instant;

use assay_core::quality::suggest::{FromColumn, Suggestion};
use assay_core::quality::{Check, Report, Rules};
use assay_core::transform::Step;

use super::app::{App, Job, Message, Mode, PaletteKey};
use super::keymap::Action;

/// A tab's checks.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    pub rules: Rules,
    /// Where the rules were loaded from, and are saved to.
    pub path: Option<String>,
    pub run: CheckRun,
    /// Proposed checks not accepted or rejected yet.
    pub suggestions: Vec<Suggestion>,
    /// When the running suggestion job started.
    pub suggesting: Option<Instant>,
    /// When the running add-from-column job started.
    pub adding: Option<Instant>,
    /// The rules changed since they were loaded or saved.
    pub unsaved: bool,
    /// Bumped whenever the rules change, so results of older rules are dropped.
    pub version: u64,
    /// A run waits for the tab's first page (on two cores, a full scan started with
    /// it delays the first screen; the row count waits the same way).
    pub after_page: bool,
}

/// The last run of a tab's checks.
#[derive(Debug, Clone, Default)]
pub enum CheckRun {
    #[default]
    None,
    Running {
        version: u64,
        started: Instant,
    },
    /// `steps` is the view the checks ran on.
    Ready {
        version: u64,
        steps: Vec<Step>,
        report: Report,
    },
    Failed {
        version: u64,
        error: String,
    },
}

impl Checks {
    /// Rows of the panel: the checks, then the suggestions.
    pub fn len(&self) -> usize {
        self.rules.checks.len() + self.suggestions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn report(&self) -> Option<&Report> {
        match &self.run {
            CheckRun::Ready { report, .. } => Some(report),
            _ => None,
        }
    }

    /// The last result of check `index`, if it was run with the rules as they are there.
    pub fn result(&self, index: usize) -> Option<&assay_core::quality::CheckResult> {
        let id = self.rules.checks.get(index)?.id();
        self.report()?.checks.get(index).filter(|r| r.id == id)
    }

    /// Adds `check` unless one with its id is there; says whether it did.
    fn push(&mut self, check: Check) -> bool {
        let id = check.id();
        if self.rules.checks.iter().any(|c| c.id() == id) {
            return false;
        }
        self.rules.checks.push(check);
        true
    }

    /// The rules changed (not saved yet): older results stop counting.
    fn changed(&mut self) {
        self.unsaved = true;
        self.version += 1;
    }

    pub fn running(&self) -> bool {
        matches!(self.run, CheckRun::Running { .. }) || self.suggesting.is_some() || self.adding.is_some()
    }

    /// Where `s` saves when no rules file was loaded: `<name>.rules.toml` beside a local
    /// dataset, or in the working folder for S3 data.
    pub fn default_path(dataset: &assay_core::source::Dataset) -> String {
        let file = format!("{}.rules.toml", dataset.name);
        match dataset.files.first() {
            Some(f) if !assay_core::source::Place::of(f).is_s3() => {
                std::path::Path::new(f).parent().map(|d| d.join(&file).display().to_string()).unwrap_or(file)
            }
            _ => file,
        }
    }
}

/// The rules file that goes with `dataset` when none is given: `<name>.rules.toml` (or
/// `.yaml`/`.yml`) beside a local dataset, if there is one.
pub fn rules_beside(dataset: &assay_core::source::Dataset) -> Option<String> {
    let toml = Checks::default_path(dataset);
    if dataset.files.first().is_none_or(|f| assay_core::source::Place::of(f).is_s3()) {
        return None;
    }
    let stem = toml.trim_end_matches(".toml");
    [toml.clone(), format!("{stem}.yaml"), format!("{stem}.yml")]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
}

impl App {
    /// Gives tab `tab` the rules loaded from `path` and runs them in the background.
    pub fn set_rules(&mut self, tab: usize, path: String, rules: Rules) -> Vec<Job> {
        let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
        t.checks.rules = rules;
        t.checks.path = Some(path);
        t.checks.changed();
        t.checks.unsaved = false;
        if t.page.is_none() {
            t.checks.after_page = true;
            return Vec::new();
        }
        self.run_checks(tab)
    }

    /// Opens the checks panel; runs the checks when they have no results for these rules.
    pub fn open_checks(&mut self) -> Vec<Job> {
        let tab = self.active;
        let Some(t) = self.tabs.get(tab) else { return Vec::new() };
        self.mode = Mode::Checks { selected: 0 };
        let fresh = match &t.checks.run {
            CheckRun::Running { version, .. } | CheckRun::Failed { version, .. } => {
                *version == t.checks.version
            }
            CheckRun::Ready { version, steps, .. } => *version == t.checks.version && *steps == t.steps,
            CheckRun::None => false,
        };
        if fresh {
            return Vec::new();
        }
        self.run_checks(tab)
    }

    /// Runs the tab's checks on its view, in the background.
    pub fn run_checks(&mut self, tab: usize) -> Vec<Job> {
        let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
        t.checks.after_page = false;
        if t.checks.rules.checks.is_empty() {
            t.checks.run = CheckRun::None;
            return Vec::new();
        }
        let version = t.checks.version;
        t.checks.run = CheckRun::Running { version, started: Instant::now() };
        vec![Job::Check { tab: t.id.clone(), version, steps: t.steps.clone(), rules: t.checks.rules.clone() }]
    }

    /// Adds `check` to the tab's rules (unless one with its id is there) and re-runs them.
    pub fn add_check(&mut self, tab: usize, check: Check) -> Vec<Job> {
        let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
        let id = check.id();
        if !t.checks.push(check) {
            self.message =
                Some(Message { text: format!("check {id} is already in the rules"), error: false });
            return Vec::new();
        }
        t.checks.changed();
        self.message = Some(Message { text: format!("added check {id} (c shows the checks)"), error: false });
        self.run_checks(tab)
    }

    /// The second key after `a` on a column: which check to add.
    pub fn add_check_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let Mode::AddCheck { column } = &self.mode else { return Vec::new() };
        let column = column.clone();
        let kind = match key {
            PaletteKey::Act(Action::CheckNotNull) => FromColumn::NotNull,
            PaletteKey::Act(Action::CheckUnique) => FromColumn::Unique,
            PaletteKey::Act(Action::CheckInSet) => FromColumn::InValues,
            PaletteKey::Act(Action::CheckRange) => FromColumn::Range,
            PaletteKey::Esc | PaletteKey::Act(Action::Cancel) => {
                self.mode = Mode::Normal;
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        self.mode = Mode::Normal;
        let tab = self.active;
        let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
        t.checks.adding = Some(Instant::now());
        // Even not null and unique go through the library, which writes every check.
        vec![Job::CheckFromColumn { tab: t.id.clone(), steps: t.steps.clone(), column, kind }]
    }

    /// Keys of the checks panel (listed at its foot).
    pub fn checks_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let Mode::Checks { selected } = self.mode else { return Vec::new() };
        let tab = self.active;
        let Some(t) = self.tabs.get_mut(tab) else {
            self.mode = Mode::Normal;
            return Vec::new();
        };
        let n = t.checks.len();
        let checks = t.checks.rules.checks.len();
        let select = |s: usize| Mode::Checks { selected: s.min(n.saturating_sub(1)) };
        match key {
            PaletteKey::Esc | PaletteKey::Act(Action::Cancel) => self.mode = Mode::Normal,
            PaletteKey::Down | PaletteKey::Act(Action::Down) => self.mode = select(selected + 1),
            PaletteKey::Up | PaletteKey::Act(Action::Up) => self.mode = select(selected.saturating_sub(1)),
            PaletteKey::Act(Action::RunChecks) => return self.run_checks(tab),
            PaletteKey::Act(Action::SuggestChecks) => {
                t.checks.suggesting = Some(Instant::now());
                return vec![Job::Suggest { tab: t.id.clone(), steps: t.steps.clone() }];
            }
            PaletteKey::Act(Action::SaveRules) => {
                let path =
                    t.checks.path.clone().unwrap_or_else(|| super::checks::Checks::default_path(&t.dataset));
                return vec![Job::SaveRules { tab: t.id.clone(), path, text: t.checks.rules.to_toml() }];
            }
            PaletteKey::Act(Action::Delete) if selected < checks => {
                let removed = t.checks.rules.checks.remove(selected);
                t.checks.changed();
                self.mode = Mode::Checks { selected: selected.min(n.saturating_sub(2)) };
                self.message =
                    Some(Message { text: format!("removed check {}", removed.id()), error: false });
                return self.run_checks(tab);
            }
            PaletteKey::Act(Action::Delete) if selected >= checks && selected < n => {
                t.checks.suggestions.remove(selected - checks);
                self.mode = Mode::Checks { selected: selected.min(n.saturating_sub(2)) };
            }
            PaletteKey::Act(Action::Accept) | PaletteKey::Enter | PaletteKey::Act(Action::Confirm)
                if selected >= checks && selected < n =>
            {
                let s = t.checks.suggestions.remove(selected - checks);
                // The accepted check joins the rules; the next suggestion is selected.
                self.mode = Mode::Checks { selected: checks + 1 };
                return self.add_check(tab, s.check);
            }
            PaletteKey::Act(Action::AcceptAll) if !t.checks.suggestions.is_empty() => {
                let all: Vec<Suggestion> = std::mem::take(&mut t.checks.suggestions);
                let added = all.into_iter().filter(|s| t.checks.push(s.check.clone())).count();
                t.checks.changed();
                self.message =
                    Some(Message { text: format!("accepted {added} suggested checks"), error: false });
                return self.run_checks(tab);
            }
            PaletteKey::Enter | PaletteKey::Act(Action::Confirm) if selected < checks => {
                return self.show_failing(tab, selected)
            }
            _ => {}
        }
        Vec::new()
    }

    /// The failing rows of check `index` as the tab's view: its failure as a filter step
    /// on top of the view (u undoes it).
    fn show_failing(&mut self, tab: usize, index: usize) -> Vec<Job> {
        let Some(t) = self.tabs.get(tab) else { return Vec::new() };
        let check = &t.checks.rules.checks[index];
        let id = check.id();
        let Some(result) = t.checks.result(index) else {
            self.message =
                Some(Message { text: format!("{id}: no results yet (r runs the checks)"), error: false });
            return Vec::new();
        };
        if !result.row_level {
            self.message = Some(Message {
                text: format!("{id} is a table-level check: it observes one value, not rows"),
                error: false,
            });
            return Vec::new();
        }
        let Some(sql) = result.failing_sql.clone() else {
            self.message = Some(Message {
                text: format!(
                    "{id}: a {} check's failures are not one filter; its first failing rows are listed here",
                    check.kind()
                ),
                error: false,
            });
            return Vec::new();
        };
        let mut steps = t.steps.clone();
        steps.push(Step::Filter { sql });
        self.mode = Mode::Normal;
        self.message = Some(Message {
            text: format!("rows failing {id} ({}) · u goes back", result.failing_rows),
            error: false,
        });
        self.set_steps(tab, steps)
    }
}
