//! Binding rows to SQLite's prepared INSERT: a raw statement bound a batch of rows at a
//! time (no per-value allocation), the batch's columns made ready (dates and times as
//! ISO text, as SQLite stores them), and the ISO writer.

use super::*;

/// A prepared statement driven through SQLite's C API, so that each value is bound where
/// it lies in the batch's Arrow buffers (`SQLITE_STATIC`) instead of being copied by
/// SQLite first, as rusqlite's safe binding does: the copies and their allocations were
/// a fifth of the writer's time. Bindings point into one batch only: `insert_batch`
/// clears them before the batch is dropped.
pub(super) struct RawStatement<'c> {
    db: *mut rusqlite::ffi::sqlite3,
    stmt: *mut rusqlite::ffi::sqlite3_stmt,
    _conn: std::marker::PhantomData<&'c Connection>,
}

impl<'c> RawStatement<'c> {
    pub(super) fn prepare(conn: &'c Connection, sql: &str) -> std::result::Result<RawStatement<'c>, String> {
        use rusqlite::ffi;
        let sql = std::ffi::CString::new(sql).map_err(|e| e.to_string())?;
        // SAFETY: the handle stays valid while `conn` is borrowed, which `'c` ensures.
        let db = unsafe { conn.handle() };
        let mut stmt = std::ptr::null_mut();
        // SAFETY: `sql` is NUL-terminated; `stmt` receives a statement we finalize on drop.
        let rc = unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, std::ptr::null_mut()) };
        let statement = RawStatement { db, stmt, _conn: std::marker::PhantomData };
        statement.check(rc)?;
        Ok(statement)
    }

    #[inline]
    pub(super) fn check(&self, rc: std::os::raw::c_int) -> std::result::Result<(), String> {
        if rc == rusqlite::ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    #[cold]
    pub(super) fn error(&self) -> String {
        // SAFETY: `db` is an open connection; the message is copied before any other call.
        let message = unsafe { std::ffi::CStr::from_ptr(rusqlite::ffi::sqlite3_errmsg(self.db)) };
        os_reason(self.db).unwrap_or_else(|| message.to_string_lossy().into_owned())
    }

    #[inline]
    pub(super) fn null(&mut self, at: i32) -> std::result::Result<(), String> {
        // SAFETY: a live statement; SQLite checks the index.
        self.check(unsafe { rusqlite::ffi::sqlite3_bind_null(self.stmt, at) })
    }

    #[inline]
    pub(super) fn int(&mut self, at: i32, v: i64) -> std::result::Result<(), String> {
        // SAFETY: as for `null`.
        self.check(unsafe { rusqlite::ffi::sqlite3_bind_int64(self.stmt, at, v) })
    }

    #[inline]
    pub(super) fn float(&mut self, at: i32, v: f64) -> std::result::Result<(), String> {
        // SAFETY: as for `null`.
        self.check(unsafe { rusqlite::ffi::sqlite3_bind_double(self.stmt, at, v) })
    }

    /// Binds `v` without a copy.
    ///
    /// # Safety
    /// `v` must stay alive and unmoved until the parameter is bound again or cleared.
    #[inline]
    unsafe fn text(&mut self, at: i32, v: &[u8]) -> std::result::Result<(), String> {
        use rusqlite::ffi;
        let rc = unsafe {
            ffi::sqlite3_bind_text64(
                self.stmt,
                at,
                v.as_ptr().cast(),
                v.len() as u64,
                ffi::SQLITE_STATIC(),
                ffi::SQLITE_UTF8 as u8,
            )
        };
        self.check(rc)
    }

    /// Binds `v` without a copy (the same promise as `text`).
    #[inline]
    unsafe fn blob(&mut self, at: i32, v: &[u8]) -> std::result::Result<(), String> {
        use rusqlite::ffi;
        let rc = unsafe {
            ffi::sqlite3_bind_blob64(self.stmt, at, v.as_ptr().cast(), v.len() as u64, ffi::SQLITE_STATIC())
        };
        self.check(rc)
    }

    /// Runs the statement once with the values bound.
    pub(super) fn execute(&mut self) -> std::result::Result<(), String> {
        use rusqlite::ffi;
        // SAFETY: a live statement with every parameter bound.
        let rc = unsafe { ffi::sqlite3_step(self.stmt) };
        // SAFETY: as above; reset keeps the bindings and reports the step's error again.
        let reset = unsafe { ffi::sqlite3_reset(self.stmt) };
        if rc == ffi::SQLITE_DONE {
            return Ok(());
        }
        self.check(if reset == ffi::SQLITE_OK { rc } else { reset })
    }

    /// Unbinds every parameter (SQLite no longer points into a batch).
    pub(super) fn clear(&mut self) {
        // SAFETY: a live statement.
        unsafe { rusqlite::ffi::sqlite3_clear_bindings(self.stmt) };
    }
}

impl Drop for RawStatement<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared on `db` and is finalized once.
        unsafe { rusqlite::ffi::sqlite3_finalize(self.stmt) };
    }
}

/// A batch as the writer takes it: its columns' chunks aligned, and its dates and times
/// already written as ISO-8601 text. Both are done on the Polars thread that produced
/// the batch: the writer thread is a load's critical path, and formatting there took 7%
/// of its time (a 10M-row load from Parquet 1.17x faster by median without it).
pub(super) struct Ready {
    pub(super) df: DataFrame,
    /// Per column, one `Texts` a chunk for dates and times, none for other columns.
    pub(super) texts: Vec<Vec<Texts>>,
}

impl Ready {
    pub(super) fn new(mut df: DataFrame) -> PolarsResult<Ready> {
        df.align_chunks();
        let mut iso = Iso::default();
        let mut texts = Vec::with_capacity(df.width());
        for c in df.columns() {
            let s = c.as_materialized_series();
            texts.push(match s.dtype() {
                DataType::Date => {
                    s.date()?.physical().downcast_iter().map(|a| Texts::new(a, &mut iso, Iso::date)).collect()
                }
                DataType::Datetime(unit, zone) => {
                    let (unit, zoned) = (*unit, zone.is_some());
                    let write = |iso: &mut Iso, v| iso.datetime(v, unit, zoned);
                    s.datetime()?.physical().downcast_iter().map(|a| Texts::new(a, &mut iso, write)).collect()
                }
                DataType::Time => {
                    s.time()?.physical().downcast_iter().map(|a| Texts::new(a, &mut iso, Iso::time)).collect()
                }
                _ => Vec::new(),
            });
        }
        Ok(Ready { df, texts })
    }
}

/// One chunk of a date or time column as text: value `i` is `bytes[ends[i - 1]..ends[i]]`
/// (from 0 for the first), empty for a null (no date or time is written empty).
pub(super) struct Texts {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Texts {
    /// Writes each value of `a` with `write`, which formats one into `iso`.
    pub(super) fn new<T: polars_arrow::types::NativeType>(
        a: &PrimitiveArray<T>,
        iso: &mut Iso,
        write: impl Fn(&mut Iso, T),
    ) -> Texts {
        // Room for a timestamp (`YYYY-MM-DD HH:MM:SS.ffffff`, 26 bytes) a value.
        let mut texts = Texts { bytes: Vec::with_capacity(a.len() * 26), ends: Vec::with_capacity(a.len()) };
        for v in a.iter() {
            if let Some(v) = v {
                write(iso, *v);
                texts.bytes.extend_from_slice(iso.bytes());
            }
            texts.ends.push(texts.bytes.len());
        }
        texts
    }

    #[inline]
    pub(super) fn get(&self, i: usize) -> Option<&[u8]> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends[i];
        (end > start).then(|| &self.bytes[start..end])
    }
}

/// One column of one chunk of a batch, as the writer binds it.
pub(super) enum Cells<'a> {
    Int(&'a PrimitiveArray<i64>),
    Float(&'a PrimitiveArray<f64>),
    Text(&'a Utf8ViewArray),
    Bytes(&'a BinaryViewArray),
    /// A date or time, already written as text.
    Iso(&'a Texts),
}

/// Inserts every row of `batch` (columns i64, f64, text, bytes, dates, datetimes or
/// times, as `column_plan` left them), `per` rows a statement.
pub(super) fn insert_batch(
    many: &mut RawStatement<'_>,
    per: usize,
    one: &mut RawStatement<'_>,
    batch: &Ready,
) -> std::result::Result<u64, String> {
    let result = insert_aligned(many, per, one, batch);
    // The statements must not point into the batch once it is dropped.
    many.clear();
    one.clear();
    result.map(|()| batch.df.height() as u64)
}

pub(super) fn insert_aligned(
    many: &mut RawStatement<'_>,
    per: usize,
    one: &mut RawStatement<'_>,
    batch: &Ready,
) -> std::result::Result<(), String> {
    let series: Vec<&Series> = batch.df.columns().iter().map(|c| c.as_materialized_series()).collect();
    let chunks = series.first().map_or(0, |s| s.n_chunks());
    let width = series.len();
    // `Ready::new` gave every column the same chunks.
    let unaligned = || "a batch's columns have different chunks (a bug in assay)".to_string();
    for k in 0..chunks {
        let mut cells = Vec::with_capacity(width);
        for (s, texts) in series.iter().zip(&batch.texts) {
            let e = |e: PolarsError| e.to_string();
            cells.push(match s.dtype() {
                DataType::Int64 => Cells::Int(s.i64().map_err(e)?.downcast_get(k).ok_or_else(unaligned)?),
                DataType::Float64 => Cells::Float(s.f64().map_err(e)?.downcast_get(k).ok_or_else(unaligned)?),
                DataType::Binary => {
                    Cells::Bytes(s.binary().map_err(e)?.downcast_get(k).ok_or_else(unaligned)?)
                }
                DataType::Date | DataType::Datetime(_, _) | DataType::Time => {
                    Cells::Iso(texts.get(k).ok_or_else(unaligned)?)
                }
                _ => Cells::Text(s.str().map_err(e)?.downcast_get(k).ok_or_else(unaligned)?),
            });
        }
        let rows = series.first().map_or(0, |s| s.chunks()[k].len());
        let mut row = 0;
        while row + per <= rows {
            bind_rows(many, &cells, row, per)?;
            many.execute()?;
            row += per;
        }
        while row < rows {
            bind_rows(one, &cells, row, 1)?;
            one.execute()?;
            row += 1;
        }
    }
    Ok(())
}

/// Binds rows `first..first + count` of `cells` to the parameters of `stmt`, a column at a
/// time (the column's kind is matched once, not once a value).
pub(super) fn bind_rows(
    stmt: &mut RawStatement<'_>,
    cells: &[Cells<'_>],
    first: usize,
    count: usize,
) -> std::result::Result<(), String> {
    let width = cells.len();
    // Binds each row's value of one column, or NULL where it has none.
    macro_rules! each {
        ($array:expr, $j:expr, |$at:ident, $v:ident| $bind:expr) => {
            for slot in 0..count {
                let $at = (slot * width + $j + 1) as i32;
                match $array.get(first + slot) {
                    Some($v) => $bind,
                    None => stmt.null($at)?,
                }
            }
        };
    }
    for (j, cell) in cells.iter().enumerate() {
        // SAFETY (text, blob): the arrays and texts live in the batch, which outlives every
        // execution of these bindings (`insert_batch` clears them before it returns).
        match cell {
            Cells::Int(a) => each!(a, j, |at, v| stmt.int(at, v)?),
            Cells::Float(a) => each!(a, j, |at, v| stmt.float(at, v)?),
            Cells::Text(a) => each!(a, j, |at, v| unsafe { stmt.text(at, v.as_bytes())? }),
            Cells::Bytes(a) => each!(a, j, |at, v| unsafe { stmt.blob(at, v)? }),
            Cells::Iso(t) => each!(t, j, |at, v| unsafe { stmt.text(at, v)? }),
        }
    }
    Ok(())
}

/// A date or time written as SQLite stores them: ISO-8601 text, `YYYY-MM-DD`,
/// `YYYY-MM-DD HH:MM:SS.ffffff` (with `+00:00` when zoned: the instant in UTC) and
/// `HH:MM:SS.ffffff` (what chrono's `%Y-%m-%d %H:%M:%S%.6f` gives, years outside
/// 0..=9999 signed), written by hand: Polars' `dt.to_string` parsed the format anew for
/// every value and took a sixth of a load's time.
#[derive(Clone)]
pub(super) struct Iso {
    buf: [u8; 40],
    len: usize,
}

impl Default for Iso {
    fn default() -> Iso {
        Iso { buf: [0; 40], len: 0 }
    }
}

impl Iso {
    #[inline]
    pub(super) fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// `v` (below 100) as two digits.
    #[inline]
    pub(super) fn pair(&mut self, v: u64) {
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let i = (v % 100) as usize * 2;
        self.buf[self.len..self.len + 2].copy_from_slice(&PAIRS[i..i + 2]);
        self.len += 2;
    }

    /// `v` in decimal, zero-padded to `width` digits.
    pub(super) fn digits(&mut self, v: u64, width: usize) {
        let mut tmp = [b'0'; 20];
        let mut n = v;
        let mut i = tmp.len();
        while n > 0 || tmp.len() - i < width {
            i -= 1;
            tmp[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let d = &tmp[i..];
        self.buf[self.len..self.len + d.len()].copy_from_slice(d);
        self.len += d.len();
    }

    pub(super) fn ymd(&mut self, days: i64) {
        // Days since 1970-01-01 to the proleptic Gregorian date (Howard Hinnant's
        // `civil_from_days`).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if (0..=9999).contains(&year) {
            self.pair(year as u64 / 100);
            self.pair(year as u64);
        } else {
            self.push(if year < 0 { b'-' } else { b'+' });
            self.digits(year.unsigned_abs(), 4);
        }
        self.push(b'-');
        self.pair(month as u64);
        self.push(b'-');
        self.pair(day as u64);
    }

    pub(super) fn hms(&mut self, seconds: u64, micros: u64) {
        self.pair(seconds / 3600);
        self.push(b':');
        self.pair(seconds / 60 % 60);
        self.push(b':');
        self.pair(seconds % 60);
        self.push(b'.');
        self.pair(micros / 10_000);
        self.pair(micros / 100);
        self.pair(micros);
    }

    /// The last value written (ASCII only).
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub(super) fn date(&mut self, days: i32) {
        self.len = 0;
        self.ymd(i64::from(days));
    }

    pub(super) fn datetime(&mut self, v: i64, unit: TimeUnit, zoned: bool) {
        let per_second: i64 = match unit {
            TimeUnit::Nanoseconds => 1_000_000_000,
            TimeUnit::Microseconds => 1_000_000,
            TimeUnit::Milliseconds => 1_000,
        };
        let seconds = v.div_euclid(per_second);
        let micros = (v.rem_euclid(per_second) * 1_000_000 / per_second) as u64;
        self.len = 0;
        self.ymd(seconds.div_euclid(86_400));
        self.push(b' ');
        self.hms(seconds.rem_euclid(86_400) as u64, micros);
        if zoned {
            for &b in b"+00:00" {
                self.push(b);
            }
        }
    }

    pub(super) fn time(&mut self, nanos: i64) {
        self.len = 0;
        let nanos = nanos.rem_euclid(86_400_000_000_000) as u64;
        self.hms(nanos / 1_000_000_000, nanos % 1_000_000_000 / 1_000);
    }
}
