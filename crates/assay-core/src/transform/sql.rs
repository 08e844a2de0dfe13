//! Steps as SQL: one step over its input's columns, a view's steps as one query (a
//! chain of common table expressions, or one plain query for filters and sorts),
//! literals and types, and the checks that an expression or query names known columns.

use super::*;

/// A column of a step's input, as SQL sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlColumn {
    pub name: String,
    /// Its SQL type (to cast a `fill_null` value to).
    pub sql_type: String,
}

/// What a step's SQL is written over.
pub struct SqlInput<'a> {
    /// The relation holding the step's input.
    pub table: &'a str,
    pub columns: &'a [SqlColumn],
    /// The row order in effect (from an earlier sort).
    pub order: &'a [SortKey],
    /// The columns of another table (for `join`).
    pub columns_of: &'a dyn Fn(&str) -> Option<Vec<String>>,
}

pub(super) fn order_by(keys: &[SortKey]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|k| format!("{}{} NULLS LAST", ident(&k.column), if k.descending { " DESC" } else { "" }))
        .collect();
    parts.join(", ")
}

/// The SQL type of a Polars column type.
pub fn sql_type(dtype: &DataType) -> String {
    match dtype {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "TINYINT UNSIGNED".into(),
        DataType::UInt16 => "SMALLINT UNSIGNED".into(),
        DataType::UInt32 => "INT UNSIGNED".into(),
        DataType::UInt64 => "BIGINT UNSIGNED".into(),
        DataType::Float32 => "REAL".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Date => "DATE".into(),
        DataType::Datetime(_, _) => "TIMESTAMP".into(),
        DataType::Time => "TIME".into(),
        DataType::Decimal(p, s) => format!("DECIMAL({p}, {s})"),
        _ => "VARCHAR".into(),
    }
}

/// The steps as one SQL query over `table`, whatever their kinds: a chain of common
/// table expressions (`step1` … `stepN`), each step written over the one before, with
/// the columns Polars plans for each step's input. Filters, sorts and selections alone
/// read as one plain query (`to_sql`).
pub fn view_sql(table: &str, base: LazyFrame, steps: &[Step], tables: &Tables) -> Result<String> {
    let steps: Vec<Step> = steps.iter().filter_map(|s| s.enabled().cloned()).collect();
    if is_simple(&steps) {
        return Ok(to_sql(table, &steps));
    }
    let polars_error = |e: PolarsError| Error::invalid(e.to_string());
    let mut lf = base;
    let mut ctes = Vec::new();
    let mut order = Vec::new();
    let mut previous = ident(table);
    for (i, step) in steps.iter().enumerate() {
        let name = format!("step{}", i + 1);
        let body = match step {
            Step::Sql { query, .. } => with_input(query, &previous)?,
            _ => step_sql(step, &previous, lf.clone(), &order, tables)?,
        };
        ctes.push(format!("{name} AS ({body})"));
        lf = step.lower(lf, tables).map_err(polars_error)?;
        let after: Vec<String> =
            lf.collect_schema().map_err(polars_error)?.iter_names().map(|n| n.to_string()).collect();
        order = step.order_after(&order, &after);
        previous = name;
    }
    let tail = if order.is_empty() { String::new() } else { format!(" ORDER BY {}", order_by(&order)) };
    Ok(format!("WITH {} SELECT * FROM {previous}{tail}", ctes.join(", ")))
}

/// Whether `to_sql` writes these steps as one plain query (filters, sorts, column
/// selections and disabled steps only).
pub fn is_simple(steps: &[Step]) -> bool {
    steps.iter().all(|s| {
        matches!(s, Step::Filter { .. } | Step::Sort { .. } | Step::Select { .. } | Step::Disabled(_))
    })
}

/// One step as SQL over the relation `input`, whose rows `lf` plans (for its columns)
/// in the order `order`; an `sql` step is its own query (over `input`).
pub fn step_sql(
    step: &Step,
    input: &str,
    mut lf: LazyFrame,
    order: &[SortKey],
    tables: &Tables,
) -> Result<String> {
    if let Step::Sql { query, .. } = step {
        return Ok(query.clone());
    }
    let schema = lf.collect_schema().map_err(crate::engine::Error::from)?;
    let columns: Vec<SqlColumn> =
        schema.iter().map(|(n, t)| SqlColumn { name: n.to_string(), sql_type: sql_type(t) }).collect();
    let columns_of = |name: &str| -> Option<Vec<String>> {
        let mut t = tables.get(name)?.clone();
        t.collect_schema().ok().map(|s| s.iter_names().map(|n| n.to_string()).collect())
    };
    step.to_sql(&SqlInput { table: input, columns: &columns, order, columns_of: &columns_of })
}

/// `query` with `input` defined as `SELECT * FROM previous` (added to its own WITH).
pub fn with_input(query: &str, previous: &str) -> Result<String> {
    use datafusion::sql::sqlparser::ast::Statement;
    let statement = crate::sql::parse(query)?;
    let Statement::Query(mut q) = statement else {
        return Err(Error::invalid(format!("sql step: not a query: {query}")));
    };
    let wrapper = format!("WITH {INPUT} AS (SELECT * FROM {previous}) SELECT 1");
    let Statement::Query(w) = crate::sql::parse(&wrapper)? else {
        return Err(Error::failed("sql step: the input wrapper is not a query"));
    };
    let cte = w.with.clone().ok_or_else(|| Error::failed("sql step: the input wrapper has no WITH"))?;
    match q.with.as_mut() {
        Some(with) => with.cte_tables.insert(0, cte.cte_tables[0].clone()),
        None => q.with = Some(cte),
    }
    Ok(q.to_string())
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
    let mut parser = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| Error::invalid(format!("filter `{sql}`: {e}")))?;
    parser.parse_expr().map_err(|e| Error::invalid(format!("filter `{sql}`: {e}")))?;
    let rest = parser.peek_token();
    if rest.token != datafusion::sql::sqlparser::tokenizer::Token::EOF {
        return Err(Error::invalid(format!(
            "filter `{sql}`: unexpected `{}` at line {}, column {}",
            rest.token, rest.span.start.line, rest.span.start.column
        )));
    }
    Ok(())
}

/// The first column an SQL expression names that `known` lacks, as the user wrote it
/// (a quoted name must match exactly, a bare one may differ in case), so a rule or a step
/// naming a column that is not there is refused before any engine plans it.
pub fn unknown_column_in(sql: &str, known: &[&str]) -> Option<String> {
    use datafusion::sql::sqlparser::ast::{visit_expressions, Expr as SqlExpr, Ident};
    use std::ops::ControlFlow;
    let expr = Parser::new(&GenericDialect {}).try_with_sql(sql).ok()?.parse_expr().ok()?;
    let missing = |id: &Ident| {
        let found = if id.quote_style.is_some() {
            known.contains(&id.value.as_str())
        } else {
            known.iter().any(|k| k.eq_ignore_ascii_case(&id.value))
        };
        (!found).then(|| id.value.clone())
    };
    let flow = visit_expressions(&expr, |e| {
        let name = match e {
            SqlExpr::Identifier(id) => missing(id),
            // `t.col` or a struct field: the first part names the column or the table.
            SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => missing(&parts[1])
                .filter(|_| missing(&parts[0]).is_some())
                .map(|_| parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".")),
            _ => None,
        };
        match name {
            Some(n) => ControlFlow::Break(n),
            None => ControlFlow::Continue(()),
        }
    });
    match flow {
        ControlFlow::Break(n) => Some(n),
        ControlFlow::Continue(()) => None,
    }
}

/// The columns of `known` that the SQL expression `sql` names, in the order it first
/// names them, as `known` spells them; none when it does not parse.
pub fn columns_in(sql: &str, known: &[&str]) -> Vec<String> {
    use datafusion::sql::sqlparser::ast::{visit_expressions, Expr as SqlExpr, Ident};
    use std::ops::ControlFlow;
    let Some(expr) =
        Parser::new(&GenericDialect {}).try_with_sql(sql).ok().and_then(|mut p| p.parse_expr().ok())
    else {
        return Vec::new();
    };
    let find = |id: &Ident| -> Option<&str> {
        if id.quote_style.is_some() {
            known.iter().copied().find(|k| *k == id.value)
        } else {
            known
                .iter()
                .copied()
                .find(|k| *k == id.value)
                .or_else(|| known.iter().copied().find(|k| k.eq_ignore_ascii_case(&id.value)))
        }
    };
    let mut out: Vec<String> = Vec::new();
    let _ = visit_expressions(&expr, |e| {
        let found = match e {
            SqlExpr::Identifier(id) => find(id),
            SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => {
                find(&parts[0]).or_else(|| find(&parts[1]))
            }
            _ => None,
        };
        if let Some(name) = found.filter(|n| !out.iter().any(|o| o == n)) {
            out.push(name.to_string());
        }
        ControlFlow::<()>::Continue(())
    });
    out
}
