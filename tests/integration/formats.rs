//! Every format, the glob and directory forms, and the bundled samples open; schema and
//! head are right.

use crate::common::*;

fn schema_of(path: &str) -> Vec<(String, String)> {
    let v = json(assay(&["schema", path, "--format", "json"]).ok());
    v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["type"].as_str().unwrap().to_string()))
        .collect()
}

fn people_schema(joined: &str) -> Vec<(String, String)> {
    [("id", "i64"), ("name", "str"), ("score", "f64"), ("joined", joined)]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn head_json(path: &str) -> serde_json::Value {
    json(assay(&["head", path, "--format", "json"]).ok())
}

#[test]
fn csv_opens_with_types_nulls_and_unicode() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "people.csv", PEOPLE_CSV.as_bytes());
    assert_eq!(schema_of(&path), people_schema("date"));
    assert_eq!(head_json(&path), people_json());
    assert_eq!(assay(&["count", &path]).ok().trim(), "3");
}

#[test]
fn tsv_and_sniffed_delimiters_open() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = write(dir.path(), "people.tsv", PEOPLE_CSV.replace(',', "\t").as_bytes());
    assert_eq!(head_json(&tsv), people_json());
    // No telling extension: the delimiter is sniffed from the content.
    let semi = write(dir.path(), "people.data", PEOPLE_CSV.replace(',', ";").as_bytes());
    assert_eq!(schema_of(&semi), people_schema("date"));
    assert_eq!(head_json(&semi), people_json());
}

#[test]
fn parquet_and_ipc_open() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("people.parquet");
    write_parquet(&mut people(), &pq);
    let pq = pq.display().to_string();
    assert_eq!(schema_of(&pq), people_schema("date"));
    assert_eq!(head_json(&pq), people_json());
    let ipc = dir.path().join("people.arrow");
    write_ipc(&mut people(), &ipc);
    let ipc = ipc.display().to_string();
    assert_eq!(schema_of(&ipc), people_schema("date"));
    assert_eq!(head_json(&ipc), people_json());
}

#[test]
fn ndjson_opens() {
    let dir = tempfile::tempdir().unwrap();
    let text = concat!(
        r#"{"id":1,"name":"Ann","score":3.5,"joined":"2024-01-02"}"#,
        "\n",
        r#"{"id":2,"name":null,"score":4.0,"joined":"2024-02-03"}"#,
        "\n",
        r#"{"id":3,"name":"Zoë","score":null,"joined":"2024-03-04"}"#,
        "\n",
    );
    let path = write(dir.path(), "people.ndjson", text.as_bytes());
    assert_eq!(schema_of(&path), people_schema("str"));
    assert_eq!(head_json(&path), people_json());
}

#[test]
fn globs_and_directories_open_as_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("people");
    std::fs::create_dir(&parts).unwrap();
    let df = people();
    for i in 0..3 {
        let mut part = df.slice(i as i64, 1);
        write_parquet(&mut part, &parts.join(format!("part-{i}.parquet")));
    }
    std::fs::write(parts.join("_SUCCESS"), b"").unwrap();
    let glob = format!("{}/*.parquet", parts.display());
    assert_eq!(assay(&["count", &glob]).ok().trim(), "3");
    assert_eq!(head_json(&glob), people_json());
    let dir_spec = parts.display().to_string();
    assert_eq!(head_json(&dir_spec), people_json());
    // The glob names the table after its directory.
    let out = assay(&["sql", "SELECT COUNT(*) AS n FROM people", "--table", &glob, "--format", "json"]);
    assert_eq!(json(out.ok()), serde_json::json!([{"n": 3}]));
}

#[test]
fn header_only_csv_is_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.csv", b"id,name\n");
    assert_eq!(assay(&["count", &path]).ok().trim(), "0");
    let cols: Vec<String> = schema_of(&path).into_iter().map(|c| c.0).collect();
    assert_eq!(cols, ["id", "name"]);
    assert_eq!(head_json(&path), serde_json::json!([]));
    let csv = assay(&["head", &path, "--format", "csv"]);
    assert_eq!(csv.ok(), "id,name\n");
}

#[test]
fn bundled_samples_open_with_their_row_counts() {
    assert_eq!(assay(&["count", "sample-data/orders.csv"]).ok().trim(), "50000");
    assert_eq!(assay(&["count", "sample-data/customers.parquet"]).ok().trim(), "5000");
    assert_eq!(assay(&["count", "sample-data/events.ndjson"]).ok().trim(), "20000");
    let cols = schema_of("sample-data/orders.csv");
    let types: std::collections::HashMap<_, _> = cols.into_iter().collect();
    assert_eq!(types["order_id"], "i64");
    assert_eq!(types["order_date"], "str", "dirty dates keep the column a string");
    assert_eq!(types["amount"], "f64");
    assert!(types["created_at"].starts_with("datetime"), "{:?}", types["created_at"]);
    let table = assay(&["head", "sample-data/orders.csv", "-n", "3"]);
    assert!(table.ok().contains("order_id"), "{}", table.stdout);
    assert!(table.stdout.contains("3 rows"), "{}", table.stdout);
}

#[test]
fn bundled_samples_are_what_the_generator_makes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    assay(&["gen", "sample", "--out", &out]).ok();
    for name in ["orders.csv", "events.ndjson"] {
        let made = std::fs::read(dir.path().join(name)).unwrap();
        let shipped = std::fs::read(sample(name)).unwrap();
        assert!(made == shipped, "{name} differs from `assay gen sample`");
    }
    let made = dir.path().join("customers.parquet").display().to_string();
    assert_eq!(head_json(&made), head_json(&sample("customers.parquet")));
    assert_eq!(
        assay(&["sql", "SELECT SUM(lifetime_value) AS s FROM customers", "-t", &made, "--format", "csv"])
            .ok(),
        assay(&[
            "sql",
            "SELECT SUM(lifetime_value) AS s FROM customers",
            "-t",
            "sample-data/customers.parquet",
            "--format",
            "csv"
        ])
        .ok()
    );
}

#[test]
fn sql_cli_gives_the_same_rows_on_both_engines() {
    let q = "SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status";
    let polars = assay(&["sql", q, "--table", "sample-data/orders.csv", "--format", "csv"]);
    let df = assay(&[
        "sql",
        q,
        "--table",
        "orders=sample-data/orders.csv",
        "--engine",
        "datafusion",
        "--format",
        "csv",
    ]);
    assert_eq!(polars.ok(), df.ok());
    assert!(polars.stdout.starts_with("status,n\n"), "{}", polars.stdout);
    assert!(polars.stdout.contains("\ndelivered,"), "{}", polars.stdout);
    // Statements that write run only with --allow-writes (on DataFusion).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shipped.csv").display().to_string();
    let copy = format!("COPY (SELECT * FROM orders WHERE status = 'shipped') TO '{out}'");
    assay(&["sql", &copy, "-t", "sample-data/orders.csv"]).fails(2, &["--allow-writes"]);
    assert!(!std::path::Path::new(&out).exists());
    let said = assay(&["sql", &copy, "-t", "sample-data/orders.csv", "--allow-writes"]).ok().to_string();
    let shipped = rows_of("sample-data/orders.csv", "SELECT COUNT(*) AS n FROM t WHERE status = 'shipped'")
        [0]["n"]
        .clone();
    assert_eq!(said.trim(), format!("{shipped} rows written"));
    assert_eq!(assay(&["count", &out]).ok().trim(), shipped.to_string());
}

#[test]
fn explain_shows_both_engines_plans() {
    let q = "SELECT country, SUM(amount) AS total FROM orders WHERE quantity > 5 GROUP BY country";
    let text = assay(&["explain", q, "--table", "sample-data/orders.csv"]);
    let out = text.ok();
    for section in [
        "polars · logical plan",
        "polars · optimized plan",
        "datafusion · logical plan",
        "datafusion · optimized plan",
        "datafusion · physical plan",
    ] {
        assert!(out.contains(section), "missing {section}:\n{out}");
    }
    let analyzed = assay(&["explain", q, "-t", "sample-data/orders.csv", "--analyze", "--format", "json"]);
    let v = json(analyzed.ok());
    let plans = v["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0]["engine"], "polars");
    assert_eq!(plans[1]["engine"], "datafusion");
    for p in plans {
        assert!(p["analyzed"].as_str().unwrap().len() > 10, "{p}");
        assert!(p["elapsed_ms"].as_f64().unwrap() >= 0.0);
    }
    assert!(plans[1]["analyzed"].as_str().unwrap().contains("output_rows"), "{}", plans[1]["analyzed"]);
    let one =
        assay(&["explain", q, "-t", "sample-data/orders.csv", "--engine", "datafusion", "--format", "json"]);
    assert_eq!(json(one.ok())["plans"].as_array().unwrap().len(), 1);
}

/// Polars' own row count of a CSV file.
fn polars_count(path: &str) -> u64 {
    use polars::prelude::*;
    let counted =
        LazyCsvReader::new(PlRefPath::new(path)).finish().unwrap().select([len()]).collect().unwrap();
    counted.column("len").unwrap().get(0).unwrap().extract::<u64>().unwrap()
}

#[test]
fn fast_csv_count_agrees_with_polars_and_the_filtered_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id,note\r\n1,\"two\nlines\"\r\n2,\"say \"\"hi\"\"\"\r\n3,plain\r\n4,\"\"\r\n5,last";
    let path = write(dir.path(), "tricky.csv", text.as_bytes());
    let expected = polars_count(&path);
    assert_eq!(assay(&["count", &path]).ok().trim(), expected.to_string());
    // The same count through the engine (a query is not the fast path).
    let q = "SELECT COUNT(*) AS n FROM tricky";
    let via_sql = json(assay(&["sql", q, "-t", &path, "--format", "json"]).ok())[0]["n"].as_u64().unwrap();
    assert_eq!(via_sql, expected);
    assert_eq!(expected, 5);
    // Blank lines: Polars counts each as a row of nulls, and so does the fast count.
    let blank = write(dir.path(), "blank.csv", b"a,b\n1,2\n\n3,4\r\n\r\n5,6\n");
    let polars_blank = polars_count(&blank);
    assert_eq!(assay(&["count", &blank]).ok().trim(), polars_blank.to_string());
}

/// Every row of `ds` from `offset`, as text, through `Workspace::page`.
async fn page_text(ws: &assay::Workspace, offset: u64, len: usize) -> Vec<Vec<Option<String>>> {
    let ds = &ws.datasets()[0];
    let table = ws.page(ds, &[], offset, len).await.unwrap();
    assay::output::cells(&table, usize::MAX).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn indexed_csv_pages_equal_scanned_pages() {
    // Quoted newlines, doubled quotes, CRLF, blank lines (rows of nulls) and no final
    // newline, across several files of a glob, with rows on both sides of checkpoints.
    let dir = tempfile::tempdir().unwrap();
    for part in 0..3u64 {
        let mut text = String::from("id,note,amount\r\n");
        for i in 0..2500u64 {
            let id = part * 10_000 + i;
            match i % 7 {
                0 => text.push_str(&format!("{id},\"two\nlines {i}\",{i}.5\r\n")),
                1 => text.push_str(&format!("{id},\"say \"\"{i}\"\"\",\r\n")),
                2 if i % 700 == 2 => text.push('\n'),
                _ => text.push_str(&format!("{id},plain {i},{}\r\n", i * 3)),
            }
        }
        text.push_str(&format!("{},last,1", part * 10_000 + 9_999));
        write(dir.path(), &format!("part{part}.csv"), text.as_bytes());
    }
    let spec = format!("{}/*.csv", dir.path().display());
    let ws = assay::Workspace::open(&[(None, spec)], &Default::default()).await.unwrap();
    let offsets = [0u64, 1, 1023, 1024, 1025, 2047, 2490, 2501, 3000, 5000, 7400, 7480, 7502];
    let mut scanned = Vec::new();
    for &o in &offsets {
        scanned.push(page_text(&ws, o, 40).await);
    }
    // Counting indexes the files; the same pages now come from the index.
    let ds = ws.datasets()[0].clone();
    let progress = std::sync::Arc::new(assay::progress::Progress::default());
    assert_eq!(ws.count_with_progress(&ds, &[], Some(progress.clone())).await.unwrap(), 3 * 2501);
    assert_eq!(progress.fraction(), Some(1.0), "every byte of the three files was counted");
    for (&o, expect) in offsets.iter().zip(&scanned) {
        let got = page_text(&ws, o, 40).await;
        assert_eq!(&got, expect, "page at row {o}");
    }
    assert_eq!(scanned.last().unwrap().len(), 3 * 2501 - 7502);

    // One file: before the count, pages come from counting rows from the start; after
    // it, from the index; both equal the engine's own scan (a no-op step forces it).
    let one = format!("{}/part1.csv", dir.path().display());
    let ws = assay::Workspace::open(&[(None, one)], &Default::default()).await.unwrap();
    let ds = ws.datasets()[0].clone();
    let names: Vec<String> = ws.schema(&ds).await.unwrap().into_iter().map(|c| c.name).collect();
    let scan = [assay::transform::Step::Select { columns: names }];
    for &o in &[0u64, 5, 1023, 1024, 2000, 2480, 2501] {
        let engine = assay::output::cells(&ws.page(&ds, &scan, o, 30).await.unwrap(), usize::MAX).unwrap();
        assert_eq!(page_text(&ws, o, 30).await, engine, "counted from the start, row {o}");
    }
    ws.count(&ds, &[]).await.unwrap();
    for &o in &[0u64, 1023, 1024, 2490] {
        let engine = assay::output::cells(&ws.page(&ds, &scan, o, 30).await.unwrap(), usize::MAX).unwrap();
        assert_eq!(page_text(&ws, o, 30).await, engine, "indexed, row {o}");
    }
}

/// `assay export` writes every file format by streaming; what it writes reads back as
/// the same rows (every column for Parquet and Arrow, which keep types; the columns
/// whose text form is the value for CSV, TSV and NDJSON); refusals leave files alone.
#[test]
fn export_round_trips_every_format_and_refuses_what_it_must() {
    let dir = tempfile::tempdir().unwrap();
    let orders = sample("orders.csv");
    let count = |path: &str| -> String {
        let q = "SELECT COUNT(*) AS n FROM t";
        json(assay(&["sql", q, "-t", &format!("t={path}"), "--format", "json"]).ok())[0]["n"].to_string()
    };
    for (file, columns) in [
        ("o.parquet", "*"),
        ("o.arrow", "*"),
        ("o.csv", "order_id, customer_id, amount, status, email, quantity"),
        ("o.tsv", "order_id, customer_id, amount, status, email, quantity"),
        ("o.ndjson", "order_id, customer_id, amount, status, email, quantity"),
    ] {
        let dest = dir.path().join(file).display().to_string();
        let said = assay(&["export", &orders, "--to", &dest]).ok().to_string();
        assert_eq!(said.trim(), format!("50000 rows written to {dest}"));
        assert_eq!(count(&dest), "50000", "{file}");
        // Both ways round: no row of one is missing from the other.
        for (a, b) in [("t", "orders"), ("orders", "t")] {
            let q = format!(
                "SELECT COUNT(*) AS n FROM (SELECT {columns} FROM {a} EXCEPT SELECT {columns} FROM {b}) AS d"
            );
            let out = assay(&[
                "sql",
                &q,
                "-t",
                &format!("t={dest}"),
                "-t",
                &orders,
                "--engine",
                "datafusion",
                "--format",
                "json",
            ]);
            assert_eq!(json(out.ok())[0]["n"], 0, "{file}: rows of {a} not in {b}");
        }
        // No temporary file is left beside it.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("assay-partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    // An explicit format for a name that says none.
    let dat = dir.path().join("o.dat").display().to_string();
    assay(&["export", &orders, "--to", &dat, "--format", "parquet"]).ok();
    assert_eq!(&std::fs::read(&dat).unwrap()[..4], b"PAR1");
    // Refusals: an existing file without --overwrite, the input itself, an unknown
    // format; the existing file is untouched.
    let existing = dir.path().join("o.parquet").display().to_string();
    let before = std::fs::read(&existing).unwrap();
    assay(&["export", &orders, "--to", &existing]).fails(2, &["already exists", "--overwrite"]);
    assert_eq!(std::fs::read(&existing).unwrap(), before);
    assay(&["export", &orders, "--to", &orders, "--overwrite"]).fails(2, &["is an input"]);
    assay(&["export", &orders, "--to", &dir.path().join("o.xyz").display().to_string()])
        .fails(2, &["unknown output format"]);
    // --overwrite replaces it.
    let said =
        assay(&["export", &sample("customers.parquet"), "--to", &existing, "--overwrite"]).ok().to_string();
    assert!(said.starts_with("5000 rows written"), "{said}");
}

/// A frame with every type a load must keep: integers, unicode text with nulls, floats
/// with nulls, dates, timestamps, booleans and decimals.
pub fn typed() -> polars::prelude::DataFrame {
    use polars::prelude::*;
    df!(
        "id" => [1i64, 2, 3, 4],
        "name" => [Some("Ann"), None, Some("Zoë"), Some("李 \"quoted\", comma")],
        "score" => [Some(3.5f64), Some(-4.25), None, Some(1e-9)],
        "day" => [Some("2024-01-02"), Some("2024-02-29"), None, Some("1999-12-31")],
        "at" => [Some("2024-01-02 03:04:05.123456"), None, Some("2024-06-30 23:59:59"), Some("1970-01-01 00:00:00")],
        "ok" => [Some(true), Some(false), None, Some(true)],
        "price" => [Some("12.34"), Some("0.01"), Some("99999999.99"), None],
        "small" => [Some(1i32), None, Some(-7), Some(127)],
    )
    .unwrap()
    .lazy()
    .with_columns([
        col("day").str().to_date(StrptimeOptions::default()),
        col("at").str().to_datetime(
            Some(TimeUnit::Microseconds),
            None,
            StrptimeOptions::default(),
            lit("raise"),
        ),
        col("price").cast(DataType::Decimal(10, 2)),
    ])
    .collect()
    .unwrap()
}

/// Rows of `q` over `t` (a path or URL) as JSON.
pub fn rows_of(t: &str, q: &str) -> serde_json::Value {
    json(assay(&["sql", q, "-t", &format!("t={t}"), "--format", "json"]).ok())
}

#[test]
fn sqlite_loads_keep_types_follow_their_mode_and_roll_back_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("typed.parquet");
    write_parquet(&mut typed(), &parquet);
    let parquet = parquet.display().to_string();
    let db = dir.path().join("w.db").display().to_string();
    let url = format!("sqlite://{db}?table=typed");
    let said = assay(&["export", &parquet, "--to", &url]).ok().to_string();
    assert_eq!(said.trim(), format!("4 rows loaded into {url}"));
    // Read back: the same schema and the same rows, nulls, unicode, dates, decimals.
    assert_eq!(
        json(assay(&["schema", &url, "--format", "json"]).ok())["columns"],
        json(assay(&["schema", &parquet, "--format", "json"]).ok())["columns"]
    );
    let all = "SELECT * FROM t ORDER BY id";
    assert_eq!(rows_of(&url, all), rows_of(&parquet, all));
    // SQLite's own view of it: WAL, the declared types.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    // A database assay creates has 64 KiB pages.
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    assert_eq!(page, 65536);
    let decl: Vec<String> = conn
        .prepare("SELECT type FROM pragma_table_info('typed')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(decl, ["BIGINT", "TEXT", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN", "DECIMAL(10,2)", "INT"]);
    drop(conn);

    load_contract(
        dir.path(),
        &parquet,
        &url,
        &format!("sqlite://{db}?table=orders"),
        &format!("sqlite://{db}?table=by_id"),
        &[],
    );
    // Refusals before anything is written.
    assay(&["export", &parquet, "--to", &format!("sqlite://{db}")])
        .fails(2, &["expected sqlite://PATH?table=NAME"]);
    assay(&["export", &parquet, "--to", &format!("{url}&mode=upsert")]).fails(2, &["needs key="]);
    assay(&["export", &parquet, "--to", &format!("{url}&mode=upsert&key=nope")])
        .fails(2, &["key column `nope`"]);
    assay(&["schema", &format!("sqlite://{}?table=t", dir.path().join("none.db").display())])
        .fails(2, &["none.db: no such file"]);
    assay(&["schema", &format!("sqlite://{db}?table=missing")]).fails(2, &["no such table: missing"]);
}

/// What every database destination does, through the CLI (with `env`), on the table
/// `url` already holding `parquet` (`typed()`): replacing needs --overwrite, append
/// doubles, upsert on the key updates in place, and a load failing mid-way (a bad value
/// 300,000 rows into a CSV) leaves the table as it was in append and in replace mode.
/// Then the sample orders load whole into `orders` equal both ways, and upserted by
/// `order_id` into `by_id` keep one row per id, the last one read.
pub fn load_contract(
    dir: &std::path::Path,
    parquet: &str,
    url: &str,
    orders: &str,
    by_id: &str,
    env: &[(&str, &str)],
) {
    let run = |args: &[&str]| assay_env(args, env);
    let read = |t: &str, q: &str| json(run(&["sql", q, "-t", &format!("t={t}"), "--format", "json"]).ok());
    let all = "SELECT * FROM t ORDER BY id";
    run(&["export", parquet, "--to", url]).fails(2, &["the table exists", "--overwrite"]);
    run(&["export", parquet, "--to", &format!("{url}&mode=append")]).ok();
    assert_eq!(read(url, "SELECT COUNT(*) AS n FROM t")[0]["n"], 8);
    run(&["export", parquet, "--to", url, "--overwrite"]).ok();
    assert_eq!(read(url, "SELECT COUNT(*) AS n FROM t")[0]["n"], 4);
    let mut changed = typed();
    changed.apply("score", |s| s.clone() * 2.0).unwrap();
    let changed_path = dir.join("changed.parquet");
    write_parquet(&mut changed, &changed_path);
    run(&["export", &changed_path.display().to_string(), "--to", &format!("{url}&mode=upsert&key=id")]).ok();
    assert_eq!(
        read(url, "SELECT id, score FROM t ORDER BY id"),
        serde_json::json!([
            {"id": 1, "score": 7.0}, {"id": 2, "score": -8.5}, {"id": 3, "score": null}, {"id": 4, "score": 2e-9}
        ])
    );
    let mut text = String::from("id,name\n");
    for i in 0..300_000 {
        text.push_str(&format!("{i},n{i}\n"));
    }
    text.push_str("not-a-number,oops\n");
    let bad = write(dir, "bad.csv", text.as_bytes());
    let before = read(url, all);
    for dest in [format!("{url}&mode=append"), url.to_string()] {
        let failing = run(&["export", &bad, "--to", &dest, "--overwrite"]);
        assert_ne!(failing.code, 0, "{}", failing.stdout);
        assert!(!failing.stderr.contains("panicked"), "{}", failing.stderr);
        assert_eq!(read(url, all), before);
    }

    let sample_orders = sample("orders.csv");
    assert_eq!(
        run(&["export", &sample_orders, "--to", orders]).ok().trim(),
        format!("50000 rows loaded into {orders}")
    );
    for (a, b) in [("t", "orders"), ("orders", "t")] {
        let q = format!("SELECT COUNT(*) AS n FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b}) AS d");
        let t = format!("t={orders}");
        let out =
            run(&["sql", &q, "-t", &t, "-t", &sample_orders, "--engine", "datafusion", "--format", "json"]);
        assert_eq!(json(out.ok())[0]["n"], 0, "rows of {a} not in {b}");
    }
    run(&["export", &sample_orders, "--to", &format!("{by_id}&mode=upsert&key=order_id")]).ok();
    let distinct = rows_of(&sample_orders, "SELECT COUNT(DISTINCT order_id) AS n FROM t")[0]["n"].clone();
    assert_eq!(read(by_id, "SELECT COUNT(*) AS n FROM t")[0]["n"], distinct);
    let dup = rows_of(
        &sample_orders,
        "SELECT order_id FROM t GROUP BY order_id HAVING COUNT(*) > 1 ORDER BY order_id LIMIT 1",
    )[0]["order_id"]
        .clone();
    let last = rows_of(
        &sample_orders,
        &format!(
            "SELECT amount FROM (SELECT amount, order_id, ROW_NUMBER() OVER () AS r FROM t) AS x \
             WHERE order_id = {dup} ORDER BY r DESC LIMIT 1"
        ),
    );
    let stored = read(by_id, &format!("SELECT amount FROM t WHERE order_id = {dup}"));
    assert_eq!(stored, last, "the last row of a duplicated id wins");
}

/// Spawns assay with `args` and SIGKILLs it after `after`, asserting it was still
/// running then (so the kill really came mid-way).
pub fn killed_mid_way(args: &[&str], env: &[(&str, &str)], after: std::time::Duration) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    assert!(child.try_wait().unwrap().is_none(), "assay {args:?} finished before the kill: a weak test");
    child.kill().unwrap(); // SIGKILL: no cleanup code runs
    child.wait().unwrap();
}

#[test]
fn an_export_killed_mid_way_leaves_the_old_output_and_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    assay::generate::generate(assay::generate::Kind::Orders, 1_500_000, 5, &big).unwrap();
    let big = big.display().to_string();
    let names = || {
        let mut n: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    // A file output: yesterday's file stays byte for byte, nothing else appears.
    let out = dir.path().join("out.parquet");
    std::fs::write(&out, b"yesterday's output").unwrap();
    let dest = out.display().to_string();
    killed_mid_way(
        &["export", &big, "--to", &dest, "--overwrite"],
        &[],
        std::time::Duration::from_millis(1500),
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"yesterday's output");
    assert_eq!(names(), ["big.csv", "out.parquet"]);
    // A new database: nothing at its path until the load commits; what the killed load
    // left under a hidden name is removed by the next load beside it.
    let fresh = dir.path().join("fresh.db").display().to_string();
    let fresh_url = format!("sqlite://{fresh}?table=orders");
    killed_mid_way(&["export", &big, "--to", &fresh_url], &[], std::time::Duration::from_millis(2500));
    let left = names();
    assert!(!left.contains(&"fresh.db".to_string()), "{left:?}");
    assert!(left.iter().any(|n| n.starts_with(".fresh.db.assay-partial-")), "{left:?}");
    assay(&["export", &sample("orders.csv"), "--to", &fresh_url]).ok();
    assert_eq!(names(), ["big.csv", "fresh.db", "out.parquet"]);
    // A SQLite load: the table is as it was and the database is sound.
    let db = dir.path().join("w.db").display().to_string();
    let url = format!("sqlite://{db}?table=orders");
    assay(&["export", &sample("orders.csv"), "--to", &url]).ok();
    killed_mid_way(
        &["export", &big, "--to", &format!("{url}&mode=append")],
        &[],
        std::time::Duration::from_millis(2500),
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 50_000);
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    // Writing into a read-only folder says so.
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&ro, perms).unwrap();
    let target = ro.join("x.parquet").display().to_string();
    let run = assay(&["export", &sample("orders.csv"), "--to", &target]);
    // Root may write anywhere: then the folder of sysfs stands in (no one creates files there).
    if run.code == 0 {
        assay(&["export", &sample("orders.csv"), "--to", "/sys/x.parquet"])
            .fails(2, &["/sys (the folder of /sys/x.parquet): permission denied"]);
    } else {
        run.fails(2, &["(the folder of", "permission denied"]);
        assert_eq!(std::fs::read_dir(&ro).unwrap().count(), 0);
    }
}

#[test]
fn writer_options_shape_csv_and_parquet_files() {
    use datafusion::parquet::basic::Compression;
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let orders = sample("orders.csv");
    let csv = dir.path().join("o.csv").display().to_string();
    let said = assay(&[
        "export",
        &orders,
        "--to",
        &csv,
        "--csv-delimiter",
        ";",
        "--csv-quote",
        "always",
        "--no-csv-header",
    ]);
    assert_eq!(said.ok().trim(), format!("50000 rows written to {csv}"));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("\"100000\";\"800\";\"2024-05-02\";"), "{}", &text[..80]);
    assert_eq!(text.lines().count(), 50_000, "no header line");
    let back = assay(&["count", &csv, "--delimiter", ";", "--no-header"]);
    assert_eq!(back.ok().trim(), "50000");

    let metadata = |path: &str| {
        SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap().metadata().clone()
    };
    let snappy = dir.path().join("snappy.parquet").display().to_string();
    assay(&[
        "export",
        &orders,
        "--to",
        &snappy,
        "--compression",
        "snappy",
        "--row-group-size",
        "10000",
        "--no-statistics",
    ])
    .ok();
    let meta = metadata(&snappy);
    let groups = meta.row_groups();
    assert!(
        groups.len() >= 5 && groups.iter().all(|g| g.num_rows() <= 10_000),
        "{} row groups",
        groups.len()
    );
    assert_eq!(groups.iter().map(|g| g.num_rows()).sum::<i64>(), 50_000);
    assert!(groups[0].columns().iter().all(|c| c.compression() == Compression::SNAPPY));
    assert!(groups[0].column(0).statistics().is_none(), "statistics were asked off");
    let zstd = dir.path().join("zstd.parquet").display().to_string();
    assay(&["export", &orders, "--to", &zstd, "--compression", "zstd", "--compression-level", "19"]).ok();
    let meta = metadata(&zstd);
    let column = meta.row_group(0).column(0);
    assert!(matches!(column.compression(), Compression::ZSTD(_)), "{:?}", column.compression());
    assert!(column.statistics().is_some_and(|s| s.min_bytes_opt().is_some()), "statistics by default");
    // Both files hold the same rows.
    let q = "SELECT COUNT(*) AS n FROM (SELECT * FROM a EXCEPT SELECT * FROM b) AS d";
    let same =
        assay(&["sql", q, "-t", &format!("a={snappy}"), "-t", &format!("b={zstd}"), "--format", "json"]);
    assert_eq!(json(same.ok())[0]["n"], 0);
    // Refusals, before anything is written.
    let x = dir.path().join("x.parquet").display().to_string();
    assay(&["export", &orders, "--to", &x, "--compression", "snappy", "--compression-level", "3"])
        .fails(2, &["has no compression level"]);
    assay(&["export", &orders, "--to", &x, "--compression-level", "99"])
        .fails(2, &["Parquet compression level 99: valid compression range 1..=22 exceeded"]);
    assay(&["export", &orders, "--to", &x, "--csv-quote", "always"])
        .fails(2, &["CSV options given for a parquet output"]);
    assay(&["export", &orders, "--to", &csv, "--overwrite", "--row-group-size", "5"])
        .fails(2, &["Parquet options given for a csv output"]);
    assert!(!std::path::Path::new(&x).exists());
}

#[test]
fn partitioned_exports_write_a_hive_tree_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let orders = sample("orders.csv");
    let tree = dir.path().join("by_country").display().to_string();
    let said = assay(&["export", &orders, "--to", &tree, "--partition-by", "country"]).ok().to_string();
    assert_eq!(said.trim(), format!("50000 rows written to {tree}"));
    // One folder per value, the key in the folder name and not in the files.
    let mut folders: Vec<String> = std::fs::read_dir(&tree)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let by_value = rows_of(
        &orders,
        "SELECT country, COUNT(*) AS n, ROUND(SUM(amount), 2) AS s FROM t GROUP BY country ORDER BY country",
    );
    let expected: Vec<String> = by_value
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("country={}", r["country"].as_str().unwrap()))
        .collect();
    assert_eq!(folders, expected);
    let file = std::fs::read_dir(dir.path().join("by_country").join(&folders[0]))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let columns: Vec<String> = {
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
        let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        schema.columns().iter().map(|c| c.name().to_string()).collect()
    };
    assert!(
        !columns.contains(&"country".to_string()) && columns.contains(&"amount".to_string()),
        "{columns:?}"
    );
    // Read back as one dataset (the folder names become the column): the same groups.
    let q =
        "SELECT country, COUNT(*) AS n, ROUND(SUM(amount), 2) AS s FROM t GROUP BY country ORDER BY country";
    assert_eq!(rows_of(&tree, q), by_value);
    // Replacing the tree needs --overwrite; then the old folders are gone, with no
    // hidden folder left beside it.
    assay(&["export", &orders, "--to", &tree, "--partition-by", "status"])
        .fails(2, &["already exists", "--overwrite"]);
    assay(&[
        "export",
        &orders,
        "--to",
        &tree,
        "--partition-by",
        "status,country",
        "--format",
        "csv",
        "--overwrite",
    ])
    .ok();
    let names: Vec<String> = std::fs::read_dir(&tree)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("status=")), "{names:?}");
    let beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["by_country"]);
    let nested =
        std::fs::read_dir(std::path::Path::new(&tree).join(&names[0])).unwrap().next().unwrap().unwrap();
    assert!(nested.file_name().to_string_lossy().starts_with("country="));
    // What a killed export left beside it (a hidden partial tree of a process that no
    // longer runs) is removed by the next export there.
    let stale = dir.path().join(".by_country.assay-partial-4000000000");
    std::fs::create_dir_all(stale.join("status=x")).unwrap();
    assay(&["export", &orders, "--to", &tree, "--partition-by", "status", "--overwrite"]).ok();
    assert!(!stale.exists());
    // An unknown column fails before anything is written.
    let other = dir.path().join("other").display().to_string();
    assay(&["export", &orders, "--to", &other, "--partition-by", "nope"])
        .fails(2, &["partition column `nope`"]);
    assert!(!std::path::Path::new(&other).exists());
    // A recipe output partitioned the same way.
    let recipe = write(
        dir.path(),
        "p.toml",
        format!(
            "name = \"p\"\n[sources.orders]\npath = {orders:?}\n\n[outputs.tree]\npath = {:?}\npartition_by = [\"country\"]\n",
            dir.path().join("recipe_tree").display().to_string()
        )
        .as_bytes(),
    );
    let manifest = json(assay(&["run", &recipe, "--format", "json"]).ok());
    assert_eq!(manifest["outputs"][0]["rows"], 50_000);
    assert_eq!(rows_of(&dir.path().join("recipe_tree").display().to_string(), q), by_value);
}

#[test]
fn exports_work_when_polars_reads_and_writes_through_its_async_path() {
    // docs/internals.md suggests POLARS_FORCE_ASYNC=1 for lower RSS; Polars' async writer cannot write
    // to the unnamed file an export is staged in, so such exports stage a named one.
    let dir = tempfile::tempdir().unwrap();
    for ext in ["parquet", "csv"] {
        let plain = dir.path().join(format!("plain.{ext}")).display().to_string();
        let forced = dir.path().join(format!("forced.{ext}")).display().to_string();
        assay(&["export", "sample-data/orders.csv", "--to", &plain]).ok();
        assay_env(&["export", "sample-data/orders.csv", "--to", &forced], &[("POLARS_FORCE_ASYNC", "1")])
            .ok();
        assert_eq!(rows_of(&plain, "SELECT * FROM t"), rows_of(&forced, "SELECT * FROM t"), "{ext}");
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names.len(), 4, "no staging file left: {names:?}");
}

#[test]
fn delimiters_are_sniffed_whatever_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    // A `.csv` file delimited by `;`, with decimal commas that stay text.
    let semi = write(dir.path(), "prices.csv", b"id;name;price\n1;a;1,50\n2;b;2\n3;c;0,75\n");
    assert_eq!(
        schema_of(&semi),
        [("id", "i64"), ("name", "str"), ("price", "str")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(head_json(&semi)[0]["price"], "1,50");
    // A `|`-delimited `.txt` file whose text holds commas.
    let pipe = write(dir.path(), "names.txt", b"id|name\n1|Smith, Ann\n2|Lee, Bo\n");
    assert_eq!(head_json(&pipe)[0]["name"], "Smith, Ann");
    // The extension's delimiter stays when nothing splits better.
    let tsv = write(dir.path(), "t.tsv", b"a\tb,c\n1\t2,3\n");
    let names = |s: Vec<(String, String)>| s.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(names(schema_of(&tsv)), ["a", "b,c"]);
    // A title line above the header is reported, not read as one column.
    let titled = write(dir.path(), "report.csv", b"Sales report\nid;name\n1;a\n2;b\n3;c\n");
    assay(&["head", &titled]).fails(2, &["report.csv", "line 1 holds no delimiter", "`;`", "2 fields"]);
    // --delimiter decides alone.
    let forced = json(assay(&["schema", &tsv, "--delimiter", ",", "--format", "json"]).ok());
    assert_eq!(forced["columns"][0]["name"], "a\tb");
    // Fields quoted with single quotes.
    let single = write(dir.path(), "q.csv", b"id,name\n1,'a, b'\n2,'c'\n");
    assert_eq!(head_json(&single)[0]["name"], "a, b");
    // --decimal-comma reads `1,50` as 1.5, on Polars: auto picks it, DataFusion refuses.
    let dc = ["--decimal-comma", "--format", "json"];
    let head = json(assay(&[&["head", semi.as_str()][..], &dc].concat()).ok());
    assert_eq!(head[0]["price"], 1.5);
    let q = "SELECT SUM(price) AS total FROM prices";
    let total = json(assay(&[&["sql", q, "-t", semi.as_str()][..], &dc].concat()).ok());
    assert_eq!(total[0]["total"], 4.25);
    assay(&["sql", q, "-t", &semi, "--decimal-comma", "--engine", "datafusion"])
        .fails(2, &["prices.csv", "decimal comma", "--engine polars"]);
    let commas = write(dir.path(), "commas.csv", b"a,b\n1,2\n");
    assay(&["head", &commas, "--decimal-comma"]).fails(2, &["commas.csv", "--decimal-comma", "--delimiter"]);
}

/// One meaning of empty: a field with nothing in it is null, quoted or not, on both
/// engines and in the workbench's pages (docs/sql.md).
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_field_is_null_quoted_or_not_on_both_engines_and_in_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "e.csv", b"id,name,score\n1,\"\",5\n2,,\n3,NA,7\n4,\"x\",\"\"\n");
    let ws = assay::Workspace::open(&[(None, path.clone())], &assay::OpenOptions::default()).await.unwrap();
    let q = "SELECT COUNT(*) - COUNT(name) AS name_nulls, COUNT(*) - COUNT(score) AS score_nulls, \
             SUM(score) AS total FROM e";
    for engine in [assay::engine::EngineKind::Polars, assay::engine::EngineKind::DataFusion] {
        let t = ws.sql(q, engine).await.unwrap();
        let cells = assay::output::cells(&t, 10).unwrap();
        assert_eq!(cells[0], [Some("2".into()), Some("2".into()), Some("12".into())], "{engine:?}");
    }
    // The grid reads rows by seeking (after a count) and by scanning: both show nulls.
    let scanned = page_text(&ws, 0, 10).await;
    ws.count(&ws.datasets()[0], &[]).await.unwrap();
    let indexed = page_text(&ws, 0, 10).await;
    for page in [scanned, indexed] {
        assert_eq!(page[0][1], None, "quoted empty: {page:?}");
        assert_eq!(page[1][1], None, "unquoted empty: {page:?}");
        assert_eq!(page[2][1].as_deref(), Some("NA"));
        assert_eq!(page[3][2], None, "{page:?}");
    }
    assert_eq!(schema_of(&path)[2], ("score".to_string(), "i64".to_string()));
}

/// Configured null values (`--null-value`, recipe `csv.null_values`) read as null, quoted
/// or not, on both engines, in the grid's pages, in schema inference, `profile` and a
/// recipe source; the empty field stays null.
#[tokio::test(flavor = "multi_thread")]
async fn configured_null_values_read_the_same_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "n.csv",
        b"id,name,score\n1,\"NA\",5\n2,,-\n3,NA,7\n4,\"x\",\"\"\n5,na,NA\n6,-,8\n",
    );
    let options = assay::OpenOptions { null_values: vec!["NA".into(), "-".into()], ..Default::default() };
    let ws = assay::Workspace::open(&[(None, path.clone())], &options).await.unwrap();
    let q = "SELECT COUNT(*) - COUNT(name) AS name_nulls, COUNT(*) - COUNT(score) AS score_nulls, \
             SUM(score) AS total, MIN(name) AS first_name FROM n";
    for engine in [assay::engine::EngineKind::Polars, assay::engine::EngineKind::DataFusion] {
        let t = ws.sql(q, engine).await.unwrap();
        let cells = assay::output::cells(&t, 10).unwrap();
        // `na` is not `NA`: values are compared as written.
        let want = [Some("4".into()), Some("3".into()), Some("20".into()), Some("na".into())];
        assert_eq!(cells[0], want, "{engine:?}");
    }
    let scanned = page_text(&ws, 0, 10).await;
    ws.count(&ws.datasets()[0], &[]).await.unwrap();
    let indexed = page_text(&ws, 0, 10).await;
    for page in [scanned, indexed] {
        let names: Vec<Option<&str>> = page.iter().map(|r| r[1].as_deref()).collect();
        assert_eq!(names, [None, None, None, Some("x"), Some("na"), None], "{page:?}");
        assert_eq!(page[1][2], None, "{page:?}");
    }
    // The CLI twin: `score` is a number column once NA and - are null.
    let nv = ["--null-value", "NA", "--null-value", "-"];
    let schema = json(assay(&[&["schema", path.as_str(), "--format", "json"][..], &nv].concat()).ok());
    assert_eq!(schema["columns"][2]["type"], "i64", "{schema}");
    assert_eq!(schema_of(&path)[2], ("score".to_string(), "str".to_string()), "without the option");
    let profile = json(assay(&[&["profile", path.as_str(), "--format", "json"][..], &nv].concat()).ok());
    let score = profile["columns"].as_array().unwrap().iter().find(|c| c["name"] == "score").unwrap().clone();
    assert_eq!(score["nulls"], 3, "{score}");
    // A recipe source.
    let out = dir.path().join("out.csv").display().to_string();
    let recipe = format!(
        "[sources.n]\npath = {path:?}\ncsv = {{ null_values = [\"NA\", \"-\"] }}\n\n\
         [[steps]]\nfilter = \"score IS NULL\"\n\n[outputs.missing]\npath = {out:?}\n"
    );
    let recipe_path = write(dir.path(), "n.recipe.toml", recipe.as_bytes());
    assay(&["run", &recipe_path]).ok();
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written.lines().count(), 4, "header and rows 2, 4, 5: {written}");
}

#[test]
fn completions_and_manual_pages_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    // bash: the script loads and registers assay's completion, naming every command.
    let bash = assay(&["completions", "bash"]);
    let script = write(dir.path(), "assay.bash", bash.ok().as_bytes());
    let registered = std::process::Command::new("bash")
        .args(["-c", &format!("source {script} && complete -p assay")])
        .output()
        .unwrap();
    assert!(registered.status.success(), "{}", String::from_utf8_lossy(&registered.stderr));
    assert!(String::from_utf8_lossy(&registered.stdout).contains("assay"));
    for command in ["schema", "head", "count", "profile", "check", "export", "sql", "explain", "run", "man"] {
        assert!(bash.stdout.contains(command), "`{command}` not completed");
    }
    assert!(assay(&["completions", "zsh"]).ok().starts_with("#compdef assay"));
    assert!(assay(&["completions", "fish"]).ok().contains("complete -c assay"));
    assay(&["completions", "tcsh"]).fails(2, &["tcsh"]);

    // One page on stdout; with --out, a page per command, nested ones included.
    let page = assay(&["man"]);
    assert!(page.ok().contains(".TH assay 1"), "{}", page.stdout);
    assert!(page.stdout.contains(".SH NAME") && page.stdout.contains("completions"));
    let pages = dir.path().join("man1");
    let out = assay(&["man", "--out", pages.to_str().unwrap()]);
    let written: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(out.ok().contains(&format!("{} manual pages written", written.len())), "{}", out.stdout);
    for name in ["assay.1", "assay-sql.1", "assay-export.1", "assay-recipe-schema.1"] {
        assert!(written.contains(&name.to_string()), "{name} not in {written:?}");
    }
    let sql = std::fs::read_to_string(pages.join("assay-sql.1")).unwrap();
    assert!(sql.contains("assay sql") && sql.contains("\\-\\-engine"), "{sql}");
    assert!(!written.iter().any(|n| n.contains("baseline") || n.contains(".assay-partial")), "{written:?}");
    // A folder that cannot be made: one line naming it, nothing written.
    let blocked = write(dir.path(), "file", b"x");
    assay(&["man", "--out", &format!("{blocked}/man1")]).fails(3, &["file/man1"]);
}

/// `-` is standard input, a DATA like any other: spooled once, sniffed, named `stdin`,
/// on both engines and in checks and exports; bad or missing input is said as `stdin`.
#[test]
fn standard_input_is_a_dataset() {
    let csv = std::fs::read(sample("orders.csv")).unwrap();
    assert_eq!(assay_stdin(&["count", "-"], &csv).ok().trim(), "50000");
    let head = assay_stdin(&["head", "-", "--rows", "2", "--format", "csv"], &csv);
    assert_eq!(head.ok().lines().count(), 3, "{}", head.stdout);
    let query = "SELECT status, COUNT(*) AS n FROM stdin GROUP BY status ORDER BY status";
    let answers: Vec<String> = ["polars", "datafusion"]
        .iter()
        .map(|e| {
            assay_stdin(&["sql", "-t", "-", "--engine", e, "--format", "csv", query], &csv).ok().to_string()
        })
        .collect();
    assert_eq!(answers[0], answers[1]);
    assert!(answers[0].contains("delivered,21247"), "{}", answers[0]);
    let named = assay_stdin(&["sql", "-t", "o=-", "--format", "csv", "SELECT COUNT(*) AS n FROM o"], &csv);
    assert!(named.ok().contains("50000"), "{}", named.stdout);
    let report =
        assay_stdin(&["check", "-", "--rules", &sample("orders.rules.toml"), "--format", "json"], &csv);
    assert_eq!(report.code, 1, "{}", report.stderr);
    assert_eq!(json(&report.stdout)["table"], "stdin");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.parquet").display().to_string();
    assay_stdin(&["export", "-", "--to", &out], &csv).ok();
    assert_eq!(assay(&["count", &out]).ok().trim(), "50000");
    // NDJSON is sniffed too.
    let ndjson = b"{\"a\": 1}\n{\"a\": 2}\n".to_vec();
    assert_eq!(assay_stdin(&["count", "-"], &ndjson).ok().trim(), "2");
    // Bad input, said as stdin (not the scratch file), exit 2.
    assay_stdin(&["count", "-"], b"a,b\n1,2\n1,2,3\n").fails(2, &["stdin: ", "line 3"]);
    assay_stdin(&["head", "-"], b"").fails(2, &["stdin", "nothing was piped in"]);
    assay_stdin(&["sql", "-f", "-", "-t", "-"], b"SELECT 1").fails(2, &["not both"]);
}

/// gzip and zstd files (by extension or by their bytes alone) read as the plain file on
/// both engines, in checks and through a pipe; a cut-short stream is refused (exit 2).
#[test]
fn compressed_files_read_like_plain_ones() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read(sample("orders.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&csv).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::stream::encode_all(&csv[..], 3).unwrap();
    let gz_path = write(dir.path(), "orders.csv.gz", &gz);
    let zst_path = write(dir.path(), "orders.csv.zst", &zst);
    let bare = write(dir.path(), "orders_export", &gz);
    for path in [&gz_path, &zst_path, &bare] {
        assert_eq!(assay(&["count", path]).ok().trim(), "50000", "{path}");
    }
    let schema = assay(&["schema", &gz_path, "--format", "json"]);
    assert_eq!(json(schema.ok())["table"], "orders", "{}", schema.stdout);
    let query = "SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status";
    let plain: Vec<String> = ["polars", "datafusion"]
        .iter()
        .map(|e| {
            assay(&["sql", "-t", &sample("orders.csv"), "--engine", e, "--format", "csv", query])
                .ok()
                .to_string()
        })
        .collect();
    for engine in ["polars", "datafusion"] {
        let out = assay(&["sql", "-t", &zst_path, "--engine", engine, "--format", "csv", query]);
        assert_eq!(out.ok(), plain[0], "{engine}");
    }
    assert_eq!(plain[0], plain[1]);
    let report = assay(&["check", &gz_path, "--rules", &sample("orders.rules.toml"), "--format", "json"]);
    assert_eq!(json(&report.stdout)["rows"], 50000, "{}", report.stderr);
    assert_eq!(assay_stdin(&["count", "-"], &gz).ok().trim(), "50000");
    let cut = write(dir.path(), "cut.csv.gz", &gz[..gz.len() / 3]);
    assay(&["count", &cut]).fails(2, &["cut.csv.gz", "not a readable gzip stream", "cut short"]);
}

#[test]
fn workbook_sheets_are_datasets() {
    let book = sample("orders.xlsx");
    // The first sheet, typed by its cells: the same rows as the CSV it was made from.
    let schema = json(assay(&["schema", &book, "--format", "json"]).ok());
    assert_eq!(schema["table"], "orders");
    let types: Vec<(String, String)> = schema["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["type"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(types[0], ("order_id".to_string(), "i64".to_string()), "{types:?}");
    assert_eq!(types[2].1, "date", "{types:?}");
    assert_eq!(types[3].1, "datetime[μs]", "{types:?}");
    assert_eq!(types[9].1, "f64", "{types:?}");
    assert_eq!(assay(&["count", &book]).ok().trim(), "992");
    // Both engines read it and agree, with the CSV it came from.
    let query = "SELECT status, COUNT(*) AS n, ROUND(SUM(amount), 2) AS amount FROM orders \
                 WHERE order_id IN (100000, 100001, 100002, 100003, 100004, 100005) \
                 GROUP BY status ORDER BY status";
    let answers: Vec<String> = ["polars", "datafusion"]
        .iter()
        .map(|e| assay(&["sql", "-t", &book, "--engine", e, "--format", "csv", query]).ok().to_string())
        .collect();
    assert_eq!(answers[0], answers[1]);
    let csv =
        assay(&["sql", "-t", &sample("orders.csv"), "--engine", "datafusion", "--format", "csv", query]);
    assert_eq!(answers[0], csv.ok());
    // Another sheet, by option or in the path; an error cell is text, not a silent null.
    for args in [
        vec!["head", book.as_str(), "--sheet", "returns", "--format", "csv"],
        vec!["head", &format!("{book}?sheet=returns"), "--format", "csv"],
    ] {
        let out = assay(&args.iter().map(|s| s.as_ref()).collect::<Vec<&str>>());
        assert_eq!(
            out.ok(),
            "order_id,refund,ratio,note\n100001,2739.03,1,full refund\n100017,120.5,#DIV/0!,\n100042,,0.25,partial\n"
        );
    }
    let bare = assay(&["head", &book, "--sheet", "returns", "--no-header", "-n", "1", "--format", "csv"]);
    assert_eq!(bare.ok(), "column_1,column_2,column_3,column_4\norder_id,refund,ratio,note\n");
    let named = json(assay(&["schema", &format!("{book}?sheet=returns"), "--format", "json"]).ok());
    assert_eq!(named["table"], "returns");
    assay(&["count", &book, "--sheet", "nope"])
        .fails(2, &["orders.xlsx", "no sheet `nope`", "orders, returns"]);
    // A check runs on it like on any dataset.
    let report = assay(&["check", &book, "--rules", &sample("orders.rules.toml"), "--format", "json"]);
    assert_eq!(json(&report.stdout)["rows"], 992, "{}", report.stderr);
    // A recipe source names its sheet.
    let dir = tempfile::tempdir().unwrap();
    let recipe = write(
        dir.path(),
        "r.toml",
        format!(
            "[sources.returns]\npath = \"{book}\"\nsheet = \"returns\"\n\n[[steps]]\nfilter = \"refund IS NOT NULL\"\n\n\
             [outputs.out]\npath = \"{}/out.csv\"\n",
            dir.path().display()
        )
        .as_bytes(),
    );
    assay(&["run", &recipe]).ok();
    let out = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    // A cut or fake workbook is refused, naming the file.
    let bytes = std::fs::read(&book).unwrap();
    let cut = write(dir.path(), "cut.xlsx", &bytes[..bytes.len() / 2]);
    assay(&["count", &cut]).fails(2, &["cut.xlsx", "not a readable workbook"]);
    let fake = write(dir.path(), "fake.xlsx", b"order_id,amount\n1,2\n");
    assay(&["count", &fake]).fails(2, &["fake.xlsx", "not a readable workbook"]);
}

#[test]
fn files_that_never_quote_read_with_quote_none() {
    let dir = tempfile::tempdir().unwrap();
    // Inches and a quoted word, in a file whose fields are never quoted.
    let path =
        write(dir.path(), "inches.csv", b"id,name,size\n1,12\" pipe,3\n2,\"quoted\",4\n3,6\" bolt,5\n");
    assay(&["count", &path]).fails(2, &["inches.csv", "line 2", "--quote none"]);
    assert_eq!(assay(&["count", &path, "--quote", "none"]).ok().trim(), "3");
    let query = "SELECT id, name, length(name) AS n FROM inches ORDER BY id";
    let want = "id,name,n\n1,\"12\"\" pipe\",8\n2,\"\"\"quoted\"\"\",8\n3,\"6\"\" bolt\",7\n";
    for engine in ["polars", "datafusion"] {
        let out =
            assay(&["sql", "-t", &path, "--quote", "none", "--engine", engine, "--format", "csv", query]);
        assert_eq!(out.ok(), want, "{engine}");
    }
    let page = assay(&["head", &path, "--quote", "none", "--format", "csv"]);
    assert_eq!(page.ok(), "id,name,size\n1,\"12\"\" pipe\",3\n2,\"\"\"quoted\"\"\",4\n3,\"6\"\" bolt\",5\n");
    // A recipe source says it too.
    let recipe = write(
        dir.path(),
        "r.toml",
        format!(
            "[sources.inches]\npath = \"{path}\"\ncsv = {{ quote = \"none\" }}\n\n[[steps]]\nfilter = \"size > 3\"\n\n\
             [outputs.out]\npath = \"{}/out.csv\"\n",
            dir.path().display()
        )
        .as_bytes(),
    );
    assay(&["run", &recipe]).ok();
    let out = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(out, "id,name,size\n2,\"\"\"quoted\"\"\",4\n3,\"6\"\" bolt\",5\n");
    // Single quotes can be named too; anything else is refused.
    let single = write(dir.path(), "single.csv", b"id,name\n1,'a, b'\n2,'c'\n");
    let out = assay(&[
        "sql",
        "-t",
        &single,
        "--quote",
        "'",
        "--format",
        "csv",
        "SELECT name FROM single ORDER BY id",
    ]);
    assert_eq!(out.ok(), "name\n\"a, b\"\nc\n");
    assay(&["count", &path, "--quote", "xy"]).fails(2, &["quote `xy`", "none"]);
}
