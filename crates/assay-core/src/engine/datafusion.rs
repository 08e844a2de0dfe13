//! Datasets as DataFusion tables over the same files Polars reads (not a copy).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::engine::{Error, Result};
use crate::source::{s3, CsvDialect, Dataset, Format};

/// Streams `df` into one Parquet file at `path`; returns the rows written.
pub async fn write_parquet(
    df: datafusion::prelude::DataFrame,
    path: &std::path::Path,
) -> datafusion::error::Result<u64> {
    let written = df
        .write_parquet(
            &path.to_string_lossy(),
            datafusion::dataframe::DataFrameWriteOptions::new().with_single_file_output(true),
            None,
        )
        .await?;
    Ok(written
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::UInt64Array>())
        .map(|a| a.value(0))
        .unwrap_or(0))
}

/// A session with information_schema on, so `SHOW TABLES` and friends work.
pub fn new_context() -> SessionContext {
    let config = SessionConfig::new().with_information_schema(true);
    SessionContext::new_with_config(config)
}

/// Registers `ds` as a table in `ctx`. `schema` is the schema Polars inferred for text
/// formats, so both engines type CSV and NDJSON columns the same way; Parquet and IPC
/// carry their own schema.
pub async fn register(ctx: &SessionContext, ds: &Dataset, schema: Option<SchemaRef>) -> Result<()> {
    if let Some(config) = ds.s3() {
        let mut buckets: Vec<String> =
            ds.files.iter().filter_map(|f| s3::split_url(f).ok().map(|(b, _)| b)).collect();
        buckets.dedup();
        for bucket in buckets {
            let url = url::Url::parse(&format!("s3://{bucket}"))
                .map_err(|e| Error::refused(format!("s3://{bucket}: {e}")))?;
            ctx.register_object_store(&url, config.store(&bucket)?);
        }
    }
    let format: Arc<dyn FileFormat> = match ds.format {
        Format::Csv(d) if d.decimal_comma => {
            return Err(Error::refused(format!(
                "{}: numbers with a decimal comma (--decimal-comma) are read by Polars only: \
                 use `--engine polars` (or auto)",
                ds.spec
            )))
        }
        Format::Csv(d) => Arc::new(
            CsvFormat::default()
                .with_delimiter(d.delimiter)
                .with_has_header(d.has_header)
                .with_quote(d.quote)
                .with_null_regex(null_regex(&d)),
        ),
        Format::Parquet => Arc::new(ParquetFormat::default()),
        Format::NdJson => Arc::new(JsonFormat::default()),
        Format::Ipc => Arc::new(ArrowFormat),
    };
    // The files were listed when the dataset was opened; match any extension.
    let options = ListingOptions::new(format).with_file_extension("");
    let urls = ds
        .files
        .iter()
        .map(|f| {
            let target = if crate::source::Place::of(f).is_s3() {
                f.clone()
            } else {
                std::path::absolute(f).map(|p| p.display().to_string()).unwrap_or_else(|_| f.clone())
            };
            ListingTableUrl::parse(&target).map_err(|e| Error::refused(format!("{f}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options);
    config = match (schema, ds.format) {
        (Some(schema), Format::Csv(_) | Format::NdJson) => config.with_schema(schema),
        _ => config.infer_schema(&ctx.state()).await.map_err(|e| {
            // A damaged local file is named with what is wrong with it.
            let diagnosis = match (ds.format, &ds.location) {
                (Format::Parquet, crate::source::Location::Local) => {
                    ds.files.iter().find_map(|f| crate::source::file_diagnose::parquet(f))
                }
                (Format::Ipc, crate::source::Location::Local) => {
                    ds.files.iter().find_map(|f| crate::source::file_diagnose::ipc(f))
                }
                _ => None,
            };
            let text = e.find_root().to_string().replace("Parquet error: Parquet error: ", "Parquet error: ");
            match diagnosis {
                Some(d) => Error::bad_data(d),
                None => Error::said_datafusion(&e, format!("{}: {}", ds.spec, super::first_line(&text))),
            }
        })?,
    };
    let table =
        ListingTable::try_new(config).map_err(|e| Error::said_datafusion(&e, format!("{}: {e}", ds.spec)))?;
    ctx.register_table(ds.name.as_str(), Arc::new(table))
        .map_err(|e| Error::failed(format!("{}: {e}", ds.spec)))?;
    Ok(())
}

/// The pattern of the fields `d` reads as null, for DataFusion's CSV reader: the empty
/// field and each configured value, matched whole (`None`: only the empty field, which is
/// arrow's own rule).
pub fn null_regex(d: &CsvDialect) -> Option<String> {
    if d.null_values.is_empty() {
        return None;
    }
    let values: Vec<String> = d.null_values.iter().map(|v| regex::escape(v)).collect();
    Some(format!("^(?:|{})$", values.join("|")))
}

/// `query` as DataFusion runs it: with the arithmetic rules both engines follow
/// (`sql::standard`: `/` in double precision, averages of decimals), the types of
/// the tables it reads taken from `ctx`.
pub async fn rewrite(ctx: &SessionContext, query: &str) -> String {
    let Ok(statement) = crate::sql::parse(query) else { return query.to_string() };
    let mut catalog = std::collections::HashMap::new();
    for t in crate::sql::tables_read(&statement) {
        if let Ok(table) = ctx.table_provider(t.as_str()).await {
            let columns = table
                .schema()
                .fields()
                .iter()
                .map(|f| crate::sql::standard::ColumnInfo {
                    name: f.name().clone(),
                    scale: match f.data_type() {
                        arrow::datatypes::DataType::Decimal128(_, s)
                        | arrow::datatypes::DataType::Decimal256(_, s) => u32::try_from(*s).ok(),
                        _ => None,
                    },
                })
                .collect();
            catalog.insert(t.to_lowercase(), columns);
        }
    }
    let columns = |t: &str| catalog.get(&t.to_lowercase()).cloned();
    crate::sql::for_datafusion(query, &columns).unwrap_or_else(|| query.to_string())
}
