//! `assay-baseline`: the engines of assay's versions driven directly, without assay's
//! sniffing, checks, atomic publication or fsync, beside which the benchmarks measure
//! `assay` (bench/sql.sh, bench/load.sh, BENCHMARKS.md). Not part of the product.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use polars::prelude::*;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "assay-baseline", about = "Polars and DataFusion of assay's versions, driven directly")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// CSV to Parquet by `scan_csv` + `sink_parquet`, the `--datetime` columns read as
    /// timestamps (bench/load.sh, beside `assay export`).
    CsvToParquet {
        input: String,
        output: String,
        #[arg(long, value_delimiter = ',')]
        datetime: Vec<String>,
        /// Read the `--datetime` columns as text and parse them after the scan with this
        /// strftime format (`str.to_datetime`), instead of in the CSV reader.
        #[arg(long)]
        parse_after: Option<String>,
    },
    /// SQL over Parquet files on one engine driven directly, the result printed as CSV
    /// (bench/sql.sh, beside `assay sql`). For Polars the query is rewritten as assay
    /// hands it over; DataFusion runs in a default session.
    Sql {
        query: String,
        /// `PATH` (the table is the file's stem) or `NAME=PATH`.
        #[arg(short = 't', long = "table")]
        tables: Vec<String>,
        #[arg(long, value_enum, default_value = "polars")]
        engine: Engine,
        /// Polars' in-memory engine instead of the streaming one assay uses.
        #[arg(long)]
        in_memory: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Engine {
    Polars,
    Datafusion,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::CsvToParquet { input, output, datetime, parse_after } => {
            csv_to_parquet(&input, &output, &datetime, parse_after.as_deref())
        }
        Command::Sql { query, tables, engine: Engine::Polars, in_memory } => {
            polars_sql(&query, &tables, !in_memory)
        }
        Command::Sql { query, tables, engine: Engine::Datafusion, .. } => datafusion_sql(&query, &tables),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("assay-baseline: {e}");
            ExitCode::from(3)
        }
    }
}

/// `scan_csv(input)` (the `datetime` columns as microsecond timestamps, as assay infers
/// them: parsed by the CSV reader, or after the scan with the strftime format
/// `parse_after`) to `sink_parquet(output)` with its defaults, written in place.
fn csv_to_parquet(
    input: &str,
    output: &str,
    datetime: &[String],
    parse_after: Option<&str>,
) -> Result<(), String> {
    let failed = |e: PolarsError| format!("{input} -> {output}: {e}");
    let timestamp = DataType::Datetime(TimeUnit::Microseconds, None);
    let read_as = if parse_after.is_some() { DataType::String } else { timestamp.clone() };
    let overrides: Schema = datetime.iter().map(|c| Field::new(c.as_str().into(), read_as.clone())).collect();
    let mut lf = LazyCsvReader::new(PlRefPath::new(input))
        .with_dtype_overwrite(Some(Arc::new(overrides)))
        .finish()
        .map_err(failed)?;
    if let Some(format) = parse_after {
        lf = lf.with_columns(
            datetime
                .iter()
                .map(|c| assay::engine::polars::parse_text(c.as_str().into(), format, &timestamp))
                .collect::<Vec<_>>(),
        );
    }
    let target = SinkDestination::File { target: SinkTarget::Path(PlRefPath::new(output)) };
    let format = FileWriteFormat::Parquet(Arc::new(ParquetWriteOptions::default()));
    lf.sink(target, format, UnifiedSinkArgs::default())
        .and_then(|lf| lf.collect_with_engine(polars::prelude::Engine::Streaming))
        .map_err(failed)?;
    Ok(())
}

/// A `-t` argument: `NAME=PATH`, or `PATH` named by its file's stem.
fn table(t: &str) -> (String, &str) {
    match t.split_once('=') {
        Some((name, path)) => (name.to_string(), path),
        None => {
            let stem = std::path::Path::new(t).file_stem().and_then(|s| s.to_str()).unwrap_or(t);
            (stem.to_string(), t)
        }
    }
}

/// `query` (as assay rewrites it for Polars) over Parquet `tables`, collected on the
/// streaming or the in-memory engine, printed as CSV.
fn polars_sql(query: &str, tables: &[String], streaming: bool) -> Result<(), String> {
    let failed = |e: PolarsError| e.to_string();
    let mut frames = Vec::new();
    for t in tables {
        let (name, path) = table(t);
        frames
            .push((name, LazyFrame::scan_parquet(PlRefPath::new(path), Default::default()).map_err(failed)?));
    }
    let lf = assay::engine::polars::sql(frames, query).map_err(failed)?;
    let mut df = if streaming { assay::engine::polars::collect(lf) } else { lf.collect() }.map_err(failed)?;
    CsvWriter::new(std::io::stdout().lock()).finish(&mut df).map_err(failed)
}

/// `query` over Parquet `tables` in a default DataFusion session, printed as CSV.
fn datafusion_sql(query: &str, tables: &[String]) -> Result<(), String> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let table = runtime.block_on(async {
        let failed = |e: datafusion::error::DataFusionError| e.to_string();
        let ctx = datafusion::prelude::SessionContext::new();
        for t in tables {
            let (name, path) = table(t);
            ctx.register_parquet(name.as_str(), path, Default::default()).await.map_err(failed)?;
        }
        let df = ctx.sql(query).await.map_err(failed)?;
        let schema = df.schema().inner().clone();
        let batches = df.collect().await.map_err(failed)?;
        Ok::<_, String>(assay::Table { schema, batches })
    })?;
    let mut out = std::io::stdout().lock();
    assay::output::write_rows(&mut out, &table, assay::output::RowFormat::Csv, usize::MAX)
        .map_err(|e| e.to_string())
}
