//! The filter builder's editing state: a `transform::filter::Group` being built, the
//! row the cursor is on, and the prompt being answered (column, operator, values, or the
//! whole filter as SQL). It changes only through `FilterEditor::key`; the app turns the
//! finished group into a filter step.

use assay_core::transform::filter::{Combine, Condition, Group, Kind, Node, Op};

use super::app::{App, ColumnInfo, Job, Mode, PaletteKey};
use super::keymap::Action;
use super::palette::fuzzy_score;
use super::view::{centered, Theme};
use assay_core::transform::Step;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// What the builder is asking for.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Browsing the conditions.
    List,
    /// Picking a column (typing filters the list).
    Column { input: String, selected: usize },
    /// Picking an operator for `column`.
    Operator { column: usize, selected: usize },
    /// Typing the value(s) for `column op`.
    Value { column: usize, op: Op, input: String },
    /// Editing the whole filter as SQL.
    Sql { input: String },
}

/// What a key did to the builder.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Continue,
    /// Close and keep the rows matching the group (an empty group removes the filter).
    Apply(Group),
    /// Close without changing anything.
    Cancel,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FilterEditor {
    pub group: Group,
    /// The row of `rows()` the cursor is on (0 is the outer group).
    pub cursor: usize,
    pub stage: Stage,
    /// The column the cursor was on in the grid, offered first.
    pub current_column: usize,
    /// Whether applying replaces the view's last filter (it was opened from it).
    pub replaces: bool,
    pub error: Option<String>,
}

/// One line of the builder's list: how deep it is, and where in the tree it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub depth: usize,
    pub path: Vec<usize>,
}

impl FilterEditor {
    /// Empties the text being typed (ctrl-u): a column name, a value or the SQL.
    pub fn clear_input(&mut self) {
        match &mut self.stage {
            Stage::Column { input, selected } => {
                input.clear();
                *selected = 0;
            }
            Stage::Value { input, .. } | Stage::Sql { input } => input.clear(),
            Stage::List | Stage::Operator { .. } => {}
        }
    }

    pub fn new(group: Group, current_column: usize, replaces: bool) -> FilterEditor {
        let stage = if group.items.is_empty() {
            Stage::Column { input: String::new(), selected: 0 }
        } else {
            Stage::List
        };
        FilterEditor { group, cursor: 0, stage, current_column, replaces, error: None }
    }

    /// Every group and condition, depth first, the outer group first.
    pub fn rows(&self) -> Vec<Row> {
        fn walk(g: &Group, depth: usize, path: &mut Vec<usize>, out: &mut Vec<Row>) {
            for (i, item) in g.items.iter().enumerate() {
                path.push(i);
                out.push(Row { depth, path: path.clone() });
                if let Node::Group(inner) = item {
                    walk(inner, depth + 1, path, out);
                }
                path.pop();
            }
        }
        let mut out = vec![Row { depth: 0, path: Vec::new() }];
        walk(&self.group, 1, &mut Vec::new(), &mut out);
        out
    }

    fn group_at(&mut self, path: &[usize]) -> Option<&mut Group> {
        let mut g = &mut self.group;
        for &i in path {
            match g.items.get_mut(i) {
                Some(Node::Group(inner)) => g = inner,
                _ => return None,
            }
        }
        Some(g)
    }

    /// The item at `path` (`None` for the outer group, the empty path, or no item).
    pub fn node_at(&self, path: &[usize]) -> Option<&Node> {
        let (&last, parents) = path.split_last()?;
        let mut g = &self.group;
        for &i in parents {
            match g.items.get(i) {
                Some(Node::Group(inner)) => g = inner,
                _ => return None,
            }
        }
        g.items.get(last)
    }

    /// The path of the group new items go into: the group under the cursor, or the
    /// group holding the condition under it.
    fn target(&self) -> Vec<usize> {
        let rows = self.rows();
        let path = rows.get(self.cursor).map(|r| r.path.clone()).unwrap_or_default();
        match self.node_at(&path) {
            None | Some(Node::Group(_)) => path,
            Some(_) => path[..path.len() - 1].to_vec(),
        }
    }

    /// Columns matching the typed text, best first (the grid's column first when empty).
    pub fn column_matches(&self, columns: &[ColumnInfo], input: &str) -> Vec<usize> {
        if input.is_empty() {
            let mut all: Vec<usize> = (0..columns.len()).collect();
            if self.current_column < all.len() {
                all.remove(self.current_column);
                all.insert(0, self.current_column);
            }
            return all;
        }
        let mut scored: Vec<(i64, usize)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| fuzzy_score(input, &c.name).map(|s| (s, i)))
            .collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        scored.into_iter().map(|s| s.1).collect()
    }

    /// The operators that fit a column.
    pub fn operators(column: &ColumnInfo) -> Vec<Op> {
        let text = Kind::of(&column.dtype, column.numeric) == Kind::Text;
        Op::ALL.into_iter().filter(|op| text || !op.text_only()).collect()
    }

    /// The SQL the builder stands for.
    pub fn sql(&self) -> String {
        self.group.to_sql()
    }

    /// Whether keys are commands (the list, the operator choice) rather than text.
    pub fn takes_commands(&self) -> bool {
        matches!(self.stage, Stage::List | Stage::Operator { .. })
    }

    pub fn key(&mut self, key: PaletteKey, columns: &[ColumnInfo]) -> Outcome {
        self.error = None;
        let stage = std::mem::replace(&mut self.stage, Stage::List);
        self.stage = match stage {
            Stage::List => return self.list_key(key),
            Stage::Column { mut input, mut selected } => match key {
                PaletteKey::Char(c) => {
                    input.push(c);
                    Stage::Column { input, selected: 0 }
                }
                PaletteKey::Backspace => {
                    input.pop();
                    Stage::Column { input, selected: 0 }
                }
                PaletteKey::Up => Stage::Column { input, selected: selected.saturating_sub(1) },
                PaletteKey::Down => {
                    selected =
                        (selected + 1).min(self.column_matches(columns, &input).len().saturating_sub(1));
                    Stage::Column { input, selected }
                }
                PaletteKey::Enter => match self.column_matches(columns, &input).get(selected) {
                    Some(&column) => Stage::Operator { column, selected: 0 },
                    None => {
                        self.error = Some(format!("no column matches `{input}`"));
                        Stage::Column { input, selected }
                    }
                },
                PaletteKey::Esc => Stage::List,
                PaletteKey::Act(_) => Stage::Column { input, selected },
            },
            Stage::Operator { column, selected } => {
                let ops = columns.get(column).map(Self::operators).unwrap_or_default();
                match key {
                    PaletteKey::Up | PaletteKey::Act(Action::Up) => {
                        Stage::Operator { column, selected: selected.saturating_sub(1) }
                    }
                    PaletteKey::Down | PaletteKey::Act(Action::Down) => {
                        Stage::Operator { column, selected: (selected + 1).min(ops.len().saturating_sub(1)) }
                    }
                    PaletteKey::Enter => match ops.get(selected) {
                        Some(&op) if op.arity() == Some(0) => {
                            self.add(columns, column, op, Vec::new());
                            Stage::List
                        }
                        Some(&op) => Stage::Value { column, op, input: String::new() },
                        None => Stage::List,
                    },
                    PaletteKey::Esc => Stage::Column { input: String::new(), selected: 0 },
                    _ => Stage::Operator { column, selected },
                }
            }
            Stage::Value { column, op, mut input } => match key {
                PaletteKey::Char(c) => {
                    input.push(c);
                    Stage::Value { column, op, input }
                }
                PaletteKey::Backspace => {
                    input.pop();
                    Stage::Value { column, op, input }
                }
                PaletteKey::Enter => match values(&input, op, columns.get(column)) {
                    Ok(values) => {
                        self.add(columns, column, op, values);
                        Stage::List
                    }
                    Err(e) => {
                        self.error = Some(e);
                        Stage::Value { column, op, input }
                    }
                },
                PaletteKey::Esc => Stage::Operator { column, selected: 0 },
                PaletteKey::Up | PaletteKey::Down | PaletteKey::Act(_) => Stage::Value { column, op, input },
            },
            Stage::Sql { mut input } => match key {
                PaletteKey::Char(c) => {
                    input.push(c);
                    Stage::Sql { input }
                }
                PaletteKey::Backspace => {
                    input.pop();
                    Stage::Sql { input }
                }
                PaletteKey::Enter if input.trim().is_empty() => {
                    self.group = Group::new(Combine::All);
                    self.cursor = 0;
                    Stage::List
                }
                PaletteKey::Enter => {
                    let kind_of = |name: &str| {
                        columns.iter().find(|c| c.name == name).map(|c| Kind::of(&c.dtype, c.numeric))
                    };
                    match Group::from_sql(&input, &kind_of) {
                        Ok(group) => {
                            self.group = group;
                            self.cursor = 0;
                            Stage::List
                        }
                        Err(e) => {
                            self.error = Some(e.to_string());
                            Stage::Sql { input }
                        }
                    }
                }
                PaletteKey::Esc => Stage::List,
                PaletteKey::Up | PaletteKey::Down | PaletteKey::Act(_) => Stage::Sql { input },
            },
        };
        Outcome::Continue
    }

    fn list_key(&mut self, key: PaletteKey) -> Outcome {
        let rows = self.rows();
        match key {
            PaletteKey::Down | PaletteKey::Act(Action::Down) => {
                self.cursor = (self.cursor + 1).min(rows.len() - 1)
            }
            PaletteKey::Up | PaletteKey::Act(Action::Up) => self.cursor = self.cursor.saturating_sub(1),
            PaletteKey::Act(Action::AddCondition) => {
                self.stage = Stage::Column { input: String::new(), selected: 0 }
            }
            PaletteKey::Act(Action::AddGroup) => {
                let target = self.target();
                let Some(parent) = self.group_at(&target) else { return Outcome::Continue };
                let combine = if parent.combine == Combine::All { Combine::Any } else { Combine::All };
                parent.items.push(Node::Group(Group::new(combine)));
                let mut path = target;
                path.push(parent.items.len() - 1);
                self.cursor = self.rows().iter().position(|r| r.path == path).unwrap_or(0);
                self.stage = Stage::Column { input: String::new(), selected: 0 };
            }
            PaletteKey::Act(Action::ToggleAnyAll) => {
                let target = self.target();
                if let Some(g) = self.group_at(&target) {
                    g.combine = if g.combine == Combine::All { Combine::Any } else { Combine::All };
                }
            }
            PaletteKey::Act(Action::Delete) => {
                let Some(row) = rows.get(self.cursor) else { return Outcome::Continue };
                if let Some((&last, parent)) = row.path.split_last() {
                    let parent = parent.to_vec();
                    if let Some(g) = self.group_at(&parent) {
                        g.items.remove(last);
                    }
                    // The next item moves up under the cursor; after the last, step back.
                    self.cursor = self.cursor.min(self.rows().len() - 1);
                }
            }
            PaletteKey::Act(Action::EditSql) => {
                self.stage = Stage::Sql { input: self.group_sql_for_editing() }
            }
            PaletteKey::Enter => return Outcome::Apply(self.group.clone()),
            PaletteKey::Esc => return Outcome::Cancel,
            _ => {}
        }
        Outcome::Continue
    }

    fn group_sql_for_editing(&self) -> String {
        if self.group.items.is_empty() {
            String::new()
        } else {
            self.group.to_sql()
        }
    }

    /// Adds `column op values` to the group at the cursor and moves the cursor to it.
    fn add(&mut self, columns: &[ColumnInfo], column: usize, op: Op, values: Vec<String>) {
        let Some(info) = columns.get(column) else { return };
        let kind = if op.text_only() { Kind::Text } else { Kind::of(&info.dtype, info.numeric) };
        let condition = Condition { column: info.name.clone(), op, kind, values };
        let target = self.target();
        let Some(g) = self.group_at(&target) else { return };
        g.items.push(Node::Condition(condition));
        let mut path = target;
        path.push(g.items.len() - 1);
        self.cursor = self.rows().iter().position(|r| r.path == path).unwrap_or(0);
    }
}

/// The values typed for `op`: one, `low, high` for between, a comma list for in.
fn values(input: &str, op: Op, column: Option<&ColumnInfo>) -> Result<Vec<String>, String> {
    let numeric = column.is_some_and(|c| c.numeric) && !op.text_only();
    let parts: Vec<String> = match op {
        Op::Between | Op::In => input.split(',').map(|s| s.trim().to_string()).collect(),
        _ => vec![if numeric { input.trim().to_string() } else { input.to_string() }],
    };
    if op == Op::Between && parts.len() != 2 {
        return Err("between takes two values: low, high".into());
    }
    if numeric {
        if let Some(bad) = parts.iter().find(|p| p.parse::<f64>().is_err()) {
            return Err(format!("`{bad}` is not a number"));
        }
    }
    if op == Op::Regex {
        regex::Regex::new(input)
            .map_err(|e| format!("regex: {}", assay_core::engine::first_line(&e.to_string())))?;
    }
    Ok(parts)
}

/// The filter builder: the conditions as a tree, the prompt being answered, the SQL.
pub(super) fn render_filter(frame: &mut Frame, app: &App, theme: &Theme, editor: &FilterEditor) {
    let columns = app.tab().map(|t| t.columns.as_slice()).unwrap_or(&[]);
    let combine = |c: Combine| if c == Combine::All { "all of (AND)" } else { "any of (OR)" };
    let mut lines = Vec::new();
    let list = editor.stage == Stage::List;
    for (i, row) in editor.rows().iter().enumerate() {
        let text = match editor.node_at(&row.path) {
            None => format!("keep rows matching {}", combine(editor.group.combine)),
            Some(Node::Group(g)) => {
                format!("{}{}", combine(g.combine), if g.items.is_empty() { " (empty)" } else { "" })
            }
            Some(Node::Condition(c)) => c.describe(),
            Some(Node::Sql(sql)) => format!("sql: {sql}"),
        };
        let style = if list && i == editor.cursor { theme.cursor } else { Style::default() };
        lines.push(Line::styled(format!("{}{text}", "  ".repeat(row.depth)), style));
    }
    if editor.group.items.is_empty() {
        lines.push(Line::styled("  (no conditions yet)", theme.dtype));
    }
    lines.push(Line::raw(""));
    match &editor.stage {
        Stage::List => {}
        Stage::Column { input, selected } => {
            lines.push(Line::from(vec![
                Span::styled("column: ", theme.header),
                Span::raw(input.clone()),
                Span::raw("▏"),
            ]));
            for (i, &c) in editor.column_matches(columns, input).iter().take(8).enumerate() {
                let style = if i == *selected { theme.cursor } else { Style::default() };
                let info = &columns[c];
                lines.push(Line::styled(format!("  {:<24} {}", info.name, info.dtype), style));
            }
        }
        Stage::Operator { column, selected } => {
            let info = &columns[(*column).min(columns.len().saturating_sub(1))];
            lines.push(Line::styled(format!("{} …", info.name), theme.header));
            for (i, op) in FilterEditor::operators(info).iter().enumerate() {
                let style = if i == *selected { theme.cursor } else { Style::default() };
                lines.push(Line::styled(format!("  {}", op.label()), style));
            }
        }
        Stage::Value { column, op, input } => {
            let name = columns.get(*column).map(|c| c.name.as_str()).unwrap_or("?");
            let hint = match op.arity() {
                Some(2) => "  (low, high)",
                None => "  (values separated by commas)",
                _ => "",
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{name} {} ", op.label()), theme.header),
                Span::raw(input.clone()),
                Span::raw("▏"),
                Span::styled(hint, theme.dtype),
            ]));
        }
        Stage::Sql { input } => {
            lines.push(Line::from(vec![
                Span::styled("WHERE ", theme.header),
                Span::raw(input.clone()),
                Span::raw("▏"),
            ]));
        }
    }
    if let Some(e) = &editor.error {
        lines.push(Line::styled(e.clone(), theme.error));
    }
    lines.push(Line::from(vec![Span::styled("SQL  ", theme.dtype), Span::raw(editor.sql())]));
    let keys = match editor.stage {
        Stage::List => "a add · g add group · o and/or · d delete · e edit as SQL · Enter apply · Esc cancel",
        Stage::Sql { .. } => "Enter reads the SQL back into the builder · Esc back",
        _ => "type to narrow · ↑↓ choose · Enter next · Esc back",
    };
    lines.push(Line::styled(keys, theme.dtype));
    let area = centered(frame.area(), 96, (lines.len() as u16 + 2).min(frame.area().height));
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(" filter ");
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block).style(theme.popup),
        area,
    );
}

impl App {
    /// Keys typed in the filter builder.
    pub fn filter_key(&mut self, key: PaletteKey) -> Vec<Job> {
        let tab = self.active;
        let Some(t) = self.tabs.get(tab) else { return Vec::new() };
        let Mode::Filter(editor) = &mut self.mode else { return Vec::new() };
        match editor.key(key, &t.columns) {
            Outcome::Continue => Vec::new(),
            Outcome::Cancel => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Outcome::Apply(group) => {
                let replaces = editor.replaces;
                let mut steps = t.steps.clone();
                if replaces {
                    steps.pop();
                }
                if !group.items.is_empty() {
                    match Step::filter(&group.to_sql()) {
                        Ok(step) => steps.push(step),
                        Err(e) => {
                            editor.error = Some(e.to_string());
                            return Vec::new();
                        }
                    }
                } else if !replaces {
                    self.mode = Mode::Normal;
                    return Vec::new();
                }
                self.mode = Mode::Normal;
                self.set_steps(tab, steps)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<ColumnInfo> {
        vec![
            ColumnInfo { name: "status".into(), dtype: "str".into(), numeric: false },
            ColumnInfo { name: "amount".into(), dtype: "f64".into(), numeric: true },
        ]
    }

    fn typed(e: &mut FilterEditor, text: &str) {
        for c in text.chars() {
            e.key(PaletteKey::Char(c), &columns());
        }
    }

    #[test]
    fn keys_build_an_and_or_filter() {
        let cols = columns();
        let mut e = FilterEditor::new(Group::new(Combine::All), 1, false);
        // Column prompt first, the grid's column offered first: amount > 10.
        e.key(PaletteKey::Enter, &cols);
        assert!(matches!(e.stage, Stage::Operator { column: 1, .. }));
        for _ in 0..4 {
            e.key(PaletteKey::Down, &cols);
        }
        e.key(PaletteKey::Enter, &cols);
        typed(&mut e, "ten");
        e.key(PaletteKey::Enter, &cols);
        assert_eq!(e.error.as_deref(), Some("`ten` is not a number"));
        for _ in 0..3 {
            e.key(PaletteKey::Backspace, &cols);
        }
        typed(&mut e, "10");
        e.key(PaletteKey::Enter, &cols);
        // A subgroup (OR): status in (a, b) or status is null.
        e.key(PaletteKey::Act(Action::AddGroup), &cols);
        typed(&mut e, "sta");
        e.key(PaletteKey::Enter, &cols);
        for _ in 0..7 {
            e.key(PaletteKey::Down, &cols);
        }
        e.key(PaletteKey::Enter, &cols);
        typed(&mut e, "shipped, it's");
        e.key(PaletteKey::Enter, &cols);
        e.key(PaletteKey::Act(Action::AddCondition), &cols);
        typed(&mut e, "status");
        e.key(PaletteKey::Enter, &cols);
        for _ in 0..8 {
            e.key(PaletteKey::Down, &cols);
        }
        e.key(PaletteKey::Enter, &cols);
        assert_eq!(e.sql(), "amount > 10 AND (status IN ('shipped', 'it''s') OR status IS NULL)");
        // Flip the outer group to OR, then edit as SQL and come back.
        e.cursor = 0;
        e.key(PaletteKey::Act(Action::ToggleAnyAll), &cols);
        assert_eq!(e.sql(), "amount > 10 OR (status IN ('shipped', 'it''s') OR status IS NULL)");
        e.key(PaletteKey::Act(Action::EditSql), &cols);
        typed(&mut e, " OR amount BETWEEN 1 AND 2");
        e.key(PaletteKey::Enter, &cols);
        assert_eq!(e.stage, Stage::List);
        assert_eq!(e.group.items.len(), 3, "{:?}", e.group);
        // Delete the subgroup; Enter applies.
        e.cursor = 2;
        e.key(PaletteKey::Act(Action::Delete), &cols);
        let Outcome::Apply(g) = e.key(PaletteKey::Enter, &cols) else { panic!("not applied") };
        assert_eq!(g.to_sql(), "amount > 10 OR amount BETWEEN 1 AND 2");
    }
}
