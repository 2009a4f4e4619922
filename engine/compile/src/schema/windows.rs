//! The Sysmon → Defender mapping (`sysmon-mapping.json`) as data: which Sysmon events become
//! rows of which Defender table, and where each column comes from. It is schema, not reading:
//! the readers ([`crate::io`]'s Windows sink) apply it, the prefilter and the executor ask it
//! which source fields and which synthesized columns exist. Extending it needs no Rust.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// The mapping file, built in.
const MAPPING_JSON: &str = include_str!("../../../schemas/sysmon-mapping.json");
/// Its name in run summaries.
pub const MAPPING_FILE: &str = "sysmon-mapping.json";
/// At most this many events are mapped (counts are kept in a fixed array so that the stats
/// stay `Copy`).
pub const MAX_MAPPED: usize = 8;
/// The table of Windows events no mapping applies to.
pub const GENERIC_TABLE: &str = "WindowsEvent";

/// Input keys the JSON reader must keep for Windows events to be recognised and mapped, on
/// top of what the plan reads: the export layouts' keys and the Sysmon fields the mapping
/// reads.
pub fn source_fields() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = vec![
        "Event",
        "event_data",
        "winlog",
        "Channel",
        "EventID",
        "Computer",
        "Hostname",
        "Provider",
        "SourceName",
        "EventRecordID",
        "RecordNumber",
        "TimeCreated",
        "@timestamp",
        "log_name",
        "event_id",
        "computer_name",
        "source_name",
        "record_number",
    ];
    for ev in &mapping().events {
        for col in &ev.columns {
            if let Source::Field(f) | Source::Derived(f, _) = &col.source {
                if !v.contains(&f.as_str()) {
                    v.push(f.as_str());
                }
            }
        }
    }
    v
}

/// Columns the mapping fills with text the event does not hold: a constant (`ActionType`),
/// or a boolean read from text (`IsSigned` from `Signed`). A prefilter anchor on any other
/// mapped column is a substring of the event's own text (a field copied, a basename, one hash
/// of `Hashes`, the user or domain part of `User`).
pub fn synthesized_columns() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = mapping()
        .events
        .iter()
        .flat_map(|e| &e.columns)
        .filter(|c| matches!(c.source, Source::Const(_) | Source::Derived(_, Take::Bool)))
        .map(|c| c.name.as_str())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// One Sysmon event's mapping, as loaded from `sysmon-mapping.json`.
#[derive(Debug)]
pub struct EventMapping {
    /// The Sysmon EventID.
    pub event_id: u64,
    /// The catalog's Sysmon table for this event (e.g. `SysmonProcessCreate`).
    pub sysmon_table: String,
    /// The Defender table rows are delivered as.
    pub table: String,
    /// The Defender columns filled, each with where its value comes from.
    pub columns: Vec<Column>,
}

/// One mapped column: a Defender column and where its value comes from.
#[derive(Debug)]
pub struct Column {
    /// The Defender column.
    pub name: String,
    /// Where its value comes from.
    pub source: Source,
}

/// Where a mapped column's value comes from (`"Image"`, `{"from", "take"}`, `{"value"}`).
#[derive(Debug)]
pub enum Source {
    /// A Sysmon field, copied.
    Field(String),
    /// A part of a Sysmon field (see [`Take`]).
    Derived(String, Take),
    /// A constant (`ActionType` values).
    Const(String),
}

/// Which part of a Sysmon field a derived column takes.
#[derive(Debug, Clone, Copy)]
pub enum Take {
    /// The file name after the last `\` or `/`.
    Basename,
    /// One entry of `Hashes` (`SHA1=...,MD5=...`), by its name.
    Hash(&'static str),
    /// `true` / `false` from text.
    Bool,
    /// The user part of `DOMAIN\user`.
    UserName,
    /// The domain part of `DOMAIN\user`.
    UserDomain,
}

/// `sysmon-mapping.json`: the channel and, per EventID, the table and columns.
#[derive(Debug)]
pub struct Mapping {
    /// The channel whose events are mapped.
    pub channel: String,
    /// The mapped events, by ascending EventID.
    pub events: Vec<EventMapping>,
}

/// The built-in mapping (parsed once; it is part of the build and tested, so a bad file is a
/// packaging bug).
pub fn mapping() -> &'static Mapping {
    static MAPPING: OnceLock<Mapping> = OnceLock::new();
    MAPPING.get_or_init(|| Mapping::parse(MAPPING_JSON).expect("built-in sysmon-mapping.json"))
}

impl Mapping {
    /// Parses a mapping file.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        #[derive(Deserialize)]
        struct File {
            channel: String,
            events: std::collections::BTreeMap<String, Ev>,
        }
        #[derive(Deserialize)]
        struct Ev {
            sysmon_table: String,
            table: String,
            columns: serde_json::Map<String, Value>,
        }
        let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut events = Vec::new();
        for (id, ev) in file.events {
            let event_id = id
                .parse()
                .map_err(|_| format!("event id `{id}` is not a number"))?;
            let mut columns = Vec::new();
            for (name, spec) in ev.columns {
                let source = match &spec {
                    Value::String(f) => Source::Field(f.clone()),
                    Value::Object(o) => match (o.get("from"), o.get("take"), o.get("value")) {
                        (Some(Value::String(f)), Some(Value::String(t)), None) => {
                            let take = match t.as_str() {
                                "basename" => Take::Basename,
                                "sha1" => Take::Hash("SHA1"),
                                "sha256" => Take::Hash("SHA256"),
                                "md5" => Take::Hash("MD5"),
                                "imphash" => Take::Hash("IMPHASH"),
                                "bool" => Take::Bool,
                                "user_name" => Take::UserName,
                                "user_domain" => Take::UserDomain,
                                other => return Err(format!("{name}: unknown take `{other}`")),
                            };
                            Source::Derived(f.clone(), take)
                        }
                        (None, None, Some(Value::String(v))) => Source::Const(v.clone()),
                        _ => return Err(format!("{name}: expected a field name, {{\"from\", \"take\"}} or {{\"value\"}}")),
                    },
                    _ => return Err(format!("{name}: expected a field name or an object")),
                };
                columns.push(Column { name, source });
            }
            events.push(EventMapping {
                event_id,
                sysmon_table: ev.sysmon_table,
                table: ev.table,
                columns,
            });
        }
        events.sort_by_key(|e| e.event_id);
        if events.len() > MAX_MAPPED {
            return Err(format!("more than {MAX_MAPPED} mapped events"));
        }
        Ok(Mapping {
            channel: file.channel,
            events,
        })
    }
}
