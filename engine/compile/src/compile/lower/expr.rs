//! Type checking and lowering of expressions: literals, operators, string predicates, lists
//! and sets, windows.

use super::*;

impl Cx<'_> {
    pub(super) fn expr(&mut self, e: &ast::Expr) -> Expr {
        let out = self.expr_inner(e);
        fold_const(out)
    }

    pub(super) fn predicate(&mut self, e: &ast::Expr) -> Expr {
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

    pub(super) fn expr_inner(&mut self, e: &ast::Expr) -> Expr {
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

    pub(super) fn literal(&mut self, lit: &ast::Literal, span: Span) -> Expr {
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

    pub(super) fn binary(
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

    pub(super) fn str_pred(&mut self, p: StrPred, a: Expr, b: Expr, ls: Span, rs: Span) -> Expr {
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
    pub(super) fn const_list(&mut self, items: &[ast::Expr], out: &mut Vec<Value>) -> bool {
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
    pub(super) fn set_operand<'q>(
        &'q self,
        item: &'q ast::Expr,
    ) -> Option<(&'q ast::Expr, String)> {
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
    pub(super) fn no_sets(&mut self, e: &Expr, span: Span) {
        if e.uses_sets() {
            self.err(
                codes::SET_MISUSE,
                span,
                "a set can be tested in `where` and `except` only, not in `extend` or `summarize`",
            );
        }
    }

    pub(super) fn set_as_value(&mut self, span: Span, what: &str) -> Expr {
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

    pub(super) fn in_list(
        &mut self,
        op: ListOp,
        op_span: Span,
        lhs: &ast::Expr,
        list: &[ast::Expr],
    ) -> Expr {
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

    pub(super) fn in_set(&mut self, op: ListOp, lhs: &ast::Expr, item: &ast::Expr) -> Expr {
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
    pub(super) fn lower_set(
        &mut self,
        query: &ast::Expr,
        name: &str,
        used_at: Span,
    ) -> Option<SetId> {
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
    pub(super) fn window(
        &mut self,
        w: &ast::Window,
        has_ts: bool,
        table: &str,
    ) -> Option<(Expr, Expr)> {
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
}
