//! The plan as `scry explain` prints it: per table, the column scans and look-ups, the atoms,
//! and each rule's conditions over them.

use crate::compile::{Rule, Step};
use crate::ir::Expr;
use crate::Plan;
use std::fmt::{self, Write as _};

impl fmt::Display for Plan {
    /// The stable text `scry explain` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "plan: {} rule(s) over {} table(s), {} field(s) read",
            self.rules.len(),
            self.tables.len(),
            self.fields.len()
        )?;
        for t in &self.tables {
            writeln!(f)?;
            writeln!(f, "table {}: {} rule(s)", t.name, t.rules.len())?;
            writeln!(
                f,
                "  evaluated for every row: {} (the others when an atom they need is set)",
                t.candidates.always()
            )?;
            let names: Vec<&str> = t.fields.iter().map(|&id| self.fields.name(id)).collect();
            writeln!(f, "  read: {}", names.join(", "))?;
            for m in &t.matchers {
                for (label, s) in [("case-sensitive", &m.cs), ("case-folded", &m.ci)] {
                    if let Some(s) = s {
                        writeln!(
                            f,
                            "  scan {} ({label}, aho-corasick, {} pattern(s)):",
                            m.name,
                            s.patterns.len()
                        )?;
                        for p in &s.patterns {
                            let uses: Vec<String> =
                                p.uses.iter().map(|(a, _)| format!("#{}", a.0)).collect();
                            writeln!(
                                f,
                                "    {} -> {}",
                                serde_json::Value::String(p.text.clone()),
                                uses.join(" ")
                            )?;
                        }
                    }
                }
                for (a, _) in &m.empty {
                    writeln!(f, "  decide {} empty needle -> #{}", m.name, a.0)?;
                }
            }
            for m in &t.value_matchers {
                let values = m.listed();
                writeln!(f, "  look up {} ({} value(s)):", m.name, values.len())?;
                for (v, ids) in values {
                    let uses: Vec<String> = ids.iter().map(|a| format!("#{}", a.0)).collect();
                    writeln!(f, "    {v} -> {}", uses.join(" "))?;
                }
            }
            for (i, text) in t.atom_text.iter().enumerate() {
                writeln!(f, "  #{i} = {text}")?;
            }
            for &(si, bi) in &t.sets {
                let set = &self.sets[si];
                let b = &set.bodies[bi];
                writeln!(f, "  set {}: distinct {}", set.name, b.column)?;
                if let Some((lo, hi)) = &b.window {
                    writeln!(f, "    window: Timestamp between ({lo} .. {hi})")?;
                }
                for e in &b.filters {
                    writeln!(f, "    where: {e}")?;
                }
            }
            for &(ri, bi) in &t.rules {
                let r = &self.rules[ri];
                let b = &r.bodies[bi];
                writeln!(f, "  rule {} ({})", r.name, r.id())?;
                if let Some((lo, hi)) = &b.window {
                    writeln!(f, "    window: Timestamp between ({lo} .. {hi})")?;
                }
                if let Some(relaxed) = &b.relaxed {
                    for s in relaxed {
                        if let Step::Where(e) = s {
                            writeln!(f, "    before the sets are known: where {e}")?;
                        }
                    }
                }
                for s in &b.steps {
                    match s {
                        Step::Where(e) => writeln!(f, "    where: {e}")?,
                        Step::Extend(i, e) => {
                            let name = b
                                .computed_names
                                .get(*i as usize)
                                .map_or("?", String::as_str);
                            writeln!(f, "    extend: {name} = {e}")?
                        }
                    }
                }
                for (x, e) in r.exclusions.iter().zip(&b.exclusions) {
                    match e {
                        Some(e) => writeln!(f, "    except {:?}: {e}", x.name)?,
                        None => writeln!(f, "    except {:?}: (inert: field missing)", x.name)?,
                    }
                }
                if let Some(tl) = &r.timeline {
                    timeline_text(f, r, b, tl)?;
                    if let Some(h) = &r.having {
                        writeln!(f, "    having: {h}")?;
                    }
                    if let Some(exprs) = &r.reshape {
                        writeln!(f, "    project: {}", projection(&r.output, exprs))?;
                    }
                } else if r.summarize {
                    let mut s = String::new();
                    let nk = b.keys.len();
                    let mut cols = r.grouped[nk.min(r.grouped.len())..].iter();
                    for a in &b.aggs {
                        if !s.is_empty() {
                            s.push_str(", ");
                        }
                        let arg = a.arg.as_ref().map(|e| e.to_string()).unwrap_or_default();
                        let name = cols.next().map_or("?", |c| c.name.as_str());
                        let _ = write!(s, "{name} = {}({arg}", a.kind.name());
                        // arg_max / arg_min: each returned value with the column it fills
                        // (`*` expanded), after a `;`.
                        for (i, e) in a.returned.iter().enumerate() {
                            let col = cols.next().map_or("?", |c| c.name.as_str());
                            let e = e.to_string();
                            let sep = if i == 0 { "; " } else { ", " };
                            if e == col {
                                let _ = write!(s, "{sep}{e}");
                            } else {
                                let _ = write!(s, "{sep}{col} = {e}");
                            }
                        }
                        s.push(')');
                    }
                    let keys: Vec<String> = r.grouped[..nk.min(r.grouped.len())]
                        .iter()
                        .zip(&b.keys)
                        .map(|(c, k)| {
                            let k = k.to_string();
                            if k == c.name {
                                k
                            } else {
                                format!("{} = {k}", c.name)
                            }
                        })
                        .collect();
                    writeln!(f, "    summarize: {s} by {}", keys.join(", "))?;
                    if let Some(h) = &r.having {
                        writeln!(f, "    having: {h}")?;
                    }
                    if let Some(exprs) = &r.reshape {
                        writeln!(f, "    project: {}", projection(&r.output, exprs))?;
                    }
                } else if r.projected {
                    writeln!(f, "    project: {}", projection(&r.output, &b.project))?;
                } else {
                    let cols: Vec<&str> = r.output.iter().map(|c| c.name.as_str()).collect();
                    writeln!(f, "    output: {}", cols.join(", "))?;
                }
                if let Some(n) = r.take {
                    writeln!(f, "    take: {n}")?;
                }
            }
        }
        Ok(())
    }
}

/// A `threshold` or `sequence` body: its operator, keys, and what each event keeps.
fn timeline_text(
    f: &mut fmt::Formatter<'_>,
    r: &Rule,
    b: &crate::compile::Body,
    tl: &crate::compile::Timeline,
) -> fmt::Result {
    use crate::compile::{StepRole, TimelineKind};
    let span = crate::kql::time::format_timespan(tl.span);
    let keys: Vec<String> = b.keys.iter().map(|k| k.to_string()).collect();
    let by = if keys.is_empty() {
        String::new()
    } else {
        format!(" by {}", keys.join(", "))
    };
    let arg = |a: &crate::compile::Agg| {
        let x = a.arg.as_ref().map(|e| e.to_string()).unwrap_or_default();
        format!("{}({x})", a.kind.name())
    };
    match (&tl.kind, b.step) {
        (
            TimelineKind::Threshold {
                measure, condition, ..
            },
            _,
        ) => {
            let m = b.aggs.get(*measure).map(arg).unwrap_or_default();
            let cond: Vec<String> = condition
                .iter()
                .map(|(op, v)| format!("{m} {} {}", op_text(*op), crate::ir::DisplayValue(v)))
                .collect();
            writeln!(
                f,
                "    threshold: {} within {span}{by} (the key's peak; the earliest span that holds)",
                cond.join(" and ")
            )?;
            let nk = tl.rule_keys;
            let with: Vec<String> = r.grouped[(nk + 4).min(r.grouped.len())..]
                .iter()
                .zip(b.aggs.iter().skip(4))
                .map(|(c, a)| format!("{} = {}", c.name, arg(a)))
                .collect();
            if !with.is_empty() {
                writeln!(f, "    with: {}", with.join(", "))?;
            }
        }
        (kind, role) => {
            let what = match role {
                StepRole::Step(i) => format!(
                    "step {} ({} of {})",
                    tl.steps.get(usize::from(i)).map_or("?", String::as_str),
                    i + 1,
                    tl.steps.len()
                ),
                _ => "until".to_string(),
            };
            match kind {
                TimelineKind::Join { kind, low, high } => {
                    let side = if role == StepRole::Step(0) { "left" } else { "right" };
                    let bound = |b: &Option<i64>| {
                        b.map_or("unbounded".to_string(), crate::kql::time::format_timespan)
                    };
                    let time = if low.is_none() && high.is_none() {
                        String::new()
                    } else {
                        format!(
                            ", right.Timestamp - left.Timestamp in [{}, {}]",
                            bound(low),
                            bound(high)
                        )
                    };
                    writeln!(f, "    join kind={} {side} side{by}{time}", kind.name())?;
                }
                TimelineKind::Unordered => writeln!(
                    f,
                    "    sequence {what} within {span}{by} (unordered: every step, the earliest span)"
                )?,
                _ => writeln!(
                    f,
                    "    sequence {what} within {span}{by} (ordered: the tightest matches)"
                )?,
            }
            let gate = match role {
                StepRole::Step(i) => tl.gates.get(usize::from(i)).and_then(Option::as_ref),
                _ => None,
            };
            let shown = gate.map_or(b.aggs.len(), |g| g.measure);
            if let Some(g) = gate {
                let m = b.aggs.get(g.measure).map(arg).unwrap_or_default();
                let cond: Vec<String> = g
                    .condition
                    .iter()
                    .map(|(op, v)| format!("{m} {} {}", op_text(*op), crate::ir::DisplayValue(v)))
                    .collect();
                writeln!(
                    f,
                    "    gate: threshold {} within {} (the step's events: the moments it holds over the span ending at them)",
                    cond.join(" and "),
                    crate::kql::time::format_timespan(g.span)
                )?;
            }
            let kept: Vec<String> = b.aggs[..shown.min(b.aggs.len())]
                .iter()
                .filter_map(|a| a.arg.as_ref().map(|e| e.to_string()))
                .collect();
            writeln!(f, "    keep: {}", kept.join(", "))?;
        }
    }
    writeln!(
        f,
        "    state: the latest {} events per key and step",
        tl.max_events
    )
}

/// `A, B = tolower(C)`: each output column, with the expression that fills it when that is
/// not just the column of the same name.
fn projection(cols: &[crate::compile::OutputColumn], exprs: &[Expr]) -> String {
    cols.iter()
        .zip(exprs)
        .map(|(c, e)| {
            let e = e.to_string();
            if e == c.name {
                e
            } else {
                format!("{} = {e}", c.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn op_text(op: crate::ir::CmpOp) -> &'static str {
    use crate::ir::CmpOp::*;
    match op {
        Eq => "==",
        NotEq => "!=",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
    }
}
