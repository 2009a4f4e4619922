//! A KQL query as statements and pipelines, with expressions parsed by the scry grammar.
//!
//! The query text comes with a [`SrcMap`] back to the rule file; every span in the result is a
//! span of the file, so diagnostics point at the YAML line and column. Expressions are parsed
//! by [`scry_grammar::parse_expr`] (scry's expression syntax is KQL's); a parenthesized
//! sub-pipeline inside an expression, `has_any ((T | distinct C))`, is cut out first and put
//! back as a placeholder name of the same length, so that the expression's spans stay put.
//!
//! Longer than our ~800-line guide on purpose: it is one recursive-descent parser whose
//! functions call each other and read top to bottom as KQL's grammar of statements, pipelines
//! and stages; cutting it would scatter that grammar over files.

mod join;

use super::lex::{self, Tok, TokKind};
use super::yaml::SrcMap;
use crate::diag::{codes, Diagnostic};
use crate::schema::did_you_mean;
use hashbrown::HashMap;
use scry_grammar::print::Notes;
use scry_grammar::{self as ast, Assignment, Expr, ExprKind, Ident, Span};

/// A parsed query.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Statements in order.
    pub statements: Vec<Statement>,
    /// Sub-pipelines cut out of expressions, by placeholder name.
    pub subqueries: HashMap<String, Pipeline>,
    /// Non-empty `//` comments: where (file span) and text.
    pub comments: Vec<(Span, String)>,
    /// Names of `let`s that failed to parse (already reported).
    pub broken: Vec<String>,
}

/// One statement.
#[derive(Debug, Clone)]
pub enum Statement {
    /// `let Name = ...;`
    Let(LetStmt),
    /// The tabular expression that is the query's result.
    Query(Pipeline),
}

/// `let Name = value`.
#[derive(Debug, Clone)]
pub struct LetStmt {
    /// The bound name.
    pub name: Ident,
    /// What it is bound to.
    pub value: LetValue,
    /// The whole statement.
    pub span: Span,
}

/// What a `let` binds.
#[derive(Debug, Clone)]
pub enum LetValue {
    /// A scalar or a list: `now(-5d)`, `dynamic(['a', 'b'])`.
    Scalar(Expr),
    /// `datatable(C:type, ...)[...]`.
    Datatable(Datatable),
    /// A tabular expression: `T | where ... | distinct C`.
    Tabular(Pipeline),
}

/// `datatable(URI:string, Tool:string)['a', 'x', ...]`.
#[derive(Debug, Clone)]
pub struct Datatable {
    /// Column names and type names.
    pub columns: Vec<(Ident, String)>,
    /// The cells, row by row.
    pub cells: Vec<Expr>,
    /// The whole literal.
    pub span: Span,
}

/// `source | stage | stage ...`.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Where rows come from.
    pub source: Source,
    /// The operators, in order.
    pub stages: Vec<Stage>,
    /// The whole pipeline.
    pub span: Span,
}

/// The first part of a pipeline.
#[derive(Debug, Clone)]
pub enum Source {
    /// A table or a tabular `let`.
    Name(Ident),
    /// `union A, B`.
    Union(Vec<Ident>),
    /// An inline `datatable(...)[...]`.
    Datatable(Datatable),
    /// `(pipeline)`.
    Nested(Box<Pipeline>),
}

/// One `| operator ...` stage.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The operator as written (`where`, `project-away`, ...).
    pub op: Ident,
    /// What it does.
    pub kind: StageKind,
    /// The whole stage, without the `|`.
    pub span: Span,
    /// `//` comments on the lines just before the stage's `|`.
    pub comments: Vec<String>,
}

/// The operators scry understands, and a marker for the rest.
#[derive(Debug, Clone)]
pub enum StageKind {
    /// `where expr` (`filter`; also a bare condition that `--fix` reads as a `where`).
    Where {
        /// The predicate.
        predicate: Expr,
    },
    /// `extend A = expr, ...`.
    Extend(Vec<Assignment>),
    /// `summarize aggs by keys`.
    Summarize {
        /// Aggregates.
        aggregates: Vec<Assignment>,
        /// Group keys.
        by: Vec<Assignment>,
    },
    /// `project A, B = expr`.
    Project(Vec<Assignment>),
    /// `distinct A, B`.
    Distinct(Vec<Ident>),
    /// `take n` / `limit n`.
    Take(Expr),
    /// `join [kind=K] (pipeline) on keys`, or `lookup [kind=K] (pipeline) on keys`.
    Join(Box<JoinStage>),
    /// `order by ...` / `sort by ...`: the columns are not kept, since scry orders a rule's
    /// results itself; whether it may be dropped depends on what follows (translate).
    Order,
    /// An operator scry has no equivalent for (already reported).
    Unsupported,
}

/// `join kind=inner (T | where ...) on A, $left.B == $right.C` (or `lookup ...`).
#[derive(Debug, Clone)]
pub struct JoinStage {
    /// The kind as written (`inner` of `kind=inner`), or the operator's default kind
    /// (`innerunique` for `join`, `leftouter` for `lookup`) spanning the operator.
    pub kind: Ident,
    /// `lookup` rather than `join`: its output has the right side's key columns once.
    pub lookup: bool,
    /// The right side.
    pub right: Pipeline,
    /// The keys, their sides as written (`$left.B`, `$right.C`, or `A` on both).
    pub on: Vec<ast::JoinKey>,
}

/// How deeply parenthesized sub-pipelines may nest.
const MAX_PIPELINE_NESTING: usize = 64;

/// KQL's tabular operators, to tell an operator scry lacks from a stage that lost its `where`.
const KQL_OPERATORS: &[&str] = &[
    "as",
    "consume",
    "count",
    "datatable",
    "distinct",
    "evaluate",
    "extend",
    "externaldata",
    "facet",
    "filter",
    "find",
    "fork",
    "getschema",
    "invoke",
    "join",
    "limit",
    "lookup",
    "macro-expand",
    "make-series",
    "mv-apply",
    "mv-expand",
    "order",
    "parse",
    "parse-kv",
    "parse-where",
    "partition",
    "print",
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "range",
    "reduce",
    "render",
    "sample",
    "sample-distinct",
    "scan",
    "search",
    "serialize",
    "sort",
    "summarize",
    "take",
    "top",
    "top-hitters",
    "top-nested",
    "union",
    "where",
];

/// Parses a query. `map` maps query offsets to file offsets; diagnostics go to `diags`, fix
/// comments to `notes`.
pub struct QueryParser<'a> {
    q: &'a str,
    toks: Vec<Tok>,
    map: &'a SrcMap,
    file: usize,
    fix: bool,
    tables: &'a dyn Fn(&str) -> bool,
    /// Findings.
    pub diags: Vec<Diagnostic>,
    /// Comments to print next to corrected nodes.
    pub notes: Notes,
    subqueries: HashMap<String, Pipeline>,
    /// Tabular lets seen so far (a `let` body naming one is tabular).
    tabular_lets: Vec<String>,
}

impl<'a> QueryParser<'a> {
    /// A parser for query `q` of file `file`; `is_table` tells table names from scalars.
    pub fn new(
        q: &'a str,
        map: &'a SrcMap,
        file: usize,
        fix: bool,
        is_table: &'a dyn Fn(&str) -> bool,
    ) -> Self {
        QueryParser {
            q,
            toks: Vec::new(),
            map,
            file,
            fix,
            tables: is_table,
            diags: Vec::new(),
            notes: Notes::default(),
            subqueries: HashMap::new(),
            tabular_lets: Vec::new(),
        }
    }

    fn fspan(&self, start: usize, end: usize) -> Span {
        self.map.span(Span::new(start, end))
    }

    fn tspan(&self, range: (usize, usize)) -> Span {
        let (a, b) = lex::trim(&self.toks, range);
        if a >= b {
            let at = self.toks.get(range.0).map_or(self.q.len(), |t| t.start);
            return self.fspan(at, at);
        }
        self.fspan(self.toks[a].start, self.toks[b - 1].end)
    }

    fn error(&mut self, code: &'static str, span: Span, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, self.file, span, msg)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Parses the whole query.
    pub fn parse(mut self) -> (Parsed, Vec<Diagnostic>, Notes) {
        let toks = match lex::lex(self.q) {
            Ok(t) => t,
            Err(e) => {
                let sp = self.fspan(e.start, e.end);
                let d = self.error(codes::KQL_SYNTAX, sp, e.message);
                return (Parsed::default(), vec![d], self.notes);
            }
        };
        self.toks = toks;
        let mut parsed = Parsed::default();
        for t in &self.toks {
            if t.kind == TokKind::Comment {
                let text = self.q[t.start..t.end]
                    .trim_start_matches('/')
                    .trim()
                    .to_string();
                if !text.is_empty() {
                    parsed.comments.push((self.fspan(t.start, t.end), text));
                }
            }
        }
        let n = self.toks.len();
        for range in lex::split(&self.toks, (0, n), 0, b';') {
            let (a, b) = lex::trim(&self.toks, range);
            if a >= b {
                continue;
            }
            if self.toks[a].is_word(self.q, "let") {
                match self.let_stmt((a, b)) {
                    Some(l) => parsed.statements.push(Statement::Let(l)),
                    None => {
                        // Its uses are not reported again as unknown names.
                        if let Some(t) = self.toks.get(a + 1).filter(|t| t.kind == TokKind::Word) {
                            parsed.broken.push(t.text(self.q).to_string());
                        }
                    }
                }
            } else if let Some(p) = self.pipeline((a, b), 0) {
                parsed.statements.push(Statement::Query(p));
            }
        }
        parsed.subqueries = std::mem::take(&mut self.subqueries);
        (parsed, self.diags, self.notes)
    }

    fn let_stmt(&mut self, (a, b): (usize, usize)) -> Option<LetStmt> {
        let span = self.tspan((a, b));
        let name_tok = self.toks.get(a + 1).copied().filter(|_| a + 1 < b);
        let eq = self.toks.get(a + 2).copied().filter(|_| a + 2 < b);
        let (Some(nt), Some(eq)) = (name_tok, eq) else {
            let d = self
                .error(codes::KQL_SYNTAX, span, "expected `let Name = value`")
                .with_label("incomplete `let`");
            self.push(d);
            return None;
        };
        if nt.kind != TokKind::Word || eq.kind != TokKind::Punct(b'=') {
            let d = self
                .error(
                    codes::KQL_SYNTAX,
                    self.tspan((a + 1, a + 3)),
                    "expected `let Name = value`",
                )
                .with_label("expected a name and `=`");
            self.push(d);
            return None;
        }
        let name = Ident {
            name: nt.text(self.q).to_string(),
            span: self.fspan(nt.start, nt.end),
        };
        let body = lex::trim(&self.toks, (a + 3, b));
        if body.0 >= body.1 {
            let d = self.error(codes::KQL_SYNTAX, span, "`let` without a value");
            self.push(d);
            return None;
        }
        let first = self.toks[body.0];
        let has_pipe = (body.0..body.1)
            .any(|i| self.toks[i].depth == 0 && self.toks[i].kind == TokKind::Punct(b'|'));
        let has_brace = (body.0..body.1)
            .any(|i| self.toks[i].depth == 0 && self.toks[i].kind == TokKind::Punct(b'{'));
        let word = first.text(self.q);
        let value = if has_brace {
            let d = self
                .error(
                    codes::UNSUPPORTED_OPERATOR,
                    self.tspan(body),
                    format!(
                        "`let {}` defines a function; scry has no user functions",
                        name.name
                    ),
                )
                .with_label("function body");
            self.push(d);
            return None;
        } else if first.kind == TokKind::Word && word == "datatable" {
            LetValue::Datatable(self.datatable(body)?)
        } else if has_pipe
            || first.kind == TokKind::Word
                && body.1 - body.0 <= 1
                && ((self.tables)(word) || self.tabular_lets.iter().any(|l| l == word))
            || first.kind == TokKind::Word && word == "union"
        {
            self.tabular_lets.push(name.name.clone());
            LetValue::Tabular(self.pipeline(body, 0)?)
        } else if first.kind == TokKind::Word && ["materialize", "view", "toscalar"].contains(&word)
        {
            let d = self.error(
                codes::UNSUPPORTED_OPERATOR,
                self.fspan(first.start, first.end),
                format!("`{word}(...)` is not supported"),
            );
            self.push(d);
            return None;
        } else {
            LetValue::Scalar(self.expr(body)?)
        };
        Some(LetStmt { name, value, span })
    }

    fn datatable(&mut self, (a, b): (usize, usize)) -> Option<Datatable> {
        let span = self.tspan((a, b));
        let bad = |p: &mut Self| {
            let d = p
                .error(
                    codes::KQL_SYNTAX,
                    span,
                    "expected `datatable(Column:type, ...)[value, ...]`",
                )
                .with_label("malformed datatable");
            p.push(d);
            None
        };
        // datatable ( specs ) [ cells ]
        let open = a + 1;
        if self.toks.get(open).map(|t| t.kind) != Some(TokKind::Punct(b'(')) {
            return bad(self);
        }
        let depth = self.toks[open].depth;
        let Some(close) = (open + 1..b)
            .find(|&i| self.toks[i].depth == depth && self.toks[i].kind == TokKind::Punct(b')'))
        else {
            return bad(self);
        };
        let mut columns = Vec::new();
        for item in lex::split(&self.toks, (open + 1, close), depth + 1, b',') {
            let (x, y) = lex::trim(&self.toks, item);
            let ok = y == x + 3
                && self.toks[x].kind == TokKind::Word
                && self.toks[x + 1].text(self.q) == ":"
                && self.toks[x + 2].kind == TokKind::Word;
            if !ok {
                return bad(self);
            }
            let t = self.toks[x];
            columns.push((
                Ident {
                    name: t.text(self.q).to_string(),
                    span: self.fspan(t.start, t.end),
                },
                self.toks[x + 2].text(self.q).to_string(),
            ));
        }
        let lb = close + 1;
        if self.toks.get(lb).map(|t| t.kind) != Some(TokKind::Punct(b'['))
            || self.toks[b - 1].kind != TokKind::Punct(b']')
        {
            return bad(self);
        }
        // The cells as a scry list: `[` and `]` become `(` and `)`, positions unchanged.
        let (s, e) = (self.toks[lb].start, self.toks[b - 1].end);
        let mut text = self.q[s..e].to_string();
        text.replace_range(0..1, "(");
        let last = text.len() - 1;
        text.replace_range(last..last + 1, ")");
        let list = self.parse_text(&text, s)?;
        let cells = match list.kind {
            ExprKind::List(xs) => xs,
            _ => vec![list],
        };
        Some(Datatable {
            columns,
            cells,
            span,
        })
    }

    /// A pipeline over `range`, whose top-level tokens are at `depth`.
    fn pipeline(&mut self, range: (usize, usize), depth: u32) -> Option<Pipeline> {
        let span = self.tspan(range);
        // Nested sub-pipelines recurse; hostile nesting is an error, not a stack overflow.
        if depth as usize > MAX_PIPELINE_NESTING {
            let d = self
                .error(codes::KQL_SYNTAX, span, "sub-queries nested too deep")
                .with_label("nested here");
            self.push(d);
            return None;
        }
        let parts = lex::split(&self.toks, range, depth, b'|');
        let (sa, sb) = lex::trim(&self.toks, parts[0]);
        if sa >= sb {
            let d = self
                .error(codes::KQL_SYNTAX, span, "expected a table before `|`")
                .with_label("no source");
            self.push(d);
            return None;
        }
        let first = self.toks[sa];
        let source = if first.kind == TokKind::Punct(b'(')
            && self.toks[sb - 1].kind == TokKind::Punct(b')')
        {
            Source::Nested(Box::new(self.pipeline((sa + 1, sb - 1), depth + 1)?))
        } else if first.is_word(self.q, "datatable") {
            Source::Datatable(self.datatable((sa, sb))?)
        } else if first.is_word(self.q, "union") {
            let mut names = Vec::new();
            for item in lex::split(&self.toks, (sa + 1, sb), depth, b',') {
                let (x, y) = lex::trim(&self.toks, item);
                if y != x + 1 || self.toks[x].kind != TokKind::Word {
                    let d = self
                        .error(
                            codes::UNSUPPORTED_OPERATOR,
                            self.tspan((x, y)),
                            "`union` is supported over table names only",
                        )
                        .with_label("not a table name");
                    self.push(d);
                    return None;
                }
                let t = self.toks[x];
                names.push(Ident {
                    name: t.text(self.q).to_string(),
                    span: self.fspan(t.start, t.end),
                });
            }
            Source::Union(names)
        } else if first.kind == TokKind::Word && sb == sa + 1 {
            Source::Name(Ident {
                name: first.text(self.q).to_string(),
                span: self.fspan(first.start, first.end),
            })
        } else {
            let d = self
                .error(
                    codes::KQL_SYNTAX,
                    self.tspan((sa, sb)),
                    "expected a table name, `union` or `datatable` at the start of the pipeline",
                )
                .with_label("not a table");
            self.push(d);
            return None;
        };
        let mut stages = Vec::new();
        let mut ok = true;
        for (k, part) in parts.iter().enumerate().skip(1) {
            // Comments between the previous stage and this `|` belong to this stage.
            let prev = parts[k - 1];
            let comments: Vec<String> = (prev.0..prev.1)
                .rev()
                .take_while(|&i| self.toks[i].kind == TokKind::Comment)
                .map(|i| {
                    self.toks[i]
                        .text(self.q)
                        .trim_start_matches('/')
                        .trim()
                        .to_string()
                })
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            match self.stage(*part, depth) {
                Some(mut s) => {
                    s.comments = comments;
                    stages.push(s);
                }
                None => ok = false,
            }
        }
        // A stage that failed is reported and left out; the rest is still checked.
        let _ = ok;
        Some(Pipeline {
            source,
            stages,
            span,
        })
    }

    fn stage(&mut self, range: (usize, usize), depth: u32) -> Option<Stage> {
        let (a, b) = lex::trim(&self.toks, range);
        let span = self.tspan(range);
        if a >= b {
            let d = self
                .error(codes::KQL_SYNTAX, span, "empty pipeline stage")
                .with_label("nothing after `|`");
            self.push(d);
            return None;
        }
        // The operator name: `where`, `project-away`, `order by`.
        let t0 = self.toks[a];
        let mut op_end = a + 1;
        let mut op = t0.text(self.q).to_string();
        if t0.kind == TokKind::Word {
            while op_end + 1 < b
                && self.toks[op_end].kind == TokKind::Punct(b'-')
                && self.toks[op_end].start == self.toks[op_end - 1].end
                && self.toks[op_end + 1].kind == TokKind::Word
                && self.toks[op_end + 1].start == self.toks[op_end].end
            {
                op.push('-');
                op.push_str(self.toks[op_end + 1].text(self.q));
                op_end += 2;
            }
        }
        let op_ident = Ident {
            name: op.clone(),
            span: self.fspan(t0.start, self.toks[op_end - 1].end),
        };
        let body = (op_end, b);
        let kind = match op.as_str() {
            "where" | "filter" if t0.kind == TokKind::Word => StageKind::Where {
                predicate: self.expr(body)?,
            },
            "extend" if t0.kind == TokKind::Word => {
                StageKind::Extend(self.assignments(body, depth)?)
            }
            "project" if t0.kind == TokKind::Word => {
                StageKind::Project(self.assignments(body, depth)?)
            }
            "summarize" if t0.kind == TokKind::Word => {
                let by = (body.0..body.1)
                    .find(|&i| self.toks[i].depth == depth && self.toks[i].is_word(self.q, "by"));
                let (aggs, keys) = match by {
                    Some(i) => ((body.0, i), Some((i + 1, body.1))),
                    None => (body, None),
                };
                let aggregates = if lex::trim(&self.toks, aggs).0 < lex::trim(&self.toks, aggs).1 {
                    self.assignments(aggs, depth)?
                } else {
                    Vec::new()
                };
                let by = match keys {
                    Some(k) => self.assignments(k, depth)?,
                    None => Vec::new(),
                };
                StageKind::Summarize { aggregates, by }
            }
            "distinct" if t0.kind == TokKind::Word => {
                let mut cols = Vec::new();
                for item in lex::split(&self.toks, body, depth, b',') {
                    let e = self.expr(item)?;
                    match e.kind {
                        ExprKind::Name(id) => cols.push(id),
                        _ => {
                            let d = self
                                .error(
                                    codes::UNSUPPORTED_OPERATOR,
                                    e.span,
                                    "`distinct` is supported over column names only",
                                )
                                .with_label("not a column");
                            self.push(d);
                            return None;
                        }
                    }
                }
                StageKind::Distinct(cols)
            }
            "take" | "limit" if t0.kind == TokKind::Word => StageKind::Take(self.expr(body)?),
            "join" | "lookup" if t0.kind == TokKind::Word => {
                StageKind::Join(Box::new(self.join(&op_ident, body, depth)?))
            }
            "order" | "sort"
                if t0.kind == TokKind::Word
                    && self
                        .toks
                        .get(body.0)
                        .is_some_and(|t| t.is_word(self.q, "by")) =>
            {
                StageKind::Order
            }
            "top" if t0.kind == TokKind::Word => {
                let d = self
                    .error(
                        codes::UNSUPPORTED_OPERATOR,
                        op_ident.span,
                        "`top N by X` has no scry equivalent",
                    )
                    .with_label("unsupported operator")
                    .with_note("scry's `take` keeps the first N rows in the rule's own result order (by key after `summarize`); it cannot choose rows by another column");
                self.push(d);
                StageKind::Unsupported
            }
            _ if t0.kind == TokKind::Word
                && (KQL_OPERATORS.contains(&op.as_str()) || op == "order" || op == "sort") =>
            {
                let d = self
                    .error(
                        codes::UNSUPPORTED_OPERATOR,
                        op_ident.span,
                        format!("the `{op}` operator is not supported by scry import"),
                    )
                    .with_label("unsupported operator")
                    .with_note("supported: where (filter), extend, summarize, distinct, project, take (limit), join, lookup, order by (sort by)");
                self.push(d);
                StageKind::Unsupported
            }
            _ => return self.missing_where((a, b), span, op_ident),
        };
        Some(Stage {
            op: op_ident,
            kind,
            span,
            comments: Vec::new(),
        })
    }

    /// A stage that is not an operator: if it is an expression, its `where` went missing.
    fn missing_where(&mut self, range: (usize, usize), span: Span, op: Ident) -> Option<Stage> {
        let before = self.diags.len();
        let parsed = self.expr(range);
        let predicate = match parsed {
            Some(e) if self.diags.len() == before => e,
            _ => {
                self.diags.truncate(before);
                let mut d = self
                    .error(
                        codes::UNSUPPORTED_OPERATOR,
                        op.span,
                        format!("`{}` is not a tabular operator", op.name),
                    )
                    .with_label("unknown operator");
                if let Some(h) = did_you_mean(&op.name, KQL_OPERATORS.iter().copied()) {
                    d = d.with_note(format!("did you mean `{h}`?"));
                }
                self.push(d);
                return None;
            }
        };
        let text = self.q[self.toks[range.0].start..self.toks[range.1 - 1].end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if self.fix {
            let d = Diagnostic::warning(
                codes::IMPORT_FIXED,
                self.file,
                span,
                format!("added the missing `where` before `{text}`"),
            )
            .with_label("this stage has no operator")
            .with_note(
                "a pipeline stage that is a condition can only mean `| where` (corrected by --fix)",
            );
            self.push(d);
            self.notes.add(
                span,
                "scry import --fix: `where` added (the source has a bare `| condition`)",
            );
            return Some(Stage {
                op: Ident {
                    name: "where".into(),
                    span: op.span,
                },
                kind: StageKind::Where { predicate },
                span,
                comments: Vec::new(),
            });
        }
        let d = self
            .error(
                codes::MISSING_WHERE,
                span,
                format!("`| {text}` has no operator: a condition needs `| where`"),
            )
            .with_label("expected an operator such as `where` here")
            .with_note("`scry import --fix` reads it as `| where ...`");
        self.push(d);
        // Kept as a `where` so that the rest of the rule is still checked.
        Some(Stage {
            op,
            kind: StageKind::Where { predicate },
            span,
            comments: Vec::new(),
        })
    }

    fn assignments(&mut self, range: (usize, usize), depth: u32) -> Option<Vec<Assignment>> {
        let mut out = Vec::new();
        let mut ok = true;
        for item in lex::split(&self.toks, range, depth, b',') {
            let (a, b) = lex::trim(&self.toks, item);
            if a >= b {
                let d = self
                    .error(
                        codes::KQL_SYNTAX,
                        self.tspan(item),
                        "expected an expression",
                    )
                    .with_label("empty item");
                self.push(d);
                ok = false;
                continue;
            }
            let span = self.tspan((a, b));
            // `(A, B) = arg_max(...)` names several columns at once; scry's `A = arg_max(...)`
            // names the first only.
            if self.toks[a].kind == TokKind::Punct(b'(') {
                let d = self.toks[a].depth;
                let close = (a + 1..b).find(|&j| {
                    self.toks[j].depth == d && self.toks[j].kind == TokKind::Punct(b')')
                });
                if let Some(j) = close
                    .filter(|&j| self.toks.get(j + 1).map(|t| t.kind) == Some(TokKind::Punct(b'=')))
                {
                    let d = self
                        .error(
                            codes::UNSUPPORTED_SHAPE,
                            self.tspan((a, j + 2)),
                            "naming several columns at once, `(A, B) = ...`, has no scry equivalent",
                        )
                        .with_label("tuple of names")
                        .with_note("`A = arg_max(x, y)` names the first column; the others keep their names (`y`)");
                    self.push(d);
                    ok = false;
                    continue;
                }
            }
            let named = b > a + 2
                && self.toks[a].kind == TokKind::Word
                && self.toks[a + 1].kind == TokKind::Punct(b'=');
            let (name, value) = if named {
                let t = self.toks[a];
                (
                    Some(Ident {
                        name: t.text(self.q).to_string(),
                        span: self.fspan(t.start, t.end),
                    }),
                    self.expr((a + 2, b)),
                )
            } else {
                (None, self.expr((a, b)))
            };
            match value {
                Some(value) => out.push(Assignment { name, value, span }),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Parses the expression over the tokens `range`.
    fn expr(&mut self, range: (usize, usize)) -> Option<Expr> {
        let (a, b) = lex::trim(&self.toks, range);
        if a >= b {
            let sp = self.tspan(range);
            let d = self
                .error(codes::KQL_SYNTAX, sp, "expected an expression")
                .with_label("nothing here");
            self.push(d);
            return None;
        }
        let start = self.toks[a].start;
        let end = self.toks[b - 1].end;
        let mut text = self.q[start..end].to_string();

        // Two list operators in a row (`has_all has_any (...)`).
        let words: Vec<usize> = (a..b)
            .filter(|&i| self.toks[i].kind != TokKind::Comment)
            .collect();
        let mut kept_ops: Vec<(Span, String)> = Vec::new();
        for w in words.windows(2) {
            let (t1, t2) = (self.toks[w[0]], self.toks[w[1]]);
            let list_op = |t: Tok| {
                t.kind == TokKind::Word && ["has_any", "has_all", "in"].contains(&t.text(self.q))
            };
            if !(list_op(t1) && list_op(t2)) {
                continue;
            }
            let (o1, o2) = (t1.text(self.q), t2.text(self.q));
            let both = self.fspan(t1.start, t2.end);
            let pair = [o1, o2];
            let fixable = pair.contains(&"has_any") && pair.contains(&"has_all");
            if fixable && self.fix {
                // Keep `has_any`: the alternatives exclude each other (a path is under one
                // install folder, not both), so `has_all` could never match.
                let (drop, keep) = if o1 == "has_all" { (t1, t2) } else { (t2, t1) };
                let (ds, de) = (drop.start - start, drop.end - start);
                text.replace_range(ds..de, &" ".repeat(de - ds));
                let d = Diagnostic::warning(
                    codes::IMPORT_FIXED,
                    self.file,
                    both,
                    format!("`{o1} {o2}` corrected to `has_any`"),
                )
                .with_label("two list operators in a row")
                .with_note("the listed values exclude each other, so only `has_any` can match (corrected by --fix)");
                self.push(d);
                kept_ops.push((
                    self.fspan(keep.start, keep.end),
                    format!("scry import --fix: was `{o1} {o2}`; the values exclude each other (one install folder, not both)"),
                ));
                continue;
            }
            let mut d = self
                .error(
                    codes::DOUBLE_LIST_OPERATOR,
                    both,
                    format!("`{o1} {o2}`: two list operators in a row"),
                )
                .with_label("only one operator can take the list");
            if fixable {
                d = d.with_note(
                    "the values listed exclude each other, so `has_any` is meant; `scry import --fix` keeps `has_any`",
                );
            }
            self.push(d);
            return None;
        }

        // Cut out parenthesized sub-pipelines.
        let mut i = a;
        while i < b {
            let t = self.toks[i];
            if t.kind == TokKind::Punct(b'(') {
                let d = t.depth;
                let close = (i + 1..b).find(|&j| {
                    self.toks[j].depth == d && self.toks[j].kind == TokKind::Punct(b')')
                });
                if let Some(close) = close {
                    let piped = (i + 1..close).any(|j| {
                        self.toks[j].depth == d + 1 && self.toks[j].kind == TokKind::Punct(b'|')
                    });
                    if piped {
                        let len = self.toks[close].end - t.start;
                        let n = self.subqueries.len();
                        let base = format!("_q{n}");
                        if base.len() > len {
                            let d = self.error(
                                codes::KQL_SYNTAX,
                                self.fspan(t.start, self.toks[close].end),
                                "sub-query too short to stand for",
                            );
                            self.push(d);
                            return None;
                        }
                        let holder = format!("{base}{}", "_".repeat(len - base.len()));
                        let sub = self.pipeline((i + 1, close), d + 1)?;
                        text.replace_range(t.start - start..self.toks[close].end - start, &holder);
                        self.subqueries.insert(holder, sub);
                        i = close + 1;
                        continue;
                    }
                }
            }
            i += 1;
        }
        let e = self.parse_text(&text, start)?;
        // Attach the fix comments to the list expressions whose operator was kept.
        for (op_span, note) in kept_ops {
            attach_at_op(&e, op_span, &note, &mut self.notes);
        }
        Some(e)
    }

    /// Parses `text`, which stands at query offset `start`, shifting spans to the file.
    fn parse_text(&mut self, text: &str, start: usize) -> Option<Expr> {
        match ast::parse_expr(text) {
            Ok(mut e) => {
                let map = self.map;
                shift(&mut e, &|s: Span| {
                    map.span(Span::new(s.start as usize + start, s.end as usize + start))
                });
                Some(e)
            }
            Err(errs) => {
                for err in errs {
                    let sp = self.fspan(
                        err.span.start as usize + start,
                        err.span.end as usize + start,
                    );
                    let mut d = Diagnostic::error(err.code, self.file, sp, err.message.clone());
                    if !err.expected.is_empty() {
                        d.label = format!("expected {}", err.expected.join(", "));
                    }
                    d.notes = err.notes.clone();
                    self.push(d);
                }
                None
            }
        }
    }
}

fn attach_at_op(e: &Expr, op_span: Span, note: &str, notes: &mut Notes) {
    scry_grammar::print::walk(e, &mut |x| {
        if let ExprKind::InList { op_span: s, .. } = &x.kind {
            if *s == op_span {
                notes.add(x.span, note);
            }
        }
    });
}

/// Applies `f` to every span in `e`.
pub fn shift(e: &mut Expr, f: &dyn Fn(Span) -> Span) {
    e.span = f(e.span);
    match &mut e.kind {
        ExprKind::Literal(_) | ExprKind::Star => {}
        ExprKind::Name(id) => id.span = f(id.span),
        ExprKind::Not(x) | ExprKind::Neg(x) => shift(x, f),
        ExprKind::Binary {
            op_span, lhs, rhs, ..
        } => {
            *op_span = f(*op_span);
            shift(lhs, f);
            shift(rhs, f);
        }
        ExprKind::InList {
            op_span, lhs, list, ..
        } => {
            *op_span = f(*op_span);
            shift(lhs, f);
            for x in list {
                shift(x, f);
            }
        }
        ExprKind::Between { lhs, low, high, .. } => {
            shift(lhs, f);
            shift(low, f);
            shift(high, f);
        }
        ExprKind::Call { name, args } => {
            name.span = f(name.span);
            for x in args {
                shift(x, f);
            }
        }
        ExprKind::Index { base, index } => {
            shift(base, f);
            shift(index, f);
        }
        ExprKind::List(xs) => {
            for x in xs {
                shift(x, f);
            }
        }
        ExprKind::Query(q) => {
            for t in &mut q.tables {
                t.span = f(t.span);
            }
            q.distinct.span = f(q.distinct.span);
            if let Some(w) = &mut q.window {
                w.span = f(w.span);
                match &mut w.kind {
                    ast::WindowKind::Lookback(x) => shift(x, f),
                    ast::WindowKind::Between(x, y) => {
                        shift(x, f);
                        shift(y, f);
                    }
                }
            }
            for w in &mut q.filters {
                w.span = f(w.span);
                shift(&mut w.predicate, f);
            }
        }
    }
}
