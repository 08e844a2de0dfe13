//! Fuzzing on stable Rust (issue 21): a bounded, seeded driver that mutates good inputs —
//! CSV, NDJSON, Parquet bytes, rules and recipes in TOML and YAML, SQL, filters — and
//! feeds them to the parsers, sniffers and rewriters, requiring that none panics. Each
//! target runs `ASSAY_FUZZ_CASES` cases (300 in `cargo test`); `ASSAY_FUZZ_SEED` picks
//! the sequence. A longer run for developers:
//!
//! ```sh
//! ASSAY_FUZZ_CASES=20000 ASSAY_FUZZ_SEED=7 cargo test --lib fuzz -- --nocapture
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};

/// A small deterministic generator (PCG-like), so a failing case can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407))
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }
}

/// Bytes that change the meaning of the formats fuzzed: delimiters, quotes, line ends,
/// brackets, escapes, invalid UTF-8, NUL.
const INTERESTING: &[u8] = b",;\t|\"'\n\r\0\\{}[]()=#:-.*%\xff\xc3\xa9 0aZ";

/// `seed` changed by a few random edits: flips, insertions, deletions, duplications,
/// a cut, or a splice of `other`.
pub fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            1 => {
                let i = rng.below(len + 1);
                let b = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(i..i, std::iter::repeat_n(b, 1 + rng.below(3)));
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below(16.min(len - i));
                out.drain(i..i + n);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below(64.min(len - i));
                let piece = out[i..i + n].to_vec();
                let at = rng.below(out.len() + 1);
                out.splice(at..at, piece.iter().copied().cycle().take(piece.len() * (1 + rng.below(50))));
            }
            4 if len > 0 => out.truncate(rng.below(len)),
            5 if !other.is_empty() => {
                let i = rng.below(other.len());
                let n = 1 + rng.below(64.min(other.len() - i));
                let at = rng.below(len + 1);
                out.splice(at..at, other[i..i + n].iter().copied());
            }
            _ => {
                let i = rng.below(len + 1);
                out.splice(i..i, std::iter::repeat_n(b'(', rng.below(200)));
            }
        }
    }
    out
}

fn cases() -> usize {
    std::env::var("ASSAY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

fn seed() -> u64 {
    std::env::var("ASSAY_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(21)
}

/// Runs `target` on mutations of `seeds`; returns the inputs that panicked.
pub fn run(name: &str, seeds: &[&[u8]], target: impl Fn(&[u8])) -> Vec<String> {
    let mut rng =
        Rng::new(seed() ^ name.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)));
    let mut panics = Vec::new();
    for _ in 0..cases() {
        let a = seeds[rng.below(seeds.len())];
        let b = seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, a, b);
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            panics.push(format!("{name}: {:?}", String::from_utf8_lossy(&input)));
        }
    }
    panics
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::CsvDialect;

    const CSV: &[u8] = b"id,name,amount,when\n1,\"a, b\",1.5,2024-01-01\n2,\"say \"\"hi\"\"\",,2024-01-02 10:00:00\n3,\xc3\xa9t\xc3\xa9,-3,\n";
    const TSV: &[u8] = b"id\tname\n1\tx\n2\t\"y\"\n";
    const NDJSON: &[u8] = b"{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": null, \"c\": [1, 2]}\n";
    const RULES: &[u8] = b"key = [\"id\"]\nsamples = 3\n[[checks]]\nnot_null = { column = \"amount\", mostly = 0.9 }\n[[checks]]\nbetween = { column = \"amount\", min = 0, max = 10, severity = \"warn\" }\n[[checks]]\nregex = { column = \"name\", pattern = \"[a-z]+\" }\n[[checks]]\nschema = { columns = { id = \"int\" }, mode = \"subset\" }\n[[checks]]\nexpression = { sql = \"amount > 0 OR name IS NULL\" }\n";
    const YAML: &[u8] = b"key: [id]\nchecks:\n  - not_null: {column: amount}\n  - in_set: {column: name, values: [a, b], max_failures: \"1%\"}\n";
    const RECIPE: &[u8] = b"name = \"r\"\n[sources.orders]\npath = \"orders.csv\"\n[[steps]]\nfilter = \"amount > 1\"\n[[steps]]\nderive = { t = \"amount * 2\" }\n[[steps]]\nrename = { t = \"total\" }\n[[checks]]\nunique = { columns = [\"id\"] }\n[outputs.o]\npath = \"out.parquet\"\n";
    const SQL: &[&[u8]] = &[
        b"SELECT country, count(*) AS n FROM orders WHERE status = 'x' AND amount BETWEEN 1 AND 2 GROUP BY country ORDER BY n DESC LIMIT 5",
        b"SELECT * FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE o.amount > (SELECT avg(amount) FROM orders)",
        b"SELECT date_trunc('month', order_date) AS m, sum(price * quantity) FROM orders WHERE order_date >= DATE '2024-01-01' + INTERVAL '3' MONTH GROUP BY 1",
        b"WITH t AS (SELECT * FROM orders WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = orders.customer_id)) SELECT count(*) FROM t",
    ];
    const FILTERS: &[&[u8]] = &[
        b"amount > 1 AND (status = 'a' OR status IN ('b', 'c')) AND name LIKE 'x%'",
        b"NOT (amount IS NULL) OR order_date >= '2024-01-01' AND quantity BETWEEN 1 AND 3",
    ];

    #[test]
    fn quotes_in_filter_sql_survive_the_builder() {
        use crate::transform::filter::Group;
        for sql in
            ["name = 'O''Brien' OR upper(name) = 'O''BRIEN'", "concat(name, '''') = 'x''' AND amount > 1"]
        {
            let once = Group::from_sql(sql, &|_| None).unwrap().to_sql();
            let twice = Group::from_sql(&once, &|_| None).unwrap().to_sql();
            assert_eq!(once, twice, "{sql}");
            assert!(once.contains("O''BRIEN") || once.contains("'x'''"), "{once}");
        }
    }

    fn report(panics: Vec<String>) {
        assert!(panics.is_empty(), "{} inputs panicked:\n{}", panics.len(), panics.join("\n"));
    }

    #[test]
    fn fuzz_csv_sniffing_diagnosis_and_row_index() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let n = std::sync::atomic::AtomicUsize::new(0);
        report(run("csv", &[CSV, TSV], |bytes| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = dir.path().join(format!("f{i}.csv"));
            std::fs::write(&path, bytes).unwrap();
            let path = path.display().to_string();
            let dialect = CsvDialect::default();
            let _ = crate::source::csv_diagnose::diagnose_prefix(&path, bytes, &dialect, true);
            let _ = crate::source::csv_count::count_rows(&path, &dialect);
            let _ = crate::source::csv_count::verify(&path, &dialect);
            let _ = crate::source::csv_count::ends_in_quotes(bytes, &dialect);
            // Sniffing, the open-time checks, and Polars' schema inference.
            if let Ok(ds) = rt.block_on(crate::source::Dataset::open(&path, None, &Default::default())) {
                let _ = crate::engine::polars::scan(&ds).and_then(|mut lf| lf.collect_schema());
            }
            let _ = std::fs::remove_file(&path);
        }));
    }

    #[test]
    fn fuzz_ndjson_parquet_and_arrow_diagnosis() {
        let dir = tempfile::tempdir().unwrap();
        let parquet =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sample-data/customers.parquet"))
                .unwrap();
        let head = &parquet[..parquet.len().min(4096)];
        let tail = &parquet[parquet.len().saturating_sub(4096)..];
        let path = dir.path().join("f");
        let p = path.display().to_string();
        report(run("files", &[NDJSON, head, tail], |bytes| {
            std::fs::write(&path, bytes).unwrap();
            let _ = crate::source::file_diagnose::ndjson(&p);
            let _ = crate::source::file_diagnose::parquet(&p);
            let _ = crate::source::file_diagnose::ipc(&p);
        }));
    }

    #[test]
    fn fuzz_rules_and_recipes() {
        report(run("rules", &[RULES, YAML, RECIPE], |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let _ = crate::quality::Rules::parse(&text, "f.toml");
            let _ = crate::quality::Rules::parse_yaml(&text, "f.yaml");
            let _ = crate::recipe::parse(&text, "f.recipe.toml", &[]);
            if let Ok(rules) = crate::quality::Rules::parse(&text, "f.toml") {
                let _ = crate::quality::Rules::parse(&rules.to_toml(), "again.toml");
            }
        }));
    }

    #[test]
    fn fuzz_sql_parse_and_polars_rewrites() {
        let columns = |table: &str| {
            let names: &[&str] = match table {
                "orders" => &[
                    "order_id",
                    "customer_id",
                    "country",
                    "status",
                    "amount",
                    "price",
                    "quantity",
                    "order_date",
                ],
                "customers" => &["customer_id", "name", "segment"],
                _ => return None,
            };
            Some(
                names
                    .iter()
                    .map(|n| crate::sql::standard::ColumnInfo { name: n.to_string(), scale: None })
                    .collect(),
            )
        };
        report(run("sql", SQL, |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let _ = crate::sql::parse(&text);
            let _ = crate::sql::for_polars(&text, &columns);
        }));
    }

    #[test]
    fn fuzz_filters_round_trip() {
        use crate::transform::filter::{Group, Kind};
        let kind_of = |c: &str| match c {
            "amount" | "quantity" => Some(Kind::Number),
            "order_date" => Some(Kind::Date),
            _ => Some(Kind::Text),
        };
        let drift = std::cell::RefCell::new(Vec::new());
        let mut panics = run("filters", FILTERS, |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let _ = crate::transform::unknown_column_in(&text, &["amount", "status"]);
            let _ = crate::transform::check_expression(&text);
            if let Ok(group) = Group::from_sql(&text, &kind_of) {
                // What the builder writes, it reads back as the same filter (once its
                // own writing: the parser reads a few odd spellings, like `1 .AND (`,
                // into a form it writes otherwise).
                let once = group.to_sql();
                let twice = Group::from_sql(&once, &kind_of).map(|g| g.to_sql());
                let thrice = twice.as_ref().map(|sql| Group::from_sql(sql, &kind_of).map(|g| g.to_sql()));
                match (&twice, &thrice) {
                    (Ok(a), Ok(Ok(b))) if a == b => {}
                    _ => drift.borrow_mut().push(format!("{text:?} -> {once:?} -> {twice:?} -> {thrice:?}")),
                }
            }
        });
        panics.extend(drift.into_inner());
        report(panics);
    }
}
