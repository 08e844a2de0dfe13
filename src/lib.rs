//! assay: a terminal workbench for data quality. Everything outside `tui` is headless
//! (sources, engines, output, the commands), so tests, the CLI and CI drive it without a
//! terminal; `tui` only renders state and sends requests to the rest.

pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
#[cfg(test)]
mod fuzz;
pub mod generate;
pub mod output;
pub mod profile;
pub mod progress;
pub mod quality;
pub mod recipe;
pub mod sink;
pub mod source;
pub mod transform;
pub mod tui;

pub use engine::{EngineKind, Table, Workspace};
pub use error::{Error, Result};
pub use source::{Dataset, Format, OpenOptions};
