//! Subqueries decorrelated into joins: `IN`, `EXISTS`, `NOT EXISTS` and scalar
//! subqueries (in `WHERE` and `HAVING`), correlated or not, each a join on a grouped
//! derived table with the same answers, nulls included.

use super::*;

impl Standard<'_> {
    /// Comparisons with scalar subqueries and [NOT] EXISTS among the WHERE clause's
    /// conjuncts (and scalar subqueries in HAVING) become joins.
    pub(super) fn subqueries(&mut self, select: &mut Select) {
        if select.from.len() != 1 {
            return;
        }
        let Some(rels) = self.known.rels(&select.from) else { return };
        let selection = select.selection.take();
        select.selection =
            self.joins_for(selection, &mut select.from[0].joins, |me, part| me.conjunct(&rels, part));
        let having = select.having.take();
        select.having = self.joins_for(having, &mut select.from[0].joins, |me, part| {
            me.having_scalar(part).map(|(join, e)| (join, Some(e)))
        });
    }

    /// `clause` with each conjunct `rewrite` turns into a join replaced (by what it
    /// returns, or nothing), the joins appended to `joins`.
    pub(super) fn joins_for(
        &mut self,
        clause: Option<Expr>,
        joins: &mut Vec<Join>,
        mut rewrite: impl FnMut(&mut Self, &Expr) -> Option<(Join, Option<Expr>)>,
    ) -> Option<Expr> {
        let mut parts = Vec::new();
        conjuncts(clause?, &mut parts);
        let mut out = Vec::new();
        for part in parts {
            match rewrite(self, &part) {
                Some((join, replaced)) => {
                    joins.push(join);
                    out.extend(replaced);
                    self.changed = true;
                }
                None => out.push(part),
            }
        }
        and_all(out)
    }

    /// The join standing for one WHERE conjunct and what replaces the conjunct.
    pub(super) fn conjunct(&mut self, rels: &[Rel], part: &Expr) -> Option<(Join, Option<Expr>)> {
        match part {
            Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                let (outer, subquery, flipped) = match (left.as_ref(), right.as_ref()) {
                    (x, Expr::Subquery(q)) if !has_subquery(x) => (x, q, false),
                    (Expr::Subquery(q), x) if !has_subquery(x) => (x, q, true),
                    _ => return None,
                };
                let (join, value) = self.scalar(rels, subquery, true)?;
                let mut cmp =
                    if flipped { format!("{value} {op} {outer}") } else { format!("{outer} {op} {value}") };
                // An inequality with a cross-joined value would be planned as an IEJoin,
                // which Polars' streaming engine cannot run (it panics); wrapped, it is a
                // filter on the joined rows, the same in a WHERE clause.
                if matches!(join.join_operator, JoinOperator::CrossJoin(_)) && *op != BinaryOperator::Eq {
                    cmp = format!("COALESCE({cmp}, FALSE)");
                }
                Some((join, Some(parse_expr(&cmp)?)))
            }
            Expr::Exists { subquery, negated } => self.exists(rels, subquery, *negated),
            Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr } => {
                match expr.as_ref() {
                    Expr::Exists { subquery, negated } => self.exists(rels, subquery, !*negated),
                    Expr::Nested(e) => match e.as_ref() {
                        Expr::Exists { subquery, negated } => self.exists(rels, subquery, !*negated),
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `sum(x) > (SELECT … )` in HAVING, uncorrelated: the one-row subquery is cross
    /// joined and read through `max()` (one value per group, the same in all).
    pub(super) fn having_scalar(&mut self, part: &Expr) -> Option<(Join, Expr)> {
        let Expr::BinaryOp { left, op, right } = part else { return None };
        if !is_comparison(op) {
            return None;
        }
        let (x, q, flipped) = match (left.as_ref(), right.as_ref()) {
            (x, Expr::Subquery(q)) if !has_subquery(x) => (x, q, false),
            (Expr::Subquery(q), x) if !has_subquery(x) => (x, q, true),
            _ => return None,
        };
        let (join, value) = self.scalar(&[], q, false)?;
        let value = format!("max({value})");
        let text = if flipped { format!("{value} {op} {x}") } else { format!("{x} {op} {value}") };
        Some((join, parse_expr(&text)?))
    }

    /// The join that computes a scalar subquery, and the expression reading its value.
    /// Uncorrelated: a cross join with its one row. Correlated by equalities with
    /// `outer` relations: grouped by the inner sides and joined on them (inner when
    /// `filtering` and no row can mean anything but null; else left, so a missing
    /// group reads as null like an empty subquery).
    pub(super) fn scalar(&mut self, outer: &[Rel], q: &Query, filtering: bool) -> Option<(Join, String)> {
        let (inner, split) = self.analyse(outer, q)?;
        if split.unequal.is_some() {
            return None;
        }
        let name = self.fresh("s");
        let value_expr = match &inner.projection[..] {
            [SelectItem::UnnamedExpr(e)] | [SelectItem::ExprWithAlias { expr: e, .. }] => e.clone(),
            _ => return None,
        };
        if split.keys.is_empty() {
            let mut body = inner.clone();
            body.projection = vec![SelectItem::ExprWithAlias {
                expr: value_expr,
                alias: datafusion::sql::sqlparser::ast::Ident::new("__assay_v"),
            }];
            body.selection = and_all(split.local);
            let text = query_text(q, &body);
            let join = parse_join(&format!("CROSS JOIN ({text}) AS {name}"))?;
            return Some((join, format!("{name}.__assay_v")));
        }
        if !inner.group_by_is_empty() || inner.having.is_some() || inner.distinct.is_some() {
            return None;
        }
        // A count of no rows is 0, not null: left to Polars.
        if value_expr.to_string().to_lowercase().contains("count(") {
            return None;
        }
        let Pieces { keys, group, on, local, from } = split.pieces(&inner, &name);
        let text = format!("SELECT {keys}, {value_expr} AS __assay_v FROM {from}{local} GROUP BY {group}");
        let kind = if filtering { "JOIN" } else { "LEFT JOIN" };
        let join = parse_join(&format!("{kind} ({text}) AS {name} ON {on}"))?;
        self.decorrelated += 1;
        Some((join, format!("{name}.__assay_v")))
    }

    /// `[NOT] EXISTS (SELECT … WHERE inner = outer AND …)` as a semi (anti) join on the
    /// correlated columns; with one `inner <> outer` condition besides, as a left join
    /// on the group's smallest and largest value of the inner column (another value
    /// exists exactly when one of them differs from the outer one).
    pub(super) fn exists(&mut self, outer: &[Rel], q: &Query, negated: bool) -> Option<(Join, Option<Expr>)> {
        let (inner, split) = self.analyse(outer, q)?;
        if split.keys.is_empty() || !inner.group_by_is_empty() || inner.having.is_some() {
            return None;
        }
        let name = self.fresh("e");
        let Pieces { keys, group, on, local, from } = split.pieces(&inner, &name);
        self.decorrelated += 1;
        match &split.unequal {
            None => {
                let text = format!("SELECT {keys} FROM {from}{local}");
                let kind = if negated { "ANTI JOIN" } else { "SEMI JOIN" };
                let join = parse_join(&format!("{kind} ({text}) AS {name} ON {on}"))?;
                Some((join, None))
            }
            Some((inner_col, outer_col)) => {
                let text = format!(
                    "SELECT {keys}, min({inner_col}) AS __assay_lo, max({inner_col}) AS __assay_hi \
                     FROM {from}{local} GROUP BY {group}"
                );
                let join = parse_join(&format!("LEFT JOIN ({text}) AS {name} ON {on}"))?;
                let test = format!(
                    "COALESCE({name}.__assay_lo <> {outer_col} OR {name}.__assay_hi <> {outer_col}, FALSE)"
                );
                let test = if negated { format!("NOT {test}") } else { test };
                Some((join, Some(parse_expr(&test)?)))
            }
        }
    }

    /// A subquery's SELECT and its WHERE clause split by
    /// correlation; `None` when it is not one plain SELECT or refers to `outer` in a way
    /// these rewrites do not handle.
    pub(super) fn analyse(&self, outer: &[Rel], q: &Query) -> Option<(Select, Split)> {
        if q.with.is_some() || q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
            return None;
        }
        let SetExpr::Select(inner) = q.body.as_ref() else { return None };
        let rels = self.known.rels(&inner.from)?;
        let is_outer = |r: &(Option<String>, String)| -> Option<bool> {
            match owner(&rels, r) {
                Owner::One(_) => Some(false),
                Owner::Unknown => None,
                Owner::None => match owner(outer, r) {
                    Owner::One(_) => Some(true),
                    // An outer query further out: not handled.
                    _ => None,
                },
            }
        };
        let mut split = Split::default();
        let mut parts = Vec::new();
        if let Some(s) = inner.selection.clone() {
            conjuncts(s, &mut parts);
        }
        for part in parts {
            let refs = refs_of(&part);
            let flags: Option<Vec<bool>> = refs.iter().map(&is_outer).collect();
            let flags = flags?;
            if !flags.contains(&true) {
                // A nested subquery might read this query's outer one, which the derived
                // table would no longer see: left as written.
                if has_subquery(&part) {
                    return None;
                }
                split.local.push(part);
                continue;
            }
            let Expr::BinaryOp { left, op, right } = &part else { return None };
            let (l, r) = (column_ref(left)?, column_ref(right)?);
            let (lo, ro) = (is_outer(&l)?, is_outer(&r)?);
            let (i, o) = match (lo, ro) {
                (false, true) => (left.as_ref().clone(), right.as_ref().clone()),
                (true, false) => (right.as_ref().clone(), left.as_ref().clone()),
                _ => return None,
            };
            match op {
                BinaryOperator::Eq => split.keys.push((i, o)),
                BinaryOperator::NotEq if split.unequal.is_none() => split.unequal = Some((i, o)),
                _ => return None,
            }
        }
        // The projection must not read the outer query.
        for item in &inner.projection {
            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                if refs_of(e).iter().any(|r| is_outer(r) != Some(false)) {
                    return None;
                }
            }
        }
        Some((inner.as_ref().clone(), split))
    }
}

#[derive(Default)]
pub(super) struct Split {
    /// (inner column, outer column) pairs the subquery equates.
    keys: Vec<(Expr, Expr)>,
    /// One `inner <> outer` condition.
    unequal: Option<(Expr, Expr)>,
    /// Conditions on the subquery's own relations.
    local: Vec<Expr>,
}

/// The text of a decorrelated subquery's pieces.
pub(super) struct Pieces {
    /// `inner AS __assay_k0, …`
    keys: String,
    /// `inner, …` (its GROUP BY).
    group: String,
    /// `outer = NAME.__assay_k0 AND …` (the join condition).
    on: String,
    /// ` WHERE local conditions`, or nothing.
    local: String,
    /// The subquery's FROM clause.
    from: String,
}

impl Split {
    fn pieces(&self, inner: &Select, name: &str) -> Pieces {
        let keys = self.keys.iter().enumerate().map(|(i, (k, _))| format!("{k} AS __assay_k{i}"));
        let on = self.keys.iter().enumerate().map(|(i, (_, o))| format!("{o} = {name}.__assay_k{i}"));
        Pieces {
            keys: keys.collect::<Vec<_>>().join(", "),
            group: self.keys.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>().join(", "),
            on: on.collect::<Vec<_>>().join(" AND "),
            local: and_all(self.local.clone()).map(|w| format!(" WHERE {w}")).unwrap_or_default(),
            from: inner.from.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
        }
    }
}

pub(super) trait GroupBy {
    fn group_by_is_empty(&self) -> bool;
}

impl GroupBy for Select {
    fn group_by_is_empty(&self) -> bool {
        match &self.group_by {
            datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, m) => e.is_empty() && m.is_empty(),
            _ => false,
        }
    }
}

/// `q` with its SELECT replaced by `body`, as text.
pub(super) fn query_text(q: &Query, body: &Select) -> String {
    let mut q = q.clone();
    *q.body = SetExpr::Select(Box::new(body.clone()));
    q.to_string()
}

pub(super) fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}

pub(super) fn unnest(e: Expr) -> Expr {
    match e {
        Expr::Nested(inner) => unnest(*inner),
        other => other,
    }
}

/// `relation` filtered by `condition` as a derived table under the name the relation
/// had, so the query's references to it still resolve.
pub(super) fn filtered_relation(relation: &TableFactor, condition: Option<Expr>) -> Option<TableFactor> {
    let condition = condition?;
    let TableFactor::Table { name, alias, args: None, .. } = relation else { return None };
    let called = match alias {
        Some(TableAlias { name: a, columns, .. }) if columns.is_empty() => a.to_string(),
        Some(_) => return None,
        None => name.0.last()?.to_string(),
    };
    let inner = match alias {
        Some(a) => format!("{name} AS {}", a.name),
        None => name.to_string(),
    };
    parse_factor(&format!("(SELECT * FROM {inner} WHERE {condition}) AS {called}"))
}
