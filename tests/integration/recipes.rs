//! Recipes: every step type gives the same rows on both engines; the gate writes
//! nothing when an error-severity check fails; the example recipes run; malformed
//! recipes are refused with file:line:column; the JSON Schema stays in sync.

use assay::app::run::{run, RunOptions};
use assay::app::Workspace;
use assay::engine::EngineKind;
use assay::OpenOptions;

use crate::common::*;
use crate::differential::{key, rows, same};

/// A recipe over `orders` (generated, dirty) and the sample customers with `steps`,
/// writing every row to `out`.
fn recipe(orders: &str, steps: &str, out: &str) -> String {
    format!(
        "[sources.orders]\npath = {orders:?}\n\n[sources.customers]\npath = {:?}\n\n{steps}\n\n[outputs.all]\npath = {out:?}\n",
        sample("customers.parquet"),
    )
}

async fn file_rows(path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let ws = Workspace::open(&[(Some("t".into()), path.to_string())], &OpenOptions::default()).await.unwrap();
    let table = ws.sql("SELECT * FROM t", EngineKind::DataFusion).await.unwrap();
    let names = table.schema.fields().iter().map(|f| f.name().clone()).collect();
    (names, rows(&table))
}

const STEPS: &[(&str, &str)] = &[
    ("filter", "[[steps]]\nfilter = \"amount > 100 AND status IN ('shipped', 'delivered')\""),
    ("select", "[[steps]]\nselect = [\"order_id\", \"amount\", \"status\"]"),
    ("drop", "[[steps]]\ndrop = [\"email\", \"created_at\"]"),
    ("rename", "[[steps]]\nrename = { amount = \"value\", \"status\" = \"State\" }"),
    ("cast", "[[steps]]\ncast = { quantity = \"float64\", order_date = \"string\", customer_id = \"int32\", price = \"int64\" }"),
    ("derive", "[[steps]]\nderive = { total = \"price * quantity\", big = \"total > 1000\", amount = \"amount / 2\" }"),
    ("fill_null", "[[steps]]\nfill_null = { amount = 0, country = \"ZZ\", customer_id = -1, order_date = \"1970-01-01\" }"),
    ("sort", "[[steps]]\nsort = [\"country\", { column = \"amount\", descending = true }, \"order_id\", \"created_at\"]"),
    ("dedupe first", "[[steps]]\ndedupe = { columns = [\"order_id\"], order_by = [\"created_at\", \"amount\", \"email\"] }"),
    ("dedupe last", "[[steps]]\ndedupe = { columns = [\"order_id\"], keep = \"last\", order_by = [\"created_at\", \"amount\", \"email\"] }"),
    ("dedupe none", "[[steps]]\ndedupe = { columns = [\"order_id\"], keep = \"none\" }"),
    ("dedupe rows", "[[steps]]\ndedupe = {}"),
    ("join inner", "[[steps]]\njoin = { source = \"customers\", on = [\"customer_id\"] }"),
    ("join left", "[[steps]]\njoin = { source = \"customers\", on = [\"customer_id\"], how = \"left\", suffix = \"_c\" }"),
    ("join right", "[[steps]]\nfilter = \"order_id < 100500\"\n\n[[steps]]\njoin = { source = \"customers\", on = [\"customer_id\"], how = \"right\" }"),
    ("join full", "[[steps]]\nfilter = \"order_id < 100500\"\n\n[[steps]]\njoin = { source = \"customers\", left_on = [\"customer_id\"], right_on = [\"customer_id\"], how = \"full\" }"),
    ("join semi", "[[steps]]\njoin = { source = \"customers\", on = [\"customer_id\"], how = \"semi\" }"),
    ("join anti", "[[steps]]\njoin = { source = \"customers\", on = [\"customer_id\"], how = \"anti\" }"),
    ("sql", "[[steps]]\nsql = \"SELECT status, COUNT(*) AS n, SUM(amount) AS total FROM input GROUP BY status\""),
    ("sql named", "[[steps]]\nfilter = \"amount > 0\"\nname = \"positive\"\n\n[[steps]]\ninput = \"orders\"\nfilter = \"amount <= 0\"\n\n[[steps]]\nsql = \"SELECT 'positive' AS kind, COUNT(*) AS n FROM positive UNION ALL SELECT 'other' AS kind, COUNT(*) AS n FROM input\""),
    ("sql across engines", "[[steps]]\nfilter = \"amount > 0\"\nname = \"positive\"\n\n[[steps]]\nsql = \"SELECT p.country, COUNT(*) AS n, SUM(i.amount) AS total FROM input i JOIN positive p ON i.order_id = p.order_id GROUP BY p.country\"\nengine = \"datafusion\"\n\n[[steps]]\nsql = \"SELECT country, n, total / n AS mean FROM input\"\nengine = \"polars\""),
    ("limit", "[[steps]]\nsort = [{ column = \"amount\", descending = true }, \"order_id\", \"created_at\"]\n\n[[steps]]\nlimit = 25"),
    ("sorted then filtered", "[[steps]]\nsort = [\"amount\", \"order_id\", \"created_at\"]\n\n[[steps]]\nfilter = \"country = 'DE'\"\n\n[[steps]]\nrename = { amount = \"value\" }"),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_step_type_gives_the_same_rows_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let orders = dir.path().join("orders.csv");
    assay::generate::generate(assay::generate::Kind::Orders, 5_000, 11, &orders).unwrap();
    let orders = orders.display().to_string();
    let mut failures = Vec::new();
    for (i, (what, steps)) in STEPS.iter().enumerate() {
        let mut results = Vec::new();
        for engine in [EngineKind::Polars, EngineKind::DataFusion] {
            let out = dir.path().join(format!("{i}-{}.parquet", engine.name())).display().to_string();
            let loaded = assay::recipe::parse(&recipe(&orders, steps, &out), "test.toml", &[]).unwrap();
            let options = RunOptions {
                engine: Some(engine),
                manifest: Some(dir.path().join(format!("{i}-{}.json", engine.name())).display().to_string()),
                ..Default::default()
            };
            let manifest =
                run(&loaded, &options).await.unwrap_or_else(|e| panic!("{what} on {engine:?}: {e}"));
            assert_eq!(manifest.outputs[0].rows, manifest.rows.rows_in, "{what}");
            results.push(file_rows(&out).await);
        }
        let ((pn, mut pr), (dn, mut dr)) = (results[0].clone(), results[1].clone());
        assert!(!pr.is_empty(), "{what}: no rows, a weak test");
        let ordered = what.starts_with("sort")
            || *what == "limit"
            || what.starts_with("dedupe first")
            || what.starts_with("dedupe last");
        if !ordered {
            pr.sort_by_key(|r| key(r));
            dr.sort_by_key(|r| key(r));
        }
        let agree =
            |a: &Vec<String>, b: &Vec<String>| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y));
        if pn != dn {
            failures.push(format!("{what}: columns differ: {pn:?} vs {dn:?}"));
        } else if pr.len() != dr.len() || pr.iter().zip(&dr).any(|(a, b)| !agree(a, b)) {
            let diff: Vec<_> = pr.iter().zip(&dr).filter(|(a, b)| !agree(a, b)).take(2).collect();
            failures.push(format!("{what}: {} vs {} rows; first differences: {diff:?}", pr.len(), dr.len()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} step types disagree:\n{}",
        failures.len(),
        STEPS.len(),
        failures.join("\n")
    );
}

/// A recipe on the sample orders with `checks`, writing valid rows to `valid` and the
/// rest to `bad`.
fn gated(checks: &str, valid: &str, bad: &str) -> String {
    format!(
        "name = \"gate\"\n[sources.orders]\npath = {:?}\n\n[[steps]]\nfilter = \"status <> 'cancelled'\"\n\n{checks}\n\n\
         [outputs.valid]\npath = {valid:?}\n\n[outputs.quarantine]\npath = {bad:?}\n",
        sample("orders.csv")
    )
}

#[test]
fn an_error_check_failing_writes_nothing_and_warnings_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let (valid, bad) = (dir.path().join("valid.parquet"), dir.path().join("bad.csv"));
    let (v, b) = (valid.display().to_string(), bad.display().to_string());
    std::fs::write(&valid, b"yesterday's file").unwrap();
    let failing = write(
        dir.path(),
        "fail.toml",
        gated(
            "[[checks]]\nnot_null = { column = \"amount\" }\n\n[[checks]]\nrow_count = { min = 1 }",
            &v,
            &b,
        )
        .as_bytes(),
    );
    let run = assay(&["run", &failing, "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("1 error-severity check failed: no output written"), "{}", run.stderr);
    assert_eq!(std::fs::read(&valid).unwrap(), b"yesterday's file", "the old output is untouched");
    assert!(!bad.exists(), "no quarantine written");
    let manifest = json(&run.stdout);
    assert_eq!(manifest["status"], "checks_failed");
    assert_eq!(manifest["outputs"].as_array().unwrap().len(), 0);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The same failures as a warning: the valid rows load, the failing rows go to
    // quarantine, and rows in = valid + quarantined.
    let warning = write(
        dir.path(),
        "warn.toml",
        gated("[[checks]]\nnot_null = { column = \"amount\", severity = \"warn\" }", &v, &b).as_bytes(),
    );
    let run = assay(&["run", &warning, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let manifest = json(&run.stdout);
    assert_eq!(manifest["status"], "ok");
    let rows = &manifest["rows"];
    let (rows_in, ok, quarantined) = (
        rows["rows_in"].as_u64().unwrap(),
        rows["valid"].as_u64().unwrap(),
        rows["quarantined"].as_u64().unwrap(),
    );
    assert_eq!(rows_in, ok + quarantined);
    let nulls = assay(&[
        "sql",
        "SELECT COUNT(*) AS n FROM o WHERE amount IS NULL AND status <> 'cancelled'",
        "-t",
        &format!("o={}", sample("orders.csv")),
        "--format",
        "json",
    ]);
    let nulls = json(nulls.ok())[0]["n"].as_u64().unwrap();
    assert_eq!(quarantined, nulls, "exactly the rows failing not_null are quarantined");
    assert_eq!(json(assay(&["count", &v, "--format", "json"]).ok())["rows"].as_u64().unwrap(), ok);
    let text = std::fs::read_to_string(&bad).unwrap();
    assert!(text.lines().next().unwrap().ends_with("failed_checks"), "{}", &text[..200]);
    assert!(text.lines().nth(1).unwrap().ends_with("not_null_amount"));
    // The manifest sits beside the outputs, naming inputs and the recipe's hash.
    let beside = json(&std::fs::read_to_string(dir.path().join("gate.manifest.json")).unwrap());
    assert_eq!(beside["recipe"]["sha256"].as_str().unwrap().len(), 64);
    assert!(beside["inputs"][0]["files"][0]["bytes"].as_u64().unwrap() > 1_000_000);
    assert_eq!(beside["steps"][0]["rows"].as_u64().unwrap(), rows_in);
}

#[test]
fn the_example_recipes_run_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    // Cleaning the dirty orders with quarantine.
    let mut outputs = Vec::new();
    for engine in ["polars", "datafusion"] {
        let (valid, bad) = (d(&format!("{engine}-clean.parquet")), d(&format!("{engine}-bad.csv")));
        let run = assay(&[
            "run",
            "sample-data/orders.recipe.toml",
            "--engine",
            engine,
            "--format",
            "json",
            "--set",
            &format!("outputs.valid.path={valid}"),
            "--set",
            &format!("outputs.quarantine.path={bad}"),
        ]);
        let manifest = json(run.ok());
        let rows = &manifest["rows"];
        assert_eq!(rows["source"], 50_000);
        assert_eq!(
            rows["rows_in"].as_u64().unwrap(),
            rows["valid"].as_u64().unwrap() + rows["quarantined"].as_u64().unwrap()
        );
        assert!(rows["quarantined"].as_u64().unwrap() > 1_000);
        outputs.push(valid);
    }
    let except = "SELECT * FROM a EXCEPT SELECT * FROM b";
    for (a, b) in [(&outputs[0], &outputs[1]), (&outputs[1], &outputs[0])] {
        let run = assay(&[
            "sql",
            except,
            "-t",
            &format!("a={a}"),
            "-t",
            &format!("b={b}"),
            "--engine",
            "datafusion",
            "--format",
            "json",
        ]);
        assert_eq!(json(run.ok()).as_array().unwrap().len(), 0, "both engines load the same rows");
    }
    // The monthly taxi summary.
    let mut months = Vec::new();
    for engine in ["polars", "datafusion"] {
        let out = d(&format!("{engine}-monthly.csv"));
        let run = assay(&[
            "run",
            "sample-data/trips.recipe.toml",
            "--engine",
            engine,
            "--set",
            &format!("outputs.monthly.path={out}"),
        ]);
        run.ok();
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text.lines().count(), 13, "a header and 12 months");
        assert!(text.starts_with(
            "month,trips,avg_passengers,avg_distance,avg_duration_min,fare,tips,avg_tip\n202401,"
        ));
        months.push(text);
    }
    let cells = |t: &str| {
        t.lines().flat_map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>()).collect::<Vec<_>>()
    };
    let (p, q) = (cells(&months[0]), cells(&months[1]));
    assert!(p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| same(a, b)), "{}\n{}", months[0], months[1]);
    let trips: u64 =
        months[0].lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap()).sum();
    let kept = assay(&[
        "sql",
        "SELECT COUNT(*) AS n FROM trips WHERE dropoff_at > pickup_at AND fare_amount >= 0",
        "-t",
        &sample("trips.csv"),
        "--format",
        "json",
    ]);
    assert_eq!(json(kept.ok())[0]["n"].as_u64().unwrap(), trips);
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.parquet").display().to_string();
    let manifest = dir.path().join("m.json").display().to_string();
    let run = assay(&[
        "run",
        "sample-data/orders.recipe.toml",
        "--dry-run",
        "--set",
        &format!("outputs.valid.path={out}"),
        "--manifest",
        &manifest,
    ]);
    let text = run.ok();
    for needle in [
        "1. filter on orders",
        "SELECT * FROM orders WHERE status IS NULL OR status <> 'cancelled'",
        "LEFT JOIN customers AS r ON l.customer_id = r.customer_id",
        "9 checks in 1 scan",
        "valid <- valid rows -> ",
        "quarantine <- quarantined rows -> out/orders_rejected.csv",
    ] {
        assert!(text.contains(needle), "`{needle}` not in:\n{text}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");
    let plan = json(assay(&["run", "sample-data/orders.recipe.toml", "--dry-run", "--format", "json"]).ok());
    assert_eq!(plan["steps"].as_array().unwrap().len(), 6);
    assert_eq!(plan["steps"][4]["kind"], "join");
}

#[test]
fn malformed_recipes_are_refused_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(root().join("sample-data/orders.recipe.toml")).unwrap();
    let cycle = |text: &str| {
        text.replacen(
            "[[steps]]\nfill_null",
            "[[steps]]\nname = \"filled\"\ninput = \"deduped\"\nfill_null",
            1,
        )
        .replacen(
            "[[steps]]\ndedupe",
            "[[steps]]\nname = \"deduped\"\ninput = \"filled\"\ndedupe",
            1,
        )
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            base.replacen("filter = \"status IS NULL", "filtre = \"status IS NULL", 1),
            vec![":19:1: unknown field `filtre`"],
        ),
        (base.replacen("min = 1000", "min = \"many\"", 1), vec![":58:", "invalid type: string \"many\""]),
        (
            base.replacen("source = \"customers\"", "source = \"clients\"", 1),
            vec![":31:20: step 5: no source or named step `clients`"],
        ),
        (cycle(&base), vec![":26:10: step 3: inputs form a cycle: filled -> deduped -> filled"]),
        (
            base.replacen("[[steps]]\njoin", "[[steps]]\ninput = \"nowhere\"\njoin", 1),
            vec![":31:10: step 5: no source or named step `nowhere`"],
        ),
        (base.replacen("length = { column", "lenght = { column", 1), vec![":52:1: unknown variant `lenght`"]),
    ];
    for (i, (text, needles)) in cases.iter().enumerate() {
        assert_ne!(text, &base, "case {i} changed nothing");
        let path = write(dir.path(), &format!("r{i}.toml"), text.as_bytes());
        let run = assay(&["run", &path]);
        let mut wanted = needles.clone();
        wanted.push(&path);
        run.fails(2, &wanted);
    }
    assay(&["run", &dir.path().join("missing.toml").display().to_string()])
        .fails(2, &["missing.toml: no such file"]);
    assay(&["run", "sample-data/orders.recipe.toml", "--set", "nothing"])
        .fails(2, &["--set nothing: expected KEY=VALUE"]);
    let unset = write(dir.path(), "vars.toml", b"[sources.o]\npath = \"${NO_SUCH_VAR_X}.csv\"\n");
    assay(&["run", &unset]).fails(2, &["vars.toml:2:9: ${NO_SUCH_VAR_X} is not set"]);
    let dir_path = dir.path().display().to_string();
    let set = assay(&["run", &unset, "--dry-run", "--set", &format!("NO_SUCH_VAR_X={dir_path}/none")]).stderr;
    assert!(set.contains("none.csv: no such file"), "{set} {dir_path}");
}

#[test]
fn the_published_recipe_schema_is_generated_and_accepts_the_examples() {
    let published = std::fs::read_to_string(root().join("assets/schemas/recipe.schema.json")).unwrap();
    let generated = assay(&["recipe", "schema"]);
    assert_eq!(
        published,
        generated.ok(),
        "assets/schemas/recipe.schema.json is stale: regenerate it with `assay recipe schema > assets/schemas/recipe.schema.json`"
    );
    for example in ["orders.recipe.toml", "trips.recipe.toml"] {
        let text = std::fs::read_to_string(root().join("sample-data").join(example)).unwrap();
        let value: toml::Value = toml::from_str(&text).unwrap();
        let document = serde_json::to_string(&value).unwrap();
        assert_eq!(crate::checks::schema_errors("recipe.schema.json", &document), None, "{example}");
    }
    let bad =
        r#"{"sources": {"o": {"path": "x.csv"}}, "steps": [{"filtre": "x"}], "outputs": {"v": {"path": 3}}}"#;
    let errors =
        crate::checks::schema_errors("recipe.schema.json", bad).expect("the schema rejects a bad recipe");
    assert!(errors.contains("filtre") && errors.contains("3"), "{errors}");
}

#[test]
fn a_recipe_loads_sqlite_with_the_files_and_only_when_the_checks_pass() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warehouse.db").display().to_string();
    let (valid, bad) =
        (dir.path().join("v.parquet").display().to_string(), dir.path().join("b.csv").display().to_string());
    let outputs = format!(
        "[outputs.warehouse]\nsqlite = {db:?}\ntable = \"orders\"\n\n[outputs.rejects]\nsqlite = {db:?}\ntable = \"rejects\"\nrows = \"quarantine\"\n"
    );
    let passing =
        gated("[[checks]]\nnot_null = { column = \"amount\", severity = \"warn\" }", &valid, &bad) + &outputs;
    let path = write(dir.path(), "load.toml", passing.as_bytes());
    let manifest = json(assay(&["run", &path, "--format", "json"]).ok());
    let rows = &manifest["rows"];
    let (ok, quarantined) = (rows["valid"].as_u64().unwrap(), rows["quarantined"].as_u64().unwrap());
    let count = |table: &str| -> u64 {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get::<_, i64>(0)).unwrap() as u64
    };
    assert_eq!(count("orders"), ok);
    assert_eq!(count("rejects"), quarantined);
    let outputs = manifest["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 4);
    assert!(outputs
        .iter()
        .any(|o| o["destination"] == format!("sqlite://{db}?table=orders") && o["rows"] == ok));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let failed: String =
        conn.query_row("SELECT failed_checks FROM rejects LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_eq!(failed, "not_null_amount");
    drop(conn);
    // The same recipe with the check as an error: no output at all, the tables as they were.
    let failing = gated("[[checks]]\nnot_null = { column = \"amount\" }", &valid, &bad) + &outputs_again(&db);
    let path = write(dir.path(), "fail.toml", failing.as_bytes());
    let run = assay(&["run", &path]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!((count("orders"), count("rejects")), (ok, quarantined));
}

fn outputs_again(db: &str) -> String {
    format!(
        "[outputs.warehouse]\nsqlite = {db:?}\ntable = \"orders\"\nmode = \"append\"\n\n[outputs.rejects]\nsqlite = {db:?}\ntable = \"rejects\"\nrows = \"quarantine\"\n"
    )
}
