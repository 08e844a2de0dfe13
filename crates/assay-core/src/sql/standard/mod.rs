//! Standard SQL for Polars: the rewrites that turn what users write (TPC-H's text,
//! Postgres and DuckDB habits) into statements Polars 0.55 plans, and the arithmetic rules
//! both engines follow. Each rewrite keeps the statement's meaning, nulls included;
//! docs/sql.md lists them. What is not recognised is left as written, and Polars'
//! refusal then names the construct (`Workspace` offers `--engine datafusion`).
//!
//! The rewrites work on sqlparser's tree and build new pieces as SQL text parsed back
//! (as `sql::for_polars` does), so what they produce is always valid SQL.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use chrono::{Months, NaiveDate};
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, DataType, DateTimeField, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    Join, JoinConstraint, JoinOperator, ObjectName, Query, Select, SelectItem, SetExpr, Statement,
    TableAlias, TableFactor, TableWithJoins, Value, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

mod arithmetic;
mod dates;
mod joins;
mod subqueries;

use arithmetic::*;
use dates::*;
use subqueries::*;

/// A registered table's column, as the rewrites need to know it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    /// A decimal column's scale: averages of it follow the arithmetic rules,
    /// and products of decimals keep every digit.
    pub scale: Option<u32>,
}

/// What the rewrites know of the tables a query may read.
pub type Catalog<'a> = &'a dyn Fn(&str) -> Option<Vec<ColumnInfo>>;

pub(crate) fn parse_expr(text: &str) -> Option<Expr> {
    Parser::new(&GenericDialect {}).try_with_sql(text).ok()?.parse_expr().ok()
}

fn parse_query(text: &str) -> Option<Query> {
    match Parser::parse_sql(&GenericDialect {}, text).ok()?.pop()? {
        Statement::Query(q) => Some(*q),
        _ => None,
    }
}

/// The join that `text` (`JOIN … ON …`, `CROSS JOIN …`) stands for.
fn parse_join(text: &str) -> Option<Join> {
    let q = parse_query(&format!("SELECT 1 FROM __assay_t {text}"))?;
    let SetExpr::Select(s) = *q.body else { return None };
    s.from.into_iter().next()?.joins.into_iter().next()
}

fn parse_factor(text: &str) -> Option<TableFactor> {
    let q = parse_query(&format!("SELECT 1 FROM {text}"))?;
    let SetExpr::Select(s) = *q.body else { return None };
    Some(s.from.into_iter().next()?.relation)
}

/// The conjuncts of a condition (through parentheses).
pub(crate) fn conjuncts(expr: Expr, out: &mut Vec<Expr>) {
    split_on(expr, &BinaryOperator::And, out)
}

/// The operands of a chain of `op` (AND, OR), through parentheses.
fn split_on(expr: Expr, op: &BinaryOperator, out: &mut Vec<Expr>) {
    match expr {
        Expr::BinaryOp { left, op: o, right } if o == *op => {
            split_on(*left, op, out);
            split_on(*right, op, out);
        }
        Expr::Nested(inner) if matches!(&*inner, Expr::BinaryOp { op: o, .. } if o == op) => {
            split_on(*inner, op, out)
        }
        other => out.push(other),
    }
}

pub(crate) fn and_all(parts: Vec<Expr>) -> Option<Expr> {
    parts.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    })
}

/// A column reference as (qualifier, name), lowercased; `None` for anything else.
fn column_ref(expr: &Expr) -> Option<(Option<String>, String)> {
    match expr {
        Expr::Identifier(i) => Some((None, i.value.to_lowercase())),
        Expr::CompoundIdentifier(p) if p.len() == 2 => {
            Some((Some(p[0].value.to_lowercase()), p[1].value.to_lowercase()))
        }
        Expr::Nested(e) => column_ref(e),
        _ => None,
    }
}

/// The column references of `expr` outside any subquery of it.
fn refs_of(expr: &Expr) -> Vec<(Option<String>, String)> {
    struct Refs {
        depth: usize,
        out: Vec<(Option<String>, String)>,
    }
    impl Visitor for Refs {
        type Break = ();
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if self.depth == 0 {
                if let Some(r) = column_ref(e).filter(|_| !matches!(e, Expr::Nested(_))) {
                    self.out.push(r);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut refs = Refs { depth: 0, out: Vec::new() };
    let _ = expr.visit(&mut refs);
    refs.out
}

/// Whether `expr` holds a subquery.
fn has_subquery(expr: &Expr) -> bool {
    struct Any(bool);
    impl Visitor for Any {
        type Break = ();
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.0 = true;
            ControlFlow::Break(())
        }
    }
    let mut any = Any(false);
    let _ = expr.visit(&mut any);
    any.0
}

/// A relation of a FROM clause: the name it is referred to by and its columns (when
/// known).
#[derive(Debug, Clone)]
struct Rel {
    name: String,
    columns: Option<Vec<String>>,
}

/// Where a column reference belongs among `rels`.
#[derive(Debug, PartialEq)]
enum Owner {
    One(usize),
    /// Not among them (an outer query's column).
    None,
    /// Cannot be told (a relation's columns are unknown).
    Unknown,
}

fn owner(rels: &[Rel], r: &(Option<String>, String)) -> Owner {
    match &r.0 {
        Some(q) => match rels.iter().position(|rel| &rel.name == q) {
            Some(i) => Owner::One(i),
            None => Owner::None,
        },
        None => {
            if rels.iter().any(|rel| rel.columns.is_none()) {
                return Owner::Unknown;
            }
            let hits: Vec<usize> = rels
                .iter()
                .enumerate()
                .filter(|(_, rel)| rel.columns.as_ref().is_some_and(|c| c.contains(&r.1)))
                .map(|(i, _)| i)
                .collect();
            match hits.as_slice() {
                [] => Owner::None,
                [i] => Owner::One(*i),
                _ => Owner::Unknown,
            }
        }
    }
}

/// The rewriter's knowledge: registered tables, and the statement's CTEs.
struct Known<'a> {
    catalog: Catalog<'a>,
    ctes: HashMap<String, Vec<String>>,
}

impl Known<'_> {
    fn table_columns(&self, name: &ObjectName) -> Option<Vec<String>> {
        let last = name.0.last()?.as_ident()?.value.to_lowercase();
        if let Some(c) = self.ctes.get(&last) {
            return Some(c.clone());
        }
        if name.0.len() != 1 {
            return None;
        }
        Some((self.catalog)(&last)?.into_iter().map(|c| c.name.to_lowercase()).collect())
    }

    fn rel(&self, factor: &TableFactor) -> Option<Rel> {
        match factor {
            TableFactor::Table { name, alias, args: None, .. } => {
                let table = name.0.last()?.as_ident()?.value.to_lowercase();
                let mut columns = self.table_columns(name);
                if let Some(a) = alias.as_ref().filter(|a| !a.columns.is_empty()) {
                    columns = Some(a.columns.iter().map(|c| c.name.value.to_lowercase()).collect());
                }
                Some(Rel {
                    name: alias.as_ref().map(|a| a.name.value.to_lowercase()).unwrap_or(table),
                    columns,
                })
            }
            TableFactor::Derived { subquery, alias: Some(alias), .. } => {
                let columns = if alias.columns.is_empty() {
                    self.output_names(subquery)
                } else {
                    Some(alias.columns.iter().map(|c| c.name.value.to_lowercase()).collect())
                };
                Some(Rel { name: alias.name.value.to_lowercase(), columns })
            }
            _ => None,
        }
    }

    /// The relations of a FROM clause, joined ones included; `None` when one is of a
    /// kind not handled (a table function, a nested join).
    fn rels(&self, from: &[TableWithJoins]) -> Option<Vec<Rel>> {
        let mut out = Vec::new();
        for t in from {
            out.push(self.rel(&t.relation)?);
            for j in &t.joins {
                out.push(self.rel(&j.relation)?);
            }
        }
        Some(out)
    }

    /// The names of a query's result columns, when they can be told.
    fn output_names(&self, q: &Query) -> Option<Vec<String>> {
        let SetExpr::Select(s) = q.body.as_ref() else { return None };
        let mut out = Vec::new();
        for item in &s.projection {
            match item {
                SelectItem::ExprWithAlias { alias, .. } => out.push(alias.value.to_lowercase()),
                SelectItem::UnnamedExpr(e) => out.push(column_ref(e)?.1),
                SelectItem::Wildcard(_) => {
                    for rel in self.rels(&s.from)? {
                        out.extend(rel.columns?);
                    }
                }
                _ => return None,
            }
        }
        Some(out)
    }
}

/// The CTEs a statement defines, with their columns where they can be told.
fn ctes_of(statement: &Statement, catalog: Catalog) -> HashMap<String, Vec<String>> {
    struct Ctes(Vec<(String, Query, Vec<String>)>);
    impl Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                for cte in &with.cte_tables {
                    let listed = cte.alias.columns.iter().map(|c| c.name.value.to_lowercase()).collect();
                    self.0.push((cte.alias.name.value.to_lowercase(), (*cte.query).clone(), listed));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut found = Ctes(Vec::new());
    let _ = statement.visit(&mut found);
    let mut known = Known { catalog, ctes: HashMap::new() };
    for (name, query, listed) in found.0 {
        let columns = if listed.is_empty() { known.output_names(&query) } else { Some(listed) };
        if let Some(c) = columns {
            known.ctes.insert(name, c);
        }
    }
    known.ctes
}

/// `query` rewritten into standard SQL Polars plans (see the module's doc), or `None`
/// when nothing changes or the text does not parse.
pub fn rewrite(statement: &mut Statement, catalog: Catalog) -> bool {
    run(statement, catalog).changed
}

/// The rewrite of `statement` done, and what it did.
fn run<'a>(statement: &mut Statement, catalog: Catalog<'a>) -> Standard<'a> {
    let ctes = ctes_of(statement, catalog);
    let scales = decimal_names(statement, catalog);
    let decimals = scales.keys().cloned().collect();
    let mut rw = Standard {
        known: Known { catalog, ctes },
        decimals,
        scales,
        changed: false,
        next: 0,
        decorrelated: 0,
    };
    let _ = VisitMut::visit(statement, &mut rw);
    rw
}

/// How many correlated subqueries (scalar, or [NOT] EXISTS) the rewrite for Polars turns
/// into joins: Polars runs them only in that form, DataFusion decorrelates them itself.
pub fn correlated_subqueries(statement: &Statement, catalog: Catalog) -> usize {
    run(&mut statement.clone(), catalog).decorrelated
}

/// The arithmetic rules both engines follow (division in double precision, averages of
/// decimals too), alone: DataFusion plans the rest of standard SQL itself.
pub fn arithmetic_rules(statement: &mut Statement, catalog: Catalog) -> bool {
    let decimals: HashSet<String> = decimal_names(statement, catalog).into_keys().collect();
    let mut rw = Arithmetic { decimals, changed: false };
    let _ = VisitMut::visit(statement, &mut rw);
    rw.changed
}

/// A lone SQL expression over a frame with `columns` (a recipe's `filter` or `derive`, an
/// `expression` check) under the rules a query follows on Polars: intervals, literals and
/// functions rewritten, `/` and averages of decimals in double precision, products of
/// decimals exact. `None` when nothing changes or the text does not parse.
pub fn rewrite_expr(text: &str, columns: &[ColumnInfo]) -> Option<String> {
    let mut expr = parse_expr(text)?;
    let scales: HashMap<String, u32> =
        columns.iter().filter_map(|c| Some((c.name.to_lowercase(), c.scale?))).collect();
    let decimals = scales.keys().cloned().collect();
    let mut rw = Lone { decimals, scales, changed: false };
    let _ = VisitMut::visit(&mut expr, &mut rw);
    rw.changed.then(|| expr.to_string())
}

/// The rewrites of one expression alone (no tables needed): intervals, literal
/// arithmetic, functions, the division and average rules, exact decimal products.
fn one_expression(expr: &Expr, decimals: &HashSet<String>, scales: &HashMap<String, u32>) -> Option<Expr> {
    intervals(expr)
        .or_else(|| literals(expr))
        .or_else(|| functions(expr))
        .or_else(|| arithmetic(expr, decimals))
        .or_else(|| exact_product(expr, scales))
}

/// The rewrites of `Standard` that need no tables: those of one expression.
struct Lone {
    decimals: HashSet<String>,
    scales: HashMap<String, u32>,
    changed: bool,
}

impl VisitorMut for Lone {
    type Break = ();
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(e) = one_expression(expr, &self.decimals, &self.scales) {
            *expr = e;
            self.changed = true;
        }
        ControlFlow::Continue(())
    }
}

struct Standard<'a> {
    known: Known<'a>,
    decimals: HashSet<String>,
    /// The scale of each decimal name (columns, and names of expressions over them).
    scales: HashMap<String, u32>,
    changed: bool,
    /// Numbers the names of the derived tables added, so none collide.
    next: usize,
    /// Correlated subqueries (scalar or [NOT] EXISTS) turned into joins.
    decorrelated: usize,
}

impl VisitorMut for Standard<'_> {
    type Break = ();
    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        self.select(select);
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(e) = one_expression(expr, &self.decimals, &self.scales) {
            *expr = e;
            self.changed = true;
        }
        ControlFlow::Continue(())
    }
}

// ---------------------------------------------------------------------------------
// Intervals: `INTERVAL '3' MONTH` as `INTERVAL '3 months'`, and a date literal plus or
// minus an interval folded into the date (so it prunes scans like any literal).

// ---------------------------------------------------------------------------------
// Functions Polars lacks, in terms of those it has.

// ---------------------------------------------------------------------------------
// The arithmetic rules: `/` divides in double precision on both engines, as DuckDB's
// does (DataFusion divided integers as integers: 5 / 2 = 2; Polars divided decimals at
// the operands' scale: 0.03 for 0.03476), and the average of a decimal is a double
// (DataFusion: 6 places).

// ---------------------------------------------------------------------------------
// Joins and subqueries, one SELECT at a time.

#[cfg(test)]
mod tests;
