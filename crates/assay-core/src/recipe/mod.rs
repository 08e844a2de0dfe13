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
    /// A local path, glob, directory or `s3://bucket/prefix/*.parquet`.
    pub path: String,
    /// csv, tsv, parquet, ndjson or ipc (default: sniffed from the name and content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvOptions>,
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

/// `${NAME}` replaced by `lookup(NAME)`; `$${` is a literal `${`. An unset variable is
/// an error at its position.
fn substitute(text: &str, origin: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let offset = text.len() - rest.len() + i;
        let Some(end) = after.find('}') else {
            let (line, col) = line_col(text, offset);
            return Err(Error::invalid(format!("{origin}:{line}:{col}: `${{` without a closing `}}`")));
        };
        let name = &after[..end];
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => {
                let (line, col) = line_col(text, offset);
                return Err(Error::invalid(format!(
                    "{origin}:{line}:{col}: ${{{name}}} is not set (set it in the environment or with --set {name}=VALUE)"
                )));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The recipe with `--set` overrides applied to the parsed tree.
fn apply_sets(text: &str, yaml: bool, sets: &[(String, String)]) -> Result<Recipe> {
    let mut tree: serde_json::Value = if yaml {
        serde_norway::from_str(text).map_err(|e| Error::invalid(format!("recipe: {e}")))?
    } else {
        toml::from_str(text).map_err(|e| Error::invalid(format!("recipe: {}", e.message())))?
    };
    for (key, raw) in sets {
        let value: serde_json::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|t| t.get("v").cloned())
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or_else(|| serde_json::Value::String(raw.clone()));
        let mut node = &mut tree;
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            node = match node {
                serde_json::Value::Object(map) => {
                    if last {
                        map.insert(part.to_string(), value.clone());
                        break;
                    }
                    map.entry(part.to_string())
                        .or_insert_with(|| serde_json::Value::Object(Default::default()))
                }
                serde_json::Value::Array(items) => {
                    let index: usize = part.parse().map_err(|_| {
                        Error::invalid(format!("--set {key}: `{part}` is not a position in a list (0, 1, …)"))
                    })?;
                    let len = items.len();
                    let slot = items.get_mut(index).ok_or_else(|| {
                        Error::invalid(format!("--set {key}: there is no item {index} (the list has {len})"))
                    })?;
                    if last {
                        *slot = value.clone();
                        break;
                    }
                    slot
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "--set {key}: `{part}` is inside a value, not a table"
                    )))
                }
            };
        }
    }
    serde_json::from_value(tree).map_err(|e| {
        let keys: Vec<&str> = sets.iter().map(|(k, _)| k.as_str()).collect();
        Error::invalid(format!("--set {}: {e}", keys.join(", ")))
    })
}

/// Where things are in the recipe text, for errors found after parsing.
struct Locator<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Locator<'_> {
    fn at(&self, offset: Option<usize>) -> String {
        let (line, col) = offset.map(|o| line_col(self.text, o)).unwrap_or((1, 1));
        format!("{}:{line}:{col}", self.origin)
    }

    /// The start of the `n`th (0-based) entry of the list `key` (`[[key]]` in TOML, a
    /// `- ` item in YAML).
    fn item(&self, key: &str, n: usize) -> Option<usize> {
        let header = format!("[[{key}]]");
        let toml: Vec<usize> = self.text.match_indices(&header).map(|(i, _)| i).collect();
        if !toml.is_empty() {
            return toml.get(n).copied();
        }
        let start = self.text.find(&format!("{key}:"))?;
        let mut lines = self.text[start..].split_inclusive('\n');
        let mut offset = start + lines.next().map(|l| l.len()).unwrap_or(0);
        let mut items = Vec::new();
        let mut indent: Option<usize> = None;
        for line in lines {
            let trimmed = line.trim_start();
            let depth = line.len() - trimmed.len();
            if !trimmed.trim().is_empty() && !trimmed.starts_with('#') {
                if trimmed.starts_with("- ") && indent.is_none_or(|d| d == depth) {
                    indent = Some(depth);
                    items.push(offset + depth);
                } else if indent.map_or(depth == 0, |d| depth <= d) {
                    break;
                }
            }
            offset += line.len();
        }
        items.get(n).copied()
    }

    /// The value `value` of `key` inside the `n`th entry of list `list` (falls back to
    /// the entry).
    fn value_in(&self, list: &str, n: usize, key: &str, value: &str) -> String {
        let start = self.item(list, n);
        let end = self.item(list, n + 1).unwrap_or(self.text.len());
        let found = start.and_then(|s| {
            let region = &self.text[s..end.max(s)];
            let pattern = format!(r#"(?m)\b{}\s*[=:]\s*["']?{}"#, regex::escape(key), regex::escape(value));
            let re = regex::Regex::new(&pattern).ok()?;
            re.find(region).map(|m| s + m.end() - value.len())
        });
        self.at(found.or(start))
    }
}

/// Checks what serde cannot: one kind per step, names, inputs, sources, outputs, SQL
/// that parses, check arguments. Returns the steps lowered.
fn validate(recipe: &Recipe, text: &str, origin: &str) -> Result<Vec<Planned>> {
    let loc = Locator { text, origin };
    if recipe.sources.is_empty() {
        return Err(Error::invalid(format!("{origin}: no [sources]: a recipe needs at least one input")));
    }
    for (name, source) in &recipe.sources {
        if name == transform::INPUT {
            return Err(Error::invalid(format!(
                "{}: a source cannot be named `input` (in an sql step, `input` is the previous step)",
                loc.value_in("sources", 0, "path", &source.path)
            )));
        }
    }
    let mut planned = Vec::new();
    let mut named: Vec<String> = Vec::new();
    let mut later: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, entry) in recipe.steps.iter().enumerate() {
        if let Some(n) = &entry.name {
            later.insert(n.clone(), i);
        }
    }
    for (i, entry) in recipe.steps.iter().enumerate() {
        let at = loc.at(loc.item("steps", i));
        let step = entry.lower().map_err(|m| Error::invalid(format!("{at}: step {}: {m}", i + 1)))?;
        if let Some(n) = &entry.name {
            if recipe.sources.contains_key(n) || named.contains(n) || n == transform::INPUT {
                return Err(Error::invalid(format!(
                    "{}: step {}: the name `{n}` is already taken (by a source or an earlier step)",
                    loc.value_in("steps", i, "name", n),
                    i + 1
                )));
            }
        }
        let known = |t: &str| recipe.sources.contains_key(t) || named.iter().any(|n| n == t);
        let reach = |t: &str, key: &str, value: &str| -> Result<()> {
            if known(t) {
                return Ok(());
            }
            let at = loc.value_in("steps", i, key, value);
            Err(match later.get(t) {
                Some(&j) if j == i => Error::invalid(format!(
                    "{at}: step {}: `{key} = \"{t}\"` is the step itself (a cycle)",
                    i + 1
                )),
                Some(&j) => {
                    // Follow the later step's inputs: back to this one is a cycle.
                    let mut chain = vec![t.to_string()];
                    let mut k = j;
                    let mut cycle = false;
                    while let Some(next) = recipe.steps[k].input.clone() {
                        if Some(&next) == entry.name.as_ref() {
                            cycle = true;
                            chain.push(next);
                            break;
                        }
                        match later.get(&next) {
                            Some(&m) if m > i && !chain.contains(&next) => {
                                chain.push(next);
                                k = m;
                            }
                            _ => break,
                        }
                    }
                    if cycle {
                        Error::invalid(format!(
                            "{at}: step {}: inputs form a cycle: {} -> {}",
                            i + 1,
                            entry.name.clone().unwrap_or_default(),
                            chain.join(" -> ")
                        ))
                    } else {
                        Error::invalid(format!(
                            "{at}: step {}: `{t}` is step {}, which comes later (steps read earlier steps)",
                            i + 1,
                            j + 1
                        ))
                    }
                }
                None => {
                    let mut tables: Vec<String> = recipe.sources.keys().cloned().collect();
                    tables.extend(named.iter().cloned());
                    Error::invalid(format!(
                        "{at}: step {}: no source or named step `{t}` (known: {})",
                        i + 1,
                        tables.join(", ")
                    ))
                }
            })
        };
        if let Some(t) = &entry.input {
            reach(t, "input", t)?;
        }
        if let Step::Join(j) = &step {
            reach(&j.table, "source", &j.table)?;
        }
        if let Step::Sql { query, .. } = &step {
            let statement = crate::sql::parse(query).map_err(|e| {
                Error::invalid(format!("{}: step {}: {}", loc.value_in("steps", i, "sql", ""), i + 1, e))
            })?;
            if !crate::sql::is_read_only(&statement) {
                return Err(Error::invalid(format!(
                    "{at}: step {}: an sql step must be a query (it writes)",
                    i + 1
                )));
            }
            let mut tables: Vec<String> = recipe.sources.keys().cloned().collect();
            tables.extend(named.iter().cloned());
            tables.push(transform::INPUT.to_string());
            crate::sql::check_tables(query, &statement, &tables)
                .map_err(|e| Error::invalid(format!("{at}: step {}: {}", i + 1, e)))?;
        }
        if let Step::Filter { sql } = &step {
            transform::check_expression(sql).map_err(|e| {
                Error::invalid(format!("{}: step {}: {}", loc.value_in("steps", i, "filter", ""), i + 1, e))
            })?;
        }
        if let Step::Derive { columns } = &step {
            for (name, sql) in columns {
                transform::check_expression(sql).map_err(|e| {
                    Error::invalid(format!(
                        "{}: step {}, `{name}`: {}",
                        loc.value_in("steps", i, name, ""),
                        i + 1,
                        e
                    ))
                })?;
            }
        }
        if let Some(n) = &entry.name {
            named.push(n.clone());
        }
        planned.push(Planned {
            step,
            name: entry.name.clone(),
            input: entry.input.clone().map(Input::Table).unwrap_or(Input::Previous),
            enabled: entry.enabled.unwrap_or(true),
            at,
        });
    }
    let rules = crate::quality::Rules {
        key: recipe.key.clone(),
        samples: recipe.samples,
        checks: recipe.checks.clone(),
    };
    rules.validate(origin)?;
    rules.unique_ids(origin)?;
    for (name, output) in &recipe.outputs {
        let at = loc.at(text.find(&format!("[outputs.{name}]")).or_else(|| text.find(&format!("{name}:"))));
        let targets = [&output.path, &output.sqlite, &output.postgres].iter().filter(|t| t.is_some()).count();
        if targets != 1 {
            return Err(Error::invalid(format!(
                "{at}: output `{name}`: give exactly one of `path`, `sqlite` or `postgres`"
            )));
        }
        if let Some(path) = &output.path {
            let format =
                crate::sink::format_of(path, output.format.as_deref(), !output.partition_by.is_empty())
                    .map_err(|e| Error::invalid(format!("{at}: output `{name}`: {}", e)))?;
            if !output.partition_by.is_empty() && crate::source::Place::of(path).is_s3() {
                return Err(Error::invalid(format!(
                    "{at}: output `{name}`: partitioned output goes to a local folder"
                )));
            }
            output
                .write_options()
                .check(format)
                .map_err(|e| Error::invalid(format!("{at}: output `{name}`: {}", e)))?;
            if output.table.is_some() || output.mode.is_some() || !output.key.is_empty() {
                return Err(Error::invalid(format!(
                    "{at}: output `{name}`: `table`, `mode` and `key` are for database outputs"
                )));
            }
        } else if output.csv.is_some() || output.parquet.is_some() || !output.partition_by.is_empty() {
            return Err(Error::invalid(format!(
                "{at}: output `{name}`: `csv`, `parquet` and `partition_by` are for file outputs"
            )));
        } else if output.table.is_none() {
            return Err(Error::invalid(format!("{at}: output `{name}`: a database output needs `table`")));
        }
        if output.mode == Some(LoadMode::Upsert) && output.key.is_empty() {
            return Err(Error::invalid(format!("{at}: output `{name}`: mode = \"upsert\" needs `key`")));
        }
    }
    Ok(planned)
}

impl StepEntry {
    /// The one step this entry holds.
    fn lower(&self) -> std::result::Result<Step, String> {
        let mut steps = Vec::new();
        if let Some(sql) = &self.filter {
            steps.push(Step::Filter { sql: sql.trim().to_string() });
        }
        if let Some(columns) = &self.select {
            steps.push(Step::Select { columns: columns.clone() });
        }
        if let Some(columns) = &self.drop {
            steps.push(Step::Drop { columns: columns.clone() });
        }
        if let Some(m) = &self.rename {
            steps.push(Step::Rename { columns: m.iter().map(|(a, b)| (a.clone(), b.clone())).collect() });
        }
        if let Some(m) = &self.cast {
            steps.push(Step::Cast { columns: m.iter().map(|(a, b)| (a.clone(), *b)).collect() });
        }
        if let Some(m) = &self.derive {
            steps.push(Step::Derive { columns: m.iter().map(|(a, b)| (a.clone(), b.clone())).collect() });
        }
        if let Some(m) = &self.fill_null {
            steps.push(Step::FillNull { columns: m.iter().map(|(a, b)| (a.clone(), b.clone())).collect() });
        }
        if let Some(keys) = &self.sort {
            if keys.is_empty() {
                return Err("sort: give at least one column".into());
            }
            steps.push(Step::Sort { keys: keys.iter().map(SortSpec::key).collect() });
        }
        if let Some(d) = &self.dedupe {
            steps.push(Step::Dedupe {
                columns: d.columns.clone(),
                keep: d.keep,
                order_by: d.order_by.iter().map(SortSpec::key).collect(),
            });
        }
        if let Some(j) = &self.join {
            let (left_on, right_on) = match (j.on.is_empty(), j.left_on.is_empty(), j.right_on.is_empty()) {
                (false, true, true) => (j.on.clone(), j.on.clone()),
                (true, false, false) if j.left_on.len() == j.right_on.len() => {
                    (j.left_on.clone(), j.right_on.clone())
                }
                (true, false, false) => return Err("join: `left_on` and `right_on` differ in length".into()),
                _ => return Err("join: give `on`, or `left_on` and `right_on`".into()),
            };
            steps.push(Step::Join(Join {
                table: j.source.clone(),
                left_on,
                right_on,
                how: j.how,
                suffix: j.suffix.clone().unwrap_or_else(|| "_right".into()),
            }));
        }
        if let Some(query) = &self.sql {
            steps.push(Step::Sql { query: query.clone(), engine: self.engine });
        } else if self.engine.is_some() {
            return Err("`engine` is for sql steps".into());
        }
        if let Some(rows) = self.limit {
            steps.push(Step::Limit { rows });
        }
        match steps.len() {
            1 => Ok(steps.remove(0)),
            0 => Err("no step key (filter, select, drop, rename, cast, derive, fill_null, sort, dedupe, join, sql, limit)"
                .into()),
            _ => Err(format!(
                "one step per [[steps]] entry; this one has {}",
                steps.iter().map(|s| s.kind()).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The entry that records `step` (for saving what the workbench did).
    pub fn from_step(step: &Step) -> StepEntry {
        let mut e = StepEntry::default();
        match step {
            Step::Disabled(inner) => {
                e = StepEntry::from_step(inner);
                e.enabled = Some(false);
            }
            Step::Filter { sql } => e.filter = Some(sql.clone()),
            Step::Sort { keys } => e.sort = Some(keys.iter().map(SortSpec::from_key).collect()),
            Step::Select { columns } => e.select = Some(columns.clone()),
            Step::Drop { columns } => e.drop = Some(columns.clone()),
            Step::Rename { columns } => e.rename = Some(columns.iter().cloned().collect()),
            Step::Cast { columns } => e.cast = Some(columns.iter().cloned().collect()),
            Step::Derive { columns } => e.derive = Some(columns.iter().cloned().collect()),
            Step::FillNull { columns } => e.fill_null = Some(columns.iter().cloned().collect()),
            Step::Dedupe { columns, keep, order_by } => {
                e.dedupe = Some(DedupeSpec {
                    columns: columns.clone(),
                    keep: *keep,
                    order_by: order_by.iter().map(SortSpec::from_key).collect(),
                })
            }
            Step::Join(j) => {
                let same = j.left_on == j.right_on;
                e.join = Some(JoinSpec {
                    source: j.table.clone(),
                    on: if same { j.left_on.clone() } else { Vec::new() },
                    left_on: if same { Vec::new() } else { j.left_on.clone() },
                    right_on: if same { Vec::new() } else { j.right_on.clone() },
                    how: j.how,
                    suffix: (j.suffix != "_right").then(|| j.suffix.clone()),
                })
            }
            Step::Sql { query, engine } => {
                e.sql = Some(query.clone());
                e.engine = *engine;
            }
            Step::Limit { rows } => e.limit = Some(*rows),
        }
        e
    }
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
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "orders-daily"

[sources.orders]
path = "orders.csv"

[sources.customers]
path = "customers.csv"

[[steps]]
filter = "status <> 'cancelled'"

[[steps]]
derive = { total = "amount * 2" }
name = "priced"

[[steps]]
sql = "SELECT o.*, c.segment FROM input o LEFT JOIN customers c USING (customer_id)"
engine = "datafusion"

[[checks]]
not_null = { column = "order_id" }

[outputs.valid]
path = "out/orders.parquet"

[outputs.quarantine]
path = "out/bad.parquet"
"#;

    fn error(text: &str) -> String {
        parse(text, "r.toml", &[]).unwrap_err().to_string()
    }

    #[test]
    fn a_recipe_loads_with_its_steps_lowered() {
        let r = parse(GOOD, "r.toml", &[]).unwrap();
        assert_eq!(r.name(), "orders-daily");
        assert_eq!(r.main_source(), "orders");
        assert_eq!(r.steps.len(), 3);
        assert_eq!(r.steps[1].name.as_deref(), Some("priced"));
        assert!(matches!(&r.steps[2].step, Step::Sql { engine: Some(EngineKind::DataFusion), .. }));
        assert_eq!(r.recipe.outputs["quarantine"].rows("quarantine"), Rows::Quarantine);
        assert_eq!(r.steps[2].at, "r.toml:17:1");
        // Written back, it reads the same.
        let again = parse(&r.recipe.to_toml().unwrap(), "r.toml", &[]).unwrap();
        assert_eq!(again.recipe, r.recipe);
    }

    #[test]
    fn malformed_recipes_are_positioned() {
        let e = error(&GOOD.replace("filter = \"status", "filtre = \"status"));
        assert!(e.starts_with("r.toml:11:1: unknown field `filtre`"), "{e}");
        let e = error(&GOOD.replace("path = \"orders.csv\"", "path = 3"));
        assert!(e.starts_with("r.toml:5:8: invalid type"), "{e}");
        let e = error(&GOOD.replace("engine = \"datafusion\"", "input = \"nowhere\""));
        assert!(e.starts_with("r.toml:19:10: step 3: no source or named step `nowhere`"), "{e}");
        let e =
            error(&GOOD.replace("filter = \"status <> 'cancelled'\"", "filter = \"x\"\ninput = \"priced\""));
        assert!(e.contains("r.toml:12:10: step 1: `priced` is step 2, which comes later"), "{e}");
        let cyclic = GOOD
            .replace("filter = \"status <> 'cancelled'\"", "filter = \"x\"\nname = \"a\"\ninput = \"priced\"")
            .replace("name = \"priced\"", "name = \"priced\"\ninput = \"a\"");
        let e = error(&cyclic);
        assert!(e.contains("r.toml:13:10: step 1: inputs form a cycle: a -> priced -> a"), "{e}");
        let e = error(&GOOD.replace(
            "derive = { total = \"amount * 2\" }",
            "derive = { total = \"amount * 2\" }\nlimit = 3",
        ));
        assert!(
            e.contains("r.toml:13:1: step 2: one step per [[steps]] entry; this one has derive, limit"),
            "{e}"
        );
        let e = error(&GOOD.replace("FROM input o", "FROM inptu o"));
        assert!(e.contains("r.toml:17:1: step 3:") && e.contains("inptu"), "{e}");
        let e = error(&GOOD.replace("path = \"out/bad.parquet\"", "sqlite = \"x.db\""));
        assert!(e.contains("output `quarantine`: a database output needs `table`"), "{e}");
        let e = error(&GOOD.replace("not_null = { column", "not_null = { colum"));
        assert!(e.starts_with("r.toml:22:"), "{e}");
    }

    #[test]
    fn variables_and_sets_override_values() {
        let text = GOOD.replace("orders.csv", "${DAY}/orders.csv");
        let e = parse(&text, "r.toml", &[]).unwrap_err().to_string();
        assert!(e.starts_with("r.toml:5:9: ${DAY} is not set"), "{e}");
        let sets = vec![
            ("DAY".to_string(), "2024-06-01".to_string()),
            ("sources.customers.path".to_string(), "other.parquet".to_string()),
            ("steps.0.filter".to_string(), "amount > 5".to_string()),
            ("samples".to_string(), "7".to_string()),
        ];
        let r = parse(&text, "r.toml", &sets).unwrap();
        assert_eq!(r.recipe.sources["orders"].path, "2024-06-01/orders.csv");
        assert_eq!(r.recipe.sources["customers"].path, "other.parquet");
        assert_eq!(r.steps[0].step, Step::Filter { sql: "amount > 5".into() });
        assert_eq!(r.recipe.samples, Some(7));
        let e = parse(GOOD, "r.toml", &[("steps.9.filter".into(), "x".into())]).unwrap_err().to_string();
        assert!(e.contains("--set steps.9.filter: there is no item 9"), "{e}");
        let e =
            parse(GOOD, "r.toml", &[("outputs.valid.colour".into(), "red".into())]).unwrap_err().to_string();
        assert!(e.contains("--set outputs.valid.colour: unknown field `colour`"), "{e}");
        assert_eq!(substitute("a $${X} b", "r", &|_| None).unwrap(), "a ${X} b");
    }

    #[test]
    fn yaml_recipes_share_the_model() {
        let yaml = r#"
name: orders-daily
sources:
  orders:
    path: orders.csv
steps:
  - filter: "amount > 1"
  - sort: [{ column: amount, descending: true }, order_id]
  - cast: { amount: float64 }
    input: nowhere
checks:
  - not_null: { column: order_id }
"#;
        let e = parse(yaml, "r.yaml", &[]).unwrap_err().to_string();
        assert!(e.starts_with("r.yaml:10:12: step 3: no source or named step `nowhere`"), "{e}");
        let r = parse(&yaml.replace("    input: nowhere\n", ""), "r.yaml", &[]).unwrap();
        assert_eq!(
            r.steps[1].step,
            Step::Sort {
                keys: vec![
                    SortKey { column: "amount".into(), descending: true },
                    SortKey { column: "order_id".into(), descending: false }
                ]
            }
        );
        assert_eq!(r.recipe.checks.len(), 1);
        let e = parse(&yaml.replace("filter:", "filtre:"), "r.yaml", &[]).unwrap_err().to_string();
        assert!(
            e.starts_with("r.yaml:7:5: steps[0]: unknown field `filtre`") || e.starts_with("r.yaml:7:"),
            "{e}"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://me:secret@db/x"), "postgres://me:***@db/x");
        assert_eq!(redact("postgres://me@db/x"), "postgres://me@db/x");
    }
}
