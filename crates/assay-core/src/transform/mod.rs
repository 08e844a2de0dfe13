//! The step model shared by the workbench and (soon) recipes: what a user did to the
//! data, as data. Each step lowers to a Polars lazy plan and prints as SQL, so a view on
//! screen can be shown, saved and replayed on either engine.

pub mod filter;

use std::collections::HashMap;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::sql::ident;

mod sql;

use sql::*;
pub use sql::{
    check_expression, columns_in, is_simple, literal, sql_type, step_sql, to_sql, unknown_column_in,
    view_sql, with_input, SqlColumn, SqlInput,
};

crate::layer_error! {
    /// What the transform room says about a step.
    pub enum Error {
        /// A step that cannot apply (an unknown column or table, a bad expression): exit 2.
        Invalid(invalid) = 2,
        /// A step that failed while building its plan: exit 3.
        Failed(failed) = 3,
        ;
        Engine(crate::engine::Error),
        Sql(crate::sql::Error),
        Source(crate::source::Error),
        Ground(crate::error::Error),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One ordering key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub column: String,
    pub descending: bool,
}

/// A type a `cast` step converts a column to (a value that does not convert becomes
/// null on both engines: Polars' non-strict cast, SQL's `TRY_CAST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Float32,
    Float64,
    String,
    Boolean,
    Date,
    Datetime,
}

impl ColumnType {
    pub const ALL: [ColumnType; 14] = [
        ColumnType::Int8,
        ColumnType::Int16,
        ColumnType::Int32,
        ColumnType::Int64,
        ColumnType::Uint8,
        ColumnType::Uint16,
        ColumnType::Uint32,
        ColumnType::Uint64,
        ColumnType::Float32,
        ColumnType::Float64,
        ColumnType::String,
        ColumnType::Boolean,
        ColumnType::Date,
        ColumnType::Datetime,
    ];

    /// The name written in a recipe.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Int8 => "int8",
            ColumnType::Int16 => "int16",
            ColumnType::Int32 => "int32",
            ColumnType::Int64 => "int64",
            ColumnType::Uint8 => "uint8",
            ColumnType::Uint16 => "uint16",
            ColumnType::Uint32 => "uint32",
            ColumnType::Uint64 => "uint64",
            ColumnType::Float32 => "float32",
            ColumnType::Float64 => "float64",
            ColumnType::String => "string",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Datetime => "datetime",
        }
    }

    pub fn polars(self) -> DataType {
        match self {
            ColumnType::Int8 => DataType::Int8,
            ColumnType::Int16 => DataType::Int16,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Uint8 => DataType::UInt8,
            ColumnType::Uint16 => DataType::UInt16,
            ColumnType::Uint32 => DataType::UInt32,
            ColumnType::Uint64 => DataType::UInt64,
            ColumnType::Float32 => DataType::Float32,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::String => DataType::String,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Date => DataType::Date,
            ColumnType::Datetime => DataType::Datetime(TimeUnit::Microseconds, None),
        }
    }

    /// The SQL type name (understood by both engines' SQL).
    pub fn sql(self) -> String {
        sql_type(&self.polars())
    }
}

/// A literal value (what `fill_null` puts in place of a null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Value {
    fn polars(&self) -> Expr {
        match self {
            Value::Bool(b) => lit(*b),
            Value::Int(i) => lit(*i),
            Value::Float(f) => lit(*f),
            Value::Text(s) => lit(s.as_str()),
        }
    }

    fn sql(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string().to_uppercase(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f:?}"),
            Value::Text(s) => literal(s),
        }
    }
}

/// Which row of a group of duplicates a `dedupe` step keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    /// The first in row order (or in `order_by` order).
    #[default]
    First,
    /// The last in row order (or in `order_by` order).
    Last,
    /// None: every row whose key occurs more than once is dropped.
    None,
}

/// How a `join` step matches rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum How {
    #[default]
    Inner,
    Left,
    Right,
    Full,
    /// The rows with a match, the left side's columns only.
    Semi,
    /// The rows without a match, the left side's columns only.
    Anti,
}

impl How {
    fn sql(self) -> &'static str {
        match self {
            How::Inner | How::Semi | How::Anti => "INNER",
            How::Left => "LEFT",
            How::Right => "RIGHT",
            How::Full => "FULL",
        }
    }
}

/// A join with another table: a source or a named step.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub table: String,
    pub left_on: Vec<String>,
    pub right_on: Vec<String>,
    pub how: How,
    /// Appended to the other table's columns whose names the left side has (`_right`).
    pub suffix: String,
}

/// One change to the data.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Keep the rows where an SQL boolean expression holds.
    Filter { sql: String },
    /// Order the rows (nulls last).
    Sort { keys: Vec<SortKey> },
    /// Keep these columns, in this order (hidden and reordered columns).
    Select { columns: Vec<String> },
    /// Remove these columns.
    Drop { columns: Vec<String> },
    /// Rename columns (old, new).
    Rename { columns: Vec<(String, String)> },
    /// Convert columns to a type.
    Cast { columns: Vec<(String, ColumnType)> },
    /// Add (or replace) columns computed by SQL expressions, in order: a later one may
    /// use an earlier one.
    Derive { columns: Vec<(String, String)> },
    /// Replace the nulls of columns by a value.
    FillNull { columns: Vec<(String, Value)> },
    /// Keep one row per key (`columns`, default every column).
    Dedupe { columns: Vec<String>, keep: Keep, order_by: Vec<SortKey> },
    /// Join with another table.
    Join(Join),
    /// An SQL query over `input` (this step's input) and the other tables. `engine`
    /// says which engine's SQL it is written for (default: the run's engine).
    Sql { query: String, engine: Option<crate::engine::EngineKind> },
    /// The first rows only.
    Limit { rows: u64 },
    /// A step switched off in the workbench's recipe panel (kept in place, applies
    /// nothing; saved with `enabled = false`).
    Disabled(Box<Step>),
}

/// Other tables by name, for steps that read them (`join`, `sql`).
pub type Tables = HashMap<String, LazyFrame>;

/// The name the previous step's rows have inside an `sql` step.
pub const INPUT: &str = "input";

fn names(columns: &[String]) -> Vec<PlSmallStr> {
    columns.iter().map(|c| PlSmallStr::from(c.as_str())).collect()
}

fn sort_options(keys: &[SortKey]) -> SortMultipleOptions {
    SortMultipleOptions::default()
        .with_order_descending_multi(keys.iter().map(|k| k.descending))
        .with_nulls_last(true)
        .with_maintain_order(true)
}

fn sort_exprs(keys: &[SortKey]) -> Vec<Expr> {
    keys.iter().map(|k| col(k.column.as_str())).collect()
}

impl Step {
    /// A filter step, its expression checked before any data is read.
    pub fn filter(sql: &str) -> Result<Step> {
        check_expression(sql)?;
        Ok(Step::Filter { sql: sql.trim().to_string() })
    }

    /// The step's kind as a recipe names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Filter { .. } => "filter",
            Step::Sort { .. } => "sort",
            Step::Select { .. } => "select",
            Step::Drop { .. } => "drop",
            Step::Rename { .. } => "rename",
            Step::Cast { .. } => "cast",
            Step::Derive { .. } => "derive",
            Step::FillNull { .. } => "fill_null",
            Step::Dedupe { .. } => "dedupe",
            Step::Join(_) => "join",
            Step::Sql { .. } => "sql",
            Step::Limit { .. } => "limit",
            Step::Disabled(s) => s.kind(),
        }
    }

    /// The step that applies: `None` for a disabled one.
    pub fn enabled(&self) -> Option<&Step> {
        match self {
            Step::Disabled(_) => None,
            s => Some(s),
        }
    }

    /// The step applied to `lf` as a lazy Polars plan; `tables` holds what `join` and
    /// `sql` steps read besides their input. (An `sql` step runs as Polars SQL here,
    /// whatever its `engine`: a recipe run crosses engines itself.)
    pub fn lower(&self, lf: LazyFrame, tables: &Tables) -> PolarsResult<LazyFrame> {
        Ok(match self {
            Step::Filter { sql } => {
                let mut lf = lf;
                let schema = lf.collect_schema()?;
                lf.filter(crate::engine::polars::sql_expr(sql, &schema)?)
            }
            Step::Sort { keys } => lf.sort_by_exprs(sort_exprs(keys), sort_options(keys)),
            Step::Select { columns } => {
                lf.select(columns.iter().map(|c| col(c.as_str())).collect::<Vec<_>>())
            }
            Step::Drop { columns } => {
                lf.drop(Selector::ByName { names: names(columns).into(), strict: true })
            }
            Step::Rename { columns } => {
                let (old, new): (Vec<&str>, Vec<&str>) =
                    columns.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip();
                // Polars asserts (panics) on a name renamed twice in one call.
                if let Some(twice) = old.iter().enumerate().find(|(i, o)| old[..*i].contains(o)) {
                    polars_bail!(InvalidOperation: "rename: `{}` is renamed twice in one step", twice.1);
                }
                lf.rename(old, new, true)
            }
            Step::Cast { columns } => lf.with_columns(
                columns.iter().map(|(c, t)| col(c.as_str()).cast(t.polars())).collect::<Vec<_>>(),
            ),
            Step::Derive { columns } => {
                let mut lf = lf;
                for (name, sql) in columns {
                    let schema = lf.collect_schema()?;
                    lf = lf.with_column(crate::engine::polars::sql_expr(sql, &schema)?.alias(name.as_str()));
                }
                lf
            }
            Step::FillNull { columns } => {
                let mut lf = lf;
                let schema = lf.collect_schema()?;
                let mut exprs = Vec::new();
                for (c, v) in columns {
                    let dtype = schema
                        .get(c.as_str())
                        .ok_or_else(|| polars_err!(ColumnNotFound: "fill_null: no column `{c}`"))?;
                    exprs.push(col(c.as_str()).fill_null(v.polars().strict_cast(dtype.clone())));
                }
                lf.with_columns(exprs)
            }
            Step::Dedupe { columns, keep, order_by } => {
                let lf = if order_by.is_empty() {
                    lf
                } else {
                    lf.sort_by_exprs(sort_exprs(order_by), sort_options(order_by))
                };
                let subset = (!columns.is_empty())
                    .then(|| Selector::ByName { names: names(columns).into(), strict: true });
                let keep = match keep {
                    Keep::First => UniqueKeepStrategy::First,
                    Keep::Last => UniqueKeepStrategy::Last,
                    Keep::None => UniqueKeepStrategy::None,
                };
                lf.unique_stable(subset, keep)
            }
            Step::Join(j) => {
                let mut right = tables
                    .get(&j.table)
                    .cloned()
                    .ok_or_else(|| polars_err!(ComputeError: "join: no table `{}`", j.table))?;
                let mut left = lf;
                let left_columns: Vec<String> =
                    left.collect_schema()?.iter_names().map(|n| n.to_string()).collect();
                let right_columns: Vec<String> =
                    right.collect_schema()?.iter_names().map(|n| n.to_string()).collect();
                let how = match j.how {
                    How::Inner => JoinType::Inner,
                    How::Left => JoinType::Left,
                    How::Right => JoinType::Right,
                    How::Full => JoinType::Full,
                    How::Semi => JoinType::Semi,
                    How::Anti => JoinType::Anti,
                };
                let mut args = JoinArgs::new(how)
                    .with_coalesce(JoinCoalesce::CoalesceColumns)
                    .with_suffix(Some(j.suffix.as_str().into()));
                if matches!(j.how, How::Inner | How::Left | How::Semi | How::Anti) {
                    args.maintain_order = MaintainOrderJoin::Left;
                }
                let on = |keys: &[String]| keys.iter().map(|k| col(k.as_str())).collect::<Vec<_>>();
                let joined = left.join(right, on(&j.left_on), on(&j.right_on), args);
                let out: Vec<Expr> = join_columns(j, &left_columns, &right_columns)
                    .into_iter()
                    .map(|(_, name)| col(name.as_str()))
                    .collect();
                joined.select(out)
            }
            Step::Sql { query, .. } => {
                let named = tables.iter().map(|(name, t)| (name.as_str(), t.clone()));
                crate::engine::polars::sql(named.chain([(INPUT, lf)]), query)?
            }
            Step::Limit { rows } => lf.slice(0, IdxSize::try_from(*rows).unwrap_or(IdxSize::MAX)),
            Step::Disabled(_) => lf,
        })
    }

    /// Whether the step keeps every row it is given (it changes columns or order only),
    /// so a row count before it holds after it.
    pub fn keeps_rows(&self) -> bool {
        matches!(
            self,
            Step::Select { .. }
                | Step::Drop { .. }
                | Step::Rename { .. }
                | Step::Cast { .. }
                | Step::Derive { .. }
                | Step::FillNull { .. }
                | Step::Sort { .. }
                | Step::Disabled(_)
        )
    }

    /// Whether the step keeps the order of the rows it is given (so an earlier sort
    /// still holds after it).
    fn keeps_order(&self) -> bool {
        match self {
            Step::Filter { .. }
            | Step::Select { .. }
            | Step::Drop { .. }
            | Step::Rename { .. }
            | Step::Cast { .. }
            | Step::Derive { .. }
            | Step::FillNull { .. }
            | Step::Limit { .. }
            | Step::Disabled(_) => true,
            Step::Dedupe { order_by, .. } => order_by.is_empty(),
            Step::Join(j) => matches!(j.how, How::Inner | How::Left | How::Semi | How::Anti),
            Step::Sort { .. } | Step::Sql { .. } => false,
        }
    }

    /// The row order in effect after this step, given the one before it.
    pub fn order_after(&self, before: &[SortKey], columns_after: &[String]) -> Vec<SortKey> {
        let renamed = |k: &SortKey| -> SortKey {
            match self {
                Step::Rename { columns } => match columns.iter().find(|(old, _)| *old == k.column) {
                    Some((_, new)) => SortKey { column: new.clone(), descending: k.descending },
                    None => k.clone(),
                },
                _ => k.clone(),
            }
        };
        let keys: Vec<SortKey> = match self {
            Step::Sort { keys } => keys.clone(),
            Step::Dedupe { order_by, .. } if !order_by.is_empty() => order_by.clone(),
            _ if self.keeps_order() => before.iter().map(renamed).collect(),
            _ => Vec::new(),
        };
        if keys.iter().all(|k| columns_after.contains(&k.column)) {
            keys
        } else {
            Vec::new()
        }
    }

    /// The step as one SQL query over `input.table` (a relation with `input.columns`).
    /// Rows keep an earlier sort (`input.order`) where the step keeps order: SQL does
    /// not promise the order of a subquery, so the order is written again.
    pub fn to_sql(&self, input: &SqlInput) -> Result<String> {
        let from = ident(input.table);
        let names: Vec<&str> = input.columns.iter().map(|c| c.name.as_str()).collect();
        let all = |cols: &[&str]| cols.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        let order = |keys: &[SortKey]| {
            if keys.is_empty() {
                String::new()
            } else {
                format!(" ORDER BY {}", order_by(keys))
            }
        };
        let kept = order(input.order);
        let missing = |c: &str| -> Result<()> {
            if names.contains(&c) {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "{}: no column `{c}` (columns: {})",
                    self.kind(),
                    names.join(", ")
                )))
            }
        };
        Ok(match self {
            Step::Filter { sql } => format!("SELECT * FROM {from} WHERE {sql}{kept}"),
            Step::Sort { keys } => format!("SELECT * FROM {from}{}", order(keys)),
            Step::Select { columns } => {
                columns.iter().try_for_each(|c| missing(c))?;
                let out: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
                format!("SELECT {} FROM {from}{kept}", all(&out))
            }
            Step::Drop { columns } => {
                columns.iter().try_for_each(|c| missing(c))?;
                let out: Vec<&str> =
                    names.iter().copied().filter(|n| !columns.iter().any(|c| c == n)).collect();
                format!("SELECT {} FROM {from}{kept}", all(&out))
            }
            Step::Rename { columns } => {
                columns.iter().try_for_each(|(c, _)| missing(c))?;
                let out: Vec<String> = names
                    .iter()
                    .map(|n| match columns.iter().find(|(old, _)| old == n) {
                        Some((old, new)) => format!("{} AS {}", ident(old), ident(new)),
                        None => ident(n),
                    })
                    .collect();
                format!("SELECT {} FROM {from}{kept}", out.join(", "))
            }
            Step::Cast { columns } => {
                columns.iter().try_for_each(|(c, _)| missing(c))?;
                let out: Vec<String> = names
                    .iter()
                    .map(|n| match columns.iter().find(|(c, _)| c == n) {
                        Some((c, t)) => format!("TRY_CAST({} AS {}) AS {}", ident(c), t.sql(), ident(c)),
                        None => ident(n),
                    })
                    .collect();
                format!("SELECT {} FROM {from}{kept}", out.join(", "))
            }
            Step::Derive { columns } => {
                // One SELECT per derived column, so a later one can use an earlier one.
                let mut current: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                let mut query = from.clone();
                for (i, (name, sql)) in columns.iter().enumerate() {
                    let mut out: Vec<String> = current
                        .iter()
                        .map(|c| if c == name { format!("({sql}) AS {}", ident(name)) } else { ident(c) })
                        .collect();
                    if !current.contains(name) {
                        out.push(format!("({sql}) AS {}", ident(name)));
                        current.push(name.clone());
                    }
                    let source = if i == 0 { query.clone() } else { format!("({query}) AS __derive{i}") };
                    query = format!("SELECT {} FROM {source}", out.join(", "));
                }
                format!("{query}{kept}")
            }
            Step::FillNull { columns } => {
                columns.iter().try_for_each(|(c, _)| missing(c))?;
                let out: Vec<String> = input
                    .columns
                    .iter()
                    .map(|c| match columns.iter().find(|(n, _)| *n == c.name) {
                        Some((n, v)) => format!(
                            "COALESCE({}, CAST({} AS {})) AS {}",
                            ident(n),
                            v.sql(),
                            c.sql_type,
                            ident(n)
                        ),
                        None => ident(&c.name),
                    })
                    .collect();
                format!("SELECT {} FROM {from}{kept}", out.join(", "))
            }
            Step::Dedupe { columns, keep, order_by: by } => {
                columns.iter().try_for_each(|c| missing(c))?;
                let key = if columns.is_empty() {
                    all(&names)
                } else {
                    columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ")
                };
                let order_after = if by.is_empty() { kept.clone() } else { order(by) };
                match keep {
                    Keep::First | Keep::Last if columns.is_empty() => {
                        format!("SELECT DISTINCT {} FROM {from}{order_after}", all(&names))
                    }
                    Keep::First | Keep::Last => {
                        let mut within: Vec<SortKey> = if by.is_empty() { input.order.to_vec() } else { by.clone() };
                        if *keep == Keep::Last {
                            within.iter_mut().for_each(|k| k.descending = !k.descending);
                        }
                        let within = if within.is_empty() {
                            String::new()
                        } else {
                            format!(" ORDER BY {}", order_by(&within))
                        };
                        format!(
                            "SELECT {} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {key}{within}) AS __assay_rn \
                             FROM {from}) AS __dedupe WHERE __assay_rn = 1{order_after}",
                            all(&names)
                        )
                    }
                    Keep::None => format!(
                        "SELECT {} FROM (SELECT *, COUNT(*) OVER (PARTITION BY {key}) AS __assay_n FROM {from}) \
                         AS __dedupe WHERE __assay_n = 1{order_after}",
                        all(&names)
                    ),
                }
            }
            Step::Join(j) => {
                j.left_on.iter().try_for_each(|c| missing(c))?;
                let right_columns = (input.columns_of)(&j.table)
                    .ok_or_else(|| Error::invalid(format!("join: no table `{}`", j.table)))?;
                let on: Vec<String> = j
                    .left_on
                    .iter()
                    .zip(&j.right_on)
                    .map(|(l, r)| format!("l.{} = r.{}", ident(l), ident(r)))
                    .collect();
                let on = on.join(" AND ");
                let right = ident(&j.table);
                match j.how {
                    How::Semi | How::Anti => format!(
                        "SELECT l.* FROM {from} AS l WHERE {}EXISTS (SELECT 1 FROM {right} AS r WHERE {on}){kept}",
                        if j.how == How::Anti { "NOT " } else { "" }
                    ),
                    how => {
                        let coalesce = matches!(how, How::Right | How::Full);
                        let out: Vec<String> = join_columns(j, &names_owned(&names), &right_columns)
                            .into_iter()
                            .map(|(side, name)| match side {
                                Side::Key(l, r) if coalesce => {
                                    format!("COALESCE(l.{}, r.{}) AS {}", ident(&l), ident(&r), ident(&name))
                                }
                                Side::Key(l, _) | Side::Left(l) => {
                                    format!("l.{} AS {}", ident(&l), ident(&name))
                                }
                                Side::Right(r) => format!("r.{} AS {}", ident(&r), ident(&name)),
                            })
                            .collect();
                        let kept = if how == How::Right { String::new() } else { kept };
                        format!(
                            "SELECT {} FROM {from} AS l {} JOIN {right} AS r ON {on}{kept}",
                            out.join(", "),
                            how.sql()
                        )
                    }
                }
            }
            Step::Sql { query, .. } => query.clone(),
            Step::Limit { rows } => format!("SELECT * FROM {from}{kept} LIMIT {rows}"),
            Step::Disabled(_) => format!("SELECT * FROM {from}{kept}"),
        })
    }
}

fn names_owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Where a joined column comes from.
enum Side {
    /// A key: the left and right key columns (one column in the output).
    Key(String, String),
    Left(String),
    Right(String),
}

/// The output columns of a join, in order: the left side's (keys among them), then the
/// right side's other columns, suffixed where the left has the name. Semi and anti joins
/// keep the left side's only.
fn join_columns(j: &Join, left: &[String], right: &[String]) -> Vec<(Side, String)> {
    let mut out: Vec<(Side, String)> = left
        .iter()
        .map(|l| match j.left_on.iter().position(|k| k == l) {
            Some(i) => (Side::Key(l.clone(), j.right_on[i].clone()), l.clone()),
            None => (Side::Left(l.clone()), l.clone()),
        })
        .collect();
    if matches!(j.how, How::Semi | How::Anti) {
        return out;
    }
    for r in right.iter().filter(|r| !j.right_on.contains(r)) {
        let name = if left.contains(r) { format!("{r}{}", j.suffix) } else { r.clone() };
        out.push((Side::Right(r.clone()), name));
    }
    out
}

/// `lf` with every step applied, in order (still lazy). Steps that read other tables
/// (`join`, `sql`) find them in `tables`.
pub fn apply_with(mut lf: LazyFrame, steps: &[Step], tables: &Tables) -> PolarsResult<LazyFrame> {
    for step in steps {
        lf = step.lower(lf, tables)?;
    }
    Ok(lf)
}

/// `lf` with steps that read no other table applied (see `apply_with`).
pub fn apply(lf: LazyFrame, steps: &[Step]) -> PolarsResult<LazyFrame> {
    apply_with(lf, steps, &Tables::new())
}

/// Whether a step reads another table.
pub fn needs_tables(steps: &[Step]) -> bool {
    steps.iter().any(|s| matches!(s, Step::Join(_) | Step::Sql { .. }))
}

/// The names of the other tables the enabled steps read (a join's table, the tables of
/// an `sql` step's query but its `input`), lowercased.
pub fn tables_read(steps: &[Step]) -> Vec<String> {
    let mut out = Vec::new();
    for step in steps.iter().filter_map(Step::enabled) {
        match step {
            Step::Join(j) => out.push(j.table.to_lowercase()),
            Step::Sql { query, .. } => {
                let read = crate::sql::parse(query).map(|s| crate::sql::tables_read(&s)).unwrap_or_default();
                out.extend(read.into_iter().filter(|t| t != INPUT));
            }
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
