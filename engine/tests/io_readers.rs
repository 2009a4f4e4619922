//! Readers: every input shape through the same collecting sink, compared cell by cell, plus
//! each way a record can be skipped or a source can fail.
//!
//! Longer than our ~800-line guide: one test per input shape and per skip reason, each short;
//! they share this file's collecting sink.

use std::path::{Path, PathBuf};

use scry_engine::io::{
    expand_inputs, read_path, read_reader, Format, Framing, InputError, InputStats, Location,
    ReadOptions, RecordSink, SkipReason,
};
use scry_engine::row::{Cell, FieldSet, Row};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/io")
        .join(name)
}

/// A cell, owned, so collected rows outlive the reused `Row`.
#[derive(Debug, Clone, PartialEq)]
enum Owned {
    Missing,
    Null,
    Str(String),
    Num(String),
    Bool(bool),
    Json(String),
}

impl Owned {
    fn of(cell: Cell<'_>) -> Owned {
        match cell {
            Cell::Missing => Owned::Missing,
            Cell::Null => Owned::Null,
            Cell::Str(s) => Owned::Str(s.into()),
            Cell::Num(s) => Owned::Num(s.into()),
            Cell::Bool(b) => Owned::Bool(b),
            Cell::Json(s) => Owned::Json(s.into()),
        }
    }

    /// The text a CSV export would hold for this cell (CSV has no types).
    fn as_csv_text(&self) -> Owned {
        match self {
            Owned::Null => Owned::Str(String::new()),
            Owned::Num(s) | Owned::Json(s) => Owned::Str(s.clone()),
            Owned::Bool(b) => Owned::Str(b.to_string()),
            other => other.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Got {
    cells: Vec<Owned>,
    table: Option<String>,
    line: u64,
    record: u64,
}

#[derive(Default)]
struct Collect {
    fields: FieldSet,
    rows: Vec<Got>,
    skips: Vec<(u64, u64, SkipReason)>,
}

impl RecordSink for Collect {
    fn record(&mut self, row: &Row, loc: &Location<'_>) {
        let cells = self.fields.names().map(|(id, _)| Owned::of(row.get(id)));
        self.rows.push(Got {
            cells: cells.collect(),
            table: row.table_hint().map(String::from),
            line: loc.line,
            record: loc.record,
        });
    }

    fn skipped(&mut self, loc: &Location<'_>, reason: &SkipReason) {
        self.skips.push((loc.line, loc.record, reason.clone()));
    }
}

const FIELDS: [&str; 9] = [
    "Timestamp",
    "DeviceName",
    "FileName",
    "FolderPath",
    "ProcessId",
    "IsElevated",
    "AdditionalFields",
    "Extra",
    "NotThere",
];

fn collector() -> Collect {
    let mut fields = FieldSet::new();
    for f in FIELDS {
        fields.intern(f);
    }
    Collect {
        fields,
        ..Collect::default()
    }
}

/// Checks the invariant every read must keep: each record read was delivered or skipped.
fn reconciled(c: &Collect, stats: &InputStats) {
    assert_eq!(
        stats.records,
        (c.rows.len() + c.skips.len()) as u64,
        "{stats:?}"
    );
    assert_eq!(stats.skipped, c.skips.len() as u64);
    let indexes: Vec<u64> = c
        .rows
        .iter()
        .map(|r| r.record)
        .chain(c.skips.iter().map(|s| s.1))
        .collect();
    let mut sorted = indexes.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=stats.records).collect::<Vec<_>>());
}

fn read_file_with(name: &str, opts: &ReadOptions) -> (Collect, InputStats) {
    let mut c = collector();
    let fields = c.fields.clone();
    let mut row = Row::default();
    let stats = read_path(&data(name), &fields, opts, &mut row, &mut c).expect(name);
    reconciled(&c, &stats);
    (c, stats)
}

fn read_file(name: &str) -> (Collect, InputStats) {
    read_file_with(name, &ReadOptions::default())
}

fn read_text(text: &[u8]) -> (Collect, InputStats) {
    read_text_as(text, Format::Auto)
}

fn read_text_as(text: &[u8], format: Format) -> (Collect, InputStats) {
    let mut c = collector();
    let fields = c.fields.clone();
    let mut row = Row::new(&fields);
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let stats = read_reader("<stdin>", text, &fields, &opts, &mut row, &mut c).expect("read");
    reconciled(&c, &stats);
    (c, stats)
}

fn s(v: &str) -> Owned {
    Owned::Str(v.into())
}

/// The three rows of `generate.py`, as JSON gives them.
fn expected() -> Vec<Vec<Owned>> {
    use Owned::*;
    vec![
        vec![
            s("2021-08-02T13:11:39.7724491Z"),
            s("adfs01.simulandlabs.com"),
            s("powershell.exe"),
            s(r"c:\windows\system32\windowspowershell\v1.0\powershell.exe"),
            Num("5692".into()),
            Bool(true),
            s(r#"{"Key":"v, w"}"#),
            Json(r#"{"nested":[1,2]}"#.into()),
            Missing,
        ],
        vec![
            s("2021-08-02T13:11:40Z"),
            s("käse-pc"),
            s("cmd.exe"),
            s(""),
            Num("-1.5e3".into()),
            Bool(false),
            Null,
            Json("[]".into()),
            Missing,
        ],
        vec![
            s("2021-08-02T13:11:41.1Z"),
            s("ws3"),
            s("say \"hi\"\n.exe"),
            s("😀"),
            Num("0".into()),
            Null,
            s(""),
            Null,
            Missing,
        ],
    ]
}

fn cells(c: &Collect) -> Vec<Vec<Owned>> {
    c.rows.iter().map(|r| r.cells.clone()).collect()
}

#[test]
fn every_shape_yields_the_same_cells() {
    let cases = [
        ("rows.ndjson", "json lines (flat)", None),
        (
            "rows.storage.json",
            "json lines (storage account)",
            Some("DeviceProcessEvents"),
        ),
        (
            "rows.storage.json.gz",
            "json lines (storage account), gzip",
            Some("DeviceProcessEvents"),
        ),
        (
            "rows.eventhub.json",
            "json lines (event hub)",
            Some("DeviceProcessEvents"),
        ),
        ("rows.array.json", "json document (json array)", None),
        (
            "rows.hunting.json",
            "json document (advanced hunting results)",
            None,
        ),
    ];
    for (name, format, table) in cases {
        let (c, stats) = read_file(name);
        assert_eq!(c.skips, [], "{name}");
        assert_eq!(cells(&c), expected(), "{name}");
        assert_eq!(stats.format.to_string(), format, "{name}");
        for r in &c.rows {
            assert_eq!(r.table.as_deref(), table, "{name}");
        }
    }
    // CSV has no types: the same rows, as text; a column absent from the header stays missing.
    let (c, stats) = read_file("rows.csv");
    assert_eq!(c.skips, []);
    assert_eq!(stats.format.to_string(), "csv");
    let as_text: Vec<Vec<Owned>> = expected()
        .iter()
        .map(|r| r.iter().map(Owned::as_csv_text).collect())
        .collect();
    assert_eq!(cells(&c), as_text);
    assert_eq!(c.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4]);
}

#[test]
fn gzip_is_detected_by_magic_bytes_not_name() {
    let bytes = std::fs::read(data("rows.storage.json.gz")).unwrap();
    let (c, stats) = read_text(&bytes);
    assert_eq!(cells(&c), expected());
    assert!(stats.format.gzip);
    assert_eq!(stats.bytes, bytes.len() as u64);
    assert_eq!(
        stats.decoded_bytes,
        std::fs::metadata(data("rows.storage.json")).unwrap().len()
    );
}

#[test]
fn records_carry_their_lines() {
    let (c, _) = read_file("rows.storage.json");
    assert_eq!(c.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 2, 3]);
    let (c, _) = read_file("rows.eventhub.json");
    assert_eq!(c.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 1, 2]);
    assert_eq!(
        c.rows.iter().map(|r| r.record).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // In a pretty-printed document, each element starts at its `{` line.
    for name in ["rows.array.json", "rows.hunting.json"] {
        let text = std::fs::read_to_string(data(name)).unwrap();
        let starts: Vec<u64> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim() == "{" && l.len() > 1)
            .map(|(i, _)| i as u64 + 1)
            .collect();
        let (c, _) = read_file(name);
        assert_eq!(
            c.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            starts,
            "{name}"
        );
    }
}

#[test]
fn escapes_are_decoded() {
    let (c, _) =
        read_text(br#"{"DeviceName":"K\u00e4se \\ \"q\" \ud83d\ude00","FileName":"a\/b"}"#);
    assert_eq!(c.rows[0].cells[1], s("Käse \\ \"q\" 😀"));
    assert_eq!(c.rows[0].cells[2], s("a/b"));
}

#[test]
fn duplicate_keys_last_wins() {
    let (c, _) = read_text(br#"{"FileName":"a","FileName":"b","ProcessId":1,"ProcessId":null}"#);
    assert_eq!(c.rows[0].cells[2], s("b"));
    assert_eq!(c.rows[0].cells[4], Owned::Null);
}

#[test]
fn malformed_line_is_reported_with_position_and_reading_continues() {
    let input = b"{\"FileName\":\"a\"}\n{\"FileName\":\"b\"}\n{\"FileName\": \"c\",}\n{\"FileName\":\"d\"}\n";
    let (c, stats) = read_text(input);
    let names: Vec<_> = c.rows.iter().map(|r| r.cells[2].clone()).collect();
    assert_eq!(names, [s("a"), s("b"), s("d")]);
    assert_eq!(stats.records, 4);
    let (line, record, reason) = &c.skips[0];
    assert_eq!((*line, *record), (3, 3));
    match reason {
        SkipReason::MalformedJson {
            line,
            column,
            message,
        } => {
            assert_eq!((*line, *column), (3, 18));
            assert_eq!(message, "trailing comma");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        reason.to_string(),
        "malformed JSON at line 3 column 18: trailing comma"
    );
    assert_eq!(c.rows[2].line, 4);
    assert_eq!(c.rows[2].record, 4);
}

#[test]
fn malformed_document_reports_document_position() {
    let input = b"[\n  {\"FileName\": \"a\"},\n  {\"FileName\": \"b\" \"c\"}\n]\n";
    let (c, stats) = read_text(input);
    assert_eq!(stats.format.framing, Framing::JsonDocument);
    assert_eq!(c.rows.len(), 1);
    assert!(
        matches!(
            &c.skips[0].2,
            SkipReason::MalformedJson {
                line: 3,
                column: 20,
                ..
            }
        ),
        "{:?}",
        c.skips
    );
}

#[test]
fn invalid_utf8_is_skipped_with_its_position() {
    let (c, _) =
        read_text(b"{\"FileName\":\"a\"}\n{\"FileName\":\"\xff\"}\n{\"FileName\":\"c\"}\n");
    assert_eq!(c.rows.len(), 2);
    assert_eq!(
        c.skips,
        [(
            2,
            2,
            SkipReason::InvalidUtf8 {
                line: 2,
                column: 14
            }
        )]
    );
}

#[test]
fn truncated_gzip_is_an_error_after_the_earlier_records() {
    let mut c = collector();
    let fields = c.fields.clone();
    let mut row = Row::new(&fields);
    let path = data("truncated.ndjson.gz");
    let err = read_path(&path, &fields, &ReadOptions::default(), &mut row, &mut c).unwrap_err();
    assert!(matches!(err, InputError::Gzip { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("truncated.ndjson.gz"), "{text}");
    assert!(text.contains("truncated or corrupt gzip"), "{text}");
    assert!(c.rows.len() > 100, "{}", c.rows.len());
    assert_eq!(c.skips, []);
    // Delivered in order, none lost before the cut.
    for (i, r) in c.rows.iter().enumerate() {
        assert_eq!(r.cells[4], Owned::Num(i.to_string()));
    }
}

#[test]
fn missing_file_is_an_open_error_naming_it() {
    let mut c = collector();
    let fields = c.fields.clone();
    let mut row = Row::new(&fields);
    let path = data("no-such-file.ndjson");
    let err = read_path(&path, &fields, &ReadOptions::default(), &mut row, &mut c).unwrap_err();
    assert!(matches!(err, InputError::Open { .. }));
    assert!(err.to_string().contains("no-such-file.ndjson"));
}

#[test]
fn record_size_limit_skips_and_continues() {
    let long = format!("{{\"FileName\":\"{}\"}}", "x".repeat(5000));
    let input = format!("{{\"FileName\":\"a\"}}\n{long}\n{{\"FileName\":\"b\"}}\n");
    let mut c = collector();
    let fields = c.fields.clone();
    let mut row = Row::new(&fields);
    let opts = ReadOptions {
        format: Format::JsonLines,
        max_record_bytes: 1000,
        ..ReadOptions::default()
    };
    let stats = read_reader("x", input.as_bytes(), &fields, &opts, &mut row, &mut c).unwrap();
    reconciled(&c, &stats);
    assert_eq!(c.rows.len(), 2);
    assert_eq!(c.rows[1].line, 3);
    assert_eq!(
        c.skips,
        [(2, 2, SkipReason::RecordTooLarge { bytes: long.len() })]
    );
    // The same in CSV.
    let csv = format!("FileName\na\n{}\nb\n", "y".repeat(2000));
    let mut c = collector();
    let opts = ReadOptions {
        format: Format::Csv,
        max_record_bytes: 1000,
        ..ReadOptions::default()
    };
    let stats = read_reader("x", csv.as_bytes(), &fields, &opts, &mut row, &mut c).unwrap();
    reconciled(&c, &stats);
    assert_eq!(c.rows.len(), 2);
    assert_eq!(c.skips[0].2, SkipReason::RecordTooLarge { bytes: 2000 });
}

#[test]
fn blank_lines_and_bom_are_not_records() {
    let (c, stats) =
        read_text(b"\xEF\xBB\xBF\n  \r\n{\"FileName\":\"a\"}\r\n\r\n\t\n{\"FileName\":\"b\"}");
    assert_eq!(stats.records, 2);
    assert_eq!(c.skips, []);
    assert_eq!(c.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 6]);
    let (c, stats) = read_text(b"\xEF\xBB\xBFFileName,DeviceName\r\na,b\r\n");
    assert_eq!(stats.format.framing, Framing::Csv);
    assert_eq!(c.rows[0].cells[2], s("a"));
    let (c, stats) = read_text(b"");
    assert_eq!((stats.records, c.rows.len()), (0, 0));
    let (_, stats) = read_text(b"\xEF\xBB\xBF[]");
    assert_eq!(
        (stats.records, stats.format.framing),
        (0, Framing::JsonDocument)
    );
}

#[test]
fn values_that_are_not_objects_are_skipped() {
    // (Auto would take a first line that is not JSON for CSV.)
    let (c, _) = read_text_as(b"42\n\"x\"\n[{\"FileName\":\"a\"}, 7]\n", Format::JsonLines);
    assert_eq!(c.rows.len(), 1);
    let reasons: Vec<_> = c.skips.iter().map(|s| s.2.clone()).collect();
    assert_eq!(reasons, vec![SkipReason::NotAnObject; 3]);
}

#[test]
fn pretty_printed_object_is_a_document_and_one_line_object_is_lines() {
    let pretty = b"{\n  \"records\": [\n    {\"properties\": {\"FileName\": \"a\"}, \"category\": \"AdvancedHunting-DeviceFileEvents\"}\n  ]\n}\n";
    let (c, stats) = read_text(pretty);
    assert_eq!(stats.format.to_string(), "json document (event hub)");
    assert_eq!(c.rows[0].table.as_deref(), Some("DeviceFileEvents"));
    assert_eq!(c.rows[0].line, 3);
    let (c, stats) =
        read_text(b"{\"Schema\":[],\"Results\":[{\"FileName\":\"a\"},{\"FileName\":\"b\"}]}\n");
    assert_eq!(
        stats.format.to_string(),
        "json lines (advanced hunting results)"
    );
    assert_eq!(c.rows.len(), 2);
}

#[test]
fn csv_rows_with_the_wrong_cell_count_are_skipped() {
    let (c, _) = read_text(b"FileName,DeviceName\na,b\nc\nd,e,f\n\"g\",\"{\"\"k\"\":1}\"\n");
    assert_eq!(c.rows.len(), 2);
    assert_eq!(c.rows[1].cells[1], s("{\"k\":1}"));
    assert_eq!(c.skips.len(), 2);
    assert_eq!(
        c.skips[0].2.to_string(),
        "CSV line 3: 1 cells, but the header has 2 columns"
    );
    assert_eq!(c.skips[1].0, 4);
}

#[test]
fn storage_account_envelope_is_not_the_row() {
    let line = br#"{"FileName":"decoy","time":"t","properties":{"DeviceName":"d"},"category":"AdvancedHunting-X","FileName":"decoy2"}"#;
    let (c, stats) = read_text(line);
    assert_eq!(c.rows[0].cells[1], s("d"));
    assert_eq!(c.rows[0].cells[2], Owned::Missing);
    assert_eq!(c.rows[0].table.as_deref(), Some("X"));
    assert!(stats.format.shapes.storage_account);
    // A flat record whose `category` is wanted keeps it, and gets no table hint.
    let mut c = collector();
    let id = c.fields.intern("category");
    let fields = c.fields.clone();
    let mut row = Row::new(&fields);
    let opts = ReadOptions::default();
    read_reader(
        "x",
        &br#"{"category":"c"}"#[..],
        &fields,
        &opts,
        &mut row,
        &mut c,
    )
    .unwrap();
    assert_eq!(c.rows[0].cells[id.0 as usize], s("c"));
    assert_eq!(c.rows[0].table, None);
}

#[test]
fn directories_expand_sorted_without_hidden_entries() {
    let got = expand_inputs(&[data("tree"), PathBuf::from("-"), data("rows.csv")]).unwrap();
    let want = [
        data("tree").join("a/10.ndjson"),
        data("tree").join("a/2.ndjson"),
        data("tree").join("b.ndjson"),
        data("tree").join("c.csv"),
        PathBuf::from("-"),
        data("rows.csv"),
    ];
    assert_eq!(got, want);
    // A missing path passes through: reading it fails for that input alone.
    assert_eq!(expand_inputs(&[data("nope")]).unwrap(), [data("nope")]);
    let mut fields = FieldSet::new();
    fields.intern("a");
    let mut row = Row::new(&fields);
    let mut sink = Collect::default();
    let err = read_path(
        &data("nope"),
        &fields,
        &ReadOptions::default(),
        &mut row,
        &mut sink,
    )
    .unwrap_err();
    assert!(err.to_string().contains("nope: cannot open"), "{err}");
}

#[test]
fn otrf_goldensaml_loads_without_skips() {
    let mut fields = FieldSet::new();
    let ts = fields.intern("Timestamp");
    let size = fields.intern("InitiatingProcessFileSize");
    let extra = fields.intern("AdditionalFields_string");
    let dynamic = fields.intern("AdditionalFields_dynamic");
    let mut c = Collect {
        fields: fields.clone(),
        ..Collect::default()
    };
    let mut row = Row::new(&fields);
    let path = data("otrf_goldensaml_Microsoft365DefenderEvents.ndjson");
    let stats = read_path(&path, &fields, &ReadOptions::default(), &mut row, &mut c).unwrap();
    reconciled(&c, &stats);
    assert_eq!((stats.records, stats.skipped), (9, 0));
    assert_eq!(stats.format.to_string(), "json lines (flat)");
    let first = &c.rows[0].cells;
    assert_eq!(first[ts.0 as usize], s("2021-08-02T13:11:39.7724491Z"));
    assert_eq!(first[size.0 as usize], Owned::Num("448000".into()));
    assert!(
        matches!(&first[extra.0 as usize], Owned::Str(t) if t.starts_with("{\"AttributeList\""))
    );
    assert_eq!(first[dynamic.0 as usize], Owned::Null);
}

/// Counts allocations made by the current thread, so tests running in parallel do not
/// disturb the count.
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; the counter is a const thread-local
// `Cell` without a destructor, so touching it never allocates or re-enters.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

struct Discard(u64);

impl RecordSink for Discard {
    fn record(&mut self, _: &Row, _: &Location<'_>) {
        self.0 += 1;
    }
    fn skipped(&mut self, _: &Location<'_>, _: &SkipReason) {}
}

/// Real rows (escaped paths, numbers, nulls, JSON in strings) in each shape. Values nested two
/// levels deep are left out on purpose: serde_json's deserializer keeps a scratch stack for
/// skipping them that starts empty for every record (a known, documented allocation).
#[test]
fn warm_reading_does_not_allocate_per_record() {
    let mut fields = FieldSet::new();
    for f in [
        "Timestamp",
        "InitiatingProcessFolderPath",
        "InitiatingProcessId",
        "FileSize",
    ] {
        fields.intern(f);
    }
    fields.intern("AdditionalFields_string");
    let otrf =
        std::fs::read_to_string(data("otrf_goldensaml_Microsoft365DefenderEvents.ndjson")).unwrap();
    // Rows 6 to 9 hold dynamic columns as nested objects (see the doc comment above).
    let rows: Vec<&str> = otrf.lines().take(5).collect();
    let flat: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let wrap =
        |r: &str| format!(r#"{{"time":"t","properties":{r},"category":"AdvancedHunting-X"}}"#);
    let storage: String = rows.iter().map(|r| wrap(r) + "\r\n").collect();
    let hub: String = rows
        .iter()
        .map(|r| format!("{{\"records\":[{}]}}\n", wrap(r)))
        .collect();
    let csv_body = "2021-08-02T13:11:39Z,\"c:\\x\\y.exe\",\"{\"\"a\"\":1}\"\r\n".repeat(rows.len());
    let cases: [(&str, &str, String); 4] = [
        ("flat", "", flat),
        ("storage", "", storage),
        ("event hub", "", hub),
        (
            "csv",
            "Timestamp,InitiatingProcessFolderPath,AdditionalFields_string\r\n",
            csv_body,
        ),
    ];
    for (name, head, body) in cases {
        let allocations = |copies: usize| {
            let mut input = head.to_string();
            input.push_str(&body.repeat(copies));
            let mut row = Row::new(&fields);
            let mut sink = Discard(0);
            let opts = ReadOptions::default();
            let before = ALLOCATIONS.with(|n| n.get());
            read_reader("x", input.as_bytes(), &fields, &opts, &mut row, &mut sink).unwrap();
            let used = ALLOCATIONS.with(|n| n.get()) - before;
            assert_eq!(sink.0, (rows.len() * copies) as u64, "{name}");
            used
        };
        let few = allocations(2);
        let many = allocations(500);
        // Buffers grow a few times while warming up; nothing may scale with the record count.
        assert!(
            many <= few + 12,
            "{name}: {few} allocations for 10 records, {many} for 2500"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// No input makes a reader panic, and every record read is accounted for.
    #[test]
    fn any_bytes_read_without_panic_and_reconcile(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        pick in 0..4usize,
    ) {
        let format = [Format::Auto, Format::JsonLines, Format::JsonDocument, Format::Csv][pick];
        let mut c = collector();
        let fields = c.fields.clone();
        let mut row = Row::new(&fields);
        let opts = ReadOptions { format, max_record_bytes: 64, ..ReadOptions::default() };
        if let Ok(stats) = read_reader("p", &bytes[..], &fields, &opts, &mut row, &mut c) {
            reconciled(&c, &stats);
        }
    }

    /// JSON-ish noise: the characters that drive the shape logic, shuffled.
    #[test]
    fn json_noise_reads_without_panic_and_reconciles(
        parts in proptest::collection::vec(proptest::sample::select(vec![
            "{", "}", "[", "]", ",", ":", "\"properties\"", "\"records\"", "\"Results\"",
            "\"category\"", "\"FileName\"", "\"AdvancedHunting-X\"", "1.5", "null", "true",
            "\"a\\u00e4\\\\\"", "\n", "\r\n", " ", "\"\\ud800\"",
        ]), 0..40),
    ) {
        let text = parts.concat();
        for format in [Format::Auto, Format::JsonLines, Format::JsonDocument] {
            let (c, stats) = read_text_as(text.as_bytes(), format);
            reconciled(&c, &stats);
        }
    }
}

/// Lines of every length around the piece size and the record limit (±k), LF and CRLF, the
/// last without a newline: cut into pieces, each byte is searched for a line end once
/// (`PieceStats::scanned`), a line over the limit is one skip carrying its true length and
/// line, and the pieces read back give exactly what one streaming read gives.
///
/// Before the fix, a partial line longer than a chunk was refilled one byte at a time and
/// searched from its start after each byte (quadratic), and a line over the limit was cut
/// into a piece of `limit + chunk` bytes, whose skip then reported that size instead of the
/// line's.
#[test]
fn long_lines_are_cut_in_linear_work_and_skipped_with_their_length() {
    use scry_engine::io::{read_piece, read_pieces, Piece};
    let chunk: usize = 64;
    let limit: usize = 300;
    let mut text = Vec::new();
    let mut lens = Vec::new();
    let lengths = (0..8)
        .flat_map(|k| {
            [
                chunk - k,
                chunk + k,
                limit - k,
                limit + 1 + k,
                2 * chunk + k,
            ]
        })
        .chain([10 * limit, 5000, 3]);
    for (i, len) in lengths.enumerate() {
        // A JSON object padded to exactly `len` bytes (the CR included on CRLF lines).
        let crlf = i % 3 == 0;
        let head = format!("{{\"FileName\":\"f{i}.exe\",\"Extra\":\"");
        let tail = "\"}";
        let pad = len.saturating_sub(head.len() + tail.len() + usize::from(crlf));
        let line = format!("{head}{}{tail}", "x".repeat(pad));
        let line_len = line.len() + usize::from(crlf);
        text.extend_from_slice(line.as_bytes());
        text.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        lens.push(line_len);
    }
    // The last line without its newline.
    assert_eq!(text.pop(), Some(b'\n'));

    let opts = ReadOptions {
        format: Format::JsonLines,
        max_record_bytes: limit,
        ..ReadOptions::default()
    };
    let mut whole = collector();
    let fields = whole.fields.clone();
    let mut row = Row::new(&fields);
    let stats = read_reader("<t>", &text[..], &fields, &opts, &mut row, &mut whole).unwrap();
    reconciled(&whole, &stats);
    let too_long: Vec<(u64, SkipReason)> = lens
        .iter()
        .enumerate()
        .filter(|(_, &l)| l > limit)
        .map(|(i, &bytes)| (i as u64 + 1, SkipReason::RecordTooLarge { bytes }))
        .collect();
    let skips = |c: &Collect| -> Vec<(u64, SkipReason)> {
        c.skips.iter().map(|(l, _, r)| (*l, r.clone())).collect()
    };
    assert_eq!(skips(&whole), too_long);
    assert_eq!(whole.rows.len() + too_long.len(), lens.len());

    let mut pieces = Vec::new();
    let (cut, res) = read_pieces("<t>", &text[..], &opts, chunk, &mut Vec::new, &mut |p| {
        pieces.push(p)
    });
    res.unwrap();
    assert_eq!(cut.decoded_bytes, text.len() as u64);
    assert_eq!(cut.scanned, text.len() as u64, "each byte searched once");
    // No piece holds more than the limit plus a chunk: a long line is not buffered.
    for p in &pieces {
        if let Piece::Lines { bytes, .. } = p {
            assert!(bytes.len() <= limit + 2 * chunk, "{}", bytes.len());
        }
    }
    let mut parts = collector();
    for p in &pieces {
        read_piece("<t>", p, &fields, &opts, &mut row, &mut parts).unwrap();
    }
    assert_eq!(skips(&parts), too_long);
    let lines = |c: &Collect| -> Vec<(u64, Vec<Owned>)> {
        c.rows.iter().map(|r| (r.line, r.cells.clone())).collect()
    };
    assert_eq!(lines(&parts), lines(&whole));
}

/// Issue 12.3: a union export writes each column once per type (`ReportId_long`,
/// `ReportId_string`), the unused copy null or `""`. The copy holding a value wins whatever
/// the key order; the real OTRF file has `"ReportId_long":113597` before
/// `"ReportId_string":""`, which used to leave ReportId empty (every result `"Report": []`).
#[test]
fn union_export_nonempty_copy_wins_in_either_key_order() {
    let mut fields = FieldSet::new();
    let report = fields.intern("ReportId");
    let name = fields.intern("FileName");
    let read = |text: &str| -> Vec<Vec<Owned>> {
        let mut c = Collect {
            fields: fields.clone(),
            ..Collect::default()
        };
        let mut row = Row::new(&fields);
        let stats = read_reader(
            "<t>",
            text.as_bytes(),
            &fields,
            &ReadOptions::default(),
            &mut row,
            &mut c,
        )
        .unwrap();
        reconciled(&c, &stats);
        c.rows.iter().map(|r| r.cells.clone()).collect()
    };
    let num = |n: &str| Owned::Num(n.into());
    let rows = read(concat!(
        r#"{"ReportId_long":4711,"ReportId_string":"","FileName_string":"a.exe","FileName_long":null}"#,
        "\n",
        r#"{"ReportId_string":"","ReportId_long":4711,"FileName_long":null,"FileName_string":"a.exe"}"#,
        "\n",
        r#"{"ReportId_string":"","ReportId_long":null}"#,
        "\n",
        r#"{"ReportId_long":null,"ReportId_string":"r-1"}"#,
        "\n",
        r#"{"category":"AdvancedHunting-DeviceEvents","properties":{"ReportId_long":7,"ReportId_string":""}}"#,
        "\n",
    ));
    assert_eq!(rows[0], [num("4711"), s("a.exe")]);
    assert_eq!(rows[1], [num("4711"), s("a.exe")]);
    // Only empty copies: the empty string, as the export wrote it.
    assert_eq!(rows[2], [s(""), Owned::Missing]);
    assert_eq!(rows[3], [s("r-1"), Owned::Missing]);
    assert_eq!(rows[4], [num("7"), Owned::Missing]);

    // The real file, in its own key order: every row keeps its ReportId (a number, or the
    // string copy where the export filled that one).
    let mut c = Collect {
        fields: fields.clone(),
        ..Collect::default()
    };
    let mut row = Row::new(&fields);
    let path = data("otrf_goldensaml_Microsoft365DefenderEvents.ndjson");
    let stats = read_path(&path, &fields, &ReadOptions::default(), &mut row, &mut c).unwrap();
    reconciled(&c, &stats);
    assert!(!c.rows.is_empty());
    for r in &c.rows {
        assert!(
            matches!(&r.cells[report.0 as usize], Owned::Num(t) | Owned::Str(t) if !t.is_empty()),
            "{:?}",
            r.cells
        );
    }
    let _ = name;
}

/// Issue 12 (the fuzz target's property, also run here): lines of every length around the
/// read buffer (256 KiB), the piece size and `--max-record-bytes`, each anchor ± 16 bytes, LF
/// and CRLF, plain and gzip: read whole and in pieces, each gives the records a model of the
/// input predicts (see `scry_engine::io::check`).
#[test]
fn line_lengths_around_buffers_and_limits_give_the_predicted_records() {
    use scry_engine::io::check::line_lengths;
    // Per limit (8) and piece size × gzip (12 knob values): every anchor (9) at 5 offsets,
    // CRLF on every other line, malformed on every third.
    for limit in 0..8u8 {
        for knob in 0..12u8 {
            let knob = (knob % 6) | if knob >= 6 { 0x80 } else { 0 };
            let mut data = vec![limit, knob];
            for (i, anchor) in (0..9u8).flat_map(|a| [a; 5]).enumerate() {
                let offset = [-16i8, -1, 0, 1, 16][i % 5] as u8;
                data.extend([
                    anchor,
                    offset,
                    (i % 2) as u8 | if i % 3 == 0 { 2 } else { 0 },
                ]);
            }
            line_lengths(&data).unwrap();
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// The same property on random cases (the fuzz target's input layout).
    #[test]
    fn line_lengths_random_cases(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 2..90),
    ) {
        let checked = scry_engine::io::check::line_lengths(&data);
        proptest::prop_assert!(checked.is_ok(), "{:?}", checked);
    }
}

/// The prefilter marks lines holding a Windows event's key in place of the reader's own
/// search for them: both must mean the same keys.
#[test]
fn the_prefilter_and_the_reader_search_the_same_windows_keys() {
    assert_eq!(
        scry_engine::prefilter::WINDOWS_KEYS,
        scry_engine::io::windows::WINDOWS_KEYS
    );
}
