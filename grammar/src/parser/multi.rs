//! The visitor's clauses over several events: `threshold`, `sequence` and its steps, `join`
//! with its time condition, `first_seen`.

use super::*;

impl Visitor {
    pub(super) fn visit_threshold_clause(&mut self, pair: Pair<'_, Rule>) -> Threshold {
        let sp = span(&pair);
        // threshold_clause = { kw_threshold ~ (name ~ assign_eq)? ~ expr ~ kw_within ~ expr
        //                      ~ by_list? ~ with_list? }
        let mut name = None;
        let mut exprs = vec![];
        let mut by = vec![];
        let mut with = vec![];
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::ident | Rule::bracket_name => name = Some(self.visit_name(p)),
                Rule::expr => exprs.push(self.visit_expr(p).expr),
                Rule::by_list => by = self.visit_assignments(p),
                Rule::with_list => with = self.visit_assignments(p),
                r => unreachable!("rule `threshold_clause` has no child {r:?}"),
            }
        }
        let mut exprs = exprs.into_iter();
        let condition = exprs
            .next()
            .unwrap_or_else(|| unreachable!("threshold_clause: condition"));
        let within = exprs
            .next()
            .unwrap_or_else(|| unreachable!("threshold_clause: within"));
        Threshold {
            name,
            condition,
            within,
            by,
            with,
            span: sp,
        }
    }

    pub(super) fn visit_sequence_clause(&mut self, pair: Pair<'_, Rule>) -> Sequence {
        let sp = span(&pair);
        // sequence_clause = { kw_sequence ~ kw_unordered? ~ kw_within ~ expr ~ by_list?
        //                     ~ lbrace ~ step_decl+ ~ until_decl? ~ rbrace }
        let mut unordered = false;
        let mut within = None;
        let mut by = vec![];
        let mut steps = vec![];
        let mut until = None;
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::kw_unordered => unordered = true,
                Rule::expr => within = Some(self.visit_expr(p).expr),
                Rule::by_list => by = self.visit_assignments(p),
                Rule::step_decl => steps.push(self.visit_step(p)),
                Rule::until_decl => until = Some(self.visit_step(p)),
                r => unreachable!("rule `sequence_clause` has no child {r:?}"),
            }
        }
        Sequence {
            unordered,
            within: within.unwrap_or_else(|| unreachable!("sequence_clause: within")),
            by,
            steps,
            until,
            span: sp,
        }
    }

    /// `step_decl` and `until_decl`.
    pub(super) fn visit_step(&mut self, pair: Pair<'_, Rule>) -> SeqStep {
        let sp = span(&pair);
        let is_until = pair.as_rule() == Rule::until_decl;
        let mut name = None;
        let mut tables = vec![];
        let mut clauses = vec![];
        let mut by = vec![];
        let mut gate = None;
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::ident if !is_until && name.is_none() => name = Some(self.visit_name(p)),
                Rule::step_gate => gate = Some(self.visit_step_gate(p)),
                Rule::ident | Rule::bracket_name => tables.push(self.visit_name(p)),
                Rule::where_clause | Rule::extend_clause => clauses.push(self.visit_clause(p)),
                Rule::step_by => {
                    by = sig(p.into_inner())
                        .map(|e| self.visit_expr(e).expr)
                        .collect()
                }
                r => unreachable!("rule `step_decl` has no child {r:?}"),
            }
        }
        SeqStep {
            name,
            tables,
            clauses,
            by,
            gate,
            span: sp,
        }
    }

    /// `step_gate = { kw_threshold ~ expr ~ kw_within ~ expr }`.
    fn visit_step_gate(&mut self, pair: Pair<'_, Rule>) -> StepGate {
        let sp = span(&pair);
        let mut exprs = sig(pair.into_inner())
            .filter(|p| p.as_rule() == Rule::expr)
            .map(|p| self.visit_expr(p).expr);
        let condition = exprs
            .next()
            .unwrap_or_else(|| unreachable!("step_gate: condition"));
        let within = exprs
            .next()
            .unwrap_or_else(|| unreachable!("step_gate: within"));
        StepGate {
            condition,
            within,
            span: sp,
        }
    }

    pub(super) fn visit_join_clause(&mut self, pair: Pair<'_, Rule>) -> Join {
        let sp = span(&pair);
        // join_clause = { kw_join ~ kw_kind ~ assign_eq ~ ident ~ lparen ~ join_query ~ rparen
        //                 ~ kw_on ~ join_key ~ (comma ~ join_key)* }
        let mut kind = None;
        let mut tables = vec![];
        let mut window = None;
        let mut filters = vec![];
        let mut on = vec![];
        let mut time = None;
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::ident => kind = Some(self.visit_name(p)),
                Rule::join_query => {
                    for q in sig(p.into_inner()) {
                        match q.as_rule() {
                            Rule::ident | Rule::bracket_name => tables.push(self.visit_name(q)),
                            Rule::window_clause => window = Some(self.visit_window_clause(q)),
                            Rule::where_clause => {
                                let wsp = span(&q);
                                let e = self.visit_expr(
                                    sig(q.into_inner())
                                        .next()
                                        .unwrap_or_else(|| unreachable!("where_clause: expr")),
                                );
                                filters.push(Where {
                                    predicate: e.expr,
                                    span: wsp,
                                });
                            }
                            r => unreachable!("rule `join_query` has no child {r:?}"),
                        }
                    }
                }
                Rule::join_key => {
                    let ksp = span(&p);
                    // `$left.A`, `$right.B` or a name (`['A b']` too): `visit_name` reads each.
                    let parts: Vec<Ident> =
                        sig(p.into_inner()).map(|x| self.visit_name(x)).collect();
                    let (left, right) = match parts.as_slice() {
                        [a, b] => (a.clone(), b.clone()),
                        [a] => (a.clone(), a.clone()),
                        _ => unreachable!("join_key: one name or two sides"),
                    };
                    on.push(JoinKey {
                        left,
                        right,
                        span: ksp,
                    });
                }
                Rule::join_time => time = Some(Box::new(self.visit_join_time(p))),
                r => unreachable!("rule `join_clause` has no child {r:?}"),
            }
        }
        Join {
            kind: kind.unwrap_or_else(|| unreachable!("join_clause: kind")),
            tables,
            window,
            filters,
            on,
            time,
            span: sp,
        }
    }

    pub(super) fn visit_join_time(&mut self, pair: Pair<'_, Rule>) -> JoinTime {
        // join_time = { side_ref ~ kw_between ~ lparen ~ join_bound ~ dotdot ~ join_bound ~ rparen }
        let sp = span(&pair);
        let mut column = None;
        let mut bounds = Vec::new();
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::side_ref => column = Some(self.visit_name(p)),
                Rule::join_bound => bounds.push(self.visit_join_bound(p)),
                _ => {}
            }
        }
        let [low, high]: [JoinBound; 2] = bounds
            .try_into()
            .unwrap_or_else(|_| unreachable!("join_time: two bounds"));
        JoinTime {
            column: column.unwrap_or_else(|| unreachable!("join_time: column")),
            low,
            high,
            span: sp,
        }
    }

    pub(super) fn visit_join_bound(&mut self, pair: Pair<'_, Rule>) -> JoinBound {
        // join_bound = { side_ref ~ (join_sign ~ number)? }
        let sp = span(&pair);
        let mut column = None;
        let mut negative = false;
        let mut offset = None;
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::side_ref => column = Some(self.visit_name(p)),
                Rule::join_sign => negative = p.as_str() == "-",
                Rule::number => {
                    let at = span(&p);
                    let lit = self.visit_number(&p);
                    offset = Some(Expr {
                        kind: ExprKind::Literal(lit),
                        span: at,
                    });
                }
                r => unreachable!("rule `join_bound` has no child {r:?}"),
            }
        }
        JoinBound {
            column: column.unwrap_or_else(|| unreachable!("join_bound: column")),
            offset: offset.map(|o| (negative, o)),
            span: sp,
        }
    }

    pub(super) fn visit_first_seen_clause(&mut self, pair: Pair<'_, Rule>) -> FirstSeen {
        let sp = span(&pair);
        // first_seen_clause = { kw_first_seen ~ assignment ~ by_list ~ kw_detect ~ expr
        //                       ~ kw_history ~ expr ~ with_list? }
        let mut term = None;
        let mut by = vec![];
        let mut exprs = vec![];
        let mut with = vec![];
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::assignment => term = Some(self.visit_assignment(p)),
                Rule::by_list => by = self.visit_assignments(p),
                Rule::expr => exprs.push(self.visit_expr(p).expr),
                Rule::with_list => with = self.visit_assignments(p),
                r => unreachable!("rule `first_seen_clause` has no child {r:?}"),
            }
        }
        let mut exprs = exprs.into_iter();
        FirstSeen {
            term: term.unwrap_or_else(|| unreachable!("first_seen_clause: term")),
            by,
            detect: exprs
                .next()
                .unwrap_or_else(|| unreachable!("first_seen_clause: detect")),
            history: exprs
                .next()
                .unwrap_or_else(|| unreachable!("first_seen_clause: history")),
            with,
            span: sp,
        }
    }

    // ------------------------------------------------------------------ names, strings
}
