//! The arithmetic rules both engines follow: `/` and averages of decimals in double
//! precision, products of decimals exact (widened so no digit is lost), and literal
//! arithmetic folded; the decimal columns and their scales found in the statement.

use super::*;

/// Decimal columns of the tables the statement reads, and the names given to
/// expressions over them (projection aliases, column lists), to a fixed point; with
/// their scales.
pub(super) fn decimal_names(statement: &Statement, catalog: Catalog) -> HashMap<String, u32> {
    struct Tables(Vec<String>);
    impl Visitor for Tables {
        type Break = ();
        fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
            if let Some(i) = r.0.last().and_then(|p| p.as_ident()) {
                self.0.push(i.value.to_lowercase());
            }
            ControlFlow::Continue(())
        }
    }
    let mut tables = Tables(Vec::new());
    let _ = statement.visit(&mut tables);
    let mut names: HashMap<String, u32> = tables
        .0
        .iter()
        .filter_map(|t| catalog(t))
        .flatten()
        .filter_map(|c| Some((c.name.to_lowercase(), c.scale?)))
        .collect();
    if names.is_empty() {
        return names;
    }
    // (name, expression) pairs that name an expression.
    struct Named(Vec<(String, Expr)>);
    impl Visitor for Named {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                for cte in &with.cte_tables {
                    if let SetExpr::Select(s) = cte.query.body.as_ref() {
                        for (c, item) in cte.alias.columns.iter().zip(&s.projection) {
                            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                                item
                            {
                                self.0.push((c.name.value.to_lowercase(), e.clone()));
                            }
                        }
                    }
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
            for item in &s.projection {
                if let SelectItem::ExprWithAlias { expr, alias } = item {
                    self.0.push((alias.value.to_lowercase(), expr.clone()));
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Derived { subquery, alias: Some(alias), .. } = t {
                if let SetExpr::Select(s) = subquery.body.as_ref() {
                    for (c, item) in alias.columns.iter().zip(&s.projection) {
                        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                            self.0.push((c.name.value.to_lowercase(), e.clone()));
                        }
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut named = Named(Vec::new());
    let _ = statement.visit(&mut named);
    loop {
        let before = names.len();
        for (name, expr) in &named.0 {
            if !names.contains_key(name) {
                if let Some(s) = scale(expr, &names) {
                    names.insert(name.clone(), s);
                }
            }
        }
        if names.len() == before {
            return names;
        }
    }
}

/// Whether `expr` reads a column in `names` (outside its subqueries).
pub(super) fn mentions(expr: &Expr, names: &HashSet<String>) -> bool {
    refs_of(expr).iter().any(|(_, n)| names.contains(n))
}

pub(super) fn arithmetic(expr: &Expr, decimals: &HashSet<String>) -> Option<Expr> {
    let double = |e: &Expr| match e {
        Expr::Cast {
            data_type: DataType::Double(_) | DataType::DoublePrecision | DataType::Float64, ..
        } => e.to_string(),
        _ => format!("CAST({e} AS DOUBLE)"),
    };
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::Divide, right }
            if !(is_double(left) && is_double(right)) =>
        {
            parse_expr(&format!("{} / {}", double(left), double(right)))
        }
        Expr::Function(f) => {
            let name = f.name.0.last()?.as_ident()?.value.to_lowercase();
            if name != "avg" && name != "mean" {
                return None;
            }
            let args = function_args(f)?;
            let [x] = args.as_slice() else { return None };
            if is_double(x) || !mentions(x, decimals) {
                return None;
            }
            let mut out = f.clone();
            let FunctionArguments::List(list) = &mut out.args else { return None };
            list.args[0] = FunctionArg::Unnamed(FunctionArgExpr::Expr(parse_expr(&double(x))?));
            Some(Expr::Function(out))
        }
        _ => None,
    }
}

/// The scale of a decimal expression as Polars computes it once `exact_product` has
/// rewritten its products (sums and differences: the larger scale; products: the sum;
/// sum, min, max: their argument's); `None` when it is not a decimal.
pub(super) fn scale(expr: &Expr, names: &HashMap<String, u32>) -> Option<u32> {
    match expr {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => names.get(&column_ref(expr)?.1).copied(),
        Expr::Nested(e) => scale(e, names),
        Expr::Cast { data_type: DataType::Decimal(info) | DataType::Numeric(info), .. } => match info {
            datafusion::sql::sqlparser::ast::ExactNumberInfo::PrecisionAndScale(_, s) => {
                u32::try_from(*s).ok()
            }
            _ => Some(0),
        },
        Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::Minus, right } => {
            match (scale(left, names), scale(right, names)) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        }
        Expr::BinaryOp { left, op: BinaryOperator::Multiply, right } => {
            match (scale(left, names), scale(right, names)) {
                // Already widened by `exact_product`: Polars keeps the wider scale.
                (Some(a), Some(b)) if widened(left, b, names) => Some(a),
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            }
        }
        Expr::Case { conditions, else_result, .. } => conditions
            .iter()
            .map(|c| &c.result)
            .chain(else_result.as_deref())
            .filter_map(|e| scale(e, names))
            .max(),
        Expr::Function(f) => {
            let name = f.name.0.last()?.as_ident()?.value.to_lowercase();
            if !["sum", "min", "max", "abs", "first", "last", "coalesce"].contains(&name.as_str()) {
                return None;
            }
            function_args(f)?.first().and_then(|a| scale(a, names))
        }
        _ => None,
    }
}

/// Whether `left` is a decimal cast to its own scale plus `b` (what `exact_product`
/// writes for the left operand of a product).
pub(super) fn widened(left: &Expr, b: u32, names: &HashMap<String, u32>) -> bool {
    match left {
        Expr::Cast { expr, .. } => match (scale(left, names), scale(expr, names)) {
            (Some(outer), Some(inner)) => outer == inner + b && b > 0,
            _ => false,
        },
        _ => false,
    }
}

/// A product of two decimals, exact: Polars gives it the larger operand's scale
/// (rounding every row: TPC-H Q1's sums off by cents), so the left operand is first
/// widened to the sum of the scales, which Polars then keeps.
pub(super) fn exact_product(expr: &Expr, names: &HashMap<String, u32>) -> Option<Expr> {
    let Expr::BinaryOp { left, op: BinaryOperator::Multiply, right } = expr else { return None };
    let (a, b) = (scale(left, names)?, scale(right, names)?);
    if b == 0 || widened(left, b, names) {
        return None;
    }
    parse_expr(&format!("CAST({left} AS DECIMAL(38, {})) * {right}", a + b))
}

/// Arithmetic on number literals done exactly (`0.06 + 0.01` is 0.07, where Polars
/// adds doubles: 0.06999999999999999, and TPC-H Q6's BETWEEN misses its upper bound).
pub(super) fn literals(expr: &Expr) -> Option<Expr> {
    let Expr::BinaryOp { left, op, right } = expr else { return None };
    let (a, b) = (number(left)?, number(right)?);
    let scale = a.1.max(b.1);
    let up = |(m, s): (i128, u32)| m.checked_mul(10i128.checked_pow(scale - s)?);
    let (x, y) = (up(a)?, up(b)?);
    let (m, s) = match op {
        BinaryOperator::Plus => (x.checked_add(y)?, scale),
        BinaryOperator::Minus => (x.checked_sub(y)?, scale),
        BinaryOperator::Multiply => (a.0.checked_mul(b.0)?, a.1 + b.1),
        _ => return None,
    };
    if s > 30 {
        return None;
    }
    let digits = m.unsigned_abs().to_string();
    let s = s as usize;
    let padded = format!("{digits:0>width$}", width = s + 1);
    let (int, frac) = padded.split_at(padded.len() - s);
    let sign = if m < 0 { "-" } else { "" };
    let text = if s == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") };
    parse_expr(&if m < 0 { format!("({text})") } else { text })
}

/// A number literal as (mantissa, scale): `0.06` is (6, 2).
pub(super) fn number(e: &Expr) -> Option<(i128, u32)> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => {
                let n = n.to_string();
                if n.contains(['e', 'E']) {
                    return None;
                }
                let (int, frac) = n.split_once('.').unwrap_or((&n, ""));
                let m: i128 = format!("{int}{frac}").parse().ok()?;
                Some((m, u32::try_from(frac.len()).ok()?))
            }
            _ => None,
        },
        Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus, expr } => {
            number(expr).map(|(m, s)| (-m, s))
        }
        Expr::Nested(inner) => number(inner),
        _ => None,
    }
}

pub(super) fn is_double(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Cast { data_type: DataType::Double(_) | DataType::DoublePrecision | DataType::Float64, .. }
    )
}

pub(super) struct Arithmetic {
    pub(super) decimals: HashSet<String>,
    pub(super) changed: bool,
}

impl VisitorMut for Arithmetic {
    type Break = ();
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(e) = arithmetic(expr, &self.decimals) {
            *expr = e;
            self.changed = true;
        }
        ControlFlow::Continue(())
    }
}
