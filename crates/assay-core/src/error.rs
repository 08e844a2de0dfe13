//! The ground floor's error type, the exit codes of docs/cli.md, and `layer_error!`, which
//! gives every room above its own error enum.
//!
//! Every error carries one line a person can act on, naming where the problem is
//! (file, line, column, row or byte offset). Each room's enum holds its own failures, each
//! variant with its exit code, and the errors of the rooms below it (`#[from]`), so an
//! error keeps its cause and the binary takes the exit code from the variant, never from
//! the message: 1 a check failed, 2 unusable input, 3 a failure while running.

/// The ground's failures: arguments, the files a user wrote, I/O.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input cannot be used: bad arguments, a missing or unreadable file. Exit code 2.
    #[error("{0}")]
    Input(String),
    /// Something failed while running: I/O, a crashed task. Exit code 3.
    #[error("{0}")]
    Runtime(String),
    /// Writing the command's output (standard output, a report) failed, with the I/O
    /// error's kind: a reader that closed the pipe (`| head`) is not an error. Exit 3.
    #[error("writing output: {message}")]
    Output { kind: std::io::ErrorKind, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input(message.into())
    }

    pub fn runtime(message: impl Into<String>) -> Self {
        Error::Runtime(message.into())
    }

    /// Writing output failed with `e` (an I/O error, or a writer's error holding one).
    pub fn output<E: std::error::Error + 'static>(e: E) -> Self {
        let any = &e as &dyn std::any::Any;
        let kind = any
            .downcast_ref::<std::io::Error>()
            .map(|io| io.kind())
            .or_else(|| match any.downcast_ref::<arrow::error::ArrowError>() {
                Some(arrow::error::ArrowError::IoError(_, io)) => Some(io.kind()),
                _ => None,
            })
            .unwrap_or(std::io::ErrorKind::Other);
        Error::Output { kind, message: e.to_string() }
    }

    /// The process exit code for this error (docs/cli.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Runtime(_) | Error::Output { .. } => 3,
        }
    }

    /// The same error with its message rewritten by `f`.
    pub fn map_message(self, f: impl FnOnce(&str) -> String) -> Error {
        match self {
            Error::Input(m) => Error::Input(f(&m)),
            Error::Runtime(m) => Error::Runtime(f(&m)),
            e @ Error::Output { .. } => Error::Runtime(f(&e.to_string())),
        }
    }
}

/// A room's error enum: its own variants, each a one-line message with its exit code and
/// a constructor, then the errors of the rooms below it, each a `#[from]` variant that
/// keeps its exit code. Rooms whose errors carry more than a message (the engines' own
/// errors, for one) write their enum by hand with the same three methods.
///
/// ```ignore
/// crate::layer_error! {
///     /// What the source room says.
///     pub enum Error {
///         /// A place that cannot be read as given.
///         Unreadable(unreadable) = 2,
///         ;
///         Ground(crate::error::Error),
///     }
/// }
/// ```
#[macro_export]
macro_rules! layer_error {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($ctor:ident) = $code:literal, )*
            ;
            $( $(#[$fmeta:meta])* $from:ident($fty:ty), )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        pub enum $name {
            $( $(#[$vmeta])* #[error("{0}")] $variant(String), )*
            $( $(#[$fmeta])* #[error(transparent)] $from(#[from] $fty), )*
        }

        impl $name {
            $(
                #[allow(dead_code)]
                pub fn $ctor(message: impl Into<String>) -> Self {
                    Self::$variant(message.into())
                }
            )*

            /// The process exit code (docs/cli.md): the variant's, or the wrapped error's.
            pub fn exit_code(&self) -> i32 {
                match self {
                    $( Self::$variant(_) => $code, )*
                    $( Self::$from(e) => e.exit_code(), )*
                }
            }

            /// The same error with its message rewritten by `f`.
            pub fn map_message(self, f: impl FnOnce(&str) -> String) -> Self {
                match self {
                    $( Self::$variant(m) => Self::$variant(f(&m)), )*
                    $( Self::$from(e) => Self::$from(e.map_message(f)), )*
                }
            }
        }
    };
}

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

/// An I/O error on `path`: a missing file or a permission problem is the user's to fix
/// (exit 2); anything else is a runtime failure (exit 3).
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
