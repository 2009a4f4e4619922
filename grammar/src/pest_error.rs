//! Turning pest's errors into [`SyntaxError`]s with human names.

use crate::pest_rules::Rule;
use crate::{codes, Span, SyntaxError};
use pest::error::{ErrorVariant, InputLocation};

/// The name a user knows for what a grammar rule matches; `None` for rules that never appear
/// in an "expected" list on their own.
fn human(r: Rule) -> &'static str {
    use Rule::*;
    match r {
        EOI => "end of file",
        lparen => "`(`",
        rparen => "`)`",
        lbrack | json_array => "`[`",
        rbrack | json_rbrack => "`]`",
        lbrace => "`{`",
        rbrace | json_rbrace => "`}`",
        comma | json_comma => "`,`",
        semi => "`;`",
        dotdot => "`..`",
        assign_eq => "`=`",
        json_colon => "`:`",
        kw_rule | rule_decl => "rule",
        kw_let | let_decl => "`let`",
        kw_from | kw_window | kw_where | kw_extend | kw_except | kw_summarize | kw_having
        | kw_project | kw_take | kw_limit | kw_examples | meta_key | meta | from_clause
        | window_clause | where_clause | extend_clause | except_clause | summarize_clause
        | having_clause | project_clause | take_clause | examples_clause | kw_threshold
        | threshold_clause | kw_sequence | sequence_clause | kw_first_seen | first_seen_clause
        | kw_join | join_clause => "clause (from, where, summarize, ...)",
        kw_within => "`within`",
        kw_with | with_list => "`with`",
        kw_unordered => "`unordered`",
        kw_step | step_decl => "`step`",
        kw_until | until_decl => "`until`",
        step_by => "`by`",
        step_gate => "`threshold`",
        kw_detect => "`detect`",
        kw_history => "`history`",
        kw_expect => "`expect`",
        kw_kind => "`kind`",
        kw_on => "`on`",
        join_query => "`from`",
        join_key | side_ref => "join key (`Column` or `$left.A == $right.B`)",
        join_eq => "`==`",
        join_time => {
            "time condition (`$right.Timestamp between ($left.Timestamp .. $left.Timestamp + 5m)`)"
        }
        join_bound => "`$left.Timestamp` (optionally `+ 5m` or `- 5m`)",
        join_sign => "`+` or `-`",
        scenario | scenario_event => "`[`",
        kw_by | by_list => "`by`",
        kw_when => "`when`",
        kw_description => "`description`",
        kw_at => "`at`",
        kw_match | kw_no_match | kw_suppressed | kw_given | example => {
            "example (match, no_match, suppressed, given)"
        }
        kw_distinct => "`distinct`",
        query => "expression",
        kw_and | kw_or => "operator",
        kw_not => "`not`",
        kw_in | example_table => "`in`",
        kw_between | window_between => "`between`",
        kw_matches => "operator",
        kw_regex => "`regex`",
        kw_null => "`null`",
        kw_datetime | datetime_lit => "datetime literal",
        datetime_text => "date and time",
        kw_timespan | timespan_lit => "timespan literal",
        clock_time => "time of day",
        kw_dynamic | dynamic_lit => "dynamic literal",
        dynamic_array => "`[`",
        ident | bracket_name | call => "name",
        star => "`*`",
        string | string_part => "string literal",
        meta_word | meta_list => "metadata value (string, word or [list])",
        json_object => "JSON object",
        json_value | json_member => "JSON value",
        json_string => "JSON string",
        json_escape => "JSON escape (\\n, \\\", \\u00e4, ...)",
        json_number => "JSON number",
        json_keyword => "`true`, `false` or `null`",
        list | paren => "`(`",
        index_suffix => "`[`",
        list_op | list_tail | between_op | between_tail | regex_tail | str_op | str_tail
        | cmp_op | cmp_tail | add_op | mul_op => "operator",
        number => "number",
        bool_lit => "`true` or `false`",
        null_type | typed_null => "typed null",
        expr | expr_only | and_expr | cmp_expr | add_expr | mul_expr | unary | postfix
        | prefix_op | assignment | agg_list | file => "expression",
        except_body => "`{`",
        reserved => "name",
        // Silent and atomic-internal rules: pest never reports them in `positives`.
        WHITESPACE | COMMENT | ident_start | ident_char | clause_kw | name | triple_bt
        | triple_tilde | verbatim_sq | verbatim_dq | sq_string | dq_string | sq_char | dq_char
        | json_char | meta_item | meta_value | clause | json_ws | primary | dynamic_item
        | call_arg | example_body => "input",
    }
}

/// Converts pest's error at the furthest position reached into an `E0001` diagnostic.
pub(crate) fn convert(src: &str, err: pest::error::Error<Rule>) -> SyntaxError {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<String> = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().map(|&r| human(r).to_string()).collect()
        }
        ErrorVariant::CustomError { .. } => vec![],
    };
    expected.sort();
    expected.dedup();
    // Inside a rule body `let` is one of the clauses; listing it twice reads badly.
    if expected.iter().any(|e| e.starts_with("clause")) {
        expected.retain(|e| e != "`let`");
    }
    // After an operand pest also tried a call's `(` and an index's `[`; "operator" is the
    // helpful word there. A metadata value's `[` and string are part of "metadata value".
    if expected.iter().any(|e| e == "operator") {
        expected.retain(|e| e != "`(`" && e != "`[`");
    }
    if expected.iter().any(|e| e.starts_with("metadata value")) {
        expected.retain(|e| e != "`[`" && e != "string literal");
    }
    let span = token_at(src, pos);
    let found = describe(src, span);
    let mut notes = vec![];
    let mut code = codes::UNEXPECTED_TOKEN;
    let mut message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_or(&expected))
    };
    // `a == b == c`: pest stops after the first comparison; say why rather than listing
    // everything that could follow an operand.
    let tok = span.text(src);
    let after_operand = expected.iter().any(|e| e == "operator");
    if after_operand && is_comparison_token(tok) {
        code = codes::CHAINED_COMPARISON;
        message = format!("comparison operator `{tok}` cannot follow another comparison");
        notes.push("comparisons do not chain in KQL: write `a < b and b < c`".into());
    }
    // `*` as an operand: KQL's "every column", which only an aggregate's argument list takes.
    if code == codes::UNEXPECTED_TOKEN && tok == "*" && expected.iter().any(|e| e == "expression") {
        notes.push(
            "`*` (every column of the row) is only an argument, as in `arg_max(Timestamp, *)`"
                .into(),
        );
    }
    const RESERVED: &[&str] = &[
        "and",
        "or",
        "not",
        "in",
        "between",
        "matches",
        "true",
        "false",
        "has",
        "has_any",
        "has_all",
        "hasprefix",
        "hassuffix",
        "contains",
        "startswith",
        "endswith",
    ];
    let bare = tok.trim_end_matches("_cs");
    if code == codes::UNEXPECTED_TOKEN && RESERVED.contains(&bare) {
        notes.push(format!(
            "`{tok}` is reserved as an operator; a column of that name is written ['{tok}']"
        ));
    }
    let clause_expected = expected.iter().any(|e| e.starts_with("clause"));
    if code == codes::UNEXPECTED_TOKEN && clause_expected {
        if let Some((word, note)) = unsupported_at(src, pos) {
            return SyntaxError {
                code: codes::UNSUPPORTED_OPERATOR,
                message: format!("`{word}` is not supported yet"),
                span: Span::new(pos, pos + word.len()),
                expected,
                notes: vec![note.to_string()],
            };
        }
    }
    if code == codes::UNEXPECTED_TOKEN && after_operand && is_word(tok) {
        if let Some(op) = closest_operator(tok) {
            code = codes::UNKNOWN_OPERATOR;
            message = format!("unknown operator `{tok}`");
            notes.push(format!("did you mean `{op}`?"));
        }
    }
    // After a clause a word can only be an operator or the next clause: metadata stands at
    // the head of a rule, so a stray `key value` there is either misplaced or a typo.
    if code == codes::UNEXPECTED_TOKEN && clause_expected && after_operand && is_word(tok) {
        notes.push(
            "metadata (`title \"...\"`, `severity high`, ...) stands only at the head of a rule, \
             before its first clause"
                .into(),
        );
    }
    SyntaxError {
        code,
        message,
        span,
        expected,
        notes,
    }
}

/// A name as the tokenizer cuts it (`hass`, `!contians`), not a literal or punctuation.
fn is_word(tok: &str) -> bool {
    let t = tok.strip_prefix('!').unwrap_or(tok);
    t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '~')
}

/// Every word operator the grammar knows (`list_op`, `between_op`, `str_op`, `and`, `or`,
/// `matches`), in the spellings a user may write.
fn word_operators() -> Vec<String> {
    const STR: &[&str] = &[
        "has",
        "hasprefix",
        "hassuffix",
        "contains",
        "startswith",
        "endswith",
    ];
    let mut ops: Vec<String> = ["and", "or", "matches", "has_any", "has_all", "in", "in~"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for op in ["in", "in~", "between"] {
        ops.push(format!("!{op}"));
    }
    ops.push("between".into());
    for op in STR {
        for neg in ["", "!"] {
            for cs in ["", "_cs"] {
                ops.push(format!("{neg}{op}{cs}"));
            }
        }
    }
    ops
}

/// The operator a misspelled word most likely means, by edit distance: at most one edit for
/// short words (`hass` → `has`), two for longer ones (`contians` → `contains`). Ties go to
/// the shorter spelling, then the alphabetically first, so the hint is stable.
fn closest_operator(tok: &str) -> Option<String> {
    let lower = tok.to_ascii_lowercase();
    let limit = if lower.len() <= 4 { 1 } else { 2 };
    word_operators()
        .into_iter()
        .map(|op| (crate::literal::edit_distance(&lower, &op), op))
        .filter(|(d, _)| *d <= limit)
        .min_by(|(da, a), (db, b)| (da, a.len(), a).cmp(&(db, b.len(), b)))
        .map(|(_, op)| op)
}

/// KQL tabular operators scry does not have yet (the grammar's `clause_kw` keeps them from
/// being read as metadata keys), each with what to write instead where there is something.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "project-away",
        "list the columns to keep with `project A, B`",
    ),
    (
        "project-keep",
        "list the columns to keep with `project A, B`",
    ),
    ("project-rename", "rename with `project New = Old, ...`"),
    (
        "project-reorder",
        "`project A, B` keeps the columns in the order written",
    ),
    (
        "lookup",
        "a set from another table is `x in (from T where ... distinct C)`",
    ),
    (
        "union",
        "list the tables in one clause: `from DeviceProcessEvents, DeviceEvents`",
    ),
    (
        "order",
        "results are sorted by their group key (see `summarize`)",
    ),
    (
        "sort",
        "results are sorted by their group key (see `summarize`)",
    ),
    ("top-nested", "`take N` keeps the first N results"),
    (
        "top",
        "`take N` keeps the first N results, in key order after `summarize`",
    ),
    (
        "mv-expand",
        "test array elements with `has`, `has_any` or `in` on the column",
    ),
    (
        "mv-apply",
        "test array elements with `has`, `has_any` or `in` on the column",
    ),
    ("make-series", "aggregate with `summarize`"),
    (
        "parse-where",
        "compute values with `extend` (`extract`, `split`, ...)",
    ),
    (
        "parse",
        "compute values with `extend` (`extract`, `split`, ...)",
    ),
    ("evaluate", "plugins have no equivalent in scry"),
    ("render", "scry prints rows; charts have no equivalent"),
    (
        "distinct",
        "write `summarize by A, B` for the distinct combinations of columns",
    ),
    ("sample", "`take N` keeps the first N results"),
    (
        "serialize",
        "rows without `summarize` keep input order already",
    ),
    (
        "invoke",
        "functions have no equivalent in scry; use a rule-local `let`",
    ),
    ("scan", "rules match single events"),
    ("fork", "write one rule per branch"),
    ("facet", "write one rule with `summarize` per facet"),
];

/// The unsupported operator spelled at `pos` (a whole word, hyphens included), if any.
fn unsupported_at(src: &str, pos: usize) -> Option<(&'static str, &'static str)> {
    let rest = src.get(pos..)?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    let word = &rest[..end];
    UNSUPPORTED.iter().copied().find(|(w, _)| *w == word)
}

fn is_comparison_token(tok: &str) -> bool {
    const OPS: &[&str] = &[
        "==", "!=", "<>", "=~", "!~", "<", "<=", ">", ">=", "in", "!in", "in~", "!in~", "has_any",
        "has_all", "between", "!between", "matches",
    ];
    if OPS.contains(&tok) {
        return true;
    }
    let t = tok.strip_prefix('!').unwrap_or(tok);
    let t = t.strip_suffix("_cs").unwrap_or(t);
    matches!(
        t,
        "has" | "hasprefix" | "hassuffix" | "contains" | "startswith" | "endswith"
    )
}

/// "a", "a or b", "a, b or c".
pub(crate) fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The span of the token starting at `pos`: a word, a quoted string, an operator, or one
/// character; empty at the end of input.
pub(crate) fn token_at(src: &str, pos: usize) -> Span {
    let pos = pos.min(src.len());
    let rest = &src[pos..];
    let Some(c) = rest.chars().next() else {
        return Span::new(pos, pos);
    };
    let len = if c.is_alphanumeric() || c == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '~'))
            .unwrap_or(rest.len())
    } else if c == '!' && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
        1 + rest[1..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '~'))
            .unwrap_or(rest.len() - 1)
    } else if c == '\'' || c == '"' {
        // The pre-scan guarantees the literal is closed on this line.
        let mut esc = false;
        rest.char_indices()
            .skip(1)
            .find(|&(_, ch)| {
                let end = !esc && ch == c;
                esc = !esc && ch == '\\';
                end || ch == '\n'
            })
            .map_or(rest.len(), |(i, _)| i + 1)
    } else {
        const OPS: &[&str] = &["==", "!=", "<>", "=~", "!~", "<=", ">=", ".."];
        OPS.iter()
            .find(|op| rest.starts_with(**op))
            .map_or(c.len_utf8(), |op| op.len())
    };
    Span::new(pos, pos + len)
}

fn describe(src: &str, span: Span) -> String {
    let text = span.text(src);
    if text.is_empty() {
        "end of file".into()
    } else if text.chars().all(char::is_whitespace) {
        "whitespace".into()
    } else {
        format!("'{text}'")
    }
}
