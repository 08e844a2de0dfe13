//! SQL checked before any engine sees it: syntax errors with their line and column,
//! unknown tables, and the position of a name an engine complained about. Both engines
//! parse with this same sqlparser (DataFusion's, which polars-sql shares).

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{ObjectName, Query, Statement, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};

/// Table functions the engines provide; they are not datasets.
const TABLE_FUNCTIONS: &[&str] = &["generate_series", "range", "unnest", "information_schema"];

/// Parses `query` as exactly one statement.
pub fn parse(query: &str) -> Result<Statement> {
    let mut statements = Parser::parse_sql(&GenericDialect {}, query).map_err(|e| syntax_error(query, e))?;
    match statements.len() {
        0 => Err(Error::input("SQL: the query is empty")),
        1 => Ok(statements.remove(0)),
        n => Err(Error::input(format!("SQL: {n} statements given; run one query at a time"))),
    }
}

fn syntax_error(query: &str, err: ParserError) -> Error {
    let text = match &err {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "the query is nested too deeply".to_string(),
    };
    // sqlparser appends " at Line: L, Column: C"; put the position first.
    if let Some(at) = text.rfind(" at Line: ") {
        let (what, pos) = text.split_at(at);
        let mut nums = pos
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse::<u64>().ok());
        if let (Some(line), Some(col)) = (nums.next(), nums.next()) {
            return Error::input(format!("SQL syntax error at line {line}, column {col}: {what}"));
        }
    }
    // The query ended too early: the position is just past its last character.
    if text.ends_with("found: EOF") {
        let line = query.lines().count().max(1);
        let col = query.lines().last().map(|l| l.chars().count()).unwrap_or(0) + 1;
        return Error::input(format!("SQL syntax error at line {line}, column {col}: {text}"));
    }
    Error::input(format!("SQL syntax error: {text}"))
}

/// The common table expressions a statement defines and the relations it reads.
#[derive(Default)]
struct Names {
    ctes: HashSet<String>,
    relations: Vec<ObjectName>,
}

impl Visitor for Names {
    type Break = ();
    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        self.relations.push(relation.clone());
        ControlFlow::Continue(())
    }
}

impl Names {
    fn of(statement: &Statement) -> Names {
        let mut names = Names::default();
        let _ = statement.visit(&mut names);
        names
    }
}

/// The tables `statement` reads by a one-part name (lowercased unless quoted), CTEs
/// excluded.
/// The condition of a statement that is exactly `SELECT * FROM table [WHERE cond]`
/// (`Some(None)` without a WHERE clause); `None` for anything else. The SQL editor's
/// WHERE clause flows back into the tab's filter builder through it.
pub fn where_of(statement: &Statement, table: &str) -> Option<Option<String>> {
    let Statement::Query(q) = statement else { return None };
    let datafusion::sql::sqlparser::ast::SetExpr::Select(select) = q.body.as_ref() else { return None };
    let cond = select.selection.as_ref().map(|e| e.to_string());
    let name = crate::transform::ident(table);
    let canonical = match &cond {
        Some(c) => format!("SELECT * FROM {name} WHERE {c}"),
        None => format!("SELECT * FROM {name}"),
    };
    let again = parse(&canonical).ok()?;
    (again.to_string().to_lowercase() == statement.to_string().to_lowercase()).then_some(cond)
}

pub fn tables_read(statement: &Statement) -> Vec<String> {
    let names = Names::of(statement);
    let mut out: Vec<String> = names
        .relations
        .iter()
        .filter(|r| r.0.len() == 1)
        .filter_map(|r| r.0[0].as_ident())
        .map(|i| if i.quote_style.is_some() { i.value.clone() } else { i.value.to_lowercase() })
        .filter(|n| !names.ctes.contains(&n.to_lowercase()))
        .collect();
    out.dedup();
    out
}

/// Fails with the first table `statement` reads that is not among `known` (nor a CTE).
pub fn check_tables(query: &str, statement: &Statement, known: &[String]) -> Result<()> {
    let names = Names::of(statement);
    for relation in &names.relations {
        if relation.0.len() != 1 {
            continue; // qualified names (catalog.schema.table) are the engine's to resolve
        }
        let Some(ident) = relation.0[0].as_ident() else {
            continue;
        };
        let name = if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() };
        if names.ctes.contains(&name.to_lowercase())
            || TABLE_FUNCTIONS.contains(&name.as_str())
            || known.contains(&name)
        {
            continue;
        }
        let at =
            locate(query, &ident.value).map(|(l, c)| format!(" at line {l}, column {c}")).unwrap_or_default();
        let known = if known.is_empty() {
            "none; name one with --table NAME=DATA".to_string()
        } else {
            known.join(", ")
        };
        return Err(Error::input(format!(
            "SQL error{at}: unknown table `{}` (known tables: {known})",
            ident.value
        )));
    }
    Ok(())
}

/// Line and column (1-based) of the first word in `query` equal to `name`
/// (case-insensitively), skipping string literals and comments.
pub fn locate(query: &str, name: &str) -> Option<(u64, u64)> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, query).tokenize_with_location().ok()?;
    tokens.iter().find_map(|t| match &t.token {
        Token::Word(w) if w.value.eq_ignore_ascii_case(name) => {
            Some((t.span.start.line, t.span.start.column))
        }
        _ => None,
    })
}

/// Whether the statement only reads (SELECT, WITH, VALUES, EXPLAIN, SHOW, DESCRIBE).
pub fn is_read_only(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Query(_)
            | Statement::Explain { .. }
            | Statement::ExplainTable { .. }
            | Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_plain_where_is_read_back_and_anything_more_is_not() {
        let w = |q: &str| where_of(&parse(q).unwrap(), "orders");
        assert_eq!(
            w("select * from Orders where amount > 1 and status = 'A'"),
            Some(Some("amount > 1 AND status = 'A'".into()))
        );
        assert_eq!(w("SELECT * FROM orders"), Some(None));
        assert_eq!(w("SELECT * FROM orders WHERE a = 1 ORDER BY b"), None);
        assert_eq!(w("SELECT a FROM orders WHERE a = 1"), None);
        assert_eq!(w("SELECT * FROM customers WHERE a = 1"), None);
        assert_eq!(w("SELECT * FROM orders WHERE a = 1 LIMIT 5"), None);
        assert_eq!(w("SELECT DISTINCT * FROM orders"), None);
    }

    use super::*;

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let e = parse("SELECT a\nFROM t\nWHERE a = = 1").unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("SQL syntax error at line 3, column 11"), "{m}");
        let m = parse("SELECT a\nFROM t\nWHERE a >").unwrap_err().to_string();
        assert!(m.starts_with("SQL syntax error at line 3, column 10"), "{m}");
    }

    #[test]
    fn unknown_tables_are_found_but_ctes_are_not_tables() {
        let known = vec!["orders".to_string()];
        let q = "WITH big AS (SELECT * FROM orders) SELECT * FROM big JOIN custs USING (id)";
        let e = check_tables(q, &parse(q).unwrap(), &known).unwrap_err();
        assert!(e.to_string().contains("unknown table `custs`"), "{e}");
        assert!(e.to_string().contains("line 1, column 59"), "{e}");
        let q = "WITH big AS (SELECT * FROM orders) SELECT * FROM big";
        check_tables(q, &parse(q).unwrap(), &known).unwrap();
    }

    #[test]
    fn locate_skips_literals() {
        assert_eq!(locate("SELECT 'amount', amount FROM t", "amount"), Some((1, 18)));
        assert_eq!(locate("SELECT x\n  FROM t", "t"), Some((2, 8)));
    }
}
