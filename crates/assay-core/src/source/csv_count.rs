//! A fast, quote-aware row count of a local CSV file, and the row-offset index that lets
//! the workbench jump to any row without reading the file up to it.
//!
//! This counter jumps between newlines and quotes with `memchr2` (vectorised at run time)
//! and gives Polars' answer: every line (a blank one is a row of nulls to Polars),
//! newlines inside quoted fields not counted, a last line without a newline counted,
//! minus the header. (Polars' own line splitter does the same since vendor/polars-io
//! patched it for stable Rust, but it gives counts, not where rows start.)
//!
//! The same pass notes the byte offset of every `EVERY`th data row (as csvlens does), so
//! reading rows `n..n+k` later costs one seek and at most `EVERY + k` rows of parsing.

use std::io::{Read, Seek, SeekFrom};

use super::CsvDialect;
use crate::error::io_error;
use crate::progress::Progress;
use crate::source::{Error, Result};

/// Rows between two checkpoints of a [`RowIndex`].
pub const EVERY: u64 = 1024;

/// Where the data rows of one CSV file start: `offsets[k]` is the byte offset of data row
/// `k * EVERY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIndex {
    pub path: String,
    pub rows: u64,
    pub offsets: Vec<u64>,
}

/// The number of data rows in the CSV file at `path`.
pub fn count_rows(path: &str, dialect: &CsvDialect) -> Result<u64> {
    Ok(index_rows(path, dialect, None)?.rows)
}

/// Whether `prefix` (the first bytes of a CSV file) ends inside a quoted field: a quote
/// that may close further on, or never.
pub fn ends_in_quotes(prefix: &[u8], dialect: &CsvDialect) -> bool {
    let mut counter = Counter::new(dialect);
    counter.check_fields = false;
    counter.feed(prefix, |_, _| true);
    counter.in_quotes
}

/// Local CSV files found well-formed whole, by canonical path, size, modification time
/// (to the nanosecond) and inode: in this process, and remembered across runs in
/// `verified-csv.txt` in the data dir (a file changed in any of those is checked again).
static VERIFIED: std::sync::Mutex<Option<std::collections::HashSet<String>>> = std::sync::Mutex::new(None);

/// The most versions `verified-csv.txt` keeps before it starts afresh.
const REMEMBERED: usize = 10_000;

fn version(path: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(path).ok()?;
    let m = std::fs::metadata(&real).ok()?;
    Some(format!("{}\t{}\t{}.{}\t{}", real.display(), m.len(), m.mtime(), m.mtime_nsec(), m.ino()))
}

fn remembered() -> Option<std::path::PathBuf> {
    crate::config::data_dir().map(|d| d.join("verified-csv.txt"))
}

fn with_verified<T>(f: impl FnOnce(&mut std::collections::HashSet<String>) -> T) -> T {
    let mut guard = VERIFIED.lock().unwrap_or_else(|e| e.into_inner());
    let set = guard.get_or_insert_with(|| {
        remembered()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| text.lines().map(str::to_string).collect())
            .unwrap_or_default()
    });
    f(set)
}

/// Whether this version of `path` was already found well-formed.
pub fn is_verified(path: &str) -> bool {
    is_known_good(Whole::Csv, path)
}

fn mark_verified(path: &str) {
    mark_known_good(Whole::Csv, path)
}

/// What a whole-file check found good: a CSV file's rows, or an NDJSON file's nesting.
#[derive(Debug, Clone, Copy)]
pub enum Whole {
    Csv,
    JsonDepth,
}

impl Whole {
    /// How a remembered key names the check (CSV file keys predate the tags: none).
    fn tag(self) -> &'static str {
        match self {
            Whole::Csv => "",
            Whole::JsonDepth => "json-depth\t",
        }
    }
}

fn key(check: Whole, path: &str) -> Option<String> {
    Some(format!("{}{}", check.tag(), version(path)?))
}

/// Whether this version of `path` already passed `check`.
pub fn is_known_good(check: Whole, path: &str) -> bool {
    key(check, path).is_some_and(|key| with_verified(|set| set.contains(&key)))
}

/// Remembers that this version of `path` passed `check` (here and in `verified-csv.txt`).
pub fn mark_known_good(check: Whole, path: &str) {
    if let Some(key) = key(check, path) {
        remember(key);
    }
}

/// The key of one version of an object in a store (its URL, size and ETag) for `check`.
pub fn object_key(check: Whole, url: &str, size: u64, etag: &str) -> String {
    format!("{}object\t{url}\t{size}\t{etag}", check.tag())
}

/// Whether the object version `key` (`object_key`) already passed its check.
pub fn is_known_object(key: &str) -> bool {
    with_verified(|set| set.contains(key))
}

/// Remembers a `key` (a file version, or an `object_key`) that passed its check.
pub fn remember(key: String) {
    let new = with_verified(|set| set.insert(key.clone()).then_some(set.len()));
    let (Some(len), Some(file)) = (new, remembered()) else { return };
    use std::io::Write;
    let _ = std::fs::create_dir_all(file.parent().unwrap_or(std::path::Path::new(".")));
    let mut options = std::fs::OpenOptions::new();
    options.create(true);
    if len > REMEMBERED {
        options.write(true).truncate(true);
    } else {
        options.append(true);
    }
    // One short line in append mode: processes writing at once do not interleave.
    if let Ok(mut f) = options.open(&file) {
        let _ = f.write_all(format!("{key}\n").as_bytes());
    }
}

/// Checks `path` whole once per version (0.45 s of one core per GB: every row's field
/// count, quotes closed, UTF-8), so that what an engine reads without checking — a row
/// with fewer fields, which Polars fills with nulls; a count, which reads no field —
/// gets the verdict every command gives. One thread: it runs beside an engine that
/// keeps the other cores busy.
pub fn verify(path: &str, dialect: &CsvDialect) -> Result<()> {
    if is_verified(path) {
        return Ok(());
    }
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, &e))?;
    let mut fields = Counter::new(dialect);
    let mut text = Utf8Check::default();
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(path, &e))?;
        if n == 0 {
            break;
        }
        fields.feed(&buf[..n], |_, _| true);
        text.feed(&buf[..n]);
    }
    fields.finish();
    if fields.suspect() || !text.finish() {
        if let Some(problem) = super::csv_diagnose::diagnose(path, dialect) {
            return Err(Error::unreadable(problem));
        }
    }
    mark_verified(path);
    Ok(())
}

/// Counts the data rows of the CSV file at `path` and notes where every `EVERY`th starts;
/// `progress` is told the bytes read.
///
/// Two threads share the pass: this one counts records and notes checkpoints while a
/// second checks every record's field count (the part that made the pass 1.5x slower on
/// one thread), on the same chunks, handed over and recycled through channels.
pub fn index_rows(path: &str, dialect: &CsvDialect, progress: Option<&Progress>) -> Result<RowIndex> {
    use std::sync::mpsc::{channel, sync_channel};
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, &e))?;
    let mut counter = Counter::new(dialect);
    counter.check_fields = false;
    let header = u64::from(dialect.has_header);
    let mut offsets = Vec::new();
    if header == 0 {
        offsets.push(0);
    }
    const CHUNK: usize = 4 << 20;
    let (to_checker, chunks) = sync_channel::<Vec<u8>>(2);
    let (give_back, returned) = channel::<Vec<u8>>();
    let (records, ragged) = std::thread::scope(|scope| -> Result<(u64, bool)> {
        let checker = scope.spawn(move || {
            let mut fields = Counter::new(dialect);
            let mut text = Utf8Check::default();
            for chunk in chunks {
                fields.feed(&chunk, |_, _| true);
                text.feed(&chunk);
                let _ = give_back.send(chunk);
            }
            fields.finish();
            fields.suspect() || !text.finish()
        });
        let mut base = 0u64;
        loop {
            let mut buf = returned.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
            buf.resize(CHUNK, 0);
            let n = file.read(&mut buf).map_err(|e| io_error(path, &e))?;
            if n == 0 {
                break;
            }
            buf.truncate(n);
            counter.feed(&buf, |records, end| {
                // `records` records have ended; the next data row starts at `end`.
                let data = records - header.min(records);
                if records >= header && data % EVERY == 0 {
                    offsets.push(base + end as u64);
                }
                true
            });
            base += n as u64;
            if let Some(p) = progress {
                p.add(n as u64);
            }
            if to_checker.send(buf).is_err() {
                break;
            }
        }
        drop(to_checker);
        let ragged = checker.join().unwrap_or(true);
        Ok((counter.finish(), ragged))
    })?;
    if counter.suspect() || ragged {
        // Counted as Polars reads it, which may be wrong: say where, when it is.
        if let Some(problem) = super::csv_diagnose::diagnose(path, dialect) {
            return Err(Error::unreadable(problem));
        }
    }
    mark_verified(path);
    let rows = records.saturating_sub(header);
    // A checkpoint at the very end of the file starts no row.
    offsets.truncate(rows.div_ceil(EVERY) as usize);
    Ok(RowIndex { path: path.to_string(), rows, offsets })
}

/// Whether a file read in chunks is UTF-8 text, a character split between two chunks
/// included (the engines refuse a file that is not; so does a count, rather than counting
/// what nothing else reads).
#[derive(Default)]
struct Utf8Check {
    /// The first bytes of a character the last chunk ended in.
    carry: Vec<u8>,
    bad: bool,
}

impl Utf8Check {
    fn feed(&mut self, chunk: &[u8]) {
        if self.bad {
            return;
        }
        let mut start = 0;
        if let Some(&lead) = self.carry.first() {
            let width = match lead {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            start = (width - self.carry.len()).min(chunk.len());
            self.carry.extend_from_slice(&chunk[..start]);
            if self.carry.len() < width {
                return;
            }
            self.bad = std::str::from_utf8(&self.carry).is_err();
            self.carry.clear();
        }
        match std::str::from_utf8(&chunk[start..]) {
            Ok(_) => {}
            // A character cut by the chunk's end: its first bytes wait for the next chunk.
            Err(e) if e.error_len().is_none() => {
                self.carry.extend_from_slice(&chunk[start + e.valid_up_to()..])
            }
            Err(_) => self.bad = true,
        }
    }

    /// True when everything fed was UTF-8.
    fn finish(&self) -> bool {
        !self.bad && self.carry.is_empty()
    }
}

impl RowIndex {
    /// An index that knows only where the data starts (the file not counted yet): rows
    /// are found by counting from there, which costs a fast scan up to them.
    pub fn provisional(path: &str, dialect: &CsvDialect) -> Result<RowIndex> {
        let mut file = std::fs::File::open(path).map_err(|e| io_error(path, &e))?;
        let mut start = 0u64;
        if dialect.has_header {
            let mut counter = Counter::new(dialect);
            let mut buf = vec![0u8; 64 << 10];
            let mut base = 0u64;
            let mut found = None;
            while found.is_none() {
                let n = file.read(&mut buf).map_err(|e| io_error(path, &e))?;
                if n == 0 {
                    break;
                }
                counter.feed(&buf[..n], |_, end| {
                    found = Some(base + end as u64);
                    false
                });
                base += n as u64;
            }
            start = found.unwrap_or(base);
        }
        Ok(RowIndex { path: path.to_string(), rows: u64::MAX, offsets: vec![start] })
    }

    /// The raw bytes of data rows `first..first + len` (cut to the file's rows), each
    /// ending with its newline; read from the checkpoint before `first`, counting
    /// records and keeping only the wanted ones.
    pub fn read(&self, first: u64, len: u64, quote: u8) -> Result<Vec<u8>> {
        let first = first.min(self.rows);
        let k = ((first / EVERY) as usize).min(self.offsets.len().saturating_sub(1));
        let Some(&start) = self.offsets.get(k) else { return Ok(Vec::new()) };
        let skip = first - k as u64 * EVERY;
        let want = skip + len.min(self.rows - first);
        let mut out = Vec::new();
        if want == skip {
            return Ok(out);
        }
        let mut file = std::fs::File::open(&self.path).map_err(|e| io_error(&self.path, &e))?;
        file.seek(SeekFrom::Start(start)).map_err(|e| io_error(&self.path, &e))?;
        let mut counter = Counter::new(&CsvDialect { quote, ..CsvDialect::default() });
        let mut buf = vec![0u8; 256 << 10];
        let mut began = skip == 0;
        loop {
            let n = file.read(&mut buf).map_err(|e| io_error(&self.path, &e))?;
            if n == 0 {
                break;
            }
            let (mut from, mut cut) = (if began { Some(0) } else { None }, None);
            counter.feed(&buf[..n], |records, end| {
                if records == skip {
                    from = Some(end);
                }
                if records == want {
                    cut = Some(end);
                    return false;
                }
                true
            });
            if let Some(from) = from {
                began = true;
                out.extend_from_slice(&buf[from..cut.unwrap_or(n)]);
            }
            if cut.is_some() {
                break;
            }
        }
        Ok(out)
    }
}

struct Counter {
    quote: u8,
    delimiter: u8,
    in_quotes: bool,
    /// The last byte fed before the current chunk (a newline before the first).
    last: u8,
    /// Whether the open quote was read inside an unquoted field (not after a delimiter,
    /// a line's start or another quote).
    opened_mid_field: bool,
    /// Whether a newline (or the end) was read inside quotes opened mid-field: the count
    /// is Polars' but the file may be malformed (`csv_diagnose` says).
    suspect: bool,
    records: u64,
    /// Bytes seen on the current line that make it not blank (not `\r`).
    line_has_content: bool,
    /// Delimiters outside quotes in the current record.
    delimiters: u64,
    /// The delimiters of the first record that is not blank.
    expected: Option<u64>,
    /// Whether records' field counts are checked (`suspect` when one differs).
    check_fields: bool,
}

impl Counter {
    fn new(dialect: &CsvDialect) -> Self {
        Counter {
            quote: dialect.quote,
            delimiter: dialect.delimiter,
            in_quotes: false,
            last: b'\n',
            opened_mid_field: false,
            suspect: false,
            records: 0,
            line_has_content: false,
            delimiters: 0,
            expected: None,
            check_fields: true,
        }
    }

    /// Whether the count may not be the file's: a quote opened mid-field spanning lines,
    /// a quote left open at the end, or a record whose fields are not the first one's.
    /// (`csv_diagnose` then says where; every command refuses such a file.)
    fn suspect(&self) -> bool {
        self.suspect || self.in_quotes
    }

    /// A record ends (outside quotes): its field count is checked against the first's.
    fn end_record(&mut self) {
        if self.check_fields && self.line_has_content {
            match self.expected {
                None => self.expected = Some(self.delimiters),
                Some(e) => self.suspect |= e != self.delimiters,
            }
        }
        self.delimiters = 0;
    }

    /// Takes the next bytes; `on_record(records, end)` is told each time a record ends
    /// (the count so far, and the position just past its newline in `bytes`) and
    /// returns whether to go on.
    fn feed(&mut self, bytes: &[u8], mut on_record: impl FnMut(u64, usize) -> bool) {
        let mut pos = 0;
        // Without a quote character (`--quote none`) only line ends stop the scan.
        let quote = self.quote;
        let next = |rest: &[u8]| match quote {
            0 => memchr::memchr(b'\n', rest),
            q => memchr::memchr2(b'\n', q, rest),
        };
        while let Some(i) = next(&bytes[pos..]) {
            let at = pos + i;
            // Anything but a lone `\r` between the last stop and this one is content.
            if !self.line_has_content && bytes[pos..at].iter().any(|&b| b != b'\r') {
                self.line_has_content = true;
            }
            if self.check_fields && !self.in_quotes {
                self.delimiters += count_byte(&bytes[pos..at], self.delimiter);
            }
            if bytes[at] != b'\n' {
                if !self.in_quotes {
                    let before = if at > 0 { bytes[at - 1] } else { self.last };
                    self.opened_mid_field = ![self.delimiter, b'\n', b'\r', self.quote].contains(&before);
                }
                self.in_quotes = !self.in_quotes;
                self.line_has_content = true;
            } else if self.in_quotes {
                self.suspect |= self.opened_mid_field;
            } else {
                // Polars reads a blank line as a row of nulls, so it counts too.
                self.records += 1;
                self.end_record();
                self.line_has_content = false;
                if !on_record(self.records, at + 1) {
                    return;
                }
            }
            pos = at + 1;
        }
        if !self.line_has_content && bytes[pos..].iter().any(|&b| b != b'\r') {
            self.line_has_content = true;
        }
        if self.check_fields && !self.in_quotes {
            self.delimiters += count_byte(&bytes[pos..], self.delimiter);
        }
        if let Some(&b) = bytes.last() {
            self.last = b;
        }
    }

    /// The records counted; a last record without a trailing newline counts, and its
    /// fields are checked (`suspect` after this).
    fn finish(&mut self) -> u64 {
        let last = u64::from(self.line_has_content && !self.in_quotes);
        if last == 1 {
            self.end_record();
        }
        self.records + u64::from(self.line_has_content)
    }
}

/// How many times `b` occurs in `hay`: a loop the compiler vectorises (a byte counter
/// per lane, summed every 255 bytes), cheaper on a row's few dozen bytes than finding
/// each occurrence with `memchr`.
fn count_byte(hay: &[u8], b: u8) -> u64 {
    hay.chunks(255).map(|c| u64::from(c.iter().fold(0u8, |n, &x| n + u8::from(x == b)))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_checked_across_chunk_boundaries() {
        let text = "a,é€😀\nb,ok\n".as_bytes();
        for size in 1..=text.len() {
            let mut c = Utf8Check::default();
            text.chunks(size).for_each(|ch| c.feed(ch));
            assert!(c.finish(), "chunks of {size}");
            let mut bad = text.to_vec();
            bad[3] = 0xff;
            let mut c = Utf8Check::default();
            bad.chunks(size).for_each(|ch| c.feed(ch));
            assert!(!c.finish(), "bad byte, chunks of {size}");
            let mut c = Utf8Check::default();
            text[..5].chunks(size).for_each(|ch| c.feed(ch));
            assert!(!c.finish(), "cut character, chunks of {size}");
        }
    }

    fn count(text: &[u8]) -> u64 {
        let mut c = Counter::new(&CsvDialect::default());
        // Feed in small pieces to cross chunk boundaries inside quotes and CRLFs.
        for chunk in text.chunks(3) {
            c.feed(chunk, |_, _| true);
        }
        c.finish()
    }

    #[test]
    fn counts_records_not_lines() {
        assert_eq!(count(b"a,b\n1,2\n3,4\n"), 3);
        assert_eq!(count(b"a,b\n1,2\n3,4"), 3, "no trailing newline");
        assert_eq!(count(b"a,b\r\n1,2\r\n"), 2, "CRLF");
        assert_eq!(count(b"a,b\n1,\"x\ny\"\n2,3\n"), 3, "newline inside quotes");
        assert_eq!(count(b"a,b\n\n1,2\n\r\n"), 4, "blank lines are rows of nulls");
        assert_eq!(count(b"a\n\"\"\n"), 2, "an empty quoted field is a record");
        assert_eq!(count(b""), 0);
    }

    #[test]
    fn a_quote_opened_inside_a_field_makes_the_count_suspect() {
        let suspect = |text: &[u8]| {
            let mut c = Counter::new(&CsvDialect::default());
            for chunk in text.chunks(3) {
                c.feed(chunk, |_, _| true);
            }
            c.finish();
            c.suspect()
        };
        assert!(suspect(b"a,b\n1,5\" x\n2,y\n"), "an inch mark");
        assert!(suspect(b"a,b\n1,5\""), "open at the end");
        assert!(!suspect(b"a,b\n1,\"x\ny\"\n"), "a quoted field over two lines");
        assert!(!suspect(b"a,b\n1,\"x\"\"\ny\"\n"), "an escaped quote before the newline");
        assert!(!suspect(b"a,b\n1,x\"y\"z\n2,w\n"), "quotes that pair up on their line");
        assert!(!suspect(b"\"a\",b\r\n\"1\",2\r\n"), "quoted fields at line starts");
        // Every command gives one verdict on a malformed file: the count finds what the
        // engines' parsers would (csv_diagnose then says where).
        assert!(suspect(b"a,b\n1,2\n3,4,5\n6,7\n"), "a row with a field too many");
        assert!(suspect(b"a,b\n1,2\n3\n"), "a row with a field too few");
        assert!(suspect(b"a,b\n1,2\n3,4,5"), "the last row, without a newline");
        assert!(suspect(b"a,b\n1,\"x\n2,y\n"), "a quoted field never closed");
        assert!(!suspect(b"a,b\n1,2\n\n\r\n3,4"), "blank lines are rows of nulls");
        assert!(!suspect(b"a,b\n1,\"x,y\"\n2,\"p\nq,r\"\n"), "delimiters inside quotes");
    }

    /// Polars' CSV line splitter, as patched in vendor/polars-io (newlines and quotes
    /// found with `memchr2`), gives what its byte-at-a-time loop gives, on random text
    /// dense with quotes and newlines, with and without quoting.
    #[test]
    fn polars_line_splitter_agrees_with_a_bytewise_count() {
        use polars::prelude::_csv_read_internal::CountLines;
        let mut rng = crate::generate::Rng::new(0x0c57);
        let mut next = move |n: u64| rng.below(n);
        let alphabet = b"a,\"\n'x";
        for round in 0..2000 {
            let len = next(if round % 10 == 0 { 600 } else { 90 }) as usize;
            let text: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len() as u64) as usize]).collect();
            for quote in [Some(b'"'), Some(b'\''), None] {
                let counter = CountLines::new(quote, b'\n', None);
                // Per start (outside or inside a quoted field): newlines outside quotes,
                // the last one's offset, whether the text ends inside quotes.
                for (start, got) in counter.analyze_chunk(&text).iter().enumerate() {
                    let (mut inside, mut lines, mut last) = (start == 1, 0, 0);
                    for (i, &c) in text.iter().enumerate() {
                        inside ^= Some(c) == quote;
                        if c == b'\n' && !inside {
                            lines += 1;
                            last = i;
                        }
                    }
                    let case = format!("{:?} quote {quote:?} start {start}", String::from_utf8_lossy(&text));
                    assert_eq!(got.newline_count, lines, "{case}");
                    assert_eq!(got.last_newline_offset, last, "{case}");
                    assert_eq!(got.end_inside_string, inside, "{case}");
                }
                // The in-memory reader's split: rows up to the last newline outside quotes.
                let mut size = text.len().max(1);
                let (lines, last) = counter.find_next(&text, &mut size);
                let stats = counter.analyze_chunk(&text)[0];
                assert_eq!((lines, last), (stats.newline_count, stats.last_newline_offset));
            }
        }
    }
}
