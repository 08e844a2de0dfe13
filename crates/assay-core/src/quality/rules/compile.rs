//! Each check compiled to Polars expressions: the rows that fail a row-level check, the
//! value a table-level check measures, and the helpers they share (types, text formats,
//! parsing, references to other tables, ages and percentages).

use super::*;

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::NotNull(_) => "not_null",
            Check::Unique(_) => "unique",
            Check::InSet(_) => "in_set",
            Check::NotInSet(_) => "not_in_set",
            Check::Between(_) => "between",
            Check::Regex(_) => "regex",
            Check::Length(_) => "length",
            Check::Compare(_) => "compare",
            Check::Expression(_) => "expression",
            Check::RowCount(_) => "row_count",
            Check::NullFraction(_) => "null_fraction",
            Check::DistinctCount(_) => "distinct_count",
            Check::Stat(_) => "stat",
            Check::Format(_) => "format",
            Check::Parseable(_) => "parseable",
            Check::Monotonic(_) => "monotonic",
            Check::DuplicateRows(_) => "duplicate_rows",
            Check::Freshness(_) => "freshness",
            Check::Schema(_) => "schema",
            Check::Sql(_) => "sql",
            Check::ForeignKey(_) => "foreign_key",
        }
    }

    pub fn common(&self) -> Common {
        match self {
            Check::NotNull(a) => a.common(),
            Check::Unique(a) => a.common(),
            Check::InSet(a) | Check::NotInSet(a) => a.common(),
            Check::Between(a) => a.common(),
            Check::Regex(a) => a.common(),
            Check::Length(a) => a.common(),
            Check::Compare(a) => a.common(),
            Check::Expression(a) => a.common(),
            Check::RowCount(a) => a.common(),
            Check::NullFraction(a) => a.common(),
            Check::DistinctCount(a) => a.common(),
            Check::Stat(a) => a.common(),
            Check::Format(a) => a.common(),
            Check::Parseable(a) => a.common(),
            Check::Monotonic(a) => a.common(),
            Check::DuplicateRows(a) => a.common(),
            Check::Freshness(a) => a.common(),
            Check::Schema(a) => a.common(),
            Check::Sql(a) => a.common(),
            Check::ForeignKey(a) => a.common(),
        }
    }

    /// The columns the check reads.
    pub fn columns(&self) -> Vec<String> {
        match self {
            Check::NotNull(a) => vec![a.column.clone()],
            Check::Unique(a) => a.columns.clone(),
            Check::InSet(a) | Check::NotInSet(a) => vec![a.column.clone()],
            Check::Between(a) => vec![a.column.clone()],
            Check::Regex(a) => vec![a.column.clone()],
            Check::Length(a) => vec![a.column.clone()],
            Check::Compare(a) => vec![a.left.clone(), a.right.clone()],
            Check::Expression(_) | Check::RowCount(_) => Vec::new(),
            Check::NullFraction(a) => vec![a.column.clone()],
            Check::DistinctCount(a) => vec![a.column.clone()],
            Check::Stat(a) => vec![a.column.clone()],
            Check::Format(a) => vec![a.column.clone()],
            Check::Parseable(a) => vec![a.column.clone()],
            Check::Monotonic(a) => vec![a.column.clone()],
            Check::Freshness(a) => vec![a.column.clone()],
            Check::ForeignKey(a) => vec![a.column.clone()],
            // A schema check is about which columns exist: it must not fail on them first.
            Check::DuplicateRows(_) | Check::Schema(_) | Check::Sql(_) => Vec::new(),
        }
    }

    /// The id given, or one made of the type and the columns.
    pub fn id(&self) -> String {
        self.common().id.unwrap_or_else(|| {
            let columns = self.columns();
            if columns.is_empty() {
                self.kind().to_string()
            } else {
                format!("{}_{}", self.kind(), columns.join("_"))
            }
        })
    }

    /// The check as one line of a rules file: `not_null = { column = "id" }`.
    pub fn to_toml(&self) -> String {
        /// Whole numbers read as they were written (`min = 0`, not `min = 0.0`).
        fn whole(v: toml::Value) -> toml::Value {
            match v {
                toml::Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => toml::Value::Integer(f as i64),
                toml::Value::Table(t) => {
                    toml::Value::Table(t.into_iter().map(|(k, v)| (k, whole(v))).collect())
                }
                other => other,
            }
        }
        // Every check is a one-key table; nothing else can come out.
        toml::Value::try_from(self).map(whole).ok().and_then(|v| fields(&v, "\n")).unwrap_or_default()
    }

    /// The rows a row-level check fails, as an SQL boolean expression (true where a row
    /// fails; null, like false, where it does not), to show them as a filtered view or to
    /// count them on an SQL engine. `None` where no per-row expression says it the same
    /// on every engine: a foreign key needs another table, `monotonic` the row order,
    /// and date parsing takes strftime formats that SQL engines spell differently.
    pub fn failure_sql(&self, schema: &Schema) -> Option<String> {
        use crate::transform::{ident, literal};
        // `v` below `min` or above `max` (bounds left out are no bounds).
        let outside = |v: &str, min: Option<String>, max: Option<String>, (lt, gt): (&str, &str)| {
            let parts: Vec<String> =
                [min.map(|m| format!("{v} {lt} {m}")), max.map(|m| format!("{v} {gt} {m}"))]
                    .into_iter()
                    .flatten()
                    .collect();
            if parts.is_empty() {
                "FALSE".to_string()
            } else {
                parts.join(" OR ")
            }
        };
        Some(match self {
            Check::NotNull(a) => format!("{} IS NULL", ident(&a.column)),
            Check::Unique(a) => {
                let keys: Vec<String> = a.columns.iter().map(|c| ident(c)).collect();
                format!("COUNT(*) OVER (PARTITION BY {}) > 1", keys.join(", "))
            }
            Check::InSet(a) | Check::NotInSet(a) => {
                let values: Vec<String> = a
                    .values
                    .iter()
                    .map(|v| match v {
                        toml::Value::String(t) => literal(t),
                        other => other.to_string(),
                    })
                    .collect();
                let not = if matches!(self, Check::InSet(_)) { "NOT " } else { "" };
                format!("{} {not}IN ({})", ident(&a.column), values.join(", "))
            }
            Check::Between(a) => {
                if schema.get(a.column.as_str()).is_some_and(|t| t.is_temporal()) {
                    return None;
                }
                let ops = if a.exclusive.unwrap_or(false) { ("<=", ">=") } else { ("<", ">") };
                outside(&ident(&a.column), a.min.map(|m| m.to_string()), a.max.map(|m| m.to_string()), ops)
            }
            Check::Regex(a) => {
                format!("NOT ({} ~ {})", ident(&a.column), literal(&format!("^(?:{})$", a.pattern)))
            }
            Check::Format(a) => match text_pattern(a.r#as) {
                Some(p) => format!("NOT ({} ~ {})", ident(&a.column), literal(p)),
                None => return None,
            },
            Check::Length(a) => {
                let n = format!("LENGTH({})", ident(&a.column));
                outside(&n, a.min.map(|m| m.to_string()), a.max.map(|m| m.to_string()), ("<", ">"))
            }
            Check::Compare(a) => format!("NOT ({} {} {})", ident(&a.left), a.op, ident(&a.right)),
            Check::Expression(a) => format!("NOT ({})", a.sql),
            Check::Parseable(a) => {
                let to = match a.r#as {
                    Parse::Int => "BIGINT",
                    Parse::Float => "DOUBLE",
                    Parse::Date | Parse::Datetime => return None,
                };
                let c = ident(&a.column);
                format!("{c} IS NOT NULL AND TRY_CAST(TRIM({c}) AS {to}) IS NULL")
            }
            _ => return None,
        })
    }

    /// Whether rows pass or fail it one by one (the others observe one value).
    pub fn row_level(&self) -> bool {
        !matches!(
            self,
            Check::RowCount(_)
                | Check::NullFraction(_)
                | Check::DistinctCount(_)
                | Check::Stat(_)
                | Check::DuplicateRows(_)
                | Check::Freshness(_)
                | Check::Schema(_)
        )
    }

    /// Argument errors a parser cannot see.
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        let c = self.common();
        if let Some(m) = c.mostly {
            if !(0.0..=1.0).contains(&m) {
                return Err(format!("mostly = {m} is not a fraction between 0 and 1"));
            }
        }
        if c.mostly.is_some() && c.max_failures.is_some() {
            return Err("give mostly or max_failures, not both".into());
        }
        if !self.row_level() && (c.mostly.is_some() || c.max_failures.is_some()) {
            return Err(format!(
                "{} is a table-level check: mostly and max_failures do not apply",
                self.kind()
            ));
        }
        if let Some(MaxFailures::Text(t)) = &c.max_failures {
            parse_percent(t)?;
        }
        match self {
            Check::Regex(a) => regex::Regex::new(&a.pattern).map(|_| ()).map_err(|e| {
                // The regex crate draws a caret under the pattern over several lines.
                let text = e.to_string();
                let why = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&text);
                format!("pattern `{}`: {}", a.pattern, why.trim().trim_start_matches("error: "))
            }),
            Check::Compare(a) if !["<", "<=", ">", ">=", "=", "!=", "<>"].contains(&a.op.as_str()) => {
                Err(format!("op `{}` is not one of < <= > >= = !=", a.op))
            }
            Check::Expression(a) => crate::transform::check_expression(&a.sql).map_err(|e| e.to_string()),
            Check::Unique(a) if a.columns.is_empty() => Err("columns is empty".into()),
            Check::Schema(a) => a.columns.iter().try_for_each(|(name, want)| match want.as_str() {
                Some(t) if known_type(t) => Ok(()),
                Some(t) => Err(format!(
                    "column `{name}`: unknown type `{t}` (use int, float, number, string, bool, date, \
                     datetime, or a Polars type name such as i64, f64, str, datetime[μs])"
                )),
                None => Err(format!("column `{name}`: the type is a name in quotes, such as \"int\"")),
            }),
            Check::Freshness(a) => parse_age(&a.max_age).map(|_| ()),
            Check::ForeignKey(a) => reference(&a.references).map(|_| ()),
            Check::Sql(a) => crate::sql::parse(&a.query).map(|_| ()).map_err(|e| e.to_string()),
            _ => Ok(()),
        }
    }

    /// The aggregate expressions of check number `i`: `value` is the failing row count
    /// of a row-level check, or the table-level observation.
    pub fn exprs(&self, i: usize, schema: &Schema, context: &Context) -> Result<Vec<Expr>> {
        let name = crate::quality::key(i, "value");
        self.value_expr(i, schema, context, &|fail| {
            fail.fill_null(lit(false)).cast(DataType::UInt64).sum().alias(name.clone())
        })
    }

    /// The per-row failure of a row-level check (true where the row fails), or `None`.
    pub fn row_failure(&self, i: usize, schema: &Schema, context: &Context) -> Result<Option<Expr>> {
        if !self.row_level() || matches!(self, Check::Sql(_)) {
            return Ok(None);
        }
        // The same expressions as `exprs`, caught before they are summed.
        let fails = std::cell::RefCell::new(None::<Expr>);
        self.value_expr(i, schema, context, &|fail| {
            *fails.borrow_mut() = Some(fail.fill_null(lit(false)));
            lit(0)
        })?;
        Ok(fails.into_inner())
    }

    pub(super) fn value_expr(
        &self,
        i: usize,
        schema: &Schema,
        context: &Context,
        failing: &dyn Fn(Expr) -> Expr,
    ) -> Result<Vec<Expr>> {
        let name = crate::quality::key(i, "value");
        let c = |n: &str| col(n.to_string());
        Ok(vec![match self {
            Check::NotNull(a) => failing(c(&a.column).is_null()),
            Check::Unique(a) => {
                let keys: Vec<Expr> = a.columns.iter().map(|n| c(n)).collect();
                let key = if keys.len() == 1 { keys[0].clone() } else { as_struct(keys) };
                failing(key.is_duplicated())
            }
            Check::InSet(a) => {
                let values = Series::from_any_values("values".into(), &any_values(&a.values), false)
                    .map_err(|e| Error::mismatch(format!("check {}: values: {e}", self.id())))?;
                failing(c(&a.column).one_of(values).not())
            }
            Check::NotInSet(a) => {
                let values = Series::from_any_values("values".into(), &any_values(&a.values), false)
                    .map_err(|e| Error::mismatch(format!("check {}: values: {e}", self.id())))?;
                failing(c(&a.column).one_of(values))
            }
            Check::Between(a) => {
                let dtype = schema.get(a.column.as_str()).cloned().unwrap_or(DataType::Float64);
                let v = || {
                    c(&a.column).cast(if dtype.is_temporal() { DataType::Int64 } else { DataType::Float64 })
                };
                let exclusive = a.exclusive.unwrap_or(false);
                let mut fail = lit(false);
                if let Some(min) = a.min {
                    fail = fail.or(if exclusive { v().lt_eq(lit(min)) } else { v().lt(lit(min)) });
                }
                if let Some(max) = a.max {
                    fail = fail.or(if exclusive { v().gt_eq(lit(max)) } else { v().gt(lit(max)) });
                }
                failing(fail)
            }
            Check::Regex(a) => {
                let full = format!("^(?:{})$", a.pattern);
                failing(c(&a.column).str().contains(lit(full), true).not())
            }
            Check::Length(a) => {
                let n = || c(&a.column).str().len_chars();
                let mut fail = lit(false);
                if let Some(min) = a.min {
                    fail = fail.or(n().lt(lit(min)));
                }
                if let Some(max) = a.max {
                    fail = fail.or(n().gt(lit(max)));
                }
                failing(fail)
            }
            Check::Compare(a) => {
                let (l, r) = (c(&a.left), c(&a.right));
                let holds = match a.op.as_str() {
                    "<" => l.lt(r),
                    "<=" => l.lt_eq(r),
                    ">" => l.gt(r),
                    ">=" => l.gt_eq(r),
                    "=" => l.eq(r),
                    _ => l.neq(r),
                };
                failing(holds.not())
            }
            Check::Expression(a) => {
                let holds = crate::engine::polars::sql_expr(&a.sql, schema)
                    .map_err(|e| Error::mismatch(format!("check {}: {e}", self.id())))?;
                failing(holds.not())
            }
            Check::Format(a) => match (text_pattern(a.r#as), a.r#as) {
                (Some(pattern), _) => failing(c(&a.column).str().contains(lit(pattern), true).not()),
                (None, TextFormat::Date) => failing(unparsed(&a.column, Parse::Date, &a.strftime)),
                (None, _) => failing(unparsed(&a.column, Parse::Datetime, &a.strftime)),
            },
            Check::Parseable(a) => failing(unparsed(&a.column, a.r#as, &a.strftime)),
            Check::ForeignKey(a) => {
                let values = context.references.get(&a.references).cloned().ok_or_else(|| {
                    Error::mismatch(format!("check {}: `{}` was not given", self.id(), a.references))
                })?;
                failing(c(&a.column).is_not_null().and(c(&a.column).one_of(values).not()))
            }
            Check::Monotonic(a) => {
                let step =
                    c(&a.column).to_physical().cast(DataType::Float64).diff(lit(1), Default::default());
                let strict = a.strict.unwrap_or(false);
                failing(match (a.direction, strict) {
                    (Direction::Increasing, false) => step.lt(lit(0.0)),
                    (Direction::Increasing, true) => step.lt_eq(lit(0.0)),
                    (Direction::Decreasing, false) => step.gt(lit(0.0)),
                    (Direction::Decreasing, true) => step.gt_eq(lit(0.0)),
                })
            }
            Check::Freshness(a) => {
                let dtype = schema.get(a.column.as_str()).cloned().unwrap_or(DataType::Null);
                let v = if dtype == DataType::Date {
                    c(&a.column).cast(DataType::Datetime(TimeUnit::Milliseconds, None))
                } else {
                    c(&a.column)
                };
                // The newest value, as seconds since the epoch; its age is taken in `judge`.
                (v.dt().timestamp(TimeUnit::Milliseconds).max().cast(DataType::Float64) / lit(1000.0))
                    .alias(name)
            }
            // Checked against the schema (no data), by its own query, and by hashing keys as
            // the rows stream past (`unique::distinct`), in `quality::run`.
            Check::Schema(_) | Check::Sql(_) | Check::DistinctCount(_) | Check::DuplicateRows(_) => {
                return Ok(Vec::new());
            }
            Check::RowCount(_) => len().cast(DataType::Float64).alias(name),
            Check::NullFraction(a) => (c(&a.column).null_count().cast(DataType::Float64)
                / len().cast(DataType::Float64))
            .alias(name),
            Check::Stat(a) => {
                let v = c(&a.column).cast(DataType::Float64);
                match a.metric {
                    Metric::Mean => v.mean(),
                    Metric::Std => v.std(1),
                    Metric::Min => v.min(),
                    Metric::Max => v.max(),
                    Metric::Median => v.median(),
                    Metric::P95 => v.quantile(lit(0.95), QuantileMethod::Linear),
                    Metric::Sum => v.sum(),
                }
                .alias(name)
            }
        }])
    }

    /// Failing rows, whether the check passes, and the threshold as text, from the
    /// observation.
    pub fn judge(&self, rows: u64, observed: Option<f64>) -> (u64, bool, String) {
        let within = |v: Option<f64>, min: Option<f64>, max: Option<f64>| {
            v.is_some_and(|v| min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m))
        };
        let bounds = |min: Option<f64>, max: Option<f64>| match (min, max) {
            (Some(a), Some(b)) => format!("between {a} and {b}"),
            (Some(a), None) => format!(">= {a}"),
            (None, Some(b)) => format!("<= {b}"),
            (None, None) => "any".into(),
        };
        match self {
            Check::RowCount(a) => {
                let (min, max) = (a.min.map(|v| v as f64), a.max.map(|v| v as f64));
                (0, within(observed, min, max), bounds(min, max))
            }
            Check::NullFraction(a) => {
                (0, within(observed.or(Some(0.0)), None, Some(a.max)), bounds(None, Some(a.max)))
            }
            Check::DistinctCount(a) => {
                let (min, max) = (a.min.map(|v| v as f64), a.max.map(|v| v as f64));
                (0, within(observed, min, max), bounds(min, max))
            }
            Check::Stat(a) => (0, within(observed, a.min, a.max), bounds(a.min, a.max)),
            Check::DuplicateRows(a) => {
                let max = a.max.unwrap_or(0) as f64;
                (0, within(observed, None, Some(max)), bounds(None, Some(max)))
            }
            Check::Freshness(a) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                let max = parse_age(&a.max_age).unwrap_or(0.0);
                // No value at all is not fresh.
                (
                    0,
                    within(observed.map(|newest| now - newest), None, Some(max)),
                    format!("age <= {}", a.max_age),
                )
            }
            Check::Schema(_) => (0, observed == Some(0.0), "the columns and types given".into()),
            _ => {
                let failing = observed.unwrap_or(0.0) as u64;
                let c = self.common();
                let (allowed, text) = match (c.mostly, &c.max_failures) {
                    (Some(m), _) => (((1.0 - m) * rows as f64 + 1e-9).floor() as u64, format!("mostly {m}")),
                    (None, Some(MaxFailures::Count(n))) => (*n, format!("max_failures {n}")),
                    (None, Some(MaxFailures::Text(t))) => {
                        let pct = parse_percent(t).unwrap_or(0.0);
                        (((pct / 100.0) * rows as f64 + 1e-9).floor() as u64, format!("max_failures {t}"))
                    }
                    (None, None) => (0, "no failures".into()),
                };
                (failing, failing <= allowed, text)
            }
        }
    }
}

pub(super) fn any_values(values: &[toml::Value]) -> Vec<AnyValue<'static>> {
    values
        .iter()
        .map(|v| match v {
            toml::Value::Integer(i) => AnyValue::Int64(*i),
            toml::Value::Float(f) => AnyValue::Float64(*f),
            toml::Value::Boolean(b) => AnyValue::Boolean(*b),
            other => AnyValue::StringOwned(
                other.as_str().map(str::to_string).unwrap_or_else(|| other.to_string()).into(),
            ),
        })
        .collect()
}

/// What is wrong with `schema` for a `schema` check: missing columns, other types, extra
/// columns (mode exact), another order (ordered). Types are Polars' names (`i64`, `str`,
/// `date`, `datetime[μs]`) or the families `int`, `float`, `string`, `bool`, `datetime`.
pub fn schema_problems(a: &SchemaArgs, schema: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, want) in a.columns.iter() {
        let want = want.as_str().unwrap_or("").to_string();
        match schema.get(name.as_str()) {
            None => problems.push(format!("no column `{name}`")),
            Some(dtype) if !type_matches(dtype, &want) => {
                problems.push(format!("`{name}` is {dtype}, not {want}"));
            }
            Some(_) => {}
        }
    }
    if a.mode == Some(SchemaMode::Exact) {
        for name in schema.iter_names() {
            if !a.columns.contains_key(name.as_str()) {
                problems.push(format!("unexpected column `{name}`"));
            }
        }
    }
    if a.ordered == Some(true) {
        let expected: Vec<&str> = a.columns.keys().map(String::as_str).collect();
        let actual: Vec<&str> =
            schema.iter_names().map(|n| n.as_str()).filter(|n| a.columns.contains_key(*n)).collect();
        if actual != expected {
            problems.push(format!(
                "columns in order {} (expected {})",
                actual.join(", "),
                expected.join(", ")
            ));
        }
    }
    problems
}

/// A type name a `schema` check understands: a family, or a Polars type's display name.
pub(super) fn known_type(want: &str) -> bool {
    const FAMILIES: &[&str] = &[
        "int",
        "integer",
        "float",
        "double",
        "number",
        "numeric",
        "string",
        "str",
        "text",
        "utf8",
        "bool",
        "boolean",
        "date",
        "datetime",
        "timestamp",
    ];
    const POLARS: &[&str] = &[
        "i8", "i16", "i32", "i64", "i128", "u8", "u16", "u32", "u64", "u128", "f16", "f32", "f64", "binary",
        "time", "null", "cat", "object",
    ];
    const NESTED: &[&str] = &["datetime[", "duration[", "decimal[", "list[", "array[", "struct[", "enum"];
    let want = want.to_ascii_lowercase();
    FAMILIES.contains(&want.as_str())
        || POLARS.contains(&want.as_str())
        || (NESTED.iter().any(|p| want.starts_with(p)) && (want.ends_with(']') || want == "enum"))
}

pub(super) fn type_matches(dtype: &DataType, want: &str) -> bool {
    match want.to_ascii_lowercase().as_str() {
        "int" | "integer" => dtype.is_integer(),
        "float" | "double" => dtype.is_float(),
        "number" | "numeric" => dtype.is_primitive_numeric(),
        "string" | "str" | "text" | "utf8" => dtype == &DataType::String,
        "bool" | "boolean" => dtype == &DataType::Boolean,
        "date" => dtype == &DataType::Date,
        "datetime" | "timestamp" => matches!(dtype, DataType::Datetime(..)),
        other => dtype.to_string() == other,
    }
}

/// The regular expression of a `format` (dates and datetimes are parsed instead).
pub(super) fn text_pattern(format: TextFormat) -> Option<&'static str> {
    Some(match format {
        TextFormat::Email => r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        TextFormat::Uuid => r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        TextFormat::Url => r"^(?i:https?|ftp)://[^\s/$.?#][^\s]*$",
        TextFormat::Ipv4 => r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$",
        TextFormat::Date | TextFormat::Datetime => return None,
    })
}

/// Values of a text column that do not parse as `what` (nulls are not failures).
pub(super) fn unparsed(column: &str, what: Parse, strftime: &Option<String>) -> Expr {
    let c = || col(column.to_string());
    let options = |default: &str| StrptimeOptions {
        format: Some(strftime.clone().unwrap_or_else(|| default.to_string()).into()),
        strict: false,
        exact: true,
        cache: true,
    };
    let parsed = match what {
        Parse::Int => c().str().strip_chars(lit(NULL)).cast(DataType::Int64),
        Parse::Float => c().str().strip_chars(lit(NULL)).cast(DataType::Float64),
        Parse::Date => c().str().to_date(options("%Y-%m-%d")),
        Parse::Datetime => c().str().to_datetime(
            Some(TimeUnit::Microseconds),
            None,
            options("%Y-%m-%d %H:%M:%S"),
            lit("raise"),
        ),
    };
    c().is_not_null().and(parsed.is_null())
}

/// `"customers.customer_id"` as the source and the column.
pub fn reference(text: &str) -> std::result::Result<(String, String), String> {
    match text.split_once('.') {
        Some((source, column)) if !source.is_empty() && !column.is_empty() => {
            Ok((source.to_string(), column.to_string()))
        }
        _ => Err(format!("references `{text}` is not like \"source.column\"")),
    }
}

/// `"6h"`, `"30m"`, `"2d"`, `"45s"` as seconds.
pub(super) fn parse_age(text: &str) -> std::result::Result<f64, String> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| c.is_alphabetic()).unwrap_or(t.len()));
    let n: f64 = number.trim().parse().map_err(|_| format!("max_age `{text}` is not like \"6h\""))?;
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "w" => 604800.0,
        _ => return Err(format!("max_age `{text}`: the unit is one of s m h d w")),
    };
    Ok(n * scale)
}

/// `"0.5%"` as 0.5.
pub(super) fn parse_percent(text: &str) -> std::result::Result<f64, String> {
    text.trim()
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|p| (0.0..=100.0).contains(p))
        .ok_or_else(|| format!("max_failures `{text}` is not a count or a percentage like \"0.5%\""))
}

/// Membership in a set of values, true / false / null (for a null) like `is_in`. Polars'
/// streaming engine runs `is_in` as a semi-join whose output it must line up with the
/// rows again (~200 MB per check on 10M rows), so a small set is a chain of equalities,
/// truly row by row; a large one (a foreign key's values) stays a hash lookup.
pub(crate) trait InSet {
    fn one_of(self, values: Series) -> Expr;
}

impl InSet for Expr {
    fn one_of(self, values: Series) -> Expr {
        const CHAIN: usize = 32;
        // A null in the set matches nothing (nulls are not equal), as in `is_in`.
        let known = values.len() - values.null_count();
        if known > CHAIN || known == 0 {
            return self.is_in(lit(Scalar::new_list(values)), false);
        }
        let mut any: Option<Expr> = None;
        for v in values.iter().filter(|v| !v.is_null()) {
            let value = Scalar::new(values.dtype().clone(), v.into_static());
            let eq = self.clone().eq(lit(value));
            any = Some(match any {
                Some(a) => a.or(eq),
                None => eq,
            });
        }
        any.unwrap_or(lit(false))
    }
}
