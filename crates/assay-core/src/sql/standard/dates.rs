//! Dates and functions as Polars plans them: `DATE 'x' + INTERVAL 'n' unit` folded to a
//! date, interval arithmetic on columns, and functions written the Postgres or DuckDB
//! way (`extract`, `date_part`, `substring … from … for`) in the forms Polars knows.

use super::*;

pub(super) fn unit_of(field: &DateTimeField) -> Option<&'static str> {
    Some(match field {
        DateTimeField::Year | DateTimeField::Years => "years",
        DateTimeField::Month | DateTimeField::Months => "months",
        DateTimeField::Week(None) | DateTimeField::Weeks => "weeks",
        DateTimeField::Day | DateTimeField::Days => "days",
        DateTimeField::Hour | DateTimeField::Hours => "hours",
        DateTimeField::Minute | DateTimeField::Minutes => "minutes",
        DateTimeField::Second | DateTimeField::Seconds => "seconds",
        _ => return None,
    })
}

/// An interval literal as (count, unit): `INTERVAL '3' MONTH`, `INTERVAL '3 months'`.
pub(super) fn interval_parts(expr: &Expr) -> Option<(i64, &'static str)> {
    let Expr::Interval(i) = expr else { return None };
    if i.last_field.is_some() || i.fractional_seconds_precision.is_some() {
        return None;
    }
    let text = match i.value.as_ref() {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.trim().to_string(),
            Value::Number(n, _) => n.to_string(),
            _ => return None,
        },
        _ => return None,
    };
    let mut words = text.split_whitespace();
    let n: i64 = words.next()?.parse().ok()?;
    let unit = match (&i.leading_field, words.next()) {
        (Some(f), None) => unit_of(f)?,
        (None, Some(w)) => {
            let w = w.to_lowercase();
            let w = w.trim_end_matches('s');
            ["year", "month", "week", "day", "hour", "minute", "second"].iter().find(|u| **u == w).map(
                |u| match *u {
                    "year" => "years",
                    "month" => "months",
                    "week" => "weeks",
                    "day" => "days",
                    "hour" => "hours",
                    "minute" => "minutes",
                    _ => "seconds",
                },
            )?
        }
        _ => return None,
    };
    if words.next().is_some() {
        return None;
    }
    Some((n, unit))
}

pub(super) fn date_literal(expr: &Expr) -> Option<NaiveDate> {
    let Expr::TypedString(t) = expr else { return None };
    if !matches!(t.data_type, DataType::Date) {
        return None;
    }
    let Value::SingleQuotedString(s) = &t.value.value else { return None };
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

pub(super) fn intervals(expr: &Expr) -> Option<Expr> {
    match expr {
        Expr::BinaryOp { left, op: op @ (BinaryOperator::Plus | BinaryOperator::Minus), right } => {
            let date = date_literal(left)?;
            let (n, unit) = interval_parts(right)?;
            let n = if matches!(op, BinaryOperator::Minus) { -n } else { n };
            let months = |m: i64| {
                let m = Months::new(u32::try_from(m.unsigned_abs()).ok()?);
                if n < 0 {
                    date.checked_sub_months(m)
                } else {
                    date.checked_add_months(m)
                }
            };
            let out = match unit {
                "years" => months(n.checked_mul(12)?)?,
                "months" => months(n)?,
                "weeks" => date.checked_add_signed(chrono::Duration::try_weeks(n)?)?,
                "days" => date.checked_add_signed(chrono::Duration::try_days(n)?)?,
                _ => return None,
            };
            parse_expr(&format!("DATE '{}'", out.format("%Y-%m-%d")))
        }
        Expr::Interval(i) if i.leading_field.is_some() => {
            let (n, unit) = interval_parts(expr)?;
            parse_expr(&format!("INTERVAL '{n} {unit}'"))
        }
        _ => None,
    }
}

pub(super) fn function_args(f: &Function) -> Option<Vec<&Expr>> {
    let FunctionArguments::List(list) = &f.args else { return None };
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

pub(super) fn string_literal(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn functions(expr: &Expr) -> Option<Expr> {
    let Expr::Function(f) = expr else { return None };
    let name = f.name.0.last()?.as_ident()?.value.to_lowercase();
    let args = function_args(f)?;
    match (name.as_str(), args.as_slice()) {
        // A timestamp at the start of its unit (as DataFusion's date_trunc, which
        // returns a timestamp for dates too).
        ("date_trunc" | "datetrunc", [unit, x]) => {
            let pattern = match string_literal(unit)?.to_lowercase().as_str() {
                "year" => "%Y-01-01 00:00:00",
                "month" => "%Y-%m-01 00:00:00",
                "day" => "%Y-%m-%d 00:00:00",
                "hour" => "%Y-%m-%d %H:00:00",
                "minute" => "%Y-%m-%d %H:%M:00",
                "second" => "%Y-%m-%d %H:%M:%S",
                _ => return None,
            };
            parse_expr(&format!(
                "STRPTIME(STRFTIME(CAST({x} AS TIMESTAMP), '{pattern}'), '%Y-%m-%d %H:%M:%S')"
            ))
        }
        // strftime patterns, as DataFusion's to_char takes them.
        ("to_char", [x, format]) => parse_expr(&format!("STRFTIME({x}, {format})")),
        _ => None,
    }
}
