//! Running a recipe headless (`assay run`): open the sources, build the steps as one
//! lazy plan on the recipe's engine, run the checks, and only when no error-severity
//! check fails write the outputs (each to a temporary name, all renamed into place
//! together once rows in = valid + quarantined holds), then the run manifest.
//!
//! On Polars the steps are one LazyFrame; checks and outputs stream from it. On
//! DataFusion each step is a DataFrame over the previous one's view (one logical plan
//! at the end), streamed once to a temporary Parquet file that the checks (DataFusion
//! SQL) and the outputs read. An `sql` step written for the other engine is the one
//! place a run crosses engines: its input is streamed to a temporary Parquet file the
//! other engine reads, and its result comes back the same way.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ::datafusion::arrow::datatypes::DataType as ArrowType;
use ::datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext};
use polars::prelude::{len, LazyFrame, PlRefPath};
use serde::Serialize;

use crate::app::outputs::{self, Output, Staging};
use crate::app::Workspace;
use crate::app::{Error, Result};
use crate::db::ExportPlan;
use crate::engine::EngineKind;
use crate::quality::{Report, Severity};
use crate::recipe::{Input, Loaded, Rows};
use crate::source::{Dataset, Format, OpenOptions};
use crate::transform::{self, SortKey, SqlColumn, SqlInput, Step, Tables};

mod build;
mod dry;
mod stages;

use build::*;
pub use dry::{dry_run, DryRun, PlannedOutput, PlannedStep};
use stages::*;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the recipe's engine.
    pub engine: Option<EngineKind>,
    /// Where the manifest goes (overrides the recipe's `manifest`).
    pub manifest: Option<String>,
    /// How sources are opened (S3 endpoint).
    pub open: OpenOptions,
}

/// What a run did: the manifest written beside the outputs.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub assay_version: String,
    pub recipe: RecipeInfo,
    pub engine: EngineKind,
    /// `ok`, `checks_failed` (an error-severity check failed: no output written).
    pub status: String,
    pub started_at: String,
    pub inputs: Vec<InputInfo>,
    /// Rows after each step (the funnel), starting from the first source.
    pub steps: Vec<StepInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Report>,
    pub rows: RowCounts,
    pub outputs: Vec<OutputInfo>,
    pub durations_ms: Durations,
    /// Where this manifest was written.
    #[serde(skip)]
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecipeInfo {
    pub path: String,
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputInfo {
    pub source: String,
    pub path: String,
    pub format: String,
    pub files: Vec<FileInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Modification time (RFC 3339, UTC) of a local file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// The ETag of an S3 object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepInfo {
    pub step: usize,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RowCounts {
    /// Rows of the first source.
    pub source: u64,
    /// Rows after the steps (what the checks saw).
    pub rows_in: u64,
    pub valid: Option<u64>,
    pub quarantined: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputInfo {
    pub name: String,
    pub destination: String,
    pub format: String,
    pub rows_kind: Rows,
    pub rows: u64,
    pub bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Durations {
    pub steps: u64,
    pub checks: u64,
    pub outputs: u64,
    pub total: u64,
}

fn polars_failed(at: &str, e: polars::prelude::PolarsError) -> Error {
    use polars::prelude::PolarsError;
    let mut e = e;
    while let PolarsError::Context { error, .. } | PolarsError::ExprContext { error, .. } = e {
        e = *error;
    }
    let text = e.to_string();
    let line = crate::engine::first_line(&text);
    if let PolarsError::ColumnNotFound(_) | PolarsError::SchemaFieldNotFound(_) = e {
        // `unable to find column "x"; valid columns: [...]` or `"x" not found`
        let name = line.split('"').nth(1).unwrap_or(line);
        let valid = line
            .split_once("valid columns: ")
            .map(|(_, v)| {
                let names: Vec<&str> = v
                    .trim_matches(['[', ']'])
                    .split(", ")
                    .map(|n| n.trim_matches('"'))
                    .filter(|n| !n.starts_with("__assay"))
                    .collect();
                format!(" (columns: {})", names.join(", "))
            })
            .unwrap_or_default();
        return Error::input(format!("{at}: no column `{name}`{valid}"));
    }
    match e {
        polars::prelude::PolarsError::ColumnNotFound(_)
        | polars::prelude::PolarsError::SchemaFieldNotFound(_)
        | polars::prelude::PolarsError::SQLInterface(_)
        | polars::prelude::PolarsError::SQLSyntax(_)
        | polars::prelude::PolarsError::InvalidOperation(_)
        | polars::prelude::PolarsError::SchemaMismatch(_)
        | polars::prelude::PolarsError::Duplicate(_) => Error::input(format!("{at}: {line}")),
        _ => Error::runtime(format!("{at}: polars: {line}")),
    }
}

fn datafusion_failed(at: &str, e: ::datafusion::error::DataFusionError) -> Error {
    let root = e.find_root();
    let text = root.to_string();
    let line = crate::engine::first_line(&text).to_string();
    match root {
        ::datafusion::error::DataFusionError::SQL(..)
        | ::datafusion::error::DataFusionError::Plan(_)
        | ::datafusion::error::DataFusionError::SchemaError(..) => Error::input(format!("{at}: {line}")),
        _ => Error::runtime(format!("{at}: datafusion: {line}")),
    }
}

/// Runs fallible work on a blocking thread (the engine's helper, flattened).
async fn blocking<T: Send + 'static, E: Into<Error> + Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, E> + Send + 'static,
) -> Result<T> {
    crate::engine::blocking(f).await?.map_err(Into::into)
}

/// Opens the recipe's sources as datasets named by their keys.
async fn open_sources(loaded: &Loaded, open: &OpenOptions) -> Result<Workspace> {
    let mut ws = Workspace::default();
    for (name, source) in &loaded.recipe.sources {
        let mut options = open.clone();
        if let Some(f) = &source.format {
            options.format = Some(Format::from_name(f)?);
        }
        options.sheet = source.sheet.clone();
        if let Some(csv) = &source.csv {
            if let Some(d) = &csv.delimiter {
                let d = if d == "\\t" { "\t" } else { d.as_str() };
                let [byte] = d.as_bytes() else {
                    return Err(Error::input(format!(
                        "{}: source `{name}`: the delimiter must be one character",
                        loaded.origin
                    )));
                };
                options.delimiter = Some(*byte);
            }
            options.has_header = csv.has_header;
            if let Some(values) = &csv.null_values {
                options.null_values = values.clone();
            }
            if let Some(q) = &csv.quote {
                options.quote = Some(
                    crate::source::parse_quote(q)
                        .map_err(|e| Error::input(format!("{}: source `{name}`: {e}", loaded.origin)))?,
                );
            }
            if let Some(decimal_comma) = csv.decimal_comma {
                options.decimal_comma = decimal_comma;
            }
        }
        let ds = crate::app::open(&source.path, Some(name), &options)
            .await
            .map_err(|e| relabel(e, &format!("{}: source `{name}`", loaded.origin)))?;
        ws.add(ds)?;
    }
    Ok(ws)
}

fn relabel(e: Error, prefix: &str) -> Error {
    e.map_message(|m| format!("{prefix}: {m}"))
}

fn inputs_of(ws: &Workspace, loaded: &Loaded) -> Vec<InputInfo> {
    ws.datasets()
        .iter()
        .map(|ds| InputInfo {
            source: ds.name.clone(),
            path: loaded.recipe.sources.get(&ds.name).map(|s| s.path.clone()).unwrap_or_default(),
            format: ds.format.name().to_string(),
            files: ds
                .files
                .iter()
                .map(|f| {
                    let meta = std::fs::metadata(f).ok();
                    FileInfo {
                        path: f.clone(),
                        bytes: meta.as_ref().map(|m| m.len()),
                        modified: meta
                            .and_then(|m| m.modified().ok())
                            .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339()),
                        etag: None,
                    }
                })
                .collect(),
        })
        .collect()
}

/// ETags of S3 inputs (a HEAD request each).
async fn s3_etags(ws: &Workspace, inputs: &mut [InputInfo]) -> Result<()> {
    for (ds, info) in ws.datasets().iter().zip(inputs.iter_mut()) {
        let Some(config) = ds.s3() else { continue };
        for file in &mut info.files {
            let meta = crate::source::s3::head(config, &file.path).await?;
            file.bytes = Some(meta.0);
            file.etag = meta.1;
            file.modified = Some(meta.2);
        }
    }
    Ok(())
}

/// Runs the recipe. An error-severity check failure returns the manifest with status
/// `checks_failed` (the caller exits 1); nothing else is written then.
pub async fn run(loaded: &Loaded, options: &RunOptions) -> Result<Manifest> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    let engine = options.engine.or(loaded.recipe.engine).unwrap_or(EngineKind::Polars);
    let outputs: Vec<(&String, &crate::recipe::Output)> = loaded.recipe.outputs.iter().collect();
    // Opening, building, counting, checks, the manifest; then the single files together,
    // each tree, table and upload.
    let single = |o: &crate::recipe::Output| o.path.is_some() && o.partition_by.is_empty();
    let uploads = outputs
        .iter()
        .filter(|(_, o)| single(o) && o.path.as_deref().is_some_and(|p| crate::source::Place::of(p).is_s3()))
        .count();
    let alone = outputs.iter().filter(|(_, o)| !single(o)).count();
    let together = usize::from(outputs.iter().any(|(_, o)| single(o)));
    let mut stages = Stages::new(5 + together + alone + uploads);
    stages.start("opening sources");
    let mut ws = open_sources(loaded, &options.open).await?;
    let mut inputs = inputs_of(&ws, loaded);
    s3_etags(&ws, &mut inputs).await?;
    let input_files: Vec<String> = ws.datasets().iter().flat_map(|d| d.files.clone()).collect();
    let destinations: Vec<(String, ExportPlan, Rows)> = outputs
        .iter()
        .map(|(name, o)| Ok(((*name).clone(), o.plan(name, &input_files)?, o.rows(name))))
        .collect::<Result<_>>()?;
    let rules = loaded.rules();
    let main = ws.datasets().iter().find(|d| d.name == loaded.main_source()).cloned();
    let main = main.ok_or_else(|| Error::runtime("the first source is not open"))?;

    stages.start(&format!("building the steps on {}", engine.title()));
    let steps_started = Instant::now();
    let mut scratch = Scratch::new()?;
    let built = match engine {
        EngineKind::Polars => build_polars(loaded, &ws, &mut scratch).await?,
        EngineKind::DataFusion => build_datafusion(loaded, &ws, &mut scratch).await?,
    };
    let rows_source;
    let mut step_rows: Vec<Option<u64>> = Vec::new();
    stages.start("counting rows after each step");
    {
        let lf = crate::engine::polars::scan(&main).map_err(|e| polars_failed(&main.spec, e))?;
        rows_source = Some(count(&Counter::Polars(lf), &main.spec).await?);
        let last_enabled = built.counts.iter().rposition(|c| c.is_some());
        let mut previous = rows_source;
        for (i, (counter, planned)) in built.counts.iter().zip(&loaded.steps).enumerate() {
            let changes = !planned.step.keeps_rows() || planned.input != Input::Previous;
            let rows = match counter {
                None => None,
                Some(_)
                    if Some(i) == last_enabled
                        && engine == EngineKind::Polars
                        && !rules.checks.is_empty() =>
                {
                    None // the checks count these
                }
                Some(c) if changes => Some(count(c, &planned.at).await?),
                Some(_) => previous,
            };
            if counter.is_some() {
                previous = rows;
            }
            step_rows.push(rows);
        }
    }
    let steps_ms = steps_started.elapsed().as_millis() as u64;

    stages.start("running the checks");
    let checks_started = Instant::now();
    let sources = ws.sources(&main)?;
    let report = if rules.checks.is_empty() {
        None
    } else if let Some(ds) = &built.dataset {
        ws.add(ds.clone())?;
        let mut r = ws
            .check_on(ds, &[], &rules, EngineKind::DataFusion, false)
            .await
            .map_err(|e| relabel(e, &loaded.origin))?;
        r.table = loaded.main_source().to_string();
        Some(r)
    } else {
        let (lf, rules, sources, name) =
            (built.result.clone(), rules.clone(), sources.clone(), main.name.clone());
        // A quarantine that follows reuses the unique checks' duplicated keys.
        let keep = destinations.iter().any(|o| o.2 == Rows::Quarantine);
        Some(
            blocking(move || crate::quality::run_keeping(&name, lf, &rules, &sources, keep))
                .await
                .map_err(|e| relabel(e, &loaded.origin))?,
        )
    };
    let rows_in = match &report {
        Some(r) => r.rows,
        None => match step_rows.iter().rev().flatten().next() {
            Some(n) if !loaded.steps.is_empty() => *n,
            _ => count(&Counter::Polars(built.result.clone()), &loaded.origin).await?,
        },
    };
    if let Some(last) = built.counts.iter().rposition(|c| c.is_some()) {
        step_rows[last] = Some(rows_in);
    }
    let checks_ms = checks_started.elapsed().as_millis() as u64;
    let blocked = report.as_ref().is_some_and(|r| r.failed_at(Severity::Error) > 0);

    let mut manifest = Manifest {
        assay_version: env!("CARGO_PKG_VERSION").to_string(),
        recipe: RecipeInfo { path: loaded.origin.clone(), name: loaded.name(), sha256: loaded.hash.clone() },
        engine,
        status: if blocked { "checks_failed".into() } else { "ok".into() },
        started_at,
        inputs,
        steps: loaded
            .steps
            .iter()
            .zip(&step_rows)
            .enumerate()
            .map(|(i, (p, rows))| StepInfo {
                step: i + 1,
                kind: p.step.kind().into(),
                name: p.name.clone(),
                enabled: p.enabled,
                rows: *rows,
            })
            .collect(),
        checks: report.clone(),
        rows: RowCounts { source: rows_source.unwrap_or(0), rows_in, valid: None, quarantined: None },
        outputs: Vec::new(),
        durations_ms: Durations { steps: steps_ms, checks: checks_ms, ..Default::default() },
        path: String::new(),
    };

    let outputs_started = Instant::now();
    if !blocked {
        let quarantining = destinations.iter().any(|o| o.2 == Rows::Quarantine);
        let (valid, bad) = if quarantining {
            let (lf, rules, sources) = (built.result.clone(), rules.clone(), sources.clone());
            // CSV and database tables get no lists: the failed check ids are joined with `;`.
            let csv = destinations.iter().any(|o| {
                o.2 == Rows::Quarantine
                    && matches!(o.1, ExportPlan::File { format: Format::Csv(_), .. } | ExportPlan::Table(_))
            });
            let known = report.as_ref().map(|r| r.duplicated_keys.clone()).unwrap_or_default();
            let (v, b) =
                blocking(move || crate::quality::quarantine(lf, &rules, &sources, csv, &known)).await?;
            (v, Some(b))
        } else {
            (built.result.clone(), None)
        };
        let rows_of = |kind: &Rows| match kind {
            Rows::Valid => valid.clone(),
            Rows::Quarantine => bad.clone().unwrap_or_else(|| valid.clone()),
        };
        let outputs = destinations
            .iter()
            .map(|(name, plan, kind)| Output { name: name.clone(), plan: plan.clone(), rows: rows_of(kind) })
            .collect();
        let how =
            Staging { replace_tables: true, s3_endpoint: options.open.s3_endpoint.clone(), watch: None };
        let staged = outputs::stage(outputs, &how, &mut |what| stages.start(what)).await?;
        let written = destinations.iter().zip(&staged.written).map(|((name, plan, kind), w)| OutputInfo {
            name: name.clone(),
            destination: plan.destination(),
            format: match plan {
                ExportPlan::File { format, .. } => format.name().into(),
                ExportPlan::Table(target) => target.kind().into(),
            },
            rows_kind: *kind,
            rows: w.rows,
            bytes: w.bytes,
        });
        manifest.outputs.extend(written);
        if quarantining {
            let valid_rows = manifest.outputs.iter().find(|o| o.rows_kind == Rows::Valid).map(|o| o.rows);
            let bad_rows = manifest.outputs.iter().find(|o| o.rows_kind == Rows::Quarantine).map(|o| o.rows);
            // Every output of a kind holds the same rows, and the kinds add up.
            for o in &manifest.outputs {
                let want = if o.rows_kind == Rows::Valid { valid_rows } else { bad_rows };
                let adds_up = match (valid_rows, bad_rows) {
                    (Some(v), Some(b)) => v + b == rows_in,
                    _ => true,
                };
                let lost = Some(o.rows) != want || !adds_up;
                if lost {
                    return Err(Error::runtime(format!(
                        "quarantine lost rows: {rows_in} in, {} in output `{}` (valid {valid_rows:?}, quarantined \
                         {bad_rows:?}); a bug in assay; nothing was written",
                        o.rows, o.name
                    )));
                }
            }
            manifest.rows.valid = valid_rows;
            manifest.rows.quarantined = bad_rows;
            if let Some(r) = manifest.checks.as_mut() {
                r.quarantine = bad_rows.map(|b| crate::quality::Split {
                    rows_in,
                    valid: valid_rows.unwrap_or(rows_in - b),
                    quarantined: b,
                });
            }
        } else if !destinations.is_empty() {
            manifest.rows.valid = Some(rows_in);
        }
        // Every output is whole: only now do they replace what was there.
        staged.publish(&mut |what| stages.start(what)).await?;
    }
    manifest.durations_ms.outputs = outputs_started.elapsed().as_millis() as u64;
    manifest.durations_ms.total = started.elapsed().as_millis() as u64;
    stages.start("writing the manifest");
    let path = options.manifest.clone().or(loaded.recipe.manifest.clone()).unwrap_or_else(|| {
        let dir = destinations
            .first()
            .and_then(|o| o.1.local_path())
            .map(|p| Path::new(p).parent().map(Path::to_path_buf).unwrap_or_default())
            .unwrap_or_else(|| Path::new(&loaded.origin).parent().map(Path::to_path_buf).unwrap_or_default());
        dir.join(format!("{}.manifest.json", loaded.name())).display().to_string()
    });
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::runtime(format!("manifest: {e}")))?;
    crate::sink::write_text(&(text + "\n"), &path)?;
    manifest.path = path;
    stages.finish();
    drop(scratch);
    Ok(manifest)
}
