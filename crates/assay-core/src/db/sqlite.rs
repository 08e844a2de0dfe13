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

/// A prepared statement driven through SQLite's C API, so that each value is bound where
/// it lies in the batch's Arrow buffers (`SQLITE_STATIC`) instead of being copied by
/// SQLite first, as rusqlite's safe binding does: the copies and their allocations were
/// a fifth of the writer's time. Bindings point into one batch only: `insert_batch`
/// clears them before the batch is dropped.
struct RawStatement<'c> {
    db: *mut rusqlite::ffi::sqlite3,
    stmt: *mut rusqlite::ffi::sqlite3_stmt,
    _conn: std::marker::PhantomData<&'c Connection>,
}

impl<'c> RawStatement<'c> {
    fn prepare(conn: &'c Connection, sql: &str) -> std::result::Result<RawStatement<'c>, String> {
        use rusqlite::ffi;
        let sql = std::ffi::CString::new(sql).map_err(|e| e.to_string())?;
        // SAFETY: the handle stays valid while `conn` is borrowed, which `'c` ensures.
        let db = unsafe { conn.handle() };
        let mut stmt = std::ptr::null_mut();
        // SAFETY: `sql` is NUL-terminated; `stmt` receives a statement we finalize on drop.
        let rc = unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, std::ptr::null_mut()) };
        let statement = RawStatement { db, stmt, _conn: std::marker::PhantomData };
        statement.check(rc)?;
        Ok(statement)
    }

    #[inline]
    fn check(&self, rc: std::os::raw::c_int) -> std::result::Result<(), String> {
        if rc == rusqlite::ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    #[cold]
    fn error(&self) -> String {
        // SAFETY: `db` is an open connection; the message is copied before any other call.
        let message = unsafe { std::ffi::CStr::from_ptr(rusqlite::ffi::sqlite3_errmsg(self.db)) };
        os_reason(self.db).unwrap_or_else(|| message.to_string_lossy().into_owned())
    }

    #[inline]
    fn null(&mut self, at: i32) -> std::result::Result<(), String> {
        // SAFETY: a live statement; SQLite checks the index.
        self.check(unsafe { rusqlite::ffi::sqlite3_bind_null(self.stmt, at) })
    }

    #[inline]
    fn int(&mut self, at: i32, v: i64) -> std::result::Result<(), String> {
        // SAFETY: as for `null`.
        self.check(unsafe { rusqlite::ffi::sqlite3_bind_int64(self.stmt, at, v) })
    }

    #[inline]
    fn float(&mut self, at: i32, v: f64) -> std::result::Result<(), String> {
        // SAFETY: as for `null`.
        self.check(unsafe { rusqlite::ffi::sqlite3_bind_double(self.stmt, at, v) })
    }

    /// Binds `v` without a copy.
    ///
    /// # Safety
    /// `v` must stay alive and unmoved until the parameter is bound again or cleared.
    #[inline]
    unsafe fn text(&mut self, at: i32, v: &[u8]) -> std::result::Result<(), String> {
        use rusqlite::ffi;
        let rc = unsafe {
            ffi::sqlite3_bind_text64(
                self.stmt,
                at,
                v.as_ptr().cast(),
                v.len() as u64,
                ffi::SQLITE_STATIC(),
                ffi::SQLITE_UTF8 as u8,
            )
        };
        self.check(rc)
    }

    /// Binds `v` without a copy (the same promise as `text`).
    #[inline]
    unsafe fn blob(&mut self, at: i32, v: &[u8]) -> std::result::Result<(), String> {
        use rusqlite::ffi;
        let rc = unsafe {
            ffi::sqlite3_bind_blob64(self.stmt, at, v.as_ptr().cast(), v.len() as u64, ffi::SQLITE_STATIC())
        };
        self.check(rc)
    }

    /// Runs the statement once with the values bound.
    fn execute(&mut self) -> std::result::Result<(), String> {
        use rusqlite::ffi;
        // SAFETY: a live statement with every parameter bound.
        let rc = unsafe { ffi::sqlite3_step(self.stmt) };
        // SAFETY: as above; reset keeps the bindings and reports the step's error again.
        let reset = unsafe { ffi::sqlite3_reset(self.stmt) };
        if rc == ffi::SQLITE_DONE {
            return Ok(());
        }
        self.check(if reset == ffi::SQLITE_OK { rc } else { reset })
    }

    /// Unbinds every parameter (SQLite no longer points into a batch).
    fn clear(&mut self) {
        // SAFETY: a live statement.
        unsafe { rusqlite::ffi::sqlite3_clear_bindings(self.stmt) };
    }
}

impl Drop for RawStatement<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared on `db` and is finalized once.
        unsafe { rusqlite::ffi::sqlite3_finalize(self.stmt) };
    }
}

/// A batch as the writer takes it: its columns' chunks aligned, and its dates and times
/// already written as ISO-8601 text. Both are done on the Polars thread that produced
/// the batch: the writer thread is a load's critical path, and formatting there took 7%
/// of its time (a 10M-row load from Parquet 1.17x faster by median without it).
struct Ready {
    df: DataFrame,
    /// Per column, one `Texts` a chunk for dates and times, none for other columns.
    texts: Vec<Vec<Texts>>,
}

impl Ready {
    fn new(mut df: DataFrame) -> PolarsResult<Ready> {
        df.align_chunks();
        let mut iso = Iso::default();
        let mut texts = Vec::with_capacity(df.width());
        for c in df.columns() {
            let s = c.as_materialized_series();
            texts.push(match s.dtype() {
                DataType::Date => {
                    s.date()?.physical().downcast_iter().map(|a| Texts::new(a, &mut iso, Iso::date)).collect()
                }
                DataType::Datetime(unit, zone) => {
                    let (unit, zoned) = (*unit, zone.is_some());
                    let write = |iso: &mut Iso, v| iso.datetime(v, unit, zoned);
                    s.datetime()?.physical().downcast_iter().map(|a| Texts::new(a, &mut iso, write)).collect()
                }
                DataType::Time => {
                    s.time()?.physical().downcast_iter().map(|a| Texts::new(a, &mut iso, Iso::time)).collect()
                }
                _ => Vec::new(),
            });
        }
        Ok(Ready { df, texts })
    }
}

/// One chunk of a date or time column as text: value `i` is `bytes[ends[i - 1]..ends[i]]`
/// (from 0 for the first), empty for a null (no date or time is written empty).
struct Texts {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Texts {
    /// Writes each value of `a` with `write`, which formats one into `iso`.
    fn new<T: polars_arrow::types::NativeType>(
        a: &PrimitiveArray<T>,
        iso: &mut Iso,
        write: impl Fn(&mut Iso, T),
    ) -> Texts {
        // Room for a timestamp (`YYYY-MM-DD HH:MM:SS.ffffff`, 26 bytes) a value.
        let mut texts = Texts { bytes: Vec::with_capacity(a.len() * 26), ends: Vec::with_capacity(a.len()) };
        for v in a.iter() {
            if let Some(v) = v {
                write(iso, *v);
                texts.bytes.extend_from_slice(iso.bytes());
            }
            texts.ends.push(texts.bytes.len());
        }
        texts
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&[u8]> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends[i];
        (end > start).then(|| &self.bytes[start..end])
    }
}

/// One column of one chunk of a batch, as the writer binds it.
enum Cells<'a> {
    Int(&'a PrimitiveArray<i64>),
    Float(&'a PrimitiveArray<f64>),
    Text(&'a Utf8ViewArray),
    Bytes(&'a BinaryViewArray),
    /// A date or time, already written as text.
    Iso(&'a Texts),
}

/// Inserts every row of `batch` (columns i64, f64, text, bytes, dates, datetimes or
/// times, as `column_plan` left them), `per` rows a statement.
fn insert_batch(
    many: &mut RawStatement<'_>,
    per: usize,
    one: &mut RawStatement<'_>,
    batch: &Ready,
) -> std::result::Result<u64, String> {
    let result = insert_aligned(many, per, one, batch);
    // The statements must not point into the batch once it is dropped.
    many.clear();
    one.clear();
    result.map(|()| batch.df.height() as u64)
}

fn insert_aligned(
    many: &mut RawStatement<'_>,
    per: usize,
    one: &mut RawStatement<'_>,
    batch: &Ready,
) -> std::result::Result<(), String> {
    let series: Vec<&Series> = batch.df.columns().iter().map(|c| c.as_materialized_series()).collect();
    let chunks = series.first().map_or(0, |s| s.n_chunks());
    let width = series.len();
    // `Ready::new` gave every column the same chunks.
    let unaligned = || "a batch's columns have different chunks (a bug in assay)".to_string();
    for k in 0..chunks {
        let mut cells = Vec::with_capacity(width);
        for (s, texts) in series.iter().zip(&batch.texts) {
            let e = |e: PolarsError| e.to_string();
            cells.push(match s.dtype() {
                DataType::Int64 => Cells::Int(s.i64().map_err(e)?.downcast_get(k).ok_or_else(unaligned)?),
                DataType::Float64 => Cells::Float(s.f64().map_err(e)?.downcast_get(k).ok_or_else(unaligned)?),
                DataType::Binary => {
                    Cells::Bytes(s.binary().map_err(e)?.downcast_get(k).ok_or_else(unaligned)?)
                }
                DataType::Date | DataType::Datetime(_, _) | DataType::Time => {
                    Cells::Iso(texts.get(k).ok_or_else(unaligned)?)
                }
                _ => Cells::Text(s.str().map_err(e)?.downcast_get(k).ok_or_else(unaligned)?),
            });
        }
        let rows = series.first().map_or(0, |s| s.chunks()[k].len());
        let mut row = 0;
        while row + per <= rows {
            bind_rows(many, &cells, row, per)?;
            many.execute()?;
            row += per;
        }
        while row < rows {
            bind_rows(one, &cells, row, 1)?;
            one.execute()?;
            row += 1;
        }
    }
    Ok(())
}

/// Binds rows `first..first + count` of `cells` to the parameters of `stmt`, a column at a
/// time (the column's kind is matched once, not once a value).
fn bind_rows(
    stmt: &mut RawStatement<'_>,
    cells: &[Cells<'_>],
    first: usize,
    count: usize,
) -> std::result::Result<(), String> {
    let width = cells.len();
    // Binds each row's value of one column, or NULL where it has none.
    macro_rules! each {
        ($array:expr, $j:expr, |$at:ident, $v:ident| $bind:expr) => {
            for slot in 0..count {
                let $at = (slot * width + $j + 1) as i32;
                match $array.get(first + slot) {
                    Some($v) => $bind,
                    None => stmt.null($at)?,
                }
            }
        };
    }
    for (j, cell) in cells.iter().enumerate() {
        // SAFETY (text, blob): the arrays and texts live in the batch, which outlives every
        // execution of these bindings (`insert_batch` clears them before it returns).
        match cell {
            Cells::Int(a) => each!(a, j, |at, v| stmt.int(at, v)?),
            Cells::Float(a) => each!(a, j, |at, v| stmt.float(at, v)?),
            Cells::Text(a) => each!(a, j, |at, v| unsafe { stmt.text(at, v.as_bytes())? }),
            Cells::Bytes(a) => each!(a, j, |at, v| unsafe { stmt.blob(at, v)? }),
            Cells::Iso(t) => each!(t, j, |at, v| unsafe { stmt.text(at, v)? }),
        }
    }
    Ok(())
}

/// A date or time written as SQLite stores them: ISO-8601 text, `YYYY-MM-DD`,
/// `YYYY-MM-DD HH:MM:SS.ffffff` (with `+00:00` when zoned: the instant in UTC) and
/// `HH:MM:SS.ffffff` (what chrono's `%Y-%m-%d %H:%M:%S%.6f` gives, years outside
/// 0..=9999 signed), written by hand: Polars' `dt.to_string` parsed the format anew for
/// every value and took a sixth of a load's time.
#[derive(Clone)]
struct Iso {
    buf: [u8; 40],
    len: usize,
}

impl Default for Iso {
    fn default() -> Iso {
        Iso { buf: [0; 40], len: 0 }
    }
}

impl Iso {
    #[inline]
    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// `v` (below 100) as two digits.
    #[inline]
    fn pair(&mut self, v: u64) {
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let i = (v % 100) as usize * 2;
        self.buf[self.len..self.len + 2].copy_from_slice(&PAIRS[i..i + 2]);
        self.len += 2;
    }

    /// `v` in decimal, zero-padded to `width` digits.
    fn digits(&mut self, v: u64, width: usize) {
        let mut tmp = [b'0'; 20];
        let mut n = v;
        let mut i = tmp.len();
        while n > 0 || tmp.len() - i < width {
            i -= 1;
            tmp[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let d = &tmp[i..];
        self.buf[self.len..self.len + d.len()].copy_from_slice(d);
        self.len += d.len();
    }

    fn ymd(&mut self, days: i64) {
        // Days since 1970-01-01 to the proleptic Gregorian date (Howard Hinnant's
        // `civil_from_days`).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if (0..=9999).contains(&year) {
            self.pair(year as u64 / 100);
            self.pair(year as u64);
        } else {
            self.push(if year < 0 { b'-' } else { b'+' });
            self.digits(year.unsigned_abs(), 4);
        }
        self.push(b'-');
        self.pair(month as u64);
        self.push(b'-');
        self.pair(day as u64);
    }

    fn hms(&mut self, seconds: u64, micros: u64) {
        self.pair(seconds / 3600);
        self.push(b':');
        self.pair(seconds / 60 % 60);
        self.push(b':');
        self.pair(seconds % 60);
        self.push(b'.');
        self.pair(micros / 10_000);
        self.pair(micros / 100);
        self.pair(micros);
    }

    /// The last value written (ASCII only).
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn date(&mut self, days: i32) {
        self.len = 0;
        self.ymd(i64::from(days));
    }

    fn datetime(&mut self, v: i64, unit: TimeUnit, zoned: bool) {
        let per_second: i64 = match unit {
            TimeUnit::Nanoseconds => 1_000_000_000,
            TimeUnit::Microseconds => 1_000_000,
            TimeUnit::Milliseconds => 1_000,
        };
        let seconds = v.div_euclid(per_second);
        let micros = (v.rem_euclid(per_second) * 1_000_000 / per_second) as u64;
        self.len = 0;
        self.ymd(seconds.div_euclid(86_400));
        self.push(b' ');
        self.hms(seconds.rem_euclid(86_400) as u64, micros);
        if zoned {
            for &b in b"+00:00" {
                self.push(b);
            }
        }
    }

    fn time(&mut self, nanos: i64) {
        self.len = 0;
        let nanos = nanos.rem_euclid(86_400_000_000_000) as u64;
        self.hms(nanos / 1_000_000_000, nanos % 1_000_000_000 / 1_000);
    }
}

/// What to read from a database: a table or a query.
fn read_target(url: &str) -> Result<(String, String, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The value `iso` wrote last.
    fn text(iso: &Iso) -> &str {
        std::str::from_utf8(iso.bytes()).unwrap()
    }

    /// What Polars' `dt.to_string` gives with the formats loads used before `Iso`.
    fn polars_text(s: Series, format: &str) -> Vec<String> {
        let df = DataFrame::new_infer_height(vec![s.into()]).unwrap();
        let out = df.lazy().select([col("v").dt().to_string(format)]).collect().unwrap();
        out.column("v").unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect()
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn a_new_database_is_built_under_a_hidden_name_and_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("new.db").display().to_string();
        let hidden = format!(".new.db.assay-partial-{}", std::process::id());
        let df = df!("id" => [1i64, 2, 3], "name" => ["a", "b", "ü"]).unwrap();
        let target = Target::parse(&format!("sqlite://{db}?table=t")).unwrap();
        // Dropped before the commit: nothing at all is left.
        let mut session = Session::begin(&db).unwrap();
        assert_eq!(session.load(df.clone().lazy(), &target).unwrap(), 3);
        assert_eq!(names(dir.path()), [hidden.as_str()]);
        drop(session);
        assert!(names(dir.path()).is_empty());
        // Committed: the database alone, in WAL mode, with its rows.
        let mut session = Session::begin(&db).unwrap();
        session.load(df.clone().lazy(), &target).unwrap();
        session.commit().unwrap();
        assert_eq!(names(dir.path()), ["new.db"]);
        let conn = Connection::open(&db).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM t WHERE name = 'ü'", [], |r| r.get(0)).unwrap();
        assert_eq!((mode.as_str(), n), ("wal", 1));
        drop(conn);
        // A file that takes the name during the load is left alone, and the load discarded.
        let other = dir.path().join("other.db").display().to_string();
        let mut session = Session::begin(&other).unwrap();
        session.load(df.lazy(), &target).unwrap();
        std::fs::write(&other, b"someone else's").unwrap();
        let e = session.commit().unwrap_err().to_string();
        assert!(e.contains("other.db: a file of that name appeared during the load"), "{e}");
        assert_eq!(std::fs::read(&other).unwrap(), b"someone else's");
        assert_eq!(names(dir.path()), ["new.db", "other.db"]);
    }

    #[test]
    fn a_ready_batch_holds_its_dates_and_times_as_text_chunk_by_chunk_with_nulls() {
        let date = Series::new("d".into(), [Some(19_845i32), None, Some(-1)]).cast(&DataType::Date).unwrap();
        let unit = TimeUnit::Microseconds;
        let stamps = Series::new("t".into(), [None, Some(1_714_680_828_000_123i64), Some(0)])
            .cast(&DataType::Datetime(unit, None))
            .unwrap();
        let times = Series::new("h".into(), [Some(3_600_000_000_001i64), Some(0), None])
            .cast(&DataType::Time)
            .unwrap();
        let ids = Series::new("i".into(), [1i64, 2, 3]);
        let one =
            DataFrame::new_infer_height(vec![ids.into(), date.into(), stamps.into(), times.into()]).unwrap();
        // Two chunks in every column (the second batch appended), and the kinds kept apart.
        let mut df = one.clone();
        df.vstack_mut(&one).unwrap();
        let ready = Ready::new(df).unwrap();
        assert!(ready.texts[0].is_empty());
        let text = |column: usize, chunk: usize, row: usize| {
            ready.texts[column][chunk].get(row).map(|v| std::str::from_utf8(v).unwrap().to_string())
        };
        for chunk in 0..2 {
            assert_eq!(text(1, chunk, 0).as_deref(), Some("2024-05-02"));
            assert_eq!(text(1, chunk, 1), None);
            assert_eq!(text(1, chunk, 2).as_deref(), Some("1969-12-31"));
            assert_eq!(text(2, chunk, 0), None);
            assert_eq!(text(2, chunk, 1).as_deref(), Some("2024-05-02 20:13:48.000123"));
            assert_eq!(text(2, chunk, 2).as_deref(), Some("1970-01-01 00:00:00.000000"));
            assert_eq!(text(3, chunk, 0).as_deref(), Some("01:00:00.000000"));
            assert_eq!(text(3, chunk, 1).as_deref(), Some("00:00:00.000000"));
            assert_eq!(text(3, chunk, 2), None);
        }
    }

    #[test]
    fn iso_text_is_what_chrono_writes() {
        // Dates from year -700 to 9999 and past it, every 997th day, and the edges.
        let mut days: Vec<i32> = (-975_000..2_933_000).step_by(997).collect();
        days.extend([-719_528, -719_529, -1, 0, 1, 59, 60, 2_932_896, 2_932_897]);
        let want =
            polars_text(Series::new("v".into(), days.clone()).cast(&DataType::Date).unwrap(), "%Y-%m-%d");
        let mut iso = Iso::default();
        for (d, w) in days.iter().zip(&want) {
            iso.date(*d);
            assert_eq!(text(&iso), w, "day {d}");
        }
        // Datetimes before and after 1970 with sub-second parts, in each unit, zoned or not.
        let mut values: Vec<i64> = (-40_000..40_000i64).map(|i| i * 7_919_317_777_113 + i * i * 13).collect();
        values.extend([0, -1, 1, 999_999, -999_999, 86_399_999_999]);
        for unit in [TimeUnit::Nanoseconds, TimeUnit::Microseconds, TimeUnit::Milliseconds] {
            let scaled: Vec<i64> = values
                .iter()
                .map(|v| match unit {
                    TimeUnit::Nanoseconds => *v,
                    TimeUnit::Microseconds => v / 1_000,
                    TimeUnit::Milliseconds => v / 1_000_000,
                })
                .collect();
            for zoned in [false, true] {
                let zone = zoned.then_some(TimeZone::UTC);
                let s =
                    Series::new("v".into(), scaled.clone()).cast(&DataType::Datetime(unit, zone)).unwrap();
                let want = polars_text(
                    s,
                    if zoned { "%Y-%m-%d %H:%M:%S%.6f+00:00" } else { "%Y-%m-%d %H:%M:%S%.6f" },
                );
                for (v, w) in scaled.iter().zip(&want) {
                    iso.datetime(*v, unit, zoned);
                    assert_eq!(text(&iso), w, "{v} {unit:?}");
                }
            }
        }
        let nanos: Vec<i64> =
            (0..86_400i64).map(|s| s * 1_000_000_000 + (s * 7_777_777) % 1_000_000_000).collect();
        let want = polars_text(
            Series::new("v".into(), nanos.clone()).cast(&DataType::Time).unwrap(),
            "%H:%M:%S%.6f",
        );
        for (v, w) in nanos.iter().zip(&want) {
            iso.time(*v);
            assert_eq!(text(&iso), w, "time {v}");
        }
    }
}
