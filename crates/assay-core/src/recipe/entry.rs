//! A step as the recipe writes it (`StepEntry`, one key naming the kind) and the step
//! model it lowers to, both ways.

use super::*;

impl StepEntry {
    /// The one step this entry holds.
    pub(super) fn lower(&self) -> std::result::Result<Step, String> {
        let mut steps = Vec::new();
        if let Some(sql) = &self.filter {
            steps.push(Step::Filter { sql: sql.trim().to_string() });
        }
        if let Some(columns) = &self.select {
            steps.push(Step::Select { columns: columns.clone() });
        }
        if let Some(columns) = &self.drop {
            steps.push(Step::Drop { columns: columns.clone() });
        }
        if let Some(m) = &self.rename {
            steps.push(Step::Rename { columns: m.iter().map(|(a, b)| (a.clone(), b.clone())).collect() });
        }
        if let Some(m) = &self.cast {
            steps.push(Step::Cast { columns: m.iter().map(|(a, b)| (a.clone(), *b)).collect() });
        }
        if let Some(m) = &self.derive {
            steps.push(Step::Derive { columns: m.iter().map(|(a, b)| (a.clone(), b.clone())).collect() });
        }
        if let Some(m) = &self.fill_null {
            steps.push(Step::FillNull { columns: m.iter().map(|(a, b)| (a.clone(), b.clone())).collect() });
        }
        if let Some(keys) = &self.sort {
            if keys.is_empty() {
                return Err("sort: give at least one column".into());
            }
            steps.push(Step::Sort { keys: keys.iter().map(SortSpec::key).collect() });
        }
        if let Some(d) = &self.dedupe {
            steps.push(Step::Dedupe {
                columns: d.columns.clone(),
                keep: d.keep,
                order_by: d.order_by.iter().map(SortSpec::key).collect(),
            });
        }
        if let Some(j) = &self.join {
            let (left_on, right_on) = match (j.on.is_empty(), j.left_on.is_empty(), j.right_on.is_empty()) {
                (false, true, true) => (j.on.clone(), j.on.clone()),
                (true, false, false) if j.left_on.len() == j.right_on.len() => {
                    (j.left_on.clone(), j.right_on.clone())
                }
                (true, false, false) => return Err("join: `left_on` and `right_on` differ in length".into()),
                _ => return Err("join: give `on`, or `left_on` and `right_on`".into()),
            };
            steps.push(Step::Join(Join {
                table: j.source.clone(),
                left_on,
                right_on,
                how: j.how,
                suffix: j.suffix.clone().unwrap_or_else(|| "_right".into()),
            }));
        }
        if let Some(query) = &self.sql {
            steps.push(Step::Sql { query: query.clone(), engine: self.engine });
        } else if self.engine.is_some() {
            return Err("`engine` is for sql steps".into());
        }
        if let Some(rows) = self.limit {
            steps.push(Step::Limit { rows });
        }
        match steps.len() {
            1 => Ok(steps.remove(0)),
            0 => Err("no step key (filter, select, drop, rename, cast, derive, fill_null, sort, dedupe, join, sql, limit)"
                .into()),
            _ => Err(format!(
                "one step per [[steps]] entry; this one has {}",
                steps.iter().map(|s| s.kind()).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The entry that records `step` (for saving what the workbench did).
    pub fn from_step(step: &Step) -> StepEntry {
        let mut e = StepEntry::default();
        match step {
            Step::Disabled(inner) => {
                e = StepEntry::from_step(inner);
                e.enabled = Some(false);
            }
            Step::Filter { sql } => e.filter = Some(sql.clone()),
            Step::Sort { keys } => e.sort = Some(keys.iter().map(SortSpec::from_key).collect()),
            Step::Select { columns } => e.select = Some(columns.clone()),
            Step::Drop { columns } => e.drop = Some(columns.clone()),
            Step::Rename { columns } => e.rename = Some(columns.iter().cloned().collect()),
            Step::Cast { columns } => e.cast = Some(columns.iter().cloned().collect()),
            Step::Derive { columns } => e.derive = Some(columns.iter().cloned().collect()),
            Step::FillNull { columns } => e.fill_null = Some(columns.iter().cloned().collect()),
            Step::Dedupe { columns, keep, order_by } => {
                e.dedupe = Some(DedupeSpec {
                    columns: columns.clone(),
                    keep: *keep,
                    order_by: order_by.iter().map(SortSpec::from_key).collect(),
                })
            }
            Step::Join(j) => {
                let same = j.left_on == j.right_on;
                e.join = Some(JoinSpec {
                    source: j.table.clone(),
                    on: if same { j.left_on.clone() } else { Vec::new() },
                    left_on: if same { Vec::new() } else { j.left_on.clone() },
                    right_on: if same { Vec::new() } else { j.right_on.clone() },
                    how: j.how,
                    suffix: (j.suffix != "_right").then(|| j.suffix.clone()),
                })
            }
            Step::Sql { query, engine } => {
                e.sql = Some(query.clone());
                e.engine = *engine;
            }
            Step::Limit { rows } => e.limit = Some(*rows),
        }
        e
    }
}
