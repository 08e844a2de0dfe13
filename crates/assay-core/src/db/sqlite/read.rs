//! Reading a SQLite table (or query) as a dataset: streamed into a Parquet file a chunk
//! of rows at a time, with the column types SQLite declares.

use super::*;

/// What to read from a database: a table or a query.
pub(super) fn read_target(url: &str) -> Result<(String, String, String)> {
    let rest =
        url.strip_prefix("sqlite://").ok_or_else(|| Error::refused(format!("{url}: not a sqlite:// URL")))?;
    let (db, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut table = None;
    let mut sql = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "table" => table = Some(v.to_string()),
            "query" => sql = Some(v.replace("%20", " ").replace('+', " ")),
            _ => return Err(Error::refused(format!("{url}: unknown parameter `{k}` (table or query)"))),
        }
    }
    match (table, sql) {
        (Some(t), None) => Ok((db.to_string(), t.clone(), format!("SELECT * FROM {}", quote(&t)))),
        (None, Some(q)) => Ok((db.to_string(), "query".into(), q)),
        _ => Err(Error::refused(format!("{url}: expected sqlite://PATH?table=NAME or ?query=SELECT…"))),
    }
}

/// Reads a SQLite table (or query) into the Parquet file `out`, typed by the declared
/// column types, in chunks; returns the table's name and the rows read.
pub fn read_to_parquet(url: &str, out: &Path) -> Result<(String, u64)> {
    let (db, name, sql) = read_target(url)?;
    if !Path::new(&db).exists() {
        return Err(Error::refused(format!("{db}: no such file or directory")));
    }
    not_a_folder(&db)?;
    let conn = Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::refused(format!("{db}: {e}")))?;
    let bad = |e: rusqlite::Error| Error::refused(format!("{url}: {e}"));
    let mut stmt = conn.prepare(&sql).map_err(bad)?;
    let columns: Vec<(String, String)> = stmt
        .columns()
        .map(|c| (c.name().to_string(), c.decl_type().unwrap_or("").to_ascii_uppercase()))
        .collect();
    // What each column is read as, then cast to.
    enum Raw {
        Int,
        Float,
        Text,
        Bytes,
    }
    let plan: Vec<(Raw, Option<DataType>)> = columns
        .iter()
        .map(|(_, decl)| {
            let decimal = decl.strip_prefix("DECIMAL(").and_then(|r| r.strip_suffix(')')).and_then(|r| {
                let (p, s) = r.split_once(',')?;
                Some(DataType::Decimal(p.trim().parse().ok()?, s.trim().parse().ok()?))
            });
            match decl.as_str() {
                "BOOLEAN" => (Raw::Int, Some(DataType::Boolean)),
                "TINYINT" => (Raw::Int, Some(DataType::Int8)),
                "SMALLINT" => (Raw::Int, Some(DataType::Int16)),
                "INT" => (Raw::Int, Some(DataType::Int32)),
                "DATE" => (Raw::Text, Some(DataType::Date)),
                "TIMESTAMP" => (Raw::Text, Some(DataType::Datetime(TimeUnit::Microseconds, None))),
                "TIMESTAMPTZ" => {
                    (Raw::Text, Some(DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))))
                }
                "BLOB" => (Raw::Bytes, None),
                _ if decimal.is_some() => (Raw::Float, decimal.clone()),
                d if d.contains("INT") => (Raw::Int, None),
                d if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") => (Raw::Float, None),
                _ => (Raw::Text, None),
            }
        })
        .collect();
    let mut writer = crate::sink::ParquetChunks::new(out)?;
    let mut total = 0u64;
    let mut rows = stmt.query([]).map_err(bad)?;
    let chunk = 100_000;
    let mut done = false;
    while !done {
        let mut ints: Vec<Vec<Option<i64>>> = vec![Vec::new(); plan.len()];
        let mut floats: Vec<Vec<Option<f64>>> = vec![Vec::new(); plan.len()];
        let mut texts: Vec<Vec<Option<String>>> = vec![Vec::new(); plan.len()];
        let mut bytes: Vec<Vec<Option<Vec<u8>>>> = vec![Vec::new(); plan.len()];
        let mut n = 0;
        while n < chunk {
            let Some(row) = rows.next().map_err(bad)? else {
                done = true;
                break;
            };
            for (j, (raw, _)) in plan.iter().enumerate() {
                use rusqlite::types::ValueRef;
                let v = row.get_ref(j).map_err(bad)?;
                match raw {
                    Raw::Int => ints[j].push(match v {
                        ValueRef::Integer(i) => Some(i),
                        ValueRef::Real(f) => Some(f as i64),
                        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|s| s.trim().parse().ok()),
                        _ => None,
                    }),
                    Raw::Float => floats[j].push(match v {
                        ValueRef::Integer(i) => Some(i as f64),
                        ValueRef::Real(f) => Some(f),
                        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|s| s.trim().parse().ok()),
                        _ => None,
                    }),
                    Raw::Text => texts[j].push(match v {
                        ValueRef::Null => None,
                        ValueRef::Integer(i) => Some(i.to_string()),
                        ValueRef::Real(f) => Some(f.to_string()),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            Some(String::from_utf8_lossy(t).into_owned())
                        }
                    }),
                    Raw::Bytes => bytes[j].push(match v {
                        ValueRef::Null => None,
                        ValueRef::Blob(b) | ValueRef::Text(b) => Some(b.to_vec()),
                        ValueRef::Integer(i) => Some(i.to_string().into_bytes()),
                        ValueRef::Real(f) => Some(f.to_string().into_bytes()),
                    }),
                }
            }
            n += 1;
        }
        if n == 0 && total > 0 {
            break;
        }
        let mut series = Vec::new();
        for (j, ((name, _), (raw, _))) in columns.iter().zip(&plan).enumerate() {
            let name = PlSmallStr::from(name.as_str());
            series.push(match raw {
                Raw::Int => Series::new(name, std::mem::take(&mut ints[j])),
                Raw::Float => Series::new(name, std::mem::take(&mut floats[j])),
                Raw::Text => Series::new(name, std::mem::take(&mut texts[j])),
                Raw::Bytes => {
                    let values: Vec<Option<&[u8]>> = bytes[j].iter().map(|b| b.as_deref()).collect();
                    Series::new(name, values)
                }
            });
        }
        let df = DataFrame::new_infer_height(series.into_iter().map(Column::from).collect())
            .map_err(|e| Error::server(format!("{url}: {e}")))?;
        let casts: Vec<Expr> = columns
            .iter()
            .zip(&plan)
            .map(|((name, _), (_, to))| {
                let c = col(name.as_str());
                match to {
                    Some(DataType::Date) => {
                        c.str().to_date(StrptimeOptions { strict: false, ..Default::default() })
                    }
                    Some(DataType::Datetime(unit, tz)) => c.str().to_datetime(
                        Some(*unit),
                        tz.clone(),
                        StrptimeOptions { strict: false, ..Default::default() },
                        lit("raise"),
                    ),
                    Some(dt) => c.cast(dt.clone()),
                    None => c,
                }
            })
            .collect();
        let df = crate::engine::polars::collect(df.lazy().select(casts))
            .map_err(|e| Error::server(format!("{url}: {e}")))?;
        writer.write(df)?;
        total += n as u64;
    }
    writer.finish()?;
    Ok((name, total))
}
