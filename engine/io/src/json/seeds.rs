//! The serde seeds that decode a record straight into the row: the record's keys in any
//! order, its shape (flat, storage-account `properties`, `records` / `Results` containers),
//! union-typed column copies, and the keys of records that name no table.

use super::*;

/// Adds each top-level key of an object that holds a value (not null, not `""`) to the row's
/// columns.
pub(super) struct ColumnsVisitor<'r>(pub(super) &'r mut Row);

impl<'de> Visitor<'de> for ColumnsVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeyText)? {
            let raw = map.next_value::<&'de RawValue>()?.get();
            let raw = raw.trim_matches(|c: char| c.is_ascii_whitespace());
            if raw != "null" && raw != "\"\"" {
                self.0.add_column(&key);
            }
        }
        Ok(())
    }
}

/// A key, borrowed from the input unless it has escapes (serde's own `Cow` always copies).
pub(super) struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(key))
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(key.to_string()))
    }
}

/// A record: an object (flat, storage-account or container) or, at the top, an array.
pub(super) struct RecordSeed<'c, 's> {
    pub(super) ctx: &'c mut Ctx<'s>,
    /// Top-level values may be containers; elements of a container may not.
    pub(super) top: bool,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_> {
    type Value = Outcome;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Outcome, D::Error> {
        d.deserialize_any(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Flat,
    StorageAccount,
    Container,
}

impl<'de> Visitor<'de> for RecordSeed<'_, '_> {
    type Value = Outcome;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outcome, A::Error> {
        let ctx = self.ctx;
        ctx.category.clear();
        let mut mode = Mode::Flat;
        let mut first = true;
        while let Some(key) = map.next_key_seed(TopKeySeed {
            ctx: &mut *ctx,
            top: self.top,
            first,
        })? {
            first = false;
            let flat = |id: Option<FieldId>| id.filter(|_| mode == Mode::Flat);
            match key {
                TopKey::Field(id, suffixed) if mode == Mode::Flat => {
                    map.next_value_seed(FieldSeed {
                        ctx: &mut *ctx,
                        id,
                        suffixed,
                    })?
                }
                TopKey::Category(id) => map.next_value_seed(CategorySeed {
                    ctx: &mut *ctx,
                    id: flat(id),
                })?,
                TopKey::Shape(kind, id) if mode != Mode::Container => {
                    let got = map.next_value_seed(ShapeSeed {
                        ctx: &mut *ctx,
                        kind,
                        id: flat(id),
                    })?;
                    match got {
                        Shaped::Properties => mode = Mode::StorageAccount,
                        Shaped::Container => mode = Mode::Container,
                        Shaped::Other => {}
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if ctx.shape_error.is_some() {
            return Ok(Outcome::BadShape);
        }
        Ok(match mode {
            Mode::Flat => Outcome::Flat,
            Mode::StorageAccount => {
                ctx.set_category_hint();
                Outcome::StorageAccount
            }
            Mode::Container => Outcome::Container,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Outcome, A::Error> {
        if self.top {
            self.ctx.shapes.array = true;
            container(self.ctx, seq)?;
            Ok(Outcome::Container)
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Outcome::NotAnObject)
        }
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Outcome, E> {
        Ok(Outcome::NotAnObject)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Outcome, E> {
        Ok(Outcome::NotAnObject)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Outcome, E> {
        Ok(Outcome::NotAnObject)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Outcome, E> {
        Ok(Outcome::NotAnObject)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Outcome, E> {
        Ok(Outcome::NotAnObject)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Outcome, E> {
        Ok(Outcome::NotAnObject)
    }
}

/// Delivers each element of a container as a record.
pub(super) fn container<'de, A: SeqAccess<'de>>(
    ctx: &mut Ctx<'_>,
    mut seq: A,
) -> Result<(), A::Error> {
    loop {
        ctx.row.clear();
        ctx.shape_error = None;
        let seed = RecordSeed {
            ctx: &mut *ctx,
            top: false,
        };
        match seq.next_element_seed(seed)? {
            None => return Ok(()),
            Some(Outcome::Container) => {
                // Unreachable (`top: false` never yields it), but a wrong count would be worse.
                ctx.shape_error = Some("nested container");
                ctx.conclude(Outcome::BadShape);
            }
            Some(outcome) => ctx.conclude(outcome),
        }
    }
}

/// A wrapper key whose value decides the record's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ShapeKey {
    Properties,
    Records,
    Results,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TopKey {
    /// A wanted field (and whether the key named it with a type suffix).
    Field(FieldId, bool),
    Category(Option<FieldId>),
    /// A wrapper key; the id if the name is also a wanted field of a flat record.
    Shape(ShapeKey, Option<FieldId>),
    Other,
}

pub(super) struct TopKeySeed<'c, 's> {
    ctx: &'c mut Ctx<'s>,
    top: bool,
    first: bool,
}

impl<'de> DeserializeSeed<'de> for TopKeySeed<'_, '_> {
    type Value = TopKey;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TopKey, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TopKeySeed<'_, '_> {
    type Value = TopKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, key: &'de str) -> Result<TopKey, E> {
        if self.first {
            self.ctx.locate_from_key(key);
        }
        self.visit_str(key)
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<TopKey, E> {
        let id = self.ctx.fields.get(key);
        Ok(match key {
            "category" => TopKey::Category(id),
            "properties" => TopKey::Shape(ShapeKey::Properties, id),
            "records" if self.top => TopKey::Shape(ShapeKey::Records, id),
            "Results" if self.top => TopKey::Shape(ShapeKey::Results, id),
            _ => {
                field_of(self.ctx.fields, key).map_or(TopKey::Other, |(id, s)| TopKey::Field(id, s))
            }
        })
    }
}

/// The wanted field a key names: itself, or (`true`) the column a type-suffixed key stands
/// for; a suffixed key only ever fills its field with a non-null value (see [`FieldSeed`]).
pub(crate) fn field_of(fields: &FieldSet, key: &str) -> Option<(FieldId, bool)> {
    if let Some(id) = fields.get(key) {
        return Some((id, false));
    }
    TYPE_SUFFIXES
        .iter()
        .find_map(|s| key.strip_suffix(s))
        .and_then(|base| fields.get(base))
        .map(|id| (id, true))
}

/// A key inside `properties`: a field lookup.
pub(super) struct FieldKeySeed<'f>(&'f FieldSet);

impl<'de> DeserializeSeed<'de> for FieldKeySeed<'_> {
    type Value = Option<(FieldId, bool)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldKeySeed<'_> {
    type Value = Option<(FieldId, bool)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(field_of(self.0, key))
    }
}

/// A wanted field's value: taken as raw JSON text (borrowed, no copy) and classified by its
/// first byte, which keeps a number's exact text and an object's source.
pub(super) struct FieldSeed<'c, 's> {
    ctx: &'c mut Ctx<'s>,
    id: FieldId,
    /// The key was type-suffixed: of the column's typed copies only the non-null one holds
    /// the value, so a null must not overwrite it.
    suffixed: bool,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let raw = <&'de RawValue as serde::Deserialize<'de>>::deserialize(d)?;
        if self.suffixed && self.ctx.empty_copy(self.id, raw.get()) {
            return Ok(());
        }
        self.ctx.store(self.id, raw.get());
        Ok(())
    }
}

/// The `category` of a storage-account record (also a field if the record turns out flat).
pub(super) struct CategorySeed<'c, 's> {
    ctx: &'c mut Ctx<'s>,
    id: Option<FieldId>,
}

impl<'de> DeserializeSeed<'de> for CategorySeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let raw = <&'de RawValue as serde::Deserialize<'de>>::deserialize(d)?.get();
        let ctx = self.ctx;
        if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            unescape(inner, &mut ctx.category);
        }
        if let Some(id) = self.id {
            ctx.store(id, raw);
        }
        Ok(())
    }
}

/// What a wrapper key's value turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shaped {
    /// A `properties` object, decoded as the record's fields.
    Properties,
    /// A `records` / `Results` array, whose elements were delivered.
    Container,
    /// Anything else: stored as a flat field if wanted.
    Other,
}

/// The value of `properties`, `records` or `Results`. Decoded with `deserialize_any` so the
/// common case (the expected object or array) takes one pass; the price is that an
/// unexpected scalar arrives as a parsed value, so a number is re-formatted rather than kept
/// verbatim (harmless: no Defender column has these names).
pub(super) struct ShapeSeed<'c, 's> {
    ctx: &'c mut Ctx<'s>,
    kind: ShapeKey,
    id: Option<FieldId>,
}

impl ShapeSeed<'_, '_> {
    pub(super) fn unusable(self, why: &'static str) {
        // Unwanted, it is simply ignored; wanted, we cannot give its text (it was decoded,
        // not captured), so the record is reported rather than silently missing a field.
        if self.id.is_some() {
            self.ctx.shape_error = Some(why);
        }
    }

    pub(super) fn number(self, v: impl fmt::Display) -> Shaped {
        if let Some(id) = self.id {
            use fmt::Write;
            self.ctx.number.clear();
            let _ = write!(self.ctx.number, "{v}");
            let ctx = &mut *self.ctx;
            ctx.row.set_num(id, &ctx.number);
        }
        Shaped::Other
    }
}

impl<'de> DeserializeSeed<'de> for ShapeSeed<'_, '_> {
    type Value = Shaped;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shaped, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ShapeSeed<'_, '_> {
    type Value = Shaped;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shaped, A::Error> {
        if self.kind != ShapeKey::Properties {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            self.unusable("`records` / `Results` is an object, not an array of records");
            return Ok(Shaped::Other);
        }
        let ctx = self.ctx;
        // Whatever top-level keys were stored before `properties` were not the row.
        ctx.row.clear();
        while let Some(key) = map.next_key_seed(FieldKeySeed(ctx.fields))? {
            match key {
                Some((id, suffixed)) => map.next_value_seed(FieldSeed {
                    ctx: &mut *ctx,
                    id,
                    suffixed,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Shaped::Properties)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shaped, A::Error> {
        match self.kind {
            ShapeKey::Records => self.ctx.shapes.event_hub = true,
            ShapeKey::Results => self.ctx.shapes.hunting_results = true,
            ShapeKey::Properties => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                self.unusable("`properties` is an array, not an object");
                return Ok(Shaped::Other);
            }
        }
        container(self.ctx, seq)?;
        Ok(Shaped::Container)
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Shaped, E> {
        if let Some(id) = self.id {
            self.ctx.row.set_bool(id, v);
        }
        Ok(Shaped::Other)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Shaped, E> {
        Ok(self.number(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Shaped, E> {
        Ok(self.number(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Shaped, E> {
        Ok(self.number(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Shaped, E> {
        if let Some(id) = self.id {
            self.ctx.row.set_str(id, v);
        }
        Ok(Shaped::Other)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Shaped, E> {
        if let Some(id) = self.id {
            self.ctx.row.set_null(id);
        }
        Ok(Shaped::Other)
    }
}
