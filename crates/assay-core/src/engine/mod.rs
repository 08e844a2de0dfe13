//! The engines: every dataset both a Polars LazyFrame and a DataFusion table over the
//! same files; SQL on either engine; plans from both; results as arrow-rs record batches
//! (Polars results cross over zero-copy, see `bridge`). The datasets a user has open and
//! what is done with them live one floor up, in `app`.
//!
//! Polars work is CPU-bound and blocking, so it runs on tokio's blocking pool; DataFusion
//! is async. Nothing here knows about terminals.

pub mod bridge;
pub mod datafusion;
pub mod polars;

use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use ::datafusion::error::DataFusionError;
use ::polars::prelude::PolarsError;

/// What the engine room says: the engines' own errors kept whole, with what was being
/// done when they failed, and the room's own failures. An engine's error takes its exit
/// code from its variant (`polars_blames_input`, `datafusion_blames_input`); the
/// workbench, a floor up, first looks for a precise diagnosis in the files read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A dataset or query an engine refuses as given (a type it cannot carry, an option
    /// it lacks, a bad URL): exit 2.
    #[error("{0}")]
    Refused(String),
    /// Data an engine could not read (malformed, truncated, of mixed types): exit 2.
    #[error("{0}")]
    BadData(String),
    /// An engine failed while running: exit 3.
    #[error("{0}")]
    Failed(String),
    /// Polars failed; `at` says at what ("checks on orders"), or is empty.
    #[error("{}{source}", prefix(at))]
    Polars {
        at: String,
        #[source]
        source: PolarsError,
    },
    /// DataFusion failed; `at` as for Polars.
    #[error("{}{source}", prefix(at))]
    DataFusion {
        at: String,
        #[source]
        source: DataFusionError,
    },
    #[error(transparent)]
    Source(#[from] crate::source::Error),
    #[error(transparent)]
    Sql(#[from] crate::sql::Error),
    #[error(transparent)]
    Ground(#[from] crate::error::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn prefix(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    }
}

impl From<PolarsError> for Error {
    fn from(source: PolarsError) -> Self {
        Error::Polars { at: String::new(), source }
    }
}

impl From<DataFusionError> for Error {
    fn from(source: DataFusionError) -> Self {
        Error::DataFusion { at: String::new(), source }
    }
}

impl Error {
    pub fn refused(message: impl Into<String>) -> Self {
        Error::Refused(message.into())
    }

    pub fn bad_data(message: impl Into<String>) -> Self {
        Error::BadData(message.into())
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed(message.into())
    }

    /// Polars' error `source`, failed at `at` (for `map_err`).
    pub fn polars(at: impl Into<String>) -> impl FnOnce(PolarsError) -> Error {
        let at = at.into();
        move |source| Error::Polars { at, source }
    }

    /// DataFusion's error `source`, failed at `at` (for `map_err`).
    pub fn datafusion(at: impl Into<String>) -> impl FnOnce(DataFusionError) -> Error {
        let at = at.into();
        move |source| Error::DataFusion { at, source }
    }

    /// `message` about DataFusion's error `e`, with the exit code `e`'s variant gives.
    pub fn said_datafusion(e: &DataFusionError, message: impl Into<String>) -> Error {
        if datafusion_blames_input(e) {
            Error::BadData(message.into())
        } else {
            Error::Failed(message.into())
        }
    }

    /// Whether the input (the data, or the query over it) is at fault: exit 2, not 3.
    pub fn blames_input(&self) -> bool {
        self.exit_code() == 2
    }

    /// The process exit code (docs/cli.md): from the variant, and for an engine's own
    /// error from the engine's variant.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Refused(_) | Error::BadData(_) => 2,
            Error::Failed(_) => 3,
            Error::Polars { source, .. } => {
                if polars_blames_input(source) {
                    2
                } else {
                    3
                }
            }
            Error::DataFusion { source, .. } => {
                if datafusion_blames_input(source) {
                    2
                } else {
                    3
                }
            }
            Error::Source(e) => e.exit_code(),
            Error::Sql(e) => e.exit_code(),
            Error::Ground(e) => e.exit_code(),
        }
    }

    /// The same error with its message rewritten by `f`; an engine's error becomes a
    /// message with the same exit code.
    pub fn map_message(self, f: impl FnOnce(&str) -> String) -> Self {
        match self {
            Error::Refused(m) => Error::Refused(f(&m)),
            Error::BadData(m) => Error::BadData(f(&m)),
            Error::Failed(m) => Error::Failed(f(&m)),
            e @ (Error::Polars { .. } | Error::DataFusion { .. }) => {
                let m = f(&e.to_string());
                if e.blames_input() {
                    Error::BadData(m)
                } else {
                    Error::Failed(m)
                }
            }
            Error::Source(e) => Error::Source(e.map_message(f)),
            Error::Sql(e) => Error::Sql(e.map_message(f)),
            Error::Ground(e) => Error::Ground(e.map_message(f)),
        }
    }
}

/// An I/O error of this kind while reading says the input is at fault (missing,
/// unreadable, malformed, cut short).
pub fn io_blames_input(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(kind, NotFound | PermissionDenied | IsADirectory | InvalidData | InvalidInput | UnexpectedEof)
}

/// Whether Polars' error blames the input, by its variant: data that does not parse or
/// does not fit (`ComputeError`, `SchemaMismatch`, `NoData`, …), names the query gets
/// wrong, or an I/O error of a kind `io_blames_input` accepts. Anything else (a failed
/// write, an assertion inside Polars) is a failure while running.
pub fn polars_blames_input(e: &PolarsError) -> bool {
    use PolarsError::*;
    match e {
        Context { error, .. } | ExprContext { error, .. } => polars_blames_input(error),
        IO { error, .. } => io_blames_input(error.kind()),
        ColumnNotFound(_)
        | ComputeError(_)
        | Duplicate(_)
        | InvalidOperation(_)
        | NoData(_)
        | OutOfBounds(_)
        | SchemaFieldNotFound(_)
        | SchemaMismatch(_)
        | ShapeMismatch(_)
        | SQLInterface(_)
        | SQLSyntax(_)
        | StructFieldNotFound(_) => true,
        _ => false,
    }
}

/// Whether DataFusion's error blames the input, by its variant and the variant of its
/// cause: Arrow's CSV, JSON, IPC, parse and cast errors, Parquet's errors, the query's
/// own errors (SQL, plan, schema, not implemented) and input I/O errors. Object stores,
/// exhausted resources, failed tasks and internal errors are failures while running.
pub fn datafusion_blames_input(e: &DataFusionError) -> bool {
    use DataFusionError as D;
    match e {
        D::Context(_, inner) | D::Diagnostic(_, inner) => datafusion_blames_input(inner),
        D::Shared(inner) => datafusion_blames_input(inner),
        D::Collection(all) => all.first().is_some_and(datafusion_blames_input),
        D::ArrowError(a, _) => arrow_blames_input(a),
        D::ParquetError(p) => parquet_blames_input(p),
        D::IoError(io) => io_blames_input(io.kind()),
        D::ObjectStore(o) => matches!(**o, object_store::Error::NotFound { .. }),
        D::SQL(..) | D::Plan(_) | D::SchemaError(..) | D::NotImplemented(_) | D::Configuration(_) => true,
        D::External(inner) => external_blames_input(inner.as_ref()),
        _ => false,
    }
}

fn arrow_blames_input(e: &arrow::error::ArrowError) -> bool {
    use arrow::error::ArrowError as A;
    match e {
        A::IoError(_, io) => io_blames_input(io.kind()),
        A::ExternalError(inner) => external_blames_input(inner.as_ref()),
        A::CsvError(_)
        | A::JsonError(_)
        | A::ParseError(_)
        | A::IpcError(_)
        | A::ParquetError(_)
        | A::CastError(_)
        | A::SchemaError(_)
        | A::InvalidArgumentError(_)
        | A::DivideByZero
        | A::ArithmeticOverflow(_)
        | A::DictionaryKeyOverflowError
        | A::RunEndIndexOverflowError
        | A::OffsetOverflowError(_)
        | A::ComputeError(_) => true,
        _ => false,
    }
}

fn parquet_blames_input(e: &::datafusion::parquet::errors::ParquetError) -> bool {
    use ::datafusion::parquet::errors::ParquetError as P;
    match e {
        P::External(inner) => external_blames_input(inner.as_ref()),
        // Out of specification, cut short, an unsupported encoding: the file's.
        _ => true,
    }
}

/// An error boxed by an engine: its own cause, found by type.
fn external_blames_input(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    if let Some(d) = e.downcast_ref::<DataFusionError>() {
        datafusion_blames_input(d)
    } else if let Some(a) = e.downcast_ref::<arrow::error::ArrowError>() {
        arrow_blames_input(a)
    } else if let Some(p) = e.downcast_ref::<::datafusion::parquet::errors::ParquetError>() {
        parquet_blames_input(p)
    } else if let Some(io) = e.downcast_ref::<std::io::Error>() {
        io_blames_input(io.kind())
    } else if let Some(p) = e.downcast_ref::<PolarsError>() {
        polars_blames_input(p)
    } else {
        false
    }
}

/// The two query engines.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Polars,
    DataFusion,
}

impl EngineKind {
    pub fn name(&self) -> &'static str {
        match self {
            EngineKind::Polars => "polars",
            EngineKind::DataFusion => "datafusion",
        }
    }
    /// The engine's name as people write it.
    pub fn title(&self) -> &'static str {
        match self {
            EngineKind::Polars => "Polars",
            EngineKind::DataFusion => "DataFusion",
        }
    }
}

/// The engine a query is asked to run on: one of the two, or `Auto`, which picks per
/// query (`Workspace::pick`, docs/sql.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineChoice {
    #[default]
    Auto,
    Polars,
    DataFusion,
}

impl EngineChoice {
    pub fn name(&self) -> &'static str {
        match self {
            EngineChoice::Auto => "auto",
            EngineChoice::Polars => "polars",
            EngineChoice::DataFusion => "datafusion",
        }
    }
}

impl EngineChoice {
    /// The name as people write it.
    pub fn title(&self) -> &'static str {
        match self {
            EngineChoice::Auto => "auto",
            EngineChoice::Polars => "Polars",
            EngineChoice::DataFusion => "DataFusion",
        }
    }
    /// The next choice in the workbench's cycle (auto, Polars, DataFusion).
    pub fn next(self) -> EngineChoice {
        match self {
            EngineChoice::Auto => EngineChoice::Polars,
            EngineChoice::Polars => EngineChoice::DataFusion,
            EngineChoice::DataFusion => EngineChoice::Auto,
        }
    }
    /// The one engine asked for; `None` for auto.
    pub fn kind(self) -> Option<EngineKind> {
        match self {
            EngineChoice::Auto => None,
            EngineChoice::Polars => Some(EngineKind::Polars),
            EngineChoice::DataFusion => Some(EngineKind::DataFusion),
        }
    }
}

impl From<EngineKind> for EngineChoice {
    fn from(e: EngineKind) -> Self {
        match e {
            EngineKind::Polars => EngineChoice::Polars,
            EngineKind::DataFusion => EngineChoice::DataFusion,
        }
    }
}

/// The engine picked for a query, and why (`auto: …`, or `asked for`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub engine: EngineKind,
    pub why: String,
}

impl Pick {
    /// The engine as the workbench's status line shows it: `Polars`, or for a choice
    /// `auto` made, `Polars (auto: the default)`.
    pub fn shown(&self, choice: EngineChoice) -> String {
        match choice {
            EngineChoice::Auto => format!("{} ({})", self.engine.title(), self.why),
            _ => self.engine.title().to_string(),
        }
    }
}

/// A computed result: an arrow-rs schema and record batches.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Table {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    pub fn from_polars(df: ::polars::prelude::DataFrame) -> Result<Table> {
        let (schema, batches) = bridge::frame_to_batches(df)?;
        Ok(Table { schema, batches })
    }
}

/// One column of a dataset's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// Polars' name for the type (`i64`, `str`, `date`, ...).
    pub dtype: String,
    /// The Arrow type both engines read it as.
    pub arrow_type: String,
}

/// An engine's plans for one query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plans {
    pub engine: &'static str,
    pub logical: String,
    pub optimized: String,
    /// DataFusion's physical plan; Polars does not expose one.
    pub physical: Option<String>,
    /// With `--analyze`: the plan as run, with per-operator rows and time.
    pub analyzed: Option<String>,
    pub elapsed: Option<Duration>,
    /// Why this engine, when `auto` picked it (`Pick::why`).
    pub chosen: Option<String>,
}

pub(crate) use crate::error::blocking;

pub fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}
