//! Bad input: one clear line naming where the problem is, the documented exit code
//! (2 for unusable input), and never a panic.

use crate::common::*;

#[test]
fn missing_file() {
    assay(&["head", "no/such/file.csv"]).fails(2, &["no/such/file.csv", "no such file"]);
    assay(&["count", "no/such/*.csv"]).fails(2, &["no/such/*.csv", "no files match"]);
}

#[test]
fn unknown_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "blob.bin", &[0u8, 159, 146, 150, 0, 1, 2, 3, 255, 254]);
    assay(&["schema", &path]).fails(2, &["blob.bin", "unknown format"]);
    assay(&["head", "x.csv", "--input-format", "xlsx"]).fails(2, &["unknown format `xlsx`"]);
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.csv", b"");
    assay(&["head", &path]).fails(2, &["empty.csv", "empty"]);
    assay(&["count", &path]).fails(2, &["empty.csv", "empty"]);
}

#[test]
fn ragged_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a,b,c\n");
    for i in 0..50 {
        text.push_str(&format!("{i},x,y\n"));
    }
    text.push_str("51,x,y,extra\n"); // line 52
    let path = write(dir.path(), "ragged.csv", text.as_bytes());
    assay(&["head", &path, "-n", "100"]).fails(2, &["ragged.csv", "line 52", "4 fields", "3"]);
    let q = "SELECT COUNT(*) FROM ragged";
    assay(&["sql", q, "-t", &path, "--engine", "datafusion"]).fails(2, &["ragged.csv", "line 52"]);
}

#[test]
fn a_failure_is_diagnosed_in_the_data_it_read_only() {
    // bad.csv is ragged past the bytes sniffed at open: a query that fails over good.csv
    // alone must not be reported as bad.csv's line (nor read bad.csv whole to say so).
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.csv", b"id,name\n1,a\n2,b\n");
    let mut text = String::from("a,b,c\n");
    for i in 0..20_000 {
        text.push_str(&format!("{i},x,y\n"));
    }
    text.push_str("1,2\n"); // line 20002
    let bad = write(dir.path(), "bad.csv", text.as_bytes());
    let tables = ["-t", good.as_str(), "-t", bad.as_str()];
    for engine in ["polars", "datafusion"] {
        let cast = assay(
            &[&["sql", "SELECT CAST(name AS INT) AS n FROM good", "--engine", engine][..], &tables].concat(),
        );
        cast.fails(2, &[&format!("good.csv: {engine}: ")]);
        assert!(!cast.stderr.contains("bad.csv"), "{}", cast.stderr);
        let joined = "SELECT count(*) FROM good JOIN bad ON good.id = bad.a";
        assay(&[&["sql", joined, "--engine", engine][..], &tables].concat())
            .fails(2, &["bad.csv", "line 20002"]);
    }
}

#[test]
fn json_nested_too_deep_past_the_sniffed_bytes_is_refused_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..5_000 {
        text.push_str(&format!("{{\"a\": {i}, \"b\": \"xxxxxxxxxxxxxxxx\"}}\n"));
    }
    text.push_str(&format!("{{\"a\": 1, \"b\": {}{}}}\n", "[".repeat(100_000), "]".repeat(100_000)));
    let path = write(dir.path(), "deep.ndjson", text.as_bytes());
    for command in ["count", "head", "profile"] {
        assay(&[command, &path]).fails(2, &["deep.ndjson", "line 5001", "nests more than"]);
    }
    let q = "SELECT count(*) FROM deep";
    assay(&["sql", q, "-t", &path, "--engine", "datafusion"]).fails(2, &["deep.ndjson", "line 5001"]);
}

#[test]
fn unbalanced_quotes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "quotes.csv", b"a,b\n1,\"fine\"\n2,\"never closed\n3,x\n4,y\n");
    assay(&["head", &path]).fails(2, &["quotes.csv", "unterminated quoted field", "line 3"]);
}

#[test]
fn invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"name,n\nok,1\n".to_vec();
    bytes.extend_from_slice(b"bad\xff\xfe,2\n");
    let path = write(dir.path(), "latin.csv", &bytes);
    assay(&["head", &path]).fails(2, &["latin.csv", "invalid UTF-8", "byte offset 15", "line 3"]);
}

#[test]
fn truncated_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(sample("customers.parquet")).unwrap();
    let path = write(dir.path(), "cut.parquet", &whole[..whole.len() / 2]);
    assay(&["head", &path]).fails(2, &["cut.parquet"]);
    assay(&["sql", "SELECT * FROM cut", "-t", &path, "--engine", "datafusion"]).fails(2, &["cut.parquet"]);
    let fake = write(dir.path(), "fake.parquet", b"id,name\n1,x\n");
    assay(&["schema", &fake]).fails(2, &["fake.parquet", "not a Parquet file"]);
}

#[test]
fn sql_syntax_error_has_position() {
    for engine in ["polars", "datafusion"] {
        assay(&[
            "sql",
            "SELECT order_id\nFROM orders\nWHERE amount >",
            "-t",
            "sample-data/orders.csv",
            "--engine",
            engine,
        ])
        .fails(2, &["SQL syntax error at line 3, column"]);
        assay(&["sql", "SELEC * FROM orders", "-t", "sample-data/orders.csv", "--engine", engine])
            .fails(2, &["SQL syntax error at line 1, column 1"]);
    }
}

#[test]
fn unknown_table() {
    for engine in ["polars", "datafusion"] {
        assay(&["sql", "SELECT * FROM orderz", "-t", "sample-data/orders.csv", "--engine", engine])
            .fails(2, &["unknown table `orderz`", "line 1, column 15", "known tables: orders"]);
    }
}

#[test]
fn unknown_column() {
    for engine in ["polars", "datafusion"] {
        assay(&[
            "sql",
            "SELECT order_id, amout FROM orders",
            "-t",
            "sample-data/orders.csv",
            "--engine",
            engine,
        ])
        .fails(2, &["unknown column `amout`", "line 1, column 18", engine]);
    }
    assay(&["explain", "SELECT nope FROM orders", "-t", "sample-data/orders.csv"])
        .fails(2, &["unknown column `nope`"]);
}

#[test]
fn writes_are_refused_and_arguments_checked() {
    assay(&["sql", "DROP TABLE orders", "-t", "sample-data/orders.csv"])
        .fails(2, &["only queries that read"]);
    assay(&["sql", "SELECT 1; SELECT 2"]).fails(2, &["2 statements"]);
    assay(&["head", "sample-data/orders.csv", "--delimiter", "ab"]).fails(2, &["--delimiter"]);
    let same = assay(&[
        "sql",
        "SELECT 1",
        "-t",
        "sample-data/orders.csv",
        "-t",
        "orders=sample-data/customers.parquet",
    ]);
    same.fails(2, &["table name `orders`"]);
    let r = assay(&["frobnicate"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn small_files_are_checked_whole_before_any_engine_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    // An engine reads this unterminated quote silently as one long field.
    let q = write(dir.path(), "q.csv", b"a,b\n1,\"x\n2,3\n");
    assay(&["head", &q]).fails(2, &["q.csv", "unterminated quoted field starting at line 2"]);
    // A fast row count would not notice the ragged row.
    let r = write(dir.path(), "r.csv", b"a,b,c\n1,2,3\n4,5\n");
    assay(&["count", &r]).fails(2, &["r.csv", "ragged row at line 3", "2 fields"]);
    // An inch mark leaves the line's quotes odd: Polars read the rows after it as one
    // quoted field (`head` showed no rows, `count` one).
    let i = write(dir.path(), "i.csv", b"a,b\n1,x\n2,5\" screen\n3,y\n");
    for command in ["head", "count"] {
        assay(&[command, &i])
            .fails(2, &["i.csv", "quote inside an unquoted field at line 3 (byte offset 11)"]);
    }
    // Deeper than the bytes sniffed at open: the count finds it (it counted 9,001 of
    // 9,100 rows), and so does any engine's error.
    let mut text = String::from("k,v\n");
    for k in 0..9100 {
        text.push_str(&if k == 9000 { format!("{k},5\" x\n") } else { format!("{k},value{k}\n") });
    }
    let deep = write(dir.path(), "deep.csv", text.as_bytes());
    let needles = ["deep.csv", "quote inside an unquoted field at line 9002"];
    assay(&["count", &deep]).fails(2, &needles);
    assay(&["sql", "-t", &deep, "SELECT max(k) FROM deep"]).fails(2, &needles);
    // Quotes that pair up on their line are read as text, by Polars and by assay.
    let p = write(dir.path(), "p.csv", b"a,b\n1,5\" by 6\"\n2,y\n");
    let out = assay(&["head", &p, "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("5\"\" by 6\"\""), "{}", out.stdout);
}

#[test]
fn scratch_left_by_a_killed_process_is_removed_at_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let gone = 4_000_000_000u32; // above any pid Linux hands out
    let alive = std::process::id(); // this test binary runs
    for name in
        [format!("assay-tables-{gone}"), format!("assay-results-{gone}"), format!("assay-results-{alive}")]
    {
        std::fs::create_dir(tmp.path().join(&name)).unwrap();
        std::fs::write(tmp.path().join(name).join("0.parquet"), b"x").unwrap();
    }
    std::fs::write(tmp.path().join(format!(".assay-upload-{gone}-0-x.parquet")), b"x").unwrap();
    std::fs::write(tmp.path().join("assay-unrelated-1"), b"x").unwrap();
    let tmp_env = tmp.path().to_str().unwrap();
    assay_env(&["count", &sample("orders.csv")], &[("TMPDIR", tmp_env)]).ok();
    let mut left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [format!("assay-results-{alive}"), "assay-unrelated-1".to_string()]);
}

/// Issue 21's crashes and silent answers: each gives one clear message and exit 2, the
/// same verdict from every command, or the right answer.
#[test]
fn hostile_inputs_get_one_verdict_and_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    // A NUL byte in a header crossed the C Data Interface as a C string and panicked.
    let nul = write(dir.path(), "nul.csv", b"id,na\0me\n1,2\n");
    for command in ["schema", "head", "count", "profile"] {
        assay(&[command, &nul]).fails(2, &["nul.csv", "line 1", "column 2", "NUL"]);
    }
    // Long flat chains overflowed the stack; deep ones are refused, the rest run.
    let chain = |n: usize| format!("SELECT {} AS x", vec!["1"; n].join(" + "));
    for engine in ["polars", "datafusion"] {
        let q = chain(5000);
        assay(&["sql", &q, "--engine", engine]).fails(2, &["nests more than 1000 levels", "IN ("]);
        let ok = json(assay(&["sql", &chain(900), "--engine", engine, "--format", "json"]).ok());
        assert_eq!(ok[0]["x"], 900, "{engine}");
    }
    // Lines ended by CR alone were read as one row with `\r` in the column names.
    let cr = write(dir.path(), "cr.csv", b"a,b\r1,2\r3,4\r");
    for command in ["count", "head", "schema"] {
        assay(&[command, &cr]).fails(2, &["cr.csv", "carriage return alone", "tr "]);
    }
    // A ragged row or a quote left open past the sniffed prefix: `count`, a Polars
    // count(*) (which reads no field) and a rules file with only row_count refused the
    // file no more than DataFusion, `profile` and `export` do.
    let mut text = String::from("id,name,amount\n");
    for i in 0..20_000 {
        text.push_str(&format!("{i},name {i},{}.5\n", i % 97));
    }
    let mut ragged = text.clone();
    ragged.push_str("20000,late,1.5,extra\n20001,x,2\n");
    let ragged = write(dir.path(), "ragged.csv", ragged.as_bytes());
    let mut open = text.clone();
    open.push_str("20000,\"never closed,1.5\n20001,x,2\n");
    let open = write(dir.path(), "open.csv", open.as_bytes());
    let rules = write(dir.path(), "rows.toml", b"[[checks]]\nrow_count = { min = 1 }\n");
    for (path, needle) in [(&ragged, "ragged row at line 20002"), (&open, "unterminated quoted field")] {
        let name = if path == &ragged { "ragged" } else { "open" };
        let count_all = format!("SELECT count(*) AS n FROM {name}");
        assay(&["count", path]).fails(2, &[needle]);
        for engine in ["polars", "datafusion"] {
            assay(&["sql", &count_all, "-t", path, "--engine", engine]).fails(2, &[needle]);
        }
        assay(&["check", path, "--rules", &rules]).fails(2, &[needle]);
        assay(&["profile", path]).fails(2, &[needle]);
    }
    // The well-formed file answers everywhere.
    let good = write(dir.path(), "good.csv", text.as_bytes());
    assert_eq!(assay(&["count", &good]).ok().trim(), "20000");
    let n = json(assay(&["sql", "SELECT count(*) AS n FROM good", "-t", &good, "--format", "json"]).ok());
    assert_eq!(n[0]["n"], 20000);
    // A pipe is read once: sniffing no longer eats what the engines then read.
    let piped = std::process::Command::new("bash")
        .args([
            "-c",
            &format!(
                "{bin} count <(cat {good}) && {bin} head - -n 2 --format csv < {good}",
                bin = env!("CARGO_BIN_EXE_assay")
            ),
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&piped.stdout);
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));
    assert_eq!(out, "20000\nid,name,amount\n0,name 0,0.5\n1,name 1,1.5\n");
    // The whole-file check is remembered per file version (data dir): a file changed
    // after it passed is checked again.
    let later = write(dir.path(), "later.csv", text.as_bytes());
    let sum = ["sql", "SELECT sum(amount) AS s FROM later", "-t"];
    assay(&[&sum[..], &[later.as_str()]].concat()).ok();
    let mut changed = text.clone().into_bytes();
    let at = changed.len() - 10;
    changed.splice(at..at, b",extra".iter().copied());
    std::fs::write(&later, &changed).unwrap();
    assay(&[&sum[..], &[later.as_str()]].concat()).fails(2, &["later.csv", "ragged row"]);
    // A cell of megabytes: the table shows its first 1000 characters and says so (the
    // grid's layout took 24 s for 10 MB); CSV writes it whole.
    let field = "é".repeat(3_000_000);
    let wide = write(dir.path(), "wide.csv", format!("a,b\n1,{field}\n2,y\n").as_bytes());
    let table = assay(&["head", &wide]).ok().to_string();
    assert!(table.contains(&format!("{}…", "é".repeat(1000))) && !table.contains(&"é".repeat(1001)), "cut");
    assert!(
        table.contains("1 cell longer than 1000 characters cut short (…)"),
        "{}",
        &table[table.len() - 300..]
    );
    let csv = assay(&["head", &wide, "--format", "csv"]).ok().to_string();
    assert_eq!(csv, format!("a,b\n1,{field}\n2,y\n"));
}

/// Fault injection (issue 21): a write that hits the file size limit mid-export (as a
/// full disk would) fails with one line naming the destination and exit 3, leaves no
/// partial file, and an output it was replacing stays as it was.
#[test]
fn a_write_that_cannot_finish_leaves_the_old_output_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let orders = sample("orders.csv");
    let limited = |args: &str| {
        let out = std::process::Command::new("bash")
            .args(["-c", &format!("ulimit -f 64 && exec {} {args}", env!("CARGO_BIN_EXE_assay"))])
            .current_dir(dir.path())
            .env("ASSAY_DATA_DIR", dir.path().join("data"))
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    for ext in ["csv", "parquet", "ndjson"] {
        let dest = format!("out.{ext}");
        std::fs::write(dir.path().join(&dest), b"the previous output\n").unwrap();
        limited(&format!("export {orders} --to {dest} --overwrite")).fails(3, &[&dest, "file too large"]);
        assert_eq!(std::fs::read(dir.path().join(&dest)).unwrap(), b"the previous output\n");
    }
    // A SQLite load: the same words (SQLite alone says "disk I/O error"), no database
    // appears and nothing is left under a hidden name.
    limited(&format!("export {orders} --to 'sqlite://new.db?table=t'"))
        .fails(3, &["new.db", "file too large"]);
    let db = dir.path().join("old.db").display().to_string();
    let url = format!("sqlite://{db}?table=t");
    assay(&["export", &orders, "--to", &url]).ok();
    let before = std::fs::read(&db).unwrap();
    limited(&format!("export {orders} --to '{url}&mode=append'")).fails(3, &["old.db", "file too large"]);
    assert_eq!(std::fs::read(&db).unwrap(), before, "the database changed");
    let recipe = write(
        dir.path(),
        "r.recipe.toml",
        format!("[sources.orders]\npath = \"{orders}\"\n[[checks]]\nnot_null = {{ column = \"order_id\" }}\n[outputs.o]\npath = \"rout.csv\"\n")
            .as_bytes(),
    );
    let run = limited(&format!("run {recipe}"));
    let last = run.stderr.lines().last().unwrap_or("").to_string();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        last.contains("rout.csv") && last.contains("file too large") && !last.contains("/proc/"),
        "{last}"
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("rout") || n.contains("partial") || n.contains("new.db"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
