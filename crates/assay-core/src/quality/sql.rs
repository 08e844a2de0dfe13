//! Checks as SQL, to run them on DataFusion (`assay check --engine datafusion`): one
//! aggregating query for every check that is an aggregate (row-level failures summed from
//! `Check::failure_sql`, table-level observations as SQL aggregates), and one query
//! each for what needs its own pass: a unique key (a group-by), a foreign key (an anti
//! join), `duplicate_rows` (a DISTINCT) and `sql` checks. The measurements are judged by
//! the same code as Polars' (`quality::run_measured`), so both engines give one answer.

use polars::prelude::{LazyFrame, Schema};

use super::rules::{Check, Metric, Rules};
use crate::quality::{Error, Result};
use crate::transform::ident;

/// The queries of a rules file over one table (or view).
#[derive(Debug, Clone, PartialEq)]
pub struct SqlChecks {
    /// One row: `__rows`, then `c{i}` for each check `i` measured here.
    pub aggregate: String,
    /// Checks measured by a query of their own (one row, one number): index and query.
    pub own: Vec<(usize, String)>,
}

/// The queries of `rules` over `from` (see `compile`), whose data `lf` is: its columns
/// are checked first, before any row is read.
pub fn plan(lf: LazyFrame, from: &str, rules: &Rules) -> Result<SqlChecks> {
    let mut lf = lf;
    let schema = lf.collect_schema().map_err(crate::engine::Error::polars("checks"))?;
    rules.check_columns(&schema)?;
    compile(from, rules, &schema)
}

/// How the checks would run on DataFusion over table `table` (`lf`), without running them:
/// the number of scans and every query.
pub fn explain(lf: LazyFrame, table: &str, rules: &Rules) -> Result<String> {
    let plan = plan(lf, &ident(table), rules)?;
    let mut text = format!(
        "{} checks in {} scans on DataFusion: one aggregation, then one query each for {} check(s)\n\n{}\n",
        rules.checks.len(),
        1 + plan.own.len(),
        plan.own.len(),
        plan.aggregate
    );
    for (i, q) in &plan.own {
        text.push_str(&format!("\n{}: {q}\n", rules.checks[*i].id()));
    }
    Ok(text)
}

/// The queries that measure `rules` over `from` (a table name, or a parenthesised
/// query with an alias), whose columns are `schema`. A check SQL engines cannot say the
/// way Polars does is refused, naming the engine and the construct.
pub fn compile(from: &str, rules: &Rules, schema: &Schema) -> Result<SqlChecks> {
    let mut aggregates = vec!["COUNT(*) AS __rows".to_string()];
    let mut own = Vec::new();
    for (i, check) in rules.checks.iter().enumerate() {
        let refuse = |what: &str| {
            Error::mismatch(format!(
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
                let (source, column) = super::rules::reference(&a.references).map_err(Error::invalid)?;
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
            // Checked against the schema, no query (`quality::run_measured`).
            Check::Schema(_) => continue,
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
    Ok(SqlChecks { aggregate: format!("SELECT {} FROM {from}", aggregates.join(", ")), own })
}
