//! `summarize` (with `arg_max` / `arg_min`) and the names of its output columns.

use super::*;

impl<'a> Translator<'a> {
    pub(super) fn summarize(
        &mut self,
        aggregates: &[ast::Assignment],
        by: &[ast::Assignment],
        span: Span,
        scope: &Scope<'_>,
    ) -> (ast::Summarize, Vec<String>) {
        let mut cols = Vec::new();
        let mut keys = Vec::new();
        for (i, k) in by.iter().enumerate() {
            let mut k = k.clone();
            let before = match &k.value.kind {
                ExprKind::Name(id) => Some(id.clone()),
                _ => None,
            };
            self.in_by_key = k.name.is_none();
            self.check(&mut k.value, scope, false);
            self.in_by_key = false;
            if let (None, Some(old), ExprKind::Name(new)) = (&k.name, &before, &k.value.kind) {
                if old.name != new.name {
                    // The corrected column keeps the output name the query meant.
                    k.name = Some(old.clone());
                }
            }
            cols.push(match (&k.name, &k.value.kind) {
                (Some(n), _) => n.name.clone(),
                (None, ExprKind::Name(id)) => id.name.clone(),
                // Kusto (and the compiler) keep the column's name for a bucket of it:
                // `by bin(Timestamp, 1h)` is the column `Timestamp`.
                (None, _) => bucketed_column(&k.value)
                    .map_or_else(|| format!("Column{}", i + 1), str::to_string),
            });
            keys.push(k);
        }
        let mut aggs = Vec::new();
        for a in aggregates {
            let mut a = a.clone();
            let default = match &mut a.value.kind {
                ExprKind::Call { name, args }
                    if matches!(name.name.as_str(), "arg_max" | "arg_min") =>
                {
                    for x in args.iter_mut() {
                        self.check(x, scope, false);
                    }
                    let union = matches!(scope, Scope::Rows { tables, .. } if tables.len() > 1);
                    let star = args
                        .iter()
                        .skip(1)
                        .find(|x| matches!(x.kind, ExprKind::Star));
                    if let (true, Some(star)) = (union, star) {
                        // The compiler's rule (E0122): a `union`'s rows differ per table.
                        let sp = star.span;
                        let d = self.error(
                            codes::STAR_MISUSE,
                            sp,
                            "`*` over a `union`: the tables' rows have different columns",
                        );
                        d.label = "every column of which table?".into();
                        d.notes.push(
                            "name the returned columns: `arg_max(Timestamp, DeviceName)`".into(),
                        );
                    }
                    // Every column arg_max gives, named as the compiler (and Kusto) names
                    // them, so that a `where` after the summarize can read them.
                    let names = arg_extreme_names(&name.name, args, by, scope);
                    for (i, n) in names.into_iter().enumerate() {
                        cols.push(match (&a.name, i) {
                            (Some(d), 0) => d.name.clone(),
                            _ => unique(&n, &cols),
                        });
                    }
                    aggs.push(a);
                    continue;
                }
                ExprKind::Call { name, args } if AGGREGATES.contains(&name.name.as_str()) => {
                    let n = name.name.clone();
                    for x in args.iter_mut() {
                        self.check(x, scope, false);
                    }
                    // arg_max / arg_min were taken by the arm above.
                    crate::compile::default_agg_name_of(&n, args).unwrap_or_default()
                }
                ExprKind::Call { name, .. } => {
                    let n = name.name.clone();
                    let sp = name.span;
                    let hint = did_you_mean(&n, AGGREGATES.iter().copied()).map(str::to_string);
                    let d = self.error(
                        codes::UNSUPPORTED_FUNCTION,
                        sp,
                        format!("the aggregate `{n}` is not supported by the scry engine"),
                    );
                    d.label = "unsupported aggregate".into();
                    d.notes
                        .push(format!("supported: {}", AGGREGATES.join(", ")));
                    if let Some(h) = hint {
                        d.notes.push(format!("did you mean `{h}`?"));
                    }
                    String::new()
                }
                _ => {
                    self.error(
                        codes::UNSUPPORTED_FUNCTION,
                        a.value.span,
                        "expected an aggregate such as count(), min(x), make_set(x)",
                    )
                    .label = "not an aggregate".into();
                    String::new()
                }
            };
            cols.push(a.name.as_ref().map_or(default, |n| n.name.clone()));
            aggs.push(a);
        }
        (
            ast::Summarize {
                aggregates: aggs,
                by: keys,
                span,
            },
            cols,
        )
    }
}

/// The columns `arg_max(args)` / `arg_min(args)` give, named as the compiler names them
/// (Kusto's rule, see `compile::lower`): a column keeps its name, another ranked value is
/// `max_`, another returned value `max_<ranked>_arg<i>`; `*` gives the row's columns except
/// those already returned or read whole by a `by` key.
pub(super) fn arg_extreme_names(
    f: &str,
    args: &[Expr],
    by: &[ast::Assignment],
    scope: &Scope<'_>,
) -> Vec<String> {
    let prefix = if f == "arg_max" { "max" } else { "min" };
    let column = |e: &Expr| match &e.kind {
        ExprKind::Name(id) => Some(id.name.clone()),
        _ => None,
    };
    let star = args
        .iter()
        .skip(1)
        .any(|x| matches!(x.kind, ExprKind::Star));
    let by: Vec<String> = by.iter().filter_map(|k| column(&k.value)).collect();
    let primary = args.first().and_then(column);
    let mut out = vec![primary.clone().unwrap_or_else(|| format!("{prefix}_"))];
    let mut seen: Vec<String> = primary.iter().cloned().collect();
    for (i, x) in args.iter().enumerate().skip(1) {
        if let ExprKind::Star = x.kind {
            let row: Vec<String> = match scope {
                Scope::Rows { tables, computed } => tables
                    .first()
                    .map(|t| t.columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .chain(computed.iter().cloned())
                    .collect(),
                _ => Vec::new(),
            };
            for c in row {
                if !seen.contains(&c) && !by.contains(&c) {
                    seen.push(c.clone());
                    out.push(c);
                }
            }
            continue;
        }
        match column(x) {
            Some(c) if star && (seen.contains(&c) || by.contains(&c)) => {}
            Some(c) => {
                seen.push(c.clone());
                out.push(c);
            }
            None => out.push(format!(
                "{prefix}_{}_arg{i}",
                primary.as_deref().unwrap_or("")
            )),
        }
    }
    out
}

/// `name`, or the first of `name1`, `name2`, ... no earlier column has.
/// The column a time bucket keeps the name of: `bin(C, ..)`, `floor`, `bin_at`,
/// `startofday(C)` (`startofweek` and the others get `Column1`, ...).
fn bucketed_column(e: &Expr) -> Option<&str> {
    let ExprKind::Call { name, args } = &e.kind else {
        return None;
    };
    if !matches!(
        name.name.as_str(),
        "bin" | "floor" | "bin_at" | "startofday"
    ) {
        return None;
    }
    match &args.first()?.kind {
        ExprKind::Name(id) => Some(&id.name),
        _ => None,
    }
}

pub(super) fn unique(name: &str, cols: &[String]) -> String {
    if !cols.iter().any(|c| c == name) {
        return name.to_string();
    }
    (1u64..)
        .map(|k| format!("{name}{k}"))
        .find(|n| !cols.contains(n))
        .unwrap_or_else(|| name.to_string())
}
