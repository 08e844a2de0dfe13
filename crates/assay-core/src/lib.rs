//! assay-core: everything of assay but the terminal and the command line — sources,
//! engines, checks, profiles, steps, sinks, recipes and output — so tests, the CLI, the
//! workbench (the assay-tui crate) and CI drive the same code without a terminal.

pub mod app;
pub mod config;
pub mod db;
pub mod engine;
pub mod error;
#[cfg(test)]
mod floors;
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
pub mod sql;
pub mod text;
pub mod transform;

pub use app::Workspace;
pub use app::{Error, Result};
pub use engine::{EngineKind, Table};
pub use source::{Dataset, Format, OpenOptions};
