//! assay: a terminal workbench for data quality. This library is everything but the
//! terminal UI: sources, engines, output and the headless commands, so tests, the CLI
//! and CI can drive it without a terminal.

pub mod cli;
pub mod engine;
pub mod error;
pub mod generate;
pub mod output;
pub mod source;

pub use engine::{EngineKind, Table, Workspace};
pub use error::{Error, Result};
pub use source::{Dataset, Format, OpenOptions};
