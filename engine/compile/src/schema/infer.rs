//! Which table a record that names none belongs to.
//!
//! A union export's rows carry no table name. What a row does tell: the columns it holds a
//! value in (a row of a table holds values only in that table's columns), and its
//! `ActionType`. The decision, in order, stops at the first step that names one table:
//!
//! 1. the tables that have every column the row holds a value in ([`Catalog::fit`]): if only
//!    one, it is the row's table. When no table has them all, the row also holds columns its
//!    export's query computed (`extend rawData = parse_json(RawEventData), AppId = ...`; such
//!    a name may even be another table's column, `UserId`): the tables that have the most of
//!    its columns are the candidates, the explanation needing the fewest computed columns,
//!    provided they have most of them (more than half: a row that is mostly unknown
//!    columns is not a Defender row at all). The columns the chosen table lacks are set aside
//!    ([`Catalog::lacking`]); the run counts such records and names the columns, which rules
//!    can read once `--schema` declares them;
//! 2. among several, the ones whose documented `ActionType` values
//!    ([`TableSchema::action_types`]) include the row's: if only one, it is the row's table.
//!    Defender names each kind of event once, in the table that records it (`LdapSearch` is a
//!    DeviceEvents event, `ConnectionSuccess` a DeviceNetworkEvents one), so a value one
//!    candidate documents is not a value of another candidate's rows;
//! 3. otherwise the row is not given a table: the candidates are named ([`Fit::Several`]), or
//!    the column no table has ([`Fit::None`]).
//!
//! Nothing is guessed: a value no candidate documents, or several do, decides nothing; a tie
//! for the most columns leaves several candidates, and a row that no table has most of the
//! columns of fits none.

use super::{Catalog, TableSchema};

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

/// How [`Catalog::infer`] decided a record's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided<'c> {
    /// The only table with every column the record holds a value in.
    Columns,
    /// Several tables have the columns (`among`, in catalog order); the record's `ActionType`
    /// value is documented by the chosen one alone.
    ActionType {
        /// The tables whose columns the record fits.
        among: Vec<&'c str>,
    },
}

/// A record's table, and how it was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inferred<'c> {
    /// The table.
    pub table: &'c str,
    /// How.
    pub by: Decided<'c>,
}

impl Catalog {
    /// The tables whose schema has every one of `columns`, the names of a record's keys that
    /// hold a value (a type-suffixed name such as `ReportId_long` counts as its column). A row
    /// of a table holds values only in that table's columns, so its own table is always among
    /// them if the catalog knows it; the answer is deterministic (catalog order), and a table
    /// is only named alone when no other table fits.
    ///
    /// When no table has them all, the tables with the most of them, if those are more than
    /// half (see the module documentation; [`Catalog::lacking`] names the rest).
    pub fn fit<'a>(&self, columns: impl Iterator<Item = &'a str>) -> Fit<'_> {
        // Log Analytics adds its bookkeeping columns to every table: they tell none apart.
        let columns: Vec<&str> = columns.filter(|c| !bookkeeping(c)).collect();
        let covers: Vec<usize> = self
            .tables
            .iter()
            .map(|t| columns.iter().filter(|c| has(t, c)).count())
            .collect();
        let most = covers.iter().copied().max().unwrap_or(0);
        if most < columns.len() && most * 2 <= columns.len() {
            return Fit::None {
                unknown: columns
                    .iter()
                    .find(|c| !self.tables.iter().any(|t| has(t, c)))
                    .map(|c| c.to_string()),
            };
        }
        let fits: Vec<&str> = self
            .tables
            .iter()
            .zip(&covers)
            .filter(|(_, n)| **n == most)
            .map(|(t, _)| t.name.as_str())
            .collect();
        match fits.as_slice() {
            [one] => Fit::One(one),
            [] => Fit::None { unknown: None },
            _ => Fit::Several(fits),
        }
    }

    /// The columns among `columns` that `table` lacks (Log Analytics' own aside): those a
    /// record given `table` by [`Catalog::fit`] holds beside the table's, set aside.
    pub fn lacking<'a>(&self, table: &str, columns: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
        let Some(t) = self.table(table) else {
            return Vec::new();
        };
        columns.filter(|c| !bookkeeping(c) && !has(t, c)).collect()
    }

    /// The table of a record that names none, from the columns it holds a value in and its
    /// `ActionType` value (`None` when it has none): see the module documentation for the
    /// steps. `Err` is what the columns said when that decides no table.
    pub fn infer<'a>(
        &self,
        columns: impl Iterator<Item = &'a str>,
        action_type: Option<&str>,
    ) -> Result<Inferred<'_>, Fit<'_>> {
        self.decide(self.fit(columns), action_type)
    }

    /// Step 2 of [`Catalog::infer`], for a [`Fit`] already computed (the engine caches fits
    /// per column set, while `ActionType` varies per record).
    pub fn decide<'c>(
        &'c self,
        fit: Fit<'c>,
        action_type: Option<&str>,
    ) -> Result<Inferred<'c>, Fit<'c>> {
        match fit {
            Fit::One(table) => Ok(Inferred {
                table,
                by: Decided::Columns,
            }),
            Fit::Several(among) => {
                let Some(value) = action_type.filter(|v| !v.is_empty()) else {
                    return Err(Fit::Several(among));
                };
                let mut documenting = among.iter().filter(|t| {
                    self.table(t)
                        .is_some_and(|s| s.documents_action_type(value))
                });
                match (documenting.next(), documenting.next()) {
                    (Some(&table), None) => Ok(Inferred {
                        table,
                        by: Decided::ActionType { among },
                    }),
                    _ => Err(Fit::Several(among)),
                }
            }
            none => Err(none),
        }
    }

    /// Column names a record must hold a value in, one at least, for [`Catalog::fit`] to name
    /// `table` alone; sorted. A record fits `table` alone only if, for every other table, it
    /// holds a column that table lacks: these are the columns of `table` that the other table
    /// lacking the fewest of them lacks. Empty when `table` is never named alone (unknown, or
    /// another table has all its columns). The only table of a catalog: all its columns (a
    /// record with no column at all is never given a table).
    ///
    /// A record may also be given `table` by its `ActionType` ([`Catalog::infer`]) without
    /// holding any of these: then it holds one of [`TableSchema::action_types`].
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

/// Log Analytics' bookkeeping columns, which every table has and none is told apart by.
fn bookkeeping(c: &str) -> bool {
    c.starts_with('_') || LOG_ANALYTICS_COLUMNS.contains(&c)
}

/// Whether `t` has column `c`, or the column `c` names with a union export's type suffix.
fn has(t: &TableSchema, c: &str) -> bool {
    t.column(c).is_some()
        || TYPE_SUFFIXES
            .iter()
            .filter_map(|s| c.strip_suffix(s))
            .any(|base| t.column(base).is_some())
}
