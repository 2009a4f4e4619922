//! Rows held until the `distinct` sets are complete, in a bounded memory buffer that spills to
//! a temporary file.
//!
//! An input that can be read once only (standard input, a FIFO, a decompressor fed by a pipe)
//! gets no first pass to fill the sets, so the rows that rules testing sets may keep are held
//! and decided once every set is complete. On real data that is most of a table (DWService's
//! `SHA1 in (set)` holds every process row with a hash), so holding them in memory made memory
//! grow with the input (510 MB piped through every pack peaked at 434 MB). Here they are
//! encoded as compact rows, only the cells the waiting rules read, into a buffer of at most
//! `budget` bytes; a full buffer is appended to an unnamed temporary file (deleted by the OS
//! when the run ends, however it ends) and read back in order at the end.
//!
//! Order: an executor holds rows in input order, (chunk, seq) ascending, so each executor's
//! rows form one sorted *run*; merging executors concatenates runs, and [`HeldRows::drain`]
//! merges them back into input order. A push out of order (a caller that feeds chunks out of
//! order) starts a new run, so the order is restored whatever the caller does.
//!
//! Failures are never silent: a temporary file that cannot be created or written keeps the
//! rows in memory and says why ([`HeldRows::error`]); a file that cannot be read back makes
//! [`Drain::next`] fail, and the caller counts the rows it lost.

use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};

use crate::origin::Origin;
use crate::row::{Cell, FieldId, FieldSet, Row};

/// The default memory for held rows, per executor (each worker thread has one; merged
/// executors keep to it too).
pub const DEFAULT_HELD_BUDGET: usize = 8 << 20;

/// Which rule body a held row waits for, and the sequence number it had in its chunk (the
/// tag that puts what it yields back in input order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The rule's index in the plan.
    pub rule: u32,
    /// The body's index in the rule.
    pub body: u32,
    /// The row's sequence number for this body.
    pub seq: u64,
}

/// One sorted run of entries: a prefix in a temporary file, the rest in memory.
#[derive(Debug, Default)]
struct Run {
    file: Option<File>,
    /// Bytes of whole entries in `file` (a failed write may leave a torn tail past it).
    file_bytes: u64,
    mem: Vec<u8>,
    entries: u64,
    /// The key of the last entry, to detect a push out of order.
    last: (u64, u64),
}

/// Rows held for rules testing `distinct` sets: see the [module docs](self).
#[derive(Debug)]
pub struct HeldRows {
    runs: Vec<Run>,
    budget: usize,
    /// Bytes in the runs' memory buffers.
    mem: usize,
    entries: u64,
    spilled: u64,
    error: Option<String>,
}

impl Default for HeldRows {
    fn default() -> HeldRows {
        HeldRows::new(DEFAULT_HELD_BUDGET)
    }
}

impl HeldRows {
    /// An empty store keeping at most about `budget` bytes in memory (0: every row goes to
    /// the file).
    pub fn new(budget: usize) -> HeldRows {
        HeldRows {
            runs: Vec::new(),
            budget,
            mem: 0,
            entries: 0,
            spilled: 0,
            error: None,
        }
    }

    /// Changes the memory budget; spills at once if more is held.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        self.keep_budget();
    }

    /// How many rows are held.
    pub fn len(&self) -> u64 {
        self.entries
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Bytes written to temporary files so far.
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled
    }

    /// Why rows were kept in memory past the budget (the temporary file failed), if they were.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Holds `row` for `targets` (non-empty, ascending `seq`), keeping only the cells of
    /// `fields`: what the targets' bodies read.
    pub fn push(
        &mut self,
        chunk: u64,
        origin: Option<Origin>,
        targets: &[Target],
        row: &Row,
        fields: &[FieldId],
    ) {
        let Some(first) = targets.first() else {
            return;
        };
        let key = (chunk, first.seq);
        let fresh = self
            .runs
            .last()
            .is_none_or(|r| r.entries > 0 && key < r.last);
        if fresh {
            self.runs.push(Run::default());
        }
        let run = self.runs.last_mut().expect("a run was just ensured");
        let before = run.mem.len();
        encode(&mut run.mem, chunk, origin, targets, row, fields);
        run.entries += 1;
        run.last = key;
        self.entries += 1;
        self.mem += run.mem.len() - before;
        self.keep_budget();
    }

    /// Takes over another store's rows (of the same plan, other chunks).
    pub fn absorb(&mut self, other: HeldRows) {
        self.mem += other.mem;
        self.entries += other.entries;
        self.spilled += other.spilled;
        if self.error.is_none() {
            self.error = other.error;
        }
        self.runs
            .extend(other.runs.into_iter().filter(|r| r.entries > 0));
        self.keep_budget();
    }

    /// Spills the largest memory buffers until the budget holds (or the file fails).
    fn keep_budget(&mut self) {
        while self.mem > self.budget && self.error.is_none() {
            let Some(run) = self.runs.iter_mut().max_by_key(|r| r.mem.len()) else {
                return;
            };
            match spill(run) {
                Ok(n) => {
                    self.mem -= n;
                    self.spilled += n as u64;
                }
                Err(e) => {
                    self.error = Some(format!(
                        "rows held for `distinct` sets could not be written to a temporary file ({e}); they were kept in memory"
                    ));
                }
            }
        }
    }

    /// All held rows, in input order, leaving the store empty. Rows decode into rows as wide
    /// as `fields`.
    pub fn drain(&mut self, fields: &FieldSet) -> Drain {
        let runs = std::mem::take(&mut self.runs);
        self.mem = 0;
        self.entries = 0;
        let mut cursors = Vec::with_capacity(runs.len());
        let mut heap = BinaryHeap::new();
        let mut failed = None;
        let mut lost = 0;
        for run in runs {
            let mut c = match Cursor::new(run) {
                Ok(c) => c,
                Err((e, n)) => {
                    failed.get_or_insert(e);
                    lost += n;
                    continue;
                }
            };
            match c.advance() {
                Ok(true) => {
                    heap.push(std::cmp::Reverse((c.key, cursors.len())));
                    cursors.push(c);
                }
                Ok(false) => {}
                Err(e) => {
                    lost += c.left; // `left` still counts the entry that failed
                    failed.get_or_insert(e);
                }
            }
        }
        Drain {
            cursors,
            heap,
            blank: Row::new(fields),
            failed,
            lost,
        }
    }
}

/// Appends the run's memory buffer to its temporary file: the bytes moved out of memory.
fn spill(run: &mut Run) -> io::Result<usize> {
    if run.mem.is_empty() {
        return Ok(0);
    }
    let file = match &mut run.file {
        Some(f) => f,
        None => run.file.insert(tempfile::tempfile()?),
    };
    // After a torn write the file ends past `file_bytes`: write over the torn tail.
    file.seek(SeekFrom::Start(run.file_bytes))?;
    file.write_all(&run.mem)?;
    let n = run.mem.len();
    run.file_bytes += n as u64;
    run.mem.clear();
    // Give the memory back: a spilled run's buffer refills from empty.
    run.mem.shrink_to(64 << 10);
    Ok(n)
}

/// Reads one run back: its file, then its memory buffer.
struct Cursor {
    file: Option<io::Take<BufReader<File>>>,
    mem: Vec<u8>,
    at: usize,
    /// The current entry (its body, without the length) and its key.
    entry: Vec<u8>,
    key: (u64, u64),
    /// Entries not yet read.
    left: u64,
}

impl Cursor {
    fn new(run: Run) -> Result<Cursor, (io::Error, u64)> {
        let file = match run.file {
            Some(mut f) => match f.seek(SeekFrom::Start(0)) {
                Ok(_) => Some(BufReader::with_capacity(64 << 10, f).take(run.file_bytes)),
                Err(e) => return Err((e, run.entries)),
            },
            None => None,
        };
        Ok(Cursor {
            file,
            mem: run.mem,
            at: 0,
            entry: Vec::new(),
            key: (0, 0),
            left: run.entries,
        })
    }

    /// Reads the next entry into `entry`: false at the end of the run.
    fn advance(&mut self) -> io::Result<bool> {
        if self.left == 0 {
            return Ok(false);
        }
        let mut len = [0u8; 4];
        let from_file = match &mut self.file {
            Some(f) if f.limit() > 0 => {
                f.read_exact(&mut len)?;
                let n = u32::from_le_bytes(len) as usize;
                self.entry.clear();
                // `take` bounds what a corrupt length could make us allocate.
                let got = f.by_ref().take(n as u64).read_to_end(&mut self.entry)?;
                if got != n {
                    return Err(corrupt("an entry ends early"));
                }
                true
            }
            _ => false,
        };
        if !from_file {
            let rest = &self.mem[self.at..];
            let n = rest
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or_else(|| corrupt("an entry ends early"))?;
            let body = rest
                .get(4..4 + n)
                .ok_or_else(|| corrupt("an entry ends early"))?;
            self.entry.clear();
            self.entry.extend_from_slice(body);
            self.at += 4 + n;
        }
        let mut r = Reader(&self.entry);
        let chunk = r.varint()?;
        let _targets = r.varint()?;
        let _rule = r.varint()?;
        let _body = r.varint()?;
        let seq = r.varint()?;
        self.key = (chunk, seq);
        // Only now: on an error above, `left` still counts the entry that failed.
        self.left -= 1;
        Ok(true)
    }
}

/// The held rows of a [`HeldRows`], merged back into input order.
pub struct Drain {
    cursors: Vec<Cursor>,
    heap: BinaryHeap<std::cmp::Reverse<((u64, u64), usize)>>,
    /// A row of the plan's width, to reset a row of another width from.
    blank: Row,
    failed: Option<io::Error>,
    lost: u64,
}

impl Drain {
    /// Decodes the next row (in input order) into `row` and its targets into `targets`, and
    /// returns its chunk and where it was read; `None` at the end. Rows of a run that cannot be read back are
    /// skipped and counted ([`Drain::lost`]).
    pub fn next(
        &mut self,
        row: &mut Row,
        targets: &mut Vec<Target>,
    ) -> Option<(u64, Option<Origin>)> {
        loop {
            let std::cmp::Reverse((_, i)) = self.heap.pop()?;
            let c = &mut self.cursors[i];
            let decoded = decode(&c.entry, &self.blank, row, targets);
            let more = c.advance();
            match more {
                Ok(true) => self.heap.push(std::cmp::Reverse((c.key, i))),
                Ok(false) => {}
                Err(e) => {
                    self.lost += c.left;
                    c.left = 0;
                    self.failed.get_or_insert(e);
                }
            }
            match decoded {
                Ok(held) => return Some(held),
                Err(e) => {
                    self.lost += 1;
                    self.failed.get_or_insert(e);
                }
            }
        }
    }

    /// Rows that could not be read back, and the first error.
    pub fn lost(&self) -> Option<(u64, &io::Error)> {
        self.failed.as_ref().map(|e| (self.lost, e))
    }
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("temporary file of held rows: {what}"),
    )
}

const NULL: u8 = 0;
const STR: u8 = 1;
const NUM: u8 = 2;
const FALSE: u8 = 3;
const TRUE: u8 = 4;
const JSON: u8 = 5;

/// `[u32 length] chunk, #targets, (rule, body, seq)*, #cells, (field, tag, [len, bytes])*`,
/// integers as LEB128; missing cells are left out.
fn encode(
    out: &mut Vec<u8>,
    chunk: u64,
    origin: Option<Origin>,
    targets: &[Target],
    row: &Row,
    fields: &[FieldId],
) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    varint(out, chunk);
    varint(out, targets.len() as u64);
    for t in targets {
        varint(out, u64::from(t.rule));
        varint(out, u64::from(t.body));
        varint(out, t.seq);
    }
    // After the targets: `Cursor::advance` reads the sort key from the entry's head.
    match origin {
        None => out.push(0),
        Some(o) => {
            out.push(1);
            varint(out, o.input as u64);
            varint(out, o.line);
            varint(out, o.record);
        }
    }
    let present = fields
        .iter()
        .filter(|&&f| row.get(f) != Cell::Missing)
        .count();
    varint(out, present as u64);
    for &f in fields {
        let (tag, text) = match row.get(f) {
            Cell::Missing => continue,
            Cell::Null => (NULL, None),
            Cell::Str(s) => (STR, Some(s)),
            Cell::Num(s) => (NUM, Some(s)),
            Cell::Bool(false) => (FALSE, None),
            Cell::Bool(true) => (TRUE, None),
            Cell::Json(s) => (JSON, Some(s)),
        };
        varint(out, u64::from(f.0));
        out.push(tag);
        if let Some(s) = text {
            varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
    }
    // A row's text lives in one buffer indexed by u32, so an entry always fits.
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

fn decode(
    entry: &[u8],
    blank: &Row,
    row: &mut Row,
    targets: &mut Vec<Target>,
) -> io::Result<(u64, Option<Origin>)> {
    let width = blank.width();
    let mut r = Reader(entry);
    let chunk = r.varint()?;
    let n = r.varint()?;
    targets.clear();
    for _ in 0..n {
        let rule = u32::try_from(r.varint()?).map_err(|_| corrupt("bad rule index"))?;
        let body = u32::try_from(r.varint()?).map_err(|_| corrupt("bad body index"))?;
        targets.push(Target {
            rule,
            body,
            seq: r.varint()?,
        });
    }
    let origin = match r.byte()? {
        0 => None,
        1 => Some(Origin {
            input: usize::try_from(r.varint()?).map_err(|_| corrupt("bad input index"))?,
            line: r.varint()?,
            record: r.varint()?,
        }),
        _ => return Err(corrupt("a bad origin tag")),
    };
    if row.width() != width {
        *row = blank.clone();
    }
    row.clear();
    let cells = r.varint()?;
    for _ in 0..cells {
        let f = r.varint()?;
        if f >= width as u64 {
            return Err(corrupt("a field out of range"));
        }
        let f = FieldId(f as u32);
        match r.byte()? {
            NULL => row.set_null(f),
            FALSE => row.set_bool(f, false),
            TRUE => row.set_bool(f, true),
            tag @ (STR | NUM | JSON) => {
                let len = r.varint()? as usize;
                let s = std::str::from_utf8(r.bytes(len)?).map_err(|_| corrupt("bad UTF-8"))?;
                match tag {
                    STR => row.set_str(f, s),
                    NUM => row.set_num(f, s),
                    _ => row.set_json(f, s),
                }
            }
            _ => return Err(corrupt("an unknown cell tag")),
        }
    }
    Ok((chunk, origin))
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> io::Result<u8> {
        let (&b, rest) = self
            .0
            .split_first()
            .ok_or_else(|| corrupt("an entry ends early"))?;
        self.0 = rest;
        Ok(b)
    }

    fn bytes(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if n > self.0.len() {
            return Err(corrupt("an entry ends early"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn varint(&mut self) -> io::Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("an integer too long"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> (FieldSet, Vec<FieldId>) {
        let mut fs = FieldSet::new();
        let ids = ["SHA1", "ReportId", "IsSigned", "Extra", "Unkept", "Null"]
            .map(|n| fs.intern(n))
            .to_vec();
        (fs, ids)
    }

    /// Row `i`: every kind of cell, and one field the targets do not read.
    fn row(fs: &FieldSet, ids: &[FieldId], i: u64) -> Row {
        let mut r = Row::new(fs);
        r.set_str(ids[0], &format!("h{i}-ä\u{1b}"));
        r.set_num(ids[1], &i.to_string());
        r.set_bool(ids[2], i % 2 == 0);
        if i % 3 == 0 {
            r.set_json(ids[3], r#"{"a":[1]}"#);
        }
        r.set_str(ids[4], "not kept");
        r.set_null(ids[5]);
        r
    }

    /// Where row `i` was read: every third row has no origin.
    fn origin_of(i: u64) -> Option<Origin> {
        (i % 3 != 0).then_some(Origin {
            input: (i % 2) as usize,
            line: i + 1,
            record: i * 1000,
        })
    }

    fn cells(r: &Row, ids: &[FieldId]) -> Vec<String> {
        ids.iter().map(|&f| format!("{:?}", r.get(f))).collect()
    }

    /// Two executors' rows (even and odd chunks), merged: read back in input order, each
    /// cell as it was, only the kept fields, whatever the budget.
    #[test]
    fn rows_come_back_in_input_order_with_their_cells_for_any_budget() {
        let (fs, ids) = fields();
        let kept = [ids[0], ids[1], ids[2], ids[3], ids[5]];
        for budget in [0, 100, 1000, 1 << 20] {
            let mut a = HeldRows::new(budget);
            let mut b = HeldRows::new(budget);
            for i in 0..200u64 {
                let t = [
                    Target {
                        rule: 1,
                        body: 0,
                        seq: 2 * i,
                    },
                    Target {
                        rule: 7,
                        body: 2,
                        seq: 2 * i + 1,
                    },
                ];
                let into = if (i / 10) % 2 == 0 { &mut a } else { &mut b };
                into.push(
                    i / 10,
                    origin_of(i),
                    &t[..1 + (i % 2) as usize],
                    &row(&fs, &ids, i),
                    &kept,
                );
            }
            a.absorb(b);
            assert_eq!(a.len(), 200);
            assert_eq!(a.spilled_bytes() > 0, budget < 1 << 20, "budget {budget}");
            assert_eq!(a.error(), None);
            let mut d = a.drain(&fs);
            let (mut r, mut t) = (Row::default(), Vec::new());
            for i in 0..200u64 {
                let (chunk, origin) = d.next(&mut r, &mut t).expect("a row");
                assert_eq!(chunk, i / 10);
                assert_eq!(origin, origin_of(i));
                assert_eq!(t.len(), 1 + (i % 2) as usize);
                assert_eq!(
                    t[0],
                    Target {
                        rule: 1,
                        body: 0,
                        seq: 2 * i
                    }
                );
                let mut want = cells(&row(&fs, &ids, i), &ids);
                want[4] = "Missing".into();
                assert_eq!(cells(&r, &ids), want, "row {i}, budget {budget}");
            }
            assert!(d.next(&mut r, &mut t).is_none());
            assert!(d.lost().is_none());
            assert!(a.is_empty());
        }
    }

    /// A push out of input order starts a new run; the drain still gives input order.
    #[test]
    fn pushes_out_of_order_are_put_back_in_order() {
        let (fs, ids) = fields();
        let mut h = HeldRows::new(0);
        for chunk in [5u64, 6, 1, 2, 9, 0, 3] {
            let t = [Target {
                rule: 0,
                body: 0,
                seq: 0,
            }];
            h.push(chunk, None, &t, &row(&fs, &ids, chunk), &ids);
        }
        let mut d = h.drain(&fs);
        let (mut r, mut t) = (Row::new(&fs), Vec::new());
        let mut got = Vec::new();
        while let Some((c, _)) = d.next(&mut r, &mut t) {
            assert_eq!(r.get(ids[1]), Cell::Num(&c.to_string()));
            got.push(c);
        }
        assert_eq!(got, [0, 1, 2, 3, 5, 6, 9]);
    }

    /// A damaged entry is counted as lost with the error, never a panic, and the entries
    /// before it still come back.
    #[test]
    fn a_damaged_entry_is_counted_lost_not_a_panic() {
        let (fs, ids) = fields();
        let mut h = HeldRows::new(usize::MAX);
        for i in 0..3u64 {
            let t = [Target {
                rule: 0,
                body: 0,
                seq: i,
            }];
            h.push(0, None, &t, &row(&fs, &ids, i), &ids);
        }
        // Cut the last entry short.
        let run = h.runs.last_mut().unwrap();
        let len = run.mem.len();
        run.mem.truncate(len - 3);
        let mut d = h.drain(&fs);
        let (mut r, mut t) = (Row::new(&fs), Vec::new());
        assert_eq!(d.next(&mut r, &mut t), Some((0, None)));
        assert_eq!(d.next(&mut r, &mut t), Some((0, None)));
        assert_eq!(d.next(&mut r, &mut t), None);
        let (lost, e) = d.lost().expect("the cut entry is lost");
        assert_eq!(lost, 1);
        assert!(e.to_string().contains("ends early"), "{e}");

        // Garbage decodes to an error, whatever it holds.
        let blank = Row::new(&fs);
        for junk in [
            &b""[..],
            b"\x00",
            b"\x00\x01\x00\x00\x00\x01\x09\x07",
            &[0xff; 12],
        ] {
            assert!(decode(junk, &blank, &mut r, &mut t).is_err(), "{junk:?}");
        }
    }
}
