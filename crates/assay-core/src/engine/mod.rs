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

use crate::error::Result;

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
