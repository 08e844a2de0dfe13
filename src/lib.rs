//! assay: a terminal workbench for data quality. The package is three floors, each
//! crate importing only those below it: `assay-core` (headless: sources, engines,
//! checks, sinks, recipes), `assay-tui` (the workbench, the only code that touches the
//! terminal) and this one, the command line (`cli`) and the `assay` binary. The core's
//! modules are re-exported here, so `assay::engine` is `assay_core::engine`.

pub use assay_core::*;
pub use assay_tui as tui;

pub mod cli;
