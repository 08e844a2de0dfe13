//! The library's error type and the exit codes of docs/cli.md.
//!
//! Every error carries one line a person can act on, naming where the problem is
//! (file, line, column, row or byte offset). The binary maps the variant to an exit code.

/// What went wrong, sorted by who can fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input cannot be used: bad arguments, a missing or malformed file, an unknown
    /// format, SQL that does not parse or names an unknown table or column. Exit code 2.
    #[error("{0}")]
    Input(String),
    /// Something failed while running: I/O, network, an engine. Exit code 3.
    #[error("{0}")]
    Runtime(String),
    /// The data ran and an error-severity check (or, with `--fail-on warn`, a warning)
    /// failed. Exit code 1.
    #[error("{0}")]
    ChecksFailed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input(message.into())
    }

    pub fn runtime(message: impl Into<String>) -> Self {
        Error::Runtime(message.into())
    }

    /// The process exit code for this error (docs/cli.md: 1 a check failed, 2 unusable input,
    /// 3 runtime failure).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::ChecksFailed(_) => 1,
            Error::Input(_) => 2,
            Error::Runtime(_) => 3,
        }
    }

    /// The same error with its message rewritten by `f`.
    pub fn map_message(self, f: impl FnOnce(&str) -> String) -> Error {
        match self {
            Error::Input(m) => Error::Input(f(&m)),
            Error::Runtime(m) => Error::Runtime(f(&m)),
            Error::ChecksFailed(m) => Error::ChecksFailed(f(&m)),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Error::Input(m) | Error::Runtime(m) | Error::ChecksFailed(m) => m,
        }
    }
}

/// An I/O error on `path`: a missing file or a permission problem is the user's to fix
/// (exit 2); anything else is a runtime failure (exit 3).
/// A text file the user wrote (rules, recipe, query, config), read whole; bytes that are
/// not UTF-8 are refused with their offset and line (exit 2).
pub fn read_text(path: impl AsRef<std::path::Path>) -> Result<String> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_error(path.display(), &e))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        Error::input(format!(
            "{}: not UTF-8 text: invalid byte at offset {at} (line {line}); save the file as UTF-8",
            path.display()
        ))
    })
}

pub fn io_error(path: impl std::fmt::Display, err: &std::io::Error) -> Error {
    use std::io::ErrorKind::*;
    match err.kind() {
        NotFound => Error::input(format!("{path}: no such file or directory")),
        PermissionDenied => Error::input(format!("{path}: permission denied")),
        IsADirectory => Error::input(format!("{path}: is a directory")),
        ReadOnlyFilesystem => Error::input(format!("{path}: read-only file system")),
        StorageFull => Error::runtime(format!("{path}: no space left on the device")),
        FileTooLarge => Error::runtime(format!("{path}: file too large (the file size limit, `ulimit -f`)")),
        _ => Error::runtime(format!("{path}: {err}")),
    }
}

/// `f` on tokio's blocking pool, off the runtime's few async workers (which also drive
/// the workbench's ticks, timers and sockets); a panic in `f` becomes an error.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        let why = e
            .try_into_panic()
            .ok()
            .and_then(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            })
            .map(|why| format!("internal error (a bug in assay; a crash report is in the data dir): {why}"))
            .unwrap_or_else(|| "engine failure: cancelled".to_string());
        Error::runtime(why)
    })
}
