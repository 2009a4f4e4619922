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
) -> Result<(&'r str, Option<Decided<'c>>, bool), Skip> {
    if let Some(t) = default {
        return Ok((t, None, false));
    }
    if let Some(t) = row.table_hint() {
        return Ok((t, None, false));
    }
    if let Some(Cell::Str(t)) = type_field.map(|f| row.get(f)) {
        if !t.is_empty() {
            return Ok((t, None, false));
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
    let (fit, partial) = match cache.fits.get(cache.key.as_str()) {
        Some(f) => f.clone(),
        // A key holding the separator would read as other columns: not cached.
        None if !cacheable => match row.columns() {
            Some(c) => shape_of(catalog, c.collect()),
            None => return Err(Skip::NoTable),
        },
        None => {
            let f = shape_of(catalog, cache.key.lines().collect());
            if cache.fits.len() < MAX_SHAPES {
                cache.fits.insert(cache.key.clone(), f.clone());
            }
            f
        }
    };
    match catalog.decide(fit, action_type(row, action_field)) {
        Ok(d) => Ok((d.table, Some(d.by), partial)),
        Err(Fit::Several(ts)) => Err(Skip::AmbiguousTable(
            ts.into_iter().map(str::to_string).collect(),
        )),
        Err(Fit::None { unknown }) => Err(Skip::NoFittingTable { unknown }),
        Err(Fit::One(t)) => Ok((t, Some(Decided::Columns), partial)),
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
    /// What each shape fits, and whether only partly (its tables lack some of its columns).
    fits: HashMap<String, (Fit<'c>, bool)>,
}

/// Counts a record given `table` although the table lacks some of its columns, and names
/// those ([`RunStats::set_aside`]).
pub(super) fn count_set_aside(st: &mut RunStats, catalog: &Catalog, table: &str, row: &Row) {
    bump(&mut st.set_aside, table);
    let Some(columns) = row.columns() else {
        return;
    };
    for c in catalog.lacking(table, columns) {
        // Names already kept, or past the kept ones, change nothing: no copy per record.
        let full = st.set_aside_columns.len() >= SET_ASIDE_NAMES;
        if full && st.set_aside_columns.last().is_some_and(|l| c > l.as_str()) {
            st.set_aside_more = true;
        } else if !st.set_aside_columns.contains(c) {
            st.note_set_aside(c.to_string());
        }
    }
}

/// What a shape (a record's column names) fits, and whether only partly: the tables it fits
/// lack some of its columns (the export's query computed them, [`Catalog::fit`]), and its
/// records' set-aside columns are to be counted.
pub(super) fn shape_of<'c>(catalog: &'c Catalog, columns: Vec<&str>) -> (Fit<'c>, bool) {
    let fit = catalog.fit(columns.iter().copied());
    let partial = match &fit {
        Fit::One(t) => !catalog.lacking(t, columns.into_iter()).is_empty(),
        Fit::Several(ts) => ts
            .first()
            .is_some_and(|t| !catalog.lacking(t, columns.into_iter()).is_empty()),
        Fit::None { .. } => false,
    };
    (fit, partial)
}
