//! Datasets as Polars LazyFrames, Polars SQL, and Polars' plans.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use polars::io::cloud::CloudOptions;
use polars::prelude::*;
use polars_buffer::Buffer;

use crate::source::{CsvDialect, Dataset, Format};

/// Polars' warnings (a deprecation notice for every `DATE '…'` literal of Polars SQL,
/// among others) go to the log file instead of the user's terminal.
pub fn log_warnings() {
    fn log(message: &str, kind: polars_core::error::PolarsWarning) {
        tracing::info!("polars {kind:?}: {}", message.lines().next().unwrap_or(message));
    }
    polars_core::error::set_warning_function(log);
}

/// Rows read to infer the types of CSV and NDJSON columns.
pub const INFER_SCHEMA_ROWS: usize = 10_000;

/// Schemas inferred for text sources, by what was read: every page, count and query of
/// the workbench scans again, and inference is not free.
static INFERRED: Mutex<Option<HashMap<String, Inferred>>> = Mutex::new(None);

/// A text source's inferred schema, and the date columns read as text and parsed after
/// the scan.
#[derive(Clone)]
struct Inferred {
    schema: SchemaRef,
    parse_after: Vec<ParseAfter>,
}

/// A CSV date or datetime column read as text and parsed after the scan with the format
/// found for it: a CSV-to-Parquet export with Polars' CSV reader parsing the datetimes took 27.8 s,
/// 9.8 s with `str.to_datetime` and the format given (BENCHMARKS.md, "CSV to Parquet
/// export").
#[derive(Clone)]
struct ParseAfter {
    name: PlSmallStr,
    format: &'static str,
    dtype: DataType,
}

impl ParseAfter {
    fn expr(&self) -> Expr {
        parse_text(self.name.clone(), self.format, &self.dtype)
    }
}

/// The text column `name` parsed with the strftime `format` as a date, or as a datetime
/// without a time zone when `dtype` is one; values that do not parse become null, as in
/// the CSV reader.
pub fn parse_text(name: PlSmallStr, format: &str, dtype: &DataType) -> Expr {
    let options = StrptimeOptions { format: Some(format.into()), strict: false, exact: true, cache: false };
    let c = col(name.clone()).str();
    match dtype {
        DataType::Datetime(unit, None) => c.to_datetime(Some(*unit), None, options, lit("raise")),
        _ => c.to_date(options),
    }
    .alias(name)
}

/// Formats tried for a date column (the first that parses a sample exactly as Polars'
/// own inference does is used).
const DATE_FORMATS: [&str; 6] = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"];
/// Formats tried for a datetime column without a time zone.
const DATETIME_FORMATS: [&str; 8] = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
];

/// What identifies an inferred schema: the format and the files, with each local file's
/// size and modification time (a file changed on disk is inferred again).
fn inference_key(ds: &Dataset) -> String {
    let mut key = format!("{:?}", ds.format);
    for f in &ds.files {
        let stamp = std::fs::metadata(f).ok().map(|m| (m.len(), m.modified().ok()));
        key.push_str(&format!("|{f}:{stamp:?}"));
    }
    key
}

/// A lazy scan of `ds`: nothing is read until the frame is collected. The schema of a
/// CSV or NDJSON source is inferred from its first rows once per process, then reused.
pub fn scan(ds: &Dataset) -> PolarsResult<LazyFrame> {
    if !matches!(ds.format, Format::Csv(_) | Format::NdJson) {
        return scan_with(ds, None, true);
    }
    let key = inference_key(ds);
    // Held while inferring, so many scans of a new dataset infer once, not each.
    let mut cache = INFERRED.lock().unwrap_or_else(|e| e.into_inner());
    let map = cache.get_or_insert_with(HashMap::new);
    if let Some(inferred) = map.get(&key) {
        return scan_inferred(ds, inferred);
    }
    let inferred = match ds.format {
        Format::Csv(_) => infer_csv_schema(ds)?,
        _ => Inferred { schema: scan_with(ds, None, true)?.collect_schema()?, parse_after: Vec::new() },
    };
    map.insert(key, inferred.clone());
    scan_inferred(ds, &inferred)
}

/// The scan of `ds` with its inferred schema, its `parse_after` columns read as text and
/// parsed by a `with_columns` over the scan (the frame's schema is the inferred one).
fn scan_inferred(ds: &Dataset, inferred: &Inferred) -> PolarsResult<LazyFrame> {
    if inferred.parse_after.is_empty() {
        return scan_with(ds, Some(inferred.schema.clone()), true);
    }
    let mut read = (*inferred.schema).clone();
    for p in &inferred.parse_after {
        read.with_column(p.name.clone(), DataType::String);
    }
    let lf = scan_with(ds, Some(Arc::new(read)), true)?;
    Ok(lf.with_columns(inferred.parse_after.iter().map(ParseAfter::expr).collect::<Vec<_>>()))
}

/// A CSV schema as Polars' `try_parse_dates` inference gives it, ten times faster.
///
/// Polars tries every date pattern on every string value it infers from (about 26 µs a
/// row: 0.26 s for `INFER_SCHEMA_ROWS`, on any file, before the first screen). Instead:
/// infer without dates (13 ms), then parse only the string columns of the same rows that
/// look like dates, as a date, datetime or UTC datetime (from the first value's shape),
/// with the format inferred from the first value: a column
/// becomes a date or datetime when every non-null value parses, as with Polars.
fn infer_csv_schema(ds: &Dataset) -> PolarsResult<Inferred> {
    let plain = scan_with(ds, None, false)?.collect_schema()?;
    let strings: Vec<PlSmallStr> =
        plain.iter().filter(|(_, dt)| **dt == DataType::String).map(|(n, _)| n.clone()).collect();
    if strings.is_empty() {
        return Ok(Inferred { schema: plain, parse_after: Vec::new() });
    }
    let mut parse_after = Vec::new();
    let rows = IdxSize::try_from(INFER_SCHEMA_ROWS).unwrap_or(IdxSize::MAX);
    // Streaming stops reading after the first rows (the in-memory engine read the whole
    // file here).
    let sample = collect(
        scan_with(ds, Some(plain.clone()), false)?
            .limit(rows)
            .select(strings.iter().map(|n| col(n.clone())).collect::<Vec<_>>()),
    )?;
    let mut schema = (*plain).clone();
    let options = StrptimeOptions { format: None, strict: false, exact: true, cache: true };
    // Every date format Polars infers starts with three numbers split by - / or . : a
    // vectorised regex rules out the other columns before any (slow) date parsing.
    let shape = lit(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}");
    for name in &strings {
        let column = sample.column(name)?;
        let nulls = column.null_count();
        if nulls == column.len() {
            continue;
        }
        let one = DataFrame::new(column.len(), vec![column.clone()])?;
        let c = || col(name.clone()).str();
        let shaped = one.clone().lazy().select([c().contains(shape.clone(), true).not().sum()]).collect()?;
        if shaped.column(name)?.get(0)?.extract::<u64>() != Some(0) {
            continue;
        }
        // The first value says which to try: a time part makes a datetime, an offset
        // (`Z`, `+02:00`) a UTC datetime, as in Polars' own inference.
        let first = column.as_materialized_series().str()?.iter().flatten().next().unwrap_or("").to_string();
        let timed = first.contains(':');
        let zoned = timed && (first.ends_with('Z') || first.rfind(['+', '-']).is_some_and(|i| i > 10));
        let attempt = match (timed, zoned) {
            (false, _) => c().to_date(options.clone()),
            (true, false) => {
                c().to_datetime(Some(TimeUnit::Microseconds), None, options.clone(), lit("raise"))
            }
            (true, true) => c().to_datetime(
                Some(TimeUnit::Microseconds),
                Some(TimeZone::UTC),
                options.clone(),
                lit("raise"),
            ),
        };
        // A first value with no known date format fails: not a date.
        let Ok(parsed) = one.clone().lazy().select([attempt]).collect() else { continue };
        let parsed = parsed.column(name)?;
        if parsed.null_count() == nulls {
            schema.with_column(name.clone(), parsed.dtype().clone());
            // A format that reads the sample exactly as Polars' inference did lets the
            // column be parsed after the scan; else the CSV reader parses it.
            let formats: &[&'static str] = match (timed, zoned) {
                (false, _) => &DATE_FORMATS,
                (true, false) => &DATETIME_FORMATS,
                (true, true) => &[],
            };
            for format in formats {
                let candidate = ParseAfter { name: name.clone(), format, dtype: parsed.dtype().clone() };
                let same = one.clone().lazy().select([candidate.expr()]).collect().ok().is_some_and(|df| {
                    df.column(name).is_ok_and(|c| c.dtype() == parsed.dtype() && c.equals_missing(parsed))
                });
                if same {
                    parse_after.push(candidate);
                    break;
                }
            }
        }
    }
    Ok(Inferred { schema: Arc::new(schema), parse_after })
}

/// Whether local CSV files are read through Polars' chunked (async) reader instead of a
/// memory map: `assay export` sets it (see `read_csv_in_chunks`).
static CSV_IN_CHUNKS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, local CSV files are read in chunks (`file://` sources, which Polars reads
/// like a bucket's objects: `POLARS_CSV_CHUNK_SIZE` bytes at a time,
/// `POLARS_CSV_CHUNK_PREFETCH_LIMIT` in flight) instead of through a memory map that
/// keeps every page read resident until the scan ends.
pub fn read_csv_in_chunks() {
    CSV_IN_CHUNKS.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn scan_with(ds: &Dataset, schema: Option<SchemaRef>, parse_dates: bool) -> PolarsResult<LazyFrame> {
    let chunked = matches!(ds.format, Format::Csv(_))
        && ds.s3().is_none()
        && CSV_IN_CHUNKS.load(std::sync::atomic::Ordering::Relaxed);
    let paths: Buffer<PlRefPath> = ds
        .files
        .iter()
        .map(|f| match chunked.then(|| std::path::absolute(f.as_str())) {
            Some(Ok(abs)) => PlRefPath::new(format!("file://{}", abs.display()).as_str()),
            _ => PlRefPath::new(f.as_str()),
        })
        .collect();
    let cloud = ds.s3().map(|c| CloudOptions::default().with_aws(c.object_store_options()));
    if let (Format::Csv(d), None, Some(first)) = (ds.format, ds.s3(), paths.first()) {
        CSV_SCANS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(first.to_string(), (ds.files.clone(), d));
    }
    match ds.format {
        Format::Csv(d) => LazyCsvReader::new_paths(paths)
            .with_separator(d.delimiter)
            .with_has_header(d.has_header)
            .with_quote_char(d.quote_char())
            .with_null_values(Some(nulls(&d)))
            .with_decimal_comma(d.decimal_comma)
            .with_try_parse_dates(parse_dates)
            .with_infer_schema_length(Some(INFER_SCHEMA_ROWS))
            .with_schema(schema)
            .with_cloud_options(cloud)
            .with_glob(false)
            .finish(),
        Format::Parquet => LazyFrame::scan_parquet_sources(
            ScanSources::Paths(paths),
            ScanArgsParquet { cloud_options: cloud, glob: false, ..Default::default() },
        ),
        Format::NdJson => LazyJsonLineReader::new_paths(paths)
            .with_infer_schema_length(NonZeroUsize::new(INFER_SCHEMA_ROWS))
            .with_schema(schema)
            .with_cloud_options(cloud)
            .finish(),
        Format::Ipc => LazyFrame::scan_ipc_sources(
            ScanSources::Paths(paths),
            Default::default(),
            UnifiedScanArgs { cloud_options: cloud, glob: false, ..Default::default() },
        ),
    }
}

/// One meaning of empty in CSV files (docs/sql.md): a field with nothing in it is null,
/// quoted (`""`) or not, as DataFusion and DuckDB read it (Polars alone would read `""`
/// as an empty string, and a numeric column holding one as text), and so is a field
/// holding one of the dialect's configured null values.
fn nulls(d: &CsvDialect) -> NullValues {
    if d.null_values.is_empty() {
        return NullValues::AllColumnsSingle(PlSmallStr::EMPTY);
    }
    let values =
        std::iter::once(PlSmallStr::EMPTY).chain(d.null_values.iter().map(|v| PlSmallStr::from(v.as_str())));
    NullValues::AllColumns(values.collect())
}

/// Parses `bytes`, whole data rows of a CSV file without its header (cut out with a
/// row index), as the lazy scan of the same file would: same dialect, same `schema`.
pub fn read_csv_rows(bytes: Vec<u8>, d: &CsvDialect, schema: SchemaRef) -> PolarsResult<DataFrame> {
    if bytes.is_empty() {
        return Ok(DataFrame::empty_with_schema(&schema));
    }
    CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(schema))
        .with_raise_if_empty(false)
        .map_parse_options(|o| {
            o.with_separator(d.delimiter)
                .with_quote_char(d.quote_char())
                .with_null_values(Some(nulls(d)))
                .with_decimal_comma(d.decimal_comma)
        })
        .into_reader_with_file_handle(std::io::Cursor::new(bytes))
        .finish()
}

/// The local CSV datasets scanned in this process, by the first path their scans name
/// (as Polars shows it in a plan): their files and dialect.
static CSV_SCANS: Mutex<Option<HashMap<String, CsvScan>>> = Mutex::new(None);
/// A local CSV dataset's files and dialect.
type CsvScan = (Vec<String>, CsvDialect);
/// The local CSV files `lf` reads whole (not a pushed-down slice, as a page or `head`
/// reads) that were not found well-formed yet in this process. A plan that only counts
/// rows (a "FAST COUNT", or a scan of no columns) reads no field and is always one.
fn unverified_csv(lf: &LazyFrame) -> PolarsResult<Vec<(String, CsvDialect)>> {
    let scans: Vec<(String, CsvScan)> = {
        let guard = CSV_SCANS.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(map) if !map.is_empty() => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => return Ok(Vec::new()),
        }
    };
    let plan = lf.clone().describe_optimized_plan()?;
    let counts = plan.contains("FAST COUNT") || plan.contains("PROJECT 0/");
    if !counts && plan.contains("SLICE: Positive") {
        return Ok(Vec::new());
    }
    Ok(scans
        .into_iter()
        .filter(|(first, _)| plan.contains(&format!("[{first}")))
        .flat_map(|(_, (files, dialect))| files.into_iter().map(move |f| (f, dialect)))
        .filter(|(f, _)| !crate::source::csv_count::is_verified(f))
        .collect())
}

/// Runs `run` (which executes `lf`) while a second thread checks the local CSV files it
/// reads whole, once per file version (`csv_count::verify`): a malformed file is refused
/// naming its line, as every command refuses it, instead of read leniently. The check
/// costs 0.32 s per GB, beside the engine rather than before it.
pub fn verified<T>(lf: &LazyFrame, run: impl FnOnce() -> PolarsResult<T>) -> PolarsResult<T> {
    let files = unverified_csv(lf)?;
    if files.is_empty() {
        return run();
    }
    std::thread::scope(|scope| {
        let checker =
            scope.spawn(|| files.iter().try_for_each(|(f, d)| crate::source::csv_count::verify(f, d)));
        let result = run();
        match checker.join() {
            // An I/O error of kind InvalidData: the file's fault, told apart from a
            // writer's failure by whoever runs the plan (`sink::write_failed`).
            Ok(Err(e)) => {
                Err(PolarsError::from(std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())))
            }
            _ => result,
        }
    })
}

/// `lf` run on the streaming engine, its CSV input checked (`verified`).
pub fn streaming(lf: LazyFrame) -> PolarsResult<polars_core::query_result::QueryResult> {
    let probe = lf.clone();
    verified(&probe, move || lf.collect_with_engine(Engine::Streaming))
}

/// Runs a lazy plan to a frame. The streaming engine runs scans, filters and
/// aggregations in bounded memory and is Polars' fastest for these plans.
pub fn collect(lf: LazyFrame) -> PolarsResult<DataFrame> {
    match streaming(lf)? {
        polars_core::query_result::QueryResult::Single(df) => Ok(df),
        polars_core::query_result::QueryResult::Multiple(_) => {
            Err(polars_err!(ComputeError: "query returned several results"))
        }
    }
}

/// A schema's columns as the SQL rewrites need them (`sql::standard`).
pub fn column_info(schema: &Schema) -> Vec<crate::sql::standard::ColumnInfo> {
    schema
        .iter()
        .map(|(n, dt)| crate::sql::standard::ColumnInfo {
            name: n.to_string(),
            scale: match dt {
                DataType::Decimal(_, s) => u32::try_from(*s).ok(),
                _ => None,
            },
        })
        .collect()
}

/// A SQL expression over a frame of `schema` (a recipe's `filter` or `derive`, an
/// `expression` check) as Polars runs it, under the rules queries follow
/// (`standard::rewrite_expr`: `/` in double precision, exact decimal products, …). Should
/// the rewritten text fail where the original plans, the original is used.
pub fn sql_expr(text: &str, schema: &Schema) -> PolarsResult<Expr> {
    if let Some(rewritten) = crate::sql::standard::rewrite_expr(text, &column_info(schema)) {
        if let Ok(e) = polars::sql::sql_expr(&rewritten) {
            return Ok(e);
        }
    }
    polars::sql::sql_expr(text)
}

/// `query` in Polars SQL over every dataset as a table.
pub fn sql_over(datasets: &[Dataset], query: &str) -> PolarsResult<LazyFrame> {
    let mut tables = Vec::with_capacity(datasets.len());
    for ds in datasets {
        tables.push((ds.name.clone(), scan(ds)?));
    }
    sql(tables, query)
}

/// `query` in Polars SQL over `tables`, first rewritten where Polars plans a construct
/// badly and an equivalent one well (`sql::for_polars`: `IN (subquery)` as a
/// semi join, short `IN` lists as equalities).
pub fn sql<N: AsRef<str>>(
    tables: impl IntoIterator<Item = (N, LazyFrame)>,
    query: &str,
) -> PolarsResult<LazyFrame> {
    let mut ctx = polars::sql::SQLContext::new();
    let mut frames: Vec<(String, LazyFrame)> = Vec::new();
    for (name, lf) in tables {
        ctx.register(name.as_ref(), lf.clone());
        frames.push((name.as_ref().to_string(), lf));
    }
    let columns = |table: &str| catalog_entry(&frames, table);
    let rewritten = crate::sql::for_polars(query, &columns);
    ctx.execute(rewritten.as_deref().unwrap_or(query))
}

/// The columns of `table` among `frames` (exact name first, then any case).
fn catalog_entry(
    frames: &[(String, LazyFrame)],
    table: &str,
) -> Option<Vec<crate::sql::standard::ColumnInfo>> {
    let (_, lf) = frames
        .iter()
        .find(|(n, _)| n == table)
        .or_else(|| frames.iter().find(|(n, _)| n.eq_ignore_ascii_case(table)))?;
    let schema = lf.clone().collect_schema().ok()?;
    Some(column_info(&schema))
}

/// The correlated subqueries of `statement` over `datasets` that Polars runs only once
/// assay has turned them into joins (`standard::correlated_subqueries`).
pub fn correlated_subqueries(
    datasets: &[Dataset],
    statement: &::datafusion::sql::sqlparser::ast::Statement,
) -> PolarsResult<usize> {
    let mut frames = Vec::with_capacity(datasets.len());
    for ds in datasets {
        frames.push((ds.name.clone(), scan(ds)?));
    }
    let columns = |table: &str| catalog_entry(&frames, table);
    Ok(crate::sql::standard::correlated_subqueries(statement, &columns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{CsvDialect, Location};

    /// Our inference agrees with Polars' own `try_parse_dates` on the kinds of text
    /// columns date detection has to get right.
    #[test]
    fn csv_schema_matches_polars_date_inference() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("d,dt,dt_t,frac,tz,dirty,words,empty,n,x,slash,dots\n");
        for i in 0..3000 {
            let dirty = if i == 2500 { "tbd".to_string() } else { format!("2024-02-{:02}", i % 28 + 1) };
            text.push_str(&format!(
                "2024-01-{:02},2024-01-01 10:{:02}:00,2024-01-01T10:{:02}:05,2024-01-01 10:00:00.{:03},\
                 2024-01-01T10:00:00+00:00,{dirty},word {i},,{i},{i}.5,2024/01/{:02},{:02}.01.2024\n",
                i % 28 + 1,
                i % 60,
                i % 60,
                i % 1000,
                i % 28 + 1,
                i % 28 + 1,
            ));
        }
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let ds = Dataset {
            name: "t".into(),
            spec: path.display().to_string(),
            files: vec![path.display().to_string()],
            format: Format::Csv(CsvDialect::default()),
            location: Location::Local,
        };
        let ours = infer_csv_schema(&ds).unwrap().schema;
        let polars = scan_with(&ds, None, true).unwrap().collect_schema().unwrap();
        assert_eq!(ours, polars);
        // The date columns parsed after the scan give the frame Polars' reader gives.
        let mine = collect(scan(&ds).unwrap()).unwrap();
        let theirs = collect(scan_with(&ds, None, true).unwrap()).unwrap();
        assert!(mine.equals_missing(&theirs), "{mine}\n{theirs}");
        let parsed: Vec<String> =
            infer_csv_schema(&ds).unwrap().parse_after.iter().map(|p| p.name.to_string()).collect();
        assert!(parsed.len() >= 5, "{parsed:?}");
        assert_eq!(ours.get("d"), Some(&DataType::Date));
        assert_eq!(ours.get("dirty"), Some(&DataType::String));
    }
}
