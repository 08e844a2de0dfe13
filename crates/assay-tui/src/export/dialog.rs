//! The export dialog's state and keys: the destination, then the fields that destination
//! takes (format, writer options, or the load's mode and key), and the plan it builds.

use assay_core::db::{ExportPlan, Load, LoadMode};
use assay_core::sink::{Codec, CsvWrite, ParquetWrite, Quote, WriteOptions};
use assay_core::source::Format;

use super::super::app::PaletteKey;
use super::super::keymap::Action;

/// The formats offered for a file (`auto`: from the extension).
pub const FORMATS: [&str; 6] = ["auto", "parquet", "csv", "tsv", "ndjson", "ipc"];

const CODECS: [Codec; 6] =
    [Codec::Zstd, Codec::Snappy, Codec::Lz4, Codec::Gzip, Codec::Brotli, Codec::Uncompressed];

const QUOTES: [Quote; 4] = [Quote::Necessary, Quote::Always, Quote::NonNumeric, Quote::Never];

const MODES: [LoadMode; 3] = [LoadMode::Replace, LoadMode::Append, LoadMode::Upsert];

/// A line of the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Destination,
    Format,
    Delimiter,
    Header,
    Quote,
    Compression,
    RowGroup,
    Mode,
    Key,
    PartitionBy,
}

impl Field {
    fn label(self) -> &'static str {
        match self {
            Field::Destination => "destination",
            Field::Format => "format",
            Field::Delimiter => "CSV delimiter",
            Field::Header => "CSV header",
            Field::Quote => "CSV quoting",
            Field::Compression => "Parquet codec",
            Field::RowGroup => "row-group rows",
            Field::Mode => "mode",
            Field::Key => "upsert key",
            Field::PartitionBy => "partition by",
        }
    }

    /// Whether space cycles its value (else the user types it).
    pub fn is_choice(self) -> bool {
        matches!(self, Field::Format | Field::Header | Field::Quote | Field::Compression | Field::Mode)
    }
}

/// What the dialog holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportDialog {
    pub tab: usize,
    /// The selected line (an index into `fields()`).
    pub selected: usize,
    pub destination: String,
    format: usize,
    delimiter: String,
    header: bool,
    quote: usize,
    codec: usize,
    row_group: String,
    mode: usize,
    key: String,
    /// Columns of a Hive-style tree (comma-separated).
    partition_by: String,
    /// The destination is still the proposed one: the first character typed replaces it.
    proposed: bool,
    /// The destination exists: `y` replaces it.
    pub confirm: bool,
    pub error: Option<String>,
}

/// What the user asked for.
pub enum Outcome {
    Stay,
    Close,
    /// Export with this plan (`true`: replacing what is there was confirmed).
    Start(ExportPlan, bool),
}

impl ExportDialog {
    /// A dialog for tab `tab`, proposing `destination`.
    pub fn new(tab: usize, destination: String) -> ExportDialog {
        ExportDialog {
            tab,
            selected: 0,
            destination,
            format: 0,
            delimiter: ",".into(),
            header: true,
            quote: 0,
            codec: 0,
            row_group: String::new(),
            mode: 0,
            key: String::new(),
            partition_by: String::new(),
            proposed: true,
            confirm: false,
            error: None,
        }
    }

    /// The dialog that describes `plan` (to confirm replacing its destination).
    pub(super) fn from_plan(tab: usize, plan: &ExportPlan) -> ExportDialog {
        let mut d = ExportDialog::new(tab, String::new());
        d.proposed = false;
        match plan {
            ExportPlan::File { path, format, write } => {
                d.destination = path.clone();
                d.partition_by = write.partition_by.join(",");
                d.format = FORMATS.iter().position(|f| *f == format.name()).unwrap_or(0);
                if let Some(csv) = &write.csv {
                    d.delimiter = csv.delimiter.clone().unwrap_or_else(|| ",".into());
                    d.header = csv.header.unwrap_or(true);
                    d.quote = QUOTES.iter().position(|q| Some(*q) == csv.quote).unwrap_or(0);
                }
                if let Some(p) = &write.parquet {
                    d.codec = CODECS.iter().position(|c| Some(*c) == p.compression).unwrap_or(0);
                    d.row_group = p.row_group_size.map(|r| r.to_string()).unwrap_or_default();
                }
            }
            ExportPlan::Table(load) => {
                let (url, mode, key) = match load {
                    Load::Sqlite(t) => (t.url(), t.mode, &t.key),
                    Load::Postgres(t) => (t.url(), t.mode, &t.key),
                };
                d.destination = url;
                d.mode = MODES.iter().position(|m| *m == mode).unwrap_or(0);
                d.key = key.join(",");
            }
        }
        d
    }

    fn is_table(&self) -> bool {
        ["sqlite://", "postgres://", "postgresql://"].iter().any(|s| self.destination.starts_with(s))
    }

    /// The format a file gets (the chosen one, else the extension's; a partitioned
    /// folder without one is Parquet).
    fn file_format(&self) -> Option<Format> {
        let named = match FORMATS[self.format] {
            "auto" => None,
            name => Some(name),
        };
        assay_core::sink::format_of(&self.destination, named, !self.partitions().is_empty()).ok()
    }

    fn partitions(&self) -> Vec<String> {
        self.partition_by.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect()
    }

    /// The lines shown for this destination and format.
    pub fn fields(&self) -> Vec<Field> {
        let mut fields = vec![Field::Destination];
        if self.is_table() {
            fields.push(Field::Mode);
            if MODES[self.mode] == LoadMode::Upsert {
                fields.push(Field::Key);
            }
            return fields;
        }
        fields.push(Field::Format);
        if !assay_core::source::Place::of(&self.destination).is_s3() {
            fields.push(Field::PartitionBy);
        }
        match self.file_format() {
            Some(Format::Csv(_)) => fields.extend([Field::Delimiter, Field::Header, Field::Quote]),
            Some(Format::Parquet) => fields.extend([Field::Compression, Field::RowGroup]),
            _ => {}
        }
        fields
    }

    /// Each line: its label, its value, whether it is selected.
    pub fn lines(&self) -> Vec<(String, String, bool)> {
        let fields = self.fields();
        fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let value = match f {
                    Field::Destination => self.destination.clone(),
                    Field::Format => match (FORMATS[self.format], self.file_format()) {
                        ("auto", Some(f)) => format!("auto ({})", f.name()),
                        ("auto", None) => "auto (give the file an extension)".into(),
                        (name, _) => name.to_string(),
                    },
                    Field::Delimiter => self.delimiter.clone(),
                    Field::Header => if self.header { "yes" } else { "no" }.into(),
                    Field::Quote => format!("{:?}", QUOTES[self.quote]).to_lowercase(),
                    Field::Compression => format!("{:?}", CODECS[self.codec]).to_lowercase(),
                    Field::RowGroup => {
                        if self.row_group.is_empty() {
                            "(Polars' choice)".into()
                        } else {
                            self.row_group.clone()
                        }
                    }
                    Field::Mode => format!("{:?}", MODES[self.mode]).to_lowercase(),
                    Field::Key => self.key.clone(),
                    Field::PartitionBy => {
                        if self.partition_by.is_empty() {
                            "(one file)".into()
                        } else {
                            format!("{} (the destination is a folder)", self.partition_by)
                        }
                    }
                };
                (f.label().to_string(), value, i == self.selected)
            })
            .collect()
    }

    /// Empties the selected text field (ctrl-u).
    pub fn clear_field(&mut self) {
        let Some(&field) = self.fields().get(self.selected) else { return };
        if field == Field::Destination {
            self.proposed = false;
        }
        if let Some(text) = self.text(field) {
            text.clear();
        }
        self.error = None;
    }

    fn text(&mut self, field: Field) -> Option<&mut String> {
        match field {
            Field::Destination => Some(&mut self.destination),
            Field::Delimiter => Some(&mut self.delimiter),
            Field::RowGroup => Some(&mut self.row_group),
            Field::Key => Some(&mut self.key),
            Field::PartitionBy => Some(&mut self.partition_by),
            _ => None,
        }
    }

    fn cycle(&mut self, field: Field, back: bool) {
        let step = |v: &mut usize, n: usize| *v = if back { (*v + n - 1) % n } else { (*v + 1) % n };
        match field {
            Field::Format => step(&mut self.format, FORMATS.len()),
            Field::Header => self.header = !self.header,
            Field::Quote => step(&mut self.quote, QUOTES.len()),
            Field::Compression => step(&mut self.codec, CODECS.len()),
            Field::Mode => step(&mut self.mode, MODES.len()),
            _ => {}
        }
    }

    /// The export the dialog describes, checked (nothing is touched).
    pub fn plan(&self) -> assay_core::Result<ExportPlan> {
        use assay_core::Error;
        let dest = self.destination.trim();
        if dest.is_empty() {
            return Err(Error::input(
                "give a destination: a file, sqlite://PATH?table=T or postgres://…?table=T",
            ));
        }
        if let Some(mut load) = Load::parse(dest)? {
            let key: Vec<String> =
                self.key.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect();
            let mode = MODES[self.mode];
            if mode == LoadMode::Upsert && key.is_empty() {
                return Err(Error::input("upsert needs a key: the columns that identify a row"));
            }
            match &mut load {
                Load::Sqlite(t) => (t.mode, t.key) = (mode, key),
                Load::Postgres(t) => (t.mode, t.key) = (mode, key),
            }
            return Ok(ExportPlan::Table(load));
        }
        let partition_by = self.partitions();
        let named = match FORMATS[self.format] {
            "auto" => None,
            name => Some(name),
        };
        let format = assay_core::sink::format_of(dest, named, !partition_by.is_empty())?;
        let mut write = WriteOptions { partition_by, ..Default::default() };
        match format {
            Format::Csv(d) => {
                let tsv = d.delimiter == b'\t';
                let delimiter =
                    if tsv && self.delimiter == "," { "\\t".to_string() } else { self.delimiter.clone() };
                let default = delimiter == if tsv { "\\t" } else { "," };
                let quote = QUOTES[self.quote];
                if !default || !self.header || quote != Quote::Necessary {
                    write.csv = Some(CsvWrite {
                        delimiter: (!default).then_some(delimiter),
                        quote: (quote != Quote::Necessary).then_some(quote),
                        header: (!self.header).then_some(false),
                    });
                }
            }
            Format::Parquet => {
                let codec = CODECS[self.codec];
                let rows = match self.row_group.trim() {
                    "" => None,
                    r => Some(
                        r.parse::<usize>()
                            .map_err(|_| Error::input(format!("row-group rows `{r}`: a number")))?,
                    ),
                };
                if codec != Codec::Zstd || rows.is_some() {
                    write.parquet = Some(ParquetWrite {
                        compression: (codec != Codec::Zstd).then_some(codec),
                        row_group_size: rows,
                        ..Default::default()
                    });
                }
            }
            _ => {}
        }
        Ok(ExportPlan::parse(dest, named, write)?)
    }

    /// Whether keys are commands (a choice line, or the overwrite question) rather than
    /// text typed into a line.
    pub fn takes_commands(&self) -> bool {
        let fields = self.fields();
        self.confirm || fields[self.selected.min(fields.len() - 1)].is_choice()
    }

    /// A key in the dialog. Up/Down (Tab) move between lines, space (backspace) cycles
    /// a choice, typing edits a text line, Enter exports, Esc closes.
    pub fn key(&mut self, key: PaletteKey) -> Outcome {
        if self.confirm {
            return match key {
                PaletteKey::Act(Action::Accept) => match self.plan() {
                    Ok(plan) => Outcome::Start(plan, true),
                    Err(e) => {
                        self.confirm = false;
                        self.error = Some(e.to_string());
                        Outcome::Stay
                    }
                },
                _ => {
                    self.confirm = false;
                    self.error = None;
                    Outcome::Stay
                }
            };
        }
        let fields = self.fields();
        self.selected = self.selected.min(fields.len() - 1);
        let field = fields[self.selected];
        match key {
            PaletteKey::Esc => return Outcome::Close,
            PaletteKey::Down => self.selected = (self.selected + 1) % fields.len(),
            PaletteKey::Up => self.selected = (self.selected + fields.len() - 1) % fields.len(),
            PaletteKey::Enter => match self.plan() {
                Ok(plan) => return Outcome::Start(plan, false),
                Err(e) => self.error = Some(e.to_string()),
            },
            PaletteKey::Act(Action::CycleChoice) if field.is_choice() => self.cycle(field, false),
            PaletteKey::Act(Action::CycleBack) if field.is_choice() => self.cycle(field, true),
            PaletteKey::Act(_) => {}
            PaletteKey::Char(c) => {
                if field == Field::Destination && std::mem::take(&mut self.proposed) {
                    self.destination.clear();
                }
                if let Some(text) = self.text(field) {
                    text.push(c);
                }
                self.error = None;
            }
            PaletteKey::Backspace => {
                if field == Field::Destination {
                    self.proposed = false;
                }
                if let Some(text) = self.text(field) {
                    text.pop();
                }
                self.error = None;
            }
        }
        Outcome::Stay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(d: &mut ExportDialog, text: &str) {
        for c in text.chars() {
            d.key(PaletteKey::Char(c));
        }
    }

    #[test]
    fn the_dialog_shows_the_options_of_its_destination_and_builds_the_plan() {
        let mut d = ExportDialog::new(0, "out/proposed.parquet".into());
        typed(&mut d, "out/o.csv"); // the first key replaces the proposal
        assert_eq!(
            d.fields(),
            [
                Field::Destination,
                Field::Format,
                Field::PartitionBy,
                Field::Delimiter,
                Field::Header,
                Field::Quote
            ]
        );
        d.key(PaletteKey::Down);
        d.key(PaletteKey::Down);
        d.key(PaletteKey::Down);
        d.key(PaletteKey::Backspace);
        typed(&mut d, ";");
        d.key(PaletteKey::Down);
        d.key(PaletteKey::Act(Action::CycleChoice)); // no header
        let Outcome::Start(plan, false) = d.key(PaletteKey::Enter) else { panic!("no start: {:?}", d.error) };
        let ExportPlan::File { path, write, .. } = &plan else { panic!("{plan:?}") };
        assert_eq!(path, "out/o.csv");
        assert_eq!(
            write.csv,
            Some(CsvWrite { delimiter: Some(";".into()), quote: None, header: Some(false) })
        );
        let (name, output) = assay_core::recipe::output_of(&plan);
        assert_eq!((name.as_str(), output.format), ("o", None));

        // A Parquet file: codec and row groups; the format chosen over the extension.
        let mut d = ExportDialog::new(0, "o.data".into());
        assert!(matches!(d.key(PaletteKey::Enter), Outcome::Stay));
        assert!(d.error.as_deref().unwrap_or("").contains("unknown output format"), "{:?}", d.error);
        d.key(PaletteKey::Down);
        d.key(PaletteKey::Act(Action::CycleChoice)); // parquet
        assert_eq!(d.fields()[2..], [Field::PartitionBy, Field::Compression, Field::RowGroup]);
        d.key(PaletteKey::Down);
        typed(&mut d, "country, status");
        d.key(PaletteKey::Down);
        d.key(PaletteKey::Act(Action::CycleChoice)); // snappy
        d.key(PaletteKey::Down);
        typed(&mut d, "5000");
        let Outcome::Start(plan, _) = d.key(PaletteKey::Enter) else { panic!("{:?}", d.error) };
        let (_, output) = assay_core::recipe::output_of(&plan);
        assert_eq!(output.format.as_deref(), Some("parquet"));
        assert_eq!(output.partition_by, ["country", "status"]);
        assert_eq!(
            output.parquet,
            Some(ParquetWrite {
                compression: Some(Codec::Snappy),
                row_group_size: Some(5000),
                ..Default::default()
            })
        );

        // A table: mode and key instead of file options; upsert needs the key.
        let mut d = ExportDialog::new(0, "sqlite://w.db?table=orders".into());
        assert_eq!(d.fields(), [Field::Destination, Field::Mode]);
        d.key(PaletteKey::Down);
        d.key(PaletteKey::Act(Action::CycleChoice));
        d.key(PaletteKey::Act(Action::CycleChoice)); // upsert
        assert_eq!(d.fields(), [Field::Destination, Field::Mode, Field::Key]);
        assert!(matches!(d.key(PaletteKey::Enter), Outcome::Stay));
        assert!(d.error.as_deref().unwrap_or("").contains("needs a key"));
        d.key(PaletteKey::Down);
        typed(&mut d, "order_id");
        let Outcome::Start(plan, _) = d.key(PaletteKey::Enter) else { panic!("{:?}", d.error) };
        let (name, output) = assay_core::recipe::output_of(&plan);
        assert_eq!(name, "orders");
        assert_eq!(output.sqlite.as_deref(), Some("w.db"));
        assert_eq!((output.mode, output.key), (Some(LoadMode::Upsert), vec!["order_id".to_string()]));
    }
}
