//! The one-line prompt in the status bar: rename, cast or derive a column, save or open
//! a recipe, or edit a step as one line of the recipe's TOML.

use indexmap::IndexMap;

use assay_core::recipe::{self, Recipe, Source, StepEntry};
use assay_core::transform::{self, ColumnType, Step};

use super::super::app::{App, Job, Message, Mode, PaletteKey};

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

impl App {
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
    pub(super) fn apply_prompt(
        &mut self,
        kind: &PromptKind,
        text: &str,
    ) -> std::result::Result<Vec<Job>, String> {
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
    use super::super::counted;
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
