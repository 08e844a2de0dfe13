//! Renders results for people and programs: aligned tables, CSV and JSON.
//!
//! JSON shapes (stable; documented in docs/reports.md):
//! - rows (`head`, `sql`): an array of objects, one per row, every column present,
//!   nulls as `null`, dates and timestamps as ISO-8601 strings.
//! - `schema`: `{"table": NAME, "columns": [{"name", "type", "arrow_type"}]}`.
//! - `count`: `{"table": NAME, "rows": N}`.
//! - `explain`: `{"query": Q, "plans": [{"engine", "logical", "optimized", "physical",
//!   "analyzed", "elapsed_ms"}]}` (absent parts are `null`).

use std::io::Write;

use arrow::array::{Array, RecordBatch};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use comfy_table::{presets, CellAlignment, ContentArrangement, Table as Grid};

use crate::app::{Error, Result};
use crate::engine::{Column, Plans, Table};
pub use crate::text::short_number;

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    Table,
    Csv,
    Json,
}

fn write_error<E: std::error::Error + 'static>(e: E) -> Error {
    crate::error::Error::output(e).into()
}

/// Writes `table` in `format`. In table format at most `max_rows` rows are shown
/// (0 shows all), followed by a row count.
pub fn write_rows(out: &mut dyn Write, table: &Table, format: RowFormat, max_rows: usize) -> Result<()> {
    // Arrow's CSV writer keeps only the words of an I/O error: the kind is kept here, so
    // that a closed pipe is still told apart.
    let mut kept = KeepKind { out, kind: None };
    let result = write_rows_to(&mut kept, table, format, max_rows);
    match (result, kept.kind) {
        (Err(Error::Ground(crate::error::Error::Output { message, .. })), Some(kind)) => {
            Err(crate::error::Error::Output { kind, message }.into())
        }
        (result, _) => result,
    }
}

/// A writer that remembers the kind of the last I/O error of the writer it wraps.
struct KeepKind<'a> {
    out: &'a mut dyn Write,
    kind: Option<std::io::ErrorKind>,
}

impl Write for KeepKind<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf).inspect_err(|e| self.kind = Some(e.kind()))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush().inspect_err(|e| self.kind = Some(e.kind()))
    }
}

fn write_rows_to(out: &mut dyn Write, table: &Table, format: RowFormat, max_rows: usize) -> Result<()> {
    match format {
        RowFormat::Table => write_grid(out, table, max_rows),
        RowFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            if table.batches.is_empty() {
                writer.write(&RecordBatch::new_empty(table.schema.clone())).map_err(write_error)?;
            }
            for batch in &table.batches {
                writer.write(batch).map_err(write_error)?;
            }
            Ok(())
        }
        RowFormat::Json => {
            let mut writer = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::JsonArray>(&mut *out);
            // arrow-json writes `[]` for no rows; without any batch it writes nothing.
            let empty = RecordBatch::new_empty(table.schema.clone());
            let mut batches: Vec<&RecordBatch> = table.batches.iter().collect();
            if batches.is_empty() {
                batches.push(&empty);
            }
            writer.write_batches(&batches).map_err(write_error)?;
            writer.finish().map_err(write_error)?;
            drop(writer);
            out.write_all(b"\n").map_err(write_error)
        }
    }
}

/// The cells of the first `limit` rows of `table` as display text, row by row; `None`
/// is a null (so a grid can show it apart from an empty string).
pub fn cells(table: &Table, limit: usize) -> Result<Vec<Vec<Option<String>>>> {
    let options = FormatOptions::default();
    let mut rows = Vec::with_capacity(table.num_rows().min(limit));
    for batch in &table.batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(write_error)?;
        for row in 0..batch.num_rows() {
            if rows.len() == limit {
                return Ok(rows);
            }
            rows.push(
                batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| (!c.is_null(row)).then(|| f.value(row).to_string()))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

fn new_grid() -> Grid {
    let mut grid = Grid::new();
    grid.load_preset(presets::UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    grid
}

/// The longest cell `--format table` shows whole, in characters.
pub const MAX_CELL_CHARS: usize = 1000;

/// `text` cut to [`MAX_CELL_CHARS`] with `…`, counting cuts in `cut`. A table is for
/// reading: a cell of megabytes would cost the grid's layout time that grows with its
/// square (24 s for a 10 MB field) and fill the scrollback.
fn cut_cell(text: String, cut: &mut usize) -> String {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        Some((end, _)) => {
            *cut += 1;
            format!("{}…", &text[..end])
        }
        None => text,
    }
}

fn write_grid(out: &mut dyn Write, table: &Table, max_rows: usize) -> Result<()> {
    let mut grid = new_grid();
    let mut cut = 0usize;
    grid.set_header(
        table
            .schema
            .fields()
            .iter()
            .map(|f| format!("{}\n{}", cut_cell(f.name().clone(), &mut cut), short_type(f.data_type()))),
    );
    let total = table.num_rows();
    let limit = if max_rows == 0 { total } else { max_rows.min(total) };
    let rows = cells(table, limit)?;
    let shown = rows.len();
    for row in rows {
        grid.add_row(row.into_iter().map(|c| match c {
            None => "∅".to_string(),
            Some(text) => cut_cell(text, &mut cut),
        }));
    }
    for (i, field) in table.schema.fields().iter().enumerate() {
        if field.data_type().is_numeric() {
            if let Some(col) = grid.column_mut(i) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    writeln!(out, "{grid}").map_err(write_error)?;
    if cut > 0 {
        let cells = if cut == 1 { "cell" } else { "cells" };
        writeln!(
            out,
            "{cut} {cells} longer than {MAX_CELL_CHARS} characters cut short (…); --format csv or json writes them whole"
        )
        .map_err(write_error)?;
    }
    let noun = if total == 1 { "row" } else { "rows" };
    if shown < total {
        writeln!(out, "{total} {noun} (first {shown} shown; --max-rows 0 shows all, --format csv writes all)")
    } else {
        writeln!(out, "{total} {noun}")
    }
    .map_err(write_error)
}

/// A short type name for headers: `Utf8View` reads as `str`.
pub fn short_type(dt: &arrow::datatypes::DataType) -> String {
    use arrow::datatypes::DataType::*;
    match dt {
        Utf8 | Utf8View | LargeUtf8 => "str".into(),
        Int8 => "i8".into(),
        Int16 => "i16".into(),
        Int32 => "i32".into(),
        Int64 => "i64".into(),
        UInt8 => "u8".into(),
        UInt16 => "u16".into(),
        UInt32 => "u32".into(),
        UInt64 => "u64".into(),
        Float32 => "f32".into(),
        Float64 => "f64".into(),
        Boolean => "bool".into(),
        Date32 | Date64 => "date".into(),
        Timestamp(unit, tz) => match tz {
            Some(tz) => format!("datetime[{}, {tz}]", unit_name(unit)),
            None => format!("datetime[{}]", unit_name(unit)),
        },
        other => other.to_string(),
    }
}

fn unit_name(unit: &arrow::datatypes::TimeUnit) -> &'static str {
    use arrow::datatypes::TimeUnit::*;
    match unit {
        Second => "s",
        Millisecond => "ms",
        Microsecond => "μs",
        Nanosecond => "ns",
    }
}

pub fn write_schema(out: &mut dyn Write, table: &str, columns: &[Column], json: bool) -> Result<()> {
    if json {
        let value = serde_json::json!({
            "table": table,
            "columns": columns.iter().map(|c| serde_json::json!({
                "name": c.name, "type": c.dtype, "arrow_type": c.arrow_type,
            })).collect::<Vec<_>>(),
        });
        return writeln!(out, "{value}").map_err(write_error);
    }
    let mut grid = new_grid();
    grid.set_header(["#", "column", "type", "arrow type"]);
    for (i, c) in columns.iter().enumerate() {
        grid.add_row([(i + 1).to_string(), c.name.clone(), c.dtype.clone(), c.arrow_type.clone()]);
    }
    writeln!(out, "{grid}").map_err(write_error)
}

pub fn write_profile(
    out: &mut dyn Write,
    table: &str,
    columns: &[crate::profile::ColumnProfile],
    json: bool,
) -> Result<()> {
    if json {
        let rows = columns.first().map(|c| c.rows).unwrap_or(0);
        let value = serde_json::json!({ "table": table, "rows": rows, "columns": columns });
        return writeln!(out, "{value}").map_err(write_error);
    }
    let mut grid = new_grid();
    grid.set_header([
        "column",
        "type",
        "nulls",
        "distinct",
        "min",
        "max",
        "mean",
        "std",
        "p25 · p50 · p75",
        "top values",
        "histogram",
    ]);
    let cut = |s: &str| -> String {
        if s.chars().count() > 24 {
            format!("{}…", s.chars().take(23).collect::<String>())
        } else {
            s.to_string()
        }
    };
    for c in columns {
        let top: Vec<String> = c.top.iter().take(3).map(|(v, n)| format!("{} ({n})", cut(v))).collect();
        grid.add_row([
            c.name.clone(),
            c.dtype.clone(),
            format!("{} ({:.1}%)", c.nulls, c.null_fraction * 100.0),
            c.distinct.to_string(),
            c.min.as_deref().map(cut).unwrap_or_default(),
            c.max.as_deref().map(cut).unwrap_or_default(),
            c.mean.map(short_number).unwrap_or_default(),
            c.std.map(short_number).unwrap_or_default(),
            c.quantiles.map(|q| q.map(short_number).join(" · ")).unwrap_or_default(),
            top.join(", "),
            crate::profile::sparkline(&c.histogram),
        ]);
    }
    writeln!(out, "{grid}").map_err(write_error)?;
    let rows = columns.first().map(|c| c.rows).unwrap_or(0);
    writeln!(out, "{rows} rows, {} columns", columns.len()).map_err(write_error)?;
    if columns.iter().any(|c| c.approximate) {
        let note = "quantiles are interpolated from fine histograms";
        writeln!(out, "{note} (more than {} rows)", crate::profile::EXACT_ROWS).map_err(write_error)?;
    }
    Ok(())
}

pub fn write_count(out: &mut dyn Write, table: &str, rows: u64, json: bool) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::json!({ "table": table, "rows": rows }))
    } else {
        writeln!(out, "{rows}")
    }
    .map_err(write_error)
}

pub fn write_plans(out: &mut dyn Write, query: &str, plans: &[Plans], json: bool) -> Result<()> {
    if json {
        let value = serde_json::json!({
            "query": query,
            "plans": plans.iter().map(|p| serde_json::json!({
                "engine": p.engine,
                "chosen": p.chosen,
                "logical": p.logical,
                "optimized": p.optimized,
                "physical": p.physical,
                "analyzed": p.analyzed,
                "elapsed_ms": p.elapsed.map(|d| d.as_secs_f64() * 1000.0),
            })).collect::<Vec<_>>(),
        });
        return writeln!(out, "{value:#}").map_err(write_error);
    }
    for p in plans {
        if let Some(why) = &p.chosen {
            writeln!(out, "engine: {why}\n").map_err(write_error)?;
        }
        let mut section = |title: &str, body: &str| {
            writeln!(out, "── {} · {title} ──", p.engine)?;
            writeln!(out, "{}\n", body.trim_end())
        };
        section("logical plan", &p.logical).map_err(write_error)?;
        section("optimized plan", &p.optimized).map_err(write_error)?;
        if let Some(physical) = &p.physical {
            section("physical plan", physical).map_err(write_error)?;
        }
        if let Some(analyzed) = &p.analyzed {
            let title = match p.elapsed {
                Some(d) => format!("analyzed ({:.1} ms)", d.as_secs_f64() * 1000.0),
                None => "analyzed".to_string(),
            };
            section(&title, analyzed).map_err(write_error)?;
        }
    }
    Ok(())
}

/// A check report: a table with one line per check (status coloured unless `NO_COLOR`),
/// or the JSON of `quality::Report`.
pub fn write_check_report(
    out: &mut dyn Write,
    report: &crate::quality::Report,
    format: CheckFormat,
) -> Result<()> {
    match format {
        CheckFormat::Json => {
            let value = serde_json::to_value(report).map_err(|e| Error::runtime(format!("json: {e}")))?;
            return writeln!(out, "{value}").map_err(write_error);
        }
        CheckFormat::Junit => return write!(out, "{}", junit(report)).map_err(write_error),
        CheckFormat::Markdown => return write!(out, "{}", markdown(report)).map_err(write_error),
        CheckFormat::Table => {}
    }
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut grid = new_grid();
    grid.set_header(["check", "type", "status", "failing", "observed", "threshold"]);
    for c in &report.checks {
        let status = comfy_table::Cell::new(c.status.name());
        let status = match (color, c.status) {
            (false, _) => status,
            (true, crate::quality::Status::Pass) => status.fg(comfy_table::Color::Green),
            (true, crate::quality::Status::Warn) => status.fg(comfy_table::Color::Yellow),
            (true, crate::quality::Status::Fail) => status.fg(comfy_table::Color::Red),
        };
        grid.add_row(vec![
            comfy_table::Cell::new(&c.id),
            comfy_table::Cell::new(&c.kind),
            status,
            comfy_table::Cell::new(if c.row_level {
                format!("{} ({:.2}%)", c.failing_rows, c.failing_fraction * 100.0)
            } else {
                String::new()
            }),
            comfy_table::Cell::new(c.observed.map(short_number).unwrap_or_else(|| "∅".into())),
            comfy_table::Cell::new(&c.threshold),
        ]);
    }
    writeln!(out, "{grid}").map_err(write_error)?;
    for c in report.checks.iter().filter(|c| c.detail.is_some()) {
        writeln!(out, "{}: {}", c.id, c.detail.as_deref().unwrap_or("")).map_err(write_error)?;
    }
    for c in
        report.checks.iter().filter(|c| c.status != crate::quality::Status::Pass && !c.samples.is_empty())
    {
        writeln!(out, "{}: {}", c.id, sample_text(c)).map_err(write_error)?;
    }
    let passed = report.checks.iter().filter(|c| c.status == crate::quality::Status::Pass).count();
    writeln!(
        out,
        "{}: {} rows, {passed} of {} checks passed, {} scan{}, {} ms",
        report.table,
        report.rows,
        report.checks.len(),
        report.scans,
        if report.scans == 1 { "" } else { "s" },
        report.elapsed_ms
    )
    .map_err(write_error)
}

/// How `assay check` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFormat {
    Table,
    Json,
    /// One JUnit testcase per check, for CI systems.
    Junit,
    /// A Markdown table, for pull-request comments.
    Markdown,
}

/// A check's failing-row samples on one line: `row 2 (id=2, score=150), ...`.
fn sample_text(c: &crate::quality::CheckResult) -> String {
    c.samples
        .iter()
        .map(|s| {
            let values: Vec<String> =
                s.values.iter().map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("∅"))).collect();
            format!("row {} ({})", s.row, values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The report as JUnit XML: one testsuite (the table), one testcase per check. A check
/// beyond its threshold is a `<failure>` (with its failing-row samples) at severity
/// error, and a passing testcase with a `<system-out>` warning otherwise, so CI systems
/// count only the failures that fail the run.
pub fn junit(report: &crate::quality::Report) -> String {
    use crate::quality::Status;
    let failures = report.checks.iter().filter(|c| c.status == Status::Fail).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"assay check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\">\n",
        report.checks.len(),
        report.elapsed_ms as f64 / 1000.0
    ));
    x.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">\n",
        xml_escape(&report.table),
        report.checks.len(),
        report.elapsed_ms as f64 / 1000.0
    ));
    for c in &report.checks {
        x.push_str(&format!(
            "    <testcase classname=\"{}.{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&report.table),
            c.kind,
            xml_escape(&c.id),
            c.elapsed_ms as f64 / 1000.0
        ));
        let observed = c.observed.map(short_number).unwrap_or_else(|| "none".into());
        let rows = if c.row_level {
            format!("{} failing rows ({:.2}%), ", c.failing_rows, c.failing_fraction * 100.0)
        } else {
            String::new()
        };
        let message = format!(
            "{rows}observed {observed}, threshold {}{}",
            c.threshold,
            c.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
        );
        match c.status {
            Status::Pass => x.push_str(" />\n"),
            Status::Fail => x.push_str(&format!(
                ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                c.kind,
                xml_escape(&message),
                xml_escape(&sample_text(c))
            )),
            Status::Warn => x.push_str(&format!(
                ">\n      <system-out>warning: {}</system-out>\n    </testcase>\n",
                xml_escape(&message)
            )),
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// The report as a Markdown table, for a pull-request comment.
pub fn markdown(report: &crate::quality::Report) -> String {
    use crate::quality::Status;
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let passed = report.checks.iter().filter(|c| c.status == Status::Pass).count();
    let mut m = format!(
        "### assay check: `{}`\n\n{} rows · {passed} of {} checks passed\n\n",
        cell(&report.table),
        report.rows,
        report.checks.len()
    );
    m.push_str("| | check | type | failing | observed | threshold |\n|---|---|---|---|---|---|\n");
    for c in &report.checks {
        let mark = match c.status {
            Status::Pass => "✅",
            Status::Warn => "⚠️",
            Status::Fail => "❌",
        };
        m.push_str(&format!(
            "| {mark} | `{}` | {} | {} ({:.2}%) | {} | {} |\n",
            cell(&c.id),
            c.kind,
            c.failing_rows,
            c.failing_fraction * 100.0,
            c.observed.map(short_number).unwrap_or_default(),
            cell(&c.threshold)
        ));
    }
    let notes: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass && (!c.samples.is_empty() || c.detail.is_some()))
        .map(|c| {
            format!(
                "- `{}`: {}",
                cell(&c.id),
                cell(c.detail.as_deref().map(str::to_string).unwrap_or_else(|| sample_text(c)).as_str())
            )
        })
        .collect();
    if !notes.is_empty() {
        m.push_str(&format!("\n{}\n", notes.join("\n")));
    }
    m
}

/// A recipe run: the funnel of rows per step, the checks, the outputs written and
/// where the manifest is; or the manifest itself as JSON.
pub fn write_manifest(out: &mut dyn Write, m: &crate::app::run::Manifest, json: bool) -> Result<()> {
    if json {
        let text = serde_json::to_string_pretty(m).map_err(|e| Error::runtime(format!("json: {e}")))?;
        return writeln!(out, "{text}").map_err(write_error);
    }
    writeln!(out, "recipe {} on {} ({} ms)", m.recipe.name, m.engine.title(), m.durations_ms.total)
        .map_err(write_error)?;
    let mut grid = new_grid();
    grid.set_header(["step", "kind", "name", "rows"]);
    grid.add_row(vec!["0".to_string(), "source".into(), String::new(), m.rows.source.to_string()]);
    for s in &m.steps {
        let rows = match (s.enabled, s.rows) {
            (false, _) => "disabled".to_string(),
            (true, Some(n)) => n.to_string(),
            (true, None) => String::new(),
        };
        grid.add_row(vec![s.step.to_string(), s.kind.clone(), s.name.clone().unwrap_or_default(), rows]);
    }
    writeln!(out, "{grid}").map_err(write_error)?;
    if let Some(report) = &m.checks {
        write_check_report(out, report, CheckFormat::Table)?;
    }
    if m.status == "checks_failed" {
        writeln!(out, "an error-severity check failed: no output written").map_err(write_error)?;
    }
    if let (Some(v), Some(q)) = (m.rows.valid, m.rows.quarantined) {
        writeln!(out, "{} rows in = {v} valid + {q} quarantined", m.rows.rows_in).map_err(write_error)?;
    }
    for o in &m.outputs {
        writeln!(out, "wrote {} rows to {} ({})", o.rows, o.destination, o.name).map_err(write_error)?;
    }
    writeln!(out, "manifest: {}", m.path).map_err(write_error)
}

/// The plan of a recipe run (`assay run --dry-run`).
pub fn write_dry_run(out: &mut dyn Write, plan: &crate::app::run::DryRun, json: bool) -> Result<()> {
    if json {
        let text = serde_json::to_string_pretty(plan).map_err(|e| Error::runtime(format!("json: {e}")))?;
        return writeln!(out, "{text}").map_err(write_error);
    }
    writeln!(
        out,
        "recipe {} on {} (dry run: nothing read, nothing written)",
        plan.recipe.name,
        plan.engine.title()
    )
    .map_err(write_error)?;
    writeln!(out, "\nsources:").map_err(write_error)?;
    for s in &plan.sources {
        writeln!(
            out,
            "  {} = {} ({}, {} file{})",
            s.source,
            s.path,
            s.format,
            s.files.len(),
            if s.files.len() == 1 { "" } else { "s" }
        )
        .map_err(write_error)?;
    }
    writeln!(out, "\nsteps:").map_err(write_error)?;
    for s in &plan.steps {
        let name = s.name.as_ref().map(|n| format!(" as {n}")).unwrap_or_default();
        let off = if s.enabled { "" } else { " (disabled)" };
        writeln!(out, "  {}. {} on {}{name}{off}\n     {}", s.step, s.kind, s.input, s.sql)
            .map_err(write_error)?;
    }
    writeln!(out, "\nchecks:\n{}", plan.checks.trim_end()).map_err(write_error)?;
    writeln!(out, "\noutputs:").map_err(write_error)?;
    for o in &plan.outputs {
        let rows = match o.rows {
            crate::recipe::Rows::Valid => "valid rows",
            crate::recipe::Rows::Quarantine => "quarantined rows",
        };
        writeln!(out, "  {} <- {rows} -> {}", o.name, o.destination).map_err(write_error)?;
    }
    writeln!(out, "\nmanifest: {}", plan.manifest).map_err(write_error)
}
