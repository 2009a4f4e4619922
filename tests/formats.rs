//! `--format sarif | ocsf | timesketch`: each output validates against the published schema of
//! its format (vendored in tests/data/schemas, see its README), carries the rule's metadata and
//! the row's values, and is the same bytes for any thread count.

use crate::util;
use serde_json::Value;

const NOW: &str = "2024-05-15T12:00:00Z";
const INPUT: &str = "tests/data/sample/defender-storage.jsonl";

fn schema(rel: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(util::path(rel)).expect("the vendored schema reads");
    let schema: Value = serde_json::from_str(&text).expect("the vendored schema is JSON");
    jsonschema::validator_for(&schema).expect("the vendored schema compiles")
}

/// The validation errors of `doc`, one line each (empty when valid).
fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn run(format: &str, inputs: &[&str], threads: &str) -> String {
    let mut args = vec![
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        NOW,
        "--format",
        format,
        "--threads",
        threads,
    ];
    args.extend_from_slice(inputs);
    let out = util::scry(&args);
    assert!(out.status.success(), "{}", util::stderr(&out));
    util::stdout(&out)
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn sarif_validates_against_the_oasis_schema_and_names_rules_and_inputs() {
    let v = schema("tests/data/schemas/sarif/sarif-schema-2.1.0.json");
    let doc: Value = serde_json::from_str(&run("sarif", &[INPUT], "2")).unwrap();
    assert_eq!(errors(&v, &doc), Vec::<String>::new());
    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let rules = runs[0]["tool"]["driver"]["rules"].as_array().unwrap();
    let results = runs[0]["results"].as_array().unwrap();
    // The README's main command: 8 result rows (see cli.rs).
    assert_eq!(results.len(), 8);
    for r in results {
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(r["ruleId"], rule["id"]);
        assert_eq!(r["level"], rule["defaultConfiguration"]["level"]);
        let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(loc["uri"], INPUT, "{r}");
        assert_eq!(loc["index"], 0, "{r}");
        assert!(r["message"]["text"]
            .as_str()
            .unwrap()
            .contains("DeviceName="));
    }
    // ServerEye's file-signature rule: severity medium, ATT&CK T1219.
    let se = rules
        .iter()
        .find(|r| r["id"] == "44a7b71e-ad89-49fd-b540-a73c83c6f8c5")
        .unwrap();
    assert_eq!(se["defaultConfiguration"]["level"], "warning");
    assert_eq!(se["properties"]["security-severity"], "5.5");
    let tags = se["properties"]["tags"].as_array().unwrap();
    assert!(tags.contains(&Value::from("attack.t1219")), "{tags:?}");
    assert!(tags.contains(&Value::from("CommandAndControl")), "{tags:?}");
    assert_eq!(
        se["shortDescription"]["text"],
        "Remote Management and Monitoring tool - ServerEye - File Signature"
    );
    // The row's columns ride along.
    let first = &results[0]["properties"]["columns"];
    assert_eq!(first["RemoteUrl"], "occ.server-eye.de");
}

/// The input line a SARIF result points at, parsed.
fn pointed_event(doc: &Value, result: &Value) -> (String, Value) {
    let loc = &result["locations"][0]["physicalLocation"];
    let index = loc["artifactLocation"]["index"].as_u64().unwrap() as usize;
    let uri = doc["runs"][0]["artifacts"][index]["location"]["uri"]
        .as_str()
        .unwrap();
    assert_eq!(loc["artifactLocation"]["uri"], uri);
    let line = loc["region"]["startLine"].as_u64().expect("a line") as usize;
    let text = std::fs::read_to_string(util::path(uri)).unwrap();
    let event = text.lines().nth(line - 1).expect("the line exists");
    (
        format!("{uri}:{line}"),
        serde_json::from_str(event).expect("a JSON line"),
    )
}

#[test]
fn sarif_results_point_at_an_event_of_their_row_in_every_input() {
    let v = schema("tests/data/schemas/sarif/sarif-schema-2.1.0.json");
    // Storage-account lines (one record each) and Event Hub messages (several per line).
    let other = "tests/data/sample/defender-eventhub.jsonl";
    let doc: Value = serde_json::from_str(&run("sarif", &[INPUT, other], "2")).unwrap();
    assert_eq!(errors(&v, &doc), Vec::<String>::new());
    let run = &doc["runs"][0];
    let uris: Vec<&str> = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["location"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, [INPUT, other]);
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let (at, event) = pointed_event(&doc, r);
        // The event holds the row's device: a storage line under `properties`, an Event
        // Hub message in one of its `records`.
        let device = &r["properties"]["columns"]["DeviceName"];
        let devices: Vec<&Value> = match event.get("records") {
            Some(recs) => recs
                .as_array()
                .unwrap()
                .iter()
                .map(|x| &x["properties"]["DeviceName"])
                .collect(),
            None => vec![&event["properties"]["DeviceName"]],
        };
        assert!(devices.contains(&device), "{at} for {r}");
    }
}

#[test]
fn sarif_of_standard_input_names_the_line_without_a_uri() {
    let v = schema("tests/data/schemas/sarif/sarif-schema-2.1.0.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "run",
            "--rules",
            "rules/rmm",
            "--now",
            NOW,
            "--format",
            "sarif",
            "-",
        ])
        .current_dir(util::root())
        .stdin(std::fs::File::open(util::path(INPUT)).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", util::stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(errors(&v, &doc), Vec::<String>::new());
    let artifact = &doc["runs"][0]["artifacts"][0];
    assert_eq!(artifact["description"]["text"], "standard input");
    assert!(artifact.get("location").is_none());
    let by_path: Value = serde_json::from_str(&run("sarif", &[INPUT], "1")).unwrap();
    let lines = |d: &Value| -> Vec<Value> {
        d["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["locations"][0]["physicalLocation"]["region"].clone())
            .collect()
    };
    assert_eq!(lines(&doc), lines(&by_path));
    for r in doc["runs"][0]["results"].as_array().unwrap() {
        let a = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(a["index"], 0);
        assert!(a.get("uri").is_none());
    }
}

/// Rows point at their event, `summarize` groups at their first event in input order,
/// worked out here from the inputs, for any thread count and any cut into pieces.
#[test]
fn origins_are_each_rows_event_and_each_groups_first_for_any_threads_and_pieces() {
    use scry_engine::compile::{self, Sources};
    use scry_engine::plan::Plan;
    use scry_engine::run::{self, RunOptions};
    use std::collections::BTreeMap;
    let src = r#"
rule per_device { id "per-device" from DeviceProcessEvents where FileName endswith '.exe'
  summarize n = count(), FirstSeen = min(Timestamp) by DeviceName examples {} }
rule each { id "each" from DeviceProcessEvents where FileName endswith '.exe'
  project DeviceName, ReportId examples {} }
"#;
    let mut sources = Sources::default();
    sources.add("o.scry", src);
    let compiled = compile::compile(
        &sources,
        std::sync::Arc::new(scry_engine::schema::Catalog::builtin()),
    );
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let plan = Plan::new(compiled.rules);
    // Two inputs; devices come back at random-looking places, a third of the files are not
    // `.exe`, and some lines are blank or broken, so lines and records differ.
    let dir = std::env::temp_dir().join(format!("scry-origins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut texts = [String::new(), String::new()];
    // (input, line) -> (device, report id, kept by the rules)
    let mut events: BTreeMap<(usize, u64), (String, i64, bool)> = BTreeMap::new();
    for i in 0..400i64 {
        let input = usize::from(i % 5 == 0);
        let text = &mut texts[input];
        if i % 11 == 0 {
            text.push_str(if i % 2 == 0 { "\n" } else { "{\"broken\": \n" });
        }
        let device = format!("d{}", (i * 7919) % 13);
        let ext = if i % 3 == 0 { "dll" } else { "exe" };
        let line = text.lines().count() as u64 + 1;
        text.push_str(&format!(
            "{{\"Type\":\"DeviceProcessEvents\",\"Timestamp\":\"2024-05-14T00:00:{:02}Z\",\"DeviceName\":\"{device}\",\"FileName\":\"f{i}.{ext}\",\"ReportId\":{i}}}\n",
            59 - i % 60
        ));
        events.insert((input, line), (device, i, ext == "exe"));
    }
    let inputs: Vec<std::path::PathBuf> = texts
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let p = dir.join(format!("in{k}.jsonl"));
            std::fs::write(&p, t).unwrap();
            p
        })
        .collect();
    let mut first: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for (at, (device, _, kept)) in &events {
        if *kept {
            first.entry(device.as_str()).or_insert(*at);
        }
    }
    let now = scry_engine::kql::time::parse_datetime(NOW).unwrap();
    for threads in [1, 2, 3, 4] {
        for chunk_bytes in [64, 1000, 1 << 20] {
            let what = format!("{threads} thread(s), {chunk_bytes}-byte pieces");
            let out = run::run(
                &plan,
                &inputs,
                &RunOptions {
                    now,
                    threads,
                    chunk_bytes,
                    ..RunOptions::default()
                },
            );
            let (mut groups, mut rows) = (0, 0);
            for r in &out.results {
                let o = r
                    .origin
                    .unwrap_or_else(|| panic!("{what}: no origin: {r:?}"));
                let at = (o.input, o.line);
                let text = |v: &scry_engine::value::Value| scry_engine::kql::funcs::tostring(v);
                if r.rule == 0 {
                    groups += 1;
                    assert_eq!(Some(&at), first.get(text(&r.values[0]).as_str()), "{what}");
                } else {
                    rows += 1;
                    let (device, id, kept) = &events[&at];
                    assert!(kept, "{what}");
                    assert_eq!(
                        (text(&r.values[0]), text(&r.values[1])),
                        (device.clone(), id.to_string()),
                        "{what}"
                    );
                }
            }
            assert_eq!(groups, first.len(), "{what}");
            assert_eq!(rows, events.values().filter(|e| e.2).count(), "{what}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ocsf_findings_validate_against_the_detection_finding_schema() {
    let v = schema("tests/data/schemas/ocsf/detection_finding.schema.json");
    let findings = lines(&run("ocsf", &[INPUT], "2"));
    assert_eq!(findings.len(), 8);
    let now_ms = 1_715_774_400_000i64; // 2024-05-15T12:00:00Z
    let mut uids = std::collections::BTreeSet::new();
    for f in &findings {
        assert_eq!(errors(&v, f), Vec::<String>::new(), "{f}");
        assert_eq!(f["class_uid"], 2004);
        assert_eq!(f["category_uid"], 2);
        assert_eq!(f["time"], now_ms);
        assert_eq!(f["metadata"]["product"]["name"], "scry");
        let a = &f["finding_info"]["analytic"];
        assert_eq!(a["type"], "Rule");
        assert!(f["finding_info"]["uid"]
            .as_str()
            .unwrap()
            .starts_with(a["uid"].as_str().unwrap()));
        assert!(
            uids.insert(f["finding_info"]["uid"].to_string()),
            "unique uids"
        );
        let attack = &f["finding_info"]["attacks"][0];
        assert_eq!(attack["technique"]["uid"], "T1219");
        assert_eq!(attack["tactic"]["uid"], "TA0011");
        assert_eq!(f["device"]["hostname"], f["unmapped"]["DeviceName"]);
        assert!(f["start_time"].as_i64().unwrap() <= f["end_time"].as_i64().unwrap());
    }
    // The file-signature rule is `severity medium`: OCSF 3.
    let se = findings
        .iter()
        .find(|f| f["finding_info"]["analytic"]["uid"] == "44a7b71e-ad89-49fd-b540-a73c83c6f8c5")
        .unwrap();
    assert_eq!(se["severity_id"], 3);
    assert_eq!(se["severity"], "Medium");
    // A user observable where the row names one.
    let with_user = findings
        .iter()
        .find(|f| f["unmapped"]["AccountUpn"] == "jdoe@contoso.com")
        .unwrap();
    assert_eq!(with_user["actor"]["user"]["name"], "jdoe@contoso.com");
    assert!(with_user["observables"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["name"] == "actor.user.name" && o["value"] == "jdoe@contoso.com"));
}

#[test]
fn timesketch_lines_carry_the_mandatory_fields() {
    let v = schema("tests/data/schemas/timesketch/timesketch.schema.json");
    let events = lines(&run("timesketch", &[INPUT], "2"));
    assert_eq!(events.len(), 8);
    for e in &events {
        assert_eq!(errors(&v, e), Vec::<String>::new(), "{e}");
        // Summarized rows: the activity's start, named.
        assert_eq!(e["timestamp_desc"], "FirstSeen");
        assert_eq!(e["datetime"], e["FirstSeen"]);
        assert!(e["message"]
            .as_str()
            .unwrap()
            .starts_with(e["title"].as_str().unwrap()));
    }
    assert_eq!(events[1]["timestamp"], 1_715_674_323_123_456i64);
}

#[test]
fn the_schemas_reject_what_they_should() {
    // The vendored schemas are not vacuous: one missing required field fails each.
    let sarif = schema("tests/data/schemas/sarif/sarif-schema-2.1.0.json");
    let mut doc: Value = serde_json::from_str(&run("sarif", &[INPUT], "1")).unwrap();
    doc["runs"][0]["results"][0]["level"] = "severe".into();
    assert!(!errors(&sarif, &doc).is_empty());
    let ocsf = schema("tests/data/schemas/ocsf/detection_finding.schema.json");
    let mut f = lines(&run("ocsf", &[INPUT], "1")).remove(0);
    f["finding_info"].as_object_mut().unwrap().remove("uid");
    assert!(!errors(&ocsf, &f).is_empty());
    let mut f = lines(&run("ocsf", &[INPUT], "1")).remove(0);
    f["finding_info"]["analytic"]["type_id"] = 1000.into();
    assert!(!errors(&ocsf, &f).is_empty());
    let ts = schema("tests/data/schemas/timesketch/timesketch.schema.json");
    let mut e = lines(&run("timesketch", &[INPUT], "1")).remove(0);
    e.as_object_mut().unwrap().remove("timestamp_desc");
    assert!(!errors(&ts, &e).is_empty());
}

#[test]
fn every_format_is_the_same_bytes_for_any_thread_count() {
    let inputs = [INPUT, "tests/data/sample/defender-eventhub.jsonl"];
    for format in ["sarif", "ocsf", "timesketch"] {
        let one = run(format, &inputs, "1");
        for threads in ["2", "4"] {
            assert_eq!(
                one,
                run(format, &inputs, threads),
                "{format}, {threads} threads"
            );
        }
    }
}
