//! The profile panel (`p`): per column of the current view, nulls, distinct values,
//! extremes, mean, deviation, quantiles, top values and a histogram, computed in the
//! background for one view of the tab and dropped when the view changes.

use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use assay_core::profile::{sparkline, ColumnProfile};

use super::app::{App, Message, Mode};
use super::jobs::{Job, TabId};
use super::keymap::Action;
use super::view::{cut, spinner, thousands, Theme};
use assay_core::output::short_number;

/// A tab's column profile, for one view of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    None,
    Running { view: u64, started: Instant },
    Ready { view: u64, columns: Vec<ColumnProfile> },
    Failed { view: u64, error: String },
}

impl App {
    /// Opens the profile of tab `tab`'s view, starting it unless it is there already.
    pub(super) fn open_profile(&mut self, tab: usize) -> Vec<Job> {
        self.mode = Mode::Profile { scroll: 0 };
        let Some(t) = self.tabs.get_mut(tab) else { return Vec::new() };
        let view = t.view;
        let fresh = match &t.profile {
            Profile::Running { view: v, .. } | Profile::Ready { view: v, .. } => *v == view,
            Profile::Failed { .. } | Profile::None => false,
        };
        if fresh {
            return Vec::new();
        }
        t.profile = Profile::Running { view, started: Instant::now() };
        vec![Job::Profile { tab: t.id.clone(), view, steps: t.steps.clone() }]
    }

    /// Keys of the profile panel: Esc (or `p` again) closes it, cancelling a profile
    /// still running; up and down scroll; left and right move between columns.
    pub(super) fn profile_key(&mut self, action: Action) -> Vec<Job> {
        let Mode::Profile { scroll } = &mut self.mode else { return Vec::new() };
        match action {
            Action::Cancel | Action::Profile => {
                self.mode = Mode::Normal;
                let tab = self.active;
                match self.tabs.get_mut(tab) {
                    Some(t) if matches!(t.profile, Profile::Running { .. }) => {
                        t.profile = Profile::None;
                        self.message = Some(Message { text: "profile cancelled".into(), error: false });
                        vec![Job::Cancel { tab: t.id.clone() }]
                    }
                    _ => Vec::new(),
                }
            }
            Action::Down | Action::PageDown => {
                *scroll += 1;
                Vec::new()
            }
            Action::Up | Action::PageUp => {
                *scroll = scroll.saturating_sub(1);
                Vec::new()
            }
            Action::Left | Action::Right | Action::FirstColumn | Action::LastColumn => self.normal(action),
            _ => Vec::new(),
        }
    }

    /// A profile came in: kept if it is of the view it was asked for.
    pub(super) fn profile_done(
        &mut self,
        tab: TabId,
        view: u64,
        result: assay_core::Result<Vec<ColumnProfile>>,
    ) -> Vec<Job> {
        let Some(t) = self.index_of(&tab).and_then(|i| self.tabs.get_mut(i)) else { return Vec::new() };
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
}

/// The profile panel: one line per column, then the current column in detail.
pub(super) fn render_profile(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, scroll: usize) {
    let Some(tab) = app.tab() else { return };
    frame.render_widget(Clear, area);
    let title = format!(" profile · {} · p or Esc closes · j/k scroll ", tab.dataset.name);
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = match &tab.profile {
        Profile::None => vec![Line::raw("")],
        Profile::Running { started, .. } => vec![Line::raw(format!(
            "{} profiling {} (two scans; Esc cancels)…",
            spinner(*started),
            tab.dataset.spec
        ))],
        Profile::Failed { error, .. } => vec![Line::styled(error.clone(), theme.error)],
        Profile::Ready { view, columns } => {
            let mut lines = profile_lines(columns, tab.col, theme);
            if *view != tab.view {
                lines.insert(
                    0,
                    Line::styled("(the view changed since: press p twice to refresh)", theme.dtype),
                );
            }
            lines
        }
    };
    let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn profile_lines<'a>(columns: &'a [ColumnProfile], current: usize, theme: &Theme) -> Vec<Line<'a>> {
    let rows = columns.first().map(|c| c.rows).unwrap_or(0);
    let mut lines = vec![
        Line::styled(format!("{} rows · {} columns", thousands(rows), columns.len()), theme.dtype),
        Line::styled(
            format!(
                "{:<20} {:<12} {:>8} {:>10} {:<16} {:<16} {:>10} {}",
                "column", "type", "nulls", "distinct", "min", "max", "mean", "histogram"
            ),
            theme.header,
        ),
    ];
    for (i, c) in columns.iter().enumerate() {
        let text = format!(
            "{:<20} {:<12} {:>7.1}% {:>10} {:<16} {:<16} {:>10} {}",
            cut(&c.name, 20),
            cut(&c.dtype, 12),
            c.null_fraction * 100.0,
            thousands(c.distinct),
            cut(c.min.as_deref().unwrap_or(""), 16),
            cut(c.max.as_deref().unwrap_or(""), 16),
            c.mean.map(short_number).unwrap_or_default(),
            sparkline(&c.histogram),
        );
        let style = if i == current { theme.cursor } else { Style::default() };
        lines.push(Line::styled(text, style));
    }
    if let Some(c) = columns.get(current) {
        lines.push(Line::raw(""));
        lines.push(Line::styled(format!("{} ({})", c.name, c.dtype), theme.header));
        lines.push(Line::raw(format!(
            "  nulls {} of {} ({:.2}%) · distinct {}",
            thousands(c.nulls),
            thousands(c.rows),
            c.null_fraction * 100.0,
            thousands(c.distinct)
        )));
        if let (Some(mean), Some(std)) = (c.mean, c.std) {
            lines.push(Line::raw(format!("  mean {} · std {}", short_number(mean), short_number(std))));
        }
        if let Some([q1, q2, q3]) = c.quantiles {
            lines.push(Line::raw(format!(
                "  {}p25 {} · median {} · p75 {}",
                if c.approximate { "≈ " } else { "" },
                short_number(q1),
                short_number(q2),
                short_number(q3)
            )));
        }
        let top_max = c.top.iter().map(|t| t.1).max().unwrap_or(1).max(1);
        if !c.top.is_empty() {
            lines.push(Line::styled("  top values", theme.dtype));
        } else if c.approximate && c.distinct > 0 {
            lines.push(Line::styled("  top values: not counted (mostly distinct values)", theme.dtype));
        }
        for (value, n) in &c.top {
            let bar = "█".repeat(((n * 30) / top_max) as usize);
            lines.push(Line::raw(format!("  {:<24} {:>10} {bar}", cut(value, 24), thousands(*n))));
        }
        if !c.histogram.is_empty() {
            lines.push(Line::styled("  histogram (lower bound, rows)", theme.dtype));
            let h_max = c.histogram.iter().map(|b| b.1).max().unwrap_or(1).max(1);
            for (lo, n) in &c.histogram {
                let bar = "█".repeat(((n * 40) / h_max) as usize);
                lines.push(Line::raw(format!("  {:>12} {:>10} {bar}", short_number(*lo), thousands(*n))));
            }
        }
    }
    lines
}
