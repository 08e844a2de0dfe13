//! `assay profile` and the profile panel agree with hand-written SQL on the dirty sample.

use crate::common::*;

fn sql_value(query: &str) -> serde_json::Value {
    let out = assay(&["sql", query, "-t", "sample-data/orders.csv", "--format", "json"]);
    json(out.ok())[0].clone()
}

#[test]
fn profile_matches_hand_written_queries() {
    let v = json(assay(&["profile", "sample-data/orders.csv", "--format", "json"]).ok());
    assert_eq!(v["table"], "orders");
    assert_eq!(v["rows"], 50_000);
    let columns = v["columns"].as_array().unwrap();
    let col = |name: &str| columns.iter().find(|c| c["name"] == name).unwrap().clone();
    let amount = col("amount");
    let expect = sql_value(
        "SELECT COUNT(*) - COUNT(amount) AS nulls, MIN(amount) AS lo, MAX(amount) AS hi, \
         AVG(amount) AS mean FROM orders",
    );
    assert_eq!(amount["nulls"], expect["nulls"]);
    assert_eq!(amount["min"].as_str().unwrap().parse::<f64>().unwrap(), expect["lo"].as_f64().unwrap());
    assert_eq!(amount["max"].as_str().unwrap().parse::<f64>().unwrap(), expect["hi"].as_f64().unwrap());
    let mean = amount["mean"].as_f64().unwrap();
    assert!((mean - expect["mean"].as_f64().unwrap()).abs() < 1e-6, "{mean}");
    let binned: u64 = amount["histogram"].as_array().unwrap().iter().map(|b| b[1].as_u64().unwrap()).sum();
    assert_eq!(binned, 50_000 - expect["nulls"].as_u64().unwrap());
    // The most frequent status, as GROUP BY finds it.
    let top = sql_value("SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY n DESC LIMIT 1");
    let status = col("status");
    assert_eq!(status["top"][0][0], top["status"]);
    assert_eq!(status["top"][0][1], top["n"]);
    let exact = sql_value("SELECT COUNT(DISTINCT customer_id) AS n FROM orders")["n"].clone();
    assert_eq!(col("customer_id")["distinct"], exact);
    let table = assay(&["profile", "sample-data/customers.parquet"]);
    let text = table.ok();
    assert!(text.contains("lifetime_value") && text.contains("5000 rows, 7 columns"), "{text}");
    assert!(text.chars().any(|c| "▁▂▃▄▅▆▇█".contains(c)), "no histogram drawn:\n{text}");
}
