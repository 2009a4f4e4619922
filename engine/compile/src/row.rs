//! The row a reader hands to the engine: only the fields the plan needs, stored without
//! allocating per record.
//!
//! Readers know nothing of schemas: they store each needed field as it appears in the input
//! ([`Cell`]: a string, a JSON number's text, a boolean, a null, nested JSON as text) and the
//! engine types it against the table's schema when it evaluates. Every string lives in one
//! scratch buffer that is reused from record to record, so a warm reader does not allocate.

use hashbrown::HashMap;

/// A field the plan reads, interned: an index into [`FieldSet`] and into a [`Row`]'s cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// The input field names a plan needs, across all its tables, each with its [`FieldId`].
///
/// Names are case-sensitive, as Defender column names are.
#[derive(Debug, Clone, Default)]
pub struct FieldSet {
    names: Vec<String>,
    index: HashMap<String, FieldId>,
}

impl FieldSet {
    /// An empty set.
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    /// Interns `name`, returning its id (the same id for the same name).
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = FieldId(self.names.len() as u32);
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), id);
        id
    }

    /// The id of `name`, if the plan needs it.
    pub fn get(&self, name: &str) -> Option<FieldId> {
        self.index.get(name).copied()
    }

    /// The name of `id`.
    pub fn name(&self, id: FieldId) -> &str {
        &self.names[id.0 as usize]
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True if no field is needed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// All names, in id order.
    pub fn names(&self) -> impl Iterator<Item = (FieldId, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (FieldId(i as u32), n.as_str()))
    }
}

/// A field's value as the input wrote it, before typing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// The key is absent from the record.
    Missing,
    /// JSON `null` (or an empty CSV cell is **not** this: CSV cells are always strings).
    Null,
    /// A string, escapes already decoded.
    Str(&'a str),
    /// A JSON number, as its source text (`42`, `-1.5e3`): the schema decides long or real.
    Num(&'a str),
    /// A JSON boolean.
    Bool(bool),
    /// A nested JSON object or array, as its source text.
    Json(&'a str),
}

impl Cell<'_> {
    /// The cell read as a `long` (or `int`) column: a number's or string's text as an integer,
    /// or a real with no fraction; a string `0x…` as hexadecimal (Windows writes logon and
    /// process ids so: Sysmon's `LogonId` is `"0x3e7"` where Defender's is `999`); a boolean
    /// as 0 or 1; anything else null (`None`).
    pub fn as_long(self) -> Option<i64> {
        if let Cell::Str(t) = self {
            if let Some(h) = hex_digits(t) {
                return i64::from_str_radix(h, 16).ok();
            }
        }
        match self {
            Cell::Num(t) | Cell::Str(t) => {
                let t = t.trim();
                t.parse::<i64>().ok().or_else(|| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|x| x.fract() == 0.0 && x.abs() < 9.2e18)
                        .map(|x| x as i64)
                })
            }
            Cell::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }
}

/// The digits of `0x…` / `0X…` text (surrounding spaces allowed), when it is such.
pub fn hex_digits(t: &str) -> Option<&str> {
    let t = t.trim();
    let h = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))?;
    (!h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit())).then_some(h)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Missing,
    Null,
    Str(u32, u32),
    Num(u32, u32),
    Bool(bool),
    Json(u32, u32),
}

/// One record: a cell per [`FieldId`] of the plan's [`FieldSet`], plus the table the input's
/// shape names (the `category` of a streaming-API record), if any.
#[derive(Debug, Clone, Default)]
pub struct Row {
    slots: Vec<Slot>,
    scratch: String,
    table: Option<(u32, u32)>,
    /// The names of the record's keys holding a value (not null, not empty), when the reader
    /// was asked for them ([`crate::io::ReadOptions::columns`]) and the record names no table:
    /// what the engine infers the table from.
    columns: Vec<(u32, u32)>,
    /// Whether `columns` was collected for this record.
    columns_collected: bool,
}

impl Row {
    /// A row with room for `fields` cells, all missing.
    pub fn new(fields: &FieldSet) -> Row {
        Row {
            slots: vec![Slot::Missing; fields.len()],
            scratch: String::new(),
            table: None,
            columns: Vec::new(),
            columns_collected: false,
        }
    }

    /// How many cells the row has (the field set it was made for).
    pub fn width(&self) -> usize {
        self.slots.len()
    }

    /// Forgets the previous record's values, keeping the buffers.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = Slot::Missing);
        self.scratch.clear();
        self.table = None;
        self.columns.clear();
        self.columns_collected = false;
    }

    /// The cell of `field`.
    pub fn get(&self, field: FieldId) -> Cell<'_> {
        let text = |a: u32, b: u32| &self.scratch[a as usize..b as usize];
        match self
            .slots
            .get(field.0 as usize)
            .copied()
            .unwrap_or(Slot::Missing)
        {
            Slot::Missing => Cell::Missing,
            Slot::Null => Cell::Null,
            Slot::Str(a, b) => Cell::Str(text(a, b)),
            Slot::Num(a, b) => Cell::Num(text(a, b)),
            Slot::Bool(v) => Cell::Bool(v),
            Slot::Json(a, b) => Cell::Json(text(a, b)),
        }
    }

    /// True when the cell of `field` reads as empty text: missing, null or `""` (what
    /// [`Row::get`] would give, without building the cell: the column scans ask this of
    /// every column they could read, most of which a row does not have).
    #[inline]
    pub fn is_blank(&self, field: FieldId) -> bool {
        match self.slots.get(field.0 as usize) {
            None | Some(Slot::Missing | Slot::Null) => true,
            Some(Slot::Str(a, b) | Slot::Num(a, b) | Slot::Json(a, b)) => a == b,
            Some(Slot::Bool(_)) => false,
        }
    }

    /// The table named by the record's shape (`AdvancedHunting-DeviceProcessEvents` → the part
    /// after the dash is stored by the reader), if any.
    pub fn table_hint(&self) -> Option<&str> {
        self.table
            .map(|(a, b)| &self.scratch[a as usize..b as usize])
    }

    fn push(&mut self, s: &str) -> (u32, u32) {
        let a = self.scratch.len() as u32;
        self.scratch.push_str(s);
        (a, self.scratch.len() as u32)
    }

    /// Sets `field` to the string `s` (copied into the row's buffer).
    pub fn set_str(&mut self, field: FieldId, s: &str) {
        let (a, b) = self.push(s);
        self.slots[field.0 as usize] = Slot::Str(a, b);
    }

    /// Sets `field` to a JSON number given as its source text.
    pub fn set_num(&mut self, field: FieldId, text: &str) {
        let (a, b) = self.push(text);
        self.slots[field.0 as usize] = Slot::Num(a, b);
    }

    /// Sets `field` to nested JSON given as its source text.
    pub fn set_json(&mut self, field: FieldId, text: &str) {
        let (a, b) = self.push(text);
        self.slots[field.0 as usize] = Slot::Json(a, b);
    }

    /// Sets `field` to a boolean.
    pub fn set_bool(&mut self, field: FieldId, v: bool) {
        self.slots[field.0 as usize] = Slot::Bool(v);
    }

    /// Sets `field` to JSON `null`.
    pub fn set_null(&mut self, field: FieldId) {
        self.slots[field.0 as usize] = Slot::Null;
    }

    /// Records the table named by the input's shape.
    pub fn set_table_hint(&mut self, table: &str) {
        self.table = Some(self.push(table));
    }

    /// True when the record names its table: a table hint, or a non-empty string in the
    /// field `type_field` (the `Type` column).
    pub fn names_table(&self, type_field: Option<FieldId>) -> bool {
        self.table.is_some()
            || matches!(type_field.map(|f| self.get(f)), Some(Cell::Str(t)) if !t.is_empty())
    }

    /// Starts collecting the record's column names (see [`Row::columns`]).
    pub fn begin_columns(&mut self) {
        self.columns.clear();
        self.columns_collected = true;
    }

    /// Adds a key of the record that holds a value, as the input spells it (a type-suffixed
    /// key such as `ReportId_long` stays so: the engine knows the suffixes' meaning).
    pub fn add_column(&mut self, name: &str) {
        let span = self.push(name);
        self.columns.push(span);
    }

    /// The keys of the record that hold a value, when the reader collected them: only for a
    /// record that names no table, and only when asked to.
    pub fn columns(&self) -> Option<impl Iterator<Item = &str>> {
        self.columns_collected.then(|| {
            self.columns
                .iter()
                .map(|&(a, b)| &self.scratch[a as usize..b as usize])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_and_clear_keeps_nothing() {
        let mut fields = FieldSet::new();
        let a = fields.intern("Signer");
        let b = fields.intern("ReportId");
        let c = fields.intern("IsSigned");
        assert_eq!(fields.intern("Signer"), a);
        let mut row = Row::new(&fields);
        row.set_str(a, "Krämer");
        row.set_num(b, "42");
        row.set_bool(c, true);
        row.set_table_hint("DeviceFileCertificateInfo");
        assert_eq!(row.get(a), Cell::Str("Krämer"));
        assert_eq!(row.get(b), Cell::Num("42"));
        assert_eq!(row.get(c), Cell::Bool(true));
        assert_eq!(row.table_hint(), Some("DeviceFileCertificateInfo"));
        row.clear();
        assert_eq!(row.get(a), Cell::Missing);
        assert_eq!(row.table_hint(), None);
    }
}
