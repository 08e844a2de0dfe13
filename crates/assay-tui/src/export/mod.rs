//! The export dialog (`x` on any grid: a dataset, a filtered view or a query result):
//! the destination (a file, `sqlite://…?table=T` or `postgres://…?table=T`), its format
//! and writer options, or the load's mode and key. The export runs in the background
//! with a progress line (rows, bytes, time left when the row count is known) and stops
//! on Esc, leaving the previous output as it was; an existing file or table is replaced
//! only after the user says so. A finished export becomes an output of the tab's recipe.

mod dialog;

pub use dialog::{ExportDialog, Field, Outcome, FORMATS};

use std::sync::Arc;
use std::time::Instant;

use assay_core::db::ExportPlan;
use assay_core::sink::Watch;

use super::app::{App, Job, Message, Mode, PaletteKey, RowCount, TabId};
use super::view::Theme;
use super::view::{centered, human_bytes, thousands};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// Runs `plan` on tab `tab`'s view in the background: `(true, _)` when the destination
/// exists and `overwrite` was not given (nothing done then).
pub async fn run(
    ws: &assay_core::app::Workspace,
    tab: &TabId,
    steps: &[assay_core::transform::Step],
    plan: &ExportPlan,
    overwrite: bool,
    watch: Arc<Watch>,
    options: &assay_core::source::OpenOptions,
) -> (bool, assay_core::Result<u64>) {
    let Some(ds) = ws.dataset(tab.name()).cloned() else {
        return (false, Err(assay_core::Error::runtime("the tab is gone")));
    };
    let endpoint = options.s3_endpoint.as_deref();
    if !overwrite {
        match plan.exists(&ds.files, endpoint).await {
            Ok(true) => return (true, Ok(0)),
            Ok(false) => {}
            Err(e) => return (false, Err(e.into())),
        }
    }
    (false, ws.export_plan(&ds, steps, plan, true, endpoint, Some(watch)).await)
}

impl App {
    /// Opens the export dialog for the active tab (proposing `out/NAME.parquet`, or the
    /// tab's last output).
    pub(super) fn open_export(&mut self) -> Vec<Job> {
        let tab = self.active;
        let Some(t) = self.tabs.get(tab) else { return Vec::new() };
        if self.exporting.is_some() {
            self.message =
                Some(Message { text: "an export is running (Esc cancels it)".into(), error: true });
            return Vec::new();
        }
        let proposed = format!("out/{}.parquet", t.dataset.name);
        self.mode = Mode::Export(Box::new(ExportDialog::new(tab, proposed)));
        Vec::new()
    }

    /// A key in the export dialog.
    pub fn export_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let Mode::Export(dialog) = &mut self.mode else { return Vec::new() };
        match dialog.key(key) {
            Outcome::Stay => Vec::new(),
            Outcome::Close => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Outcome::Start(plan, overwrite) => {
                let tab = dialog.tab;
                self.mode = Mode::Normal;
                self.start_export(tab, plan, overwrite)
            }
        }
    }

    fn start_export(&mut self, tab: usize, plan: ExportPlan, overwrite: bool) -> Vec<Job> {
        let Some(t) = self.tabs.get(tab) else { return Vec::new() };
        let watch = Arc::new(Watch::default());
        let total = match t.count {
            RowCount::Known(n) => Some(n),
            _ => None,
        };
        self.exporting = Some(Exporting {
            tab: t.id.clone(),
            destination: plan.destination(),
            watch: watch.clone(),
            started: Instant::now(),
            total,
        });
        self.message = None;
        vec![Job::Export { tab: t.id.clone(), steps: t.steps.clone(), plan, overwrite, watch }]
    }

    /// An export's answer: done (the output joins the tab's recipe), failed, cancelled,
    /// or waiting for the user to confirm replacing what is there.
    pub(super) fn exported(
        &mut self,
        tab: TabId,
        plan: ExportPlan,
        exists: bool,
        result: assay_core::Result<u64>,
    ) -> Vec<Job> {
        let Some(running) = self.exporting.take() else { return Vec::new() };
        // The tab may have been closed while its export ran.
        let tab = self.index_of(&tab);
        if exists {
            if let Some(tab) = tab {
                let mut dialog = ExportDialog::from_plan(tab, &plan);
                dialog.confirm = true;
                dialog.error =
                    Some(format!("{} exists: y replaces it, any other key goes back", plan.destination()));
                self.mode = Mode::Export(Box::new(dialog));
            }
            return Vec::new();
        }
        let elapsed = running.started.elapsed().as_secs_f64();
        self.message = Some(match result {
            _ if running.watch.cancelled() => Message {
                text: format!("export to {} cancelled: nothing was written", plan.destination()),
                error: false,
            },
            Ok(rows) => {
                let (name, output) = assay_core::recipe::output_of(&plan);
                let mut recipe_note = String::new();
                if let Some(t) = tab.and_then(|tab| self.tabs.get_mut(tab)) {
                    // The same destination again replaces its output; a new one gets a
                    // name of its own.
                    let same = t
                        .outputs
                        .iter()
                        .find(|(_, o)| o.destination() == output.destination())
                        .map(|(n, _)| n.clone());
                    let name = same.unwrap_or_else(|| {
                        let mut candidate = name.clone();
                        let mut n = 2;
                        while t.outputs.contains_key(&candidate) {
                            candidate = format!("{name}_{n}");
                            n += 1;
                        }
                        candidate
                    });
                    recipe_note = format!("; the recipe's output `{name}` repeats it");
                    t.outputs.insert(name, output);
                }
                Message {
                    text: format!(
                        "{} row{} exported to {} in {elapsed:.1} s{recipe_note}",
                        thousands(rows),
                        if rows == 1 { "" } else { "s" },
                        plan.destination()
                    ),
                    error: false,
                }
            }
            Err(e) => Message { text: format!("export to {} failed: {e}", plan.destination()), error: true },
        });
        Vec::new()
    }
}

/// A running export.
#[derive(Debug)]
pub struct Exporting {
    pub tab: TabId,
    pub destination: String,
    pub watch: Arc<Watch>,
    pub started: Instant,
    /// The view's row count, when known (for the fraction and the time left).
    pub total: Option<u64>,
}

impl Exporting {
    /// The status line: rows (of the total), bytes, time left, how to stop.
    pub fn status(&self) -> String {
        let rows = self.watch.rows();
        let bytes = self.watch.bytes();
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut line = format!("exporting to {}: {} rows", self.destination, thousands(rows));
        if let Some(total) = self.total.filter(|t| *t > 0) {
            let fraction = (rows as f64 / total as f64).min(1.0);
            line.push_str(&format!(" of {} ({:.0}%)", thousands(total), fraction * 100.0));
            if fraction > 0.01 {
                let left = elapsed * (1.0 - fraction) / fraction;
                line.push_str(&format!(", {} left", clock(left)));
            }
        }
        if bytes > 0 {
            line.push_str(&format!(", {}", human_bytes(bytes)));
        }
        if self.watch.cancelled() {
            line.push_str(" · cancelling…");
        } else {
            line.push_str(&format!(" · {} · Esc cancels", clock(elapsed)));
        }
        line
    }
}

fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// The export dialog: one line per option of the destination, the selected one marked.
pub(super) fn render_export(
    frame: &mut Frame,
    app: &App,
    theme: &Theme,
    dialog: &super::export::ExportDialog,
) {
    let name = app.tabs.get(dialog.tab).map(|t| t.dataset.name.as_str()).unwrap_or("?");
    let mut lines: Vec<Line> = dialog
        .lines()
        .into_iter()
        .map(|(label, value, selected)| {
            let marker = if selected { "▶ " } else { "  " };
            let mut spans = vec![
                Span::styled(format!("{marker}{label:>15}: "), theme.header),
                Span::styled(value, if selected { theme.cursor } else { theme.popup }),
            ];
            if selected {
                spans.push(Span::raw("▏"));
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::raw(""));
    match &dialog.error {
        Some(e) => lines.push(Line::styled(format!("  {e}"), theme.error)),
        None => lines.push(Line::raw(
            "  a file (.parquet .csv .tsv .ndjson .arrow; local or s3://), sqlite://PATH?table=T or postgres://…?table=T",
        )),
    }
    let area = centered(frame.area(), 110, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let title =
        format!(" export {name} · ↑↓ move · space/⌫ change · type to edit · Enter exports · Esc closes ");
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_rows_bytes_and_time_left() {
        let watch = Arc::new(Watch::default());
        let e = Exporting {
            tab: TabId::next("orders"),
            destination: "o.parquet".into(),
            watch: watch.clone(),
            started: Instant::now() - std::time::Duration::from_secs(10),
            total: Some(4_000_000),
        };
        watch.record(1_000_000, 3 << 20);
        assert_eq!(e.status(), "exporting to o.parquet: 1,000,000 rows of 4,000,000 (25%), 0:30 left, 3.1 MB · 0:10 · Esc cancels");
        watch.cancel();
        assert!(e.status().ends_with("cancelling…"));
    }
}
