//! How an engine's failure becomes one line a person can act on: a precise diagnosis in
//! the files the failing operation read (line, byte offset), the datasets it read named,
//! a query's unknown names located, and the exit code from the engine error's variant.

use ::datafusion::error::DataFusionError;
use ::polars::prelude::PolarsError;

use super::{Error, Scope, Workspace};
use crate::engine::{first_line, EngineKind};
use crate::source::{csv_diagnose, say_given, Dataset, Format, Location};
use crate::sql;
use crate::transform::Step;

impl Workspace {
    /// The open datasets an operation over `scope` reads: the view's dataset and any
    /// its steps join or query, or the tables a query names (all of them when the
    /// query does not parse).
    pub(super) fn read_by(&self, scope: Scope<'_>) -> Vec<&Dataset> {
        let names: Vec<String> = match scope {
            Scope::View(ds, steps) => std::iter::once(ds.name.to_lowercase())
                .chain(steps.iter().filter_map(Step::enabled).flat_map(|s| match s {
                    Step::Join(j) => vec![j.table.to_lowercase()],
                    Step::Sql { query, .. } => {
                        sql::parse(query).map(|st| sql::tables_read(&st)).unwrap_or_default()
                    }
                    _ => Vec::new(),
                }))
                .collect(),
            Scope::Query(query) => match sql::parse(query) {
                Ok(st) => sql::tables_read(&st),
                Err(_) => return self.datasets.iter().collect(),
            },
        };
        self.datasets.iter().filter(|d| names.contains(&d.name.to_lowercase())).collect()
    }

    /// When an engine fails while reading, a precise diagnosis of the first malformed
    /// local CSV, NDJSON or Arrow file (line, byte offset) among those the failing
    /// operation read beats the engine's own words.
    /// A file read from a scratch copy (standard input, a decompressed file) is said as
    /// what the user gave (`source::say_given`).
    pub(super) fn diagnose(&self, scope: Scope<'_>) -> Option<Error> {
        self.read_by(scope).into_iter().find_map(Self::diagnose_dataset).map(|e| e.map_message(say_given))
    }

    fn diagnose_dataset(ds: &Dataset) -> Option<Error> {
        match (ds.format, &ds.location) {
            (Format::Csv(dialect), Location::Local) => {
                ds.files.iter().find_map(|f| csv_diagnose::diagnose(f, &dialect)).map(Error::Input)
            }
            (Format::NdJson, Location::Local) => {
                ds.files.iter().find_map(|f| crate::source::file_diagnose::ndjson(f)).map(Error::Input)
            }
            (Format::Parquet, Location::Local) => {
                ds.files.iter().find_map(|f| crate::source::file_diagnose::parquet(f)).map(Error::Input)
            }
            (Format::Ipc, Location::Local) => {
                ds.files.iter().find_map(|f| crate::source::file_diagnose::ipc(f)).map(Error::Input)
            }
            _ => None,
        }
    }

    /// The datasets `scope` read, named before an engine's message that names none.
    pub(super) fn source_of(&self, message: &str, scope: Scope<'_>) -> String {
        let read = self.read_by(scope);
        let specs: Vec<&str> = read.iter().map(|d| d.spec.as_str()).collect();
        if specs.is_empty()
            || specs.iter().any(|s| message.contains(s))
            || read.iter().any(|d| d.files.iter().any(|f| message.contains(f.as_str())))
        {
            String::new()
        } else {
            format!("{}: ", specs.join(", "))
        }
    }

    /// `e`, or when an engine's own error came up through the rooms unchanged (the
    /// output's and the database's own failures are theirs, said already), that error
    /// as a failure to read what `scope` read.
    pub(super) fn engine_failure(&self, e: Error, scope: Scope<'_>) -> Error {
        use crate::engine::Error as E;
        let cause = match e {
            Error::Engine(x)
            | Error::Quality(crate::quality::Error::Engine(x))
            | Error::Transform(crate::transform::Error::Engine(x))
            | Error::Quality(crate::quality::Error::Transform(crate::transform::Error::Engine(x)))
            | Error::Sink(crate::sink::Error::Engine(x))
            | Error::Db(crate::db::Error::Engine(x))
            | Error::Db(crate::db::Error::Sink(crate::sink::Error::Engine(x))) => x,
            other => return other,
        };
        match &cause {
            E::Polars { source, .. } => self.read_failure(
                "polars",
                &cause.to_string(),
                crate::engine::polars_blames_input(source),
                scope,
            ),
            E::DataFusion { source, .. } => self.read_failure(
                "datafusion",
                &cause.to_string(),
                crate::engine::datafusion_blames_input(source),
                scope,
            ),
            _ => Error::Engine(cause),
        }
    }

    /// An engine failed while running: a precise diagnosis of the files `scope` read
    /// when one finds a fault; otherwise malformed data (`blames_input`, from the
    /// engine's error variant) is the user's to fix (exit 2), anything else is a
    /// runtime failure (exit 3).
    pub(super) fn read_failure(
        &self,
        engine: &str,
        text: &str,
        blames_input: bool,
        scope: Scope<'_>,
    ) -> Error {
        // The diagnosis reads whole files: never on one of the runtime's few workers,
        // which also drive its timers and sockets (a 1 GB CSV diagnosed on both workers
        // froze the workbench's ticks and every other job for as long).
        let diagnosis = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.diagnose(scope))
            }
            _ => self.diagnose(scope),
        };
        diagnosis.unwrap_or_else(|| {
            let m = say_given(&format!("{}{text}", self.source_of(text, scope)));
            if blames_input {
                Error::input(m)
            } else {
                Error::runtime(format!("{engine}: {m}"))
            }
        })
    }

    pub(super) fn polars_error(&self, err: PolarsError, scope: Scope<'_>) -> Error {
        let query = scope.query();
        let mut root = &err;
        while let PolarsError::Context { error, .. } | PolarsError::ExprContext { error, .. } = root {
            root = error;
        }
        let text = first_line(&err.to_string()).to_string();
        match root {
            PolarsError::ColumnNotFound(m) | PolarsError::SchemaFieldNotFound(m) => {
                unknown_column(query, m, "polars")
            }
            PolarsError::SQLInterface(m) | PolarsError::SQLSyntax(m) => {
                sql_message(query, "polars", first_line(m))
            }
            // Rows of one file that disagree in type (an NDJSON line that is an array
            // where the others are objects): the data's fault, said where.
            PolarsError::SchemaMismatch(_) | PolarsError::ComputeError(_) if text.contains("supertype") => {
                self.read_failure("polars", &text, crate::engine::polars_blames_input(root), scope)
            }
            // A value the query casts that does not convert (`CAST(name AS INT)`): the
            // data's or the query's to fix, said as DataFusion says it; the other engine
            // would fail the same way, so no "--engine datafusion runs this".
            PolarsError::InvalidOperation(_) | PolarsError::ComputeError(_)
                if text.contains("conversion from") =>
            {
                Error::input(format!("{}polars: {text}", self.source_of(&text, scope)))
            }
            PolarsError::InvalidOperation(_)
            | PolarsError::SchemaMismatch(_)
            | PolarsError::Duplicate(_)
            | PolarsError::StructFieldNotFound(_)
                if query.is_some() =>
            {
                sql_message(query, "polars", &text)
            }
            PolarsError::IO { error, .. } if error.kind() == std::io::ErrorKind::NotFound => {
                Error::input(format!("{}{text}", self.source_of(&text, scope)))
            }
            _ => self.read_failure("polars", &text, crate::engine::polars_blames_input(root), scope),
        }
    }

    pub(super) fn datafusion_error(
        &self,
        err: DataFusionError,
        query: Option<&str>,
        scope: Scope<'_>,
    ) -> Error {
        let text = first_line(&err.find_root().to_string()).to_string();
        match err.find_root() {
            DataFusionError::SchemaError(e, _) => {
                let m = e.to_string();
                unknown_column(query, &m, "datafusion")
            }
            DataFusionError::SQL(..) | DataFusionError::Plan(_) => {
                if text.contains("No field named") {
                    unknown_column(query, &text, "datafusion")
                } else {
                    sql_message(query, "datafusion", &text)
                }
            }
            DataFusionError::NotImplemented(m) => {
                Error::input(format!("datafusion does not support this: {}", first_line(m)))
            }
            // A value the query casts that does not convert: the data's (or the query's)
            // to fix, as Polars says of the same cast.
            DataFusionError::ArrowError(e, _) if matches!(**e, arrow::error::ArrowError::CastError(_)) => {
                Error::input(format!("{}datafusion: {text}", self.source_of(&text, scope)))
            }
            _ => self.read_failure("datafusion", &text, crate::engine::datafusion_blames_input(&err), scope),
        }
    }
}

/// An engine's complaint about the SQL, with the position of the name it names.
pub(super) fn sql_message(query: Option<&str>, engine: &str, text: &str) -> Error {
    let quoted = text.split(['\'', '"', '`']).nth(1).filter(|s| !s.is_empty());
    let at = match (query, quoted) {
        (Some(q), Some(name)) => {
            sql::locate(q, name).map(|(l, c)| format!(" at line {l}, column {c}")).unwrap_or_default()
        }
        _ => String::new(),
    };
    refused(engine, format!("SQL error{at} ({engine}): {text}"))
}

/// An engine's refusal of a query: Polars' is told apart, for `polars_refusal`.
pub(super) fn refused(engine: &str, message: String) -> Error {
    if engine == EngineKind::Polars.name() {
        Error::RefusedByPolars(message)
    } else {
        Error::Input(message)
    }
}

/// "unknown column" with its position in the query and the valid names.
pub(super) fn unknown_column(query: Option<&str>, message: &str, engine: &str) -> Error {
    let message = first_line(message);
    // polars: `unable to find column "x"; valid columns: [...]`
    // datafusion: `No field named x. Valid fields are t.a, t.b.`
    let name = if let Some(rest) = message.split("No field named ").nth(1) {
        // `o.nope.` (qualified) or `nope.` at a sentence's end.
        rest.split(' ').next().unwrap_or(rest).trim_end_matches('.')
    } else {
        message.split('"').nth(1).unwrap_or(message)
    }
    .split('.')
    .map(|part| part.trim_matches(|c| c == '"' || c == '\''))
    .collect::<Vec<_>>()
    .join(".");
    let valid = message
        .split_once("alid fields are ")
        .or_else(|| message.split_once("alid columns: "))
        .map(|(_, v)| format!("; valid columns: {}", v.trim_end_matches('.')))
        .unwrap_or_default();
    let at = query
        .and_then(|q| sql::locate(q, &name).or_else(|| sql::locate(q, name.rsplit('.').next()?)))
        .map(|(l, c)| format!(" at line {l}, column {c}"))
        .unwrap_or_default();
    let prefix = if query.is_some() { "SQL error" } else { "error" };
    refused(engine, format!("{prefix}{at}: unknown column `{name}` ({engine}){valid}"))
}
