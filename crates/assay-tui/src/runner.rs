//! The job runner: runs the app's jobs (`Job`) as tokio tasks off the UI thread over the
//! engines' workspace and sends their answers (`Done`) back; a new job of a kind for a
//! tab aborts the one it replaces, and a tab closed drops its jobs and its dataset.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use assay_core::app::Workspace;
use assay_core::engine::EngineKind;
use assay_core::source::{Dataset, OpenOptions};
use assay_core::{Error, Result};

use super::jobs::{Done, Job, TabId};
use super::{checks, export, recipe, sql};

/// Runs the app's jobs as tokio tasks; a new page request for a tab aborts the previous.
pub(crate) struct JobRunner {
    workspace: Arc<Workspace>,
    options: OpenOptions,
    tx: mpsc::UnboundedSender<Done>,
    pages: HashMap<TabId, AbortHandle>,
    counts: HashMap<TabId, AbortHandle>,
    profiles: HashMap<TabId, AbortHandle>,
    finds: HashMap<TabId, AbortHandle>,
    checks: HashMap<TabId, AbortHandle>,
    suggestions: HashMap<TabId, AbortHandle>,
    adds: HashMap<TabId, AbortHandle>,
    funnels: HashMap<TabId, AbortHandle>,
    /// The running query (or explain) of the SQL editor.
    query: Option<AbortHandle>,
    /// Where query results are written (removed when the workbench closes).
    results: std::path::PathBuf,
    history: Option<std::path::PathBuf>,
}

impl JobRunner {
    /// A runner over `workspace` whose answers go to `tx`; query results are written in
    /// `results`, the SQL history to `history`.
    pub(crate) fn new(
        workspace: Arc<Workspace>,
        options: OpenOptions,
        tx: mpsc::UnboundedSender<Done>,
        results: std::path::PathBuf,
        history: Option<std::path::PathBuf>,
    ) -> JobRunner {
        JobRunner {
            workspace,
            options,
            tx,
            pages: HashMap::new(),
            counts: HashMap::new(),
            profiles: HashMap::new(),
            finds: HashMap::new(),
            checks: HashMap::new(),
            suggestions: HashMap::new(),
            adds: HashMap::new(),
            funnels: HashMap::new(),
            query: None,
            results,
            history,
        }
    }

    /// Runs `work` for `tab`, aborting the job of the same kind it replaces.
    fn spawn(
        map: &mut HashMap<TabId, AbortHandle>,
        tab: TabId,
        work: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        if let Some(h) = map.remove(&tab) {
            h.abort();
        }
        map.insert(tab, tokio::spawn(work).abort_handle());
    }

    pub(crate) fn start(&mut self, jobs: Vec<Job>) {
        for job in jobs {
            let ws = self.workspace.clone();
            let tx = self.tx.clone();
            match job {
                Job::Page { tab, generation, steps, offset, len } => {
                    // A job for a tab closed meanwhile is dropped.
                    let Some(ds) = ws.dataset(tab.name()).cloned() else { continue };
                    Self::spawn(&mut self.pages, tab.clone(), async move {
                        let result = ws.page(&ds, &steps, offset, len).await;
                        let _ = tx.send(Done::Page { tab, generation, offset, result });
                    });
                }
                Job::Count { tab, view, steps, progress } => {
                    // A job for a tab closed meanwhile is dropped.
                    let Some(ds) = ws.dataset(tab.name()).cloned() else { continue };
                    Self::spawn(&mut self.counts, tab.clone(), async move {
                        let result = ws.count_with_progress(&ds, &steps, Some(progress)).await;
                        let _ = tx.send(Done::Count { tab, view, result });
                    });
                }
                Job::Profile { tab, view, steps } => {
                    // A job for a tab closed meanwhile is dropped.
                    let Some(ds) = ws.dataset(tab.name()).cloned() else { continue };
                    Self::spawn(&mut self.profiles, tab.clone(), async move {
                        let result = ws.profile(&ds, &steps).await;
                        let _ = tx.send(Done::Profile { tab, view, result });
                    });
                }
                Job::Find { tab, view, steps, pattern, from, forward } => {
                    // A job for a tab closed meanwhile is dropped.
                    let Some(ds) = ws.dataset(tab.name()).cloned() else { continue };
                    Self::spawn(&mut self.finds, tab.clone(), async move {
                        let result = ws.find(&ds, &steps, &pattern, from, forward).await;
                        let _ = tx.send(Done::Find { tab, view, pattern, result });
                    });
                }
                Job::List { location } => {
                    let options = self.options.clone();
                    tokio::spawn(async move {
                        let result =
                            assay_core::source::browse::list(&location, &options).await.map_err(Into::into);
                        let _ = tx.send(Done::Listed { location, result });
                    });
                }
                Job::Open { spec } => {
                    let options = self.options.clone();
                    tokio::spawn(async move {
                        let result = assay_core::app::open(&spec, None, &options).await;
                        let _ = tx.send(Done::Opened { spec, result });
                    });
                }
                Job::Check { tab, version, steps, rules } => {
                    // A job for a tab closed meanwhile is dropped.
                    let Some(ds) = ws.dataset(tab.name()).cloned() else { continue };
                    Self::spawn(&mut self.checks, tab.clone(), async move {
                        let result = ws.check(&ds, &steps, &rules).await;
                        let _ = tx.send(Done::Checked { tab, version, steps, result });
                    });
                }
                Job::Suggest { tab, steps } => {
                    // A job for a tab closed meanwhile is dropped.
                    let Some(ds) = ws.dataset(tab.name()).cloned() else { continue };
                    Self::spawn(&mut self.suggestions, tab.clone(), async move {
                        let result = ws.suggest(&ds, &steps).await.map(|(_, s)| s);
                        let _ = tx.send(Done::Suggested { tab, result });
                    });
                }
                Job::CheckFromColumn { tab, steps, column, kind } => {
                    // A job for a tab closed meanwhile is dropped.
                    let Some(ds) = ws.dataset(tab.name()).cloned() else { continue };
                    Self::spawn(&mut self.adds, tab.clone(), async move {
                        let result = ws.check_from_column(&ds, &steps, &column, kind).await;
                        let _ = tx.send(Done::CheckMade { tab, result });
                    });
                }
                Job::Funnel { tab, view, steps, indexes } => {
                    // A job for a tab closed meanwhile is dropped.
                    let Some(ds) = ws.dataset(tab.name()).cloned() else { continue };
                    Self::spawn(&mut self.funnels, tab.clone(), async move {
                        let ds = ds.clone();
                        for index in indexes {
                            let result = ws.count(&ds, &steps[..index]).await;
                            let _ = tx.send(Done::Funnel { tab: tab.clone(), view, index, result });
                        }
                    });
                }
                Job::SaveRecipe { tab, path, text } => {
                    tokio::task::spawn_blocking(move || {
                        let result =
                            assay_core::sink::write_text(&text, &path).map_err(assay_core::Error::from);
                        if result.is_ok() {
                            recipe::remember(&path);
                        }
                        let _ = tx.send(Done::RecipeSaved { tab, path, result });
                    });
                }
                Job::OpenRecipe { path } => {
                    let options = self.options.clone();
                    tokio::spawn(async move {
                        let result = open_recipe(&ws, &path, &options).await;
                        if result.is_ok() {
                            let p = path.clone();
                            let _ = tokio::task::spawn_blocking(move || recipe::remember(&p)).await;
                        }
                        let _ = tx.send(Done::RecipeOpened { path, result });
                    });
                }
                Job::Export { tab, steps, plan, overwrite, watch } => {
                    let options = self.options.clone();
                    tokio::spawn(async move {
                        let (exists, result) =
                            export::run(&ws, &tab, &steps, &plan, overwrite, watch, &options).await;
                        let _ = tx.send(Done::Exported { tab, plan, exists, result });
                    });
                }
                Job::SaveRules { tab, path, text } => {
                    tokio::task::spawn_blocking(move || {
                        let result =
                            assay_core::sink::write_text(&text, &path).map_err(assay_core::Error::from);
                        let _ = tx.send(Done::Saved { tab, path, result });
                    });
                }
                Job::LoadRules { tab } => {
                    let Some(ds) = ws.dataset(tab.name()).cloned() else { continue };
                    tokio::task::spawn_blocking(move || {
                        if let Some(path) = checks::rules_beside(&ds) {
                            let result = assay_core::quality::Rules::load(&path).map_err(Into::into);
                            let _ = tx.send(Done::RulesLoaded { tab, path, result });
                        }
                    });
                }
                Job::Sql { query, engine, name } => {
                    let dir = self.results.clone();
                    let path = dir.join(format!("{name}.parquet"));
                    let options = self.options.clone();
                    if let Some(h) = self.query.take() {
                        h.abort();
                    }
                    self.query = Some(
                        tokio::spawn(async move {
                            let started = std::time::Instant::now();
                            let mut shown = engine.title().to_string();
                            let result = async {
                                std::fs::create_dir_all(&dir).map_err(|e| {
                                    assay_core::error::io_error(dir.display().to_string(), &e)
                                })?;
                                let pick = ws.pick(&query, engine).await?;
                                shown = pick.shown(engine);
                                let rows = ws.sql_to_parquet(&query, pick.engine, &path).await?;
                                let ds =
                                    Dataset::open(&path.display().to_string(), Some(&name), &options).await?;
                                Ok((ds, rows))
                            }
                            .await;
                            let elapsed = started.elapsed();
                            let _ = tx.send(Done::Queried { name, engine: shown, elapsed, result });
                        })
                        .abort_handle(),
                    );
                }
                Job::Explain { query, analyze } => {
                    if let Some(h) = self.query.take() {
                        h.abort();
                    }
                    self.query = Some(
                        tokio::spawn(async move {
                            let mut plans = Vec::new();
                            let mut failed = None;
                            for engine in [EngineKind::Polars, EngineKind::DataFusion] {
                                match ws.explain(&query, engine, analyze).await {
                                    Ok(p) => plans.push(p),
                                    Err(e) => failed = Some(e),
                                }
                            }
                            // One engine's plan is still worth showing; none, the error.
                            let result = match failed {
                                Some(e) if plans.is_empty() => Err(e),
                                _ => Ok(plans),
                            };
                            let _ = tx.send(Done::Explained { result });
                        })
                        .abort_handle(),
                    );
                }
                Job::Schemas => {
                    tokio::spawn(async move {
                        let mut tables = Vec::new();
                        for ds in ws.datasets() {
                            // A dataset that cannot be read just has no completions.
                            let columns =
                                ws.schema(ds).await.map(|c| c.into_iter().map(|c| c.name).collect());
                            tables.push((ds.name.clone(), columns.unwrap_or_default()));
                        }
                        let _ = tx.send(Done::Schemas { tables });
                    });
                }
                Job::SqlWrite { query } => {
                    if let Some(h) = self.query.take() {
                        h.abort();
                    }
                    self.query = Some(
                        tokio::spawn(async move {
                            let result = ws.sql_write(&query).await;
                            let _ = tx.send(Done::Written { result });
                        })
                        .abort_handle(),
                    );
                }
                Job::CancelSql => {
                    if let Some(h) = self.query.take() {
                        h.abort();
                    }
                }
                Job::SavePlans { path, text } => {
                    tokio::task::spawn_blocking(move || {
                        let result =
                            assay_core::sink::write_text(&text, &path).map_err(assay_core::Error::from);
                        let _ = tx.send(Done::PlansSaved { path, result });
                    });
                }
                Job::SaveQueries { saved } => {
                    if let Some(path) = assay_core::config::data_dir().map(|d| d.join("queries.toml")) {
                        tokio::task::spawn_blocking(move || {
                            if let Err(e) = sql::save_saved(&path, &saved) {
                                tracing::warn!("named queries not saved to {}: {e}", path.display());
                            }
                        });
                    }
                }
                Job::SaveHistory { history } => {
                    if let Some(path) = self.history.clone() {
                        tokio::task::spawn_blocking(move || {
                            if let Err(e) = sql::save_history(&path, &history) {
                                tracing::warn!("SQL history not saved to {}: {e}", path.display());
                            }
                        });
                    }
                }
                Job::CancelChecks { tab } => self.abort(&tab, true, false),
                Job::Close { tab } => {
                    self.abort(&tab, true, true);
                    let mut ws = (*self.workspace).clone();
                    ws.remove(tab.name());
                    self.workspace = Arc::new(ws);
                }
                Job::Cancel { tab } => self.abort(&tab, false, true),
            }
        }
    }
}

impl JobRunner {
    /// Aborts the running jobs of `tab`: its checks (and suggestions, and checks being
    /// made) and, with `view`, its page, count, profile, search and funnel.
    fn abort(&mut self, tab: &TabId, checks: bool, view: bool) {
        let mut maps = Vec::new();
        if checks {
            maps.extend([&mut self.checks, &mut self.suggestions, &mut self.adds]);
        }
        if view {
            maps.extend([
                &mut self.pages,
                &mut self.counts,
                &mut self.profiles,
                &mut self.finds,
                &mut self.funnels,
            ]);
        }
        for map in maps {
            if let Some(h) = map.remove(tab) {
                h.abort();
            }
        }
    }
}

impl JobRunner {
    /// A dataset opened from the workbench joins the engines' workspace (under a name no
    /// other tab has) before the app sees it; jobs already running keep the old one.
    pub(crate) fn admit(&mut self, done: Done) -> Done {
        match done {
            Done::Opened { spec, result: Ok(ds) } => {
                let result = self.join(ds);
                Done::Opened { spec, result }
            }
            Done::Queried { name, engine, elapsed, result: Ok((ds, rows)) } => {
                let result = self.join(ds).map(|ds| (ds, rows));
                Done::Queried { name, engine, elapsed, result }
            }
            Done::RecipeOpened { path, result: Ok((loaded, opened)) } => {
                let result = opened.into_iter().map(|ds| self.join(ds)).collect::<Result<Vec<_>>>();
                Done::RecipeOpened { path, result: result.map(|opened| (loaded, opened)) }
            }
            other => other,
        }
    }
}

impl JobRunner {
    /// Adds `ds` to the workspace that later jobs see.
    fn join(&mut self, ds: Dataset) -> Result<Dataset> {
        let mut ws = (*self.workspace).clone();
        let result = add_unique(&mut ws, ds);
        if result.is_ok() {
            self.workspace = Arc::new(ws);
        }
        result
    }
}

/// Reads the recipe at `path` and opens its sources that are not open yet (by their
/// source names); the workbench shows recipes whose steps run one after another.
pub async fn open_recipe(
    ws: &Workspace,
    path: &str,
    options: &OpenOptions,
) -> Result<(assay_core::recipe::Loaded, Vec<Dataset>)> {
    let owned = path.to_string();
    let loaded = tokio::task::spawn_blocking(move || assay_core::recipe::load(&owned, &[]))
        .await
        .map_err(|e| Error::runtime(format!("reading {path}: {e}")))??;
    if let Some(p) =
        loaded.steps.iter().find(|p| p.name.is_some() || p.input != assay_core::recipe::Input::Previous)
    {
        return Err(Error::input(format!(
            "{}: the workbench shows recipes whose steps run one after another; this one names steps or \
             reads other inputs (run it with `assay run {path}`)",
            p.at
        )));
    }
    let mut opened = Vec::new();
    for (name, source) in &loaded.recipe.sources {
        let open = ws.datasets().iter().any(|d| d.name == *name);
        if !open {
            let mut o = options.clone();
            if let Some(f) = &source.format {
                o.format = Some(assay_core::source::Format::from_name(f)?);
            }
            opened.push(assay_core::app::open(&source.path, Some(name), &o).await?);
        }
    }
    Ok((loaded, opened))
}

/// Adds `ds` to `ws`, renamed if its table name is taken: `orders.csv` and
/// `orders.parquet` side by side become `orders` and `orders_parquet`.
pub(crate) fn add_unique(ws: &mut Workspace, mut ds: Dataset) -> Result<Dataset> {
    let base = ds.name.clone();
    let mut n = 1;
    while ws.datasets().iter().any(|d| d.name == ds.name) {
        ds.name = if n == 1 { format!("{base}_{}", ds.format.name()) } else { format!("{base}_{n}") };
        n += 1;
    }
    ws.add(ds.clone())?;
    Ok(ds)
}
