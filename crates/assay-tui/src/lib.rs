//! The interactive workbench: the only code that touches the terminal (ratatui and
//! crossterm). It renders `app::App` and runs the app's jobs on the library's engines
//! off the UI thread; the latest page request replaces the previous one, and Esc cancels.

pub mod app;
pub mod checks;
pub mod export;
pub mod filter;
pub mod grid;
pub mod help;
pub mod jobs;
pub mod keymap;
pub mod open;
pub mod palette;
pub mod profile;
pub mod recipe;
mod runner;
pub mod search;
pub mod sql;
pub mod tab;
pub mod view;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
    MouseButton, MouseEventKind,
};
use crossterm::{cursor, execute, terminal};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use app::{App, Done, Job, Message, Mode, Mouse, PaletteKey};
use assay_core::app::Workspace;
use assay_core::config::Config;
use assay_core::source::OpenOptions;
use assay_core::{Error, Result};
use keymap::{Action, Keymap, Scope};
pub use runner::open_recipe;
use runner::{add_unique, JobRunner};

/// Raw mode and the alternate screen, undone on drop and on panic.
struct TerminalGuard;

fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(std::io::stdout(), DisableMouseCapture, terminal::LeaveAlternateScreen, cursor::Show);
}

impl TerminalGuard {
    fn enter() -> Result<TerminalGuard> {
        // A panic on the UI thread ends the session: give the terminal back first. One
        // on an engine thread is caught by its task and shown as that job's error, so
        // the workbench keeps running: write the report without touching the screen.
        let ui = std::thread::current().id();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == ui {
                restore_terminal();
                previous(info);
            } else {
                assay_core::config::crash_report(info);
            }
        }));
        terminal::enable_raw_mode().map_err(|e| Error::runtime(format!("terminal: {e}")))?;
        execute!(std::io::stdout(), terminal::EnterAlternateScreen, EnableMouseCapture, cursor::Hide)
            .map_err(|e| Error::runtime(format!("terminal: {e}")))?;
        Ok(TerminalGuard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Turns a key into the app's jobs: text goes to the palette while it is open; every
/// other key goes through the keymap.
pub fn handle_key(app: &mut App, key: KeyEvent) -> Vec<Job> {
    // Every mode's keys come from the keymap (`keymap::Scope`): the SQL editor's
    // commands, then its text; the explain view's; a panel's or dialog's commands, then
    // the keys of text fields (`Scope::Input`), then typed text.
    let scope = app.mode.scope();
    if matches!(app.mode, Mode::Sql) {
        let action = app.keymap.action_in(Scope::Sql, &key);
        return app.sql_key(key, action);
    }
    if matches!(app.mode, Mode::Explain(_)) {
        return match app.keymap.action_in(Scope::Explain, &key) {
            Some(action) => app.explain_key(action),
            None => Vec::new(),
        };
    }
    if app.mode.reads_keys() {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let own = (scope != Scope::Input).then(|| app.keymap.action_in(scope, &key)).flatten();
        let pk = match (own, app.keymap.action_in(Scope::Input, &key)) {
            (Some(action), _) => Some(PaletteKey::Act(action)),
            (None, Some(Action::Confirm)) => Some(PaletteKey::Enter),
            (None, Some(Action::Cancel)) => Some(PaletteKey::Esc),
            (None, Some(Action::Up)) => Some(PaletteKey::Up),
            (None, Some(Action::Down)) => Some(PaletteKey::Down),
            (None, Some(Action::ClearInput)) => {
                app.clear_input();
                return Vec::new();
            }
            _ => match key.code {
                KeyCode::Char(c) if !ctrl => Some(PaletteKey::Char(c)),
                KeyCode::Backspace | KeyCode::Delete => Some(PaletteKey::Backspace),
                _ => None,
            },
        };
        let searching = matches!(app.mode, Mode::Search { .. });
        let filtering = matches!(app.mode, Mode::Filter(_));
        let opening = matches!(app.mode, Mode::Open(_));
        let checking = matches!(app.mode, Mode::Checks { .. });
        let adding = matches!(app.mode, Mode::AddCheck { .. });
        let recipe = matches!(app.mode, Mode::Recipe { .. });
        let prompting = matches!(app.mode, Mode::Prompt(_));
        let exporting = matches!(app.mode, Mode::Export(_));
        return match pk {
            Some(k) if exporting => app.export_key(k),
            Some(k) if recipe => app.recipe_key(k),
            Some(k) if prompting => app.prompt_key(k),
            Some(k) if opening => app.open_key(k),
            Some(k) if checking => app.checks_key(k),
            Some(k) if adding => app.add_check_key(k),
            Some(k) if searching => app.search_key(k),
            Some(k) if filtering => app.filter_key(k),
            Some(k) => app.palette_key(k),
            None => Vec::new(),
        };
    }
    match app.keymap.action(&key) {
        Some(action) => app.update(action),
        None => Vec::new(),
    }
}

/// Opens `specs` and runs the workbench until the user quits. Datasets that cannot be
/// opened are reported in the status bar; if none can, the error is returned before
/// the screen is touched.
/// `rules` (a rules file) goes with the first dataset; the others take the rules file
/// beside them, if any (`checks::rules_beside`).
pub async fn run(specs: &[String], rules: Option<&str>, options: &OpenOptions) -> Result<()> {
    let config = Config::load()?;
    let keymap = Keymap::new(&config.keys)?;
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let theme = view::Theme::new(config.theme, color);
    let mut workspace = Workspace::default();
    let mut problems: Vec<Error> = Vec::new();
    for spec in specs {
        // Tabs need distinct names too.
        match assay_core::app::open(spec, None, options).await.and_then(|ds| add_unique(&mut workspace, ds)) {
            Ok(_) => {}
            Err(e) => problems.push(e),
        }
    }
    if workspace.datasets().is_empty() && !problems.is_empty() {
        return Err(problems.remove(0));
    }
    // Rules given on the command line are read before the screen is touched: a bad file
    // stops here with its position (exit 2). Those found beside the data are read in the
    // background, as for datasets opened later (`Job::LoadRules`).
    let given = match rules {
        Some(_) if workspace.datasets().is_empty() => {
            return Err(Error::input("--rules needs DATA to check"))
        }
        Some(path) => Some((path.to_string(), assay_core::quality::Rules::load(path)?)),
        None => None,
    };
    let guard = TerminalGuard::enter()?;
    let result = event_loop(workspace, options.clone(), keymap, theme, problems, given).await;
    drop(guard);
    result
}

async fn event_loop(
    workspace: Workspace,
    options: OpenOptions,
    keymap: Keymap,
    theme: view::Theme,
    problems: Vec<Error>,
    rules: Option<(String, assay_core::quality::Rules)>,
) -> Result<()> {
    let term_err = |e: std::io::Error| Error::runtime(format!("terminal: {e}"));
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(term_err)?;
    let size = terminal.size().map_err(term_err)?;
    let (mut app, mut jobs) = App::new(workspace.datasets().to_vec(), keymap, size.width, size.height);
    let beside = match rules {
        Some((path, r)) => {
            jobs.extend(app.set_rules(0, path, r));
            1
        }
        None => 0,
    };
    jobs.extend(app.tabs[beside.min(app.tabs.len())..].iter().map(|t| Job::LoadRules { tab: t.id.clone() }));
    if let Some(p) = problems.first() {
        app.message = Some(Message { text: p.to_string(), error: true });
    }
    // Queries run in earlier sessions; results of this one go to a folder of its own.
    let history = assay_core::config::data_dir().map(|d| d.join("history.sql"));
    app.sql_history = history.as_deref().map(sql::load_history).unwrap_or_default();
    let saved = assay_core::config::data_dir().map(|d| d.join("queries.toml"));
    app.sql_saved = saved.as_deref().map(sql::load_saved).unwrap_or_default();
    let results = std::env::temp_dir().join(format!("assay-results-{}", std::process::id()));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runner = JobRunner::new(Arc::new(workspace), options, tx, results.clone(), history);
    let outcome = run_loop(&mut app, &mut terminal, &theme, runner, jobs, &mut rx).await;
    let _ = std::fs::remove_dir_all(&results);
    outcome
}

async fn run_loop(
    app: &mut App,
    terminal: &mut Terminal<CrosstermBackend<std::io::Stdout>>,
    theme: &view::Theme,
    mut runner: JobRunner,
    jobs: Vec<Job>,
    rx: &mut mpsc::UnboundedReceiver<Done>,
) -> Result<()> {
    let term_err = |e: std::io::Error| Error::runtime(format!("terminal: {e}"));
    runner.start(jobs);
    let mut events = terminal_events().map_err(term_err)?;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut dirty = true;
    let mut key_at: Option<std::time::Instant> = None;
    while !app.quit {
        if dirty {
            terminal.draw(|f| view::render(f, app, theme)).map_err(term_err)?;
            dirty = false;
            // Keystroke to screen, for BENCHMARKS.md (`ASSAY_LOG=assay=debug`).
            if let Some(at) = key_at.take() {
                tracing::debug!(
                    busy = app.busy(),
                    micros = at.elapsed().as_micros() as u64,
                    mode = format!("{:?}", app.mode).chars().take(60).collect::<String>(),
                    "key drawn"
                );
            }
        }
        let jobs = tokio::select! {
            event = events.recv() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    dirty = true;
                    key_at = Some(std::time::Instant::now());
                    // A key clears an old message unless it opens something.
                    if matches!(app.mode, Mode::Normal) {
                        app.message = None;
                    }
                    tracing::trace!(code = ?key.code, modifiers = ?key.modifiers, "key");
                    handle_key(app, key)
                }
                Some(Ok(Event::Mouse(m))) => {
                    let event = match m.kind {
                        MouseEventKind::ScrollDown => Some(Mouse::ScrollDown),
                        MouseEventKind::ScrollUp => Some(Mouse::ScrollUp),
                        MouseEventKind::Down(MouseButton::Left) => Some(Mouse::Press { x: m.column, y: m.row }),
                        MouseEventKind::Drag(MouseButton::Left) => Some(Mouse::Drag { x: m.column, y: m.row }),
                        MouseEventKind::Up(MouseButton::Left) => Some(Mouse::Release),
                        _ => None,
                    };
                    dirty |= event.is_some();
                    event.map(|e| app.mouse(e)).unwrap_or_default()
                }
                Some(Ok(Event::Resize(w, h))) => {
                    dirty = true;
                    app.resize(w, h)
                }
                Some(Ok(_)) => Vec::new(),
                Some(Err(e)) => return Err(term_err(e)),
                None => break,
            },
            Some(done) = rx.recv() => {
                dirty = true;
                let done = runner.admit(done);
                app.on_done(done)
            }
            _ = tick.tick() => {
                dirty |= app.busy();
                Vec::new()
            }
        };
        runner.start(jobs);
        if let Some(text) = app.clipboard.take() {
            let mut out = std::io::stdout();
            let _ = out.write_all(osc52(&text).as_bytes()).and_then(|_| out.flush());
        }
    }
    let _ = std::io::stdout().flush();
    Ok(())
}

/// The terminal's events, read by a thread of its own that blocks in crossterm's `read`
/// and hands each over a channel. (crossterm's `EventStream` passes a waker between
/// its reading thread and the loop; under a flood of keys with busy engine jobs the
/// workbench's big-file soak saw keys stop arriving until it was killed.)
fn terminal_events() -> std::io::Result<mpsc::UnboundedReceiver<std::io::Result<Event>>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new().name("assay-terminal".into()).spawn(move || loop {
        let event = crossterm::event::read();
        let failed = event.is_err();
        // The loop has ended (the receiver is gone) or the terminal failed: stop.
        if tx.send(event).is_err() || failed {
            break;
        }
    })?;
    Ok(rx)
}

/// The escape sequence that puts `text` on the clipboard of the terminal (OSC 52: xterm,
/// kitty, WezTerm, iTerm2, Windows Terminal, tmux with `set-clipboard on`), over SSH too.
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    /// A workbench on one (unread) dataset with the user's `[[keys]]` in `config`.
    fn app(config: &str) -> App {
        let ds = assay_core::source::Dataset {
            name: "orders".into(),
            spec: "orders.csv".into(),
            files: vec!["orders.csv".into()],
            format: assay_core::source::Format::Csv(Default::default()),
            location: assay_core::source::Location::Local,
        };
        let user = Config::parse(config, "config.toml").unwrap();
        App::new(vec![ds], Keymap::new(&user.keys).unwrap(), 120, 30).0
    }

    fn press(app: &mut App, code: KeyCode) -> Vec<Job> {
        handle_key(app, KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn bind(mode: &str, key: &str, run: &str) -> String {
        format!("[[keys]]\nmode = \"{mode}\"\non = [\"{key}\"]\nrun = \"{run}\"\n")
    }

    /// Every mode's keys come from the keymap: a user binding in that mode's scope
    /// takes effect there, and one on a default key shadows the default.
    #[test]
    fn every_mode_can_be_rebound() {
        use app::Mode;
        let z = KeyCode::Char('z');

        let mut a = app("[[keys]]\non = [\"z\"]\nrun = \"help\"\n");
        press(&mut a, z);
        assert!(matches!(a.mode, Mode::Help { .. }), "grid: {:?}", a.mode);

        let mut a = app(&bind("input", "ctrl-k", "cancel"));
        a.mode = Mode::Palette { input: String::new(), selected: 0 };
        press(&mut a, z);
        assert!(matches!(&a.mode, Mode::Palette { input, .. } if input == "z"), "input: {:?}", a.mode);
        handle_key(&mut a, KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL));
        assert!(matches!(a.mode, Mode::Normal), "input: {:?}", a.mode);

        // `r` runs the checks by default; bound to cancel, it closes the panel instead.
        let mut a = app(&bind("checks", "r", "cancel"));
        a.mode = Mode::Checks { selected: 0 };
        let jobs = press(&mut a, KeyCode::Char('r'));
        assert!(matches!(a.mode, Mode::Normal) && jobs.is_empty(), "checks: {:?} {jobs:?}", a.mode);

        let mut a = app(&bind("add_check", "z", "check_not_null"));
        a.mode = Mode::AddCheck { column: "amount".into() };
        let jobs = press(&mut a, z);
        assert!(
            matches!(
                &jobs[..],
                [Job::CheckFromColumn { kind: assay_core::quality::suggest::FromColumn::NotNull, .. }]
            ),
            "add_check: {jobs:?}"
        );

        let mut a = app(&bind("recipe", "z", "open_recipe"));
        a.mode = Mode::Recipe { selected: 0 };
        press(&mut a, z);
        assert!(matches!(a.mode, Mode::Prompt(_)), "recipe: {:?}", a.mode);

        let mut a = app(&bind("filter", "z", "add_condition"));
        let group = assay_core::transform::filter::Group::new(assay_core::transform::filter::Combine::All);
        a.mode = Mode::Filter(Box::new(filter::FilterEditor::new(group, 0, false)));
        press(&mut a, z);
        assert!(
            matches!(&a.mode, Mode::Filter(e) if matches!(e.stage, filter::Stage::Column { .. })),
            "filter: {:?}",
            a.mode
        );

        let mut a = app(&bind("export", "z", "cycle_choice"));
        let mut dialog = export::ExportDialog::new(0, "out.csv".into());
        dialog.selected = dialog.fields().iter().position(|f| f.is_choice()).unwrap();
        let before = format!("{dialog:?}");
        a.mode = Mode::Export(Box::new(dialog));
        press(&mut a, z);
        assert!(matches!(&a.mode, Mode::Export(d) if format!("{d:?}") != before), "export: {:?}", a.mode);

        let mut a = app(&bind("sql", "ctrl-g", "next_engine"));
        a.sql = Some(sql::SqlEditor::new("SELECT 1", assay_core::engine::EngineChoice::Auto, Vec::new()));
        a.mode = Mode::Sql;
        handle_key(&mut a, KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL));
        assert_eq!(a.sql.as_ref().unwrap().engine, assay_core::engine::EngineChoice::Polars, "sql");
        assert_eq!(a.sql.as_ref().unwrap().text(), "SELECT 1", "sql: the key was not typed");

        let mut a = app(&bind("explain", "z", "cancel"));
        a.sql = Some(sql::SqlEditor::new("SELECT 1", assay_core::engine::EngineChoice::Auto, Vec::new()));
        a.mode = Mode::Explain(Box::new(sql::ExplainView::new("SELECT 1".into(), Vec::new(), false)));
        press(&mut a, z);
        assert!(matches!(a.mode, Mode::Sql), "explain: {:?}", a.mode);
    }
}
