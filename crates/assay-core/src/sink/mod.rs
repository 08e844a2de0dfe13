//! Outputs: a computed frame written to a local file, atomically. The file is written
//! under a temporary name in the same folder and renamed over the destination only when
//! whole, so an error (or a kill) mid-way leaves the previous file as it was and no
//! partial one. The format comes from the extension: `.parquet`, `.csv`, `.tsv`,
//! `.ndjson`/`.jsonl`, `.arrow`/`.ipc`/`.feather`.
//!
//! Frames are written by Polars' streaming sinks, so outputs larger than memory take
//! bounded memory. Database loads are in `sqlite` and `postgres`.

pub mod s3;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use crate::error::io_error;
use crate::source::Format;
use polars::lazy::dsl::file_provider;

mod staged;
mod watch;

pub(crate) use staged::{folder_refused, hidden_beside};
pub use staged::{write_atomic, write_text, Staged, StagedTree, COMPANIONS};
pub use watch::Watch;

crate::layer_error! {
    /// What the sink room says about an output.
    pub enum Error {
        /// An output that cannot be written as asked (it exists, a bad path, format or
        /// option): exit 2.
        Refused(refused) = 2,
        /// Writing failed underway (a full disk, a store's request): exit 3.
        WriteFailed(write_failed) = 3,
        ;
        Engine(crate::engine::Error),
        Source(crate::source::Error),
        Ground(crate::error::Error),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Refuses `dest` when it exists (unless `overwrite`) or is one of `inputs`; its
/// extension must name a format.
pub fn check_destination(dest: &str, inputs: &[String], overwrite: bool) -> Result<()> {
    check_overwrite(dest, inputs, overwrite)?;
    output_format(dest).map(|_| ())
}

/// Refuses `dest` when it exists (unless `overwrite`) or is one of `inputs`.
pub fn check_overwrite(dest: &str, inputs: &[String], overwrite: bool) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::metadata(dest) {
        let kind = meta.file_type();
        // A pipe, a terminal or a device (`/dev/stdout`, `>(…)`): an output is built
        // under a hidden name beside it and renamed over it, which would replace the
        // device node itself.
        if kind.is_fifo() || kind.is_socket() || kind.is_char_device() || kind.is_block_device() {
            return Err(Error::refused(format!(
                "{dest}: a pipe or a device, not a file: an output is written whole under a hidden \
                 name and renamed when complete; write to a file (or stream rows with \
                 `assay sql \"SELECT * FROM t\" -t DATA --format csv`)"
            )));
        }
        if kind.is_dir() && !overwrite {
            return Err(Error::refused(format!(
                "{dest}: already exists, a folder (give --overwrite to replace a partitioned \
                 output, or name a file inside it, e.g. {}/out.parquet)",
                dest.trim_end_matches('/')
            )));
        }
    }
    let target = std::fs::canonicalize(dest).ok();
    if let Some(target) = &target {
        if inputs.iter().filter_map(|i| std::fs::canonicalize(i).ok()).any(|i| &i == target) {
            return Err(Error::refused(format!(
                "{dest}: is an input; an output never overwrites its own input"
            )));
        }
        if !overwrite {
            return Err(Error::refused(format!("{dest}: already exists (give --overwrite to replace it)")));
        }
    }
    Ok(())
}

/// The format an output path's extension names.
pub fn output_format(dest: &str) -> Result<Format> {
    if Path::new(dest).is_dir() {
        return Err(Error::refused(format!(
            "{dest}: is a folder: name the output file inside it (e.g. {}/out.parquet)",
            dest.trim_end_matches('/')
        )));
    }
    Format::from_extension(dest).ok_or_else(|| {
        Error::refused(format!("{dest}: unknown output format (use .parquet, .csv, .tsv, .ndjson or .arrow)"))
    })
}

/// How a file output is written, beyond its format (CLI flags of `assay export`, a
/// recipe output's `csv = {…}` / `parquet = {…}`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvWrite>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parquet: Option<ParquetWrite>,
    /// Columns whose values name the folders of a Hive-style tree (`country=DE/…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_by: Vec<String>,
}

/// CSV writing: delimiter, quoting, header.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvWrite {
    /// One character (`"\t"` for tab); default `,` (tab for .tsv).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// necessary (default), always, non_numeric or never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Quote>,
    /// Write the header line (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Quote {
    /// Only fields holding the delimiter, a quote or a line break.
    Necessary,
    Always,
    /// Every field that is not a number.
    NonNumeric,
    /// Never (the file may not read back if a field holds the delimiter).
    Never,
}

/// Parquet writing: codec and level, row-group size, statistics.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParquetWrite {
    /// zstd (default), snappy, gzip, brotli, lz4 or uncompressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Codec>,
    /// The codec's level (zstd 1-22, gzip 0-9, brotli 0-11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<i32>,
    /// Rows per row group (default: Polars' choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_group_size: Option<usize>,
    /// Write column statistics (min, max, null count; default true): readers skip row
    /// groups by them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<bool>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    Zstd,
    Snappy,
    Gzip,
    Brotli,
    Lz4,
    Uncompressed,
}

impl WriteOptions {
    /// Checks the options against the format before anything is written.
    pub fn check(&self, format: Format) -> Result<()> {
        if self.csv.is_some() && !matches!(format, Format::Csv(_)) {
            return Err(Error::refused(format!("CSV options given for a {} output", format.name())));
        }
        if self.parquet.is_some() && format != Format::Parquet {
            return Err(Error::refused(format!("Parquet options given for a {} output", format.name())));
        }
        if let Some(p) = &self.parquet {
            p.compression().map_err(|e| {
                let level = p.level.map(|l| format!(" level {l}")).unwrap_or_default();
                Error::refused(format!("Parquet compression{level}: {}", e.to_string().trim_end_matches('.')))
            })?;
            if p.row_group_size == Some(0) {
                return Err(Error::refused("row_group_size must be at least 1"));
            }
        }
        if let Some(d) = self.csv.as_ref().and_then(|c| c.delimiter.as_deref()) {
            delimiter_byte(d)?;
        }
        Ok(())
    }
}

/// A one-character delimiter (`\t` for tab).
pub fn delimiter_byte(d: &str) -> Result<u8> {
    match d {
        "\\t" | "\t" | "tab" => Ok(b'\t'),
        d if d.len() == 1 => Ok(d.as_bytes()[0]),
        d => Err(Error::refused(format!("delimiter `{d}`: give one ASCII character (or \\t)"))),
    }
}

impl ParquetWrite {
    fn compression(&self) -> PolarsResult<ParquetCompression> {
        use polars_utils::compression::{BrotliLevel, GzipLevel, ZstdLevel};
        let level = self.level;
        let small =
            |l: i32| u8::try_from(l).map_err(|_| polars_err!(InvalidOperation: "level {l} is out of range"));
        Ok(match self.compression.unwrap_or(Codec::Zstd) {
            Codec::Zstd => ParquetCompression::Zstd(level.map(ZstdLevel::try_new).transpose()?),
            Codec::Gzip => {
                ParquetCompression::Gzip(level.map(|l| GzipLevel::try_new(small(l)?)).transpose()?)
            }
            Codec::Brotli => {
                ParquetCompression::Brotli(level.map(|l| BrotliLevel::try_new(small(l)? as u32)).transpose()?)
            }
            Codec::Snappy | Codec::Lz4 | Codec::Uncompressed if level.is_some() => {
                polars_bail!(InvalidOperation: "{:?} has no compression level", self.compression.unwrap_or(Codec::Zstd))
            }
            Codec::Snappy => ParquetCompression::Snappy,
            Codec::Lz4 => ParquetCompression::Lz4Raw,
            Codec::Uncompressed => ParquetCompression::Uncompressed,
        })
    }
}

/// Streams `lf` to the path `temp` as `format`; returns the rows the file holds.
pub fn sink_to(lf: LazyFrame, temp: &Path, format: Format) -> Result<u64> {
    sink_with(lf, temp, format, &WriteOptions::default())
}

/// `sink_to` with writer options.
pub fn sink_with(lf: LazyFrame, temp: &Path, format: Format, write: &WriteOptions) -> Result<u64> {
    let failed = |e: PolarsError| write_failed(&temp.display().to_string(), &[temp], e);
    crate::engine::polars::streaming(file_sink(lf, temp, format, write)?).map_err(failed)?;
    count_written(temp, format, write)
}

/// `lf` with a sink to the file `temp` (fsynced on close), not yet run.
fn file_sink(lf: LazyFrame, temp: &Path, format: Format, write: &WriteOptions) -> Result<LazyFrame> {
    let target = SinkDestination::File { target: SinkTarget::Path(PlRefPath::new(temp.to_string_lossy())) };
    let args = UnifiedSinkArgs { sync_on_close: sync_on_close::SyncOnCloseType::All, ..Default::default() };
    lf.sink(target, file_format(format, write)?, args)
        .map_err(|e| write_failed(&temp.display().to_string(), &[temp], e))
}

/// One file `sink_all` writes: the plan, the path written, its format and options.
pub type SinkJob = (LazyFrame, PathBuf, Format, WriteOptions);

/// Streams each plan to its path in one run of Polars' streaming engine (a multi-sink
/// plan): what the plans share — the scan and the work before they part, such as the
/// quarantine's tagging of failed checks — runs once and feeds every sink, instead of
/// once per output. Returns the rows each file holds, in order.
pub fn sink_all(jobs: Vec<SinkJob>) -> Result<Vec<u64>> {
    if let [_] = jobs.as_slice() {
        let (lf, temp, format, write) = jobs.into_iter().next().expect("one job");
        return Ok(vec![sink_with(lf, &temp, format, &write)?]);
    }
    let shown: Vec<String> = jobs.iter().map(|j| j.1.display().to_string()).collect();
    let paths: Vec<&Path> = jobs.iter().map(|j| j.1.as_path()).collect();
    let failed = |e: PolarsError| write_failed(&shown.join(", "), &paths, e);
    let mut plans = Vec::with_capacity(jobs.len());
    let mut flags = None;
    for (lf, temp, format, write) in &jobs {
        let sink = file_sink(lf.clone(), temp, *format, write)?;
        flags.get_or_insert(sink.get_current_optimizations());
        plans.push(sink.logical_plan);
    }
    crate::engine::polars::verified(&jobs[0].0, || {
        LazyFrame::collect_all_with_engine(plans, Engine::Streaming, flags.unwrap_or_default())
    })
    .map_err(failed)?;
    jobs.iter().map(|(_, temp, format, write)| count_written(temp, *format, write)).collect()
}

/// The extension of a written file of `format`.
fn extension(format: Format) -> &'static str {
    match format {
        Format::Ipc => "arrow",
        other => other.name(),
    }
}

/// Streams `lf` into the folder `temp` as a Hive-style tree partitioned by `keys`
/// (`temp/country=DE/00000000.parquet`; the key columns live in the folder names, not
/// in the files). Returns the rows the files hold.
pub fn sink_partitioned(
    lf: LazyFrame,
    temp: &Path,
    format: Format,
    write: &WriteOptions,
    keys: &[String],
) -> Result<u64> {
    let shown = temp.display().to_string();
    let failed = |e: PolarsError| write_failed(&shown, &[temp], e);
    let mut lf = lf;
    let schema = lf.collect_schema().map_err(failed)?;
    for k in keys {
        if schema.get(k).is_none() {
            return Err(Error::refused(format!("partition column `{k}` is not in the data")));
        }
    }
    let target = SinkDestination::Partitioned {
        base_path: PlRefPath::new(shown.as_str()),
        file_path_provider: Some(file_provider::FileProviderType::Hive(file_provider::HivePathProvider {
            extension: extension(format).into(),
        })),
        partition_strategy: PartitionStrategy::Keyed {
            keys: keys.iter().map(|k| col(k.as_str())).collect(),
            include_keys: false,
            keys_pre_grouped: false,
        },
        max_rows_per_file: IdxSize::MAX,
        approximate_bytes_per_file: u64::MAX,
    };
    let args = UnifiedSinkArgs { sync_on_close: sync_on_close::SyncOnCloseType::All, ..Default::default() };
    lf.sink(target, file_format(format, write)?, args)
        .and_then(crate::engine::polars::streaming)
        .map_err(failed)?;
    let mut rows = 0;
    let mut folders = vec![temp.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| io_error(folder.display(), &e))? {
            let path = entry.map_err(|e| io_error(folder.display(), &e))?.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                rows += count_written(&path, format, write)?;
            }
        }
    }
    Ok(rows)
}

/// The format of an output at `dest`: the one named, else the extension's; a
/// partitioned folder without one is Parquet.
pub fn format_of(dest: &str, named: Option<&str>, partitioned: bool) -> Result<Format> {
    match named {
        Some(name) => Ok(Format::from_name(name)?),
        None if partitioned => {
            Ok(Format::from_extension(dest.trim_end_matches('/')).unwrap_or(Format::Parquet))
        }
        None => output_format(dest),
    }
}

/// How a file of `format` is written with `write`'s options.
fn file_format(format: Format, write: &WriteOptions) -> Result<FileWriteFormat> {
    let csv = write.csv.clone().unwrap_or_default();
    let header = csv.header.unwrap_or(true);
    Ok(match format {
        Format::Parquet => {
            let p = write.parquet.clone().unwrap_or_default();
            let options = ParquetWriteOptions {
                compression: p.compression().map_err(|e| Error::refused(e.to_string()))?,
                statistics: if p.statistics.unwrap_or(true) {
                    StatisticsOptions::default()
                } else {
                    StatisticsOptions::empty()
                },
                row_group_size: p.row_group_size,
                ..Default::default()
            };
            FileWriteFormat::Parquet(Arc::new(options))
        }
        Format::Csv(d) => {
            let mut options =
                CsvWriterOptions { check_extension: false, include_header: header, ..Default::default() };
            let mut serialize = (*options.serialize_options).clone();
            serialize.separator = match &csv.delimiter {
                Some(s) => delimiter_byte(s)?,
                None => d.delimiter,
            };
            serialize.quote_style = match csv.quote.unwrap_or(Quote::Necessary) {
                Quote::Necessary => QuoteStyle::Necessary,
                Quote::Always => QuoteStyle::Always,
                Quote::NonNumeric => QuoteStyle::NonNumeric,
                Quote::Never => QuoteStyle::Never,
            };
            options.serialize_options = Arc::new(serialize);
            FileWriteFormat::Csv(options)
        }
        Format::NdJson => FileWriteFormat::NDJson(Default::default()),
        Format::Ipc => FileWriteFormat::Ipc(Default::default()),
    })
}

/// The rows a written file holds, counted from the file itself: what will be published,
/// not what was meant.
fn count_written(file: &Path, format: Format, write: &WriteOptions) -> Result<u64> {
    let shown = file.display().to_string();
    let failed = |e: PolarsError| write_failed(&shown, &[file], e);
    let csv = write.csv.clone().unwrap_or_default();
    let header = csv.header.unwrap_or(true);
    let path = PlRefPath::new(shown.as_str());
    let written = match format {
        Format::Parquet => LazyFrame::scan_parquet(path, Default::default()),
        Format::Ipc => LazyFrame::scan_ipc(path, Default::default(), Default::default()),
        Format::Csv(d) => LazyCsvReader::new(path)
            .with_separator(match &csv.delimiter {
                Some(s) => delimiter_byte(s)?,
                None => d.delimiter,
            })
            .with_quote_char(if csv.quote == Some(Quote::Never) { None } else { Some(b'"') })
            .with_has_header(header)
            .with_infer_schema_length(Some(0))
            .finish(),
        Format::NdJson => {
            LazyJsonLineReader::new(path).with_infer_schema_length(std::num::NonZeroUsize::new(1)).finish()
        }
    }
    .and_then(|lf| crate::engine::polars::collect(lf.select([len()])))
    .map_err(failed)?;
    let n = written.column("len").ok().and_then(|c| c.get(0).ok()).and_then(|v| v.extract::<u64>());
    n.ok_or_else(|| Error::write_failed(format!("writing {shown}: could not count the rows written")))
}

/// A failure while streaming rows to `shown` (the files or folders `paths`). An I/O
/// error is the output's, and so is any error when the outputs ran out of room (Polars'
/// Parquet writer keeps only the words of the I/O error beneath it): a full device and
/// the file size limit are named, found on the file system (`exhausted`). Any other
/// error arose computing the rows, so it goes up as the engine's, for the application
/// layer to diagnose in the input.
fn write_failed(shown: &str, paths: &[&Path], e: PolarsError) -> Error {
    let io_kind = match &e {
        PolarsError::IO { error, .. } => Some(error.kind()),
        _ => None,
    };
    // The input found malformed while it was read (`engine::polars::verified`).
    if io_kind == Some(ErrorKind::InvalidData) {
        if let PolarsError::IO { error, .. } = &e {
            return Error::refused(error.to_string());
        }
    }
    let why = match io_kind {
        Some(ErrorKind::FileTooLarge) => Some(FILE_TOO_LARGE),
        Some(ErrorKind::StorageFull) => Some(NO_SPACE),
        _ => exhausted(paths),
    };
    match (why, io_kind) {
        (Some(why), _) => Error::write_failed(format!("writing {shown}: {why}")),
        (None, Some(_)) => {
            Error::write_failed(format!("writing {shown}: {}", crate::engine::first_line(&e.to_string())))
        }
        (None, None) => Error::Engine(e.into()),
    }
}

const FILE_TOO_LARGE: &str = "file too large (the file size limit, `ulimit -f`, was reached)";
const NO_SPACE: &str = "no space left on the device";

/// Whether the outputs at `paths` ran out of room: a file at the process's file size
/// limit (`RLIMIT_FSIZE`, within a write's worth), or a device with no block left.
fn exhausted(paths: &[&Path]) -> Option<&'static str> {
    fn largest(path: &Path, depth: usize) -> u64 {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() && depth < 8 => std::fs::read_dir(path)
                .map(|d| d.flatten().map(|e| largest(&e.path(), depth + 1)).max().unwrap_or(0))
                .unwrap_or(0),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        }
    }
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct it is given, nothing else.
    let limited = unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) } == 0
        && limit.rlim_cur != libc::RLIM_INFINITY;
    const SLACK: u64 = 1 << 20;
    if limited && paths.iter().any(|p| largest(p, 0).saturating_add(SLACK) >= limit.rlim_cur) {
        return Some(FILE_TOO_LARGE);
    }
    let full = paths.iter().any(|p| {
        let dir =
            if p.is_dir() { p.to_path_buf() } else { p.parent().unwrap_or(Path::new(".")).to_path_buf() };
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else { return false };
        // SAFETY: statvfs reads the NUL-terminated path and writes the struct it is given.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        unsafe { libc::statvfs(c.as_ptr(), &mut st) == 0 && st.f_bavail == 0 }
    });
    full.then_some(NO_SPACE)
}

/// A Parquet file written a frame at a time (a database table read back as a dataset);
/// the first frame fixes the schema. A file with no frame written gets none.
pub struct ParquetChunks {
    path: PathBuf,
    file: Option<std::fs::File>,
    writer: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>,
}

impl ParquetChunks {
    pub fn new(path: &Path) -> Result<ParquetChunks> {
        let file = std::fs::File::create(path).map_err(|e| io_error(path.display(), &e))?;
        Ok(ParquetChunks { path: path.to_path_buf(), file: Some(file), writer: None })
    }

    pub fn write(&mut self, df: DataFrame) -> Result<()> {
        let failed = |e: PolarsError| Error::write_failed(format!("{}: {e}", self.path.display()));
        if self.writer.is_none() {
            let file = self.file.take().ok_or_else(|| Error::write_failed("the Parquet file is gone"))?;
            self.writer = Some(ParquetWriter::new(file).batched(df.schema()).map_err(failed)?);
        }
        match self.writer.as_mut() {
            Some(w) => w.write_batch(&df).map_err(failed),
            None => Ok(()),
        }
    }

    pub fn finish(self) -> Result<()> {
        match self.writer {
            Some(w) => w
                .finish()
                .map(|_| ())
                .map_err(|e| Error::write_failed(format!("{}: {e}", self.path.display()))),
            None => Ok(()),
        }
    }
}
