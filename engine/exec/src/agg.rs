//! Aggregation state per `summarize` group: exact, and mergeable in any order.

use super::*;

#[derive(Debug, Clone)]
pub(crate) enum AggState {
    Count(i64),
    DCount(HashSet<Key>),
    Min(Option<Value>),
    Max(Option<Value>),
    /// The smallest `limit` distinct values: which values a capped set keeps must not depend
    /// on the order rows arrive in (threads, merged partial states).
    MakeSet {
        set: std::collections::BTreeSet<Key>,
        limit: usize,
        capped: bool,
    },
    Sum(Option<Value>),
    /// `avg`: the sum of the values as reals, and how many there were. Both add up, so
    /// partial states merge as `sum`'s do; the mean is taken at finish.
    Avg {
        sum: f64,
        n: i64,
    },
    /// `arg_max` (`want` is `Greater`) / `arg_min` (`Less`): the ranked value and the
    /// returned values of the best row so far. Which row is best does not depend on the
    /// order rows arrive in (see [`arg_rank`]), so partial states merge exactly.
    ArgExtreme {
        want: Ordering,
        best: Option<(Key, Vec<Key>)>,
        /// How many values are returned (for a group with no row at all).
        width: usize,
    },
    /// `threshold` / `sequence`: the key's events (see `timeline.rs`).
    Timeline(crate::timeline::TimelineAcc),
}

impl AggState {
    pub(crate) fn new(a: &Agg) -> AggState {
        let (kind, limit) = (a.kind, a.limit);
        match kind {
            AggKind::Count | AggKind::CountIf => AggState::Count(0),
            AggKind::DCount => AggState::DCount(HashSet::new()),
            AggKind::Min => AggState::Min(None),
            AggKind::Max => AggState::Max(None),
            AggKind::MakeSet => AggState::MakeSet {
                set: std::collections::BTreeSet::new(),
                limit,
                capped: false,
            },
            AggKind::Sum => AggState::Sum(None),
            AggKind::Avg => AggState::Avg { sum: 0.0, n: 0 },
            AggKind::ArgMax | AggKind::ArgMin => AggState::ArgExtreme {
                want: if kind == AggKind::ArgMax {
                    Ordering::Greater
                } else {
                    Ordering::Less
                },
                best: None,
                width: a.returned.len(),
            },
        }
    }

    /// Appends the aggregate's output values (one, or for `arg_max` / `arg_min` one per
    /// column) to `out`.
    pub(super) fn finish_into(&self, out: &mut Vec<Value>) {
        let v = match self {
            AggState::Count(n) => Value::Long(*n),
            AggState::DCount(s) => Value::Long(s.len() as i64),
            AggState::Min(v) | AggState::Max(v) | AggState::Sum(v) => {
                v.clone().unwrap_or(Value::Null)
            }
            AggState::MakeSet { set, .. } => Value::Array(set.iter().map(Key::value).collect()),
            AggState::Avg { n: 0, .. } => Value::Null,
            AggState::Avg { sum, n } => Value::Real(sum / *n as f64),
            // A timeline gives rows through its operator (`timeline::finish`), not values.
            AggState::Timeline(_) => return,
            AggState::ArgExtreme { best, width, .. } => {
                match best {
                    Some((ranked, returned)) => {
                        out.push(ranked.value());
                        out.extend(returned.iter().map(Key::value));
                    }
                    // No row at all (`summarize arg_max(...)` without `by` over no input).
                    None => out.extend(std::iter::repeat_n(Value::Null, 1 + width)),
                }
                return;
            }
        };
        out.push(v);
    }

    /// Offers one row: `arg` is the aggregate's argument on the row (for `countif`, the
    /// predicate's value; `None` for `count()`), `returned` computes `arg_max`'s returned
    /// values (called only when the row ties or wins).
    pub(crate) fn offer(
        &mut self,
        kind: AggKind,
        arg: Option<Value>,
        returned: impl FnOnce() -> Vec<Key>,
    ) {
        match self {
            AggState::Count(n) => {
                let yes = match kind {
                    AggKind::CountIf => arg == Some(Value::Bool(true)),
                    _ => true,
                };
                *n += i64::from(yes);
            }
            AggState::DCount(set) => {
                if let Some(v) = arg.filter(|v| !v.is_null()) {
                    set.insert(Key::of(&v));
                }
            }
            AggState::Min(slot) => {
                if let Some(v) = arg {
                    extreme(slot, v, Ordering::Less);
                }
            }
            AggState::Max(slot) => {
                if let Some(v) = arg {
                    extreme(slot, v, Ordering::Greater);
                }
            }
            AggState::Sum(slot) => {
                if let Some(v) = arg.filter(|v| !v.is_null()) {
                    *slot = Some(match slot.take() {
                        None => v,
                        Some(cur) => add(&cur, &v),
                    });
                }
            }
            AggState::Avg { sum, n } => {
                if let Some(x) = arg.as_ref().and_then(real) {
                    *sum += x;
                    *n += 1;
                }
            }
            AggState::ArgExtreme { want, best, .. } => {
                if let Some(v) = arg {
                    arg_offer(best, *want, Key::of(&v), returned);
                }
            }
            AggState::MakeSet { set, limit, capped } => {
                let mut push = |x: Value| {
                    if !x.is_null() {
                        AggState::set_insert(set, *limit, capped, Key::of(&x));
                    }
                };
                match arg {
                    Some(Value::Array(items)) => items.into_iter().for_each(&mut push),
                    Some(v) => push(v),
                    None => {}
                }
            }
            // Events reach a timeline through `TimelineAcc::push`.
            AggState::Timeline(_) => {}
        }
    }

    /// Adds a value to a `make_set`, keeping the smallest `limit`.
    pub(super) fn set_insert(
        set: &mut std::collections::BTreeSet<Key>,
        limit: usize,
        capped: &mut bool,
        k: Key,
    ) {
        if set.len() < limit {
            set.insert(k);
            return;
        }
        if set.contains(&k) {
            return;
        }
        *capped = true;
        if set.last().is_some_and(|max| k < *max) {
            set.pop_last();
            set.insert(k);
        }
    }

    /// Combines another partial state of the same aggregate into this one. Associative and
    /// commutative (up to the last bits of a real `sum`), so partial states from threads or
    /// machines merge in any order.
    pub(crate) fn merge(&mut self, other: AggState) {
        match (self, other) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::DCount(a), AggState::DCount(b)) => a.extend(b),
            (AggState::Min(a), AggState::Min(Some(b))) => extreme(a, b, Ordering::Less),
            (AggState::Max(a), AggState::Max(Some(b))) => extreme(a, b, Ordering::Greater),
            (AggState::Sum(a), AggState::Sum(Some(b))) => {
                *a = Some(match a.take() {
                    None => b,
                    Some(cur) => add(&cur, &b),
                })
            }
            (AggState::Avg { sum, n }, AggState::Avg { sum: s, n: m }) => {
                *sum += s;
                *n += m;
            }
            (
                AggState::MakeSet { set, limit, capped },
                AggState::MakeSet {
                    set: other,
                    capped: other_capped,
                    ..
                },
            ) => {
                *capped |= other_capped;
                for k in other {
                    AggState::set_insert(set, *limit, capped, k);
                }
            }
            (
                AggState::ArgExtreme { want, best, .. },
                AggState::ArgExtreme {
                    best: Some((ranked, returned)),
                    ..
                },
            ) => arg_offer(best, *want, ranked, || returned),
            (AggState::Timeline(a), AggState::Timeline(b)) => a.merge(b),
            // Min/Max/Sum/arg_max of nothing, or (never, by construction) different aggregates.
            _ => {}
        }
    }
}

/// How the ranked value `a` compares with `b` for `arg_max` (`want` = `Greater`: the larger
/// ranks higher) or `arg_min` (`Less`: the smaller ranks higher), in the total order of [`Key`]
/// (one type per expression, so values compare as the type does; strings by code point).
/// A null ranks below every value: rows whose ranked value is null count only when every row's
/// is, which is Kusto's rule ("when ExprToMaximize is null for all rows in a group, one row in
/// the group is picked; otherwise rows where it is null are ignored").
pub(super) fn arg_rank(want: Ordering, a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Null, Key::Null) => Ordering::Equal,
        (Key::Null, _) => Ordering::Less,
        (_, Key::Null) => Ordering::Greater,
        _ if want == Ordering::Greater => a.cmp(b),
        _ => b.cmp(a),
    }
}

/// Offers a row (its ranked value, and a way to compute its returned values) to an
/// `arg_max` / `arg_min` state. Kusto picks any of the rows that tie; scry keeps the one whose
/// returned values are smallest, column by column in [`Key`] order, so the choice is the same
/// for any split of the input and any order of arrival. The returned values are computed only
/// for a row that ties or wins.
pub(super) fn arg_offer(
    best: &mut Option<(Key, Vec<Key>)>,
    want: Ordering,
    ranked: Key,
    returned: impl FnOnce() -> Vec<Key>,
) {
    match best {
        None => *best = Some((ranked, returned())),
        Some((b, values)) => match arg_rank(want, &ranked, b) {
            Ordering::Less => {}
            Ordering::Greater => *best = Some((ranked, returned())),
            Ordering::Equal => {
                let r = returned();
                if r < *values {
                    *values = r;
                }
            }
        },
    }
}

pub(super) fn extreme(slot: &mut Option<Value>, v: Value, want: Ordering) {
    if v.is_null() {
        return;
    }
    match slot {
        None => *slot = Some(v),
        Some(cur) => {
            let ord = match (&v, &*cur) {
                (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
                _ => kql::compare::compare(&v, cur),
            };
            if ord == Some(want) {
                *slot = Some(v);
            }
        }
    }
}

/// A number as a real, for `avg`; anything else (null included) is skipped.
pub(crate) fn real(v: &Value) -> Option<f64> {
    match v {
        Value::Long(n) => Some(*n as f64),
        Value::Real(x) => Some(*x),
        _ => None,
    }
}

pub(super) fn add(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Long(x), Value::Long(y)) => x.checked_add(*y).map_or(Value::Null, Value::Long),
        (Value::Timespan(x), Value::Timespan(y)) => {
            x.checked_add(*y).map_or(Value::Null, Value::Timespan)
        }
        (Value::Real(x), Value::Real(y)) => Value::Real(x + y),
        (Value::Real(x), Value::Long(y)) | (Value::Long(y), Value::Real(x)) => {
            Value::Real(x + *y as f64)
        }
        _ => Value::Null,
    }
}
