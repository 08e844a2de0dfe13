//! The SQL editor's state: the query's lines and cursor, the engine it runs on, the
//! completion list, the error of the last run (with the position to underline), and the
//! history of queries run. It changes only through `SqlEditor::key`, which returns what
//! the key asked of the app (`Outcome`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use std::time::Instant;

use assay_core::engine::EngineChoice;
use assay_core::sql::assist::{self, Completion};

use super::super::keymap::Action;

/// What a key asked of the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Continue,
    /// Run the query on the editor's engine.
    Run(String),
    /// Show both engines' plans of the query.
    Explain(String),
    /// Stop the running query.
    Cancel,
    /// Hide the editor (its text is kept for next time).
    Close,
    /// Make the query a step of the tab's recipe.
    Adopt(String),
    /// Write the named queries (one was saved).
    SaveQueries(String),
}

/// The picker over named queries and the history (ctrl-o), or the name prompt of
/// ctrl-s.
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    /// The search text (or, when `naming`, the name to save the query under).
    pub input: String,
    pub selected: usize,
    pub naming: bool,
}

/// One entry of the picker: a named query, or one from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub name: Option<String>,
    pub query: String,
}

/// Where the last run failed: the message and, when the engine said, the line and column
/// (0-based) and the length of the token to underline.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlError {
    pub message: String,
    pub at: Option<(usize, usize, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SqlEditor {
    pub lines: Vec<String>,
    /// Cursor line and column (in characters).
    pub row: usize,
    pub col: usize,
    pub engine: EngineChoice,
    /// Offered completions (replacing `start..cursor` of the line) and the selected one.
    pub completions: Option<(usize, Vec<Completion>, usize)>,
    pub error: Option<SqlError>,
    /// A query is running (since when), and what the last one gave.
    pub running: Option<Instant>,
    pub last: Option<String>,
    /// Queries run, oldest first; `recalled` indexes it while browsing with ctrl-p/n.
    pub history: Vec<String>,
    pub recalled: Option<usize>,
    /// Columns of the open datasets (read when the editor first opens), for tabs whose
    /// columns are not known yet.
    pub schemas: Vec<(String, Vec<String>)>,
    /// The query being explained, and whether it is being run (EXPLAIN ANALYZE).
    pub explaining: Option<(String, bool)>,
    /// Queries saved under a name (ctrl-s), kept in `queries.toml` in the data dir.
    pub saved: Vec<(String, String)>,
    pub picker: Option<Picker>,
    /// A statement that writes, shown back to the user: running this same text again
    /// runs it.
    pub confirm: Option<String>,
}

impl SqlEditor {
    pub fn new(text: &str, engine: EngineChoice, history: Vec<String>) -> SqlEditor {
        let mut e = SqlEditor {
            lines: vec![String::new()],
            row: 0,
            col: 0,
            engine,
            completions: None,
            error: None,
            running: None,
            last: None,
            history,
            recalled: None,
            schemas: Vec::new(),
            explaining: None,
            saved: Vec::new(),
            picker: None,
            confirm: None,
        };
        e.set_text(text);
        e
    }

    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Replaces the text and puts the cursor at its end.
    pub fn set_text(&mut self, text: &str) {
        self.lines = text.split('\n').map(str::to_string).collect();
        self.row = self.lines.len() - 1;
        self.col = self.lines[self.row].chars().count();
        self.completions = None;
    }

    fn byte(&self, row: usize, col: usize) -> usize {
        self.lines[row].char_indices().nth(col).map(|(b, _)| b).unwrap_or(self.lines[row].len())
    }

    /// The cursor as a byte offset into `text()`.
    pub fn offset(&self) -> usize {
        self.lines[..self.row].iter().map(|l| l.len() + 1).sum::<usize>() + self.byte(self.row, self.col)
    }

    fn insert(&mut self, c: char) {
        let b = self.byte(self.row, self.col);
        self.lines[self.row].insert(b, c);
        self.col += 1;
    }

    fn newline(&mut self) {
        let b = self.byte(self.row, self.col);
        let rest = self.lines[self.row].split_off(b);
        // Keep the indentation of the line broken.
        let indent: String = self.lines[self.row].chars().take_while(|c| *c == ' ').collect();
        self.row += 1;
        self.col = indent.chars().count();
        self.lines.insert(self.row, indent + &rest);
    }

    fn backspace(&mut self) {
        if self.col > 0 {
            let b = self.byte(self.row, self.col - 1);
            self.lines[self.row].remove(b);
            self.col -= 1;
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.row -= 1;
            self.col = self.lines[self.row].chars().count();
            self.lines[self.row].push_str(&line);
        }
    }

    fn delete(&mut self) {
        if self.col < self.lines[self.row].chars().count() {
            let b = self.byte(self.row, self.col);
            self.lines[self.row].remove(b);
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.lines[self.row].push_str(&next);
        }
    }

    fn line_len(&self) -> usize {
        self.lines[self.row].chars().count()
    }

    /// Completions at the cursor from the open tables; one is inserted at once.
    fn complete(&mut self, tables: &[(String, Vec<String>)]) {
        let text = self.text();
        let (start, found) = assist::complete(&text, self.offset(), tables);
        match found.len() {
            0 => self.completions = None,
            1 => self.accept(start, &found[0].text),
            _ => self.completions = Some((start, found, 0)),
        }
    }

    /// Replaces the word from byte `start` of the text to the cursor with `word`.
    fn accept(&mut self, start: usize, word: &str) {
        let mut text = self.text();
        let end = self.offset();
        text.replace_range(start..end, word);
        let cursor = start + word.len();
        self.lines = text.split('\n').map(str::to_string).collect();
        // Back from a byte offset to line and column.
        let mut left = cursor;
        for (i, line) in self.lines.iter().enumerate() {
            if left <= line.len() {
                self.row = i;
                self.col = line[..left].chars().count();
                break;
            }
            left -= line.len() + 1;
        }
        self.completions = None;
    }

    /// The byte offset of the bracket under (or just before) the cursor and its match.
    pub fn brackets(&self) -> Option<(usize, usize)> {
        let text = self.text();
        let here = self.offset();
        [Some(here), here.checked_sub(1)].into_iter().flatten().find_map(|at| {
            let other = assist::matching_bracket(&text, at)?;
            Some((at, other))
        })
    }

    /// The picker's entries for its search text: named queries first, then the history
    /// (newest first, without the named ones), those holding every word of the search
    /// (in the name or the query, any case).
    pub fn picks(&self) -> Vec<Pick> {
        let search = self.picker.as_ref().map(|p| p.input.to_lowercase()).unwrap_or_default();
        let words: Vec<&str> = search.split_whitespace().collect();
        let matches = |name: &str, query: &str| {
            let hay = format!("{} {}", name.to_lowercase(), query.to_lowercase());
            words.iter().all(|w| hay.contains(w))
        };
        let mut picks: Vec<Pick> = self
            .saved
            .iter()
            .filter(|(n, q)| matches(n, q))
            .map(|(n, q)| Pick { name: Some(n.clone()), query: q.clone() })
            .collect();
        for q in self.history.iter().rev() {
            if matches("", q) && !picks.iter().any(|p| &p.query == q) {
                picks.push(Pick { name: None, query: q.clone() });
            }
        }
        picks
    }

    /// A key while the picker (or the name prompt) is open.
    fn picker_key(&mut self, key: KeyEvent) -> Outcome {
        let Some(picker) = self.picker.as_mut() else { return Outcome::Continue };
        match key.code {
            KeyCode::Esc => self.picker = None,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => self.picker = None,
            KeyCode::Up => picker.selected = picker.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Tab => picker.selected += 1,
            KeyCode::Backspace => {
                picker.input.pop();
                picker.selected = 0;
            }
            KeyCode::Char(c) => {
                picker.input.push(c);
                picker.selected = 0;
            }
            KeyCode::Enter if picker.naming => {
                let name = picker.input.trim().to_string();
                if name.is_empty() {
                    return Outcome::Continue;
                }
                let text = self.text();
                self.saved.retain(|(n, _)| *n != name);
                self.saved.push((name.clone(), text));
                self.saved.sort();
                self.picker = None;
                return Outcome::SaveQueries(name);
            }
            KeyCode::Enter => {
                let picks = self.picks();
                if let Some(p) = picks.get(
                    self.picker.as_ref().map(|p| p.selected).unwrap_or(0).min(picks.len().saturating_sub(1)),
                ) {
                    let query = p.query.clone();
                    self.set_text(&query);
                    self.error = None;
                }
                self.picker = None;
            }
            _ => {}
        }
        Outcome::Continue
    }

    /// Handles one key: `action` is its command in the keymap's `sql` scope, if any;
    /// any other key edits the text. `tables` are the open datasets and their columns,
    /// for completion.
    pub fn key(
        &mut self,
        key: KeyEvent,
        action: Option<Action>,
        tables: &[(String, Vec<String>)],
    ) -> Outcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.picker.is_some() {
            return self.picker_key(key);
        }
        // The completion list takes Up/Down/Enter/Tab/Esc while it is open.
        if let Some((start, list, selected)) = &mut self.completions {
            match key.code {
                KeyCode::Up => {
                    *selected = selected.checked_sub(1).unwrap_or(list.len() - 1);
                    return Outcome::Continue;
                }
                KeyCode::Down => {
                    *selected = (*selected + 1) % list.len();
                    return Outcome::Continue;
                }
                KeyCode::Enter | KeyCode::Tab => {
                    let (start, word) = (*start, list[*selected].text.clone());
                    self.accept(start, &word);
                    return Outcome::Continue;
                }
                KeyCode::Esc => {
                    self.completions = None;
                    return Outcome::Continue;
                }
                _ => self.completions = None,
            }
        }
        if let Some(action) = action {
            match action {
                Action::RunQuery => return self.run(),
                Action::OpenAsTab => {
                    let text = self.text();
                    return if text.trim().is_empty() { Outcome::Continue } else { Outcome::Adopt(text) };
                }
                Action::ExplainQuery => {
                    let text = self.text();
                    return if text.trim().is_empty() { Outcome::Continue } else { Outcome::Explain(text) };
                }
                Action::NextEngine => self.engine = self.engine.next(),
                Action::Cancel => {
                    return if self.running.is_some() { Outcome::Cancel } else { Outcome::Close };
                }
                Action::OpenQuery => {
                    self.picker = Some(Picker { input: String::new(), selected: 0, naming: false })
                }
                Action::SaveQuery => {
                    let text = self.text();
                    if !text.trim().is_empty() {
                        // A query recalled by name is proposed under that name again.
                        let name = self.saved.iter().find(|(_, q)| *q == text).map(|(n, _)| n.clone());
                        self.picker =
                            Some(Picker { input: name.unwrap_or_default(), selected: 0, naming: true });
                    }
                }
                Action::RecallPrev => self.recall(true),
                Action::RecallNext => self.recall(false),
                Action::LineStart => self.col = 0,
                Action::ClearInput => self.set_text(""),
                Action::Complete => self.complete(tables),
                _ => {}
            }
            return Outcome::Continue;
        }
        match key.code {
            KeyCode::Tab => {
                let before: String = self.lines[self.row].chars().take(self.col).collect();
                if before.trim().is_empty() {
                    for _ in 0..2 {
                        self.insert(' ');
                    }
                } else {
                    self.complete(tables);
                }
            }
            KeyCode::Char(c) if !ctrl => {
                self.insert(c);
                self.error = None;
            }
            KeyCode::Enter => self.newline(),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left if self.col > 0 => self.col -= 1,
            KeyCode::Left if self.row > 0 => {
                self.row -= 1;
                self.col = self.line_len();
            }
            KeyCode::Right if self.col < self.line_len() => self.col += 1,
            KeyCode::Right if self.row + 1 < self.lines.len() => {
                self.row += 1;
                self.col = 0;
            }
            KeyCode::Up if self.row > 0 => {
                self.row -= 1;
                self.col = self.col.min(self.line_len());
            }
            KeyCode::Down if self.row + 1 < self.lines.len() => {
                self.row += 1;
                self.col = self.col.min(self.line_len());
            }
            KeyCode::Home => self.col = 0,
            KeyCode::End => self.col = self.line_len(),
            _ => {}
        }
        Outcome::Continue
    }

    fn run(&mut self) -> Outcome {
        let text = self.text();
        if text.trim().is_empty() || self.running.is_some() {
            return Outcome::Continue;
        }
        self.error = None;
        self.recalled = None;
        if self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        Outcome::Run(text)
    }

    /// Steps back (`older`) or forward through the history.
    fn recall(&mut self, older: bool) {
        if self.history.is_empty() {
            return;
        }
        let last = self.history.len() - 1;
        let next = match (self.recalled, older) {
            (None, true) => Some(last),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i < last => Some(i + 1),
            (Some(_), false) => None,
        };
        self.recalled = next;
        let text = next.map(|i| self.history[i].clone()).unwrap_or_default();
        self.set_text(&text);
    }

    /// Takes an engine's error: finds "line L, column C" in it and the token there.
    pub fn failed(&mut self, message: String) {
        self.running = None;
        let at = position(&message).map(|(line, col)| {
            let (line, col) = (line.saturating_sub(1), col.saturating_sub(1));
            let len = self
                .lines
                .get(line)
                .map(|l| l.chars().skip(col).take_while(|c| c.is_alphanumeric() || *c == '_').count())
                .unwrap_or(0)
                .max(1);
            (line, col, len)
        });
        self.error = Some(SqlError { message, at });
    }
}

/// "line L, column C" in an error message, 1-based.
fn position(message: &str) -> Option<(usize, usize)> {
    let at = message.find("line ")?;
    let mut nums = message[at..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse::<usize>().ok());
    Some((nums.next()?, nums.next()?))
}

#[cfg(test)]
mod tests {
    use super::super::store::{load_saved, save_saved};
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    /// A key through the default keymap, as the workbench sends it.
    fn press(e: &mut SqlEditor, event: KeyEvent, tables: &[(String, Vec<String>)]) -> Outcome {
        let keymap = crate::keymap::Keymap::new(&[]).unwrap();
        e.key(event, keymap.action_in(crate::keymap::Scope::Sql, &event), tables)
    }
    fn typed(e: &mut SqlEditor, text: &str, tables: &[(String, Vec<String>)]) {
        for c in text.chars() {
            let code = if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) };
            press(e, key(code), tables);
        }
    }

    #[test]
    fn edits_completes_runs_toggles_and_recalls() {
        let tables = vec![("orders".to_string(), vec!["amount".to_string(), "order_id".to_string()])];
        let mut e = SqlEditor::new("", EngineChoice::Auto, vec!["SELECT 1".into()]);
        typed(&mut e, "SELECT am", &tables);
        press(&mut e, key(KeyCode::Tab), &tables);
        assert_eq!(e.text(), "SELECT amount");
        typed(&mut e, "\n  FROM or", &tables);
        press(&mut e, key(KeyCode::Tab), &tables);
        assert_eq!(e.text(), "SELECT amount\n  FROM orders");
        // Enter keeps the indentation; Backspace at a line start joins the lines.
        press(&mut e, key(KeyCode::Enter), &tables);
        assert_eq!((e.row, e.col), (2, 2));
        press(&mut e, key(KeyCode::Backspace), &tables);
        press(&mut e, key(KeyCode::Backspace), &tables);
        press(&mut e, key(KeyCode::Backspace), &tables);
        assert_eq!(e.text(), "SELECT amount\n  FROM orders");
        // Several completions: a list, Down then Enter picks the second.
        e.set_text("SELECT o");
        press(&mut e, key(KeyCode::Tab), &tables);
        let (_, list, _) = e.completions.clone().unwrap();
        assert_eq!(
            list.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
            ["order_id", "orders", "ORDER BY", "OFFSET", "ON", "OR", "OVER"]
        );
        press(&mut e, key(KeyCode::Down), &tables);
        press(&mut e, key(KeyCode::Enter), &tables);
        assert_eq!(e.text(), "SELECT orders");
        press(&mut e, ctrl('e'), &tables);
        assert_eq!(e.engine, EngineChoice::Polars);
        press(&mut e, ctrl('e'), &tables);
        assert_eq!(e.engine, EngineChoice::DataFusion);
        assert_eq!(press(&mut e, ctrl('r'), &tables), Outcome::Run("SELECT orders".into()));
        assert_eq!(e.history, ["SELECT 1", "SELECT orders"]);
        e.running = Some(std::time::Instant::now());
        assert_eq!(press(&mut e, key(KeyCode::Esc), &tables), Outcome::Cancel);
        e.running = None;
        press(&mut e, ctrl('p'), &tables);
        press(&mut e, ctrl('p'), &tables);
        assert_eq!(e.text(), "SELECT 1");
        press(&mut e, ctrl('n'), &tables);
        assert_eq!(e.text(), "SELECT orders");
        assert_eq!(press(&mut e, key(KeyCode::Esc), &tables), Outcome::Close);
    }

    #[test]
    fn errors_point_at_the_token_and_brackets_match() {
        let mut e = SqlEditor::new("SELECT amount\nFROM orders\nWHERE amout > 1", EngineChoice::Auto, vec![]);
        e.failed("SQL error at line 3, column 7: unknown column `amout`".into());
        assert_eq!(e.error.as_ref().unwrap().at, Some((2, 6, 5)));
        e.set_text("SELECT f(a, (b))");
        assert_eq!(e.brackets(), Some((15, 8)));
    }

    #[test]
    fn queries_are_saved_by_name_and_found_with_the_history() {
        let history = vec!["SELECT 1".to_string(), "SELECT amount FROM orders".to_string()];
        let mut e = SqlEditor::new("SELECT * FROM orders WHERE amount > 100", EngineChoice::Auto, history);
        assert_eq!(press(&mut e, ctrl('s'), &[]), Outcome::Continue);
        typed(&mut e, "big orders", &[]);
        assert_eq!(press(&mut e, key(KeyCode::Enter), &[]), Outcome::SaveQueries("big orders".into()));
        assert_eq!(
            e.saved,
            [("big orders".to_string(), "SELECT * FROM orders WHERE amount > 100".to_string())]
        );
        e.set_text("");
        // The picker: the named query first, then the history, newest first; words narrow.
        press(&mut e, ctrl('o'), &[]);
        let all: Vec<(Option<String>, String)> = e.picks().into_iter().map(|p| (p.name, p.query)).collect();
        assert_eq!(
            all,
            [
                (Some("big orders".into()), "SELECT * FROM orders WHERE amount > 100".into()),
                (None, "SELECT amount FROM orders".into()),
                (None, "SELECT 1".into()),
            ]
        );
        typed(&mut e, "AMOUNT orders", &[]);
        assert_eq!(e.picks().len(), 2);
        press(&mut e, key(KeyCode::Down), &[]);
        press(&mut e, key(KeyCode::Enter), &[]);
        assert_eq!(e.text(), "SELECT amount FROM orders");
        assert!(e.picker.is_none());
        // Saved again under the same name: replaced, not doubled; ctrl-s proposes it.
        e.set_text("SELECT * FROM orders WHERE amount > 100");
        press(&mut e, ctrl('s'), &[]);
        assert_eq!(e.picker.as_ref().unwrap().input, "big orders");
        press(&mut e, key(KeyCode::Enter), &[]);
        assert_eq!(e.saved.len(), 1);
        // The file round trip.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queries.toml");
        e.saved.push(("two\nlines".into(), "SELECT 'a \"quoted\"'\nFROM t".into()));
        save_saved(&path, &e.saved).unwrap();
        assert_eq!(load_saved(&path), e.saved);
        assert!(load_saved(&dir.path().join("none.toml")).is_empty());
    }
}
