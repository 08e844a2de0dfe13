//! Loading by `COPY … FROM STDIN (FORMAT binary)`: the Postgres type of each column and
//! the binary encoding of a batch of rows (numerics exact, dates and times from their
//! epochs).

use super::*;

/// The Postgres types assay writes and reads, with their binary COPY encodings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// numeric(p, s), or unconstrained.
    Numeric(Option<(usize, usize)>),
    Text,
    Jsonb,
    Bytea,
    Date,
    Timestamp,
    Timestamptz,
    Time,
    Interval,
}

impl PgType {
    /// The column type a new table gets for a Polars type.
    pub(super) fn of(name: &str, dtype: &DataType) -> Result<PgType> {
        Ok(match dtype {
            DataType::Boolean => PgType::Bool,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => PgType::Int2,
            DataType::Int32 | DataType::UInt16 => PgType::Int4,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => PgType::Int8,
            DataType::Float32 => PgType::Float4,
            DataType::Float64 => PgType::Float8,
            DataType::Decimal(p, s) => PgType::Numeric(Some((*p, *s))),
            DataType::String | DataType::Categorical(_, _) | DataType::Enum(_, _) | DataType::Null => PgType::Text,
            DataType::Binary => PgType::Bytea,
            DataType::Date => PgType::Date,
            DataType::Datetime(_, None) => PgType::Timestamp,
            DataType::Datetime(_, Some(_)) => PgType::Timestamptz,
            DataType::Time => PgType::Time,
            DataType::Duration(_) => PgType::Interval,
            other => {
                return Err(Error::refused(format!(
                    "column `{name}` of type {other} cannot be loaded into Postgres (write Parquet, or cast it first)"
                )))
            }
        })
    }

    /// The type of an existing column (`format_type` text), if assay can write it.
    pub(super) fn from_sql(decl: &str) -> Option<PgType> {
        let base = decl.split('(').next().unwrap_or(decl).trim();
        Some(match base {
            "boolean" => PgType::Bool,
            "smallint" => PgType::Int2,
            "integer" => PgType::Int4,
            "bigint" => PgType::Int8,
            "real" => PgType::Float4,
            "double precision" => PgType::Float8,
            "numeric" => PgType::Numeric(
                decl.strip_prefix("numeric(").and_then(|r| r.strip_suffix(')')).and_then(|r| {
                    let (p, s) = r.split_once(',').unwrap_or((r, "0"));
                    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
                }),
            ),
            "text" | "character varying" | "character" | "json" | "name" | "citext" => PgType::Text,
            "jsonb" => PgType::Jsonb,
            "bytea" => PgType::Bytea,
            "date" => PgType::Date,
            "timestamp without time zone" => PgType::Timestamp,
            "timestamp with time zone" => PgType::Timestamptz,
            "time without time zone" => PgType::Time,
            "interval" => PgType::Interval,
            _ => return None,
        })
    }

    pub(super) fn decl(&self) -> String {
        match self {
            PgType::Bool => "boolean".into(),
            PgType::Int2 => "smallint".into(),
            PgType::Int4 => "integer".into(),
            PgType::Int8 => "bigint".into(),
            PgType::Float4 => "real".into(),
            PgType::Float8 => "double precision".into(),
            PgType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            PgType::Numeric(None) => "numeric".into(),
            PgType::Text => "text".into(),
            PgType::Jsonb => "jsonb".into(),
            PgType::Bytea => "bytea".into(),
            PgType::Date => "date".into(),
            PgType::Timestamp => "timestamp".into(),
            PgType::Timestamptz => "timestamptz".into(),
            PgType::Time => "time".into(),
            PgType::Interval => "interval".into(),
        }
    }

    /// The Polars type a column is converted to before it is encoded as this type.
    pub(super) fn polars(&self, from: &DataType) -> DataType {
        match self {
            PgType::Bool => DataType::Boolean,
            PgType::Int2 => DataType::Int16,
            PgType::Int4 => DataType::Int32,
            PgType::Int8 => DataType::Int64,
            PgType::Float4 => DataType::Float32,
            PgType::Float8 => DataType::Float64,
            PgType::Numeric(Some((p, s))) => DataType::Decimal((*p).min(38), *s),
            PgType::Numeric(None) => match from {
                DataType::Decimal(p, s) => DataType::Decimal(*p, *s),
                dt if dt.is_integer() => DataType::Decimal(38, 0),
                _ => DataType::Decimal(38, 10),
            },
            PgType::Text | PgType::Jsonb => DataType::String,
            PgType::Bytea => DataType::Binary,
            PgType::Date => DataType::Date,
            PgType::Timestamp => DataType::Datetime(TimeUnit::Microseconds, None),
            PgType::Timestamptz => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
            PgType::Time => DataType::Time,
            PgType::Interval => DataType::Duration(TimeUnit::Microseconds),
        }
    }

    /// The expression that turns column `name` (of type `from`) into what is encoded.
    pub(super) fn expr(&self, name: &str, from: &DataType) -> Expr {
        let to = self.polars(from);
        let c = col(name);
        let c = match (from, &to) {
            (a, b) if a == b => c,
            // A naive timestamp into timestamptz is read as UTC.
            (DataType::Datetime(u, None), DataType::Datetime(_, Some(_))) => c
                .cast(DataType::Datetime(*u, None))
                .dt()
                .replace_time_zone(Some(TimeZone::UTC), lit("raise"), NonExistent::Raise)
                .cast(to),
            _ => c.strict_cast(to),
        };
        c.alias(name)
    }
}

/// Days and microseconds between the Unix epoch and Postgres' (2000-01-01).
pub(super) const PG_EPOCH_DAYS: i32 = 10_957;

pub(super) const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

pub(super) const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Encodes a frame's rows (columns already converted by `PgType::expr`) in the binary
/// COPY tuple format.
pub(super) fn encode(df: &DataFrame, types: &[PgType], buf: &mut BytesMut) -> PolarsResult<()> {
    use polars_arrow::array::{Array, BinaryViewArray, BooleanArray, PrimitiveArray, Utf8ViewArray};
    enum Col<'a> {
        Bool(&'a BooleanArray),
        I16(&'a PrimitiveArray<i16>),
        I32(&'a PrimitiveArray<i32>, i32),
        I64(&'a PrimitiveArray<i64>, i64, i64),
        F32(&'a PrimitiveArray<f32>),
        F64(&'a PrimitiveArray<f64>),
        Dec(&'a PrimitiveArray<i128>, u16),
        Text(&'a Utf8ViewArray, bool),
        Bytes(&'a BinaryViewArray),
        Interval(&'a PrimitiveArray<i64>),
    }
    let df = df.clone();
    let mut physical = Vec::with_capacity(df.width());
    for c in df.columns() {
        physical.push(c.as_materialized_series().to_physical_repr().rechunk());
    }
    let mut cols = Vec::with_capacity(physical.len());
    for (s, t) in physical.iter().zip(types) {
        let arr = s.chunks().first().ok_or_else(|| polars_err!(ComputeError: "empty column"))?;
        let any = arr.as_any();
        let bad = || polars_err!(ComputeError: "column `{}`: unexpected type {} for {}", s.name(), s.dtype(), t.decl());
        cols.push(match t {
            PgType::Bool => Col::Bool(any.downcast_ref().ok_or_else(bad)?),
            PgType::Int2 => Col::I16(any.downcast_ref().ok_or_else(bad)?),
            PgType::Int4 => Col::I32(any.downcast_ref().ok_or_else(bad)?, 0),
            PgType::Date => Col::I32(any.downcast_ref().ok_or_else(bad)?, PG_EPOCH_DAYS),
            PgType::Int8 => Col::I64(any.downcast_ref().ok_or_else(bad)?, 0, 1),
            PgType::Timestamp | PgType::Timestamptz => {
                Col::I64(any.downcast_ref().ok_or_else(bad)?, PG_EPOCH_MICROS, 1)
            }
            // Polars keeps times in nanoseconds, Postgres in microseconds.
            PgType::Time => Col::I64(any.downcast_ref().ok_or_else(bad)?, 0, 1000),
            PgType::Float4 => Col::F32(any.downcast_ref().ok_or_else(bad)?),
            PgType::Float8 => Col::F64(any.downcast_ref().ok_or_else(bad)?),
            PgType::Numeric(_) => {
                let scale = match s.dtype() {
                    DataType::Int128 => match df.column(s.name())?.dtype() {
                        DataType::Decimal(_, sc) => *sc as u16,
                        _ => 0,
                    },
                    _ => return Err(bad()),
                };
                Col::Dec(any.downcast_ref().ok_or_else(bad)?, scale)
            }
            PgType::Text => Col::Text(any.downcast_ref().ok_or_else(bad)?, false),
            PgType::Jsonb => Col::Text(any.downcast_ref().ok_or_else(bad)?, true),
            PgType::Bytea => Col::Bytes(any.downcast_ref().ok_or_else(bad)?),
            PgType::Interval => Col::Interval(any.downcast_ref().ok_or_else(bad)?),
        });
    }
    let width = cols.len() as i16;
    for row in 0..df.height() {
        buf.put_i16(width);
        for c in &cols {
            let valid = match c {
                Col::Bool(a) => a.is_valid(row),
                Col::I16(a) => a.is_valid(row),
                Col::I32(a, _) => a.is_valid(row),
                Col::I64(a, _, _) | Col::Interval(a) => a.is_valid(row),
                Col::F32(a) => a.is_valid(row),
                Col::F64(a) => a.is_valid(row),
                Col::Dec(a, _) => a.is_valid(row),
                Col::Text(a, _) => a.is_valid(row),
                Col::Bytes(a) => a.is_valid(row),
            };
            if !valid {
                buf.put_i32(-1);
                continue;
            }
            match c {
                Col::Bool(a) => {
                    buf.put_i32(1);
                    buf.put_u8(a.value(row) as u8);
                }
                Col::I16(a) => {
                    buf.put_i32(2);
                    buf.put_i16(a.value(row));
                }
                Col::I32(a, shift) => {
                    buf.put_i32(4);
                    buf.put_i32(a.value(row) - shift);
                }
                Col::I64(a, shift, div) => {
                    buf.put_i32(8);
                    buf.put_i64(a.value(row) / div - shift);
                }
                Col::F32(a) => {
                    buf.put_i32(4);
                    buf.put_f32(a.value(row));
                }
                Col::F64(a) => {
                    buf.put_i32(8);
                    buf.put_f64(a.value(row));
                }
                Col::Dec(a, scale) => put_numeric(buf, a.value(row), *scale),
                Col::Text(a, jsonb) => {
                    let v = a.value(row).as_bytes();
                    buf.put_i32(v.len() as i32 + *jsonb as i32);
                    if *jsonb {
                        buf.put_u8(1);
                    }
                    buf.put_slice(v);
                }
                Col::Bytes(a) => {
                    let v = a.value(row);
                    buf.put_i32(v.len() as i32);
                    buf.put_slice(v);
                }
                Col::Interval(a) => {
                    buf.put_i32(16);
                    buf.put_i64(a.value(row));
                    buf.put_i32(0);
                    buf.put_i32(0);
                }
            }
        }
    }
    Ok(())
}

/// A decimal (`value` × 10^-`scale`) in Postgres' binary numeric format: base-10000
/// digits with a weight, a sign and the display scale.
pub(super) fn put_numeric(buf: &mut BytesMut, value: i128, scale: u16) {
    let negative = value < 0;
    let abs = value.unsigned_abs();
    let ten_s = 10u128.pow(scale as u32);
    let (mut int, frac) = (abs / ten_s, abs % ten_s);
    // The fraction, padded to whole base-10000 digits.
    let groups = (scale as u32).div_ceil(4);
    let mut frac = frac * 10u128.pow(groups * 4 - scale as u32);
    let mut frac_digits = vec![0i16; groups as usize];
    for d in frac_digits.iter_mut().rev() {
        *d = (frac % 10_000) as i16;
        frac /= 10_000;
    }
    let mut int_digits = Vec::new();
    while int > 0 {
        int_digits.push((int % 10_000) as i16);
        int /= 10_000;
    }
    int_digits.reverse();
    let mut weight = int_digits.len() as i16 - 1;
    let mut digits = int_digits;
    digits.extend(frac_digits);
    let lead = digits.iter().take_while(|d| **d == 0).count();
    digits.drain(..lead);
    weight -= lead as i16;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    buf.put_i32(8 + 2 * digits.len() as i32);
    buf.put_i16(digits.len() as i16);
    buf.put_i16(weight);
    buf.put_u16(if negative && !digits.is_empty() { 0x4000 } else { 0 });
    buf.put_u16(scale);
    for d in digits {
        buf.put_i16(d);
    }
}
