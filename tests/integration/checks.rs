//! `assay check`: every check type on data whose failing rows are known, the thresholds
//! at their boundaries, agreement with hand-written SQL on the dirty sample, exit codes,
//! and malformed rules files.

use crate::common::*;

/// Ten rows with known faults: id 3 repeats, name null on row 4, score out of range on
/// rows 2 and 9 (row 7's score is null), an email without `@` on row 5.
const DATA: &str = "id,name,score,email,lo,hi\n\
1,ann,50,ann@x.org,1,2\n\
2,bob,150,bob@x.org,1,2\n\
3,cy,20,cy@x.org,3,2\n\
3,,30,dee@x.org,1,2\n\
5,eve,40,eve-at-x.org,1,2\n\
6,fay,60,fay@x.org,1,2\n\
7,gus,,gus@x.org,1,2\n\
8,hal,70,hal@x.org,1,1\n\
9,ivy,-5,ivy@x.org,1,2\n\
10,jo,80,jo@x.org,1,2\n";

fn report(data: &str, rules: &str, extra: &[&str]) -> (serde_json::Value, i32) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "people.csv", data.as_bytes());
    let rules_path = write(dir.path(), "rules.toml", rules.as_bytes());
    let mut args = vec!["check", path.as_str(), "--rules", rules_path.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    let run = assay(&args);
    (json(&run.stdout), run.code)
}

fn by_id(report: &serde_json::Value, id: &str) -> serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
        .clone()
}

#[test]
fn every_check_type_counts_the_known_failures() {
    let rules = r#"
key = ["id"]

[[checks]]
not_null = { column = "name" }
[[checks]]
unique = { columns = ["id"] }
[[checks]]
unique = { columns = ["lo", "hi"], id = "pair" }
[[checks]]
in_set = { column = "name", values = ["ann", "bob", "cy", "eve", "fay", "gus", "hal", "ivy", "jo"] }
[[checks]]
not_in_set = { column = "id", values = [3, 5] }
[[checks]]
between = { column = "score", min = 0, max = 100 }
[[checks]]
between = { column = "score", min = 20, max = 80, exclusive = true, id = "strict" }
[[checks]]
regex = { column = "email", pattern = "[a-z]+@x\\.org" }
[[checks]]
length = { column = "name", min = 3 }
[[checks]]
compare = { left = "lo", op = "<=", right = "hi" }
[[checks]]
expression = { sql = "score IS NULL OR score * 2 < 200" }
[[checks]]
row_count = { min = 10, max = 10 }
[[checks]]
null_fraction = { column = "score", max = 0.1 }
[[checks]]
distinct_count = { column = "id", min = 10 }
[[checks]]
stat = { column = "score", metric = "max", max = 150 }
[[checks]]
stat = { column = "score", metric = "median", min = 50, max = 50, id = "median" }
"#;
    let (r, code) = report(DATA, rules, &[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!((r["rows"].as_u64(), r["scans"].as_u64()), (Some(10), Some(1)));
    let failing = |id: &str| by_id(&r, id)["failing_rows"].as_u64().unwrap();
    let status = |id: &str| by_id(&r, id)["status"].as_str().unwrap().to_string();
    assert_eq!(failing("not_null_name"), 1);
    assert_eq!(failing("unique_id"), 2, "both rows of the repeated key fail");
    assert_eq!(failing("pair"), 8, "8 rows share (1, 2)");
    // A null is not in the set and is not a failure of in_set (only not_null fails nulls).
    assert_eq!(failing("in_set_name"), 0);
    assert_eq!(failing("not_in_set_id"), 3);
    // Rows 2 (150) and 9 (-5) are out of range; row 7's null score is not a failure.
    assert_eq!(failing("between_score"), 2);
    // Exclusive bounds: 20 and 80 fail too, with 150 and -5.
    assert_eq!(failing("strict"), 4);
    assert_eq!(failing("regex_email"), 1);
    assert_eq!(failing("length_name"), 2, "cy and jo are shorter than 3; the null name passes");
    assert_eq!(failing("compare_lo_hi"), 1);
    assert_eq!(failing("expression"), 1);
    assert_eq!(status("row_count"), "pass");
    assert_eq!(by_id(&r, "null_fraction_score")["observed"].as_f64(), Some(0.1));
    assert_eq!(status("null_fraction_score"), "pass", "exactly at the bound passes");
    assert_eq!(
        (status("distinct_count_id"), by_id(&r, "distinct_count_id")["observed"].as_f64()),
        ("fail".into(), Some(9.0))
    );
    assert_eq!(status("stat_score"), "pass");
    assert_eq!(by_id(&r, "median")["observed"].as_f64(), Some(50.0));
    assert_eq!(status("between_score"), "fail");
    // Failing rows are sampled with their row number, the key and the checked column.
    let samples = by_id(&r, "between_score")["samples"].clone();
    assert_eq!(
        samples,
        serde_json::json!([
            {"row": 2, "values": {"id": "2", "score": "150"}},
            {"row": 9, "values": {"id": "9", "score": "-5"}}
        ])
    );
    assert_eq!(
        by_id(&r, "not_null_name")["samples"][0],
        serde_json::json!({"row": 4, "values": {"id": "3", "name": null}})
    );
    assert_eq!(by_id(&r, "row_count")["samples"], serde_json::json!([]));
}

#[test]
fn thresholds_pass_at_their_boundary_and_fail_past_it() {
    // between_score fails 2 of 10 rows.
    let case = |threshold: &str| {
        let rules =
            format!("[[checks]]\nbetween = {{ column = \"score\", min = 0, max = 100, {threshold} }}\n");
        let (r, code) = report(DATA, &rules, &[]);
        (r["checks"][0]["status"].as_str().unwrap().to_string(), code)
    };
    assert_eq!(case("mostly = 0.8"), ("pass".into(), 0));
    assert_eq!(case("mostly = 0.81"), ("fail".into(), 1));
    assert_eq!(case("max_failures = 2"), ("pass".into(), 0));
    assert_eq!(case("max_failures = 1"), ("fail".into(), 1));
    assert_eq!(case("max_failures = \"20%\""), ("pass".into(), 0));
    assert_eq!(case("max_failures = \"19.9%\""), ("fail".into(), 1));
    // A warning fails the run only with --fail-on warn.
    let rules = "[[checks]]\nbetween = { column = \"score\", min = 0, max = 100, severity = \"warn\" }\n";
    let (r, code) = report(DATA, rules, &[]);
    assert_eq!((r["checks"][0]["status"].as_str(), code), (Some("warn"), 0));
    assert_eq!(report(DATA, rules, &["--fail-on", "warn"]).1, 1);
    // An empty table: no row fails; row_count sees 0.
    let rules = "[[checks]]\nnot_null = { column = \"name\" }\n[[checks]]\nrow_count = { min = 1 }\n";
    let (r, code) = report("id,name,score,email,lo,hi\n", rules, &[]);
    assert_eq!((r["rows"].as_u64(), code), (Some(0), 1));
    assert_eq!(r["checks"][0]["status"], "pass");
    assert_eq!(r["checks"][1]["status"], "fail");
}

/// Each check's failing count on the dirty sample equals a hand-written DataFusion query.
#[test]
fn failing_counts_agree_with_hand_written_sql() {
    let cases = [
        ("not_null = { column = \"amount\" }", "amount IS NULL"),
        (
            "in_set = { column = \"status\", values = [\"pending\", \"shipped\", \"delivered\", \"returned\", \"cancelled\"] }",
            "status NOT IN ('pending', 'shipped', 'delivered', 'returned', 'cancelled')",
        ),
        ("between = { column = \"amount\", min = 0, max = 10000 }", "amount < 0 OR amount > 10000"),
        ("regex = { column = \"email\", pattern = \"[^@ ]+@[^@ ]+\" }", "NOT (email ~ '^(?:[^@ ]+@[^@ ]+)$')"),
        ("length = { column = \"country\", min = 2, max = 2 }", "length(country) <> 2"),
        ("compare = { left = \"amount\", op = \">=\", right = \"price\" }", "NOT (amount >= price)"),
        ("expression = { sql = \"quantity * price > 10\" }", "NOT (quantity * price > 10)"),
    ];
    let mut rules = String::new();
    for (check, _) in &cases {
        rules.push_str(&format!("[[checks]]\n{check}\n"));
    }
    rules.push_str("[[checks]]\nunique = { columns = [\"order_id\"] }\n");
    let dir = tempfile::tempdir().unwrap();
    let rules_path = write(dir.path(), "rules.toml", rules.as_bytes());
    let run = assay(&["check", "sample-data/orders.csv", "--rules", &rules_path, "--format", "json"]);
    let r = json(&run.stdout);
    let sql_count = |condition: &str| {
        let q = format!("SELECT COUNT(*) AS n FROM orders WHERE {condition}");
        let out =
            assay(&["sql", &q, "-t", "sample-data/orders.csv", "--engine", "datafusion", "--format", "json"]);
        json(out.ok())[0]["n"].as_u64().unwrap()
    };
    for (i, (_, condition)) in cases.iter().enumerate() {
        let got = r["checks"][i]["failing_rows"].as_u64().unwrap();
        assert_eq!(got, sql_count(condition), "{condition}");
        assert!(got > 0 || i >= 4, "the sample is dirty for {condition}");
    }
    let dupes = "SELECT COUNT(*) AS n FROM orders WHERE order_id IN \
                 (SELECT order_id FROM orders GROUP BY order_id HAVING COUNT(*) > 1)";
    let out =
        assay(&["sql", dupes, "-t", "sample-data/orders.csv", "--engine", "datafusion", "--format", "json"]);
    assert_eq!(r["checks"][cases.len()]["failing_rows"], json(out.ok())[0]["n"]);
}

#[test]
fn malformed_rules_are_refused_before_reading_data() {
    let dir = tempfile::tempdir().unwrap();
    let rules = |name: &str, text: &str| write(dir.path(), name, text.as_bytes());
    let check = |path: &str| assay(&["check", "sample-data/orders.csv", "--rules", path]);
    let unknown_key = rules("a.toml", "[[checks]]\nnot_null = { column = \"amount\", severty = \"warn\" }\n");
    check(&unknown_key).fails(2, &["a.toml:2:", "unknown field `severty`"]);
    let unknown_type = rules("b.toml", "[[checks]]\nnot_empty = { column = \"amount\" }\n");
    check(&unknown_type).fails(2, &["b.toml:2:", "unknown variant `not_empty`"]);
    let wrong_type = rules("c.toml", "[[checks]]\nbetween = { column = \"amount\", min = \"zero\" }\n");
    check(&wrong_type).fails(2, &["c.toml:2:", "invalid type"]);
    let no_column = rules("d.toml", "[[checks]]\nnot_null = { column = \"amout\" }\n");
    check(&no_column).fails(2, &["no column `amout`"]);
    let mismatch = rules("e.toml", "[[checks]]\nbetween = { column = \"email\", min = 1 }\n");
    check(&mismatch).fails(2, &["`between` cannot check column `email` of type str"]);
    let bad_mostly = rules("f.toml", "[[checks]]\nnot_null = { column = \"amount\", mostly = 1.5 }\n");
    check(&bad_mostly).fails(2, &["f.toml: check 1", "mostly = 1.5"]);
    check("/no/such/rules.toml").fails(2, &["/no/such/rules.toml"]);
}

/// The text, order, schema, freshness and query checks, on rows with known faults.
#[test]
fn format_parse_order_schema_freshness_and_sql_checks() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let stamp = |secs_ago: i64| {
        let t = now - secs_ago;
        let days = t.div_euclid(86400);
        // Civil date from days since the epoch (Howard Hinnant's algorithm).
        let z = days + 719468;
        let era = z.div_euclid(146097);
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        let s = t.rem_euclid(86400);
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    };
    let data = format!(
        "seq,ts,email,uuid,ip,day,qty,note\n\
         1,{},a@x.org,123e4567-e89b-12d3-a456-426614174000,10.0.0.1,2024-01-31,12,ok\n\
         2,{},b@x,123e4567-e89b-12d3-a456-42661417400Z,10.0.0.256,2024-02-30,x,ok\n\
         2,{},c@x.org,123E4567-E89B-12D3-A456-426614174000,192.168.1.1,2024-03-01, 7 ,ok\n\
         1,{},d@x.org,,8.8.8.8,,,ok\n\
         1,{},d@x.org,,8.8.8.8,,,ok\n",
        stamp(7200),
        stamp(3600),
        stamp(60),
        stamp(30),
        stamp(30)
    );
    let rules = r#"
[[checks]]
format = { column = "email", as = "email" }
[[checks]]
format = { column = "uuid", as = "uuid" }
[[checks]]
format = { column = "ip", as = "ipv4" }
[[checks]]
format = { column = "day", as = "date" }
[[checks]]
parseable = { column = "qty", as = "int" }
[[checks]]
monotonic = { column = "seq", direction = "increasing" }
[[checks]]
monotonic = { column = "ts", direction = "increasing", strict = true, id = "ts_strict" }
[[checks]]
duplicate_rows = {}
[[checks]]
freshness = { column = "ts", max_age = "10m" }
[[checks]]
freshness = { column = "ts", max_age = "10s", id = "stale", severity = "warn" }
[[checks]]
schema = { columns = { seq = "i64", ts = "datetime", email = "string" }, mode = "subset", ordered = true }
[[checks]]
schema = { columns = { seq = "int", email = "str", ts = "date" }, mode = "exact", ordered = true, id = "exact" }
[[checks]]
sql = { query = "SELECT * FROM people WHERE note <> 'ok' OR qty = 'x'" }
"#;
    let (r, code) = report(&data, rules, &[]);
    assert_eq!(code, 1, "{r}");
    let failing = |id: &str| by_id(&r, id)["failing_rows"].as_u64().unwrap();
    let status = |id: &str| by_id(&r, id)["status"].as_str().unwrap().to_string();
    assert_eq!(failing("format_email"), 1, "b@x has no dot after the @");
    assert_eq!(failing("format_uuid"), 1, "Z is not hex; upper case is; nulls pass");
    assert_eq!(failing("format_ip"), 1, "256 is not an octet");
    assert_eq!(failing("format_day"), 1, "February 30th");
    assert_eq!(failing("parseable_qty"), 1, "x; ' 7 ' parses once trimmed");
    assert_eq!(failing("monotonic_seq"), 1, "2 -> 1 goes down; 1 -> 1 is allowed");
    assert_eq!(failing("ts_strict"), 1, "the last two stamps are equal");
    assert_eq!(by_id(&r, "duplicate_rows")["observed"].as_f64(), Some(1.0));
    assert_eq!(status("duplicate_rows"), "fail");
    assert_eq!(status("freshness_ts"), "pass");
    assert_eq!(status("stale"), "warn");
    assert_eq!(status("schema"), "pass");
    assert_eq!(status("exact"), "fail");
    let detail = by_id(&r, "exact")["detail"].as_str().unwrap().to_string();
    for needle in
        ["`ts` is datetime[μs], not date", "unexpected column `uuid`", "columns in order seq, ts, email"]
    {
        assert!(detail.contains(needle), "{detail}");
    }
    assert_eq!(failing("sql"), 1);
    assert_eq!(r["scans"].as_u64(), Some(2), "one aggregation and the sql check's query");
}

#[test]
fn junit_and_markdown_reports() {
    let rules = "key = [\"id\"]\n[[checks]]\nbetween = { column = \"score\", min = 0, max = 100 }\n\
                 [[checks]]\nnot_null = { column = \"name\", severity = \"warn\" }\n\
                 [[checks]]\nrow_count = { min = 1 }\n";
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "people.csv", DATA.as_bytes());
    let rules = write(dir.path(), "rules.toml", rules.as_bytes());
    let junit = assay(&["check", &data, "--rules", &rules, "--format", "junit"]);
    assert_eq!(junit.code, 1);
    // Well-formed XML with one testcase per check and one failure, read by a real parser.
    let parsed = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read().encode()); \
             s = r.find('testsuite'); print(r.tag, s.get('tests'), s.get('failures'), len(s.findall('testcase')), \
             len(s.findall('testcase/failure')), s.find('testcase/failure').get('type'))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(junit.stdout.as_bytes())?;
            child.wait_with_output()
        })
        .expect("python3 parses the JUnit XML");
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout).trim(),
        "testsuites 3 1 3 1 between",
        "{}",
        junit.stdout
    );
    assert!(junit.stdout.contains("row 2 (id=2, score=150)"), "{}", junit.stdout);
    let md = assay(&["check", &data, "--rules", &rules, "--format", "markdown"]);
    assert!(md.stdout.contains("| ❌ | `between_score` | between | 2 (20.00%) |"), "{}", md.stdout);
    assert!(md.stdout.contains("| ⚠️ | `not_null_name` |"), "{}", md.stdout);
    assert!(md.stdout.contains("1 of 3 checks passed"), "{}", md.stdout);
}

const SPLIT_RULES: &str = r#"key = ["order_id"]
[[checks]]
not_null = { column = "amount", max_failures = "1%" }
[[checks]]
between = { column = "amount", min = 0, max = 10000, mostly = 0.99 }
[[checks]]
in_set = { column = "status", values = ["pending", "shipped", "delivered", "returned", "cancelled"], severity = "warn" }
[[checks]]
unique = { columns = ["order_id"], severity = "warn" }
"#;

/// Rows in = valid + quarantined, on the sample and on a generated file; the valid rows
/// are exactly those a hand-written query keeps (on DataFusion, and with the unique key's
/// duplicates found by the check run on Polars, or by the quarantine's own pass after a
/// DataFusion check run); the quarantine says which checks failed.
#[test]
fn quarantine_conserves_rows_and_tags_failures() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", SPLIT_RULES.as_bytes());
    let generated = dir.path().join("gen.csv").display().to_string();
    assay(&["gen", "orders", "--rows", "20000", "--seed", "7", "--out", &generated]).ok();
    let runs = [
        ("sample-data/orders.csv", 50_000u64, "polars"),
        (&generated, 20_000, "polars"),
        (&generated, 20_000, "datafusion"),
    ];
    for (data, rows, engine) in runs {
        let valid = dir.path().join("valid.parquet").display().to_string();
        let bad = dir.path().join("bad.parquet").display().to_string();
        let run = assay(&[
            "check",
            data,
            "--rules",
            &rules,
            "--valid",
            &valid,
            "--quarantine",
            &bad,
            "--overwrite",
            "--engine",
            engine,
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let count = |p: &str| assay(&["count", p]).ok().trim().parse::<u64>().unwrap();
        let (v, q) = (count(&valid), count(&bad));
        assert_eq!(v + q, rows, "{data}");
        assert!(run.stderr.contains(&format!("{rows} rows in = {v} valid")), "{}", run.stderr);
        let keep = "amount IS NOT NULL AND amount BETWEEN 0 AND 10000 AND \
                    status IN ('pending', 'shipped', 'delivered', 'returned', 'cancelled') AND copies = 1";
        let q_keep = format!(
            "SELECT COUNT(*) AS n FROM (SELECT *, COUNT(*) OVER (PARTITION BY order_id) AS copies FROM t) WHERE {keep}"
        );
        let t = format!("t={data}");
        let expect =
            json(assay(&["sql", &q_keep, "-t", &t, "--engine", "datafusion", "--format", "json"]).ok())[0]
                ["n"]
                .clone();
        let duplicated = "SELECT COUNT(*) AS n FROM (SELECT COUNT(*) OVER (PARTITION BY order_id) AS c FROM t) WHERE c > 1";
        let duplicated = json(assay(&["sql", duplicated, "-t", &t, "--format", "json"]).ok())[0]["n"].clone();
        assert!(duplicated.as_u64().unwrap() > 0, "{data}: the unique check has failures to find");
        assert_eq!(serde_json::json!(v), expect, "{data}");
        // Every quarantined row names at least one check, and only checks that exist.
        let tags = "SELECT COUNT(*) AS n FROM t WHERE array_length(failed_checks, 1) = 0 OR array_length(failed_checks, 1) IS NULL";
        let untagged = json(
            assay(&["sql", tags, "-t", &format!("t={bad}"), "--engine", "datafusion", "--format", "json"])
                .ok(),
        );
        assert_eq!(untagged[0]["n"], 0);
    }
}

#[test]
fn a_failing_gate_writes_nothing_and_outputs_are_guarded() {
    let dir = tempfile::tempdir().unwrap();
    let strict = write(dir.path(), "strict.toml", b"[[checks]]\nnot_null = { column = \"amount\" }\n");
    let valid = dir.path().join("valid.parquet").display().to_string();
    let bad = dir.path().join("bad.csv").display().to_string();
    let run = assay(&[
        "check",
        "sample-data/orders.csv",
        "--rules",
        &strict,
        "--valid",
        &valid,
        "--quarantine",
        &bad,
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no output written"), "{}", run.stderr);
    assert!(!std::path::Path::new(&valid).exists() && !std::path::Path::new(&bad).exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "only the rules file: {leftovers:?}");
    // An existing output needs --overwrite; an input is never an output.
    let rules = write(dir.path(), "rules.toml", SPLIT_RULES.as_bytes());
    std::fs::write(&valid, b"old").unwrap();
    assay(&["check", "sample-data/orders.csv", "--rules", &rules, "--valid", &valid, "--quarantine", &bad])
        .fails(2, &["already exists", "--overwrite"]);
    assert_eq!(std::fs::read(&valid).unwrap(), b"old");
    let input = write(dir.path(), "in.csv", std::fs::read("sample-data/orders.csv").unwrap().as_slice());
    assay(&["check", &input, "--rules", &rules, "--valid", &input, "--quarantine", &bad, "--overwrite"])
        .fails(2, &["is an input"]);
}

#[test]
fn explain_shows_one_scan_and_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        format!(
            "{SPLIT_RULES}[[checks]]\nsql = {{ query = \"SELECT * FROM orders WHERE quantity > 100\" }}\n"
        )
        .as_bytes(),
    );
    let out = assay(&["check", "sample-data/orders.csv", "--rules", &rules, "--explain"]);
    let text = out.ok();
    assert!(
        text.starts_with(
            "5 checks in 2 scans: one aggregation for 3 checks and 1 unique key(s) hashed as the rows \
             stream past, 1 sql check(s) one query each"
        ),
        "{text}"
    );
    assert!(text.contains("Csv SCAN [sample-data/orders.csv]"), "{text}");
    // Only the columns the checks read are read.
    assert!(text.contains("PROJECT 3/10 COLUMNS"), "{text}");
}

/// `assay suggest` proposes a rules file that `assay check` runs, and each suggestion's
/// "fails N rows today" is what the check then finds.
#[test]
fn suggestions_are_runnable_rules_with_todays_failures() {
    let text = assay(&["suggest", "sample-data/orders.csv"]).ok().to_string();
    for needle in [
        "not_null = { column = \"order_id\" }",
        "null_fraction = { column = \"customer_id\", max = 0.02 }",
        "format = { column = \"email\", as = \"email\" }",
        "format = { column = \"order_date\", as = \"date\" }",
        "in_set = { column = \"status\", values = [\"cancelled\", \"delivered\", \"pending\", \"returned\", \"shipped\"] }",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
    assert!(!text.contains("unique = { columns = [\"order_id\"] }"), "order ids repeat in the sample");
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "suggested.toml", text.as_bytes());
    let run = assay(&["check", "sample-data/orders.csv", "--rules", &rules, "--format", "json"]);
    let report = json(&run.stdout);
    let said: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# fails "))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    let found: Vec<u64> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            !matches!(c["type"].as_str(), Some("null_fraction" | "row_count" | "distinct_count" | "stat"))
        })
        .map(|c| c["failing_rows"].as_u64().unwrap())
        .collect();
    assert_eq!(said, found);
    let dirty = "SELECT COUNT(*) AS n FROM orders WHERE status NOT IN ('cancelled', 'delivered', 'pending', 'returned', 'shipped')";
    let n = json(assay(&["sql", dirty, "-t", "sample-data/orders.csv", "--format", "json"]).ok())[0]["n"]
        .as_u64()
        .unwrap();
    assert!(text.contains(&format!("# fails {n} rows")), "{text}");
}

#[test]
fn foreign_keys_read_the_referenced_table() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "people.csv", DATA.as_bytes());
    // Ids 1..=8 exist; 9 and 10 are orphans (and 3 appears twice: still one match).
    let teams = write(dir.path(), "teams.csv", b"member,team\n1,a\n2,a\n3,b\n5,b\n6,c\n7,c\n8,c\n");
    let rules = write(
        dir.path(),
        "rules.toml",
        b"key = [\"id\"]\n[[checks]]\nforeign_key = { column = \"id\", references = \"teams.member\" }\n",
    );
    let run = assay(&["check", &data, "--rules", &rules, "-t", &teams, "--format", "json"]);
    let r = json(&run.stdout);
    assert_eq!(run.code, 1);
    assert_eq!(r["checks"][0]["failing_rows"], 2);
    assert_eq!(r["checks"][0]["samples"][0]["values"]["id"], "9");
    assert_eq!(r["scans"], 2, "the referenced column is read once, then the checks' aggregation");
    assay(&["check", &data, "--rules", &rules]).fails(2, &["no source `teams`", "--table teams=DATA"]);
    let bad = write(
        dir.path(),
        "bad.toml",
        b"[[checks]]\nforeign_key = { column = \"id\", references = \"teams\" }\n",
    );
    assay(&["check", &data, "--rules", &bad, "-t", &teams]).fails(2, &["not like \"source.column\""]);
}

#[test]
fn yaml_rules_are_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "people.csv", DATA.as_bytes());
    let toml = write(
        dir.path(),
        "rules.toml",
        b"key = [\"id\"]\n[[checks]]\nbetween = { column = \"score\", min = 0, max = 100, mostly = 0.8 }\n\
          [[checks]]\nin_set = { column = \"name\", values = [\"ann\", \"bob\"], severity = \"warn\" }\n\
          [[checks]]\nschema = { columns = { id = \"int\", name = \"string\" } }\n",
    );
    let yaml = write(
        dir.path(),
        "rules.yaml",
        b"key: [id]\nchecks:\n  - between: {column: score, min: 0, max: 100, mostly: 0.8}\n\
          \x20 - in_set:\n      column: name\n      values: [ann, bob]\n      severity: warn\n\
          \x20 - schema: {columns: {id: int, name: string}}\n",
    );
    let strip = |mut v: serde_json::Value| {
        v["elapsed_ms"] = 0.into();
        for c in v["checks"].as_array_mut().unwrap() {
            c["elapsed_ms"] = 0.into();
        }
        v
    };
    let a = strip(json(&assay(&["check", &data, "--rules", &toml, "--format", "json"]).stdout));
    let b = strip(json(&assay(&["check", &data, "--rules", &yaml, "--format", "json"]).stdout));
    assert_eq!(a, b);
    assert_eq!(a["checks"][1]["failing_rows"], 7);
    let bad = write(dir.path(), "bad.yml", b"checks:\n  - not_null: {column: name, severty: warn}\n");
    assay(&["check", &data, "--rules", &bad]).fails(2, &["bad.yml:2:", "unknown field `severty`"]);
}

/// Validates `document` against `schema` (in assets/schemas) with Python's `jsonschema`
/// or `xmlschema` (.ci/run installs them); returns the validator's complaint, if any.
pub fn schema_errors(schema: &str, document: &str) -> Option<String> {
    let script = if schema.ends_with(".json") {
        "import json, sys, jsonschema; s = json.load(open(sys.argv[1])); \
         jsonschema.Draft202012Validator.check_schema(s); \
         errors = [e.message for e in jsonschema.Draft202012Validator(s).iter_errors(json.load(sys.stdin))]; \
         print('\\n'.join(errors))"
    } else {
        "import sys, xmlschema; s = xmlschema.XMLSchema(sys.argv[1]); \
         print('\\n'.join(str(e.reason) for e in s.iter_errors(sys.stdin.read())))"
    };
    let path = root().join("assets/schemas").join(schema);
    let out = std::process::Command::new("python3")
        .args(["-c", script, path.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(document.as_bytes())?;
            child.wait_with_output()
        })
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the validator failed (are jsonschema and xmlschema installed? .ci/run installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}

#[test]
fn json_and_junit_reports_follow_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let (valid, bad) = (dir.path().join("v.parquet"), dir.path().join("q.csv"));
    let rules = root().join("sample-data/orders.rules.toml").display().to_string();
    // Every kind of result: pass, warn and fail, row- and table-level, samples with nulls,
    // a schema check's detail, and (without error-severity checks) a quarantine split.
    let extra = write(
        dir.path(),
        "more.toml",
        br#"key = ["order_id"]
[[checks]]
schema = { columns = { order_id = "int", nope = "string" }, severity = "warn" }
[[checks]]
not_null = { column = "amount", severity = "warn" }
[[checks]]
stat = { column = "price", metric = "p95", max = 1, severity = "info" }
"#,
    );
    for (rules, split) in [(rules.as_str(), false), (extra.as_str(), true)] {
        let mut args = vec!["check", "sample-data/orders.csv", "--rules", rules, "--format", "json"];
        let (v, q) = (valid.display().to_string(), bad.display().to_string());
        if split {
            args.extend(["--valid", &v, "--quarantine", &q]);
        }
        let run = assay(&args);
        let report = json(&run.stdout);
        assert_eq!(report["quarantine"].is_object(), split, "{}", run.stdout);
        if let Some(e) = schema_errors("check-report.schema.json", &run.stdout) {
            panic!("{rules}: the JSON report breaks its schema: {e}\n{}", run.stdout);
        }
        args.truncate(5);
        args.push("junit");
        let junit = assay(&args);
        if let Some(e) = schema_errors("junit.xsd", &junit.stdout) {
            panic!("{rules}: the JUnit report breaks its schema: {e}\n{}", junit.stdout);
        }
    }
    // The validators do catch a broken document.
    assert!(schema_errors("check-report.schema.json", r#"{"table": "t"}"#).is_some());
    assert!(schema_errors("junit.xsd", "<testsuites name=\"x\"><testsuite/></testsuites>").is_some());
}

/// Every check type SQL can say, on the dirty sample: DataFusion (`--engine datafusion`,
/// the checks compiled to SQL) and Polars give the same statuses, failing counts and
/// observations; the row-level counts also equal hand-written Polars expressions.
#[test]
fn both_engines_agree_on_every_check_and_with_hand_written_polars() {
    let rules = r#"key = ["order_id"]
[[checks]]
not_null = { column = "amount" }
[[checks]]
unique = { columns = ["order_id"] }
[[checks]]
unique = { columns = ["customer_id", "order_date"], id = "customer_day", severity = "warn" }
[[checks]]
in_set = { column = "status", values = ["pending", "shipped", "delivered", "returned", "cancelled"] }
[[checks]]
not_in_set = { column = "country", values = ["US", "XX"], mostly = 0.5 }
[[checks]]
between = { column = "amount", min = 0, max = 10000, exclusive = true }
[[checks]]
regex = { column = "email", pattern = "[^@ ]+@[^@ ]+\\.[a-z]+" }
[[checks]]
format = { column = "email", as = "email", id = "email_format" }
[[checks]]
length = { column = "country", min = 2, max = 2 }
[[checks]]
parseable = { column = "order_date", as = "int", severity = "info" }
[[checks]]
compare = { left = "amount", op = ">=", right = "price" }
[[checks]]
expression = { sql = "quantity BETWEEN 1 AND 10" }
[[checks]]
foreign_key = { column = "customer_id", references = "customers.customer_id" }
[[checks]]
row_count = { min = 1, max = 49999 }
[[checks]]
null_fraction = { column = "customer_id", max = 0.05 }
[[checks]]
distinct_count = { column = "country", max = 10 }
[[checks]]
stat = { column = "price", metric = "mean", min = 100, max = 400 }
[[checks]]
stat = { column = "price", metric = "std", id = "price_std" }
[[checks]]
stat = { column = "price", metric = "min", id = "price_min" }
[[checks]]
stat = { column = "amount", metric = "max", id = "amount_max", max = 5000 }
[[checks]]
stat = { column = "price", metric = "median", id = "price_median" }
[[checks]]
stat = { column = "price", metric = "p95", id = "price_p95" }
[[checks]]
stat = { column = "quantity", metric = "sum", id = "quantity_sum" }
[[checks]]
freshness = { column = "created_at", max_age = "1d" }
[[checks]]
sql = { query = "SELECT * FROM orders WHERE quantity > 9 AND status = 'pending'", severity = "warn" }
[[checks]]
duplicate_rows = {}
[[checks]]
schema = { columns = { order_id = "int", amount = "float" }, mode = "subset" }
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "all.toml", rules.as_bytes());
    let run = |engine: &str| {
        let r = assay(&[
            "check",
            "sample-data/orders.csv",
            "--rules",
            &path,
            "-t",
            "customers=sample-data/customers.parquet",
            "--engine",
            engine,
            "--format",
            "json",
        ]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        json(&r.stdout)
    };
    let (p, d) = (run("polars"), run("datafusion"));
    let (pc, dc) = (p["checks"].as_array().unwrap(), d["checks"].as_array().unwrap());
    assert_eq!(pc.len(), 27);
    assert_eq!(p["rows"], d["rows"]);
    for (a, b) in pc.iter().zip(dc) {
        let id = a["id"].as_str().unwrap();
        assert_eq!(a["status"], b["status"], "{id}");
        assert_eq!(a["failing_rows"], b["failing_rows"], "{id}");
        match (a["observed"].as_f64(), b["observed"].as_f64()) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{id}: {x} vs {y}"),
            (x, y) => assert_eq!(x, y, "{id}"),
        }
        assert_eq!(a["samples"], b["samples"], "{id}");
    }
    // The sample is dirty: some checks of each kind fail.
    let failing: Vec<&str> =
        pc.iter().filter(|c| c["status"] != "pass").map(|c| c["id"].as_str().unwrap()).collect();
    for id in ["not_null_amount", "unique_order_id", "customer_day", "freshness_created_at", "sql"] {
        assert!(failing.contains(&id), "{id} should fail: {failing:?}");
    }
    // DataFusion scans once for the aggregates, once per unique key, foreign key,
    // duplicate_rows and sql check.
    assert_eq!(d["scans"], 6);
    let explained = assay(&[
        "check",
        "sample-data/orders.csv",
        "--rules",
        &path,
        "-t",
        "customers=sample-data/customers.parquet",
        "--engine",
        "datafusion",
        "--explain",
    ]);
    assert!(explained.ok().starts_with("27 checks in 6 scans on DataFusion"), "{}", explained.stdout);

    // Hand-written Polars expressions over the same data count the same failing rows.
    use polars::prelude::*;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let orders = rt
        .block_on(assay::source::Dataset::open("sample-data/orders.csv", None, &Default::default()))
        .unwrap();
    let lf = assay::engine::polars::scan(&orders).unwrap();
    let statuses = Series::new("s".into(), ["pending", "shipped", "delivered", "returned", "cancelled"]);
    let hand: Vec<(&str, Expr)> = vec![
        ("not_null_amount", col("amount").is_null()),
        ("unique_order_id", col("order_id").is_duplicated()),
        ("in_set_status", col("status").is_in(lit(statuses).implode(false), false).not()),
        ("between_amount", col("amount").lt_eq(lit(0)).or(col("amount").gt_eq(lit(10000)))),
        ("length_country", col("country").str().len_chars().neq(lit(2))),
        ("compare_amount_price", col("amount").lt(col("price"))),
        ("expression", col("quantity").lt(lit(1)).or(col("quantity").gt(lit(10)))),
        ("regex_email", col("email").str().contains(lit(r"^(?:[^@ ]+@[^@ ]+\.[a-z]+)$"), true).not()),
    ];
    let names: Vec<&str> = hand.iter().map(|h| h.0).collect();
    let exprs: Vec<Expr> = hand
        .into_iter()
        .map(|(id, e)| e.fill_null(lit(false)).cast(DataType::UInt64).sum().alias(id))
        .collect();
    let counts = lf.select(exprs).collect().unwrap();
    for id in names {
        let want = counts.column(id).unwrap().get(0).unwrap().extract::<u64>().unwrap();
        let got = pc.iter().find(|c| c["id"] == id).unwrap()["failing_rows"].as_u64().unwrap();
        assert_eq!(got, want, "{id}");
    }

    // What SQL engines cannot say the way Polars does is refused by name, before reading.
    let monotonic = write(
        dir.path(),
        "m.toml",
        b"[[checks]]\nmonotonic = { column = \"order_id\", direction = \"increasing\" }\n",
    );
    assay(&["check", "sample-data/orders.csv", "--rules", &monotonic, "--engine", "datafusion"])
        .fails(2, &["monotonic_order_id", "not available on DataFusion", "--engine polars"]);
}

/// Decimal money in a Parquet file: an `expression` check and a recipe's `filter` and
/// `derive` steps divide and multiply by the arithmetic rules of queries on both engines
/// (Polars alone would divide 1.00 / 3.00 at scale 2 and read 0.33).
#[test]
fn single_expressions_follow_the_arithmetic_rules_on_both_engines() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let dec = |name: &str, v: &[f64]| {
        Series::new(name.into(), v).cast(&DataType::Decimal(10, 2)).unwrap().into_column()
    };
    let mut df = DataFrame::new_infer_height(vec![
        dec("price", &[1.0, 1.25, 2.0, 0.5]),
        dec("discount", &[3.0, 0.35, 4.0, 3.0]),
    ])
    .unwrap();
    let data = dir.path().join("money.parquet");
    write_parquet(&mut df, &data);
    let data = data.to_str().unwrap();
    // 1.00/3.00 = 0.3333 passes, 0.50/3.00 = 0.1667 fails: one failing row on both engines.
    let rules = write(
        dir.path(),
        "rules.toml",
        b"[[checks]]\nexpression = { id = \"ratio\", sql = \"price / discount > 0.333\" }\n",
    );
    for engine in ["polars", "datafusion"] {
        let run = assay(&["check", data, "--rules", &rules, "--engine", engine, "--format", "json"]);
        let report = json(&run.stdout);
        assert_eq!(by_id(&report, "ratio")["failing_rows"], 1, "{engine}: {}", run.stdout);
        // The sample shows the columns the expression reads.
        let sample = &by_id(&report, "ratio")["samples"][0];
        assert_eq!(sample["row"], 4, "{engine}: {sample}");
        assert_eq!(sample["values"]["price"], "0.50", "{engine}: {sample}");
        assert_eq!(sample["values"]["discount"], "3.00", "{engine}: {sample}");
    }
    let recipe = format!(
        "[sources.money]\npath = \"{data}\"\n\n[[steps]]\nfilter = \"price / discount > 0.333\"\n\n\
         [[steps]]\nderive = {{ ratio = \"price / discount\", product = \"price * discount\" }}\n\n\
         [outputs.out]\npath = \"out.csv\"\n"
    );
    let recipe = write(dir.path(), "r.toml", recipe.as_bytes());
    let mut outputs = Vec::new();
    for engine in ["polars", "datafusion"] {
        let out = dir.path().join(format!("{engine}.csv"));
        let set = format!("outputs.out.path={}", out.display());
        let run = assay(&["run", &recipe, "--engine", engine, "--set", &set]);
        assert_eq!(run.code, 0, "{engine}: {}", run.stderr);
        outputs.push(std::fs::read_to_string(out).unwrap());
    }
    let rows: Vec<&str> = outputs[0].lines().collect();
    assert_eq!(rows[0], "price,discount,ratio,product");
    assert_eq!(rows.len(), 4, "{}", outputs[0]);
    assert!(rows[1].starts_with("1.00,3.00,0.333333333333"), "{}", outputs[0]);
    assert!(rows[2].ends_with(",0.4375"), "{}", outputs[0]);
    assert_eq!(outputs[0], outputs[1]);
}
