//! Postgres destinations (`postgres://USER@HOST[:PORT]/DB?table=T`, or a recipe's
//! `postgres = "…"` output) and Postgres tables (or queries) read back as datasets.
//!
//! A load is one transaction: the table is created (or checked) and the rows arrive by
//! `COPY … FROM STDIN (FORMAT binary)`, encoded here straight from the Arrow buffers of
//! Polars' streaming batches (no text formatting, no per-value dispatch through a
//! driver). `Session::commit` publishes every load of a run at once; dropping a session
//! closes the connection and the server rolls the transaction back, so a failed load
//! (bad value, lost connection, a check that failed elsewhere) leaves the table as it was.
//!
//! Modes: `replace` drops and re-creates the table inside the transaction; `append`
//! creates it when missing, else copies into its columns (each value converted to the
//! column's type, out-of-range values refused); `upsert` copies into a temporary table and
//! merges with `INSERT … ON CONFLICT (key) DO UPDATE`, the last row of a key winning.
//!
//! The password is never in a recipe: `PGPASSWORD`, else `~/.pgpass` (or `PGPASSFILE`),
//! as libpq reads them; `PGHOST`, `PGPORT`, `PGUSER` and `PGDATABASE` fill what the URL
//! leaves out. TLS as libpq's `sslmode` has it (`sink::pg_tls`): `disable`, `prefer`
//! (the default), `require`, `verify-ca`, `verify-full`, with `sslrootcert=FILE`.

use std::path::Path;
use std::sync::{mpsc, Arc};

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use polars::prelude::*;
use tokio_postgres::{Client, Config, NoTls};

use super::pg_tls::{self, Verify};
use super::LoadMode;
use crate::db::{Error, Result};

mod copy;
mod read;
mod url;
use copy::*;
pub use read::read_to_parquet;
pub use url::connect_config;
use url::*;

/// Where a load goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server and database, for people (no password), e.g. `postgres://me@127.0.0.1:5432/db`.
    pub server: String,
    pub config: Config,
    /// A table name, optionally schema-qualified (`staging.orders`).
    pub table: String,
    pub mode: LoadMode,
    /// The key of an upsert.
    pub key: Vec<String>,
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        self.server == other.server
            && self.table == other.table
            && self.mode == other.mode
            && self.key == other.key
    }
}

/// The TLS configuration of each server `connect_config` prepared, by its shown name
/// (`None`: `sslmode=disable`).
static TLS_SETTINGS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, Option<Arc<rustls::ClientConfig>>>>,
> = std::sync::LazyLock::new(Default::default);

impl Target {
    /// Reads `postgres://USER@HOST[:PORT]/DB?table=T[&mode=replace|append|upsert][&key=a,b]`.
    pub fn parse(url: &str) -> Result<Target> {
        let (conn_url, params) = split_params(url, &["table", "mode", "key"]);
        let mut table = String::new();
        let mut mode = LoadMode::Replace;
        let mut key = Vec::new();
        for (k, v) in params {
            match k.as_str() {
                "table" => table = v,
                "mode" => {
                    mode = LoadMode::parse(&v)
                        .map_err(|e| Error::refused(format!("{}: {e}", crate::source::redact(url))))?
                }
                _ => key = v.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            }
        }
        Target::new(&conn_url, &table, mode, key)
    }

    /// A load of `table` on the database at `url` (a recipe output's fields).
    pub fn new(url: &str, table: &str, mode: LoadMode, key: Vec<String>) -> Result<Target> {
        let (config, server) = connect_config(url)?;
        if table.is_empty() {
            return Err(Error::refused(format!("{server}: expected ?table=NAME")));
        }
        if mode == LoadMode::Upsert && key.is_empty() {
            return Err(Error::refused(format!(
                "{server}?table={table}: mode=upsert needs key=COLUMN[,COLUMN]"
            )));
        }
        Ok(Target { server, config, table: table.to_string(), mode, key })
    }

    pub fn url(&self) -> String {
        format!("{}?table={}", self.server, self.table)
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table name, schema-qualified or not, quoted part by part.
fn quote_table(table: &str) -> String {
    match table.split_once('.') {
        Some((schema, name)) => format!("{}.{}", quote(schema), quote(name)),
        None => quote(table),
    }
}

/// A driver error as one line: the server's message with its detail and hint, or the
/// connection problem.
fn pg_message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = db.message().to_string();
        if let Some(d) = db.detail() {
            m.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            m.push_str(&format!("; hint: {h}"));
        }
        return m;
    }
    if e.is_closed() {
        // tokio-postgres says only "connection closed".
        return "the server closed the connection (the session was ended by a restart, a failover \
                or an administrator; a load not yet committed was rolled back)"
            .to_string();
    }
    let mut m = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        m.push_str(&format!(": {s}"));
        source = s.source();
    }
    m
}

fn failed(at: &str, e: &tokio_postgres::Error) -> Error {
    Error::server(format!("{at}: {}", pg_message(e)))
}

/// Connects on the current tokio runtime (from a blocking thread); the connection runs as
/// a task until the client is dropped.
fn connect(config: &Config, server: &str, handle: &tokio::runtime::Handle) -> Result<Client> {
    let tls = TLS_SETTINGS.lock().unwrap_or_else(|e| e.into_inner()).get(server).cloned().flatten();
    let connected = match tls {
        Some(tls) => handle.block_on(config.connect(pg_tls::Tls(tls))).map(|(client, connection)| {
            handle.spawn(async move {
                let _ = connection.await;
            });
            client
        }),
        None => handle.block_on(config.connect(NoTls)).map(|(client, connection)| {
            handle.spawn(async move {
                let _ = connection.await;
            });
            client
        }),
    };
    connected.map_err(|e| {
        let m = pg_message(&e);
        let hint = if m.contains("password authentication failed") || m.contains("password missing") {
            " (the password comes from PGPASSWORD or ~/.pgpass, mode 0600)"
        } else if ["refused", "onnect", "timed out", "resolve", "No such file"].iter().any(|k| m.contains(k))
        {
            " (the server is unreachable: check the host and port, or PGHOST / PGPORT)"
        } else {
            ""
        };
        Error::server(format!("{server}: cannot connect{hint}: {m}"))
    })
}

fn runtime() -> Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current()
        .map_err(|_| Error::server("Postgres needs the tokio runtime (a bug in assay)"))
}

/// An open transaction on one database: loads go into it, `commit` publishes them all
/// at once; dropping it closes the connection, and the server rolls back.
pub struct Session {
    client: Client,
    handle: tokio::runtime::Handle,
    /// The server and database (`Target::server`).
    pub server: String,
    stages: usize,
}

impl Session {
    /// Connects and begins a transaction (call from a blocking thread).
    pub fn begin(target: &Target) -> Result<Session> {
        let handle = runtime()?;
        let client = connect(&target.config, &target.server, &handle)?;
        handle.block_on(client.batch_execute("BEGIN")).map_err(|e| failed(&target.server, &e))?;
        Ok(Session { client, handle, server: target.server.clone(), stages: 0 })
    }

    pub fn commit(self) -> Result<()> {
        self.handle.block_on(self.client.batch_execute("COMMIT")).map_err(|e| failed(&self.server, &e))
    }

    /// Columns of an existing table (name, `format_type`), empty when there is none.
    fn existing(&self, table: &str) -> std::result::Result<Vec<(String, String)>, tokio_postgres::Error> {
        let rows = self.handle.block_on(self.client.query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&quote_table(table)],
        ))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Whether the table exists.
    pub fn table_exists(&self, table: &str) -> Result<bool> {
        self.existing(table).map(|c| !c.is_empty()).map_err(|e| failed(&self.server, &e))
    }

    /// Streams `lf` into `target` (a table of this database) inside the transaction;
    /// returns the rows loaded.
    pub fn load(&mut self, lf: LazyFrame, target: &Target) -> Result<u64> {
        let at = target.url();
        let sql = |e: tokio_postgres::Error| failed(&at, &e);
        let mut lf = lf;
        let schema = lf.collect_schema().map_err(|e| Error::refused(format!("{at}: {e}")))?;
        for k in &target.key {
            if schema.get(k).is_none() {
                return Err(Error::refused(format!("{at}: key column `{k}` is not in the data")));
            }
        }
        let table = quote_table(&target.table);
        let before = self.existing(&target.table).map_err(sql)?;
        let fresh = before.is_empty() || target.mode == LoadMode::Replace;
        let mut types = Vec::with_capacity(schema.len());
        for (name, dtype) in schema.iter() {
            let t = if fresh {
                PgType::of(name, dtype)?
            } else {
                let Some((_, decl)) = before.iter().find(|(n, _)| n == name.as_str()) else {
                    return Err(Error::refused(format!(
                        "{at}: the table has no column `{name}` (its columns: {})",
                        before.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                };
                PgType::from_sql(decl).ok_or_else(|| {
                    Error::refused(format!(
                        "{at}: column `{name}` is {decl} in the table, which assay does not load (it loads \
                         boolean, integers, real/double, numeric, text/varchar/json/jsonb, bytea, date, time, \
                         timestamp[tz], interval)"
                    ))
                })?
            };
            types.push(t);
        }
        let names: Vec<String> = schema.iter_names().map(|n| quote(n)).collect();
        let key_sql = target.key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
        let columns_sql: Vec<String> =
            names.iter().zip(&types).map(|(n, t)| format!("{n} {}", t.decl())).collect();
        let primary = if target.mode == LoadMode::Upsert {
            format!(", PRIMARY KEY ({key_sql})")
        } else {
            String::new()
        };
        let create = format!("CREATE TABLE {table} ({}{primary})", columns_sql.join(", "));
        let mut ddl = Vec::new();
        if target.mode == LoadMode::Replace && !before.is_empty() {
            ddl.push(format!("DROP TABLE {table}"));
        }
        if fresh {
            ddl.push(create);
        } else if target.mode == LoadMode::Upsert {
            let index =
                quote(&format!("{}__assay_key", target.table.rsplit('.').next().unwrap_or(&target.table)));
            ddl.push(format!("CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {table} ({key_sql})"));
        }
        for statement in &ddl {
            self.handle.block_on(self.client.batch_execute(statement)).map_err(sql)?;
        }
        // An upsert copies into a temporary table first (rows numbered as they come, so
        // the last row of a key wins), then merges.
        let into = if target.mode == LoadMode::Upsert {
            self.stages += 1;
            let stage = format!("assay_stage_{}", self.stages);
            self.handle
                .block_on(self.client.batch_execute(&format!(
                    "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {} FROM {table} WITH NO DATA; \
                     ALTER TABLE {stage} ADD COLUMN assay_row bigint GENERATED ALWAYS AS IDENTITY",
                    names.join(", ")
                )))
                .map_err(sql)?;
            stage
        } else {
            table.clone()
        };
        let exprs: Vec<Expr> =
            schema.iter().zip(&types).map(|((name, dtype), t)| t.expr(name, dtype)).collect();
        let rows = self.copy(
            lf.select(exprs),
            &format!("COPY {into} ({}) FROM STDIN (FORMAT binary)", names.join(", ")),
            types,
            &at,
        )?;
        if target.mode == LoadMode::Upsert {
            let set: Vec<String> = schema
                .iter_names()
                .filter(|n| !target.key.iter().any(|k| k == n.as_str()))
                .map(|n| format!("{} = EXCLUDED.{}", quote(n), quote(n)))
                .collect();
            let action =
                if set.is_empty() { "NOTHING".to_string() } else { format!("UPDATE SET {}", set.join(", ")) };
            let merge = format!(
                "INSERT INTO {table} ({cols}) SELECT DISTINCT ON ({key_sql}) {cols} FROM {into} \
                 ORDER BY {key_sql}, assay_row DESC ON CONFLICT ({key_sql}) DO {action}",
                cols = names.join(", ")
            );
            self.handle.block_on(self.client.batch_execute(&merge)).map_err(sql)?;
        }
        Ok(rows)
    }

    /// Runs `copy` with the rows of `lf` (Polars streams batches to this thread's
    /// encoder; a second thread sends the encoded chunks to the server).
    fn copy(&self, lf: LazyFrame, copy: &str, types: Vec<PgType>, at: &str) -> Result<u64> {
        let (tx, rx) = mpsc::sync_channel::<Bytes>(8);
        let client = &self.client;
        let handle = &self.handle;
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> std::result::Result<u64, tokio_postgres::Error> {
                handle.block_on(async move {
                    let sink = client.copy_in::<_, Bytes>(copy).await?;
                    futures::pin_mut!(sink);
                    let mut header = BytesMut::with_capacity(19);
                    header.put_slice(COPY_SIGNATURE);
                    header.put_i32(0);
                    header.put_i32(0);
                    sink.send(header.freeze()).await?;
                    // A blocking receive is fine here: this thread does nothing else, and
                    // the connection runs on the runtime's workers.
                    while let Ok(chunk) = rx.recv() {
                        sink.send(chunk).await?;
                    }
                    sink.send(Bytes::from_static(&[0xff, 0xff])).await?;
                    sink.as_mut().finish().await
                })
            });
            let types = Arc::new(types);
            let send = {
                let types = types.clone();
                move |df: DataFrame| -> PolarsResult<bool> {
                    let mut buf = BytesMut::with_capacity(df.height() * 64);
                    encode(&df, &types, &mut buf)?;
                    tx.send(buf.freeze())
                        .map_err(|_| polars_err!(ComputeError: "the Postgres writer stopped"))?;
                    Ok(false)
                }
            };
            let streamed = lf
                .sink_batches(PlanCallback::Rust(SpecialEq::new(Arc::new(send))), true, None)
                .and_then(crate::engine::polars::streaming);
            let written = writer
                .join()
                .map_err(|_| Error::server(format!("{at}: the writer failed (a bug in assay)")))?;
            match (written, streamed) {
                (Err(e), _) => Err(failed(at, &e)),
                (_, Err(e)) => Err(Error::server(format!("{at}: {e}"))),
                (Ok(rows), Ok(_)) => Ok(rows),
            }
        })
    }
}

#[cfg(test)]
mod tests;
