//! Runs every case of `tests/data/conformance-public.json` through the reference evaluator
//! (which calls `scry_engine::kql` for every rule) and, for the string operators, through
//! `kql::str_op` directly as well. Aggregates and joins go through `kql::agg` and a tiny join
//! here. Prints every failing case with its id, then fails if there was any.

use scry_engine::kql::{self, agg};
use scry_engine::reference::{eval, RefEnv};
use scry_engine::value::{Type, Value};
use scry_grammar::{BinOp, Expr, ExprKind, Ident, ListOp, Literal, Span, StrOp};
use serde_json::Value as J;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/conformance-public.json"
);

/// The column name the left operand is bound to.
const LEFT: &str = "L";

fn e(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
    }
}

fn lit(l: Literal) -> Expr {
    e(ExprKind::Literal(l))
}

fn s(x: &str) -> Expr {
    lit(Literal::Str(x.to_string()))
}

fn name(n: &str) -> Expr {
    e(ExprKind::Name(Ident {
        name: n.to_string(),
        span: Span::default(),
    }))
}

fn call(f: &str, args: Vec<Expr>) -> Expr {
    e(ExprKind::Call {
        name: Ident {
            name: f.to_string(),
            span: Span::default(),
        },
        args,
    })
}

fn index(base: Expr, i: i64) -> Expr {
    e(ExprKind::Index {
        base: Box::new(base),
        index: Box::new(lit(Literal::Long(i))),
    })
}

fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    e(ExprKind::Binary {
        op,
        op_span: Span::default(),
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    })
}

/// `f()`, `f(5d)`, `f(-5d)`: the expression forms the cases use (`now()`, `now(-5d)`, `ago(5d)`).
fn parse_call_expr(text: &str) -> Result<Expr, String> {
    let text = text.trim();
    let (f, rest) = text
        .split_once('(')
        .ok_or_else(|| format!("not a call: {text}"))?;
    let arg = rest
        .strip_suffix(')')
        .ok_or_else(|| format!("unclosed call: {text}"))?
        .trim();
    let args = if arg.is_empty() {
        vec![]
    } else {
        let (neg, span) = match arg.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, arg),
        };
        let ticks = kql::parse_timespan(span).ok_or_else(|| format!("bad timespan {arg}"))?;
        let l = lit(Literal::Timespan(ticks));
        vec![if neg {
            e(ExprKind::Neg(Box::new(l)))
        } else {
            l
        }]
    };
    Ok(call(f.trim(), args))
}

/// A string column's value as a reader hands it over: JSON null and a missing key are `""`.
fn string_cell(j: &J) -> Value {
    match j {
        J::String(x) => Value::Str(x.clone()),
        J::Null => Value::Str(String::new()),
        other => Value::Str(other.to_string()),
    }
}

/// A typed value from the case's JSON and type name.
fn typed_value(j: &J, ty: Option<&str>) -> Result<(Value, Type), String> {
    let ty = ty.unwrap_or("string");
    if j.is_null() && !ty.starts_with("string") {
        let t = Type::from_name(ty).ok_or_else(|| format!("unknown type {ty}"))?;
        return Ok((Value::Null, t));
    }
    Ok(match ty {
        "string" | "string-json-null" | "string-missing" | "guid" => (string_cell(j), Type::String),
        "datetime" => {
            let text = j.as_str().ok_or("datetime not a string")?;
            let t = kql::parse_datetime(text).ok_or_else(|| format!("bad datetime {text}"))?;
            (Value::DateTime(t), Type::DateTime)
        }
        "timespan" => {
            let text = j.as_str().ok_or("timespan not a string")?;
            let t = kql::parse_timespan(text).ok_or_else(|| format!("bad timespan {text}"))?;
            (Value::Timespan(t), Type::Timespan)
        }
        "long" | "int" => (
            Value::Long(j.as_i64().ok_or("not an integer")?),
            Type::from_name(ty).unwrap_or(Type::Long),
        ),
        "real" => (Value::Real(j.as_f64().ok_or("not a number")?), Type::Real),
        "bool" => (Value::Bool(j.as_bool().ok_or("not a bool")?), Type::Bool),
        "dynamic" => {
            // `parse_json('[]')`: a string holds the JSON text; anything else is the JSON itself.
            let parsed = match j {
                J::String(text) => serde_json::from_str(text).unwrap_or(J::String(text.clone())),
                other => other.clone(),
            };
            (kql::funcs::json_to_value(&parsed), Type::Dynamic)
        }
        other => return Err(format!("unsupported type {other}")),
    })
}

/// A literal expression for one JSON operand (list elements, between bounds, binary rights).
fn operand_expr(j: &J, ty: Option<&str>) -> Result<Expr, String> {
    Ok(match (j, ty) {
        (J::Null, Some("string" | "string-json-null" | "string-missing") | None) => {
            lit(Literal::Null("string".into()))
        }
        (J::Null, _) => lit(Literal::Null(ty.unwrap_or("dynamic").into())),
        (J::Array(items), _) => e(ExprKind::List(
            items
                .iter()
                .map(|i| operand_expr(i, ty))
                .collect::<Result<_, _>>()?,
        )),
        (J::Bool(b), _) => lit(Literal::Bool(*b)),
        (J::Number(n), _) => match n.as_i64() {
            Some(i) if ty != Some("real") => lit(Literal::Long(i)),
            _ => lit(Literal::Real(n.as_f64().ok_or("bad number")?)),
        },
        (J::String(text), Some("expr")) => parse_call_expr(text)?,
        (J::String(text), Some("datetime" | "timespan")) | (J::String(text), Some("long"))
            if kql::parse_datetime(text).is_none() =>
        {
            // A bound written as a timespan (`"3d"`) or an expression.
            match kql::parse_timespan(text) {
                Some(t) => lit(Literal::Timespan(t)),
                None => parse_call_expr(text)?,
            }
        }
        (J::String(text), Some("datetime")) => lit(Literal::DateTime(text.clone())),
        (J::String(text), _) => s(text),
        (J::Object(_), _) => return Err("object operand".into()),
    })
}

/// A `between` bound: text is an expression (`now(-5d)`), a timespan (`3d`), or a datetime,
/// whatever `right_type` says, since one case may mix a datetime low with a timespan high.
fn bound_expr(j: &J, ty: Option<&str>) -> Result<Expr, String> {
    let J::String(text) = j else {
        return operand_expr(j, ty);
    };
    Ok(if text.contains('(') {
        parse_call_expr(text)?
    } else if kql::parse_datetime(text).is_some() {
        lit(Literal::DateTime(text.clone()))
    } else if let Some(t) = kql::parse_timespan(text) {
        lit(Literal::Timespan(t))
    } else {
        operand_expr(j, ty)?
    })
}

fn str_op_of(op: &str) -> Option<StrOp> {
    match BinOp::from_token(op)? {
        BinOp::Str(s) => Some(s),
        _ => None,
    }
}

fn bin_op_of(op: &str) -> Option<BinOp> {
    match op {
        "matches regex" => Some(BinOp::MatchesRegex),
        other => BinOp::from_token(other),
    }
}

fn list_op_of(op: &str) -> Option<ListOp> {
    Some(match op {
        "in" => ListOp::In,
        "!in" => ListOp::NotIn,
        "in~" => ListOp::InCi,
        "!in~" => ListOp::NotInCi,
        "has_any" => ListOp::HasAny,
        "has_all" => ListOp::HasAll,
        _ => return None,
    })
}

/// What a case computed.
enum Outcome {
    Value(Value),
    Error(String),
}

struct Case<'a> {
    op: &'a str,
    left: &'a J,
    right: &'a J,
    left_type: Option<&'a str>,
    right_type: Option<&'a str>,
    now: i64,
}

impl Case<'_> {
    /// The left operand as an expression: an `expr` is inlined, anything else is column `L`.
    ///
    /// A datetime given as text is a `datetime(...)` literal, so that text Kusto would reject
    /// surfaces as an evaluation error (and an `"error"` expectation can be checked).
    fn left_expr(&self) -> Result<Expr, String> {
        match (self.left_type, self.left) {
            (Some("expr"), J::String(text)) => parse_call_expr(text),
            (Some("datetime"), J::String(text)) => Ok(lit(Literal::DateTime(text.clone()))),
            _ => Ok(name(LEFT)),
        }
    }

    fn eval(&self, expr: &Expr) -> Result<Outcome, String> {
        let inlined = matches!(
            (self.left_type, self.left),
            (Some("expr"), _) | (Some("datetime"), J::String(_))
        );
        let left = if inlined {
            None
        } else {
            Some(typed_value(self.left, self.left_type)?)
        };
        let columns = move |n: &str| if n == LEFT { left.clone() } else { None };
        let env = RefEnv {
            now: self.now,
            columns: &columns,
            lets: &|_| None,
        };
        Ok(match eval(expr, &env) {
            Ok(v) => Outcome::Value(v),
            Err(err) => Outcome::Error(err.to_string()),
        })
    }

    fn scalar(&self) -> Result<Option<Outcome>, String> {
        let l = self.left_expr()?;
        let expr = if let Some(op) = bin_op_of(self.op) {
            bin(op, l, operand_expr(self.right, self.right_type)?)
        } else if let Some(op) = list_op_of(self.op) {
            let items = self.right.as_array().ok_or("list op needs a list")?;
            let list = match self.right_type {
                // `dynamic([...])`: one array element, which the operator flattens.
                Some("dynamic") => vec![operand_expr(self.right, None)?],
                ty => items
                    .iter()
                    .map(|i| operand_expr(i, ty))
                    .collect::<Result<_, _>>()?,
            };
            e(ExprKind::InList {
                op,
                op_span: Span::default(),
                lhs: Box::new(l),
                list,
            })
        } else if let Some(negated) = match self.op {
            "between" => Some(false),
            "!between" => Some(true),
            _ => None,
        } {
            let bounds = self.right.as_array().ok_or("between needs [low, high]")?;
            let [low, high] = bounds.as_slice() else {
                return Err("between needs two bounds".into());
            };
            e(ExprKind::Between {
                negated,
                lhs: Box::new(l),
                low: Box::new(bound_expr(low, self.right_type)?),
                high: Box::new(bound_expr(high, self.right_type)?),
            })
        } else {
            match self.op {
                "isempty" | "isnotempty" | "strlen" | "tostring" | "tolower" | "toupper"
                | "isnull" | "isnotnull" => call(self.op, vec![l]),
                "split" => match self.right {
                    J::Array(parts) => match parts.as_slice() {
                        [d, J::Number(i)] => index(
                            call("split", vec![l, operand_expr(d, None)?]),
                            i.as_i64().ok_or("bad index")?,
                        ),
                        _ => return Err("split needs [delimiter, index]".into()),
                    },
                    d => call("split", vec![l, operand_expr(d, None)?]),
                },
                "split_index_tostring" => {
                    let parts = self.right.as_array().ok_or("needs [d, i]")?;
                    let [d, J::Number(i)] = parts.as_slice() else {
                        return Err("needs [delimiter, index]".into());
                    };
                    call(
                        "tostring",
                        vec![index(
                            call("split", vec![l, operand_expr(d, None)?]),
                            i.as_i64().ok_or("bad index")?,
                        )],
                    )
                }
                "trim_start" => call("trim_start", vec![operand_expr(self.right, None)?, l]),
                "remoteurl_normalize" => {
                    let trimmed = call("trim_start", vec![s("http[s]?://"), l]);
                    let host = call(
                        "tostring",
                        vec![index(call("split", vec![trimmed, s("/")]), 0)],
                    );
                    call(
                        "tostring",
                        vec![index(call("split", vec![host, s(":")]), 0)],
                    )
                }
                _ => return Ok(None),
            }
        };
        self.eval(&expr).map(Some)
    }

    /// Aggregates and table-level cases, computed with `kql::agg` and a tiny join.
    fn table(&self) -> Result<Option<Outcome>, String> {
        let values = || -> Result<Vec<Value>, String> {
            self.left
                .as_array()
                .ok_or("aggregate input must be a list")?
                .iter()
                .map(|j| typed_value(j, self.left_type).map(|(v, _)| v))
                .collect()
        };
        let v = match self.op {
            "make_set" => Value::Array(agg::make_set(&values()?, kql::MAKE_SET_MAX)),
            "make_set_maxsize_default" => Value::Long(kql::MAKE_SET_MAX as i64),
            "count" => Value::Long(values()?.len() as i64),
            "min" => agg::min(&values()?),
            "max" => agg::max(&values()?),
            "distinct" => Value::Array(agg::distinct(&values()?)),
            "summarize_rows" => Value::Long(summarize_rows(self.left)?),
            "where" => {
                let p = self
                    .left
                    .get("predicate")
                    .ok_or("where needs a predicate")?;
                let p = kql::funcs::json_to_value(p);
                Value::Bool(p == Value::Bool(true))
            }
            op => match op
                .strip_prefix("join_")
                .and_then(|k| k.strip_suffix("_rows"))
            {
                Some(kind) => Value::Long(join_rows(kind, self.left)?),
                None => return Ok(None),
            },
        };
        Ok(Some(Outcome::Value(v)))
    }
}

/// Row count of `summarize ... by keys` over `{"by": [...], "rows": [...]}`; rows are objects
/// keyed by column or arrays in `by` order. No `by`: exactly one row.
fn summarize_rows(input: &J) -> Result<i64, String> {
    let by: Vec<&str> = input
        .get("by")
        .and_then(J::as_array)
        .map(|b| b.iter().filter_map(J::as_str).collect())
        .unwrap_or_default();
    let rows = input
        .get("rows")
        .and_then(J::as_array)
        .ok_or("needs rows")?;
    if by.is_empty() {
        return Ok(1);
    }
    let mut groups: Vec<Vec<Value>> = Vec::new();
    for row in rows {
        let key: Vec<Value> = by
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let cell = match row {
                    J::Object(m) => m.get(*k).cloned().unwrap_or(J::Null),
                    J::Array(a) => a.get(i).cloned().unwrap_or(J::Null),
                    _ => J::Null,
                };
                kql::funcs::json_to_value(&cell)
            })
            .collect();
        let same = |g: &Vec<Value>| g.iter().zip(&key).all(|(a, b)| agg::same(a, b));
        if !groups.iter().any(same) {
            groups.push(key);
        }
    }
    Ok(groups.len() as i64)
}

/// Output row count of `left | join kind=<kind> right on <first column>`.
fn join_rows(kind: &str, input: &J) -> Result<i64, String> {
    let side = |n: &str| -> Result<Vec<Value>, String> {
        Ok(input
            .get(n)
            .and_then(J::as_array)
            .ok_or_else(|| format!("join needs {n}"))?
            .iter()
            .map(|r| kql::funcs::json_to_value(r.get(0).unwrap_or(&J::Null)))
            .collect())
    };
    let (mut left, right) = (side("left")?, side("right")?);
    // Join keys match by `==`: a null key matches nothing.
    let hits = |k: &Value, other: &[Value]| {
        other
            .iter()
            .filter(|o| kql::equals(k, o) == Some(true))
            .count() as i64
    };
    if kind == "innerunique" {
        left = agg::distinct(&left);
    }
    let matched = |rows: &[Value], other: &[Value]| -> (i64, i64) {
        let with = rows.iter().filter(|k| hits(k, other) > 0).count() as i64;
        (with, rows.len() as i64 - with)
    };
    let pairs: i64 = left.iter().map(|k| hits(k, &right)).sum();
    let (l_with, l_without) = matched(&left, &right);
    let (r_with, r_without) = matched(&right, &left);
    Ok(match kind {
        "inner" | "innerunique" => pairs,
        "leftouter" => pairs + l_without,
        "rightouter" => pairs + r_without,
        "fullouter" => pairs + l_without + r_without,
        "leftsemi" => l_with,
        "rightsemi" => r_with,
        "leftanti" | "anti" | "leftantisemi" => l_without,
        "rightanti" | "rightantisemi" => r_without,
        other => return Err(format!("unknown join kind {other}")),
    })
}

/// Does `got` match the case's `expected`?
fn matches_expected(got: &Outcome, expected: &J, unordered: bool) -> bool {
    match (got, expected) {
        (Outcome::Error(_), J::String(x)) if x == "error" => true,
        (Outcome::Error(_), _) => false,
        (Outcome::Value(_), J::String(x)) if x == "error" => false,
        (Outcome::Value(Value::DateTime(t)), J::String(x)) => kql::parse_datetime(x) == Some(*t),
        (Outcome::Value(Value::Timespan(t)), J::String(x)) => kql::parse_timespan(x) == Some(*t),
        (Outcome::Value(v), J::Array(want)) if unordered => {
            let J::Array(mut got) = kql::funcs::value_to_json(v) else {
                return false;
            };
            let mut want = want.clone();
            got.sort_by_key(|j| j.to_string());
            want.sort_by_key(|j| j.to_string());
            got == want
        }
        (Outcome::Value(Value::Real(x)), J::Number(n)) => n.as_f64() == Some(*x),
        (Outcome::Value(v), want) => kql::funcs::value_to_json(v) == *want,
    }
}

fn run_case(c: &J) -> Result<(), String> {
    let field = |k: &str| c.get(k).and_then(J::as_str);
    let op = field("op").ok_or("no op")?;
    let now = match field("now") {
        Some(text) => kql::parse_datetime(text).ok_or("bad now")?,
        None => 0,
    };
    let case = Case {
        op,
        left: c.get("left").unwrap_or(&J::Null),
        right: c.get("right").unwrap_or(&J::Null),
        left_type: field("left_type"),
        right_type: field("right_type"),
        now,
    };
    let expected = c.get("expected").ok_or("no expected")?;
    let unordered = field("compare") == Some("unordered");
    let got = match case.scalar()? {
        Some(o) => o,
        None => case
            .table()?
            .ok_or_else(|| format!("unsupported op {op:?}"))?,
    };

    // String operators on two strings: the direct `kql::str_op` call must agree too.
    if let (Some(sop), J::String(h), J::String(n), None) =
        (str_op_of(op), case.left, case.right, case.left_type)
    {
        let direct = kql::str_op(sop, h, n);
        if J::Bool(direct) != *expected {
            return Err(format!("kql::str_op gave {direct}, expected {expected}"));
        }
    }

    if matches_expected(&got, expected, unordered) {
        Ok(())
    } else {
        Err(match got {
            Outcome::Value(v) => format!("got {v:?}, expected {expected}"),
            Outcome::Error(e) => format!("got error `{e}`, expected {expected}"),
        })
    }
}

#[test]
fn every_public_case_passes() {
    let text = std::fs::read_to_string(CASES).expect("conformance cases are readable");
    let cases: Vec<J> = serde_json::from_str(&text).expect("conformance cases are JSON");
    let mut failures = Vec::new();
    for c in &cases {
        let id = c.get("id").and_then(J::as_str).unwrap_or("?");
        if let Err(why) = run_case(c) {
            failures.push(format!(
                "{id} [{}] {} / {}: {why}",
                c.get("op").unwrap_or(&J::Null),
                c.get("left").unwrap_or(&J::Null),
                c.get("right").unwrap_or(&J::Null)
            ));
        }
    }
    println!(
        "{} of {} conformance cases pass",
        cases.len() - failures.len(),
        cases.len()
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} cases failed", failures.len());
}
