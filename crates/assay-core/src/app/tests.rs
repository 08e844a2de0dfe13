use super::query::auto_datafusion_reason;
use super::*;
use ::datafusion::error::DataFusionError;
use ::polars::prelude::PolarsError;

/// The exit code comes from the variant (docs/cli.md), through every room, and
/// never from the message's words.
#[test]
fn exit_codes() {
    use crate::engine::Error as Engine;
    use arrow::error::ArrowError;
    use std::io::{Error as Io, ErrorKind};
    let polars_io = |kind: ErrorKind| Engine::from(PolarsError::from(Io::new(kind, "x")));
    let df = |e: DataFusionError| Error::Engine(Engine::from(e));
    let table: Vec<(&str, Error, i32)> = vec![
        ("ground input", crate::error::Error::input("x").into(), 2),
        ("ground runtime", crate::error::Error::runtime("x").into(), 3),
        ("source unreadable", crate::source::Error::unreadable("x").into(), 2),
        ("source read failed", crate::source::Error::read_failed("x").into(), 3),
        ("sql invalid", crate::sql::Error::invalid("x").into(), 2),
        ("engine refused", Engine::refused("x").into(), 2),
        ("engine bad data", Engine::bad_data("x").into(), 2),
        ("engine failed", Engine::failed("x").into(), 3),
        ("polars compute", Engine::from(PolarsError::ComputeError("x".into())).into(), 2),
        ("polars no column", Engine::from(PolarsError::ColumnNotFound("x".into())).into(), 2),
        ("polars invalid data", polars_io(ErrorKind::InvalidData).into(), 2),
        ("polars not found", polars_io(ErrorKind::NotFound).into(), 2),
        ("polars full disk", polars_io(ErrorKind::StorageFull).into(), 3),
        ("polars broken pipe", polars_io(ErrorKind::BrokenPipe).into(), 3),
        (
            "polars in context",
            Engine::from(PolarsError::ComputeError("x".into()).context("reading".into())).into(),
            2,
        ),
        (
            "datafusion csv",
            df(DataFusionError::ArrowError(Box::new(ArrowError::CsvError("x".into())), None)),
            2,
        ),
        (
            "datafusion json",
            df(DataFusionError::ArrowError(Box::new(ArrowError::JsonError("x".into())), None)),
            2,
        ),
        (
            "datafusion parquet",
            df(DataFusionError::ParquetError(Box::new(::datafusion::parquet::errors::ParquetError::EOF(
                "x".into(),
            )))),
            2,
        ),
        ("datafusion plan", df(DataFusionError::Plan("x".into())), 2),
        ("datafusion resources", df(DataFusionError::ResourcesExhausted("x".into())), 3),
        ("datafusion internal", df(DataFusionError::Internal("x".into())), 3),
        ("datafusion i/o", df(DataFusionError::IoError(Io::new(ErrorKind::ConnectionReset, "x"))), 3),
        (
            "datafusion external arrow",
            df(DataFusionError::External(Box::new(ArrowError::ParseError("x".into())))),
            2,
        ),
        (
            "datafusion in context",
            df(DataFusionError::Context(
                "x".into(),
                Box::new(DataFusionError::ResourcesExhausted("x".into())),
            )),
            3,
        ),
        ("sink refused", crate::sink::Error::refused("x").into(), 2),
        ("sink write failed", crate::sink::Error::write_failed("x").into(), 3),
        ("sink over engine", crate::sink::Error::from(Engine::failed("x")).into(), 3),
        ("db refused", crate::db::Error::refused("x").into(), 2),
        ("db server", crate::db::Error::server("x").into(), 3),
        ("db over sink", crate::db::Error::from(crate::sink::Error::write_failed("x")).into(), 3),
        ("transform invalid", crate::transform::Error::invalid("x").into(), 2),
        ("quality invalid", crate::quality::Error::invalid("x").into(), 2),
        ("quality mismatch", crate::quality::Error::mismatch("x").into(), 2),
        ("quality over engine", crate::quality::Error::from(polars_io(ErrorKind::StorageFull)).into(), 3),
        ("recipe invalid", crate::recipe::Error::invalid("x").into(), 2),
        ("recipe over db", crate::recipe::Error::from(crate::db::Error::server("x")).into(), 3),
        ("app input", Error::input("x"), 2),
        ("app runtime", Error::runtime("x"), 3),
        ("refused by polars", Error::refused_by_polars("x"), 2),
        ("checks failed", Error::checks_failed("x"), 1),
        // Words that once decided the code ("parquet", "eof") decide nothing now.
        ("runtime saying parquet eof", Error::runtime("parquet: unexpected eof, expected"), 3),
        ("input saying no space", Error::input("no space left on the device"), 2),
    ];
    for (what, e, code) in table {
        assert_eq!(e.exit_code(), code, "{what}: {e}");
        let e = e.map_message(|m| format!("prefixed: {m}"));
        assert_eq!(e.exit_code(), code, "{what}, its message rewritten: {e}");
        assert!(e.to_string().starts_with("prefixed: "), "{what}: {e}");
    }
}

#[test]
fn auto_picks_datafusion_for_the_shapes_it_runs_faster() {
    let reason = |q: &str, correlated: usize| auto_datafusion_reason(&sql::parse(q).unwrap(), correlated);
    assert_eq!(
        reason("SELECT k, sum(a), sum(b), avg(c), min(d), count(*) FROM t GROUP BY k", 0).as_deref(),
        Some("one table aggregated into 5 values")
    );
    assert_eq!(reason("SELECT k, sum(a) FROM t GROUP BY k", 0), None);
    assert_eq!(reason("SELECT 1 FROM t", 2).as_deref(), Some("2 correlated subqueries"));
    assert_eq!(
        reason("SELECT 1 FROM t WHERE a NOT IN (SELECT b FROM u)", 0).as_deref(),
        Some("NOT IN (SELECT …)")
    );
    assert_eq!(reason("SELECT 1 FROM t WHERE a IN (SELECT b FROM u)", 0), None);
    assert_eq!(reason("SELECT 1 FROM a, b, c JOIN d ON c.x = d.x, e", 0).as_deref(), Some("5 tables joined"));
    assert_eq!(reason("SELECT 1 FROM a, b JOIN c ON b.x = c.x, d", 0), None);
    // The tables of a derived table count in its own SELECT.
    assert_eq!(
        reason("SELECT 1 FROM (SELECT * FROM a, b, c, d, e) AS x", 0).as_deref(),
        Some("5 tables joined")
    );
}
