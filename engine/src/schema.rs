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

impl Catalog {
    /// The built-in Defender XDR tables and aliases.
    pub fn builtin() -> Catalog {
        let mut c = Catalog::default();
        // The built-in files are part of the build and tested; failing here is a packaging bug.
        c.add_tables("<builtin defender.json>", BUILTIN_TABLES)
            .expect("built-in schema is valid");
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
