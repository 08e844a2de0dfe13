//! SQL text, below the engines: checked before any engine sees it (syntax errors with
//! their line and column, unknown tables, the position of a name an engine complained
//! about), identifiers quoted, and rewritten for Polars (`standard`: standard SQL and
//! the arithmetic rules; `for_polars`: constructs it plans badly); `assist` highlights
//! and completes it for the editor. Both engines parse with this same sqlparser
//! (DataFusion's, which polars-sql shares).

pub mod assist;
pub mod standard;

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, Join, JoinOperator, ObjectName, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
    TableWithJoins, UnaryOperator, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::sql::standard::Catalog;

crate::layer_error! {
    /// What the SQL room says about a query's text.
    pub enum Error {
        /// A query that does not parse, writes, or names an unknown table: exit 2.
        Invalid(invalid) = 2,
        ;
        Ground(crate::error::Error),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Table functions the engines provide; they are not datasets.
const TABLE_FUNCTIONS: &[&str] = &["generate_series", "range", "unnest", "information_schema"];

/// Parses `query` as exactly one statement.
pub fn parse(query: &str) -> Result<Statement> {
    let mut statements = Parser::parse_sql(&GenericDialect {}, query).map_err(|e| syntax_error(query, e))?;
    if statements.iter().any(too_deep) {
        // Dropping the tree would recurse as deep as it goes: it is left to the process.
        std::mem::forget(statements);
        return Err(Error::invalid(format!(
            "SQL: an expression nests more than {MAX_DEPTH} levels deep (a chain of that many \
             operators, such as `a + b + …` or `x = 1 OR x = 2 OR …`): split it, or write a list \
             of values as `x IN (1, 2, …)`"
        )));
    }
    match statements.len() {
        0 => Err(Error::invalid("SQL: the query is empty")),
        1 => Ok(statements.remove(0)),
        n => Err(Error::invalid(format!("SQL: {n} statements given; run one query at a time"))),
    }
}

/// How deep the expressions of a query may nest (operators chained, function calls,
/// subqueries): both engines plan recursively, one level of the tree at a time.
pub const MAX_DEPTH: usize = 1000;

/// Whether `statement`'s expressions nest deeper than `MAX_DEPTH` (the walk stops
/// there, so no deeper recursion happens here).
fn too_deep(statement: &Statement) -> bool {
    struct Depth(usize);
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.0 += 1;
            if self.0 > MAX_DEPTH {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.0 -= 1;
            ControlFlow::Continue(())
        }
    }
    statement.visit(&mut Depth(0)).is_break()
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
            return Error::invalid(format!("SQL syntax error at line {line}, column {col}: {what}"));
        }
    }
    // The query ended too early: the position is just past its last character.
    if text.ends_with("found: EOF") {
        let line = query.lines().count().max(1);
        let col = query.lines().last().map(|l| l.chars().count()).unwrap_or(0) + 1;
        return Error::invalid(format!("SQL syntax error at line {line}, column {col}: {text}"));
    }
    Error::invalid(format!("SQL syntax error: {text}"))
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
    let name = ident(table);
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
        return Err(Error::invalid(format!(
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

/// Most values an `IN (…)` list may have to become a chain of equalities for Polars.
const IN_LIST_AS_EQUALITIES: usize = 32;

/// `query` rewritten into an equivalent statement that Polars 0.55 plans well, or `None`
/// when nothing changes (or the text does not parse: Polars reports that itself).
///
/// - `x IN (subquery)` as a conjunct of a WHERE clause becomes a semi join on the
///   subquery's column, placed just after the relation `x` belongs to when no later
///   join could add rows without it (else after every join): Polars plans `IN
///   (subquery)` as a list compared on every row (TPC-H Q18: 260 s, 0.7 s as a semi
///   join). Rows with a null `x` or no match are dropped either way, as in the WHERE.
/// - `x [NOT] IN (literals)` with up to 32 values becomes `x = a OR x = b …` (`x <> a AND
///   …`), the same three-valued logic: Polars does not push an `is_in` on a literal list
///   below a join, and it does push equalities (TPC-H Q19: 1.35 s, 0.38 s).
///
/// Before these, the standard-SQL rewrites of `sql::standard` (intervals, comma
/// joins, subqueries as joins, functions, the arithmetic rules).
///
/// `columns(table)` describes a registered table's columns (`None` when unknown).
pub fn for_polars(query: &str, columns: Catalog) -> Option<String> {
    let mut statements = Parser::parse_sql(&GenericDialect {}, query).ok()?;
    let [statement] = statements.as_mut_slice() else { return None };
    let standard = crate::sql::standard::rewrite(statement, columns);
    let mut rewrite = PolarsRewrite { columns, changed: false, semi_joins: 0 };
    let _ = VisitMut::visit(statement, &mut rewrite);
    (standard || rewrite.changed).then(|| statement.to_string())
}

/// `query` with the arithmetic rules applied (`sql::standard::arithmetic_rules`), for
/// DataFusion; `None` when nothing changes.
pub fn for_datafusion(query: &str, columns: Catalog) -> Option<String> {
    let mut statements = Parser::parse_sql(&GenericDialect {}, query).ok()?;
    let [statement] = statements.as_mut_slice() else { return None };
    crate::sql::standard::arithmetic_rules(statement, columns).then(|| statement.to_string())
}

struct PolarsRewrite<'a> {
    columns: Catalog<'a>,
    changed: bool,
    semi_joins: usize,
}

impl VisitorMut for PolarsRewrite<'_> {
    type Break = ();
    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        self.semi_joins_for(select);
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::InList { expr: x, list, negated } = expr {
            let literal = |e: &Expr| match e {
                Expr::Value(_) => true,
                Expr::UnaryOp { op: UnaryOperator::Minus, expr } => matches!(**expr, Expr::Value(_)),
                _ => false,
            };
            if (1..=IN_LIST_AS_EQUALITIES).contains(&list.len()) && list.iter().all(literal) {
                let (cmp, join) = if *negated { ("<>", " AND ") } else { ("=", " OR ") };
                let x = match x.as_ref() {
                    Expr::Identifier(_) | Expr::CompoundIdentifier(_) => x.to_string(),
                    _ => format!("({x})"),
                };
                let chain: Vec<String> = list.iter().map(|v| format!("{x} {cmp} {v}")).collect();
                if let Some(e) = parse_expr(&format!("({})", chain.join(join))) {
                    *expr = e;
                    self.changed = true;
                }
            }
        }
        ControlFlow::Continue(())
    }
}

use crate::sql::standard::{and_all, conjuncts, parse_expr};

impl PolarsRewrite<'_> {
    fn semi_joins_for(&mut self, select: &mut Select) {
        // One FROM item (comma-separated ones are cross joins).
        if select.from.len() != 1 {
            return;
        }
        let Some(selection) = select.selection.take() else { return };
        let mut parts = Vec::new();
        conjuncts(selection, &mut parts);
        let mut kept = Vec::new();
        let mut inserts: Vec<(usize, Join)> = Vec::new();
        for part in parts {
            match self.semi_join(&select.from[0], &part) {
                Some(insert) => inserts.push(insert),
                None => kept.push(part),
            }
        }
        select.selection = and_all(kept);
        // From the back, so earlier positions stay right; the same position keeps order.
        inserts.sort_by_key(|(at, _)| *at);
        for (at, join) in inserts.into_iter().rev() {
            select.from[0].joins.insert(at, join);
        }
    }

    /// The semi join standing for `part` when it is `column IN (SELECT one_value …)`,
    /// with the index in the FROM item's joins to insert it at.
    fn semi_join(&mut self, from: &TableWithJoins, part: &Expr) -> Option<(usize, Join)> {
        let Expr::InSubquery { expr, subquery, negated: false } = part else { return None };
        let (qualifier, column) = match expr.as_ref() {
            Expr::Identifier(c) => (None, c.value.clone()),
            Expr::CompoundIdentifier(p) if p.len() == 2 => (Some(p[0].value.clone()), p[1].value.clone()),
            _ => return None,
        };
        let mut subquery = subquery.clone();
        let SetExpr::Select(inner) = subquery.body.as_mut() else { return None };
        let [item] = inner.projection.as_mut_slice() else { return None };
        let name = format!("__assay_in{}", self.semi_joins);
        let value = match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e.clone(),
            _ => return None,
        };
        *item = SelectItem::ExprWithAlias { expr: value, alias: Ident::new(&name) };
        let text = format!("SELECT 1 FROM t SEMI JOIN ({subquery}) AS {name} ON {expr} = {name}.{name}");
        let Ok(mut parsed) = Parser::parse_sql(&GenericDialect {}, &text) else { return None };
        let Some(Statement::Query(q)) = parsed.pop() else { return None };
        let SetExpr::Select(s) = *q.body else { return None };
        let join = s.from.into_iter().next()?.joins.into_iter().next()?;
        self.semi_joins += 1;
        self.changed = true;
        Some((self.position(from, qualifier.as_deref(), &column), join))
    }

    /// Where a filter on `column` can go in the join chain: just after the relation it
    /// belongs to, when every later join keeps the rows of its left side as they are
    /// (inner, left, semi, anti, cross); else after every join.
    fn position(&self, from: &TableWithJoins, qualifier: Option<&str>, column: &str) -> usize {
        let end = from.joins.len();
        let relations: Vec<&TableFactor> =
            std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation)).collect();
        let mut owners = Vec::new();
        for (i, relation) in relations.iter().enumerate() {
            let TableFactor::Table { name, alias, .. } = relation else {
                if qualifier.is_none() {
                    return end; // a derived table's columns are not known here
                }
                continue;
            };
            let table = name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.clone()).unwrap_or_default();
            let called = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| table.clone());
            match qualifier {
                Some(q) if q.eq_ignore_ascii_case(&called) => owners.push(i),
                Some(_) => {}
                None => match (self.columns)(&table) {
                    Some(cols) if cols.iter().any(|c| c.name == column) => owners.push(i),
                    Some(_) => {}
                    None => return end,
                },
            }
        }
        let [owner] = owners.as_slice() else { return end };
        let keeps_left = |j: &Join| {
            matches!(
                j.join_operator,
                JoinOperator::Join(_)
                    | JoinOperator::Inner(_)
                    | JoinOperator::Left(_)
                    | JoinOperator::LeftOuter(_)
                    | JoinOperator::Semi(_)
                    | JoinOperator::LeftSemi(_)
                    | JoinOperator::Anti(_)
                    | JoinOperator::LeftAnti(_)
                    | JoinOperator::CrossJoin(_)
            )
        };
        if from.joins[*owner..].iter().all(keeps_left) {
            *owner
        } else {
            end
        }
    }
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
    fn polars_gets_semi_joins_for_in_subqueries_and_equalities_for_short_lists() {
        let info = |names: &[&str]| -> Vec<crate::sql::standard::ColumnInfo> {
            names
                .iter()
                .map(|n| crate::sql::standard::ColumnInfo { name: n.to_string(), scale: None })
                .collect()
        };
        let cols = |t: &str| match t {
            "customer" => Some(info(&["c_custkey", "c_name"])),
            "orders" => Some(info(&["o_orderkey", "o_custkey"])),
            "lineitem" => Some(info(&["l_orderkey", "l_quantity"])),
            _ => None,
        };
        let rw = |q: &str| for_polars(q, &cols);
        // TPC-H Q18's shape: the semi join goes right after `orders`, before lineitem.
        let q18 = "SELECT c_name FROM customer JOIN orders ON c_custkey = o_custkey \
                   JOIN lineitem ON o_orderkey = l_orderkey WHERE o_orderkey IN \
                   (SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > 300) \
                   AND c_name <> 'x'";
        assert_eq!(
            rw(q18).unwrap(),
            "SELECT c_name FROM customer JOIN orders ON c_custkey = o_custkey SEMI JOIN (SELECT l_orderkey \
             AS __assay_in0 FROM lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > 300) AS __assay_in0 \
             ON o_orderkey = __assay_in0.__assay_in0 JOIN lineitem ON o_orderkey = l_orderkey \
             WHERE c_name <> 'x'"
        );
        // A qualified column finds its relation by alias; a later RIGHT join could add
        // rows without it, so the semi join goes last.
        let q = "SELECT 1 FROM orders o RIGHT JOIN customer c ON o.o_custkey = c.c_custkey \
                 WHERE o.o_orderkey IN (SELECT l_orderkey FROM lineitem)";
        let out = rw(q).unwrap();
        assert!(
            out.ends_with(
                "RIGHT JOIN customer c ON o.o_custkey = c.c_custkey SEMI JOIN (SELECT l_orderkey AS \
                 __assay_in0 FROM lineitem) AS __assay_in0 ON o.o_orderkey = __assay_in0.__assay_in0"
            ),
            "{out}"
        );
        // A later LEFT join keeps the left rows as they are: the semi join goes first.
        let q = "SELECT 1 FROM orders o LEFT JOIN customer c ON o.o_custkey = c.c_custkey \
                 WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem)";
        assert!(rw(q).unwrap().starts_with("SELECT 1 FROM orders o SEMI JOIN"), "{:?}", rw(q));
        // An unknown table's columns: after every join.
        let q = "SELECT 1 FROM mystery m JOIN orders ON m.k = o_custkey WHERE k IN (SELECT c_custkey FROM customer)";
        assert!(rw(q).unwrap().contains("ON m.k = o_custkey SEMI JOIN"), "{:?}", rw(q));
        // Nested queries are rewritten too; the names do not collide.
        let q = "SELECT * FROM (SELECT * FROM orders WHERE o_custkey IN (SELECT c_custkey FROM customer)) t \
                 WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem)";
        let out = rw(q).unwrap();
        assert!(out.contains("__assay_in0") && out.contains("__assay_in1"), "{out}");
        assert!(!out.contains(" IN ("), "{out}");
        // Left alone: NOT IN (a null in the subquery makes it unknown everywhere), an IN
        // under OR, an expression, a subquery of two columns.
        for q in [
            "SELECT 1 FROM orders WHERE o_orderkey NOT IN (SELECT l_orderkey FROM lineitem)",
            "SELECT 1 FROM orders WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem) OR o_custkey = 1",
            "SELECT 1 FROM orders WHERE o_orderkey + 1 IN (SELECT l_orderkey FROM lineitem)",
            "SELECT 1 FROM orders WHERE o_orderkey IN (SELECT l_orderkey, l_quantity FROM lineitem)",
        ] {
            assert_eq!(rw(q), None, "{q}");
        }
        // Short literal lists become equalities (negated: inequalities), anywhere.
        assert_eq!(
            rw("SELECT 1 FROM orders WHERE o_custkey IN (1, -2) OR o_orderkey NOT IN ('a', NULL)").unwrap(),
            "SELECT 1 FROM orders WHERE (o_custkey = 1 OR o_custkey = -2) OR (o_orderkey <> 'a' AND o_orderkey <> NULL)"
        );
        assert_eq!(
            rw("SELECT CASE WHEN o_custkey + 1 IN (3) THEN 1 END FROM orders").unwrap(),
            "SELECT CASE WHEN ((o_custkey + 1) = 3) THEN 1 END FROM orders"
        );
        let long: Vec<String> = (0..33).map(|i| i.to_string()).collect();
        assert_eq!(rw(&format!("SELECT 1 FROM orders WHERE o_custkey IN ({})", long.join(", "))), None);
        assert_eq!(rw("SELECT 1 FROM orders WHERE o_custkey IN (o_orderkey, 2)"), None);
        assert_eq!(rw("SELECT 1 FROM orders WHERE"), None);
    }

    #[test]
    fn locate_skips_literals() {
        assert_eq!(locate("SELECT 'amount', amount FROM t", "amount"), Some((1, 18)));
        assert_eq!(locate("SELECT x\n  FROM t", "t"), Some((2, 8)));
    }
}
