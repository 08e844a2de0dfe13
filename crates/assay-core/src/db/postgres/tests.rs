use super::read::*;
use super::*;

fn numeric(value: i128, scale: u16) -> Vec<u8> {
    let mut b = BytesMut::new();
    put_numeric(&mut b, value, scale);
    b[4..].to_vec()
}

#[test]
fn numerics_encode_as_postgres_does_and_decode_back() {
    // 12345.678 = digits [1, 2345, 6780], weight 1, dscale 3 (Postgres' own encoding).
    let b = numeric(12_345_678, 3);
    assert_eq!(b, [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]);
    for (v, s) in
        [(0i128, 2u16), (-5, 0), (1, 6), (-100_000_000, 4), (99_999_999_999, 2), (i128::MAX / 7, 10)]
    {
        let b = numeric(v, s);
        assert_eq!(numeric_i128(&b, s as usize).unwrap(), Some(v), "{v} scale {s}");
    }
    assert_eq!(numeric_f64(&numeric(-12_345, 2)).unwrap(), -123.45);
}

#[test]
fn urls_split_our_parameters_and_pgpass_matches() {
    let (url, ours) = split_params("postgres://me@h/db?table=t&connect_timeout=5&key=a,b", &["table", "key"]);
    assert_eq!(url, "postgres://me@h/db?connect_timeout=5");
    assert_eq!(ours, vec![("table".into(), "t".into()), ("key".into(), "a,b".into())]);
    assert_eq!(decode("SELECT+1%2C2"), "SELECT 1,2");
    let t =
        Target::parse("postgres://me:secret@127.0.0.1:5433/shop?table=s.orders&mode=upsert&key=id").unwrap();
    assert_eq!(t.url(), "postgres://me@127.0.0.1:5433/shop?table=s.orders");
    assert_eq!(quote_table(&t.table), "\"s\".\"orders\"");
    assert!(Target::parse("postgres://me@h/db?table=t&mode=upsert").is_err());
    assert!(Target::parse("postgres://me@h/db").is_err());
}
