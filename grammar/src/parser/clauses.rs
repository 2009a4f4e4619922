//! The visitor's clauses of a rule (in `scry.pest`'s order): metadata, `from`, `window`,
//! `except`, `summarize`, `project`, `take`, examples.

use super::*;

impl Visitor {
    pub(super) fn visit_meta(&mut self, pair: Pair<'_, Rule>) -> Meta {
        let sp = span(&pair);
        let mut it = sig(pair.into_inner());
        // meta = { !clause_kw ~ meta_key ~ meta_value }
        let key = self.visit_name(it.next().unwrap_or_else(|| unreachable!("meta: key")));
        let value = self.visit_meta_value(it.next().unwrap_or_else(|| unreachable!("meta: value")));
        Meta {
            key,
            value,
            span: sp,
        }
    }

    pub(super) fn visit_meta_value(&mut self, p: Pair<'_, Rule>) -> MetaValue {
        match p.as_rule() {
            Rule::string => MetaValue::Str(self.visit_string(p)),
            Rule::meta_word => MetaValue::Word(self.visit_name(p)),
            Rule::meta_list => {
                let sp = span(&p);
                let items = sig(p.into_inner())
                    .map(|i| self.visit_meta_value(i))
                    .collect();
                MetaValue::List(items, sp)
            }
            // meta_value = _{ string | meta_list | meta_word }
            r => unreachable!("rule `meta_value` has no alternative {r:?}"),
        }
    }

    pub(super) fn visit_from_clause(&mut self, pair: Pair<'_, Rule>) -> From {
        let sp = span(&pair);
        let tables = sig(pair.into_inner()).map(|p| self.visit_name(p)).collect();
        From { tables, span: sp }
    }

    pub(super) fn visit_window_clause(&mut self, pair: Pair<'_, Rule>) -> Window {
        let sp = span(&pair);
        // window_clause = { kw_window ~ (window_between | expr) }
        let inner = sig(pair.into_inner())
            .next()
            .unwrap_or_else(|| unreachable!("window_clause: body"));
        let kind = if inner.as_rule() == Rule::window_between {
            let mut it = sig(inner.into_inner());
            let low = self.visit_expr(it.next().unwrap_or_else(|| unreachable!("window: low")));
            let high = self.visit_expr(it.next().unwrap_or_else(|| unreachable!("window: high")));
            WindowKind::Between(low.expr, high.expr)
        } else {
            WindowKind::Lookback(self.visit_expr(inner).expr)
        };
        Window { kind, span: sp }
    }

    pub(super) fn visit_assignment(&mut self, pair: Pair<'_, Rule>) -> Assignment {
        let sp = span(&pair);
        // assignment = { (name ~ assign_eq)? ~ expr }
        let mut name = None;
        let mut value = None;
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::expr => value = Some(self.visit_expr(p).expr),
                _ => name = Some(self.visit_name(p)),
            }
        }
        Assignment {
            name,
            value: value.unwrap_or_else(|| unreachable!("assignment: expr")),
            span: sp,
        }
    }

    pub(super) fn visit_except_clause(&mut self, pair: Pair<'_, Rule>) -> Except {
        let sp = span(&pair);
        let mut name = None;
        let mut description = None;
        let mut condition = None;
        // except_clause = { kw_except ~ string ~ (except_body | kw_when ~ expr) }
        // except_body   = { lbrace ~ (kw_description ~ string)? ~ kw_when ~ expr ~ rbrace }
        let mut visit = |v: &mut Self, p: Pair<'_, Rule>| match p.as_rule() {
            Rule::string if name.is_none() => name = Some(v.visit_string(p)),
            Rule::string => description = Some(v.visit_string(p)),
            Rule::expr => condition = Some(v.visit_expr(p).expr),
            _ => {}
        };
        for p in sig(pair.into_inner()) {
            if p.as_rule() == Rule::except_body {
                for q in sig(p.into_inner()) {
                    visit(self, q);
                }
            } else {
                visit(self, p);
            }
        }
        Except {
            name: name.unwrap_or_else(|| unreachable!("except_clause: name")),
            description,
            condition: condition.unwrap_or_else(|| unreachable!("except_clause: when")),
            span: sp,
        }
    }

    pub(super) fn visit_summarize_clause(&mut self, pair: Pair<'_, Rule>) -> Summarize {
        let sp = span(&pair);
        let mut aggregates = vec![];
        let mut by = vec![];
        for p in sig(pair.into_inner()) {
            let target = match p.as_rule() {
                Rule::agg_list => &mut aggregates,
                Rule::by_list => &mut by,
                // summarize_clause = { kw_summarize ~ (by_list | agg_list ~ by_list?) }
                r => unreachable!("rule `summarize_clause` has no child {r:?}"),
            };
            for a in sig(p.into_inner()) {
                target.push(self.visit_assignment(a));
            }
        }
        Summarize {
            aggregates,
            by,
            span: sp,
        }
    }

    pub(super) fn visit_project_clause(&mut self, pair: Pair<'_, Rule>) -> Project {
        let sp = span(&pair);
        // project_clause = { kw_project ~ assignment ~ (comma ~ assignment)* }
        let columns = sig(pair.into_inner())
            .map(|a| self.visit_assignment(a))
            .collect();
        Project { columns, span: sp }
    }

    pub(super) fn visit_take_clause(&mut self, pair: Pair<'_, Rule>) -> Take {
        let sp = span(&pair);
        // take_clause = { (kw_take | kw_limit) ~ expr }: the keyword is not filtered by `sig`
        // (it is not in `is_keyword`), so that printing keeps the spelling.
        let mut it = sig(pair.into_inner());
        let kw = it
            .next()
            .unwrap_or_else(|| unreachable!("take_clause: keyword"));
        let keyword = Ident {
            name: kw.as_str().to_string(),
            span: span(&kw),
        };
        let count = self.visit_expr(
            it.next()
                .unwrap_or_else(|| unreachable!("take_clause: expr")),
        );
        Take {
            keyword,
            count: count.expr,
            span: sp,
        }
    }

    pub(super) fn visit_examples_clause(&mut self, pair: Pair<'_, Rule>) -> Examples {
        let sp = span(&pair);
        let mut now = None;
        let mut cases = vec![];
        for p in sig(pair.into_inner()) {
            match p.as_rule() {
                Rule::expr => now = Some(self.visit_expr(p).expr),
                Rule::example => cases.push(self.visit_example(p)),
                // examples_clause = { kw_examples ~ (kw_at ~ expr)? ~ lbrace ~ example* ~ rbrace }
                r => unreachable!("rule `examples_clause` has no child {r:?}"),
            }
        }
        Examples {
            now,
            cases,
            span: sp,
        }
    }

    pub(super) fn visit_example(&mut self, pair: Pair<'_, Rule>) -> Example {
        let sp = span(&pair);
        let mut inner = pair.into_inner();
        // example = { (kw_match | kw_no_match | kw_given) ~ string ~ example_body
        //           | kw_suppressed ~ string ~ kw_by ~ string ~ example_body }
        let kw = inner
            .next()
            .unwrap_or_else(|| unreachable!("example: keyword"));
        let mut strings = vec![];
        let mut table = None;
        let mut events = vec![];
        let mut scenario = false;
        let mut count = None;
        for p in sig(inner) {
            match p.as_rule() {
                Rule::string => strings.push(self.visit_string(p)),
                Rule::example_table => table = Some(self.visit_example_table(p)),
                Rule::json_object => events.push(ExampleEvent {
                    table: table.take(),
                    event: json_text(&p),
                }),
                Rule::scenario => {
                    scenario = true;
                    for e in sig(p.into_inner()) {
                        match e.as_rule() {
                            Rule::scenario_event => {
                                let mut table = None;
                                for q in sig(e.into_inner()) {
                                    match q.as_rule() {
                                        Rule::example_table => {
                                            table = Some(self.visit_example_table(q))
                                        }
                                        _ => events.push(ExampleEvent {
                                            table: table.take(),
                                            event: json_text(&q),
                                        }),
                                    }
                                }
                            }
                            Rule::expr => count = Some(self.visit_expr(e).expr),
                            r => unreachable!("rule `scenario` has no child {r:?}"),
                        }
                    }
                }
                r => unreachable!("rule `example` has no child {r:?}"),
            }
        }
        let mut strings = strings.into_iter();
        let label = strings
            .next()
            .unwrap_or_else(|| unreachable!("example: label"));
        let expect = match kw.as_rule() {
            Rule::kw_match => Expect::Match,
            Rule::kw_no_match => Expect::NoMatch,
            Rule::kw_given => Expect::Given,
            _ => Expect::Suppressed(
                strings
                    .next()
                    .unwrap_or_else(|| unreachable!("example: suppressed by")),
            ),
        };
        Example {
            expect,
            label,
            events,
            scenario,
            count,
            span: sp,
        }
    }

    pub(super) fn visit_example_table(&mut self, p: Pair<'_, Rule>) -> Ident {
        let n = sig(p.into_inner())
            .next()
            .unwrap_or_else(|| unreachable!("example_table: name"));
        self.visit_name(n)
    }

    pub(super) fn visit_assignments(&mut self, p: Pair<'_, Rule>) -> Vec<Assignment> {
        sig(p.into_inner())
            .map(|a| self.visit_assignment(a))
            .collect()
    }
}
