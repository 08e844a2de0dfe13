use super::*;

#[test]
fn rules_written_back_read_the_same() {
    let text = r#"
key = ["order_id"]
samples = 3

[[checks]]
not_null = { column = "order_id", severity = "warn", description = "ids" }

[[checks]]
between = { column = "amount", min = 0, max = 10000.5, exclusive = true, mostly = 0.99 }

[[checks]]
in_set = { column = "status", values = ["new", "it's", 3], max_failures = "0.5%" }

[[checks]]
format = { column = "email", as = "email", id = "emails" }

[[checks]]
schema = { columns = { b = "int", a = "string" }, mode = "exact", ordered = true }

[[checks]]
unique = { columns = ["a", "b"], max_failures = 2 }
"#;
    let rules = Rules::parse(text, "t").unwrap();
    let written = rules.to_toml();
    assert_eq!(Rules::parse(&written, "written").unwrap(), rules, "{written}");
    assert!(
        written.contains("[[checks]]\nnot_null = { column = \"order_id\", severity = \"warn\""),
        "{written}"
    );
    // Defaults are left out.
    assert!(!written.contains("severity = \"error\""), "{written}");
}

#[test]
fn failing_rows_as_sql() {
    let schema = Schema::from_iter([
        Field::new("amount".into(), DataType::Float64),
        Field::new("day".into(), DataType::Date),
        Field::new("Odd Name".into(), DataType::String),
    ]);
    let sql = |text: &str| {
        let rules = Rules::parse(&format!("[[checks]]\n{text}\n"), "t").unwrap();
        rules.checks[0].failure_sql(&schema)
    };
    assert_eq!(
        sql(r#"between = { column = "amount", min = 0, max = 10 }"#).unwrap(),
        "amount < 0 OR amount > 10"
    );
    assert_eq!(sql(r#"between = { column = "amount", min = 0, exclusive = true }"#).unwrap(), "amount <= 0");
    assert_eq!(sql(r#"between = { column = "day", min = 0 }"#), None);
    assert_eq!(
        sql(r#"in_set = { column = "Odd Name", values = ["a", "b'c", 1] }"#).unwrap(),
        r#""Odd Name" NOT IN ('a', 'b''c', 1)"#
    );
    assert_eq!(
        sql(r#"unique = { columns = ["amount", "Odd Name"] }"#).unwrap(),
        r#"COUNT(*) OVER (PARTITION BY amount, "Odd Name") > 1"#
    );
    assert_eq!(
        sql(r#"regex = { column = "Odd Name", pattern = "a|b" }"#).unwrap(),
        r#"NOT ("Odd Name" ~ '^(?:a|b)$')"#
    );
    assert_eq!(sql(r#"foreign_key = { column = "amount", references = "x.y" }"#), None);
    assert_eq!(sql("row_count = { min = 1 }"), None);
    for text in [
        r#"not_null = { column = "amount" }"#,
        r#"length = { column = "Odd Name", min = 2 }"#,
        r#"compare = { left = "amount", op = "<=", right = "amount" }"#,
        r#"parseable = { column = "Odd Name", as = "int" }"#,
        r#"format = { column = "Odd Name", as = "uuid" }"#,
    ] {
        let s = sql(text).unwrap();
        crate::transform::check_expression(&s).unwrap_or_else(|e| panic!("{text}: {s}: {e}"));
    }
}
