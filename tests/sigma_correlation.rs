//! Sigma correlation rules through the `scry` binary: each correlation type of the
//! correlation rules specification (sigma-correlation-rules-specification.md, v2.1.0),
//! written as the specification's examples are (the detection rules and the correlation in
//! one multi-document file), run over small JSON-lines inputs, with the exact result rows;
//! and the correlations refused by name.
//!
//! The rules read the generic table of `product: test` (`Sigma_test`), so the events are
//! plain rows and every field is a column.

#[allow(dead_code)]
#[path = "util.rs"]
mod util;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-sigma-corr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `scry run --rules RULES --format ndjson INPUT`, which must succeed: the result rows and
/// stderr.
fn run_rules(rules: &Path, input: &Path) -> (Vec<Value>, String) {
    let out = util::scry(&[
        "run",
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "ndjson",
        input.to_str().unwrap(),
    ]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    let rows = util::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (rows, err)
}

/// Runs the Sigma file `yml` over `events` (`(timestamp, fields)`), returns the result rows
/// and stderr. The run must succeed and refuse nothing.
fn run(name: &str, yml: &str, events: &[(&str, &str)]) -> (Vec<Value>, String) {
    let dir = scratch(name);
    std::fs::write(dir.join("mr_rule.yml"), yml).unwrap();
    let lines: Vec<String> = events
        .iter()
        .map(|(ts, f)| format!(r#"{{"Type": "Sigma_test", "Timestamp": "{ts}", {f}}}"#))
        .collect();
    std::fs::write(dir.join("events.jsonl"), lines.join("\n") + "\n").unwrap();
    let (rows, err) = run_rules(&dir.join("mr_rule.yml"), &dir.join("events.jsonl"));
    assert!(err.contains(" compiled, 0 refused"), "{err}");
    (rows, err)
}

/// `(rule id, the row's value of each of `cols`)` of every row, as text.
fn show(rows: &[Value], cols: &[&str]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            let mut s = r["rule"].as_str().unwrap_or("?").to_string();
            for c in cols {
                s.push_str(&format!(" {c}={}", r[*c]));
            }
            s
        })
        .collect()
}

const FAILED: &str = "title: Single failed login\nid: 53ba33fd-3a50-4468-a5ef-c583635cfa92\nname: failed_login\n\
logsource:\n    product: test\ndetection:\n    selection:\n        EventID: 4625\n    condition: selection\n";
/// A count of failed logins, referenced by name from chained correlations.
const MANY: &str = "title: Many failed logins\nid: many\nname: many\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n\
\x20   group-by: [User]\n    timespan: 10m\n    condition: {gte: 3}\n";
const SUCCESS: &str = "title: Successful login\nid: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8\nname: successful_login\n\
logsource:\n    product: test\ndetection:\n    selection:\n        EventID: 4624\n    condition: selection\n";

fn event_count(extra: &str) -> String {
    format!(
        "title: Many failed logins\nid: corr-count\n{extra}correlation:\n    type: event_count\n    rules:\n        - failed_login\n\
         \x20   group-by:\n        - User\n    timespan: 5m\n    condition:\n        gte: 3\n---\n{FAILED}"
    )
}

#[test]
fn event_count_fires_on_three_within_the_span() {
    // alice: 3 failures within 5m, the last exactly 5m after the first (inclusive); bob: 2;
    // carol: 3 spread over 5m and 1 tick; a success for alice does not count.
    let events = [
        (
            "2024-01-01T00:00:00Z",
            r#""EventID": 4625, "User": "alice""#,
        ),
        (
            "2024-01-01T00:02:00Z",
            r#""EventID": 4625, "User": "alice""#,
        ),
        (
            "2024-01-01T00:03:00Z",
            r#""EventID": 4624, "User": "alice""#,
        ),
        (
            "2024-01-01T00:05:00Z",
            r#""EventID": 4625, "User": "alice""#,
        ),
        ("2024-01-01T00:00:00Z", r#""EventID": 4625, "User": "bob""#),
        ("2024-01-01T00:01:00Z", r#""EventID": 4625, "User": "bob""#),
        (
            "2024-01-01T01:00:00Z",
            r#""EventID": 4625, "User": "carol""#,
        ),
        (
            "2024-01-01T01:02:00Z",
            r#""EventID": 4625, "User": "carol""#,
        ),
        (
            "2024-01-01T01:05:00.0000001Z",
            r#""EventID": 4625, "User": "carol""#,
        ),
    ];
    let (rows, err) = run("count", &event_count(""), &events);
    assert_eq!(
        show(&rows, &["User", "count_"]),
        ["corr-count User=\"alice\" count_=3"],
        "{err}"
    );
    // The referenced rule runs only inside the correlation ([S-corr] "Generate").
    assert!(err.contains("1 run only inside correlations"), "{err}");
    // `generate: true`: the failed logins are results of their own too.
    let (rows, _) = run("generate", &event_count("generate: true\n"), &events);
    let own = rows
        .iter()
        .filter(|r| r["rule"] == "53ba33fd-3a50-4468-a5ef-c583635cfa92")
        .count();
    // alice 3, bob 2, carol 3 failures: every one is a result of the failed-login rule.
    assert_eq!(own, 8);
    assert_eq!(rows.iter().filter(|r| r["rule"] == "corr-count").count(), 1);
}

#[test]
fn event_count_over_two_rules_and_a_range() {
    // Failures or successes, 2 to 3 of them (`gte: 2`, `lte: 3`): alice's 4 within the span
    // peak at 4 (not fired), bob's 2 fire.
    let yml = format!(
        "title: Logon activity\nid: corr-range\ncorrelation:\n    type: event_count\n    rules: [failed_login, successful_login]\n\
         \x20   group-by: [User]\n    timespan: 10m\n    condition:\n        gte: 2\n        lte: 3\n---\n{FAILED}---\n{SUCCESS}"
    );
    let events = [
        (
            "2024-01-01T00:00:00Z",
            r#""EventID": 4625, "User": "alice""#,
        ),
        (
            "2024-01-01T00:01:00Z",
            r#""EventID": 4624, "User": "alice""#,
        ),
        (
            "2024-01-01T00:02:00Z",
            r#""EventID": 4625, "User": "alice""#,
        ),
        (
            "2024-01-01T00:03:00Z",
            r#""EventID": 4624, "User": "alice""#,
        ),
        ("2024-01-01T00:00:00Z", r#""EventID": 4625, "User": "bob""#),
        ("2024-01-01T00:01:00Z", r#""EventID": 4624, "User": "bob""#),
        ("2024-01-01T00:02:00Z", r#""EventID": 1, "User": "bob""#),
    ];
    let (rows, err) = run("range", &yml, &events);
    assert_eq!(
        show(&rows, &["User", "count_"]),
        ["corr-range User=\"bob\" count_=2"],
        "{err}"
    );
}

#[test]
fn every_condition_operator_compares_the_busiest_span() {
    // u1..u4 fail 1..4 times a minute apart (all within the 5m span), and each once more two
    // hours later: the busiest span of u<k> holds k events, the whole input k + 1. The
    // condition is read against the busiest span (docs/semantics.md, "Correlations").
    let mut events = Vec::new();
    let mut times = Vec::new();
    for k in 1..=4u32 {
        for i in 0..k {
            times.push((format!("2024-01-01T00:0{i}:00Z"), k));
        }
        times.push(("2024-01-01T02:00:00Z".to_string(), k));
    }
    let fields: Vec<String> = (1..=4)
        .map(|k| format!(r#""EventID": 4625, "User": "u{k}""#))
        .collect();
    for (ts, k) in &times {
        events.push((ts.as_str(), fields[*k as usize - 1].as_str()));
    }
    type Holds = fn(u32) -> bool;
    let ops: [(&str, Holds); 6] = [
        ("gt", |p| p > 3),
        ("gte", |p| p >= 3),
        ("lt", |p| p < 3),
        ("lte", |p| p <= 3),
        ("eq", |p| p == 3),
        ("neq", |p| p != 3),
    ];
    for (op, holds) in ops {
        let yml = format!(
            "title: ops\nid: corr-{op}\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n\
             \x20   group-by: [User]\n    timespan: 5m\n    condition:\n        {op}: 3\n---\n{FAILED}"
        );
        let (rows, err) = run(&format!("op-{op}"), &yml, &events);
        let want: Vec<String> = (1..=4)
            .filter(|k| holds(*k))
            .map(|k| format!("corr-{op} User=\"u{k}\""))
            .collect();
        assert_eq!(show(&rows, &["User"]), want, "{op}: {err}");
    }
}

#[test]
fn value_count_counts_distinct_hosts() {
    let yml = format!(
        "title: Failed logins on many hosts\nid: corr-hosts\ncorrelation:\n    type: value_count\n    rules: [failed_login]\n\
         \x20   group-by: [User]\n    timespan: 1h\n    condition:\n        field: Host\n        gte: 3\n---\n{FAILED}"
    );
    let events = [
        (
            "2024-01-01T00:00:00Z",
            r#""EventID": 4625, "User": "alice", "Host": "h1""#,
        ),
        (
            "2024-01-01T00:10:00Z",
            r#""EventID": 4625, "User": "alice", "Host": "h2""#,
        ),
        (
            "2024-01-01T00:20:00Z",
            r#""EventID": 4625, "User": "alice", "Host": "h3""#,
        ),
        (
            "2024-01-01T00:00:00Z",
            r#""EventID": 4625, "User": "bob", "Host": "h1""#,
        ),
        (
            "2024-01-01T00:10:00Z",
            r#""EventID": 4625, "User": "bob", "Host": "h1""#,
        ),
        (
            "2024-01-01T00:20:00Z",
            r#""EventID": 4625, "User": "bob", "Host": "h2""#,
        ),
        (
            "2024-01-01T00:30:00Z",
            r#""EventID": 4624, "User": "bob", "Host": "h3""#,
        ),
    ];
    let (rows, err) = run("dcount", &yml, &events);
    assert_eq!(
        show(&rows, &["User", "dcount_Host"]),
        ["corr-hosts User=\"alice\" dcount_Host=3"],
        "{err}"
    );
}

#[test]
fn value_sum_adds_the_field() {
    let web = "title: Web access\nid: web-1\nname: website_access\nlogsource: {product: test}\n\
               detection: {sel: {Action: upload}, condition: sel}\n";
    let yml = format!(
        "title: Possible Exfiltration to Website\nid: corr-sum\ncorrelation:\n    type: value_sum\n    rules: [website_access]\n\
         \x20   group-by: [SourceIP]\n    timespan: 1h\n    condition:\n        field: bytes_sent\n        gt: 1000\n---\n{web}"
    );
    let events = [
        (
            "2024-01-01T00:00:00Z",
            r#""Action": "upload", "SourceIP": "10.0.0.1", "bytes_sent": "600""#,
        ),
        (
            "2024-01-01T00:30:00Z",
            r#""Action": "upload", "SourceIP": "10.0.0.1", "bytes_sent": "500""#,
        ),
        (
            "2024-01-01T00:00:00Z",
            r#""Action": "upload", "SourceIP": "10.0.0.2", "bytes_sent": "600""#,
        ),
        (
            "2024-01-01T00:10:00Z",
            r#""Action": "upload", "SourceIP": "10.0.0.2", "bytes_sent": "400""#,
        ),
        (
            "2024-01-01T02:00:00Z",
            r#""Action": "upload", "SourceIP": "10.0.0.2", "bytes_sent": "900""#,
        ),
    ];
    let (rows, err) = run("sum", &yml, &events);
    assert_eq!(
        show(&rows, &["SourceIP", "sum_bytes_sent"]),
        ["corr-sum SourceIP=\"10.0.0.1\" sum_bytes_sent=1100.0"],
        "{err}"
    );
}

#[test]
fn value_avg_averages_each_anchored_span() {
    let yml = "title: Suspicious average network traffic\nid: corr-avg\ncorrelation:\n    type: value_avg\n    rules: [net]\n\
               \x20   group-by: [SourceIP]\n    timespan: 1h\n    condition:\n        field: BytesOut\n        gt: 500\n---\n\
               title: net\nid: net-1\nname: net\nlogsource: {product: test}\ndetection: {sel: {Action: send}, condition: sel}\n";
    let ev = |ip: &str, bytes: u32| {
        format!(r#""Action": "send", "SourceIP": "{ip}", "BytesOut": "{bytes}""#)
    };
    let fields = [
        // .1: 400 then 700 within the hour, (400 + 700) / 2 = 550 > 500.
        ev("10.0.0.1", 400),
        ev("10.0.0.1", 700),
        // .2: 600, then 300 and 400 within the hour: the span of the 600 averages 433.3,
        // the later ones 350 and 400; no span is above 500.
        ev("10.0.0.2", 600),
        ev("10.0.0.2", 300),
        ev("10.0.0.2", 400),
        // .3: 600 alone, 300 two hours later: the first span is the 600 alone.
        ev("10.0.0.3", 600),
        ev("10.0.0.3", 300),
        // .4: exactly 500 (gt, not gte), and a non-matching event of 5000.
        ev("10.0.0.4", 500),
        r#""Action": "recv", "SourceIP": "10.0.0.4", "BytesOut": "5000""#.to_string(),
    ];
    let times = [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:10:00Z",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:10:00Z",
        "2024-01-01T00:20:00Z",
        "2024-01-01T00:00:00Z",
        "2024-01-01T02:00:00Z",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:01:00Z",
    ];
    let events: Vec<(&str, &str)> = times
        .iter()
        .copied()
        .zip(fields.iter().map(String::as_str))
        .collect();
    let (rows, err) = run("avg", yml, &events);
    assert_eq!(
        show(&rows, &["SourceIP", "avg_BytesOut", "StartTime"]),
        [
            "corr-avg SourceIP=\"10.0.0.1\" avg_BytesOut=550.0 StartTime=\"2024-01-01T00:00:00.0000000Z\"",
            "corr-avg SourceIP=\"10.0.0.3\" avg_BytesOut=600.0 StartTime=\"2024-01-01T00:00:00.0000000Z\"",
        ],
        "{err}"
    );
}

fn temporal(ty: &str) -> String {
    // The specification's example "Failed Logins Followed by Successful Login", without
    // its chained event_count (`chained_correlation_is_the_specifications_example` has it).
    format!(
        "title: Correlation - Failed Login Followed by Successful Login\nid: corr-{ty}\nlevel: high\ncorrelation:\n    type: {ty}\n\
         \x20   rules:\n        - failed_login\n        - successful_login\n    group-by:\n        - User\n    timespan: 10m\n---\n{FAILED}---\n{SUCCESS}"
    )
}

#[test]
fn temporal_ordered_needs_the_order() {
    let events = [
        // alice: failure then success 10 minutes later (inclusive): fires.
        (
            "2024-01-01T00:00:00Z",
            r#""EventID": 4625, "User": "alice""#,
        ),
        (
            "2024-01-01T00:10:00Z",
            r#""EventID": 4624, "User": "alice""#,
        ),
        // bob: success then failure: no.
        ("2024-01-01T00:00:00Z", r#""EventID": 4624, "User": "bob""#),
        ("2024-01-01T00:05:00Z", r#""EventID": 4625, "User": "bob""#),
        // carol: failure then success 10 minutes and 1 tick later: no.
        (
            "2024-01-01T00:00:00Z",
            r#""EventID": 4625, "User": "carol""#,
        ),
        (
            "2024-01-01T00:10:00.0000001Z",
            r#""EventID": 4624, "User": "carol""#,
        ),
        // dave: failure, success of another user: no.
        ("2024-01-01T00:00:00Z", r#""EventID": 4625, "User": "dave""#),
    ];
    let (rows, err) = run("ordered", &temporal("temporal_ordered"), &events);
    assert_eq!(
        show(&rows, &["User"]),
        ["corr-temporal_ordered User=\"alice\""],
        "{err}"
    );
    // Unordered: bob's reversed pair fires too.
    let (rows, err) = run("unordered", &temporal("temporal"), &events);
    assert_eq!(
        show(&rows, &["User"]),
        ["corr-temporal User=\"alice\"", "corr-temporal User=\"bob\""],
        "{err}"
    );
}

#[test]
fn aliases_join_different_fields() {
    // The specification's "Field Name Aliases" shape: one rule's destination is the other's
    // source.
    let a = "title: internal error\nid: a-1\nname: internal_error\nlogsource: {product: test}\n\
             detection: {sel: {status: 500}, condition: sel}\n";
    let b = "title: new connection\nid: b-1\nname: new_network_connection\nlogsource: {product: test}\n\
             detection: {sel: {outcome: success}, condition: sel}\n";
    let yml = format!(
        "title: error then connection\nid: corr-alias\ncorrelation:\n    type: temporal_ordered\n    rules: [internal_error, new_network_connection]\n\
         \x20   group-by: [internal_ip]\n    timespan: 10s\n    aliases:\n        internal_ip:\n            internal_error: dst_ip\n\
         \x20           new_network_connection: src_ip\n---\n{a}---\n{b}"
    );
    let events = [
        (
            "2024-01-01T00:00:00Z",
            r#""status": 500, "dst_ip": "10.0.0.5", "src_ip": "1.1.1.1""#,
        ),
        (
            "2024-01-01T00:00:05Z",
            r#""outcome": "success", "src_ip": "10.0.0.5", "dst_ip": "2.2.2.2""#,
        ),
        (
            "2024-01-01T00:01:00Z",
            r#""status": 500, "dst_ip": "10.0.0.6", "src_ip": "1.1.1.1""#,
        ),
        (
            "2024-01-01T00:01:05Z",
            r#""outcome": "success", "src_ip": "10.0.0.7", "dst_ip": "10.0.0.6""#,
        ),
    ];
    let (rows, err) = run("alias", &yml, &events);
    // Only the first pair joins (dst_ip of the error = src_ip of the connection); the second
    // pair would join on dst_ip alone, which the aliases do not ask for.
    let times: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["r1_internal_error_Timestamp"], r["r2_new_network_connection_Timestamp"]
            )
        })
        .collect();
    assert_eq!(
        times,
        ["\"2024-01-01T00:00:00.0000000Z\" \"2024-01-01T00:00:05.0000000Z\""],
        "{err}"
    );
}

/// `scry check` over one Sigma file: its stderr (the check must succeed: a refused Sigma
/// rule never fails the rule set).
fn check(name: &str, yml: &str) -> String {
    check_files(name, &[("mr_rule.yml", yml)])
}

#[test]
fn refused_by_name() {
    let corr = |id: &str, body: &str| {
        format!("title: {id}\nid: {id}\ncorrelation:\n    rules: [failed_login]\n    group-by: [User]\n    timespan: 1h\n{body}---\n{FAILED}")
    };
    // (file, text, the refusal, the summary: a refused correlation hides nothing, so the
    // rules it references compile on their own).
    let files = [
        (
            "percentile",
            corr("pct", "    type: value_percentile\n    condition: {field: image, lte: 1}\n"),
            "pct: value_percentile correlations are not supported",
            "sigma: 2 rule(s), 1 compiled, 1 refused",
        ),
        (
            "elsewhere",
            "title: far\nid: far\ncorrelation:\n    type: event_count\n    rules: [nowhere]\n    group-by: [User]\n    timespan: 1h\n    condition: {gte: 2}\n".to_string(),
            "far: no rule `nowhere` in the rule set",
            "sigma: 1 rule(s), 0 compiled, 1 refused",
        ),
        (
            "span",
            corr("span", "    type: event_count\n    condition: {gte: 2}\n").replace("1h", "1w"),
            "span: timespan `1w` is not a number and one of s, m, h, d",
            "sigma: 2 rule(s), 1 compiled, 1 refused",
        ),
        (
            "some",
            format!("title: some\nid: some\ncorrelation:\n    type: temporal\n    rules: [failed_login, successful_login]\n    group-by: [User]\n    timespan: 1h\n    condition: {{gte: 1}}\n---\n{FAILED}---\n{SUCCESS}"),
            "some: a temporal condition other than all 2 rules is not supported yet",
            "sigma: 3 rule(s), 2 compiled, 1 refused",
        ),
        (
            "fields",
            corr("fields", "    type: value_count\n    condition: {field: [Host, Ip], gte: 2}\n"),
            "fields: value_count over several fields is not supported yet",
            "sigma: 2 rule(s), 1 compiled, 1 refused",
        ),
        (
            "nocond",
            corr("nocond", "    type: event_count\n"),
            "nocond: event_count needs a `condition`",
            "sigma: 2 rule(s), 1 compiled, 1 refused",
        ),
        (
            "op",
            corr("op", "    type: event_count\n    condition: {ge: 2}\n"),
            "op: unknown condition `ge`",
            "sigma: 2 rule(s), 1 compiled, 1 refused",
        ),
        (
            // Chains: a count of another correlation's firings.
            "count_of_count",
            format!(
                "title: cc\nid: cc\ncorrelation:\n    type: event_count\n    rules: [many]\n    group-by: [User]\n    timespan: 1h\n    condition: {{gte: 2}}\n\
                 ---\n{MANY}---\n{FAILED}"
            ),
            "cc: `many` is itself a correlation: only a temporal correlation may reference one",
            "sigma: 3 rule(s), 1 compiled, 1 refused",
        ),
        (
            // A sequence's step cannot be another sequence's matches.
            "seq_of_seq",
            format!(
                "title: ss\nid: ss\ncorrelation:\n    type: temporal\n    rules: [pair, successful_login]\n    group-by: [User]\n    timespan: 1h\n\
                 ---\ntitle: pair\nid: pair\nname: pair\ncorrelation:\n    type: temporal\n    rules: [failed_login, successful_login]\n    group-by: [User]\n    timespan: 5m\n\
                 ---\n{FAILED}---\n{SUCCESS}"
            ),
            "ss: `pair` is a temporal correlation: a temporal correlation's step can be a threshold correlation's firings",
            "sigma: 4 rule(s), 1 compiled, 1 refused",
        ),
        (
            // The chained count must group by the fields the sequence groups it by.
            "chain_keys",
            format!(
                "title: ck\nid: ck\ncorrelation:\n    type: temporal_ordered\n    rules: [many, successful_login]\n    group-by: [User]\n    timespan: 1h\n\
                 ---\n{}---\n{FAILED}---\n{SUCCESS}",
                MANY.replace("group-by: [User]", "group-by: [User, Host]")
            ),
            "correlation `many` groups by [User, Host] and the correlation over it by [User]",
            "sigma: 4 rule(s), 2 compiled, 1 refused",
        ),
        (
            // Three levels: a sequence over a count over a count.
            "deep",
            format!(
                "title: deep\nid: deep\ncorrelation:\n    type: temporal_ordered\n    rules: [counts, successful_login]\n    group-by: [User]\n    timespan: 1h\n\
                 ---\ntitle: counts\nid: counts\nname: counts\ncorrelation:\n    type: event_count\n    rules: [many]\n    group-by: [User]\n    timespan: 1h\n    condition: {{gte: 2}}\n\
                 ---\n{MANY}---\n{FAILED}---\n{SUCCESS}"
            ),
            "deep: correlation `counts`: `many` is itself a correlation: only a temporal correlation may reference one",
            "sigma: 5 rule(s), 2 compiled, 2 refused",
        ),
    ];
    for (name, text, refusal, summary) in &files {
        let err = check(name, text);
        assert!(err.contains(refusal), "{name}: want `{refusal}`:\n{err}");
        assert!(err.contains(summary), "{name}: want `{summary}`:\n{err}");
    }
}

/// `scry check` over several Sigma files of one folder: its stderr.
fn check_files(name: &str, files: &[(&str, &str)]) -> String {
    let dir = scratch(name);
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    let out = util::scry(&["check", "--rules", dir.to_str().unwrap()]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    err
}

/// A correlation names its rules by `id` or `name` wherever they are ([S-corr] "Related
/// rules"): the rules of other files run inside it (and only there, without `generate`),
/// a name two other files give is refused as ambiguous, and a referenced rule that cannot be
/// translated refuses the correlation with the rule's own position.
#[test]
fn correlations_reference_rules_of_other_files() {
    let corr = "title: Failed then success\nid: corr-x\ncorrelation:\n    type: temporal_ordered\n    rules: [failed_login, successful_login]\n\
                \x20   group-by: [User]\n    timespan: 10m\n";
    let dir = scratch("cross");
    std::fs::write(dir.join("corr.yml"), corr).unwrap();
    std::fs::write(dir.join("failed.yml"), FAILED).unwrap();
    std::fs::write(dir.join("success.yml"), SUCCESS).unwrap();
    let events = [
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:00:00Z", "EventID": 4625, "User": "alice"}"#,
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:05:00Z", "EventID": 4624, "User": "alice"}"#,
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:00:00Z", "EventID": 4624, "User": "bob"}"#,
    ];
    let input = dir.join("events.jsonl");
    std::fs::write(&input, events.join("\n") + "\n").unwrap();
    let (rows, err) = run_rules(&dir, &input);
    assert!(
        err.contains("sigma: 3 rule(s), 1 compiled, 0 refused; 2 run only inside correlations"),
        "{err}"
    );
    assert_eq!(show(&rows, &["User"]), ["corr-x User=\"alice\""], "{err}");

    // `successful_login` in two other files: which one is meant cannot be told.
    let err = check_files(
        "ambiguous",
        &[
            ("corr.yml", corr),
            ("failed.yml", FAILED),
            ("success.yml", SUCCESS),
            ("success2.yml", &SUCCESS.replace("4d0a2c83", "5e1b3d94")),
        ],
    );
    assert!(
        err.contains(
            "corr.yml:5:12: Failed then success: `successful_login` names 2 rules of other files"
        ),
        "{err}"
    );
    // A referenced rule of another file that cannot be translated: its position is given.
    let broken = SUCCESS.replace("EventID: 4624", "EventID|contians: 4624");
    let err = check_files(
        "broken",
        &[
            ("corr.yml", corr),
            ("failed.yml", FAILED),
            ("success.yml", &broken),
        ],
    );
    assert!(
        err.contains("corr.yml:5:12: Failed then success: rule `successful_login`: unknown modifier `contians`"),
        "{err}"
    );
    assert!(err.contains("success.yml:"), "{err}");
}

/// The specification's own example, verbatim (tests/data/sigma/correlation/spec_chain.yml):
/// a temporal_ordered over a chained event_count, over Windows Security events. The count's
/// events are the moments it holds (each failure that is the 10th or later within 10
/// minutes); a success must follow one within 10 minutes.
#[test]
fn chained_correlation_is_the_specifications_example() {
    let dir = util::path("tests/data/sigma/correlation");
    let (rows, err) = run_rules(&dir.join("spec_chain.yml"), &dir.join("spec_chain.jsonl"));
    // The event_count and both detection rules run only inside the chain.
    assert!(
        err.contains("sigma: 4 rule(s), 1 compiled, 0 refused; 3 run only inside correlations"),
        "{err}"
    );
    // alice: the 10th failure at 09:04:30, a success at 09:10:00. Not bob (9 failures),
    // carol (success 10m 1s after the count held), dave (success first), erin (10 failures
    // over 10m 3s: never 10 within 10 minutes).
    assert_eq!(
        show(
            &rows,
            &[
                "User",
                "r1_multiple_failed_login_Timestamp",
                "r2_successful_login_Timestamp"
            ]
        ),
        ["b180ead8-d58f-40b2-ae54-c8940995b9b6 User=\"alice\" r1_multiple_failed_login_Timestamp=\"2024-05-15T09:04:30.0000000Z\" r2_successful_login_Timestamp=\"2024-05-15T09:10:00.0000000Z\""],
        "{err}"
    );
}

/// A chained count over two rules, one of them filtered (a filter document, the filters
/// specification): the filter suppresses that rule's events before they are counted, and
/// only that rule's.
#[test]
fn chained_count_applies_a_rules_filter_before_counting() {
    let yml = format!(
        "title: burst then success\nid: chain-f\ncorrelation:\n    type: temporal_ordered\n    rules: [many2, successful_login]\n\
         \x20   group-by: [User]\n    timespan: 5m\n---\ntitle: many2\nid: many2\nname: many2\ncorrelation:\n    type: event_count\n\
         \x20   rules: [failed_login, locked]\n    group-by: [User]\n    timespan: 5m\n    condition: {{gte: 3}}\n---\n\
         title: locked\nid: locked\nname: locked\nlogsource:\n    product: test\ndetection:\n    selection:\n        EventID: 4740\n\
         \x20   condition: selection\n---\ntitle: Trusted host lockouts\nlogsource:\n    product: test\nfilter:\n    rules: [locked]\n\
         \x20   selection:\n        Host: trusted\n    condition: selection\n---\n{FAILED}---\n{SUCCESS}"
    );
    let events = [
        // alice: a failure, a lockout, a failure (3), then a success: fires.
        (
            "2024-01-01T00:00:00Z",
            r#""EventID": 4625, "User": "alice", "Host": "h1""#,
        ),
        (
            "2024-01-01T00:01:00Z",
            r#""EventID": 4740, "User": "alice", "Host": "h1""#,
        ),
        (
            "2024-01-01T00:02:00Z",
            r#""EventID": 4625, "User": "alice", "Host": "h1""#,
        ),
        (
            "2024-01-01T00:03:00Z",
            r#""EventID": 4624, "User": "alice", "Host": "h1""#,
        ),
        // bob: the lockout is on the trusted host (filtered): 2, no.
        (
            "2024-01-01T00:00:00Z",
            r#""EventID": 4625, "User": "bob", "Host": "h1""#,
        ),
        (
            "2024-01-01T00:01:00Z",
            r#""EventID": 4740, "User": "bob", "Host": "trusted""#,
        ),
        (
            "2024-01-01T00:02:00Z",
            r#""EventID": 4625, "User": "bob", "Host": "h1""#,
        ),
        (
            "2024-01-01T00:03:00Z",
            r#""EventID": 4624, "User": "bob", "Host": "h1""#,
        ),
        // carol: failures on the trusted host count (the filter is the lockouts'): fires.
        (
            "2024-01-01T00:00:00Z",
            r#""EventID": 4625, "User": "carol", "Host": "trusted""#,
        ),
        (
            "2024-01-01T00:01:00Z",
            r#""EventID": 4740, "User": "carol", "Host": "h1""#,
        ),
        (
            "2024-01-01T00:02:00Z",
            r#""EventID": 4625, "User": "carol", "Host": "trusted""#,
        ),
        (
            "2024-01-01T00:03:00Z",
            r#""EventID": 4624, "User": "carol", "Host": "h1""#,
        ),
    ];
    let (rows, err) = run("chain-filter", &yml, &events);
    let mut got = show(&rows, &["User", "StartTime", "EndTime"]);
    got.sort();
    assert_eq!(
        got,
        [
            "chain-f User=\"alice\" StartTime=\"2024-01-01T00:02:00.0000000Z\" EndTime=\"2024-01-01T00:03:00.0000000Z\"",
            "chain-f User=\"carol\" StartTime=\"2024-01-01T00:02:00.0000000Z\" EndTime=\"2024-01-01T00:03:00.0000000Z\"",
        ],
        "{err}"
    );
}

/// The README's example: `scry run` over the bundled correlation file and its events.
#[test]
fn readme_example() {
    let dir = util::path("tests/data/sigma/correlation");
    let (rows, err) = run_rules(&dir.join("mr_failed_logins.yml"), &dir.join("logins.jsonl"));
    assert!(
        err.contains("sigma: 4 rule(s), 2 compiled, 0 refused; 2 run only inside correlations"),
        "{err}"
    );
    let mut got = show(&rows, &["User", "StartTime", "EndTime", "count_"]);
    got.sort();
    assert_eq!(
        got,
        [
            "0e95725d-7320-415d-80f7-004da920fc11 User=\"alice\" StartTime=\"2024-05-15T09:00:00.0000000Z\" EndTime=\"2024-05-15T09:02:30.0000000Z\" count_=3",
            "6a7d2c1e-0b6f-4c55-9a43-2f1f3c8f9d10 User=\"alice\" StartTime=\"2024-05-15T09:02:30.0000000Z\" EndTime=\"2024-05-15T09:04:00.0000000Z\" count_=null",
        ],
        "{err}"
    );
}

/// The correlation's metadata are the rule's (its `level` is the severity); the referenced
/// rules' `title`s are not.
#[test]
fn correlation_metadata_are_the_rules() {
    let dir = util::path("tests/data/sigma/correlation");
    let out = util::scry(&[
        "import",
        "sigma",
        dir.join("mr_failed_logins.yml").to_str().unwrap(),
    ]);
    let text = util::stdout(&out);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let rules: Vec<&str> = text.split("\nrule ").skip(1).collect();
    assert_eq!(rules.len(), 2, "{text}");
    assert!(rules[0].contains("severity high"), "{text}");
    assert!(rules[0].contains("sequence within 10m by User"), "{text}");
    assert!(rules[1].contains("severity medium"), "{text}");
    assert!(
        rules[1].contains("threshold count() >= 3 within 5m by User"),
        "{text}"
    );
    assert!(!text.contains("title \"Single failed login\""), "{text}");
}
