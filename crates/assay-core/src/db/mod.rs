//! Two-way database connectors: SQLite and Postgres tables read as datasets and loaded
//! as outputs (one transaction per database), and the export plan that sends a result
//! to a file (through `sink`) or to a table.

pub mod pg_tls;
pub mod postgres;
pub mod sqlite;

use std::path::Path;

use polars::prelude::LazyFrame;

use crate::sink::{check_overwrite, format_of, s3, WriteOptions};
use crate::source::Format;

crate::layer_error! {
    /// What the database room says about a SQLite or Postgres table.
    pub enum Error {
        /// A table, URL, mode or schema the database cannot take as given: exit 2.
        Refused(refused) = 2,
        /// The database failed underway (a lost connection, a failed COPY, a full disk):
        /// exit 3.
        Server(server) = 3,
        ;
        Sink(crate::sink::Error),
        Engine(crate::engine::Error),
        Source(crate::source::Error),
        Sql(crate::sql::Error),
        Ground(crate::error::Error),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a table output treats an existing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadMode {
    Replace,
    Append,
    Upsert,
}

impl LoadMode {
    /// Reads a URL's `mode=` value.
    pub fn parse(v: &str) -> Result<LoadMode> {
        match v {
            "replace" => Ok(LoadMode::Replace),
            "append" => Ok(LoadMode::Append),
            "upsert" => Ok(LoadMode::Upsert),
            _ => Err(Error::refused(format!("mode `{v}` (expected replace, append or upsert)"))),
        }
    }
}

/// Where an export goes, checked before any work: a file (local, `s3://`, or a
/// partitioned folder) or a database table. `assay export` and the workbench's export
/// dialog both make one and hand it to `Workspace::export_plan`.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportPlan {
    File { path: String, format: Format, write: WriteOptions },
    Table(Load),
}

impl ExportPlan {
    /// Reads `dest` (a path, `s3://`, `sqlite://` or `postgres://` URL) with the format
    /// named (else the extension's) and the writer options.
    pub fn parse(dest: &str, format: Option<&str>, write: WriteOptions) -> Result<ExportPlan> {
        if let Some(load) = Load::parse(dest)? {
            return Ok(ExportPlan::Table(load));
        }
        let format = format_of(dest, format, !write.partition_by.is_empty())?;
        if !write.partition_by.is_empty() && crate::source::Place::of(dest).is_s3() {
            return Err(Error::refused(format!("{dest}: partitioned output goes to a local folder")));
        }
        write.check(format)?;
        Ok(ExportPlan::File { path: dest.to_string(), format, write })
    }

    /// The local file this writes (the database file for SQLite; none for a server or
    /// an S3 object), beside which a run's manifest goes.
    pub fn local_path(&self) -> Option<&str> {
        match self {
            ExportPlan::File { path, .. } if crate::source::Place::of(path).is_s3() => None,
            ExportPlan::File { path, .. } => Some(path),
            ExportPlan::Table(Load::Sqlite(t)) => Some(&t.db),
            ExportPlan::Table(Load::Postgres(_)) => None,
        }
    }

    /// The destination for people (no password).
    pub fn destination(&self) -> String {
        match self {
            ExportPlan::File { path, .. } => path.clone(),
            ExportPlan::Table(load) => load.url(),
        }
    }

    /// Whether the export would replace something (a file, an object, or a table in
    /// replace mode); an error when the destination is one of `inputs`.
    pub async fn exists(&self, inputs: &[String], s3_endpoint: Option<&str>) -> Result<bool> {
        match self {
            ExportPlan::File { path, .. } if crate::source::Place::of(path).is_s3() => {
                let config = crate::source::s3::S3Config::resolve(s3_endpoint)?;
                s3::check_overwrite(&config, path, inputs, true).await?;
                Ok(s3::exists(&config, path).await?)
            }
            ExportPlan::File { path, .. } => {
                check_overwrite(path, inputs, true)?;
                Ok(Path::new(path).exists())
            }
            ExportPlan::Table(load) => {
                if let Load::Sqlite(t) = load {
                    check_overwrite(&t.db, inputs, true)?;
                }
                if load.mode() != LoadMode::Replace {
                    return Ok(false);
                }
                let load = load.clone();
                tokio::task::spawn_blocking(move || Sessions::default().table_exists(&load))
                    .await
                    .map_err(|e| Error::server(e.to_string()))?
            }
        }
    }
}

/// A database table a load goes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    Sqlite(sqlite::Target),
    Postgres(Box<postgres::Target>),
}

impl Load {
    /// A `sqlite://` or `postgres://` destination; `None` for anything else (a file).
    pub fn parse(url: &str) -> Result<Option<Load>> {
        match crate::source::Place::of(url) {
            crate::source::Place::Sqlite(url) => sqlite::Target::parse(url).map(|t| Some(Load::Sqlite(t))),
            crate::source::Place::Postgres(url) => {
                postgres::Target::parse(url).map(|t| Some(Load::Postgres(Box::new(t))))
            }
            _ => Ok(None),
        }
    }

    /// The table's URL, for people (no password).
    pub fn url(&self) -> String {
        match self {
            Load::Sqlite(t) => t.url(),
            Load::Postgres(t) => t.url(),
        }
    }

    /// `sqlite` or `postgres` (a manifest's format).
    pub fn kind(&self) -> &'static str {
        match self {
            Load::Sqlite(_) => "sqlite",
            Load::Postgres(_) => "postgres",
        }
    }

    pub fn mode(&self) -> LoadMode {
        match self {
            Load::Sqlite(t) => t.mode,
            Load::Postgres(t) => t.mode,
        }
    }
}

/// The open transactions of a run, one per database: every load of the run goes into
/// its database's, and `commit` publishes them (after every file is whole); dropped
/// unpublished, each rolls back.
#[derive(Default)]
pub struct Sessions {
    sqlite: Vec<sqlite::Session>,
    postgres: Vec<postgres::Session>,
}

impl Sessions {
    fn postgres(&mut self, t: &postgres::Target) -> Result<&mut postgres::Session> {
        let at = match self.postgres.iter().position(|s| s.server == t.server) {
            Some(i) => i,
            None => {
                self.postgres.push(postgres::Session::begin(t)?);
                self.postgres.len() - 1
            }
        };
        Ok(&mut self.postgres[at])
    }

    fn sqlite(&mut self, t: &sqlite::Target) -> Result<&mut sqlite::Session> {
        let at = match self.sqlite.iter().position(|s| s.db == t.db) {
            Some(i) => i,
            None => {
                self.sqlite.push(sqlite::Session::begin(&t.db)?);
                self.sqlite.len() - 1
            }
        };
        Ok(&mut self.sqlite[at])
    }

    /// Whether the load's table exists (seen from inside its transaction).
    pub fn table_exists(&mut self, load: &Load) -> Result<bool> {
        match load {
            Load::Sqlite(t) => sqlite::table_exists(&t.db, &t.table),
            Load::Postgres(t) => self.postgres(t)?.table_exists(&t.table),
        }
    }

    /// Streams `lf` into the load's table inside its database's transaction (call from
    /// a blocking thread); returns the rows loaded.
    pub fn load(&mut self, lf: LazyFrame, load: &Load) -> Result<u64> {
        match load {
            Load::Sqlite(t) => self.sqlite(t)?.load(lf, t),
            Load::Postgres(t) => self.postgres(t)?.load(lf, t),
        }
    }

    /// Commits every transaction (call from a blocking thread).
    pub fn commit(self) -> Result<()> {
        for s in self.postgres {
            s.commit()?;
        }
        for s in self.sqlite {
            s.commit()?;
        }
        Ok(())
    }
}
