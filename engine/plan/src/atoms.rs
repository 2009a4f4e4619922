//! Atoms: the tests of one column against one constant that the planner takes out of the
//! rules' expressions and decides once per row for all rules.
//!
//! - *String atoms* (`Column <string-op> 'needle'`) are found by the column's Aho-Corasick
//!   scan ([`crate::ColumnMatcher`]).
//! - *Value atoms* (`Column == 4688`, `ActionType == 'RegistryValueSet'`, `EventID in (1, 3)`)
//!   are exact equalities, decided by one hash lookup of the row's value
//!   ([`ValueMatcher`]). They are made after every string atom of the table, so their ids
//!   follow the string atoms' (see [`crate::TablePlan::atom_needles`]).
//!
//! Besides sparing each rule its own test, atoms are what the candidate index
//! ([`crate::candidates`]) reads.

use crate::compile::Step;
use crate::ir::{AtomId, CmpOp, Expr, ExprKind, Func, StrPred};
use crate::literals::needed;
use crate::row::{FieldId, Row};
use crate::value::{Type, Value};
use crate::{cell_text, Bits};
use hashbrown::HashMap;
use scry_grammar::{StrOp, StrOpKind};
use smallvec::SmallVec;
use std::collections::BTreeMap;

/// The atoms of one column: its name and `(atom, predicate, needle)` in creation order.
pub(crate) type ColumnAtoms = (String, Vec<(AtomId, StrPred, String)>);

/// Every atom of one table, as the planner makes them.
#[derive(Default)]
pub(crate) struct AtomTable {
    keys: HashMap<(FieldId, StrPred, String), AtomId>,
    /// Each atom's text, for `explain`, by id.
    pub(crate) text: Vec<String>,
    /// Each string atom's column, predicate and needle, by id.
    pub(crate) needles: Vec<(String, StrPred, String)>,
    /// field → its string atoms.
    pub(crate) per_field: HashMap<FieldId, ColumnAtoms>,
    values: HashMap<(FieldId, Value2), AtomId>,
    /// Each value atom's column and value, in id order after the string atoms.
    pub(crate) value_atoms: Vec<(String, Value)>,
    value_fields: BTreeMap<FieldId, (String, Vec<(Value2, AtomId)>)>,
    /// The literals each regex needs ([`needed`]), by pattern: shared by the tables.
    pub(crate) regex_literals: HashMap<String, Option<Vec<String>>>,
}

/// A value atom's constant, hashable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Value2 {
    Long(i64),
    Str(String),
}

impl AtomTable {
    fn atom(&mut self, field: FieldId, name: &str, pred: StrPred, needle: &str) -> AtomId {
        debug_assert!(self.value_atoms.is_empty(), "string atoms come first");
        let key = (field, pred, needle.to_string());
        if let Some(&a) = self.keys.get(&key) {
            return a;
        }
        let id = AtomId(self.text.len() as u32);
        self.text.push(format!(
            "{name} {} {}",
            pred.spelling(),
            serde_json::Value::String(needle.to_string())
        ));
        self.keys.insert(key, id);
        self.needles
            .push((name.to_string(), pred, needle.to_string()));
        self.per_field
            .entry(field)
            .or_insert_with(|| (name.to_string(), Vec::new()))
            .1
            .push((id, pred, needle.to_string()));
        id
    }

    fn value_atom(&mut self, field: FieldId, name: &str, value: Value2) -> AtomId {
        if let Some(&a) = self.values.get(&(field, value.clone())) {
            return a;
        }
        let id = AtomId(self.text.len() as u32);
        let (shown, kept) = match &value {
            Value2::Long(n) => (n.to_string(), Value::Long(*n)),
            Value2::Str(s) => (
                serde_json::Value::String(s.clone()).to_string(),
                Value::Str(s.clone()),
            ),
        };
        self.text.push(format!("{name} == {shown}"));
        self.value_atoms.push((name.to_string(), kept));
        self.values.insert((field, value.clone()), id);
        self.value_fields
            .entry(field)
            .or_insert_with(|| (name.to_string(), Vec::new()))
            .1
            .push((value, id));
        id
    }

    /// The value matchers of the table, one per column with value atoms.
    pub(crate) fn value_matchers(&mut self) -> Vec<ValueMatcher> {
        std::mem::take(&mut self.value_fields)
            .into_iter()
            .map(|(field, (name, list))| {
                let mut m = ValueMatcher {
                    field,
                    name,
                    longs: HashMap::new(),
                    strs: HashMap::new(),
                };
                for (v, id) in list {
                    match v {
                        Value2::Long(n) => m.longs.entry(n).or_default().push(id),
                        Value2::Str(s) => m.strs.entry(s).or_default().push(id),
                    }
                }
                m
            })
            .collect()
    }
}

/// The value atoms of one column: `Column == v` for each `v` some rule tests.
#[derive(Debug, Clone)]
pub struct ValueMatcher {
    /// The column.
    pub field: FieldId,
    /// Its name.
    pub name: String,
    /// On a `long` or `int` column: the row's value read as `typed` reads it.
    longs: HashMap<i64, SmallVec<[AtomId; 1]>>,
    /// On a `string` or `guid` column: the row's text, compared byte for byte as `==` does.
    strs: HashMap<String, SmallVec<[AtomId; 1]>>,
}

impl ValueMatcher {
    /// Sets the atoms the row's value makes true.
    pub(crate) fn set(&self, row: &Row, bits: &mut Bits) {
        let cell = row.get(self.field);
        let hit = if self.longs.is_empty() {
            self.strs.get(cell_text(cell))
        } else {
            cell.as_long().and_then(|v| self.longs.get(&v))
        };
        for a in hit.into_iter().flatten() {
            bits.set(a.0 as usize);
        }
    }

    /// Whether `a` is one of this column's atoms.
    pub(crate) fn holds(&self, a: AtomId) -> bool {
        self.longs
            .values()
            .chain(self.strs.values())
            .flatten()
            .any(|&x| x == a)
    }

    /// `(value, atoms)` sorted, for `explain`.
    pub(crate) fn listed(&self) -> Vec<(String, Vec<AtomId>)> {
        let mut out: Vec<(String, Vec<AtomId>)> = self
            .longs
            .iter()
            .map(|(v, ids)| (v.to_string(), ids.to_vec()))
            .chain(self.strs.iter().map(|(v, ids)| {
                (
                    serde_json::Value::String(v.clone()).to_string(),
                    ids.to_vec(),
                )
            }))
            .collect();
        out.sort();
        out
    }
}

/// Rewrites `Column <string-op> 'needle'` on a string column into string atoms, and
/// `isempty(Column)` / `isnotempty(Column)` into the atoms `Column =~ ""` / `Column !~ ""`
/// (a string column reads a missing or null cell as `""`, so empty is the same test). The
/// latter are what the candidate index needs from Sigma's branches per target: `isempty
/// (Channel) and ...` or `isnotempty(ActionType) and ...` only hold on the rows of their
/// target, and as expressions they gave their rule no clause, so it was evaluated for every
/// row. A regex on a column gets the literals it needs as atoms beside it (see
/// [`crate::literals`]).
pub(crate) fn atomize(e: Expr, atoms: &mut AtomTable) -> Expr {
    e.rewrite(&mut |n| {
        if let ExprKind::Call(func @ (Func::IsEmpty | Func::IsNotEmpty), args) = &n.kind {
            if let [arg] = args.as_slice() {
                if let ExprKind::Field { field, name } = &arg.kind {
                    if arg.ty.is_stringish() {
                        let negated = *func == Func::IsNotEmpty;
                        return atom(atoms.atom(*field, name, StrPred::EqCi { negated }, ""));
                    }
                }
            }
        }
        if let ExprKind::Regex(hay, re) = &n.kind {
            if let ExprKind::Field { field, name } = &hay.kind {
                let set = match hay.ty.is_stringish() {
                    true => (atoms.regex_literals.entry(re.as_str().to_string()))
                        .or_insert_with(|| needed(re.as_str()))
                        .clone(),
                    false => None,
                };
                if let Some(set) = set {
                    let contains = StrPred::Op(StrOp {
                        kind: StrOpKind::Contains,
                        case_sensitive: false,
                        negated: false,
                    });
                    let tests = set
                        .iter()
                        .map(|s| atom(atoms.atom(*field, name, contains, s)));
                    return Expr::and(vec![Expr::or(tests.collect()), n]);
                }
            }
        }
        if let ExprKind::Str(p, hay, needle) = &n.kind {
            if let (ExprKind::Field { field, name }, Some(Value::Str(s))) =
                (&hay.kind, needle.as_const())
            {
                if hay.ty.is_stringish() {
                    let id = atoms.atom(*field, name, p.positive(), s);
                    let a = atom(id);
                    return if p.negated() { Expr::negate(a) } else { a };
                }
            }
        }
        n
    })
}

fn atom(id: AtomId) -> Expr {
    Expr {
        kind: ExprKind::Atom(id),
        ty: Type::Bool,
    }
}

/// The column of a value atom and how its constants must look: a `long`/`int` column with
/// integer constants, or a `string`/`guid` column with string constants.
fn value_column(e: &Expr) -> Option<(FieldId, &str, bool)> {
    match &e.kind {
        ExprKind::Field { field, name } => match e.ty {
            Type::Long | Type::Int => Some((*field, name, true)),
            Type::String | Type::Guid => Some((*field, name, false)),
            _ => None,
        },
        _ => None,
    }
}

fn value_const(v: &Value, long: bool) -> Option<Value2> {
    match (v, long) {
        (Value::Long(n), true) => Some(Value2::Long(*n)),
        (Value::Str(s), false) => Some(Value2::Str(s.clone())),
        _ => None,
    }
}

/// Rewrites `Column == v` and `Column in (v, ...)` into value atoms (run after [`atomize`] on
/// every expression of the table). Other comparisons stay expressions. An atom is never null,
/// and neither are these tests: KQL's `==` and `in` compare a null operand as false
/// (`kql::compare::equals`), so `not(EventID == 4)` holds for an event without `EventID`.
pub(crate) fn atomize_values(e: Expr, atoms: &mut AtomTable) -> Expr {
    e.rewrite(&mut |n| value_atom(n, atoms))
}

/// `n` as a value atom (or an `or` of them), when it is one.
fn value_atom(n: Expr, atoms: &mut AtomTable) -> Expr {
    match &n.kind {
        ExprKind::Cmp(CmpOp::Eq, a, b) => {
            let hit = [(a, b), (b, a)].into_iter().find_map(|(col, val)| {
                let (field, name, long) = value_column(col)?;
                Some((field, name.to_string(), value_const(val.as_const()?, long)?))
            });
            match hit {
                Some((field, name, v)) => atom(atoms.value_atom(field, &name, v)),
                None => n,
            }
        }
        ExprKind::In {
            case_insensitive: false,
            negated: false,
            lhs,
            list,
        } => {
            let Some((field, name, long)) = value_column(lhs) else {
                return n;
            };
            let values: Option<Vec<Value2>> =
                list.values.iter().map(|v| value_const(v, long)).collect();
            match values {
                Some(values) if !values.is_empty() => {
                    let name = name.to_string();
                    let parts = values
                        .into_iter()
                        .map(|v| atom(atoms.value_atom(field, &name, v)))
                        .collect();
                    Expr::or(parts)
                }
                _ => n,
            }
        }
        _ => n,
    }
}

/// `f` over every `where` of `steps` (extends compute from computed values and stay as they
/// are).
pub(crate) fn rewrite_wheres(steps: Vec<Step>, mut f: impl FnMut(Expr) -> Expr) -> Vec<Step> {
    steps
        .into_iter()
        .map(|s| match s {
            Step::Where(e) => Step::Where(f(e)),
            Step::Extend(i, e) => Step::Extend(i, e),
        })
        .collect()
}
