//! `assay suggest`: a rules file proposed from a profile of the data, after Deequ's
//! heuristics. Candidates are made from the profile (completeness, uniqueness, ranges,
//! categorical sets) and, for text columns, every format and parse a column might hold;
//! all candidates are run in one scan, text candidates are kept only where at least 90%
//! of the values fit, and every suggestion says how many rows would fail it today.

use std::fmt::Write as _;

use polars::prelude::LazyFrame;

use super::rules::{Check, Rules};
use crate::profile::ColumnProfile;
use crate::quality::Result;

/// A text column fits a format or a parse when at most this fraction of its non-null
/// values do not.
const FIT: f64 = 0.10;
/// A value belongs to a categorical set when at least this fraction of rows hold it.
const COMMON: f64 = 0.01;
/// Columns with more distinct values than this are not categorical.
const MAX_CATEGORIES: u64 = 50;

/// One proposed check and what it finds today.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub check: Check,
    /// How it fares on the data today, in words (`fails 3 rows (0.01%) today`).
    pub today: String,
    pub failing_rows: u64,
}

/// The proposed checks, each with what it would find today.
pub fn suggest(
    table: &str,
    lf: LazyFrame,
    profile: &[ColumnProfile],
    values: &CategoryValues,
) -> Result<Vec<Suggestion>> {
    let rows = profile.first().map(|c| c.rows).unwrap_or(0);
    let mut candidates: Vec<(String, bool)> = Vec::new(); // (TOML of the check, keep only if it fits)
    for c in profile {
        let name = toml_string(&c.name);
        if rows == 0 {
            break;
        }
        if c.nulls == 0 {
            candidates.push((format!("not_null = {{ column = {name} }}"), false));
        } else if c.null_fraction < 0.5 {
            let max = (c.null_fraction * 100.0).ceil() / 100.0;
            candidates.push((format!("null_fraction = {{ column = {name}, max = {max} }}"), false));
        }
        if c.distinct == rows - c.nulls && rows > 1 {
            candidates.push((format!("unique = {{ columns = [{name}] }}"), false));
        }
        let numeric = c.mean.is_some();
        if numeric {
            if let (Some(lo), Some(hi)) = (c.min.as_deref(), c.max.as_deref()) {
                let lo: f64 = lo.parse().unwrap_or(0.0);
                let hi: f64 = hi.parse().unwrap_or(0.0);
                // Deequ's non-negative rule, or the range seen.
                if lo >= 0.0 {
                    candidates.push((format!("between = {{ column = {name}, min = 0 }}"), false));
                } else {
                    candidates
                        .push((format!("between = {{ column = {name}, min = {lo}, max = {hi} }}"), false));
                }
            }
        }
        if c.dtype == "str" {
            if let Some(set) = values.get(&c.name) {
                let list: Vec<String> = set.iter().map(|v| toml_string(v)).collect();
                candidates
                    .push((format!("in_set = {{ column = {name}, values = [{}] }}", list.join(", ")), false));
            }
            for format in ["email", "uuid", "url", "ipv4", "date", "datetime"] {
                candidates.push((format!("format = {{ column = {name}, as = \"{format}\" }}"), true));
            }
            for parse in ["int", "float"] {
                candidates.push((format!("parseable = {{ column = {name}, as = \"{parse}\" }}"), true));
            }
        }
    }
    // Only the counts are wanted: no failing-row samples (each would be one more query).
    let text: String = std::iter::once("samples = 0\n".to_string())
        .chain(candidates.iter().map(|(c, _)| format!("[[checks]]\n{c}\n")))
        .collect();
    let rules = Rules::parse(&text, "suggestions")?;
    let report = super::run(table, lf, &rules, &Default::default())?;
    let mut out = Vec::new();
    let mut taken_format: Vec<String> = Vec::new();
    for ((_, must_fit), (check, result)) in candidates.iter().zip(rules.checks.iter().zip(&report.checks)) {
        let column = check.columns().first().cloned().unwrap_or_default();
        let non_null = profile.iter().find(|p| p.name == column).map(|p| p.rows - p.nulls).unwrap_or(rows);
        if *must_fit {
            let fits = non_null > 0 && (result.failing_rows as f64) <= FIT * non_null as f64;
            // One format or parse per column: the first that fits (int before float).
            if !fits || taken_format.contains(&column) {
                continue;
            }
            taken_format.push(column.clone());
        }
        let why = match check {
            Check::InSet(_) => " (values held by at least 1% of the rows)",
            Check::Between(a) if a.max.is_none() => " (no negative values seen)",
            _ => "",
        };
        let today = if check.row_level() {
            format!("fails {} rows ({:.2}%) today{why}", result.failing_rows, result.failing_fraction * 100.0)
        } else {
            format!(
                "{} today (observed {})",
                result.status.name(),
                result.observed.map(crate::text::short_number).unwrap_or_default()
            )
        };
        out.push(Suggestion { check: check.clone(), today, failing_rows: result.failing_rows });
    }
    Ok(out)
}

/// The suggestions as a rules file, each check preceded by what it would find today.
pub fn to_toml(table: &str, rows: u64, suggestions: &[Suggestion]) -> String {
    let mut out = format!(
        "# Checks suggested by `assay suggest` for {table} ({rows} rows). Each says how many rows\n\
         # would fail it today; keep, edit or drop them, then run `assay check DATA --rules FILE`.\n"
    );
    for s in suggestions {
        let _ = write!(out, "\n# {}\n[[checks]]\n{}\n", s.today, s.check.to_toml());
    }
    out
}

/// The common values of each low-cardinality text column (see `COMMON`).
pub type CategoryValues = std::collections::HashMap<String, Vec<String>>;

/// Which text columns are categorical, and their common values, in one scan.
pub fn category_values(lf: LazyFrame, profile: &[ColumnProfile]) -> Result<CategoryValues> {
    use polars::prelude::*;
    let rows = profile.first().map(|c| c.rows).unwrap_or(0);
    let columns: Vec<&ColumnProfile> = profile
        .iter()
        .filter(|c| c.dtype == "str" && c.distinct > 0 && c.distinct <= MAX_CATEGORIES)
        .collect();
    if columns.is_empty() || rows == 0 {
        return Ok(CategoryValues::new());
    }
    let exprs: Vec<Expr> = columns
        .iter()
        .map(|c| {
            col(c.name.as_str())
                .drop_nulls()
                .value_counts(true, false, "n", false)
                .implode(false)
                .alias(c.name.as_str())
        })
        .collect();
    let df = crate::engine::polars::collect(lf.select(exprs))
        .map_err(|e| crate::error::Error::runtime(format!("suggest: {e}")))?;
    let mut out = CategoryValues::new();
    for c in columns {
        let mut keep: Vec<String> = crate::profile::counts(&df, &c.name)
            .into_iter()
            .filter(|(_, n)| *n as f64 >= COMMON * rows as f64)
            .filter_map(|(value, _)| value)
            .collect();
        if !keep.is_empty() {
            keep.sort();
            out.insert(c.name.clone(), keep);
        }
    }
    Ok(out)
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A check made from one column in the workbench (two keys: `a`, then which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FromColumn {
    NotNull,
    Unique,
    /// `in_set` of the values the column holds now.
    InValues,
    /// `between` the column's minimum and maximum now.
    Range,
}

/// Distinct values past which `in_set` from the current values is refused (not a set).
pub const MAX_SET: usize = 100;

/// The check `kind` on `column`, its set or range read from `lf` (one aggregation).
pub fn from_column(lf: LazyFrame, column: &str, kind: FromColumn) -> Result<Check> {
    use crate::quality::Error;
    use polars::prelude::*;
    let made = |text: String| -> Result<Check> {
        let rules = Rules::parse(&format!("[[checks]]\n{text}\n"), "workbench")?;
        Ok(rules.checks.into_iter().next().expect("one check was written"))
    };
    let name = toml_string(column);
    let mut lf = lf;
    let dtype = lf
        .collect_schema()
        .map_err(crate::engine::Error::from)?
        .get(column)
        .cloned()
        .ok_or_else(|| Error::invalid(format!("no column `{column}`")))?;
    match kind {
        FromColumn::NotNull => made(format!("not_null = {{ column = {name} }}")),
        FromColumn::Unique => made(format!("unique = {{ columns = [{name}] }}")),
        FromColumn::InValues => {
            if !(dtype == DataType::String || dtype.is_integer() || dtype == DataType::Boolean) {
                return Err(Error::invalid(format!(
                    "`{column}` is {dtype}: a set of values is for text, integer or boolean columns"
                )));
            }
            let df = crate::engine::polars::collect(lf.select([
                col(column).drop_nulls().unique().sort(Default::default()).head(Some(MAX_SET + 1)),
            ]))
            .map_err(crate::engine::Error::from)?;
            let s = df.column(column).map_err(crate::engine::Error::from)?;
            if s.len() > MAX_SET {
                return Err(Error::invalid(format!(
                    "`{column}` holds more than {MAX_SET} distinct values: not a set (try a range or a regex)"
                )));
            }
            let values: Vec<String> = s
                .as_materialized_series()
                .iter()
                .map(|v| match v {
                    AnyValue::Boolean(b) => b.to_string(),
                    v if v.is_integer() => v.extract::<i64>().map(|i| i.to_string()).unwrap_or_default(),
                    v => toml_string(&crate::profile::text(&v).unwrap_or_default()),
                })
                .collect();
            made(format!("in_set = {{ column = {name}, values = [{}] }}", values.join(", ")))
        }
        FromColumn::Range => {
            if !dtype.is_primitive_numeric() {
                return Err(Error::invalid(format!("`{column}` is {dtype}: a range is for numeric columns")));
            }
            let v = || col(column).cast(DataType::Float64);
            let df =
                crate::engine::polars::collect(lf.select([v().min().alias("lo"), v().max().alias("hi")]))
                    .map_err(crate::engine::Error::from)?;
            let get = |n: &str| df.column(n).ok()?.get(0).ok()?.extract::<f64>();
            match (get("lo"), get("hi")) {
                (Some(lo), Some(hi)) => {
                    made(format!("between = {{ column = {name}, min = {lo:?}, max = {hi:?} }}"))
                }
                _ => Err(Error::invalid(format!("`{column}` has no values to take a range from"))),
            }
        }
    }
}
