//! Integration tests: one binary (link time!), one module per area.

mod bad_input;
mod bridge;
mod checks;
mod common;
mod corpus;
mod differential;
mod formats;
mod postgres;
mod profile;
mod recipes;
mod s3;
mod tui;
