//! Name resolution, type checking and lowering of one rule against one table.

use super::lint;
use super::{
    Agg, AggKind, Body, ExampleCase, ExclusionInfo, Expectation, OutputColumn, Rule, RuleMeta,
    SetBody, SetDef, Step,
};
use crate::diag::{codes, Diagnostic};
use crate::eval::{self, ConstEnv};
use crate::ir::{ArithOp, CmpOp, ConstList, Expr, ExprKind, Func, SetId, SetOp, StrPred};
use crate::kql;
use crate::row::FieldSet;
use crate::schema::{did_you_mean, Catalog, TableSchema};
use crate::value::{Type, Value};
use hashbrown::{HashMap, HashSet};
use scry_grammar::{self as ast, BinOp, ListOp, Span, StrOp, StrOpKind};
use std::sync::Arc;

/// The value of an expression that already failed to check: no JSON text can equal it, so
/// it never collides with a real constant, and later checks skip it instead of piling on.
const ERROR_MARK: &str = "\u{0}scry: erroneous expression";

/// `let` bindings visible to a rule: name → constant expression (no columns).
#[derive(Debug, Clone, Default)]
pub struct Lets {
    map: HashMap<String, Expr>,
    /// `let Name = from T ... distinct C;`: kept as written, lowered where a rule tests it
    /// (its filters read the columns of other tables).
    queries: HashMap<String, ast::Expr>,
    order: Vec<String>,
}

impl Lets {
    fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name) || self.queries.contains_key(name)
    }

    fn remove(&mut self, name: &str) {
        self.map.remove(name);
        self.queries.remove(name);
        self.order.retain(|n| n != name);
    }
}

/// The `distinct` sets of a run, shared by every rule that tests them: a file-level `let`
/// tested by three rules is collected once.
#[derive(Debug)]
pub struct SetRegistry {
    catalog: Arc<Catalog>,
    /// The sets, by [`SetId`].
    pub defs: Vec<SetDef>,
    /// (file, offset of the `from`) → set: the identity of a query as written.
    index: HashMap<(usize, u32), SetId>,
}

impl SetRegistry {
    /// An empty registry resolving tables in `catalog`.
    pub fn new(catalog: Arc<Catalog>) -> SetRegistry {
        SetRegistry {
            catalog,
            defs: Vec::new(),
            index: HashMap::new(),
        }
    }
}

/// Regex size limit (compiled program bytes): hostile patterns become an error, not exhaustion.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

const META_KEYS: &[&str] = &[
    "id",
    "title",
    "description",
    "severity",
    "tactics",
    "techniques",
    "references",
    "author",
    "tags",
    "source",
    "status",
    "data_types",
    "version",
    "date",
    "modified",
    "false_positives",
    "connectors",
];

/// The scalar functions rules may call (`scry import` checks queries against this list).
pub const FUNCTIONS: &[&str] = &[
    "isempty",
    "isnotempty",
    "isnull",
    "isnotnull",
    "tolower",
    "toupper",
    "strlen",
    "tostring",
    "strcat",
    "split",
    "tolong",
    "toint",
    "toreal",
    "todouble",
    "trim_start",
    "now",
    "ago",
    "not",
    "datetime",
    "todatetime",
];

/// The aggregates `summarize` knows (`makeset` is an old spelling of `make_set`).
pub const AGGREGATES: &[&str] = &[
    "count", "countif", "dcount", "min", "max", "make_set", "makeset", "sum", "arg_max", "arg_min",
];

/// Adds a top-level `let` to `lets`.
pub fn add_let(lets: &mut Lets, l: &ast::Let, file: usize, diags: &mut Vec<Diagnostic>) {
    if lets.contains(&l.name.name) {
        diags.push(Diagnostic::error(
            codes::DUPLICATE_NAME,
            file,
            l.name.span,
            format!("`{}` is already defined", l.name.name),
        ));
        return;
    }
    if let ast::ExprKind::Query(_) = l.value.kind {
        lets.order.push(l.name.name.clone());
        lets.queries.insert(l.name.name.clone(), l.value.clone());
        return;
    }
    let mut fields = FieldSet::new();
    let mut cx = Cx {
        file,
        table: None,
        lets,
        computed: Vec::new(),
        fields: &mut fields,
        diags,
        mode: Mode::Constant,
        missing: Vec::new(),
        sets: None,
    };
    let e = cx.expr(&l.value);
    lets.order.push(l.name.name.clone());
    lets.map.insert(l.name.name.clone(), e);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A `where`, `extend`, `summarize`: unknown names are errors.
    Row,
    /// An exclusion: unknown names make the exclusion inert (with a warning).
    Exclusion,
    /// A `let`: no columns at all.
    Constant,
}

struct Cx<'a> {
    file: usize,
    table: Option<&'a TableSchema>,
    lets: &'a Lets,
    computed: Vec<(String, Type)>,
    fields: &'a mut FieldSet,
    diags: &'a mut Vec<Diagnostic>,
    mode: Mode,
    missing: Vec<(String, Span)>,
    /// Where `distinct` sets are registered; `None` where sets cannot be used (constant
    /// `let`s, a set's own filters, `scry eval`).
    sets: Option<&'a mut SetRegistry>,
}

fn fold_const(e: Expr) -> Expr {
    // Pure nodes whose children are all constants are evaluated now (now() is not pure: it
    // stays symbolic so that `explain` is stable and the clock is the run's).
    let all_const = |v: &[&Expr]| v.iter().all(|x| x.as_const().is_some());
    let fold = match &e.kind {
        ExprKind::Call(_, args) => all_const(&args.iter().collect::<Vec<_>>()),
        ExprKind::Arith(_, a, b) | ExprKind::Index(a, b) | ExprKind::Cmp(_, a, b) => {
            all_const(&[a, b])
        }
        ExprKind::Str(_, a, b) => all_const(&[a, b]),
        ExprKind::TrimStart(_, a) | ExprKind::Regex(a, _) => all_const(&[a]),
        ExprKind::In { lhs, .. } => all_const(&[lhs]),
        ExprKind::Between { lhs, low, high, .. } => all_const(&[lhs, low, high]),
        ExprKind::List(items) => all_const(&items.iter().collect::<Vec<_>>()),
        _ => false,
    };
    if !fold {
        return e;
    }
    let v = eval::eval(&e, &ConstEnv(0)).to_value();
    Expr::constant(v, e.ty)
}

impl Cx<'_> {
    fn err(&mut self, code: &'static str, span: Span, msg: impl Into<String>) -> Expr {
        self.diags
            .push(Diagnostic::error(code, self.file, span, msg));
        // A placeholder keeps checking the rest of the rule without cascading errors.
        self.error_expr()
    }

    fn error_expr(&self) -> Expr {
        Expr::constant(Value::Json(ERROR_MARK.into()), Type::Dynamic)
    }

    fn is_error(e: &Expr) -> bool {
        matches!(&e.kind, ExprKind::Const(Value::Json(m)) if m == ERROR_MARK)
    }

    fn name(&mut self, id: &ast::Ident) -> Expr {
        if let Some(e) = self.lets.map.get(&id.name) {
            return e.clone();
        }
        if self.lets.queries.contains_key(&id.name) {
            return self.set_as_value(id.span, &format!("`{}`", id.name));
        }
        if let Some(i) = self.computed.iter().rposition(|(n, _)| n == &id.name) {
            return Expr {
                kind: ExprKind::Computed {
                    slot: i as u32,
                    name: Arc::from(id.name.as_str()),
                },
                ty: self.computed[i].1,
            };
        }
        if let Some(t) = self.table {
            let column = if t.column(&id.name).is_some() {
                Some(id.name.as_str())
            } else {
                t.alias(&id.name)
            };
            if let Some(col) = column {
                if self.mode == Mode::Constant {
                    return self.err(
                        codes::NOT_CONSTANT,
                        id.span,
                        format!("a `let` cannot read the column `{}`", id.name),
                    );
                }
                let ty = t.column(col).unwrap_or(Type::Dynamic);
                let field = self.fields.intern(col);
                return Expr {
                    kind: ExprKind::Field {
                        field,
                        name: Arc::from(col),
                    },
                    ty,
                };
            }
        }
        // Unknown.
        let mut candidates: Vec<&str> = self.lets.order.iter().map(String::as_str).collect();
        candidates.extend(self.computed.iter().map(|(n, _)| n.as_str()));
        let mut aliases = Vec::new();
        if let Some(t) = self.table {
            candidates.extend(t.columns.iter().map(|(n, _)| n.as_str()));
            aliases = t.aliases();
        }
        candidates.extend(aliases.iter().map(|(a, _)| *a));
        let hint = did_you_mean(&id.name, candidates.iter().copied()).map(str::to_string);
        let where_ = match self.table {
            Some(t) => format!("table {}", t.name),
            None => "scope".to_string(),
        };
        if self.mode == Mode::Exclusion {
            self.missing.push((id.name.clone(), id.span));
            return self.error_expr();
        }
        let mut d = Diagnostic::error(
            codes::UNKNOWN_NAME,
            self.file,
            id.span,
            format!("unknown column `{}` in {where_}", id.name),
        )
        .with_label("not a column, alias, computed column or `let`");
        if let Some(h) = hint {
            // A column suggested with its type and what it holds, so the right one can be
            // picked without the schema reference at hand.
            let column = self
                .table
                .and_then(|t| Some((t.column(&h)?, t.column_description(&h))));
            d = d.with_note(match column {
                Some((ty, Some(what))) => format!("did you mean `{h}`? ({ty}: {what})"),
                Some((ty, None)) => format!("did you mean `{h}`? ({ty})"),
                None => format!("did you mean `{h}`?"),
            });
        }
        self.diags.push(d);
        self.error_expr()
    }

    fn expr(&mut self, e: &ast::Expr) -> Expr {
        let out = self.expr_inner(e);
        fold_const(out)
    }

    fn predicate(&mut self, e: &ast::Expr) -> Expr {
        let x = self.expr(e);
        if x.ty != Type::Bool && !Self::is_error(&x) {
            return self.err(
                codes::NOT_A_PREDICATE,
                e.span,
                format!("this condition is a {}, not a bool", x.ty),
            );
        }
        x
    }

    fn expr_inner(&mut self, e: &ast::Expr) -> Expr {
        use ast::ExprKind as K;
        match &e.kind {
            K::Query(_) => self.set_as_value(e.span, "this set"),
            K::Star => self.err(
                codes::STAR_MISUSE,
                e.span,
                "`*` (every column of the row) is only a returned argument of arg_max or arg_min",
            ),
            K::Literal(lit) => self.literal(lit, e.span),
            K::Name(id) => self.name(id),
            K::Not(x) => {
                let x = self.predicate(x);
                Expr::negate(x)
            }
            K::Neg(x) => {
                let x = self.expr(x);
                match x.ty {
                    Type::Long | Type::Int | Type::Real | Type::Timespan => Expr {
                        kind: ExprKind::Arith(
                            ArithOp::Sub,
                            Box::new(Expr::constant(
                                if x.ty == Type::Real {
                                    Value::Real(0.0)
                                } else if x.ty == Type::Timespan {
                                    Value::Timespan(0)
                                } else {
                                    Value::Long(0)
                                },
                                x.ty,
                            )),
                            Box::new(x.clone()),
                        ),
                        ty: x.ty,
                    },
                    _ if Self::is_error(&x) => x,
                    t => self.err(codes::TYPE_MISMATCH, e.span, format!("cannot negate a {t}")),
                }
            }
            K::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.binary(*op, *op_span, lhs, rhs, e.span),
            K::InList {
                op,
                op_span,
                lhs,
                list,
            } => self.in_list(*op, *op_span, lhs, list),
            K::Between {
                negated,
                lhs,
                low,
                high,
            } => {
                let x = self.expr(lhs);
                let lo = self.expr(low);
                let hi = self.expr(high);
                if [&x, &lo, &hi].iter().any(|v| Self::is_error(v)) {
                    return self.error_expr();
                }
                let ok = match x.ty {
                    t if t.is_numeric() => lo.ty.is_numeric() && hi.ty.is_numeric(),
                    Type::DateTime => {
                        lo.ty == Type::DateTime && matches!(hi.ty, Type::DateTime | Type::Timespan)
                    }
                    Type::Timespan => lo.ty == Type::Timespan && hi.ty == Type::Timespan,
                    _ => false,
                };
                if !ok {
                    return self.err(
                        codes::TYPE_MISMATCH,
                        e.span,
                        format!(
                            "`between` needs a number, datetime or timespan and bounds of the same kind; found {} between ({} .. {})",
                            x.ty, lo.ty, hi.ty
                        ),
                    );
                }
                Expr {
                    kind: ExprKind::Between {
                        negated: *negated,
                        lhs: Box::new(x),
                        low: Box::new(lo),
                        high: Box::new(hi),
                    },
                    ty: Type::Bool,
                }
            }
            K::Call { name, args } => self.call(name, args, e.span),
            K::Index { base, index } => {
                let b = self.expr(base);
                let i = self.expr(index);
                if !i.ty.is_numeric() && !i.ty.is_stringish() && !Self::is_error(&i) {
                    return self.err(
                        codes::TYPE_MISMATCH,
                        index.span,
                        "an index must be a number",
                    );
                }
                Expr {
                    kind: ExprKind::Index(Box::new(b), Box::new(i)),
                    ty: Type::Dynamic,
                }
            }
            K::List(items) => {
                let items: Vec<Expr> = items.iter().map(|x| self.expr(x)).collect();
                Expr {
                    kind: ExprKind::List(items),
                    ty: Type::Dynamic,
                }
            }
        }
    }

    fn literal(&mut self, lit: &ast::Literal, span: Span) -> Expr {
        match lit {
            ast::Literal::Str(s) => Expr::constant(Value::Str(s.clone()), Type::String),
            ast::Literal::Long(n) => Expr::constant(Value::Long(*n), Type::Long),
            ast::Literal::Real(x) => Expr::constant(Value::Real(*x), Type::Real),
            ast::Literal::Bool(b) => Expr::bool(*b),
            ast::Literal::DateTime(text) => match kql::time::parse_datetime(text.trim()) {
                Some(t) => Expr::constant(Value::DateTime(t), Type::DateTime),
                None => self.err(
                    codes::BAD_LITERAL,
                    span,
                    format!(
                        "`{text}` is not a datetime (expected ISO 8601, e.g. 2024-05-15T12:00:00Z)"
                    ),
                ),
            },
            ast::Literal::Timespan(t) => Expr::constant(Value::Timespan(*t), Type::Timespan),
            ast::Literal::Null(ty) => match Type::from_name(ty) {
                Some(Type::String) => Expr::constant(Value::Str(String::new()), Type::String),
                Some(t) => Expr::constant(Value::Null, t),
                None => self.err(codes::BAD_LITERAL, span, format!("unknown type `{ty}`")),
            },
        }
    }

    fn binary(
        &mut self,
        op: BinOp,
        op_span: Span,
        l: &ast::Expr,
        r: &ast::Expr,
        span: Span,
    ) -> Expr {
        match op {
            BinOp::And | BinOp::Or => {
                let a = self.predicate(l);
                let b = self.predicate(r);
                if op == BinOp::And {
                    Expr::and(vec![a, b])
                } else {
                    Expr::or(vec![a, b])
                }
            }
            BinOp::Str(sop) => {
                let a = self.expr(l);
                let b = self.expr(r);
                self.str_pred(StrPred::Op(sop), a, b, l.span, r.span)
            }
            BinOp::EqCi | BinOp::NotEqCi => {
                let a = self.expr(l);
                let b = self.expr(r);
                self.str_pred(
                    StrPred::EqCi {
                        negated: op == BinOp::NotEqCi,
                    },
                    a,
                    b,
                    l.span,
                    r.span,
                )
            }
            BinOp::MatchesRegex => {
                let a = self.expr(l);
                let b = self.expr(r);
                if Self::is_error(&a) || Self::is_error(&b) {
                    return self.error_expr();
                }
                if !a.ty.is_stringish() {
                    return self.err(
                        codes::STRING_OP_ON_NON_STRING,
                        l.span,
                        format!("`matches regex` needs a string, this is a {}", a.ty),
                    );
                }
                let Some(Value::Str(p)) = b.as_const() else {
                    return self.err(
                        codes::BAD_REGEX,
                        r.span,
                        "the regex must be a constant string",
                    );
                };
                match regex::RegexBuilder::new(p)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                {
                    Ok(re) => Expr {
                        kind: ExprKind::Regex(Box::new(a), Arc::new(re)),
                        ty: Type::Bool,
                    },
                    Err(e) => self.err(
                        codes::BAD_REGEX,
                        r.span,
                        format!("invalid regex: {}", regex_message(&e)),
                    ),
                }
            }
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let a = self.expr(l);
                let b = self.expr(r);
                if Self::is_error(&a) || Self::is_error(&b) {
                    return self.error_expr();
                }
                let comparable = a.ty == b.ty
                    || (a.ty.is_numeric() && b.ty.is_numeric())
                    || (a.ty.is_stringish() && b.ty.is_stringish())
                    || a.ty == Type::Dynamic
                    || b.ty == Type::Dynamic;
                let ordered = !matches!(op, BinOp::Eq | BinOp::NotEq);
                if !comparable || (ordered && a.ty == Type::Bool) {
                    return self.err(
                        codes::TYPE_MISMATCH,
                        op_span,
                        format!(
                            "cannot compare a {} with a {} using `{}`",
                            a.ty,
                            b.ty,
                            op.spelling()
                        ),
                    );
                }
                let cop = match op {
                    BinOp::Eq => CmpOp::Eq,
                    BinOp::NotEq => CmpOp::NotEq,
                    BinOp::Lt => CmpOp::Lt,
                    BinOp::Le => CmpOp::Le,
                    BinOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                Expr {
                    kind: ExprKind::Cmp(cop, Box::new(a), Box::new(b)),
                    ty: Type::Bool,
                }
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let a = self.expr(l);
                let b = self.expr(r);
                if Self::is_error(&a) || Self::is_error(&b) {
                    return self.error_expr();
                }
                use Type::*;
                let ty = match (op, a.ty, b.ty) {
                    (_, x, y) if x.is_numeric() && y.is_numeric() => {
                        if x == Real || y == Real {
                            Real
                        } else {
                            Long
                        }
                    }
                    (BinOp::Add, DateTime, Timespan) | (BinOp::Add, Timespan, DateTime) => DateTime,
                    (BinOp::Sub, DateTime, Timespan) => DateTime,
                    (BinOp::Sub, DateTime, DateTime) => Timespan,
                    (BinOp::Add | BinOp::Sub, Timespan, Timespan) => Timespan,
                    (BinOp::Mul, Timespan, Long | Int) | (BinOp::Mul, Long | Int, Timespan) => {
                        Timespan
                    }
                    (_, x, y) => {
                        return self.err(
                            codes::TYPE_MISMATCH,
                            span,
                            format!("cannot apply `{}` to a {x} and a {y}", op.spelling()),
                        )
                    }
                };
                let aop = match op {
                    BinOp::Add => ArithOp::Add,
                    BinOp::Sub => ArithOp::Sub,
                    BinOp::Mul => ArithOp::Mul,
                    BinOp::Div => ArithOp::Div,
                    _ => ArithOp::Mod,
                };
                Expr {
                    kind: ExprKind::Arith(aop, Box::new(a), Box::new(b)),
                    ty,
                }
            }
        }
    }

    fn str_pred(&mut self, p: StrPred, a: Expr, b: Expr, ls: Span, rs: Span) -> Expr {
        if Self::is_error(&a) || Self::is_error(&b) {
            return self.error_expr();
        }
        // Dynamic values are matched by their text, as Kusto does; other types are an error.
        if !a.ty.is_stringish() && a.ty != Type::Dynamic {
            let mut d = Diagnostic::error(
                codes::STRING_OP_ON_NON_STRING,
                self.file,
                ls,
                format!(
                    "`{}` is a string operator, but this is a {}",
                    p.spelling(),
                    a.ty
                ),
            );
            if a.ty == Type::Dynamic {
                d = d.with_note("wrap the value in tostring(...) to match its text");
            } else {
                d = d.with_note(format!(
                    "compare {} with ==, <, between, or convert it with tostring(...)",
                    a_type(a.ty)
                ));
            }
            self.diags.push(d);
            return self.error_expr();
        }
        if !b.ty.is_stringish() {
            return self.err(
                codes::TYPE_MISMATCH,
                rs,
                format!(
                    "the right side of `{}` must be a string, this is a {}",
                    p.spelling(),
                    b.ty
                ),
            );
        }
        Expr {
            kind: ExprKind::Str(p, Box::new(a), Box::new(b)),
            ty: Type::Bool,
        }
    }

    /// Flattens list elements (nested lists and `let` lists) into constants.
    fn const_list(&mut self, items: &[ast::Expr], out: &mut Vec<Value>) -> bool {
        let mut ok = true;
        for it in items {
            let e = self.expr(it);
            if Self::is_error(&e) {
                ok = false;
                continue;
            }
            match e.kind {
                ExprKind::Const(Value::Array(vs)) => flatten(vs, out),
                ExprKind::Const(v) => out.push(v),
                _ => {
                    self.err(
                        codes::NOT_A_CONSTANT_LIST,
                        it.span,
                        "list elements must be constants (literals or `let` names)",
                    );
                    ok = false;
                }
            }
        }
        ok
    }

    /// The query behind a list operand that is a set (`(Hashes)` or an inline
    /// `(from T ... distinct C)`), with the name to show for it.
    fn set_operand<'q>(&'q self, item: &'q ast::Expr) -> Option<(&'q ast::Expr, String)> {
        match &item.kind {
            ast::ExprKind::Query(q) => Some((item, format!("distinct {}", q.distinct.name))),
            ast::ExprKind::Name(id) => self
                .lets
                .queries
                .get(&id.name)
                .map(|q| (q, id.name.clone())),
            _ => None,
        }
    }

    /// A set is complete only once the whole input is read, so a rule can test one only to
    /// decide whether a row counts (`where`, `except`), not to compute a value.
    fn no_sets(&mut self, e: &Expr, span: Span) {
        if e.uses_sets() {
            self.err(
                codes::SET_MISUSE,
                span,
                "a set can be tested in `where` and `except` only, not in `extend` or `summarize`",
            );
        }
    }

    fn set_as_value(&mut self, span: Span, what: &str) -> Expr {
        let d = Diagnostic::error(
            codes::SET_MISUSE,
            self.file,
            span,
            format!("{what} is a set of values collected from events, not a value"),
        )
        .with_label("a `from ... distinct` set")
        .with_note("test it with a list operator: `x in (Set)`, `x has_any (Set)`");
        self.diags.push(d);
        self.error_expr()
    }

    fn in_list(&mut self, op: ListOp, op_span: Span, lhs: &ast::Expr, list: &[ast::Expr]) -> Expr {
        if let Some(i) = list.iter().position(|it| self.set_operand(it).is_some()) {
            if list.len() > 1 {
                return self.err(
                    codes::SET_MISUSE,
                    list[i].span,
                    "a set must be the only element of its list: write `x in (Set) or x in (...)`",
                );
            }
            return self.in_set(op, lhs, &list[0]);
        }
        let x = self.expr(lhs);
        let mut values = Vec::new();
        if !self.const_list(list, &mut values) || Self::is_error(&x) {
            return self.error_expr();
        }
        match op {
            ListOp::HasAny | ListOp::HasAll => {
                if !x.ty.is_stringish() {
                    return self.str_pred(
                        StrPred::Op(StrOp {
                            kind: StrOpKind::Has,
                            case_sensitive: false,
                            negated: false,
                        }),
                        x,
                        Expr::constant(Value::Str(String::new()), Type::String),
                        lhs.span,
                        op_span,
                    );
                }
                let has = StrPred::Op(StrOp {
                    kind: StrOpKind::Has,
                    case_sensitive: false,
                    negated: false,
                });
                // Elements are matched as tostring(element): a null element is the empty needle,
                // which every string has (as kql::compare::has_any does).
                let parts: Vec<Expr> = values
                    .into_iter()
                    .map(|v| Expr {
                        kind: ExprKind::Str(
                            has,
                            Box::new(x.clone()),
                            Box::new(Expr::constant(
                                Value::Str(kql::funcs::tostring(&v)),
                                Type::String,
                            )),
                        ),
                        ty: Type::Bool,
                    })
                    .collect();
                if op == ListOp::HasAny {
                    Expr::or(parts)
                } else {
                    Expr::and(parts)
                }
            }
            _ => {
                let case_insensitive = matches!(op, ListOp::InCi | ListOp::NotInCi);
                let negated = matches!(op, ListOp::NotIn | ListOp::NotInCi);
                if case_insensitive && !x.ty.is_stringish() {
                    return self.err(
                        codes::STRING_OP_ON_NON_STRING,
                        lhs.span,
                        format!("`{}` compares strings, this is a {}", op.spelling(), x.ty),
                    );
                }
                let mut exact = HashSet::new();
                let mut folded = HashSet::new();
                for v in &values {
                    if v.is_null() {
                        continue;
                    }
                    let s = kql::funcs::tostring(v);
                    folded.insert(kql::fold(&s));
                    exact.insert(s);
                }
                Expr {
                    kind: ExprKind::In {
                        case_insensitive,
                        negated,
                        lhs: Box::new(x),
                        list: Arc::new(ConstList {
                            values,
                            folded,
                            exact,
                        }),
                    },
                    ty: Type::Bool,
                }
            }
        }
    }

    fn in_set(&mut self, op: ListOp, lhs: &ast::Expr, item: &ast::Expr) -> Expr {
        let x = self.expr(lhs);
        let Some((query, name)) = self.set_operand(item).map(|(q, n)| (q.clone(), n)) else {
            return self.error_expr();
        };
        let Some(set) = self.lower_set(&query, &name, item.span) else {
            return self.error_expr();
        };
        if Self::is_error(&x) {
            return x;
        }
        let op = match op {
            ListOp::HasAny => SetOp::HasAny,
            ListOp::HasAll => SetOp::HasAll,
            ListOp::In | ListOp::NotIn | ListOp::InCi | ListOp::NotInCi => {
                let case_insensitive = matches!(op, ListOp::InCi | ListOp::NotInCi);
                if case_insensitive && !x.ty.is_stringish() {
                    return self.err(
                        codes::STRING_OP_ON_NON_STRING,
                        lhs.span,
                        format!("`{}` compares strings, this is a {}", op.spelling(), x.ty),
                    );
                }
                SetOp::In {
                    case_insensitive,
                    negated: matches!(op, ListOp::NotIn | ListOp::NotInCi),
                }
            }
        };
        Expr {
            kind: ExprKind::InSet {
                op,
                lhs: Box::new(x),
                set,
                name: Arc::from(name.as_str()),
            },
            ty: Type::Bool,
        }
    }

    /// Registers (once) and lowers a `from T [window] [where]* distinct C` query against each
    /// of its tables.
    fn lower_set(&mut self, query: &ast::Expr, name: &str, used_at: Span) -> Option<SetId> {
        let ast::ExprKind::Query(q) = &query.kind else {
            return None;
        };
        let Some(reg) = self.sets.take() else {
            self.err(
                codes::SET_MISUSE,
                used_at,
                "a set can only be tested in a rule's `where` or `except` (not in a `let` value, another set's filter or `scry eval`)",
            );
            return None;
        };
        let key = (self.file, query.span.start);
        if let Some(&id) = reg.index.get(&key) {
            self.sets = Some(reg);
            return Some(id);
        }
        let catalog = Arc::clone(&reg.catalog);
        let mut bodies = Vec::new();
        for t in &q.tables {
            let Some(schema) = catalog.table(&t.name) else {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_TABLE,
                    self.file,
                    t.span,
                    format!("unknown table `{}`", t.name),
                );
                let names = catalog.tables().iter().map(|t| t.name.as_str());
                if let Some(h) = did_you_mean(&t.name, names) {
                    d = d.with_note(format!("did you mean `{h}`?"));
                }
                self.diags.push(d);
                continue;
            };
            let mut cx = Cx {
                file: self.file,
                table: Some(schema),
                lets: self.lets,
                computed: Vec::new(),
                fields: &mut *self.fields,
                diags: &mut *self.diags,
                mode: Mode::Row,
                missing: Vec::new(),
                sets: None,
            };
            let timestamp = schema
                .column("Timestamp")
                .filter(|ty| *ty == Type::DateTime)
                .map(|_| cx.fields.intern("Timestamp"));
            let window = q
                .window
                .as_ref()
                .and_then(|w| cx.window(w, timestamp.is_some(), &schema.name));
            let filters = q
                .filters
                .iter()
                .map(|w| cx.predicate(&w.predicate))
                .collect();
            let column = cx.name(&q.distinct);
            bodies.push(SetBody {
                table: schema.name.clone(),
                timestamp,
                window,
                filters,
                column,
            });
        }
        let id = SetId(reg.defs.len() as u32);
        reg.defs.push(SetDef {
            name: name.to_string(),
            file: self.file,
            span: query.span,
            bodies,
        });
        reg.index.insert(key, id);
        self.sets = Some(reg);
        Some(id)
    }

    /// `window 5d` / `window between (a .. b)` against a table with (or without) a datetime
    /// `Timestamp`: the inclusive bounds.
    fn window(&mut self, w: &ast::Window, has_ts: bool, table: &str) -> Option<(Expr, Expr)> {
        if !has_ts {
            self.err(
                codes::TYPE_MISMATCH,
                w.span,
                format!("`window` reads Timestamp, which {table} does not have as a datetime"),
            );
            return None;
        }
        match &w.kind {
            ast::WindowKind::Lookback(span_e) => {
                let s = self.expr(span_e);
                match s.as_const() {
                    Some(Value::Timespan(ticks)) if *ticks >= 0 => Some((
                        Expr {
                            kind: ExprKind::Now(-*ticks),
                            ty: Type::DateTime,
                        },
                        Expr {
                            kind: ExprKind::Now(0),
                            ty: Type::DateTime,
                        },
                    )),
                    _ => {
                        self.err(
                            codes::TYPE_MISMATCH,
                            span_e.span,
                            "`window` takes a positive timespan such as 5d, or between (a .. b)",
                        );
                        None
                    }
                }
            }
            ast::WindowKind::Between(lo, hi) => {
                let lo_e = self.expr(lo);
                let hi_e = self.expr(hi);
                let ok_lo = lo_e.ty == Type::DateTime;
                let ok_hi = matches!(hi_e.ty, Type::DateTime | Type::Timespan);
                if !ok_lo || !ok_hi {
                    self.err(
                        codes::TYPE_MISMATCH,
                        w.span,
                        "`window between (a .. b)` needs datetimes (b may be a timespan added to a)",
                    );
                    return None;
                }
                let hi_e = if hi_e.ty == Type::Timespan {
                    Expr {
                        kind: ExprKind::Arith(ArithOp::Add, Box::new(lo_e.clone()), Box::new(hi_e)),
                        ty: Type::DateTime,
                    }
                } else {
                    hi_e
                };
                Some((lo_e, fold_const(hi_e)))
            }
        }
    }

    fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> Expr {
        let n = name.name.as_str();
        let arity = |cx: &mut Self, lo: usize, hi: usize| -> bool {
            if args.len() < lo || args.len() > hi {
                let want = if lo == hi {
                    format!("{lo}")
                } else {
                    format!("{lo} to {hi}")
                };
                cx.err(
                    codes::BAD_ARGUMENTS,
                    span,
                    format!("{n}() takes {want} argument(s), {} given", args.len()),
                );
                false
            } else {
                true
            }
        };
        match n {
            "now" | "ago" => {
                if !arity(self, usize::from(n == "ago"), 1) {
                    return self.error_expr();
                }
                let off = match args.first() {
                    None => 0,
                    Some(a) => {
                        let v = self.expr(a);
                        match v.as_const() {
                            Some(Value::Timespan(t)) => *t,
                            _ => {
                                return self.err(
                                    codes::BAD_ARGUMENTS,
                                    a.span,
                                    format!("{n}() takes a constant timespan such as 5d"),
                                )
                            }
                        }
                    }
                };
                let off = if n == "ago" {
                    off.saturating_neg()
                } else {
                    off
                };
                Expr {
                    kind: ExprKind::Now(off),
                    ty: Type::DateTime,
                }
            }
            "not" => {
                if !arity(self, 1, 1) {
                    return self.error_expr();
                }
                let x = self.predicate(&args[0]);
                Expr::negate(x)
            }
            "datetime" | "todatetime" => {
                if !arity(self, 1, 1) {
                    return self.error_expr();
                }
                let x = self.expr(&args[0]);
                Expr {
                    kind: ExprKind::Call(Func::ToDateTime, vec![x]),
                    ty: Type::DateTime,
                }
            }
            "trim_start" => {
                if !arity(self, 2, 2) {
                    return self.error_expr();
                }
                let re = self.expr(&args[0]);
                let x = self.expr(&args[1]);
                let Some(Value::Str(p)) = re.as_const() else {
                    return self.err(
                        codes::BAD_REGEX,
                        args[0].span,
                        "trim_start() needs a constant regex",
                    );
                };
                match kql::funcs::trim_start_regex(p) {
                    Ok(re) => Expr {
                        kind: ExprKind::TrimStart(Arc::new(re), Box::new(x)),
                        ty: Type::String,
                    },
                    Err(e) => self.err(
                        codes::BAD_REGEX,
                        args[0].span,
                        format!("invalid regex: {}", regex_message(&e)),
                    ),
                }
            }
            "count" | "countif" | "dcount" | "min" | "max" | "make_set" | "sum" | "makeset"
            | "arg_max" | "arg_min" => self.err(
                codes::BAD_AGGREGATE,
                name.span,
                format!("{n}() is an aggregate: it can only be used in `summarize`"),
            ),
            _ => {
                let (func, lo, hi, ty) = match n {
                    "isempty" => (Func::IsEmpty, 1, 1, Type::Bool),
                    "isnotempty" => (Func::IsNotEmpty, 1, 1, Type::Bool),
                    "isnull" => (Func::IsNull, 1, 1, Type::Bool),
                    "isnotnull" => (Func::IsNotNull, 1, 1, Type::Bool),
                    "tolower" => (Func::ToLower, 1, 1, Type::String),
                    "toupper" => (Func::ToUpper, 1, 1, Type::String),
                    "strlen" => (Func::StrLen, 1, 1, Type::Long),
                    "tostring" => (Func::ToString, 1, 1, Type::String),
                    "strcat" => (Func::StrCat, 1, 64, Type::String),
                    "split" => (Func::Split, 2, 2, Type::Dynamic),
                    "tolong" | "toint" => (Func::ToLong, 1, 1, Type::Long),
                    "toreal" | "todouble" => (Func::ToReal, 1, 1, Type::Real),
                    _ => {
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_FUNCTION,
                            self.file,
                            name.span,
                            format!("unknown function `{n}`"),
                        );
                        if let Some(h) = did_you_mean(n, FUNCTIONS.iter().copied()) {
                            d = d.with_note(format!("did you mean `{h}`?"));
                        }
                        self.diags.push(d);
                        return self.error_expr();
                    }
                };
                if !arity(self, lo, hi) {
                    return self.error_expr();
                }
                let args: Vec<Expr> = args.iter().map(|a| self.expr(a)).collect();
                if args.iter().any(Self::is_error) {
                    return self.error_expr();
                }
                Expr {
                    kind: ExprKind::Call(func, args),
                    ty,
                }
            }
        }
    }

    /// Lowers one aggregate of `summarize`. Returns it with its output columns as Kusto names
    /// them when the summarize gives no name (the caller applies `Name = ...`). `by` holds
    /// the columns the `by` keys read as a whole (an `arg_max(x, *)` leaves them out);
    /// `several_tables`: the rule reads more than one table (whose rows `*` cannot name).
    fn aggregate(
        &mut self,
        a: &ast::Expr,
        by: &[String],
        several_tables: bool,
    ) -> Option<(Agg, Vec<(String, Type)>)> {
        let ast::ExprKind::Call { name, args } = &a.kind else {
            self.err(
                codes::BAD_AGGREGATE,
                a.span,
                "expected an aggregate such as count(), min(x), max(x), dcount(x), make_set(x), arg_max(x, y)",
            );
            return None;
        };
        let kind = match name.name.as_str() {
            "count" => AggKind::Count,
            "countif" => AggKind::CountIf,
            "dcount" => AggKind::DCount,
            "min" => AggKind::Min,
            "max" => AggKind::Max,
            "make_set" | "makeset" => AggKind::MakeSet,
            "sum" => AggKind::Sum,
            "arg_max" => AggKind::ArgMax,
            "arg_min" => AggKind::ArgMin,
            other => {
                let mut d = Diagnostic::error(
                    codes::BAD_AGGREGATE,
                    self.file,
                    name.span,
                    format!("unknown aggregate `{other}`"),
                );
                if let Some(h) = did_you_mean(other, AGGREGATES.iter().copied()) {
                    d = d.with_note(format!("did you mean `{h}`?"));
                }
                self.diags.push(d);
                return None;
            }
        };
        let (lo, hi) = match kind {
            AggKind::Count => (0, 0),
            AggKind::MakeSet => (1, 2),
            AggKind::ArgMax | AggKind::ArgMin => (1, usize::MAX),
            _ => (1, 1),
        };
        if args.len() < lo || args.len() > hi {
            let want = match hi {
                usize::MAX => format!("{lo} or more"),
                _ if lo == hi => format!("{lo}"),
                _ => format!("{lo} to {hi}"),
            };
            self.err(
                codes::BAD_ARGUMENTS,
                a.span,
                format!(
                    "{}() takes {want} argument(s), {} given",
                    kind.name(),
                    args.len()
                ),
            );
            return None;
        }
        // `*` only stands for the row in arg_max / arg_min's returned arguments.
        let star_ok = matches!(kind, AggKind::ArgMax | AggKind::ArgMin);
        for (i, x) in args.iter().enumerate() {
            if matches!(x.kind, ast::ExprKind::Star) && !(star_ok && i > 0) {
                self.err(
                    codes::STAR_MISUSE,
                    x.span,
                    format!(
                        "`*` (every column of the row) cannot be {}",
                        if star_ok {
                            "the value arg_max / arg_min rank rows by"
                        } else {
                            "an argument of this aggregate"
                        }
                    ),
                );
                return None;
            }
        }
        if star_ok {
            return self.arg_extreme(kind, args, by, several_tables);
        }
        let arg = match kind {
            AggKind::Count => None,
            AggKind::CountIf => Some(self.predicate(&args[0])),
            _ => Some(self.expr(&args[0])),
        };
        if let Some(a) = &arg {
            self.no_sets(a, args[0].span);
        }
        if arg.as_ref().is_some_and(Self::is_error) {
            return None;
        }
        let mut limit = kql::MAKE_SET_MAX;
        if kind == AggKind::MakeSet && args.len() == 2 {
            let l = self.expr(&args[1]);
            match l.as_const() {
                Some(Value::Long(n)) if *n > 0 => limit = (*n as usize).min(kql::MAKE_SET_MAX),
                _ => {
                    self.err(
                        codes::BAD_ARGUMENTS,
                        args[1].span,
                        "make_set's limit must be a positive constant",
                    );
                    return None;
                }
            }
        }
        let arg_ty = arg.as_ref().map(|e| e.ty);
        let ty = match kind {
            AggKind::Count | AggKind::CountIf | AggKind::DCount => Type::Long,
            AggKind::MakeSet => Type::Dynamic,
            AggKind::Min | AggKind::Max => arg_ty.unwrap_or(Type::Dynamic),
            AggKind::Sum => {
                let t = arg_ty.unwrap_or(Type::Long);
                if !t.is_numeric() && t != Type::Timespan {
                    self.err(
                        codes::TYPE_MISMATCH,
                        a.span,
                        format!("sum() needs numbers, not {t}"),
                    );
                    return None;
                }
                if t == Type::Int {
                    Type::Long
                } else {
                    t
                }
            }
            // Lowered by `arg_extreme` above; never reached.
            AggKind::ArgMax | AggKind::ArgMin => return None,
        };
        let name = default_agg_name(kind, arg.as_ref());
        let agg = Agg {
            kind,
            arg,
            limit,
            returned: Vec::new(),
        };
        Some((agg, vec![(name, ty)]))
    }

    /// `arg_max(x, r1, ...)` / `arg_min`: lowers the ranked value and the returned ones, `*`
    /// expanded, and names the columns as Kusto does (Kusto.Language's `GetArgMinMaxResult`):
    /// a column (or a conversion of one to its own type) keeps its name; any other ranked
    /// value is `max_`, any other returned value `max_<x>_arg<i>`; with `*` among the
    /// arguments, a returned column already returned, ranked, or read whole by a `by` key is
    /// left out.
    fn arg_extreme(
        &mut self,
        kind: AggKind,
        args: &[ast::Expr],
        by: &[String],
        several_tables: bool,
    ) -> Option<(Agg, Vec<(String, Type)>)> {
        let prefix = if kind == AggKind::ArgMax {
            "max"
        } else {
            "min"
        };
        let star = args[1..]
            .iter()
            .find(|x| matches!(x.kind, ast::ExprKind::Star));
        if star.is_some() && several_tables {
            // Reported once for the rule by `star_over_several_tables`.
            return None;
        }
        let ranked = self.expr(&args[0]);
        self.no_sets(&ranked, args[0].span);
        if Self::is_error(&ranked) {
            return None;
        }
        if ranked.ty == Type::Dynamic {
            self.err(
                codes::TYPE_MISMATCH,
                args[0].span,
                format!(
                    "{}() ranks rows by a number, datetime, timespan, string or bool, not a dynamic value; convert it, e.g. with tostring(...)",
                    kind.name()
                ),
            );
            return None;
        }
        let primary = result_name(&args[0], &ranked);
        let mut columns = vec![(
            primary.clone().unwrap_or_else(|| format!("{prefix}_")),
            ranked.ty,
        )];
        // Columns `*` must not return again (Kusto's `doNotRepeat`).
        let mut seen: Vec<String> = column_of(&ranked)
            .map(|c| vec![c.to_string()])
            .unwrap_or_default();
        let mut returned = Vec::new();
        let mut ok = true;
        for (i, x) in args.iter().enumerate().skip(1) {
            if let ast::ExprKind::Star = x.kind {
                for (col, e) in self.row_columns() {
                    if seen.contains(&col) || by.contains(&col) {
                        continue;
                    }
                    columns.push((col.clone(), e.ty));
                    seen.push(col);
                    returned.push(e);
                }
                continue;
            }
            let e = self.expr(x);
            self.no_sets(&e, x.span);
            if Self::is_error(&e) {
                ok = false;
                continue;
            }
            if let Some(col) = column_of(&e) {
                if star.is_some() && (seen.iter().any(|s| s == col) || by.iter().any(|b| b == col))
                {
                    continue;
                }
                seen.push(col.to_string());
            }
            let name = result_name(x, &e)
                .unwrap_or_else(|| format!("{prefix}_{}_arg{i}", primary.as_deref().unwrap_or("")));
            columns.push((name, e.ty));
            returned.push(e);
        }
        if !ok {
            return None;
        }
        let agg = Agg {
            kind,
            arg: Some(ranked),
            limit: 0,
            returned,
        };
        Some((agg, columns))
    }

    /// The columns of the row at this point (for `*`): the table's columns in schema order,
    /// an `extend`ed column of the same name in its place, then the other `extend`ed columns
    /// in the order they were first assigned (as Kusto's `extend` adds them).
    fn row_columns(&mut self) -> Vec<(String, Expr)> {
        let computed = |cx: &Self, n: &str| cx.computed.iter().rposition(|(c, _)| c == n);
        let slot = |cx: &Self, i: usize| Expr {
            kind: ExprKind::Computed {
                slot: i as u32,
                name: Arc::from(cx.computed[i].0.as_str()),
            },
            ty: cx.computed[i].1,
        };
        let mut out = Vec::new();
        if let Some(t) = self.table {
            for (n, ty) in &t.columns {
                let e = match computed(self, n) {
                    Some(i) => slot(self, i),
                    None => Expr {
                        kind: ExprKind::Field {
                            field: self.fields.intern(n),
                            name: Arc::from(n.as_str()),
                        },
                        ty: *ty,
                    },
                };
                out.push((n.clone(), e));
            }
        }
        for (i, (n, _)) in self.computed.iter().enumerate() {
            let first = self.computed.iter().position(|(c, _)| c == n) == Some(i);
            let in_table = self.table.is_some_and(|t| t.column(n).is_some());
            if first && !in_table {
                let last = computed(self, n).unwrap_or(i);
                out.push((n.clone(), slot(self, last)));
            }
        }
        out
    }
}

/// The column `e` reads whole: a column (aliases resolved), an `extend`ed column, or a
/// conversion of one to its own type (`tostring(StringColumn)`), which Kusto names after the
/// column too.
fn column_of(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Field { name, .. } | ExprKind::Computed { name, .. } => Some(name),
        ExprKind::Call(Func::ToString | Func::ToLong | Func::ToReal | Func::ToDateTime, args)
            if args.len() == 1 && args[0].ty == e.ty =>
        {
            match &args[0].kind {
                ExprKind::Field { name, .. } | ExprKind::Computed { name, .. } => Some(name),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The name Kusto gives a result column computed by `e` (`lowered` is `e` lowered): the
/// column it reads whole, else a `let` name it is; `None` for other expressions.
fn result_name(e: &ast::Expr, lowered: &Expr) -> Option<String> {
    if let Some(c) = column_of(lowered) {
        return Some(c.to_string());
    }
    match &e.kind {
        ast::ExprKind::Name(id) => Some(id.name.clone()),
        _ => None,
    }
}

/// `name`, or `name1`, `name2`, ... when an earlier output column has it: Kusto's names for
/// columns the query does not name itself (`arg_max(Timestamp, DeviceName) by DeviceName`
/// gives `DeviceName`, `Timestamp`, `DeviceName1`).
fn unique_name(name: &str, cols: &[OutputColumn]) -> String {
    let taken = |n: &str| cols.iter().any(|c| c.name == n);
    if !taken(name) {
        return name.to_string();
    }
    (1u64..)
        .map(|k| format!("{name}{k}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| name.to_string())
}

fn flatten(vs: Vec<Value>, out: &mut Vec<Value>) {
    for v in vs {
        match v {
            Value::Array(inner) => flatten(inner, out),
            v => out.push(v),
        }
    }
}

/// Kusto's default output name of an unnamed aggregate: `count_`, `min_Timestamp`,
/// `set_ReportId`, `dcount_DeviceId`.
pub fn default_agg_name(kind: AggKind, arg: Option<&Expr>) -> String {
    let col = match arg.map(|e| &e.kind) {
        Some(ExprKind::Field { name, .. }) | Some(ExprKind::Computed { name, .. }) => {
            name.to_string()
        }
        _ => String::new(),
    };
    match kind {
        AggKind::Count => "count_".into(),
        AggKind::CountIf => "countif_".into(),
        AggKind::MakeSet => format!("set_{col}"),
        // The ranked value's column keeps its name; `arg_max(x * 2, ...)` gives `max_`.
        AggKind::ArgMax | AggKind::ArgMin if !col.is_empty() => col,
        AggKind::ArgMax => "max_".into(),
        AggKind::ArgMin => "min_".into(),
        k => format!("{}_{col}", k.name()),
    }
}

/// Lowers an expression with no rule around it (`scry eval`).
pub fn lower_standalone(
    e: &ast::Expr,
    table: Option<&TableSchema>,
    lets: &Lets,
    fields: &mut FieldSet,
    diags: &mut Vec<Diagnostic>,
) -> Expr {
    let mut cx = Cx {
        file: 0,
        table,
        lets,
        computed: Vec::new(),
        fields,
        diags,
        mode: Mode::Row,
        missing: Vec::new(),
        sets: None,
    };
    cx.expr(e)
}

fn meta_strings(v: &ast::MetaValue) -> Vec<String> {
    match v {
        ast::MetaValue::Str(s) => vec![s.value.clone()],
        ast::MetaValue::Word(w) => vec![w.name.clone()],
        ast::MetaValue::List(items, _) => items.iter().flat_map(meta_strings).collect(),
    }
}

fn meta_span(v: &ast::MetaValue) -> Span {
    match v {
        ast::MetaValue::Str(s) => s.span,
        ast::MetaValue::Word(w) => w.span,
        ast::MetaValue::List(_, s) => *s,
    }
}

fn lower_meta(r: &ast::Rule, file: usize, diags: &mut Vec<Diagnostic>) -> RuleMeta {
    let mut m = RuleMeta::default();
    for c in &r.clauses {
        let ast::Clause::Meta(meta) = c else { continue };
        let key = meta.key.name.as_str();
        let vals = meta_strings(&meta.value);
        let single = |diags: &mut Vec<Diagnostic>| -> Option<String> {
            if let ast::MetaValue::List(..) = meta.value {
                diags.push(Diagnostic::error(
                    codes::BAD_METADATA,
                    file,
                    meta_span(&meta.value),
                    format!("`{key}` takes one value, not a list"),
                ));
                return None;
            }
            vals.first().cloned()
        };
        match key {
            "id" => m.id = single(diags),
            "title" => m.title = single(diags),
            "description" => m.description = single(diags),
            "severity" => {
                m.severity = single(diags);
                if let Some(s) = &m.severity {
                    const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];
                    if !LEVELS.contains(&s.as_str()) {
                        diags.push(
                            Diagnostic::error(
                                codes::BAD_METADATA,
                                file,
                                meta_span(&meta.value),
                                format!("unknown severity `{s}`"),
                            )
                            .with_note(
                                "expected one of informational, low, medium, high, critical",
                            ),
                        );
                    }
                }
            }
            "tactics" => m.tactics = vals,
            "techniques" => m.techniques = vals,
            "references" => m.references = vals,
            k if META_KEYS.contains(&k) => m.other.push((k.to_string(), vals)),
            k => {
                let mut d = Diagnostic::warning(
                    codes::UNKNOWN_METADATA,
                    file,
                    meta.key.span,
                    format!("unknown metadata key `{k}`"),
                );
                if let Some(h) = did_you_mean(k, META_KEYS.iter().copied()) {
                    d = d.with_note(format!("did you mean `{h}`?"));
                }
                diags.push(d);
                m.other.push((k.to_string(), vals));
            }
        }
    }
    m
}

/// Lowers one rule against every table it reads. Returns `None` when the rule is unusable.
pub fn lower_rule(
    r: &ast::Rule,
    file: usize,
    file_lets: &Lets,
    catalog: &Catalog,
    fields: &mut FieldSet,
    sets: &mut SetRegistry,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let meta = lower_meta(r, file, diags);
    if meta.id.is_none() {
        diags.push(
            Diagnostic::warning(
                codes::MISSING_ID,
                file,
                r.name.span,
                format!("rule `{}` has no `id`", r.name.name),
            )
            .with_note("results are labelled with the rule name instead; add `id \"<uuid>\"` to keep them stable"),
        );
    }
    // Rule-local lets, in order, after the file's.
    let mut lets = file_lets.clone();
    for c in &r.clauses {
        if let ast::Clause::Let(l) = c {
            if lets.contains(&l.name.name) && !file_lets.contains(&l.name.name) {
                diags.push(Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    file,
                    l.name.span,
                    format!("`{}` is already defined", l.name.name),
                ));
                continue;
            }
            lets.remove(&l.name.name);
            add_let(&mut lets, l, file, diags);
        }
    }

    let froms: Vec<&ast::From> = r
        .clauses
        .iter()
        .filter_map(|c| match c {
            ast::Clause::From(f) => Some(f),
            _ => None,
        })
        .collect();
    if froms.is_empty() {
        diags.push(
            Diagnostic::error(
                codes::MISSING_FROM,
                file,
                r.name.span,
                format!("rule `{}` does not say which table it reads", r.name.name),
            )
            .with_note("add `from DeviceProcessEvents` (or another table)"),
        );
        return None;
    }
    let mut tables: Vec<&TableSchema> = Vec::new();
    for f in &froms {
        for t in &f.tables {
            match catalog.table(&t.name) {
                Some(s) => {
                    if !tables.iter().any(|x| x.name == s.name) {
                        tables.push(s)
                    }
                }
                None => {
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_TABLE,
                        file,
                        t.span,
                        format!("unknown table `{}`", t.name),
                    );
                    let names = catalog.tables().iter().map(|t| t.name.as_str());
                    if let Some(h) = did_you_mean(&t.name, names) {
                        d = d.with_note(format!("did you mean `{h}`?"));
                    } else {
                        d = d.with_note("add its schema with --schema FILE");
                    }
                    diags.push(d);
                }
            }
        }
    }
    if tables.is_empty() {
        return None;
    }
    // Clause order checks.
    let mut summarize: Option<&ast::Summarize> = None;
    let mut having: Option<&ast::Having> = None;
    let mut window: Option<&ast::Window> = None;
    let mut examples: Option<&ast::Examples> = None;
    let mut projection: Option<&ast::Project> = None;
    let mut take: Option<&ast::Take> = None;
    let order = |diags: &mut Vec<Diagnostic>, span: Span, msg: &str| {
        diags.push(Diagnostic::error(codes::CLAUSE_ORDER, file, span, msg))
    };
    for c in &r.clauses {
        // `take` keeps the first N of the rule's results, so everything that decides or
        // shapes them is written before it (a `where` after it would read as KQL's
        // `| take N | where`, which filters N arbitrary rows).
        if let Some(t) = take {
            let shaping = match c {
                ast::Clause::Where(x) => Some(("where", x.span)),
                ast::Clause::Extend(x) => Some(("extend", x.span)),
                ast::Clause::Summarize(x) => Some(("summarize", x.span)),
                ast::Clause::Having(x) => Some(("having", x.span)),
                ast::Clause::Project(x) => Some(("project", x.span)),
                _ => None,
            };
            if let Some((kw, span)) = shaping {
                diags.push(
                    Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        span,
                        format!("`{kw}` after `{}`", t.keyword.name),
                    )
                    .with_note(format!(
                        "`{}` keeps the first N of the rule's results: write it last",
                        t.keyword.name
                    )),
                );
            }
        }
        match c {
            ast::Clause::Project(p) => {
                if projection.is_some() {
                    order(diags, p.span, "a rule can have only one `project`");
                }
                projection = Some(p);
            }
            ast::Clause::Take(t) => {
                if take.is_some() {
                    order(diags, t.span, "a rule can have only one `take`");
                }
                take = Some(t);
            }
            ast::Clause::Where(w) if projection.is_some() && summarize.is_none() => order(
                diags,
                w.span,
                "`where` after `project`: `project` chooses the output columns, so it comes after the rule's conditions",
            ),
            ast::Clause::Extend(x) if projection.is_some() && summarize.is_none() => order(
                diags,
                x.span,
                "`extend` after `project`: compute the column first, then name it in `project`",
            ),
            ast::Clause::Having(h) if projection.is_some() && summarize.is_some() => order(
                diags,
                h.span,
                "`having` after `project`: filter the output of `summarize` first, then project it",
            ),
            ast::Clause::Summarize(s) if projection.is_some() && summarize.is_none() => {
                if let Some(p) = projection {
                    order(
                        diags,
                        p.span,
                        "`project` before `summarize`: the output of `summarize` is its keys and aggregates; compute values with `extend`, and write `project` after `summarize` to shape its output",
                    );
                }
                summarize = Some(s);
            }
            ast::Clause::Summarize(s) => {
                if summarize.is_some() {
                    diags.push(Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        s.span,
                        "a rule can have only one `summarize`",
                    ));
                }
                summarize = Some(s);
            }
            ast::Clause::Having(h) => {
                if summarize.is_none() {
                    diags.push(Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        h.span,
                        "`having` filters the output of `summarize`, which must come first",
                    ));
                }
                having = Some(h);
            }
            ast::Clause::Window(w) => {
                if window.is_some() {
                    diags.push(Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        w.span,
                        "a rule can have only one `window`",
                    ));
                }
                window = Some(w);
            }
            ast::Clause::Where(w) if summarize.is_some() => diags.push(Diagnostic::error(
                codes::CLAUSE_ORDER,
                file,
                w.span,
                "`where` after `summarize`: filter the output with `having`",
            )),
            ast::Clause::Examples(x) => {
                if examples.is_some() {
                    diags.push(Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        x.span,
                        "a rule can have only one `examples` block",
                    ));
                }
                examples = Some(x);
            }
            _ => {}
        }
    }

    // Exclusions: names unique.
    let mut exclusions: Vec<ExclusionInfo> = Vec::new();
    let mut except_asts: Vec<&ast::Except> = Vec::new();
    for c in &r.clauses {
        if let ast::Clause::Except(x) = c {
            if exclusions.iter().any(|e| e.name == x.name.value) {
                diags.push(Diagnostic::error(
                    codes::DUPLICATE_EXCLUSION,
                    file,
                    x.name.span,
                    format!(
                        "exclusion \"{}\" is defined twice in this rule",
                        x.name.value
                    ),
                ));
                continue;
            }
            exclusions.push(ExclusionInfo {
                name: x.name.value.clone(),
                description: x.description.as_ref().map(|d| d.value.clone()),
                span: x.span,
            });
            except_asts.push(x);
            lint::exclusion_too_broad(x, file, diags);
        }
    }

    if tables.len() > 1 {
        star_over_several_tables(summarize, file, diags);
    }

    let mut bodies = Vec::new();
    let mut body_cols: Vec<Vec<OutputColumn>> = Vec::new();
    let mut output: Option<Vec<OutputColumn>> = None;
    let mut having_ir = None;
    for t in &tables {
        let mut cx = Cx {
            file,
            table: Some(t),
            lets: &lets,
            computed: Vec::new(),
            fields,
            diags,
            mode: Mode::Row,
            missing: Vec::new(),
            sets: Some(&mut *sets),
        };
        let timestamp = t
            .column("Timestamp")
            .filter(|ty| *ty == Type::DateTime)
            .map(|_| cx.fields.intern("Timestamp"));
        let window_ir = window.and_then(|w| cx.window(w, timestamp.is_some(), &t.name));
        let mut steps = Vec::new();
        for c in &r.clauses {
            match c {
                ast::Clause::Where(w) => {
                    let p = cx.predicate(&w.predicate);
                    steps.push(Step::Where(p));
                }
                ast::Clause::Extend(x) => {
                    for a in &x.assignments {
                        let v = cx.expr(&a.value);
                        cx.no_sets(&v, a.value.span);
                        let name = match &a.name {
                            Some(n) => n.name.clone(),
                            None => match &a.value.kind {
                                ast::ExprKind::Name(id) => id.name.clone(),
                                _ => format!("Column{}", cx.computed.len() + 1),
                            },
                        };
                        let slot = cx.computed.len() as u32;
                        cx.computed.push((name, v.ty));
                        steps.push(Step::Extend(slot, v));
                    }
                }
                _ => {}
            }
        }
        // Exclusions see every computed column.
        let mut excl = Vec::new();
        for x in &except_asts {
            cx.mode = Mode::Exclusion;
            cx.missing.clear();
            let p = cx.predicate(&x.condition);
            cx.mode = Mode::Row;
            if cx.missing.is_empty() {
                lint::exclusion_matches_empty_event(x, &p, &t.name, file, cx.diags);
                excl.push(Some(p));
            } else {
                let names: Vec<String> = cx.missing.iter().map(|(n, _)| format!("`{n}`")).collect();
                let first = cx.missing[0].1;
                cx.diags.push(
                    Diagnostic::warning(
                        codes::EXCLUSION_FIELD_MISSING,
                        file,
                        first,
                        format!(
                            "exclusion \"{}\" reads {}, which {} does not have",
                            x.name.value,
                            names.join(", "),
                            t.name
                        ),
                    )
                    .with_label("no such column or alias in this table")
                    .with_note(format!(
                        "the exclusion can never match {} events, so it is ignored for them; map the field in an alias file or drop the exclusion from this rule",
                        t.name
                    )),
                );
                excl.push(None);
            }
        }
        // Summarize / projection.
        let mut keys = Vec::new();
        let mut aggs = Vec::new();
        let mut project = Vec::new();
        let mut out_cols: Vec<OutputColumn> = Vec::new();
        if let Some(s) = summarize {
            for k in &s.by {
                let v = cx.expr(&k.value);
                cx.no_sets(&v, k.value.span);
                let name = match (&k.name, &k.value.kind) {
                    (Some(n), _) => n.name.clone(),
                    (None, ast::ExprKind::Name(id)) => match &v.kind {
                        ExprKind::Field { name, .. } if id.name.contains('.') => name.to_string(),
                        _ => id.name.clone(),
                    },
                    _ => format!("Column{}", out_cols.len() + 1),
                };
                if v.ty == Type::Dynamic && !Cx::is_error(&v) {
                    // Grouping by a dynamic value is allowed in Kusto only for scalars; keep it
                    // simple and explicit.
                    cx.err(
                        codes::TYPE_MISMATCH,
                        k.span,
                        "cannot group by a dynamic value; wrap it in tostring(...)",
                    );
                }
                out_cols.push(OutputColumn { name, ty: v.ty });
                keys.push(v);
            }
            // The columns the `by` keys read whole: `arg_max(x, *)` does not return them again.
            let by: Vec<String> = keys
                .iter()
                .filter_map(|k| column_of(k).map(str::to_string))
                .collect();
            for a in &s.aggregates {
                let Some((agg, cols)) = cx.aggregate(&a.value, &by, tables.len() > 1) else {
                    continue;
                };
                let tuple = matches!(agg.kind, AggKind::ArgMax | AggKind::ArgMin);
                for (i, (natural, ty)) in cols.into_iter().enumerate() {
                    // `Name = arg_max(...)` names the first column only (Kusto: "a single name
                    // assigned from a tuple assigns the first value"); the columns nobody
                    // named get a free name, as Kusto renames them.
                    let name = match (&a.name, i) {
                        (Some(n), 0) => n.name.clone(),
                        _ if tuple => unique_name(&natural, &out_cols),
                        _ => natural,
                    };
                    out_cols.push(OutputColumn { name, ty });
                }
                aggs.push(agg);
            }
        } else if let Some(p) = projection {
            // The output is exactly the projected columns, read from the row after every
            // `where` and `extend`.
            for a in &p.columns {
                let v = cx.expr(&a.value);
                cx.no_sets(&v, a.value.span);
                let name = match &a.name {
                    Some(n) => n.name.clone(),
                    None => output_name(&a.value, &v, &out_cols),
                };
                out_cols.push(OutputColumn { name, ty: v.ty });
                project.push(v);
            }
        } else {
            let mut names: Vec<String> = Vec::new();
            for c in ["Timestamp", "DeviceId", "DeviceName", "ReportId"] {
                if t.column(c).is_some() {
                    names.push(c.to_string());
                }
            }
            let mut referenced = Vec::new();
            for s in &steps {
                let (Step::Where(e) | Step::Extend(_, e)) = s;
                e.walk(&mut |n| {
                    if let ExprKind::Field { name, .. } = &n.kind {
                        referenced.push(name.to_string());
                    }
                });
            }
            for n in referenced {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            for n in names {
                let ty = t.column(&n).unwrap_or(Type::String);
                let field = cx.fields.intern(&n);
                project.push(Expr {
                    kind: ExprKind::Field {
                        field,
                        name: Arc::from(n.as_str()),
                    },
                    ty,
                });
                out_cols.push(OutputColumn { name: n, ty });
            }
            for (i, (n, ty)) in cx.computed.iter().enumerate() {
                project.push(Expr {
                    kind: ExprKind::Computed {
                        slot: i as u32,
                        name: Arc::from(n.as_str()),
                    },
                    ty: *ty,
                });
                out_cols.push(OutputColumn {
                    name: n.clone(),
                    ty: *ty,
                });
            }
        }
        // Output names must be unique.
        let mut seen = HashSet::new();
        for c in &out_cols {
            if !seen.insert(c.name.clone()) {
                let span = match (summarize, projection) {
                    (Some(s), _) => s.span,
                    (None, Some(p)) => p.span,
                    (None, None) => r.name.span,
                };
                cx.err(
                    codes::DUPLICATE_NAME,
                    span,
                    format!("output column `{}` is defined twice", c.name),
                );
            }
        }
        body_cols.push(out_cols.clone());
        match &output {
            None => {
                // `having` sees the output columns as computed slots.
                if let Some(h) = having {
                    let mut hx = Cx {
                        file,
                        table: None,
                        lets: &lets,
                        computed: out_cols.iter().map(|c| (c.name.clone(), c.ty)).collect(),
                        fields: cx.fields,
                        diags: cx.diags,
                        mode: Mode::Row,
                        missing: Vec::new(),
                        sets: None,
                    };
                    having_ir = Some(hx.predicate(&h.predicate));
                }
                output = Some(out_cols);
            }
            Some(prev) => {
                if *prev != out_cols && summarize.is_some() {
                    cx.err(
                        codes::TYPE_MISMATCH,
                        r.name.span,
                        format!(
                            "the output columns differ between the rule's tables (in {})",
                            t.name
                        ),
                    );
                }
            }
        }
        // The relaxed steps (every set test assumed to go the rule's way) reject rows early,
        // before the sets are known.
        let uses_sets = steps.iter().any(|s| match s {
            Step::Where(p) => p.uses_sets(),
            Step::Extend(..) => false,
        }) || excl.iter().flatten().any(Expr::uses_sets);
        let relaxed = uses_sets.then(|| {
            steps
                .iter()
                .map(|s| match s {
                    Step::Where(p) => Step::Where(p.clone().relax_sets(true)),
                    other => other.clone(),
                })
                .collect()
        });
        let computed = cx.computed.len();
        let computed_names = cx.computed.iter().map(|(n, _)| n.clone()).collect();
        bodies.push(Body {
            table: t.name.clone(),
            timestamp,
            window: window_ir,
            steps,
            relaxed,
            exclusions: excl,
            keys,
            aggs,
            project,
            computed,
            computed_names,
        });
    }
    // Without `summarize`, a rule over several tables outputs the union of their columns
    // (a KQL `union` does the same); a table without a column gives its empty value.
    if summarize.is_none() && bodies.len() > 1 {
        let mut union: Vec<OutputColumn> = Vec::new();
        for cols in &body_cols {
            for c in cols {
                if !union.iter().any(|u| u.name == c.name) {
                    union.push(c.clone());
                }
            }
        }
        for (b, cols) in bodies.iter_mut().zip(&body_cols) {
            let mut old = std::mem::take(&mut b.project);
            b.project = union
                .iter()
                .map(|u| match cols.iter().position(|c| c.name == u.name) {
                    Some(i) => std::mem::replace(&mut old[i], Expr::bool(false)),
                    None if u.ty.is_stringish() => Expr::constant(Value::Str(String::new()), u.ty),
                    None => Expr::constant(Value::Null, u.ty),
                })
                .collect();
        }
        output = Some(union);
    }
    let output = output.unwrap_or_default();

    // `project` after `summarize` reads its output, as `having` does; the rule's output is
    // then the projected columns.
    let (final_output, reshape) = match (summarize, projection) {
        (Some(_), Some(p)) => {
            let mut px = Cx {
                file,
                table: None,
                lets: &lets,
                computed: output.iter().map(|c| (c.name.clone(), c.ty)).collect(),
                fields,
                diags,
                mode: Mode::Row,
                missing: Vec::new(),
                sets: None,
            };
            let mut cols: Vec<OutputColumn> = Vec::new();
            let mut exprs = Vec::new();
            for a in &p.columns {
                let v = px.expr(&a.value);
                let name = match &a.name {
                    Some(n) => n.name.clone(),
                    None => output_name(&a.value, &v, &cols),
                };
                if cols.iter().any(|c| c.name == name) {
                    px.err(
                        codes::DUPLICATE_NAME,
                        a.span,
                        format!("output column `{name}` is defined twice"),
                    );
                }
                cols.push(OutputColumn { name, ty: v.ty });
                exprs.push(v);
            }
            (cols, Some(exprs))
        }
        _ => (output.clone(), None),
    };
    let take = take.and_then(|t| lower_take(t, file, &lets, diags));

    // The sets the rule tests, and the tables they read (`given` examples may be in those).
    let mut rule_sets: Vec<SetId> = Vec::new();
    for b in &bodies {
        let steps = b.steps.iter().map(|s| match s {
            Step::Where(e) | Step::Extend(_, e) => e,
        });
        for e in steps.chain(b.exclusions.iter().flatten()) {
            e.walk(&mut |n| {
                if let ExprKind::InSet { set, .. } = n.kind {
                    rule_sets.push(set);
                }
            });
        }
    }
    rule_sets.sort();
    rule_sets.dedup();
    let set_tables: Vec<&str> = rule_sets
        .iter()
        .filter_map(|id| sets.defs.get(id.0 as usize))
        .flat_map(|d| d.bodies.iter().map(|b| b.table.as_str()))
        .collect();

    // Examples.
    let mut examples_now = None;
    let mut cases = Vec::new();
    if let Some(x) = examples {
        if let Some(n) = &x.now {
            let mut fx = FieldSet::new();
            let e = lower_standalone(n, None, &lets, &mut fx, diags);
            match e.as_const() {
                Some(Value::DateTime(t)) => examples_now = Some(*t),
                _ => diags.push(Diagnostic::error(
                    codes::BAD_EXAMPLE,
                    file,
                    n.span,
                    "`examples at` takes a constant datetime, e.g. datetime(2024-05-15T12:00:00Z)",
                )),
            }
        }
        for c in &x.cases {
            let table = match &c.table {
                Some(t) => {
                    let read = tables.iter().any(|s| s.name == t.name)
                        || (c.expect == ast::Expect::Given
                            && set_tables.contains(&t.name.as_str()));
                    if !read {
                        diags.push(Diagnostic::error(
                            codes::BAD_EXAMPLE,
                            file,
                            t.span,
                            format!("neither this rule nor its sets read {}", t.name),
                        ));
                        continue;
                    }
                    t.name.clone()
                }
                None if tables.len() == 1 => tables[0].name.clone(),
                None => {
                    diags.push(Diagnostic::error(
                        codes::BAD_EXAMPLE,
                        file,
                        c.label.span,
                        "this rule reads several tables: say which with `in Table`",
                    ));
                    continue;
                }
            };
            if let Err(e) =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&c.event.text)
            {
                let off = offset_of(&c.event.text, e.line(), e.column());
                let at = c.event.span.start as usize + off;
                diags.push(Diagnostic::error(
                    codes::BAD_EXAMPLE,
                    file,
                    Span::new(at, at + 1),
                    format!("example event is not a JSON object: {e}"),
                ));
                continue;
            }
            let expect = match &c.expect {
                ast::Expect::Match => Expectation::Match,
                ast::Expect::NoMatch => Expectation::NoMatch,
                ast::Expect::Given => Expectation::Given,
                ast::Expect::Suppressed(name) => {
                    match exclusions.iter().position(|e| e.name == name.value) {
                        Some(i) => Expectation::Suppressed(i),
                        None => {
                            let mut d = Diagnostic::error(
                                codes::UNKNOWN_EXCLUSION,
                                file,
                                name.span,
                                format!("this rule has no exclusion \"{}\"", name.value),
                            );
                            if let Some(h) = did_you_mean(
                                &name.value,
                                exclusions.iter().map(|e| e.name.as_str()),
                            ) {
                                d = d.with_note(format!("did you mean \"{h}\"?"));
                            }
                            diags.push(d);
                            continue;
                        }
                    }
                }
            };
            cases.push(ExampleCase {
                expect,
                label: c.label.value.clone(),
                table,
                json: c.event.text.clone(),
                span: c.span,
            });
        }
    } else {
        diags.push(
            Diagnostic::warning(
                codes::NO_EXAMPLES,
                file,
                r.name.span,
                format!("rule `{}` has no examples", r.name.name),
            )
            .with_note("add an `examples` block with events that must and must not match; `scry test` runs them"),
        );
    }

    // Result rows start with these fields (`ResultRow::to_json_line`); a column of the same
    // name would make ndjson carry the key twice, and readers keep only one of them.
    for c in &final_output {
        if ["rule", "name", "title"].contains(&c.name.as_str()) {
            diags.push(
                Diagnostic::warning(
                    codes::OUTPUT_NAME_TAKEN,
                    file,
                    r.name.span,
                    format!(
                        "rule `{}` outputs a column `{}`, a field every result row already has",
                        r.name.name, c.name
                    ),
                )
                .with_note(
                    "result rows start with `rule` (the id), `name` and `title`; rename the column",
                ),
            );
        }
    }

    Some(Rule {
        name: r.name.name.clone(),
        meta,
        file,
        span: r.span,
        bodies,
        exclusions,
        summarize: summarize.is_some(),
        output: final_output,
        grouped: if summarize.is_some() {
            output
        } else {
            Vec::new()
        },
        having: having_ir,
        reshape,
        projected: summarize.is_none() && projection.is_some(),
        take,
        examples_now,
        examples: cases,
        sets: rule_sets,
    })
}

/// `arg_max(x, *)` in a rule over several tables: `*` would be a different row shape per table
/// (Kusto's `union` would merge them, renaming clashes by type), so scry asks for the columns.
/// Checked once per rule, not once per table.
fn star_over_several_tables(
    summarize: Option<&ast::Summarize>,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(s) = summarize else { return };
    for a in &s.aggregates {
        let ast::ExprKind::Call { name, args } = &a.value.kind else {
            continue;
        };
        if !matches!(name.name.as_str(), "arg_max" | "arg_min") {
            continue;
        }
        if let Some(star) = args
            .iter()
            .skip(1)
            .find(|x| matches!(x.kind, ast::ExprKind::Star))
        {
            diags.push(
                Diagnostic::error(
                    codes::STAR_MISUSE,
                    file,
                    star.span,
                    "`*` in a rule over several tables: their rows have different columns",
                )
                .with_label("every column of which table?")
                .with_note(format!(
                    "name the returned columns: `{}(Timestamp, DeviceName, ReportId)`",
                    name.name
                )),
            );
        }
    }
}

/// `take N`: N must be a constant, non-negative whole number (a literal or a `let`).
fn lower_take(t: &ast::Take, file: usize, lets: &Lets, diags: &mut Vec<Diagnostic>) -> Option<u64> {
    let mut scratch = Vec::new();
    let e = lower_standalone(&t.count, None, lets, &mut FieldSet::new(), &mut scratch);
    let n = match e.as_const() {
        Some(Value::Long(n)) if scratch.is_empty() => *n,
        _ => {
            // A column or an unknown name reads as "not a constant" here, whatever the
            // expression's own problem was.
            let what = if scratch.is_empty() {
                format!("this is {}", a_type(e.ty))
            } else {
                "this is not a constant".to_string()
            };
            diags.push(
                Diagnostic::error(
                    codes::BAD_TAKE,
                    file,
                    t.count.span,
                    format!("`{}` takes a constant whole number of rows", t.keyword.name),
                )
                .with_label(what)
                .with_note("write a number such as `take 10`, or a `let` bound to one"),
            );
            return None;
        }
    };
    if n < 0 {
        diags.push(
            Diagnostic::error(
                codes::BAD_TAKE,
                file,
                t.count.span,
                format!("`{}` takes a number of rows, not {n}", t.keyword.name),
            )
            .with_label("negative"),
        );
        return None;
    }
    Some(n as u64)
}

/// The name of an output column `project` does not name: the column it reads whole (a dotted
/// alias gives the column it stands for in this table), a `let` name, else Kusto's next free
/// `Column1`, `Column2`, ...
fn output_name(e: &ast::Expr, lowered: &Expr, cols: &[OutputColumn]) -> String {
    if let ast::ExprKind::Name(id) = &e.kind {
        if !id.name.contains('.') {
            return id.name.clone();
        }
    }
    if let Some(n) = result_name(e, lowered) {
        return n;
    }
    (1u64..)
        .map(|k| format!("Column{k}"))
        .find(|n| !cols.iter().any(|c| &c.name == n))
        .unwrap_or_else(|| "Column".into())
}

/// Byte offset of 1-based (line, column) in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut off = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (off + column.saturating_sub(1)).min(text.len().saturating_sub(1));
        }
        off += l.len();
    }
    text.len().saturating_sub(1)
}

/// The regex crate's message without its multi-line drawing (the caret is ours).
fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

/// "a long", "an int": for messages.
fn a_type(t: Type) -> String {
    let n = t.name();
    if n.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {n}")
    } else {
        format!("a {n}")
    }
}
