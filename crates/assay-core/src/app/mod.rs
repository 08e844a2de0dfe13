//! The application layer: the open datasets (`Workspace`) and what the command line,
//! the workbench and recipes do with them — open, page, count, query, explain, profile,
//! check, export — on either engine, with failures diagnosed in the data they read.

mod failure;
pub mod outputs;
mod query;
pub mod run;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ::datafusion::physical_plan::display::DisplayableExecutionPlan;
use ::datafusion::physical_plan::displayable;
use ::polars::prelude::{len, DataFrame, LazyFrame};
use arrow::array::Array;

use crate::db::ExportPlan;
use crate::engine::{blocking, bridge, datafusion, first_line, polars};
use crate::engine::{Column, EngineChoice, EngineKind, Pick, Plans, Table};
use crate::progress::Progress;
use crate::source::{self, csv_count, Dataset, Format, Location, OpenOptions};
use crate::sql;
use crate::transform::{self, Step};
use outputs::{Output, Staging};

crate::layer_error! {
    /// What the application layer says, and every room's error beneath it: the one error
    /// type of the command line and the workbench. Its exit code comes from the variant
    /// (docs/cli.md): 1 a check failed, 2 unusable input, 3 a failure while running.
    pub enum Error {
        /// Input that cannot be used: arguments, data, a query: exit 2.
        Input(input) = 2,
        /// A failure while running: exit 3.
        Runtime(runtime) = 3,
        /// Polars refused a query (one DataFusion may run): exit 2.
        RefusedByPolars(refused_by_polars) = 2,
        /// An error-severity check (or, with `--fail-on warn`, a warning) failed: exit 1.
        ChecksFailed(checks_failed) = 1,
        ;
        Recipe(crate::recipe::Error),
        Quality(crate::quality::Error),
        Transform(crate::transform::Error),
        Db(crate::db::Error),
        Sink(crate::sink::Error),
        Engine(crate::engine::Error),
        Sql(crate::sql::Error),
        Source(crate::source::Error),
        Ground(crate::error::Error),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Writing output failed because its reader closed the pipe (`assay head x | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(
            self,
            Error::Ground(crate::error::Error::Output { kind: std::io::ErrorKind::BrokenPipe, .. })
        )
    }
}

/// What a failing operation read, so that its failure is diagnosed in those datasets
/// only (another tab's malformed file is not this query's problem).
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// A dataset after steps (which may join or query other datasets).
    View(&'a Dataset, &'a [Step]),
    /// A SQL query over the open datasets.
    Query(&'a str),
}

impl<'a> Scope<'a> {
    fn query(self) -> Option<&'a str> {
        match self {
            Scope::Query(q) => Some(q),
            Scope::View(..) => None,
        }
    }
}

/// Aggregates of one table from which `auto` runs a grouped query on DataFusion: TPC-H
/// Q1 (8 aggregates of lineitem) takes 633 ms there and 1,368 ms on Polars (BENCHMARKS.md,
/// "TPC-H 22 queries against DuckDB").
const AUTO_DATAFUSION_AGGREGATES: usize = 5;

/// Tables joined in one SELECT from which `auto` picks DataFusion: TPC-H Q5, Q7 and Q9
/// (six tables) take 0.58-0.72x of Polars' time there, Q3 and Q10 (three, four) are
/// faster on Polars (BENCHMARKS.md, "TPC-H 22 queries against DuckDB"; Q8's eight tables are the exception, 1.2x).
const AUTO_DATAFUSION_TABLES: usize = 5;

/// The open datasets, queryable by name on either engine.
#[derive(Debug, Default, Clone)]
pub struct Workspace {
    datasets: Vec<Dataset>,
    /// Row-offset indexes of local CSV datasets, by dataset name, built by `count`.
    csv_rows: Arc<Mutex<HashMap<String, Arc<CsvRows>>>>,
}

/// A local CSV dataset's row indexes (one per file) and the schema its scan infers, so
/// a page anywhere in it is read by seeking instead of scanning up to it.
#[derive(Debug)]
struct CsvRows {
    files: Vec<csv_count::RowIndex>,
    dialect: source::CsvDialect,
    schema: ::polars::prelude::SchemaRef,
}

impl CsvRows {
    /// Rows `offset..offset + len` across the files, in order. The outer error is I/O,
    /// the inner one Polars' parse of the rows.
    fn page(&self, mut offset: u64, len: u64) -> Result<::polars::prelude::PolarsResult<DataFrame>> {
        let mut parts: Vec<DataFrame> = Vec::new();
        let mut left = len;
        for file in &self.files {
            if left == 0 {
                break;
            }
            if offset >= file.rows {
                offset -= file.rows;
                continue;
            }
            let bytes = file.read(offset, left, self.dialect.quote)?;
            let df = match polars::read_csv_rows(bytes, &self.dialect, self.schema.clone()) {
                Ok(df) => df,
                Err(e) => return Ok(Err(e)),
            };
            left -= (df.height() as u64).min(left);
            parts.push(df);
            offset = 0;
        }
        let mut out = DataFrame::empty_with_schema(&self.schema);
        for part in parts {
            if let Err(e) = out.vstack_mut(&part) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(out))
    }
}

/// Opens `spec` as a dataset: a file, glob, folder or `s3://` location (`Dataset::open`),
/// or a database table read through its connector (`sqlite://`, `postgres://`).
/// `name` overrides the table name derived from the spec.
pub async fn open(spec: &str, name: Option<&str>, options: &OpenOptions) -> Result<Dataset> {
    Ok(match source::Place::of(spec) {
        source::Place::Sqlite(_) => {
            source::open_table(spec, name, crate::db::sqlite::read_to_parquet).await?
        }
        source::Place::Postgres(_) => {
            source::open_table(spec, name, crate::db::postgres::read_to_parquet).await?
        }
        source::Place::Local(_) | source::Place::S3(_) | source::Place::Stdin => {
            Dataset::open(spec, name, options).await?
        }
    })
}

impl Workspace {
    /// Opens each `(name, spec)`; names default to the spec's file stem.
    pub async fn open(specs: &[(Option<String>, String)], options: &OpenOptions) -> Result<Self> {
        let mut ws = Workspace::default();
        for (name, spec) in specs {
            let ds = open(spec, name.as_deref(), options).await?;
            ws.add(ds)?;
        }
        Ok(ws)
    }

    pub fn add(&mut self, ds: Dataset) -> Result<()> {
        if let Some(other) = self.datasets.iter().find(|d| d.name == ds.name) {
            return Err(Error::input(format!(
                "table name `{}` is used by both {} and {}; name them with --table NAME=DATA",
                ds.name, other.spec, ds.spec
            )));
        }
        self.datasets.push(ds);
        Ok(())
    }

    pub fn datasets(&self) -> &[Dataset] {
        &self.datasets
    }

    /// The dataset named `name`.
    pub fn dataset(&self, name: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// Forgets the dataset named `name` (a tab closed): queries no longer see it.
    pub fn remove(&mut self, name: &str) {
        self.datasets.retain(|d| d.name != name);
    }

    pub fn names(&self) -> Vec<String> {
        self.datasets.iter().map(|d| d.name.clone()).collect()
    }

    /// The columns of `ds`, from file metadata or the first rows.
    pub async fn schema(&self, ds: &Dataset) -> Result<Vec<Column>> {
        let owned = ds.clone();
        let schema = blocking(move || {
            let mut lf = polars::scan(&owned)?;
            lf.collect_schema()
        })
        .await?
        .map_err(|e| self.polars_error(e, Scope::View(ds, &[])))?;
        let arrow = bridge::schema_to_arrow(&schema)?;
        Ok(schema
            .iter()
            .zip(arrow.fields())
            .map(|((name, dtype), field)| Column {
                name: name.to_string(),
                dtype: dtype.to_string(),
                arrow_type: field.data_type().to_string(),
            })
            .collect())
    }

    /// The first `n` rows of `ds` (reads only as much as needed).
    pub async fn head(&self, ds: &Dataset, n: usize) -> Result<Table> {
        let owned = ds.clone();
        let n = ::polars::prelude::IdxSize::try_from(n).unwrap_or(::polars::prelude::IdxSize::MAX);
        self.run_polars(Scope::View(ds, &[]), move || Ok(polars::scan(&owned)?.limit(n))).await
    }

    /// Rows `offset..offset + len` of `ds` after `steps`: the window a grid shows.
    /// Parquet and IPC skip to the offset by metadata; a local CSV file whose rows were
    /// counted (and so indexed) is read from the nearest checkpoint; other text formats
    /// are scanned up to the offset.
    pub async fn page(&self, ds: &Dataset, steps: &[Step], offset: u64, len: usize) -> Result<Table> {
        let started = Instant::now();
        let table = self.page_inner(ds, steps, offset, len).await;
        tracing::debug!(table = %ds.name, offset, len, steps = steps.len(), elapsed = ?started.elapsed(), "page");
        table
    }

    async fn page_inner(&self, ds: &Dataset, steps: &[Step], offset: u64, len: usize) -> Result<Table> {
        let mut indexed = self.csv_rows.lock().ok().and_then(|m| m.get(&ds.name).cloned());
        if let (None, true, Format::Csv(dialect), Location::Local, [file]) =
            (&indexed, steps.is_empty(), ds.format, &ds.location, ds.files.as_slice())
        {
            // Not counted yet: rows are found by counting from the start of the file
            // (memchr, no parsing), far cheaper than the engine's scan up to them.
            let (owned, file) = (ds.clone(), file.clone());
            let provisional = blocking(move || -> Result<Option<CsvRows>> {
                let index = csv_count::RowIndex::provisional(&file, &dialect)
                    .map_err(|e| e.map_message(source::say_given))?;
                let schema = polars::scan(&owned).and_then(|mut lf| lf.collect_schema()).ok();
                Ok(schema.map(|schema| CsvRows { files: vec![index], dialect, schema }))
            })
            .await??;
            // Kept until the count replaces it with the full index (never the reverse).
            indexed = match (provisional, self.csv_rows.lock()) {
                (Some(p), Ok(mut map)) => {
                    Some(map.entry(ds.name.clone()).or_insert_with(|| Arc::new(p)).clone())
                }
                (p, _) => p.map(Arc::new),
            };
        }
        if let (Some(rows), true) = (indexed, steps.is_empty()) {
            let df = blocking(move || rows.page(offset, len as u64)).await??;
            return Ok(Table::from_polars(df.map_err(|e| self.polars_error(e, Scope::View(ds, &[])))?)?);
        }
        let view = self.view_of(ds, steps);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let len = ::polars::prelude::IdxSize::try_from(len).unwrap_or(::polars::prelude::IdxSize::MAX);
        self.run_polars(Scope::View(ds, steps), move || Ok(view()?.slice(offset, len))).await
    }

    /// The number of rows of `ds` after `steps` (without steps: Parquet from metadata,
    /// text formats by a fast scan).
    pub async fn count(&self, ds: &Dataset, steps: &[Step]) -> Result<u64> {
        self.count_with_progress(ds, steps, None).await
    }

    /// `count`, telling `progress` how far it got (bytes of a local CSV file; other
    /// counts are quick or give no progress).
    pub async fn count_with_progress(
        &self,
        ds: &Dataset,
        steps: &[Step],
        progress: Option<Arc<Progress>>,
    ) -> Result<u64> {
        let started = Instant::now();
        let rows = self.count_inner(ds, steps, progress).await;
        tracing::debug!(table = %ds.name, steps = steps.len(), elapsed = ?started.elapsed(), "count");
        rows
    }

    async fn count_inner(
        &self,
        ds: &Dataset,
        steps: &[Step],
        progress: Option<Arc<Progress>>,
    ) -> Result<u64> {
        if let (Format::Csv(dialect), Location::Local, true) = (ds.format, &ds.location, steps.is_empty()) {
            // assay's own pass (source::csv_count): it counts as Polars does, indexes the
            // rows for `page`, and has a malformed file named instead of miscounted.
            let owned = ds.clone();
            let (files, schema) = blocking(move || -> Result<_> {
                if let Some(p) = &progress {
                    p.set_total(
                        owned.files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum(),
                    );
                }
                let files = owned
                    .files
                    .iter()
                    .map(|f| csv_count::index_rows(f, &dialect, progress.as_deref()))
                    .collect::<source::Result<Vec<_>>>()
                    // A scratch copy (standard input, a decompressed file) is said as
                    // what the user gave.
                    .map_err(|e| e.map_message(source::say_given))?;
                let schema = polars::scan(&owned).and_then(|mut lf| lf.collect_schema()).ok();
                Ok((files, schema))
            })
            .await??;
            let rows = files.iter().map(|f| f.rows).sum();
            if let (Some(schema), Ok(mut map)) = (schema, self.csv_rows.lock()) {
                map.insert(ds.name.clone(), Arc::new(CsvRows { files, dialect, schema }));
            }
            return Ok(rows);
        }
        let view = self.view_of(ds, steps);
        let table = self.run_polars(Scope::View(ds, steps), move || Ok(view()?.select([len()]))).await?;
        first_index(&table)?.ok_or_else(|| Error::runtime("count returned no rows"))
    }

    /// The first row after `from` (or the last before it, going back) of `ds` after
    /// `steps` where any column's text matches the regular expression `pattern`.
    pub async fn find(
        &self,
        ds: &Dataset,
        steps: &[Step],
        pattern: &str,
        from: u64,
        forward: bool,
    ) -> Result<Option<u64>> {
        regex::Regex::new(pattern)
            .map_err(|e| Error::input(format!("search `{pattern}`: {}", first_line(&e.to_string()))))?;
        let view = self.view_of(ds, steps);
        let pattern = pattern.to_string();
        let table = self
            .run_polars(Scope::View(ds, steps), move || {
                use ::polars::prelude::*;
                let mut lf = view()?;
                let names: Vec<PlSmallStr> = lf.collect_schema()?.iter_names().cloned().collect();
                let matches: Vec<Expr> = names
                    .iter()
                    .map(|n| {
                        col(n.clone()).cast(DataType::String).str().contains(lit(pattern.clone()), false)
                    })
                    .collect();
                let from = IdxSize::try_from(from).unwrap_or(IdxSize::MAX);
                let row = col("__assay_row");
                let side = if forward { row.clone().gt(lit(from)) } else { row.clone().lt(lit(from)) };
                let hits = lf.with_row_index("__assay_row", None).filter(any_horizontal(matches)?.and(side));
                let pick = if forward { row.min() } else { row.max() };
                Ok(hits.select([pick]))
            })
            .await?;
        first_index(&table)
    }

    /// Column statistics and histograms of `ds` after `steps` (two aggregating scans).
    pub async fn profile(&self, ds: &Dataset, steps: &[Step]) -> Result<Vec<crate::profile::ColumnProfile>> {
        let view = self.view_of(ds, steps);
        blocking(move || crate::profile::profile(view()?))
            .await?
            .map_err(|e| self.polars_error(e, Scope::View(ds, steps)))
    }

    /// Builds `ds`'s view after `steps` as a lazy Polars plan, when called (on a
    /// blocking thread): `join` and `sql` steps read the other open datasets by name.
    fn view_of(
        &self,
        ds: &Dataset,
        steps: &[Step],
    ) -> impl FnOnce() -> ::polars::prelude::PolarsResult<::polars::prelude::LazyFrame> + Send + 'static {
        let (owned, steps) = (ds.clone(), steps.to_vec());
        let others: Vec<Dataset> =
            if transform::needs_tables(&steps) { self.datasets.clone() } else { Vec::new() };
        move || {
            let mut tables = transform::Tables::new();
            for d in &others {
                tables.insert(d.name.clone(), polars::scan(d)?);
            }
            transform::apply_with(polars::scan(&owned)?, &steps, &tables)
        }
    }

    /// The SQL of `ds`'s view after `steps` (one query over the dataset's table name).
    pub async fn view_sql(&self, ds: &Dataset, steps: &[Step]) -> Result<String> {
        if transform::is_simple(steps) {
            return Ok(transform::to_sql(&ds.name, steps));
        }
        let (owned, steps, datasets) = (ds.clone(), steps.to_vec(), self.datasets.clone());
        blocking(move || {
            let mut tables = transform::Tables::new();
            for d in &datasets {
                tables.insert(d.name.clone(), polars::scan(d).map_err(crate::engine::Error::from)?);
            }
            let base = polars::scan(&owned).map_err(crate::engine::Error::from)?;
            transform::view_sql(&owned.name, base, &steps, &tables)
        })
        .await?
        .map_err(Error::from)
    }

    /// Every dataset but `ds`, by name, for checks that reference another table.
    pub fn sources(&self, ds: &Dataset) -> Result<crate::quality::Sources> {
        self.datasets
            .iter()
            .filter(|d| d.name != ds.name)
            .map(|d| {
                Ok((d.name.clone(), polars::scan(d).map_err(|e| self.polars_error(e, Scope::View(d, &[])))?))
            })
            .collect()
    }

    /// Runs `work` on a blocking thread over `ds` after `steps` (a lazy Polars plan); a
    /// runtime failure reads as a failure to read the data.
    async fn on_view<T: Send + 'static, E: Into<Error> + Send + 'static>(
        &self,
        ds: &Dataset,
        steps: &[Step],
        work: impl FnOnce(::polars::prelude::LazyFrame) -> std::result::Result<T, E> + Send + 'static,
    ) -> Result<T> {
        let view = self.view_of(ds, steps);
        blocking(move || -> Result<T> {
            work(view().map_err(crate::engine::Error::from)?).map_err(Into::into)
        })
        .await?
        .map_err(|e| self.engine_failure(e, Scope::View(ds, steps)))
    }

    /// Runs the checks of `rules` over `ds` after `steps` in one aggregating scan.
    pub async fn check(
        &self,
        ds: &Dataset,
        steps: &[Step],
        rules: &crate::quality::Rules,
    ) -> Result<crate::quality::Report> {
        self.check_keeping(ds, steps, rules, false).await
    }

    /// `check`, keeping the unique checks' duplicated keys in the report when
    /// `keep_keys` (for a quarantine that follows: `Workspace::quarantine`).
    async fn check_keeping(
        &self,
        ds: &Dataset,
        steps: &[Step],
        rules: &crate::quality::Rules,
        keep_keys: bool,
    ) -> Result<crate::quality::Report> {
        let (name, rules, sources) = (ds.name.clone(), rules.clone(), self.sources(ds)?);
        self.on_view(ds, steps, move |lf| crate::quality::run_keeping(&name, lf, &rules, &sources, keep_keys))
            .await
    }

    /// Runs the checks of `rules` over `ds` after `steps` on `engine`. On DataFusion the
    /// checks are SQL (`quality::sql`): one aggregating query and one per unique key,
    /// foreign key, duplicate_rows and sql check; failing-row samples are read by Polars
    /// either way (row numbers need the file's order).
    pub async fn check_on(
        &self,
        ds: &Dataset,
        steps: &[Step],
        rules: &crate::quality::Rules,
        engine: EngineKind,
        keep_keys: bool,
    ) -> Result<crate::quality::Report> {
        if engine == EngineKind::Polars {
            return self.check_keeping(ds, steps, rules, keep_keys).await;
        }
        let started = std::time::Instant::now();
        let from = if steps.is_empty() {
            transform::ident(&ds.name)
        } else {
            format!("({}) AS __assay_view", self.view_sql(ds, steps).await?)
        };
        let r = rules.clone();
        let plan = self.on_view(ds, steps, move |lf| crate::quality::sql::plan(lf, &from, &r)).await?;
        let ctx = self.datafusion_context().await?;
        let one_row = |query: String| {
            let ctx = ctx.clone();
            async move {
                let query = datafusion::rewrite(&ctx, &query).await;
                let scope = Scope::View(ds, steps);
                let df = ctx.sql(&query).await.map_err(|e| self.datafusion_error(e, Some(&query), scope))?;
                let batches =
                    df.collect().await.map_err(|e| self.datafusion_error(e, Some(&query), scope))?;
                let mut row: HashMap<String, Option<f64>> = HashMap::new();
                for batch in batches.iter().filter(|b| b.num_rows() > 0).take(1) {
                    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                        let v = ::datafusion::arrow::compute::cast(
                            column,
                            &::datafusion::arrow::datatypes::DataType::Float64,
                        )
                        .map_err(|e| Error::runtime(format!("checks on datafusion: {e}")))?;
                        let v =
                            v.as_any().downcast_ref::<::datafusion::arrow::array::Float64Array>().and_then(
                                |a| (!::datafusion::arrow::array::Array::is_null(a, 0)).then(|| a.value(0)),
                            );
                        row.insert(field.name().clone(), v.filter(|v| !v.is_nan()));
                    }
                }
                Ok::<_, Error>(row)
            }
        };
        let aggregate = one_row(plan.aggregate.clone()).await?;
        let mut measured = crate::quality::Measured {
            rows: aggregate.get("__rows").copied().flatten().unwrap_or(0.0) as u64,
            scans: 1 + plan.own.len() as u32,
            values: (0..rules.checks.len())
                .map(|i| (aggregate.get(&format!("c{i}")).copied().flatten(), None))
                .collect(),
            ..Default::default()
        };
        for (i, query) in &plan.own {
            let row = one_row(query.clone()).await?;
            measured.values[*i].0 = row.get("v").copied().flatten();
        }
        let (name, rules, sources) = (ds.name.clone(), rules.clone(), self.sources(ds)?);
        self.on_view(ds, steps, move |lf| {
            crate::quality::run_measured(&name, lf, &rules, &sources, measured, started)
        })
        .await
    }

    /// A check on `column` of `ds` after `steps`, its bounds read from the data (see
    /// `quality::suggest::from_column`).
    pub async fn check_from_column(
        &self,
        ds: &Dataset,
        steps: &[Step],
        column: &str,
        kind: crate::quality::suggest::FromColumn,
    ) -> Result<crate::quality::Check> {
        let column = column.to_string();
        self.on_view(ds, steps, move |lf| crate::quality::suggest::from_column(lf, &column, kind)).await
    }

    /// Splits `ds` into valid and quarantined rows by the row-level checks of `rules` and
    /// streams them to the files `valid` and `quarantine` in one pass (bounded memory);
    /// both are put in place only when rows in = valid + quarantined holds on what was
    /// written (`outputs`). Returns the two row counts.
    pub async fn quarantine(
        &self,
        ds: &Dataset,
        rules: &crate::quality::Rules,
        report: &crate::quality::Report,
        valid: &str,
        quarantine: &str,
    ) -> Result<(u64, u64)> {
        let (rules, sources) = (rules.clone(), self.sources(ds)?);
        let (rows_in, known) = (report.rows, report.duplicated_keys.clone());
        let file = |dest: &str| -> Result<ExportPlan> {
            let format = crate::sink::output_format(dest)?;
            Ok(ExportPlan::File { path: dest.to_string(), format, write: Default::default() })
        };
        let (valid, quarantine) = (file(valid)?, file(quarantine)?);
        // CSV gets no lists: the failed check ids are joined with `;`.
        let csv = matches!(quarantine, ExportPlan::File { format: Format::Csv(_), .. });
        let (good, bad) = self
            .on_view(ds, &[], move |lf| crate::quality::quarantine(lf, &rules, &sources, csv, &known))
            .await?;
        let outputs = vec![
            Output { name: "valid".into(), plan: valid, rows: good },
            Output { name: "quarantine".into(), plan: quarantine, rows: bad },
        ];
        let staged = outputs::stage(outputs, &Staging::default(), &mut |_| {})
            .await
            .map_err(|e| self.engine_failure(e, Scope::View(ds, &[])))?;
        let (v, b) = (staged.written[0].rows, staged.written[1].rows);
        if v + b != rows_in {
            return Err(crate::sink::Error::write_failed(format!(
                "quarantine lost rows: {rows_in} in, {v} valid + {b} quarantined \
                 (a bug in assay; nothing was written)"
            ))
            .into());
        }
        staged.publish(&mut |_| {}).await?;
        Ok((v, b))
    }

    /// Writes `ds`'s view (after `steps`) as `plan` says: a file (one, or a Hive-style
    /// tree when `write` partitions it), an S3 object or a database table, by streaming
    /// (bounded memory), never over one of `ds`'s inputs; replacing what is there needs
    /// `overwrite`. Nothing is in place until it is whole (`outputs`): `watch` follows
    /// the rows and bytes and can stop it (nothing is then written). Returns the rows
    /// written.
    pub async fn export_plan(
        &self,
        ds: &Dataset,
        steps: &[Step],
        plan: &ExportPlan,
        overwrite: bool,
        s3_endpoint: Option<&str>,
        watch: Option<Arc<crate::sink::Watch>>,
    ) -> Result<u64> {
        match plan {
            ExportPlan::File { path, .. } if crate::source::Place::of(path).is_s3() => {
                let config = crate::source::s3::S3Config::resolve(s3_endpoint)?;
                crate::sink::s3::check_overwrite(&config, path, &ds.files, overwrite).await?;
            }
            ExportPlan::File { path, .. } => crate::sink::check_overwrite(path, &ds.files, overwrite)?,
            ExportPlan::Table(crate::db::Load::Sqlite(t)) => {
                crate::sink::check_overwrite(&t.db, &ds.files, true)?
            }
            ExportPlan::Table(_) => {}
        }
        let view = self.view_of(ds, steps);
        let rows = blocking(move || view().map_err(crate::engine::Error::from))
            .await?
            .map_err(|e| self.engine_failure(e.into(), Scope::View(ds, steps)))?;
        let output = Output { name: plan.destination(), plan: plan.clone(), rows };
        let how = Staging { replace_tables: overwrite, s3_endpoint: s3_endpoint.map(str::to_string), watch };
        let staged = outputs::stage(vec![output], &how, &mut |_| {})
            .await
            .map_err(|e| self.engine_failure(e, Scope::View(ds, steps)))?;
        let rows = staged.written[0].rows;
        staged.publish(&mut |_| {}).await?;
        Ok(rows)
    }

    /// A rules file proposed from the data (see `quality::suggest`): a profile, then one
    /// scan for categorical values and one for all candidate checks.
    /// Returns the row count too.
    pub async fn suggest(
        &self,
        ds: &Dataset,
        steps: &[Step],
    ) -> Result<(u64, Vec<crate::quality::suggest::Suggestion>)> {
        let profile = self.profile(ds, steps).await?;
        let name = ds.name.clone();
        self.on_view(ds, steps, move |lf| {
            let values = crate::quality::suggest::category_values(lf.clone(), &profile)?;
            let rows = profile.first().map(|c| c.rows).unwrap_or(0);
            Ok::<_, Error>((rows, crate::quality::suggest::suggest(&name, lf, &profile, &values)?))
        })
        .await
    }
}

/// The first value of a one-column result of Polars' index type (u32, or u64 with
/// `bigidx`): a count or a row number. `None` when there is no row or it is null.
fn first_index(table: &Table) -> Result<Option<u64>> {
    use arrow::array::AsArray;
    use arrow::datatypes::{UInt32Type, UInt64Type};
    let Some(batch) = table.batches.iter().find(|b| b.num_rows() > 0) else { return Ok(None) };
    let column = batch.column(0);
    if column.is_null(0) {
        return Ok(None);
    }
    if let Some(a) = column.as_primitive_opt::<UInt32Type>() {
        Ok(Some(a.value(0) as u64))
    } else if let Some(a) = column.as_primitive_opt::<UInt64Type>() {
        Ok(Some(a.value(0)))
    } else {
        Err(Error::runtime(format!("expected a row index, got a {}", column.data_type())))
    }
}

/// Polars' profile frame (node, start, end in microseconds) as text.
fn polars_profile_text(profile: &::polars::prelude::DataFrame) -> String {
    let mut out = String::from("node                                     start_us     end_us   time_us\n");
    let col = |name: &str| profile.column(name).ok().map(|c| c.as_materialized_series().clone());
    let (Some(node), Some(start), Some(end)) = (col("node"), col("start"), col("end")) else {
        return format!("{profile}");
    };
    for i in 0..profile.height() {
        let n = node.get(i).map(|v| v.to_string()).unwrap_or_default();
        let s = start.get(i).ok().and_then(|v| v.extract::<u64>()).unwrap_or(0);
        let e = end.get(i).ok().and_then(|v| v.extract::<u64>()).unwrap_or(0);
        out.push_str(&format!("{:<40} {:>9} {:>10} {:>9}\n", n.trim_matches('"'), s, e, e.saturating_sub(s)));
    }
    out
}

#[cfg(test)]
mod tests;
