//! The syntax tree of a `.scry` file.
//!
//! Every node carries the [`Span`] of the source text it came from, so that every later stage
//! (resolution, type checking, linting, `scry test`) can point at the exact characters at fault.
//! The tree is a faithful image of what was written: no desugaring happens here; `where`
//! clauses, `extend`s and exclusions stay in written order for the compiler to interpret.

use serde::Serialize;

/// A byte range `start..end` into the source text of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    /// Byte offset of the first character.
    pub start: u32,
    /// Byte offset one past the last character.
    pub end: u32,
}

impl Span {
    /// A span covering `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The text this span covers in `source`.
    pub fn text(self, source: &str) -> &str {
        source
            .get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

/// A name as written, with its span: a rule name, column, function, list or metadata key.
///
/// Column names may be dotted (`process.parent.name`, an alias resolved per table) or
/// bracketed (`['Column name']`); `name` holds the name without brackets or quotes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ident {
    /// The name as the compiler sees it.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// One `.scry` file: top-level `let`s and rules, in written order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct File {
    /// Items in written order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Item {
    /// `let Name = expr;` shared by every rule of the file.
    Let(Let),
    /// `rule name { ... }`.
    Rule(Rule),
}

/// `let Name = expr;` — a named scalar or list (`let Vendors = ('a', 'b');`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Let {
    /// The bound name.
    pub name: Ident,
    /// Its value.
    pub value: Expr,
    /// The whole declaration.
    pub span: Span,
}

/// `rule name { clause... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// The rule's name (an identifier, unique within a rule set).
    pub name: Ident,
    /// Clauses in written order.
    pub clauses: Vec<Clause>,
    /// The whole rule, from `rule` to `}`.
    pub span: Span,
}

/// One clause of a rule body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Clause {
    /// Metadata: `id "..."`, `title "..."`, `tactics [A, B]`, `severity high`, ...
    Meta(Meta),
    /// `from Table [, Table...]`.
    From(From),
    /// `window 5d` or `window between (datetime(...) .. datetime(...))`.
    Window(Window),
    /// `let Name = expr;` local to the rule.
    Let(Let),
    /// `where expr`.
    Where(Where),
    /// `extend Name = expr, ...`.
    Extend(Extend),
    /// `except "Scenario" { description "..." when expr }`.
    Except(Except),
    /// `summarize Name = agg(...), ... by key, ...`.
    Summarize(Summarize),
    /// `having expr` over the summarize output.
    Having(Having),
    /// `project Col, Name = expr, ...`: the rule's output columns.
    Project(Project),
    /// `take N` (or `limit N`): at most N result rows.
    Take(Take),
    /// `examples at datetime(...) { match "label" {...} ... }`.
    Examples(Examples),
    /// `threshold count() >= 5 within 10m by DeviceId with ...`.
    Threshold(Threshold),
    /// `sequence within 5m by DeviceId { step a from T where ...  step b ... }`.
    Sequence(Sequence),
    /// `first_seen Signer by DeviceId detect 1d history 30d`.
    FirstSeen(FirstSeen),
    /// `join kind=leftsemi (from T where ...) on Key`.
    Join(Join),
}

/// `join kind=K (from T [, U] [window ...] [where ...]*) on A, $left.B == $right.C`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Join {
    /// The kind as written (`leftsemi`, `leftanti`, `inner`, ...); the compiler says which
    /// it supports.
    pub kind: Ident,
    /// The right side's tables.
    pub tables: Vec<Ident>,
    /// The right side's time range.
    pub window: Option<Window>,
    /// The right side's filters.
    pub filters: Vec<Where>,
    /// The equal keys.
    pub on: Vec<JoinKey>,
    /// `$right.Timestamp between ($left.Timestamp .. $left.Timestamp + 5m)`.
    pub time: Option<Box<JoinTime>>,
    /// The whole clause.
    pub span: Span,
}

/// A time condition between a join's sides: `column between (low .. high)`, each bound a
/// column of the other side plus or minus a constant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JoinTime {
    /// The tested column, as written (`$right.Timestamp`).
    pub column: Ident,
    /// The lower bound.
    pub low: JoinBound,
    /// The upper bound.
    pub high: JoinBound,
    /// The condition as written.
    pub span: Span,
}

/// `$left.Timestamp`, `$left.Timestamp + 5m` or `$left.Timestamp - 1h`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JoinBound {
    /// The column, as written.
    pub column: Ident,
    /// The offset: its sign (`-` is true) and the number literal as written.
    pub offset: Option<(bool, Expr)>,
    /// The bound as written.
    pub span: Span,
}

/// One key of a join: `A` (the same column on both sides) or `$left.A == $right.B` (as
/// written: the names keep their `$left.` / `$right.` prefixes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JoinKey {
    /// The left side, as written.
    pub left: Ident,
    /// The right side, as written.
    pub right: Ident,
    /// The key as written.
    pub span: Span,
}

/// `threshold [Name =] count() >= 5 within 10m [by keys] [with Name = agg(...), ...]`: the keys
/// whose events, within some span of the given length, satisfy the condition (one aggregate
/// compared with constants).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// `Name =`: the measure's output column.
    pub name: Option<Ident>,
    /// The condition, e.g. `count() >= 5` or `dcount(RemoteUrl) > 3 and dcount(RemoteUrl) < 10`.
    pub condition: Expr,
    /// The span length.
    pub within: Expr,
    /// The keys.
    pub by: Vec<Assignment>,
    /// Aggregates over the reported span.
    pub with: Vec<Assignment>,
    /// The whole clause.
    pub span: Span,
}

/// `sequence [unordered] within 5m [by keys] { step ... until ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sequence {
    /// `unordered`: all steps within the span, in any order.
    pub unordered: bool,
    /// The longest time from the first step's event to the last's.
    pub within: Expr,
    /// The keys every step shares.
    pub by: Vec<Assignment>,
    /// The steps, in order.
    pub steps: Vec<SeqStep>,
    /// `until from T where ...`: an event that ends the partial matches of its key.
    pub until: Option<SeqStep>,
    /// The whole clause.
    pub span: Span,
}

/// `step name from T [, U] [where ...]* [by expr, ...]` (or `until from ...`, without a name).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeqStep {
    /// The step's name; `None` for `until`.
    pub name: Option<Ident>,
    /// Its tables.
    pub tables: Vec<Ident>,
    /// Its `where` and `extend` clauses, in written order.
    pub clauses: Vec<Clause>,
    /// The step's own key expressions, after the sequence's keys.
    pub by: Vec<Expr>,
    /// `threshold count() >= 10 within 5m`: the step's events are the moments its rows
    /// satisfy the condition over the span ending at them (never on `until`).
    pub gate: Option<StepGate>,
    /// The whole step.
    pub span: Span,
}

/// A step's `threshold <condition> within <span>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepGate {
    /// The condition, of a rule-level threshold's shape (`count() >= 10`).
    pub condition: Expr,
    /// The span that ends at each of the step's rows.
    pub within: Expr,
    /// The whole gate.
    pub span: Span,
}

/// `first_seen Term by keys detect D history H [with ...]`: (keys, Term) pairs seen in the last
/// D and never in the H before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstSeen {
    /// The term (a column, or `Name = expr`).
    pub term: Assignment,
    /// The keys.
    pub by: Vec<Assignment>,
    /// The detection span.
    pub detect: Expr,
    /// The history span before it.
    pub history: Expr,
    /// More aggregates per (keys, term).
    pub with: Vec<Assignment>,
    /// The whole clause.
    pub span: Span,
}

/// A metadata entry: a key and a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meta {
    /// `id`, `title`, `description`, `severity`, `tactics`, `techniques`, `references`, ...
    pub key: Ident,
    /// The value as written.
    pub value: MetaValue,
    /// The whole entry.
    pub span: Span,
}

/// The value of a metadata entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MetaValue {
    /// A string literal: `title "ServerEye"`.
    Str(StrLit),
    /// A bare word: `severity medium`.
    Word(Ident),
    /// A bracketed list of strings or words: `tactics [CommandAndControl]`.
    List(Vec<MetaValue>, Span),
}

/// A string literal after unescaping, with its span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrLit {
    /// The value.
    pub value: String,
    /// The literal as written, quotes included.
    pub span: Span,
}

/// `from Table, Table`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct From {
    /// The source tables.
    pub tables: Vec<Ident>,
    /// The whole clause.
    pub span: Span,
}

/// The time range a rule looks at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// What was written.
    pub kind: WindowKind,
    /// The whole clause.
    pub span: Span,
}

/// The two shapes of `window`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum WindowKind {
    /// `window 5d`: `Timestamp between (now(-5d) .. now())`.
    Lookback(Expr),
    /// `window between (low .. high)`: an absolute (or `now`-relative) range.
    Between(Expr, Expr),
}

/// `where expr`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Where {
    /// The predicate.
    pub predicate: Expr,
    /// The whole clause.
    pub span: Span,
}

/// `extend A = expr, B = expr`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extend {
    /// The assignments, in order.
    pub assignments: Vec<Assignment>,
    /// The whole clause.
    pub span: Span,
}

/// `Name = expr` in `extend` or `summarize`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// The output column; `None` when the expression is unnamed (`summarize count()`).
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// The whole assignment.
    pub span: Span,
}

/// A named false-positive scenario: rows where `when` holds are suppressed, and counted.
///
/// ```text
/// except "Scheduled maintenance via ServerEye" {
///   description "An admin schedules updates through ServerEye."
///   when process.name == "ServerEye.exe" and file.path contains "SystemUpdate"
/// }
/// ```
/// The short form `except "name" when expr` has no description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Except {
    /// The scenario name, unique within the rule.
    pub name: StrLit,
    /// Why these rows are known-good.
    pub description: Option<StrLit>,
    /// The suppressing condition.
    pub condition: Expr,
    /// The whole clause.
    pub span: Span,
}

/// `summarize aggs by keys`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summarize {
    /// The aggregates, in written order.
    pub aggregates: Vec<Assignment>,
    /// The group keys, in written order (columns, possibly `Name = expr`).
    pub by: Vec<Assignment>,
    /// The whole clause.
    pub span: Span,
}

/// `having expr`: a filter over the summarize output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Having {
    /// The predicate over output columns.
    pub predicate: Expr,
    /// The whole clause.
    pub span: Span,
}

/// `project Col, Name = expr, ...`: exactly these output columns, in this order. Without
/// `summarize` the expressions read the row (after every `where` and `extend`); after
/// `summarize` they read its output, like `having`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// The columns, in written order (`Name = expr`, or a bare column).
    pub columns: Vec<Assignment>,
    /// The whole clause.
    pub span: Span,
}

/// `take N` / `limit N`: at most N of the rule's result rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Take {
    /// The keyword as written: `take` or `limit`.
    pub keyword: Ident,
    /// The number of rows (the compiler requires a constant, non-negative whole number).
    pub count: Expr,
    /// The whole clause.
    pub span: Span,
}

/// Example events carried by the rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Examples {
    /// `at datetime(...)`: the evaluation clock for these examples.
    pub now: Option<Expr>,
    /// The examples, in written order.
    pub cases: Vec<Example>,
    /// The whole block.
    pub span: Span,
}

/// One example (an event, or a scenario of several) and what the rule must do with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    /// The verdict the rule must reach.
    pub expect: Expect,
    /// A human label for reports.
    pub label: StrLit,
    /// The events: one, or several for a scenario written `[...]`.
    pub events: Vec<ExampleEvent>,
    /// Written as a list `[...]`: the events are one small input, judged by the rule's result
    /// rows over them together.
    pub scenario: bool,
    /// `expect N` after a scenario: exactly N result rows.
    pub count: Option<Expr>,
    /// The whole example.
    pub span: Span,
}

/// One event of an example.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExampleEvent {
    /// `in Table`: the event's table, when the rule reads more than one.
    pub table: Option<Ident>,
    /// The event as JSON text, exactly as written (escapes are decoded later, by the JSON reader).
    pub event: JsonText,
}

/// The verdict an example expects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expect {
    /// `match`: the event passes the rule and no exclusion suppresses it.
    Match,
    /// `no_match`: the event fails the rule's conditions or window.
    NoMatch,
    /// `suppressed by "Exclusion"`: the event passes but the named exclusion suppresses it.
    Suppressed(StrLit),
    /// `given`: context for the other examples (an event a `distinct` set is built from);
    /// no verdict of its own is checked.
    Given,
}

/// JSON text embedded in a rule, with its span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonText {
    /// The raw text, `{` to `}`.
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

/// An expression with its span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// The whole expression.
    pub span: Span,
}

impl Expr {
    /// The operands of the `and` tree at the top of this expression, left to right
    /// (`a and (b and c)` → `a`, `b`, `c`); the expression itself when it is no `and`.
    pub fn conjuncts(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match &e.kind {
                ExprKind::Binary {
                    op: BinOp::And,
                    lhs,
                    rhs,
                    ..
                } => {
                    stack.push(rhs);
                    stack.push(lhs);
                }
                _ => out.push(e),
            }
        }
        out
    }
}

/// The expression forms of the language: KQL's scalar expression syntax.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExprKind {
    /// A literal value.
    Literal(Literal),
    /// A column, alias or `let` name: `Signer`, `process.name`, `['Odd name']`, `Vendors`.
    Name(Ident),
    /// `not(expr)` or `not expr`.
    Not(Box<Expr>),
    /// `-expr`.
    Neg(Box<Expr>),
    /// `lhs op rhs` for logic, comparison, arithmetic and string operators.
    Binary {
        /// The operator.
        op: BinOp,
        /// Where the operator was written.
        op_span: Span,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `lhs in (a, b)`, `!in`, `in~`, `!in~`; `has_any (...)`, `has_all (...)`.
    ///
    /// Elements are expressions: literals, `let` names of lists, nested lists.
    InList {
        /// Which list operator.
        op: ListOp,
        /// Where the operator was written.
        op_span: Span,
        /// The tested value.
        lhs: Box<Expr>,
        /// The list elements.
        list: Vec<Expr>,
    },
    /// `lhs between (low .. high)` or `!between`.
    Between {
        /// `!between`.
        negated: bool,
        /// The tested value.
        lhs: Box<Expr>,
        /// Lower bound, inclusive.
        low: Box<Expr>,
        /// Upper bound, inclusive; a timespan here is added to `low`.
        high: Box<Expr>,
    },
    /// `f(args)`: `isempty(x)`, `tolower(x)`, `now(-5d)`, `strcat(a, b)`, `count()`, ...
    Call {
        /// The function name.
        name: Ident,
        /// Arguments in order.
        args: Vec<Expr>,
    },
    /// `expr[index]`, as in `split(x, '/')[0]`.
    Index {
        /// The indexed value.
        base: Box<Expr>,
        /// The index.
        index: Box<Expr>,
    },
    /// `(a, b, c)` or `dynamic([a, b])`: a list value.
    List(Vec<Expr>),
    /// `from T where ... distinct Column`: the distinct values of a column over events of
    /// other tables, usable as a list operand.
    Query(Box<Query>),
    /// `*` as a call argument: every column of the row, as in `arg_max(Timestamp, *)`.
    Star,
}

/// `from T [, U] [window ...] [where expr]* distinct Column` — KQL's
/// `T | where ... | distinct Column` as a value: the set of `Column` values of the rows that
/// pass, collected over the whole input before the rules that use it decide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    /// The source tables.
    pub tables: Vec<Ident>,
    /// The time range, as in a rule.
    pub window: Option<Window>,
    /// Filters in written order.
    pub filters: Vec<Where>,
    /// The collected column.
    pub distinct: Ident,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Literal {
    /// `'x'`, `"x"`, `@'x'`, ```` ```x``` ````, after unescaping.
    Str(String),
    /// `42`.
    Long(i64),
    /// `4.2`, `1e3`.
    Real(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `datetime(2024-05-15T12:00:00Z)`: the text inside the parentheses, parsed by the compiler.
    DateTime(String),
    /// `5d`, `1h`, `30m`, `10s`, `100ms`, `3microsecond`, `7tick`, `1.5h`: in 100 ns ticks.
    Timespan(i64),
    /// `dynamic(null)`, `long(null)`, ...: a typed null, with the type name as written.
    Null(String),
}

/// Binary operators, from lowest to highest precedence group: `or`; `and`; comparisons and
/// string operators; `+ -`; `* / %`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BinOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `==`.
    Eq,
    /// `!=` (also `<>`).
    NotEq,
    /// `=~`.
    EqCi,
    /// `!~`.
    NotEqCi,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// The string operators: `has`, `!has_cs`, `contains`, `startswith_cs`, ...
    Str(StrOp),
    /// `matches regex`.
    MatchesRegex,
}

/// A string operator: a kind, case sensitivity and negation (`!hasprefix_cs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct StrOp {
    /// `has`, `contains`, ...
    pub kind: StrOpKind,
    /// `_cs` suffix.
    pub case_sensitive: bool,
    /// `!` prefix.
    pub negated: bool,
}

/// The kinds of string operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StrOpKind {
    /// `has`: the needle is a whole term sequence.
    Has,
    /// `hasprefix`: the needle starts a term.
    HasPrefix,
    /// `hassuffix`: the needle ends a term.
    HasSuffix,
    /// `contains`: substring.
    Contains,
    /// `startswith`: prefix of the whole value.
    StartsWith,
    /// `endswith`: suffix of the whole value.
    EndsWith,
}

/// List operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ListOp {
    /// `in`.
    In,
    /// `!in`.
    NotIn,
    /// `in~`.
    InCi,
    /// `!in~`.
    NotInCi,
    /// `has_any`.
    HasAny,
    /// `has_all`.
    HasAll,
}

impl StrOp {
    /// The operator as written in source, e.g. `!hasprefix_cs`.
    pub fn spelling(self) -> String {
        let base = match self.kind {
            StrOpKind::Has => "has",
            StrOpKind::HasPrefix => "hasprefix",
            StrOpKind::HasSuffix => "hassuffix",
            StrOpKind::Contains => "contains",
            StrOpKind::StartsWith => "startswith",
            StrOpKind::EndsWith => "endswith",
        };
        format!(
            "{}{}{}",
            if self.negated { "!" } else { "" },
            base,
            if self.case_sensitive { "_cs" } else { "" }
        )
    }
}

impl BinOp {
    /// The operator as written in source.
    pub fn spelling(self) -> String {
        match self {
            BinOp::Or => "or".into(),
            BinOp::And => "and".into(),
            BinOp::Eq => "==".into(),
            BinOp::NotEq => "!=".into(),
            BinOp::EqCi => "=~".into(),
            BinOp::NotEqCi => "!~".into(),
            BinOp::Lt => "<".into(),
            BinOp::Le => "<=".into(),
            BinOp::Gt => ">".into(),
            BinOp::Ge => ">=".into(),
            BinOp::Add => "+".into(),
            BinOp::Sub => "-".into(),
            BinOp::Mul => "*".into(),
            BinOp::Div => "/".into(),
            BinOp::Mod => "%".into(),
            BinOp::Str(op) => op.spelling(),
            BinOp::MatchesRegex => "matches regex".into(),
        }
    }
}

impl ListOp {
    /// The operator as written in source.
    pub fn spelling(self) -> &'static str {
        match self {
            ListOp::In => "in",
            ListOp::NotIn => "!in",
            ListOp::InCi => "in~",
            ListOp::NotInCi => "!in~",
            ListOp::HasAny => "has_any",
            ListOp::HasAll => "has_all",
        }
    }
}
