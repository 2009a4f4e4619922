//! Every input reader on arbitrary bytes, with each forced format and with detection: never a
//! panic, and every record read is delivered or skipped (the counts reconcile). The same bytes
//! cut into pieces (as `scry run` does for its worker threads) read back piece by piece must
//! not panic either, and must reconcile the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scry_engine::io::{self, Format, Location, Piece, ReadOptions, RecordSink, SkipReason};
use scry_engine::row::{FieldId, FieldSet, Row};

#[derive(Default)]
struct Count {
    delivered: u64,
    skipped: u64,
    width: usize,
}

impl RecordSink for Count {
    fn record(&mut self, row: &Row, _loc: &Location<'_>) {
        self.delivered += 1;
        // Touch every cell and the table hint: a bad slot would panic here.
        for f in 0..self.width {
            let _ = row.get(FieldId(f as u32));
        }
        let _ = row.table_hint();
    }
    fn skipped(&mut self, loc: &Location<'_>, reason: &SkipReason) {
        self.skipped += 1;
        let _ = format!("{loc}: {reason}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, input)) = data.split_first() else {
        return;
    };
    let format = match knobs & 3 {
        0 => Format::Auto,
        1 => Format::JsonLines,
        2 => Format::JsonDocument,
        _ => Format::Csv,
    };
    // Small record limits and chunks reach the "too large" and "cut mid-line" paths.
    let opts = ReadOptions {
        format,
        max_record_bytes: [16, 64, 1024, 16 << 20][usize::from((knobs >> 2) & 3)],
        ..ReadOptions::default()
    };
    let name = if knobs & 0x10 != 0 {
        "in.csv"
    } else {
        "in.jsonl"
    };
    let chunk = [1usize, 7, 64, 4096][usize::from(knobs >> 5 & 3)];
    let mut fields = FieldSet::new();
    for f in ["FileName", "Timestamp", "ProcessId", "Type", "a"] {
        fields.intern(f);
    }
    let mut row = Row::new(&fields);

    let mut whole = Count {
        width: fields.len(),
        ..Count::default()
    };
    if let Ok(stats) = io::read_reader(name, input, &fields, &opts, &mut row, &mut whole) {
        assert_eq!(stats.records, whole.delivered + whole.skipped, "{stats:?}");
        assert_eq!(stats.skipped, whole.skipped);
        let _ = stats.format.to_string();
    }

    let mut pieces: Vec<Piece> = Vec::new();
    let cut = io::read_pieces(name, input, &opts, chunk, &mut Vec::new, &mut |p| {
        pieces.push(p)
    });
    let mut parts = Count {
        width: fields.len(),
        ..Count::default()
    };
    let mut records = 0;
    for p in &pieces {
        if let Ok(stats) = io::read_piece(name, p, &fields, &opts, &mut row, &mut parts) {
            records += stats.records;
        }
    }
    assert_eq!(records, parts.delivered + parts.skipped);
    let (stats, res) = cut;
    if res.is_ok() {
        let _ = stats.framing;
    }
});
