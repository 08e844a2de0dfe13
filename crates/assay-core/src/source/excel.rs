//! Spreadsheets (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`) as datasets: one sheet (the
//! first, or the one named by `--sheet NAME`, a recipe source's `sheet`, or
//! `BOOK.xlsx?sheet=NAME`) is read with calamine and written once per file version as a
//! Parquet file in this process's scratch folder, which both engines then read lazily
//! (paging, counts and jumps included). Messages name the workbook, not the copy. The
//! table is named after the file, or after the sheet named in the path.
//!
//! The first row holds the column names (unless `--no-header`); empty names become
//! `column_N`, repeated ones get `_2`, `_3`. A column's type is what all its non-empty
//! cells are: whole numbers Int64, numbers Float64, booleans Boolean, dates Date, date
//! times Datetime (µs); anything mixed is text, each cell written as the sheet shows it
//! — an error cell (`#DIV/0!`) included, so a check sees it instead of a silent null.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};
use polars::prelude::*;

use super::{Error, Result};

/// The extensions of the workbooks calamine reads.
pub const EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// Whether `path` names a workbook (by its extension).
pub fn is_workbook(path: &str) -> bool {
    let ext = Path::new(path).extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
    ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
}

/// `BOOK.xlsx?sheet=NAME` as the workbook's path and the sheet; anything else as it is.
pub fn split_sheet(spec: &str) -> (&str, Option<String>) {
    if let Some((path, query)) = spec.rsplit_once("?sheet=") {
        if is_workbook(path) {
            let name = url::form_urlencoded::parse(format!("s={query}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| query.to_string());
            return (path, Some(name));
        }
    }
    (spec, None)
}

/// The names of the workbook's sheets, in the workbook's order.
pub fn sheet_names(path: &str) -> Result<Vec<String>> {
    let book = open_workbook_auto(path)
        .map_err(|e| Error::unreadable(format!("{path}: not a readable workbook: {e}")))?;
    Ok(book.sheet_names())
}

/// The sheet of the workbook `path` (the first when `sheet` is none) as a Parquet file
/// in the scratch folder, written once per version of the workbook, sheet and header
/// choice (`scratch_copy`); returns its path.
pub fn to_parquet(path: &str, sheet: Option<&str>, header: bool) -> Result<String> {
    super::scratch_copy(path, "sheets", &format!("{sheet:?} {header}"), |dir| {
        sheet_to_parquet(path, sheet, header, dir)
    })
}

/// Writes the sheet as `STEM.parquet` in `dir`.
fn sheet_to_parquet(path: &str, sheet: Option<&str>, header: bool, dir: &Path) -> Result<std::path::PathBuf> {
    let unreadable =
        |e: &dyn std::fmt::Display| Error::unreadable(format!("{path}: not a readable workbook: {e}"));
    let mut book = open_workbook_auto(path).map_err(|e| unreadable(&e))?;
    let names = book.sheet_names();
    let chosen = match sheet {
        Some(s) => names.iter().find(|n| *n == s).cloned().ok_or_else(|| {
            Error::unreadable(format!("{path}: no sheet `{s}` (its sheets: {})", names.join(", ")))
        })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::unreadable(format!("{path}: the workbook has no sheet")))?,
    };
    let range = book.worksheet_range(&chosen).map_err(|e| unreadable(&e))?;
    let mut df =
        frame(&range, header).map_err(|e| Error::unreadable(format!("{path}: sheet `{chosen}`: {e}")))?;

    let stem = Path::new(path).file_stem().and_then(|n| n.to_str()).unwrap_or("sheet");
    let out = dir.join(format!("{stem}.parquet"));
    let shown = out.display().to_string();
    let file = std::fs::File::create(&out).map_err(|e| crate::error::io_error(&shown, &e))?;
    ParquetWriter::new(file)
        .finish(&mut df)
        .map_err(|e| Error::read_failed(format!("{path}: writing its sheet `{chosen}` to {shown}: {e}")))?;
    Ok(out)
}

/// What a column's cells all are.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Bool,
    Date,
    DateTime,
    Text,
}

/// The kind a cell asks of its column (`None`: empty, fits any).
fn kind_of(cell: &Data) -> Option<Kind> {
    Some(match cell {
        Data::Empty => return None,
        Data::Int(_) => Kind::Int,
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Kind::Int,
        Data::Float(_) => Kind::Float,
        Data::Bool(_) => Kind::Bool,
        Data::DateTime(d) if d.is_datetime() => match d.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => Kind::Date,
            Some(_) => Kind::DateTime,
            None => Kind::Text,
        },
        _ => Kind::Text,
    })
}

/// Two kinds of one column: numbers widen to Float, dates to DateTime, the rest to Text.
fn join(a: Kind, b: Kind) -> Kind {
    match (a, b) {
        (a, b) if a == b => a,
        (Kind::Int | Kind::Float, Kind::Int | Kind::Float) => Kind::Float,
        (Kind::Date | Kind::DateTime, Kind::Date | Kind::DateTime) => Kind::DateTime,
        _ => Kind::Text,
    }
}

/// A cell as the sheet shows it (a column of mixed kinds is text).
fn text(cell: &Data) -> Option<String> {
    match cell {
        Data::Empty => None,
        Data::DateTime(d) if d.is_datetime() => match d.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => Some(t.date().to_string()),
            Some(t) => Some(t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
            None => Some(d.as_f64().to_string()),
        },
        Data::DateTime(d) => Some(d.as_f64().to_string()),
        other => Some(other.to_string()),
    }
}

/// The column names: the header row's (or `column_N`), none empty, none repeated.
fn names(header: Option<&[Data]>, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(width);
    for i in 0..width {
        let given = header.and_then(|h| h.get(i)).and_then(text).map(|s| s.trim().to_string());
        let base = given.filter(|s| !s.is_empty()).unwrap_or_else(|| format!("column_{}", i + 1));
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

/// The sheet's used range as a frame.
fn frame<'a>(range: &'a calamine::Range<Data>, header: bool) -> PolarsResult<DataFrame> {
    let width = range.width();
    let mut rows = range.rows();
    let head = if header { rows.next() } else { None };
    let names = names(head, width);
    let rows: Vec<&'a [Data]> = rows.collect();
    static EMPTY: Data = Data::Empty;
    let cell = |r: &'a [Data], j: usize| -> &'a Data { r.get(j).unwrap_or(&EMPTY) };
    let mut columns = Vec::with_capacity(width);
    for (j, name) in names.iter().enumerate() {
        let kind = rows.iter().filter_map(|r| kind_of(cell(r, j))).reduce(join).unwrap_or(Kind::Text);
        let name = PlSmallStr::from(name.as_str());
        let column = match kind {
            Kind::Int => {
                let v: Vec<Option<i64>> = rows
                    .iter()
                    .map(|r| match cell(r, j) {
                        Data::Int(i) => Some(*i),
                        Data::Float(f) => Some(*f as i64),
                        _ => None,
                    })
                    .collect();
                Series::new(name, v)
            }
            Kind::Float => {
                let v: Vec<Option<f64>> = rows
                    .iter()
                    .map(|r| match cell(r, j) {
                        Data::Int(i) => Some(*i as f64),
                        Data::Float(f) => Some(*f),
                        _ => None,
                    })
                    .collect();
                Series::new(name, v)
            }
            Kind::Bool => {
                let v: Vec<Option<bool>> = rows
                    .iter()
                    .map(|r| if let Data::Bool(b) = cell(r, j) { Some(*b) } else { None })
                    .collect();
                Series::new(name, v)
            }
            Kind::Date => {
                let v: Vec<Option<chrono::NaiveDate>> = rows
                    .iter()
                    .map(|r| match cell(r, j) {
                        Data::DateTime(d) => d.as_datetime().map(|t| t.date()),
                        _ => None,
                    })
                    .collect();
                Series::new(name, v)
            }
            Kind::DateTime => {
                let v: Vec<Option<chrono::NaiveDateTime>> = rows
                    .iter()
                    .map(|r| match cell(r, j) {
                        Data::DateTime(d) => d.as_datetime(),
                        _ => None,
                    })
                    .collect();
                Series::new(name, v).cast(&DataType::Datetime(TimeUnit::Microseconds, None))?
            }
            Kind::Text => {
                let v: Vec<Option<String>> = rows.iter().map(|r| text(cell(r, j))).collect();
                Series::new(name, v)
            }
        };
        columns.push(column.into_column());
    }
    DataFrame::new_infer_height(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheets_are_named_in_the_spec_and_columns_take_their_kinds() {
        assert_eq!(split_sheet("book.xlsx?sheet=Q1%202026"), ("book.xlsx", Some("Q1 2026".to_string())));
        assert_eq!(split_sheet("data.csv?sheet=x"), ("data.csv?sheet=x", None));
        assert!(is_workbook("a/B.XLSX") && is_workbook("c.ods") && !is_workbook("d.csv"));
        assert_eq!(kind_of(&Data::Float(3.0)), Some(Kind::Int));
        assert_eq!(join(Kind::Int, Kind::Float), Kind::Float);
        assert_eq!(join(Kind::Int, Kind::Text), Kind::Text);
        assert_eq!(join(Kind::Date, Kind::DateTime), Kind::DateTime);
        let header = [Data::String("id".into()), Data::Empty, Data::String("id".into())];
        assert_eq!(names(Some(&header), 4), ["id", "column_2", "id_2", "column_4"]);
        assert_eq!(text(&Data::Error(calamine::CellErrorType::Div0)).as_deref(), Some("#DIV/0!"));
    }
}
