//! The malformed-input corpus (issue 21): several hundred broken inputs of every kind —
//! data files, rules, recipes, SQL, arguments — generated here, each with the exit code
//! it must give and the words (file, line, column) its one-line message must hold. Every
//! command must give the same verdict on the same file, and nothing may crash.

use std::path::Path;

use crate::common::*;

/// One input and what assay must answer.
struct Case {
    name: String,
    args: Vec<String>,
    code: i32,
    needles: Vec<String>,
}

fn case(name: impl Into<String>, args: &[&str], code: i32, needles: &[&str]) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        code,
        needles: needles.iter().map(|s| s.to_string()).collect(),
    }
}

/// What is wrong with `run` for `c`, if anything.
fn verdict(c: &Case, run: &Run) -> Option<String> {
    let err = run.stderr.trim_end();
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("assay run: [")).collect();
    let problem = if run.code != c.code {
        Some(format!("exit {} (want {})", run.code, c.code))
    } else if c.code == 0 {
        None
    } else if err.contains("panicked") || err.contains("RUST_BACKTRACE") || err.contains("internal error") {
        Some("a crash".to_string())
    } else if lines.len() != 1 || !lines[0].starts_with("assay") {
        Some(format!("{} lines on stderr", lines.len()))
    } else {
        c.needles.iter().find(|n| !lines[0].contains(n.as_str())).map(|n| format!("`{n}` missing"))
    };
    problem.map(|p| {
        format!("{}: {p}\n    assay {}\n    {}", c.name, c.args.join(" "), err.replace('\n', "\n    "))
    })
}

/// The bad data row a CSV defect puts at row `i`.
type BadRow = fn(usize) -> Vec<u8>;

/// A CSV of `rows` rows, `id,name,amount`, whose data row `at` (0-based) is `bad`.
fn csv_with(rows: usize, at: usize, bad: &[u8]) -> Vec<u8> {
    let mut out = b"id,name,amount\n".to_vec();
    for i in 0..rows {
        if i == at {
            out.extend_from_slice(bad);
        } else {
            out.extend_from_slice(format!("{i},name {i},{i}.5").as_bytes());
        }
        out.push(b'\n');
    }
    out
}

fn data_cases(dir: &Path, cases: &mut Vec<Case>) {
    let rules = write(dir, "rows.toml", b"[[checks]]\nrow_count = { min = 1 }\n");
    let out = dir.join("out.parquet").display().to_string();
    // CSV: each defect near the start, inside the sniffed 64 KiB, and far past it.
    let defects: [(&str, BadRow); 6] = [
        ("more-fields", |i| format!("{i},name {i},{i}.5,extra").into_bytes()),
        ("fewer-fields", |i| format!("{i},name {i}").into_bytes()),
        ("unclosed-quote", |i| format!("{i},\"name {i},{i}.5").into_bytes()),
        ("not-utf8", |i| {
            [format!("{i},name ").as_bytes(), b"\xff\xfe", format!(",{i}.5").as_bytes()].concat()
        }),
        ("quote-mid-field", |i| format!("{i},5\" screen,{i}.5").into_bytes()),
        ("one-field", |i| format!("{i}").into_bytes()),
    ];
    for (defect, line) in defects {
        for at in [0usize, 50, 15_000] {
            let name = format!("{defect}-{at}.csv");
            let path = write(dir, &name, &csv_with(20_000, at, &line(at)));
            let table = format!("t={path}");
            let where_ = format!("line {}", at + 2);
            let needles = [name.as_str(), where_.as_str()];
            let mut commands: Vec<(&str, Vec<&str>)> = vec![
                ("count", vec!["count", &path]),
                ("profile", vec!["profile", &path]),
                (
                    "sql-count-polars",
                    vec!["sql", "SELECT count(*) FROM t", "-t", &table, "--engine", "polars"],
                ),
                (
                    "sql-sum-polars",
                    vec!["sql", "SELECT sum(amount) FROM t", "-t", &table, "--engine", "polars"],
                ),
                ("check", vec!["check", &path, "--rules", &rules]),
                ("export", vec!["export", &path, "--to", &out, "--overwrite"]),
            ];
            if at < 1000 {
                // `head` reads the rows it shows: a defect among or before them.
                commands.push(("head", vec!["head", &path]));
                commands.push(("schema", vec!["schema", &path]));
            }
            if defect != "quote-mid-field" || at < 1000 {
                // DataFusion's CSV reader takes a quote inside a field as text, and reads
                // past the sniffed bytes unchecked: its answers are right for that reading
                // (docs/malformed-input.md).
                commands.push((
                    "sql-count-datafusion",
                    vec!["sql", "SELECT count(*) FROM t", "-t", &table, "--engine", "datafusion"],
                ));
                commands.push((
                    "sql-sum-datafusion",
                    vec!["sql", "SELECT sum(amount) FROM t", "-t", &table, "--engine", "datafusion"],
                ));
            }
            for (command, args) in commands {
                cases.push(case(format!("{name} {command}"), &args, 2, &needles));
            }
        }
    }
    // A well-formed twin counts the same everywhere.
    let good = write(dir, "good.csv", &csv_with(20_000, usize::MAX, b""));
    cases.push(case("good.csv count", &["count", &good], 0, &[]));

    // NDJSON: a line that is not one JSON object.
    let lines: [(&str, &str, &str); 4] = [
        ("trailing-comma", "{\"a\": 3,,}", "invalid JSON"),
        ("array", "[1, 2]", "an array where NDJSON needs one JSON object"),
        ("cut", "{\"a\": ", "invalid JSON"),
        ("bare-word", "hello", "invalid JSON"),
    ];
    for (what, bad, words) in lines {
        for at in [0usize, 2, 3000] {
            let mut text = String::new();
            for i in 0..4000 {
                text.push_str(&if i == at {
                    bad.to_string()
                } else {
                    format!("{{\"a\": {i}, \"b\": \"x{i}\"}}")
                });
                text.push('\n');
            }
            let name = format!("{what}-{at}.ndjson");
            let path = write(dir, &name, text.as_bytes());
            let table = format!("t={path}");
            let where_ = format!("line {}", at + 1);
            for (command, args) in [
                ("profile", vec!["profile", path.as_str()]),
                ("sql-polars", vec!["sql", "SELECT sum(a) FROM t", "-t", &table, "--engine", "polars"]),
                (
                    "sql-datafusion",
                    vec!["sql", "SELECT sum(a) FROM t", "-t", &table, "--engine", "datafusion"],
                ),
                ("export", vec!["export", &path, "--to", &out, "--overwrite"]),
            ] {
                cases.push(case(format!("{name} {command}"), &args, 2, &[&name, &where_, words]));
            }
        }
    }

    // Parquet and Arrow files cut short, or not what their name says.
    let parquet = std::fs::read(sample("customers.parquet")).unwrap();
    let arrow = {
        let path = dir.join("whole.arrow");
        let mut df = people();
        write_ipc(&mut df, &path);
        std::fs::read(&path).unwrap()
    };
    let cuts = |len: usize| [4usize, 11, 100, len / 2, len - 9, len - 1];
    for (ext, bytes, words) in [("parquet", &parquet, "Parquet"), ("arrow", &arrow, "Arrow")] {
        for cut in cuts(bytes.len()) {
            let name = format!("cut-{cut}.{ext}");
            let path = write(dir, &name, &bytes[..cut]);
            let table = format!("t={path}");
            for (command, args) in [
                ("count", vec!["count", path.as_str()]),
                ("head", vec!["head", &path]),
                ("schema", vec!["schema", &path]),
                ("profile", vec!["profile", &path]),
                ("sql-polars", vec!["sql", "SELECT count(*) FROM t", "-t", &table, "--engine", "polars"]),
                (
                    "sql-datafusion",
                    vec!["sql", "SELECT count(*) FROM t", "-t", &table, "--engine", "datafusion"],
                ),
            ] {
                cases.push(case(format!("{name} {command}"), &args, 2, &[&name, words]));
            }
        }
    }
    for (name, bytes, words) in [
        ("empty.csv", &b""[..], "empty"),
        ("empty.parquet", b"", "empty"),
        ("text.parquet", b"id,name\n1,a\n", "not a Parquet file"),
        ("text.arrow", b"id,name\n1,a\n", "not an Arrow IPC file"),
        ("cr-only.csv", b"a,b\r1,2\r3,4\r", "carriage return"),
        ("nul-header.csv", b"a,b\0c\n1,2\n", "NUL"),
    ] {
        let path = write(dir, name, bytes);
        for command in ["count", "head", "profile"] {
            cases.push(case(format!("{name} {command}"), &[command, &path], 2, &[name, words]));
        }
    }

    // Nesting deep enough to overflow a recursive reader's stack.
    let deep = format!("{{\"a\": {}{}}}\n", "[".repeat(100_000), "]".repeat(100_000));
    let path = write(dir, "deep.ndjson", deep.as_bytes());
    for command in ["count", "head", "profile", "schema"] {
        cases.push(case(
            format!("deep.ndjson {command}"),
            &[command, &path],
            2,
            &["deep.ndjson", "line 1", "nests more than"],
        ));
    }

    // Globs whose files disagree in their columns.
    std::fs::create_dir_all(dir.join("mixed")).unwrap();
    write(&dir.join("mixed"), "1.csv", b"a,b\n1,2\n");
    write(&dir.join("mixed"), "2.csv", b"a,c,d\n1,x,3\n");
    let glob = dir.join("mixed/*.csv").display().to_string();
    let table = format!("t={glob}");
    for (command, args) in [
        ("count", vec!["count", glob.as_str()]),
        ("head", vec!["head", &glob]),
        ("sql-polars", vec!["sql", "SELECT * FROM t", "-t", &table, "--engine", "polars"]),
        ("sql-datafusion", vec!["sql", "SELECT * FROM t", "-t", &table, "--engine", "datafusion"]),
    ] {
        cases.push(case(format!("mixed glob {command}"), &args, 2, &["2.csv", "share their columns"]));
    }
}

fn rules_cases(dir: &Path, cases: &mut Vec<Case>) {
    let data = sample("orders.csv");
    let rules: &[(&str, &[u8], &[&str])] = &[
        ("empty.toml", b"", &["empty.toml", "no checks"]),
        ("comments.toml", b"# nothing here\n", &["comments.toml", "no checks"]),
        ("not-utf8.toml", b"[[checks]]\nnot_null = { column = \"a\xff\" }\n", &["not-utf8.toml", "not UTF-8", "line 2"]),
        ("kind.toml", b"[[checks]]\nid = \"a\"\nkind = \"not_null\"\n", &["kind.toml:", "one key, its type"]),
        ("two-types.toml", b"[[checks]]\nnot_null = { column = \"amount\" }\nunique = { columns = [\"order_id\"] }\n", &["two-types.toml:", "one key"]),
        ("unknown-type.toml", b"[[checks]]\nnot_nul = { column = \"amount\" }\n", &["unknown-type.toml:2:1", "not_nul"]),
        ("unknown-field.toml", b"[[checks]]\nnot_null = { colum = \"amount\" }\n", &["unknown-field.toml:2:", "colum"]),
        ("missing-field.toml", b"[[checks]]\nbetween = { min = 0 }\n", &["missing-field.toml:2:", "column"]),
        ("bad-severity.toml", b"[[checks]]\nnot_null = { column = \"amount\", severity = \"fatal\" }\n", &["bad-severity.toml:2:", "fatal"]),
        ("bad-max-failures.toml", b"[[checks]]\nnot_null = { column = \"amount\", max_failures = true }\n", &["bad-max-failures.toml:2:", "max_failures is a count"]),
        ("bad-percent.toml", b"[[checks]]\nnot_null = { column = \"amount\", max_failures = \"x%\" }\n", &["bad-percent.toml", "check 1", "x%"]),
        ("mostly-big.toml", b"[[checks]]\nnot_null = { column = \"amount\", mostly = 1.5 }\n", &["mostly-big.toml", "check 1", "mostly"]),
        ("both.toml", b"[[checks]]\nnot_null = { column = \"amount\", mostly = 0.5, max_failures = 3 }\n", &["both.toml", "not both"]),
        ("table-mostly.toml", b"[[checks]]\nrow_count = { min = 1, mostly = 0.5 }\n", &["table-mostly.toml", "table-level"]),
        ("dup-ids.toml", b"[[checks]]\nnot_null = { column = \"amount\", id = \"a\" }\n[[checks]]\nunique = { columns = [\"order_id\"], id = \"a\" }\n", &["dup-ids.toml", "check 2", "`a`", "check 1"]),
        ("dup-checks.toml", b"[[checks]]\nnot_null = { column = \"amount\" }\n[[checks]]\nnot_null = { column = \"amount\" }\n", &["dup-checks.toml", "repeats"]),
        ("bad-regex.toml", b"[[checks]]\nregex = { column = \"email\", pattern = \"([a-z\" }\n", &["bad-regex.toml", "pattern"]),
        ("bad-op.toml", b"[[checks]]\ncompare = { left = \"amount\", op = \"=>\", right = \"price\" }\n", &["bad-op.toml", "=>"]),
        ("bad-sql.toml", b"[[checks]]\nexpression = { sql = \"amount >\" }\n", &["bad-sql.toml", "check 1"]),
        ("bad-age.toml", b"[[checks]]\nfreshness = { column = \"created_at\", max_age = \"soon\" }\n", &["bad-age.toml", "soon"]),
        ("bad-reference.toml", b"[[checks]]\nforeign_key = { column = \"customer_id\", references = \"customers\" }\n", &["bad-reference.toml", "customers"]),
        ("unknown-schema-type.toml", b"[[checks]]\nschema = { columns = { amount = \"floot\" } }\n", &["unknown-schema-type.toml", "unknown type `floot`"]),
        ("unknown-column.toml", b"[[checks]]\nnot_null = { column = \"amout\" }\n", &["unknown-column.toml", "no column `amout`"]),
        ("unknown-expr-column.toml", b"[[checks]]\nexpression = { sql = \"amout > 0\" }\n", &["unknown-expr-column.toml", "no column `amout`"]),
        ("wrong-type.toml", b"[[checks]]\nbetween = { column = \"status\", min = 0 }\n", &["wrong-type.toml", "cannot check column `status`"]),
        ("unknown-key.toml", b"key = [\"nope\"]\n[[checks]]\nnot_null = { column = \"amount\" }\n", &["unknown-key.toml", "nope"]),
        ("checks-number.toml", b"checks = 3\n", &["checks-number.toml:1:", "expected a list"]),
        ("bad-toml.toml", b"[[checks]\nnot_null = {}\n", &["bad-toml.toml:1:"]),
        ("unknown-top.toml", b"chekcs = []\n", &["unknown-top.toml:1:", "chekcs"]),
        ("yaml-two-keys.yaml", b"checks:\n  - not_null: {column: amount}\n    unique: {columns: [a]}\n", &["yaml-two-keys.yaml:2:", "one key"]),
        ("yaml-dup.yaml", b"checks:\n  - not_null: {column: amount, id: a}\n  - not_null: {column: status, id: a}\n", &["yaml-dup.yaml", "check 2"]),
        ("yaml-bad.yaml", b"checks: [\n", &["yaml-bad.yaml:"]),
        ("yaml-empty.yaml", b"checks: []\n", &["yaml-empty.yaml", "no checks"]),
    ];
    let deep_toml = format!("key = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let deep_yaml = format!("checks: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let deep_tables = format!("key = {}1{}\n", "{a=".repeat(20_000), "}".repeat(20_000));
    let rules: Vec<(&str, &[u8], &[&str])> = rules
        .iter()
        .copied()
        .chain([
            ("deep.toml", deep_toml.as_bytes(), &["deep.toml:1:", "recursion"][..]),
            ("deep-tables.toml", deep_tables.as_bytes(), &["deep-tables.toml:1:", "recursion"][..]),
            ("deep.yaml", deep_yaml.as_bytes(), &["deep.yaml:1:"][..]),
        ])
        .collect();
    for (name, text, needles) in rules {
        let path = write(dir, name, text);
        cases.push(case(format!("rules {name}"), &["check", &data, "--rules", &path], 2, needles));
    }
    let missing = dir.join("absent.toml").display().to_string();
    cases.push(case(
        "rules missing",
        &["check", &data, "--rules", &missing],
        2,
        &["absent.toml", "no such file"],
    ));
    cases.push(case(
        "rules folder",
        &["check", &data, "--rules", &dir.display().to_string()],
        2,
        &["is a directory"],
    ));
}

fn recipe_cases(dir: &Path, cases: &mut Vec<Case>) {
    let orders = sample("orders.csv");
    let out = dir.join("recipe-out.parquet").display().to_string();
    let recipe = |steps: &str, checks: &str| {
        format!(
            "[sources.orders]\npath = \"{orders}\"\n{steps}\n[[checks]]\n{checks}\n[outputs.o]\npath = \"{out}\"\n"
        )
    };
    let ok_check = "not_null = { column = \"order_id\" }";
    let steps: &[(&str, String, &[&str])] = &[
        (
            "select-unknown",
            recipe("[[steps]]\nselect = [\"order_id\", \"nope\"]", ok_check),
            &["step 1 (select)", "no column `nope`"],
        ),
        (
            "filter-unknown",
            recipe("[[steps]]\nfilter = \"amout > 1\"", ok_check),
            &["step 1 (filter)", "amout"],
        ),
        (
            "derive-unknown",
            recipe("[[steps]]\nderive = { t = \"price * qty\" }", ok_check),
            &["step 1 (derive)", "qty"],
        ),
        ("sort-unknown", recipe("[[steps]]\nsort = [\"nope\"]", ok_check), &["step 1 (sort)", "nope"]),
        ("drop-unknown", recipe("[[steps]]\ndrop = [\"nope\"]", ok_check), &["step 1 (drop)", "nope"]),
        (
            "rename-unknown",
            recipe("[[steps]]\nrename = { nope = \"x\" }", ok_check),
            &["step 1 (rename)", "nope"],
        ),
        ("filter-syntax", recipe("[[steps]]\nfilter = \"amount >\"", ok_check), &["step 1", "filter"]),
        ("unknown-step", recipe("[[steps]]\nfilterr = \"amount > 1\"", ok_check), &["filterr"]),
        (
            "two-step-types",
            recipe("[[steps]]\nfilter = \"amount > 1\"\nsort = [\"amount\"]", ok_check),
            &["one step per [[steps]] entry"],
        ),
        ("check-unknown-column", recipe("", "not_null = { column = \"amout\" }"), &["no column `amout`"]),
        ("check-expr-unknown", recipe("", "expression = { sql = \"nope > 1\" }"), &["no column `nope`"]),
        (
            "check-dup-ids",
            recipe("", "not_null = { column = \"amount\" }\n[[checks]]\nnot_null = { column = \"amount\" }"),
            &["check 2", "repeats"],
        ),
        ("check-unknown-type", recipe("", "not_nul = { column = \"amount\" }"), &["not_nul"]),
        (
            "schema-unknown-type",
            recipe("", "schema = { columns = { amount = \"floot\" } }"),
            &["unknown type `floot`"],
        ),
        (
            "join-unknown-source",
            recipe("[[steps]]\njoin = { source = \"nope\", on = [\"customer_id\"] }", ok_check),
            &["nope"],
        ),
    ];
    for (name, text, needles) in steps {
        let file = format!("{name}.recipe.toml");
        let path = write(dir, &file, text.as_bytes());
        let mut n: Vec<&str> = vec![file.as_str()];
        n.extend_from_slice(needles);
        for engine in ["polars", "datafusion"] {
            cases.push(case(format!("recipe {name} {engine}"), &["run", &path, "--engine", engine], 2, &n));
        }
    }
    let whole: &[(&str, &[u8], &[&str])] = &[
        ("not-utf8.recipe.toml", b"[sources.orders]\npath = \"\xff.csv\"\n", &["not UTF-8", "line 2"]),
        ("no-sources.recipe.toml", b"[[steps]]\nfilter = \"a > 1\"\n", &["source"]),
        ("bad-toml.recipe.toml", b"[sources.orders\npath = \"x\"\n", &["bad-toml.recipe.toml:1:"]),
        (
            "missing-data.recipe.toml",
            b"[sources.orders]\npath = \"/nonexistent/o.csv\"\n",
            &["/nonexistent/o.csv", "no such file"],
        ),
        ("unknown-top.recipe.toml", b"sourcez = 1\n", &["sourcez"]),
        ("empty.recipe.toml", b"", &["source"]),
    ];
    for (name, text, needles) in whole {
        let path = write(dir, name, text);
        let mut n: Vec<&str> = vec![name];
        n.extend_from_slice(needles);
        cases.push(case(format!("recipe {name}"), &["run", &path], 2, &n));
    }
}

fn sql_cases(cases: &mut Vec<Case>) {
    let orders = format!("orders={}", sample("orders.csv"));
    let deep = format!("SELECT {} AS x FROM orders", vec!["1"; 5000].join(" + "));
    let parens = format!("SELECT {}1{} FROM orders", "(".repeat(5000), ")".repeat(5000));
    let ors = format!(
        "SELECT count(*) FROM orders WHERE {}",
        (0..3000).map(|i| format!("order_id = {i}")).collect::<Vec<_>>().join(" OR ")
    );
    let queries: Vec<(&str, String, Vec<&str>)> = vec![
        ("syntax", "SELEC amount FROM orders".into(), vec!["line 1, column 1"]),
        ("syntax-line-3", "SELECT amount\nFROM orders\nWHERE amount >".into(), vec!["line 3"]),
        ("unclosed-string", "SELECT 'abc FROM orders".into(), vec!["SQL"]),
        ("unknown-table", "SELECT * FROM orderz".into(), vec!["unknown table `orderz`"]),
        (
            "unknown-column",
            "SELECT amout FROM orders".into(),
            vec!["unknown column `amout`", "line 1, column 8"],
        ),
        ("unknown-qualified", "SELECT o.nope FROM orders o".into(), vec!["nope", "line 1, column 10"]),
        ("unknown-in-where", "SELECT count(*) FROM orders\nWHERE nope > 1".into(), vec!["nope", "line 2"]),
        ("unknown-function", "SELECT frobnicate(amount) FROM orders".into(), vec!["frobnicate"]),
        ("empty", "   ".into(), vec!["empty"]),
        ("two-statements", "SELECT 1; SELECT 2".into(), vec!["2 statements given"]),
        ("writes", "DROP TABLE orders".into(), vec!["writes"]),
        ("deep-chain", deep, vec!["nests more than 1000 levels"]),
        ("deep-parens", parens, vec!["nested too deeply"]),
        ("long-or", ors, vec!["nests more than 1000 levels"]),
    ];
    for (name, q, needles) in queries {
        for engine in ["polars", "datafusion"] {
            let mut args = vec!["sql", q.as_str(), "-t", orders.as_str(), "--engine", engine];
            if name == "writes" {
                args.truncate(4);
            }
            cases.push(case(format!("sql {name} {engine}"), &args, 2, &needles));
        }
    }
}

fn argument_cases(dir: &Path, cases: &mut Vec<Case>) {
    let orders = sample("orders.csv");
    let missing = dir.join("nope.csv").display().to_string();
    let empty_dir = dir.join("nothing");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let empty_dir = empty_dir.display().to_string();
    let no_match = dir.join("*.nomatch").display().to_string();
    let unknown = write(dir, "data.xyz", b"\x01\x02\x03binary\x00");
    let out_dir = dir.join("outdir");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out_dir = out_dir.display().to_string();
    let list: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        ("missing-file", vec!["count", &missing], vec!["nope.csv", "no such file"]),
        ("empty-folder", vec!["count", &empty_dir], vec!["nothing", "holds no"]),
        ("no-glob-match", vec!["count", &no_match], vec!["*.nomatch"]),
        ("unknown-format", vec!["head", &unknown], vec!["data.xyz"]),
        ("bad-input-format", vec!["head", &orders, "--input-format", "xlsx"], vec!["xlsx"]),
        (
            "bad-engine",
            vec!["sql", "SELECT 1", "-t", &orders, "--engine", "duck"],
            vec!["duck", "possible values: auto, polars, datafusion"],
        ),
        ("bad-row-format", vec!["head", &orders, "--format", "xml"], vec!["xml"]),
        (
            "negative-rows",
            vec!["head", &orders, "-n", "-3"],
            vec!["unexpected argument '-3'", "usage: assay head"],
        ),
        (
            "export-unknown-ext",
            vec!["export", &orders, "--to", "/tmp/x.xlsx"],
            vec!["x.xlsx", "unknown output format"],
        ),
        ("export-to-folder", vec!["export", &orders, "--to", &out_dir], vec!["outdir", "a folder"]),
        (
            "export-to-device",
            vec!["export", &orders, "--to", "/dev/null", "--format", "csv"],
            vec!["/dev/null", "a pipe or a device"],
        ),
        ("export-over-input", vec!["export", &orders, "--to", &orders, "--overwrite"], vec!["is an input"]),
        ("sqlite-folder", vec!["head", "sqlite:///tmp?table=t"], vec!["is a folder"]),
        ("sqlite-missing", vec!["head", "sqlite:///nonexistent.db?table=t"], vec!["nonexistent.db"]),
        ("sqlite-no-table", vec!["head", "sqlite:///tmp/x.db"], vec!["table"]),
        ("bad-null-value", vec!["head", &orders, "--decimal-comma"], vec!["decimal"]),
        ("no-query", vec!["sql", "-t", &orders], vec!["<QUERY>"]),
        ("missing-query-file", vec!["sql", "--file", &missing, "-t", &orders], vec!["nope.csv"]),
    ];
    for (name, args, needles) in list {
        cases.push(case(format!("args {name}"), &args, 2, &needles));
    }
}

/// Every case of the corpus holds: the exit code, one line naming where, no crash.
#[test]
fn the_malformed_input_corpus_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    data_cases(dir.path(), &mut cases);
    rules_cases(dir.path(), &mut cases);
    recipe_cases(dir.path(), &mut cases);
    sql_cases(&mut cases);
    argument_cases(dir.path(), &mut cases);
    assert!(cases.len() >= 300, "the corpus has {} cases", cases.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(c) = cases.get(i) else { break };
                let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
                if let Some(problem) = verdict(c, &assay(&args)) {
                    failures.lock().unwrap().push(problem);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!("corpus: {} cases, {} hold", cases.len(), cases.len() - failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
