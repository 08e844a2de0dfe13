//! The explain view (`ctrl-x` in the SQL editor): both engines' plans of the query side
//! by side — logical, optimized, physical, and with `a` the analyzed run — each operator
//! a line that folds its inputs.

use std::time::Instant;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::super::app::{App, Job, Message, Mode};
use super::super::keymap::{Action, Keymap, Scope};
use super::super::view::Theme;

/// Words in a plan that say work was pushed into the scan (predicate, projection,
/// slice or limit, statistics pruning).
pub const PUSHDOWN: &[&str] = &[
    "SELECTION",
    "PROJECT",
    "predicate=",
    "projection=",
    "SLICE",
    "fetch=",
    "limit=",
    "pruning_predicate",
    "row_groups_pruned",
];

/// The explain view's section names, in order (keys 1-4 fold them).
pub const SECTIONS: [&str; 4] = ["logical", "optimized", "physical", "analyzed"];

/// The explain view: both engines' plans of `query`, side by side, with sections folded
/// or not (logical, optimized, physical, analyzed).
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainView {
    pub query: String,
    pub plans: Vec<assay_core::engine::Plans>,
    pub analyzed: bool,
    pub scroll: usize,
    pub folded: [bool; 4],
    /// The engine column the cursor is in, and the cursor's line among its shown lines.
    pub side: usize,
    pub cursor: usize,
    /// Operators folded (their inputs hidden): (engine, section, line in the section).
    pub closed: std::collections::HashSet<(usize, usize, usize)>,
}

/// One shown line of an engine's column in the explain view.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanLine {
    pub text: String,
    pub kind: LineKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LineKind {
    Engine,
    /// A section's title (index into `SECTIONS`).
    Section(usize),
    /// An operator: its section and line, whether it pushes work into the scan, whether
    /// it has inputs (it folds).
    Operator {
        section: usize,
        line: usize,
        pushdown: bool,
        parent: bool,
    },
    Blank,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

impl ExplainView {
    pub fn new(query: String, plans: Vec<assay_core::engine::Plans>, analyzed: bool) -> ExplainView {
        // Analyzed plans are long: the plans as written start folded.
        let folded = [analyzed, analyzed, false, false];
        ExplainView {
            query,
            plans,
            analyzed,
            scroll: 0,
            folded,
            side: 0,
            cursor: 0,
            closed: Default::default(),
        }
    }

    /// The lines shown for engine `e`: its sections (folded ones as one line) and their
    /// operators as trees, a folded operator as one line saying how many it hides.
    pub fn lines(&self, e: usize) -> Vec<PlanLine> {
        let Some(p) = self.plans.get(e) else { return Vec::new() };
        let mut out = vec![PlanLine { text: format!("── {} ──", p.engine), kind: LineKind::Engine }];
        let analyzed = p.analyzed.as_ref().map(|a| match p.elapsed {
            Some(d) => (format!("analyzed ({:.1} ms)", d.as_secs_f64() * 1000.0), a.as_str()),
            None => ("analyzed".to_string(), a.as_str()),
        });
        let sections = [
            Some((SECTIONS[0].to_string(), p.logical.as_str())),
            Some((SECTIONS[1].to_string(), p.optimized.as_str())),
            p.physical.as_deref().map(|b| (SECTIONS[2].to_string(), b)),
            analyzed,
        ];
        for (i, section) in sections.iter().enumerate() {
            let Some((title, body)) = section else { continue };
            let body: Vec<&str> = body.lines().collect();
            if self.folded[i] {
                out.push(PlanLine {
                    text: format!("{} ▸ {title} ({} lines)", i + 1, body.len()),
                    kind: LineKind::Section(i),
                });
                continue;
            }
            out.push(PlanLine { text: format!("{} ▾ {title}", i + 1), kind: LineKind::Section(i) });
            let mut j = 0;
            while j < body.len() {
                let l = body[j];
                let depth = indent(l);
                let inputs = body[j + 1..].iter().take_while(|n| indent(n) > depth).count();
                let pushdown = PUSHDOWN.iter().any(|m| l.contains(m));
                let closed = inputs > 0 && self.closed.contains(&(e, i, j));
                let mark = match (inputs > 0, closed) {
                    (true, true) => "▸ ",
                    (true, false) => "▾ ",
                    _ => "  ",
                };
                let pad = " ".repeat(depth);
                let mut text = format!("{}{pad}{mark}{}", if pushdown { "▶" } else { " " }, l.trim_start());
                if closed {
                    text.push_str(&format!("  … {inputs} lines"));
                }
                out.push(PlanLine {
                    text,
                    kind: LineKind::Operator { section: i, line: j, pushdown, parent: inputs > 0 },
                });
                j += if closed { inputs + 1 } else { 1 };
            }
            out.push(PlanLine { text: String::new(), kind: LineKind::Blank });
        }
        out
    }

    /// Folds or unfolds what the cursor is on: an operator's inputs, or a section.
    pub fn toggle(&mut self) {
        let lines = self.lines(self.side);
        match lines.get(self.cursor).map(|l| l.kind) {
            Some(LineKind::Operator { section, line, parent: true, .. }) => {
                let key = (self.side, section, line);
                if !self.closed.remove(&key) {
                    self.closed.insert(key);
                }
            }
            Some(LineKind::Section(i)) => self.folded[i] = !self.folded[i],
            _ => {}
        }
    }

    /// Moves the cursor by `by` lines within the focused column (the view scrolls to
    /// keep it in sight).
    pub fn move_cursor(&mut self, by: isize) {
        let n = self.lines(self.side).len();
        self.cursor = (self.cursor as isize + by).clamp(0, n.saturating_sub(1) as isize) as usize;
        if self.cursor < self.scroll {
            self.scroll = self.cursor;
        } else if self.cursor > self.scroll + 20 {
            self.scroll = self.cursor - 20;
        }
    }
}

impl App {
    /// A key in the explain view: scroll, fold a section (1-4), run the query for
    /// per-operator rows and time (`a`), save the plans to a file (`s`), back (Esc).
    pub fn explain_key(&mut self, action: Action) -> Vec<Job> {
        let Mode::Explain(view) = &mut self.mode else { return Vec::new() };
        match action {
            Action::Down => view.move_cursor(1),
            Action::Up => view.move_cursor(-1),
            Action::PageDown => view.move_cursor(20),
            Action::PageUp => view.move_cursor(-20),
            Action::Top => {
                view.cursor = 0;
                view.scroll = 0;
            }
            Action::ToggleFold => view.toggle(),
            Action::SwitchPane => {
                view.side = (view.side + 1) % view.plans.len().max(1);
                view.cursor = view.cursor.min(view.lines(view.side).len().saturating_sub(1));
            }
            Action::Fold1 | Action::Fold2 | Action::Fold3 | Action::Fold4 => {
                let i = [Action::Fold1, Action::Fold2, Action::Fold3, Action::Fold4]
                    .iter()
                    .position(|a| *a == action)
                    .unwrap_or(0);
                view.folded[i] = !view.folded[i];
            }
            Action::Analyze if !view.analyzed => {
                let query = view.query.clone();
                if let Some(editor) = self.sql.as_mut() {
                    editor.running = Some(Instant::now());
                    editor.explaining = Some((query.clone(), true));
                }
                self.message = Some(Message {
                    text: "running the query on both engines for per-operator rows and time… (Esc stops)"
                        .into(),
                    error: false,
                });
                return vec![Job::Explain { query, analyze: true }];
            }
            Action::SavePlans | Action::Copy => {
                let mut text = Vec::new();
                if let Err(e) = assay_core::output::write_plans(&mut text, &view.query, &view.plans, false) {
                    self.message = Some(Message { text: e.to_string(), error: true });
                    return Vec::new();
                }
                if action == Action::Copy {
                    let text = format!("{}\n\n{}", view.query, String::from_utf8_lossy(&text));
                    self.message = Some(Message {
                        text: format!("copied the plans ({} lines) to the clipboard", text.lines().count()),
                        error: false,
                    });
                    self.clipboard = Some(text);
                    return Vec::new();
                }
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let text = format!("{}\n\n{}", view.query, String::from_utf8_lossy(&text));
                return vec![Job::SavePlans { path: format!("assay-plans-{stamp}.txt"), text }];
            }
            Action::Cancel => {
                self.mode = Mode::Sql;
                self.message = None;
                // Leaving while EXPLAIN ANALYZE runs stops it.
                if let Some(editor) = self.sql.as_mut() {
                    if editor.running.take().is_some() {
                        editor.explaining = None;
                        return vec![Job::CancelSql];
                    }
                }
            }
            _ => {}
        }
        Vec::new()
    }
}

/// Both engines' plans side by side: logical, optimized, DataFusion's physical and, after
/// `a`, the analyzed plans with per-operator rows and time; sections fold with 1-4, and
/// the lines that push work into the scan are marked.
pub(crate) fn render_explain(
    frame: &mut Frame,
    keymap: &Keymap,
    theme: &Theme,
    area: Rect,
    view: &ExplainView,
) {
    frame.render_widget(Clear, area);
    let k = |a| keymap.key(Scope::Explain, a);
    let analyze = if view.analyzed {
        String::new()
    } else {
        format!("{} runs it (rows, time) · ", k(Action::Analyze))
    };
    let title = format!(
        " explain · {}/{} move · {} folds · {} other engine · 1-4 sections · {analyze}{} saves · {} copies · {} back · ▶ pushdown ",
        k(Action::Down),
        k(Action::Up),
        k(Action::ToggleFold),
        k(Action::SwitchPane),
        k(Action::SavePlans),
        k(Action::Copy),
        k(Action::Cancel),
    );
    let block = Block::default().borders(Borders::ALL).title(title).style(theme.popup);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let n = view.plans.len().max(1);
    let columns = Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n]).split(inner);
    for (e, column) in columns.iter().enumerate().take(view.plans.len()) {
        let lines: Vec<Line> = view
            .lines(e)
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let style = match l.kind {
                    _ if e == view.side && i == view.cursor => theme.cursor,
                    LineKind::Engine | LineKind::Section(_) => theme.header,
                    LineKind::Operator { pushdown: true, .. } => theme.warn,
                    _ => Style::default(),
                };
                Line::styled(l.text, style)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines).scroll((view.scroll as u16, 0)), *column);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_operators_fold_their_inputs() {
        let plans = vec![assay_core::engine::Plans {
            engine: "datafusion",
            logical: "Projection: a\n  Filter: a > 1\n    TableScan: t projection=[a]\n  Other\nSort: a"
                .into(),
            optimized: "TableScan: t".into(),
            physical: None,
            analyzed: None,
            elapsed: None,
            chosen: None,
        }];
        let mut v = ExplainView::new("q".into(), plans, false);
        let texts = |v: &ExplainView| v.lines(0).into_iter().map(|l| l.text).collect::<Vec<_>>();
        assert_eq!(
            texts(&v)[..7],
            [
                "── datafusion ──",
                "1 ▾ logical",
                " ▾ Projection: a",
                "   ▾ Filter: a > 1",
                "▶      TableScan: t projection=[a]",
                "     Other",
                "   Sort: a",
            ]
        );
        // The cursor on Filter: Enter hides its input; again shows it.
        v.move_cursor(3);
        v.toggle();
        assert_eq!(texts(&v)[3], "   ▸ Filter: a > 1  … 1 lines");
        assert_eq!(texts(&v)[4], "     Other");
        v.toggle();
        assert_eq!(texts(&v)[4], "▶      TableScan: t projection=[a]");
        // The root folds everything under it; a section title folds the section.
        v.move_cursor(-1);
        v.toggle();
        assert_eq!(texts(&v)[2], " ▸ Projection: a  … 3 lines");
        assert_eq!(texts(&v)[3], "   Sort: a");
        v.move_cursor(-1);
        v.toggle();
        assert_eq!(texts(&v)[1], "1 ▸ logical (5 lines)");
        assert!(v.folded[0]);
    }
}
