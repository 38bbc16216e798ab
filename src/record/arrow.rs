//! The output tables as Arrow record batches (feature `arrow`): how the Python package hands
//! them to pandas and polars, and how the Parquet files are written.
//!
//! Types: an integer column is `int64`, a text column `utf8` (keys such as `scenario`, `month`
//! as `YYYY-MM`, `platform`), both never null; a number column is `float64`, null where the
//! CSV cell is empty.
//!
//! Owns: [`schema`], [`record_batch`]. Reads: frames. Never: files.
//!
//! ```
//! use paymarket::record::{arrow::record_batch, Frame, Kind, Value};
//! let mut f = Frame::with_columns("t", &[("run".into(), Kind::Integer), ("share".into(), Kind::Number)]);
//! f.push([Value::Integer(0), Value::Number(None)]);
//! f.push([Value::Integer(1), Value::Number(Some(0.5))]);
//! let b = record_batch(&f)?;
//! assert_eq!((b.num_rows(), b.column(1).null_count()), (2, 1));
//! assert!(!b.schema().field(0).is_nullable() && b.schema().field(1).is_nullable());
//! # Ok::<(), paymarket::Error>(())
//! ```

use super::frame::{Frame, Kind, Values};
use crate::error::{Error, Result};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use std::sync::Arc;

/// The Arrow type and nullability of a column kind.
fn field(name: &str, kind: Kind) -> Field {
    match kind {
        Kind::Integer => Field::new(name, DataType::Int64, false),
        Kind::Text => Field::new(name, DataType::Utf8, false),
        Kind::Number => Field::new(name, DataType::Float64, true),
    }
}

/// The Arrow schema of a frame's columns.
pub fn schema(frame: &Frame) -> Schema {
    Schema::new(
        frame
            .columns
            .iter()
            .map(|(name, values)| field(name, values.kind()))
            .collect::<Vec<_>>(),
    )
}

/// A frame as one record batch (its values copied once into Arrow buffers).
pub fn record_batch(frame: &Frame) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = frame
        .columns
        .iter()
        .map(|(_, values)| -> ArrayRef {
            match values {
                Values::Integer(v) => Arc::new(Int64Array::from(v.clone())),
                Values::Number(v) => Arc::new(Float64Array::from(v.clone())),
                Values::Text(v) => Arc::new(StringArray::from_iter_values(v)),
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(schema(frame)), columns)
        .map_err(|e| Error::Config(format!("table {} as Arrow: {e}", frame.name)))
}
