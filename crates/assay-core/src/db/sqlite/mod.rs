//! SQLite, the embedded default destination (`sqlite://PATH?table=T`, or a recipe's
//! `sqlite = "PATH"` output), and SQLite tables read back as datasets.
//!
//! A load is one transaction. Into an existing database it runs in WAL mode with
//! `synchronous = NORMAL` (durable at each commit, without an fsync per statement;
//! `synchronous = OFF` is not used: a crash could corrupt the database), so readers go on
//! reading the old table meanwhile. A database that does not exist yet is built whole
//! under a hidden name beside its path and linked there only at the commit (see
//! `Session`): nothing reads it before, so it needs no WAL, and every page is written
//! once. Rows stream from the lazy plan (Polars'
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
use polars_arrow::array::{BinaryViewArray, PrimitiveArray, Utf8ViewArray};
use rusqlite::Connection;

use super::LoadMode;
use crate::db::{Error, Result};

mod bind;
mod read;
use bind::*;
pub use read::read_to_parquet;

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
            .ok_or_else(|| Error::refused(format!("{url}: not a sqlite:// URL")))?;
        let (db, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut target =
            Target { db: db.to_string(), table: String::new(), mode: LoadMode::Replace, key: Vec::new() };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "table" => target.table = v.to_string(),
                "mode" => {
                    target.mode = LoadMode::parse(v).map_err(|e| Error::refused(format!("{url}: {e}")))?
                }
                "key" => target.key = v.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                _ => {
                    return Err(Error::refused(format!("{url}: unknown parameter `{k}` (table, mode, key)")))
                }
            }
        }
        if target.db.is_empty() || target.table.is_empty() {
            return Err(Error::refused(format!("{url}: expected sqlite://PATH?table=NAME")));
        }
        if target.mode == LoadMode::Upsert && target.key.is_empty() {
            return Err(Error::refused(format!("{url}: mode=upsert needs key=COLUMN[,COLUMN]")));
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
    Error::server(format!("{}: {e}", target.url()))
}

/// What the operating system said when SQLite's last error on `db` is an I/O error or
/// a full disk: "disk I/O error" alone does not tell a full disk from a file-size limit.
#[cold]
fn os_reason(db: *mut rusqlite::ffi::sqlite3) -> Option<String> {
    use rusqlite::ffi;
    // SAFETY: `db` is an open connection; both calls only read its last error.
    let (code, errno) = unsafe { (ffi::sqlite3_extended_errcode(db) & 0xff, ffi::sqlite3_system_errno(db)) };
    if !(code == ffi::SQLITE_IOERR || code == ffi::SQLITE_FULL) || errno == 0 {
        return None;
    }
    let err = std::io::Error::from_raw_os_error(errno);
    Some(match err.kind() {
        std::io::ErrorKind::FileTooLarge => "file too large (the file size limit, `ulimit -f`)".to_string(),
        std::io::ErrorKind::StorageFull => "no space left on the device".to_string(),
        _ => format!("writing the database failed: {err}"),
    })
}

/// A rusqlite error on `conn`, with the operating system's reason for an I/O error.
fn described(conn: &Connection, e: rusqlite::Error) -> String {
    // SAFETY: the handle is only read, while `conn` is borrowed.
    os_reason(unsafe { conn.handle() }).unwrap_or_else(|| e.to_string())
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
        // Dates and times stay as they are: `Ready::new` formats them (see `Iso`).
        DataType::Date => ("DATE".into(), c),
        DataType::Datetime(_, None) => ("TIMESTAMP".into(), c),
        DataType::Datetime(_, Some(_)) => ("TIMESTAMPTZ".into(), c),
        DataType::Time => ("TIME".into(), c),
        DataType::Binary => ("BLOB".into(), c),
        DataType::Null => ("TEXT".into(), c.cast(DataType::String)),
        other => {
            return Err(Error::refused(format!(
            "column `{name}` of type {other} cannot be loaded into SQLite (write Parquet, or cast it first)"
        )))
        }
    })
}

/// An open transaction on one database: loads go into it, `commit` publishes them all
/// at once; dropping it rolls back (every table is as it was).
///
/// A database that does not exist yet is written as a hidden `.NAME.assay-partial-PID`
/// file beside its path (rollback journal in memory, `synchronous = FULL`), switched to
/// WAL and linked at its path by the commit, which fails rather than replace a database
/// that appeared meanwhile. Dropped before, the hidden file is removed; one left by a
/// killed assay is removed by the next load beside it. In WAL mode, SQLite writes every
/// page twice (the WAL, then the database at the checkpoint) and keeps an index of the
/// WAL's frames: a new database skips both, which made a 10M-row load from Parquet
/// 1.4-2x faster, the more so the dearer the machine's writes (BENCHMARKS.md, "SQLite loads").
pub struct Session {
    conn: Option<Connection>,
    pub db: String,
    /// Where a new database is built until the commit links it at `db`.
    staged: Option<std::path::PathBuf>,
    /// Stops the background flusher (dropped: it stops).
    flusher: Flusher,
}

/// Starts writing the WAL (or a new database being built) to disk while the load runs,
/// so the fsync of the commit finds little left to write: a background thread calls
/// `fdatasync` on the file every half second until dropped. Durability is unchanged
/// (SQLite still syncs at its own points); only when the disk does the work moves
/// earlier. Never an existing database file itself: closing any descriptor of it would
/// drop SQLite's POSIX locks on it (SQLite takes none on the WAL, and no other process
/// knows a new database's hidden name; `finish` closes it before the name is given).
struct Flusher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    fn start(path: String) -> Flusher {
        let (stop, stopped) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new().name("sqlite-flush".into()).spawn(move || {
            let mut wal = None;
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(std::time::Duration::from_millis(500))
            {
                // Not there yet: nothing to flush.
                if wal.is_none() {
                    wal = std::fs::File::open(&path).ok();
                }
                if let Some(f) = &wal {
                    let _ = f.sync_data();
                }
            }
        });
        match spawned {
            Ok(thread) => Flusher { stop: Some(stop), thread: Some(thread) },
            Err(_) => Flusher { stop: None, thread: None },
        }
    }

    /// Stops the thread and waits until it has closed the file. (Dropped, a flusher
    /// stops its thread the same way, without waiting: the channel closes.)
    fn finish(&mut self) {
        self.stop = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Session {
    /// Opens `db` (or, when there is none, a hidden new one beside it) and begins a
    /// write transaction.
    pub fn begin(db: &str) -> Result<Session> {
        let path = Path::new(db);
        let (conn, staged) = if std::fs::symlink_metadata(path).is_ok() {
            (open(db)?, None)
        } else {
            let (dir, temp) = crate::sink::hidden_beside(path)?;
            // A folder we may not write to says so by name.
            std::fs::File::create(&temp).map_err(|e| crate::sink::folder_refused(&dir, db, &e))?;
            (open_new(&temp).inspect_err(|_| remove_database(&temp))?, Some(temp))
        };
        let flushed = staged.as_ref().map_or(format!("{db}-wal"), |t| t.to_string_lossy().into_owned());
        let began = conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| Error::server(format!("{db}: {e}")));
        let session =
            Session { conn: Some(conn), db: db.to_string(), staged, flusher: Flusher::start(flushed) };
        began.map(|()| session)
    }

    pub fn commit(mut self) -> Result<()> {
        let conn = self.conn.take().ok_or_else(|| Error::server("the load was already finished"))?;
        let failed = |conn: &Connection, e: rusqlite::Error| {
            Error::server(format!("{}: {}", self.db, described(conn, e)))
        };
        conn.execute_batch("COMMIT").map_err(|e| failed(&conn, e))?;
        if self.staged.is_some() {
            // Like every database assay loads: readers need not wait for a later load.
            conn.execute_batch("PRAGMA journal_mode = WAL").map_err(|e| failed(&conn, e))?;
        }
        conn.close().map_err(|(conn, e)| failed(&conn, e))?;
        match self.staged.take() {
            Some(temp) => {
                self.flusher.finish();
                publish(&temp, &self.db).inspect_err(|_| self.staged = Some(temp))
            }
            None => Ok(()),
        }
    }

    /// Streams `lf` into `target` (a table of this database); returns the rows loaded.
    pub fn load(&mut self, lf: LazyFrame, target: &Target) -> Result<u64> {
        let conn =
            self.conn.take().ok_or_else(|| Error::server(format!("{}: no open transaction", self.db)))?;
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
        if let Some(temp) = self.staged.take() {
            remove_database(&temp);
        }
    }
}

/// SQLite's own word for a folder where a database should be is "disk I/O error".
fn not_a_folder(db: &str) -> Result<()> {
    if Path::new(db).is_dir() {
        return Err(Error::refused(format!("{db}: is a folder, not a SQLite database file")));
    }
    Ok(())
}

/// Opens an existing database for a load, in WAL mode.
fn open(db: &str) -> Result<Connection> {
    not_a_folder(db)?;
    let conn = Connection::open(db).map_err(|e| Error::refused(format!("{db}: {e}")))?;
    let empty = std::fs::metadata(db).is_ok_and(|m| m.len() == 0);
    settings(&conn, empty, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .map_err(|e| Error::server(format!("{db}: {e}")))?;
    Ok(conn)
}

/// Opens the hidden file a new database is built in: nothing else reads it, so its
/// rollback journal stays in memory; the commit still syncs it (`synchronous = FULL`).
fn open_new(temp: &Path) -> Result<Connection> {
    let shown = temp.display();
    let conn = Connection::open(temp).map_err(|e| Error::server(format!("{shown}: {e}")))?;
    settings(&conn, true, "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = FULL;")
        .map_err(|e| Error::server(format!("{shown}: {e}")))?;
    Ok(conn)
}

/// The settings of a load's connection: `journal` (mode and sync), and the page size
/// when the database is `empty`.
fn settings(conn: &Connection, empty: bool, journal: &str) -> rusqlite::Result<()> {
    // A database assay creates gets 64 KiB pages (SQLite's default is 4 KiB; the size is
    // fixed once the file is written): bulk-loaded tables are written and scanned in a
    // sixteenth of the pages, which made a 10M-row load a third faster. An existing
    // database keeps its own. A 64 MiB page cache (SQLite's default is 2 MiB) spills
    // fewer pages of a long transaction more than once.
    if empty {
        conn.execute_batch("PRAGMA page_size = 65536;")?;
    }
    conn.execute_batch(journal)?;
    conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536;")
}

/// Removes a database file built under `temp` and what SQLite may have left beside it.
fn remove_database(temp: &Path) {
    let _ = std::fs::remove_file(temp);
    for suffix in crate::sink::COMPANIONS {
        let mut beside = temp.as_os_str().to_owned();
        beside.push(suffix);
        let _ = std::fs::remove_file(beside);
    }
}

/// Gives the new database built at `temp` the name `db` (and removes `temp`), only if
/// nothing has taken that name meanwhile: a hard link never replaces a file.
fn publish(temp: &Path, db: &str) -> Result<()> {
    let taken = || {
        Error::server(format!(
            "{db}: a file of that name appeared during the load; it was left as it is and the load discarded"
        ))
    };
    match std::fs::hard_link(temp, db) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(taken()),
        // A filesystem without hard links: a rename, once more checking the name is free.
        Err(_) if std::fs::symlink_metadata(db).is_ok() => return Err(taken()),
        Err(_) => return std::fs::rename(temp, db).map_err(|e| crate::error::io_error(db, &e).into()),
    }
    let _ = std::fs::remove_file(temp);
    Ok(())
}

/// Whether `db` exists and has `table`.
pub fn table_exists(db: &str, table: &str) -> Result<bool> {
    if !Path::new(db).exists() {
        return Ok(false);
    }
    not_a_folder(db)?;
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::refused(format!("{db}: {e}")))?;
    existing(&conn, table).map(|c| !c.is_empty()).map_err(|e| Error::refused(format!("{db}: {e}")))
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
    let (tx, rx) = mpsc::sync_channel::<Ready>(4);
    let writer = std::thread::spawn(move || -> (Connection, std::result::Result<u64, String>) {
        let result = (|| -> std::result::Result<u64, String> {
            let mut many = RawStatement::prepare(&conn, &insert.sql(insert.rows))?;
            let mut one = RawStatement::prepare(&conn, &insert.sql(1))?;
            let mut rows = 0u64;
            for batch in rx {
                rows += insert_batch(&mut many, insert.rows, &mut one, &batch)?;
            }
            Ok(rows)
        })();
        (conn, result)
    });
    // Runs on Polars' threads, so the batch's dates and times are written as text there,
    // beside the reading, not on the writer thread.
    let send = move |df: DataFrame| -> PolarsResult<bool> {
        tx.send(Ready::new(df)?).map_err(|_| polars_err!(ComputeError: "the SQLite writer stopped"))?;
        Ok(false)
    };
    let streamed = lf
        .sink_batches(PlanCallback::Rust(SpecialEq::new(Arc::new(send))), true, None)
        .and_then(crate::engine::polars::streaming);
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
    let schema = lf.collect_schema().map_err(|e| Error::refused(format!("{}: {e}", target.url())))?;
    let mut decls = Vec::new();
    let mut exprs = Vec::new();
    for (name, dtype) in schema.iter() {
        let (decl, expr) = column_plan(name, dtype)?;
        decls.push((name.to_string(), decl));
        exprs.push(expr.alias(name.clone()));
    }
    for k in &target.key {
        if !decls.iter().any(|(n, _)| n == k) {
            return Err(Error::refused(format!("{}: key column `{k}` is not in the data", target.url())));
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
    let sql_failed = |e: rusqlite::Error| failed(target, described(conn, e));
    let before = existing(conn, &target.table).map_err(sql_failed)?;
    match target.mode {
        LoadMode::Replace => {
            conn.execute_batch(&format!("DROP TABLE IF EXISTS {table}")).map_err(sql_failed)?;
            create(conn).map_err(sql_failed)?;
        }
        LoadMode::Append | LoadMode::Upsert if before.is_empty() => create(conn).map_err(sql_failed)?,
        LoadMode::Append | LoadMode::Upsert => {
            for (name, _) in &decls {
                if !before.iter().any(|(n, _)| n == name) {
                    return Err(Error::refused(format!(
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

#[cfg(test)]
mod tests;
