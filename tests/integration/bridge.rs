//! The Arrow C Data Interface bridge moves buffers between Polars and arrow-rs without
//! copying them.

use arrow::array::{AsArray, Int64Array};
use arrow::datatypes::Int64Type;
use assay::engine::bridge;
use polars::prelude::*;

#[test]
fn polars_to_arrow_shares_the_value_buffer() {
    let df = df!("x" => (0..1000i64).collect::<Vec<_>>(), "s" => ["a"; 1000]).unwrap();
    let polars_ptr = df.column("x").unwrap().i64().unwrap().downcast_iter().next().unwrap().values().as_ptr();
    let (schema, batches) = bridge::frame_to_batches(df).unwrap();
    assert_eq!(schema.field(0).name(), "x");
    let arrow_ptr = batches[0].column(0).as_primitive::<Int64Type>().values().as_ptr();
    assert_eq!(polars_ptr, arrow_ptr, "the i64 buffer was copied");
    assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(999), 999);
    assert_eq!(batches[0].column(1).as_string_view().value(3), "a");
}

#[test]
fn arrow_to_polars_shares_the_value_buffer() {
    let array = Int64Array::from_iter((0..1000).map(|v| if v % 10 == 0 { None } else { Some(v) }));
    let arrow_ptr = array.values().as_ptr();
    let series = bridge::array_to_series("x", &array).unwrap();
    let chunk = series.i64().unwrap().downcast_iter().next().unwrap();
    assert_eq!(chunk.values().as_ptr(), arrow_ptr, "the i64 buffer was copied");
    assert_eq!(series.null_count(), 100);
    assert_eq!(series.i64().unwrap().get(7), Some(7));
    assert_eq!(array.len(), 1000);
}

#[test]
fn round_trip_keeps_every_type() {
    let df = crate::common::people();
    let (schema, batches) = bridge::frame_to_batches(df.clone()).unwrap();
    let back = bridge::batches_to_frame(&schema, &batches).unwrap();
    assert!(back.equals_missing(&df), "{back} != {df}");
}
