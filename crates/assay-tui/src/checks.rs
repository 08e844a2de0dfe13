//! The checks panel: a tab's rules being built (loaded from a rules file, added from a
//! column in two keys, accepted from suggestions), run in the background on the tab's
//! view whenever they change, their results, and a check's failing rows as a filtered
//! view. The same `quality` library runs them as `assay check` does.

use std::time::Instant;

use assay_core::quality::suggest::{FromColumn, Suggestion};
use assay_core::quality::{Check, Report, Rules};
use assay_core::transform::Step;

use super::app::{App, Job, Message, Mode, PaletteKey};
use super::app::{Done, Tab};
use super::keymap::Action;
use super::keymap::Scope;
use super::view::{cut, spinner, thousands, Theme};
use assay_core::output::short_number;
use assay_core::quality::Status;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

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

impl App {
    /// The answers of the checks' jobs: a run, suggestions, a check made from a column,
    /// the rules file found beside the dataset, the rules saved.
    pub(super) fn checks_done(&mut self, done: Done) -> Vec<Job> {
        match done {
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
            _ => Vec::new(),
        }
    }
}

pub(super) fn render_checks(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, selected: usize) {
    let Some(tab) = app.tab() else { return };
    let checks = &tab.checks;
    frame.render_widget(Clear, area);
    let from = match (&checks.path, checks.unsaved) {
        (Some(p), false) => format!(" · {p}"),
        (Some(p), true) => format!(" · {p} (unsaved)"),
        (None, _) if checks.rules.checks.is_empty() => String::new(),
        (None, _) => " · not saved yet".into(),
    };
    let title = format!(" checks · {}{from} · c or Esc closes ", tab.dataset.name);
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    match &checks.run {
        CheckRun::None if checks.rules.checks.is_empty() => lines.push(Line::raw(
            "No checks yet. On a column, press a then n (not null), u (unique), s (its values) or r (its range); \
             or S here to suggest checks from a profile of the data.",
        )),
        CheckRun::None => lines.push(Line::styled("not run yet (r runs them)", theme.dtype)),
        CheckRun::Running { started, .. } => lines.push(Line::raw(format!(
            "{} running {} checks on the view (one scan; Esc in the grid cancels)…",
            spinner(*started),
            checks.rules.checks.len()
        ))),
        CheckRun::Failed { error, .. } => lines.push(Line::styled(error.clone(), theme.error)),
        CheckRun::Ready { steps, report, version } => {
            let n = |s: Status| report.count(s);
            lines.push(Line::from(vec![
                Span::raw(format!("{} rows · ", thousands(report.rows))),
                Span::styled(format!("{} pass", n(Status::Pass)), theme.pass),
                Span::raw(" · "),
                Span::styled(format!("{} warn", n(Status::Warn)), theme.warn),
                Span::raw(" · "),
                Span::styled(format!("{} fail", n(Status::Fail)), theme.fail),
                Span::raw(format!(
                    " · {} scan{} · {} ms",
                    report.scans,
                    if report.scans == 1 { "" } else { "s" },
                    report.elapsed_ms
                )),
            ]));
            if *steps != tab.steps || *version != checks.version {
                lines.push(Line::styled("(the view or the rules changed since: r runs them again)", theme.dtype));
            }
        }
    }
    if !checks.is_empty() {
        lines.push(Line::styled(
            format!(
                "  {:<6} {:<34} {:<14} {:>12} {:>8} {:>14}  {}",
                "status", "check", "type", "failing", "%", "observed", "threshold"
            ),
            theme.header,
        ));
    }
    let mut selected_line = 0;
    for (i, check) in checks.rules.checks.iter().enumerate() {
        let id = check.id();
        let result = checks.result(i);
        let (status, style) = match result.map(|r| r.status) {
            Some(Status::Pass) => ("✓ pass", theme.pass),
            Some(Status::Warn) => ("! warn", theme.warn),
            Some(Status::Fail) => ("✗ fail", theme.fail),
            None => ("·", theme.dtype),
        };
        let numbers = match result {
            Some(r) if r.row_level => {
                format!("{:>12} {:>7.2}% {:>14}", thousands(r.failing_rows), r.failing_fraction * 100.0, "")
            }
            Some(r) => {
                format!("{:>12} {:>8} {:>14}", "", "", r.observed.map(short_number).unwrap_or_default())
            }
            None => String::new(),
        };
        let threshold = result.map(|r| r.threshold.clone()).unwrap_or_default();
        let marker = if i == selected { "▸ " } else { "  " };
        let row_style = if i == selected { theme.cursor_row } else { Style::default() };
        if i == selected {
            selected_line = lines.len();
        }
        lines.push(Line::from(vec![
            Span::styled(marker, row_style),
            Span::styled(format!("{status:<6}"), style),
            Span::styled(
                format!(" {:<34} {:<14} {numbers}  {threshold}", cut(&id, 34), check.kind()),
                row_style,
            ),
        ]));
    }
    if !checks.suggestions.is_empty() {
        lines.push(Line::styled("  suggested (y accepts · d rejects · Y accepts all)", theme.header));
        for (j, s) in checks.suggestions.iter().enumerate() {
            let i = checks.rules.checks.len() + j;
            let marker = if i == selected { "▸ " } else { "  " };
            let row_style = if i == selected { theme.cursor_row } else { Style::default() };
            if i == selected {
                selected_line = lines.len();
            }
            lines.push(Line::styled(
                format!("{marker}+      {:<60} {}", cut(&s.check.to_toml(), 60), s.today),
                row_style,
            ));
        }
    }
    // The selected check in detail.
    if let Some(check) = checks.rules.checks.get(selected) {
        let result = checks.result(selected);
        lines.push(Line::raw(""));
        lines.push(Line::styled(check.to_toml(), theme.header));
        if let Some(d) = &check.common().description {
            lines.push(Line::raw(format!("  {d}")));
        }
        if let Some(r) = result {
            if let Some(detail) = &r.detail {
                lines.push(Line::raw(format!("  {detail}")));
            }
            if let Some(sql) = r.failing_sql.as_ref().filter(|_| r.failing_rows > 0) {
                lines.push(Line::styled(format!("  Enter shows the failing rows: WHERE {sql}"), theme.dtype));
            }
            if !r.samples.is_empty() {
                let names: Vec<&String> = r.samples[0].values.keys().collect();
                let mut head = format!("  {:>10}", "row");
                for n in &names {
                    head.push_str(&format!("  {:<18}", cut(n, 18)));
                }
                lines.push(Line::styled(head, theme.dtype));
                for sample in &r.samples {
                    let mut text = format!("  {:>10}", thousands(sample.row));
                    for n in &names {
                        let v = sample.values.get(*n).cloned().flatten().unwrap_or_else(|| "∅".into());
                        text.push_str(&format!("  {:<18}", cut(&v, 18)));
                    }
                    lines.push(Line::raw(text));
                }
            }
        }
    }
    let k = |a| app.keymap.key(Scope::Checks, a);
    let keys = format!(
        "{}/{} move · {} failing rows (or accept) · {} delete · {} re-run · {} suggest · {} save · {} close",
        k(Action::Down),
        k(Action::Up),
        k(Action::Confirm),
        k(Action::Delete),
        k(Action::RunChecks),
        k(Action::SuggestChecks),
        k(Action::SaveRules),
        k(Action::Cancel),
    );
    let body = inner.height.saturating_sub(1) as usize;
    // Keep the selected row on screen, a few lines of its detail below it if they fit.
    let skip = (selected_line + 4).saturating_sub(body);
    let shown: Vec<Line> = lines.into_iter().skip(skip).take(body).collect();
    let [list, foot] =
        Layout::vertical([Constraint::Length(inner.height.saturating_sub(1)), Constraint::Length(1)])
            .areas(inner);
    frame.render_widget(Paragraph::new(shown), list);
    frame.render_widget(Paragraph::new(Line::styled(keys, theme.dtype)), foot);
}

/// The status bar's word on a tab's checks: `checks 9 ✓ 1 ! 2 ✗`.
pub(super) fn checks_summary(tab: &Tab) -> Option<String> {
    let checks = &tab.checks;
    if let CheckRun::Running { started, .. } = &checks.run {
        return Some(format!("{} checking", spinner(*started)));
    }
    if let Some(started) = checks.suggesting.or(checks.adding) {
        return Some(format!("{} reading the data for checks", spinner(started)));
    }
    let CheckRun::Ready { report, steps, version } = &checks.run else { return None };
    let n = |s: Status| report.count(s);
    let stale = if *steps != tab.steps || *version != checks.version { " (older view)" } else { "" };
    Some(format!("checks {} ✓ {} ! {} ✗{stale}", n(Status::Pass), n(Status::Warn), n(Status::Fail)))
}
