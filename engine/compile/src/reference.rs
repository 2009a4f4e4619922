//! The reference evaluator: a direct, slow, obviously-correct interpreter of one expression
//! over one row, used only by tests (the differential test runs the optimized plan and this
//! evaluator on the same corpus and compares).
//!
//! It walks the AST and calls [`crate::kql`] for every rule, so the only thing it adds is
//! the plumbing: name lookup, KQL's three-valued logic, arithmetic, and function dispatch.
//! Nothing is cached or precompiled (a regex is compiled on every evaluation): simplicity is
//! the point.
//!
//! ```
//! use scry_compile::reference::{eval, RefEnv};
//! use scry_kql::value::{Type, Value};
//! use scry_grammar::{Expr, ExprKind, Ident, Literal, BinOp, StrOp, StrOpKind, Span};
//!
//! let e = |kind| Expr { kind, span: Span::default() };
//! let expr = e(ExprKind::Binary {
//!     op: BinOp::Str(StrOp { kind: StrOpKind::Has, case_sensitive: false, negated: false }),
//!     op_span: Span::default(),
//!     lhs: Box::new(e(ExprKind::Name(Ident { name: "Signer".into(), span: Span::default() }))),
//!     rhs: Box::new(e(ExprKind::Literal(Literal::Str("action1".into())))),
//! });
//! let columns = |name: &str| {
//!     (name == "Signer").then(|| (Value::Str("Action1-Corp".into()), Type::String))
//! };
//! let env = RefEnv { now: 0, columns: &columns, lets: &|_| None };
//! assert_eq!(eval(&expr, &env), Ok(Value::Bool(true)));
//! ```

use std::fmt;

use regex::Regex;
use scry_grammar::{BinOp, Expr, ExprKind, ListOp, Literal, Span};

use crate::kql::{self, compare::comparable};
use crate::value::{Type, Value};

/// What an expression is evaluated against: the clock, the row's columns, and `let` names.
///
/// **String columns are never null.** The `columns` callback must return `Value::Str("")` for a
/// string column whose key is missing or whose JSON value is `null` (spec §1); the evaluator
/// also maps a `Value::Null` typed [`Type::String`] to `""` defensively, but a caller should
/// not rely on that.
pub struct RefEnv<'a> {
    /// `now()`, in ticks since the Unix epoch: one instant for the whole run.
    pub now: i64,
    /// The row: a column's value and its schema type, or `None` if the table has no such column.
    pub columns: &'a dyn Fn(&str) -> Option<(Value, Type)>,
    /// `let` bindings (scalars, or lists as [`Value::Array`]), consulted after the columns.
    pub lets: &'a dyn Fn(&str) -> Option<Value>,
}

/// Whether `pred` holds on one JSON event of `table`, the event's values typed by the schema
/// (a string column missing or null reads as `""`, like the engine's; a number that is not a
/// long, or a text that is not a datetime, reads as null). `false` also when the reference
/// evaluator rejects the predicate. The adapter the differential tests and the fuzz target
/// share.
pub fn holds_on_json(
    pred: &Expr,
    table: &crate::schema::TableSchema,
    event: &serde_json::Value,
    now: i64,
) -> bool {
    let columns = |name: &str| -> Option<(Value, Type)> {
        let ty = table.column(name)?;
        let v = match (ty, event.get(name)) {
            (Type::String, Some(serde_json::Value::String(s))) => Value::Str(s.clone()),
            (Type::String, _) => Value::Str(String::new()),
            (Type::Long, Some(serde_json::Value::Number(n))) => {
                n.as_i64().map_or(Value::Null, Value::Long)
            }
            (Type::DateTime, Some(serde_json::Value::String(s))) => {
                kql::time::parse_datetime(s).map_or(Value::Null, Value::DateTime)
            }
            _ => Value::Null,
        };
        Some((v, ty))
    };
    let lets = |_: &str| None;
    let env = RefEnv {
        now,
        columns: &columns,
        lets: &lets,
    };
    matches!(eval(pred, &env), Ok(Value::Bool(true)))
}

/// Why an expression could not be evaluated (Kusto would reject the query).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefError {
    /// A name that is neither a column nor a `let`: `where NoSuchColumn == 1`.
    UnknownName {
        /// The name as written.
        name: String,
        /// Where.
        span: Span,
    },
    /// A function the evaluator does not know: `frobnicate(x)`, or an aggregate such as
    /// `count()` in a scalar position.
    UnknownFunction {
        /// The name as written.
        name: String,
        /// Where.
        span: Span,
    },
    /// A call with the wrong number of arguments: `strlen()`.
    Arity {
        /// The function.
        name: String,
        /// What it accepts, e.g. `"1"` or `"1 or 2"`.
        expected: &'static str,
        /// How many were given.
        got: usize,
        /// Where.
        span: Span,
    },
    /// Operands of types the operator does not accept: `"a" < 1`, `"b" between ("a" .. "c")`,
    /// `1 and true`.
    TypeMismatch {
        /// The operator or function and what it got.
        message: String,
        /// Where.
        span: Span,
    },
    /// An invalid regular expression: `x matches regex "("`.
    BadRegex {
        /// The pattern.
        pattern: String,
        /// The regex crate's message.
        message: String,
        /// Where.
        span: Span,
    },
    /// A `from T ... distinct C` set, which needs the whole input: `x in (from T distinct C)`.
    WholeInput {
        /// Where.
        span: Span,
    },
    /// A datetime literal that does not parse: `datetime(2024-13-01)`.
    BadDateTime {
        /// The text inside `datetime(...)`.
        text: String,
        /// Where.
        span: Span,
    },
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::UnknownName { name, .. } => write!(f, "unknown name `{name}`"),
            RefError::UnknownFunction { name, .. } => write!(f, "unknown function `{name}`"),
            RefError::Arity {
                name,
                expected,
                got,
                ..
            } => write!(f, "`{name}` takes {expected} argument(s), got {got}"),
            RefError::TypeMismatch { message, .. } => write!(f, "type mismatch: {message}"),
            RefError::BadRegex {
                pattern, message, ..
            } => write!(f, "invalid regex `{pattern}`: {message}"),
            RefError::BadDateTime { text, .. } => write!(f, "invalid datetime `{text}`"),
            RefError::WholeInput { .. } => {
                f.write_str("a `from ... distinct` set needs the whole input, not one row")
            }
        }
    }
}

impl std::error::Error for RefError {}

/// Evaluates `expr` against `env`. A predicate that is null evaluates to [`Value::Null`]
/// (a `where` drops such a row).
///
/// Decisions the spec leaves to us, taken once here:
/// - a string operator (`has`, `contains`, ...) or `matches regex` on a null non-string left
///   side is false, and its `!` form true (the `!` forms are the exact negation); a non-null
///   non-string left side is searched as its [`kql::tostring`];
/// - long `/` and `%` by zero, and long overflow, give null rather than an error;
/// - `!between` with a null operand is null, like `between`.
pub fn eval(expr: &Expr, env: &RefEnv) -> Result<Value, RefError> {
    let span = expr.span;
    let mismatch = |message: String| RefError::TypeMismatch { message, span };
    match &expr.kind {
        // A set is a property of the whole input, not of one row: this evaluator judges rows
        // in isolation, so sets are checked through the executor (tests/sets.rs).
        ExprKind::Query(_) => Err(RefError::WholeInput { span }),
        ExprKind::Star => Err(mismatch("`*` is every column of a row, not a value".into())),
        ExprKind::Literal(lit) => literal(lit, span),
        ExprKind::Name(id) => {
            if let Some((v, ty)) = (env.columns)(&id.name) {
                return Ok(match (v, ty) {
                    (Value::Null, Type::String) => Value::Str(String::new()),
                    (v, _) => v,
                });
            }
            (env.lets)(&id.name).ok_or_else(|| RefError::UnknownName {
                name: id.name.clone(),
                span: id.span,
            })
        }
        ExprKind::Not(inner) => not(eval(inner, env)?, span),
        ExprKind::Neg(inner) => match eval(inner, env)? {
            Value::Null => Ok(Value::Null),
            Value::Long(n) => Ok(n.checked_neg().map_or(Value::Null, Value::Long)),
            Value::Real(x) => Ok(Value::Real(-x)),
            Value::Timespan(t) => Ok(t.checked_neg().map_or(Value::Null, Value::Timespan)),
            other => Err(mismatch(format!("cannot negate {other:?}"))),
        },
        ExprKind::Binary { op, lhs, rhs, .. } => {
            let (a, b) = (eval(lhs, env)?, eval(rhs, env)?);
            binary(*op, a, b, span)
        }
        ExprKind::InList { op, lhs, list, .. } => {
            let x = eval(lhs, env)?;
            let items = list
                .iter()
                .map(|e| eval(e, env))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Bool(match op {
                ListOp::In => kql::in_list(&x, &items, false),
                ListOp::NotIn => !kql::in_list(&x, &items, false),
                ListOp::InCi => kql::in_list(&x, &items, true),
                ListOp::NotInCi => !kql::in_list(&x, &items, true),
                ListOp::HasAny => kql::has_any(&x, &items),
                ListOp::HasAll => kql::has_all(&x, &items),
            }))
        }
        ExprKind::Between {
            negated,
            lhs,
            low,
            high,
        } => {
            let (x, lo, hi) = (eval(lhs, env)?, eval(low, env)?, eval(high, env)?);
            match kql::between_checked(&x, &lo, &hi) {
                Err(_) => Err(mismatch(format!(
                    "between needs numbers, datetimes or timespans, got {x:?} .. ({lo:?} .. {hi:?})"
                ))),
                Ok(None) => Ok(Value::Null),
                Ok(Some(b)) => Ok(Value::Bool(b != *negated)),
            }
        }
        ExprKind::Call { name, args } => call(&name.name, args, env, span),
        ExprKind::Index { base, index } => {
            let (b, i) = (eval(base, env)?, eval(index, env)?);
            Ok(kql::index(&b, &i))
        }
        ExprKind::List(items) => Ok(Value::Array(
            items
                .iter()
                .map(|e| eval(e, env))
                .collect::<Result<Vec<_>, _>>()?,
        )),
    }
}

fn literal(lit: &Literal, span: Span) -> Result<Value, RefError> {
    Ok(match lit {
        Literal::Str(s) => Value::Str(s.clone()),
        Literal::Long(n) => Value::Long(*n),
        Literal::Real(x) => Value::Real(*x),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::DateTime(text) => {
            Value::DateTime(
                kql::parse_datetime(text).ok_or_else(|| RefError::BadDateTime {
                    text: text.clone(),
                    span,
                })?,
            )
        }
        Literal::Timespan(t) => Value::Timespan(*t),
        // `string(null)` is `""`: strings are never null.
        Literal::Null(ty) if ty == "string" => Value::Str(String::new()),
        Literal::Null(_) => Value::Null,
    })
}

/// KQL's three-valued truth: `Some(b)` for a bool, `None` for null.
fn truth(v: &Value, span: Span) -> Result<Option<bool>, RefError> {
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        Value::Null => Ok(None),
        other => Err(RefError::TypeMismatch {
            message: format!("expected a bool, got {other:?}"),
            span,
        }),
    }
}

fn bool3(v: Option<bool>) -> Value {
    v.map_or(Value::Null, Value::Bool)
}

fn not(v: Value, span: Span) -> Result<Value, RefError> {
    Ok(bool3(truth(&v, span)?.map(|b| !b)))
}

fn binary(op: BinOp, a: Value, b: Value, span: Span) -> Result<Value, RefError> {
    let mismatch = |a: &Value, b: &Value| RefError::TypeMismatch {
        message: format!("`{}` cannot take {a:?} and {b:?}", op.spelling()),
        span,
    };
    Ok(match op {
        BinOp::And => {
            let (x, y) = (truth(&a, span)?, truth(&b, span)?);
            bool3(match (x, y) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            })
        }
        BinOp::Or => {
            let (x, y) = (truth(&a, span)?, truth(&b, span)?);
            bool3(match (x, y) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            })
        }
        BinOp::Eq => Value::Bool(kql::equals(&a, &b).ok_or_else(|| mismatch(&a, &b))?),
        BinOp::NotEq => Value::Bool(kql::not_equals(&a, &b).ok_or_else(|| mismatch(&a, &b))?),
        BinOp::EqCi | BinOp::NotEqCi => {
            let eq =
                !a.is_null() && !b.is_null() && kql::eq_ci(&kql::tostring(&a), &kql::tostring(&b));
            Value::Bool(eq == (op == BinOp::EqCi))
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            if !comparable(&a, &b) {
                return Err(mismatch(&a, &b));
            }
            if a.is_null() || b.is_null() {
                return Ok(Value::Null);
            }
            // `comparable` but unordered: a NaN real, which no ordering holds for.
            Value::Bool(kql::compare(&a, &b).is_some_and(|o| match op {
                BinOp::Lt => o.is_lt(),
                BinOp::Le => o.is_le(),
                BinOp::Gt => o.is_gt(),
                _ => o.is_ge(),
            }))
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
            arith(op, &a, &b).ok_or_else(|| mismatch(&a, &b))?
        }
        BinOp::Str(sop) => {
            if a.is_null() {
                return Ok(Value::Bool(sop.negated));
            }
            Value::Bool(kql::str_op(sop, &kql::tostring(&a), &kql::tostring(&b)))
        }
        BinOp::MatchesRegex => {
            let pattern = kql::tostring(&b);
            let re = Regex::new(&pattern).map_err(|e| RefError::BadRegex {
                pattern: pattern.clone(),
                message: e.to_string(),
                span,
            })?;
            Value::Bool(!a.is_null() && re.is_match(&kql::tostring(&a)))
        }
    })
}

/// Arithmetic; `None` for operand types the operator does not take. Overflow and integer
/// division by zero give null.
fn arith(op: BinOp, a: &Value, b: &Value) -> Option<Value> {
    use Value::*;
    let real = |v: &Value| match v {
        Long(n) => Some(*n as f64),
        Real(x) => Some(*x),
        _ => None,
    };
    let or_null = |v: Option<i64>, wrap: fn(i64) -> Value| v.map_or(Null, wrap);
    Some(match (op, a, b) {
        (_, Null, Null | Long(_) | Real(_) | DateTime(_) | Timespan(_))
        | (_, Long(_) | Real(_) | DateTime(_) | Timespan(_), Null) => Null,
        (BinOp::Add, Long(x), Long(y)) => or_null(x.checked_add(*y), Long),
        (BinOp::Sub, Long(x), Long(y)) => or_null(x.checked_sub(*y), Long),
        (BinOp::Mul, Long(x), Long(y)) => or_null(x.checked_mul(*y), Long),
        (BinOp::Div, Long(x), Long(y)) => or_null(x.checked_div(*y), Long),
        (BinOp::Mod, Long(x), Long(y)) => or_null(x.checked_rem(*y), Long),
        (_, Long(_) | Real(_), Long(_) | Real(_)) => {
            let (x, y) = (real(a)?, real(b)?);
            Real(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                _ => x % y,
            })
        }
        (BinOp::Add, DateTime(t), Timespan(s)) | (BinOp::Add, Timespan(s), DateTime(t)) => {
            or_null(t.checked_add(*s), DateTime)
        }
        (BinOp::Sub, DateTime(t), Timespan(s)) => or_null(t.checked_sub(*s), DateTime),
        (BinOp::Sub, DateTime(x), DateTime(y)) => or_null(x.checked_sub(*y), Timespan),
        (BinOp::Add, Timespan(x), Timespan(y)) => or_null(x.checked_add(*y), Timespan),
        (BinOp::Sub, Timespan(x), Timespan(y)) => or_null(x.checked_sub(*y), Timespan),
        (BinOp::Mul, Timespan(t), Long(n)) | (BinOp::Mul, Long(n), Timespan(t)) => {
            or_null(t.checked_mul(*n), Timespan)
        }
        (BinOp::Mul, Timespan(t), Real(x)) | (BinOp::Mul, Real(x), Timespan(t)) => {
            ticks_from_real(*t as f64 * x).map_or(Null, Timespan)
        }
        (BinOp::Div, Timespan(x), Timespan(y)) => Real(*x as f64 / *y as f64),
        (BinOp::Div, Timespan(t), Long(n)) => or_null(t.checked_div(*n), Timespan),
        (BinOp::Div, Timespan(t), Real(x)) => ticks_from_real(*t as f64 / x).map_or(Null, Timespan),
        _ => return None,
    })
}

/// A real tick count rounded to a tick, if it is finite and in range.
fn ticks_from_real(x: f64) -> Option<i64> {
    let r = x.round();
    (r.is_finite() && r >= i64::MIN as f64 && r < i64::MAX as f64).then_some(r as i64)
}

fn call(name: &str, args: &[Expr], env: &RefEnv, span: Span) -> Result<Value, RefError> {
    let arity = |expected: &'static str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(RefError::Arity {
                name: name.to_string(),
                expected,
                got: args.len(),
                span,
            })
        }
    };
    let vals = || {
        args.iter()
            .map(|e| eval(e, env))
            .collect::<Result<Vec<_>, _>>()
    };
    let mismatch = |what: &Value| RefError::TypeMismatch {
        message: format!("`{name}` cannot take {what:?}"),
        span,
    };
    let one = |v: Vec<Value>| v.into_iter().next().unwrap_or(Value::Null);
    match name {
        "now" => {
            arity("0 or 1", args.len() <= 1)?;
            match vals()?.first() {
                None => Ok(Value::DateTime(env.now)),
                Some(Value::Timespan(t)) => {
                    Ok(env.now.checked_add(*t).map_or(Value::Null, Value::DateTime))
                }
                Some(Value::Null) => Ok(Value::Null),
                Some(other) => Err(mismatch(other)),
            }
        }
        "ago" => {
            arity("1", args.len() == 1)?;
            match one(vals()?) {
                Value::Timespan(t) => {
                    Ok(env.now.checked_sub(t).map_or(Value::Null, Value::DateTime))
                }
                Value::Null => Ok(Value::Null),
                other => Err(mismatch(&other)),
            }
        }
        "isempty" | "isnotempty" | "isnull" | "isnotnull" | "not" | "tolower" | "toupper"
        | "strlen" | "tostring" | "datetime" | "todatetime" | "tolong" | "toint" | "toreal"
        | "todouble" => {
            arity("1", args.len() == 1)?;
            let v = one(vals()?);
            Ok(match name {
                "isempty" => Value::Bool(kql::isempty(&v)),
                "isnotempty" => Value::Bool(kql::isnotempty(&v)),
                // Strings are never null, so `isnull("")` is false.
                "isnull" => Value::Bool(v.is_null()),
                "isnotnull" => Value::Bool(!v.is_null()),
                "not" => not(v, span)?,
                "tolower" => Value::Str(kql::tolower(&kql::tostring(&v))),
                "toupper" => Value::Str(kql::toupper(&kql::tostring(&v))),
                "strlen" => match v {
                    Value::Null => Value::Null,
                    v => Value::Long(kql::strlen(&kql::tostring(&v))),
                },
                "tostring" => Value::Str(kql::tostring(&v)),
                "datetime" | "todatetime" => match v {
                    Value::DateTime(t) => Value::DateTime(t),
                    Value::Str(_) | Value::Json(_) => {
                        kql::parse_datetime(&kql::tostring(&v)).map_or(Value::Null, Value::DateTime)
                    }
                    _ => Value::Null,
                },
                "tolong" => to_long(&v).map_or(Value::Null, Value::Long),
                "toint" => to_long(&v)
                    .filter(|n| i32::try_from(*n).is_ok())
                    .map_or(Value::Null, Value::Long),
                _ => to_real(&v).map_or(Value::Null, Value::Real),
            })
        }
        "strcat" => {
            arity("1 or more", !args.is_empty())?;
            Ok(Value::Str(kql::strcat(&vals()?)))
        }
        "split" => {
            arity("2 or 3", (2..=3).contains(&args.len()))?;
            let v = vals()?;
            let pieces = kql::split(&kql::tostring(&v[0]), &kql::tostring(&v[1]));
            match v.get(2) {
                None => Ok(pieces),
                // `split(s, d, i)`: just the i-th piece, still as an array (empty if absent).
                Some(i) => Ok(Value::Array(match kql::index(&pieces, i) {
                    Value::Null => vec![],
                    piece => vec![piece],
                })),
            }
        }
        "trim_start" => {
            arity("2", args.len() == 2)?;
            let v = vals()?;
            let pattern = kql::tostring(&v[0]);
            let re = kql::trim_start_regex(&pattern).map_err(|e| RefError::BadRegex {
                pattern: pattern.clone(),
                message: e.to_string(),
                span,
            })?;
            Ok(Value::Str(kql::trim_start_with(&re, &kql::tostring(&v[1]))))
        }
        "bin" | "floor" => {
            arity("2", args.len() == 2)?;
            let v = vals()?;
            Ok(kql::bins::bin(&v[0], &v[1]))
        }
        "bin_at" => {
            arity("3", args.len() == 3)?;
            let v = vals()?;
            Ok(kql::bins::bin_at(&v[0], &v[1], &v[2]))
        }
        "startofday" | "startofweek" | "startofmonth" | "startofyear" | "endofday"
        | "endofweek" | "endofmonth" | "endofyear" => {
            arity("1 or 2", (1..=2).contains(&args.len()))?;
            let v = vals()?;
            let period = match name
                .trim_start_matches("startof")
                .trim_start_matches("endof")
            {
                "day" => kql::bins::Period::Day,
                "week" => kql::bins::Period::Week,
                "month" => kql::bins::Period::Month,
                _ => kql::bins::Period::Year,
            };
            let offset = match v.get(1) {
                None => 0,
                Some(Value::Long(n)) => *n,
                Some(Value::Null) => return Ok(Value::Null),
                Some(other) => return Err(mismatch(other)),
            };
            Ok(kql::bins::start_of(
                period,
                &v[0],
                offset,
                name.starts_with("end"),
            ))
        }
        "iff" | "iif" => {
            arity("3", args.len() == 3)?;
            let v = vals()?;
            Ok(if truth(&v[0], span)? == Some(true) {
                v[1].clone()
            } else {
                v[2].clone()
            })
        }
        _ => Err(RefError::UnknownFunction {
            name: name.to_string(),
            span,
        }),
    }
}

/// `tolong(v)`: numbers truncate toward zero, strings parse (as an integer, else as a real),
/// bools are 1/0, datetimes and timespans give their ticks.
fn to_long(v: &Value) -> Option<i64> {
    match v {
        Value::Long(n) => Some(*n),
        Value::Real(x) => ticks_from_real(x.trunc()),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::DateTime(t) | Value::Timespan(t) => Some(*t),
        Value::Str(_) | Value::Json(_) => {
            let s = kql::tostring(v);
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .and_then(|x| ticks_from_real(x.trunc()))
            })
        }
        _ => None,
    }
}

/// `toreal(v)`: numbers, numeric strings, bools as 1/0.
fn to_real(v: &Value) -> Option<f64> {
    match v {
        Value::Long(n) => Some(*n as f64),
        Value::Real(x) => Some(*x),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Str(_) | Value::Json(_) => kql::tostring(v).trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_grammar::{Ident, StrOp, StrOpKind};

    fn e(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::default(),
        }
    }
    fn lit(l: Literal) -> Expr {
        e(ExprKind::Literal(l))
    }
    fn s(x: &str) -> Expr {
        lit(Literal::Str(x.into()))
    }
    fn name(n: &str) -> Expr {
        e(ExprKind::Name(Ident {
            name: n.into(),
            span: Span::default(),
        }))
    }
    fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
        e(ExprKind::Binary {
            op,
            op_span: Span::default(),
            lhs: Box::new(a),
            rhs: Box::new(b),
        })
    }
    fn call(f: &str, args: Vec<Expr>) -> Expr {
        e(ExprKind::Call {
            name: Ident {
                name: f.into(),
                span: Span::default(),
            },
            args,
        })
    }
    fn null() -> Expr {
        lit(Literal::Null("bool".into()))
    }
    fn tb(b: bool) -> Expr {
        lit(Literal::Bool(b))
    }

    /// Columns: `S` a string read from JSON null (mis-passed as Null), `D` a null dynamic,
    /// `N` the long 5; let `Vendors` = ("a", "B").
    fn run(expr: &Expr) -> Result<Value, RefError> {
        let columns = |n: &str| match n {
            "S" => Some((Value::Null, Type::String)),
            "D" => Some((Value::Null, Type::Dynamic)),
            "N" => Some((Value::Long(5), Type::Long)),
            _ => None,
        };
        let lets = |n: &str| {
            (n == "Vendors")
                .then(|| Value::Array(vec![Value::Str("a".into()), Value::Str("B".into())]))
        };
        let env = RefEnv {
            now: 1_000 * kql::TICKS_PER_SECOND,
            columns: &columns,
            lets: &lets,
        };
        eval(expr, &env)
    }

    #[test]
    fn three_valued_logic() {
        let and = |a, b| run(&bin(BinOp::And, a, b));
        let or = |a, b| run(&bin(BinOp::Or, a, b));
        assert_eq!(and(null(), tb(false)), Ok(Value::Bool(false)));
        assert_eq!(and(null(), tb(true)), Ok(Value::Null));
        assert_eq!(or(null(), tb(true)), Ok(Value::Bool(true)));
        assert_eq!(or(tb(false), null()), Ok(Value::Null));
        assert_eq!(run(&e(ExprKind::Not(Box::new(null())))), Ok(Value::Null));
        assert!(matches!(
            run(&bin(BinOp::And, s("x"), tb(true))),
            Err(RefError::TypeMismatch { .. })
        ));
    }

    #[test]
    fn nulls_in_string_operators_and_comparisons() {
        let has = |negated| {
            BinOp::Str(StrOp {
                kind: StrOpKind::Has,
                case_sensitive: false,
                negated,
            })
        };
        assert_eq!(
            run(&bin(has(false), name("D"), s("abc"))),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            run(&bin(has(true), name("D"), s("abc"))),
            Ok(Value::Bool(true))
        );
        // A null string column is read as "".
        assert_eq!(
            run(&bin(BinOp::Eq, name("S"), s(""))),
            Ok(Value::Bool(true))
        );
        assert_eq!(run(&bin(BinOp::Lt, name("D"), name("N"))), Ok(Value::Null));
        assert_eq!(
            run(&bin(BinOp::NotEq, name("D"), name("N"))),
            Ok(Value::Bool(true))
        );
    }

    #[test]
    fn errors_kusto_would_report() {
        assert!(matches!(
            run(&name("Nope")),
            Err(RefError::UnknownName { .. })
        ));
        assert!(matches!(
            run(&bin(BinOp::MatchesRegex, s("x"), s("("))),
            Err(RefError::BadRegex { .. })
        ));
        assert!(matches!(
            run(&bin(BinOp::Eq, s("5"), name("N"))),
            Err(RefError::TypeMismatch { .. })
        ));
        let between = e(ExprKind::Between {
            negated: false,
            lhs: Box::new(s("b")),
            low: Box::new(s("a")),
            high: Box::new(s("c")),
        });
        assert!(matches!(run(&between), Err(RefError::TypeMismatch { .. })));
        assert!(matches!(
            run(&call("strlen", vec![])),
            Err(RefError::Arity { .. })
        ));
        assert!(matches!(
            run(&lit(Literal::DateTime("2024-13-01".into()))),
            Err(RefError::BadDateTime { .. })
        ));
    }

    #[test]
    fn time_and_functions() {
        let day = kql::parse_timespan("1d").unwrap_or_default();
        let span = lit(Literal::Timespan(day));
        let diff = bin(
            BinOp::Sub,
            call("now", vec![]),
            call("ago", vec![span.clone()]),
        );
        assert_eq!(run(&diff), Ok(Value::Timespan(day)));
        let neg = e(ExprKind::Neg(Box::new(span.clone())));
        assert_eq!(
            run(&bin(
                BinOp::Eq,
                call("now", vec![neg]),
                call("ago", vec![span])
            )),
            Ok(Value::Bool(true))
        );
        let last = e(ExprKind::Index {
            base: Box::new(call("split", vec![s("a/b/c"), s("/")])),
            index: Box::new(lit(Literal::Long(-1))),
        });
        assert_eq!(run(&last), Ok(Value::Str("c".into())));
        assert_eq!(
            run(&call("strcat", vec![s("n="), name("N"), name("D")])),
            Ok(Value::Str("n=5".into()))
        );
        assert_eq!(
            run(&call("isnull", vec![name("S")])),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            run(&bin(BinOp::Div, name("N"), lit(Literal::Long(0)))),
            Ok(Value::Null)
        );
    }

    #[test]
    fn lists_from_lets_are_flattened() {
        let in_ci = e(ExprKind::InList {
            op: ListOp::InCi,
            op_span: Span::default(),
            lhs: Box::new(s("b")),
            list: vec![name("Vendors"), s("z")],
        });
        assert_eq!(run(&in_ci), Ok(Value::Bool(true)));
        let not_in = e(ExprKind::InList {
            op: ListOp::NotIn,
            op_span: Span::default(),
            lhs: Box::new(name("D")),
            list: vec![name("Vendors")],
        });
        assert_eq!(run(&not_in), Ok(Value::Bool(true)));
    }
}
