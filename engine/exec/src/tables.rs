//! Which table a row belongs to (named, or decided from its columns and `ActionType`), and
//! its time.

use super::*;

/// The record's `Timestamp` for `tp`'s table: `None` when absent or empty, a skip when present
/// but not a datetime.
pub(super) fn record_timestamp(tp: &TablePlan, row: &Row) -> Result<Option<i64>, Skip> {
    let Some(f) = tp.timestamp else {
        return Ok(None);
    };
    match row.get(f) {
        Cell::Str(t) if !t.trim().is_empty() => match kql::time::parse_datetime(t.trim()) {
            Some(x) => Ok(Some(x)),
            None => Err(Skip::BadTimestamp(t.to_string())),
        },
        _ => Ok(None),
    }
}

/// Counts one more under `key`, allocating the key only the first time it is seen.
pub(super) fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// The record's table: `--table` if given, else what the input's shape names (a
/// storage-account `category`), else a non-empty `Type` column, else what its columns (when
/// the reader collected them, see [`crate::io::ReadOptions::columns`]) and its `ActionType`
/// decide ([`Catalog::infer`]), and how: `None` when named.
pub(super) fn table_of<'r, 'c: 'r>(
    default: &'r Option<String>,
    type_field: Option<FieldId>,
    action_field: FieldId,
    catalog: &'c Catalog,
    cache: &mut FitCache<'c>,
    row: &'r Row,
) -> Result<(&'r str, Option<Decided<'c>>), Skip> {
    if let Some(t) = default {
        return Ok((t, None));
    }
    if let Some(t) = row.table_hint() {
        return Ok((t, None));
    }
    if let Some(Cell::Str(t)) = type_field.map(|f| row.get(f)) {
        if !t.is_empty() {
            return Ok((t, None));
        }
    }
    let Some(columns) = row.columns() else {
        return Err(Skip::NoTable);
    };
    cache.key.clear();
    let mut cacheable = true;
    for c in columns {
        cacheable &= !c.contains('\n');
        cache.key.push_str(c);
        cache.key.push('\n');
    }
    if cache.key.is_empty() {
        return Err(Skip::NoTable);
    }
    let fit = match cache.fits.get(cache.key.as_str()) {
        Some(f) => f.clone(),
        // A key holding the separator would read as other columns: not cached.
        None if !cacheable => match row.columns() {
            Some(c) => catalog.fit(c),
            None => return Err(Skip::NoTable),
        },
        None => {
            let f = catalog.fit(cache.key.lines());
            if cache.fits.len() < MAX_SHAPES {
                cache.fits.insert(cache.key.clone(), f.clone());
            }
            f
        }
    };
    match catalog.decide(fit, action_type(row, action_field)) {
        Ok(d) => Ok((d.table, Some(d.by))),
        Err(Fit::Several(ts)) => Err(Skip::AmbiguousTable(
            ts.into_iter().map(str::to_string).collect(),
        )),
        Err(Fit::None { unknown }) => Err(Skip::NoFittingTable { unknown }),
        Err(Fit::One(t)) => Ok((t, Some(Decided::Columns))),
    }
}

/// The record's `ActionType` (in a union export, read from `ActionType_string`), if a
/// non-empty string.
pub(super) fn action_type(row: &Row, field: FieldId) -> Option<&str> {
    match row.get(field) {
        Cell::Str(v) if !v.is_empty() => Some(v),
        _ => None,
    }
}

/// The most column sets [`FitCache`] remembers: exports have a few shapes per table, and
/// hostile input a new one per record, which must not grow memory.
pub(super) const MAX_SHAPES: usize = 4096;

/// The table each set of columns seen fits, so that the records of one export, which share
/// a few shapes, are looked up in the catalog once per shape (the lookup is most of what an
/// inferred record costs beyond reading it).
#[derive(Debug, Default)]
pub(super) struct FitCache<'c> {
    /// The current record's columns, one per line.
    key: String,
    fits: HashMap<String, Fit<'c>>,
}
