//! `threshold` as KQL. A sliding span has no KQL operator, but its definition
//! (docs/semantics.md, "Thresholds") is three relational steps that plain KQL says exactly:
//!
//! ```text
//! let ThresholdEvents = DeviceNetworkEvents
//! | where Timestamp between (now(-1d) .. now())
//! | where RemoteUrl has 'anydesk.com';
//! let ThresholdSpans = ThresholdEvents
//! | summarize by DeviceId, StartTime = Timestamp
//! | join kind=inner (ThresholdEvents) on DeviceId
//! | where Timestamp between (StartTime .. (StartTime + 10m))
//! | summarize EndTime = max(Timestamp), Lookups = count(), Domains = make_set(RemoteUrl) by DeviceId, StartTime;
//! ThresholdSpans
//! | where Lookups >= 20
//! | summarize StartTime = min(StartTime) by DeviceId
//! | lookup (ThresholdSpans | summarize Peak = max(Lookups) by DeviceId) on DeviceId
//! | lookup (ThresholdSpans) on DeviceId, StartTime
//! | where Peak >= 20
//! | project DeviceId, StartTime, EndTime, Lookups, Peak, Domains
//! ```
//!
//! - The span of each distinct (key, instant) with an event holds the key's events from that
//!   instant to `within` after it, both ends included: the self-join and `between`. Anchors
//!   are distinct, so two events at one instant anchor one span (counted once each in it).
//!   An event without a Timestamp enters no span: `between` over null is not true.
//! - The rule fires for a key when its peak (the largest measure of its spans) satisfies the
//!   condition; the reported span is the earliest that satisfies it: the first `where`, the
//!   `min` and the lookups; the last `where` tests the peak (for `>=` it adds nothing; for
//!   `<` it is what makes "the busiest span had fewer than" true).
//! - Kusto's join matches null keys with null keys, as scry's grouping does.
//!
//! `scry import kql` does not read this shape back as a threshold (it refuses the tabular
//! `let`s); `benches/compare/roundtrip.py` runs it through duckdb-kql against scry's rows.

use super::*;

/// Names the exported query gives its two tabular lets.
const EVENTS: &str = "ThresholdEvents";
const SPANS: &str = "ThresholdSpans";
/// The aggregates a threshold compares (the compiler's E-code for any other).
const MEASURES: &[&str] = &["count", "countif", "dcount", "sum", "avg"];

/// A threshold's parts as KQL text, its aliases resolved.
pub(super) struct ThresholdKql {
    /// `Name = expr` for each key that is not a plain column (extended before the spans).
    extends: Vec<String>,
    /// The key columns, in order.
    keys: Vec<String>,
    /// The span length.
    within: String,
    /// The measure's output column and its aggregate.
    measure: (String, String),
    /// The condition with the measure's column, and with `Peak`, in its place.
    on_measure: String,
    on_peak: String,
    /// The `with` aggregates: output column and aggregate.
    with: Vec<(String, String)>,
}

impl Exporter<'_> {
    /// The threshold's parts, or `None` (refused by name) when one has no KQL name.
    pub(super) fn threshold_parts(
        &mut self,
        t: &ast::Threshold,
        schemas: &[&TableSchema],
        lets: &[String],
        computed: &[String],
    ) -> Option<ThresholdKql> {
        let kql = |e: &Expr| print::expr(e, Dialect::Kql);
        if let Some(taken) = lets.iter().find(|l| [EVENTS, SPANS].contains(&l.as_str())) {
            self.error(
                t.span,
                format!("the exported threshold names its steps `{EVENTS}` and `{SPANS}`; rename the `let` named `{taken}`"),
            );
            return None;
        }
        let mut extends = Vec::new();
        let mut keys = Vec::new();
        for a in &t.by {
            let mut v = a.value.clone();
            self.resolve(&mut v, schemas, lets, computed, false);
            match (&a.name, &v.kind) {
                (Some(n), _) => {
                    extends.push(format!("{} = {}", print::name(&n.name), kql(&v)));
                    keys.push(print::name(&n.name));
                }
                (None, ExprKind::Name(id)) => keys.push(print::name(&id.name)),
                (None, _) => {
                    self.error(
                        a.span,
                        "a threshold key that is computed needs a name to be exported (`by Day = startofday(Timestamp)`): the KQL reads it in several places",
                    );
                    return None;
                }
            }
        }
        let mut measure_call = None;
        find_measure(&t.condition, &mut measure_call);
        let Some(mut call) = measure_call.cloned() else {
            self.error(
                t.condition.span,
                "a threshold compares one aggregate with constants",
            );
            return None;
        };
        self.resolve(&mut call, schemas, lets, computed, false);
        let default_name = match &call.kind {
            ExprKind::Call { name, args } if MEASURES.contains(&name.name.as_str()) => {
                crate::compile::default_agg_name_of(&name.name, args)
            }
            _ => None,
        };
        let measure_name = match (&t.name, default_name) {
            (Some(n), _) => n.name.clone(),
            (None, Some(n)) => n,
            (None, None) => {
                self.error(
                    call.span,
                    format!(
                        "a threshold's measure is one of {}: this one has no KQL export",
                        MEASURES.join(", ")
                    ),
                );
                return None;
            }
        };
        let mut with = Vec::new();
        for a in &t.with {
            let mut v = a.value.clone();
            self.resolve(&mut v, schemas, lets, computed, false);
            let name = match (&a.name, &v.kind) {
                (Some(n), _) => Some(n.name.clone()),
                (None, ExprKind::Call { name, args }) => {
                    crate::compile::default_agg_name_of(&name.name, args)
                }
                _ => None,
            };
            let Some(name) = name else {
                self.error(
                    a.span,
                    "an unnamed `arg_max` / `arg_min` in a threshold's `with` has no KQL export: name the value it returns (`with Last = arg_max(Timestamp, FileName)` gives one column)",
                );
                return None;
            };
            with.push((print::name(&name), kql(&v)));
        }
        let on = |column: &str| kql(&with_measure(&t.condition, column, t.condition.span));
        Some(ThresholdKql {
            extends,
            keys,
            within: kql(&t.within),
            on_measure: on(&measure_name),
            on_peak: on("Peak"),
            measure: (print::name(&measure_name), kql(&call)),
            with,
        })
    }
}

/// `let ThresholdEvents = ` before the rule's pipeline.
pub(super) fn events_head(w: &mut Writer<'_>) {
    w.text(&format!("let {EVENTS} = "));
}

/// The rest, after the rule's pipeline (tables, window, wheres, exclusions): the key extends,
/// the spans and the reported row per key.
pub(super) fn threshold_stages(w: &mut Writer<'_>, t: &ThresholdKql) {
    for x in &t.extends {
        w.newline(0);
        w.text(&format!("| extend {x}"));
    }
    w.text(";");
    let keys = t.keys.join(", ");
    let (m, agg) = &t.measure;
    let mut aggregates = vec![
        "EndTime = max(Timestamp)".to_string(),
        format!("{m} = {agg}"),
    ];
    aggregates.extend(t.with.iter().map(|(n, a)| format!("{n} = {a}")));
    let lines = [
        format!("let {SPANS} = {EVENTS}"),
        format!("| summarize by {keys}, StartTime = Timestamp"),
        format!("| join kind=inner ({EVENTS}) on {keys}"),
        format!(
            "| where Timestamp between (StartTime .. (StartTime + {}))",
            t.within
        ),
        format!(
            "| summarize {} by {keys}, StartTime;",
            aggregates.join(", ")
        ),
        SPANS.to_string(),
        format!("| where {}", t.on_measure),
        format!("| summarize StartTime = min(StartTime) by {keys}"),
        format!("| lookup ({SPANS} | summarize Peak = max({m}) by {keys}) on {keys}"),
        format!("| lookup ({SPANS}) on {keys}, StartTime"),
        format!("| where {}", t.on_peak),
    ];
    for l in lines {
        w.newline(0);
        w.text(&l);
    }
    let mut columns = t.keys.clone();
    columns.extend([
        "StartTime".into(),
        "EndTime".into(),
        m.clone(),
        "Peak".into(),
    ]);
    columns.extend(t.with.iter().map(|(n, _)| n.clone()));
    w.newline(0);
    w.text(&format!("| project {}", columns.join(", ")));
}

/// The first aggregate call among the condition's comparisons (the compiler checks that
/// there is one, the same in each).
fn find_measure<'a>(e: &'a Expr, out: &mut Option<&'a Expr>) {
    match &e.kind {
        ExprKind::Call { .. } if out.is_none() => *out = Some(e),
        ExprKind::Binary { lhs, rhs, .. } => {
            find_measure(lhs, out);
            find_measure(rhs, out);
        }
        _ => {}
    }
}

/// The condition with each aggregate call replaced by `column`.
fn with_measure(e: &Expr, column: &str, span: Span) -> Expr {
    let kind = match &e.kind {
        ExprKind::Call { .. } => ExprKind::Name(ast::Ident {
            name: column.to_string(),
            span,
        }),
        ExprKind::Binary {
            op,
            op_span,
            lhs,
            rhs,
        } => ExprKind::Binary {
            op: *op,
            op_span: *op_span,
            lhs: Box::new(with_measure(lhs, column, span)),
            rhs: Box::new(with_measure(rhs, column, span)),
        },
        other => other.clone(),
    };
    Expr { kind, span: e.span }
}

#[cfg(test)]
mod tests {
    use crate::export;
    use crate::schema::Catalog;

    fn export(src: &str) -> (Vec<export::kql::Exported>, Vec<crate::diag::Diagnostic>) {
        export::kql(src, 0, &Catalog::builtin())
    }

    #[test]
    fn keys_aliases_lets_and_unnamed_aggregates_are_spelled_out() {
        let (out, diags) = export(
            "let Span = 15m;
             rule r { from DeviceNetworkEvents where RemotePort == 443
               threshold dcount(RemoteUrl) >= 2 within Span by Host = toupper(DeviceName), host.id
                 with make_set(RemotePort) }",
        );
        assert!(diags.is_empty(), "{diags:#?}");
        let kql = &out[0].kql;
        for line in [
            "let Span = 15m;",
            "| extend Host = toupper(DeviceName);",
            "| summarize by Host, DeviceId, StartTime = Timestamp",
            "| where Timestamp between (StartTime .. (StartTime + Span))",
            "| summarize EndTime = max(Timestamp), dcount_RemoteUrl = dcount(RemoteUrl), set_RemotePort = make_set(RemotePort) by Host, DeviceId, StartTime;",
            "| where dcount_RemoteUrl >= 2",
            "| where Peak >= 2",
            "| project Host, DeviceId, StartTime, EndTime, dcount_RemoteUrl, Peak, set_RemotePort",
        ] {
            assert!(kql.lines().any(|l| l == line), "no `{line}` in\n{kql}");
        }
    }

    #[test]
    fn a_let_named_like_the_export_s_steps_is_refused() {
        let (out, diags) = export(
            "let ThresholdSpans = 5m;
             rule r { from DeviceNetworkEvents
               threshold count() >= 2 within ThresholdSpans by DeviceId }",
        );
        assert!(out.is_empty());
        assert!(diags[0].message.contains("rename the `let`"), "{diags:#?}");
    }

    #[test]
    fn a_measure_that_is_no_threshold_aggregate_is_refused_not_dropped() {
        let (out, diags) = export(
            "rule r { from DeviceNetworkEvents
               threshold arg_max(Timestamp, DeviceName) >= 2 within 5m by DeviceId }",
        );
        assert!(out.is_empty());
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert!(diags[0].message.contains("one of count"), "{diags:#?}");
    }

    #[test]
    fn a_computed_key_without_a_name_is_refused_by_name() {
        let (out, diags) = export(
            "rule r { from DeviceNetworkEvents
               threshold count() >= 2 within 5m by tolower(DeviceName) }",
        );
        assert!(out.is_empty());
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert!(diags[0].message.contains("needs a name"), "{diags:#?}");
    }
}
