//! Type checking and lowering of function calls and aggregates (`summarize`, `arg_max`, ...).

use super::*;
use crate::kql::bins::Period;

impl Cx<'_> {
    pub(super) fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> Expr {
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
            "bin" | "floor" | "bin_at" => self.bin_call(n, args, span),
            "startofday" | "startofweek" | "startofmonth" | "startofyear" | "endofday"
            | "endofweek" | "endofmonth" | "endofyear" => {
                if !arity(self, 1, 2) {
                    return self.error_expr();
                }
                let period = match &n[n.len() - 3..] {
                    "day" => Period::Day,
                    "eek" => Period::Week,
                    "nth" => Period::Month,
                    _ => Period::Year,
                };
                let func = if n.starts_with("start") {
                    Func::StartOf(period)
                } else {
                    Func::EndOf(period)
                };
                let lowered: Vec<Expr> = args.iter().map(|a| self.expr(a)).collect();
                if lowered.iter().any(Self::is_error) {
                    return self.error_expr();
                }
                if lowered[0].ty != Type::DateTime {
                    return self.err(
                        codes::TYPE_MISMATCH,
                        args[0].span,
                        format!("{n}() takes a datetime, not {}", a_type(lowered[0].ty)),
                    );
                }
                if let Some(o) = lowered.get(1) {
                    if !matches!(o.ty, Type::Long | Type::Int) {
                        return self.err(
                            codes::TYPE_MISMATCH,
                            args[1].span,
                            format!(
                                "{n}()'s offset is a whole number of periods, not {}",
                                a_type(o.ty)
                            ),
                        );
                    }
                }
                Expr {
                    kind: ExprKind::Call(func, lowered),
                    ty: Type::DateTime,
                }
            }
            "startofhour" | "startofminute" | "startofsecond" => {
                let unit = &n[7..];
                let size = match unit {
                    "hour" => "1h",
                    "minute" => "1m",
                    _ => "1s",
                };
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_FUNCTION,
                    self.file,
                    name.span,
                    format!("KQL has no `{n}`"),
                );
                d = d.with_note(format!(
                    "did you mean `bin(Timestamp, {size})`? KQL's period starts are startofday, startofweek, startofmonth and startofyear"
                ));
                self.diags.push(d);
                self.error_expr()
            }
            "count" | "countif" | "dcount" | "min" | "max" | "make_set" | "sum" | "avg"
            | "makeset" | "arg_max" | "arg_min" => self.err(
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
    pub(super) fn aggregate(
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
            "avg" => AggKind::Avg,
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
            AggKind::Avg => {
                let t = arg_ty.unwrap_or(Type::Long);
                if !t.is_numeric() {
                    self.err(
                        codes::TYPE_MISMATCH,
                        a.span,
                        format!("avg() needs numbers, not {t}"),
                    );
                    return None;
                }
                Type::Real
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
    pub(super) fn arg_extreme(
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
    pub(super) fn row_columns(&mut self) -> Vec<(String, Expr)> {
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

impl Cx<'_> {
    /// `bin(x, size)`, `floor(x, size)`, `bin_at(x, size, fixed)`: the value's type decides
    /// the size's (a datetime is binned by a timespan, as Kusto requires) and the result's.
    fn bin_call(&mut self, n: &str, args: &[ast::Expr], span: Span) -> Expr {
        let want = if n == "bin_at" { 3 } else { 2 };
        if args.len() != want {
            return self.err(
                codes::BAD_ARGUMENTS,
                span,
                format!("{n}() takes {want} arguments, {} given", args.len()),
            );
        }
        let lowered: Vec<Expr> = args.iter().map(|a| self.expr(a)).collect();
        if lowered.iter().any(Self::is_error) {
            return self.error_expr();
        }
        let (x, size) = (lowered[0].ty, lowered[1].ty);
        let numeric = |t: Type| matches!(t, Type::Long | Type::Int | Type::Real);
        let ty = match (x, size) {
            (Type::DateTime | Type::Timespan, Type::Timespan) => x,
            (Type::Long | Type::Int, Type::Long | Type::Int) => Type::Long,
            (a, b) if numeric(a) && numeric(b) => Type::Real,
            (Type::DateTime, _) => {
                return self.err(
                    codes::TYPE_MISMATCH,
                    args[1].span,
                    format!(
                        "{n}() bins a datetime by a timespan such as 10m or 1d, not {}",
                        a_type(size)
                    ),
                )
            }
            _ => {
                return self.err(
                    codes::TYPE_MISMATCH,
                    span,
                    format!(
                        "{n}() takes a number, datetime or timespan and a size of the same kind, not {} and {}",
                        a_type(x),
                        a_type(size)
                    ),
                )
            }
        };
        if let Some(f) = lowered.get(2) {
            let ok = f.ty == x || (numeric(f.ty) && numeric(x));
            if !ok {
                return self.err(
                    codes::TYPE_MISMATCH,
                    args[2].span,
                    format!(
                        "bin_at()'s fixed point must be {}, not {}",
                        a_type(x),
                        a_type(f.ty)
                    ),
                );
            }
        }
        let func = if n == "bin_at" {
            Func::BinAt
        } else {
            Func::Bin
        };
        Expr {
            kind: ExprKind::Call(func, lowered),
            ty,
        }
    }
}
