//! The visitor's expressions: names, strings, operator chains, comparisons, primaries,
//! set queries and literals.

use super::*;

impl Visitor {
    /// `ident`, `bracket_name`, `meta_key`, `meta_word`.
    pub(super) fn visit_name(&mut self, p: Pair<'_, Rule>) -> Ident {
        let sp = span(&p);
        if p.as_rule() == Rule::bracket_name {
            // bracket_name = { lbrack ~ string_part ~ rbrack }
            let part = sig(p.into_inner())
                .next()
                .unwrap_or_else(|| unreachable!("bracket_name: string_part"));
            let name = self.visit_string_part(&part);
            return Ident { name, span: sp };
        }
        Ident {
            name: p.as_str().to_string(),
            span: sp,
        }
    }

    pub(super) fn visit_string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let sp = span(&pair);
        let mut value = String::new();
        for part in pair.into_inner() {
            value.push_str(&self.visit_string_part(&part));
        }
        StrLit { value, span: sp }
    }

    pub(super) fn visit_string_part(&mut self, p: &Pair<'_, Rule>) -> String {
        match literal::decode_string(p.as_str(), p.as_span().start()) {
            Ok(s) => s,
            Err(errs) => {
                self.errors.extend(errs);
                String::new()
            }
        }
    }

    // ------------------------------------------------------------------ expressions

    pub(super) fn visit_expr(&mut self, pair: Pair<'_, Rule>) -> Ex {
        self.visit_chain(pair, |op| match op {
            Rule::kw_or => Some(BinOp::Or),
            _ => None,
        })
    }

    /// `expr`, `and_expr`, `add_expr`, `mul_expr`: `operand (op operand)*`, folded to the left.
    pub(super) fn visit_chain(
        &mut self,
        pair: Pair<'_, Rule>,
        op_of: fn(Rule) -> Option<BinOp>,
    ) -> Ex {
        let mut it = pair.into_inner();
        let first = it
            .next()
            .unwrap_or_else(|| unreachable!("operator chains start with an operand"));
        let mut acc_span = span(&first);
        let mut acc = self.visit_operand(first);
        while let Some(op) = it.next() {
            let op_span = span(&op);
            let bin = op_of(op.as_rule())
                .or_else(|| BinOp::from_token(op.as_str()))
                .unwrap_or_else(|| unreachable!("chain operator rules: {:?}", op.as_rule()));
            let rhs = it
                .next()
                .unwrap_or_else(|| unreachable!("an operator is followed by an operand"));
            acc_span = acc_span.to(span(&rhs));
            let rhs = self.visit_operand(rhs);
            let depth = acc.depth.max(rhs.depth);
            acc = self.node(
                ExprKind::Binary {
                    op: bin,
                    op_span,
                    lhs: Box::new(acc.expr),
                    rhs: Box::new(rhs.expr),
                },
                acc_span,
                depth,
            );
        }
        acc
    }

    pub(super) fn visit_operand(&mut self, p: Pair<'_, Rule>) -> Ex {
        match p.as_rule() {
            Rule::expr => self.visit_expr(p),
            Rule::and_expr => self.visit_chain(p, |op| match op {
                Rule::kw_and => Some(BinOp::And),
                _ => None,
            }),
            Rule::cmp_expr => self.visit_cmp_expr(p),
            Rule::add_expr | Rule::mul_expr => self.visit_chain(p, |_| None),
            Rule::unary => self.visit_unary(p),
            // expr > and_expr > cmp_expr > add_expr > mul_expr > unary
            r => unreachable!("not an operand rule: {r:?}"),
        }
    }

    pub(super) fn visit_cmp_expr(&mut self, pair: Pair<'_, Rule>) -> Ex {
        let sp = span(&pair);
        let mut it = pair.into_inner();
        let lhs = self.visit_operand(it.next().unwrap_or_else(|| unreachable!("cmp_expr: lhs")));
        let Some(tail) = it.next() else {
            return lhs;
        };
        let tail_rule = tail.as_rule();
        let tail_span = span(&tail);
        let tail_pairs: Vec<Pair<'_, Rule>> = tail.into_inner().collect();
        let mut parts = sig_vec(&tail_pairs);
        // Every *_tail starts with its operator token (kw_ rules are filtered by `sig`).
        match tail_rule {
            // list_tail = { list_op ~ list }
            Rule::list_tail => {
                let op = parts
                    .next()
                    .unwrap_or_else(|| unreachable!("list_tail: op"));
                let op_span = span(&op);
                let list_op = match op.as_str() {
                    "in" => ListOp::In,
                    "!in" => ListOp::NotIn,
                    "in~" => ListOp::InCi,
                    "!in~" => ListOp::NotInCi,
                    "has_any" => ListOp::HasAny,
                    "has_all" => ListOp::HasAll,
                    s => unreachable!("list_op spells {s}"),
                };
                let list = parts
                    .next()
                    .unwrap_or_else(|| unreachable!("list_tail: list"));
                let (items, depth) = self.visit_items(list.into_inner());
                let depth = depth.max(lhs.depth);
                self.node(
                    ExprKind::InList {
                        op: list_op,
                        op_span,
                        lhs: Box::new(lhs.expr),
                        list: items,
                    },
                    sp,
                    depth,
                )
            }
            // between_tail = { between_op ~ lparen ~ expr ~ dotdot ~ expr ~ rparen }
            Rule::between_tail => {
                let op = parts
                    .next()
                    .unwrap_or_else(|| unreachable!("between_tail: op"));
                let negated = op.as_str().starts_with('!');
                let low = self.visit_expr(
                    parts
                        .next()
                        .unwrap_or_else(|| unreachable!("between_tail: low expr")),
                );
                let high = self.visit_expr(
                    parts
                        .next()
                        .unwrap_or_else(|| unreachable!("between_tail: high expr")),
                );
                let depth = lhs.depth.max(low.depth).max(high.depth);
                self.node(
                    ExprKind::Between {
                        negated,
                        lhs: Box::new(lhs.expr),
                        low: Box::new(low.expr),
                        high: Box::new(high.expr),
                    },
                    sp,
                    depth,
                )
            }
            Rule::regex_tail | Rule::str_tail | Rule::cmp_tail => {
                let (op, op_span, rhs) = if tail_rule == Rule::regex_tail {
                    // regex_tail = { kw_matches ~ kw_regex ~ add_expr }
                    let op_span = Span::new(tail_span.start as usize, rhs_start(&tail_pairs));
                    (BinOp::MatchesRegex, op_span, parts.next())
                } else {
                    // str_tail = { str_op ~ add_expr }, cmp_tail = { cmp_op ~ add_expr }
                    let op = parts
                        .next()
                        .unwrap_or_else(|| unreachable!("tail: operator"));
                    let bin = BinOp::from_token(op.as_str()).unwrap_or_else(|| {
                        unreachable!("cmp_op/str_op spell a BinOp: {}", op.as_str())
                    });
                    (bin, span(&op), parts.next())
                };
                let rhs = self.visit_operand(rhs.unwrap_or_else(|| unreachable!("tail: rhs")));
                let depth = lhs.depth.max(rhs.depth);
                self.node(
                    ExprKind::Binary {
                        op,
                        op_span,
                        lhs: Box::new(lhs.expr),
                        rhs: Box::new(rhs.expr),
                    },
                    sp,
                    depth,
                )
            }
            // cmp_expr = { add_expr ~ (list_tail | between_tail | regex_tail | str_tail | cmp_tail)? }
            r => unreachable!("rule `cmp_expr` has no tail {r:?}"),
        }
    }

    pub(super) fn visit_unary(&mut self, pair: Pair<'_, Rule>) -> Ex {
        // unary = { prefix_op* ~ postfix }: apply the operators innermost (rightmost) first.
        let pairs: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
        let Some((operand, ops)) = pairs.split_last() else {
            unreachable!("unary: postfix")
        };
        let end = span(operand).end as usize;
        let mut acc = self.visit_postfix(operand.clone());
        for op in ops.iter().rev() {
            let sp = Span::new(op.as_span().start(), end);
            let inner = Box::new(acc.expr);
            let kind = if op.as_str() == "-" {
                ExprKind::Neg(inner)
            } else {
                ExprKind::Not(inner)
            };
            acc = self.node(kind, sp, acc.depth);
        }
        acc
    }

    pub(super) fn visit_postfix(&mut self, pair: Pair<'_, Rule>) -> Ex {
        let start = pair.as_span().start();
        let mut it = pair.into_inner();
        // postfix = { primary ~ index_suffix* }
        let mut acc = self.visit_primary(
            it.next()
                .unwrap_or_else(|| unreachable!("postfix: primary")),
        );
        for suffix in it {
            let sp = Span::new(start, span(&suffix).end as usize);
            let idx = sig(suffix.into_inner())
                .next()
                .unwrap_or_else(|| unreachable!("index_suffix: expr"));
            let index = self.visit_expr(idx);
            let depth = acc.depth.max(index.depth);
            acc = self.node(
                ExprKind::Index {
                    base: Box::new(acc.expr),
                    index: Box::new(index.expr),
                },
                sp,
                depth,
            );
        }
        acc
    }

    pub(super) fn visit_primary(&mut self, p: Pair<'_, Rule>) -> Ex {
        let sp = span(&p);
        match p.as_rule() {
            Rule::ident | Rule::bracket_name => {
                let id = self.visit_name(p);
                self.leaf(ExprKind::Name(id), sp)
            }
            Rule::string => {
                let s = self.visit_string(p);
                self.leaf(ExprKind::Literal(Literal::Str(s.value)), sp)
            }
            Rule::bool_lit => self.leaf(ExprKind::Literal(Literal::Bool(p.as_str() == "true")), sp),
            Rule::number => {
                let lit = self.visit_number(&p);
                self.leaf(ExprKind::Literal(lit), sp)
            }
            Rule::typed_null => {
                // typed_null = { null_type ~ lparen ~ kw_null ~ rparen }
                let ty = p.into_inner().next().map(|t| t.as_str().to_string());
                let ty = ty.unwrap_or_else(|| unreachable!("typed_null: null_type"));
                self.leaf(ExprKind::Literal(Literal::Null(ty)), sp)
            }
            Rule::datetime_lit => {
                // datetime_lit = { kw_datetime ~ lparen ~ (string | datetime_text) ~ rparen }
                let inner = sig(p.into_inner())
                    .next()
                    .unwrap_or_else(|| unreachable!("datetime_lit: text"));
                let text = if inner.as_rule() == Rule::string {
                    self.visit_string(inner).value
                } else {
                    inner.as_str().trim_end().to_string()
                };
                self.leaf(ExprKind::Literal(Literal::DateTime(text)), sp)
            }
            Rule::timespan_lit => {
                let lit = self.visit_timespan_lit(p);
                self.leaf(ExprKind::Literal(lit), sp)
            }
            Rule::dynamic_lit => {
                // dynamic_lit = { kw_dynamic ~ lparen ~ dynamic_array ~ rparen }
                let arr = sig(p.into_inner())
                    .next()
                    .unwrap_or_else(|| unreachable!("dynamic_lit: array"));
                let mut e = self.visit_dynamic_array(arr);
                e.expr.span = sp;
                e
            }
            Rule::paren => self.visit_paren(p),
            Rule::query => self.visit_query(p),
            Rule::call => {
                let mut it = sig(p.into_inner());
                let name =
                    self.visit_name(it.next().unwrap_or_else(|| unreachable!("call: ident")));
                // call = { ident ~ lparen ~ (call_arg ~ (comma ~ call_arg)*)? ~ rparen }, where
                // a call_arg is an `expr` or a `star`.
                let mut args = Vec::new();
                let mut depth = 0;
                for a in it {
                    if a.as_rule() == Rule::star {
                        args.push(Expr {
                            kind: ExprKind::Star,
                            span: span(&a),
                        });
                    } else {
                        let e = self.visit_expr(a);
                        depth = depth.max(e.depth);
                        args.push(e.expr);
                    }
                }
                self.node(ExprKind::Call { name, args }, sp, depth)
            }
            // primary = _{ typed_null | datetime_lit | ... | call | name }
            r => unreachable!("rule `primary` has no alternative {r:?}"),
        }
    }

    pub(super) fn visit_query(&mut self, pair: Pair<'_, Rule>) -> Ex {
        let sp = span(&pair);
        // query = { kw_from ~ name ~ (comma ~ name)* ~ window_clause? ~ where_clause* ~ kw_distinct ~ name }
        let mut tables = vec![];
        let mut window = None;
        let mut filters = vec![];
        let mut distinct = None;
        let mut after_distinct = false;
        let mut depth = 0;
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::kw_distinct => after_distinct = true,
                Rule::ident | Rule::bracket_name if after_distinct => {
                    distinct = Some(self.visit_name(p))
                }
                Rule::ident | Rule::bracket_name => tables.push(self.visit_name(p)),
                Rule::window_clause => window = Some(self.visit_window_clause(p)),
                Rule::where_clause => {
                    let wsp = span(&p);
                    let e = self.visit_expr(
                        sig(p.into_inner())
                            .next()
                            .unwrap_or_else(|| unreachable!("where_clause: expr")),
                    );
                    depth = depth.max(e.depth);
                    filters.push(Where {
                        predicate: e.expr,
                        span: wsp,
                    });
                }
                r => unreachable!("rule `query` has no child {r:?}"),
            }
        }
        let query = Query {
            tables,
            window,
            filters,
            distinct: distinct.unwrap_or_else(|| unreachable!("query: distinct column")),
        };
        self.node(ExprKind::Query(Box::new(query)), sp, depth)
    }

    pub(super) fn visit_dynamic_array(&mut self, pair: Pair<'_, Rule>) -> Ex {
        let sp = span(&pair);
        let mut items = vec![];
        let mut depth = 0;
        for p in sig(pair.into_inner()) {
            let e = if p.as_rule() == Rule::dynamic_array {
                self.visit_dynamic_array(p)
            } else {
                self.visit_expr(p)
            };
            depth = depth.max(e.depth);
            items.push(e.expr);
        }
        self.node(ExprKind::List(items), sp, depth)
    }

    /// `(a)` is the expression `a` (its span widened to the parentheses); `()`, `(a,)` and
    /// `(a, b)` are lists.
    pub(super) fn visit_paren(&mut self, pair: Pair<'_, Rule>) -> Ex {
        let sp = span(&pair);
        let children: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
        let commas = children
            .iter()
            .filter(|p| p.as_rule() == Rule::comma)
            .count();
        let (mut items, depth) = self.visit_items(children.into_iter());
        if commas == 0 && items.len() == 1 {
            let mut e = items.pop().unwrap_or_else(|| unreachable!("one item"));
            e.span = sp;
            return Ex { expr: e, depth };
        }
        self.node(ExprKind::List(items), sp, depth)
    }

    /// The `expr` children of a list-shaped rule (`list`, `paren`, `call` arguments).
    pub(super) fn visit_items<'p>(
        &mut self,
        pairs: impl Iterator<Item = Pair<'p, Rule>>,
    ) -> (Vec<Expr>, usize) {
        let mut depth = 0;
        let mut items = vec![];
        for p in pairs.filter(|p| p.as_rule() == Rule::expr) {
            let e = self.visit_expr(p);
            depth = depth.max(e.depth);
            items.push(e.expr);
        }
        (items, depth)
    }

    pub(super) fn visit_number(&mut self, p: &Pair<'_, Rule>) -> Literal {
        match literal::number(p.as_str(), span(p)) {
            Ok(lit) => lit,
            Err(e) => {
                self.error(e);
                Literal::Null("error".into())
            }
        }
    }

    pub(super) fn visit_timespan_lit(&mut self, pair: Pair<'_, Rule>) -> Literal {
        // timespan_lit = { kw_timespan ~ lparen ~ (clock_time | number) ~ rparen }
        let inner = sig(pair.into_inner())
            .next()
            .unwrap_or_else(|| unreachable!("timespan_lit: value"));
        let result = if inner.as_rule() == Rule::clock_time {
            literal::clock_time(inner.as_str(), span(&inner))
        } else {
            // A bare number in `time(2)` counts days, as in KQL.
            let text = inner.as_str();
            if text.ends_with(|c: char| c.is_ascii_digit()) {
                literal::number(&format!("{text}d"), span(&inner))
            } else {
                literal::number(text, span(&inner))
            }
        };
        match result {
            Ok(lit) => lit,
            Err(e) => {
                self.error(e);
                Literal::Null("error".into())
            }
        }
    }
}

/// Where the right operand of a tail starts: the end of its operator keywords.
fn rhs_start(pairs: &[Pair<'_, Rule>]) -> usize {
    pairs.iter().rev().nth(1).map_or(0, |kw| kw.as_span().end())
}

impl BinOp {
    /// The binary operator a `cmp_op`, `str_op`, `add_op` or `mul_op` token spells (`==`,
    /// `!has_cs`, `%`, ...); `None` for any other text.
    pub fn from_token(s: &str) -> Option<BinOp> {
        Some(match s {
            "==" => BinOp::Eq,
            "!=" | "<>" => BinOp::NotEq,
            "=~" => BinOp::EqCi,
            "!~" => BinOp::NotEqCi,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Mod,
            _ => {
                let negated = s.starts_with('!');
                let t = s.trim_start_matches('!');
                let case_sensitive = t.ends_with("_cs");
                let t = t.trim_end_matches("_cs");
                let kind = match t {
                    "has" => StrOpKind::Has,
                    "hasprefix" => StrOpKind::HasPrefix,
                    "hassuffix" => StrOpKind::HasSuffix,
                    "contains" => StrOpKind::Contains,
                    "startswith" => StrOpKind::StartsWith,
                    "endswith" => StrOpKind::EndsWith,
                    _ => return None,
                };
                BinOp::Str(StrOp {
                    kind,
                    case_sensitive,
                    negated,
                })
            }
        })
    }
}
