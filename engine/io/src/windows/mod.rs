//! Windows event logs: EVTX files, and Windows events exported as JSON, made into rows.
//!
//! A Windows event, whichever way it was exported, is first *normalized* into a flat list of
//! named values ([`WinEvent`]): the `System` fields under fixed names (`EventID`, `Channel`,
//! `Computer`, `Provider`, `EventRecordID`, `TimeCreated`, and `Timestamp`, the event's time
//! as an ISO 8601 string) followed by every `EventData` (or `UserData`) field under its own
//! name. The layouts understood:
//!
//! * **EVTX records** and their `evtx_dump` JSON twins: `{"Event": {"System": {..},
//!   "EventData": {..}}}`; `EventID` may be `{"#text": 4648, "#attributes": {"Qualifiers":
//!   ..}}`, `TimeCreated` is `{"#attributes": {"SystemTime": ..}}`.
//! * **Flat JSON lines** (OTRF Security-Datasets, NXLog): `Channel`, `EventID`, `Hostname`,
//!   `SourceName` and the event data fields at the top level.
//! * **Winlogbeat**: `event_data` (Winlogbeat 6, with `log_name`, `event_id`, `computer_name`,
//!   `source_name`, `record_number`) or `winlog.event_data` (Winlogbeat 7+, with
//!   `winlog.channel`, `winlog.event_id`, `winlog.computer_name`, `winlog.provider_name`).
//!
//! Then the event is *delivered*: its table is chosen from its content. A Sysmon event whose
//! EventID `sysmon-mapping.json` maps becomes a row of the Defender table the mapping names,
//! with the mapped Defender columns added to its own fields (see [`Mapping`]); any other
//! Windows event is a `WindowsEvent` row. Counts of both end up in the source's
//! [`DetectedFormat`](crate::DetectedFormat), so the run summary says what was mapped.
//!
//! JSON exports are read by the JSON reader as usual, into the plan's fields plus
//! [`SOURCE_FIELDS`] (the executor asks for them); [`WindowsSink`] then recognises Windows
//! events among the rows and rewrites them. Only rows that are Windows events pay for this.

use crate::row::{Cell, FieldId, FieldSet, Row};
use crate::{Location, RecordSink, SkipReason};

pub use crate::schema::windows::{
    mapping, source_fields, synthesized_columns, EventMapping, Mapping, GENERIC_TABLE,
    MAPPING_FILE, MAX_MAPPED,
};
use crate::schema::windows::{Source, Take};
use serde_json::Value;
use std::sync::OnceLock;

/// What was delivered from Windows events, per source: `Copy`, so that it fits in
/// [`Shapes`](crate::Shapes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WinCounts {
    /// Windows events seen.
    pub events: u64,
    /// Per entry of [`Mapping::events`], how many were mapped.
    pub mapped: [u64; MAX_MAPPED],
}

impl WinCounts {
    /// Adds another part's counts.
    pub fn merge(&mut self, other: &WinCounts) {
        self.events += other.events;
        for (a, b) in self.mapped.iter_mut().zip(other.mapped) {
            *a += b;
        }
    }

    /// `mapped Sysmon EID 1 → DeviceProcessEvents ×3, ...`, or nothing if none was mapped.
    pub fn describe(&self) -> Option<String> {
        let parts: Vec<String> = mapping()
            .events
            .iter()
            .zip(self.mapped)
            .filter(|(_, n)| *n > 0)
            .map(|(e, n)| format!("Sysmon EID {} → {} ×{n}", e.event_id, e.table))
            .collect();
        if parts.is_empty() {
            None
        } else {
            Some(format!("mapped {} ({MAPPING_FILE})", parts.join(", ")))
        }
    }
}

/// A value of a normalized event.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Num(String),
    Bool(bool),
    Json(String),
}

impl Val {
    fn of(v: &Value) -> Option<Val> {
        Some(match v {
            Value::Null => return None,
            Value::String(s) => Val::Str(s.clone()),
            Value::Number(n) => Val::Num(n.to_string()),
            Value::Bool(b) => Val::Bool(*b),
            other => Val::Json(other.to_string()),
        })
    }

    fn of_cell(c: Cell<'_>) -> Option<Val> {
        Some(match c {
            Cell::Missing | Cell::Null => return None,
            Cell::Str(s) => Val::Str(s.to_string()),
            Cell::Num(s) => Val::Num(s.to_string()),
            Cell::Bool(b) => Val::Bool(b),
            Cell::Json(s) => Val::Json(s.to_string()),
        })
    }

    /// The value as a (never missing, never null) cell.
    fn cell(&self) -> Cell<'_> {
        match self {
            Val::Str(s) => Cell::Str(s),
            Val::Num(s) => Cell::Num(s),
            Val::Bool(b) => Cell::Bool(*b),
            Val::Json(s) => Cell::Json(s),
        }
    }
}

/// A cell that holds a value (`Val::of_cell` keeps these).
fn present(c: Cell<'_>) -> Option<Cell<'_>> {
    (!matches!(c, Cell::Missing | Cell::Null)).then_some(c)
}

/// A value as text (the source text of a number); `None` for JSON.
fn text(c: Cell<'_>) -> Option<&str> {
    match c {
        Cell::Str(s) | Cell::Num(s) => Some(s),
        Cell::Bool(true) => Some("true"),
        Cell::Bool(false) => Some("false"),
        Cell::Json(_) | Cell::Missing | Cell::Null => None,
    }
}

/// The System fields of the flat and Winlogbeat layouts, in the order they are normalized:
/// the normalized name, the top-level keys it is taken from (the first that holds a value),
/// and Winlogbeat 7's key under `winlog` when none does.
const SYSTEM: [(&str, &[&str], Option<&str>); 7] = [
    ("EventID", &["EventID", "event_id"], Some("event_id")),
    ("Channel", &["Channel", "log_name"], Some("channel")),
    (
        "Computer",
        &["Computer", "Hostname", "computer_name"],
        Some("computer_name"),
    ),
    (
        "Provider",
        &["Provider", "SourceName", "source_name"],
        Some("provider_name"),
    ),
    (
        "EventRecordID",
        &["EventRecordID", "RecordNumber", "record_number"],
        Some("record_id"),
    ),
    ("TimeCreated", &["TimeCreated", "@timestamp"], None),
    ("Timestamp", &["TimeCreated", "@timestamp"], None),
];

/// A Windows event, normalized: System fields under fixed names, then its data fields.
#[derive(Debug, Default)]
pub(super) struct WinEvent {
    fields: Vec<(String, Val)>,
}

impl WinEvent {
    fn get(&self, name: &str) -> Option<&Val> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    fn put(&mut self, name: &str, v: Option<Val>) {
        if let Some(v) = v {
            self.fields.push((name.to_string(), v));
        }
    }

    /// `{"Event": {"System": .., "EventData": ..}}` (an EVTX record rendered as JSON).
    pub(super) fn from_evtx_json(v: &Value) -> Option<WinEvent> {
        let event = v.get("Event")?;
        let system = event.get("System")?;
        let mut ev = WinEvent::default();
        let attr = |v: Option<&Value>, a: &str| {
            v.and_then(|v| v.get("#attributes"))
                .and_then(|x| x.get(a))
                .cloned()
        };
        let event_id = system.get("EventID").map(|e| match e.get("#text") {
            Some(t) => t.clone(),
            None => e.clone(),
        });
        ev.put("EventID", event_id.as_ref().and_then(Val::of));
        ev.put("Channel", system.get("Channel").and_then(Val::of));
        ev.put("Computer", system.get("Computer").and_then(Val::of));
        ev.put(
            "Provider",
            attr(system.get("Provider"), "Name")
                .as_ref()
                .and_then(Val::of),
        );
        ev.put(
            "EventRecordID",
            system.get("EventRecordID").and_then(Val::of),
        );
        let time = attr(system.get("TimeCreated"), "SystemTime");
        ev.put("TimeCreated", time.as_ref().and_then(Val::of));
        ev.put("Timestamp", time.as_ref().and_then(Val::of));
        for data in ["EventData", "UserData"] {
            match event.get(data) {
                Some(Value::Object(o)) => {
                    // UserData holds one element named after the event, with the fields in it.
                    let o = match (data, o.len(), o.values().next()) {
                        ("UserData", 1, Some(Value::Object(inner))) => inner,
                        _ => o,
                    };
                    for (k, v) in o {
                        if k != "#attributes" {
                            ev.put(k, Val::of(v));
                            // Sigma names a field "as it appears in the log source" with
                            // "all spaces" stripped (rules specification, "Field Usage"):
                            // Defender's `Threat Name` is `ThreatName`.
                            if k.contains(' ') {
                                let bare: String = k.chars().filter(|c| *c != ' ').collect();
                                if !o.contains_key(&bare) {
                                    ev.put(&bare, Val::of(v));
                                }
                            }
                        }
                    }
                }
                Some(other) => ev.put(data, Val::of(other)),
                None => {}
            }
        }
        Some(ev)
    }
}

/// Delivers Windows events as rows: writes the normalized fields the plan needs, chooses
/// the table, applies the mapping.
pub(super) struct Deliver<'f> {
    fields: &'f FieldSet,
    /// Per mapped event, per column: the field id it is written to (if the plan reads it).
    targets: Vec<Vec<Option<FieldId>>>,
    /// Per mapped event, per column: where a flat row holds its source field (see [`Flat`]).
    sources: Vec<Vec<FlatRef>>,
    /// Per entry of [`SYSTEM`]: the field it is written to, and the fields it is taken from.
    system: [(Option<FieldId>, Vec<FieldId>); 7],
    pub(super) counts: WinCounts,
}

/// Where a flat row holds a field a mapped column is derived from: the normalized System
/// field it is (an index into [`SYSTEM`]), else its own cell, if the plan reads it.
#[derive(Debug, Clone, Copy)]
struct FlatRef {
    system: Option<usize>,
    field: Option<FieldId>,
}

impl<'f> Deliver<'f> {
    pub(super) fn new(fields: &'f FieldSet) -> Deliver<'f> {
        let targets = mapping()
            .events
            .iter()
            .map(|e| e.columns.iter().map(|c| fields.get(&c.name)).collect())
            .collect();
        let flat_ref = |name: &str| FlatRef {
            system: SYSTEM.iter().position(|(n, _, _)| *n == name),
            field: fields.get(name),
        };
        let sources = mapping()
            .events
            .iter()
            .map(|e| {
                (e.columns.iter())
                    .map(|c| match &c.source {
                        Source::Field(f) | Source::Derived(f, _) => flat_ref(f),
                        Source::Const(_) => flat_ref(""),
                    })
                    .collect()
            })
            .collect();
        let system = SYSTEM.map(|(name, from, _)| {
            let from = from.iter().filter_map(|n| fields.get(n)).collect();
            (fields.get(name), from)
        });
        Deliver {
            fields,
            targets,
            sources,
            system,
            counts: WinCounts::default(),
        }
    }

    /// Writes `ev` into `row` (over what is there) and sets its table.
    pub(super) fn write(&mut self, ev: &WinEvent, row: &mut Row) {
        for (name, v) in &ev.fields {
            if let Some(id) = self.fields.get(name) {
                set(row, id, v.cell());
            }
        }
        let value = |name: &str| ev.get(name).map(Val::cell);
        let Some(i) = self.mapped(value("EventID"), value("Channel"), row) else {
            return;
        };
        let em = &mapping().events[i];
        for (col, target) in em.columns.iter().zip(&self.targets[i]) {
            let Some(id) = *target else { continue };
            let from = match &col.source {
                Source::Field(f) | Source::Derived(f, _) => value(f),
                Source::Const(_) => None,
            };
            if let Some(v) = derive(&col.source, from) {
                set(row, id, v);
            }
        }
        row.set_table_hint(&em.table);
    }

    /// Counts the event and, when the mapping maps it, returns its entry; otherwise sets the
    /// row's table to the generic one.
    fn mapped(
        &mut self,
        eid: Option<Cell<'_>>,
        channel: Option<Cell<'_>>,
        row: &mut Row,
    ) -> Option<usize> {
        self.counts.events += 1;
        let map = mapping();
        let eid = eid
            .and_then(text)
            .and_then(|t| t.trim().parse::<u64>().ok());
        let sysmon = channel
            .and_then(text)
            .is_some_and(|c| c.eq_ignore_ascii_case(&map.channel));
        let found = match (sysmon, eid) {
            (true, Some(id)) => map.events.iter().position(|e| e.event_id == id),
            _ => None,
        };
        match found {
            Some(i) => self.counts.mapped[i] += 1,
            None => row.set_table_hint(GENERIC_TABLE),
        }
        found
    }

    /// [`Deliver::write`] for a flat JSON row (top-level `Channel` and `EventID`, no nested
    /// layout), without normalizing it into a [`WinEvent`]: `out` is a copy of `row`, whose
    /// data fields are already where `write` would put them, so only the System fields
    /// (renamed or taken from another key) and the mapped columns are written. What makes it
    /// fast: no string is copied per field and no field is looked up by name (a run of all
    /// of SigmaHQ reads some 1,000 fields). `tests::flat_rows_deliver_as_normalized` checks
    /// it against `write`.
    fn write_flat(&mut self, row: &Row, out: &mut Row) {
        let mut sys: [Option<Cell<'_>>; 7] = [None; 7];
        for (v, (target, from)) in sys.iter_mut().zip(&self.system) {
            *v = from.iter().find_map(|&id| present(row.get(id)));
            if let (Some(c), Some(id)) = (*v, *target) {
                set(out, id, c);
            }
        }
        // A normalized System field that no key fills is read from its own key (only
        // `Timestamp` can hold a value then).
        let value = |r: FlatRef| {
            (r.system.and_then(|k| sys[k])).or_else(|| r.field.and_then(|id| present(row.get(id))))
        };
        let at = |k: usize| {
            value(FlatRef {
                system: Some(k),
                field: self.system[k].0,
            })
        };
        let Some(i) = self.mapped(at(0), at(1), out) else {
            return;
        };
        let em = &mapping().events[i];
        for ((col, target), from) in em
            .columns
            .iter()
            .zip(&self.targets[i])
            .zip(&self.sources[i])
        {
            let Some(id) = *target else { continue };
            if let Some(v) = derive(&col.source, value(*from)) {
                set(out, id, v);
            }
        }
        out.set_table_hint(&em.table);
    }
}

/// Sysmon writes `-` (or nothing) for a value it does not know.
fn known(v: Cell<'_>) -> Option<Cell<'_>> {
    match text(v) {
        Some(t) if t.is_empty() || t == "-" => None,
        _ => Some(v),
    }
}

/// A mapped column's value from `from`, the value of its source field in the event.
fn derive<'a>(source: &'a Source, from: Option<Cell<'a>>) -> Option<Cell<'a>> {
    match source {
        Source::Const(c) => Some(Cell::Str(c)),
        Source::Field(_) => from.and_then(known),
        Source::Derived(_, take) => {
            let text = from.and_then(known).and_then(text)?;
            match take {
                Take::Basename => {
                    let base = text.rsplit(['\\', '/']).next().unwrap_or(text);
                    (!base.is_empty()).then_some(Cell::Str(base))
                }
                Take::Hash(alg) => text.split(',').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case(alg)
                        .then(|| Cell::Str(v.trim()))
                }),
                Take::Bool => {
                    let t = text.trim();
                    if t.eq_ignore_ascii_case("true") {
                        Some(Cell::Bool(true))
                    } else if t.eq_ignore_ascii_case("false") {
                        Some(Cell::Bool(false))
                    } else {
                        None
                    }
                }
                Take::UserName => Some(Cell::Str(text.rsplit_once('\\').map_or(text, |(_, u)| u))),
                Take::UserDomain => text.split_once('\\').map(|(d, _)| Cell::Str(d)),
            }
        }
    }
}

fn set(row: &mut Row, id: FieldId, v: Cell<'_>) {
    match v {
        Cell::Str(s) => row.set_str(id, s),
        Cell::Num(s) => row.set_num(id, s),
        Cell::Bool(b) => row.set_bool(id, b),
        Cell::Json(s) => row.set_json(id, s),
        Cell::Missing | Cell::Null => {}
    }
}

/// Field ids of the keys that show a JSON row is a Windows event.
struct Keys {
    event: Option<FieldId>,
    event_data: Option<FieldId>,
    winlog: Option<FieldId>,
    channel: Option<FieldId>,
    event_id: Option<FieldId>,
    log_name: Option<FieldId>,
    type_: Option<FieldId>,
}

/// Wraps a sink: rows that are Windows events in one of the JSON layouts are normalized and
/// delivered as [`Deliver`] does; other rows pass through untouched.
pub(super) struct WindowsSink<'a> {
    inner: &'a mut dyn RecordSink,
    fields: &'a FieldSet,
    keys: Keys,
    deliver: Deliver<'a>,
    out: Row,
}

impl<'a> WindowsSink<'a> {
    /// Without the keys in the field set (the caller did not ask for [`source_fields`])
    /// there is nothing to recognise events by, and every row passes through.
    pub(super) fn new(fields: &'a FieldSet, inner: &'a mut dyn RecordSink) -> WindowsSink<'a> {
        let keys = Keys {
            event: fields.get("Event"),
            event_data: fields.get("event_data"),
            winlog: fields.get("winlog"),
            channel: fields.get("Channel"),
            event_id: fields.get("EventID"),
            log_name: fields.get("log_name"),
            type_: fields.get("Type"),
        };
        WindowsSink {
            inner,
            fields,
            keys,
            deliver: Deliver::new(fields),
            out: Row::new(fields),
        }
    }

    pub(super) fn counts(&self) -> WinCounts {
        self.deliver.counts
    }

    /// Which layout of Windows event the row is, if it is one. A row that names its table
    /// (`Type`, a storage-account `category`) is taken at its word.
    fn layout(&self, row: &Row) -> Option<Layout> {
        if self.keys.channel.is_none() || row.table_hint().is_some() {
            return None;
        }
        let cell = |id: Option<FieldId>| id.map_or(Cell::Missing, |id| row.get(id));
        if matches!(cell(self.keys.type_), Cell::Str(t) if !t.is_empty()) {
            return None;
        }
        let nested = [self.keys.event, self.keys.winlog, self.keys.event_data]
            .iter()
            .any(|&k| matches!(cell(k), Cell::Json(_)));
        let flat = !matches!(cell(self.keys.channel), Cell::Missing)
            && !matches!(cell(self.keys.event_id), Cell::Missing);
        Some(if flat && !nested {
            Layout::Flat
        } else {
            Layout::Other
        })
    }

    /// The row as a Windows event, if it is one (any layout; [`Layout::Flat`] rows have a
    /// faster way, [`Deliver::write_flat`]).
    fn normalize(&self, row: &Row) -> Option<WinEvent> {
        self.layout(row)?;
        let cell = |id: Option<FieldId>| id.map_or(Cell::Missing, |id| row.get(id));
        let json = |id: Option<FieldId>| match cell(id) {
            Cell::Json(t) => serde_json::from_str::<Value>(t).ok(),
            _ => None,
        };
        if let Some(v) = json(self.keys.event) {
            let wrapped = serde_json::json!({ "Event": v });
            return WinEvent::from_evtx_json(&wrapped);
        }
        let flat = !matches!(cell(self.keys.channel), Cell::Missing)
            && !matches!(cell(self.keys.event_id), Cell::Missing);
        let beat6 = !matches!(cell(self.keys.log_name), Cell::Missing);
        let winlog = json(self.keys.winlog);
        if !flat && !beat6 && winlog.is_none() {
            return None;
        }
        let mut ev = WinEvent::default();
        let by = |name: &str| {
            self.fields
                .get(name)
                .and_then(|id| Val::of_cell(row.get(id)))
        };
        // System fields under the normalized names, from whichever layout has them.
        let wl = |k: &str| winlog.as_ref().and_then(|w| w.get(k)).and_then(Val::of);
        for (name, from, winlog_key) in SYSTEM {
            let v = from.iter().find_map(|n| by(n));
            ev.put(name, v.or_else(|| winlog_key.and_then(wl)));
        }
        // Flat layouts: the data fields are top-level keys the reader kept.
        if flat {
            for (id, name) in self.fields.names() {
                if ev.get(name).is_none() {
                    ev.put(name, Val::of_cell(row.get(id)));
                }
            }
        }
        let data = json(self.keys.event_data)
            .or_else(|| winlog.as_ref().and_then(|w| w.get("event_data").cloned()));
        if let Some(Value::Object(o)) = data {
            for (k, v) in &o {
                ev.put(k, Val::of(v));
            }
        }
        Some(ev)
    }
}

/// How a JSON row holds a Windows event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `Channel`, `EventID` and the data fields at the top level, nothing nested.
    Flat,
    /// Anything else that may be one: `Event`, `event_data`, `winlog` (or not one after all).
    Other,
}

impl RecordSink for WindowsSink<'_> {
    fn record(&mut self, row: &Row, loc: &Location<'_>) {
        if self.layout(row) == Some(Layout::Flat) {
            self.out.clone_from(row);
            self.deliver.write_flat(row, &mut self.out);
            self.inner.record(&self.out, loc);
            return;
        }
        match self.normalize(row) {
            Some(ev) => {
                self.out.clone_from(row);
                self.deliver.write(&ev, &mut self.out);
                self.inner.record(&self.out, loc);
            }
            None => self.inner.record(row, loc),
        }
    }
    fn skipped(&mut self, loc: &Location<'_>, reason: &SkipReason) {
        self.inner.skipped(loc, reason);
    }
    // The prefilter's proofs hold for the text of a row as read, not always for a Windows
    // event: a mapped row's table name is not in its line, and some columns are synthesized
    // (`IsSigned` from `Signed`, a constant `ActionType`). Unless the prefilter's anchors
    // hold on Windows events too, lines that may be Windows events are parsed; the search
    // for their keys is what that check spares (it costs ~0.08 s/GB).
    fn candidate(&mut self, line: &[u8]) -> bool {
        (self.keys.channel.is_some() && !self.inner.covers_windows() && may_be_windows(line))
            || self.inner.candidate(line)
    }
    fn marks(&mut self, piece: &[u8]) -> Option<Vec<usize>> {
        // A piece whose first line may be a Windows event is parsed whole, without the
        // prefilter's scan: an export is one shape throughout, so its other lines are too,
        // and over Windows events the anchors of thousands of Sigma rules hit everywhere and
        // decide nothing (the scan and its verifications made a Sigma run over Sysmon lines
        // 1.6× slower). Other pieces go through the scan, which finds a Windows line in them
        // by its keys when the anchors do not cover such lines.
        let first = piece.split(|&b| b == b'\n').next().unwrap_or(piece);
        if self.keys.channel.is_some()
            && (may_be_windows(first) || (!self.inner.covers_windows() && may_be_windows(piece)))
        {
            return None;
        }
        self.inner.marks(piece)
    }
    fn covers_windows(&mut self) -> bool {
        self.inner.covers_windows()
    }
    fn ruled_out(&mut self, n: u64) {
        self.inner.ruled_out(n);
    }
}

/// The keys whose presence makes a line a possible Windows event (the prefilter searches
/// the same, `scry_plan::prefilter::WINDOWS_KEYS`, when its anchors may miss such lines).
pub const WINDOWS_KEYS: [&str; 4] = ["\"Channel\"", "\"log_name\"", "\"winlog\"", "\"Event\""];

/// Whether `text` holds a key of a Windows event layout (so it must be parsed to know).
/// One pass of the `aho-corasick` crate's packed (Teddy) searcher: four `memmem` passes
/// over every piece cost 12 % of a run over every pack on storage-account lines. The packed
/// searcher is asked for by name: `AhoCorasick::new` picks a start-byte prefilter for these
/// keys (all begin with `"`, found every few bytes of JSON) and its DFA then walked most of
/// the text, 15–20 % of that run.
fn may_be_windows(text: &[u8]) -> bool {
    static KEYS: OnceLock<Option<aho_corasick::packed::Searcher>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let mut b = aho_corasick::packed::Config::new().builder();
        // `None` where Teddy is not available (no SSSE3/AVX2 or NEON): memmem below.
        b.extend(WINDOWS_KEYS).build()
    });
    match keys {
        Some(searcher) => searcher.find(text).is_some(),
        None => WINDOWS_KEYS
            .iter()
            .any(|k| memchr::memmem::find(text, k.as_bytes()).is_some()),
    }
}

#[cfg(test)]
mod tests;
