//! Checks: the rules file (`[[checks]]`, docs/checks.md), compiled into one Polars aggregation
//! over the data, and the results (status from each check's threshold and severity).
//!
//! Every check, row-level or table-level, becomes one or two aggregate expressions in
//! a single `select`, so the data is scanned once however many checks there are (as in
//! Deequ). Row-level checks count their failing rows: a null value fails only
//! `not_null` (a null is unknown, not out of range; `between` on a null passes), and
//! `unique` fails every row whose key occurs more than once, nulls included as a value.

pub mod rules;
pub mod sql;
pub mod suggest;
pub mod unique;

use std::time::Instant;

use polars::prelude::*;

use rules::InSet;
pub use rules::{Check, Rules, Severity};

crate::layer_error! {
    /// What the quality room says about rules and checks.
    pub enum Error {
        /// A rules file or a check that cannot apply as written: exit 2.
        Invalid(invalid) = 2,
        /// A check that does not fit the data it checks (a column it lacks, a type it
        /// cannot check): exit 2. Said without the data's name, which the caller adds.
        Mismatch(mismatch) = 2,
        /// Checking failed while running: exit 3.
        Failed(failed) = 3,
        ;
        Engine(crate::engine::Error),
        Transform(crate::transform::Error),
        Sql(crate::sql::Error),
        Source(crate::source::Error),
        Ground(crate::error::Error),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a check found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckResult {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub columns: Vec<String>,
    pub severity: Severity,
    /// Rows pass or fail it one by one (else it observes one value of the table).
    pub row_level: bool,
    /// `pass`, `warn` (beyond its threshold at severity warn or info) or `fail`
    /// (beyond its threshold at severity error).
    pub status: Status,
    /// Rows that failed (row-level checks; 0 for table-level ones).
    pub failing_rows: u64,
    pub failing_fraction: f64,
    /// What was measured: failing rows, or the table-level value.
    pub observed: Option<f64>,
    /// The bound the observation was held to, as written.
    pub threshold: String,
    /// Up to `samples` failing rows: row number (1-based, as in the file) and values of
    /// the key columns and the check's columns.
    pub samples: Vec<FailingRow>,
    /// What was wrong, in words, when a number does not say it (a schema check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub elapsed_ms: u64,
    /// The failing rows as an SQL condition, where one says it (`Check::failure_sql`):
    /// the workbench shows them as a filtered view.
    #[serde(skip)]
    pub failing_sql: Option<String>,
}

/// One failing row of a sample.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailingRow {
    pub row: u64,
    pub values: std::collections::BTreeMap<String, Option<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn name(&self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub table: String,
    pub rows: u64,
    /// Scans of the data the checks took.
    pub scans: u32,
    pub checks: Vec<CheckResult>,
    pub elapsed_ms: u64,
    /// The split, when the run quarantined failing rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<Split>,
    /// The duplicated keys each unique check found (by check index), kept when a
    /// quarantine follows (`run_keeping`): it then tests rows against them without
    /// reading the data again to find them.
    #[serde(skip)]
    pub duplicated_keys: DuplicatedKeys,
}

/// The hashed keys a unique check found more than once, by the check's index.
pub type DuplicatedKeys = std::collections::HashMap<usize, Arc<unique::HashedKeys>>;

/// Rows in = valid + quarantined, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Split {
    pub rows_in: u64,
    pub valid: u64,
    pub quarantined: u64,
}

impl Report {
    /// How many checks have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// Checks beyond their threshold at `severity` or above.
    pub fn failed_at(&self, severity: Severity) -> usize {
        self.checks.iter().filter(|c| c.status != Status::Pass && c.severity >= severity).count()
    }
}

/// Other tables by name, for foreign keys.
pub type Sources = std::collections::HashMap<String, LazyFrame>;

/// The row number column added for samples (0-based, in the order rows are read).
const ROW: &str = "__assay_row";

fn key(i: usize, what: &str) -> PlSmallStr {
    format!("__check{i}_{what}").into()
}

/// The plan that measures the checks: one aggregation for every check, a unique key's
/// being an expression that hashes each row's key as it streams past (`unique`).
struct Compiled {
    lf: LazyFrame,
    schema: SchemaRef,
    aggregation: LazyFrame,
    /// Check index and what its expression fills.
    uniques: Vec<(usize, Arc<unique::KeyHashes>)>,
    /// Check index (`distinct_count`, `duplicate_rows`) and the distinct keys it records.
    distincts: Vec<(usize, Arc<unique::DistinctKeys>)>,
    /// Check index (row-level, when samples are wanted) and the first failing rows its
    /// expression records.
    samples: Vec<(usize, Arc<FirstFailing>)>,
    context: rules::Context,
}

/// `lf` with row numbers (`ROW`, from 0 in the order rows are read).
fn numbered(lf: LazyFrame) -> LazyFrame {
    lf.with_row_index(ROW, None)
}

/// The plans of every check but `sql` ones, over `lf`.
fn compile(lf: LazyFrame, rules: &Rules, sources: &Sources) -> Result<Compiled> {
    let mut lf = lf;
    let schema = lf.collect_schema().map_err(crate::engine::Error::polars("checks"))?;
    rules.check_columns(&schema)?;
    let mut exprs = vec![len().alias("__rows")];
    let mut samples = rules::Context {
        n: rules.samples.unwrap_or(5),
        key: rules.key.clone(),
        columns: schema.iter_names().map(|n| n.to_string()).collect(),
        ..Default::default()
    };
    // A foreign key reads the referenced column's distinct values first (one scan of it).
    for check in &rules.checks {
        if let Check::ForeignKey(a) = check {
            let (source, column) = rules::reference(&a.references).map_err(Error::invalid)?;
            let Some(other) = sources.get(&source) else {
                let known: Vec<&str> = sources.keys().map(String::as_str).collect();
                return Err(Error::mismatch(format!(
                    "check {}: no source `{source}` (give it with --table {source}=DATA; have: {})",
                    check.id(),
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )));
            };
            let values = crate::engine::polars::collect(
                other.clone().select([col(column.as_str()).drop_nulls().unique()]),
            )
            .and_then(|df| Ok(df.column(column.as_str())?.as_materialized_series().clone()))
            .map_err(|e| Error::mismatch(format!("check {}: {}: {e}", check.id(), a.references)))?;
            samples.references.insert(a.references.clone(), values);
        }
    }
    let (mut uniques, mut distincts, mut recorded) = (Vec::new(), Vec::new(), Vec::new());
    for (i, check) in rules.checks.iter().enumerate() {
        match check {
            Check::Unique(a) => {
                let (expr, hashes) = unique::expr(ROW, &a.columns);
                exprs.push(expr.alias(key(i, "hashed")));
                uniques.push((i, hashes));
            }
            // Counted in the same aggregation (Polars' `n_unique` would be a group-by on a
            // branch of its own); a distinct count leaves nulls out, a duplicated row
            // counts them as values.
            Check::DistinctCount(_) | Check::DuplicateRows(_) => {
                let (columns, skip_nulls) = match check {
                    Check::DistinctCount(a) => (vec![a.column.clone()], true),
                    _ => (schema.iter_names().map(|n| n.to_string()).collect(), false),
                };
                if columns.is_empty() {
                    continue;
                }
                let (expr, keys) = unique::distinct(&columns, skip_nulls);
                exprs.push(expr.alias(key(i, "hashed")));
                distincts.push((i, keys));
            }
            // A row-level check counts its failures and keeps its first failing rows as
            // they stream past, so samples need no second pass.
            _ if samples.n > 0 && check.row_level() => match check.row_failure(i, &schema, &samples)? {
                Some(fail) => {
                    let (fail, first) = recording(fail, &samples.columns_of(check), samples.n);
                    exprs.push(fail.cast(DataType::UInt64).sum().alias(key(i, "value")));
                    recorded.push((i, first));
                }
                None => exprs.extend(check.exprs(i, &schema, &samples)?),
            },
            _ => exprs.extend(check.exprs(i, &schema, &samples)?),
        }
    }
    // Unique keys and failing rows are recorded with their row numbers.
    let base = if uniques.is_empty() && recorded.is_empty() { lf.clone() } else { numbered(lf.clone()) };
    let aggregation = base.select(exprs);
    Ok(Compiled { lf, schema, aggregation, uniques, distincts, samples: recorded, context: samples })
}

/// How the checks will run, without running them: the number of scans and Polars'
/// optimized plan of the shared aggregation (one line per check's query after it).
pub fn explain(lf: LazyFrame, rules: &Rules, sources: &Sources) -> Result<String> {
    let compiled = compile(lf, rules, sources)?;
    let plan =
        compiled.aggregation.describe_optimized_plan().map_err(crate::engine::Error::polars("explain"))?;
    let own: Vec<&Check> = rules.checks.iter().filter(|c| matches!(c, Check::Sql(_))).collect();
    let schema_only = rules.checks.iter().filter(|c| matches!(c, Check::Schema(_))).count();
    let mut text = format!(
        "{} checks in {} scan{}: one aggregation for {} check{}{}{}{}\n\n{plan}\n",
        rules.checks.len(),
        1 + own.len(),
        if own.is_empty() { "" } else { "s" },
        rules.checks.len() - own.len() - schema_only - compiled.uniques.len(),
        if rules.checks.len() - own.len() - schema_only - compiled.uniques.len() == 1 { "" } else { "s" },
        if compiled.uniques.is_empty() {
            String::new()
        } else {
            format!(" and {} unique key(s) hashed as the rows stream past", compiled.uniques.len())
        },
        if schema_only > 0 { format!(", {schema_only} schema check(s) read no data") } else { String::new() },
        if own.is_empty() { String::new() } else { format!(", {} sql check(s) one query each", own.len()) },
    );
    for c in own {
        if let Check::Sql(a) = c {
            text.push_str(&format!("\n{}: {}\n", c.id(), a.query));
        }
    }
    Ok(text)
}

/// What the checks measured, before judging: the row count, the scans taken, and per
/// check (in order) the observed value and, for a schema check, what was wrong.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub rows: u64,
    pub scans: u32,
    pub values: Vec<(Option<f64>, Option<String>)>,
    /// Per unique check (by index), its first failing rows (0-based), when measured.
    pub first_failing: std::collections::HashMap<usize, Vec<u64>>,
    /// Per row-level check (by index), its failing-row samples, when gathered with the
    /// count.
    pub samples: std::collections::HashMap<usize, Vec<FailingRow>>,
}

/// The number in row 0 of `df`'s column `name` (None for null or NaN).
fn number(df: &DataFrame, name: &str) -> Option<f64> {
    let v = df.column(name).ok()?.get(0).ok()?;
    if v.is_null() {
        return None;
    }
    v.extract::<f64>().filter(|v| !v.is_nan())
}

/// Runs every check of `rules` over `lf` in one scan (plus one per `sql` check and one
/// of each referenced foreign-key column).
pub fn run(table: &str, lf: LazyFrame, rules: &Rules, sources: &Sources) -> Result<Report> {
    run_keeping(table, lf, rules, sources, false)
}

/// `run`, keeping the unique checks' duplicated keys in the report when `keep_keys` (a
/// quarantine follows).
pub fn run_keeping(
    table: &str,
    lf: LazyFrame,
    rules: &Rules,
    sources: &Sources,
    keep_keys: bool,
) -> Result<Report> {
    let started = Instant::now();
    let Compiled { lf, schema, aggregation, uniques, distincts, samples, context } =
        compile(lf, rules, sources)?;
    let df = &crate::engine::polars::collect(aggregation)
        .map_err(crate::engine::Error::polars(format!("checks on {table}")))?;
    let mut measured = Measured {
        rows: number(df, "__rows").unwrap_or(0.0) as u64,
        scans: 1 + context.references.len() as u32,
        values: Vec::new(),
        first_failing: Default::default(),
        samples: samples.iter().map(|(i, first)| (*i, first.take())).collect(),
    };
    let mut own_values = std::collections::HashMap::new();
    let mut duplicated_keys = DuplicatedKeys::new();
    // Every row recorded once, or the count would be wrong.
    let recorded_once = |i: usize| {
        let hashed = number(df, &key(i, "hashed")).unwrap_or(0.0) as u64;
        if hashed == measured.rows {
            Ok(())
        } else {
            Err(Error::failed(format!(
                "check {}: {hashed} keys recorded for {} rows",
                rules.checks[i].id(),
                measured.rows
            )))
        }
    };
    for (i, keys) in &distincts {
        recorded_once(*i)?;
        let distinct = keys.count();
        let value = match rules.checks[*i] {
            Check::DistinctCount(_) => distinct,
            _ => measured.rows - distinct,
        };
        own_values.insert(*i, Some(value as f64));
    }
    for (i, hashes) in &uniques {
        recorded_once(*i)?;
        let (found, keys) = hashes.duplicates_and_keys(context.n, keep_keys);
        if keep_keys {
            duplicated_keys.insert(*i, Arc::new(keys.into_iter().collect()));
        }
        own_values.insert(*i, Some(found.failing as f64));
        measured.first_failing.insert(*i, found.first);
    }
    // Checks that are not one aggregate: a schema check reads no data; an `sql` check
    // is its own query over the table (one more scan each).
    for (i, check) in rules.checks.iter().enumerate() {
        let v = match check {
            Check::Schema(a) => schema_value(a, &schema),
            Check::Sql(a) => {
                let failing = crate::engine::polars::sql([(table, lf.clone())], &a.query)
                    .and_then(|q| crate::engine::polars::collect(q.select([len()])))
                    .map_err(|e| Error::mismatch(format!("check {}: {e}", check.id())))?;
                let n =
                    failing.column("len").ok().and_then(|c| c.get(0).ok()).and_then(|v| v.extract::<f64>());
                measured.scans += 1;
                (Some(n.unwrap_or(0.0)), None)
            }
            // Measured by their own expressions (none for duplicated rows of no columns).
            Check::Unique(_) | Check::DistinctCount(_) | Check::DuplicateRows(_) => {
                (Some(own_values.get(&i).copied().flatten().unwrap_or(0.0)), None)
            }
            _ => (number(df, &key(i, "value")), None),
        };
        measured.values.push(v);
    }
    let mut report = finish(table, lf, &schema, &context, rules, measured, started)?;
    report.duplicated_keys = duplicated_keys;
    Ok(report)
}

/// A schema check's observation: the number of problems, and them in words.
fn schema_value(a: &rules::SchemaArgs, schema: &Schema) -> (Option<f64>, Option<String>) {
    let problems = rules::schema_problems(a, schema);
    let detail = (!problems.is_empty()).then(|| problems.join("; "));
    (Some(problems.len() as f64), detail)
}

/// The checks of `rules` judged from measurements another engine took (see `sql`), with
/// failing-row samples read by Polars (only its ordered scan numbers rows as the file).
pub fn run_measured(
    table: &str,
    lf: LazyFrame,
    rules: &Rules,
    sources: &Sources,
    mut measured: Measured,
    started: Instant,
) -> Result<Report> {
    let Compiled { lf, schema, context, .. } = compile(lf, rules, sources)?;
    for (check, value) in rules.checks.iter().zip(measured.values.iter_mut()) {
        if let Check::Schema(a) = check {
            *value = schema_value(a, &schema);
        }
    }
    finish(table, lf, &schema, &context, rules, measured, started)
}

/// Judges each measurement against its check's threshold, then samples failing rows.
fn finish(
    table: &str,
    lf: LazyFrame,
    schema: &SchemaRef,
    context: &rules::Context,
    rules: &Rules,
    mut measured: Measured,
    started: Instant,
) -> Result<Report> {
    let rows = measured.rows;
    let mut first_failing = std::mem::take(&mut measured.first_failing);
    let mut gathered = std::mem::take(&mut measured.samples);
    let elapsed = started.elapsed().as_millis() as u64;
    let mut checks: Vec<CheckResult> = rules
        .checks
        .iter()
        .zip(measured.values)
        .map(|(check, (observed, detail))| {
            let (failing, status_ok, threshold) = check.judge(rows, observed);
            CheckResult {
                id: check.id(),
                kind: check.kind().to_string(),
                columns: check.columns(),
                severity: check.common().severity,
                row_level: check.row_level(),
                status: if status_ok {
                    Status::Pass
                } else if check.common().severity == Severity::Error {
                    Status::Fail
                } else {
                    Status::Warn
                },
                failing_rows: failing,
                failing_fraction: if rows == 0 { 0.0 } else { failing as f64 / rows as f64 },
                observed,
                threshold,
                samples: Vec::new(),
                detail,
                elapsed_ms: elapsed,
                failing_sql: check.failure_sql(schema),
            }
        })
        .collect();
    // Samples of the failing row-level checks: their first failing rows, gathered with the
    // counts (`recording`) or else read by one pass over the rows failing any of them that
    // stops as soon as every check has its samples (the unique keys', whose first failing
    // rows are known only at the end of the count; every check's when another engine
    // counted).
    let mut wanted: Vec<Wanted> = Vec::new();
    for (i, check) in rules.checks.iter().enumerate() {
        let failing_rows = checks[i].failing_rows;
        if context.n == 0 || failing_rows == 0 {
            continue;
        }
        if let Some(found) = gathered.remove(&i) {
            checks[i].samples = found;
            continue;
        }
        let mut expected = usize::try_from(failing_rows).unwrap_or(usize::MAX).min(context.n);
        let mut last_row = None;
        let fail = match check {
            // The first failing rows by number (found with the count, or now when
            // another engine measured it).
            Check::Unique(a) => {
                let rows = match first_failing.remove(&i) {
                    Some(rows) => rows,
                    None => {
                        unique::duplicates(lf.clone(), &a.columns, context.n)
                            .map_err(crate::engine::Error::polars(format!("samples of {}", check.id())))?
                            .first
                    }
                };
                let rows: Vec<IdxSize> = rows.into_iter().filter_map(|r| IdxSize::try_from(r).ok()).collect();
                expected = expected.min(rows.len());
                last_row = Some(rows.iter().max().map_or(0, |r| u64::from(*r)));
                col(ROW).one_of(Series::new("rows".into(), rows))
            }
            _ => match check.row_failure(i, schema, context)? {
                Some(fail) => fail,
                None => continue,
            },
        };
        wanted.push(Wanted { check: i, fail, columns: context.columns_of(check), expected, last_row });
    }
    if !wanted.is_empty() {
        let samples = samples_in_one_pass(&lf, &wanted)
            .map_err(crate::engine::Error::polars(format!("failing-row samples on {table}")))?;
        for (w, found) in wanted.iter().zip(samples) {
            checks[w.check].samples = found;
        }
    }
    let elapsed = started.elapsed().as_millis() as u64;
    Ok(Report {
        table: table.to_string(),
        rows,
        scans: measured.scans,
        checks,
        elapsed_ms: elapsed,
        quarantine: None,
        duplicated_keys: DuplicatedKeys::new(),
    })
}

/// A check whose failing rows are read after the counts.
struct Wanted {
    /// Its index.
    check: usize,
    /// Its per-row failure.
    fail: Expr,
    /// The columns to show.
    columns: Vec<String>,
    /// How many rows to find (samples, or fewer when fewer rows fail).
    expected: usize,
    /// The last row it can need (0-based), when known (a unique key's, by number).
    last_row: Option<u64>,
}

/// The first failing rows of each check in `wanted`: one streaming pass over the rows
/// that fail any of them, in file order, stopped by its sink once every check has its
/// rows, and never reading past the last row any of them can need, when that is known.
fn samples_in_one_pass(lf: &LazyFrame, wanted: &[Wanted]) -> PolarsResult<Vec<Vec<FailingRow>>> {
    let flag = |j: usize| format!("__fails{j}");
    let mut columns: Vec<String> = Vec::new();
    for w in wanted {
        for c in &w.columns {
            if !columns.contains(c) {
                columns.push(c.clone());
            }
        }
    }
    let mut select = vec![col(ROW)];
    select.extend(wanted.iter().enumerate().map(|(j, w)| w.fail.clone().alias(flag(j))));
    select.extend(columns.iter().map(|c| col(c.as_str()).cast(DataType::String)));
    let any = wanted.iter().enumerate().fold(lit(false), |a, (j, _)| a.or(col(flag(j))));
    let found: Arc<std::sync::Mutex<Vec<Vec<FailingRow>>>> =
        Arc::new(std::sync::Mutex::new(vec![Vec::new(); wanted.len()]));
    let sink = found.clone();
    let wanted_columns: Vec<Vec<String>> = wanted.iter().map(|w| w.columns.clone()).collect();
    let expected: Vec<usize> = wanted.iter().map(|w| w.expected).collect();
    // A pre-slice the reader stops at (an early stop of the sink leaves the reader's
    // prefetched chunks to finish).
    let read = match wanted.iter().map(|w| w.last_row).collect::<Option<Vec<u64>>>() {
        Some(last) => lf
            .clone()
            .slice(0, IdxSize::try_from(last.into_iter().max().unwrap_or(0) + 1).unwrap_or(IdxSize::MAX)),
        None => lf.clone(),
    };
    let take = move |df: DataFrame| -> PolarsResult<bool> {
        let mut found = sink.lock().map_err(|_| polars_err!(ComputeError: "samples: poisoned"))?;
        for (j, rows) in found.iter_mut().enumerate() {
            if rows.len() >= expected[j] {
                continue;
            }
            let mask = df.column(&flag(j))?.bool()?.clone();
            let hits = df.filter(&mask)?;
            rows.extend(failing_rows(&hits, &wanted_columns[j]).into_iter().take(expected[j] - rows.len()));
        }
        // Stop reading once every check has its samples.
        Ok(found.iter().zip(&expected).all(|(rows, n)| rows.len() >= *n))
    };
    numbered(read)
        .select(select)
        .filter(any)
        .sink_batches(PlanCallback::Rust(SpecialEq::new(Arc::new(take))), true, None)
        .and_then(crate::engine::polars::streaming)?;
    let found =
        std::mem::take(&mut *found.lock().map_err(|_| polars_err!(ComputeError: "samples: poisoned"))?);
    Ok(found)
}

/// The first failing rows of one check, kept by its `recording` expression.
#[derive(Default)]
struct FirstFailing(std::sync::Mutex<Vec<FailingRow>>);

impl FirstFailing {
    fn take(&self) -> Vec<FailingRow> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// `fail` (a check's per-row failure, over rows numbered `ROW`) unchanged, keeping as
/// the rows stream past the first `n` failing ones (by number, whatever order the batches
/// come in): their numbers and `columns` as text. A batch is looked at only when it
/// fails somewhere and could hold rows before the last one kept.
fn recording(fail: Expr, columns: &[String], n: usize) -> (Expr, Arc<FirstFailing>) {
    let first = Arc::new(FirstFailing::default());
    let kept = first.clone();
    let shown = columns.to_vec();
    let record = move |c: &mut [Column]| -> PolarsResult<Column> {
        let mask = c[0].bool()?;
        if !mask.any() {
            return Ok(c[0].clone());
        }
        let start = c[1].get(0)?.extract::<u64>().unwrap_or(0) + 1;
        {
            let rows = kept.0.lock().map_err(|_| polars_err!(ComputeError: "samples: poisoned"))?;
            if rows.len() >= n && rows.last().is_some_and(|r| r.row < start) {
                return Ok(c[0].clone());
            }
        }
        let mut hits = DataFrame::new(c[1].len(), c[1..].to_vec())?.filter(mask)?.head(Some(n));
        for name in &shown {
            let text = hits.column(name)?.cast(&DataType::String)?;
            hits.with_column(text)?;
        }
        let found = failing_rows(&hits, &shown);
        let mut rows = kept.0.lock().map_err(|_| polars_err!(ComputeError: "samples: poisoned"))?;
        rows.extend(found);
        rows.sort_by_key(|r| r.row);
        rows.truncate(n);
        Ok(c[0].clone())
    };
    let mut inputs = vec![col(ROW)];
    inputs.extend(columns.iter().map(|c| col(c.as_str())));
    (unique::named_map(fail, &inputs, DataType::Boolean, "keep_first_failing", record), first)
}

/// Failing rows from a sample query's frame (row number, then `columns` as text).
fn failing_rows(df: &DataFrame, columns: &[String]) -> Vec<FailingRow> {
    (0..df.height())
        .filter_map(|r| {
            let row = df.column(ROW).ok()?.get(r).ok()?.extract::<u64>()? + 1;
            let values = columns
                .iter()
                .map(|c| {
                    (
                        c.clone(),
                        df.column(c).ok().and_then(|s| s.get(r).ok()).and_then(|v| crate::profile::text(&v)),
                    )
                })
                .collect();
            Some(FailingRow { row, values })
        })
        .collect()
}

/// The name of the quarantine's list column: the ids of the checks a row failed.
pub const FAILED_CHECKS: &str = "failed_checks";

/// The rows that pass every row-level check and the rows that fail at least one, the
/// latter with `failed_checks` (the ids, as a list; joined with `;` for CSV, which has no
/// lists), as two lazy plans over `lf` (written together, they stream in one pass:
/// `sink::sink_all`). `known` holds the duplicated keys a check run over the same `lf`
/// found (`Report::duplicated_keys`); a unique check without them finds its own.
pub fn quarantine(
    lf: LazyFrame,
    rules: &Rules,
    sources: &Sources,
    csv: bool,
    known: &DuplicatedKeys,
) -> Result<(LazyFrame, LazyFrame)> {
    let Compiled { lf, schema, context, .. } = compile(lf, rules, sources)?;
    let mut tags = Vec::new();
    for (i, check) in rules.checks.iter().enumerate() {
        // A unique key: each row is tested against the keys seen more than once, as the
        // check run found them (`known`), or else as a pass of their own finds them
        // (24 bytes a row, then only the duplicated keys).
        let fail = match check {
            Check::Unique(_) if known.get(&i).is_some_and(|k| k.is_empty()) => None,
            Check::Unique(a) => {
                let keys = match known.get(&i) {
                    Some(keys) => keys.clone(),
                    None => Arc::new(unique::duplicated_keys(lf.clone(), &a.columns).map_err(
                        crate::engine::Error::polars(format!("quarantine, check {}", check.id())),
                    )?),
                };
                Some(unique::among(&a.columns, keys).fill_null(lit(false)))
            }
            _ => check.row_failure(i, &schema, &context)?,
        };
        if let Some(fail) = fail {
            tags.push(when(fail).then(lit(check.id())).otherwise(lit(NULL).cast(DataType::String)));
        }
    }
    let failed = if tags.is_empty() {
        lit(Series::new_empty("".into(), &DataType::String)).implode(false)
    } else {
        concat_list(tags)
            .map_err(crate::engine::Error::polars("quarantine"))?
            .list()
            .eval(element().drop_nulls())
    };
    let tagged = lf.with_column(failed.alias(FAILED_CHECKS));
    let failing = || col(FAILED_CHECKS).list().len().gt(lit(0));
    let valid = tagged
        .clone()
        .filter(failing().not())
        .drop(Selector::ByName { names: Arc::new([FAILED_CHECKS.into()]), strict: true });
    let mut bad = tagged.filter(failing());
    if csv {
        bad = bad.with_column(col(FAILED_CHECKS).list().join(lit(";"), true));
    }
    Ok((valid, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_kept_with_the_counts_are_the_first_failing_rows_across_batches() {
        let n = 400_000i64;
        // v is null every 50,000th row and 999 (out of range) every 1,000th otherwise;
        // s is "bad" every 170,001st row.
        let v: Vec<Option<i64>> = (0..n).map(|i| (i % 50_000 != 49_999).then_some(i % 1000)).collect();
        let s: Vec<&str> = (0..n).map(|i| if i % 170_001 == 170_000 { "bad" } else { "ok" }).collect();
        let df = df! { "id" => (0..n).collect::<Vec<_>>(), "v" => v, "s" => s }.unwrap();
        let rules = Rules::parse(
            "key = [\"id\"]\nsamples = 3\n[[checks]]\nnot_null = { column = \"v\" }\n[[checks]]\n\
             in_set = { column = \"s\", values = [\"ok\"] }\n[[checks]]\n\
             between = { column = \"v\", min = 0, max = 998 }\n",
            "t.toml",
        )
        .unwrap();
        let gathered = run("t", df.clone().lazy(), &rules, &Sources::new()).unwrap();
        let rows = |c: &CheckResult| c.samples.iter().map(|r| r.row).collect::<Vec<_>>();
        assert_eq!(rows(&gathered.checks[0]), [50_000, 100_000, 150_000]);
        assert_eq!(rows(&gathered.checks[1]), [170_001, 340_002]);
        assert_eq!(rows(&gathered.checks[2]), [1_000, 2_000, 3_000]);
        let first = &gathered.checks[0].samples[0].values;
        assert_eq!(first["id"].as_deref(), Some("49999"));
        assert_eq!(first["v"], None);
        // The same samples as the pass that reads them after the counts (another engine's).
        let measured = Measured {
            rows: n as u64,
            scans: 1,
            values: gathered.checks.iter().map(|c| (c.observed, None)).collect(),
            ..Default::default()
        };
        let read = run_measured("t", df.lazy(), &rules, &Sources::new(), measured, Instant::now()).unwrap();
        for (a, b) in gathered.checks.iter().zip(&read.checks) {
            assert_eq!(a.failing_rows, b.failing_rows, "{}", a.id);
            assert_eq!(a.samples, b.samples, "{}", a.id);
        }
    }
}
