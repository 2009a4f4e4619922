//! Why one event passes a rule or not: `scry why`.
//!
//! [`explain`] takes a compiled rule set, its sources and one JSON event, and tells for each
//! rule the table decision, the window decision, each `where` condition with the values it
//! read and its verdict, and each exclusion's verdict. It explains; it does not decide: every
//! condition is evaluated by the [`reference`](crate::reference) evaluator (which calls the
//! [`kql`](crate::kql) operator functions the engine's plan is checked against), the needle
//! positions come from the same [`kql::strings`] functions, and the rule's verdict is the
//! engine's own ([`Executor::verdict`]). When the explanation's conditions would decide
//! otherwise than the engine, the explanation says so (`consistent: false`): that is a bug.
//!
//! ```
//! use scry_compile::{compile, schema::Catalog};
//! use scry_run::explain;
//! use std::sync::Arc;
//! let mut sources = compile::Sources::default();
//! sources.add("r.scry", "rule r { from DeviceFileCertificateInfo where Signer has 'Action1' }");
//! let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
//! let plan = scry_plan::Plan::new(compiled.rules);
//! let ev: serde_json::Value = serde_json::from_str(r#"{"Signer": "XAction1 Corp"}"#).unwrap();
//! let ex = explain::explain(&plan, &sources, &ev, Some("DeviceFileCertificateInfo"), 0).unwrap();
//! assert_eq!(ex.rules[0].verdict, "no match");
//! assert!(ex.rules[0].conditions[0].why.contains("glued to a letter"));
//! ```

use crate::compile::Sources;
use crate::exec::{Executor, Verdict};
use crate::io::row_from_json;
use crate::kql::{self, fold::is_term_char};
use crate::plan::Plan;
use crate::reference::{self, RefEnv};
use crate::row::Row;
use crate::schema::{Catalog, Fit, TableSchema};
use crate::value::{Type, Value};
use scry_grammar::{self as ast, BinOp, ExprKind, ListOp, StrOpKind};
use serde::Serialize;
use std::collections::HashMap;

/// The explanation of one event against a rule set.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The event's table and how it was decided.
    pub table: String,
    /// How the table was decided: `--table`, the event's `Type`, or its columns.
    pub table_from: String,
    /// One entry per rule, in load order.
    pub rules: Vec<RuleExplanation>,
}

/// One rule's decision.
#[derive(Debug, Clone, Serialize)]
pub struct RuleExplanation {
    /// The rule's name.
    pub rule: String,
    /// `file:line` of the rule.
    pub location: String,
    /// The engine's verdict: `match`, `no match`, `suppressed by "X"`, or `not evaluated`.
    pub verdict: String,
    /// Whether the rule reads the event's table, in words.
    pub table: Decision,
    /// The window decision (`None`: the rule has no window, or the table is not read).
    pub window: Option<Decision>,
    /// The `where` conditions in written order (an `and` chain: one entry per operand).
    pub conditions: Vec<Condition>,
    /// The exclusions in written order.
    pub exclusions: Vec<Condition>,
    /// The conditions above decide what the engine decided.
    pub consistent: bool,
}

/// A yes/no decision and why.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// Passed.
    pub ok: bool,
    /// Why, in words.
    pub why: String,
}

/// One condition: its text, verdict, the values it read and why.
#[derive(Debug, Clone, Serialize)]
pub struct Condition {
    /// The condition as written (exclusions: their name).
    pub text: String,
    /// `file:line:column` where it is written.
    pub location: String,
    /// `true`, `false`, or `null` (a null condition drops the row like `false`).
    pub verdict: Option<bool>,
    /// The columns it read and their values, in order of appearance.
    pub read: Vec<ColumnRead>,
    /// Which needle matched where, or why not.
    pub why: String,
    /// For `and`/`or`/`not` below the top: the operands.
    pub parts: Vec<Condition>,
}

/// One column a condition read: `{"column": "RemoteUrl", "value": "myserver-eye.de"}` in the
/// JSON, named fields rather than a pair so that tools need not know the order.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnRead {
    /// The column (an alias resolved to the table's column).
    pub column: String,
    /// Its value as the engine typed it, as JSON (a missing string is `""`, as in KQL).
    pub value: serde_json::Value,
}

/// Why an explanation could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExplainError {
    /// The event is not a JSON object: `[1, 2]`.
    NotAnObject,
    /// The event's table could not be decided (no `Type`, no `--table`, columns fit none or
    /// several): `{"x": 1}`.
    NoTable(String),
    /// The engine could not read the event: the reason.
    Unreadable(String),
}

impl std::fmt::Display for ExplainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExplainError::NotAnObject => f.write_str("event is not a JSON object"),
            ExplainError::NoTable(why) => write!(f, "event table unknown: {why} (give --table)"),
            ExplainError::Unreadable(why) => write!(f, "event unreadable: {why}"),
        }
    }
}

/// Explains `event` (of `table`, or the table its `Type` or columns say) against every rule
/// of `plan` at clock `now`.
pub fn explain(
    plan: &Plan,
    sources: &Sources,
    event: &serde_json::Value,
    table: Option<&str>,
    now: i64,
) -> Result<Explanation, ExplainError> {
    Explainer::new(plan, sources).explain(event, table, now, &|_| true)
}

/// A rule set ready to explain events: its sources are parsed once (the explanation walks
/// the written conditions), for any number of events.
pub struct Explainer<'a> {
    plan: &'a Plan,
    sources: &'a Sources,
    parsed: Vec<Option<ast::File>>,
}

impl<'a> Explainer<'a> {
    /// Parses the sources of `plan`'s rules.
    pub fn new(plan: &'a Plan, sources: &'a Sources) -> Self {
        let parsed = sources
            .files
            .iter()
            .map(|f| ast::parse_file(&f.text).ok())
            .collect();
        Explainer {
            plan,
            sources,
            parsed,
        }
    }

    /// [`explain`] for the rules whose index in `plan.rules` passes `wanted` (`scry why
    /// --rule`): the others are neither evaluated nor listed.
    pub fn explain(
        &self,
        event: &serde_json::Value,
        table: Option<&str>,
        now: i64,
        wanted: &dyn Fn(usize) -> bool,
    ) -> Result<Explanation, ExplainError> {
        explain_with(self, event, table, now, wanted)
    }
}

fn explain_with(
    ex: &Explainer<'_>,
    event: &serde_json::Value,
    table: Option<&str>,
    now: i64,
    wanted: &dyn Fn(usize) -> bool,
) -> Result<Explanation, ExplainError> {
    let (plan, sources) = (ex.plan, ex.sources);
    let obj = event.as_object().ok_or(ExplainError::NotAnObject)?;
    let (table, table_from) = event_table(&plan.catalog, obj, table)?;
    let text = event.to_string();
    let mut rules = Vec::new();
    for (ri, rule) in plan.rules.iter().enumerate() {
        if !wanted(ri) {
            continue;
        }
        let parsed = &ex.parsed[rule.file];
        let src = &sources.files[rule.file];
        let location = format!("{}:{}", src.name, line_col(&src.text, rule.span.start).0);
        let tables: Vec<&str> = rule.bodies.iter().map(|b| b.table.as_str()).collect();
        let Some(body) = rule.body(&table) else {
            rules.push(RuleExplanation {
                rule: rule.name.clone(),
                location,
                verdict: "not evaluated".into(),
                table: Decision {
                    ok: false,
                    why: format!("the rule reads {}, not {table}", tables.join(", ")),
                },
                window: None,
                conditions: Vec::new(),
                exclusions: Vec::new(),
                consistent: true,
            });
            continue;
        };
        let engine = engine_verdict(plan, ri, &text, &table, now)?;
        let verdict = match engine {
            Verdict::Match => "match".to_string(),
            Verdict::NoMatch => "no match".to_string(),
            Verdict::Suppressed(i) => format!("suppressed by \"{}\"", rule.exclusions[i].name),
        };
        let schema = plan.catalog.table(&table);
        let window = body.window.as_ref().map(|(lo, hi)| {
            let empty = Row::new(&plan.fields);
            let lo = crate::exec::eval_on_row(lo, &empty, now);
            let hi = crate::exec::eval_on_row(hi, &empty, now);
            window_decision(obj, &lo, &hi)
        });
        let ast_rule = parsed.as_ref().and_then(|f| find_rule(f, &rule.name));
        let mut cx = Cx {
            src,
            obj,
            schema,
            now,
            lets: HashMap::new(),
            extended: HashMap::new(),
        };
        if let Some(f) = parsed {
            for item in &f.items {
                if let ast::Item::Let(l) = item {
                    cx.bind(l);
                }
            }
        }
        let (mut conditions, mut exclusions) = (Vec::new(), Vec::new());
        if let Some(r) = ast_rule {
            for c in &r.clauses {
                match c {
                    ast::Clause::Let(l) => cx.bind(l),
                    ast::Clause::Extend(x) => {
                        for a in &x.assignments {
                            let v = cx.eval(&a.value).unwrap_or(Value::Null);
                            let name = a.name.as_ref().map_or_else(
                                || ast::print::expr(&a.value, ast::print::Dialect::Scry),
                                |n| n.name.clone(),
                            );
                            cx.extended.insert(name, v);
                        }
                    }
                    ast::Clause::Where(w) => {
                        for part in w.predicate.conjuncts() {
                            conditions.push(cx.condition(part));
                        }
                    }
                    ast::Clause::Except(x) => {
                        let mut c = cx.condition(&x.condition);
                        c.text = format!("except \"{}\" when {}", x.name.value, c.text);
                        exclusions.push(c);
                    }
                    _ => {}
                }
            }
        }
        let in_window = window.as_ref().is_none_or(|w| w.ok);
        let passes = in_window && conditions.iter().all(|c| c.verdict == Some(true));
        let mine = if !passes {
            Verdict::NoMatch
        } else {
            match exclusions.iter().position(|c| c.verdict == Some(true)) {
                Some(i) => Verdict::Suppressed(i),
                None => Verdict::Match,
            }
        };
        rules.push(RuleExplanation {
            rule: rule.name.clone(),
            location,
            verdict,
            table: Decision {
                ok: true,
                why: format!("the rule reads {table}"),
            },
            window,
            conditions,
            exclusions,
            consistent: mine == engine,
        });
    }
    Ok(Explanation {
        table,
        table_from,
        rules,
    })
}

/// The table the engine would give the event: `--table`, else a non-empty `Type`, else the
/// one table its columns fit.
fn event_table(
    catalog: &Catalog,
    obj: &serde_json::Map<String, serde_json::Value>,
    given: Option<&str>,
) -> Result<(String, String), ExplainError> {
    if let Some(t) = given {
        return Ok((t.to_string(), "--table".into()));
    }
    if let Some(serde_json::Value::String(t)) = obj.get("Type") {
        if !t.is_empty() {
            return Ok((t.clone(), "its Type field".into()));
        }
    }
    let cols = obj
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.as_str());
    match catalog.fit(cols) {
        Fit::One(t) => Ok((
            t.to_string(),
            "its columns: the one table that has them all".into(),
        )),
        Fit::Several(ts) => Err(ExplainError::NoTable(format!(
            "its columns fit {}",
            ts.join(", ")
        ))),
        Fit::None { unknown } => Err(ExplainError::NoTable(match unknown {
            Some(c) => format!("no table has its column {c}"),
            None => "its columns fit no table".into(),
        })),
    }
}

fn engine_verdict(
    plan: &Plan,
    ri: usize,
    text: &str,
    table: &str,
    now: i64,
) -> Result<Verdict, ExplainError> {
    let mut exec = Executor::new(plan, now, Some(table.to_string()));
    let fields = exec.fields().clone();
    let mut row = Row::new(&fields);
    row_from_json(text, &fields, &mut row).map_err(ExplainError::Unreadable)?;
    exec.verdict(&row, ri)
        .map_err(|s| ExplainError::Unreadable(s.to_string()))
}

fn window_decision(
    obj: &serde_json::Map<String, serde_json::Value>,
    lo: &Value,
    hi: &Value,
) -> Decision {
    let ts = match obj.get("Timestamp") {
        Some(serde_json::Value::String(s)) => kql::time::parse_datetime(s),
        _ => None,
    };
    let span = |t: i64| ast::print::timespan(t);
    let date = |v: &Value| match v {
        Value::DateTime(t) => kql::time::format_datetime(*t),
        _ => "any time".into(),
    };
    let range = format!("[{} .. {}]", date(lo), date(hi));
    let Some(ts) = ts else {
        return Decision {
            ok: false,
            why: format!("no readable Timestamp: outside the window {range}"),
        };
    };
    let at = kql::time::format_datetime(ts);
    match (lo, hi) {
        (Value::DateTime(l), _) if ts < *l => Decision {
            ok: false,
            why: format!(
                "Timestamp {at} is outside the window by {} (before {range})",
                span(l - ts)
            ),
        },
        (_, Value::DateTime(h)) if ts > *h => Decision {
            ok: false,
            why: format!(
                "Timestamp {at} is outside the window by {} (after {range})",
                span(ts - h)
            ),
        },
        _ => Decision {
            ok: true,
            why: format!("Timestamp {at} is inside the window {range}"),
        },
    }
}

fn find_rule<'a>(f: &'a ast::File, name: &str) -> Option<&'a ast::Rule> {
    f.items.iter().find_map(|i| match i {
        ast::Item::Rule(r) if r.name.name == name => Some(r),
        _ => None,
    })
}

/// The operands of a chain of `op` (`a or b or c` → `[a, b, c]`), parentheses aside.
fn chain_of<'e>(e: &'e ast::Expr, op: &BinOp) -> Vec<&'e ast::Expr> {
    match &e.kind {
        ExprKind::Binary {
            op: o, lhs, rhs, ..
        } if o == op => {
            let mut v = chain_of(lhs, op);
            v.extend(chain_of(rhs, op));
            v
        }
        _ => vec![e],
    }
}

/// 1-based line and column of byte `pos`.
pub fn line_col(text: &str, pos: u32) -> (usize, usize) {
    let pos = (pos as usize).min(text.len());
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// What conditions are evaluated against.
struct Cx<'a> {
    src: &'a crate::compile::SourceFile,
    obj: &'a serde_json::Map<String, serde_json::Value>,
    schema: Option<&'a TableSchema>,
    now: i64,
    lets: HashMap<String, Value>,
    extended: HashMap<String, Value>,
}

impl Cx<'_> {
    fn bind(&mut self, l: &ast::Let) {
        if let Ok(v) = self.eval(&l.value) {
            self.lets.insert(l.name.name.clone(), v);
        }
    }

    /// The column `name` reads (an alias resolved), as the engine types it.
    fn column(&self, name: &str) -> Option<(String, Value, Type)> {
        if let Some(v) = self.extended.get(name) {
            return Some((name.to_string(), v.clone(), Type::String));
        }
        let schema = self.schema?;
        let real = schema.alias(name).unwrap_or(name);
        let ty = schema.column(real)?;
        let j = self.obj.get(real);
        let v = match (ty, j) {
            (Type::String, Some(serde_json::Value::String(s))) => Value::Str(s.clone()),
            (Type::String, Some(serde_json::Value::Null) | None) => Value::Str(String::new()),
            (Type::String, Some(other)) => Value::Str(other.to_string()),
            (Type::Long | Type::Int, Some(serde_json::Value::Number(n))) => {
                n.as_i64().map_or(Value::Null, Value::Long)
            }
            (Type::Real, Some(serde_json::Value::Number(n))) => {
                n.as_f64().map_or(Value::Null, Value::Real)
            }
            (Type::Bool, Some(serde_json::Value::Bool(b))) => Value::Bool(*b),
            (Type::DateTime, Some(serde_json::Value::String(s))) => {
                kql::time::parse_datetime(s).map_or(Value::Null, Value::DateTime)
            }
            (_, Some(j)) if !j.is_null() => kql::funcs::json_to_value(j),
            _ => Value::Null,
        };
        Some((real.to_string(), v, ty))
    }

    fn eval(&self, e: &ast::Expr) -> Result<Value, reference::RefError> {
        let columns = |n: &str| self.column(n).map(|(_, v, t)| (v, t));
        let lets = |n: &str| self.lets.get(n).cloned();
        let env = RefEnv {
            now: self.now,
            columns: &columns,
            lets: &lets,
        };
        reference::eval(e, &env)
    }

    fn location(&self, pos: u32) -> String {
        let (l, c) = line_col(&self.src.text, pos);
        format!("{}:{l}:{c}", self.src.name)
    }

    fn condition(&self, e: &ast::Expr) -> Condition {
        let text = ast::print::expr(e, ast::print::Dialect::Scry);
        let (verdict, error) = match self.eval(e) {
            Ok(Value::Bool(b)) => (Some(b), None),
            Ok(_) => (None, None),
            Err(err) => (None, Some(err.to_string())),
        };
        let mut read = Vec::new();
        ast::print::walk(e, &mut |x| {
            if let ExprKind::Name(id) = &x.kind {
                if let Some((col, v, _)) = self.column(&id.name) {
                    let j = kql::funcs::value_to_json(&v);
                    if !read.iter().any(|r: &ColumnRead| r.column == col) {
                        read.push(ColumnRead {
                            column: col,
                            value: j,
                        });
                    }
                }
            }
        });
        let mut parts = Vec::new();
        let why = if let Some(err) = error {
            format!("not evaluated here: {err}")
        } else {
            match &e.kind {
                ExprKind::Binary {
                    op: op @ (BinOp::And | BinOp::Or),
                    ..
                } => {
                    for p in chain_of(e, op) {
                        parts.push(self.condition(p));
                    }
                    String::new()
                }
                ExprKind::Not(x) => {
                    parts.push(self.condition(x));
                    String::new()
                }
                ExprKind::Binary {
                    op: BinOp::Str(op),
                    lhs,
                    rhs,
                    ..
                } => match (self.eval(lhs), self.eval(rhs)) {
                    (Ok(hay), Ok(Value::Str(needle))) => {
                        let hay = as_text(&hay);
                        needle_story(op.kind, op.case_sensitive, &hay, &needle)
                    }
                    _ => String::new(),
                },
                ExprKind::InList { op, lhs, list, .. } => self.list_story(*op, lhs, list),
                _ => String::new(),
            }
        };
        let why = match verdict {
            None if why.is_empty() => "null: drops the row like false".into(),
            _ => why,
        };
        Condition {
            text,
            location: self.location(e.span.start),
            verdict,
            read,
            why,
            parts,
        }
    }

    fn list_story(&self, op: ListOp, lhs: &ast::Expr, list: &[ast::Expr]) -> String {
        let Ok(hay) = self.eval(lhs) else {
            return String::new();
        };
        let mut needles = Vec::new();
        for x in list {
            match self.eval(x) {
                Ok(Value::Array(vs)) => needles.extend(vs),
                Ok(v) => needles.push(v),
                Err(_) => return String::new(),
            }
        }
        let needles: Vec<String> = needles.iter().map(as_text).collect();
        let hay_text = as_text(&hay);
        match op {
            ListOp::HasAny | ListOp::HasAll => {
                let has = ast::StrOp {
                    kind: StrOpKind::Has,
                    case_sensitive: false,
                    negated: false,
                };
                let (hit, miss): (Vec<&String>, Vec<&String>) = needles
                    .iter()
                    .partition(|n| kql::strings::str_op(has, &hay_text, n));
                let mut parts = Vec::new();
                for n in hit.iter().take(3) {
                    parts.push(needle_story(StrOpKind::Has, false, &hay_text, n));
                }
                // Near misses first: needles that occur, but not as a term.
                let near: Vec<String> = miss
                    .iter()
                    .map(|n| needle_story(StrOpKind::Has, false, &hay_text, n))
                    .filter(|s| s.contains("glued"))
                    .take(3)
                    .collect();
                parts.extend(near);
                let tail = match (op, hit.len(), miss.len()) {
                    (ListOp::HasAny, 0, m) => {
                        format!("none of the {m} needle(s) is a term of the value")
                    }
                    (ListOp::HasAny, h, _) => format!("{h} of {} needle(s) matched", needles.len()),
                    (_, _, 0) => "every needle matched".into(),
                    (_, _, m) => format!("{m} needle(s) missing"),
                };
                parts.push(tail);
                parts.join("; ")
            }
            _ => {
                let ci = matches!(op, ListOp::InCi | ListOp::NotInCi);
                let found = needles.iter().find(|n| {
                    if ci {
                        kql::strings::eq_ci(&hay_text, n)
                    } else {
                        **n == hay_text
                    }
                });
                match found {
                    Some(n) => format!("the value equals list item {}", quote(n)),
                    None => format!("the value is none of the {} list item(s)", needles.len()),
                }
            }
        }
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => kql::funcs::tostring(other),
    }
}

fn quote(s: &str) -> String {
    ast::print::string_literal(s)
}

/// Where `needle` occurs in `hay` for a string operator, and whether each occurrence counts.
fn needle_story(kind: StrOpKind, case_sensitive: bool, hay: &str, needle: &str) -> String {
    if hay.is_empty() {
        return format!("the value is empty (missing or null): no {}", quote(needle));
    }
    let (h, n) = if case_sensitive {
        (hay.to_string(), needle.to_string())
    } else {
        (kql::fold::fold(hay), kql::fold::fold(needle))
    };
    if n.is_empty() {
        return "an empty needle matches every value".into();
    }
    let occurrences: Vec<usize> = h.match_indices(n.as_str()).map(|(i, _)| i).collect();
    if occurrences.is_empty() {
        if case_sensitive && kql::fold::fold(hay).contains(&kql::fold::fold(needle)) {
            return format!(
                "{} occurs only in another case (the operator is case-sensitive)",
                quote(needle)
            );
        }
        return format!("{} does not occur in the value", quote(needle));
    }
    let first_term = n.chars().next().is_some_and(is_term_char);
    let last_term = n.chars().next_back().is_some_and(is_term_char);
    let mut reasons = Vec::new();
    for &start in &occurrences {
        let end = start + n.len();
        if kql::strings::term_bounds_ok(&h, start, end, kind, first_term, last_term) {
            let how = match kind {
                StrOpKind::Has => "as a whole term",
                StrOpKind::HasPrefix => "at the start of a term",
                StrOpKind::HasSuffix => "at the end of a term",
                StrOpKind::Contains => "",
                StrOpKind::StartsWith => "at the start",
                StrOpKind::EndsWith => "at the end",
            };
            return format!(
                "{} found at character {} {how}",
                quote(needle),
                char_pos(&h, start)
            )
            .trim_end()
            .to_string();
        }
        let before = h[..start].chars().next_back();
        let after = h[end..].chars().next();
        let glue = |c: Option<char>, side: &str| match c {
            Some(c) if c.is_numeric() => Some(format!("glued to a digit {side} it ('{c}')")),
            Some(c) if is_term_char(c) => Some(format!("glued to a letter {side} it ('{c}')")),
            _ => None,
        };
        let why = match kind {
            StrOpKind::StartsWith => Some("not at the start of the value".to_string()),
            StrOpKind::EndsWith => Some("not at the end of the value".to_string()),
            StrOpKind::HasSuffix => glue(after, "after"),
            StrOpKind::HasPrefix => glue(before, "before"),
            _ => glue(before, "before").or_else(|| glue(after, "after")),
        };
        if let Some(w) = why {
            reasons.push(format!("at character {}: {w}", char_pos(&h, start)));
        }
    }
    reasons.dedup();
    format!(
        "{} occurs but not as the operator needs: {}",
        quote(needle),
        reasons.join(", ")
    )
}

fn char_pos(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

/// The explanation as text for people.
pub fn render(ex: &Explanation) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "event table: {} (from {})", ex.table, ex.table_from);
    for r in &ex.rules {
        let _ = writeln!(out, "\nrule {} ({}): {}", r.rule, r.location, r.verdict);
        let mark = |ok: bool| if ok { "pass" } else { "FAIL" };
        let _ = writeln!(out, "  table   {}  {}", mark(r.table.ok), r.table.why);
        if let Some(w) = &r.window {
            let _ = writeln!(out, "  window  {}  {}", mark(w.ok), w.why);
        }
        for c in &r.conditions {
            condition_lines(&mut out, c, "where", 2);
        }
        for c in &r.exclusions {
            condition_lines(&mut out, c, "except", 2);
        }
        if !r.consistent {
            let _ = writeln!(
                out,
                "  bug: these conditions decide otherwise than the engine ({}); please report it",
                r.verdict
            );
        }
    }
    out
}

fn condition_lines(out: &mut String, c: &Condition, label: &str, indent: usize) {
    use std::fmt::Write as _;
    let pad = " ".repeat(indent);
    // The values read show once, on the operand that reads them.
    let show_read = c.parts.is_empty();
    let v = match (label, c.verdict) {
        ("except", Some(true)) => "holds",
        ("except", _) => "no",
        (_, Some(true)) => "pass",
        (_, Some(false)) => "FAIL",
        (_, None) => "null",
    };
    let text = if label == "except" || label.is_empty() {
        c.text.clone()
    } else {
        format!("{label} {}", c.text)
    };
    let _ = writeln!(out, "{pad}{v:<6}{text}  ({})", c.location);
    for ColumnRead {
        column: col,
        value: val,
    } in c.read.iter().filter(|_| show_read)
    {
        let _ = writeln!(out, "{pad}        {col} = {val}");
    }
    if !c.why.is_empty() {
        let _ = writeln!(out, "{pad}        {}", c.why);
    }
    for p in &c.parts {
        condition_lines(out, p, "", indent + 4);
    }
}
