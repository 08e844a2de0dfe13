//! Datasets as Polars LazyFrames, Polars SQL, and Polars' plans.

use std::num::NonZeroUsize;

use polars::io::cloud::CloudOptions;
use polars::prelude::*;
use polars_buffer::Buffer;

use crate::source::{CsvDialect, Dataset, Format};

/// Rows read to infer the types of CSV and NDJSON columns.
pub const INFER_SCHEMA_ROWS: usize = 10_000;

/// A lazy scan of `ds`: nothing is read until the frame is collected (the schema of a
/// CSV or NDJSON source is inferred from its first rows when first asked for).
pub fn scan(ds: &Dataset) -> PolarsResult<LazyFrame> {
    let paths: Buffer<PlRefPath> = ds.files.iter().map(|f| PlRefPath::new(f.as_str())).collect();
    let cloud = ds.s3().map(|c| CloudOptions::default().with_aws(c.object_store_options()));
    match ds.format {
        Format::Csv(d) => LazyCsvReader::new_paths(paths)
            .with_separator(d.delimiter)
            .with_has_header(d.has_header)
            .with_quote_char(Some(d.quote))
            .with_try_parse_dates(true)
            .with_infer_schema_length(Some(INFER_SCHEMA_ROWS))
            .with_cloud_options(cloud)
            .with_glob(false)
            .finish(),
        Format::Parquet => LazyFrame::scan_parquet_sources(
            ScanSources::Paths(paths),
            ScanArgsParquet { cloud_options: cloud, glob: false, ..Default::default() },
        ),
        Format::NdJson => LazyJsonLineReader::new_paths(paths)
            .with_infer_schema_length(NonZeroUsize::new(INFER_SCHEMA_ROWS))
            .with_cloud_options(cloud)
            .finish(),
        Format::Ipc => LazyFrame::scan_ipc_sources(
            ScanSources::Paths(paths),
            Default::default(),
            UnifiedScanArgs { cloud_options: cloud, glob: false, ..Default::default() },
        ),
    }
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
        .map_parse_options(|o| o.with_separator(d.delimiter).with_quote_char(Some(d.quote)))
        .into_reader_with_file_handle(std::io::Cursor::new(bytes))
        .finish()
}

/// Runs a lazy plan to a frame. The streaming engine runs scans, filters and
/// aggregations in bounded memory and is Polars' fastest for these plans.
pub fn collect(lf: LazyFrame) -> PolarsResult<DataFrame> {
    match lf.collect_with_engine(Engine::Streaming)? {
        polars_core::query_result::QueryResult::Single(df) => Ok(df),
        polars_core::query_result::QueryResult::Multiple(_) => {
            Err(polars_err!(ComputeError: "query returned several results"))
        }
    }
}

/// A Polars SQL context holding every dataset as a table.
pub fn sql_context(datasets: &[Dataset]) -> PolarsResult<polars::sql::SQLContext> {
    let ctx = polars::sql::SQLContext::new();
    for ds in datasets {
        ctx.register(&ds.name, scan(ds)?);
    }
    Ok(ctx)
}
