//! SQLite, the embedded default destination (`sqlite://PATH?table=T`, or a recipe's
//! `sqlite = "PATH"` output), and SQLite tables read back as datasets.
//!
//! A load is one transaction on a connection in WAL mode with `synchronous = NORMAL`
//! (durable at each commit, without an fsync per statement; `synchronous = OFF` is not
//! used: a crash could corrupt the database). Rows stream from the lazy plan (Polars'
//! batch sink) to a writer thread that binds them to one prepared INSERT, so reading
//! and inserting overlap and memory stays bounded. The transaction is committed only
//! by `Session::commit`, after every output of a run is whole; dropping it (an
//! error, a failed check, another output that failed) rolls back, and the table is as
//! it was, whatever the mode.
//!
//! Types: integers are INTEGER (declared by width), floats REAL, booleans INTEGER 0/1
//! (declared BOOLEAN), dates and timestamps ISO-8601 text (declared DATE, TIMESTAMP),
//! decimals REAL (declared DECIMAL(p,s)), text TEXT, binary BLOB. Reading a table back
//! uses the declared types, so a loaded table reads as it was written.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

use polars::prelude::*;
use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::recipe::LoadMode;

/// Where a load goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub db: String,
    pub table: String,
    pub mode: LoadMode,
    /// The key of an upsert.
    pub key: Vec<String>,
}

impl Target {
    /// Reads `sqlite://PATH?table=T[&mode=append|replace|upsert][&key=a,b]`.
    pub fn parse(url: &str) -> Result<Target> {
        let rest = url
            .strip_prefix("sqlite://")
            .ok_or_else(|| Error::input(format!("{url}: not a sqlite:// URL")))?;
        let (db, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut target =
            Target { db: db.to_string(), table: String::new(), mode: LoadMode::Replace, key: Vec::new() };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "table" => target.table = v.to_string(),
                "mode" => {
                    target.mode = LoadMode::parse(v).map_err(|e| Error::input(format!("{url}: {e}")))?
                }
                "key" => target.key = v.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                _ => return Err(Error::input(format!("{url}: unknown parameter `{k}` (table, mode, key)"))),
            }
        }
        if target.db.is_empty() || target.table.is_empty() {
            return Err(Error::input(format!("{url}: expected sqlite://PATH?table=NAME")));
        }
        if target.mode == LoadMode::Upsert && target.key.is_empty() {
            return Err(Error::input(format!("{url}: mode=upsert needs key=COLUMN[,COLUMN]")));
        }
        Ok(target)
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}?table={}", self.db, self.table)
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn failed(target: &Target, e: impl std::fmt::Display) -> Error {
    Error::runtime(format!("{}: {e}", target.url()))
}

/// The declared SQLite type of a column and the expression that turns it into what is
/// stored (integers, floats, text, bytes).
fn column_plan(name: &str, dtype: &DataType) -> Result<(String, Expr)> {
    let c = col(name);
    Ok(match dtype {
        DataType::Boolean => ("BOOLEAN".into(), c.cast(DataType::Int64)),
        DataType::Int8 => ("TINYINT".into(), c.cast(DataType::Int64)),
        DataType::Int16 => ("SMALLINT".into(), c.cast(DataType::Int64)),
        DataType::Int32 => ("INT".into(), c.cast(DataType::Int64)),
        DataType::Int64 => ("BIGINT".into(), c),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => ("INTEGER".into(), c.cast(DataType::Int64)),
        DataType::UInt64 => ("INTEGER".into(), c.strict_cast(DataType::Int64)),
        DataType::Float32 => ("REAL".into(), c.cast(DataType::Float64)),
        DataType::Float64 => ("DOUBLE".into(), c),
        DataType::Decimal(p, s) => (format!("DECIMAL({p},{s})"), c.cast(DataType::Float64)),
        DataType::String => ("TEXT".into(), c),
        DataType::Categorical(_, _) | DataType::Enum(_, _) => ("TEXT".into(), c.cast(DataType::String)),
        DataType::Date => ("DATE".into(), c.dt().to_string("%Y-%m-%d")),
        DataType::Datetime(_, None) => ("TIMESTAMP".into(), c.dt().to_string("%Y-%m-%d %H:%M:%S%.6f")),
        DataType::Datetime(_, Some(_)) => (
            "TIMESTAMPTZ".into(),
            c.dt().convert_time_zone(TimeZone::UTC).dt().to_string("%Y-%m-%d %H:%M:%S%.6f+00:00"),
        ),
        DataType::Time => ("TIME".into(), c.dt().to_string("%H:%M:%S%.6f")),
        DataType::Binary => ("BLOB".into(), c),
        DataType::Null => ("TEXT".into(), c.cast(DataType::String)),
        other => {
            return Err(Error::input(format!(
            "column `{name}` of type {other} cannot be loaded into SQLite (write Parquet, or cast it first)"
        )))
        }
    })
}

/// An open transaction on one database: loads go into it, `commit` publishes them all
/// at once; dropping it rolls back (every table is as it was).
pub struct Session {
    conn: Option<Connection>,
    pub db: String,
}

impl Session {
    /// Opens (creating) `db` and begins a write transaction.
    pub fn begin(db: &str) -> Result<Session> {
        let conn = open(db)?;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| Error::runtime(format!("{db}: {e}")))?;
        Ok(Session { conn: Some(conn), db: db.to_string() })
    }

    pub fn commit(mut self) -> Result<()> {
        let conn = self.conn.take().ok_or_else(|| Error::runtime("the load was already finished"))?;
        conn.execute_batch("COMMIT").map_err(|e| Error::runtime(format!("{}: {e}", self.db)))?;
        conn.close().map_err(|(_, e)| Error::runtime(format!("{}: {e}", self.db)))
    }

    /// Streams `lf` into `target` (a table of this database); returns the rows loaded.
    pub fn load(&mut self, lf: LazyFrame, target: &Target) -> Result<u64> {
        let conn =
            self.conn.take().ok_or_else(|| Error::runtime(format!("{}: no open transaction", self.db)))?;
        let (conn, result) = load_with(conn, lf, target);
        self.conn = conn;
        result
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

/// Opens (creating) the database with the durable-and-fast settings.
fn open(db: &str) -> Result<Connection> {
    if let Some(dir) = Path::new(db).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| crate::error::io_error(dir.display(), &e))?;
    }
    let conn = Connection::open(db).map_err(|e| Error::input(format!("{db}: {e}")))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
        .map_err(|e| Error::runtime(format!("{db}: {e}")))?;
    Ok(conn)
}

/// Whether `db` exists and has `table`.
pub fn table_exists(db: &str, table: &str) -> Result<bool> {
    if !Path::new(db).exists() {
        return Ok(false);
    }
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::input(format!("{db}: {e}")))?;
    existing(&conn, table).map(|c| !c.is_empty()).map_err(|e| Error::input(format!("{db}: {e}")))
}

/// Columns of an existing table (name, declared type), empty when there is none.
fn existing(conn: &Connection, table: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({})", quote(table)))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    rows.collect()
}

/// Streams `lf` into `target` on `conn` (inside its transaction); gives the connection
/// back with the rows loaded or the error.
fn load_with(conn: Connection, lf: LazyFrame, target: &Target) -> (Option<Connection>, Result<u64>) {
    let prepared = prepare(&conn, lf, target);
    let (lf, insert) = match prepared {
        Ok(p) => p,
        Err(e) => return (Some(conn), Err(e)),
    };
    // The writer thread owns the connection while Polars streams batches to it.
    let (tx, rx) = mpsc::sync_channel::<DataFrame>(4);
    let writer = std::thread::spawn(move || -> (Connection, std::result::Result<u64, String>) {
        let result = (|| -> std::result::Result<u64, String> {
            let mut many = conn.prepare(&insert.sql(insert.rows)).map_err(|e| e.to_string())?;
            let mut one = conn.prepare(&insert.sql(1)).map_err(|e| e.to_string())?;
            let mut rows = 0u64;
            for df in rx {
                rows += insert_batch(&mut many, insert.rows, &mut one, &df).map_err(|e| e.to_string())?;
            }
            Ok(rows)
        })();
        (conn, result)
    });
    let send = move |df: DataFrame| -> PolarsResult<bool> {
        tx.send(df).map_err(|_| polars_err!(ComputeError: "the SQLite writer stopped"))?;
        Ok(false)
    };
    let streamed = lf
        .sink_batches(PlanCallback::Rust(SpecialEq::new(Arc::new(send))), true, None)
        .and_then(|lf| lf.collect_with_engine(Engine::Streaming));
    // A writer that panicked dropped its connection: SQLite rolled the transaction back.
    let Ok((conn, written)) = writer.join() else {
        return (None, Err(failed(target, "the writer failed (a bug in assay); nothing was loaded")));
    };
    let result = match (written, streamed) {
        (Err(e), _) => Err(failed(target, e)),
        (_, Err(e)) => Err(failed(target, e)),
        (Ok(rows), Ok(_)) => Ok(rows),
    };
    (Some(conn), result)
}

/// An INSERT of `rows` rows at a time (one statement binding many rows costs SQLite far
/// less per row than one statement a row).
struct Insert {
    head: String,
    width: usize,
    tail: String,
    rows: usize,
}

impl Insert {
    fn sql(&self, rows: usize) -> String {
        let mut sql = self.head.clone();
        for r in 0..rows {
            let marks: Vec<String> = (1..=self.width).map(|j| format!("?{}", r * self.width + j)).collect();
            sql.push_str(if r == 0 { "(" } else { ", (" });
            sql.push_str(&marks.join(", "));
            sql.push(')');
        }
        sql.push_str(&self.tail);
        sql
    }
}

/// Creates or checks the table for `target` (by its mode) and returns the plan that
/// turns `lf` into stored values and the INSERT that takes them.
fn prepare(conn: &Connection, lf: LazyFrame, target: &Target) -> Result<(LazyFrame, Insert)> {
    let mut lf = lf;
    let schema = lf.collect_schema().map_err(|e| Error::input(format!("{}: {e}", target.url())))?;
    let mut decls = Vec::new();
    let mut exprs = Vec::new();
    for (name, dtype) in schema.iter() {
        let (decl, expr) = column_plan(name, dtype)?;
        decls.push((name.to_string(), decl));
        exprs.push(expr.alias(name.clone()));
    }
    for k in &target.key {
        if !decls.iter().any(|(n, _)| n == k) {
            return Err(Error::input(format!("{}: key column `{k}` is not in the data", target.url())));
        }
    }
    let table = quote(&target.table);
    let columns_sql: Vec<String> = decls.iter().map(|(n, d)| format!("{} {d}", quote(n))).collect();
    let key_sql = target.key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
    let create = |conn: &Connection| -> rusqlite::Result<()> {
        let primary = if target.mode == LoadMode::Upsert {
            format!(", PRIMARY KEY ({key_sql})")
        } else {
            String::new()
        };
        conn.execute_batch(&format!("CREATE TABLE {table} ({}{primary})", columns_sql.join(", ")))
    };
    let before = existing(conn, &target.table).map_err(|e| failed(target, e))?;
    match target.mode {
        LoadMode::Replace => {
            conn.execute_batch(&format!("DROP TABLE IF EXISTS {table}")).map_err(|e| failed(target, e))?;
            create(conn).map_err(|e| failed(target, e))?;
        }
        LoadMode::Append | LoadMode::Upsert if before.is_empty() => {
            create(conn).map_err(|e| failed(target, e))?
        }
        LoadMode::Append | LoadMode::Upsert => {
            for (name, _) in &decls {
                if !before.iter().any(|(n, _)| n == name) {
                    return Err(Error::input(format!(
                        "{}: the table has no column `{name}` (its columns: {})",
                        target.url(),
                        before.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
            if target.mode == LoadMode::Upsert {
                conn.execute_batch(&format!(
                    "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {table} ({key_sql})",
                    quote(&format!("{}__assay_key", target.table))
                ))
                .map_err(|e| {
                    failed(target, format!("the key ({key_sql}) is not unique in the table: {e}"))
                })?;
            }
        }
    }
    let names: Vec<String> = decls.iter().map(|(n, _)| quote(n)).collect();
    let head = format!("INSERT INTO {table} ({}) VALUES ", names.join(", "));
    let mut tail = String::new();
    if target.mode == LoadMode::Upsert {
        let set: Vec<String> = decls
            .iter()
            .filter(|(n, _)| !target.key.contains(n))
            .map(|(n, _)| format!("{} = excluded.{}", quote(n), quote(n)))
            .collect();
        tail = format!(
            " ON CONFLICT ({key_sql}) DO {}",
            if set.is_empty() { "NOTHING".to_string() } else { format!("UPDATE SET {}", set.join(", ")) }
        );
    }
    // SQLite binds at most 32,766 parameters a statement.
    let width = names.len().max(1);
    let rows = (32_000 / width).clamp(1, 100);
    Ok((lf.select(exprs), Insert { head, width, tail, rows }))
}

/// Binds each row of `df` (columns already i64, f64, text or bytes) and inserts it.
fn insert_batch(
    many: &mut rusqlite::Statement<'_>,
    per: usize,
    one: &mut rusqlite::Statement<'_>,
    df: &DataFrame,
) -> rusqlite::Result<u64> {
    enum Cells<'a> {
        Int(&'a Int64Chunked),
        Float(&'a Float64Chunked),
        Text(&'a StringChunked),
        Bytes(&'a BinaryChunked),
    }
    let mut cells = Vec::with_capacity(df.width());
    for c in df.columns() {
        let s = c.as_materialized_series();
        cells.push(match s.dtype() {
            DataType::Int64 => Cells::Int(s.i64().map_err(to_sqlite)?),
            DataType::Float64 => Cells::Float(s.f64().map_err(to_sqlite)?),
            DataType::Binary => Cells::Bytes(s.binary().map_err(to_sqlite)?),
            _ => Cells::Text(s.str().map_err(to_sqlite)?),
        });
    }
    let width = cells.len();
    let bind = |stmt: &mut rusqlite::Statement<'_>, row: usize, slot: usize| -> rusqlite::Result<()> {
        for (j, cell) in cells.iter().enumerate() {
            let at = slot * width + j + 1;
            match cell {
                Cells::Int(ca) => stmt.raw_bind_parameter(at, ca.get(row))?,
                Cells::Float(ca) => stmt.raw_bind_parameter(at, ca.get(row))?,
                Cells::Text(ca) => stmt.raw_bind_parameter(at, ca.get(row))?,
                Cells::Bytes(ca) => stmt.raw_bind_parameter(at, ca.get(row))?,
            }
        }
        Ok(())
    };
    let height = df.height();
    let mut row = 0;
    while row + per <= height {
        for slot in 0..per {
            bind(many, row + slot, slot)?;
        }
        many.raw_execute()?;
        row += per;
    }
    while row < height {
        bind(one, row, 0)?;
        one.raw_execute()?;
        row += 1;
    }
    Ok(height as u64)
}

fn to_sqlite(e: PolarsError) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// What to read from a database: a table or a query.
fn read_target(url: &str) -> Result<(String, String, String)> {
    let rest =
        url.strip_prefix("sqlite://").ok_or_else(|| Error::input(format!("{url}: not a sqlite:// URL")))?;
    let (db, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut table = None;
    let mut sql = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "table" => table = Some(v.to_string()),
            "query" => sql = Some(v.replace("%20", " ").replace('+', " ")),
            _ => return Err(Error::input(format!("{url}: unknown parameter `{k}` (table or query)"))),
        }
    }
    match (table, sql) {
        (Some(t), None) => Ok((db.to_string(), t.clone(), format!("SELECT * FROM {}", quote(&t)))),
        (None, Some(q)) => Ok((db.to_string(), "query".into(), q)),
        _ => Err(Error::input(format!("{url}: expected sqlite://PATH?table=NAME or ?query=SELECT…"))),
    }
}

/// Reads a SQLite table (or query) into the Parquet file `out`, typed by the declared
/// column types, in chunks; returns the table's name and the rows read.
pub fn read_to_parquet(url: &str, out: &Path) -> Result<(String, u64)> {
    let (db, name, sql) = read_target(url)?;
    if !Path::new(&db).exists() {
        return Err(Error::input(format!("{db}: no such file or directory")));
    }
    let conn = Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::input(format!("{db}: {e}")))?;
    let bad = |e: rusqlite::Error| Error::input(format!("{url}: {e}"));
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
            .map_err(|e| Error::runtime(format!("{url}: {e}")))?;
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
            .map_err(|e| Error::runtime(format!("{url}: {e}")))?;
        writer.write(df)?;
        total += n as u64;
    }
    writer.finish()?;
    Ok((name, total))
}
