//! Table schemas and field aliases, loaded from data files.
//!
//! The built-in catalog is `engine/schemas/defender.json` (the three Defender XDR tables the
//! RMM packs read) and `engine/schemas/aliases.json` (ECS-style names such as `process.name`
//! mapped per table). Users extend both with `--schema FILE`: a file of the same shape adds
//! tables, adds columns to existing tables, and adds aliases — no Rust change needed.

use crate::value::Type;
use hashbrown::HashMap;
use serde::Deserialize;
use std::fmt;

/// The columns of one table.
#[derive(Debug, Clone)]
pub struct TableSchema {
    /// The table name, e.g. `DeviceProcessEvents`.
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<(String, Type)>,
    index: HashMap<String, usize>,
    aliases: HashMap<String, String>,
}

impl TableSchema {
    /// The type of column `name` (case-sensitive, as Kusto column names are).
    pub fn column(&self, name: &str) -> Option<Type> {
        self.index.get(name).map(|&i| self.columns[i].1)
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

    fn add_column(&mut self, name: &str, ty: Type) {
        match self.index.get(name) {
            Some(&i) => self.columns[i].1 = ty,
            None => {
                self.index.insert(name.to_string(), self.columns.len());
                self.columns.push((name.to_string(), ty));
            }
        }
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
    /// `{"Col": "type"}` (the order of a JSON object is kept by serde_json's map only with a
    /// feature we do not enable, so the ordered form below is accepted as well).
    Map(serde_json::Map<String, serde_json::Value>),
    /// `[{"name": "Col", "type": "string"}]`, the shape of Microsoft's schema reference.
    List(Vec<ColumnSpec>),
}

#[derive(Deserialize)]
struct ColumnSpec {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Deserialize)]
struct AliasFile {
    #[serde(default)]
    tables: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

const BUILTIN_TABLES: &str = include_str!("../schemas/defender.json");
const BUILTIN_ALIASES: &str = include_str!("../schemas/aliases.json");
const BUILTIN_WINDOWS: &str = include_str!("../schemas/windows.json");
const BUILTIN_DEVICE: &str = include_str!("../schemas/defender-device.json");

impl Catalog {
    /// The built-in Defender XDR tables and aliases.
    pub fn builtin() -> Catalog {
        let mut c = Catalog::default();
        // The built-in files are part of the build and tested; failing here is a packaging bug.
        c.add_tables("<builtin defender.json>", BUILTIN_TABLES)
            .expect("built-in schema is valid");
        c.add_tables("<builtin defender-device.json>", BUILTIN_DEVICE)
            .expect("built-in device schema is valid");
        c.add_tables("<builtin windows.json>", BUILTIN_WINDOWS)
            .expect("built-in Windows schema is valid");
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
            let cols: Vec<(String, String)> = match spec {
                TableSpec::Map(m) => m
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or("").to_string()))
                    .collect(),
                TableSpec::List(l) => l.into_iter().map(|c| (c.name, c.ty)).collect(),
            };
            let idx = match self.index.get(&table) {
                Some(&i) => i,
                None => {
                    self.index.insert(table.clone(), self.tables.len());
                    self.tables.push(TableSchema {
                        name: table.clone(),
                        columns: Vec::new(),
                        index: HashMap::new(),
                        aliases: HashMap::new(),
                    });
                    self.tables.len() - 1
                }
            };
            for (name, ty_name) in cols {
                let ty = Type::from_name(&ty_name).ok_or_else(|| SchemaError::UnknownType {
                    source: source.to_string(),
                    column: format!("{table}.{name}"),
                    ty: ty_name.clone(),
                })?;
                self.tables[idx].add_column(&name, ty);
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

    /// All tables, in the order they were added.
    pub fn tables(&self) -> &[TableSchema] {
        &self.tables
    }

    /// The tables whose schema has every one of `columns`, the names of a record's keys that
    /// hold a value (a type-suffixed name such as `ReportId_long` counts as its column). A row
    /// of a table holds values only in that table's columns, so its own table is always among
    /// them if the catalog knows it; the answer is deterministic (catalog order), and a table
    /// is only named alone when no other table fits.
    pub fn fit<'a>(&self, columns: impl Iterator<Item = &'a str>) -> Fit<'_> {
        // Log Analytics adds its bookkeeping columns to every table: they tell none apart.
        let columns: Vec<&str> = columns
            .filter(|c| !c.starts_with('_') && !LOG_ANALYTICS_COLUMNS.contains(c))
            .collect();
        let has = |t: &TableSchema, c: &str| {
            t.column(c).is_some()
                || TYPE_SUFFIXES
                    .iter()
                    .filter_map(|s| c.strip_suffix(s))
                    .any(|base| t.column(base).is_some())
        };
        let fits: Vec<&str> = self
            .tables
            .iter()
            .filter(|t| columns.iter().all(|c| has(t, c)))
            .map(|t| t.name.as_str())
            .collect();
        match fits.as_slice() {
            [one] => Fit::One(one),
            [] => Fit::None {
                unknown: columns
                    .iter()
                    .find(|c| !self.tables.iter().any(|t| has(t, c)))
                    .map(|c| c.to_string()),
            },
            _ => Fit::Several(fits),
        }
    }

    /// Column names a record must hold a value in, one at least, for [`Catalog::fit`] to name
    /// `table` alone; sorted. A record fits `table` alone only if, for every other table, it
    /// holds a column that table lacks: these are the columns of `table` that the other table
    /// lacking the fewest of them lacks. Empty when `table` is never named alone (unknown, or
    /// another table has all its columns). The only table of a catalog: all its columns (a
    /// record with no column at all is never given a table).
    pub fn distinguishing(&self, table: &str) -> Vec<&str> {
        let Some(t) = self.table(table) else {
            return Vec::new();
        };
        let only = |u: &TableSchema| {
            let mut v: Vec<&str> = t
                .columns
                .iter()
                .map(|(c, _)| c.as_str())
                .filter(|c| u.column(c).is_none())
                .collect();
            v.sort_unstable();
            v
        };
        let others = self.tables.iter().filter(|u| u.name != t.name);
        match others
            .map(|u| (only(u), u.name.as_str()))
            .min_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.1.cmp(b.1)))
        {
            Some((v, _)) => v,
            None => {
                let mut all: Vec<&str> = t.columns.iter().map(|(c, _)| c.as_str()).collect();
                all.sort_unstable();
                all
            }
        }
    }
}

/// The type suffixes of "union" exports (`ReportId_long`, `AdditionalFields_string`): a union
/// over tables whose columns differ in type keeps one column per type.
pub const TYPE_SUFFIXES: &[&str] = &[
    "_string",
    "_long",
    "_int",
    "_real",
    "_double",
    "_bool",
    "_boolean",
    "_datetime",
    "_timespan",
    "_dynamic",
    "_guid",
    "_decimal",
];

/// Columns Log Analytics (Sentinel) adds to every table, besides those starting with `_`.
const LOG_ANALYTICS_COLUMNS: &[&str] = &["TenantId", "TimeGenerated", "SourceSystem", "Type"];

/// What a record's columns say about its table ([`Catalog::fit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit<'c> {
    /// Exactly one table has every column.
    One(&'c str),
    /// Several tables have every column: these, in catalog order.
    Several(Vec<&'c str>),
    /// No table has every column; `unknown` is a column no table has at all, if there is one.
    None {
        /// A column of the record that no table of the catalog has.
        unknown: Option<String>,
    },
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
        assert_eq!(
            fit(&["DeviceName", "DestinationDeviceName"]),
            Fit::None {
                unknown: Some("DestinationDeviceName".into())
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
