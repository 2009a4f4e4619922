//! Name resolution, type checking and lowering of one rule against one table.
//!
//! | file | role |
//! |---|---|
//! | `mod.rs` | the lowering context [`Cx`]: `let`s, sets, name resolution, constant folding |
//! | `expr.rs` | expressions: literals, operators, string predicates, lists and sets, windows |
//! | `calls.rs` | function calls and aggregates |
//! | `meta.rs` | a rule's metadata clauses |
//! | `rule.rs` | a whole rule: clauses in order, exclusions, summarize, project, take, examples |

use super::lint;
use super::{
    Agg, AggKind, Body, ExampleCase, ExampleEvent, ExclusionInfo, Expectation, OutputColumn, Rule,
    RuleMeta, SetBody, SetDef, Step, StepRole,
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

mod calls;
mod examples;
mod expr;
mod join;
mod join_combine;
mod meta;
mod rule;
mod shape;
mod synth;
mod timeline;

use examples::{lower_examples, no_examples};
pub use join::desugar_joins;
pub use join_combine::combining_kind;
use meta::lower_meta;
pub use rule::lower_rule;
pub use shape::lower_any_rule;
pub use timeline::first_seen as desugar_first_seen;
pub(super) use timeline::rule_lets;

/// The value of an expression that already failed to check: no JSON text can equal it, so
/// it never collides with a real constant, and later checks skip it instead of piling on.
const ERROR_MARK: &str = "\u{0}scry: erroneous expression";

/// What lowering one rule reads and adds to: its file and the file's `let`s, the catalog, and
/// the run-wide field interner, set registry and diagnostics. The lowerings of each shape
/// (`lower_rule`, `lower_any_rule`, `lower_combining`, `timeline::sequence`) take it whole.
pub struct Lowering<'a> {
    /// The rule's file, for diagnostics.
    pub file: usize,
    /// The file's `let`s.
    pub file_lets: &'a Lets,
    /// The tables.
    pub catalog: &'a Catalog,
    /// Every field the rules read, interned.
    pub fields: &'a mut FieldSet,
    /// The `distinct` sets the rules collect.
    pub sets: &'a mut SetRegistry,
    /// Where errors and warnings go.
    pub diags: &'a mut Vec<Diagnostic>,
}

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
    "bin",
    "floor",
    "bin_at",
    "startofday",
    "startofweek",
    "startofmonth",
    "startofyear",
    "endofday",
    "endofweek",
    "endofmonth",
    "endofyear",
];

/// The aggregates `summarize` knows (`makeset` is an old spelling of `make_set`).
pub const AGGREGATES: &[&str] = &[
    "count", "countif", "dcount", "min", "max", "make_set", "makeset", "sum", "avg", "arg_max",
    "arg_min",
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

/// `bin(Timestamp, 1h)`, `bin_at(...)`, `floor(...)` and `startofday(Timestamp)` keep their
/// first argument's column name in Kusto (`summarize count() by bin(Timestamp, 1h)` has a
/// `Timestamp` column); `startofweek/month/year` do not (they are `Column1`, ...), as measured
/// by duckdb-kql on the Kusto emulator.
fn preserved_name(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Call(
            Func::Bin | Func::BinAt | Func::StartOf(crate::kql::bins::Period::Day),
            args,
        ) => match &args.first()?.kind {
            ExprKind::Field { name, .. } | ExprKind::Computed { name, .. } => Some(name),
            _ => None,
        },
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

/// The same name read off an aggregate call as written (`make_set(RemoteUrl)` →
/// `set_RemoteUrl`): what `scry import kql` and `scry export kql` name an unnamed aggregate.
/// `arg_max` / `arg_min` give several columns and have no single name here.
pub fn default_agg_name_of(function: &str, args: &[ast::Expr]) -> Option<String> {
    let col = match args.first().map(|x| &x.kind) {
        Some(ast::ExprKind::Name(id)) => id.name.clone(),
        _ => String::new(),
    };
    Some(match function {
        "count" => "count_".to_string(),
        "countif" => "countif_".to_string(),
        "make_set" | "makeset" => format!("set_{col}"),
        "arg_max" | "arg_min" => return None,
        other => format!("{other}_{col}"),
    })
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
    if let Some(n) = preserved_name(lowered) {
        return n.to_string();
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
