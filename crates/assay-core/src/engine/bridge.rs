//! The zero-copy bridge between Polars' arrow (polars-arrow) and arrow-rs (DataFusion's),
//! through the Arrow C Data Interface.
//!
//! Both crates implement the same C ABI structs (`ArrowArray`, `ArrowSchema`); exporting
//! from one side and importing on the other moves ownership of the buffers, not their
//! bytes. The only copies are the ones Polars itself makes when a frame's columns have
//! misaligned chunks (`align_chunks_par`) and when arrow-rs hands Polars a layout Polars
//! stores differently (e.g. `Utf8` becomes `Utf8View` in Polars).

use std::sync::Arc;

use arrow::array::{make_array, Array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use polars::prelude::{CompatLevel, DataFrame, PlSmallStr, SchemaExt, Series};
use polars_arrow::ffi as pl_ffi;

use crate::engine::{Error, Result};

// The two crates' C structs must be the same size for the hand-over to be sound.
const _: () = assert!(std::mem::size_of::<pl_ffi::ArrowArray>() == std::mem::size_of::<FFI_ArrowArray>());
const _: () = assert!(std::mem::size_of::<pl_ffi::ArrowSchema>() == std::mem::size_of::<FFI_ArrowSchema>());

fn bridge_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::failed(format!("converting {what} between Polars and Arrow: {e}"))
}

/// Converts a Polars field to an arrow-rs field.
pub fn field_to_arrow(field: &polars_arrow::datatypes::Field) -> Result<Field> {
    // The C Data Interface carries names as C strings: one holding a NUL cannot cross
    // (Polars' exporter would panic).
    if let Some(name) = nul_name(field) {
        return Err(Error::refused(format!(
            "column `{}` has a NUL byte (\\0) in its name: rename it (or is this a binary file?)",
            name.replace('\0', "\\0")
        )));
    }
    let c_schema = pl_ffi::export_field_to_c(field);
    // SAFETY: both types are the C Data Interface's `ArrowSchema` struct (repr(C), same
    // size, asserted above); ownership (and the release callback) moves to arrow-rs.
    let c_schema = unsafe { std::mem::transmute::<pl_ffi::ArrowSchema, FFI_ArrowSchema>(c_schema) };
    Field::try_from(&c_schema).map_err(|e| bridge_error("a schema", e))
}

/// The name, in `field` or a field nested in it, that holds a NUL byte.
fn nul_name(field: &polars_arrow::datatypes::Field) -> Option<String> {
    use polars_arrow::datatypes::ArrowDataType as D;
    if field.name.contains('\0') {
        return Some(field.name.to_string());
    }
    match &field.dtype {
        D::Struct(fields) => fields.iter().find_map(nul_name),
        D::List(f) | D::LargeList(f) | D::FixedSizeList(f, _) | D::Map(f, _) => nul_name(f),
        _ => None,
    }
}

/// The arrow-rs schema of a Polars schema.
pub fn schema_to_arrow(schema: &polars::prelude::Schema) -> Result<SchemaRef> {
    let fields = schema
        .iter_fields()
        .map(|f| field_to_arrow(&f.to_arrow(CompatLevel::newest())))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// Moves one Polars array into arrow-rs without copying its buffers.
pub fn array_to_arrow(
    array: Box<dyn polars_arrow::array::Array>,
    field: &polars_arrow::datatypes::Field,
) -> Result<ArrayRef> {
    let c_schema = pl_ffi::export_field_to_c(field);
    let c_array = pl_ffi::export_array_to_c(array);
    // SAFETY: same C structs on both sides (asserted above); arrow-rs takes ownership and
    // calls the Polars release callback when the last reference is dropped.
    let (c_array, c_schema) = unsafe {
        (
            std::mem::transmute::<pl_ffi::ArrowArray, FFI_ArrowArray>(c_array),
            std::mem::transmute::<pl_ffi::ArrowSchema, FFI_ArrowSchema>(c_schema),
        )
    };
    // SAFETY: the struct was just produced by a conforming exporter.
    let data =
        unsafe { arrow::ffi::from_ffi(c_array, &c_schema) }.map_err(|e| bridge_error("an array", e))?;
    Ok(make_array(data))
}

/// Converts a Polars frame to arrow-rs record batches, one per chunk, sharing buffers.
pub fn frame_to_batches(mut df: DataFrame) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let schema = schema_to_arrow(df.schema())?;
    if df.width() == 0 {
        return Ok((schema, Vec::new()));
    }
    df.align_chunks_par();
    let pl_fields: Vec<_> = df.columns().iter().map(|c| c.field().to_arrow(CompatLevel::newest())).collect();
    let mut batches = Vec::new();
    for chunk in df.iter_chunks(CompatLevel::newest(), false) {
        let rows = chunk.height();
        let columns = chunk
            .into_arrays()
            .into_iter()
            .zip(&pl_fields)
            .map(|(array, field)| array_to_arrow(array, field))
            .collect::<Result<Vec<_>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(schema.clone(), columns, &options)
            .map_err(|e| bridge_error("a record batch", e))?;
        batches.push(batch);
    }
    Ok((schema, batches))
}

/// Moves one arrow-rs array into a Polars series without copying its buffers (where
/// Polars stores the layout as is).
pub fn array_to_series(name: &str, array: &dyn Array) -> Result<Series> {
    let (c_array, c_schema) =
        arrow::ffi::to_ffi(&array.to_data()).map_err(|e| bridge_error("an array", e))?;
    // SAFETY: same C structs on both sides (asserted above).
    let (c_array, c_schema) = unsafe {
        (
            std::mem::transmute::<FFI_ArrowArray, pl_ffi::ArrowArray>(c_array),
            std::mem::transmute::<FFI_ArrowSchema, pl_ffi::ArrowSchema>(c_schema),
        )
    };
    // SAFETY: produced by arrow-rs's conforming exporter just above.
    let field = unsafe { pl_ffi::import_field_from_c(&c_schema) }.map_err(|e| bridge_error("a field", e))?;
    let imported = unsafe { pl_ffi::import_array_from_c(c_array, field.dtype().clone()) }
        .map_err(|e| bridge_error("an array", e))?;
    Series::from_arrow(PlSmallStr::from(name), imported).map_err(|e| bridge_error("an array", e))
}

/// Converts arrow-rs record batches to one Polars frame.
pub fn batches_to_frame(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(a, f)| array_to_series(f.name(), a.as_ref()).map(Into::into))
            .collect::<Result<Vec<_>>>()?;
        let df = DataFrame::new(batch.num_rows(), columns).map_err(|e| bridge_error("a record batch", e))?;
        match &mut out {
            None => out = Some(df),
            Some(acc) => {
                acc.vstack_mut_owned(df).map_err(|e| bridge_error("a record batch", e))?;
            }
        }
    }
    match out {
        Some(df) => Ok(df),
        None => {
            let empty = RecordBatch::new_empty(schema.clone());
            batches_to_frame(schema, std::slice::from_ref(&empty))
        }
    }
}
