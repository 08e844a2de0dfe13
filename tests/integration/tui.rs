//! The workbench: views as snapshots (ratatui's TestBackend + insta), the app driven
//! through its action API, and the real binary in tmux.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use assay::config::Config;
use assay::engine::Table;
use assay::source::{CsvDialect, Dataset, Format, Location};
use assay::transform::Step;
use assay::tui::app::{App, Done, Job, Mode, Mouse, PaletteKey};
use assay::tui::checks::rules_beside;
use assay::tui::keymap::{Action, Keymap};
use assay::tui::view::{self, thousands, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::common::*;

fn dataset(name: &str) -> Dataset {
    Dataset {
        name: name.into(),
        spec: format!("{name}.csv"),
        files: vec![format!("{name}.csv")],
        format: Format::Csv(CsvDialect::default()),
        location: Location::Local,
    }
}

/// `rows` rows of an orders-like table starting at row `offset`, with nulls, an empty
/// string and a long note.
fn table(offset: u64, rows: usize, wide: bool) -> Table {
    let ids: Vec<i64> = (0..rows as i64).map(|i| offset as i64 + i + 1).collect();
    let names: Vec<Option<String>> = ids
        .iter()
        .map(|i| match i % 5 {
            0 => None,
            1 => Some(String::new()),
            _ => Some(format!("customer {i}")),
        })
        .collect();
    let amounts: Vec<Option<f64>> =
        ids.iter().map(|i| if i % 7 == 0 { None } else { Some(*i as f64 * 1.5) }).collect();
    let mut fields = vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(StringArray::from(names)),
        Arc::new(Float64Array::from(amounts)),
    ];
    let note = "a long note that goes on and on, well past the width any sensible column would give it";
    fields.push(Field::new("note", DataType::Utf8, true));
    columns.push(Arc::new(StringArray::from(vec![Some(note); rows])));
    if wide {
        for c in 0..12 {
            fields.push(Field::new(format!("extra_column_{c}"), DataType::Int64, true));
            columns.push(Arc::new(Int64Array::from(ids.iter().map(|i| i * 100 + c).collect::<Vec<_>>())));
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    Table { schema, batches: vec![batch] }
}

/// An app over one 1,000-row table, answered synchronously: each page job is served
/// from `table`, as the engine would.
struct Harness {
    app: App,
    wide: bool,
    rows: u64,
    /// When set, jobs run on the real engines over this workspace.
    real: Option<(assay::Workspace, tokio::runtime::Runtime)>,
}

impl Harness {
    fn new(width: u16, height: u16, wide: bool) -> Harness {
        let (app, jobs) = App::new(vec![dataset("orders")], Keymap::new(&[]).unwrap(), width, height);
        let mut h = Harness { app, wide, rows: 1000, real: None };
        h.serve(jobs);
        h
    }

    /// An app over real files, its jobs run by the real engines.
    fn real(specs: &[&str], width: u16, height: u16) -> Harness {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let specs: Vec<(Option<String>, String)> = specs.iter().map(|s| (None, s.to_string())).collect();
        let ws = rt.block_on(assay::Workspace::open(&specs, &Default::default())).unwrap();
        let (app, jobs) = App::new(ws.datasets().to_vec(), Keymap::new(&[]).unwrap(), width, height);
        let mut h = Harness { app, wide: false, rows: 0, real: Some((ws, rt)) };
        h.serve(jobs);
        h
    }

    fn serve(&mut self, jobs: Vec<Job>) {
        let mut queue = jobs;
        while let Some(job) = queue.pop() {
            let done = match (job, &self.real) {
                (Job::Cancel { .. }, _) => continue,
                (Job::Close { tab }, real) => {
                    if let Some((ws, _)) = real {
                        let mut ws = ws.clone();
                        ws.remove(tab.name());
                        self.real.as_mut().unwrap().0 = ws;
                    }
                    continue;
                }
                (Job::Page { tab, generation, steps, offset, len }, Some((ws, rt))) => {
                    let result = rt.block_on(ws.page(ws.dataset(tab.name()).unwrap(), &steps, offset, len));
                    Done::Page { tab, generation, offset, result }
                }
                (Job::Count { tab, view, steps, .. }, Some((ws, rt))) => {
                    let result = rt.block_on(ws.count(ws.dataset(tab.name()).unwrap(), &steps));
                    Done::Count { tab, view, result }
                }
                (Job::Page { tab, generation, offset, len, .. }, None) => {
                    let n = (self.rows.saturating_sub(offset) as usize).min(len);
                    Done::Page { tab, generation, offset, result: Ok(table(offset, n, self.wide)) }
                }
                (Job::Count { tab, view, .. }, None) => Done::Count { tab, view, result: Ok(self.rows) },
                (Job::Profile { tab, view, steps }, Some((ws, rt))) => {
                    let result = rt.block_on(ws.profile(ws.dataset(tab.name()).unwrap(), &steps));
                    Done::Profile { tab, view, result }
                }
                (Job::Find { tab, view, steps, pattern, from, forward }, Some((ws, rt))) => {
                    let result = rt.block_on(ws.find(
                        ws.dataset(tab.name()).unwrap(),
                        &steps,
                        &pattern,
                        from,
                        forward,
                    ));
                    Done::Find { tab, view, pattern, result }
                }
                (Job::Find { .. }, None) => continue,
                (Job::List { location }, _) => {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    let result = rt.block_on(assay::source::browse::list(&location, &Default::default()));
                    Done::Listed { location, result: result.map_err(Into::into) }
                }
                (Job::Open { spec }, _) => {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    let result = rt.block_on(Dataset::open(&spec, None, &Default::default()));
                    if let (Ok(ds), Some((ws, _))) = (&result, &mut self.real) {
                        ws.add(ds.clone()).unwrap();
                    }
                    Done::Opened { spec, result: result.map_err(Into::into) }
                }
                (Job::Check { tab, version, steps, rules }, Some((ws, rt))) => {
                    let result = rt.block_on(ws.check(ws.dataset(tab.name()).unwrap(), &steps, &rules));
                    Done::Checked { tab, version, steps, result }
                }
                (Job::Suggest { tab, steps }, Some((ws, rt))) => {
                    let result =
                        rt.block_on(ws.suggest(ws.dataset(tab.name()).unwrap(), &steps)).map(|(_, s)| s);
                    Done::Suggested { tab, result }
                }
                (Job::CheckFromColumn { tab, steps, column, kind }, Some((ws, rt))) => {
                    let result = rt.block_on(ws.check_from_column(
                        ws.dataset(tab.name()).unwrap(),
                        &steps,
                        &column,
                        kind,
                    ));
                    Done::CheckMade { tab, result }
                }
                (Job::SaveRules { tab, path, text }, _) => {
                    let result = assay::sink::write_text(&text, &path);
                    Done::Saved { tab, path, result: result.map_err(Into::into) }
                }
                (Job::LoadRules { tab }, Some((ws, _))) => {
                    match rules_beside(ws.dataset(tab.name()).unwrap()) {
                        Some(path) => {
                            let result = assay::quality::Rules::load(&path);
                            Done::RulesLoaded { tab, path, result: result.map_err(Into::into) }
                        }
                        None => continue,
                    }
                }
                (
                    Job::CancelChecks { .. }
                    | Job::CancelSql
                    | Job::SaveHistory { .. }
                    | Job::SaveQueries { .. },
                    _,
                ) => continue,
                (Job::Sql { query, engine, name }, Some(_)) => {
                    let (ws, rt) = self.real.as_mut().unwrap();
                    let dir = std::env::temp_dir().join(format!("assay-test-results-{}", std::process::id()));
                    std::fs::create_dir_all(&dir).unwrap();
                    let path = dir.join(format!("{name}.parquet"));
                    let started = std::time::Instant::now();
                    let mut shown = engine.title().to_string();
                    let result = rt.block_on(async {
                        let pick = ws.pick(&query, engine).await?;
                        shown = pick.shown(engine);
                        let rows = ws.sql_to_parquet(&query, pick.engine, &path).await?;
                        let ds = Dataset::open(&path.display().to_string(), Some(&name), &Default::default())
                            .await?;
                        Ok((ds, rows))
                    });
                    if let Ok((ds, _)) = &result {
                        ws.add(ds.clone()).unwrap();
                    }
                    Done::Queried { name, engine: shown, elapsed: started.elapsed(), result }
                }
                (Job::SqlWrite { query }, Some((ws, rt))) => {
                    Done::Written { result: rt.block_on(ws.sql_write(&query)) }
                }
                (Job::SqlWrite { .. }, None) => continue,
                (Job::Explain { query, analyze }, Some((ws, rt))) => {
                    let result = [assay::engine::EngineKind::Polars, assay::engine::EngineKind::DataFusion]
                        .into_iter()
                        .map(|e| rt.block_on(ws.explain(&query, e, analyze)))
                        .collect();
                    Done::Explained { result }
                }
                (Job::SavePlans { path, text }, _) => {
                    // Into a temporary folder rather than the working directory.
                    let dir = std::env::temp_dir().join(format!("assay-test-plans-{}", std::process::id()));
                    std::fs::create_dir_all(&dir).unwrap();
                    let path = dir.join(path).display().to_string();
                    let result = assay::sink::write_text(&text, &path);
                    Done::PlansSaved { path, result: result.map_err(Into::into) }
                }
                (Job::Schemas, Some((ws, rt))) => {
                    let tables = ws
                        .datasets()
                        .iter()
                        .map(|ds| {
                            let columns = rt.block_on(ws.schema(ds)).unwrap();
                            (ds.name.clone(), columns.into_iter().map(|c| c.name).collect())
                        })
                        .collect();
                    Done::Schemas { tables }
                }
                (Job::Funnel { tab, view, steps, indexes }, Some((ws, rt))) => {
                    let ds = ws.dataset(tab.name()).unwrap().clone();
                    for index in indexes {
                        let result = rt.block_on(ws.count(&ds, &steps[..index]));
                        queue.extend(self.app.on_done(Done::Funnel {
                            tab: tab.clone(),
                            view,
                            index,
                            result,
                        }));
                    }
                    continue;
                }
                (Job::SaveRecipe { tab, path, text }, _) => {
                    let result = assay::sink::write_text(&text, &path);
                    Done::RecipeSaved { tab, path, result: result.map_err(Into::into) }
                }
                (Job::OpenRecipe { path }, Some(_)) => {
                    let (ws, rt) = self.real.as_mut().unwrap();
                    let result = rt.block_on(assay::tui::open_recipe(ws, &path, &Default::default()));
                    if let Ok((_, opened)) = &result {
                        for ds in opened {
                            ws.add(ds.clone()).unwrap();
                        }
                    }
                    Done::RecipeOpened { path, result }
                }
                (Job::Export { tab, steps, plan, overwrite, watch }, Some((ws, rt))) => {
                    let (exists, result) = rt.block_on(assay::tui::export::run(
                        ws,
                        &tab,
                        &steps,
                        &plan,
                        overwrite,
                        watch,
                        &Default::default(),
                    ));
                    Done::Exported { tab, plan, exists, result }
                }
                (Job::Funnel { .. } | Job::OpenRecipe { .. } | Job::Export { .. }, None) => continue,
                (Job::Sql { .. } | Job::Explain { .. } | Job::Schemas, None) => continue,
                (
                    Job::Check { .. }
                    | Job::Suggest { .. }
                    | Job::CheckFromColumn { .. }
                    | Job::LoadRules { .. },
                    None,
                ) => continue,
                (Job::Profile { tab, view, .. }, None) => {
                    let table = table(0, self.rows as usize, self.wide);
                    let df = assay::engine::bridge::batches_to_frame(&table.schema, &table.batches).unwrap();
                    let result = Ok(assay::profile::profile(polars::prelude::IntoLazy::lazy(df)).unwrap());
                    Done::Profile { tab, view, result }
                }
            };
            queue.extend(self.app.on_done(done));
        }
    }

    fn act(&mut self, action: Action) -> &mut Self {
        let jobs = self.app.update(action);
        self.serve(jobs);
        self
    }

    /// Keys pressed, through the keymap as the workbench receives them: text, with `\n`
    /// for Enter, `↓`/`↑` for Down/Up, `⌫` for Backspace and `⎋` for Esc.
    fn typed(&mut self, keys: &str) -> &mut Self {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        for c in keys.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '↓' => KeyCode::Down,
                '↑' => KeyCode::Up,
                '⌫' => KeyCode::Backspace,
                '⎋' => KeyCode::Esc,
                c => KeyCode::Char(c),
            };
            let jobs = assay::tui::handle_key(&mut self.app, KeyEvent::new(code, KeyModifiers::NONE));
            self.serve(jobs);
        }
        self
    }

    fn filter(&mut self, keys: &str) -> &mut Self {
        self.typed(keys)
    }

    fn open(&mut self, keys: &str) -> &mut Self {
        self.typed(keys)
    }

    fn checks(&mut self, keys: &str) -> &mut Self {
        self.typed(keys)
    }

    fn add_check(&mut self, key: &str) -> &mut Self {
        self.act(Action::AddCheck).typed(key)
    }

    /// The checks of the active tab as the panel last ran them.
    fn report(&self) -> assay::quality::Report {
        self.app.tab().unwrap().checks.report().expect("the checks ran").clone()
    }

    fn mouse(&mut self, event: Mouse) -> &mut Self {
        let jobs = self.app.mouse(event);
        self.serve(jobs);
        self
    }

    fn screen(&self) -> String {
        let (w, h) = (self.app.width, self.app.height);
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        let theme = Theme::new(Default::default(), false);
        terminal.draw(|f| view::render(f, &self.app, &theme)).unwrap();
        format!("{}", terminal.backend())
    }
}

#[test]
fn grid_snapshot() {
    let h = Harness::new(100, 14, false);
    insta::assert_snapshot!("grid", h.screen());
}

#[test]
fn nulls_and_empty_strings_differ() {
    let h = Harness::new(100, 14, false);
    let screen = h.screen();
    // Row 5 has a null name (∅); row 1 an empty one (blank). The grid snapshot shows both.
    assert!(screen.contains("\"       5 ∅  "), "{screen}");
    assert!(screen.contains("\"       1                 1.5"), "{screen}");
    // An amount that is null is marked too, right-aligned like the numbers around it.
    assert!(screen.contains("customer 7        ∅ "), "{screen}");
}

#[test]
fn wide_table_scrolls_with_a_frozen_first_column() {
    let mut h = Harness::new(100, 12, true);
    for _ in 0..10 {
        h.act(Action::Right);
    }
    let screen = h.screen();
    assert!(screen.contains("order_id"), "frozen column kept: {screen}");
    assert!(screen.contains("extra_column_6"), "{screen}");
    assert!(!screen.contains("│ name"), "{screen}");
    insta::assert_snapshot!("wide_scrolled", screen);
}

#[test]
fn long_cell_popup() {
    let mut h = Harness::new(100, 16, false);
    h.act(Action::LastColumn).act(Action::ShowCell);
    assert!(matches!(h.app.mode, Mode::Cell { .. }));
    insta::assert_snapshot!("cell_popup", h.screen());
    h.act(Action::Cancel);
    assert_eq!(h.app.mode, Mode::Normal);
}

#[test]
fn help_is_generated_from_the_keymap() {
    let mut h = Harness::new(100, 76, false);
    h.act(Action::Help);
    let screen = h.screen();
    for (keys, _, desc) in h.app.keymap.help() {
        assert!(screen.contains(&desc), "help misses {desc} ({keys}):\n{screen}");
    }
    insta::assert_snapshot!("help", screen);
    // Scrolling down shows every panel's and dialog's keys too, under its title.
    let mut seen = screen;
    for _ in 0..200 {
        h.act(Action::Down);
        seen.push_str(&h.screen());
    }
    for (scope, _, title) in assay::tui::keymap::Scope::ALL {
        if *scope != assay::tui::keymap::Scope::Grid {
            assert!(seen.contains(&format!("{title}:")), "help misses the section {title}");
        }
        for (keys, _, desc) in h.app.keymap.help_in(*scope) {
            assert!(seen.contains(&desc), "help misses {desc} ({keys}) of {title}");
        }
    }
}

#[test]
fn error_state_keeps_the_app_running() {
    let (mut app, _) = App::new(vec![dataset("broken")], Keymap::new(&[]).unwrap(), 90, 10);
    let generation = 1;
    app.on_done(Done::Page {
        tab: app.tabs[0].id.clone(),
        generation,
        offset: 0,
        result: Err(assay::Error::input("broken.csv: invalid UTF-8 at byte offset 12 (line 3)")),
    });
    let mut terminal = Terminal::new(TestBackend::new(90, 10)).unwrap();
    let theme = Theme::new(Default::default(), false);
    terminal.draw(|f| view::render(f, &app, &theme)).unwrap();
    let screen = format!("{}", terminal.backend());
    assert!(screen.contains("invalid UTF-8 at byte offset 12"), "{screen}");
    insta::assert_snapshot!("error_state", screen);
    app.update(Action::Down);
    assert!(!app.quit);
}

#[test]
fn tiny_terminal_says_so() {
    let h = Harness::new(20, 4, false);
    let screen = h.screen();
    assert!(screen.contains("terminal too"), "{screen}");
    insta::assert_snapshot!("tiny", screen);
}

#[test]
fn navigation_fetches_only_the_visible_window() {
    let mut h = Harness::new(100, 14, false);
    let visible = h.app.visible_rows();
    let page = h.app.tab().unwrap().page.clone().unwrap();
    assert!(page.rows.len() as u64 <= visible + 200, "fetched {} rows", page.rows.len());
    h.act(Action::Bottom);
    let t = h.app.tab().unwrap();
    assert_eq!(t.row, 999);
    assert!(t.page.as_ref().unwrap().row(999).is_some());
    assert!(h.screen().contains("row 1,000 of 1,000"), "{}", h.screen());
    h.act(Action::Top).act(Action::PageDown).act(Action::PageDown);
    assert_eq!(h.app.tab().unwrap().row, 2 * visible);
    // The palette jumps to a row number.
    h.app.update(Action::Palette);
    for c in "500".chars() {
        h.app.palette_key(PaletteKey::Char(c));
    }
    let jobs = h.app.palette_key(PaletteKey::Enter);
    h.serve(jobs);
    assert_eq!(h.app.tab().unwrap().row, 499);
    assert!(h.screen().contains("row 500 of 1,000"));
    // A stale page (an older generation) is ignored.
    let before = h.app.tab().unwrap().page.as_ref().unwrap().offset;
    h.app.on_done(Done::Page {
        tab: h.app.tabs[0].id.clone(),
        generation: 0,
        offset: 0,
        result: Ok(table(0, 5, false)),
    });
    assert_eq!(h.app.tab().unwrap().page.as_ref().unwrap().offset, before);
}

#[test]
fn bottom_waits_for_the_count_and_esc_cancels() {
    let (mut app, jobs) = App::new(vec![dataset("orders")], Keymap::new(&[]).unwrap(), 100, 14);
    // The count is asked for once the first page is in (it would slow the first screen).
    assert!(!jobs.iter().any(|j| matches!(j, Job::Count { .. })));
    let Some(Job::Page { generation, len, .. }) = jobs.first().cloned() else { panic!("no page: {jobs:?}") };
    let jobs = app.on_done(Done::Page {
        tab: app.tabs[0].id.clone(),
        generation,
        offset: 0,
        result: Ok(table(0, len, false)),
    });
    assert!(jobs.iter().any(|j| matches!(j, Job::Count { .. })), "{jobs:?}");
    assert!(app.busy());
    app.update(Action::Bottom);
    assert!(app.message.as_ref().unwrap().text.contains("counting"));
    app.on_done(Done::Count { tab: app.tabs[0].id.clone(), view: 0, result: Ok(5_000) });
    assert_eq!(app.tab().unwrap().row, 4_999);
    let (mut app, _) = App::new(vec![dataset("orders")], Keymap::new(&[]).unwrap(), 100, 14);
    let jobs = app.update(Action::Cancel);
    assert!(jobs.contains(&Job::Cancel { tab: app.tabs[0].id.clone() }));
    assert!(!app.busy());
    // The cancelled count's late answer is ignored.
    app.on_done(Done::Count { tab: app.tabs[0].id.clone(), view: 0, result: Ok(5) });
    assert_ne!(app.tab().unwrap().rows(), Some(5));
}

#[test]
fn sort_and_quick_filters_run_on_the_engine_and_show_their_sql() {
    let mut h = Harness::real(&["sample-data/orders.csv"], 160, 20);
    assert_eq!(h.app.tab().unwrap().rows(), Some(50_000));
    // To the status column, keep rows equal to the first row's status ("shipped").
    for _ in 0..4 {
        h.act(Action::Right);
    }
    h.act(Action::KeepEqual);
    let t = h.app.tab().unwrap();
    let sql = h.app.view_sql().unwrap();
    assert_eq!(sql, "SELECT * FROM orders WHERE status = 'shipped'");
    // The count agrees with the same SQL run headless.
    let expected = assay(&[
        "sql",
        "SELECT COUNT(*) AS n FROM orders WHERE status = 'shipped'",
        "-t",
        "sample-data/orders.csv",
        "--format",
        "json",
    ]);
    let n = json(expected.ok())[0]["n"].as_u64().unwrap();
    assert_eq!(t.rows(), Some(n));
    // Sort by amount, descending: the first row has the largest shipped amount.
    for _ in 0..5 {
        h.act(Action::Right);
    }
    h.act(Action::SortDesc);
    assert_eq!(
        h.app.view_sql().unwrap(),
        "SELECT * FROM orders WHERE status = 'shipped' ORDER BY amount DESC NULLS LAST"
    );
    let top = assay(&[
        "sql",
        "SELECT MAX(amount) AS m FROM orders WHERE status = 'shipped'",
        "-t",
        "sample-data/orders.csv",
        "--format",
        "csv",
    ]);
    let max = top.ok().lines().nth(1).unwrap().to_string();
    let t = h.app.tab().unwrap();
    assert_eq!(t.cell(0, t.col), Some(Some(max.as_str())));
    assert!(h.screen().contains("WHERE status = 'shipped' ORDER BY amount DESC"), "{}", h.screen());
    // Not-equal keeps nulls; undo and clear go back.
    h.act(Action::Left).act(Action::KeepNotEqual);
    assert!(h.app.view_sql().unwrap().contains("OR price IS NULL"));
    h.act(Action::UndoStep);
    assert!(h.app.view_sql().unwrap().ends_with("DESC NULLS LAST"));
    h.act(Action::ClearSteps);
    assert_eq!(h.app.view_sql(), None);
    assert_eq!(h.app.tab().unwrap().rows(), Some(50_000));
}

#[test]
fn profile_panel_snapshot() {
    let mut h = Harness::new(110, 40, false);
    h.act(Action::Right).act(Action::Right);
    let jobs = h.app.update(Action::Profile);
    assert!(matches!(jobs[..], [Job::Profile { .. }]));
    assert!(h.app.busy());
    h.serve(jobs);
    assert!(!h.app.busy());
    let screen = h.screen();
    assert!(screen.contains("amount (f64)") && screen.contains("p25"), "{screen}");
    insta::assert_snapshot!("profile", screen);
    // Open again on the same view: no new job; Esc closes.
    h.app.update(Action::Cancel);
    assert!(h.app.update(Action::Profile).is_empty());
}

#[test]
fn regex_search_finds_next_and_previous_matches() {
    use polars::prelude::*;
    // Where the pattern is, according to Polars directly: rows whose email has "zoë".
    let expected: Vec<u64> = LazyCsvReader::new(PlRefPath::new("sample-data/orders.csv"))
        .finish()
        .unwrap()
        .with_row_index("i", None)
        .filter(col("email").str().contains(lit("zoë\\."), false))
        .select([col("i")])
        .collect()
        .unwrap()
        .column("i")
        .unwrap()
        .idx()
        .unwrap()
        .into_no_null_iter()
        .map(|i| i as u64)
        .take(2)
        .collect();
    let mut h = Harness::real(&["sample-data/orders.csv"], 120, 16);
    h.act(Action::Search);
    for c in "zoë\\.".chars() {
        let jobs = h.app.search_key(PaletteKey::Char(c));
        h.serve(jobs);
    }
    let jobs = h.app.search_key(PaletteKey::Enter);
    h.serve(jobs);
    assert_eq!(h.app.tab().unwrap().row, expected[0], "{:?}", h.app.message);
    h.act(Action::SearchNext);
    assert_eq!(h.app.tab().unwrap().row, expected[1]);
    h.act(Action::SearchPrev);
    assert_eq!(h.app.tab().unwrap().row, expected[0]);
    assert!(h.screen().contains("zoë."), "{}", h.screen());
    // A bad pattern is an error in the status bar, not a crash.
    h.act(Action::Search);
    for c in "([".chars() {
        h.app.search_key(PaletteKey::Char(c));
    }
    let jobs = h.app.search_key(PaletteKey::Enter);
    h.serve(jobs);
    let m = h.app.message.clone().unwrap();
    assert!(m.error && m.text.contains("search `([`"), "{m:?}");
}

#[test]
fn palette_matches_actions_fuzzily() {
    let (mut app, _) = App::new(vec![dataset("a"), dataset("b")], Keymap::new(&[]).unwrap(), 100, 14);
    let best = app.palette_matches("nxt tab");
    assert_eq!(best[0].1, Action::NextTab);
    app.update(Action::Palette);
    for c in "next tab".chars() {
        app.palette_key(PaletteKey::Char(c));
    }
    app.palette_key(PaletteKey::Enter);
    assert_eq!(app.active, 1);
    app.update(Action::Palette);
    for c in "zzqx".chars() {
        app.palette_key(PaletteKey::Char(c));
    }
    app.palette_key(PaletteKey::Enter);
    assert!(app.message.as_ref().unwrap().error);
}

#[test]
fn user_keymap_override_reaches_every_action() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut text = String::from("theme = \"light\"\n");
    // Rebind every action to a function-free letter chord; each must be reachable.
    // ctrl-a … ctrl-z, f2 … f12, then ctrl-f1 … ctrl-f12: more chords than actions.
    let chords: Vec<String> = ('a'..='z')
        .map(|c| format!("ctrl-{c}"))
        .chain((2..=12).map(|n| format!("f{n}")))
        .chain((1..=12).map(|n| format!("ctrl-f{n}")))
        .collect();
    // The grid's actions (each panel's keys are rebound in assay-tui's unit test
    // `every_mode_can_be_rebound`).
    let defaults = Keymap::new(&[]).unwrap().help();
    let grid: Vec<(Action, &str)> =
        Action::ALL.iter().copied().filter(|(a, _)| defaults.iter().any(|(_, d, _)| d == a)).collect();
    assert!(chords.len() >= grid.len(), "more actions than test keys");
    for ((_, name), chord) in grid.iter().zip(&chords) {
        text.push_str(&format!("[[keys]]\non = [\"{chord}\"]\nrun = \"{name}\"\n"));
    }
    std::fs::write(&path, &text).unwrap();
    let config = Config::parse(&std::fs::read_to_string(&path).unwrap(), "config.toml").unwrap();
    let keymap = Keymap::new(&config.keys).unwrap();
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    for ((action, _), chord) in grid.iter().zip(&chords) {
        let (key, modifiers) = match chord.strip_prefix("ctrl-") {
            Some(k) => (k, KeyModifiers::CONTROL),
            None => (chord.as_str(), KeyModifiers::NONE),
        };
        let code = match key.len() {
            1 => KeyCode::Char(key.chars().next().unwrap()),
            _ => KeyCode::F(key[1..].parse().unwrap()),
        };
        let key = KeyEvent::new(code, modifiers);
        assert_eq!(keymap.action(&key), Some(*action), "{chord}");
    }
    // Through the binary: a bad user keymap is a clear input error before the screen.
    std::fs::write(&path, "[[keys]]\non = [\"x\"]\nrun = \"launch\"\n").unwrap();
    let cfg = path.display().to_string();
    assay_env(&["sample-data/orders.csv"], &[("ASSAY_CONFIG", cfg.as_str())])
        .fails(2, &["unknown action `launch`"]);
}

/// A tmux session running a shell command in a window of a given size; killed on drop.
struct Tmux {
    session: String,
    target: String,
}

impl Tmux {
    fn start(name: &str, width: usize, height: usize, cmd: &str) -> Tmux {
        if std::process::Command::new("tmux").arg("-V").output().is_err() {
            panic!("tmux is needed for this test (.ci/run installs it)");
        }
        let session = format!("assay-{name}-{}", std::process::id());
        let t = Tmux { target: format!("{session}:0"), session };
        t.run(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            cmd,
        ]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.target])
    }

    fn keys<S: AsRef<str>>(&self, keys: &[S]) {
        let mut args = vec!["send-keys", "-t", self.target.as_str()];
        args.extend(keys.iter().map(|k| k.as_ref()));
        self.run(&args);
    }

    /// Whether the terminal is still on the alternate screen.
    fn alternate(&self) -> bool {
        self.run(&["display-message", "-p", "-t", &self.target, "#{alternate_on}"]).trim() == "1"
    }

    /// The screen once it shows `needle`; after a minute, panics with it and `context()`.
    fn wait_for(&self, needle: &str, context: impl Fn() -> String) -> String {
        let start = std::time::Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            if start.elapsed() > std::time::Duration::from_secs(60) {
                self.kill();
                panic!("`{needle}` never appeared; screen:\n{s}\n{}", context());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn kill(&self) {
        let _ = std::process::Command::new("tmux").args(["kill-session", "-t", &self.session]).output();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The real binary in tmux: open the sample, scroll, jump, open help, quit, and find the
/// terminal restored.
#[test]
fn end_to_end_in_tmux() {
    let data_dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "cd {} && ASSAY_DATA_DIR={} ASSAY_CONFIG=/nonexistent NO_COLOR=1 {} sample-data/orders.csv sample-data/customers.parquet; echo ASSAY-EXITED-$?; sleep 60",
        root().display(),
        data_dir.path().display(),
        env!("CARGO_BIN_EXE_assay")
    );
    let tmux = Tmux::start("e2e", 120, 30, &cmd);
    let screen = || tmux.screen();
    let wait_for = |needle: &str| tmux.wait_for(needle, String::new);
    let keys = |k: &[&str]| tmux.keys(k);
    wait_for("order_id");
    wait_for("row 1 of 50,000");
    keys(&["j", "j", "j"]);
    wait_for("row 4 of 50,000");
    keys(&["G"]);
    wait_for("row 50,000 of 50,000");
    keys(&[":", "2", "5", "0", "0", "0", "Enter"]);
    wait_for("row 25,000 of 50,000");
    keys(&["l", "l"]);
    wait_for("order_date (str)");
    // Sort, then filter with the builder (column under the cursor, `=`, a value).
    keys(&["]"]);
    wait_for("ORDER BY order_date DESC");
    keys(&["f", "Enter", "Enter", "2024-03-01", "Enter"]);
    wait_for("SQL  order_date = '2024-03-01'");
    keys(&["Enter"]);
    wait_for("WHERE order_date = '2024-03-01'");
    keys(&["U"]);
    // The rules beside the sample ran in the background; the panel lists them.
    wait_for("checks 7 ✓ 2 ! 3 ✗");
    keys(&["c"]);
    wait_for("✗ fail unique_order_id");
    keys(&["j", "Enter"]);
    wait_for("rows failing unique_order_id (272)");
    keys(&["u"]);
    // A derived column is a recipe step; the recipe panel shows it with its rows.
    keys(&["d"]);
    wait_for("new column: name = SQL expression");
    keys(&["-l", "total = price * quantity"]);
    keys(&["Enter"]);
    wait_for("total");
    keys(&["R"]);
    wait_for("● derive     total = price * quantity");
    keys(&["j", "j", "Space"]);
    wait_for("○ derive");
    keys(&["Space", "R"]);
    keys(&["u"]);
    keys(&["?"]);
    // The help's own title: the recipe panel's ("R or Esc closes") may still be on screen.
    let help = "j/k scroll · Esc closes";
    wait_for(help);
    keys(&["Escape"]);
    // A key right after Esc would read as Alt+key: let what it closes go first.
    let settle = |gone: &str| {
        let start = std::time::Instant::now();
        while screen().contains(gone) && start.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    settle(help);
    keys(&["Tab"]);
    wait_for("lifetime_value");
    wait_for("row 1 of 5,000");
    // The SQL editor: type a query, run it (a new tab), switch engine, explain, back.
    keys(&["s"]);
    wait_for("SQL · auto");
    keys(&["C-u"]);
    keys(&["-l", "SELECT country, count(*) AS n FROM customers GROUP BY country"]);
    keys(&["C-r"]);
    wait_for("q1: 11 rows in");
    wait_for("on Polars (auto: the default)");
    wait_for("country    n");
    keys(&["s"]);
    wait_for("SQL · auto");
    keys(&["C-e"]);
    wait_for("SQL · Polars");
    keys(&["C-e"]);
    wait_for("SQL · DataFusion");
    keys(&["C-x"]);
    wait_for("── datafusion ──");
    keys(&["Escape"]);
    settle("── datafusion ──");
    keys(&["Escape"]);
    settle("SQL · DataFusion");
    keys(&["q"]);
    let s = wait_for("ASSAY-EXITED-0");
    assert!(!tmux.alternate(), "still on the alternate screen");
    assert!(!s.contains("order_id"), "the workbench was not cleared from the screen:\n{s}");
}

/// The headless row count of `query`'s WHERE clause over the sample orders.
fn sample_count(condition: &str) -> u64 {
    let q = format!("SELECT COUNT(*) AS n FROM orders WHERE {condition}");
    json(assay(&["sql", &q, "-t", "sample-data/orders.csv", "--format", "json"]).ok())[0]["n"]
        .as_u64()
        .unwrap()
}

#[test]
fn filter_builder_makes_and_or_groups_and_reads_its_sql_back() {
    let mut h = Harness::real(&["sample-data/orders.csv"], 120, 30);
    // The cursor on `amount` (the last column): f, Enter takes it; `>` is the 5th operator.
    h.act(Action::LastColumn).act(Action::Filter);
    h.filter("\n↓↓↓↓\n1000\n");
    // A group (OR) of country in (US, DE) or country is null.
    h.filter("gcountry\n↓↓↓↓↓↓↓\nUS, DE\n");
    h.filter("acountry\n↓↓↓↓↓↓↓↓\n");
    insta::assert_snapshot!("filter_builder", h.screen());
    h.filter("\n");
    let condition = "amount > 1000 AND (country IN ('US', 'DE') OR country IS NULL)";
    assert_eq!(h.app.view_sql().unwrap(), format!("SELECT * FROM orders WHERE {condition}"));
    assert_eq!(h.app.tab().unwrap().rows(), Some(sample_count(condition)));
    // Reopening edits the same filter: as SQL, then back in the builder, then applied.
    h.act(Action::Filter);
    let Mode::Filter(editor) = &h.app.mode else { panic!("builder not open") };
    assert!(editor.replaces);
    h.filter("e");
    let jobs = (0..condition.len()).flat_map(|_| h.app.filter_key(PaletteKey::Backspace)).collect::<Vec<_>>();
    h.serve(jobs);
    let edited = "status = 'shipped' OR quantity BETWEEN 2 AND 3";
    h.filter(edited).filter("\n");
    let Mode::Filter(editor) = &h.app.mode else { panic!("builder closed") };
    assert_eq!(editor.group.items.len(), 2, "the SQL was read back into two conditions");
    h.filter("\n");
    assert_eq!(h.app.view_sql().unwrap(), format!("SELECT * FROM orders WHERE {edited}"));
    assert_eq!(h.app.tab().unwrap().rows(), Some(sample_count(edited)));
    assert_eq!(h.app.tab().unwrap().steps.len(), 1, "the edit replaced the filter");
    // Esc leaves the builder without changing the view.
    h.act(Action::Filter).filter("d⎋");
    assert_eq!(h.app.view_sql().unwrap(), format!("SELECT * FROM orders WHERE {edited}"));
}

#[test]
fn columns_hide_move_and_come_back() {
    let mut h = Harness::real(&["sample-data/orders.csv"], 160, 20);
    let names = |h: &Harness| h.app.tab().unwrap().columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let all = names(&h);
    // Hide customer_id, then move status left of order_date.
    h.act(Action::Right);
    let jobs = h.app.update(Action::HideColumn);
    assert!(
        !jobs.iter().any(|j| matches!(j, Job::Count { .. })),
        "hiding a column keeps the count: {jobs:?}"
    );
    h.serve(jobs);
    assert!(!names(&h).contains(&"customer_id".to_string()));
    h.act(Action::Right).act(Action::Right).act(Action::MoveColumnLeft);
    let shown = names(&h);
    assert_eq!(&shown[..4], ["order_id", "order_date", "status", "created_at"].map(String::from));
    let sql = h.app.view_sql().unwrap();
    assert!(sql.starts_with("SELECT order_id, order_date, status, created_at, email"), "{sql}");
    assert_eq!(h.app.tab().unwrap().steps.len(), 1, "column changes make one step");
    assert_eq!(h.app.tab().unwrap().rows(), Some(50_000));
    let screen = h.screen();
    assert!(!screen.contains("customer_id") && screen.contains("status"), "{screen}");
    h.act(Action::ShowColumns);
    assert_eq!(names(&h), all);
    assert_eq!(h.app.view_sql(), None);
}

#[test]
fn mouse_scrolls_selects_and_resizes() {
    let mut h = Harness::new(100, 20, false);
    h.mouse(Mouse::ScrollDown).mouse(Mouse::ScrollDown);
    assert_eq!(h.app.tab().unwrap().row, 6);
    h.mouse(Mouse::ScrollUp);
    assert_eq!(h.app.tab().unwrap().row, 3);
    // Click the `amount` cell on the fifth data line.
    let t = h.app.tab().unwrap();
    let (_, x) = t.visible_columns(100)[2];
    h.mouse(Mouse::Press { x: x + 1, y: 3 + 4 }).mouse(Mouse::Release);
    let t = h.app.tab().unwrap();
    assert_eq!((t.row, t.col), (t.top + 4, 2));
    // Drag amount's right edge 5 cells to the right: it widens by 5 and stays so.
    let w = t.widths[2];
    let edge = x + w;
    h.mouse(Mouse::Press { x: edge, y: 1 }).mouse(Mouse::Drag { x: edge + 5, y: 1 }).mouse(Mouse::Release);
    assert_eq!(h.app.tab().unwrap().widths[2], w + 5);
    h.act(Action::PageDown);
    assert_eq!(h.app.tab().unwrap().widths[2], w + 5, "fitting does not undo a user's width");
    h.act(Action::NarrowColumn);
    assert_eq!(h.app.tab().unwrap().widths[2], w + 3);
}

#[test]
fn open_dialog_browses_narrows_and_opens_tabs() {
    // No data given: the workbench starts in the open dialog on the current folder.
    let mut h = Harness::real(&[], 100, 24);
    let Mode::Open(dialog) = &h.app.mode else { panic!("no open dialog") };
    assert!(dialog.entries.iter().any(|e| e.name == "sample-data/" && e.is_dir));
    h.open("sample-data/\n");
    h.open("ordrs.cs");
    let Mode::Open(dialog) = &h.app.mode else { panic!("dialog closed") };
    assert_eq!(dialog.matches()[0].name, "orders.csv", "fuzzy typing narrows the list");
    insta::assert_snapshot!("open_dialog", h.screen().replace(&root().display().to_string(), "<root>"));
    h.open("\n");
    assert_eq!(h.app.mode, Mode::Normal);
    assert_eq!(h.app.tabs.len(), 1);
    assert_eq!(h.app.tab().unwrap().rows(), Some(50_000));
    // `o` opens the dialog beside the current file; a second dataset becomes a new tab.
    h.act(Action::Open);
    h.open("cust\n");
    assert_eq!(h.app.tabs.len(), 2);
    assert_eq!((h.app.active, h.app.tab().unwrap().dataset.name.as_str()), (1, "customers"));
    assert_eq!(h.app.tab().unwrap().rows(), Some(5_000));
    // A file that cannot be opened is an error in the dialog; the app keeps running.
    h.act(Action::Open);
    h.open("/no/such/file.csv\n");
    let Mode::Open(dialog) = &h.app.mode else { panic!("dialog closed") };
    assert!(dialog.error.as_deref().unwrap_or("").contains("/no/such/file.csv"), "{:?}", dialog.error);
    h.open("⌫");
}

#[test]
fn checks_panel_adds_runs_suggests_shows_failing_rows_and_saves() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("orders.csv");
    std::fs::copy(root().join("sample-data/orders.csv"), &data).unwrap();
    let data = data.display().to_string();
    let mut h = Harness::real(&[&data], 160, 40);
    h.act(Action::Checks);
    assert!(h.screen().contains("No checks yet"), "{}", h.screen());
    h.checks("⎋");
    // Two keys on a column: not null on amount (the last column), the range of price,
    // the values status holds.
    h.act(Action::LastColumn).add_check("n");
    h.act(Action::Left).add_check("r");
    h.act(Action::Left).act(Action::Left).act(Action::Left).act(Action::Left).add_check("s");
    let report = h.report();
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["not_null_amount", "between_price", "in_set_status"]);
    // The range and the set were read from the data: today they pass.
    assert_eq!(report.checks[1].failing_rows, 0);
    assert_eq!(report.checks[2].failing_rows, 0);
    let nulls = report.checks[0].failing_rows;
    assert_eq!(nulls, sample_count("amount IS NULL"));
    // Saved beside the data, the rules give the same answers headless.
    h.act(Action::Checks).checks("s");
    let saved = format!("{}/orders.rules.toml", dir.path().display());
    let cli = assay(&["check", &data, "--rules", &saved, "--format", "json"]);
    let cli = json(&cli.stdout);
    for (panel, headless) in report.checks.iter().zip(cli["checks"].as_array().unwrap()) {
        assert_eq!(panel.id, headless["id"].as_str().unwrap());
        assert_eq!(panel.failing_rows, headless["failing_rows"].as_u64().unwrap(), "{}", panel.id);
    }
    assert!(!h.app.tab().unwrap().checks.unsaved);
    // Suggestions: accept the first, reject the next.
    h.checks("S");
    let suggested = h.app.tab().unwrap().checks.suggestions.len();
    assert!(suggested > 3, "{suggested} suggestions");
    assert!(h.app.tab().unwrap().checks.suggestions.iter().all(|s| s.check.id() != "not_null_amount"));
    let first = h.app.tab().unwrap().checks.suggestions[0].check.id();
    h.checks("jjj").checks("y").checks("d");
    let t = h.app.tab().unwrap();
    assert_eq!(t.checks.rules.checks.last().unwrap().id(), first);
    assert_eq!(t.checks.suggestions.len(), suggested - 2);
    assert!(t.checks.unsaved);
    // The elapsed time varies, and so does its width: keep the padding after it.
    let screen = regex::Regex::new(r"\d+ ms *")
        .unwrap()
        .replace_all(&h.screen(), |c: &regex::Captures| format!("{:<1$}", "_ ms", c[0].len()))
        .into_owned();
    let screen = screen.replace(&dir.path().display().to_string(), "<dir>");
    insta::assert_snapshot!("checks_panel", screen);
    // Enter on a check: its failing rows become the view (u goes back).
    h.checks("kkkkkkkk\n");
    assert_eq!(h.app.view_sql().unwrap(), "SELECT * FROM orders WHERE amount IS NULL");
    assert_eq!(h.app.tab().unwrap().rows(), Some(nulls));
    h.act(Action::UndoStep);
    assert_eq!(h.app.view_sql(), None);
    // A unique key's failing rows: every row of a duplicated id.
    h.act(Action::FirstColumn).add_check("u");
    let dupes = h.report().checks.last().unwrap().failing_rows;
    assert!(dupes > 0);
    let n = h.app.tab().unwrap().checks.rules.checks.len();
    h.act(Action::Checks).checks(&"j".repeat(n - 1)).checks("\n");
    assert_eq!(h.app.tab().unwrap().rows(), Some(dupes));
    // x on a check removes it, as d does (it used to reach the suggestions' arm and
    // panic), and x past the list does nothing.
    let before = h.app.tab().unwrap().checks.rules.checks.len();
    h.act(Action::Checks).checks("x");
    assert_eq!(h.app.tab().unwrap().checks.rules.checks.len(), before - 1);
    let listed = h.app.tab().unwrap().checks.len();
    h.checks(&"j".repeat(listed + 3)).checks("xxxx");
    assert!(h.app.tab().unwrap().checks.len() + 4 == listed || listed < 4, "x removes what it is on");
    // A new workbench on the same data finds the saved rules beside it.
    let h2 = Harness::real(&[&data], 160, 40);
    let ds = &h2.real.as_ref().unwrap().0.datasets()[0];
    let path = rules_beside(ds).expect("rules beside the data");
    let rules = assay::quality::Rules::load(&path).unwrap();
    assert_eq!(rules.checks.len(), 3, "the rules as saved, before the suggestion");
}

/// Each cell of the screen as a letter for its colour (what the SQL highlighting did),
/// blank where the style is the default.
fn style_map(h: &Harness) -> String {
    let (w, hgt) = (h.app.width, h.app.height);
    let mut terminal = Terminal::new(TestBackend::new(w, hgt)).unwrap();
    let theme = Theme::new(Default::default(), true);
    terminal.draw(|f| view::render(f, &h.app, &theme)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let popup = theme.popup;
    let mut out = String::new();
    for y in 0..hgt {
        let line: String = (0..w)
            .map(|x| {
                let cell = &buffer[(x, y)];
                let style = cell.style();
                if style.add_modifier.contains(ratatui::style::Modifier::UNDERLINED) {
                    'u'
                } else if style.add_modifier.contains(ratatui::style::Modifier::REVERSED) {
                    'r'
                } else if style.fg == theme.header.fg
                    && style.add_modifier.contains(ratatui::style::Modifier::BOLD)
                {
                    'k'
                } else if style.fg == theme.pass.fg && style.fg != popup.fg {
                    'f'
                } else if style.fg == theme.warn.fg && style.fg != popup.fg {
                    's'
                } else if style.fg == theme.dtype.fg && style.fg != popup.fg {
                    'n'
                } else {
                    ' '
                }
            })
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn sql_editor_completes_runs_on_both_engines_chains_results_and_explains() {
    use assay::engine::EngineKind;
    use assay::tui::sql::SqlError;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut h = Harness::real(&["sample-data/orders.csv", "sample-data/customers.parquet"], 120, 30);
    let key = |h: &mut Harness, code: KeyCode, ctrl: bool| {
        let m = if ctrl { KeyModifiers::CONTROL } else { KeyModifiers::NONE };
        let jobs = assay::tui::handle_key(&mut h.app, KeyEvent::new(code, m));
        h.serve(jobs);
    };
    let typed = |h: &mut Harness, text: &str| {
        for c in text.chars() {
            let code = if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) };
            let jobs = assay::tui::handle_key(&mut h.app, KeyEvent::new(code, KeyModifiers::NONE));
            h.serve(jobs);
        }
    };
    // The editor opens on the current view as SQL (a filter becomes its WHERE clause).
    h.act(Action::KeepEqual);
    h.act(Action::Sql);
    assert!(matches!(h.app.mode, Mode::Sql));
    let start = h.app.sql.as_ref().unwrap().text();
    assert!(start.starts_with("SELECT * FROM orders") && start.contains("WHERE order_id = "), "{start}");
    key(&mut h, KeyCode::Char('u'), true);
    // Completion: a table after FROM, a column after an alias.
    typed(&mut h, "SELECT c.segm");
    key(&mut h, KeyCode::Tab, false);
    typed(&mut h, " AS segment, count(*) AS n, round(avg(o.amount), 2) AS mean\nFROM ord");
    key(&mut h, KeyCode::Tab, false);
    typed(&mut h, " o JOIN customers c USING (customer_id)\nGROUP BY c.segment\nORDER BY segment");
    let query = h.app.sql.as_ref().unwrap().text();
    assert_eq!(
        query,
        "SELECT c.segment AS segment, count(*) AS n, round(avg(o.amount), 2) AS mean\n\
         FROM orders o JOIN customers c USING (customer_id)\nGROUP BY c.segment\nORDER BY segment"
    );
    // The editor with its highlighting, as text and as colours.
    insta::assert_snapshot!("sql_editor", h.screen());
    insta::assert_snapshot!("sql_editor_colours", style_map(&h));
    // Run (auto: on Polars): the result opens as tab q1; the same on DataFusion as q2.
    key(&mut h, KeyCode::Char('r'), true);
    assert!(matches!(h.app.mode, Mode::Normal), "{:?}", h.app.sql.as_ref().unwrap().error);
    assert_eq!(h.app.tab().unwrap().dataset.name, "q1");
    let groups = h.app.tab().unwrap().rows().unwrap();
    let (ws, rt) = h.real.as_ref().unwrap();
    let want = rt
        .block_on(ws.sql(
            "SELECT COUNT(DISTINCT c.segment) AS n FROM orders o JOIN customers c USING (customer_id)",
            EngineKind::DataFusion,
        ))
        .unwrap();
    let want = arrow::util::display::array_value_to_string(want.batches[0].column(0), 0).unwrap();
    assert_eq!(groups.to_string(), want);
    // The result's grid (the status line's timing left out).
    h.app.message = None;
    insta::assert_snapshot!("sql_result_grid", h.screen());
    h.act(Action::Sql);
    assert_eq!(h.app.sql.as_ref().unwrap().text(), query, "the editor keeps its text");
    // ctrl-e cycles auto, Polars, DataFusion.
    key(&mut h, KeyCode::Char('e'), true);
    key(&mut h, KeyCode::Char('e'), true);
    assert_eq!(h.app.sql.as_ref().unwrap().engine, EngineKind::DataFusion.into());
    key(&mut h, KeyCode::Char('r'), true);
    assert_eq!(h.app.tab().unwrap().dataset.name, "q2");
    assert!(h.app.message.as_ref().unwrap().text.contains("on DataFusion"));
    // Results are tables: the two engines' answers are the same rows.
    let (ws, rt) = h.real.as_ref().unwrap();
    let diff = rt
        .block_on(ws.sql(
            "SELECT COUNT(*) AS n FROM (SELECT * FROM q1 EXCEPT SELECT * FROM q2) AS d",
            EngineKind::DataFusion,
        ))
        .unwrap();
    assert_eq!(arrow::util::display::array_value_to_string(diff.batches[0].column(0), 0).unwrap(), "0");
    // CREATE VIEW names a result.
    h.act(Action::Sql);
    key(&mut h, KeyCode::Char('u'), true);
    typed(&mut h, "CREATE VIEW busy AS SELECT * FROM q1 WHERE n > 12000");
    key(&mut h, KeyCode::Char('r'), true);
    assert_eq!(h.app.tab().unwrap().dataset.name, "busy");
    assert!(h.app.tab().unwrap().rows().unwrap() < groups);
    // Errors point at the token; statements that write are refused.
    h.act(Action::Sql);
    key(&mut h, KeyCode::Char('u'), true);
    typed(&mut h, "SELECT amount\nFROM orders\nWHERE amout > 1");
    key(&mut h, KeyCode::Char('r'), true);
    let e = h.app.sql.as_ref().unwrap().error.clone().unwrap();
    assert!(matches!(e, SqlError { at: Some((2, 6, 5)), .. }), "{e:?}");
    assert!(matches!(h.app.mode, Mode::Sql));
    h.app.message = None; // it says how long the last query took
    insta::assert_snapshot!("sql_editor_error", h.screen());
    key(&mut h, KeyCode::Char('u'), true);
    typed(&mut h, "INSERT INTO orders VALUES (1)");
    key(&mut h, KeyCode::Char('r'), true);
    let e = h.app.sql.as_ref().unwrap().error.clone().unwrap();
    assert!(e.message.contains("INSERT INTO writes data"), "{}", e.message);
    // Run again, a write is the user's to confirm: COPY a query to a Parquet file runs on
    // DataFusion the second time only.
    let out = std::env::temp_dir().join(format!("assay-test-copy-{}.parquet", std::process::id()));
    key(&mut h, KeyCode::Char('u'), true);
    typed(
        &mut h,
        &format!("COPY (SELECT order_id, amount FROM orders WHERE amount > 100) TO '{}'", out.display()),
    );
    key(&mut h, KeyCode::Char('r'), true);
    let e = h.app.sql.as_ref().unwrap().error.clone().unwrap();
    assert!(e.message.contains("COPY writes data") && e.message.contains("ctrl-r again"), "{}", e.message);
    assert!(!out.exists());
    key(&mut h, KeyCode::Char('r'), true);
    let expected = sample_count("amount > 100");
    assert_eq!(
        h.app.sql.as_ref().unwrap().last.as_deref(),
        Some(format!("written: {expected} rows written").as_str())
    );
    let counted = assay(&["count", &out.display().to_string()]);
    assert_eq!(counted.ok().trim(), expected.to_string());
    let _ = std::fs::remove_file(&out);
    // Explain: both engines' plans side by side.
    key(&mut h, KeyCode::Char('u'), true);
    typed(&mut h, "SELECT status, count(*) FROM orders WHERE amount > 100 GROUP BY status");
    key(&mut h, KeyCode::Char('x'), true);
    let Mode::Explain(view) = &h.app.mode else { panic!("no explain view: {:?}", h.app.mode) };
    assert_eq!(view.plans.iter().map(|p| p.engine).collect::<Vec<_>>(), ["polars", "datafusion"]);
    // The side-by-side view, the physical plan folded (its partitioning follows the
    // machine's cores).
    assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Char('3'), KeyModifiers::NONE));
    let screen = regex::Regex::new(r"physical \(\d+ lines\)")
        .unwrap()
        .replace(&h.screen(), "physical (N lines)")
        .to_string();
    insta::assert_snapshot!("explain_side_by_side", screen);
    assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Char('3'), KeyModifiers::NONE));
    let screen = h.screen();
    assert!(screen.contains("── polars ──") && screen.contains("── datafusion ──"), "{screen}");
    assert!(screen.contains("1 ▾ logical") && screen.contains("▶"), "no pushdown marked:\n{screen}");
    // Fold the logical plans; run the query for per-operator rows and time; save.
    let explain = |h: &mut Harness, c: char| {
        let jobs = assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        h.serve(jobs);
    };
    explain(&mut h, '1');
    assert!(h.screen().contains("1 ▸ logical ("), "{}", h.screen());
    explain(&mut h, 'a');
    let Mode::Explain(view) = &h.app.mode else { panic!("no explain view: {:?}", h.app.mode) };
    assert!(view.analyzed && view.plans.iter().all(|p| p.analyzed.is_some()));
    // DataFusion's metrics say how many rows each operator produced.
    assert!(
        view.plans[1].analyzed.as_ref().unwrap().contains("output_rows="),
        "{:?}",
        view.plans[1].analyzed
    );
    let screen = h.screen();
    assert!(screen.contains("4 ▾ analyzed (") && screen.contains("2 ▸ optimized ("), "{screen}");
    // Operators fold: to DataFusion's column, down to its physical plan's root, Enter.
    assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    let Mode::Explain(view) = &h.app.mode else { unreachable!() };
    let root = view
        .lines(1)
        .iter()
        .position(|l| matches!(l.kind, assay::tui::sql::LineKind::Operator { section: 2, parent: true, .. }))
        .expect("a physical operator with inputs");
    let shown_before = view.lines(1).len();
    for _ in 0..root {
        explain(&mut h, 'j');
    }
    assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let Mode::Explain(view) = &h.app.mode else { unreachable!() };
    let folded = &view.lines(1)[root];
    assert!(folded.text.contains("▸ ") && folded.text.contains(" lines"), "{folded:?}");
    assert!(view.lines(1).len() < shown_before);
    assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let Mode::Explain(view) = &h.app.mode else { unreachable!() };
    assert_eq!(view.lines(1).len(), shown_before);
    explain(&mut h, 's');
    let saved = h.app.message.clone().unwrap();
    let path = saved.text.strip_prefix("plans saved to ").unwrap_or_else(|| panic!("{saved:?}"));
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("SELECT status, count(*) FROM orders"), "{text}");
    assert!(
        text.contains("── polars · optimized plan ──") && text.contains("── datafusion · physical plan ──")
    );
    let _ = std::fs::remove_file(path);
    assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(matches!(h.app.mode, Mode::Sql));
    key(&mut h, KeyCode::Esc, false);
    assert!(matches!(h.app.mode, Mode::Normal));
}

/// The rows a tab shows, as text.
fn shown(h: &Harness) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let t = h.app.tab().unwrap();
    (t.columns.iter().map(|c| c.name.clone()).collect(), t.page.as_ref().unwrap().rows.clone())
}

fn column(h: &mut Harness, name: &str) {
    let t = h.app.tab().unwrap();
    let i = t.columns.iter().position(|c| c.name == name).unwrap_or_else(|| panic!("no column {name}"));
    h.act(Action::FirstColumn);
    for _ in 0..i {
        h.act(Action::Right);
    }
}

/// Renaming a renamed column changes the last rename step instead of renaming one name
/// twice in it (the soak found Polars panicking on that): chains collapse, a swap works,
/// and coming back to the first names leaves no step.
#[test]
fn renames_chain_swap_and_come_back_in_one_step() {
    let mut h = Harness::real(&[&sample("orders.csv")], 160, 30);
    let cell = |h: &Harness, name: &str| {
        let t = h.app.tab().unwrap();
        let i = t.columns.iter().position(|c| c.name == name).unwrap_or_else(|| panic!("no column {name}"));
        t.cell(0, i).unwrap().map(|s| s.to_string())
    };
    let (country, status) = (cell(&h, "country"), cell(&h, "status"));
    let rename = |h: &mut Harness, from: &str, to: &str| {
        column(h, from);
        h.act(Action::RenameColumn).typed(&format!("{}{to}\n", "⌫".repeat(from.chars().count())));
        assert!(h.app.tab().unwrap().error.is_none(), "{from} -> {to}: {:?}", h.app.tab().unwrap().error);
    };
    let renames = |h: &Harness| match h.app.tab().unwrap().steps.as_slice() {
        [Step::Rename { columns }] => columns.clone(),
        [] => Vec::new(),
        other => panic!("{other:?}"),
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    rename(&mut h, "country", "nation");
    rename(&mut h, "nation", "land");
    assert_eq!(renames(&h), [pair("country", "land")]);
    rename(&mut h, "status", "country");
    rename(&mut h, "land", "status");
    assert_eq!(renames(&h), [pair("country", "status"), pair("status", "country")]);
    assert_eq!((cell(&h, "status"), cell(&h, "country")), (country.clone(), status.clone()));
    rename(&mut h, "country", "x");
    rename(&mut h, "status", "country");
    rename(&mut h, "x", "status");
    assert_eq!(renames(&h), []);
    assert_eq!((cell(&h, "country"), cell(&h, "status")), (country, status));
}

#[test]
fn workbench_actions_record_a_recipe_that_replays_headless() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::real(&[&sample("orders.csv"), &sample("customers.parquet")], 160, 30);
    // Quick filter on a status, a sort, a hidden column, a rename, a cast, a derived
    // column, an SQL step and a check: each is recorded.
    column(&mut h, "status");
    let status = h.app.tab().unwrap().cell(0, h.app.tab().unwrap().col).unwrap().unwrap().to_string();
    h.act(Action::KeepEqual);
    column(&mut h, "amount");
    h.act(Action::SortDesc);
    column(&mut h, "email");
    h.act(Action::HideColumn);
    column(&mut h, "country");
    h.act(Action::RenameColumn).typed("⌫⌫⌫⌫⌫⌫⌫nation\n");
    column(&mut h, "quantity");
    h.act(Action::CastColumn).typed("float64\n");
    h.act(Action::DeriveColumn).typed("total = price * quantity\n");
    let jobs =
        h.app.adopt_sql("SELECT * FROM input WHERE total > 100".into(), assay::engine::EngineChoice::Polars);
    h.serve(jobs);
    column(&mut h, "order_id");
    h.add_check("n");
    let kinds: Vec<&str> = h.app.tab().unwrap().steps.iter().map(|s| s.kind()).collect();
    assert_eq!(kinds, ["filter", "sort", "select", "rename", "cast", "derive", "sql"]);
    assert!(h.app.tab().unwrap().error.is_none(), "{:?}", h.app.tab().unwrap().error);
    let (columns, _) = shown(&h);
    assert!(
        columns.contains(&"nation".to_string()) && !columns.contains(&"email".to_string()),
        "{columns:?}"
    );
    assert_eq!(columns.last().map(|s| s.as_str()), Some("total"));
    let rows_shown = match h.app.tab().unwrap().count {
        assay::tui::app::RowCount::Known(n) => n,
        ref other => panic!("not counted: {other:?}"),
    };
    let expected = sample_count(&format!("status = '{status}' AND price * quantity > 100"));
    assert_eq!(rows_shown, expected);

    // A bad rename and a bad type are refused in the prompt, the steps unchanged.
    h.act(Action::CastColumn).typed("decimalish\n");
    assert!(
        matches!(&h.app.mode, Mode::Prompt(p) if p.error.as_deref() == Some("unknown type `decimalish`"))
    );
    h.typed("⎋");

    // The recipe panel counts the rows after each step.
    h.act(Action::Recipe);
    let funnel = h.app.tab().unwrap().funnel.clone().unwrap();
    let counts: Vec<u64> = funnel.counts.iter().map(|c| *c.as_ref().unwrap().as_ref().unwrap()).collect();
    let filtered = sample_count(&format!("status = '{status}'"));
    assert_eq!(counts, [50_000, filtered, filtered, filtered, filtered, filtered, filtered, expected]);
    let screen = h.screen();
    assert!(screen.contains("recipe · orders · not saved"), "{screen}");
    assert!(screen.contains(&format!("status = '{status}'")), "{screen}");
    // Off and on again, moved down and back up.
    h.typed("jj ");
    assert!(matches!(h.app.tab().unwrap().steps[1], assay::transform::Step::Disabled(_)));
    assert!(h.screen().contains("○ sort"));
    h.typed(" JK");
    assert_eq!(h.app.tab().unwrap().steps.iter().map(|s| s.kind()).collect::<Vec<_>>(), kinds);
    // Edited as TOML: the derived column doubles.
    h.typed("jjjj").typed("e");
    match &mut h.app.mode {
        Mode::Prompt(p) => {
            assert_eq!(p.input, "derive = { total = \"price * quantity\" }");
            p.input = "derive = { total = \"2 * price * quantity\" }".into();
        }
        other => panic!("{other:?}"),
    }
    h.typed("\n");
    let doubled = sample_count(&format!("status = '{status}' AND 2 * price * quantity > 100"));
    assert_eq!(h.app.tab().unwrap().funnel.as_ref().unwrap().counts[7].clone().unwrap().unwrap(), doubled);

    // Saved, then replayed headless: the same rows as on screen, in the same order.
    let path = dir.path().join("orders.recipe.toml").display().to_string();
    h.typed("s");
    if let Mode::Prompt(p) = &h.app.mode {
        assert_eq!(p.input, "orders.recipe.toml");
        assert!(p.proposed);
    }
    // The proposed name goes as the first character is typed.
    h.typed(&path);
    if let Mode::Prompt(p) = &h.app.mode {
        assert_eq!(p.input, path);
    }
    h.typed("\n");
    assert_eq!(h.app.tab().unwrap().recipe_path.as_deref(), Some(path.as_str()));
    let (columns, rows) = shown(&h);
    let out = dir.path().join("out.csv").display().to_string();
    let run = assay(&["run", &path, "--set", &format!("outputs.all.path={out}"), "--format", "json"]);
    let manifest = json(run.ok());
    assert_eq!(manifest["rows"]["rows_in"].as_u64().unwrap(), doubled);
    assert_eq!(manifest["checks"]["checks"][0]["id"], "not_null_order_id");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ws = rt.block_on(assay::Workspace::open(&[(None, out.clone())], &Default::default())).unwrap();
    let table = rt.block_on(ws.page(&ws.datasets()[0], &[], 0, rows.len())).unwrap();
    let names: Vec<String> = table.schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, columns);
    let written = assay::output::cells(&table, rows.len()).unwrap();
    assert_eq!(written.len(), rows.len());
    for (i, (a, b)) in written.iter().zip(&rows).enumerate() {
        // CSV writes floats in their shortest form; compare as numbers where they are.
        let same = a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => {
                x == y || x.parse::<f64>().ok() == y.parse::<f64>().ok() && x.parse::<f64>().is_ok()
            }
            (x, y) => x == y,
        });
        assert!(same, "row {i}: written {a:?}, shown {b:?}");
    }

    // Opened again from the file: the same steps and checks.
    let steps = h.app.tab().unwrap().steps.clone();
    h.typed("⎋").act(Action::UndoStep).act(Action::UndoStep);
    h.act(Action::Recipe).typed("o");
    // ctrl-u empties the line (here, the recent recipe proposed); Backspace edits it.
    h.typed("⌫");
    h.app.clear_input();
    h.typed(&path);
    h.typed("\n");
    assert_eq!(h.app.tab().unwrap().steps, steps);
    assert_eq!(h.app.tab().unwrap().checks.rules.checks.len(), 1);
    assert!(h.app.message.as_ref().unwrap().text.contains("7 steps, 1 checks"), "{:?}", h.app.message);
}

/// The export dialog's destination, set as if typed.
fn export_to(h: &mut Harness, dest: &str) {
    h.act(Action::Export);
    match &mut h.app.mode {
        Mode::Export(d) => d.destination = dest.to_string(),
        other => panic!("no export dialog: {other:?}"),
    }
}

#[test]
fn export_dialog_writes_files_and_tables_asks_before_replacing_shows_progress_and_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    assay::generate::generate(assay::generate::Kind::Orders, 1_500_000, 5, &big).unwrap();
    let mut h = Harness::real(&[&sample("orders.csv"), &big.display().to_string()], 160, 30);
    // The filtered view of the orders to CSV with `;` and no header.
    column(&mut h, "status");
    let status = h.app.tab().unwrap().cell(0, h.app.tab().unwrap().col).unwrap().unwrap().to_string();
    h.act(Action::KeepEqual);
    let filtered = sample_count(&format!("status = '{status}'"));
    h.act(Action::Export);
    let screen = h.screen();
    assert!(screen.contains("export orders") && screen.contains("out/orders.parquet"), "{screen}");
    assert!(screen.contains("Parquet codec") && screen.contains("zstd"), "{screen}");
    let csv = dir.path().join("kept.csv").display().to_string();
    h.typed("⎋");
    export_to(&mut h, &csv);
    h.typed("↓↓↓⌫;↓ \n");
    let message = h.app.message.as_ref().unwrap().text.clone();
    assert!(message.starts_with(&format!("{} rows exported to {csv}", thousands(filtered))), "{message}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count() as u64, filtered, "no header line");
    assert!(text.lines().next().unwrap().contains(';'));
    // The export is now an output of the tab's recipe, with its options.
    let recipe = h.app.recipe_of(0).unwrap();
    let output = &recipe.outputs["kept"];
    assert_eq!(output.path.as_deref(), Some(csv.as_str()));
    assert_eq!(output.csv.as_ref().unwrap().header, Some(false));
    assert!(recipe.to_toml().unwrap().contains("[outputs.kept]"));

    // The same file again: the dialog asks; any key goes back, `y` replaces it.
    let before = std::fs::read(&csv).unwrap();
    h.act(Action::UndoStep);
    export_to(&mut h, &csv);
    h.typed("↓↓↓⌫;↓ \n");
    assert!(h.screen().contains("exists: y replaces it"), "{}", h.screen());
    h.typed("n");
    assert_eq!(std::fs::read(&csv).unwrap(), before);
    h.typed("\ny");
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 50_000);
    assert_eq!(h.app.recipe_of(0).unwrap().outputs.len(), 1, "the same destination, one output");

    // A SQLite table, appended to twice.
    let db = dir.path().join("w.db").display().to_string();
    for _ in 0..2 {
        export_to(&mut h, &format!("sqlite://{db}?table=orders"));
        h.typed("↓ \n");
        assert!(!h.app.message.as_ref().unwrap().error, "{:?}", h.app.message);
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 100_000);
    let recipe = h.app.recipe_of(0).unwrap();
    assert_eq!(recipe.outputs["orders"].mode, Some(assay::recipe::LoadMode::Append));

    // The big file: progress on the status line while it runs, then Esc stops it and
    // nothing is written.
    h.act(Action::NextTab);
    let out = dir.path().join("big.parquet").display().to_string();
    export_to(&mut h, &out);
    let jobs = h.app.export_key(PaletteKey::Enter);
    let [Job::Export { tab, steps, plan, overwrite, watch }] = &jobs[..] else { panic!("{jobs:?}") };
    let Harness { app, real, .. } = &mut h;
    let (ws, rt) = real.as_ref().unwrap();
    let (exists, result) = std::thread::scope(|scope| {
        let running = scope.spawn(|| {
            rt.block_on(assay::tui::export::run(
                ws,
                tab,
                steps,
                plan,
                *overwrite,
                watch.clone(),
                &Default::default(),
            ))
        });
        while watch.rows() == 0 && !running.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let status = app.exporting.as_ref().unwrap().status();
        assert!(
            status.contains(&format!("exporting to {out}")) && status.contains("of 1,500,000"),
            "{status}"
        );
        assert!(status.contains("Esc cancels"), "{status}");
        app.update(Action::Cancel);
        running.join().unwrap()
    });
    assert!(!exists);
    assert!(result.is_err(), "the export finished before the cancel: a weak test");
    let jobs =
        h.app.on_done(Done::Exported { tab: h.app.tabs[1].id.clone(), plan: plan.clone(), exists, result });
    assert!(jobs.is_empty());
    assert!(h.app.message.as_ref().unwrap().text.contains("cancelled: nothing was written"));
    assert!(!std::path::Path::new(&out).exists());
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!left.iter().any(|n| n.contains("big.parquet") || n.contains("assay-partial")), "{left:?}");
}

#[test]
fn cells_and_plans_copy_to_the_clipboard_and_queries_are_found_by_name() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut h = Harness::real(&["sample-data/orders.csv"], 120, 30);
    column(&mut h, "email");
    let cell = h.app.tab().unwrap().cell(0, h.app.tab().unwrap().col).unwrap().unwrap().to_string();
    h.act(Action::Copy);
    assert_eq!(h.app.clipboard.as_deref(), Some(cell.as_str()));
    assert_eq!(assay::tui::osc52("hi"), "\x1b]52;c;aGk=\x07");
    // The explain view copies both engines' plans.
    h.app.clipboard = None;
    h.act(Action::Sql);
    let ctrl = |h: &mut Harness, c: char| {
        let jobs = assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
        h.serve(jobs);
    };
    ctrl(&mut h, 'u');
    for c in "SELECT status, COUNT(*) AS n FROM orders GROUP BY status".chars() {
        let jobs = assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        h.serve(jobs);
    }
    ctrl(&mut h, 'x');
    assert!(matches!(h.app.mode, Mode::Explain(_)), "{:?}", h.app.message);
    assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    let copied = h.app.clipboard.take().unwrap();
    assert!(
        copied.starts_with("SELECT status")
            && copied.contains("polars · logical plan")
            && copied.contains("datafusion"),
        "{copied}"
    );
    assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    // ctrl-s names the query; ctrl-o finds it again from an empty editor.
    ctrl(&mut h, 's');
    for c in "by status".chars() {
        assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    let jobs = assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(matches!(&jobs[..], [Job::SaveQueries { saved }] if saved.len() == 1), "{jobs:?}");
    assert_eq!(h.app.sql_saved.len(), 1);
    ctrl(&mut h, 'u');
    ctrl(&mut h, 'o');
    for c in "status".chars() {
        assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    assert!(h.screen().contains("★ by status: SELECT status, COUNT(*)"), "{}", h.screen());
    assay::tui::handle_key(&mut h.app, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        h.app.sql.as_ref().unwrap().text(),
        "SELECT status, COUNT(*) AS n FROM orders GROUP BY status"
    );
    // A plain WHERE over the table flows back into the tab's filter, for the builder.
    h.app.sql.as_mut().unwrap().set_text("SELECT * FROM orders WHERE amount > 100 AND status = 'shipped'");
    ctrl(&mut h, 't');
    let filter = assay::transform::Step::Filter { sql: "amount > 100 AND status = 'shipped'".into() };
    assert_eq!(h.app.tab().unwrap().steps, [filter]);
    h.act(Action::Filter);
    let screen = h.screen();
    assert!(screen.contains("amount > 100") && screen.contains("shipped"), "{screen}");
}

/// The workbench soak (issue 21): the real binary in tmux fed thousands of random keys —
/// letters, digits, symbols, arrows, Enter, Tab, Backspace, control keys — with resizes
/// and Esc storms, on copies of the sample data. No key may crash it (no crash report,
/// no "internal error"); when a key quits it, it exits 0 with the terminal restored and
/// starts again. `ASSAY_SOAK_KEYS` runs longer (`ASSAY_SOAK_SEED` picks the sequence),
/// `ASSAY_SOAK_BIG=FILE` adds a big file as a third tab; the peak resident memory must
/// stay under `ASSAY_SOAK_MAX_MB` (1024).
#[test]
fn random_keys_never_crash_the_workbench() {
    let total: usize = std::env::var("ASSAY_SOAK_KEYS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let seed: u64 = std::env::var("ASSAY_SOAK_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(21);
    let work = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    for f in ["orders.csv", "customers.parquet"] {
        std::fs::copy(root().join("sample-data").join(f), work.path().join(f)).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_assay");
    // `ASSAY_SOAK_BIG=FILE` adds a big file (read in place) as a third tab.
    let big = std::env::var("ASSAY_SOAK_BIG").unwrap_or_default();
    let cmd = format!(
        "cd {} && ASSAY_DATA_DIR={} ASSAY_CONFIG=/nonexistent NO_COLOR=1 {bin} orders.csv customers.parquet {big}; \
         echo ASSAY-EXITED-$?; sleep 600",
        work.path().display(),
        data_dir.path().display()
    );
    let tmux = Tmux::start("soak", 160, 48, &cmd);
    // The workbench's peak resident memory so far (VmHWM), in MB: the pane's shell's child.
    let peak_mb = || -> Option<u64> {
        let shell = tmux.run(&["display-message", "-p", "-t", &tmux.target, "#{pane_pid}"]);
        let shell = shell.trim();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
        let pid = children.split_whitespace().next()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kb: u64 =
            status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024)
    };
    let target = tmux.target.clone();
    let report = || -> Option<String> {
        let mut reports: Vec<_> = std::fs::read_dir(data_dir.path())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("crash-"))
                    .collect()
            })
            .unwrap_or_default();
        reports.sort_by_key(|e| e.file_name());
        reports.first().map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
    };
    let wait_for = |needle: &str| tmux.wait_for(needle, || format!("{:?}", report()));
    let crashed = |s: &str, history: &[String]| {
        let report = report();
        if s.contains("internal error") || report.is_some() {
            tmux.kill();
            let last: Vec<&String> = history.iter().rev().take(40).collect();
            panic!("the workbench crashed (seed {seed}); last keys, newest first: {last:?}\n{s}\n{report:?}");
        }
    };
    wait_for("row 1 of 50,000");
    const SPECIAL: &[&str] = &[
        "Enter", "Escape", "Tab", "BTab", "BSpace", "Up", "Down", "Left", "Right", "PageUp", "PageDown",
        "Home", "End", "Space", "C-e", "C-r", "C-x", "C-u", "C-d", "C-f", "C-b", "C-n", "C-p", "C-w", "C-a",
        "C-k", "DC",
    ];
    let symbols = ":/?[]{}<>=!-+*.,_()%'\"@&|^~$`";
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move |n: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) % n as u64) as usize
    };
    let mut history: Vec<String> = Vec::new();
    let (mut sent, mut restarts) = (0usize, 0usize);
    while sent < total {
        let mut batch: Vec<String> = Vec::new();
        for _ in 0..20 {
            let key = match next(10) {
                // `q` quits from the grid: rarer, so the panels get explored.
                0..=3 => match (b'a' + next(26) as u8) as char {
                    'q' if next(5) != 0 => "j".to_string(),
                    c => c.to_string(),
                },
                4 => ((b'A' + next(26) as u8) as char).to_string(),
                5 => ((b'0' + next(10) as u8) as char).to_string(),
                6 => symbols.chars().nth(next(symbols.chars().count())).unwrap().to_string(),
                _ => SPECIAL[next(SPECIAL.len())].to_string(),
            };
            batch.push(key);
        }
        if next(15) == 0 {
            batch.extend(std::iter::repeat_n("Escape".to_string(), 15));
        }
        sent += batch.len();
        history.extend(batch.iter().cloned());
        tmux.keys(&batch);
        if next(12) == 0 {
            let (w, h) = (40 + next(160), 8 + next(50));
            tmux.run(&["resize-window", "-t", &target, "-x", &w.to_string(), "-y", &h.to_string()]);
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
        let s = tmux.screen();
        crashed(&s, &history);
        if let Some(code) = s.split("ASSAY-EXITED-").nth(1) {
            // A key quit the workbench: it must have left cleanly; start it again.
            let code = code.split_whitespace().next().unwrap_or("");
            if code != "0" {
                tmux.kill();
                panic!(
                    "the workbench exited {code} (seed {seed}); last keys: {:?}\n{s}",
                    &history[history.len().saturating_sub(40)..]
                );
            }
            assert!(!tmux.alternate(), "still on the alternate screen after quitting");
            restarts += 1;
            tmux.run(&["resize-window", "-t", &target, "-x", "160", "-y", "48"]);
            tmux.run(&["respawn-pane", "-k", "-t", &target, &cmd]);
            wait_for("row 1 of 50,000");
        }
    }
    // Quit from wherever it is. The workbench may still be working through the keys (tmux
    // types faster than a debug build on a big file handles them): the quit keys queue
    // behind them and are sent again until it exits, for up to 30 ms a key sent (a
    // minute at least). The peak memory is read while it runs.
    let patience = std::time::Duration::from_millis(30 * sent as u64).max(std::time::Duration::from_secs(60));
    let deadline = std::time::Instant::now() + patience;
    let mut peak = None;
    let s = loop {
        let s = tmux.screen();
        crashed(&s, &history);
        if s.contains("ASSAY-EXITED-") {
            break s;
        }
        peak = peak_mb().or(peak);
        if std::time::Instant::now() > deadline {
            tmux.kill();
            panic!("the workbench did not quit within {patience:?} of the last key (seed {seed}):\n{s}");
        }
        // One Esc at a time: Esc followed at once by another byte reads as Alt+that key.
        for _ in 0..3 {
            tmux.keys(&["Escape"]);
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
        tmux.keys(&["q"]);
        std::thread::sleep(std::time::Duration::from_millis(1000));
    };
    let alt = tmux.alternate();
    tmux.kill();
    assert!(s.contains("ASSAY-EXITED-0"), "{s}");
    assert!(!alt, "still on the alternate screen");
    eprintln!("soak: {sent} keys, {restarts} restarts after a quit, seed {seed}, peak RSS {peak:?} MB");
    // Bounded memory: the sample data's workbench stays well under 1 GB whatever it is
    // asked (`ASSAY_SOAK_MAX_MB` for other data).
    let max: u64 = std::env::var("ASSAY_SOAK_MAX_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    if let Some(p) = peak {
        assert!(p <= max, "the workbench peaked at {p} MB (limit {max} MB)");
    }
}

#[test]
fn tabs_close_by_id_and_leave_the_workspace() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut h = Harness::real(&[&sample("orders.csv"), &sample("customers.parquet")], 160, 30);
    let key = |h: &mut Harness, code: KeyCode, ctrl: bool| {
        let m = if ctrl { KeyModifiers::CONTROL } else { KeyModifiers::NONE };
        let jobs = assay::tui::handle_key(&mut h.app, KeyEvent::new(code, m));
        h.serve(jobs);
    };
    // orders joins customers in an sql step: customers cannot close while it does.
    h.act(Action::Sql);
    key(&mut h, KeyCode::Char('u'), true);
    h.typed("SELECT * FROM input JOIN customers USING (customer_id)");
    key(&mut h, KeyCode::Char('t'), true);
    assert_eq!(h.app.tab().unwrap().steps.len(), 1, "{:?}", h.app.message);
    h.act(Action::NextTab);
    assert_eq!(h.app.tab().unwrap().dataset.name, "customers");
    key(&mut h, KeyCode::Char('w'), true);
    assert_eq!(h.app.tabs.len(), 2);
    let said = h.app.message.clone().unwrap();
    assert!(said.error && said.text.contains("the steps of tab orders read it"), "{said:?}");

    // orders closes: its id is gone, its table leaves the workspace, and a late answer
    // for it lands nowhere (before ids, it would have landed on customers, now tab 0).
    h.act(Action::PrevTab);
    let orders = h.app.tab().unwrap().id.clone();
    key(&mut h, KeyCode::Char('w'), true);
    assert_eq!(h.app.tabs.len(), 1);
    assert_eq!(h.app.tab().unwrap().dataset.name, "customers");
    assert!(h.real.as_ref().unwrap().0.dataset("orders").is_none());
    assert!(h.real.as_ref().unwrap().0.dataset("customers").is_some());
    let before = h.app.tab().unwrap().page.as_ref().map(|p| (p.offset, p.rows.clone()));
    // Its generation is the one customers' page has, so only the id tells them apart.
    let generation = h.app.tab().unwrap().generation;
    let late = Done::Page { tab: orders, generation, offset: 0, result: Ok(table(0, 3, false)) };
    assert!(h.app.on_done(late).is_empty());
    assert_eq!(h.app.tab().unwrap().page.as_ref().map(|p| (p.offset, p.rows.clone())), before);
    // SQL over the closed table now fails as an unknown table.
    let (ws, rt) = h.real.as_ref().unwrap();
    assert!(rt
        .block_on(ws.sql("SELECT count(*) FROM orders", assay::engine::EngineKind::DataFusion))
        .is_err());

    // Closing the last tab opens the open dialog; opening the file again gives a new tab.
    key(&mut h, KeyCode::Char('w'), true);
    assert!(h.app.tabs.is_empty());
    assert!(matches!(h.app.mode, Mode::Open(_)), "{:?}", h.app.mode);
    let screen = h.screen();
    assert!(screen.contains("closed customers") && screen.contains("sample-data/"), "{screen}");
}

#[test]
fn a_workbook_opens_like_a_folder_of_its_sheets() {
    let mut h = Harness::real(&[], 100, 24);
    h.open("sample-data/orders.xlsx\n");
    let Mode::Open(dialog) = &h.app.mode else { panic!("dialog closed: {:?}", h.app.message) };
    let sheets: Vec<(&str, &str)> =
        dialog.entries.iter().map(|e| (e.name.as_str(), e.spec.as_str())).collect();
    assert_eq!(
        sheets,
        [
            ("orders", "sample-data/orders.xlsx?sheet=orders"),
            ("returns", "sample-data/orders.xlsx?sheet=returns")
        ]
    );
    h.open("ret\n");
    assert_eq!(h.app.mode, Mode::Normal, "{:?}", h.app.message);
    let t = h.app.tab().unwrap();
    assert_eq!((t.dataset.name.as_str(), t.rows()), ("returns", Some(3)));
    let screen = h.screen();
    assert!(screen.contains("#DIV/0!"), "{screen}");
    // Backspace in the sheets goes up to the workbook's folder.
    h.act(Action::Open);
    h.open("orders.xlsx\n⌫");
    let Mode::Open(dialog) = &h.app.mode else { panic!("dialog closed") };
    assert!(dialog.location.trim_end_matches('/').ends_with("sample-data"), "{}", dialog.location);
}
