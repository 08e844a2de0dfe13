use super::*;

#[test]
fn columns_named_by_an_expression_are_found_as_the_data_spells_them() {
    let known = ["amount", "Status", "price", "discount"];
    assert_eq!(
        columns_in("price / discount > 0.3 AND status = 'x'", &known),
        ["price", "discount", "Status"]
    );
    assert_eq!(columns_in("\"Status\" = 'x' OR amount + amount > 1", &known), ["Status", "amount"]);
    assert_eq!(columns_in("nope > 1", &known), Vec::<String>::new());
    assert_eq!(columns_in("((", &known), Vec::<String>::new());
}

#[test]
fn unknown_columns_in_expressions_are_named() {
    let known = ["amount", "Status", "price"];
    assert_eq!(unknown_column_in("amount > 1 AND status = 'x'", &known), None);
    assert_eq!(unknown_column_in("\"Status\" = 'x' AND upper(amount) > 0", &known), None);
    assert_eq!(unknown_column_in("amount > nope + 1", &known).as_deref(), Some("nope"));
    assert_eq!(unknown_column_in("\"status\" = 'x'", &known).as_deref(), Some("status"));
    assert_eq!(unknown_column_in("CASE WHEN price > 0 THEN amout END", &known).as_deref(), Some("amout"));
    assert_eq!(unknown_column_in("t.nope = 1", &known).as_deref(), Some("t.nope"));
    assert_eq!(
        unknown_column_in("x IN (1, 2) OR CURRENT_DATE > DATE '2024-01-01'", &known).as_deref(),
        Some("x")
    );
    assert_eq!(unknown_column_in("((", &known), None);
}

#[test]
fn filters_and_derived_columns_follow_the_arithmetic_rules_of_queries() {
    // Decimal(10,2) money: Polars alone divides at the operands' scale (1.00 / 3.00 =
    // 0.33) and rounds products to the wider scale (1.25 * 0.35 = 0.44).
    let dec = |name: &str, v: &[f64]| {
        Series::new(name.into(), v).cast(&DataType::Decimal(10, 2)).unwrap().into_column()
    };
    let df = DataFrame::new_infer_height(vec![
        dec("price", &[1.0, 1.25, 2.0]),
        dec("discount", &[3.0, 0.35, 4.0]),
        Column::new("n".into(), [7i64, 5, 1]),
    ])
    .unwrap();
    let steps = vec![
        Step::Derive {
            columns: vec![
                ("ratio".into(), "price / discount".into()),
                ("product".into(), "price * discount".into()),
                ("half".into(), "n / 2".into()),
            ],
        },
        Step::Filter { sql: "price / discount > 0.3".into() },
    ];
    let out = apply(df.lazy(), &steps).unwrap().collect().unwrap();
    // 1.00/3.00 = 0.333… and 1.25/0.35 = 3.57… pass; 2.00/4.00 = 0.5 too.
    assert_eq!(out.height(), 3);
    let ratio: Vec<f64> = out.column("ratio").unwrap().f64().unwrap().into_no_null_iter().collect();
    assert!((ratio[0] - 1.0 / 3.0).abs() < 1e-12, "{ratio:?}");
    let product = out.column("product").unwrap().cast(&DataType::String).unwrap();
    let product: Vec<String> = (0..product.len()).map(|i| product.get(i).unwrap().to_string()).collect();
    assert_eq!(product, ["\"3.0000\"", "\"0.4375\"", "\"8.0000\""]);
    let half: Vec<f64> = out.column("half").unwrap().f64().unwrap().into_no_null_iter().collect();
    assert_eq!(half, [3.5, 2.5, 0.5]);
    // A filter at the operands' scale would have read 0.33 > 0.333 as false.
    let strict = apply(
        out.lazy(),
        &[Step::Filter { sql: "price / discount > 0.3333 AND price / discount < 0.3334".into() }],
    )
    .unwrap()
    .collect()
    .unwrap();
    assert_eq!(strict.height(), 1);
}

#[test]
fn steps_print_as_one_query() {
    let steps = vec![
        Step::filter("status = 'shipped'").unwrap(),
        Step::Sort { keys: vec![SortKey { column: "amount".into(), descending: true }] },
        Step::filter("\"Odd Name\" IS NOT NULL").unwrap(),
        Step::Select { columns: vec!["status".into(), "Odd Name".into()] },
    ];
    assert_eq!(
        to_sql("orders", &steps),
        "SELECT status, \"Odd Name\" FROM orders WHERE (status = 'shipped') AND (\"Odd Name\" IS NOT NULL) \
             ORDER BY amount DESC NULLS LAST"
    );
    assert_eq!(ident("Odd Name"), "\"Odd Name\"");
    assert_eq!(literal("O'Brien"), "'O''Brien'");
}

#[test]
fn bad_filters_are_refused_before_reading() {
    let e = Step::filter("amount >").unwrap_err().to_string();
    assert!(e.contains("filter `amount >`"), "{e}");
    let e = Step::filter("amount > 1 2").unwrap_err().to_string();
    assert!(e.contains("column 12"), "{e}");
}
