//! What expressions read while a row is evaluated: the row's cells, a step's computed
//! columns, an output row (`having`, `project`).

use super::*;

pub(super) struct RowEnv<'a> {
    row: &'a Row,
    bits: &'a Bits,
    computed: &'a [Value],
    now: i64,
    timestamp: Option<FieldId>,
    ts_cache: &'a StdCell<Option<Option<i64>>>,
    sets: &'a [ConstList],
}

/// What the window and the `where`/`extend` steps of a body read.
pub(super) struct StepCx<'a> {
    row: &'a Row,
    bits: &'a Bits,
    now: i64,
    sets: &'a [ConstList],
    ts_cache: &'a StdCell<Option<Option<i64>>>,
}

impl<'a> StepCx<'a> {
    pub(super) fn new(
        row: &'a Row,
        bits: &'a Bits,
        now: i64,
        sets: &'a [ConstList],
        ts_cache: &'a StdCell<Option<Option<i64>>>,
    ) -> StepCx<'a> {
        StepCx {
            row,
            bits,
            now,
            sets,
            ts_cache,
        }
    }

    pub(super) fn env<'e>(
        &'e self,
        computed: &'e [Value],
        timestamp: Option<FieldId>,
    ) -> RowEnv<'e> {
        RowEnv {
            row: self.row,
            bits: self.bits,
            computed,
            now: self.now,
            timestamp,
            ts_cache: self.ts_cache,
            sets: self.sets,
        }
    }

    /// True when the row is inside `window` (or there is none).
    pub(super) fn in_window(
        &self,
        window: &Option<(Expr, Expr)>,
        timestamp: Option<FieldId>,
        windowed: &mut bool,
        in_window: &mut bool,
    ) -> bool {
        let (Some((lo, hi)), Some(tf)) = (window, timestamp) else {
            return true;
        };
        *windowed = true;
        let env = self.env(&[], timestamp);
        let t = env.field(tf, Type::DateTime);
        let inside = match (t, eval::eval(lo, &env), eval::eval(hi, &env)) {
            (Val::DateTime(t), Val::DateTime(a), Val::DateTime(b)) => t >= a && t <= b,
            _ => false,
        };
        *in_window |= inside;
        inside
    }

    /// Runs the window and `steps` (the body's own, or its relaxed form), filling
    /// `computed`; false as soon as the row is out.
    pub(super) fn passes(
        &self,
        body: &Body,
        steps: &[Step],
        computed: &mut [Value],
        windowed: &mut bool,
        in_window: &mut bool,
    ) -> bool {
        if !self.in_window(&body.window, body.timestamp, windowed, in_window) {
            return false;
        }
        for s in steps {
            match s {
                Step::Where(p) => {
                    if eval::test(p, &self.env(computed, body.timestamp)) != Some(true) {
                        return false;
                    }
                }
                Step::Extend(slot, e) => {
                    let v = eval::eval(e, &self.env(computed, body.timestamp)).to_value();
                    computed[*slot as usize] = v;
                }
            }
        }
        true
    }
}

impl Env for RowEnv<'_> {
    fn field(&self, f: FieldId, ty: Type) -> Val<'_> {
        if ty == Type::DateTime && Some(f) == self.timestamp {
            let t = match self.ts_cache.get() {
                Some(t) => t,
                None => {
                    let t = match typed(self.row.get(f), ty) {
                        Val::DateTime(t) => Some(t),
                        _ => None,
                    };
                    self.ts_cache.set(Some(t));
                    t
                }
            };
            return t.map_or(Val::Null, Val::DateTime);
        }
        typed(self.row.get(f), ty)
    }
    fn computed(&self, slot: u32) -> Val<'_> {
        self.computed
            .get(slot as usize)
            .map_or(Val::Null, Val::from_ref)
    }
    fn atom(&self, a: AtomId) -> bool {
        self.bits.get(a.0 as usize)
    }
    fn now(&self) -> i64 {
        self.now
    }
    fn set(&self, id: SetId) -> Option<&ConstList> {
        self.sets.get(id.0 as usize)
    }
}

pub(super) struct OutputEnv<'a>(pub(super) &'a [Value], pub(super) i64);

impl Env for OutputEnv<'_> {
    fn field(&self, _: FieldId, _: Type) -> Val<'_> {
        Val::Null
    }
    fn computed(&self, slot: u32) -> Val<'_> {
        self.0.get(slot as usize).map_or(Val::Null, Val::from_ref)
    }
    fn atom(&self, _: AtomId) -> bool {
        false
    }
    fn now(&self) -> i64 {
        self.1
    }
}

/// Evaluates an expression over one row (for `scry eval`).
pub fn eval_on_row(e: &crate::ir::Expr, row: &Row, now: i64) -> Value {
    let bits = Bits::default();
    let cache = StdCell::new(None);
    let env = RowEnv {
        row,
        bits: &bits,
        computed: &[],
        now,
        timestamp: None,
        ts_cache: &cache,
        sets: &[],
    };
    eval::eval(e, &env).to_value()
}

/// The span of time any rule (or `distinct` set) can look at, at clock `now` and within
/// `--since` / `--until`: (earliest, latest) in ticks, `None` on a side that is open (some body
/// has no window, or a bound is not a constant datetime). Readers that know the time range of
/// a block of records (Parquet statistics) skip blocks outside it: no rule can keep their
/// records. Only the tables' `Timestamp` columns are windowed, so the span is about them.
pub fn time_span(
    plan: &Plan,
    now: i64,
    since: Option<i64>,
    until: Option<i64>,
) -> (Option<i64>, Option<i64>) {
    let env = OutputEnv(&[], now);
    let bound = |e: &Expr| match eval::eval(e, &env) {
        Val::DateTime(t) => Some(t),
        _ => None,
    };
    let windows = plan
        .rules
        .iter()
        .flat_map(|r| r.bodies.iter().map(|b| b.window.as_ref()))
        .chain(
            plan.sets
                .iter()
                .flat_map(|s| s.bodies.iter().map(|b| b.window.as_ref())),
        );
    let (mut lo, mut hi): (Option<i64>, Option<i64>) = (None, None);
    let mut open = (false, false);
    let mut any = false;
    for w in windows {
        any = true;
        let (a, b) = w.map_or((None, None), |(a, b)| (bound(a), bound(b)));
        match a {
            Some(a) => lo = Some(lo.map_or(a, |x| x.min(a))),
            None => open.0 = true,
        }
        match b {
            Some(b) => hi = Some(hi.map_or(b, |x| x.max(b))),
            None => open.1 = true,
        }
    }
    if !any || open.0 {
        lo = None;
    }
    if !any || open.1 {
        hi = None;
    }
    let tighter = |x: Option<i64>, y: Option<i64>, f: fn(i64, i64) -> i64| match (x, y) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    };
    (tighter(lo, since, i64::max), tighter(hi, until, i64::min))
}
