//! Tests of the Windows event readers: normalization, delivery, the flat fast path.

use super::*;

#[test]
fn builtin_mapping_loads_and_targets_known_columns() {
    let m = mapping();
    assert_eq!(m.channel, "Microsoft-Windows-Sysmon/Operational");
    let ids: Vec<u64> = m.events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, [1, 3, 7, 22]);
    let cat = crate::schema::Catalog::builtin();
    for e in &m.events {
        let t = cat.table(&e.table).expect("mapped table exists");
        assert!(cat.table(&e.sysmon_table).is_some(), "{}", e.sysmon_table);
        for c in &e.columns {
            assert!(t.column(&c.name).is_some(), "{}.{}", e.table, c.name);
        }
    }
}

#[test]
fn derivations() {
    let d = |v: &str, t| {
        let src = Source::Derived("X".into(), t);
        format!("{:?}", derive(&src, Some(Cell::Str(v))))
    };
    let image = r"C:\Program Files\AnyDesk\AnyDesk.exe";
    assert_eq!(d(image, Take::Basename), r#"Some(Str("AnyDesk.exe"))"#);
    let hashes = "MD5=AA,SHA256=BB,SHA1=CC";
    assert_eq!(d(hashes, Take::Hash("SHA1")), r#"Some(Str("CC"))"#);
    assert_eq!(d(hashes, Take::Hash("IMPHASH")), "None");
    assert_eq!(d(r"CONTOSO\alice", Take::UserName), r#"Some(Str("alice"))"#);
    assert_eq!(
        d(r"CONTOSO\alice", Take::UserDomain),
        r#"Some(Str("CONTOSO"))"#
    );
    assert_eq!(d(" TRUE ", Take::Bool), "Some(Bool(true))");
    assert_eq!(d("-", Take::Basename), "None");
    let company = Source::Field("Company".into());
    assert_eq!(derive(&company, Some(Cell::Str("-"))), None);
}

struct Discard;
impl RecordSink for Discard {
    fn record(&mut self, _: &Row, _: &Location<'_>) {}
    fn skipped(&mut self, _: &Location<'_>, _: &SkipReason) {}
}

/// `write_flat` (the fast path for flat rows) against normalizing the row into a
/// `WinEvent` and `write` (the path every other layout takes): the same cells, table and
/// counts, over rows that mix every System key spelling, nulls, `-`, odd EventIDs and
/// channels.
#[test]
fn flat_rows_deliver_as_normalized() {
    let mut fields = FieldSet::new();
    for f in source_fields() {
        fields.intern(f);
    }
    for e in &mapping().events {
        for c in &e.columns {
            fields.intern(&c.name);
        }
    }
    for f in ["Timestamp", "Type", "CommandLine", "TargetFilename"] {
        fields.intern(f);
    }
    let choices: Vec<(&str, Vec<Cell<'static>>)> = vec![
        (
            "Channel",
            vec![
                Cell::Str("Microsoft-Windows-Sysmon/Operational"),
                Cell::Str("microsoft-windows-SYSMON/operational"),
                Cell::Str("Security"),
                Cell::Null,
                Cell::Num("4"),
                Cell::Missing,
            ],
        ),
        (
            "log_name",
            vec![
                Cell::Missing,
                Cell::Str("Microsoft-Windows-Sysmon/Operational"),
            ],
        ),
        (
            "EventID",
            vec![
                Cell::Num("1"),
                Cell::Num("3"),
                Cell::Num("7"),
                Cell::Num("22"),
                Cell::Str(" 1 "),
                Cell::Num("4688"),
                Cell::Str("x"),
                Cell::Null,
                Cell::Missing,
            ],
        ),
        ("event_id", vec![Cell::Missing, Cell::Num("3")]),
        (
            "Computer",
            vec![Cell::Str("pc1"), Cell::Missing, Cell::Null, Cell::Str("-")],
        ),
        ("Hostname", vec![Cell::Missing, Cell::Str("pc2")]),
        ("SourceName", vec![Cell::Missing, Cell::Str("Sysmon")]),
        ("RecordNumber", vec![Cell::Missing, Cell::Num("9")]),
        (
            "TimeCreated",
            vec![Cell::Str("2025-01-01T00:00:00Z"), Cell::Missing, Cell::Null],
        ),
        (
            "@timestamp",
            vec![Cell::Missing, Cell::Str("2025-02-02T00:00:00Z")],
        ),
        (
            "Timestamp",
            vec![Cell::Missing, Cell::Str("2025-03-03T00:00:00Z")],
        ),
        (
            "Image",
            vec![
                Cell::Str(r"C:\a\b.exe"),
                Cell::Str("-"),
                Cell::Str(""),
                Cell::Str(r"C:\a\"),
                Cell::Null,
                Cell::Missing,
            ],
        ),
        (
            "Hashes",
            vec![
                Cell::Str("MD5=AA, SHA1=BB ,SHA256=CC"),
                Cell::Str("-"),
                Cell::Missing,
            ],
        ),
        (
            "User",
            vec![
                Cell::Str(r"CORP\bob"),
                Cell::Str("bob"),
                Cell::Str("-"),
                Cell::Missing,
            ],
        ),
        (
            "Signed",
            vec![
                Cell::Str("true"),
                Cell::Str("FALSE"),
                Cell::Str("x"),
                Cell::Bool(true),
            ],
        ),
        ("CommandLine", vec![Cell::Str("cmd /c"), Cell::Missing]),
        (
            "Type",
            vec![Cell::Missing, Cell::Missing, Cell::Missing, Cell::Str("")],
        ),
    ];
    let mut inner = Discard;
    let sink = WindowsSink::new(&fields, &mut inner);
    let mut general = Deliver::new(&fields);
    let mut fast = Deliver::new(&fields);
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut flat = 0;
    for _ in 0..4000 {
        let mut row = Row::new(&fields);
        for (name, values) in &choices {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let id = fields.get(name).unwrap();
            match values[(seed % values.len() as u64) as usize] {
                Cell::Null => row.set_null(id),
                v => set(&mut row, id, v),
            }
        }
        if sink.layout(&row) != Some(Layout::Flat) {
            continue;
        }
        flat += 1;
        let ev = sink.normalize(&row).expect("a flat row is an event");
        let mut a = row.clone();
        general.write(&ev, &mut a);
        let mut b = row.clone();
        fast.write_flat(&row, &mut b);
        for (id, name) in fields.names() {
            assert_eq!(a.get(id), b.get(id), "{name} of {row:?}");
        }
        assert_eq!(a.table_hint(), b.table_hint(), "{row:?}");
    }
    assert_eq!(general.counts, fast.counts);
    assert!(flat > 1000, "{flat} flat rows");
    assert!(
        fast.counts.mapped.iter().take(4).all(|&n| n > 0),
        "{:?}",
        fast.counts
    );
}

#[test]
fn evtx_json_event_id_with_qualifiers() {
    let v: Value = serde_json::json!({"Event": {"System": {
        "EventID": {"#text": 4648, "#attributes": {"Qualifiers": 16384}},
        "Channel": "Security", "Computer": "pc",
        "TimeCreated": {"#attributes": {"SystemTime": "2025-01-01T00:00:00Z"}}},
        "EventData": {"TargetUserName": "bob"}}});
    let ev = WinEvent::from_evtx_json(&v).unwrap();
    assert_eq!(ev.get("EventID"), Some(&Val::Num("4648".into())));
    assert_eq!(
        ev.get("Timestamp"),
        Some(&Val::Str("2025-01-01T00:00:00Z".into()))
    );
    assert_eq!(ev.get("TargetUserName"), Some(&Val::Str("bob".into())));
}

/// The packed searcher against one `memmem` per key, over texts made of the keys, their
/// prefixes and near misses (short texts take its Rabin-Karp path, long ones Teddy's).
#[test]
fn may_be_windows_is_memmem_of_each_key() {
    use proptest::prelude::*;
    let part = prop::sample::select(vec![
        "\"Channel\"",
        "\"log_name\"",
        "\"winlog\"",
        "\"Event\"",
        "\"Channel",
        "\"Even",
        "\"winlo",
        "log_name\"",
        "\"event\"",
        "\"EventID\"",
        "\"",
        "x",
        "{\"a\":1}",
        " ",
        "\"properties\":{\"ChannelName\":\"c\"}",
    ]);
    let text = prop::collection::vec(part, 0..40).prop_map(|v| v.concat());
    proptest!(ProptestConfig::with_cases(2000), |(t in text)| {
        let want = WINDOWS_KEYS.iter().any(|k| memchr::memmem::find(t.as_bytes(), k.as_bytes()).is_some());
        prop_assert_eq!(may_be_windows(t.as_bytes()), want);
    });
}
