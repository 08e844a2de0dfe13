//! The shapes of joins Polars plans: `OR`s of conditions with a common factor factored
//! out, comma joins turned into joins on their equalities, join conditions that are not
//! equalities moved to the `WHERE` clause.

use super::*;

impl Standard<'_> {
    pub(super) fn fresh(&mut self, prefix: &str) -> String {
        let n = self.next;
        self.next += 1;
        format!("__assay_{prefix}{n}")
    }

    pub(super) fn select(&mut self, select: &mut Select) {
        self.factor_ors(select);
        self.comma_joins(select);
        self.join_conditions(select);
        self.subqueries(select);
    }

    /// `(a AND x) OR (a AND y)` as `a AND ((x) OR (y))`: TPC-H Q19 repeats its join
    /// condition in every branch, which else plans as a cross join.
    pub(super) fn factor_ors(&mut self, select: &mut Select) {
        let Some(selection) = select.selection.take() else { return };
        let mut parts = Vec::new();
        conjuncts(selection, &mut parts);
        let mut out = Vec::new();
        for part in parts {
            let mut branches = Vec::new();
            split_on(part.clone(), &BinaryOperator::Or, &mut branches);
            if branches.len() < 2 {
                out.push(part);
                continue;
            }
            let split: Vec<Vec<Expr>> = branches
                .into_iter()
                .map(|b| {
                    let mut c = Vec::new();
                    conjuncts(unnest(b), &mut c);
                    c
                })
                .collect();
            let common: Vec<Expr> =
                split[0].iter().filter(|c| split[1..].iter().all(|b| b.contains(c))).cloned().collect();
            if common.is_empty() {
                out.push(part);
                continue;
            }
            let rest: Vec<String> = split
                .into_iter()
                .map(|b| {
                    let left: Vec<Expr> = b.into_iter().filter(|c| !common.contains(c)).collect();
                    and_all(left).map(|e| format!("({e})")).unwrap_or_else(|| "TRUE".to_string())
                })
                .collect();
            let Some(or) = parse_expr(&format!("({})", rest.join(" OR "))) else {
                out.push(part);
                continue;
            };
            out.extend(common);
            out.push(or);
            self.changed = true;
        }
        select.selection = and_all(out);
    }

    /// `FROM a, b, c WHERE a.k = b.k AND …` as `FROM a JOIN b ON a.k = b.k …`: each
    /// next relation is the first one an equality links to those already joined (so
    /// Polars, which plans a comma as a cross join, never builds a product it need not);
    /// a relation nothing links comes last, as a cross join.
    pub(super) fn comma_joins(&mut self, select: &mut Select) {
        if select.from.len() < 2 || select.from.iter().any(|t| !t.joins.is_empty()) {
            return;
        }
        let Some(rels) = self.known.rels(&select.from) else { return };
        let mut parts = Vec::new();
        if let Some(s) = select.selection.take() {
            conjuncts(s, &mut parts);
        }
        // Each equality between columns of two different relations, by index.
        let links: Vec<Option<(usize, usize)>> = parts
            .iter()
            .map(|p| match p {
                Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => {
                    match (
                        column_ref(left).map(|r| owner(&rels, &r)),
                        column_ref(right).map(|r| owner(&rels, &r)),
                    ) {
                        (Some(Owner::One(a)), Some(Owner::One(b))) if a != b => Some((a, b)),
                        _ => None,
                    }
                }
                _ => None,
            })
            .collect();
        let mut used = vec![false; parts.len()];
        let mut joined = vec![0usize];
        let mut text = String::new();
        let relations: Vec<TableFactor> = select.from.iter().map(|t| t.relation.clone()).collect();
        while joined.len() < rels.len() {
            let next = (0..rels.len()).filter(|i| !joined.contains(i)).find(|i| {
                links.iter().any(|l| {
                    l.is_some_and(|(a, b)| {
                        (a == *i && joined.contains(&b)) || (b == *i && joined.contains(&a))
                    })
                })
            });
            match next {
                Some(i) => {
                    let mut on = Vec::new();
                    for (k, l) in links.iter().enumerate() {
                        if let Some((a, b)) = l {
                            if !used[k]
                                && ((*a == i && joined.contains(b)) || (*b == i && joined.contains(a)))
                            {
                                used[k] = true;
                                on.push(parts[k].to_string());
                            }
                        }
                    }
                    text.push_str(&format!(" JOIN {} ON {}", relations[i], on.join(" AND ")));
                    joined.push(i);
                }
                None => {
                    let i = (0..rels.len()).find(|i| !joined.contains(i)).unwrap_or(0);
                    text.push_str(&format!(" CROSS JOIN {}", relations[i]));
                    joined.push(i);
                }
            }
        }
        let Some(q) = parse_query(&format!("SELECT 1 FROM {}{text}", relations[0])) else {
            select.selection = and_all(parts);
            return;
        };
        let SetExpr::Select(s) = *q.body else { return };
        select.from = s.from;
        select.selection = and_all(parts.into_iter().zip(used).filter(|(_, u)| !u).map(|(p, _)| p).collect());
        self.changed = true;
    }

    /// A join condition Polars refuses (anything but equalities of columns) is split:
    /// conditions on the joined relation alone filter it before the join (a left join's
    /// meaning: TPC-H Q13's `NOT LIKE`), and, for an inner join, the rest move to WHERE.
    pub(super) fn join_conditions(&mut self, select: &mut Select) {
        let Some(rels) = self.known.rels(&select.from) else { return };
        let mut to_where = Vec::new();
        let mut offset = 0;
        for t in &mut select.from {
            offset += 1;
            for j in &mut t.joins {
                let index = offset;
                offset += 1;
                let (inner, constraint) = match &mut j.join_operator {
                    JoinOperator::Join(c) | JoinOperator::Inner(c) => (true, c),
                    JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (false, c),
                    _ => continue,
                };
                let JoinConstraint::On(on) = constraint else { continue };
                let mut parts = Vec::new();
                conjuncts(on.clone(), &mut parts);
                let plain = |p: &Expr| {
                    matches!(p, Expr::BinaryOp { left, op: BinaryOperator::Eq, right }
                        if column_ref(left).is_some() && column_ref(right).is_some())
                };
                if parts.iter().all(plain) {
                    continue;
                }
                let own = |p: &Expr| {
                    !has_subquery(p) && refs_of(p).iter().all(|r| owner(&rels, r) == Owner::One(index))
                };
                let (keep, rest): (Vec<Expr>, Vec<Expr>) = parts.into_iter().partition(plain);
                let (mine, other): (Vec<Expr>, Vec<Expr>) = rest.into_iter().partition(own);
                if !inner && !other.is_empty() {
                    continue; // a left join's condition on both sides: left to Polars
                }
                let Some(k) = and_all(keep) else { continue };
                if !mine.is_empty() {
                    let Some(filtered) = filtered_relation(&j.relation, and_all(mine.clone())) else {
                        continue;
                    };
                    j.relation = filtered;
                }
                *on = k;
                to_where.extend(other);
                self.changed = true;
            }
        }
        if !to_where.is_empty() {
            let mut parts = Vec::new();
            if let Some(s) = select.selection.take() {
                parts.push(s);
            }
            parts.extend(to_where);
            select.selection = and_all(parts);
        }
    }
}
