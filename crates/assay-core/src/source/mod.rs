//! Where data comes from: locations (paths, globs, directories, `s3://` URLs), format
//! sniffing and the CSV dialect. Opening a dataset reads at most a small prefix of its
//! first file; the engines read the rest lazily.

pub mod browse;
pub mod compressed;
pub mod csv_count;
pub mod csv_diagnose;
pub mod excel;
pub mod file_diagnose;
mod place;
pub mod s3;

pub use place::Place;

use std::path::Path;

use crate::error::io_error;
pub use s3::S3Config;

crate::layer_error! {
    /// What the source room says about a place it cannot open or read.
    pub enum Error {
        /// Missing, denied, malformed, of an unknown format, a bad URL or pattern: exit 2.
        Unreadable(unreadable) = 2,
        /// Reading failed underway (a store's request, a disk): exit 3.
        ReadFailed(read_failed) = 3,
        ;
        Ground(crate::error::Error),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many bytes of the first file are read to sniff its format and CSV dialect.
const SNIFF_BYTES: usize = 64 * 1024;

/// A file format assay reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv(CsvDialect),
    Parquet,
    NdJson,
    Ipc,
}

impl Format {
    pub fn name(&self) -> &'static str {
        match self {
            Format::Csv(d) if d.delimiter == b'\t' => "tsv",
            Format::Csv(_) => "csv",
            Format::Parquet => "parquet",
            Format::NdJson => "ndjson",
            Format::Ipc => "ipc",
        }
    }

    /// The format a file name's extension stands for, if it stands for one.
    pub fn from_extension(name: &str) -> Option<Format> {
        let ext = Path::new(name).extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase())?;
        Some(match ext.as_str() {
            "csv" => Format::Csv(CsvDialect::default()),
            "tsv" | "tab" => Format::Csv(CsvDialect { delimiter: b'\t', ..CsvDialect::default() }),
            "parquet" | "pq" => Format::Parquet,
            "ndjson" | "jsonl" | "json" => Format::NdJson,
            "arrow" | "ipc" | "feather" => Format::Ipc,
            _ => return None,
        })
    }

    /// Parses a user's `--format` word.
    pub fn from_name(name: &str) -> Result<Format> {
        Format::from_extension(&format!("x.{name}")).ok_or_else(|| {
            Error::unreadable(format!("unknown format `{name}` (expected csv, tsv, parquet, ndjson or ipc)"))
        })
    }
}

/// The shape of a delimited text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvDialect {
    pub delimiter: u8,
    pub has_header: bool,
    /// The quote character; `0` when fields are never quoted (`--quote none`): a quote
    /// character is then text like any other.
    pub quote: u8,
    /// Numbers are written `1,50` (`--decimal-comma`; Polars reads them, DataFusion cannot).
    pub decimal_comma: bool,
    /// Values read as null besides the empty field (`--null-value`, recipe
    /// `csv.null_values`), interned by `null_values`.
    pub null_values: &'static [String],
}

impl Default for CsvDialect {
    fn default() -> Self {
        CsvDialect { delimiter: b',', has_header: true, quote: b'"', decimal_comma: false, null_values: &[] }
    }
}

/// A quote character as given (`--quote`, a recipe's `csv.quote`): one ASCII character,
/// or `none` when fields are never quoted (`0`).
pub fn parse_quote(text: &str) -> Result<u8> {
    match text {
        "none" => Ok(0),
        q if q.len() == 1 && q.as_bytes()[0].is_ascii() && !q.as_bytes()[0].is_ascii_control() => {
            Ok(q.as_bytes()[0])
        }
        q => Err(Error::unreadable(format!(
            "quote `{q}`: give one ASCII character, or `none` for files that never quote"
        ))),
    }
}

impl CsvDialect {
    /// The quote character, none when fields are never quoted.
    pub fn quote_char(&self) -> Option<u8> {
        (self.quote != 0).then_some(self.quote)
    }

    /// Whether a field's text reads as null: empty (quoted or not) or a configured value.
    pub fn is_null(&self, field: &str) -> bool {
        field.is_empty() || self.null_values.iter().any(|v| v == field)
    }
}

/// `values` as the dialect holds them: one list per distinct set of values for the whole
/// process (a dataset's dialect is `Copy`; there are as many lists as option sets given).
pub fn null_values(values: &[String]) -> &'static [String] {
    static LISTS: std::sync::Mutex<Vec<&'static [String]>> = std::sync::Mutex::new(Vec::new());
    let values: Vec<String> = values.iter().filter(|v| !v.is_empty()).cloned().collect();
    if values.is_empty() {
        return &[];
    }
    let mut lists = LISTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = lists.iter().find(|l| **l == values) {
        return found;
    }
    let list: &'static [String] = Vec::leak(values);
    lists.push(list);
    list
}

/// Where a dataset's files live.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Local,
    S3(S3Config),
}

/// An opened dataset: a name to query it by, its files and their format. The engines
/// build their own lazy readers over these same files (see `engine`).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The table name used in SQL (`orders.csv` -> `orders`).
    pub name: String,
    /// What the user typed to name it.
    pub spec: String,
    /// Local paths or `s3://bucket/key` URLs, sorted; never empty.
    pub files: Vec<String>,
    pub format: Format,
    pub location: Location,
}

/// How to open datasets: overrides the user may give on the command line.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Force a format instead of sniffing it.
    pub format: Option<Format>,
    /// Force the CSV delimiter.
    pub delimiter: Option<u8>,
    /// Force whether a CSV file has a header row.
    pub has_header: Option<bool>,
    /// S3 endpoint override (`--s3-endpoint`); the environment's `AWS_ENDPOINT_URL` otherwise.
    pub s3_endpoint: Option<String>,
    /// CSV values read as null besides the empty field.
    pub null_values: Vec<String>,
    /// CSV numbers written with a decimal comma (`1,50`).
    pub decimal_comma: bool,
    /// The sheet of a workbook (the first when none; `excel`).
    pub sheet: Option<String>,
    /// Force the CSV quote character; `Some(0)`: fields are never quoted.
    pub quote: Option<u8>,
}

impl Dataset {
    /// Opens `spec` (a path, glob, directory or `s3://` URL). Reads only a prefix of the
    /// first file. `name` overrides the table name derived from the spec. (A database
    /// table, `sqlite://` or `postgres://`, opens through `app::open`.)
    pub async fn open(spec: &str, name: Option<&str>, options: &OpenOptions) -> Result<Dataset> {
        // Messages name what the user gave, not its scratch copy (`say_given`).
        Self::open_as(spec, name, options).await.map_err(|e| e.map_message(say_given))
    }

    async fn open_as(spec: &str, name: Option<&str>, options: &OpenOptions) -> Result<Dataset> {
        let (files, location) = if Place::of(spec).is_s3() {
            let config = S3Config::resolve(options.s3_endpoint.as_deref())?;
            let files = s3::list(&config, spec).await?;
            (files, Location::S3(config))
        } else if Place::of(spec).is_table() {
            // The connectors live a floor up: `app::open` reads the table, then `open_table`.
            return Err(Error::read_failed(format!(
                "{}: a database table is opened by app::open, not Dataset::open",
                redact(spec)
            )));
        } else {
            // Off the async workers: standard input and a pipe are read whole, a
            // compressed file is decompressed (`compressed`), a workbook's sheet is
            // written as Parquet (`excel`).
            let (path, named) = excel::split_sheet(spec);
            let (path, sheet, header) =
                (path.to_string(), named.or(options.sheet.clone()), options.has_header.unwrap_or(true));
            let files = crate::error::blocking(move || {
                let files = list_local(&path)?;
                if files.len() > 1 && files.iter().any(|f| excel::is_workbook(f)) {
                    return Err(Error::unreadable(format!(
                        "{path}: {} workbooks: open one at a time (a sheet is one table)",
                        files.len()
                    )));
                }
                files
                    .iter()
                    .map(|f| match excel::is_workbook(f) {
                        true => excel::to_parquet(f, sheet.as_deref(), header),
                        false => compressed::plain(f),
                    })
                    .collect::<Result<Vec<String>>>()
            })
            .await??;
            (files, Location::Local)
        };
        let first = &files[0];
        let prefix = match &location {
            Location::Local => read_local_prefix(first)?,
            Location::S3(config) => s3::read_prefix(config, first, SNIFF_BYTES).await?,
        };
        let format = sniff_format(first, &files, &prefix, options)?;
        if let Format::Csv(dialect) = format {
            // The sniffed bytes are checked at no extra I/O; a small file is checked whole,
            // because an engine may read an unterminated quote silently to the end.
            let whole = prefix.len() < SNIFF_BYTES;
            if let Some(problem) = csv_diagnose::diagnose_prefix(first, &prefix, &dialect, whole) {
                return Err(Error::unreadable(problem));
            }
            // A quoted field still open where the sniffed bytes end may never close: the
            // first rows an engine reads would then swallow the file. Rare in good data
            // (a field longer than 64 KiB): check the file whole then.
            if !whole && matches!(location, Location::Local) && csv_count::ends_in_quotes(&prefix, &dialect) {
                let first = first.clone();
                crate::error::blocking(move || csv_count::verify(&first, &dialect)).await??;
            }
        }
        if format == Format::NdJson {
            // A line nested too deep would crash the engines' readers: every file is
            // scanned whole once per version (a local one at 0.2-0.6 s a GB; an S3 object
            // as it downloads, at its first opening).
            let problem = match &location {
                Location::Local => {
                    let files = files.clone();
                    crate::error::blocking(move || files.iter().find_map(|f| file_diagnose::too_deep_file(f)))
                        .await?
                }
                Location::S3(config) => {
                    let mut found = None;
                    for f in &files {
                        found = s3::too_deep(config, f).await?;
                        if found.is_some() {
                            break;
                        }
                    }
                    found
                }
            };
            if let Some(problem) = problem {
                return Err(Error::unreadable(problem));
            }
        }
        if matches!(location, Location::Local) && files.len() > 1 {
            same_columns(spec, &files, format)?;
        }
        let name = match name {
            Some(n) => table_identifier(n),
            // A sheet named in the path names the table (`book.xlsx?sheet=returns`).
            None => match excel::split_sheet(spec) {
                (_, Some(sheet)) => table_identifier(&sheet),
                (path, None) => table_name(path),
            },
        };
        let spec = if Place::of(spec) == Place::Stdin { "stdin".to_string() } else { spec.to_string() };
        Ok(Dataset { name, spec, files, format, location })
    }
}

/// A URL with any password replaced by `***` (manifests and logs never show secrets).
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Removes the entries of `dir` (files or folders) that `pid_of` says an assay process
/// left, when that process no longer runs (Linux, via /proc; elsewhere nothing).
pub fn remove_left_by_dead(dir: &std::path::Path, pid_of: impl Fn(&str) -> Option<u32>) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Some(pid) = pid_of(&entry.file_name().to_string_lossy()) else { continue };
        if pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let path = entry.path();
        let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
    }
}

/// The scratch copy of the local file `path` that `make` writes (decompressed, a sheet as
/// Parquet): made once per version of the file (size, modification time) and `variant`
/// (what else decides the copy, such as the sheet), in a fresh folder `KIND-N` of this
/// process's scratch folder, which `make` is given; later calls get the same copy.
/// Messages about the copy name `path` (`remember_given`).
pub(crate) fn scratch_copy(
    path: &str,
    kind: &str,
    variant: &str,
    make: impl FnOnce(&Path) -> Result<std::path::PathBuf>,
) -> Result<String> {
    type Version = (String, String, String, u64, Option<std::time::SystemTime>);
    static DONE: std::sync::Mutex<Vec<(Version, String)>> = std::sync::Mutex::new(Vec::new());
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
    let key = (kind.to_string(), variant.to_string(), path.to_string(), meta.len(), meta.modified().ok());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, out)) = done.iter().find(|(k, _)| *k == key) {
        return Ok(out.clone());
    }
    let dir = scratch_dir().join(format!("{kind}-{}", done.len()));
    std::fs::create_dir_all(&dir).map_err(|e| io_error(dir.display(), &e))?;
    let out = path_string(&make(&dir)?)?;
    remember_given(&out, path);
    done.push((key, out.clone()));
    Ok(out)
}

/// This process's folder for database tables read as datasets.
fn scratch_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("assay-tables-{}", std::process::id()))
}

/// Scratch copies this process made of what the user gave — standard input, a pipe, a
/// decompressed file — with the name each stands for, so that messages say the latter.
static GIVEN: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Remembers that the scratch file `copy` stands for `given`.
pub(crate) fn remember_given(copy: &str, given: &str) {
    GIVEN.lock().unwrap_or_else(|e| e.into_inner()).push((copy.to_string(), given.to_string()));
}

/// `message` with every scratch copy named as what the user gave.
pub fn say_given(message: &str) -> String {
    let given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    given.iter().fold(message.to_string(), |m, (copy, given)| m.replace(copy.as_str(), given))
}

/// Standard input (`-`) as a file: spooled once into this process's scratch folder (so
/// the engines can read it, and the workbench can page back), the same file for every
/// `-` of the process. A terminal on standard input, or nothing piped, is refused.
fn stdin_file() -> Result<String> {
    use std::io::IsTerminal;
    static SPOOLED: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let mut spooled = SPOOLED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = spooled.as_ref() {
        return Ok(path.clone());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::unreadable(
            "-: standard input is a terminal; pipe data into it (`cat orders.csv | assay head -`)",
        ));
    }
    let path = spool("-", &mut stdin.lock())?;
    if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(Error::unreadable("stdin: nothing was piped in (0 bytes)"));
    }
    remember_given(&path, "stdin");
    *spooled = Some(path.clone());
    Ok(path)
}

/// Removes the copies of database tables this process read (called at exit).
pub fn remove_scratch() {
    let _ = std::fs::remove_dir_all(scratch_dir());
}

/// Removes what earlier assay processes that were killed (or crashed) left in the
/// temporary folder: their copies of database tables (`assay-tables-PID`), query results
/// (`assay-results-PID`) and upload scratch files (`.assay-upload-PID-…`), when no
/// process of that id runs any more. Linux only (it asks /proc); called at start-up.
pub fn remove_stale_scratch() {
    remove_left_by_dead(&std::env::temp_dir(), |name| {
        let rest = ["assay-tables-", "assay-results-", ".assay-upload-"]
            .iter()
            .find_map(|p| name.strip_prefix(p))?;
        rest.split('-').next()?.parse().ok()
    });
}

/// A connector's `read_to_parquet`: a table's URL and the Parquet file to write; the
/// table's name and its rows.
pub type TableReader<E> = fn(&str, &std::path::Path) -> std::result::Result<(String, u64), E>;

/// A database table (or query) as a dataset: read once by `read` (a connector's
/// `read_to_parquet`) into a Parquet file in this process's temporary folder (removed at
/// exit, `remove_scratch`), typed by the table's column types. `E` is the connector's
/// error, which says this room's too.
pub async fn open_table<E: From<Error> + Send + 'static>(
    spec: &str,
    name: Option<&str>,
    read: TableReader<E>,
) -> std::result::Result<Dataset, E> {
    let dir = scratch_dir();
    std::fs::create_dir_all(&dir).map_err(|e| Error::from(crate::error::io_error(dir.display(), &e)))?;
    let n = TABLE_READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = dir.join(format!("{n}.parquet"));
    let (url, path) = (spec.to_string(), out.clone());
    let (table, _) = tokio::task::spawn_blocking(move || read(&url, &path))
        .await
        .map_err(|e| Error::read_failed(format!("{spec}: {e}")))??;
    let file = out.display().to_string();
    Ok(Dataset {
        name: table_identifier(name.unwrap_or(&table)),
        spec: redact(spec),
        files: vec![file],
        format: Format::Parquet,
        location: Location::Local,
    })
}

static TABLE_READS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Dataset {
    pub fn s3(&self) -> Option<&S3Config> {
        match &self.location {
            Location::S3(c) => Some(c),
            Location::Local => None,
        }
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands a local spec into a sorted, non-empty list of files.
fn list_local(spec: &str) -> Result<Vec<String>> {
    if has_glob(spec) {
        let paths =
            glob::glob(spec).map_err(|e| Error::unreadable(format!("{spec}: bad glob pattern: {e}")))?;
        let mut files = Vec::new();
        for entry in paths {
            let path = entry.map_err(|e| io_error(e.path().display(), e.error()))?;
            if path.is_file() {
                files.push(path_string(&path)?);
            }
        }
        if files.is_empty() {
            return Err(Error::unreadable(format!("{spec}: no files match this pattern")));
        }
        files.sort();
        return Ok(files);
    }
    if Place::of(spec) == Place::Stdin {
        return Ok(vec![stdin_file()?]);
    }
    let path = Path::new(spec);
    let meta = std::fs::metadata(path).map_err(|e| io_error(spec, &e))?;
    if !meta.is_dir() && !meta.is_file() {
        // A pipe (`<(…)`, a FIFO) or a device can be read once: it is copied whole to a
        // scratch file, which every engine and command then reads.
        let mut input = std::fs::File::open(path).map_err(|e| io_error(spec, &e))?;
        return Ok(vec![spool(spec, &mut input)?]);
    }
    if meta.is_dir() {
        let mut files = Vec::new();
        collect_dir(path, &mut files)?;
        if files.is_empty() {
            return Err(Error::unreadable(format!(
                "{spec}: directory holds no csv, tsv, parquet, ndjson or arrow files"
            )));
        }
        files.sort();
        return Ok(files);
    }
    Ok(vec![path_string(path)?])
}

/// Copies `input` (standard input when `spec` is `-`, else a pipe or device) to a file
/// in this process's scratch folder (removed at exit), keeping the extension `spec` has
/// so the format is still told by it; returns the file's path.
fn spool(spec: &str, input: &mut impl std::io::Read) -> Result<String> {
    let dir = scratch_dir();
    std::fs::create_dir_all(&dir).map_err(|e| crate::error::io_error(dir.display(), &e))?;
    let n = TABLE_READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ext =
        Path::new(spec).extension().and_then(|e| e.to_str()).map(|e| format!(".{e}")).unwrap_or_default();
    let out = dir.join(format!("spooled-{n}{ext}"));
    let shown = if spec == "-" { "standard input".to_string() } else { spec.to_string() };
    let mut file = std::fs::File::create(&out).map_err(|e| io_error(out.display(), &e))?;
    std::io::copy(input, &mut file).map_err(|e| Error::unreadable(format!("{shown}: reading it: {e}")))?;
    let out = path_string(&out)?;
    if spec != "-" {
        remember_given(&out, spec);
    }
    Ok(out)
}

/// Files below `dir` (recursively, for Hive-style trees) whose extension names a format.
fn collect_dir(dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir.display(), &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir.display(), &e))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue; // hidden files, _SUCCESS markers and the like
        }
        if path.is_dir() {
            collect_dir(&path, out)?;
        } else if Format::from_extension(compressed::strip_extension(&name)).is_some() {
            out.push(path_string(&path)?);
        }
    }
    Ok(())
}

fn path_string(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::unreadable(format!("{}: path is not valid UTF-8", path.display())))
}

/// The files of one local dataset (a glob or a folder) must share their columns: the
/// engines would fail mid-read ("schema lengths differ") or fill columns with nulls. A
/// CSV file's header line and a Parquet file's footer are read, nothing else.
fn same_columns(spec: &str, files: &[String], format: Format) -> Result<()> {
    let columns = |file: &str| -> Result<Option<String>> {
        Ok(match format {
            Format::Csv(d) if d.has_header => {
                use std::io::{BufRead, Read};
                let f = std::fs::File::open(file).map_err(|e| io_error(file, &e))?;
                let mut line = Vec::new();
                std::io::BufReader::new(f.take(SNIFF_BYTES as u64))
                    .read_until(b'\n', &mut line)
                    .map_err(|e| io_error(file, &e))?;
                let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&line);
                let text = String::from_utf8_lossy(line);
                Some(text.trim_end_matches(['\n', '\r']).to_string())
            }
            Format::Parquet => {
                use polars::prelude::SerReader;
                let f = std::fs::File::open(file).map_err(|e| io_error(file, &e))?;
                let schema = polars::prelude::ParquetReader::new(f)
                    .schema()
                    .map_err(|e| Error::unreadable(format!("{file}: not a readable Parquet file: {e}")))?;
                Some(
                    schema.iter().map(|(n, f)| format!("{n} {:?}", f.dtype())).collect::<Vec<_>>().join(", "),
                )
            }
            _ => None,
        })
    };
    let Some(want) = columns(&files[0])? else { return Ok(()) };
    for file in &files[1..] {
        let Some(got) = columns(file)? else { continue };
        // A header-only or empty file of a CSV dataset has no rows to disagree with.
        if got != want && !(got.is_empty() && matches!(format, Format::Csv(_))) {
            let cut = |s: &str| match s.char_indices().nth(200) {
                Some((i, _)) => format!("{}…", &s[..i]),
                None => s.to_string(),
            };
            return Err(Error::unreadable(format!(
                "{spec}: {file} has columns `{}` where {} has `{}`: the files of one dataset must \
                 share their columns (open them as separate tables, or narrow the pattern)",
                cut(&got),
                files[0],
                cut(&want)
            )));
        }
    }
    Ok(())
}

fn read_local_prefix(path: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| io_error(path, &e))?;
    let mut buf = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64).read_to_end(&mut buf).map_err(|e| io_error(path, &e))?;
    Ok(buf)
}

/// Decides the format from the options, the extension, or the first bytes.
fn sniff_format(first: &str, files: &[String], prefix: &[u8], options: &OpenOptions) -> Result<Format> {
    if prefix.is_empty() {
        return Err(Error::unreadable(format!("{first}: file is empty (0 bytes)")));
    }
    let format = match options.format {
        Some(f) => f,
        None => match Format::from_extension(first) {
            Some(f) => f,
            None => sniff_content(first, prefix)?,
        },
    };
    if options.format.is_none() {
        for f in files {
            if let Some(other) = Format::from_extension(f) {
                if std::mem::discriminant(&other) != std::mem::discriminant(&format) {
                    return Err(Error::unreadable(format!(
                        "{f}: is {} but {first} is {}; a dataset's files must share one format",
                        other.name(),
                        format.name()
                    )));
                }
            }
        }
    }
    Ok(match format {
        Format::Csv(dialect) => Format::Csv(sniff_dialect(first, prefix, dialect, options)?),
        Format::Parquet if !prefix.starts_with(b"PAR1") => {
            return Err(Error::unreadable(format!(
                "{first}: not a Parquet file (no PAR1 magic bytes at offset 0)"
            )))
        }
        Format::Ipc if !(prefix.starts_with(b"ARROW1") || prefix.starts_with(&[0xff; 4])) => {
            return Err(Error::unreadable(format!(
                "{first}: not an Arrow IPC file (no ARROW1 magic bytes at offset 0)"
            )))
        }
        other => other,
    })
}

fn sniff_content(path: &str, prefix: &[u8]) -> Result<Format> {
    if prefix.starts_with(b"PAR1") {
        return Ok(Format::Parquet);
    }
    if prefix.starts_with(b"ARROW1") {
        return Ok(Format::Ipc);
    }
    let text_like = prefix.iter().take(4096).all(|&b| b >= 0x20 || matches!(b, b'\n' | b'\r' | b'\t'));
    if !text_like {
        return Err(Error::unreadable(format!(
            "{path}: unknown format: not CSV, TSV, Parquet, NDJSON or Arrow IPC \
             (binary content, unrecognised extension); name it with --input-format"
        )));
    }
    let first_char = prefix.iter().find(|b| !b.is_ascii_whitespace());
    if first_char == Some(&b'{') {
        return Ok(Format::NdJson);
    }
    Ok(Format::Csv(CsvDialect::default()))
}

/// Picks the delimiter and whether the first row is a header from the file's first lines.
fn sniff_dialect(
    path: &str,
    prefix: &[u8],
    mut dialect: CsvDialect,
    options: &OpenOptions,
) -> Result<CsvDialect> {
    let text = match std::str::from_utf8(prefix) {
        Ok(t) => t,
        // The prefix may end inside a multi-byte character; anything else is reported
        // with its byte offset by the diagnosis when the engine reads the file.
        Err(e) => std::str::from_utf8(&prefix[..e.valid_up_to()]).unwrap_or(""),
    };
    if let Some(cr) = text.find('\r') {
        if !text.contains('\n') && cr + 1 < text.len() {
            return Err(Error::unreadable(format!(
                "{path}: lines end with a carriage return alone (classic Mac OS line endings, first at \
                 byte {cr}), which assay does not read: convert them first, e.g. `tr '\\r' '\\n' < IN > OUT`"
            )));
        }
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).take(50).collect();
    if lines.is_empty() {
        return Err(Error::unreadable(format!("{path}: file holds no rows, not even a header")));
    }
    if let Some(d) = options.delimiter {
        dialect.delimiter = d;
    } else {
        // Whatever the extension says (a `.csv` file may well be `;`-delimited): the
        // extension's delimiter is kept unless another splits the lines better.
        dialect.delimiter = sniff_delimiter(&lines, dialect.delimiter);
        if split_simple(lines[0], dialect.delimiter).len() < 2 {
            if let Some((d, fields)) = later_delimiter(&lines[1..]) {
                return Err(Error::unreadable(format!(
                    "{path}: line 1 holds no delimiter, but the lines after it are split by `{}` into {fields} \
                     fields: remove the line(s) above the header (a title?) and open it again",
                    if d == b'\t' { "\\t".to_string() } else { (d as char).to_string() }
                )));
            }
        }
    }
    dialect.quote = options.quote.unwrap_or_else(|| sniff_quote(&lines, dialect.delimiter));
    dialect.null_values = null_values(&options.null_values);
    dialect.decimal_comma = options.decimal_comma;
    if dialect.decimal_comma && dialect.delimiter == b',' {
        return Err(Error::unreadable(format!(
            "{path}: --decimal-comma needs fields split by another delimiter than `,` \
             (`;` usually): give it with --delimiter"
        )));
    }
    dialect.has_header = match options.has_header {
        Some(h) => h,
        None => {
            let first = split_simple(lines[0], dialect.delimiter);
            // A first row made only of numbers is data, not a header.
            !first.iter().all(|f| f.trim().parse::<f64>().is_ok())
        }
    };
    if dialect.has_header {
        if let Some(at) = lines[0].find('\0') {
            let column = lines[0][..at].matches(dialect.delimiter as char).count() + 1;
            return Err(Error::unreadable(format!(
                "{path}: line 1 (the header): column {column}'s name holds a NUL byte (\\0) at byte {at}; \
                 a text file's header has none (is this a binary file?)"
            )));
        }
    }
    Ok(dialect)
}

/// The candidate delimiter that splits the lines most consistently into several fields;
/// `default` unless another does strictly better.
fn sniff_delimiter(lines: &[&str], default: u8) -> u8 {
    let mut best = (default, 0usize);
    let others = [b',', b'\t', b';', b'|'].into_iter().filter(|c| *c != default);
    for cand in std::iter::once(default).chain(others) {
        let counts: Vec<usize> = lines.iter().map(|l| split_simple(l, cand).len()).collect();
        let first = counts[0];
        if first < 2 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == first).count();
        let score = consistent * first;
        if score > best.1 {
            best = (cand, score);
        }
    }
    best.0
}

/// A delimiter that splits most of `lines` (those after a first line that none splits)
/// into the same number (two or more) of fields, with that number.
fn later_delimiter(lines: &[&str]) -> Option<(u8, usize)> {
    if lines.len() < 2 {
        return None;
    }
    [b',', b'\t', b';', b'|'].into_iter().find_map(|d| {
        let first = split_simple(lines[0], d).len();
        let same = lines.iter().filter(|l| split_simple(l, d).len() == first).count();
        (first >= 2 && same * 10 >= lines.len() * 9).then_some((d, first))
    })
}

/// `'` when fields are quoted with single quotes and never with double ones; else `"`.
fn sniff_quote(lines: &[&str], delimiter: u8) -> u8 {
    let quoted = |q: char| {
        lines
            .iter()
            .flat_map(|l| l.split(delimiter as char))
            .filter(|f| {
                let f = f.trim();
                f.len() >= 2 && f.starts_with(q) && f.ends_with(q)
            })
            .count()
    };
    if quoted('"') == 0 && quoted('\'') > 0 {
        b'\''
    } else {
        b'"'
    }
}

/// Splits a line on `delim` outside double quotes (good enough for sniffing).
fn split_simple(line: &str, delim: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, b) in line.bytes().enumerate() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == delim && !in_quotes {
            out.push(&line[start..i]);
            start = i + 1;
        }
    }
    out.push(&line[start..]);
    out
}

/// The table name a spec stands for: the file stem, or for a glob or directory the last
/// component without wildcards (`data/orders/*.parquet` -> `orders`).
pub fn table_name(spec: &str) -> String {
    if Place::of(spec) == Place::Stdin {
        return "stdin".to_string();
    }
    let trimmed = spec.trim_end_matches('/');
    let component = trimmed.rsplit('/').find(|c| !c.is_empty() && !has_glob(c)).unwrap_or("data");
    let stem = if has_glob(trimmed.rsplit('/').next().unwrap_or("")) {
        component
    } else {
        let component = compressed::strip_extension(component);
        Path::new(component).file_stem().and_then(|s| s.to_str()).unwrap_or(component)
    };
    table_identifier(stem)
}

/// Makes `raw` a plain SQL identifier: letters, digits and underscores, not starting
/// with a digit.
pub fn table_identifier(raw: &str) -> String {
    let mut name: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_come_from_stems_and_directories() {
        assert_eq!(table_name("sample-data/orders.csv"), "orders");
        assert_eq!(table_name("data/orders/*.parquet"), "orders");
        assert_eq!(table_name("s3://lake/trips/2024-*.parquet"), "trips");
        assert_eq!(table_name("2024 sales.csv"), "_2024_sales");
        assert_eq!(table_name("exports/orders.csv.gz"), "orders");
        assert_eq!(table_name("dir/"), "dir");
    }

    #[test]
    fn delimiter_sniffing_prefers_consistent_splits() {
        assert_eq!(sniff_delimiter(&["a;b;c", "1;2;3", "4;5,5;6"], b','), b';');
        assert_eq!(sniff_delimiter(&["a\tb", "1\t2"], b','), b'\t');
        assert_eq!(sniff_delimiter(&["a,b,c", "1,\"x,y\",3"], b','), b',');
        assert_eq!(sniff_delimiter(&["id|name", "1|a,b", "2|c"], b','), b'|');
        // The extension's delimiter wins a tie.
        assert_eq!(sniff_delimiter(&["a\tb,c", "1\t2,3"], b'\t'), b'\t');
        assert_eq!(later_delimiter(&["id;name;price", "1;a;2,50", "2;b;3"]), Some((b';', 3)));
        assert_eq!(later_delimiter(&["just text", "more"]), None);
        assert_eq!(sniff_quote(&["a,'b,c'", "1,'x'"], b','), b'\'');
        assert_eq!(sniff_quote(&["a,\"b\"", "1,'x'"], b','), b'"');
    }
}
