//! Checks as SQL, to run them on DataFusion (`assay check --engine datafusion`): one
//! aggregating query for every check that is an aggregate (row-level failures summed from
//! `Check::failure_sql`, table-level observations as SQL aggregates), and one query
//! each for what needs its own pass: a unique key (a group-by), a foreign key (an anti
//! join), `duplicate_rows` (a DISTINCT) and `sql` checks. The measurements are judged by
//! the same code as Polars' (`quality::run_measured`), so both engines give one answer.

use polars::prelude::Schema;

use super::rules::{Check, Metric, Rules};
use crate::error::{Error, Result};
use crate::transform::ident;

/// The queries of a rules file over one table (or view).
#[derive(Debug, Clone, PartialEq)]
pub struct SqlChecks {
    /// One row: `__rows`, then `c{i}` for each check `i` measured here.
    pub aggregate: String,
    /// Checks measured by a query of their own (one row, one number): index and query.
    pub own: Vec<(usize, String)>,
    /// Checks measured by no query (schema checks read only the schema).
    pub schema_only: Vec<usize>,
}

/// The queries that measure `rules` over `from` (a table name, or a parenthesised
/// query with an alias), whose columns are `schema`. A check SQL engines cannot say the
/// way Polars does is refused, naming the engine and the construct.
pub fn compile(from: &str, rules: &Rules, schema: &Schema) -> Result<SqlChecks> {
    let mut aggregates = vec!["COUNT(*) AS __rows".to_string()];
    let mut own = Vec::new();
    let mut schema_only = Vec::new();
    for (i, check) in rules.checks.iter().enumerate() {
        let refuse = |what: &str| {
            Error::input(format!(
                "check {}: {what} is not available on DataFusion (run it with --engine polars)",
                check.id()
            ))
        };
        let as_double = |c: &str| format!("CAST({} AS DOUBLE)", ident(c));
        let aggregate = match check {
            Check::Unique(a) => {
                let keys: Vec<String> = a.columns.iter().map(|c| ident(c)).collect();
                own.push((
                    i,
                    format!(
                        "SELECT CAST(COALESCE(SUM(n), 0) AS DOUBLE) AS v FROM \
                         (SELECT COUNT(*) AS n FROM {from} GROUP BY {} HAVING COUNT(*) > 1) AS d",
                        keys.join(", ")
                    ),
                ));
                continue;
            }
            Check::ForeignKey(a) => {
                let (source, column) = super::rules::reference(&a.references).map_err(Error::input)?;
                let (c, r) = (ident(&a.column), ident(&column));
                own.push((
                    i,
                    format!(
                        "SELECT CAST(COUNT(*) AS DOUBLE) AS v FROM {from} WHERE {c} IS NOT NULL AND {c} NOT IN \
                         (SELECT {r} FROM {} WHERE {r} IS NOT NULL)",
                        ident(&source)
                    ),
                ));
                continue;
            }
            Check::DuplicateRows(_) => {
                own.push((
                    i,
                    format!(
                        "SELECT CAST((SELECT COUNT(*) FROM {from}) - \
                         (SELECT COUNT(*) FROM (SELECT DISTINCT * FROM {from}) AS d) AS DOUBLE) AS v"
                    ),
                ));
                continue;
            }
            Check::Sql(a) => {
                own.push((i, format!("SELECT CAST(COUNT(*) AS DOUBLE) AS v FROM ({}) AS q", a.query)));
                continue;
            }
            Check::Schema(_) => {
                schema_only.push(i);
                continue;
            }
            Check::Monotonic(_) => return Err(refuse("`monotonic` (it needs the rows' order)")),
            Check::RowCount(_) => "CAST(COUNT(*) AS DOUBLE)".to_string(),
            Check::NullFraction(a) => format!(
                "CAST(SUM(CASE WHEN {} IS NULL THEN 1 ELSE 0 END) AS DOUBLE) / NULLIF(CAST(COUNT(*) AS DOUBLE), 0)",
                ident(&a.column)
            ),
            Check::DistinctCount(a) => format!("CAST(COUNT(DISTINCT {}) AS DOUBLE)", ident(&a.column)),
            Check::Stat(a) => {
                if schema.get(a.column.as_str()).is_some_and(|t| t.is_temporal()) {
                    return Err(refuse("a `stat` of a date or time column"));
                }
                let v = as_double(&a.column);
                match a.metric {
                    Metric::Mean => format!("AVG({v})"),
                    Metric::Std => format!("STDDEV_SAMP({v})"),
                    Metric::Min => format!("MIN({v})"),
                    Metric::Max => format!("MAX({v})"),
                    Metric::Median => format!("MEDIAN({v})"),
                    Metric::P95 => format!("percentile_cont(0.95) WITHIN GROUP (ORDER BY {v})"),
                    Metric::Sum => format!("SUM({v})"),
                }
            }
            Check::Freshness(a) => {
                format!("CAST(date_part('epoch', MAX({})) AS DOUBLE)", ident(&a.column))
            }
            row_level => match row_level.failure_sql(schema) {
                Some(fail) => format!("CAST(SUM(CASE WHEN {fail} THEN 1 ELSE 0 END) AS DOUBLE)"),
                None => {
                    return Err(refuse(&format!(
                        "`{}` with date parsing or on a date column (strftime formats and date \
                         arithmetic differ between engines)",
                        row_level.kind()
                    )))
                }
            },
        };
        aggregates.push(format!("{aggregate} AS c{i}"));
    }
    Ok(SqlChecks { aggregate: format!("SELECT {} FROM {from}", aggregates.join(", ")), own, schema_only })
}
