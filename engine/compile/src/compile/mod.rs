//! From source files to checked, typed rules: parse, resolve names against the table schemas,
//! type-check, lower to [`crate::ir`], lint.
//!
//! A rule reading several tables is lowered once per table (`process.name` is `FileName` in
//! DeviceProcessEvents but `InitiatingProcessFileName` in DeviceNetworkEvents); the bodies
//! share one aggregation state, as a KQL `union` would.

mod lint;
mod lint_facts;
mod lint_steps;
mod lint_time;
mod lower;

use crate::diag::{codes, Diagnostic, Severity};
use crate::ir::{Expr, SetId};
use crate::row::FieldSet;
use crate::schema::Catalog;
use crate::value::Type;
use hashbrown::HashMap;
use scry_grammar::{self as ast, Span};
use std::sync::Arc;

pub use lower::{
    combining_kind, default_agg_name, default_agg_name_of, desugar_first_seen, desugar_joins,
    AGGREGATES, FUNCTIONS,
};

/// One rule file's name and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as given (used in diagnostics).
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// All rule files of a run; diagnostics point into them by index.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The files, in load order (sorted by path for folders).
    pub files: Vec<SourceFile>,
}

impl Sources {
    /// Adds a file, returning its index.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> usize {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        self.files.len() - 1
    }
}

/// A rule's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleMeta {
    /// `id`.
    pub id: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `severity`.
    pub severity: Option<String>,
    /// `tactics`.
    pub tactics: Vec<String>,
    /// `techniques`.
    pub techniques: Vec<String>,
    /// `references`.
    pub references: Vec<String>,
    /// Other known keys (`author`, `tags`, `source`, ...), in written order.
    pub other: Vec<(String, Vec<String>)>,
}

/// One step of a rule body, in written order.
#[derive(Debug, Clone)]
pub enum Step {
    /// `where expr`.
    Where(Expr),
    /// `extend Name = expr`: stores into a computed slot.
    Extend(u32, Expr),
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    /// `count()`
    Count,
    /// `countif(pred)`
    CountIf,
    /// `dcount(x)`: exact.
    DCount,
    /// `min(x)`
    Min,
    /// `max(x)`
    Max,
    /// `make_set(x [, max])`
    MakeSet,
    /// `sum(x)`
    Sum,
    /// `avg(x)`: the mean of the non-null values, a real (null when there is none).
    Avg,
    /// `arg_max(x, r1, ...)`: the values of `r1, ...` on the row where `x` is largest.
    ArgMax,
    /// `arg_min(x, r1, ...)`: the values of `r1, ...` on the row where `x` is smallest.
    ArgMin,
}

impl AggKind {
    /// The KQL name.
    pub fn name(self) -> &'static str {
        match self {
            AggKind::Count => "count",
            AggKind::CountIf => "countif",
            AggKind::DCount => "dcount",
            AggKind::Min => "min",
            AggKind::Max => "max",
            AggKind::MakeSet => "make_set",
            AggKind::Sum => "sum",
            AggKind::Avg => "avg",
            AggKind::ArgMax => "arg_max",
            AggKind::ArgMin => "arg_min",
        }
    }
}

/// An aggregate of `summarize`, lowered against one table. Every aggregate gives one output
/// column, except `arg_max` / `arg_min`, which give one for `arg` and one per `returned`.
#[derive(Debug, Clone)]
pub struct Agg {
    /// Which function.
    pub kind: AggKind,
    /// Its argument (none for `count()`); for `arg_max` / `arg_min` the value ranked.
    pub arg: Option<Expr>,
    /// `make_set`'s cap.
    pub limit: usize,
    /// `arg_max` / `arg_min`: the values returned from the chosen row, `*` expanded to the
    /// row's columns.
    pub returned: Vec<Expr>,
}

impl Agg {
    /// How many output columns the aggregate gives.
    pub fn width(&self) -> usize {
        match self.kind {
            AggKind::ArgMax | AggKind::ArgMin => 1 + self.returned.len(),
            _ => 1,
        }
    }
}

/// A rule lowered against one of its tables.
#[derive(Debug, Clone)]
pub struct Body {
    /// The table.
    pub table: String,
    /// `Timestamp` of this table, if it has one (the window reads it).
    pub timestamp: Option<crate::row::FieldId>,
    /// The window's bounds, inclusive.
    pub window: Option<(Expr, Expr)>,
    /// `where` and `extend` in order.
    pub steps: Vec<Step>,
    /// For a rule that tests `distinct` sets: `steps` with every set test assumed to pass
    /// (see [`Expr::relax_sets`]), to reject rows before the sets are known.
    pub relaxed: Option<Vec<Step>>,
    /// One entry per rule exclusion; `None` when the exclusion names a field this table
    /// does not have (it never suppresses anything here; `check` warns).
    pub exclusions: Vec<Option<Expr>>,
    /// `summarize ... by` keys.
    pub keys: Vec<Expr>,
    /// Aggregates.
    pub aggs: Vec<Agg>,
    /// Without `summarize`: the output columns.
    pub project: Vec<Expr>,
    /// How many computed slots `extend` uses.
    pub computed: usize,
    /// The names of the computed columns, by slot.
    pub computed_names: Vec<String>,
    /// In a `threshold` or `sequence` rule: which step's events this body feeds.
    pub step: StepRole,
}

/// What a body's passing rows are, in a rule over several events of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum StepRole {
    /// A row of a plain or `summarize` rule, or an event of a `threshold`.
    #[default]
    Main,
    /// An event of `sequence` step `i` (written order).
    Step(u16),
    /// An event of the sequence's `until`.
    Until,
}

/// A rule over several events of one key: what `threshold` and `sequence` compile to. Its
/// bodies group events by key, as `summarize` groups rows; each body's `aggs` say which values
/// an event keeps (their arguments), and the operator runs over each key's events at finish
/// (docs/semantics.md, "Thresholds" and "Sequences").
#[derive(Debug, Clone)]
pub struct Timeline {
    /// What is computed over a key's events.
    pub kind: TimelineKind,
    /// The span (`within`), in ticks: > 0.
    pub span: i64,
    /// The step names, in order (one unnamed step for a threshold).
    pub steps: Vec<String>,
    /// The most events kept per key and step: the latest ones; older ones are evicted and
    /// counted ([`DEFAULT_MAX_STEP_EVENTS`]).
    pub max_events: usize,
    /// How many of each body's keys are the rule's own `by` keys (the output's key columns);
    /// the rest are a step's own keys (`step a ... by ProcessId`).
    pub rule_keys: usize,
    /// Per step, in written order: the `threshold` that gates it (empty when none does).
    pub gates: Vec<Option<Gate>>,
}

/// A sequence step's `threshold <condition> within <span>`: the step's events are the
/// moments its rows satisfy the condition over the span that ends at them
/// (docs/semantics.md, "Sequences").
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// Index of the measured aggregate in the step's bodies' aggregates (the last one).
    pub measure: usize,
    /// The span, in ticks: > 0.
    pub span: i64,
    /// The condition: the measure compared with each constant.
    pub condition: Vec<(crate::ir::CmpOp, crate::value::Value)>,
    /// How many of an event's kept values are output columns (the measure's argument, kept
    /// after them, is not).
    pub shown: usize,
}

/// The most events a `threshold` or `sequence` keeps per key and step.
pub const DEFAULT_MAX_STEP_EVENTS: usize = 4096;

/// The operators over a key's events.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineKind {
    /// `threshold`: the aggregate at `measure` (an index into the aggregates), tested with
    /// `condition` (and-ed comparisons with constants); `Peak` overwrites the aggregate at
    /// `peak` with the key's highest measure.
    Threshold {
        /// Index of the measured aggregate.
        measure: usize,
        /// Index of the `Peak` column's aggregate.
        peak: usize,
        /// The condition: the measure compared with each constant.
        condition: Vec<(crate::ir::CmpOp, crate::value::Value)>,
    },
    /// `sequence`: ordered steps, the tightest matches (docs/semantics.md).
    Sequence,
    /// `sequence unordered`: every step within the span, in any order.
    Unordered,
    /// `join kind=inner|innerunique|leftouter`: step 0 is the left side, step 1 the right;
    /// rows pair a key's left and right events whose times satisfy `low <= right - left <=
    /// high` (ticks; `None` is unbounded) (docs/semantics.md, "Joins").
    Join {
        /// Which rows are reported.
        kind: JoinKind,
        /// The least `right.Timestamp - left.Timestamp`.
        low: Option<i64>,
        /// The greatest `right.Timestamp - left.Timestamp`.
        high: Option<i64>,
    },
}

/// The kinds of join that combine both sides' columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Every pair of a left and a right event of a key.
    Inner,
    /// Kusto's default: the left side's first event of each key, paired with every right one.
    InnerUnique,
    /// Every pair, and every left event without a pair (its right columns null).
    LeftOuter,
}

impl JoinKind {
    /// The kind as written.
    pub fn name(self) -> &'static str {
        match self {
            JoinKind::Inner => "inner",
            JoinKind::InnerUnique => "innerunique",
            JoinKind::LeftOuter => "leftouter",
        }
    }
}

/// A `from T [window ...] [where ...]* distinct C` set, collected from events of its tables
/// over the whole input before the rules testing it decide.
#[derive(Debug, Clone)]
pub struct SetDef {
    /// The `let` name (or `distinct C` for an inline query).
    pub name: String,
    /// Source file index.
    pub file: usize,
    /// The query as written.
    pub span: Span,
    /// One body per table.
    pub bodies: Vec<SetBody>,
}

/// A set's query lowered against one of its tables.
#[derive(Debug, Clone)]
pub struct SetBody {
    /// The table.
    pub table: String,
    /// `Timestamp` of this table, if it has one.
    pub timestamp: Option<crate::row::FieldId>,
    /// The window's bounds, inclusive.
    pub window: Option<(Expr, Expr)>,
    /// The `where` predicates.
    pub filters: Vec<Expr>,
    /// The collected column.
    pub column: Expr,
}

/// An exclusion's identity, shared by a rule's bodies.
#[derive(Debug, Clone)]
pub struct ExclusionInfo {
    /// The scenario name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Where it is written.
    pub span: Span,
}

/// An output column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Type,
}

/// An example of a rule: one event, or a scenario of several.
#[derive(Debug, Clone)]
pub struct ExampleCase {
    /// What must happen.
    pub expect: Expectation,
    /// The label.
    pub label: String,
    /// The events, each with its table (given, or the rule's only table).
    pub events: Vec<ExampleEvent>,
    /// Written `[...]`: judged by the rule's result rows over these events (and the `given`
    /// ones), not event by event.
    pub scenario: bool,
    /// `expect N`: exactly N result rows.
    pub count: Option<u64>,
    /// Where.
    pub span: Span,
}

/// One event of an example.
#[derive(Debug, Clone)]
pub struct ExampleEvent {
    /// The table.
    pub table: String,
    /// The JSON text as written.
    pub json: String,
}

/// The verdict an example expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// Produces a result.
    Match,
    /// Produces none.
    NoMatch,
    /// Passes the conditions, then the named exclusion (by index) suppresses it.
    Suppressed(usize),
    /// Context for the other examples (feeds `distinct` sets); not judged.
    Given,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's name.
    pub name: String,
    /// Metadata.
    pub meta: RuleMeta,
    /// Source file index.
    pub file: usize,
    /// The rule's span.
    pub span: Span,
    /// One body per `from` table, in written order.
    pub bodies: Vec<Body>,
    /// Exclusions in written order.
    pub exclusions: Vec<ExclusionInfo>,
    /// True with `summarize`.
    pub summarize: bool,
    /// The output columns (after `project`, if any).
    pub output: Vec<OutputColumn>,
    /// With `summarize`: its output columns (keys, then the aggregates' columns), which
    /// `having` and a `project` after it read.
    pub grouped: Vec<OutputColumn>,
    /// `having`, over the `grouped` columns (`Computed { slot }` = `grouped` index).
    pub having: Option<Expr>,
    /// `project` after `summarize`: one expression per output column over the `grouped`
    /// columns (as `having`), applied after `having`.
    pub reshape: Option<Vec<Expr>>,
    /// Without `summarize`: `project` chose the output columns (each body's `project`).
    pub projected: bool,
    /// `take N`: at most N result rows, the first N in the order results come out in (input
    /// order without `summarize`, groups sorted by key with it).
    pub take: Option<u64>,
    /// The examples' clock.
    pub examples_now: Option<i64>,
    /// Examples.
    pub examples: Vec<ExampleCase>,
    /// The `distinct` sets the rule tests (sorted).
    pub sets: Vec<SetId>,
    /// `threshold` / `sequence`: the operator over each key's events (the rule is grouped:
    /// `summarize` is true).
    pub timeline: Option<Arc<Timeline>>,
}

impl Rule {
    /// The rule's id, or its name when it has no id.
    pub fn id(&self) -> &str {
        self.meta.id.as_deref().unwrap_or(&self.name)
    }

    /// The body for `table`.
    pub fn body(&self, table: &str) -> Option<&Body> {
        self.bodies.iter().find(|b| b.table == table)
    }
}

/// Compiled rules, ready for planning.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// Rules in load order.
    pub rules: Vec<Rule>,
    /// The `distinct` sets the rules test, by [`SetId`].
    pub sets: Vec<SetDef>,
    /// Every input field any rule reads.
    pub fields: FieldSet,
    /// The schemas used.
    pub catalog: Arc<Catalog>,
}

/// The result of compiling: the rules that compiled, and every diagnostic.
#[derive(Debug)]
pub struct Compiled {
    /// The rule set (rules with errors are left out).
    pub rules: RuleSet,
    /// Diagnostics in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity >= Severity::Error)
    }
}

/// Converts a syntax error into a diagnostic of `file`.
pub fn syntax_diagnostic(file: usize, e: &ast::SyntaxError) -> Diagnostic {
    let mut d = Diagnostic::error(e.code, file, e.span, e.message.clone());
    if !e.expected.is_empty() {
        d.label = format!("expected {}", e.expected.join(", "));
    }
    d.notes = e.notes.clone();
    d
}

/// Parses every file, on as many threads as there are cores: parsing is most of the time it
/// takes to compile a large rule set (the example events are long), and files parse
/// independently. Results come back in file order.
fn parse_all(sources: &Sources) -> Vec<Result<ast::File, Vec<ast::SyntaxError>>> {
    let files = &sources.files;
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(files.len());
    if threads <= 1 {
        return files.iter().map(|f| ast::parse_file(&f.text)).collect();
    }
    let mut out: Vec<Option<Result<ast::File, Vec<ast::SyntaxError>>>> =
        (0..files.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        // Interleaved so that each thread gets a share of the large and the small files.
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..files.len())
                        .step_by(threads)
                        .map(|i| (i, ast::parse_file(&files[i].text)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panic in the parser is a bug; surface it as it is.
            let done = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            for (i, r) in done {
                out[i] = Some(r);
            }
        }
    });
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| unreachable!("every file index is parsed by one thread")))
        .collect()
}

/// Compiles every file of `sources`.
pub fn compile(sources: &Sources, catalog: Arc<Catalog>) -> Compiled {
    let mut diags = Vec::new();
    let mut fields = FieldSet::new();
    let mut rules = Vec::new();
    let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
    let mut seen_ids: HashMap<String, (usize, Span)> = HashMap::new();
    let mut sets = lower::SetRegistry::new(Arc::clone(&catalog));
    let parsed_files = parse_all(sources);
    for (file, parsed) in parsed_files.into_iter().enumerate() {
        let parsed = match parsed {
            Ok(f) => f,
            Err(errs) => {
                diags.extend(errs.iter().map(|e| syntax_diagnostic(file, e)));
                continue;
            }
        };
        let mut file_lets: lower::Lets = lower::Lets::default();
        for item in &parsed.items {
            match item {
                ast::Item::Let(l) => lower::add_let(&mut file_lets, l, file, &mut diags),
                ast::Item::Rule(r) => {
                    let before = diags.len();
                    let rule = lower::lower_any_rule(
                        r,
                        &mut lower::Lowering {
                            file,
                            file_lets: &file_lets,
                            catalog: &catalog,
                            fields: &mut fields,
                            sets: &mut sets,
                            diags: &mut diags,
                        },
                    );
                    let failed = diags[before..]
                        .iter()
                        .any(|d| d.severity >= Severity::Error);
                    // Linted as written, once (a join is lowered through rewritten rules),
                    // and only when it compiled: a broken rule's lints would be guesses.
                    if !failed {
                        let lets = lower::rule_lets(r, file, &file_lets);
                        lint_steps::step_lints(r, file, &lets, &catalog, &mut diags);
                    }
                    if let Some((pf, _)) = seen.get(&r.name.name) {
                        diags.push(
                            Diagnostic::error(
                                codes::DUPLICATE_RULE,
                                file,
                                r.name.span,
                                format!("a rule named `{}` already exists", r.name.name),
                            )
                            .with_note(format!("the first one is in {}", sources.files[*pf].name)),
                        );
                        continue;
                    }
                    seen.insert(r.name.name.clone(), (file, r.name.span));
                    if let Some(rule) = rule {
                        if let Some(id) = &rule.meta.id {
                            if let Some((pf, _)) = seen_ids.get(id) {
                                diags.push(
                                    Diagnostic::error(
                                        codes::DUPLICATE_RULE,
                                        file,
                                        r.name.span,
                                        format!("rule id {id} is used twice"),
                                    )
                                    .with_note(format!(
                                        "the first use is in {}",
                                        sources.files[*pf].name
                                    )),
                                );
                                continue;
                            }
                            seen_ids.insert(id.clone(), (file, r.name.span));
                        }
                        if !failed {
                            rules.push(rule);
                        }
                    }
                }
            }
        }
    }
    Compiled {
        // A set registered by a rule that then failed stays (unused): a rule set with errors
        // is never run.
        rules: RuleSet {
            rules,
            sets: sets.defs,
            fields,
            catalog,
        },
        diagnostics: diags,
    }
}

/// Compiles a single expression for `scry eval`: against `table` if given (its columns
/// become readable), else with no columns. Returns the typed expression and the fields it
/// reads.
pub fn compile_expr(
    source: &str,
    table: Option<&str>,
    catalog: &Catalog,
) -> Result<(Expr, FieldSet), Vec<Diagnostic>> {
    let e = ast::parse_expr(source).map_err(|errs| {
        errs.iter()
            .map(|e| syntax_diagnostic(0, e))
            .collect::<Vec<_>>()
    })?;
    let mut diags = Vec::new();
    let mut fields = FieldSet::new();
    let schema = match table {
        Some(t) => match catalog.table(t) {
            Some(s) => Some(s),
            None => {
                return Err(vec![Diagnostic::error(
                    codes::UNKNOWN_TABLE,
                    0,
                    Span::default(),
                    format!("unknown table {t}"),
                )])
            }
        },
        None => None,
    };
    let lets = lower::Lets::default();
    let expr = lower::lower_standalone(&e, schema, &lets, &mut fields, &mut diags);
    if diags.iter().any(|d| d.severity >= Severity::Error) {
        return Err(diags);
    }
    Ok((expr, fields))
}
