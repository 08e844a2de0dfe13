//! When an engine fails on an NDJSON, Arrow IPC or Parquet file, find what is wrong with the file
//! itself and say where, in place of the engine's own words ("ExpectedObjectKey at
//! character 8", "out-of-spec: InvalidFooter").

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

/// The first line of a local NDJSON file that is not one JSON object, with its line and
/// column; `None` when every line is (or the file cannot be read: the engine's error
/// stands then).
pub fn ndjson(path: &str) -> Option<String> {
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(path).ok()?);
    let mut line = Vec::new();
    let mut number = 0u64;
    let mut offset = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).ok()?;
        if n == 0 {
            return None;
        }
        number += 1;
        let start = offset;
        offset += n as u64;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(other) => {
                let kind = match other {
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::Bool(_) => "a boolean",
                    _ => "null",
                };
                return Some(format!(
                    "{path}: line {number} (byte offset {start}): {kind} where NDJSON needs one JSON object per line"
                ));
            }
            Err(e) => {
                let what = e.to_string();
                let what = what.split(" at line ").next().unwrap_or(&what).to_string();
                let what = match std::str::from_utf8(text) {
                    Err(_) => "not UTF-8 text".to_string(),
                    Ok(_) => what,
                };
                return Some(format!(
                    "{path}: line {number}, column {} (byte offset {start}): invalid JSON: {what}",
                    e.column()
                ));
            }
        }
    }
}

/// The most levels of arrays and objects a JSON value may nest: deeper, a reader that
/// recurses per level would overflow its stack (a crash, not an error).
pub const MAX_JSON_DEPTH: usize = 512;

/// Where a local NDJSON file nests deeper than [`MAX_JSON_DEPTH`]: a line nested that
/// deep overflows the engines' JSON readers (a crash, not a message), wherever it is in
/// the file. The file is read once in 1 MiB chunks, jumping from newline to newline and
/// counting the `[` and `{` of lines longer than [`MAX_JSON_DEPTH`] bytes (a loop the
/// compiler vectorises): only a line with more than [`MAX_JSON_DEPTH`] of them can nest
/// that deep, and only such a line is followed bracket by bracket, strings skipped (from
/// memory, or read again when it spans chunks). 0.19 s a GB of 175-byte lines, 0.55 s a
/// GB of 880-byte lines (the byte loop it replaced: 1.3-1.5 s).
///
/// A file that passes is remembered by version (`csv_count::Whole::JsonDepth`) and not
/// read again.
pub fn too_deep_file(path: &str) -> Option<String> {
    use super::csv_count::{self, Whole};
    if csv_count::is_known_good(Whole::JsonDepth, path) {
        return None;
    }
    let problem = scan_depth(path);
    if problem.is_none() {
        csv_count::mark_known_good(Whole::JsonDepth, path);
    }
    problem
}

fn scan_depth(path: &str) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut offset, mut line, mut line_start, mut opens) = (0u64, 1u64, 0u64, 0usize);
    // Follows the line `start..end` (in `chunk` from `offset` when it is all there).
    let deep = |start: u64, end: u64, chunk: &[u8], offset: u64| -> bool {
        let mut scan = Depth::default();
        if start >= offset {
            let from = (start - offset) as usize;
            return scan.feed(&chunk[from..from + (end - start) as usize]).is_some();
        }
        let mut piece = vec![0u8; 1 << 20];
        let mut at = start;
        while at < end {
            let want = piece.len().min((end - at) as usize);
            match file.read_at(&mut piece[..want], at) {
                Ok(0) | Err(_) => return false,
                Ok(n) => {
                    if scan.feed(&piece[..n]).is_some() {
                        return true;
                    }
                    at += n as u64;
                }
            }
        }
        false
    };
    loop {
        let n = match file.read_at(&mut buf, offset) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let mut from = 0;
        for newline in memchr::memchr_iter(b'\n', chunk) {
            let end = offset + newline as u64;
            // A line of no more bytes than the limit cannot open more brackets than it.
            if end - line_start > MAX_JSON_DEPTH as u64 {
                opens += count_opens(&chunk[from..newline]);
            }
            if opens > MAX_JSON_DEPTH && deep(line_start, end, chunk, offset) {
                return Some(deep_message(path, line));
            }
            (line, line_start, opens, from) = (line + 1, end + 1, 0, newline + 1);
        }
        opens += count_opens(&chunk[from..]);
        offset += n as u64;
    }
    (opens > MAX_JSON_DEPTH && deep(line_start, offset, &[], offset)).then(|| deep_message(path, line))
}

/// The `[` and `{` in `bytes`, strings not told apart: an upper bound of a line's depth.
fn count_opens(bytes: &[u8]) -> usize {
    bytes.iter().map(|&b| usize::from((b == b'[') | (b == b'{'))).sum()
}

/// Where NDJSON text read in pieces (an object streamed from a store) first nests
/// deeper than [`MAX_JSON_DEPTH`], followed bracket by bracket, strings skipped.
#[derive(Debug, Default)]
pub struct DeepLines(Depth);

impl DeepLines {
    /// The message naming the line of `path` where the text so far nests too deep.
    pub fn feed(&mut self, path: &str, bytes: &[u8]) -> Option<String> {
        self.0.feed(bytes).map(|line| deep_message(path, line))
    }
}

fn deep_message(path: &str, line: u64) -> String {
    format!("{path}: line {line}: JSON nests more than {MAX_JSON_DEPTH} levels of arrays and objects")
}

/// Nesting depth of NDJSON text fed in pieces (strings and escapes skipped).
#[derive(Debug)]
struct Depth {
    depth: usize,
    line: u64,
    in_string: bool,
    escaped: bool,
}

impl Default for Depth {
    fn default() -> Self {
        Depth { depth: 0, line: 1, in_string: false, escaped: false }
    }
}

impl Depth {
    /// The line where the text so far nests too deep, if it does.
    fn feed(&mut self, bytes: &[u8]) -> Option<u64> {
        for &b in bytes {
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth > MAX_JSON_DEPTH {
                        return Some(self.line);
                    }
                }
                b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                b'\n' => {
                    self.line += 1;
                    self.depth = 0;
                }
                _ => {}
            }
        }
        None
    }
}

/// What is wrong with a local Arrow IPC file's frame: the magic bytes that open and
/// close a complete file.
pub fn ipc(path: &str) -> Option<String> {
    const MAGIC: &[u8; 6] = b"ARROW1";
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut head = [0u8; 6];
    if len < 12 || file.read_exact(&mut head).is_err() {
        return Some(format!("{path}: not an Arrow IPC file: {len} bytes, too short to hold one"));
    }
    if &head != MAGIC {
        // An IPC stream (no file magic) is read by neither engine's file reader.
        return Some(format!(
            "{path}: not an Arrow IPC file (it does not start with ARROW1; an IPC stream must be written as a file)"
        ));
    }
    let mut tail = [0u8; 6];
    file.seek(SeekFrom::End(-6)).ok()?;
    file.read_exact(&mut tail).ok()?;
    if &tail != MAGIC {
        return Some(format!(
            "{path}: the Arrow IPC file is incomplete ({len} bytes, no footer at its end): \
             it was cut short while written or copied"
        ));
    }
    None
}

/// What is wrong with a local Parquet file's frame: `PAR1` at both ends, and a footer
/// that fits in the file.
pub fn parquet(path: &str) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut head = [0u8; 4];
    if len < 12 || file.read_exact(&mut head).is_err() {
        return Some(format!("{path}: not a Parquet file: {len} bytes, too short to hold one"));
    }
    if &head != b"PAR1" {
        return Some(format!("{path}: not a Parquet file (it does not start with PAR1)"));
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8)).ok()?;
    file.read_exact(&mut tail).ok()?;
    if &tail[4..] != b"PAR1" {
        return Some(format!(
            "{path}: the Parquet file is incomplete ({len} bytes, no footer at its end): \
             it was cut short while written or copied"
        ));
    }
    let footer = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if footer + 12 > len {
        return Some(format!(
            "{path}: the Parquet file is damaged: its footer claims {footer} bytes of a {len}-byte file"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_and_cut_files_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ndjson");
        std::fs::write(&p, "{\"a\":1}\n\n{\"a\": 2}\r\n{\"a\": 3,,}\n").unwrap();
        let p = p.to_str().unwrap();
        let m = ndjson(p).unwrap();
        assert!(m.contains("line 4, column 9 (byte offset 19): invalid JSON: key must be a string"), "{m}");
        std::fs::write(p, "{\"a\":1}\n[1]\n").unwrap();
        assert!(ndjson(p).unwrap().contains("line 2 (byte offset 8): an array where NDJSON"));
        std::fs::write(p, "{\"a\":1}\n{\"a\":2}\n").unwrap();
        assert_eq!(ndjson(p), None);
        let deep =
            format!("{{\"a\": 1}}\n{{\"b\": \"[[[\", \"a\": {}{}}}\n", "[".repeat(600), "]".repeat(600));
        let too_deep = |bytes: &[u8]| DeepLines::default().feed("x", bytes);
        assert!(too_deep(deep.as_bytes()).unwrap().contains("line 2: JSON nests more than 512"));
        assert_eq!(too_deep(b"{\"a\": [[1]], \"s\": \"[[[[\\\"[[\"}\n"), None);
        let a = dir.path().join("x.arrow");
        std::fs::write(&a, b"ARROW1\0\0 some bytes, no end").unwrap();
        assert!(ipc(a.to_str().unwrap()).unwrap().contains("incomplete"));
        std::fs::write(&a, b"ARROW1\0\0 some bytes ARROW1").unwrap();
        assert_eq!(ipc(a.to_str().unwrap()), None);
        let q = dir.path().join("x.parquet");
        std::fs::write(&q, b"PAR1 some pages, cut").unwrap();
        assert!(parquet(q.to_str().unwrap()).unwrap().contains("incomplete (20 bytes"));
        std::fs::write(&q, b"PAR1garbage\xff\0\0\0PAR1").unwrap();
        assert!(parquet(q.to_str().unwrap())
            .unwrap()
            .contains("its footer claims 255 bytes of a 19-byte file"));
    }

    #[test]
    fn a_file_is_followed_bracket_by_bracket_only_where_a_line_could_nest_too_deep() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ndjson");
        let path = p.to_str().unwrap();
        // 2,000 sibling objects: more than 512 opening brackets on a line, nested 2 deep.
        let wide = format!("{{\"items\": [{}]}}\n", vec!["{\"k\": 1}"; 2000].join(","));
        // Brackets inside strings are not nesting.
        let quoted = format!("{{\"s\": \"{}\"}}\n", "[".repeat(3000));
        let deep = format!("{{\"a\": {}{}}}\n", "[".repeat(600), "]".repeat(600));
        // Lines start and end across the 1 MiB chunks: the deep line is line 1,001.
        let filler = format!("{}{}", wide.repeat(300), quoted.repeat(200));
        assert!(filler.len() > 2 << 20, "{}", filler.len());
        std::fs::write(&p, format!("{filler}{filler}")).unwrap();
        assert_eq!(scan_depth(path), None);
        std::fs::write(&p, format!("{filler}{filler}{deep}{wide}")).unwrap();
        let m = scan_depth(path).unwrap();
        assert!(m.ends_with("line 1001: JSON nests more than 512 levels of arrays and objects"), "{m}");
        // A deep last line without a newline, spanning two chunks.
        let long_deep = format!("{{\"a\": {}{}}}", "[".repeat(1 << 20), "]".repeat(1 << 20));
        std::fs::write(&p, format!("{wide}{long_deep}")).unwrap();
        assert!(scan_depth(path).unwrap().contains("line 2: JSON"));
    }
}
