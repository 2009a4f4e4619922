//! The pest parser and the visitor that turns its pairs into the [`crate::ast`].
//!
//! One `visit_<rule>` per grammar rule, each keeping its pair's span. Errors found while
//! visiting (bad escapes, overflowing literals, nesting) are collected rather than returned
//! at the first one, so a file with three bad literals reports all three.
//!
//! Longer than our ~800-line guide on purpose: one `visit_<rule>` per grammar rule, in the
//! grammar's order, so that the file reads beside `scry.pest`; the rules are many and short.

use crate::ast::{
    Assignment, BinOp, Clause, Example, ExampleEvent, Examples, Except, Expect, Expr, ExprKind,
    Extend, File, FirstSeen, From, Having, Ident, Item, Join, JoinBound, JoinKey, JoinTime,
    JsonText, Let, ListOp, Literal, Meta, MetaValue, Project, Query, SeqStep, Sequence, Span,
    StrLit, StrOp, StrOpKind, Summarize, Take, Threshold, Where, Window, WindowKind,
};
use crate::pest_rules::{Rule, ScryParser};
use crate::{literal, prescan, SyntaxError, MAX_NESTING};
use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

/// Above this bracket depth the parse runs on a thread with a large stack: pest and the
/// visitor recurse a dozen frames per bracket, and the calling thread may be a small one.
const INLINE_DEPTH: usize = 24;
const BIG_STACK: usize = 64 << 20;

/// Pre-scans, then runs `parse` where its stack is big enough for the measured depth.
pub(crate) fn run<T: Send>(
    src: &str,
    parse: impl Fn(&str) -> Result<T, Vec<SyntaxError>> + Sync,
) -> Result<T, Vec<SyntaxError>> {
    let scan = prescan::prescan(src).map_err(|e| vec![e])?;
    if scan.max_depth <= INLINE_DEPTH {
        return parse(src);
    }
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("scry-parse".into())
            .stack_size(BIG_STACK)
            .spawn_scoped(s, || parse(src))
        {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread available: the depth is bounded by MAX_NESTING, which a default main
            // thread stack survives; better to try than to refuse.
            Err(_) => parse(src),
        }
    })
}

pub(crate) fn parse_file(src: &str) -> Result<File, Vec<SyntaxError>> {
    let mut pairs =
        ScryParser::parse(Rule::file, src).map_err(|e| vec![crate::pest_error::convert(src, e)])?;
    // `file` is the entry rule, so `parse` returned exactly one `file` pair on success.
    let file = pairs
        .next()
        .unwrap_or_else(|| unreachable!("rule `file` matched"));
    let mut v = Visitor::new();
    let file = v.visit_file(file);
    v.finish(file)
}

pub(crate) fn parse_expr(src: &str) -> Result<Expr, Vec<SyntaxError>> {
    let mut pairs = ScryParser::parse(Rule::expr_only, src)
        .map_err(|e| vec![crate::pest_error::convert(src, e)])?;
    let top = pairs
        .next()
        .unwrap_or_else(|| unreachable!("rule `expr_only` matched"));
    let mut v = Visitor::new();
    // expr_only = { SOI ~ expr ~ EOI }: the only significant child is `expr`.
    let expr = sig(top.into_inner())
        .next()
        .map(|p| v.visit_expr(p).expr)
        .unwrap_or_else(|| unreachable!("rule `expr_only` has an `expr`"));
    v.finish(expr)
}

/// Pairs that carry meaning: punctuation and keywords are named rules only for diagnostics.
fn sig(pairs: Pairs<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pairs.filter(|p| !is_token(p.as_rule()))
}

fn sig_vec<'a, 'p>(pairs: &'a [Pair<'p, Rule>]) -> impl Iterator<Item = Pair<'p, Rule>> + 'a {
    pairs.iter().filter(|p| !is_token(p.as_rule())).cloned()
}

fn is_token(r: Rule) -> bool {
    matches!(
        r,
        Rule::lparen
            | Rule::rparen
            | Rule::lbrack
            | Rule::rbrack
            | Rule::lbrace
            | Rule::rbrace
            | Rule::comma
            | Rule::semi
            | Rule::dotdot
            | Rule::assign_eq
            | Rule::EOI
    ) || is_keyword(r)
}

fn is_keyword(r: Rule) -> bool {
    use Rule::*;
    matches!(
        r,
        kw_rule
            | kw_let
            | kw_from
            | kw_window
            | kw_where
            | kw_extend
            | kw_except
            | kw_summarize
            | kw_having
            | kw_project
            | kw_examples
            | kw_by
            | kw_when
            | kw_description
            | kw_at
            | kw_match
            | kw_no_match
            | kw_suppressed
            | kw_and
            | kw_or
            | kw_not
            | kw_in
            | kw_between
            | kw_matches
            | kw_regex
            | kw_null
            | kw_datetime
            | kw_timespan
            | kw_dynamic
            | kw_threshold
            | kw_within
            | kw_with
            | kw_sequence
            | kw_step
            | kw_until
            | kw_first_seen
            | kw_detect
            | kw_history
            | kw_expect
            | kw_join
            | kw_kind
            | kw_on
            | join_eq
    )
}

/// A JSON object as written.
fn json_text(p: &Pair<'_, Rule>) -> JsonText {
    JsonText {
        text: p.as_str().to_string(),
        span: span(p),
    }
}

/// The pair's span without trailing trivia: pest's implicit whitespace runs before each
/// element of a sequence, so a rule ending in `x*` or `x?` that matched nothing has already
/// swallowed the whitespace and comments after its last token. Every non-atomic rule consists
/// of named rules only, so the last token's end is the true end.
fn span(p: &Pair<'_, Rule>) -> Span {
    Span::new(p.as_span().start(), tight_end(p))
}

fn tight_end(p: &Pair<'_, Rule>) -> usize {
    let mut p = p.clone();
    // `next_back`, not `last`: `Pairs` is double-ended, so this is O(1) per level instead of a
    // walk over every child (which made long example blocks quadratic).
    while let Some(last) = p.clone().into_inner().next_back() {
        p = last;
    }
    p.as_span().end()
}

/// An expression with the height of its tree, so that the nesting limit also covers long
/// operator chains (which pest parses by repetition, without recursing).
pub(crate) struct Ex {
    expr: Expr,
    depth: usize,
}

struct Visitor {
    errors: Vec<SyntaxError>,
    too_deep_reported: bool,
}

impl Visitor {
    fn new() -> Self {
        Visitor {
            errors: vec![],
            too_deep_reported: false,
        }
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<SyntaxError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }

    fn error(&mut self, e: SyntaxError) {
        self.errors.push(e);
    }

    /// Builds a node one level above its deepest child; past the limit, reports once and
    /// returns a leaf so the tree (and the stack needed to drop it) stops growing.
    fn node(&mut self, kind: ExprKind, span: Span, child_depth: usize) -> Ex {
        let depth = child_depth + 1;
        if depth > MAX_NESTING {
            if !self.too_deep_reported {
                self.too_deep_reported = true;
                self.error(prescan::too_deep(span));
            }
            return Ex {
                expr: Expr {
                    kind: ExprKind::Literal(Literal::Null("error".into())),
                    span,
                },
                depth: 0,
            };
        }
        Ex {
            expr: Expr { kind, span },
            depth,
        }
    }

    fn leaf(&mut self, kind: ExprKind, span: Span) -> Ex {
        self.node(kind, span, 0)
    }

    // ------------------------------------------------------------------ items

    fn visit_file(&mut self, pair: Pair<'_, Rule>) -> File {
        let mut items = vec![];
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::let_decl => items.push(Item::Let(self.visit_let_decl(p))),
                Rule::rule_decl => items.push(Item::Rule(self.visit_rule(p))),
                // file = { SOI ~ (let_decl | rule_decl)* ~ EOI }
                r => unreachable!("rule `file` has no child {r:?}"),
            }
        }
        File { items }
    }

    fn visit_let_decl(&mut self, pair: Pair<'_, Rule>) -> Let {
        let sp = span(&pair);
        let mut it = sig(pair.into_inner());
        // let_decl = { kw_let ~ name ~ assign_eq ~ expr ~ semi }
        let name = self.visit_name(it.next().unwrap_or_else(|| unreachable!("let_decl: name")));
        let value = self.visit_expr(it.next().unwrap_or_else(|| unreachable!("let_decl: expr")));
        Let {
            name,
            value: value.expr,
            span: sp,
        }
    }

    fn visit_rule(&mut self, pair: Pair<'_, Rule>) -> Rule_ {
        let sp = span(&pair);
        let mut it = sig(pair.into_inner());
        // rule_decl = { kw_rule ~ ident ~ lbrace ~ meta* ~ clause* ~ rbrace }: metadata and
        // clauses are one list in the AST, in source order.
        let name = self.visit_name(it.next().unwrap_or_else(|| unreachable!("rule: ident")));
        let clauses = it.map(|p| self.visit_clause(p)).collect();
        Rule_ {
            name,
            clauses,
            span: sp,
        }
    }

    fn visit_clause(&mut self, p: Pair<'_, Rule>) -> Clause {
        match p.as_rule() {
            Rule::meta => Clause::Meta(self.visit_meta(p)),
            Rule::from_clause => Clause::From(self.visit_from_clause(p)),
            Rule::window_clause => Clause::Window(self.visit_window_clause(p)),
            Rule::let_decl => Clause::Let(self.visit_let_decl(p)),
            Rule::where_clause => {
                let sp = span(&p);
                let predicate = self.visit_only_expr(p);
                Clause::Where(Where {
                    predicate,
                    span: sp,
                })
            }
            Rule::having_clause => {
                let sp = span(&p);
                let predicate = self.visit_only_expr(p);
                Clause::Having(Having {
                    predicate,
                    span: sp,
                })
            }
            Rule::extend_clause => {
                let sp = span(&p);
                let assignments = sig(p.into_inner())
                    .map(|a| self.visit_assignment(a))
                    .collect();
                Clause::Extend(Extend {
                    assignments,
                    span: sp,
                })
            }
            Rule::except_clause => Clause::Except(self.visit_except_clause(p)),
            Rule::summarize_clause => Clause::Summarize(self.visit_summarize_clause(p)),
            Rule::project_clause => Clause::Project(self.visit_project_clause(p)),
            Rule::take_clause => Clause::Take(self.visit_take_clause(p)),
            Rule::examples_clause => Clause::Examples(self.visit_examples_clause(p)),
            Rule::threshold_clause => Clause::Threshold(self.visit_threshold_clause(p)),
            Rule::sequence_clause => Clause::Sequence(self.visit_sequence_clause(p)),
            Rule::first_seen_clause => Clause::FirstSeen(self.visit_first_seen_clause(p)),
            Rule::join_clause => Clause::Join(self.visit_join_clause(p)),
            // clause = _{ from_clause | window_clause | ... | meta }
            r => unreachable!("rule `clause` has no alternative {r:?}"),
        }
    }

    /// `where_clause`, `having_clause`: a keyword and one `expr`.
    fn visit_only_expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let e = sig(pair.into_inner())
            .next()
            .unwrap_or_else(|| unreachable!("where_clause/having_clause: expr"));
        self.visit_expr(e).expr
    }

    fn visit_meta(&mut self, pair: Pair<'_, Rule>) -> Meta {
        let sp = span(&pair);
        let mut it = sig(pair.into_inner());
        // meta = { !clause_kw ~ meta_key ~ meta_value }
        let key = self.visit_name(it.next().unwrap_or_else(|| unreachable!("meta: key")));
        let value = self.visit_meta_value(it.next().unwrap_or_else(|| unreachable!("meta: value")));
        Meta {
            key,
            value,
            span: sp,
        }
    }

    fn visit_meta_value(&mut self, p: Pair<'_, Rule>) -> MetaValue {
        match p.as_rule() {
            Rule::string => MetaValue::Str(self.visit_string(p)),
            Rule::meta_word => MetaValue::Word(self.visit_name(p)),
            Rule::meta_list => {
                let sp = span(&p);
                let items = sig(p.into_inner())
                    .map(|i| self.visit_meta_value(i))
                    .collect();
                MetaValue::List(items, sp)
            }
            // meta_value = _{ string | meta_list | meta_word }
            r => unreachable!("rule `meta_value` has no alternative {r:?}"),
        }
    }

    fn visit_from_clause(&mut self, pair: Pair<'_, Rule>) -> From {
        let sp = span(&pair);
        let tables = sig(pair.into_inner()).map(|p| self.visit_name(p)).collect();
        From { tables, span: sp }
    }

    fn visit_window_clause(&mut self, pair: Pair<'_, Rule>) -> Window {
        let sp = span(&pair);
        // window_clause = { kw_window ~ (window_between | expr) }
        let inner = sig(pair.into_inner())
            .next()
            .unwrap_or_else(|| unreachable!("window_clause: body"));
        let kind = if inner.as_rule() == Rule::window_between {
            let mut it = sig(inner.into_inner());
            let low = self.visit_expr(it.next().unwrap_or_else(|| unreachable!("window: low")));
            let high = self.visit_expr(it.next().unwrap_or_else(|| unreachable!("window: high")));
            WindowKind::Between(low.expr, high.expr)
        } else {
            WindowKind::Lookback(self.visit_expr(inner).expr)
        };
        Window { kind, span: sp }
    }

    fn visit_assignment(&mut self, pair: Pair<'_, Rule>) -> Assignment {
        let sp = span(&pair);
        // assignment = { (name ~ assign_eq)? ~ expr }
        let mut name = None;
        let mut value = None;
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::expr => value = Some(self.visit_expr(p).expr),
                _ => name = Some(self.visit_name(p)),
            }
        }
        Assignment {
            name,
            value: value.unwrap_or_else(|| unreachable!("assignment: expr")),
            span: sp,
        }
    }

    fn visit_except_clause(&mut self, pair: Pair<'_, Rule>) -> Except {
        let sp = span(&pair);
        let mut name = None;
        let mut description = None;
        let mut condition = None;
        // except_clause = { kw_except ~ string ~ (except_body | kw_when ~ expr) }
        // except_body   = { lbrace ~ (kw_description ~ string)? ~ kw_when ~ expr ~ rbrace }
        let mut visit = |v: &mut Self, p: Pair<'_, Rule>| match p.as_rule() {
            Rule::string if name.is_none() => name = Some(v.visit_string(p)),
            Rule::string => description = Some(v.visit_string(p)),
            Rule::expr => condition = Some(v.visit_expr(p).expr),
            _ => {}
        };
        for p in sig(pair.into_inner()) {
            if p.as_rule() == Rule::except_body {
                for q in sig(p.into_inner()) {
                    visit(self, q);
                }
            } else {
                visit(self, p);
            }
        }
        Except {
            name: name.unwrap_or_else(|| unreachable!("except_clause: name")),
            description,
            condition: condition.unwrap_or_else(|| unreachable!("except_clause: when")),
            span: sp,
        }
    }

    fn visit_summarize_clause(&mut self, pair: Pair<'_, Rule>) -> Summarize {
        let sp = span(&pair);
        let mut aggregates = vec![];
        let mut by = vec![];
        for p in sig(pair.into_inner()) {
            let target = match p.as_rule() {
                Rule::agg_list => &mut aggregates,
                Rule::by_list => &mut by,
                // summarize_clause = { kw_summarize ~ (by_list | agg_list ~ by_list?) }
                r => unreachable!("rule `summarize_clause` has no child {r:?}"),
            };
            for a in sig(p.into_inner()) {
                target.push(self.visit_assignment(a));
            }
        }
        Summarize {
            aggregates,
            by,
            span: sp,
        }
    }

    fn visit_project_clause(&mut self, pair: Pair<'_, Rule>) -> Project {
        let sp = span(&pair);
        // project_clause = { kw_project ~ assignment ~ (comma ~ assignment)* }
        let columns = sig(pair.into_inner())
            .map(|a| self.visit_assignment(a))
            .collect();
        Project { columns, span: sp }
    }

    fn visit_take_clause(&mut self, pair: Pair<'_, Rule>) -> Take {
        let sp = span(&pair);
        // take_clause = { (kw_take | kw_limit) ~ expr }: the keyword is not filtered by `sig`
        // (it is not in `is_keyword`), so that printing keeps the spelling.
        let mut it = sig(pair.into_inner());
        let kw = it
            .next()
            .unwrap_or_else(|| unreachable!("take_clause: keyword"));
        let keyword = Ident {
            name: kw.as_str().to_string(),
            span: span(&kw),
        };
        let count = self.visit_expr(
            it.next()
                .unwrap_or_else(|| unreachable!("take_clause: expr")),
        );
        Take {
            keyword,
            count: count.expr,
            span: sp,
        }
    }

    fn visit_examples_clause(&mut self, pair: Pair<'_, Rule>) -> Examples {
        let sp = span(&pair);
        let mut now = None;
        let mut cases = vec![];
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::expr => now = Some(self.visit_expr(p).expr),
                Rule::example => cases.push(self.visit_example(p)),
                // examples_clause = { kw_examples ~ (kw_at ~ expr)? ~ lbrace ~ example* ~ rbrace }
                r => unreachable!("rule `examples_clause` has no child {r:?}"),
            }
        }
        Examples {
            now,
            cases,
            span: sp,
        }
    }

    fn visit_example(&mut self, pair: Pair<'_, Rule>) -> Example {
        let sp = span(&pair);
        let mut inner = pair.into_inner();
        // example = { (kw_match | kw_no_match | kw_given) ~ string ~ example_body
        //           | kw_suppressed ~ string ~ kw_by ~ string ~ example_body }
        let kw = inner
            .next()
            .unwrap_or_else(|| unreachable!("example: keyword"));
        let mut strings = vec![];
        let mut table = None;
        let mut events = vec![];
        let mut scenario = false;
        let mut count = None;
        for p in sig(inner) {
            match p.as_rule() {
                Rule::string => strings.push(self.visit_string(p)),
                Rule::example_table => table = Some(self.visit_example_table(p)),
                Rule::json_object => events.push(ExampleEvent {
                    table: table.take(),
                    event: json_text(&p),
                }),
                Rule::scenario => {
                    scenario = true;
                    for e in sig(p.into_inner()) {
                        match e.as_rule() {
                            Rule::scenario_event => {
                                let mut table = None;
                                for q in sig(e.into_inner()) {
                                    match q.as_rule() {
                                        Rule::example_table => {
                                            table = Some(self.visit_example_table(q))
                                        }
                                        _ => events.push(ExampleEvent {
                                            table: table.take(),
                                            event: json_text(&q),
                                        }),
                                    }
                                }
                            }
                            Rule::expr => count = Some(self.visit_expr(e).expr),
                            r => unreachable!("rule `scenario` has no child {r:?}"),
                        }
                    }
                }
                r => unreachable!("rule `example` has no child {r:?}"),
            }
        }
        let mut strings = strings.into_iter();
        let label = strings
            .next()
            .unwrap_or_else(|| unreachable!("example: label"));
        let expect = match kw.as_rule() {
            Rule::kw_match => Expect::Match,
            Rule::kw_no_match => Expect::NoMatch,
            Rule::kw_given => Expect::Given,
            _ => Expect::Suppressed(
                strings
                    .next()
                    .unwrap_or_else(|| unreachable!("example: suppressed by")),
            ),
        };
        Example {
            expect,
            label,
            events,
            scenario,
            count,
            span: sp,
        }
    }

    fn visit_example_table(&mut self, p: Pair<'_, Rule>) -> Ident {
        let n = sig(p.into_inner())
            .next()
            .unwrap_or_else(|| unreachable!("example_table: name"));
        self.visit_name(n)
    }

    fn visit_assignments(&mut self, p: Pair<'_, Rule>) -> Vec<Assignment> {
        sig(p.into_inner())
            .map(|a| self.visit_assignment(a))
            .collect()
    }

    fn visit_threshold_clause(&mut self, pair: Pair<'_, Rule>) -> Threshold {
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

    fn visit_sequence_clause(&mut self, pair: Pair<'_, Rule>) -> Sequence {
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
    fn visit_step(&mut self, pair: Pair<'_, Rule>) -> SeqStep {
        let sp = span(&pair);
        let is_until = pair.as_rule() == Rule::until_decl;
        let mut name = None;
        let mut tables = vec![];
        let mut clauses = vec![];
        let mut by = vec![];
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::ident if !is_until && name.is_none() => name = Some(self.visit_name(p)),
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
            span: sp,
        }
    }

    fn visit_join_clause(&mut self, pair: Pair<'_, Rule>) -> Join {
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

    fn visit_join_time(&mut self, pair: Pair<'_, Rule>) -> JoinTime {
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

    fn visit_join_bound(&mut self, pair: Pair<'_, Rule>) -> JoinBound {
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

    fn visit_first_seen_clause(&mut self, pair: Pair<'_, Rule>) -> FirstSeen {
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

    /// `ident`, `bracket_name`, `meta_key`, `meta_word`.
    fn visit_name(&mut self, p: Pair<'_, Rule>) -> Ident {
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

    fn visit_string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let sp = span(&pair);
        let mut value = String::new();
        for part in pair.into_inner() {
            value.push_str(&self.visit_string_part(&part));
        }
        StrLit { value, span: sp }
    }

    fn visit_string_part(&mut self, p: &Pair<'_, Rule>) -> String {
        match literal::decode_string(p.as_str(), p.as_span().start()) {
            Ok(s) => s,
            Err(errs) => {
                self.errors.extend(errs);
                String::new()
            }
        }
    }

    // ------------------------------------------------------------------ expressions

    fn visit_expr(&mut self, pair: Pair<'_, Rule>) -> Ex {
        self.visit_chain(pair, |op| match op {
            Rule::kw_or => Some(BinOp::Or),
            _ => None,
        })
    }

    /// `expr`, `and_expr`, `add_expr`, `mul_expr`: `operand (op operand)*`, folded to the left.
    fn visit_chain(&mut self, pair: Pair<'_, Rule>, op_of: fn(Rule) -> Option<BinOp>) -> Ex {
        let mut it = pair.into_inner();
        let first = it
            .next()
            .unwrap_or_else(|| unreachable!("operator chains start with an operand"));
        let mut acc_span = span(&first);
        let mut acc = self.visit_operand(first);
        while let Some(op) = it.next() {
            let op_span = span(&op);
            let bin = op_of(op.as_rule())
                .or_else(|| str_to_binop(op.as_str()))
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

    fn visit_operand(&mut self, p: Pair<'_, Rule>) -> Ex {
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

    fn visit_cmp_expr(&mut self, pair: Pair<'_, Rule>) -> Ex {
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
                    let bin = str_to_binop(op.as_str()).unwrap_or_else(|| {
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

    fn visit_unary(&mut self, pair: Pair<'_, Rule>) -> Ex {
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

    fn visit_postfix(&mut self, pair: Pair<'_, Rule>) -> Ex {
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

    fn visit_primary(&mut self, p: Pair<'_, Rule>) -> Ex {
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

    fn visit_query(&mut self, pair: Pair<'_, Rule>) -> Ex {
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

    fn visit_dynamic_array(&mut self, pair: Pair<'_, Rule>) -> Ex {
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
    fn visit_paren(&mut self, pair: Pair<'_, Rule>) -> Ex {
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
    fn visit_items<'p>(
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

    fn visit_number(&mut self, p: &Pair<'_, Rule>) -> Literal {
        match literal::number(p.as_str(), span(p)) {
            Ok(lit) => lit,
            Err(e) => {
                self.error(e);
                Literal::Null("error".into())
            }
        }
    }

    fn visit_timespan_lit(&mut self, pair: Pair<'_, Rule>) -> Literal {
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

/// The binary operator a `cmp_op`, `str_op`, `add_op` or `mul_op` token spells.
fn str_to_binop(s: &str) -> Option<BinOp> {
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

type Rule_ = crate::ast::Rule;
