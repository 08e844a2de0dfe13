//! Following a running export: rows and bytes written so far, and the way to stop it.

use super::*;

/// How far a running export has got, and the way to stop it: shared between the export
/// (a pass-through on the plan's first column counts the rows as they stream and reads
/// the size of the file being written) and whoever shows its progress. Once cancelled,
/// the next batch fails the plan, so the output is never committed.
#[derive(Debug, Default)]
pub struct Watch {
    rows: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
    cancelled: std::sync::atomic::AtomicBool,
    file: std::sync::OnceLock<PathBuf>,
}

/// Two handles are equal when they follow the same export.
impl PartialEq for Watch {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Watch {
    pub fn rows(&self) -> u64 {
        self.rows.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes written so far (files only).
    pub fn bytes(&self) -> u64 {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn cancelled(&self) -> bool {
        self.cancelled.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `rows` more rows went through; the output holds `bytes` so far (0: unknown).
    pub fn record(&self, rows: u64, bytes: u64) {
        self.rows.fetch_add(rows, std::sync::atomic::Ordering::Relaxed);
        if bytes > 0 {
            self.bytes.store(bytes, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The file being written (its size is the bytes written).
    pub fn set_file(&self, path: &Path) {
        let _ = self.file.set(path.to_path_buf());
    }

    /// `lf` through `watch` when there is one.
    pub fn wrap_if(watch: Option<&Arc<Self>>, lf: LazyFrame) -> Result<LazyFrame> {
        match watch {
            Some(w) => w.wrap(lf),
            None => Ok(lf),
        }
    }

    /// `lf` passing through this watch: rows counted, the file's size read, and the plan
    /// failed at the next batch once cancelled. An elementwise function, so it streams.
    pub fn wrap(self: &Arc<Self>, lf: LazyFrame) -> Result<LazyFrame> {
        let mut lf = lf;
        let schema = lf.collect_schema().map_err(crate::engine::Error::from)?;
        let Some(first) = schema.iter_names().next().cloned() else { return Ok(lf) };
        let watch = self.clone();
        let pass = move |c: &mut [Column]| -> PolarsResult<Column> {
            if watch.cancelled() {
                polars_bail!(ComputeError: "cancelled by the user");
            }
            let bytes =
                watch.file.get().and_then(|f| std::fs::metadata(f).ok()).map(|m| m.len()).unwrap_or(0);
            watch.record(c[0].len() as u64, bytes);
            Ok(c[0].clone())
        };
        let mut expr = col(first.clone()).map_many(pass, &[], |_, fields| Ok(fields[0].clone()));
        if let Expr::AnonymousFunction { fmt_str, .. } = &mut expr {
            **fmt_str = "export_progress".into();
        }
        Ok(lf.with_column(expr.alias(first)))
    }
}
