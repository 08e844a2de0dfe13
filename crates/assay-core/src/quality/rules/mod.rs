//! The rules file: `[[checks]]` entries of docs/checks.md, each with exactly one key (the check
//! type) whose table holds the check's arguments and the common fields. Unknown keys,
//! missing arguments and wrong types are reported with the file, line and column
//! (serde over `toml`), and columns are checked against the data's schema before any
//! row is read.

use polars::prelude::*;
use serde::Deserialize;

use crate::quality::{Error, Result};

mod compile;

pub(crate) use compile::InSet;
pub use compile::{reference, schema_problems};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    #[default]
    Error,
}

/// A failure allowance: a count (`10`) or a percentage of the rows (`"0.5%"`).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum MaxFailures {
    Count(u64),
    Text(String),
}

/// Fields every check has.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Common {
    pub id: Option<String>,
    pub severity: Severity,
    /// Fraction of rows that must pass.
    pub mostly: Option<f64>,
    pub max_failures: Option<MaxFailures>,
    pub description: Option<String>,
}

/// Declares a check's argument struct with the common fields beside its own, so that
/// `deny_unknown_fields` sees them all (serde's `flatten` would switch it off).
macro_rules! check_args {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                #[serde(skip_serializing_if = "Unset::unset")]
                pub $field: $ty,
            )*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub id: Option<String>,
            #[serde(default, skip_serializing_if = "Unset::unset")]
            pub severity: Severity,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub mostly: Option<f64>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub max_failures: Option<MaxFailures>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub description: Option<String>,
        }

        impl $name {
            fn common(&self) -> Common {
                Common {
                    id: self.id.clone(),
                    severity: self.severity,
                    mostly: self.mostly,
                    max_failures: self.max_failures.clone(),
                    description: self.description.clone(),
                }
            }
        }
    };
}

/// Values of any TOML type (an `in_set` list), as written.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Values(pub Vec<toml::Value>);

/// A TOML table (a `schema` check's columns and types), in the file's order.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Table(pub toml::Table);

impl std::ops::Deref for Values {
    type Target = Vec<toml::Value>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::Deref for Table {
    type Target = toml::Table;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl schemars::JsonSchema for Values {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Values".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "array", "items": { "type": ["string", "number", "boolean"] } })
    }
}

impl schemars::JsonSchema for Table {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ColumnTypes".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "object", "additionalProperties": { "type": "string" } })
    }
}

/// Arguments left out when a check is written back as TOML: `None`s and defaults.
trait Unset {
    fn unset(&self) -> bool {
        false
    }
}
impl<T> Unset for Option<T> {
    fn unset(&self) -> bool {
        self.is_none()
    }
}
impl Unset for Severity {
    fn unset(&self) -> bool {
        *self == Severity::Error
    }
}
impl Unset for String {}
impl Unset for Vec<String> {}
impl Unset for Values {}
impl Unset for f64 {}
impl Unset for Table {}
impl Unset for TextFormat {}
impl Unset for Parse {}
impl Unset for Direction {}
impl Unset for Metric {}

check_args!(ColumnArgs { column: String });
check_args!(UniqueArgs { columns: Vec<String> });
check_args!(SetArgs { column: String, values: Values });
check_args!(BetweenArgs { column: String, min: Option<f64>, max: Option<f64>, exclusive: Option<bool> });
check_args!(RegexArgs { column: String, pattern: String });
check_args!(LengthArgs { column: String, min: Option<u64>, max: Option<u64> });
check_args!(CompareArgs { left: String, op: String, right: String });
check_args!(ExpressionArgs { sql: String });
check_args!(RowCountArgs { min: Option<u64>, max: Option<u64> });
check_args!(NullFractionArgs { column: String, max: f64 });
check_args!(DistinctCountArgs { column: String, min: Option<u64>, max: Option<u64> });
check_args!(StatArgs { column: String, metric: Metric, min: Option<f64>, max: Option<f64> });
check_args!(FormatArgs { column: String, r#as: TextFormat, strftime: Option<String> });
check_args!(ParseableArgs { column: String, r#as: Parse, strftime: Option<String> });
check_args!(MonotonicArgs { column: String, direction: Direction, strict: Option<bool> });
check_args!(DuplicateRowsArgs { max: Option<u64> });
check_args!(FreshnessArgs { column: String, max_age: String });
check_args!(SchemaArgs { columns: Table, mode: Option<SchemaMode>, ordered: Option<bool> });
check_args!(SqlArgs { query: String });
check_args!(ForeignKeyArgs { column: String, references: String });

/// What a `format` check expects of a text column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TextFormat {
    Email,
    Uuid,
    Url,
    Ipv4,
    Date,
    Datetime,
}

/// What a `parseable` check parses a text column as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Parse {
    Int,
    Float,
    Date,
    Datetime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Increasing,
    Decreasing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SchemaMode {
    /// Exactly these columns (extra columns fail).
    Exact,
    /// At least these columns.
    Subset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Mean,
    Std,
    Min,
    Max,
    Median,
    P95,
    Sum,
}

/// One check: its type and arguments.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    NotNull(ColumnArgs),
    Unique(UniqueArgs),
    InSet(SetArgs),
    NotInSet(SetArgs),
    Between(BetweenArgs),
    Regex(RegexArgs),
    Length(LengthArgs),
    Compare(CompareArgs),
    Expression(ExpressionArgs),
    RowCount(RowCountArgs),
    NullFraction(NullFractionArgs),
    DistinctCount(DistinctCountArgs),
    Stat(StatArgs),
    Format(FormatArgs),
    Parseable(ParseableArgs),
    Monotonic(MonotonicArgs),
    DuplicateRows(DuplicateRowsArgs),
    Freshness(FreshnessArgs),
    Schema(SchemaArgs),
    Sql(SqlArgs),
    ForeignKey(ForeignKeyArgs),
}

/// A rules file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Columns that identify a row, shown with every failing-row sample.
    #[serde(default)]
    pub key: Vec<String>,
    /// Failing rows sampled per check (default 5).
    #[serde(default)]
    pub samples: Option<usize>,
    #[serde(default)]
    pub checks: Vec<Check>,
}

/// What compiling the checks needs besides the data: what a failing-row sample shows,
/// and the values of the columns that foreign keys reference (`"source.column"`).
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub n: usize,
    pub key: Vec<String>,
    pub references: std::collections::HashMap<String, Series>,
    /// The data's columns, so a sample of an expression check shows those it reads.
    pub columns: Vec<String>,
}

impl Context {
    /// The key columns, then the check's own (for an expression, the columns it names).
    pub fn columns_of(&self, check: &Check) -> Vec<String> {
        let mut out = self.key.clone();
        let own = match check {
            Check::Expression(a) => {
                let known: Vec<&str> = self.columns.iter().map(String::as_str).collect();
                crate::transform::columns_in(&a.sql, &known)
            }
            _ => check.columns(),
        };
        for c in own {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

impl Rules {
    /// Reads the rules file at `path`: TOML, or YAML when it ends in `.yaml` / `.yml`.
    pub fn load(path: &str) -> Result<Rules> {
        let text = crate::error::read_text(path)?;
        let rules = if path.ends_with(".yaml") || path.ends_with(".yml") {
            Rules::parse_yaml(&text, path)?
        } else {
            Rules::parse(&text, path)?
        };
        rules.unique_ids(path)?;
        Ok(rules)
    }

    /// Parses YAML rules (the same model); errors name `origin`, the line and the column.
    pub fn parse_yaml(text: &str, origin: &str) -> Result<Rules> {
        let rules: Rules = from_yaml(text, origin)?;
        rules.validate(origin)?;
        Ok(rules)
    }

    pub(crate) fn validate(&self, origin: &str) -> Result<()> {
        for (i, check) in self.checks.iter().enumerate() {
            check
                .validate()
                .map_err(|m| Error::invalid(format!("{origin}: check {} ({}): {m}", i + 1, check.id())))?;
        }
        Ok(())
    }

    /// Reports, samples, quarantine tags and history know a check by its id: a file
    /// (rules or recipe) naming two checks alike is refused.
    pub(crate) fn unique_ids(&self, origin: &str) -> Result<()> {
        for (i, check) in self.checks.iter().enumerate() {
            if let Some(first) = self.checks[..i].iter().position(|c| c.id() == check.id()) {
                let how = if check.common().id.is_some() {
                    "give each check its own `id`"
                } else if check == &self.checks[first] {
                    "it repeats that check: remove one"
                } else {
                    "give one of them an `id`"
                };
                return Err(Error::invalid(format!(
                    "{origin}: check {} has the id `{}` of check {}: {how}",
                    i + 1,
                    check.id(),
                    first + 1
                )));
            }
        }
        Ok(())
    }

    /// Parses rules; errors name `origin`, the line and the column.
    pub fn parse(text: &str, origin: &str) -> Result<Rules> {
        let rules: Rules = from_toml(text, origin)?;
        rules.validate(origin)?;
        Ok(rules)
    }

    /// The rules as a rules file (TOML), to save what was built in the workbench.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        if !self.key.is_empty() {
            out.push_str(&format!("key = {}\n", toml::Value::from(self.key.clone())));
        }
        if let Some(n) = self.samples {
            out.push_str(&format!("samples = {n}\n"));
        }
        for check in &self.checks {
            out.push_str(&format!("\n[[checks]]\n{}\n", check.to_toml()));
        }
        out
    }

    /// Every column a check names exists, with a type the check can use.
    pub fn check_columns(&self, schema: &Schema) -> Result<()> {
        for k in &self.key {
            if schema.get(k.as_str()).is_none() {
                return Err(Error::mismatch(format!("key: no column `{k}`")));
            }
        }
        for check in &self.checks {
            if let Check::Expression(a) = check {
                let known: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
                if let Some(name) = crate::transform::unknown_column_in(&a.sql, &known) {
                    return Err(Error::mismatch(format!(
                        "check {}: no column `{name}` in `{}` (columns: {})",
                        check.id(),
                        a.sql,
                        known.join(", ")
                    )));
                }
            }
            for column in check.columns() {
                let Some(dtype) = schema.get(column.as_str()) else {
                    let known: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
                    return Err(Error::mismatch(format!(
                        "check {}: no column `{column}` (columns: {})",
                        check.id(),
                        known.join(", ")
                    )));
                };
                let numeric = dtype.is_primitive_numeric();
                let text = dtype == &DataType::String;
                let wrong = match check {
                    Check::Between(_) | Check::Stat(_) => !numeric && !dtype.is_temporal(),
                    Check::Regex(_) | Check::Length(_) | Check::Format(_) | Check::Parseable(_) => !text,
                    Check::Freshness(_) => !dtype.is_temporal(),
                    _ => false,
                };
                if wrong {
                    return Err(Error::mismatch(format!(
                        "check {}: `{}` cannot check column `{column}` of type {dtype}",
                        check.id(),
                        check.kind()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A TOML table's fields as `key = value` with inline values, joined by `sep`: one
/// per line (a `[[checks]]` or `[[steps]]` entry), or the body of an inline table
/// (`sep = ", "`). `None` unless `value` is a table.
pub fn fields(value: &toml::Value, sep: &str) -> Option<String> {
    let toml::Value::Table(t) = value else { return None };
    Some(t.iter().map(|(k, v)| format!("{} = {v}", key(k))).collect::<Vec<_>>().join(sep))
}

/// A TOML key, quoted unless bare.
pub fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
    }
}

/// `T` from TOML text; an error names `origin`, the line and the column.
pub(crate) fn from_toml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        Error::invalid(format!("{origin}:{line}:{col}: {}", plain(e.message().trim())))
    })
}

/// A parser's message in the words of a rules or recipe file, not of the Rust types
/// behind it.
pub(crate) fn plain(message: &str) -> String {
    const ONE_KEY: &str = "an entry of a list of checks or steps has one key, its type \
                           (e.g. `not_null = { column = \"amount\" }`), with its arguments inside";
    if message.contains("wanted exactly 1 element") || message.contains("expected map with a single key") {
        return ONE_KEY.to_string();
    }
    if message.contains("untagged enum MaxFailures") {
        return "max_failures is a count (10) or a percentage in quotes (\"0.5%\")".to_string();
    }
    let mut m = message.to_string();
    for (from, to) in [
        ("expected struct Rules", "expected a rules file (`[[checks]]` entries)"),
        ("expected struct Recipe", "expected a recipe"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a table"),
    ] {
        m = m.replace(from, to);
    }
    // Any other `struct Name` or `enum Name` is a table or a choice to the user.
    let words: Vec<&str> = m.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        match (words[i], words.get(i + 1)) {
            ("struct", Some(name)) if name.starts_with(|c: char| c.is_ascii_uppercase()) => {
                out.push("a table");
                i += 2;
            }
            ("enum", Some(name)) if name.starts_with(|c: char| c.is_ascii_uppercase()) => {
                out.push("one of the names allowed");
                i += 2;
            }
            (w, _) => {
                out.push(w);
                i += 1;
            }
        }
    }
    out.join(" ")
}

/// `T` from YAML text, each enum (a check type) a one-key map as in TOML (not a YAML
/// `!tag`); an error names `origin`, the line and the column.
pub(crate) fn from_yaml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let de = serde_norway::Deserializer::from_str(text);
    serde_norway::with::singleton_map_recursive::deserialize(de).map_err(|e| {
        let (line, col) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
        let message = e.to_string();
        // The message repeats the position at its end; keep the words.
        let message = message.split(" at line ").next().unwrap_or(&message).trim().to_string();
        Error::invalid(format!("{origin}:{line}:{col}: {}", plain(&message)))
    })
}

/// 1-based line and column of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

#[cfg(test)]
mod tests;
