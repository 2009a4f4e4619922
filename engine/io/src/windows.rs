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

    /// The value as text (the source text of a number); `None` for JSON.
    fn text(&self) -> Option<&str> {
        match self {
            Val::Str(s) | Val::Num(s) => Some(s),
            Val::Bool(true) => Some("true"),
            Val::Bool(false) => Some("false"),
            Val::Json(_) => None,
        }
    }
}

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
    pub(super) counts: WinCounts,
}

impl<'f> Deliver<'f> {
    pub(super) fn new(fields: &'f FieldSet) -> Deliver<'f> {
        let targets = mapping()
            .events
            .iter()
            .map(|e| e.columns.iter().map(|c| fields.get(&c.name)).collect())
            .collect();
        Deliver {
            fields,
            targets,
            counts: WinCounts::default(),
        }
    }

    /// Writes `ev` into `row` (over what is there) and sets its table.
    pub(super) fn write(&mut self, ev: &WinEvent, row: &mut Row) {
        self.counts.events += 1;
        for (name, v) in &ev.fields {
            if let Some(id) = self.fields.get(name) {
                set(row, id, v);
            }
        }
        let map = mapping();
        let eid = ev
            .get("EventID")
            .and_then(Val::text)
            .and_then(|t| t.trim().parse::<u64>().ok());
        let sysmon = ev
            .get("Channel")
            .and_then(Val::text)
            .is_some_and(|c| c.eq_ignore_ascii_case(&map.channel));
        let found = match (sysmon, eid) {
            (true, Some(id)) => map.events.iter().position(|e| e.event_id == id),
            _ => None,
        };
        let Some(i) = found else {
            row.set_table_hint(GENERIC_TABLE);
            return;
        };
        let em = &map.events[i];
        self.counts.mapped[i] += 1;
        for (col, target) in em.columns.iter().zip(&self.targets[i]) {
            let Some(id) = *target else { continue };
            if let Some(v) = derive(ev, &col.source) {
                set(row, id, &v);
            }
        }
        row.set_table_hint(&em.table);
    }
}

/// Sysmon writes `-` (or nothing) for a value it does not know.
fn known(v: &Val) -> Option<&Val> {
    match v.text() {
        Some(t) if t.is_empty() || t == "-" => None,
        _ => Some(v),
    }
}

fn derive(ev: &WinEvent, source: &Source) -> Option<Val> {
    match source {
        Source::Const(c) => Some(Val::Str(c.clone())),
        Source::Field(f) => ev.get(f).and_then(known).cloned(),
        Source::Derived(f, take) => {
            let text = ev.get(f).and_then(known)?.text()?;
            match take {
                Take::Basename => {
                    let base = text.rsplit(['\\', '/']).next().unwrap_or(text);
                    (!base.is_empty()).then(|| Val::Str(base.to_string()))
                }
                Take::Hash(alg) => text.split(',').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case(alg)
                        .then(|| Val::Str(v.trim().to_string()))
                }),
                Take::Bool => match text.trim().to_ascii_lowercase().as_str() {
                    "true" => Some(Val::Bool(true)),
                    "false" => Some(Val::Bool(false)),
                    _ => None,
                },
                Take::UserName => Some(Val::Str(
                    text.rsplit_once('\\').map_or(text, |(_, u)| u).to_string(),
                )),
                Take::UserDomain => text.split_once('\\').map(|(d, _)| Val::Str(d.to_string())),
            }
        }
    }
}

fn set(row: &mut Row, id: FieldId, v: &Val) {
    match v {
        Val::Str(s) => row.set_str(id, s),
        Val::Num(s) => row.set_num(id, s),
        Val::Bool(b) => row.set_bool(id, *b),
        Val::Json(s) => row.set_json(id, s),
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

    /// The row as a Windows event, if it is one. A row that names its table (`Type`, a
    /// storage-account `category`) is taken at its word.
    fn normalize(&self, row: &Row) -> Option<WinEvent> {
        if self.keys.channel.is_none() || row.table_hint().is_some() {
            return None;
        }
        let cell = |id: Option<FieldId>| id.map_or(Cell::Missing, |id| row.get(id));
        if matches!(cell(self.keys.type_), Cell::Str(t) if !t.is_empty()) {
            return None;
        }
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
        let first = |names: &[&str]| names.iter().find_map(|n| by(n));
        let wl = |k: &str| winlog.as_ref().and_then(|w| w.get(k)).and_then(Val::of);
        ev.put(
            "EventID",
            first(&["EventID", "event_id"]).or_else(|| wl("event_id")),
        );
        ev.put(
            "Channel",
            first(&["Channel", "log_name"]).or_else(|| wl("channel")),
        );
        ev.put(
            "Computer",
            first(&["Computer", "Hostname", "computer_name"]).or_else(|| wl("computer_name")),
        );
        ev.put(
            "Provider",
            first(&["Provider", "SourceName", "source_name"]).or_else(|| wl("provider_name")),
        );
        ev.put(
            "EventRecordID",
            first(&["EventRecordID", "RecordNumber", "record_number"]).or_else(|| wl("record_id")),
        );
        let time = first(&["TimeCreated", "@timestamp"]);
        ev.put("TimeCreated", time.clone());
        ev.put("Timestamp", time);
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

impl RecordSink for WindowsSink<'_> {
    fn record(&mut self, row: &Row, loc: &Location<'_>) {
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
        if self.keys.channel.is_some() && !self.inner.covers_windows() && may_be_windows(piece) {
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

/// Whether `text` holds a key of a Windows event layout (so it must be parsed to know).
/// One pass of the `aho-corasick` crate's packed (Teddy) searcher: four `memmem` passes
/// over every piece cost 12 % of a run over every pack on storage-account lines.
fn may_be_windows(text: &[u8]) -> bool {
    static KEYS: OnceLock<Option<aho_corasick::AhoCorasick>> = OnceLock::new();
    const KEYS_TEXT: [&str; 4] = ["\"Channel\"", "\"log_name\"", "\"winlog\"", "\"Event\""];
    match KEYS.get_or_init(|| aho_corasick::AhoCorasick::new(KEYS_TEXT).ok()) {
        Some(ac) => ac.is_match(text),
        None => KEYS_TEXT
            .iter()
            .any(|k| memchr::memmem::find(text, k.as_bytes()).is_some()),
    }
}

#[cfg(test)]
mod tests {
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
        let mut ev = WinEvent::default();
        ev.put(
            "Image",
            Some(Val::Str(r"C:\Program Files\AnyDesk\AnyDesk.exe".into())),
        );
        ev.put("Hashes", Some(Val::Str("MD5=AA,SHA256=BB,SHA1=CC".into())));
        ev.put("User", Some(Val::Str(r"CONTOSO\alice".into())));
        ev.put("Signed", Some(Val::Str("true".into())));
        ev.put("Company", Some(Val::Str("-".into())));
        let d = |f: &str, t| derive(&ev, &Source::Derived(f.into(), t));
        assert_eq!(
            d("Image", Take::Basename),
            Some(Val::Str("AnyDesk.exe".into()))
        );
        assert_eq!(d("Hashes", Take::Hash("SHA1")), Some(Val::Str("CC".into())));
        assert_eq!(d("Hashes", Take::Hash("IMPHASH")), None);
        assert_eq!(d("User", Take::UserName), Some(Val::Str("alice".into())));
        assert_eq!(
            d("User", Take::UserDomain),
            Some(Val::Str("CONTOSO".into()))
        );
        assert_eq!(d("Signed", Take::Bool), Some(Val::Bool(true)));
        assert_eq!(derive(&ev, &Source::Field("Company".into())), None);
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
}
