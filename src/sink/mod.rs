//! Outputs: a computed frame written to a local file, atomically. The file is written
//! under a temporary name in the same folder and renamed over the destination only when
//! whole, so an error (or a kill) mid-way leaves the previous file as it was and no
//! partial one. The format comes from the extension: `.parquet`, `.csv`, `.tsv`,
//! `.ndjson`/`.jsonl`, `.arrow`/`.ipc`/`.feather`.
//!
//! Today this writes a collected frame (the quarantine split of `assay check`);
//! streaming sinks, S3, SQLite and Postgres are issue 7.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{io_error, Error, Result};
use crate::source::Format;

/// Refuses `dest` when it exists (unless `overwrite`) or is one of `inputs`.
pub fn check_destination(dest: &str, inputs: &[String], overwrite: bool) -> Result<()> {
    let target = std::fs::canonicalize(dest).ok();
    if let Some(target) = &target {
        if inputs.iter().filter_map(|i| std::fs::canonicalize(i).ok()).any(|i| &i == target) {
            return Err(Error::input(format!(
                "{dest}: is an input; an output never overwrites its own input"
            )));
        }
        if !overwrite {
            return Err(Error::input(format!("{dest}: already exists (give --overwrite to replace it)")));
        }
    }
    output_format(dest).map(|_| ())
}

/// The format an output path's extension names.
fn output_format(dest: &str) -> Result<Format> {
    Format::from_extension(dest).ok_or_else(|| {
        Error::input(format!("{dest}: unknown output format (use .parquet, .csv, .tsv, .ndjson or .arrow)"))
    })
}

/// Writes `df` to `dest` atomically.
pub fn write_frame(df: &mut DataFrame, dest: &str) -> Result<()> {
    let format = output_format(dest)?;
    write_atomic(dest, |temp| write_to(df, temp, format))
}

/// Writes `text` to `dest` atomically (a rules file saved from the workbench).
pub fn write_text(text: &str, dest: &str) -> Result<()> {
    write_atomic(dest, |temp| {
        let shown = temp.display().to_string();
        std::fs::write(temp, text).map_err(|e| io_error(&shown, &e))?;
        std::fs::File::open(temp).and_then(|f| f.sync_all()).map_err(|e| io_error(&shown, &e))
    })
}

/// Runs `write` on a temporary path beside `dest`, then renames it over `dest`; on any
/// error the temporary file is removed and `dest` is as it was.
pub fn write_atomic(dest: &str, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let path = Path::new(dest);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir.display(), &e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp: PathBuf = dir.join(format!(".{name}.assay-partial-{}", std::process::id()));
    let written = write(&temp);
    let result = written.and_then(|()| std::fs::rename(&temp, path).map_err(|e| io_error(dest, &e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn write_to(df: &mut DataFrame, temp: &Path, format: Format) -> Result<()> {
    let shown = temp.display().to_string();
    let file = std::fs::File::create(temp).map_err(|e| io_error(&shown, &e))?;
    let mut file = std::io::BufWriter::new(file);
    let failed = |e: PolarsError| Error::runtime(format!("writing {shown}: {e}"));
    match format {
        Format::Parquet => {
            ParquetWriter::new(&mut file).finish(df).map_err(failed)?;
        }
        Format::Csv(d) => {
            CsvWriter::new(&mut file)
                .with_separator(d.delimiter)
                .include_header(true)
                .finish(df)
                .map_err(failed)?;
        }
        Format::NdJson => {
            JsonWriter::new(&mut file).with_json_format(JsonFormat::JsonLines).finish(df).map_err(failed)?
        }
        Format::Ipc => IpcWriter::new(&mut file).finish(df).map_err(failed)?,
    }
    // Flushed, then on disk before the rename makes it the destination.
    let file = file.into_inner().map_err(|e| io_error(&shown, e.error()))?;
    file.sync_all().map_err(|e| io_error(&shown, &e))
}
