//! Reading a Postgres table (or query) as a dataset: `COPY … TO STDOUT (FORMAT binary)`
//! decoded into Polars frames and streamed into a Parquet file.

use super::*;

/// What to read: a table or a query.
pub(super) fn read_target(url: &str) -> Result<(String, Option<String>, String)> {
    let (conn_url, params) = split_params(url, &["table", "query"]);
    let mut table = None;
    let mut query = None;
    for (k, v) in params {
        if k == "table" {
            table = Some(v);
        } else {
            query = Some(v);
        }
    }
    match (table, query) {
        (Some(t), None) => Ok((conn_url, Some(t.clone()), format!("SELECT * FROM {}", quote_table(&t)))),
        (None, Some(q)) => Ok((conn_url, None, q)),
        _ => Err(Error::refused(format!(
            "{}: expected postgres://USER@HOST/DB?table=NAME or ?query=SELECT…",
            crate::source::redact(url)
        ))),
    }
}

/// Reads a Postgres table (or query) into the Parquet file `out` by binary `COPY … TO
/// STDOUT`, typed by the columns' types (others read as text); returns the table's name
/// and the rows read.
pub fn read_to_parquet(url: &str, out: &Path) -> Result<(String, u64)> {
    let (conn_url, table, query) = read_target(url)?;
    let (config, server) = connect_config(&conn_url)?;
    let handle = runtime()?;
    let client = connect(&config, &server, &handle)?;
    let at = match &table {
        Some(t) => format!("{server}?table={t}"),
        None => format!("{server} (query)"),
    };
    let bad = |e: tokio_postgres::Error| Error::refused(format!("{at}: {}", pg_message(&e)));
    let statement = handle.block_on(client.prepare(&query)).map_err(bad)?;
    // Declared numeric scales of a table's columns (a query's are not known: those read
    // as floats).
    let mut declared = std::collections::HashMap::new();
    if let Some(t) = &table {
        let rows = handle
            .block_on(client.query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
                &[&quote_table(t)],
            ))
            .map_err(bad)?;
        for r in rows {
            declared.insert(r.get::<_, String>(0), r.get::<_, String>(1));
        }
    }
    let mut names = Vec::new();
    let mut types = Vec::new();
    let mut select = Vec::new();
    for c in statement.columns() {
        let name = c.name().to_string();
        let decl = declared.get(&name).cloned().unwrap_or_else(|| c.type_().name().to_string());
        let t = match c.type_().name() {
            "bool" => Some(PgType::Bool),
            "int2" => Some(PgType::Int2),
            "int4" => Some(PgType::Int4),
            "int8" => Some(PgType::Int8),
            "float4" => Some(PgType::Float4),
            "float8" => Some(PgType::Float8),
            "numeric" => match PgType::from_sql(&decl) {
                Some(PgType::Numeric(Some((p, s)))) if p <= 38 => Some(PgType::Numeric(Some((p, s)))),
                _ => Some(PgType::Numeric(None)),
            },
            "text" | "varchar" | "bpchar" | "name" | "json" => Some(PgType::Text),
            "bytea" => Some(PgType::Bytea),
            "date" => Some(PgType::Date),
            "timestamp" => Some(PgType::Timestamp),
            "timestamptz" => Some(PgType::Timestamptz),
            "time" => Some(PgType::Time),
            "interval" => Some(PgType::Interval),
            _ => None,
        };
        select.push(match t {
            Some(_) => quote(&name),
            None => format!("{}::text", quote(&name)),
        });
        names.push(name);
        types.push(t.unwrap_or(PgType::Text));
    }
    let copy = format!("COPY (SELECT {} FROM ({query}) AS q) TO STDOUT (FORMAT binary)", select.join(", "));
    let stream = handle.block_on(client.copy_out(&copy)).map_err(bad)?;
    let mut writer = crate::sink::ParquetChunks::new(out)?;
    let mut decoder = Decoder::new(&names, &types);
    let mut stream = Box::pin(stream);
    let mut total = 0u64;
    while let Some(chunk) = handle.block_on(stream.next()) {
        let chunk = chunk.map_err(|e| Error::server(format!("{at}: {}", pg_message(&e))))?;
        decoder.feed(&chunk).map_err(|e| Error::server(format!("{at}: {e}")))?;
        if decoder.rows >= 100_000 {
            total += decoder.rows as u64;
            writer.write(decoder.take().map_err(|e| Error::server(format!("{at}: {e}")))?)?;
        }
    }
    total += decoder.rows as u64;
    writer.write(decoder.take().map_err(|e| Error::server(format!("{at}: {e}")))?)?;
    writer.finish()?;
    Ok((table.unwrap_or_else(|| "query".into()), total))
}

/// Builds columns from a binary COPY stream, a chunk at a time.
pub(super) struct Decoder {
    names: Vec<String>,
    types: Vec<PgType>,
    columns: Vec<Values>,
    pending: Vec<u8>,
    header: bool,
    rows: usize,
}

pub(super) enum Values {
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Dec(Vec<Option<i128>>),
    Text(Vec<Option<String>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl Decoder {
    pub(super) fn new(names: &[String], types: &[PgType]) -> Decoder {
        let mut d = Decoder {
            names: names.to_vec(),
            types: types.to_vec(),
            columns: Vec::new(),
            pending: Vec::new(),
            header: false,
            rows: 0,
        };
        d.columns = d.fresh();
        d
    }

    pub(super) fn fresh(&self) -> Vec<Values> {
        self.types
            .iter()
            .map(|t| match t {
                PgType::Bool => Values::Bool(Vec::new()),
                PgType::Float4 | PgType::Float8 => Values::Float(Vec::new()),
                PgType::Numeric(Some(_)) => Values::Dec(Vec::new()),
                PgType::Numeric(None) => Values::Float(Vec::new()),
                PgType::Text | PgType::Jsonb => Values::Text(Vec::new()),
                PgType::Bytea => Values::Bytes(Vec::new()),
                _ => Values::Int(Vec::new()),
            })
            .collect()
    }

    /// Takes in more of the stream; decodes every whole row in it.
    pub(super) fn feed(&mut self, chunk: &[u8]) -> std::result::Result<(), String> {
        self.pending.extend_from_slice(chunk);
        let mut at = 0;
        if !self.header {
            if self.pending.len() < 19 {
                return Ok(());
            }
            if &self.pending[..11] != COPY_SIGNATURE {
                return Err("not a binary COPY stream".into());
            }
            let ext = i32::from_be_bytes(self.pending[15..19].try_into().unwrap_or_default()) as usize;
            at = 19 + ext;
            self.header = true;
        }
        while let Some(row_end) = self.row_end(at) {
            if row_end == usize::MAX {
                at = self.pending.len();
                break;
            }
            let mut p = at + 2;
            for j in 0..self.types.len() {
                let len = i32::from_be_bytes(self.pending[p..p + 4].try_into().unwrap_or_default());
                p += 4;
                let value = if len < 0 {
                    None
                } else {
                    let v = &self.pending[p..p + len as usize];
                    p += len as usize;
                    Some(v)
                };
                push(&mut self.columns[j], self.types[j], value)?;
            }
            self.rows += 1;
            at = row_end;
        }
        self.pending.drain(..at);
        Ok(())
    }

    /// Where the row starting at `at` ends, if it is whole (`usize::MAX` for the trailer).
    pub(super) fn row_end(&self, at: usize) -> Option<usize> {
        let b = &self.pending;
        if b.len() < at + 2 {
            return None;
        }
        let fields = i16::from_be_bytes([b[at], b[at + 1]]);
        if fields < 0 {
            return Some(usize::MAX);
        }
        let mut p = at + 2;
        for _ in 0..fields {
            if b.len() < p + 4 {
                return None;
            }
            let len = i32::from_be_bytes(b[p..p + 4].try_into().ok()?);
            p += 4 + len.max(0) as usize;
            if b.len() < p {
                return None;
            }
        }
        Some(p)
    }

    /// The rows decoded so far as a frame of Polars types.
    pub(super) fn take(&mut self) -> PolarsResult<DataFrame> {
        let fresh = self.fresh();
        let columns = std::mem::replace(&mut self.columns, fresh);
        self.rows = 0;
        let mut out = Vec::with_capacity(columns.len());
        for ((name, t), values) in self.names.iter().zip(&self.types).zip(columns) {
            let name = PlSmallStr::from(name.as_str());
            let s = match values {
                Values::Bool(v) => Series::new(name, v),
                Values::Int(v) => Series::new(name, v),
                Values::Float(v) => Series::new(name, v),
                Values::Text(v) => Series::new(name, v),
                Values::Bytes(v) => {
                    let v: Vec<Option<&[u8]>> = v.iter().map(|b| b.as_deref()).collect();
                    Series::new(name, v)
                }
                Values::Dec(v) => {
                    let (p, s) = match t {
                        PgType::Numeric(Some(ps)) => *ps,
                        _ => (38, 0),
                    };
                    Int128Chunked::from_iter_options(name, v.into_iter()).into_decimal(p, s)?.into_series()
                }
            };
            let s = match t {
                PgType::Int2 => s.cast(&DataType::Int16)?,
                PgType::Int4 => s.cast(&DataType::Int32)?,
                PgType::Float4 => s.cast(&DataType::Float32)?,
                PgType::Date => s.cast(&DataType::Int32)?.cast(&DataType::Date)?,
                PgType::Timestamp | PgType::Timestamptz | PgType::Time | PgType::Interval => {
                    s.cast(&t.polars(&DataType::Null))?
                }
                _ => s,
            };
            out.push(Column::from(s));
        }
        DataFrame::new_infer_height(out)
    }
}

/// Decodes one field of `t` into its column.
pub(super) fn push(column: &mut Values, t: PgType, value: Option<&[u8]>) -> std::result::Result<(), String> {
    let need = |v: &[u8], n: usize| -> std::result::Result<(), String> {
        if v.len() == n {
            Ok(())
        } else {
            Err(format!("a {} value of {} bytes", t.decl(), v.len()))
        }
    };
    match column {
        Values::Bool(c) => c.push(match value {
            Some(v) => {
                need(v, 1)?;
                Some(v[0] != 0)
            }
            None => None,
        }),
        Values::Int(c) => c.push(match value {
            None => None,
            Some(v) => Some(match t {
                PgType::Int2 => {
                    need(v, 2)?;
                    i16::from_be_bytes([v[0], v[1]]) as i64
                }
                PgType::Int4 | PgType::Date => {
                    need(v, 4)?;
                    let x = i32::from_be_bytes(v.try_into().unwrap_or_default()) as i64;
                    if t == PgType::Date {
                        x + PG_EPOCH_DAYS as i64
                    } else {
                        x
                    }
                }
                PgType::Interval => {
                    need(v, 16)?;
                    let micros = i64::from_be_bytes(v[..8].try_into().unwrap_or_default());
                    let days = i32::from_be_bytes(v[8..12].try_into().unwrap_or_default()) as i64;
                    let months = i32::from_be_bytes(v[12..16].try_into().unwrap_or_default()) as i64;
                    // A month is 30 days, as Postgres' own interval arithmetic counts it.
                    micros + (days + 30 * months) * 86_400_000_000
                }
                _ => {
                    need(v, 8)?;
                    let x = i64::from_be_bytes(v.try_into().unwrap_or_default());
                    match t {
                        PgType::Timestamp | PgType::Timestamptz => x + PG_EPOCH_MICROS,
                        PgType::Time => x * 1000,
                        _ => x,
                    }
                }
            }),
        }),
        Values::Float(c) => c.push(match value {
            None => None,
            Some(v) => Some(match t {
                PgType::Float4 => {
                    need(v, 4)?;
                    f32::from_be_bytes(v.try_into().unwrap_or_default()) as f64
                }
                PgType::Numeric(_) => numeric_f64(v)?,
                _ => {
                    need(v, 8)?;
                    f64::from_be_bytes(v.try_into().unwrap_or_default())
                }
            }),
        }),
        Values::Dec(c) => c.push(match (value, t) {
            (Some(v), PgType::Numeric(Some((_, s)))) => numeric_i128(v, s)?,
            _ => None,
        }),
        Values::Text(c) => c.push(value.map(|v| String::from_utf8_lossy(v).into_owned())),
        Values::Bytes(c) => c.push(value.map(<[u8]>::to_vec)),
    }
    Ok(())
}

/// The parts of a binary numeric: (digits, weight, sign); `None` for NaN.
pub(super) fn numeric_parts(v: &[u8]) -> std::result::Result<Option<(Vec<i64>, i64, bool)>, String> {
    if v.len() < 8 {
        return Err(format!("a numeric value of {} bytes", v.len()));
    }
    let n = i16::from_be_bytes([v[0], v[1]]) as usize;
    let weight = i16::from_be_bytes([v[2], v[3]]) as i64;
    let sign = u16::from_be_bytes([v[4], v[5]]);
    if sign == 0xC000 || sign >= 0xD000 {
        return Ok(None);
    }
    if v.len() < 8 + 2 * n {
        return Err(format!("a numeric value of {} bytes", v.len()));
    }
    let digits = (0..n).map(|i| i16::from_be_bytes([v[8 + 2 * i], v[9 + 2 * i]]) as i64).collect();
    Ok(Some((digits, weight, sign == 0x4000)))
}

pub(super) fn numeric_f64(v: &[u8]) -> std::result::Result<f64, String> {
    Ok(match numeric_parts(v)? {
        None => f64::NAN,
        Some((digits, weight, negative)) => {
            let x: f64 = digits
                .iter()
                .enumerate()
                .map(|(i, d)| *d as f64 * 10_000f64.powi((weight - i as i64) as i32))
                .sum();
            if negative {
                -x
            } else {
                x
            }
        }
    })
}

/// A numeric as an integer of `scale` decimal places (digits beyond it truncated; NaN is
/// null).
pub(super) fn numeric_i128(v: &[u8], scale: usize) -> std::result::Result<Option<i128>, String> {
    let Some((digits, weight, negative)) = numeric_parts(v)? else { return Ok(None) };
    let mut x: i128 = 0;
    for (i, d) in digits.iter().enumerate() {
        let exp = 4 * (weight - i as i64) + scale as i64;
        let term = if exp >= 0 {
            (*d as i128)
                .checked_mul(10i128.checked_pow(exp as u32).ok_or("a numeric too large for 38 digits")?)
        } else {
            Some(*d as i128 / 10i128.pow((-exp).min(38) as u32))
        };
        x = term.and_then(|t| x.checked_add(t)).ok_or("a numeric too large for 38 digits")?;
    }
    Ok(Some(if negative { -x } else { x }))
}
