//! Rows from Arrow columns (Parquet, Arrow IPC and the Arrow interface read through it): a [`RecordBatch`] read one record at a time into the [`Row`] the
//! engine evaluates, the same cells a JSON reader would give for the same event.
//!
//! Column types resolve once per batch into one small closure per field the plan reads, so a
//! row costs one call per needed column; columns the plan does not read are never touched.

use crate::kql::time::write_datetime;
use crate::row::{FieldId, FieldSet, Row};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use std::fmt::Write;

type Filler<'a> = Box<dyn Fn(usize, FieldId, &mut Row, &mut String) + 'a>;

/// A batch, ready to be read row by row into [`Row`]s of one [`FieldSet`].
pub struct BatchRows<'a> {
    /// (field, column, reader, a type-suffixed copy that never writes a null).
    cols: Vec<(FieldId, &'a ArrayRef, Filler<'a>, bool)>,
    len: usize,
    buf: String,
    /// With table inference: every column, by name, and the `Type` column if there is one.
    names: Option<Vec<(&'a str, &'a ArrayRef)>>,
    type_column: Option<&'a ArrayRef>,
    batch: &'a RecordBatch,
}

impl<'a> BatchRows<'a> {
    /// Resolves the columns of `batch` that `fields` names (by exact, case-sensitive name).
    /// Fails, naming the column, on a column type scry cannot read.
    pub fn new(batch: &'a RecordBatch, fields: &FieldSet) -> Result<BatchRows<'a>, String> {
        let schema = batch.schema_ref();
        // Exact names first, then type-suffixed copies of "union" exports (`ReportId_long`),
        // which only ever fill their column with a value, as in JSON.
        let mut cols = Vec::new();
        let mut suffixed = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            let name = f.name();
            let Some((id, is_suffixed)) = crate::field_of(fields, name) else {
                continue;
            };
            let array = batch.column(i);
            let filler = filler(array).ok_or_else(|| {
                format!(
                    "column `{name}` has Arrow type {}, which scry cannot read (it reads strings, \
                     integers, floats, booleans, timestamps, dates and string dictionaries)",
                    array.data_type()
                )
            })?;
            if is_suffixed {
                suffixed.push((id, array, filler, true));
            } else {
                cols.push((id, array, filler, false));
            }
        }
        cols.extend(suffixed);
        Ok(BatchRows {
            cols,
            len: batch.num_rows(),
            buf: String::new(),
            names: None,
            type_column: None,
            batch,
        })
    }

    /// Gives each row whose `Type` is missing, null or `""` the names of its columns that hold
    /// a value (not null, not `""`), from which the engine infers the record's table, as the
    /// JSON and CSV readers do ([`crate::ReadOptions::columns`]).
    pub fn inferring_tables(mut self, yes: bool) -> Self {
        let schema = self.batch.schema_ref();
        if yes {
            self.type_column = self.batch.column_by_name("Type");
            self.names = Some(
                schema
                    .fields()
                    .iter()
                    .zip(self.batch.columns())
                    .map(|(f, c)| (f.name().as_str(), c))
                    .collect(),
            );
        }
        self
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a batch without rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `row` with record `i` (`i < len()`).
    pub fn fill(&mut self, i: usize, row: &mut Row) {
        row.clear();
        for (id, array, fill, suffixed) in &self.cols {
            if array.is_null(i) {
                if !suffixed {
                    row.set_null(*id);
                }
            } else {
                fill(i, *id, row, &mut self.buf);
            }
        }
        let typed = self
            .type_column
            .is_some_and(|t| !t.is_null(i) && !is_empty_string(t, i));
        if let (Some(names), false) = (&self.names, typed) {
            row.begin_columns();
            for (name, array) in names {
                if !array.is_null(i) && !is_empty_string(array, i) {
                    row.add_column(name);
                }
            }
        }
    }
}

/// Stores a datetime as the text a JSON export would hold (null when out of range), through
/// the reused buffer: no allocation per record.
fn set_datetime(row: &mut Row, f: FieldId, buf: &mut String, t: Option<i64>) {
    match t {
        Some(t) => {
            buf.clear();
            write_datetime(buf, t);
            row.set_str(f, buf);
        }
        None => row.set_null(f),
    }
}

fn is_empty_string(array: &ArrayRef, i: usize) -> bool {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(i).is_empty(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(i).is_empty(),
        DataType::Utf8View => array.as_string_view().value(i).is_empty(),
        _ => false,
    }
}

/// A time in `unit` since the epoch, in ticks (100 ns); `None` past the range of ticks.
pub fn ticks(unit: TimeUnit, v: i64) -> Option<i64> {
    match unit {
        TimeUnit::Second => v.checked_mul(10_000_000),
        TimeUnit::Millisecond => v.checked_mul(10_000),
        TimeUnit::Microsecond => v.checked_mul(10),
        TimeUnit::Nanosecond => Some(v.div_euclid(100)),
    }
}

macro_rules! number {
    ($array:expr, $t:ty) => {{
        let a = $array.as_primitive::<$t>();
        Box::new(move |i, f, row: &mut Row, buf: &mut String| {
            buf.clear();
            let _ = write!(buf, "{}", a.value(i));
            row.set_num(f, buf);
        }) as Filler
    }};
}

macro_rules! datetime {
    ($array:expr, $t:ty, $unit:expr) => {{
        let a = $array.as_primitive::<$t>();
        Box::new(move |i, f, row: &mut Row, buf: &mut String| {
            // A timestamp with a zone is UTC in Arrow; one without is read as UTC too, as a
            // JSON datetime without an offset is.
            set_datetime(row, f, buf, ticks($unit, a.value(i) as i64))
        }) as Filler
    }};
}

fn filler(array: &ArrayRef) -> Option<Filler<'_>> {
    Some(match array.data_type() {
        DataType::Null => Box::new(|_, f, row: &mut Row, _: &mut String| row.set_null(f)),
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            Box::new(move |i, f, row: &mut Row, _: &mut String| row.set_str(f, a.value(i)))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            Box::new(move |i, f, row: &mut Row, _: &mut String| row.set_str(f, a.value(i)))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            Box::new(move |i, f, row: &mut Row, _: &mut String| row.set_str(f, a.value(i)))
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            Box::new(move |i, f, row: &mut Row, _: &mut String| row.set_bool(f, a.value(i)))
        }
        DataType::Int8 => number!(array, Int8Type),
        DataType::Int16 => number!(array, Int16Type),
        DataType::Int32 => number!(array, Int32Type),
        DataType::Int64 => number!(array, Int64Type),
        DataType::UInt8 => number!(array, UInt8Type),
        DataType::UInt16 => number!(array, UInt16Type),
        DataType::UInt32 => number!(array, UInt32Type),
        DataType::UInt64 => number!(array, UInt64Type),
        DataType::Float32 => number!(array, Float32Type),
        DataType::Float64 => number!(array, Float64Type),
        DataType::Timestamp(TimeUnit::Second, _) => {
            datetime!(array, TimestampSecondType, TimeUnit::Second)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            datetime!(array, TimestampMillisecondType, TimeUnit::Millisecond)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            datetime!(array, TimestampMicrosecondType, TimeUnit::Microsecond)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            datetime!(array, TimestampNanosecondType, TimeUnit::Nanosecond)
        }
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            Box::new(move |i, f, row: &mut Row, buf: &mut String| {
                set_datetime(
                    row,
                    f,
                    buf,
                    ticks(TimeUnit::Second, i64::from(a.value(i)) * 86_400),
                )
            })
        }
        DataType::Date64 => datetime!(array, Date64Type, TimeUnit::Millisecond),
        DataType::Dictionary(_, values)
            if matches!(
                values.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            let d = array.as_any_dictionary();
            let keys = d.normalized_keys();
            let values = filler(d.values())?;
            let inner = d.values();
            Box::new(move |i, f, row: &mut Row, buf: &mut String| {
                let k = keys[i];
                if inner.is_null(k) {
                    row.set_null(f);
                } else {
                    values(k, f, row, buf);
                }
            })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::Cell;
    use arrow_array::{
        BooleanArray, DictionaryArray, Int64Array, LargeStringArray, StringArray, StringViewArray,
        TimestampMicrosecondArray,
    };
    use std::sync::Arc;

    #[test]
    fn every_string_layout_and_timestamps_read_as_json_would_give_them() {
        let mut fields = FieldSet::new();
        let a = fields.intern("A");
        let b = fields.intern("B");
        let c = fields.intern("C");
        let d = fields.intern("D");
        let t = fields.intern("Timestamp");
        let n = fields.intern("N");
        let missing = fields.intern("Missing");
        let dict: DictionaryArray<Int32Type> = vec![Some("x"), None].into_iter().collect();
        let batch = RecordBatch::try_from_iter(vec![
            (
                "A",
                Arc::new(StringArray::from(vec![Some("é"), None])) as ArrayRef,
            ),
            ("B", Arc::new(LargeStringArray::from(vec!["b1", "b2"]))),
            ("C", Arc::new(StringViewArray::from(vec!["c1", "c2"]))),
            ("D", Arc::new(dict)),
            (
                "Timestamp",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_715_774_400_000_000, 0])
                        .with_timezone("UTC"),
                ),
            ),
            ("N", Arc::new(Int64Array::from(vec![-7, 8]))),
            ("Other", Arc::new(BooleanArray::from(vec![true, false]))),
        ])
        .unwrap();
        let mut rows = BatchRows::new(&batch, &fields).unwrap();
        let mut row = Row::new(&fields);
        rows.fill(0, &mut row);
        assert_eq!(row.get(a), Cell::Str("é"));
        assert_eq!(row.get(b), Cell::Str("b1"));
        assert_eq!(row.get(c), Cell::Str("c1"));
        assert_eq!(row.get(d), Cell::Str("x"));
        assert_eq!(row.get(t), Cell::Str("2024-05-15T12:00:00.0000000Z"));
        assert_eq!(row.get(n), Cell::Num("-7"));
        assert_eq!(row.get(missing), Cell::Missing);
        rows.fill(1, &mut row);
        assert_eq!(row.get(a), Cell::Null);
        assert_eq!(row.get(d), Cell::Null);
        assert_eq!(row.get(n), Cell::Num("8"));
    }

    #[test]
    fn an_unreadable_column_type_is_named() {
        let mut fields = FieldSet::new();
        fields.intern("Blob");
        let batch = RecordBatch::try_from_iter(vec![(
            "Blob",
            Arc::new(arrow_array::BinaryArray::from(vec![&b"x"[..]])) as ArrayRef,
        )])
        .unwrap();
        let err = BatchRows::new(&batch, &fields).err().unwrap();
        assert!(err.contains("column `Blob` has Arrow type Binary"), "{err}");
    }
}
