//! Sigma logsources as data: `engine/schemas/sigma/logsources.json` (its `about` says the
//! format). Which tables a rule reads, under which guard, and where each Sigma field is read.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The built-in mapping file.
const BUILTIN: &str = include_str!("../../../schemas/sigma/logsources.json");

/// Where a Sigma field is read on one target.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FieldSource {
    /// A column of the target table.
    Column(String),
    /// A scry expression over the target table's columns.
    Expr {
        /// The expression.
        expr: String,
        /// What it gets wrong, if anything (listed by `scry check`).
        #[serde(default)]
        lossy: Option<String>,
    },
}

impl FieldSource {
    /// The columns of an expression that writes them as a `LABEL=value,LABEL=value` list,
    /// `strcat('SHA1=', SHA1, ',MD5=', MD5, ...)`: labels without `,` or `=` of their own,
    /// each ended by `=` and, after the first, begun by `,`. `None` for any other shape.
    ///
    /// In such a list, text that follows an `=` and holds no `,` or `=` can only lie within
    /// one column's value (after a label's `=` the next value starts, and it ends at the
    /// next label's `,` or the end), which lets a test on the list be guarded by tests on
    /// the columns (`lower::listed_guard`).
    pub fn listed_columns(&self) -> Option<Vec<String>> {
        use scry_grammar::{ExprKind, Literal};
        let FieldSource::Expr { expr, .. } = self else {
            return None;
        };
        let e = scry_grammar::parse_expr(expr).ok()?;
        let ExprKind::Call { name, args } = &e.kind else {
            return None;
        };
        if name.name != "strcat" || args.is_empty() || args.len() % 2 != 0 {
            return None;
        }
        let mut columns = Vec::new();
        for (i, pair) in args.chunks(2).enumerate() {
            let (ExprKind::Literal(Literal::Str(label)), ExprKind::Name(column)) =
                (&pair[0].kind, &pair[1].kind)
            else {
                return None;
            };
            let label = if i == 0 {
                label.as_str()
            } else {
                label.strip_prefix(',')?
            };
            let key = label.strip_suffix('=')?;
            if key.is_empty() || key.contains([',', '=']) || column.name.contains('.') {
                return None;
            }
            columns.push(column.name.clone());
        }
        Some(columns)
    }
}

/// What happens to a Sigma field a target does not list.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum OtherFields {
    /// Read by its Sigma name.
    #[default]
    #[serde(rename = "as-is")]
    AsIs,
    /// The rule does not run on this target.
    #[serde(rename = "skip-target")]
    SkipTarget,
}

/// One way a logsource reaches a table.
#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    /// Its name (`sysmon`, `defender`, ...), for `scry check`.
    pub name: String,
    /// The scry table.
    pub table: String,
    /// The guard: a scry condition over the table.
    #[serde(default)]
    pub when: Option<String>,
    /// Columns `when` reads that the table may lack, with their types.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Sigma field → where it is read.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSource>,
    /// Fields not in `fields`.
    #[serde(default)]
    pub other_fields: OtherFields,
    /// The fields keyword selections search; empty: the generic list.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// The generic (unmapped) logsource.
#[derive(Debug, Clone, Deserialize)]
pub struct Generic {
    /// The table name template: `{product}`, `{category}`, `{service}`.
    pub table: String,
    /// The fields keyword selections search.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// A logsource mapping file.
#[derive(Debug, Clone, Deserialize)]
pub struct Mapping {
    /// The generic logsource.
    pub generic: Generic,
    /// `product/category/service` → its targets.
    pub logsources: BTreeMap<String, Vec<Target>>,
}

impl Mapping {
    /// The built-in mapping (part of the build and tested: a bad file is a packaging bug).
    pub fn builtin() -> &'static Mapping {
        static M: OnceLock<Mapping> = OnceLock::new();
        M.get_or_init(|| Mapping::parse(BUILTIN).expect("built-in sigma/logsources.json"))
    }

    /// Parses a mapping file.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Adds (or replaces) the logsources of `other`, as `--schema` adds tables.
    pub fn extend(&mut self, other: Mapping) {
        self.logsources.extend(other.logsources);
    }

    /// The targets of a logsource, or `None` if it is unmapped.
    pub fn lookup(&self, product: &str, category: &str, service: &str) -> Option<&[Target]> {
        [
            format!("{product}/{category}/{service}"),
            format!("{product}/{category}/"),
            format!("{product}//{service}"),
        ]
        .iter()
        .find_map(|k| self.logsources.get(k))
        .map(Vec::as_slice)
    }

    /// The generic table of an unmapped logsource: `Sigma_linux_auditd`.
    pub fn generic_table(&self, product: &str, category: &str, service: &str) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect()
        };
        let t = self
            .generic
            .table
            .replace("{product}", &clean(product))
            .replace("{category}", &clean(category))
            .replace("{service}", &clean(service));
        // Absent parts leave doubled or trailing separators.
        let mut out = String::new();
        for part in t.split('_').filter(|p| !p.is_empty()) {
            if !out.is_empty() {
                out.push('_');
            }
            out.push_str(part);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_loads_and_looks_up() {
        let m = Mapping::builtin();
        let pc = m.lookup("windows", "process_creation", "").unwrap();
        assert_eq!(pc[0].table, "DeviceProcessEvents");
        assert!(pc.iter().any(|t| t.name == "defender"));
        assert!(m.lookup("windows", "", "security").is_some());
        assert!(m.lookup("linux", "process_creation", "").is_none());
        assert_eq!(m.generic_table("linux", "", "auditd"), "Sigma_linux_auditd");
        assert_eq!(m.generic_table("", "webserver", ""), "Sigma_webserver");
    }
}
