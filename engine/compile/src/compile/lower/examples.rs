//! Lowering of a rule's `examples`: the clock, each example's events and table, and what it
//! expects.

use super::*;

/// The rule has no `examples`: a warning, since `scry test` then has nothing to run.
pub(super) fn no_examples(r: &ast::Rule, file: usize, diags: &mut Vec<Diagnostic>) {
    diags.push(
        Diagnostic::warning(
            codes::NO_EXAMPLES,
            file,
            r.name.span,
            format!("rule `{}` has no examples", r.name.name),
        )
        .with_note("add an `examples` block with events that must and must not match; `scry test` runs them"),
    );
}

/// The examples' clock and cases. `tables` are the tables the rule reads, `set_tables` those
/// its `distinct` sets read (where `given` events may be too).
pub(super) fn lower_examples(
    x: &ast::Examples,
    tables: &[&str],
    set_tables: &[&str],
    exclusions: &[ExclusionInfo],
    file: usize,
    lets: &Lets,
    diags: &mut Vec<Diagnostic>,
) -> (Option<i64>, Vec<ExampleCase>) {
    let mut examples_now = None;
    let mut cases = Vec::new();
    if let Some(n) = &x.now {
        let mut fx = FieldSet::new();
        let e = lower_standalone(n, None, lets, &mut fx, diags);
        match e.as_const() {
            Some(Value::DateTime(t)) => examples_now = Some(*t),
            _ => diags.push(Diagnostic::error(
                codes::BAD_EXAMPLE,
                file,
                n.span,
                "`examples at` takes a constant datetime, e.g. datetime(2024-05-15T12:00:00Z)",
            )),
        }
    }
    'case: for c in &x.cases {
        let mut events = Vec::new();
        for ev in &c.events {
            let table = match &ev.table {
                Some(t) => {
                    let read = tables.contains(&t.name.as_str())
                        || ((c.expect == ast::Expect::Given || c.scenario)
                            && set_tables.contains(&t.name.as_str()));
                    if !read {
                        diags.push(Diagnostic::error(
                            codes::BAD_EXAMPLE,
                            file,
                            t.span,
                            format!("neither this rule nor its sets read {}", t.name),
                        ));
                        continue 'case;
                    }
                    t.name.clone()
                }
                None if tables.len() == 1 => tables[0].to_string(),
                None => {
                    diags.push(Diagnostic::error(
                        codes::BAD_EXAMPLE,
                        file,
                        ev.event.span,
                        "this rule reads several tables: say which with `in Table`",
                    ));
                    continue 'case;
                }
            };
            if let Err(e) =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&ev.event.text)
            {
                let off = offset_of(&ev.event.text, e.line(), e.column());
                let at = ev.event.span.start as usize + off;
                diags.push(Diagnostic::error(
                    codes::BAD_EXAMPLE,
                    file,
                    Span::new(at, at + 1),
                    format!("example event is not a JSON object: {e}"),
                ));
                continue 'case;
            }
            events.push(ExampleEvent {
                table,
                json: ev.event.text.clone(),
            });
        }
        let count = match &c.count {
            None => None,
            Some(n) => {
                let mut fx = FieldSet::new();
                let e = lower_standalone(n, None, lets, &mut fx, diags);
                match e.as_const() {
                    Some(Value::Long(k)) if *k >= 0 => Some(*k as u64),
                    _ => {
                        diags.push(Diagnostic::error(
                            codes::BAD_EXAMPLE,
                            file,
                            n.span,
                            "`expect` takes a whole number of result rows, e.g. `expect 1`",
                        ));
                        continue;
                    }
                }
            }
        };
        let expect = match &c.expect {
            ast::Expect::Match => Expectation::Match,
            ast::Expect::NoMatch => Expectation::NoMatch,
            ast::Expect::Given => Expectation::Given,
            ast::Expect::Suppressed(name) => {
                match exclusions.iter().position(|e| e.name == name.value) {
                    Some(i) => Expectation::Suppressed(i),
                    None => {
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_EXCLUSION,
                            file,
                            name.span,
                            format!("this rule has no exclusion \"{}\"", name.value),
                        );
                        if let Some(h) =
                            did_you_mean(&name.value, exclusions.iter().map(|e| e.name.as_str()))
                        {
                            d = d.with_note(format!("did you mean \"{h}\"?"));
                        }
                        diags.push(d);
                        continue;
                    }
                }
            }
        };
        if count.is_some() && expect != Expectation::Match {
            diags.push(Diagnostic::error(
                codes::BAD_EXAMPLE,
                file,
                c.span,
                "`expect N` counts the result rows of a `match` scenario",
            ));
            continue;
        }
        cases.push(ExampleCase {
            expect,
            label: c.label.value.clone(),
            events,
            scenario: c.scenario,
            count,
            span: c.span,
        });
    }
    (examples_now, cases)
}
