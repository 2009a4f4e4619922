//! Table schemas and field aliases, loaded from data files.
//!
//! The built-in catalog is every table of Microsoft's Defender XDR advanced hunting schema
//! reference (`engine/schemas/defender*.json`), the Sentinel tables detection rules query most
//! (`sentinel.json`), the Windows event tables (`windows.json`), and `aliases.json` (ECS-style
//! names such as `process.name` mapped per table). Each table carries a one-line description
//! per column and, where the reference documents them, the `ActionType` values its rows take.
//! Users extend the catalog with `--schema FILE`: a file of the same shape adds tables, adds
//! columns to existing tables, and adds aliases — no Rust change needed.
//!
//! A record that names no table is given one by [`Catalog::infer`] (see `infer.rs`).

mod infer;
pub mod windows;

pub use infer::{Decided, Fit, Inferred, TYPE_SUFFIXES};

use crate::value::Type;
use hashbrown::{HashMap, HashSet};
use serde::Deserialize;
use std::fmt;

/// The columns of one table.
#[derive(Debug, Clone)]
pub struct TableSchema {
    /// The table name, e.g. `DeviceProcessEvents`.
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<(String, Type)>,
    /// One line per column of `columns` (same order), when the schema file gives one.
    descriptions: Vec<Option<String>>,
    description: Option<String>,
    /// `ActionType` values the reference documents for this table, sorted.
    action_types: Vec<String>,
    action_index: HashSet<String>,
    index: HashMap<String, usize>,
    aliases: HashMap<String, String>,
}

impl TableSchema {
    fn new(name: &str) -> TableSchema {
        TableSchema {
            name: name.to_string(),
            columns: Vec::new(),
            descriptions: Vec::new(),
            description: None,
            action_types: Vec::new(),
            action_index: HashSet::new(),
            index: HashMap::new(),
            aliases: HashMap::new(),
        }
    }

    /// The type of column `name` (case-sensitive, as Kusto column names are).
    pub fn column(&self, name: &str) -> Option<Type> {
        self.index.get(name).map(|&i| self.columns[i].1)
    }

    /// The one-line description of column `name`, if the schema gives one: what `scry check`
    /// and a language server's hover show.
    pub fn column_description(&self, name: &str) -> Option<&str> {
        self.index
            .get(name)
            .and_then(|&i| self.descriptions[i].as_deref())
    }

    /// What the table holds, in one line, if the schema says.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The `ActionType` values the reference documents for this table, sorted (empty when it
    /// documents none, or the table has no `ActionType` column).
    pub fn action_types(&self) -> &[String] {
        &self.action_types
    }

    /// Whether the reference documents `value` as one of this table's `ActionType` values.
    pub fn documents_action_type(&self, value: &str) -> bool {
        self.action_index.contains(value)
    }

    /// The column an alias (`process.name`) stands for in this table.
    pub fn alias(&self, name: &str) -> Option<&str> {
        self.aliases.get(name).map(String::as_str)
    }

    /// All aliases of this table, sorted by alias.
    pub fn aliases(&self) -> Vec<(&str, &str)> {
        let mut v: Vec<_> = self
            .aliases
            .iter()
            .map(|(a, c)| (a.as_str(), c.as_str()))
            .collect();
        v.sort();
        v
    }

    fn add_column(&mut self, name: &str, ty: Type, description: Option<String>) {
        match self.index.get(name) {
            Some(&i) => {
                self.columns[i].1 = ty;
                if description.is_some() {
                    self.descriptions[i] = description;
                }
            }
            None => {
                self.index.insert(name.to_string(), self.columns.len());
                self.columns.push((name.to_string(), ty));
                self.descriptions.push(description);
            }
        }
    }

    fn add_action_types(&mut self, values: Vec<String>) {
        for v in values {
            if self.action_index.insert(v.clone()) {
                self.action_types.push(v);
            }
        }
        self.action_types.sort();
    }
}

/// Every known table.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: Vec<TableSchema>,
    index: HashMap<String, usize>,
}

/// A schema file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaError {
    /// The file is not JSON of the expected shape: `{"tables": {"T": {"Col": "string"}}}`.
    Malformed {
        /// Which file.
        source: String,
        /// serde's message, with line and column.
        message: String,
    },
    /// A column type that is not a KQL type: `{"tables": {"T": {"C": "text"}}}`.
    UnknownType {
        /// Which file.
        source: String,
        /// Table and column.
        column: String,
        /// The type as written.
        ty: String,
    },
    /// An alias pointing at a column the table does not have.
    DanglingAlias {
        /// Which file.
        source: String,
        /// Table name.
        table: String,
        /// The alias.
        alias: String,
        /// The missing column.
        column: String,
    },
    /// `ActionType` values for a table without an `ActionType` column, or a value that is
    /// empty or would need escaping in JSON (the prefilter looks for values as written):
    /// `{"tables": {"T": {"columns": [...], "action_types": ["a\"b"]}}}`.
    BadActionType {
        /// Which file.
        source: String,
        /// Table name.
        table: String,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaError::Malformed { source, message } => {
                write!(f, "{source}: not a schema file: {message}")
            }
            SchemaError::UnknownType { source, column, ty } => write!(
                f,
                "{source}: column {column} has unknown type '{ty}' (expected string, long, int, real, bool, datetime, timespan, dynamic or guid)"
            ),
            SchemaError::DanglingAlias {
                source,
                table,
                alias,
                column,
            } => write!(
                f,
                "{source}: alias '{alias}' of table {table} names column '{column}', which {table} does not have"
            ),
            SchemaError::BadActionType {
                source,
                table,
                message,
            } => write!(f, "{source}: action_types of table {table}: {message}"),
        }
    }
}

impl std::error::Error for SchemaError {}

#[derive(Deserialize)]
struct SchemaFile {
    #[serde(default)]
    tables: std::collections::BTreeMap<String, TableSpec>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TableSpec {
    /// `{"description": "...", "action_types": [...], "columns": [{"name": ..., "type": ...,
    /// "description": ...}]}`: the built-in files' shape. First, since the map form below
    /// would take any object.
    Full(FullSpec),
    /// `{"Col": "type"}` (the order of a JSON object is kept by serde_json's map only with a
    /// feature we do not enable, so the ordered forms are accepted as well).
    Map(serde_json::Map<String, serde_json::Value>),
    /// `[{"name": "Col", "type": "string"}]`, the shape of Microsoft's schema reference.
    List(Vec<ColumnSpec>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullSpec {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    action_types: Vec<String>,
    columns: Vec<ColumnSpec>,
}

#[derive(Deserialize)]
struct ColumnSpec {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct AliasFile {
    #[serde(default)]
    tables: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// The built-in table files, in the order their tables are added (the order [`Catalog::fit`]
/// names candidates in).
const BUILTIN_TABLES: &[(&str, &str)] = &[
    (
        "<builtin defender.json>",
        include_str!("../../../schemas/defender.json"),
    ),
    (
        "<builtin defender-device.json>",
        include_str!("../../../schemas/defender-device.json"),
    ),
    (
        "<builtin defender-xdr.json>",
        include_str!("../../../schemas/defender-xdr.json"),
    ),
    (
        "<builtin sentinel.json>",
        include_str!("../../../schemas/sentinel.json"),
    ),
    (
        "<builtin windows.json>",
        include_str!("../../../schemas/windows.json"),
    ),
];
const BUILTIN_ALIASES: &str = include_str!("../../../schemas/aliases.json");

impl Catalog {
    /// The built-in tables and aliases.
    pub fn builtin() -> Catalog {
        let mut c = Catalog::default();
        // The built-in files are part of the build and tested; failing here is a packaging bug.
        for (source, text) in BUILTIN_TABLES {
            c.add_tables(source, text)
                .unwrap_or_else(|e| panic!("built-in schema is valid: {e}"));
        }
        c.add_aliases("<builtin aliases.json>", BUILTIN_ALIASES)
            .expect("built-in aliases are valid");
        c
    }

    /// Adds tables and columns from a schema file's text. A file may also carry an `aliases`
    /// section of the same shape as `aliases.json`'s `tables`.
    pub fn add_file(&mut self, source: &str, text: &str) -> Result<(), SchemaError> {
        self.add_tables(source, text)?;
        #[derive(Deserialize)]
        struct Inline {
            #[serde(default)]
            aliases: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
        }
        let inline: Inline = serde_json::from_str(text).map_err(|e| SchemaError::Malformed {
            source: source.to_string(),
            message: e.to_string(),
        })?;
        self.apply_aliases(source, inline.aliases)
    }

    fn add_tables(&mut self, source: &str, text: &str) -> Result<(), SchemaError> {
        let file: SchemaFile = serde_json::from_str(text).map_err(|e| SchemaError::Malformed {
            source: source.to_string(),
            message: e.to_string(),
        })?;
        for (table, spec) in file.tables {
            let (description, action_types, cols) = match spec {
                TableSpec::Full(f) => (f.description, f.action_types, f.columns),
                TableSpec::Map(m) => (
                    None,
                    Vec::new(),
                    m.into_iter()
                        .map(|(name, v)| ColumnSpec {
                            name,
                            ty: v.as_str().unwrap_or("").to_string(),
                            description: None,
                        })
                        .collect(),
                ),
                TableSpec::List(l) => (None, Vec::new(), l),
            };
            let idx = match self.index.get(&table) {
                Some(&i) => i,
                None => {
                    self.index.insert(table.clone(), self.tables.len());
                    self.tables.push(TableSchema::new(&table));
                    self.tables.len() - 1
                }
            };
            let t = &mut self.tables[idx];
            for c in cols {
                let ty = Type::from_name(&c.ty).ok_or_else(|| SchemaError::UnknownType {
                    source: source.to_string(),
                    column: format!("{table}.{}", c.name),
                    ty: c.ty.clone(),
                })?;
                t.add_column(&c.name, ty, c.description);
            }
            if description.is_some() {
                t.description = description;
            }
            if !action_types.is_empty() {
                let bad = |message: String| SchemaError::BadActionType {
                    source: source.to_string(),
                    table: table.clone(),
                    message,
                };
                if t.column("ActionType").is_none() {
                    return Err(bad("the table has no ActionType column".into()));
                }
                if let Some(v) = action_types.iter().find(|v| !plain_value(v)) {
                    return Err(bad(format!(
                        "{v:?} is empty or holds a character JSON writers may escape (a quote, a backslash, a control or non-ASCII character)"
                    )));
                }
                t.add_action_types(action_types);
            }
        }
        Ok(())
    }

    fn add_aliases(&mut self, source: &str, text: &str) -> Result<(), SchemaError> {
        let file: AliasFile = serde_json::from_str(text).map_err(|e| SchemaError::Malformed {
            source: source.to_string(),
            message: e.to_string(),
        })?;
        self.apply_aliases(source, file.tables)
    }

    fn apply_aliases(
        &mut self,
        source: &str,
        tables: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    ) -> Result<(), SchemaError> {
        for (table, map) in tables {
            let Some(&idx) = self.index.get(&table) else {
                return Err(SchemaError::Malformed {
                    source: source.to_string(),
                    message: format!("aliases for unknown table {table}"),
                });
            };
            let t = &mut self.tables[idx];
            for (alias, column) in map {
                if t.column(&column).is_none() {
                    return Err(SchemaError::DanglingAlias {
                        source: source.to_string(),
                        table: table.clone(),
                        alias,
                        column,
                    });
                }
                t.aliases.insert(alias, column);
            }
        }
        Ok(())
    }

    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.index.get(name).map(|&i| &self.tables[i])
    }

    /// The tables of `names` that exist, in order (a `from A, B` or a join's right side).
    pub fn tables_named(&self, names: &[scry_grammar::Ident]) -> Vec<&TableSchema> {
        names.iter().filter_map(|t| self.table(&t.name)).collect()
    }

    /// All tables, in the order they were added.
    pub fn tables(&self) -> &[TableSchema] {
        &self.tables
    }
}

/// A value JSON writes as itself: what the prefilter can look for in a line's text.
fn plain_value(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii() && c != '"' && c != '\\' && !c.is_control())
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest of `candidates` to `name`: a case-insensitive exact match first (`Sha1` →
/// `SHA1`), else the smallest edit distance within a third of the name's length.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c.to_lowercase() == lower {
            return Some(c);
        }
        let d = edit_distance(&lower, &c.to_lowercase());
        if d <= (name.chars().count() / 3).max(1) && best.is_none_or(|(bd, bc)| (d, c) < (bd, bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The columns of `tables`, each once, in declaration order: a `union`'s columns, and a join
/// side's (the lowering, the KQL export and the KQL import name the joined row from them).
pub fn union_columns(tables: &[&TableSchema]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tables {
        for (c, _) in &t.columns {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_the_three_defender_tables() {
        let c = Catalog::builtin();
        let t = c.table("DeviceFileCertificateInfo").unwrap();
        assert_eq!(t.column("SHA1"), Some(Type::String));
        assert_eq!(t.column("Sha1"), None);
        assert_eq!(t.column("ReportId"), Some(Type::Long));
        let p = c.table("DeviceProcessEvents").unwrap();
        assert_eq!(
            p.alias("process.parent.name"),
            Some("InitiatingProcessFileName")
        );
        assert!(c
            .table("DeviceNetworkEvents")
            .unwrap()
            .column("AccountUpn")
            .is_none());
    }

    #[test]
    fn a_table_is_fitted_only_when_no_other_has_the_columns() {
        let c = Catalog::builtin();
        let fit = |cols: &[&str]| c.fit(cols.iter().copied());
        assert_eq!(
            fit(&["Timestamp", "RemoteIP", "RemotePort", "LocalIPType"]),
            Fit::One("DeviceNetworkEvents")
        );
        // A union export's suffixed column and Log Analytics' own columns.
        assert_eq!(
            fit(&[
                "ProcessVersionInfoCompanyName_string",
                "TenantId",
                "_ResourceId"
            ]),
            Fit::One("DeviceProcessEvents")
        );
        assert_eq!(
            fit(&["FileName", "InitiatingProcessFileName", "SHA1"]),
            Fit::Several(vec![
                "DeviceProcessEvents",
                "DeviceEvents",
                "DeviceFileEvents",
                "DeviceImageLoadEvents"
            ])
        );
        // Defender for Identity's tables share these columns.
        assert_eq!(
            fit(&["DeviceName", "DestinationDeviceName"]),
            Fit::Several(vec![
                "IdentityDirectoryEvents",
                "IdentityLogonEvents",
                "IdentityQueryEvents"
            ])
        );
        // A row with columns its export's query computed: the table with the most of them,
        // if that is most of them; the rest are set aside.
        assert_eq!(
            fit(&[
                "RemoteIP",
                "NoSuchColumnAnywhere",
                "RemotePort",
                "LocalIPType"
            ]),
            Fit::One("DeviceNetworkEvents")
        );
        assert_eq!(
            c.lacking(
                "DeviceNetworkEvents",
                ["RemoteIP", "NoSuchColumnAnywhere", "TenantId"].into_iter()
            ),
            ["NoSuchColumnAnywhere"]
        );
        assert_eq!(
            fit(&["DeviceName", "NoSuchColumnAnywhere"]),
            Fit::None {
                unknown: Some("NoSuchColumnAnywhere".into())
            }
        );
        assert_eq!(
            fit(&["Signer", "NoSuchColumnAnywhere", "RemoteIP"]),
            Fit::None {
                unknown: Some("NoSuchColumnAnywhere".into())
            }
        );
        assert_eq!(fit(&["Signer", "RemoteIP"]), Fit::None { unknown: None });
    }

    #[test]
    fn distinguishing_columns_are_those_the_closest_table_lacks() {
        let c = Catalog::builtin();
        let d = c.distinguishing("DeviceProcessEvents");
        assert!(d.contains(&"ProcessVersionInfoCompanyName"), "{d:?}");
        assert!(!d.contains(&"FileName"), "{d:?}");
        // A table another has every column of is never fitted alone.
        let mut small = Catalog::default();
        small
            .add_file(
                "s.json",
                r#"{"tables": {"A": {"X": "string"}, "B": {"X": "string", "Y": "string"}}}"#,
            )
            .unwrap();
        assert!(small.distinguishing("A").is_empty());
        assert_eq!(small.distinguishing("B"), ["Y"]);
        assert_eq!(small.fit(["X"].into_iter()), Fit::Several(vec!["A", "B"]));
        assert_eq!(small.fit(["Y", "X"].into_iter()), Fit::One("B"));
    }

    #[test]
    fn builtin_tables_carry_descriptions_and_action_types() {
        let c = Catalog::builtin();
        let p = c.table("DeviceProcessEvents").unwrap();
        assert!(p
            .description()
            .is_some_and(|d| d.contains("Process creation")));
        assert_eq!(
            p.column_description("SHA1"),
            Some("SHA-1 of the file the action applied to")
        );
        assert_eq!(p.column_description("NoSuch"), None);
        let e = c.table("DeviceEvents").unwrap();
        assert!(e.documents_action_type("LdapSearch"));
        assert!(
            !e.documents_action_type("ldapsearch"),
            "values are case-sensitive"
        );
        assert!(c.table("SecurityEvent").unwrap().column("EventID") == Some(Type::Int));
        assert_eq!(
            c.table("DisruptionAndResponseEvents")
                .unwrap()
                .action_types()
                .len(),
            15
        );
        // ECS names where they mean exactly one column.
        let alias = |t: &str, a: &str| c.table(t).and_then(|t| t.alias(a));
        assert_eq!(alias("DeviceLogonEvents", "source.ip"), Some("RemoteIP"));
        assert_eq!(alias("DeviceLogonEvents", "user.name"), Some("AccountName"));
        assert_eq!(alias("UrlClickEvents", "url.original"), Some("Url"));
        assert_eq!(
            alias("CommonSecurityLog", "destination.ip"),
            Some("DestinationIP")
        );
        assert_eq!(alias("SecurityEvent", "host.name"), Some("Computer"));
        assert_eq!(alias("SecurityEvent", "user.name"), None);
        // Every column of the Defender XDR and Sentinel tables says what it holds, and every
        // table of the two new files names where its columns come from.
        for (source, text) in &BUILTIN_TABLES[..4] {
            let raw: serde_json::Value = serde_json::from_str(text).unwrap();
            if source.contains("xdr") || source.contains("sentinel") {
                for t in raw["tables"].as_object().unwrap().keys() {
                    let cited = raw["source"][t].as_str().unwrap_or_default();
                    assert!(cited.contains(" @"), "{source}: {t} has no source commit");
                }
            }
            let mut one = Catalog::default();
            one.add_tables(source, text).unwrap();
            for t in one.tables() {
                assert!(t.description().is_some(), "{source}: {}", t.name);
                for (col, _) in &t.columns {
                    let d = t.column_description(col);
                    assert!(
                        d.is_some_and(|d| !d.is_empty()),
                        "{source}: {}.{col}",
                        t.name
                    );
                }
            }
        }
    }

    #[test]
    fn action_type_decides_only_what_one_candidate_documents() {
        let mut c = Catalog::default();
        c.add_file(
            "t.json",
            r#"{"tables": {
                "A": {"action_types": ["Alpha", "Shared"],
                      "columns": [{"name": "ActionType", "type": "string"}, {"name": "X", "type": "string"}]},
                "B": {"action_types": ["Beta", "Shared"],
                      "columns": [{"name": "ActionType", "type": "string"}, {"name": "X", "type": "string"}]},
                "C": {"columns": [{"name": "ActionType", "type": "string"}, {"name": "X", "type": "string"},
                                  {"name": "Y", "type": "long", "description": "only C has it"}]}}}"#,
        )
        .unwrap();
        let infer = |cols: &[&str], at: Option<&str>| c.infer(cols.iter().copied(), at);
        let cols = ["ActionType", "X"];
        assert_eq!(
            infer(&cols, Some("Alpha")),
            Ok(Inferred {
                table: "A",
                by: Decided::ActionType {
                    among: vec!["A", "B", "C"]
                }
            })
        );
        assert_eq!(infer(&cols, Some("Beta")).map(|i| i.table), Ok("B"));
        // Documented by two candidates, by none, or no value at all: nothing is decided.
        let several = Err(Fit::Several(vec!["A", "B", "C"]));
        assert_eq!(infer(&cols, Some("Shared")), several);
        assert_eq!(infer(&cols, Some("Gamma")), several);
        assert_eq!(infer(&cols, Some("")), several);
        assert_eq!(infer(&cols, None), several);
        // Columns decide before ActionType does, even against a value another table lists.
        assert_eq!(
            infer(&["ActionType", "Y"], Some("Alpha")),
            Ok(Inferred {
                table: "C",
                by: Decided::Columns
            })
        );
        assert_eq!(
            c.table("C").unwrap().column_description("Y"),
            Some("only C has it")
        );
    }

    #[test]
    fn action_types_are_checked() {
        let mut c = Catalog::default();
        let err = c
            .add_file(
                "n.json",
                r#"{"tables": {"T": {"action_types": ["A"], "columns": [{"name": "X", "type": "string"}]}}}"#,
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("has no ActionType column"),
            "{err}"
        );
        let err = c
            .add_file(
                "q.json",
                r#"{"tables": {"T": {"action_types": ["a\"b"], "columns": [{"name": "ActionType", "type": "string"}]}}}"#,
            )
            .unwrap_err();
        assert!(matches!(err, SchemaError::BadActionType { .. }), "{err}");
        let err = c
            .add_file(
                "u.json",
                r#"{"tables": {"T": {"action_types": ["Größe"], "columns": [{"name": "ActionType", "type": "string"}]}}}"#,
            )
            .unwrap_err();
        assert!(err.to_string().contains("may escape"), "{err}");
    }

    #[test]
    fn suggestions() {
        let cols = ["SHA1", "Signer", "SignerHash", "DeviceName"];
        assert_eq!(did_you_mean("Sha1", cols), Some("SHA1"));
        assert_eq!(did_you_mean("Signr", cols), Some("Signer"));
        assert_eq!(did_you_mean("Completely", cols), None);
    }

    #[test]
    fn user_files_extend_and_are_checked() {
        let mut c = Catalog::builtin();
        c.add_file(
            "x.json",
            r#"{"tables": {"Sysmon1": [{"name": "Image", "type": "string"}]},
                "aliases": {"Sysmon1": {"process.executable": "Image"}}}"#,
        )
        .unwrap();
        assert_eq!(
            c.table("Sysmon1").unwrap().alias("process.executable"),
            Some("Image")
        );
        let err = c
            .add_file("y.json", r#"{"tables": {"T": {"C": "text"}}}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown type 'text'"));
        let err = c
            .add_file("z.json", r#"{"aliases": {"Sysmon1": {"a": "Nope"}}}"#)
            .unwrap_err();
        assert!(matches!(err, SchemaError::DanglingAlias { .. }));
    }
}
