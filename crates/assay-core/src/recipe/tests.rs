use super::*;

const GOOD: &str = r#"
name = "orders-daily"

[sources.orders]
path = "orders.csv"

[sources.customers]
path = "customers.csv"

[[steps]]
filter = "status <> 'cancelled'"

[[steps]]
derive = { total = "amount * 2" }
name = "priced"

[[steps]]
sql = "SELECT o.*, c.segment FROM input o LEFT JOIN customers c USING (customer_id)"
engine = "datafusion"

[[checks]]
not_null = { column = "order_id" }

[outputs.valid]
path = "out/orders.parquet"

[outputs.quarantine]
path = "out/bad.parquet"
"#;

fn error(text: &str) -> String {
    parse(text, "r.toml", &[]).unwrap_err().to_string()
}

#[test]
fn a_recipe_loads_with_its_steps_lowered() {
    let r = parse(GOOD, "r.toml", &[]).unwrap();
    assert_eq!(r.name(), "orders-daily");
    assert_eq!(r.main_source(), "orders");
    assert_eq!(r.steps.len(), 3);
    assert_eq!(r.steps[1].name.as_deref(), Some("priced"));
    assert!(matches!(&r.steps[2].step, Step::Sql { engine: Some(EngineKind::DataFusion), .. }));
    assert_eq!(r.recipe.outputs["quarantine"].rows("quarantine"), Rows::Quarantine);
    assert_eq!(r.steps[2].at, "r.toml:17:1");
    // Written back, it reads the same.
    let again = parse(&r.recipe.to_toml().unwrap(), "r.toml", &[]).unwrap();
    assert_eq!(again.recipe, r.recipe);
}

#[test]
fn malformed_recipes_are_positioned() {
    let e = error(&GOOD.replace("filter = \"status", "filtre = \"status"));
    assert!(e.starts_with("r.toml:11:1: unknown field `filtre`"), "{e}");
    let e = error(&GOOD.replace("path = \"orders.csv\"", "path = 3"));
    assert!(e.starts_with("r.toml:5:8: invalid type"), "{e}");
    let e = error(&GOOD.replace("engine = \"datafusion\"", "input = \"nowhere\""));
    assert!(e.starts_with("r.toml:19:10: step 3: no source or named step `nowhere`"), "{e}");
    let e = error(&GOOD.replace("filter = \"status <> 'cancelled'\"", "filter = \"x\"\ninput = \"priced\""));
    assert!(e.contains("r.toml:12:10: step 1: `priced` is step 2, which comes later"), "{e}");
    let cyclic = GOOD
        .replace("filter = \"status <> 'cancelled'\"", "filter = \"x\"\nname = \"a\"\ninput = \"priced\"")
        .replace("name = \"priced\"", "name = \"priced\"\ninput = \"a\"");
    let e = error(&cyclic);
    assert!(e.contains("r.toml:13:10: step 1: inputs form a cycle: a -> priced -> a"), "{e}");
    let e = error(
        &GOOD
            .replace("derive = { total = \"amount * 2\" }", "derive = { total = \"amount * 2\" }\nlimit = 3"),
    );
    assert!(
        e.contains("r.toml:13:1: step 2: one step per [[steps]] entry; this one has derive, limit"),
        "{e}"
    );
    let e = error(&GOOD.replace("FROM input o", "FROM inptu o"));
    assert!(e.contains("r.toml:17:1: step 3:") && e.contains("inptu"), "{e}");
    let e = error(&GOOD.replace("path = \"out/bad.parquet\"", "sqlite = \"x.db\""));
    assert!(e.contains("output `quarantine`: a database output needs `table`"), "{e}");
    let e = error(&GOOD.replace("not_null = { column", "not_null = { colum"));
    assert!(e.starts_with("r.toml:22:"), "{e}");
}

#[test]
fn variables_and_sets_override_values() {
    let text = GOOD.replace("orders.csv", "${DAY}/orders.csv");
    let e = parse(&text, "r.toml", &[]).unwrap_err().to_string();
    assert!(e.starts_with("r.toml:5:9: ${DAY} is not set"), "{e}");
    let sets = vec![
        ("DAY".to_string(), "2024-06-01".to_string()),
        ("sources.customers.path".to_string(), "other.parquet".to_string()),
        ("steps.0.filter".to_string(), "amount > 5".to_string()),
        ("samples".to_string(), "7".to_string()),
    ];
    let r = parse(&text, "r.toml", &sets).unwrap();
    assert_eq!(r.recipe.sources["orders"].path, "2024-06-01/orders.csv");
    assert_eq!(r.recipe.sources["customers"].path, "other.parquet");
    assert_eq!(r.steps[0].step, Step::Filter { sql: "amount > 5".into() });
    assert_eq!(r.recipe.samples, Some(7));
    let e = parse(GOOD, "r.toml", &[("steps.9.filter".into(), "x".into())]).unwrap_err().to_string();
    assert!(e.contains("--set steps.9.filter: there is no item 9"), "{e}");
    let e = parse(GOOD, "r.toml", &[("outputs.valid.colour".into(), "red".into())]).unwrap_err().to_string();
    assert!(e.contains("--set outputs.valid.colour: unknown field `colour`"), "{e}");
    assert_eq!(substitute("a $${X} b", "r", &|_| None).unwrap(), "a ${X} b");
}

#[test]
fn yaml_recipes_share_the_model() {
    let yaml = r#"
name: orders-daily
sources:
  orders:
    path: orders.csv
steps:
  - filter: "amount > 1"
  - sort: [{ column: amount, descending: true }, order_id]
  - cast: { amount: float64 }
    input: nowhere
checks:
  - not_null: { column: order_id }
"#;
    let e = parse(yaml, "r.yaml", &[]).unwrap_err().to_string();
    assert!(e.starts_with("r.yaml:10:12: step 3: no source or named step `nowhere`"), "{e}");
    let r = parse(&yaml.replace("    input: nowhere\n", ""), "r.yaml", &[]).unwrap();
    assert_eq!(
        r.steps[1].step,
        Step::Sort {
            keys: vec![
                SortKey { column: "amount".into(), descending: true },
                SortKey { column: "order_id".into(), descending: false }
            ]
        }
    );
    assert_eq!(r.recipe.checks.len(), 1);
    let e = parse(&yaml.replace("filter:", "filtre:"), "r.yaml", &[]).unwrap_err().to_string();
    assert!(
        e.starts_with("r.yaml:7:5: steps[0]: unknown field `filtre`") || e.starts_with("r.yaml:7:"),
        "{e}"
    );
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(redact("postgres://me:secret@db/x"), "postgres://me:***@db/x");
    assert_eq!(redact("postgres://me@db/x"), "postgres://me@db/x");
}
