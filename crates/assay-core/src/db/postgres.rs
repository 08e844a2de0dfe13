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

/// Splits our parameters (`table`, `mode`, `key`, `query`) from a URL's, which go to the
/// connection (`connect_timeout`, `application_name`, `sslmode`, …).
fn split_params(url: &str, ours: &[&str]) -> (String, Vec<(String, String)>) {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut theirs = Vec::new();
    let mut mine = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if ours.contains(&k) {
            mine.push((k.to_string(), decode(v)));
        } else {
            theirs.push(pair.to_string());
        }
    }
    let url = if theirs.is_empty() { base.to_string() } else { format!("{base}?{}", theirs.join("&")) };
    (url, mine)
}

/// `%XX` escapes and `+` as a space (a query in a URL).
fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The connection settings of a `postgres://` URL (without our parameters), completed
/// from the environment and the password file.
pub fn connect_config(url: &str) -> Result<(Config, String)> {
    // tokio-postgres knows `disable|prefer|require`: the verifying modes and the root
    // certificate are assay's (`pg_tls`), carried to `connect` in `TLS_SETTINGS`.
    let (url, tls) = split_params(url, &["sslmode", "sslrootcert"]);
    let mode = tls.iter().rev().find(|(k, _)| k == "sslmode").map(|(_, v)| v.clone());
    let root = tls.iter().rev().find(|(k, _)| k == "sslrootcert").map(|(_, v)| v.clone());
    let url = url.as_str();
    let mut config: Config = url
        .parse()
        .map_err(|e| Error::refused(format!("{}: not a Postgres URL: {e}", crate::source::redact(url))))?;
    use tokio_postgres::config::SslMode;
    let verify = match mode.as_deref().unwrap_or("prefer") {
        "disable" => {
            config.ssl_mode(SslMode::Disable);
            None
        }
        "allow" | "prefer" => {
            config.ssl_mode(SslMode::Prefer);
            Some(Verify::Nothing)
        }
        "require" if root.is_none() => {
            config.ssl_mode(SslMode::Require);
            Some(Verify::Nothing)
        }
        // libpq: `require` with a root certificate checks it as verify-ca does.
        "require" | "verify-ca" => {
            config.ssl_mode(SslMode::Require);
            Some(Verify::Authority)
        }
        "verify-full" => {
            config.ssl_mode(SslMode::Require);
            Some(Verify::Full)
        }
        other => {
            return Err(Error::refused(format!(
                "{}: sslmode={other}: expected disable, prefer, require, verify-ca or verify-full",
                crate::source::redact(url)
            )))
        }
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        config.host(env("PGHOST").unwrap_or_else(|| "localhost".into()));
    }
    if config.get_ports().is_empty() {
        if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        let user = env("PGUSER").or_else(|| env("USER")).unwrap_or_else(|| "postgres".into());
        config.user(&user);
    }
    if config.get_dbname().is_none() {
        if let Some(db) = env("PGDATABASE") {
            config.dbname(&db);
        }
    }
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("").to_string();
    let db = config.get_dbname().unwrap_or(&user).to_string();
    if config.get_password().is_none() {
        if let Some(pw) = env("PGPASSWORD").or_else(|| pgpass(&host, port, &db, &user)) {
            config.password(pw);
        }
    }
    let server = format!("postgres://{user}@{host}:{port}/{db}");
    let tls = verify.map(|v| pg_tls::client_config(v, root.as_deref())).transpose()?;
    TLS_SETTINGS.lock().unwrap_or_else(|e| e.into_inner()).insert(server.clone(), tls);
    Ok((config, server))
}

/// The TLS configuration of each server `connect_config` prepared, by its shown name
/// (`None`: `sslmode=disable`).
static TLS_SETTINGS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, Option<Arc<rustls::ClientConfig>>>>,
> = std::sync::LazyLock::new(Default::default);

/// The password for a connection from `PGPASSFILE` or `~/.pgpass` (libpq's format:
/// `host:port:database:user:password`, `*` matches anything, `\:` and `\\` escape). Like
/// libpq, a file others can read is ignored.
fn pgpass(host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(&path).ok()?.permissions().mode() & 0o077 != 0 {
            tracing::warn!("{}: readable by others; ignored (chmod 600)", path.display());
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = if host.starts_with('/') { "localhost" } else { host };
    let port = port.to_string();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()) {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() != 5 {
            continue;
        }
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if matches(&fields[0], host)
            && matches(&fields[1], &port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

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

/// The Postgres types assay writes and reads, with their binary COPY encodings.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PgType {
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
    fn of(name: &str, dtype: &DataType) -> Result<PgType> {
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
    fn from_sql(decl: &str) -> Option<PgType> {
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

    fn decl(&self) -> String {
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
    fn polars(&self, from: &DataType) -> DataType {
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
    fn expr(&self, name: &str, from: &DataType) -> Expr {
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
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Encodes a frame's rows (columns already converted by `PgType::expr`) in the binary
/// COPY tuple format.
fn encode(df: &DataFrame, types: &[PgType], buf: &mut BytesMut) -> PolarsResult<()> {
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
fn put_numeric(buf: &mut BytesMut, value: i128, scale: u16) {
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

/// What to read: a table or a query.
fn read_target(url: &str) -> Result<(String, Option<String>, String)> {
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
struct Decoder {
    names: Vec<String>,
    types: Vec<PgType>,
    columns: Vec<Values>,
    pending: Vec<u8>,
    header: bool,
    rows: usize,
}

enum Values {
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Dec(Vec<Option<i128>>),
    Text(Vec<Option<String>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl Decoder {
    fn new(names: &[String], types: &[PgType]) -> Decoder {
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

    fn fresh(&self) -> Vec<Values> {
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
    fn feed(&mut self, chunk: &[u8]) -> std::result::Result<(), String> {
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
    fn row_end(&self, at: usize) -> Option<usize> {
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
    fn take(&mut self) -> PolarsResult<DataFrame> {
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
fn push(column: &mut Values, t: PgType, value: Option<&[u8]>) -> std::result::Result<(), String> {
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
fn numeric_parts(v: &[u8]) -> std::result::Result<Option<(Vec<i64>, i64, bool)>, String> {
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

fn numeric_f64(v: &[u8]) -> std::result::Result<f64, String> {
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
fn numeric_i128(v: &[u8], scale: usize) -> std::result::Result<Option<i128>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(value: i128, scale: u16) -> Vec<u8> {
        let mut b = BytesMut::new();
        put_numeric(&mut b, value, scale);
        b[4..].to_vec()
    }

    #[test]
    fn numerics_encode_as_postgres_does_and_decode_back() {
        // 12345.678 = digits [1, 2345, 6780], weight 1, dscale 3 (Postgres' own encoding).
        let b = numeric(12_345_678, 3);
        assert_eq!(b, [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]);
        for (v, s) in
            [(0i128, 2u16), (-5, 0), (1, 6), (-100_000_000, 4), (99_999_999_999, 2), (i128::MAX / 7, 10)]
        {
            let b = numeric(v, s);
            assert_eq!(numeric_i128(&b, s as usize).unwrap(), Some(v), "{v} scale {s}");
        }
        assert_eq!(numeric_f64(&numeric(-12_345, 2)).unwrap(), -123.45);
    }

    #[test]
    fn urls_split_our_parameters_and_pgpass_matches() {
        let (url, ours) =
            split_params("postgres://me@h/db?table=t&connect_timeout=5&key=a,b", &["table", "key"]);
        assert_eq!(url, "postgres://me@h/db?connect_timeout=5");
        assert_eq!(ours, vec![("table".into(), "t".into()), ("key".into(), "a,b".into())]);
        assert_eq!(decode("SELECT+1%2C2"), "SELECT 1,2");
        let t = Target::parse("postgres://me:secret@127.0.0.1:5433/shop?table=s.orders&mode=upsert&key=id")
            .unwrap();
        assert_eq!(t.url(), "postgres://me@127.0.0.1:5433/shop?table=s.orders");
        assert_eq!(quote_table(&t.table), "\"s\".\"orders\"");
        assert!(Target::parse("postgres://me@h/db?table=t&mode=upsert").is_err());
        assert!(Target::parse("postgres://me@h/db").is_err());
    }
}
