//! The step model shared by the workbench and (soon) recipes: what a user did to the
//! data, as data. Each step lowers to a Polars lazy plan and prints as SQL, so a view on
//! screen can be shown, saved and replayed on either engine.

pub mod filter;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use polars::prelude::{col, LazyFrame, PlSmallStr, PolarsResult, SortMultipleOptions};

use crate::error::{Error, Result};

/// One ordering key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub column: String,
    pub descending: bool,
}

/// One change to the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Keep the rows where an SQL boolean expression holds.
    Filter { sql: String },
    /// Order the rows (nulls last).
    Sort { keys: Vec<SortKey> },
    /// Keep these columns, in this order (hidden and reordered columns).
    Select { columns: Vec<String> },
}

impl Step {
    /// A filter step, its expression checked before any data is read.
    pub fn filter(sql: &str) -> Result<Step> {
        check_expression(sql)?;
        Ok(Step::Filter { sql: sql.trim().to_string() })
    }

    fn lower(&self, lf: LazyFrame) -> PolarsResult<LazyFrame> {
        Ok(match self {
            Step::Filter { sql } => lf.filter(polars::sql::sql_expr(sql)?),
            Step::Sort { keys } => {
                let names: Vec<PlSmallStr> = keys.iter().map(|k| k.column.as_str().into()).collect();
                let options = SortMultipleOptions::default()
                    .with_order_descending_multi(keys.iter().map(|k| k.descending))
                    .with_nulls_last(true)
                    .with_maintain_order(true);
                let exprs: Vec<_> = names.iter().map(|n| col(n.clone())).collect();
                lf.sort_by_exprs(exprs, options)
            }
            Step::Select { columns } => {
                lf.select(columns.iter().map(|c| col(c.as_str())).collect::<Vec<_>>())
            }
        })
    }
}

/// `lf` with every step applied, in order (still lazy).
pub fn apply(mut lf: LazyFrame, steps: &[Step]) -> PolarsResult<LazyFrame> {
    for step in steps {
        lf = step.lower(lf)?;
    }
    Ok(lf)
}

/// Quotes an identifier for SQL when it is not a plain lowercase name.
pub fn ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A string literal for SQL.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The steps as one SQL query over `table` (filters joined by AND, the last sort and the
/// last column selection win: a filter or sort only names columns that exist before
/// any selection too, so the order of steps does not change the answer).
pub fn to_sql(table: &str, steps: &[Step]) -> String {
    let filters: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Filter { sql } => Some(sql.as_str()),
            _ => None,
        })
        .collect();
    let sort = steps.iter().rev().find_map(|s| match s {
        Step::Sort { keys } => Some(keys),
        _ => None,
    });
    let projection = steps.iter().rev().find_map(|s| match s {
        Step::Select { columns } => Some(columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ")),
        _ => None,
    });
    let mut q = format!("SELECT {} FROM {}", projection.as_deref().unwrap_or("*"), ident(table));
    if !filters.is_empty() {
        let joined: Vec<String> = if filters.len() == 1 {
            vec![filters[0].to_string()]
        } else {
            filters.iter().map(|f| format!("({f})")).collect()
        };
        q.push_str(&format!(" WHERE {}", joined.join(" AND ")));
    }
    if let Some(keys) = sort {
        let parts: Vec<String> = keys
            .iter()
            .map(|k| format!("{}{}", ident(&k.column), if k.descending { " DESC" } else { "" }))
            .collect();
        q.push_str(&format!(" ORDER BY {} NULLS LAST", parts.join(", ")));
    }
    q
}

/// Fails with a positioned message unless `sql` parses as one expression.
pub fn check_expression(sql: &str) -> Result<()> {
    let dialect = GenericDialect {};
    let mut parser =
        Parser::new(&dialect).try_with_sql(sql).map_err(|e| Error::input(format!("filter `{sql}`: {e}")))?;
    parser.parse_expr().map_err(|e| Error::input(format!("filter `{sql}`: {e}")))?;
    let rest = parser.peek_token();
    if rest.token != datafusion::sql::sqlparser::tokenizer::Token::EOF {
        return Err(Error::input(format!(
            "filter `{sql}`: unexpected `{}` at line {}, column {}",
            rest.token, rest.span.start.line, rest.span.start.column
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_print_as_one_query() {
        let steps = vec![
            Step::filter("status = 'shipped'").unwrap(),
            Step::Sort { keys: vec![SortKey { column: "amount".into(), descending: true }] },
            Step::filter("\"Odd Name\" IS NOT NULL").unwrap(),
            Step::Select { columns: vec!["status".into(), "Odd Name".into()] },
        ];
        assert_eq!(
            to_sql("orders", &steps),
            "SELECT status, \"Odd Name\" FROM orders WHERE (status = 'shipped') AND (\"Odd Name\" IS NOT NULL) \
             ORDER BY amount DESC NULLS LAST"
        );
        assert_eq!(ident("Odd Name"), "\"Odd Name\"");
        assert_eq!(literal("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn bad_filters_are_refused_before_reading() {
        let e = Step::filter("amount >").unwrap_err().to_string();
        assert!(e.contains("filter `amount >`"), "{e}");
        let e = Step::filter("amount > 1 2").unwrap_err().to_string();
        assert!(e.contains("column 12"), "{e}");
    }
}
