//! The SQL editor: its state and keys (`editor`), its drawing (`view`), the explain
//! view (`explain`), what it keeps across sessions (`store`), and here what the app does
//! with an editor's outcome — a query becomes a background job whose result opens as a
//! new tab, or a step of the tab's view.

mod editor;
mod explain;
mod store;
mod view;

pub use editor::{Outcome, Pick, Picker, SqlEditor, SqlError};
pub(crate) use explain::render_explain;
pub use explain::{ExplainView, LineKind, PlanLine};
pub use store::{load_history, load_saved, save_history, save_saved};
pub(crate) use view::render_sql;

use crossterm::event::KeyEvent;

use std::time::Instant;

use assay_core::engine::EngineChoice;
use assay_core::sql::assist::{self};

use super::app::{App, Done, Job, Message, Mode, Tab};
use super::keymap::Action;

impl App {
    /// Shows the SQL editor: the text left in it, or else the current view as SQL (its
    /// filters as a WHERE clause, to edit).
    pub fn open_sql(&mut self) -> Vec<Job> {
        if self.sql.is_none() {
            let text = match self.tab() {
                Some(t) if assay_core::transform::is_simple(&t.steps) => {
                    assay_core::transform::to_sql(&t.dataset.name, &t.steps)
                }
                // Steps one plain query cannot show: the table as it is (the recipe
                // panel, R, lists the steps; ctrl-t makes a query over `input` one).
                Some(t) => format!("SELECT * FROM {}", assay_core::transform::ident(&t.dataset.name)),
                None => String::new(),
            };
            let mut editor = SqlEditor::new(&text, EngineChoice::Auto, self.sql_history.clone());
            editor.saved = self.sql_saved.clone();
            self.sql = Some(editor);
            self.mode = Mode::Sql;
            return vec![Job::Schemas];
        }
        self.mode = Mode::Sql;
        Vec::new()
    }

    /// The open datasets and their columns, for completion.
    fn sql_tables(&self) -> Vec<(String, Vec<String>)> {
        let read = self.sql.as_ref().map(|e| e.schemas.as_slice()).unwrap_or_default();
        self.tabs
            .iter()
            .map(|t| {
                let name = t.dataset.name.clone();
                let columns: Vec<String> = if t.columns.is_empty() {
                    read.iter().find(|(n, _)| *n == name).map(|(_, c)| c.clone()).unwrap_or_default()
                } else {
                    t.columns.iter().map(|c| c.name.clone()).collect()
                };
                (name, columns)
            })
            .collect()
    }

    /// A key for the SQL editor.
    pub fn sql_key(&mut self, key: KeyEvent, action: Option<Action>) -> Vec<Job> {
        let tables = self.sql_tables();
        let Some(editor) = self.sql.as_mut() else { return Vec::new() };
        match editor.key(key, action, &tables) {
            Outcome::Continue => Vec::new(),
            Outcome::SaveQueries(name) => {
                self.sql_saved = editor.saved.clone();
                self.message = Some(Message {
                    text: format!("saved the query as `{name}` (ctrl-o finds it)"),
                    error: false,
                });
                vec![Job::SaveQueries { saved: editor.saved.clone() }]
            }
            Outcome::Close => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Outcome::Adopt(query) => {
                let engine = editor.engine;
                if let Err(e) = assay_core::sql::parse(&query) {
                    editor.failed(e.to_string());
                    return Vec::new();
                }
                self.adopt_sql(query, engine)
            }
            Outcome::Cancel => {
                editor.running = None;
                editor.last = Some("cancelled".into());
                vec![Job::CancelSql]
            }
            Outcome::Explain(query) => {
                editor.running = Some(Instant::now());
                editor.explaining = Some((query.clone(), false));
                vec![Job::Explain { query, analyze: false }]
            }
            Outcome::Run(text) => {
                let history = editor.history.clone();
                self.sql_history = history.clone();
                let statement = match assay_core::sql::parse(&text) {
                    Ok(s) => s,
                    Err(e) => {
                        editor.failed(e.to_string());
                        return vec![Job::SaveHistory { history }];
                    }
                };
                let (name, query) = match assist::effect(&statement) {
                    assist::Effect::Reads => {
                        self.results += 1;
                        (format!("q{}", self.results), text)
                    }
                    assist::Effect::NamesView { name, query } => (name, query),
                    assist::Effect::Writes(what) => {
                        // Refused once with what it does; the same text run again is the
                        // user's confirmation.
                        if editor.confirm.as_deref() == Some(text.as_str()) {
                            editor.confirm = None;
                            editor.running = Some(Instant::now());
                            return vec![Job::SaveHistory { history }, Job::SqlWrite { query: text }];
                        }
                        editor.failed(format!(
                            "{what} writes data (the workbench reads by default): ctrl-r again runs it on \
                             DataFusion, with no undo; edit it or Esc to leave it"
                        ));
                        editor.confirm = Some(text);
                        return vec![Job::SaveHistory { history }];
                    }
                };
                if self.tabs.iter().any(|t| t.dataset.name.eq_ignore_ascii_case(&name)) {
                    editor.failed(format!("a table named `{name}` is already open; choose another name"));
                    return vec![Job::SaveHistory { history }];
                }
                editor.running = Some(Instant::now());
                let engine = editor.engine;
                vec![Job::SaveHistory { history }, Job::Sql { query, engine, name }]
            }
        }
    }

    /// A query's result or plans arrived.
    pub(super) fn sql_done(&mut self, done: Done) -> Vec<Job> {
        match done {
            Done::Written { result } => {
                let Some(editor) = self.sql.as_mut() else { return Vec::new() };
                if editor.running.take().is_none() {
                    return Vec::new();
                }
                match result {
                    Ok(done) => {
                        editor.last = Some(format!("written: {done}"));
                        self.message =
                            Some(Message { text: format!("the statement ran: {done}"), error: false });
                    }
                    Err(e) => editor.failed(e.to_string()),
                }
                Vec::new()
            }
            Done::Queried { name, engine, elapsed, result } => {
                let Some(editor) = self.sql.as_mut() else { return Vec::new() };
                if editor.running.take().is_none() {
                    return Vec::new(); // cancelled
                }
                match result {
                    Ok((dataset, rows)) => {
                        let summary = format!(
                            "{name}: {} rows in {:.2} s on {engine}",
                            super::view::thousands(rows),
                            elapsed.as_secs_f64(),
                        );
                        editor.last = Some(summary.clone());
                        self.tabs.push(Tab::new(dataset));
                        self.active = self.tabs.len() - 1;
                        self.mode = Mode::Normal;
                        self.message = Some(Message { text: summary, error: false });
                        self.start_tab(self.active)
                    }
                    Err(e) => {
                        editor.failed(e.to_string());
                        if !matches!(self.mode, Mode::Sql) {
                            self.message = Some(Message { text: e.to_string(), error: true });
                        }
                        Vec::new()
                    }
                }
            }
            Done::Explained { result } => {
                let Some(editor) = self.sql.as_mut() else { return Vec::new() };
                if editor.running.take().is_none() {
                    return Vec::new();
                }
                let Some((query, analyzed)) = editor.explaining.take() else { return Vec::new() };
                match result {
                    Ok(plans) => {
                        if matches!(self.mode, Mode::Sql | Mode::Explain(_)) {
                            let view = ExplainView::new(query, plans, analyzed);
                            self.mode = Mode::Explain(Box::new(view));
                            self.message = None;
                        }
                    }
                    Err(e) => {
                        editor.failed(e.to_string());
                        self.mode = Mode::Sql;
                    }
                }
                Vec::new()
            }
            Done::PlansSaved { path, result } => {
                self.message = Some(match result {
                    Ok(()) => Message { text: format!("plans saved to {path}"), error: false },
                    Err(e) => Message { text: format!("plans not saved: {e}"), error: true },
                });
                Vec::new()
            }
            Done::Schemas { tables } => {
                if let Some(editor) = self.sql.as_mut() {
                    editor.schemas = tables;
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}
