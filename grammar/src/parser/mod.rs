//! The pest parser and the visitor that turns its pairs into the [`crate::ast`].
//!
//! One `visit_<rule>` per grammar rule, each keeping its pair's span. Errors found while
//! visiting (bad escapes, overflowing literals, nesting) are collected rather than returned
//! at the first one, so a file with three bad literals reports all three.
//!
//! One `visit_<rule>` per grammar rule, in the grammar's order, so that the files read beside
//! `scry.pest`: the file and rule level here, a rule's clauses in `clauses.rs`, the clauses
//! over several events in `multi.rs`, expressions and literals in `expr.rs`.

use crate::ast::{
    Assignment, BinOp, Clause, Example, ExampleEvent, Examples, Except, Expect, Expr, ExprKind,
    Extend, File, FirstSeen, From, Having, Ident, Item, Join, JoinBound, JoinKey, JoinTime,
    JsonText, Let, ListOp, Literal, Meta, MetaValue, Project, Query, SeqStep, Sequence, Span,
    StepGate, StrLit, StrOp, StrOpKind, Summarize, Take, Threshold, Where, Window, WindowKind,
};
use crate::pest_rules::{Rule, ScryParser};
use crate::{literal, prescan, SyntaxError, MAX_NESTING};
use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

mod clauses;
mod expr;
mod multi;

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
}

type Rule_ = crate::ast::Rule;
