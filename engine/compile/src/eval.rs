//! The IR interpreter: the one evaluator of the compiled plan, used per event by the
//! executor, at compile time for constant folding, and by `scry eval`.
//!
//! Values borrow from the row where they can ([`Val::Str`] points into the row's buffer), so
//! the common predicates (`Signer has 'x'` via atoms, `Timestamp between (...)`, `==` on a
//! column) never allocate. Three-valued logic follows KQL: a null predicate drops the row.

use crate::ir::{ArithOp, AtomId, CmpOp, ConstList, Expr, ExprKind, Func, SetId, SetOp};
use crate::kql;
use crate::row::FieldId;
use crate::value::{Type, Value};
use std::cmp::Ordering;

/// A value during evaluation: scalars inline, strings borrowed where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// A null (never a string: strings read as `""`).
    Null,
    /// bool
    Bool(bool),
    /// long / int
    Long(i64),
    /// real
    Real(f64),
    /// datetime ticks
    DateTime(i64),
    /// timespan ticks
    Timespan(i64),
    /// A borrowed string.
    Str(&'a str),
    /// An owned string, array or JSON value.
    Owned(Value),
}

impl<'a> Val<'a> {
    /// From an owned value, keeping scalars inline.
    pub fn from_value(v: Value) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(b),
            Value::Long(n) => Val::Long(n),
            Value::Real(x) => Val::Real(x),
            Value::DateTime(t) => Val::DateTime(t),
            Value::Timespan(t) => Val::Timespan(t),
            other => Val::Owned(other),
        }
    }

    /// Borrows a value.
    pub fn from_ref(v: &'a Value) -> Val<'a> {
        match v {
            Value::Str(s) => Val::Str(s),
            other => Val::from_value(other.clone()),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            Val::Owned(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// True for null.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null | Val::Owned(Value::Null))
    }

    /// An owned copy.
    pub fn to_value(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Long(n) => Value::Long(*n),
            Val::Real(x) => Value::Real(*x),
            Val::DateTime(t) => Value::DateTime(*t),
            Val::Timespan(t) => Value::Timespan(*t),
            Val::Str(s) => Value::Str((*s).to_string()),
            Val::Owned(v) => v.clone(),
        }
    }

    /// The predicate's truth: `Some(b)` for a bool, `None` for null (or a non-bool).
    pub fn truth(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// What an expression can read: input fields (typed), computed columns, atoms, the clock.
pub trait Env {
    /// The value of input field `f`, typed as `ty`.
    fn field(&self, f: FieldId, ty: Type) -> Val<'_>;
    /// The value of computed column `slot`.
    fn computed(&self, slot: u32) -> Val<'_>;
    /// The truth of a needle atom.
    fn atom(&self, a: AtomId) -> bool;
    /// The run's `now()` in ticks.
    fn now(&self) -> i64;
    /// The contents of a `distinct` set, once known. Rules that test a set are only
    /// evaluated where it is known (the executor sees to that); `None` makes the test null.
    fn set(&self, _: SetId) -> Option<&ConstList> {
        None
    }
}

/// An environment with nothing in it but a clock: for constant folding and literal `eval`.
pub struct ConstEnv(pub i64);

impl Env for ConstEnv {
    fn field(&self, _: FieldId, _: Type) -> Val<'_> {
        Val::Null
    }
    fn computed(&self, _: u32) -> Val<'_> {
        Val::Null
    }
    fn atom(&self, _: AtomId) -> bool {
        false
    }
    fn now(&self) -> i64 {
        self.0
    }
}

/// `x in (list)` / `in~`: strings through the list's hash sets, other values by KQL equality.
fn in_list(x: &Val<'_>, list: &ConstList, case_insensitive: bool) -> bool {
    if let Some(s) = x.as_str() {
        if case_insensitive {
            list.folded.contains(kql::fold::fold_cow(s).as_ref())
        } else {
            list.exact.contains(s)
        }
    } else if x.is_null() {
        false
    } else {
        let xv = x.to_value();
        list.values
            .iter()
            .any(|v| kql::compare::equals(&xv, v) == Some(true))
    }
}

/// Evaluates a predicate: `Some(true)` keeps the row, `Some(false)` and `None` (null) drop it.
pub fn test<E: Env + ?Sized>(e: &Expr, env: &E) -> Option<bool> {
    match &e.kind {
        ExprKind::Atom(a) => Some(env.atom(*a)),
        ExprKind::Const(Value::Bool(b)) => Some(*b),
        ExprKind::Not(x) => test(x, env).map(|b| !b),
        ExprKind::And(v) => {
            let mut null = false;
            for x in v {
                // An atom's answer is a bit (never null): read it here rather than through a
                // call per child. A Sigma list is an `or` of hundreds of atoms (a rule of 400
                // DLL names over two columns), walked for every candidate row.
                if let ExprKind::Atom(a) = x.kind {
                    if !env.atom(a) {
                        return Some(false);
                    }
                    continue;
                }
                match test(x, env) {
                    Some(false) => return Some(false),
                    None => null = true,
                    Some(true) => {}
                }
            }
            if null {
                None
            } else {
                Some(true)
            }
        }
        ExprKind::Or(v) => {
            let mut null = false;
            for x in v {
                // As in `And`.
                if let ExprKind::Atom(a) = x.kind {
                    if env.atom(a) {
                        return Some(true);
                    }
                    continue;
                }
                match test(x, env) {
                    Some(true) => return Some(true),
                    None => null = true,
                    Some(false) => {}
                }
            }
            if null {
                None
            } else {
                Some(false)
            }
        }
        ExprKind::Str(op, hay, needle) => {
            let h = eval(hay, env);
            let n = eval(needle, env);
            match (h.as_str(), n.as_str()) {
                (Some(h), Some(n)) => Some(op.eval(h, n)),
                (None, Some(n)) if !h.is_null() => Some(op.eval(&string_of(&h), n)),
                // A null non-string operand: positive operators are false, `!` forms true.
                _ => Some(op.negated()),
            }
        }
        ExprKind::Cmp(op, a, b) => compare_op(*op, &eval(a, env), &eval(b, env)),
        ExprKind::In {
            case_insensitive,
            negated,
            lhs,
            list,
        } => {
            let x = eval(lhs, env);
            Some(in_list(&x, list, *case_insensitive) != *negated)
        }
        ExprKind::InSet { op, lhs, set, .. } => {
            let list = env.set(*set)?;
            let x = eval(lhs, env);
            Some(match op {
                SetOp::In {
                    case_insensitive,
                    negated,
                } => in_list(&x, list, *case_insensitive) != *negated,
                SetOp::HasAny => kql::compare::has_any(&x.to_value(), &list.values),
                SetOp::HasAll => kql::compare::has_all(&x.to_value(), &list.values),
            })
        }
        ExprKind::Between {
            negated,
            lhs,
            low,
            high,
        } => {
            let x = eval(lhs, env).to_value();
            let lo = eval(low, env).to_value();
            let hi = eval(high, env).to_value();
            kql::compare::between(&x, &lo, &hi).map(|b| b != *negated)
        }
        ExprKind::Regex(x, re) => {
            let v = eval(x, env);
            match v.as_str() {
                Some(s) => Some(re.is_match(s)),
                None => Some(false),
            }
        }
        _ => eval(e, env).truth(),
    }
}

fn compare_op(op: CmpOp, a: &Val, b: &Val) -> Option<bool> {
    // Strings compare ordinally without allocating.
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        let ord = x.cmp(y);
        return Some(match op {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::NotEq => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        });
    }
    let (x, y) = (a.to_value(), b.to_value());
    match op {
        CmpOp::Eq => kql::compare::equals(&x, &y),
        CmpOp::NotEq => kql::compare::not_equals(&x, &y),
        _ => {
            let ord = kql::compare::compare(&x, &y)?;
            Some(match op {
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
    }
}

fn bool_val(b: Option<bool>) -> Val<'static> {
    b.map_or(Val::Null, Val::Bool)
}

/// Evaluates an expression to a value.
pub fn eval<'a, E: Env + ?Sized>(e: &'a Expr, env: &'a E) -> Val<'a> {
    match &e.kind {
        ExprKind::Const(v) => Val::from_ref(v),
        ExprKind::Field { field, .. } => env.field(*field, e.ty),
        ExprKind::Computed { slot, .. } => env.computed(*slot),
        ExprKind::Now(off) => Val::DateTime(env.now().saturating_add(*off)),
        ExprKind::Not(_)
        | ExprKind::And(_)
        | ExprKind::Or(_)
        | ExprKind::Str(..)
        | ExprKind::Atom(_)
        | ExprKind::In { .. }
        | ExprKind::InSet { .. }
        | ExprKind::Between { .. }
        | ExprKind::Regex(..)
        | ExprKind::Cmp(..) => bool_val(test(e, env)),
        ExprKind::Arith(op, a, b) => arith(*op, &eval(a, env), &eval(b, env)),
        ExprKind::TrimStart(re, x) => {
            let v = eval(x, env);
            let s = string_of(&v);
            Val::Owned(Value::Str(kql::funcs::trim_start_with(re, &s)))
        }
        ExprKind::Call(func, args) => call(*func, args, env),
        ExprKind::Index(base, idx) => {
            let b = eval(base, env).to_value();
            let i = eval(idx, env).to_value();
            Val::from_value(kql::funcs::index(&b, &i))
        }
        ExprKind::List(items) => Val::Owned(Value::Array(
            items.iter().map(|x| eval(x, env).to_value()).collect(),
        )),
    }
}

/// `tostring` of a value.
pub fn string_of(v: &Val) -> String {
    match v {
        Val::Str(s) => (*s).to_string(),
        other => kql::funcs::tostring(&other.to_value()),
    }
}

fn call<'a, E: Env + ?Sized>(func: Func, args: &'a [Expr], env: &'a E) -> Val<'a> {
    let arg = |i: usize| args.get(i).map_or(Val::Null, |a| eval(a, env));
    match func {
        Func::IsEmpty => Val::Bool(kql::funcs::isempty(&arg(0).to_value())),
        Func::IsNotEmpty => Val::Bool(!kql::funcs::isempty(&arg(0).to_value())),
        Func::IsNull => Val::Bool(arg(0).is_null()),
        Func::IsNotNull => Val::Bool(!arg(0).is_null()),
        Func::ToLower => Val::Owned(Value::Str(kql::funcs::tolower(&string_of(&arg(0))))),
        Func::ToUpper => Val::Owned(Value::Str(kql::funcs::toupper(&string_of(&arg(0))))),
        Func::StrLen => Val::Long(string_of(&arg(0)).chars().count() as i64),
        Func::ToString => Val::Owned(Value::Str(string_of(&arg(0)))),
        Func::StrCat => {
            let mut s = String::new();
            for a in args {
                s.push_str(&string_of(&eval(a, env)));
            }
            Val::Owned(Value::Str(s))
        }
        Func::Split => Val::from_value(kql::funcs::split(&string_of(&arg(0)), &string_of(&arg(1)))),
        Func::ToDateTime => match arg(0) {
            v @ Val::DateTime(_) => v,
            v => v
                .as_str()
                .and_then(kql::time::parse_datetime)
                .map_or(Val::Null, Val::DateTime),
        },
        Func::ToLong => match arg(0) {
            Val::Long(n) => Val::Long(n),
            Val::Real(x) if x.is_finite() => Val::Long(x.trunc() as i64),
            Val::Bool(b) => Val::Long(i64::from(b)),
            v => v
                .as_str()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .map_or(Val::Null, Val::Long),
        },
        Func::Bin => Val::from_value(kql::bins::bin(&arg(0).to_value(), &arg(1).to_value())),
        Func::BinAt => Val::from_value(kql::bins::bin_at(
            &arg(0).to_value(),
            &arg(1).to_value(),
            &arg(2).to_value(),
        )),
        Func::StartOf(p) | Func::EndOf(p) => {
            let offset = match args.get(1).map(|a| eval(a, env)) {
                None => Some(0),
                Some(Val::Long(n)) => Some(n),
                Some(_) => None,
            };
            match offset {
                Some(o) => Val::from_value(kql::bins::start_of(
                    p,
                    &arg(0).to_value(),
                    o,
                    matches!(func, Func::EndOf(_)),
                )),
                None => Val::Null,
            }
        }
        Func::ToReal => match arg(0) {
            Val::Long(n) => Val::Real(n as f64),
            Val::Real(x) => Val::Real(x),
            v => v
                .as_str()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .map_or(Val::Null, Val::Real),
        },
    }
}

fn arith(op: ArithOp, a: &Val, b: &Val) -> Val<'static> {
    use Val::*;
    match (op, a, b) {
        (_, Null, _) | (_, _, Null) => Null,
        (ArithOp::Add, Long(x), Long(y)) => x.checked_add(*y).map_or(Null, Long),
        (ArithOp::Sub, Long(x), Long(y)) => x.checked_sub(*y).map_or(Null, Long),
        (ArithOp::Mul, Long(x), Long(y)) => x.checked_mul(*y).map_or(Null, Long),
        // Kusto: integer division by zero is null-free in some versions; null is the safe answer.
        (ArithOp::Div, Long(x), Long(y)) => x.checked_div(*y).map_or(Null, Long),
        (ArithOp::Mod, Long(x), Long(y)) => x.checked_rem(*y).map_or(Null, Long),
        (op, Long(_) | Real(_), Long(_) | Real(_)) => {
            let f = |v: &Val| match v {
                Long(n) => *n as f64,
                Real(x) => *x,
                _ => f64::NAN,
            };
            let (x, y) = (f(a), f(b));
            Real(match op {
                ArithOp::Add => x + y,
                ArithOp::Sub => x - y,
                ArithOp::Mul => x * y,
                ArithOp::Div => x / y,
                ArithOp::Mod => x % y,
            })
        }
        (ArithOp::Add, DateTime(t), Timespan(s)) | (ArithOp::Add, Timespan(s), DateTime(t)) => {
            t.checked_add(*s).map_or(Null, DateTime)
        }
        (ArithOp::Sub, DateTime(t), Timespan(s)) => t.checked_sub(*s).map_or(Null, DateTime),
        (ArithOp::Sub, DateTime(t), DateTime(u)) => t.checked_sub(*u).map_or(Null, Timespan),
        (ArithOp::Add, Timespan(x), Timespan(y)) => x.checked_add(*y).map_or(Null, Timespan),
        (ArithOp::Sub, Timespan(x), Timespan(y)) => x.checked_sub(*y).map_or(Null, Timespan),
        (ArithOp::Mul, Timespan(x), Long(n)) | (ArithOp::Mul, Long(n), Timespan(x)) => {
            x.checked_mul(*n).map_or(Null, Timespan)
        }
        _ => Null,
    }
}
