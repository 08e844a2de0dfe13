//! The command line (clap definitions) and the headless commands behind it. Every
//! command writes its result to the given writer and returns an error carrying its
//! exit code; `main.rs` only parses, dispatches and maps errors to exit codes.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::app::Workspace;
use crate::engine::{EngineChoice, EngineKind, Plans};
use crate::generate;
use crate::output::{self, RowFormat};
use crate::source::{Format, OpenOptions};
use crate::{Error, Result};

#[derive(Debug, Parser)]
#[command(
    name = "assay",
    version,
    about = "A terminal workbench for data quality: look at, query, check and load tabular data",
    after_help = "DATA is a path, a glob, a directory or an s3:// URL (CSV, TSV, Parquet, NDJSON, Arrow IPC).\n\
                  Exit codes: 0 success, 1 a check failed, 2 unusable input, 3 runtime failure."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Data to open in the workbench.
    #[arg(value_name = "DATA")]
    pub data: Vec<String>,

    /// A rules file for the first dataset's checks panel (default: `NAME.rules.toml`
    /// beside the data, when there is one).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    #[command(flatten)]
    pub input: InputArgs,
}

/// How inputs are read; shared by every command.
#[derive(Debug, Clone, Args, Default)]
pub struct InputArgs {
    /// S3 endpoint URL, for S3-compatible servers (default: $AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// Read inputs as this format instead of sniffing it (csv, tsv, parquet, ndjson, ipc).
    #[arg(long, global = true, value_name = "FORMAT")]
    pub input_format: Option<String>,
    /// CSV delimiter (one character; `\t` for tab); sniffed when not given.
    #[arg(long, global = true, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// The CSV input has no header row.
    #[arg(long, global = true)]
    pub no_header: bool,
    /// A CSV value read as null, besides the empty field (repeat for several: `--null-value NA
    /// --null-value -`).
    #[arg(long, global = true, value_name = "TEXT")]
    pub null_value: Vec<String>,
    /// CSV numbers are written with a decimal comma (`1,50`; needs another delimiter than
    /// `,`). Read by Polars only: `--engine auto` picks it.
    #[arg(long, global = true)]
    pub decimal_comma: bool,
    /// The CSV quote character (one character), or `none` for files that never quote, where
    /// a `"` is text like any other; sniffed (`"` or `'`) when not given.
    #[arg(long, global = true, value_name = "CHAR|none")]
    pub quote: Option<String>,
    /// The sheet of a workbook (.xlsx, .xlsm, .xlsb, .xls, .ods) to read; the first when
    /// not given (or name it in the path: `BOOK.xlsx?sheet=NAME`).
    #[arg(long, global = true, value_name = "NAME")]
    pub sheet: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Column names and types.
    Schema {
        data: String,
        #[arg(long, value_enum, default_value_t = SchemaFormat::Table)]
        format: SchemaFormat,
    },
    /// The first rows.
    Head {
        data: String,
        #[arg(short = 'n', long = "rows", default_value_t = 10)]
        n: usize,
        #[arg(long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
    },
    /// The number of rows.
    Count {
        data: String,
        #[arg(long, value_enum, default_value_t = CountFormat::Text)]
        format: CountFormat,
    },
    /// Column statistics: nulls, distinct values, extremes, moments, quantiles, top values
    /// and histograms.
    Profile {
        data: String,
        #[arg(long, value_enum, default_value_t = SchemaFormat::Table)]
        format: SchemaFormat,
    },
    /// Run the checks of a rules file over the data, in one scan.
    Check {
        data: String,
        /// The rules file (TOML, `[[checks]]` as in docs/checks.md).
        #[arg(long, value_name = "FILE")]
        rules: String,
        #[arg(long, value_enum, default_value_t = CheckFormatArg::Table)]
        format: CheckFormatArg,
        /// The lowest severity whose failure makes the exit code 1.
        #[arg(long, value_enum, default_value_t = FailOn::Error)]
        fail_on: FailOn,
        /// Write the rows that pass every row-level check here (.parquet, .csv, .ndjson, .arrow).
        #[arg(long, value_name = "OUT", requires = "quarantine")]
        valid: Option<String>,
        /// Write the rows that fail a row-level check here, with the ids of the checks failed.
        #[arg(long, value_name = "BAD", requires = "valid")]
        quarantine: Option<String>,
        /// Replace existing output files.
        #[arg(long)]
        overwrite: bool,
        /// Print how the checks would run (scans and the plan) instead of running them.
        #[arg(long)]
        explain: bool,
        /// Another table a foreign key references: NAME=DATA. Repeatable.
        #[arg(long = "table", short = 't', value_name = "NAME=DATA")]
        tables: Vec<String>,
        /// The engine that measures the checks (both give the same answers).
        #[arg(long, value_enum, default_value_t = EngineArg::Polars)]
        engine: EngineArg,
    },
    /// Propose checks from a profile of the data, printed as a rules file.
    Suggest { data: String },
    /// Write the data to a file (CSV, TSV, Parquet, NDJSON or Arrow IPC) by streaming,
    /// atomically: the destination appears only when whole.
    Export {
        data: String,
        /// The file to write; its extension names the format unless --format does.
        #[arg(long, value_name = "DEST")]
        to: String,
        /// csv, tsv, parquet, ndjson or ipc (default: from DEST's extension).
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        /// Replace DEST if it exists.
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Run a SQL query on Polars or DataFusion (by default the engine `auto` picks).
    /// A query that starts with `-` (a `-- comment`) goes after `--`, or in --file.
    Sql {
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        query: Option<String>,
        /// Read the query from this file (`-` for standard input).
        #[arg(long, short = 'f', value_name = "FILE")]
        file: Option<String>,
        /// A table to query: NAME=DATA, or DATA to name it by its file stem. Repeatable.
        #[arg(long = "table", short = 't', value_name = "NAME=DATA")]
        tables: Vec<String>,
        /// auto picks per query and falls back to the other engine when one cannot plan it.
        #[arg(long, value_enum, default_value_t = SqlEngine::Auto)]
        engine: SqlEngine,
        #[arg(long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
        /// Rows shown in table format (0 shows all).
        #[arg(long, default_value_t = 100)]
        max_rows: usize,
        /// Run a statement that writes (COPY … TO, INSERT, CREATE TABLE …) on DataFusion.
        #[arg(long)]
        allow_writes: bool,
    },
    /// Show how an engine plans a query (or both engines, side by side).
    Explain {
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        query: Option<String>,
        /// Read the query from this file (`-` for standard input).
        #[arg(long, short = 'f', value_name = "FILE")]
        file: Option<String>,
        #[arg(long = "table", short = 't', value_name = "NAME=DATA")]
        tables: Vec<String>,
        #[arg(long, value_enum, default_value_t = ExplainEngine::Both)]
        engine: ExplainEngine,
        /// Run the query and report per-operator rows and time.
        #[arg(long)]
        analyze: bool,
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
    },
    /// Run a recipe headless: steps, checks, then (only if no error-severity check
    /// fails) the outputs and a run manifest beside them.
    Run {
        /// The recipe file (TOML, or YAML for .yaml/.yml).
        recipe: String,
        /// Override a value (`sources.orders.path=x.csv`, `steps.0.filter=...`) or set a
        /// `${VAR}` the recipe reads. Repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Print the plan (steps as SQL, check scans, outputs); read no rows, write nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t = SchemaFormat::Table)]
        format: SchemaFormat,
        /// Run on this engine instead of the recipe's.
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        /// Where to write the run manifest (default: beside the first output).
        #[arg(long, value_name = "FILE")]
        manifest: Option<String>,
    },
    /// The recipe format.
    Recipe {
        #[command(subcommand)]
        command: RecipeCommand,
    },
    /// Shell completions on standard output: `assay completions bash >
    /// ~/.local/share/bash-completion/completions/assay` (see docs/install.md).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on standard output (`assay man | man -l -`), or with --out
    /// the pages of assay and each of its commands written into a folder.
    Man {
        /// A folder for assay.1 and assay-COMMAND.1 (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Generate deterministic, deliberately dirty data (samples and benchmark files).
    Gen {
        #[arg(value_enum)]
        kind: GenKind,
        /// Rows to write (default: orders 50000, customers 5000, events 20000, trips 20000).
        #[arg(long)]
        rows: Option<usize>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// File to write (for `sample`: the directory).
        #[arg(long)]
        out: PathBuf,
    },
}

/// How `assay export` writes CSV and Parquet.
#[derive(Debug, Clone, Args, Default)]
pub struct WriteArgs {
    /// CSV: the delimiter to write (one character; `\t` for tab).
    #[arg(long, value_name = "CHAR")]
    pub csv_delimiter: Option<String>,
    /// CSV: which fields are quoted.
    #[arg(long, value_enum)]
    pub csv_quote: Option<crate::sink::Quote>,
    /// CSV: no header line.
    #[arg(long)]
    pub no_csv_header: bool,
    /// Parquet: the compression codec (default zstd).
    #[arg(long, value_enum)]
    pub compression: Option<crate::sink::Codec>,
    /// Parquet: the codec's level (zstd 1-22, gzip 0-9, brotli 0-11).
    #[arg(long, value_name = "N")]
    pub compression_level: Option<i32>,
    /// Parquet: rows per row group.
    #[arg(long, value_name = "ROWS")]
    pub row_group_size: Option<usize>,
    /// Parquet: no column statistics.
    #[arg(long)]
    pub no_statistics: bool,
    /// Write a Hive-style folder tree partitioned by these columns (`DEST/country=DE/…`;
    /// DEST is a folder, Parquet unless --format or its extension says otherwise).
    #[arg(long, value_name = "COL[,COL]", value_delimiter = ',')]
    pub partition_by: Vec<String>,
}

impl WriteArgs {
    fn options(&self) -> crate::sink::WriteOptions {
        use crate::sink::{CsvWrite, ParquetWrite};
        let csv =
            (self.csv_delimiter.is_some() || self.csv_quote.is_some() || self.no_csv_header).then(|| {
                CsvWrite {
                    delimiter: self.csv_delimiter.clone(),
                    quote: self.csv_quote,
                    header: self.no_csv_header.then_some(false),
                }
            });
        let parquet = (self.compression.is_some()
            || self.compression_level.is_some()
            || self.row_group_size.is_some()
            || self.no_statistics)
            .then(|| ParquetWrite {
                compression: self.compression,
                level: self.compression_level,
                row_group_size: self.row_group_size,
                statistics: self.no_statistics.then_some(false),
            });
        crate::sink::WriteOptions { csv, parquet, partition_by: self.partition_by.clone() }
    }
}

#[derive(Debug, Subcommand)]
pub enum RecipeCommand {
    /// Print the JSON Schema of recipe files (for editors' completion and checking).
    Schema,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CheckFormatArg {
    Table,
    Json,
    Junit,
    Markdown,
}

impl From<CheckFormatArg> for output::CheckFormat {
    fn from(f: CheckFormatArg) -> Self {
        match f {
            CheckFormatArg::Table => output::CheckFormat::Table,
            CheckFormatArg::Json => output::CheckFormat::Json,
            CheckFormatArg::Junit => output::CheckFormat::Junit,
            CheckFormatArg::Markdown => output::CheckFormat::Markdown,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOn {
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CountFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EngineArg {
    Polars,
    Datafusion,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExplainEngine {
    Polars,
    Datafusion,
    Both,
    /// The engine `assay sql` would pick, and why.
    Auto,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SqlEngine {
    Auto,
    Polars,
    Datafusion,
}

impl From<SqlEngine> for EngineChoice {
    fn from(e: SqlEngine) -> Self {
        match e {
            SqlEngine::Auto => EngineChoice::Auto,
            SqlEngine::Polars => EngineChoice::Polars,
            SqlEngine::Datafusion => EngineChoice::DataFusion,
        }
    }
}

/// The query of `assay sql` / `explain`: the argument, or the file (`-`: standard
/// input) it names.
fn query_text(query: Option<String>, file: Option<String>, tables: &[String]) -> Result<String> {
    let piped = |t: &String| table_specs(std::slice::from_ref(t)).into_iter().any(|(_, d)| d == "-");
    if file.as_deref() == Some("-") && tables.iter().any(piped) {
        return Err(Error::input(
            "standard input can be the query (--file -) or a table (--table -), not both",
        ));
    }
    let text = match (query, file) {
        (Some(q), _) => q,
        (None, Some(f)) if f == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| Error::input(format!("reading the query from standard input: {e}")))?;
            text
        }
        (None, Some(f)) => crate::error::read_text(&f)?,
        (None, None) => return Err(Error::input("give a QUERY or --file FILE")),
    };
    // A file's trailing `;` ends its one statement.
    let trimmed = text.trim_end().trim_end_matches(';').trim_end();
    if trimmed.trim().is_empty() {
        return Err(Error::input("SQL: the query is empty"));
    }
    Ok(trimmed.to_string())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GenKind {
    Orders,
    Customers,
    Events,
    /// Taxi trips (CSV).
    Trips,
    /// All the bundled samples into the --out directory.
    Sample,
}

impl From<EngineArg> for EngineKind {
    fn from(e: EngineArg) -> Self {
        match e {
            EngineArg::Polars => EngineKind::Polars,
            EngineArg::Datafusion => EngineKind::DataFusion,
        }
    }
}

impl From<OutFormat> for RowFormat {
    fn from(f: OutFormat) -> Self {
        match f {
            OutFormat::Table => RowFormat::Table,
            OutFormat::Csv => RowFormat::Csv,
            OutFormat::Json => RowFormat::Json,
        }
    }
}

impl InputArgs {
    pub fn open_options(&self) -> Result<OpenOptions> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some("\\t") | Some("tab") => Some(b'\t'),
            Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
            Some(d) => {
                return Err(Error::input(format!("--delimiter `{d}`: give one ASCII character (or \\t)")))
            }
        };
        Ok(OpenOptions {
            format: self.input_format.as_deref().map(Format::from_name).transpose()?,
            delimiter,
            has_header: self.no_header.then_some(false),
            s3_endpoint: self.s3_endpoint.clone(),
            null_values: self.null_value.clone(),
            decimal_comma: self.decimal_comma,
            sheet: self.sheet.clone(),
            quote: self.quote.as_deref().map(crate::source::parse_quote).transpose()?,
        })
    }
}

/// Splits `--table` values into (name, spec); `NAME=DATA` names the table, a bare DATA
/// is named by its file stem. A `=` inside a URL's query string is not a name separator.
fn table_specs(tables: &[String]) -> Vec<(Option<String>, String)> {
    tables
        .iter()
        .map(|t| match t.split_once('=') {
            Some((name, data))
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                (Some(name.to_string()), data.to_string())
            }
            _ => (None, t.clone()),
        })
        .collect()
}

/// The shell completions of every command and option, for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    // Generated in memory: clap_complete panics when its writer fails (a closed pipe).
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "assay", &mut text);
    text
}

/// The manual pages: `assay.1`, then `assay-COMMAND.1` for each command (`assay recipe
/// schema` is in `assay-recipe-schema.1`), as (file name, roff text).
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    fn pages(cmd: &clap::Command, name: &str, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        let mut text = Vec::new();
        let page = cmd
            .clone()
            .display_name(name.to_string())
            .bin_name(name.replace('-', " "))
            .version(env!("CARGO_PKG_VERSION"));
        clap_mangen::Man::new(page)
            .render(&mut text)
            .map_err(|e| Error::runtime(format!("rendering the manual page of `{name}`: {e}")))?;
        out.push((format!("{name}.1"), text));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            pages(sub, &format!("{name}-{}", sub.get_name()), out)?;
        }
        Ok(())
    }
    let mut cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    pages(&cmd, "assay", &mut out)?;
    Ok(out)
}

/// Runs a headless command, writing its result to `out`.
pub async fn run(command: Command, input: &InputArgs, out: &mut dyn Write) -> Result<()> {
    let options = input.open_options()?;
    match command {
        Command::Completions { shell } => {
            out.write_all(&completions(shell)).map_err(|e| Error::from(crate::error::Error::output(e)))
        }
        Command::Man { out: None } => {
            let pages = man_pages()?;
            out.write_all(&pages[0].1).map_err(|e| Error::from(crate::error::Error::output(e)))
        }
        Command::Man { out: Some(dir) } => {
            let pages = man_pages()?;
            std::fs::create_dir_all(&dir).map_err(|e| crate::error::io_error(dir.display(), &e))?;
            for (name, text) in &pages {
                let dest = dir.join(name).display().to_string();
                crate::sink::write_atomic(&dest, |temp| {
                    std::fs::write(temp, text).map_err(|e| crate::error::io_error(&dest, &e).into())
                })?;
            }
            writeln!(out, "{} manual pages written to {}", pages.len(), dir.display())
                .map_err(|e| Error::from(crate::error::Error::output(e)))
        }
        Command::Schema { data, format } => {
            let ws = Workspace::open(&[(None, data)], &options).await?;
            let ds = &ws.datasets()[0];
            let columns = ws.schema(ds).await?;
            output::write_schema(out, &ds.name, &columns, matches!(format, SchemaFormat::Json))
        }
        Command::Head { data, n, format } => {
            let ws = Workspace::open(&[(None, data)], &options).await?;
            let table = ws.head(&ws.datasets()[0], n).await?;
            output::write_rows(out, &table, format.into(), 0)
        }
        Command::Count { data, format } => {
            let ws = Workspace::open(&[(None, data)], &options).await?;
            let ds = &ws.datasets()[0];
            let rows = ws.count(ds, &[]).await?;
            output::write_count(out, &ds.name, rows, matches!(format, CountFormat::Json))
        }
        Command::Profile { data, format } => {
            let ws = Workspace::open(&[(None, data)], &options).await?;
            let ds = &ws.datasets()[0];
            let profile = ws.profile(ds, &[]).await?;
            output::write_profile(out, &ds.name, &profile, matches!(format, SchemaFormat::Json))
        }
        Command::Check {
            data,
            rules,
            format,
            fail_on,
            valid,
            quarantine,
            overwrite,
            explain,
            tables,
            engine,
        } => {
            // The rules are read and checked before any data.
            let path = rules;
            let rules = crate::quality::Rules::load(&path)?;
            if rules.checks.is_empty() {
                // A gate that checks nothing would pass any data.
                return Err(Error::input(format!(
                    "{path}: no checks: a rules file needs at least one [[checks]] entry \
                     (`assay suggest DATA` writes a starting set)"
                )));
            }
            let mut specs = vec![(None, data)];
            specs.extend(table_specs(&tables));
            let ws = Workspace::open(&specs, &options).await?;
            let ds = &ws.datasets()[0];
            if explain {
                let lf = crate::engine::polars::scan(ds).map_err(crate::engine::Error::from)?;
                let plan = match EngineKind::from(engine) {
                    EngineKind::Polars => crate::quality::explain(lf, &rules, &ws.sources(ds)?)?,
                    EngineKind::DataFusion => crate::quality::sql::explain(lf, &ds.name, &rules)?,
                };
                return write!(out, "{plan}").map_err(|e| Error::from(crate::error::Error::output(e)));
            }
            let outputs = valid.zip(quarantine);
            if let Some((v, q)) = &outputs {
                for dest in [v, q] {
                    crate::sink::check_destination(dest, &ds.files, overwrite)?;
                }
                if v == q {
                    return Err(Error::input("--valid and --quarantine name the same file"));
                }
            }
            let mut report = ws.check_on(ds, &[], &rules, engine.into(), outputs.is_some()).await.map_err(
                |e| match e {
                    // A check naming what the data lacks: say which file holds it.
                    Error::Quality(crate::quality::Error::Mismatch(m)) => {
                        Error::Quality(crate::quality::Error::Mismatch(format!("{path}: {m}")))
                    }
                    e => e,
                },
            )?;
            // An error-severity failure writes no output at all (docs/checks.md, the gate).
            let blocked = report.failed_at(crate::quality::Severity::Error) > 0;
            if let (Some((v, q)), false) = (&outputs, blocked) {
                let (valid, quarantined) = ws.quarantine(ds, &rules, &report, v, q).await?;
                eprintln!("{} rows in = {valid} valid ({v}) + {quarantined} quarantined ({q})", report.rows);
                report.quarantine = Some(crate::quality::Split { rows_in: report.rows, valid, quarantined });
            } else if let (Some(_), true) = (&outputs, blocked) {
                eprintln!("an error-severity check failed: no output written");
            }
            output::write_check_report(out, &report, format.into())?;
            let severity = match fail_on {
                FailOn::Warn => crate::quality::Severity::Warn,
                FailOn::Error => crate::quality::Severity::Error,
            };
            match report.failed_at(severity) {
                0 => Ok(()),
                n => Err(Error::ChecksFailed(format!(
                    "{n} check{} failed at severity {} or above",
                    if n == 1 { "" } else { "s" },
                    if severity == crate::quality::Severity::Warn { "warn" } else { "error" }
                ))),
            }
        }
        Command::Export { data, to, format, overwrite, write } => {
            let plan = crate::db::ExportPlan::parse(&to, format.as_deref(), write.options())?;
            let ws = Workspace::open(&[(None, data)], &options).await?;
            let ds = &ws.datasets()[0];
            let rows =
                ws.export_plan(ds, &[], &plan, overwrite, options.s3_endpoint.as_deref(), None).await?;
            let verb =
                if matches!(plan, crate::db::ExportPlan::Table(_)) { "loaded into" } else { "written to" };
            writeln!(out, "{rows} rows {verb} {}", plan.destination())
                .map_err(|e| Error::from(crate::error::Error::output(e)))
        }
        Command::Suggest { data } => {
            let ws = Workspace::open(&[(None, data)], &options).await?;
            let ds = &ws.datasets()[0];
            let (rows, suggestions) = ws.suggest(ds, &[]).await?;
            let text = crate::quality::suggest::to_toml(&ds.name, rows, &suggestions);
            write!(out, "{text}").map_err(|e| Error::from(crate::error::Error::output(e)))
        }
        Command::Sql { query, file, tables, engine, format, max_rows, allow_writes } => {
            let query = query_text(query, file, &tables)?;
            let ws = Workspace::open(&table_specs(&tables), &options).await?;
            if allow_writes && !crate::sql::is_read_only(&crate::sql::parse(&query)?) {
                let done = ws.sql_write(&query).await?;
                return writeln!(out, "{done}").map_err(|e| Error::from(crate::error::Error::output(e)));
            }
            let (table, pick) = ws.sql_on(&query, engine.into()).await?;
            // Which engine answered, when auto had to fall back (stdout keeps the rows).
            if pick.why.contains("cannot plan") {
                eprintln!("assay: ran on {} ({})", pick.engine.name(), pick.why);
            }
            output::write_rows(out, &table, format.into(), max_rows)
        }
        Command::Explain { query, file, tables, engine, analyze, format } => {
            let query = query_text(query, file, &tables)?;
            let ws = Workspace::open(&table_specs(&tables), &options).await?;
            let picks: Vec<(EngineKind, Option<String>)> = match engine {
                ExplainEngine::Polars => vec![(EngineKind::Polars, None)],
                ExplainEngine::Datafusion => vec![(EngineKind::DataFusion, None)],
                ExplainEngine::Both => vec![(EngineKind::Polars, None), (EngineKind::DataFusion, None)],
                ExplainEngine::Auto => {
                    let pick = ws.pick(&query, EngineChoice::Auto).await?;
                    vec![(pick.engine, Some(format!("{} ({})", pick.engine.name(), pick.why)))]
                }
            };
            let mut plans: Vec<Plans> = Vec::new();
            for (e, why) in picks {
                let mut p = ws.explain(&query, e, analyze).await?;
                p.chosen = why;
                plans.push(p);
            }
            output::write_plans(out, &query, &plans, matches!(format, ExplainFormat::Json))
        }
        Command::Run { recipe, sets, dry_run, format, engine, manifest } => {
            let sets: Vec<(String, String)> =
                sets.iter().map(|s| crate::recipe::parse_set(s)).collect::<crate::recipe::Result<_>>()?;
            let loaded = crate::recipe::load(&recipe, &sets)?;
            let run_options = crate::app::run::RunOptions {
                engine: engine.map(Into::into),
                manifest,
                open: options.clone(),
            };
            let json = matches!(format, SchemaFormat::Json);
            if dry_run {
                let plan = crate::app::run::dry_run(&loaded, &run_options).await?;
                return output::write_dry_run(out, &plan, json);
            }
            let manifest = crate::app::run::run(&loaded, &run_options).await?;
            output::write_manifest(out, &manifest, json)?;
            if manifest.status == "checks_failed" {
                let n = manifest
                    .checks
                    .as_ref()
                    .map(|r| r.failed_at(crate::quality::Severity::Error))
                    .unwrap_or(0);
                return Err(Error::ChecksFailed(format!(
                    "{n} error-severity check{} failed: no output written (manifest: {})",
                    if n == 1 { "" } else { "s" },
                    manifest.path
                )));
            }
            Ok(())
        }
        Command::Recipe { command: RecipeCommand::Schema } => write!(out, "{}", crate::recipe::json_schema())
            .map_err(|e| Error::from(crate::error::Error::output(e))),
        Command::Gen { kind, rows, seed, out: path } => {
            let task = move || match kind {
                GenKind::Sample => Ok(generate::generate_samples(&path, seed)?),
                GenKind::Orders => gen_one(generate::Kind::Orders, rows, seed, &path),
                GenKind::Customers => gen_one(generate::Kind::Customers, rows, seed, &path),
                GenKind::Events => gen_one(generate::Kind::Events, rows, seed, &path),
                GenKind::Trips => gen_one(generate::Kind::Trips, rows, seed, &path),
            };
            tokio::task::spawn_blocking(task)
                .await
                .map_err(|e| Error::runtime(format!("generator failed: {e}")))?
        }
    }
}

fn gen_one(kind: generate::Kind, rows: Option<usize>, seed: u64, path: &std::path::Path) -> Result<()> {
    Ok(generate::generate(kind, rows.unwrap_or(kind.default_rows()), seed, path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_specs_split_names_only_when_they_are_identifiers() {
        let specs =
            table_specs(&["o=orders.csv".into(), "customers.parquet".into(), "sqlite://x.db?table=t".into()]);
        assert_eq!(specs[0], (Some("o".into()), "orders.csv".into()));
        assert_eq!(specs[1], (None, "customers.parquet".into()));
        assert_eq!(specs[2], (None, "sqlite://x.db?table=t".into()));
    }
}
