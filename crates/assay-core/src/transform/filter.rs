//! The filter builder's model: conditions (column, operator, values) in AND/OR groups,
//! printed as an SQL boolean expression and read back from one with sqlparser. What the
//! builder cannot represent (a function call, arithmetic) stays as an SQL node, so any
//! WHERE clause round-trips: `from_sql(to_sql(g)) == g` for every group the builder
//! makes, and `to_sql(from_sql(s))` means the same as `s` for any expression `s`.

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, DataType, Expr, TypedString, UnaryOperator, Value, ValueWithSpan,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::{ident, literal};
use crate::transform::{Error, Result};

/// How a group joins its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Every item holds (AND).
    All,
    /// At least one item holds (OR).
    Any,
}

/// The builder's comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Between,
    In,
    IsNull,
    IsNotNull,
    Contains,
    StartsWith,
    Regex,
}

impl Op {
    pub const ALL: [Op; 13] = [
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Le,
        Op::Gt,
        Op::Ge,
        Op::Between,
        Op::In,
        Op::IsNull,
        Op::IsNotNull,
        Op::Contains,
        Op::StartsWith,
        Op::Regex,
    ];

    /// How the builder names it.
    pub fn label(&self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Between => "between",
            Op::In => "in",
            Op::IsNull => "is null",
            Op::IsNotNull => "is not null",
            Op::Contains => "contains",
            Op::StartsWith => "starts with",
            Op::Regex => "regex",
        }
    }

    /// How many values it takes: 0, 1, 2, or any number (`None`).
    pub fn arity(&self) -> Option<usize> {
        match self {
            Op::IsNull | Op::IsNotNull => Some(0),
            Op::Between => Some(2),
            Op::In => None,
            _ => Some(1),
        }
    }

    /// Whether it only makes sense on text columns.
    pub fn text_only(&self) -> bool {
        matches!(self, Op::Contains | Op::StartsWith | Op::Regex)
    }
}

/// How a value is written in SQL, from the column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    Text,
    Bool,
    Date,
    Datetime,
}

impl Kind {
    /// The kind of a column of Polars type `dtype` (as `output::short_type` prints it).
    pub fn of(dtype: &str, numeric: bool) -> Kind {
        if numeric {
            Kind::Number
        } else if dtype == "bool" {
            Kind::Bool
        } else if dtype == "date" {
            Kind::Date
        } else if dtype.starts_with("datetime") {
            Kind::Datetime
        } else {
            Kind::Text
        }
    }

    /// `value` as an SQL literal of this kind.
    pub fn literal(&self, value: &str) -> String {
        match self {
            Kind::Number | Kind::Bool => value.trim().to_string(),
            Kind::Text => literal(value),
            Kind::Date => format!("DATE {}", literal(value.trim())),
            Kind::Datetime => format!("TIMESTAMP {}", literal(&value.trim().replacen('T', " ", 1))),
        }
    }
}

/// One comparison of a column with values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub column: String,
    pub op: Op,
    pub kind: Kind,
    pub values: Vec<String>,
}

/// An item of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Condition(Condition),
    Group(Group),
    /// An expression the builder shows and keeps as SQL text.
    Sql(String),
}

/// Items joined by AND or OR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub combine: Combine,
    pub items: Vec<Node>,
}

impl Condition {
    pub fn to_sql(&self) -> String {
        let c = ident(&self.column);
        let v = |i: usize| self.kind.literal(self.values.get(i).map(String::as_str).unwrap_or(""));
        let like = |pattern: String| literal(&pattern);
        let first = self.values.first().cloned().unwrap_or_default();
        match self.op {
            Op::Eq => format!("{c} = {}", v(0)),
            Op::Ne => format!("{c} <> {}", v(0)),
            Op::Lt => format!("{c} < {}", v(0)),
            Op::Le => format!("{c} <= {}", v(0)),
            Op::Gt => format!("{c} > {}", v(0)),
            Op::Ge => format!("{c} >= {}", v(0)),
            Op::Between => format!("{c} BETWEEN {} AND {}", v(0), v(1)),
            Op::In => {
                let list: Vec<String> = (0..self.values.len()).map(v).collect();
                format!("{c} IN ({})", list.join(", "))
            }
            Op::IsNull => format!("{c} IS NULL"),
            Op::IsNotNull => format!("{c} IS NOT NULL"),
            Op::Contains => format!("{c} LIKE {}", like(format!("%{first}%"))),
            Op::StartsWith => format!("{c} LIKE {}", like(format!("{first}%"))),
            Op::Regex => format!("{c} ~ {}", literal(&first)),
        }
    }

    /// The condition as the builder lists it.
    pub fn describe(&self) -> String {
        let values = match self.op {
            Op::Between => format!(" {} and {}", show(&self.values, 0), show(&self.values, 1)),
            Op::In => format!(" ({})", self.values.join(", ")),
            Op::IsNull | Op::IsNotNull => String::new(),
            _ => format!(" {}", show(&self.values, 0)),
        };
        format!("{} {}{values}", self.column, self.op.label())
    }
}

fn show(values: &[String], i: usize) -> String {
    values.get(i).cloned().unwrap_or_default()
}

impl Node {
    fn to_sql(&self, nested: bool) -> String {
        match self {
            Node::Condition(c) => c.to_sql(),
            Node::Group(g) if nested && g.items.len() > 1 => format!("({})", g.to_sql()),
            Node::Group(g) => g.to_sql(),
            Node::Sql(s) if nested => format!("({s})"),
            Node::Sql(s) => s.clone(),
        }
    }
}

impl Group {
    pub fn new(combine: Combine) -> Group {
        Group { combine, items: Vec::new() }
    }

    /// The group as an SQL boolean expression (`TRUE` when it is empty).
    pub fn to_sql(&self) -> String {
        match self.items.as_slice() {
            [] => "TRUE".to_string(),
            [only] => only.to_sql(false),
            items => {
                let sep = if self.combine == Combine::All { " AND " } else { " OR " };
                items.iter().map(|n| n.to_sql(true)).collect::<Vec<_>>().join(sep)
            }
        }
    }

    /// Reads an SQL boolean expression into a group. `kind_of` gives a column's kind
    /// (for literals written without a type, e.g. a date as a plain string).
    pub fn from_sql(sql: &str, kind_of: &dyn Fn(&str) -> Option<Kind>) -> Result<Group> {
        let dialect = GenericDialect {};
        let expr = Parser::new(&dialect)
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| Error::invalid(format!("filter `{sql}`: {e}")))?;
        Ok(match node(&expr, kind_of, sql) {
            Node::Group(g) => g,
            other => Group { combine: Combine::All, items: vec![other] },
        })
    }
}

/// The text of `expr` as the user wrote it in `src`, when its span says where and that
/// text reads back as the same expression; else the parser's rendering (which writes some
/// literals, such as `N'…'` holding quotes, in a form it does not read back the same).
fn source_text(expr: &Expr, src: &str) -> String {
    use datafusion::sql::sqlparser::ast::Spanned;
    let rendered = expr.to_string();
    let span = expr.span();
    let offset = |line: u64, column: u64| -> Option<usize> {
        let start =
            src.split_inclusive('\n').take(line.checked_sub(1)? as usize).map(str::len).sum::<usize>();
        let rest = src.get(start..)?;
        let col =
            rest.char_indices().nth(column.checked_sub(1)? as usize).map(|(i, _)| i).unwrap_or(rest.len());
        Some(start + col)
    };
    let text = offset(span.start.line, span.start.column)
        .zip(offset(span.end.line, span.end.column))
        .and_then(|(a, b)| src.get(a..b))
        .map(str::trim);
    match text {
        Some(t) if !t.is_empty() => {
            let same = Parser::new(&GenericDialect {})
                .try_with_sql(t)
                .and_then(|mut p| p.parse_expr())
                .is_ok_and(|again| again.to_string() == rendered);
            if same {
                t.to_string()
            } else {
                rendered
            }
        }
        _ => rendered,
    }
}

/// An expression as a builder node (an SQL node when the builder cannot show it).
fn node(expr: &Expr, kind_of: &dyn Fn(&str) -> Option<Kind>, src: &str) -> Node {
    if let Expr::Nested(inner) = expr {
        return node(inner, kind_of, src);
    }
    if let Expr::BinaryOp { op: op @ (BinaryOperator::And | BinaryOperator::Or), .. } = expr {
        let combine = if *op == BinaryOperator::And { Combine::All } else { Combine::Any };
        let mut items = Vec::new();
        flatten(expr, op, kind_of, src, &mut items);
        return Node::Group(Group { combine, items });
    }
    condition(expr, kind_of).map(Node::Condition).unwrap_or_else(|| Node::Sql(source_text(expr, src)))
}

/// The operands of a chain of the same AND/OR, as nodes, left to right.
fn flatten(
    expr: &Expr,
    op: &BinaryOperator,
    kind_of: &dyn Fn(&str) -> Option<Kind>,
    src: &str,
    out: &mut Vec<Node>,
) {
    match expr {
        Expr::BinaryOp { left, op: o, right } if o == op => {
            flatten(left, op, kind_of, src, out);
            flatten(right, op, kind_of, src, out);
        }
        other => out.push(node(other, kind_of, src)),
    }
}

fn column(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(i) => Some(i.value.clone()),
        _ => None,
    }
}

/// A literal's text and kind.
fn value(expr: &Expr) -> Option<(String, Kind)> {
    match expr {
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => Some((n.to_string(), Kind::Number)),
        Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(s), .. }) => {
            Some((s.clone(), Kind::Text))
        }
        Expr::Value(ValueWithSpan { value: Value::Boolean(b), .. }) => Some((b.to_string(), Kind::Bool)),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => match value(expr)? {
            (n, Kind::Number) => Some((format!("-{n}"), Kind::Number)),
            _ => None,
        },
        Expr::TypedString(TypedString { data_type, value, .. }) => {
            let Value::SingleQuotedString(s) = &value.value else { return None };
            match data_type {
                DataType::Date => Some((s.clone(), Kind::Date)),
                DataType::Timestamp(..) | DataType::Datetime(_) => Some((s.clone(), Kind::Datetime)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The kind all `values` share (a number compared with a text column stays a number).
fn kind(column: &str, values: &[(String, Kind)], kind_of: &dyn Fn(&str) -> Option<Kind>) -> Option<Kind> {
    let first = values.first().map(|v| v.1);
    if values.iter().any(|v| Some(v.1) != first) {
        return None;
    }
    match (first, kind_of(column)) {
        // A typed literal says what it is; a plain string is whatever the column is.
        (Some(Kind::Text), Some(k @ (Kind::Date | Kind::Datetime))) => Some(k),
        (Some(k), _) => Some(k),
        (None, k) => Some(k.unwrap_or(Kind::Text)),
    }
}

fn condition(expr: &Expr, kind_of: &dyn Fn(&str) -> Option<Kind>) -> Option<Condition> {
    let make = |col: &Expr, op: Op, values: Vec<(String, Kind)>| {
        let column = column(col)?;
        let kind = kind(&column, &values, kind_of)?;
        let values = values.into_iter().map(|v| v.0).collect();
        Some(Condition { column, op, kind, values })
    };
    match expr {
        Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Eq => Op::Eq,
                BinaryOperator::NotEq => Op::Ne,
                BinaryOperator::Lt => Op::Lt,
                BinaryOperator::LtEq => Op::Le,
                BinaryOperator::Gt => Op::Gt,
                BinaryOperator::GtEq => Op::Ge,
                BinaryOperator::PGRegexMatch => Op::Regex,
                _ => return None,
            };
            let v = value(right)?;
            if op == Op::Regex && v.1 != Kind::Text {
                return None;
            }
            let mut c = make(left, op, vec![v])?;
            if op == Op::Regex {
                c.kind = Kind::Text;
            }
            Some(c)
        }
        Expr::Between { expr, negated: false, low, high } => {
            make(expr, Op::Between, vec![value(low)?, value(high)?])
        }
        Expr::InList { expr, list, negated: false } => {
            let values = list.iter().map(value).collect::<Option<Vec<_>>>()?;
            make(expr, Op::In, values)
        }
        Expr::IsNull(e) => make(e, Op::IsNull, Vec::new()),
        Expr::IsNotNull(e) => make(e, Op::IsNotNull, Vec::new()),
        Expr::Like { negated: false, any: false, expr, pattern, escape_char: None } => {
            let (p, Kind::Text) = value(pattern)? else { return None };
            let wild = |s: &str| s.contains(['%', '_']);
            let (op, text) = match p.strip_suffix('%') {
                Some(rest) if rest.starts_with('%') && !wild(&rest[1..]) => {
                    (Op::Contains, rest[1..].to_string())
                }
                Some(rest) if !wild(rest) => (Op::StartsWith, rest.to_string()),
                _ => return None,
            };
            let mut c = make(expr, op, vec![(text, Kind::Text)])?;
            c.kind = Kind::Text;
            Some(c)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(column: &str) -> Option<Kind> {
        match column {
            "amount" | "quantity" => Some(Kind::Number),
            "order_date" => Some(Kind::Date),
            "created_at" => Some(Kind::Datetime),
            _ => Some(Kind::Text),
        }
    }

    fn cond(column: &str, op: Op, kind: Kind, values: &[&str]) -> Node {
        Node::Condition(Condition {
            column: column.into(),
            op,
            kind,
            values: values.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn builder_groups_print_as_sql_and_read_back() {
        let g = Group {
            combine: Combine::All,
            items: vec![
                cond("status", Op::Eq, Kind::Text, &["shipped"]),
                cond("amount", Op::Between, Kind::Number, &["10", "-2.5"]),
                Node::Group(Group {
                    combine: Combine::Any,
                    items: vec![
                        cond("country", Op::In, Kind::Text, &["US", "O'Hare"]),
                        cond("email", Op::IsNull, Kind::Text, &[]),
                        cond("email", Op::Contains, Kind::Text, &["@x"]),
                    ],
                }),
                cond("order_date", Op::Ge, Kind::Date, &["2024-03-01"]),
                cond("created_at", Op::Lt, Kind::Datetime, &["2024-03-01 10:00:00"]),
                cond("Odd Name", Op::StartsWith, Kind::Text, &["ab"]),
                cond("email", Op::Regex, Kind::Text, &["^[a-z]+@"]),
                cond("quantity", Op::IsNotNull, Kind::Number, &[]),
            ],
        };
        let sql = g.to_sql();
        assert_eq!(
            sql,
            "status = 'shipped' AND amount BETWEEN 10 AND -2.5 AND (country IN ('US', 'O''Hare') OR \
             email IS NULL OR email LIKE '%@x%') AND order_date >= DATE '2024-03-01' AND \
             created_at < TIMESTAMP '2024-03-01 10:00:00' AND \"Odd Name\" LIKE 'ab%' AND \
             email ~ '^[a-z]+@' AND quantity IS NOT NULL"
        );
        assert_eq!(Group::from_sql(&sql, &kinds).unwrap(), g);
    }

    #[test]
    fn sql_the_builder_cannot_show_stays_sql_and_means_the_same() {
        let sql = "(amount * 2 > 10 OR lower(status) = 'x') AND NOT quantity = 3";
        let g = Group::from_sql(sql, &kinds).unwrap();
        assert_eq!(g.combine, Combine::All);
        assert!(matches!(&g.items[0], Node::Group(inner) if inner.combine == Combine::Any
            && matches!(&inner.items[0], Node::Sql(s) if s == "amount * 2 > 10")));
        assert_eq!(g.items[1], Node::Sql("NOT quantity = 3".into()));
        assert_eq!(g.to_sql(), "((amount * 2 > 10) OR (lower(status) = 'x')) AND (NOT quantity = 3)");
        // A plain string compared with a date column is a date in the builder.
        let d = Group::from_sql("order_date = '2024-01-05'", &kinds).unwrap();
        assert_eq!(d.items[0], cond("order_date", Op::Eq, Kind::Date, &["2024-01-05"]));
        // LIKE with inner wildcards is not `contains`.
        let l = Group::from_sql("email LIKE 'a%b%'", &kinds).unwrap();
        assert!(matches!(&l.items[0], Node::Sql(_)));
        assert!(Group::from_sql("amount >", &kinds).is_err());
    }

    /// Random builder groups survive the trip through SQL unchanged.
    #[test]
    fn random_groups_round_trip() {
        let mut rng = crate::generate::Rng::new(0x5eed);
        let mut next = move |n: u64| rng.below(n);
        let columns = [("amount", Kind::Number), ("status", Kind::Text), ("order_date", Kind::Date)];
        let texts = ["a", "it's", "x y", "", "50%"];
        for _ in 0..300 {
            let mut g = Group::new(if next(2) == 0 { Combine::All } else { Combine::Any });
            let mut sub = Group::new(if g.combine == Combine::All { Combine::Any } else { Combine::All });
            for i in 0..1 + next(5) {
                let (column, kind) = columns[next(3) as usize];
                let mut op = Op::ALL[next(13) as usize];
                if op.text_only() && kind != Kind::Text {
                    op = Op::Eq;
                }
                let value = |n: u64| match kind {
                    Kind::Number => format!("{}", n as i64 - 50),
                    Kind::Date => format!("2024-0{}-1{}", 1 + n % 9, n % 10),
                    _ => texts[(n % 5) as usize].to_string(),
                };
                let values: Vec<String> = match op.arity() {
                    Some(k) => (0..k).map(|_| value(next(100))).collect(),
                    None => (0..1 + next(3)).map(|_| value(next(100))).collect(),
                };
                let c = Condition { column: column.into(), op, kind, values };
                // `contains '50%'` prints a pattern with an inner wildcard: not representable.
                if matches!(op, Op::Contains | Op::StartsWith) && c.values[0].contains('%') {
                    continue;
                }
                if i % 2 == 1 {
                    sub.items.push(Node::Condition(c));
                } else {
                    g.items.push(Node::Condition(c));
                }
            }
            if sub.items.len() > 1 {
                g.items.push(Node::Group(sub));
            }
            if g.items.len() < 2 {
                continue;
            }
            let back = Group::from_sql(&g.to_sql(), &kinds).unwrap();
            assert_eq!(back, g, "{}", g.to_sql());
        }
    }
}
