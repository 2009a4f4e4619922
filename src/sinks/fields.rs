//! What the SOC formats read from a result row: its time, device and user, found by the
//! column names Defender, Sentinel and Sysmon use; and a rule's severity on each format's scale.
//!
//! A rule's output columns are whatever its `project` or `summarize` made, so these are
//! lookups by name with an order of preference, never positions.

use scry_engine::compile::Rule;
use scry_engine::exec::ResultRow;
use scry_engine::kql::time::format_datetime;
use scry_engine::value::Value;

/// Columns holding the time a row happened at, most specific first. A summarized row's
/// `FirstSeen` is when its activity started.
const TIME: &[&str] = &[
    "Timestamp",
    "TimeGenerated",
    "FirstSeen",
    "StartTime",
    "UtcTime",
];
/// Columns holding the end of a summarized row's activity.
const LAST: &[&str] = &["LastSeen", "EndTime"];
/// A device's name.
const DEVICE_NAME: &[&str] = &["DeviceName", "Computer", "HostName", "Hostname", "Device"];
/// A device's id.
const DEVICE_ID: &[&str] = &["DeviceId", "AadDeviceId"];
/// A user's name (UPN first: it names the user unambiguously across domains).
const USER_NAME: &[&str] = &[
    "AccountUpn",
    "InitiatingProcessAccountUpn",
    "UserPrincipalName",
    "AccountName",
    "InitiatingProcessAccountName",
    "TargetUserName",
    "SubjectUserName",
    "User",
];
/// A user's id.
const USER_ID: &[&str] = &[
    "AccountSid",
    "InitiatingProcessAccountSid",
    "AccountObjectId",
    "InitiatingProcessAccountObjectId",
];

/// The value of the first of `names` that the row has and that is not null or empty, with
/// that name.
pub fn column<'r, 'n>(
    rule: &Rule,
    row: &'r ResultRow,
    names: &[&'n str],
) -> Option<(&'n str, &'r Value)> {
    names.iter().find_map(|want| {
        rule.output
            .iter()
            .zip(&row.values)
            .find(|(c, v)| c.name == *want && !is_empty(v))
            .map(|(_, v)| (*want, v))
    })
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Str(s) => s.is_empty(),
        _ => false,
    }
}

/// A string column's text (a number or array is not a name).
pub fn name(rule: &Rule, row: &ResultRow, names: &[&str]) -> Option<String> {
    column(rule, row, names).and_then(|(_, v)| match v {
        Value::Str(s) => Some(s.clone()),
        Value::Long(n) => Some(n.to_string()),
        _ => None,
    })
}

/// When the row happened, and the column that says so: the first of the known time columns,
/// else the first datetime column of the row.
pub fn time(rule: &Rule, row: &ResultRow) -> Option<(i64, String)> {
    if let Some((c, Value::DateTime(t))) = column(rule, row, TIME) {
        return Some((*t, c.to_string()));
    }
    rule.output
        .iter()
        .zip(&row.values)
        .find_map(|(c, v)| match v {
            Value::DateTime(t) => Some((*t, c.name.clone())),
            _ => None,
        })
}

/// When a summarized row's activity ended, where it says so.
pub fn last_time(rule: &Rule, row: &ResultRow) -> Option<i64> {
    match column(rule, row, LAST) {
        Some((_, Value::DateTime(t))) => Some(*t),
        _ => None,
    }
}

/// The device's name and id.
pub fn device(rule: &Rule, row: &ResultRow) -> (Option<String>, Option<String>) {
    (name(rule, row, DEVICE_NAME), name(rule, row, DEVICE_ID))
}

/// The user's name and id.
pub fn user(rule: &Rule, row: &ResultRow) -> (Option<String>, Option<String>) {
    (name(rule, row, USER_NAME), name(rule, row, USER_ID))
}

/// `Title: Column=value, ...`: one line saying what was found, for the formats' message field.
pub fn message(rule: &Rule, row: &ResultRow) -> String {
    let mut s = title(rule).to_string();
    let cells: Vec<String> = rule
        .output
        .iter()
        .zip(&row.values)
        .filter(|(_, v)| !is_empty(v))
        .map(|(c, v)| format!("{}={}", c.name, crate::output::cell(v)))
        .collect();
    if !cells.is_empty() {
        s.push_str(": ");
        s.push_str(&cells.join(", "));
    }
    s
}

/// The rule's title, else its name.
pub fn title(rule: &Rule) -> &str {
    rule.meta.title.as_deref().unwrap_or(&rule.name)
}

/// A rule's `severity`, on the scale rules use (Defender's and Sigma's words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// No severity, or one not on the scale.
    Unknown,
    /// `informational`.
    Informational,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

impl Severity {
    /// The rule's severity.
    pub fn of(rule: &Rule) -> Severity {
        match rule
            .meta
            .severity
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("informational" | "info") => Severity::Informational,
            Some("low") => Severity::Low,
            Some("medium") => Severity::Medium,
            Some("high") => Severity::High,
            Some("critical") => Severity::Critical,
            _ => Severity::Unknown,
        }
    }

    /// The word, capitalized as OCSF captions it.
    pub fn caption(self) -> &'static str {
        match self {
            Severity::Unknown => "Unknown",
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

/// A datetime in RFC 3339 with seven fractional digits.
pub fn rfc3339(ticks: i64) -> String {
    format_datetime(ticks)
}
