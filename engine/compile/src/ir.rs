//! The typed intermediate representation of a rule, after names are resolved against a
//! table's schema and every expression has a type.
//!
//! Nodes are built through the constructors in this module, which simplify as they go
//! (`and` flattens nested `and`s and drops `true`; `not(not x)` is `x`), so later passes
//! never see those shapes. Each variant's doc shows the rule syntax it comes from.

use crate::row::FieldId;
use crate::value::{Type, Value};
use regex::Regex;
use scry_grammar::{StrOp, StrOpKind};
use std::fmt;
use std::sync::Arc;

/// A typed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// Its result type.
    pub ty: Type,
}

/// An index into the per-table list of needle atoms that the column matchers compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AtomId(pub u32);

/// An index into [`crate::compile::RuleSet::sets`]: a `from T ... distinct C` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetId(pub u32);

/// How a value is tested against a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// `in`, `!in`, `in~`, `!in~`.
    In {
        /// `in~` / `!in~`.
        case_insensitive: bool,
        /// `!in` / `!in~`.
        negated: bool,
    },
    /// `has_any`.
    HasAny,
    /// `has_all`.
    HasAll,
}

impl SetOp {
    /// As written.
    pub fn spelling(self) -> &'static str {
        match self {
            SetOp::In {
                case_insensitive: false,
                negated: false,
            } => "in",
            SetOp::In {
                case_insensitive: false,
                negated: true,
            } => "!in",
            SetOp::In {
                case_insensitive: true,
                negated: false,
            } => "in~",
            SetOp::In {
                case_insensitive: true,
                negated: true,
            } => "!in~",
            SetOp::HasAny => "has_any",
            SetOp::HasAll => "has_all",
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
}

/// A string predicate with a needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrPred {
    /// `has`, `contains`, `startswith`, ... with `_cs` and `!`.
    Op(StrOp),
    /// `=~` (or `!~` when negated).
    EqCi {
        /// `!~`.
        negated: bool,
    },
}

impl StrPred {
    /// True for the `!` forms.
    pub fn negated(self) -> bool {
        match self {
            StrPred::Op(op) => op.negated,
            StrPred::EqCi { negated } => negated,
        }
    }

    /// The positive form.
    pub fn positive(self) -> StrPred {
        match self {
            StrPred::Op(op) => StrPred::Op(StrOp {
                negated: false,
                ..op
            }),
            StrPred::EqCi { .. } => StrPred::EqCi { negated: false },
        }
    }

    /// True when the comparison folds case.
    pub fn case_insensitive(self) -> bool {
        match self {
            StrPred::Op(op) => !op.case_sensitive,
            StrPred::EqCi { .. } => true,
        }
    }

    /// As written.
    pub fn spelling(self) -> String {
        match self {
            StrPred::Op(op) => op.spelling(),
            StrPred::EqCi { negated: false } => "=~".into(),
            StrPred::EqCi { negated: true } => "!~".into(),
        }
    }

    /// Evaluates the predicate on two strings: the one definition of its meaning.
    pub fn eval(self, hay: &str, needle: &str) -> bool {
        match self {
            StrPred::Op(op) => crate::kql::strings::str_op(op, hay, needle),
            StrPred::EqCi { negated } => crate::kql::strings::eq_ci(hay, needle) != negated,
        }
    }

    /// The kind, for the matcher: `=~` is a whole-value match.
    pub fn kind(self) -> Option<StrOpKind> {
        match self {
            StrPred::Op(op) => Some(op.kind),
            StrPred::EqCi { .. } => None,
        }
    }
}

/// A scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Func {
    IsEmpty,
    IsNotEmpty,
    IsNull,
    IsNotNull,
    ToLower,
    ToUpper,
    StrLen,
    ToString,
    StrCat,
    Split,
    ToDateTime,
    ToLong,
    ToReal,
    /// `bin(value, size)` / `floor`: see [`crate::kql::bins::bin`].
    Bin,
    /// `bin_at(value, size, fixed)`.
    BinAt,
    /// `startofday(d [, offset])`, ... .
    StartOf(crate::kql::bins::Period),
    /// `endofday(d [, offset])`, ... .
    EndOf(crate::kql::bins::Period),
}

impl Func {
    /// The KQL name.
    pub fn name(self) -> &'static str {
        match self {
            Func::IsEmpty => "isempty",
            Func::IsNotEmpty => "isnotempty",
            Func::IsNull => "isnull",
            Func::IsNotNull => "isnotnull",
            Func::ToLower => "tolower",
            Func::ToUpper => "toupper",
            Func::StrLen => "strlen",
            Func::ToString => "tostring",
            Func::StrCat => "strcat",
            Func::Split => "split",
            Func::ToDateTime => "todatetime",
            Func::ToLong => "tolong",
            Func::ToReal => "toreal",
            Func::Bin => "bin",
            Func::BinAt => "bin_at",
            Func::StartOf(p) => match p {
                crate::kql::bins::Period::Day => "startofday",
                crate::kql::bins::Period::Week => "startofweek",
                crate::kql::bins::Period::Month => "startofmonth",
                crate::kql::bins::Period::Year => "startofyear",
            },
            Func::EndOf(p) => match p {
                crate::kql::bins::Period::Day => "endofday",
                crate::kql::bins::Period::Week => "endofweek",
                crate::kql::bins::Period::Month => "endofmonth",
                crate::kql::bins::Period::Year => "endofyear",
            },
        }
    }
}

/// A constant list, flattened, ready for membership tests.
#[derive(Debug, Clone)]
pub struct ConstList {
    /// The elements as written (flattened).
    pub values: Vec<Value>,
    /// String elements, case-folded, for `in~`.
    pub folded: hashbrown::HashSet<String>,
    /// String elements as is, for `in`.
    pub exact: hashbrown::HashSet<String>,
}

/// The expression forms.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// A literal or folded constant: `'x'`, `5d`, `datetime(2024-01-01)`.
    Const(Value),
    /// An input column: `Signer`, or an alias resolved to one: `process.name` → `FileName`.
    Field {
        /// The interned field.
        field: FieldId,
        /// The column name (for display).
        name: Arc<str>,
    },
    /// A column computed by an earlier `extend`: `extend Host = ...` then `Host`.
    Computed {
        /// Index into the rule's computed slots.
        slot: u32,
        /// The column name.
        name: Arc<str>,
    },
    /// `now()`, `now(-5d)`, `ago(5d)`: the run's clock plus an offset in ticks.
    Now(i64),
    /// `not(x)`.
    Not(Box<Expr>),
    /// `a and b and ...`.
    And(Vec<Expr>),
    /// `a or b or ...`.
    Or(Vec<Expr>),
    /// `a == b`, `a < b`, ...
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `a + b`, ...
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `Signer has 'x'` with a non-constant needle, or on a computed value.
    Str(StrPred, Box<Expr>, Box<Expr>),
    /// `Signer has 'x'` on an input column with a constant needle, evaluated by the column
    /// matcher (set by the planner; negated forms are `Not(Atom)`).
    Atom(AtomId),
    /// `x in (...)`, `!in`, `in~`, `!in~` over a constant list.
    In {
        /// `in~` / `!in~`.
        case_insensitive: bool,
        /// `!in` / `!in~`.
        negated: bool,
        /// The tested value.
        lhs: Box<Expr>,
        /// The list.
        list: Arc<ConstList>,
    },
    /// `x in (Hashes)`, `x has_any (Urls)` where the list is a set collected from events:
    /// `let Hashes = from DeviceFileCertificateInfo where ... distinct SHA1;`.
    InSet {
        /// The list operator.
        op: SetOp,
        /// The tested value.
        lhs: Box<Expr>,
        /// Which set.
        set: SetId,
        /// The set's name (for display).
        name: Arc<str>,
    },
    /// `x between (a .. b)` / `!between`.
    Between {
        /// `!between`.
        negated: bool,
        /// Tested value.
        lhs: Box<Expr>,
        /// Low bound.
        low: Box<Expr>,
        /// High bound (a timespan is added to `low`).
        high: Box<Expr>,
    },
    /// `x matches regex 'p'`.
    Regex(Box<Expr>, Arc<Regex>),
    /// `trim_start(@'re', x)`: the anchored regex is compiled once.
    TrimStart(Arc<Regex>, Box<Expr>),
    /// `f(args)`.
    Call(Func, Vec<Expr>),
    /// `x[i]`.
    Index(Box<Expr>, Box<Expr>),
    /// `dynamic([...])` built from non-constant parts.
    List(Vec<Expr>),
}

impl Expr {
    /// A constant.
    pub fn constant(v: Value, ty: Type) -> Expr {
        Expr {
            kind: ExprKind::Const(v),
            ty,
        }
    }

    /// `true` / `false`.
    pub fn bool(b: bool) -> Expr {
        Expr::constant(Value::Bool(b), Type::Bool)
    }

    /// The constant value, if this is a constant.
    pub fn as_const(&self) -> Option<&Value> {
        match &self.kind {
            ExprKind::Const(v) => Some(v),
            _ => None,
        }
    }

    /// `a and b ...`, flattened, with `true` dropped and `false` absorbing.
    pub fn and(parts: Vec<Expr>) -> Expr {
        let mut out = Vec::new();
        for p in parts {
            match p.kind {
                ExprKind::And(inner) => out.extend(inner),
                ExprKind::Const(Value::Bool(true)) => {}
                ExprKind::Const(Value::Bool(false)) => return Expr::bool(false),
                kind => out.push(Expr { kind, ty: p.ty }),
            }
        }
        match out.len() {
            0 => Expr::bool(true),
            1 => out.pop().unwrap_or_else(|| Expr::bool(true)),
            _ => Expr {
                kind: ExprKind::And(out),
                ty: Type::Bool,
            },
        }
    }

    /// `a or b ...`, flattened, with `false` dropped and `true` absorbing.
    pub fn or(parts: Vec<Expr>) -> Expr {
        let mut out = Vec::new();
        for p in parts {
            match p.kind {
                ExprKind::Or(inner) => out.extend(inner),
                ExprKind::Const(Value::Bool(false)) => {}
                ExprKind::Const(Value::Bool(true)) => return Expr::bool(true),
                kind => out.push(Expr { kind, ty: p.ty }),
            }
        }
        match out.len() {
            0 => Expr::bool(false),
            1 => out.pop().unwrap_or_else(|| Expr::bool(false)),
            _ => Expr {
                kind: ExprKind::Or(out),
                ty: Type::Bool,
            },
        }
    }

    /// `not(x)`, with `not(not x)` = `x` and constants folded.
    pub fn negate(x: Expr) -> Expr {
        match x.kind {
            ExprKind::Not(inner) => *inner,
            ExprKind::Const(Value::Bool(b)) => Expr::bool(!b),
            kind => Expr {
                kind: ExprKind::Not(Box::new(Expr { kind, ty: x.ty })),
                ty: Type::Bool,
            },
        }
    }

    /// True when the expression tests a `distinct` set anywhere.
    pub fn uses_sets(&self) -> bool {
        let mut found = false;
        self.walk(&mut |n| found |= matches!(n.kind, ExprKind::InSet { .. }));
        found
    }

    /// A predicate that holds wherever `self` holds, with every set test assumed to go the
    /// rule's way: set tests in positive position become `true`, under a `not` `false`
    /// (`positive` is the polarity of `self`). Kleene logic is monotone in and/or/not, so the
    /// result is at least as true as `self` for any contents of the sets; rows it rejects can be
    /// rejected before the sets are known. A non-logical node that contains a set test (say
    /// `(x in (S)) == false`) is replaced whole.
    pub fn relax_sets(self, positive: bool) -> Expr {
        match self.kind {
            ExprKind::Not(x) => Expr::negate(x.relax_sets(!positive)),
            ExprKind::And(v) => Expr::and(v.into_iter().map(|e| e.relax_sets(positive)).collect()),
            ExprKind::Or(v) => Expr::or(v.into_iter().map(|e| e.relax_sets(positive)).collect()),
            kind => {
                let e = Expr { kind, ty: self.ty };
                if e.uses_sets() {
                    Expr::bool(positive)
                } else {
                    e
                }
            }
        }
    }

    /// Visits every node, children first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        match &self.kind {
            ExprKind::Const(_)
            | ExprKind::Field { .. }
            | ExprKind::Computed { .. }
            | ExprKind::Now(_)
            | ExprKind::Atom(_) => {}
            ExprKind::Not(a) | ExprKind::Regex(a, _) | ExprKind::TrimStart(_, a) => a.walk(f),
            ExprKind::In { lhs, .. } | ExprKind::InSet { lhs, .. } => lhs.walk(f),
            ExprKind::And(v) | ExprKind::Or(v) | ExprKind::Call(_, v) | ExprKind::List(v) => {
                v.iter().for_each(|e| e.walk(f))
            }
            ExprKind::Cmp(_, a, b)
            | ExprKind::Arith(_, a, b)
            | ExprKind::Str(_, a, b)
            | ExprKind::Index(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            ExprKind::Between { lhs, low, high, .. } => {
                lhs.walk(f);
                low.walk(f);
                high.walk(f);
            }
        }
        f(self);
    }

    /// Rewrites every node bottom-up with `f`.
    pub fn rewrite(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let ty = self.ty;
        let b = |e: Box<Expr>, f: &mut dyn FnMut(Expr) -> Expr| Box::new(e.rewrite(f));
        let kind = match self.kind {
            k @ (ExprKind::Const(_)
            | ExprKind::Field { .. }
            | ExprKind::Computed { .. }
            | ExprKind::Now(_)
            | ExprKind::Atom(_)) => k,
            ExprKind::Not(a) => {
                let inner = a.rewrite(f);
                return f(Expr::negate(inner));
            }
            ExprKind::And(v) => {
                let v: Vec<Expr> = v.into_iter().map(|e| e.rewrite(f)).collect();
                return f(Expr::and(v));
            }
            ExprKind::Or(v) => {
                let v = v.into_iter().map(|e| e.rewrite(f)).collect();
                return f(Expr::or(v));
            }
            ExprKind::Call(func, v) => {
                ExprKind::Call(func, v.into_iter().map(|e| e.rewrite(f)).collect())
            }
            ExprKind::List(v) => ExprKind::List(v.into_iter().map(|e| e.rewrite(f)).collect()),
            ExprKind::Cmp(op, a, c) => ExprKind::Cmp(op, b(a, f), b(c, f)),
            ExprKind::Arith(op, a, c) => ExprKind::Arith(op, b(a, f), b(c, f)),
            ExprKind::Str(op, a, c) => ExprKind::Str(op, b(a, f), b(c, f)),
            ExprKind::Index(a, c) => ExprKind::Index(b(a, f), b(c, f)),
            ExprKind::Regex(a, re) => ExprKind::Regex(b(a, f), re),
            ExprKind::TrimStart(re, a) => ExprKind::TrimStart(re, b(a, f)),
            ExprKind::In {
                case_insensitive,
                negated,
                lhs,
                list,
            } => ExprKind::In {
                case_insensitive,
                negated,
                lhs: b(lhs, f),
                list,
            },
            ExprKind::InSet { op, lhs, set, name } => ExprKind::InSet {
                op,
                lhs: b(lhs, f),
                set,
                name,
            },
            ExprKind::Between {
                negated,
                lhs,
                low,
                high,
            } => ExprKind::Between {
                negated,
                lhs: b(lhs, f),
                low: b(low, f),
                high: b(high, f),
            },
        };
        f(Expr { kind, ty })
    }
}

fn fmt_value(v: &Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match v {
        Value::Null => f.write_str("null"),
        Value::Bool(b) => write!(f, "{b}"),
        Value::Long(n) => write!(f, "{n}"),
        Value::Real(x) => write!(f, "real({x})"),
        Value::Str(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        Value::DateTime(t) => write!(f, "datetime({})", crate::kql::time::format_datetime(*t)),
        Value::Timespan(t) => write!(f, "timespan({})", crate::kql::time::format_timespan(*t)),
        Value::Array(items) => {
            f.write_str("dynamic([")?;
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                fmt_value(x, f)?;
            }
            f.write_str("])")
        }
        Value::Json(s) => write!(f, "dynamic({s})"),
    }
}

/// Formats a value as in `explain` output.
pub struct DisplayValue<'a>(pub &'a Value);

impl fmt::Display for DisplayValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_value(self.0, f)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, v: &[Expr], sep: &str| -> fmt::Result {
            for (i, e) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                let paren = matches!(e.kind, ExprKind::And(_) | ExprKind::Or(_));
                if paren {
                    write!(f, "({e})")?;
                } else {
                    write!(f, "{e}")?;
                }
            }
            Ok(())
        };
        match &self.kind {
            ExprKind::Const(v) => fmt_value(v, f),
            ExprKind::Field { name, .. } => f.write_str(name),
            ExprKind::Computed { name, .. } => write!(f, "{name}"),
            ExprKind::Now(0) => f.write_str("now()"),
            ExprKind::Now(off) => write!(
                f,
                "now({}{})",
                if *off < 0 { "-" } else { "" },
                crate::kql::time::format_timespan(off.abs())
            ),
            ExprKind::Not(e) => write!(f, "not({e})"),
            ExprKind::And(v) => join(f, v, " and "),
            ExprKind::Or(v) => join(f, v, " or "),
            ExprKind::Cmp(op, a, b) => {
                let s = match op {
                    CmpOp::Eq => "==",
                    CmpOp::NotEq => "!=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                write!(f, "{a} {s} {b}")
            }
            ExprKind::Arith(op, a, b) => {
                let s = match op {
                    ArithOp::Add => "+",
                    ArithOp::Sub => "-",
                    ArithOp::Mul => "*",
                    ArithOp::Div => "/",
                    ArithOp::Mod => "%",
                };
                write!(f, "({a} {s} {b})")
            }
            ExprKind::Str(op, a, b) => write!(f, "{a} {} {b}", op.spelling()),
            ExprKind::Atom(id) => write!(f, "#{}", id.0),
            ExprKind::In {
                case_insensitive,
                negated,
                lhs,
                list,
            } => {
                write!(
                    f,
                    "{lhs} {}in{} (",
                    if *negated { "!" } else { "" },
                    if *case_insensitive { "~" } else { "" }
                )?;
                for (i, v) in list.values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    fmt_value(v, f)?;
                }
                f.write_str(")")
            }
            ExprKind::InSet { op, lhs, name, .. } => {
                write!(f, "{lhs} {} (set {name})", op.spelling())
            }
            ExprKind::Between {
                negated,
                lhs,
                low,
                high,
            } => write!(
                f,
                "{lhs} {}between ({low} .. {high})",
                if *negated { "!" } else { "" }
            ),
            ExprKind::Regex(a, re) => write!(
                f,
                "{a} matches regex {}",
                serde_json::Value::String(re.as_str().to_string())
            ),
            ExprKind::TrimStart(re, a) => write!(
                f,
                "trim_start({}, {a})",
                serde_json::Value::String(re.as_str().to_string())
            ),
            ExprKind::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                join(f, args, ", ")?;
                f.write_str(")")
            }
            ExprKind::Index(a, i) => write!(f, "{a}[{i}]"),
            ExprKind::List(v) => {
                f.write_str("dynamic([")?;
                join(f, v, ", ")?;
                f.write_str("])")
            }
        }
    }
}
