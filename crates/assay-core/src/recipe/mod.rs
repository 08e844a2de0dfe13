//! The saved pipeline (docs/recipes.md): sources, steps, checks and outputs as a
//! serde model read from TOML (canonical) or YAML, with every error positioned (file,
//! line, column) before any data is read; `${VAR}` from the environment and `--set`
//! overrides. The runner and its manifest are one floor up, in `app::run`.
//!
//! A step is a table with one step key (`filter = "…"`, `join = {…}`) and optional
//! `name`, `input`, `engine`, `enabled` and `description`. Steps run in order, each on
//! the previous one's rows, unless `input` names a source or an earlier named step; a
//! named step is also a table for later `sql` and `join` steps.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use crate::db::LoadMode;
use crate::engine::EngineKind;

use crate::quality::rules::{from_toml, from_yaml, line_col, Check};
pub use crate::source::redact;
use crate::transform::{self, ColumnType, How, Join, Keep, SortKey, Step, Value};

mod entry;
mod load;

use load::*;

crate::layer_error! {
    /// What the recipe room says about a recipe file.
    pub enum Error {
        /// A recipe that cannot run as written: exit 2.
        Invalid(invalid) = 2,
        /// Reading a recipe failed while running: exit 3.
        Failed(failed) = 3,
        ;
        Quality(crate::quality::Error),
        Transform(crate::transform::Error),
        Db(crate::db::Error),
        Sink(crate::sink::Error),
        Engine(crate::engine::Error),
        Sql(crate::sql::Error),
        Source(crate::source::Error),
        Ground(crate::error::Error),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A recipe file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "assay recipe", description = "A saved assay pipeline: sources, steps, checks, outputs")]
pub struct Recipe {
    /// The recipe's name (default: the file's stem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The engine that runs the steps and checks (default polars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineKind>,
    /// The inputs by table name; the first is what the steps start from.
    pub sources: IndexMap<String, Source>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepEntry>,
    /// Columns that identify a row, shown with every failing-row sample.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key: Vec<String>,
    /// Failing rows sampled per check (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Where the rows go, by name. `quarantine` (or `rows = "quarantine"`) receives the
    /// rows failing a row-level check; the others the valid rows.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, Output>,
    /// Where the run manifest is written (default: beside the first file output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

/// An input.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// A local path, glob, directory, workbook (`.xlsx`, `.xls`, `.ods`, …) or
    /// `s3://bucket/prefix/*.parquet`.
    pub path: String,
    /// csv, tsv, parquet, ndjson or ipc (default: sniffed from the name and content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvOptions>,
    /// The sheet of a workbook (.xlsx, .xlsm, .xlsb, .xls, .ods; default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
}

/// How a delimited text source is read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// One character (`"\t"` for tab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_header: Option<bool>,
    /// Values read as null (besides the empty field, always null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_values: Option<Vec<String>>,
    /// Numbers are written with a decimal comma (`1,50`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal_comma: Option<bool>,
    /// The quote character, or `"none"` for files that never quote (default: sniffed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
}

/// One `[[steps]]` entry: exactly one step key, and the common fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepEntry {
    /// Keep the rows where this SQL boolean expression holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Keep these columns, in this order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Vec<String>>,
    /// Remove these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<Vec<String>>,
    /// Rename columns: `{ old = "new" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename: Option<IndexMap<String, String>>,
    /// Convert columns: `{ amount = "float64" }`; values that do not convert become null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cast: Option<IndexMap<String, ColumnType>>,
    /// Add or replace columns from SQL expressions, in order: `{ total = "price * quantity" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derive: Option<IndexMap<String, String>>,
    /// Replace nulls: `{ country = "unknown", amount = 0 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_null: Option<IndexMap<String, Value>>,
    /// Order the rows (nulls last): column names, or `{ column, descending }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Vec<SortSpec>>,
    /// Keep one row per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe: Option<DedupeSpec>,
    /// Join with a source or a named step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<JoinSpec>,
    /// A query over `input` (this step's input), the sources and the named steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// Keep the first N rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// The engine an `sql` step's query is written for (default: the recipe's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineKind>,
    /// Names this step's rows, as a table for later steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The source or named step this step reads (default: the previous step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// `false` skips the step (kept in the file, shown in the workbench).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A sort key: a column name (ascending), or a table.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SortSpec {
    Column(String),
    Key {
        column: String,
        #[serde(default)]
        descending: bool,
    },
}

impl SortSpec {
    fn key(&self) -> SortKey {
        match self {
            SortSpec::Column(c) => SortKey { column: c.clone(), descending: false },
            SortSpec::Key { column, descending } => {
                SortKey { column: column.clone(), descending: *descending }
            }
        }
    }

    fn from_key(k: &SortKey) -> SortSpec {
        if k.descending {
            SortSpec::Key { column: k.column.clone(), descending: true }
        } else {
            SortSpec::Column(k.column.clone())
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DedupeSpec {
    /// The key (default: every column).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// first (default), last or none.
    #[serde(default)]
    pub keep: Keep,
    /// The order that decides which row is first; the rows come out in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<SortSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinSpec {
    /// A source or a named step.
    pub source: String,
    /// Key columns with the same name on both sides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub right_on: Vec<String>,
    /// inner (default), left, right, full, semi or anti.
    #[serde(default)]
    pub how: How,
    /// Appended to the other side's column names the left side has (default `_right`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
}

/// Which rows an output receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rows {
    /// Rows passing every row-level check (every row when nothing is quarantined).
    Valid,
    /// Rows failing a row-level check, with the ids of the checks failed.
    Quarantine,
}

/// An output: a file (`path`), or a database table (`sqlite`/`postgres` and `table`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// A file: .parquet, .csv, .tsv, .ndjson or .arrow (replaced atomically).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// csv, tsv, parquet, ndjson or ipc (default: from the extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// A SQLite database file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlite: Option<String>,
    /// A Postgres URL (the password comes from PGPASSWORD or ~/.pgpass, never the recipe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<LoadMode>,
    /// The key of an upsert.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key: Vec<String>,
    /// Which rows (default: `quarantine` for the output named quarantine, else valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Rows>,
    /// CSV writing: `{ delimiter, quote = "necessary|always|non_numeric|never", header }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<crate::sink::CsvWrite>,
    /// Parquet writing: `{ compression, level, row_group_size, statistics }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parquet: Option<crate::sink::ParquetWrite>,
    /// A Hive-style folder tree partitioned by these columns (`path` is then a folder).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_by: Vec<String>,
}

impl Output {
    /// The writer options of a file output.
    pub fn write_options(&self) -> crate::sink::WriteOptions {
        crate::sink::WriteOptions {
            csv: self.csv.clone(),
            parquet: self.parquet.clone(),
            partition_by: self.partition_by.clone(),
        }
    }

    /// Where this output (named `name`) goes, as the export path takes it: a file (or a
    /// partitioned folder, or an S3 object) or a database table. Never one of `inputs`.
    pub fn plan(&self, name: &str, inputs: &[String]) -> Result<crate::db::ExportPlan> {
        use crate::db::{ExportPlan, Load};
        let mode = self.mode.unwrap_or(LoadMode::Replace);
        Ok(match (&self.path, &self.sqlite, &self.postgres) {
            (Some(path), _, _) => {
                let format =
                    crate::sink::format_of(path, self.format.as_deref(), !self.partition_by.is_empty())?;
                if crate::source::Place::of(path).is_s3() {
                    if inputs.contains(path) {
                        return Err(Error::invalid(format!(
                            "{path}: is an input; an output never overwrites its own input"
                        )));
                    }
                } else {
                    crate::sink::check_overwrite(path, inputs, true)?;
                }
                ExportPlan::File { path: path.clone(), format, write: self.write_options() }
            }
            (None, Some(db), _) => {
                crate::sink::check_overwrite(db, inputs, true)?;
                ExportPlan::Table(Load::Sqlite(crate::db::sqlite::Target {
                    db: db.clone(),
                    table: self.table.clone().unwrap_or_default(),
                    mode,
                    key: self.key.clone(),
                }))
            }
            (None, None, Some(url)) => {
                ExportPlan::Table(Load::Postgres(Box::new(crate::db::postgres::Target::new(
                    url,
                    self.table.as_deref().unwrap_or_default(),
                    mode,
                    self.key.clone(),
                )?)))
            }
            (None, None, None) => return Err(Error::invalid(format!("output `{name}` has no destination"))),
        })
    }

    /// Which rows this output (named `name`) receives.
    pub fn rows(&self, name: &str) -> Rows {
        self.rows.unwrap_or(if name == "quarantine" { Rows::Quarantine } else { Rows::Valid })
    }

    /// Where it goes, for people (a database URL without its password).
    pub fn destination(&self) -> String {
        if let Some(p) = &self.path {
            return p.clone();
        }
        let table = self.table.as_deref().unwrap_or("?");
        match (&self.sqlite, &self.postgres) {
            (Some(db), _) => format!("sqlite://{db}?table={table}"),
            (_, Some(url)) => format!("{}?table={table}", redact(url)),
            _ => String::new(),
        }
    }
}

/// Where a step reads from.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The previous enabled step (or the first source for the first step).
    Previous,
    /// A source or a named step.
    Table(String),
}

/// A step ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub step: Step,
    pub name: Option<String>,
    pub input: Input,
    pub enabled: bool,
    /// `file:line:column` of the step, for messages.
    pub at: String,
}

/// A loaded, validated recipe: the model, its steps lowered, where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub recipe: Recipe,
    pub steps: Vec<Planned>,
    /// The file it was read from.
    pub origin: String,
    /// SHA-256 of the file's text followed by the `--set` overrides.
    pub hash: String,
}

impl Loaded {
    /// The recipe's name: `name`, or the file's stem.
    pub fn name(&self) -> String {
        self.recipe.name.clone().unwrap_or_else(|| {
            std::path::Path::new(&self.origin)
                .file_stem()
                .map(|s| s.to_string_lossy().trim_end_matches(".recipe").to_string())
                .unwrap_or_else(|| "recipe".into())
        })
    }

    /// The checks as a rules model.
    pub fn rules(&self) -> crate::quality::Rules {
        crate::quality::Rules {
            key: self.recipe.key.clone(),
            samples: self.recipe.samples,
            checks: self.recipe.checks.clone(),
        }
    }

    /// The first source's name (where the steps start).
    pub fn main_source(&self) -> &str {
        self.recipe.sources.keys().next().map(|s| s.as_str()).unwrap_or("")
    }
}

/// A `--set KEY=VALUE` argument, split.
pub fn parse_set(arg: &str) -> Result<(String, String)> {
    match arg.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(Error::invalid(format!(
            "--set {arg}: expected KEY=VALUE (e.g. sources.orders.path=data.csv)"
        ))),
    }
}

/// Top-level keys of a recipe: a `--set` of any other dotless key defines a `${VAR}`.
const TOP_LEVEL: [&str; 10] =
    ["name", "description", "engine", "sources", "steps", "key", "samples", "checks", "outputs", "manifest"];

/// Reads and validates the recipe at `path` (TOML, or YAML for `.yaml`/`.yml`) with
/// `sets` applied. Nothing is read but the file.
pub fn load(path: &str, sets: &[(String, String)]) -> Result<Loaded> {
    let text = crate::error::read_text(path)?;
    parse(&text, path, sets)
}

/// Parses recipe text from `origin` (its extension says YAML or TOML).
pub fn parse(text: &str, origin: &str, sets: &[(String, String)]) -> Result<Loaded> {
    let yaml = origin.ends_with(".yaml") || origin.ends_with(".yml");
    let (vars, overrides): (Vec<_>, Vec<_>) =
        sets.iter().cloned().partition(|(k, _)| !k.contains('.') && !TOP_LEVEL.contains(&k.as_str()));
    let vars: std::collections::HashMap<String, String> = vars.into_iter().collect();
    let text =
        substitute(text, origin, &|name| vars.get(name).cloned().or_else(|| std::env::var(name).ok()))?;
    // The file as written first: its errors carry positions.
    let mut recipe: Recipe = if yaml { from_yaml(&text, origin)? } else { from_toml(&text, origin)? };
    if !overrides.is_empty() {
        recipe = apply_sets(&text, yaml, &overrides)?;
    }
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut hasher, text.as_bytes());
    for (k, v) in sets {
        sha2::Digest::update(&mut hasher, format!("\n--set {k}={v}").as_bytes());
    }
    let hash = format!("{:x}", sha2::Digest::finalize(hasher));
    let steps = validate(&recipe, &text, origin)?;
    Ok(Loaded { recipe, steps, origin: origin.to_string(), hash })
}

impl Recipe {
    /// The recipe as TOML (what the workbench saves), laid out as people write it: a
    /// table per source and output, one line per step and check.
    pub fn to_toml(&self) -> Result<String> {
        use crate::quality::rules::fields;
        let mut top = toml::Table::new();
        for (k, v) in [("name", &self.name), ("description", &self.description), ("manifest", &self.manifest)]
        {
            if let Some(v) = v {
                top.insert(k.into(), toml::Value::String(v.clone()));
            }
        }
        if let Some(e) = self.engine {
            top.insert("engine".into(), toml::Value::String(e.name().into()));
        }
        if !self.key.is_empty() {
            top.insert("key".into(), toml::Value::from(self.key.clone()));
        }
        if let Some(n) = self.samples {
            top.insert("samples".into(), toml::Value::Integer(n as i64));
        }
        let mut out = fields(&toml::Value::Table(top), "\n").unwrap_or_default() + "\n";
        let section = |out: &mut String, header: String, v: toml::Value| {
            out.push_str(&format!("\n{header}\n{}\n", fields(&v, "\n").unwrap_or_default()));
        };
        for (name, source) in &self.sources {
            section(&mut out, format!("[sources.{}]", crate::quality::rules::key(name)), value(source)?);
        }
        for step in &self.steps {
            section(&mut out, "[[steps]]".into(), value(step)?);
        }
        for check in &self.checks {
            out.push_str(&format!("\n[[checks]]\n{}\n", check.to_toml()));
        }
        for (name, output) in &self.outputs {
            section(&mut out, format!("[outputs.{}]", crate::quality::rules::key(name)), value(output)?);
        }
        Ok(out.trim_start().to_string())
    }
}

/// A part of a recipe as a TOML value.
fn value<T: Serialize>(v: &T) -> Result<toml::Value> {
    toml::Value::try_from(v).map_err(|e| Error::failed(format!("writing the recipe: {e}")))
}

/// The JSON Schema of the recipe format (`assets/recipe.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Recipe);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

/// The recipe output that repeats an export (from the workbench's export dialog), and
/// its name (the file's stem or the table's name).
pub fn output_of(plan: &crate::db::ExportPlan) -> (String, Output) {
    use crate::db::{ExportPlan, Load};
    match plan {
        ExportPlan::File { path, format, write } => {
            let stem = std::path::Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or("output");
            let from_extension =
                crate::source::Format::from_extension(path).map(|f| f.name()) == Some(format.name());
            let output = Output {
                path: Some(path.clone()),
                format: (!from_extension).then(|| format.name().to_string()),
                csv: write.csv.clone(),
                parquet: write.parquet.clone(),
                partition_by: write.partition_by.clone(),
                ..Default::default()
            };
            (stem.to_string(), output)
        }
        ExportPlan::Table(load) => {
            let (table, mode, key) = match load {
                Load::Sqlite(t) => (t.table.clone(), t.mode, t.key.clone()),
                Load::Postgres(t) => (t.table.clone(), t.mode, t.key.clone()),
            };
            let mut output = Output {
                table: Some(table.clone()),
                mode: (mode != LoadMode::Replace).then_some(mode),
                key,
                ..Default::default()
            };
            match load {
                Load::Sqlite(t) => output.sqlite = Some(t.db.clone()),
                Load::Postgres(t) => output.postgres = Some(t.server.clone()),
            }
            (table.rsplit('.').next().unwrap_or(&table).to_string(), output)
        }
    }
}

#[cfg(test)]
mod tests;
