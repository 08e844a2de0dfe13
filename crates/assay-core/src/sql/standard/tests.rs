use super::*;

fn catalog(table: &str) -> Option<Vec<ColumnInfo>> {
    let cols: &[&str] = match table {
        "lineitem" => &[
            "l_orderkey",
            "l_partkey",
            "l_suppkey",
            "l_quantity*",
            "l_extendedprice*",
            "l_discount*",
            "l_shipdate",
            "l_commitdate",
            "l_receiptdate",
        ],
        "orders" => &["o_orderkey", "o_custkey", "o_orderdate", "o_comment"],
        "customer" => &["c_custkey", "c_name", "c_acctbal*", "c_phone"],
        "part" => &["p_partkey", "p_brand", "p_container"],
        "t" => &["a", "b", "c"],
        _ => return None,
    };
    Some(
        cols.iter()
            .map(|c| ColumnInfo {
                name: c.trim_end_matches('*').to_string(),
                scale: c.ends_with('*').then_some(2),
            })
            .collect(),
    )
}

fn rw(q: &str) -> String {
    let mut s = Parser::parse_sql(&GenericDialect {}, q).unwrap().pop().unwrap();
    rewrite(&mut s, &catalog);
    s.to_string()
}

#[test]
fn intervals_take_the_form_polars_reads_and_fold_into_date_literals() {
    assert_eq!(
        rw("SELECT * FROM t WHERE a <= DATE '1998-12-01' - INTERVAL '90' DAY"),
        "SELECT * FROM t WHERE a <= DATE '1998-09-02'"
    );
    assert_eq!(
            rw("SELECT * FROM t WHERE a < DATE '1994-01-31' + INTERVAL '1' MONTH AND b < DATE '1994-01-01' + interval '1 year'"),
            "SELECT * FROM t WHERE a < DATE '1994-02-28' AND b < DATE '1995-01-01'"
        );
    assert_eq!(rw("SELECT a + INTERVAL '3' MONTH FROM t"), "SELECT a + INTERVAL '3 months' FROM t");
}

#[test]
fn comma_joins_become_joins_by_their_equalities() {
    assert_eq!(
            rw("SELECT c_name FROM customer, orders, lineitem WHERE o_orderkey = l_orderkey \
                AND c_custkey = o_custkey AND l_quantity > 1"),
            "SELECT c_name FROM customer JOIN orders ON c_custkey = o_custkey JOIN lineitem ON o_orderkey = l_orderkey \
             WHERE l_quantity > 1"
        );
    // Nothing links `t`: it comes last, as a cross join.
    assert_eq!(
        rw("SELECT 1 FROM t, orders, customer WHERE c_custkey = o_custkey"),
        "SELECT 1 FROM t CROSS JOIN orders JOIN customer ON c_custkey = o_custkey"
    );
}

#[test]
fn a_join_condition_repeated_in_every_branch_of_an_or_is_taken_out() {
    assert_eq!(
        rw("SELECT 1 FROM lineitem, part WHERE (p_partkey = l_partkey AND p_brand = 'a') \
                OR (p_partkey = l_partkey AND p_brand = 'b' AND l_quantity > 1)"),
        "SELECT 1 FROM lineitem JOIN part ON p_partkey = l_partkey \
             WHERE ((p_brand = 'a') OR (p_brand = 'b' AND l_quantity > 1))"
    );
}

#[test]
fn scalar_subqueries_become_joins() {
    // Uncorrelated: a cross join with its one row.
    assert_eq!(
            rw("SELECT c_name FROM customer WHERE c_acctbal > (SELECT avg(c_acctbal) FROM customer WHERE c_acctbal > 0)"),
            "SELECT c_name FROM customer CROSS JOIN (SELECT avg(CAST(c_acctbal AS DOUBLE)) AS __assay_v FROM customer \
             WHERE c_acctbal > 0) AS __assay_s0 WHERE COALESCE(c_acctbal > __assay_s0.__assay_v, false)"
        );
    // Correlated (TPC-H Q17): grouped by the inner column, joined on it.
    assert_eq!(
            rw("SELECT sum(l_extendedprice) FROM lineitem, part WHERE p_partkey = l_partkey AND p_brand = 'x' \
                AND l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)"),
            "SELECT sum(l_extendedprice) FROM lineitem JOIN part ON p_partkey = l_partkey JOIN (SELECT l_partkey AS \
             __assay_k0, 0.2 * avg(CAST(l_quantity AS DOUBLE)) AS __assay_v FROM lineitem GROUP BY l_partkey) AS \
             __assay_s0 ON p_partkey = __assay_s0.__assay_k0 WHERE p_brand = 'x' AND l_quantity < __assay_s0.__assay_v"
        );
    // In HAVING, read through max().
    let out = rw("SELECT a, sum(b) FROM t GROUP BY a HAVING sum(b) > (SELECT sum(b) * 0.1 FROM t)");
    assert_eq!(
            out,
            "SELECT a, sum(b) FROM t CROSS JOIN (SELECT sum(b) * 0.1 AS __assay_v FROM t) AS __assay_s0 GROUP BY a \
             HAVING sum(b) > max(__assay_s0.__assay_v)"
        );
    // A correlated count is left alone (0, not null, for no rows).
    let q = "SELECT 1 FROM orders WHERE 2 < (SELECT count(*) FROM lineitem WHERE l_orderkey = o_orderkey)";
    assert!(rw(q).contains("(SELECT count(*)"), "{}", rw(q));
}

#[test]
fn exists_becomes_a_semi_or_anti_join_or_a_min_max_test() {
    assert_eq!(
        rw("SELECT 1 FROM customer WHERE NOT EXISTS (SELECT * FROM orders WHERE o_custkey = c_custkey)"),
        "SELECT 1 FROM customer ANTI JOIN (SELECT o_custkey AS __assay_k0 FROM orders) AS __assay_e0 \
             ON c_custkey = __assay_e0.__assay_k0"
    );
    let out = rw("SELECT 1 FROM lineitem l1 WHERE EXISTS (SELECT * FROM lineitem l2 WHERE \
                      l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey AND l2.l_quantity > 1)");
    assert_eq!(
            out,
            "SELECT 1 FROM lineitem l1 LEFT JOIN (SELECT l2.l_orderkey AS __assay_k0, min(l2.l_suppkey) AS __assay_lo, \
             max(l2.l_suppkey) AS __assay_hi FROM lineitem l2 WHERE l2.l_quantity > 1 GROUP BY l2.l_orderkey) AS \
             __assay_e0 ON l1.l_orderkey = __assay_e0.__assay_k0 WHERE COALESCE(__assay_e0.__assay_lo <> l1.l_suppkey \
             OR __assay_e0.__assay_hi <> l1.l_suppkey, false)"
        );
}

#[test]
fn correlated_subqueries_are_counted_and_uncorrelated_ones_are_not() {
    let count = |q: &str| {
        let s = Parser::parse_sql(&GenericDialect {}, q).unwrap().pop().unwrap();
        correlated_subqueries(&s, &catalog)
    };
    assert_eq!(
        count("SELECT 1 FROM customer WHERE EXISTS (SELECT * FROM orders WHERE o_custkey = c_custkey)"),
        1
    );
    assert_eq!(
        count(
            "SELECT 1 FROM part, lineitem WHERE p_partkey = l_partkey AND l_quantity < \
                 (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey) AND NOT EXISTS \
                 (SELECT * FROM orders WHERE o_orderkey = l_orderkey)"
        ),
        2
    );
    assert_eq!(count("SELECT 1 FROM customer WHERE c_acctbal > (SELECT avg(c_acctbal) FROM customer)"), 0);
    assert_eq!(count("SELECT 1 FROM orders WHERE o_custkey IN (SELECT c_custkey FROM customer)"), 0);
}

#[test]
fn a_left_join_condition_on_the_joined_table_filters_it_first() {
    assert_eq!(
            rw("SELECT c_custkey, count(o_orderkey) FROM customer LEFT OUTER JOIN orders ON c_custkey = o_custkey \
                AND o_comment NOT LIKE '%special%' GROUP BY c_custkey"),
            "SELECT c_custkey, count(o_orderkey) FROM customer LEFT OUTER JOIN (SELECT * FROM orders WHERE o_comment \
             NOT LIKE '%special%') AS orders ON c_custkey = o_custkey GROUP BY c_custkey"
        );
}

#[test]
fn decimal_divisions_and_averages_are_doubles() {
    assert_eq!(
            rw("SELECT sum(v) / sum(l_quantity), avg(l_discount), a / b FROM (SELECT l_extendedprice * 2 AS v, \
                l_quantity, l_discount, 1 AS a, 2 AS b FROM lineitem) AS x"),
            "SELECT CAST(sum(v) AS DOUBLE) / CAST(sum(l_quantity) AS DOUBLE), avg(CAST(l_discount AS DOUBLE)), \
             CAST(a AS DOUBLE) / CAST(b AS DOUBLE) FROM (SELECT l_extendedprice * 2 AS v, l_quantity, l_discount, 1 AS a, 2 AS b FROM lineitem) AS x"
        );
}

#[test]
fn decimal_products_keep_every_digit_and_literal_arithmetic_is_exact() {
    assert_eq!(
        rw("SELECT sum(l_extendedprice * (1 - l_discount) * (1 + l_discount)), l_quantity * 2 FROM lineitem"),
        "SELECT sum(CAST(CAST(l_extendedprice AS DECIMAL(38,4)) * (1 - l_discount) AS DECIMAL(38,6)) * \
             (1 + l_discount)), l_quantity * 2 FROM lineitem"
    );
    assert_eq!(
        rw("SELECT * FROM t WHERE a BETWEEN 0.06 - 0.01 AND 0.06 + 0.01 AND b < 1 + 10 AND c > 2 * -0.5"),
        "SELECT * FROM t WHERE a BETWEEN 0.05 AND 0.07 AND b < 11 AND c > (-1.0)"
    );
}

#[test]
fn lone_expressions_follow_the_same_rules() {
    let cols = catalog("lineitem").unwrap();
    assert_eq!(
        rewrite_expr("l_extendedprice / l_quantity > 2 AND l_discount * l_extendedprice < 1", &cols).unwrap(),
        "CAST(l_extendedprice AS DOUBLE) / CAST(l_quantity AS DOUBLE) > 2 AND \
             CAST(l_discount AS DECIMAL(38,4)) * l_extendedprice < 1"
    );
    assert_eq!(
        rewrite_expr("l_shipdate < DATE '1998-12-01' - INTERVAL '90' DAY", &cols).unwrap(),
        "l_shipdate < DATE '1998-09-02'"
    );
    assert_eq!(rewrite_expr("l_quantity > 2", &cols), None);
    assert_eq!(rewrite_expr("((", &cols), None);
}

#[test]
fn date_trunc_and_to_char_are_written_with_strftime() {
    assert_eq!(
        rw("SELECT date_trunc('month', a), to_char(a, '%Y') FROM t"),
        "SELECT STRPTIME(STRFTIME(CAST(a AS TIMESTAMP), '%Y-%m-01 00:00:00'), '%Y-%m-%d %H:%M:%S'), \
             STRFTIME(a, '%Y') FROM t"
    );
}
