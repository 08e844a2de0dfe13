//! A precise look at a delimited text file that an engine refused: the first invalid
//! UTF-8 sequence, unterminated quote, row whose field count differs from the header, or
//! quote inside an unquoted field that leaves its line's quotes unbalanced (Polars finds
//! where rows end by counting every quote, so after such a line it reads rows as quoted
//! text: wrong rows or none, sometimes without an error), with its line and byte offset.
//! Runs on the sniffed prefix when a file is opened and on the error path, in one
//! streaming pass.

use std::io::Read;

use super::CsvDialect;

/// The first structural problem in the file at `path`, as a message naming its line and
/// byte offset; `None` when the file is well-formed (or cannot be read here).
pub fn diagnose(path: &str, dialect: &CsvDialect) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    diagnose_reader(file, dialect, true).map(|m| format!("{path}: {m}"))
}

/// The same checks on the first bytes of a file (`whole` when they are all of it). Of a
/// prefix only what it proves is reported: a ragged row or invalid byte before its last
/// line, not a quote or character that the cut left open.
pub fn diagnose_prefix(name: &str, bytes: &[u8], dialect: &CsvDialect, whole: bool) -> Option<String> {
    diagnose_reader(bytes, dialect, whole).map(|m| format!("{name}: {m}"))
}

fn diagnose_reader(mut reader: impl Read, dialect: &CsvDialect, whole: bool) -> Option<String> {
    let mut scanner = Scanner::new(dialect);
    let mut buf = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    let mut offset: u64 = 0; // byte offset of carry[0] / buf[0] in the file
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => return None,
        };
        carry.extend_from_slice(&buf[..n]);
        // Validate UTF-8, keeping an incomplete trailing sequence for the next chunk.
        let valid_len = match std::str::from_utf8(&carry) {
            Ok(_) => carry.len(),
            Err(e) => match e.error_len() {
                None => e.valid_up_to(),
                Some(_) => {
                    let at = e.valid_up_to();
                    scanner.feed(&carry[..at]);
                    if let Some(problem) = scanner.problem.take() {
                        return Some(problem);
                    }
                    return Some(format!(
                        "invalid UTF-8 at byte offset {} (line {}); the file must be UTF-8 text",
                        offset + at as u64,
                        scanner.line
                    ));
                }
            },
        };
        scanner.feed(&carry[..valid_len]);
        if let Some(problem) = scanner.problem.take() {
            return Some(problem);
        }
        offset += valid_len as u64;
        carry.drain(..valid_len);
    }
    if !whole {
        return None;
    }
    if !carry.is_empty() {
        return Some(format!(
            "invalid UTF-8 at byte offset {offset} (line {}): the file ends inside a character",
            scanner.line
        ));
    }
    scanner.finish()
}

struct Scanner {
    delimiter: u8,
    quote: u8,
    /// 1-based line number of the byte being read.
    line: u64,
    /// Byte offset of the byte being read.
    offset: u64,
    in_quotes: bool,
    /// A quote was just read inside a quoted field: either an escaped quote or the end.
    quote_pending: bool,
    at_field_start: bool,
    record_empty: bool,
    fields: usize,
    expected: Option<usize>,
    record_line: u64,
    quote_line: u64,
    quote_offset: u64,
    /// Whether an odd number of quotes has been read, counting every one as Polars'
    /// row splitter does.
    odd_quotes: bool,
    /// The first quote of the current record read inside an unquoted field (line, offset).
    stray: Option<(u64, u64)>,
    problem: Option<String>,
}

impl Scanner {
    fn new(dialect: &CsvDialect) -> Self {
        Scanner {
            delimiter: dialect.delimiter,
            quote: dialect.quote,
            line: 1,
            offset: 0,
            in_quotes: false,
            quote_pending: false,
            at_field_start: true,
            record_empty: true,
            fields: 1,
            expected: None,
            record_line: 1,
            quote_line: 0,
            quote_offset: 0,
            odd_quotes: false,
            stray: None,
            problem: None,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.problem.is_some() {
                return;
            }
            self.byte(b);
            self.offset += 1;
            if b == b'\n' {
                self.line += 1;
            }
        }
    }

    fn byte(&mut self, b: u8) {
        if self.quote == 0 {
            // Fields are never quoted (`--quote none`): only delimiters and lines count.
            self.unquoted(b);
            return;
        }
        self.odd_quotes ^= b == self.quote;
        if self.in_quotes {
            if self.quote_pending {
                self.quote_pending = false;
                if b == self.quote {
                    return; // an escaped quote ("")
                }
                self.in_quotes = false; // the quote closed the field; fall through
            } else {
                if b == self.quote {
                    self.quote_pending = true;
                }
                return;
            }
        }
        if b == self.quote && self.at_field_start {
            self.in_quotes = true;
            self.quote_line = self.line;
            self.quote_offset = self.offset;
            self.at_field_start = false;
            self.record_empty = false;
        } else if b == self.quote {
            self.stray.get_or_insert((self.line, self.offset));
            self.at_field_start = false;
            self.record_empty = false;
        } else {
            self.unquoted(b);
        }
    }

    /// A byte outside quotes that is not a quote.
    fn unquoted(&mut self, b: u8) {
        if b == self.delimiter {
            self.fields += 1;
            self.at_field_start = true;
            self.record_empty = false;
        } else if b == b'\n' {
            self.end_record();
        } else if b != b'\r' {
            self.at_field_start = false;
            self.record_empty = false;
        }
    }

    fn end_record(&mut self) {
        // The record's quoted fields hold an even number of quotes, so an odd count here
        // comes from its stray quotes (and the count was even at the previous record end).
        if let (true, Some((line, offset))) = (self.odd_quotes, self.stray) {
            let q = self.quote as char;
            self.problem = Some(format!(
                "a quote inside an unquoted field at line {line} (byte offset {offset}) leaves \
                 the line's quotes unbalanced, so the rows after it would be misread; quote the \
                 whole field and double the quotes inside it (x{q}y as {q}x{q}{q}y{q}), or, if the \
                 file never quotes its fields, read it with `--quote none`"
            ));
            return;
        }
        self.stray = None;
        if !self.record_empty {
            match self.expected {
                None => self.expected = Some(self.fields),
                Some(expected) if expected != self.fields => {
                    self.problem = Some(format!(
                        "ragged row at line {}: {} fields where the first row has {expected}",
                        self.record_line, self.fields
                    ));
                }
                Some(_) => {}
            }
        }
        self.fields = 1;
        self.at_field_start = true;
        self.record_empty = true;
        self.record_line = self.line + 1;
    }

    fn finish(mut self) -> Option<String> {
        if self.in_quotes && !self.quote_pending {
            return Some(format!(
                "unterminated quoted field starting at line {} (byte offset {}): \
                 the closing quote is missing",
                self.quote_line, self.quote_offset
            ));
        }
        self.in_quotes = false;
        self.end_record();
        self.problem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &[u8]) -> Option<String> {
        diagnose_reader(text, &CsvDialect::default(), true)
    }

    #[test]
    fn a_prefix_reports_only_what_it_proves() {
        let d = CsvDialect::default();
        // Cut inside a quoted field and inside a two-byte character: nothing proven.
        assert_eq!(diagnose_reader(&b"a,b\n1,\"open"[..], &d, false), None);
        assert_eq!(diagnose_reader(&b"a,b\n1,\xc3"[..], &d, false), None);
        let m = diagnose_reader(&b"a,b\n1\n2,3\n4,"[..], &d, false).unwrap();
        assert!(m.contains("line 2"), "{m}");
    }

    #[test]
    fn well_formed_files_pass() {
        assert_eq!(check(b"a,b\n1,\"x,\"\"y\"\"\"\n2,3\n"), None);
        assert_eq!(check(b"a,b\r\n1,2\r\n\r\n"), None);
        assert_eq!(check(b"a,b\n1,\"multi\nline\"\n"), None);
    }

    #[test]
    fn problems_name_their_line() {
        let m = check(b"a,b\n1,2\n3,4,5\n").unwrap();
        assert!(m.contains("line 3") && m.contains("3 fields"), "{m}");
        let m = check(b"a,b\n1,\"open\n2,3\n").unwrap();
        assert!(m.contains("unterminated") && m.contains("line 2"), "{m}");
        let m = check(b"a,b\n1,\xff\n").unwrap();
        assert!(m.contains("invalid UTF-8 at byte offset 6") && m.contains("line 2"), "{m}");
        // An inch mark: Polars would read every row after it as one quoted field.
        let m = check(b"a,b\n1,x\n2,5\" screen\n3,y\n").unwrap();
        assert!(m.contains("quote inside an unquoted field at line 3 (byte offset 11)"), "{m}");
        let m = check(b"a,b\n1,5\"\n2,6\"\n").unwrap();
        assert!(m.contains("line 2 (byte offset 7)"), "{m}");
        // Also on the last line, without its newline, and on a prefix.
        assert!(check(b"a,b\n1,5\"").unwrap().contains("line 2"));
        let d = CsvDialect::default();
        assert!(diagnose_reader(&b"a,b\n1,5\"\n2,"[..], &d, false).unwrap().contains("line 2"));
    }

    /// Quotes inside unquoted fields that leave the line's quotes even are read as text
    /// by Polars too: nothing to report.
    #[test]
    fn balanced_quotes_inside_fields_pass() {
        assert_eq!(check(b"a,b\n1,x\"y\"z\n2,w\n"), None);
        assert_eq!(check(b"a,b\n1,x\"\"y\n2,\"q\"\"r\"\n"), None);
        assert_eq!(check(b"a,b\n1,5\" and 6\"\n2,\"multi\nline \"\"x\"\"\"\n"), None);
    }
}
