//! The engine over Apache Arrow: evaluate [`RecordBatch`]es of events anywhere (a Spark task, a
//! Python process, another machine), get partial states back as Arrow, merge them in any
//! order, and finish them into the rows `scry run` prints.
//!
//! ```text
//! Rules::compile ──► Evaluator::update(batch)* ──► state() ─┐
//!                    Evaluator::update(batch)* ──► state() ─┼─► Rules::merge ─► Rules::finalize
//!                    ...                                    ┘
//! ```
//!
//! ```
//! use arrow_array::{RecordBatch, StringArray};
//! use scry_arrow::{Options, Rules};
//! use std::sync::Arc;
//!
//! let rule = r#"rule r { id "1" from DeviceFileCertificateInfo where Signer has 'Action1'
//!     summarize Count = count() by DeviceName }"#;
//! let opts = Options { now: Some("2024-05-15T12:00:00Z".into()), table: Some("DeviceFileCertificateInfo".into()) };
//! let rules = Rules::compile(&[("r.scry".into(), rule.into())], &opts).unwrap();
//! let batch = |devices: Vec<&str>, signers: Vec<&str>| RecordBatch::try_from_iter([
//!     ("DeviceName", Arc::new(StringArray::from(devices)) as _),
//!     ("Signer", Arc::new(StringArray::from(signers)) as _),
//! ]).unwrap();
//! // Two workers, each over its own batch; their states merge in any order.
//! let mut a = rules.evaluator(None).unwrap();
//! a.update(&batch(vec!["pc-1"], vec!["Action1 Corp"])).unwrap();
//! let mut b = rules.evaluator(None).unwrap();
//! b.update(&batch(vec!["pc-1", "pc-2"], vec!["action1", "Contoso"])).unwrap();
//! let rows = rules.results(&[b.state().unwrap(), a.state().unwrap()]).unwrap();
//! assert_eq!(rows.len(), 1); // pc-1, counted twice
//! ```
//!
//! States of every rule share one schema ([`state_schema`]): one row per `summarize` group,
//! per result row of a rule without `summarize`, per `distinct` set, plus one of counters. Rows
//! with the same (`kind`, `rule`, `key`) merge into one, so a distributed engine can shuffle
//! states by those columns and merge each group where it lands. Rules that test `distinct`
//! sets need the sets complete before they decide anything: collect them first
//! ([`Rules::set_collector`]), merge, and give the merged sets to every evaluator.
//!
//! Built with the `arrow` feature. Only signed integer types are produced (Spark rejects
//! unsigned Arrow types).
#![deny(missing_docs)]

// The stages below this one, under the names the code uses (`crate::kql::...`).
use scry_compile::compile;
use scry_compile::diag;
use scry_compile::row;
use scry_compile::schema;
use scry_exec as exec;
use scry_exec::state;
use scry_io as io;
use scry_kql as kql;
use scry_plan as plan;

pub use crate::io::batch::{ticks, BatchRows};

use crate::compile::Sources;
use crate::exec::{CollectedSets, Executor, Partial, ResultRow, Verdict};
use crate::plan::Plan;
use crate::row::Row;
use crate::schema::Catalog;
use crate::state::{Entry, EntryKind};
use arrow_array::builder::{
    BinaryBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, OnceLock};

/// How rules are compiled and run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The clock windows are relative to, as RFC 3339 (default: the wall clock when compiled).
    /// Every process evaluating the same data must use the same clock.
    pub now: Option<String>,
    /// The table of rows that have no `Type` column (and it overrides `Type`).
    pub table: Option<String>,
}

#[derive(Debug)]
struct Inner {
    plan: Plan,
    now: i64,
    table: Option<String>,
}

/// Compiled rules; cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct Rules(Arc<Inner>);

impl Rules {
    /// Compiles rule files given as (name, text). The error lists every diagnostic as
    /// `name:line:column: error[CODE]: message`.
    pub fn compile(sources: &[(String, String)], opts: &Options) -> Result<Rules, String> {
        let mut src = Sources::default();
        for (name, text) in sources {
            src.add(name.clone(), text.clone());
        }
        let compiled = compile::compile(&src, Arc::new(Catalog::builtin()));
        if compiled.has_errors() {
            let lines: Vec<String> = compiled
                .diagnostics
                .iter()
                .filter(|d| d.severity != crate::diag::Severity::Warning)
                .map(|d| {
                    let f = &src.files[d.file];
                    let (line, col) = line_col(&f.text, d.span.start as usize);
                    format!("{}:{line}:{col}: error[{}]: {}", f.name, d.code, d.message)
                })
                .collect();
            return Err(lines.join("\n"));
        }
        let now = match &opts.now {
            Some(s) => crate::kql::time::parse_datetime(s)
                .ok_or_else(|| format!("now {s:?} is not an RFC 3339 datetime"))?,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| (d.as_nanos() / 100) as i64)
                .map_err(|e| e.to_string())?,
        };
        if let Some(t) = &opts.table {
            if compiled.rules.catalog.table(t).is_none() {
                return Err(format!("table {t}: unknown table"));
            }
        }
        let plan = Plan::new(compiled.rules);
        let mut ids = std::collections::HashSet::new();
        for r in &plan.rules {
            if !ids.insert(r.id()) {
                return Err(format!(
                    "rule id `{}` is used by two rules; states name rules by id, so ids must be unique",
                    r.id()
                ));
            }
        }
        Ok(Rules(Arc::new(Inner {
            plan,
            now,
            table: opts.table.clone(),
        })))
    }

    /// The plan (rules in load order).
    pub fn plan(&self) -> &Plan {
        &self.0.plan
    }

    /// The rules' ids, in load order.
    pub fn rule_ids(&self) -> Vec<String> {
        self.0
            .plan
            .rules
            .iter()
            .map(|r| r.id().to_string())
            .collect()
    }

    /// True when some rule tests a `distinct` set: collect the sets first.
    pub fn has_sets(&self) -> bool {
        !self.0.plan.sets.is_empty()
    }

    fn executor(&self) -> Executor<'_> {
        Executor::columnar(&self.0.plan, self.0.now, self.0.table.clone())
    }

    /// The sets of a merged set-collector state, checked to be complete for these rules.
    fn sets(&self, sets: Option<&RecordBatch>) -> Result<Option<CollectedSets>, String> {
        match sets {
            None if self.has_sets() => {
                let names: Vec<&str> = self.0.plan.sets.iter().map(|s| s.name.as_str()).collect();
                Err(format!(
                    "these rules test `distinct` sets ({}): collect them first (a set collector \
                     over every event, merged) and pass them",
                    names.join(", ")
                ))
            }
            None => Ok(None),
            Some(batch) => {
                let entries: Vec<Entry> = decode(batch)?
                    .into_iter()
                    .filter(|e| e.kind == EntryKind::Set)
                    .collect();
                Ok(Some(state::partial(&self.0.plan, entries)?.take_sets()))
            }
        }
    }

    /// An evaluator; `sets` is the merged state of set collectors over all the events (needed
    /// when [`Rules::has_sets`]).
    pub fn evaluator(&self, sets: Option<&RecordBatch>) -> Result<Evaluator, String> {
        Ok(Evaluator {
            rules: self.clone(),
            sets: self.sets(sets)?,
            partial: None,
            chunk: 0,
            collect: false,
        })
    }

    /// A collector of the `distinct` sets (the first phase of rules that test them).
    pub fn set_collector(&self) -> Evaluator {
        Evaluator {
            rules: self.clone(),
            sets: None,
            partial: None,
            chunk: 0,
            collect: true,
        }
    }

    fn partial_of(&self, states: &[RecordBatch]) -> Result<Partial, String> {
        let mut entries = Vec::new();
        for b in states {
            entries.extend(decode(b)?);
        }
        state::partial(&self.0.plan, entries)
    }

    /// Merges any number of partial states (of these rules) into one. Associative and
    /// commutative: any grouping and order of the same states gives the same state.
    pub fn merge(&self, states: &[RecordBatch]) -> Result<RecordBatch, String> {
        let p = self.partial_of(states)?;
        encode(&state::entries(&self.0.plan, p))
    }

    /// Finishes merged states into result rows: columns `rule` and `result`, the JSON line
    /// `scry run --format ndjson` prints, in its order.
    pub fn finalize(&self, states: &[RecordBatch]) -> Result<RecordBatch, String> {
        let rows = self.results(states)?;
        let plan = &self.0.plan;
        let rule = StringArray::from_iter_values(rows.iter().map(|r| plan.rules[r.rule].id()));
        let result = StringArray::from_iter_values(rows.iter().map(|r| r.to_json_line(plan)));
        RecordBatch::try_new(
            result_schema(),
            vec![Arc::new(rule) as ArrayRef, Arc::new(result)],
        )
        .map_err(|e| e.to_string())
    }

    /// Finishes merged states into result rows (see [`Rules::finalize`]).
    pub fn results(&self, states: &[RecordBatch]) -> Result<Vec<ResultRow>, String> {
        let p = self.partial_of(states)?;
        let mut ex = self.executor();
        ex.seal_sets();
        ex.absorb(p);
        Ok(ex.finish())
    }

    /// The counters of merged states, as JSON: records read, evaluated, skipped by reason,
    /// per table, and per rule (rows passed, suppressed per exclusion, results, `make_set`
    /// caps hit, rows left out over the group budget). read = evaluated + skipped.
    pub fn summary(&self, states: &[RecordBatch]) -> Result<String, String> {
        let p = self.partial_of(states)?;
        let mut ex = self.executor();
        ex.seal_sets();
        ex.absorb(p);
        // Finishing fills the per-rule result and cap counts.
        ex.finish();
        serde_json::to_string(&ex.stats).map_err(|e| e.to_string())
    }

    /// For engines that aggregate natively: one boolean column per rule (named by its id),
    /// true where the rule's window, `where`s and exclusions keep the event (before any
    /// `summarize`).
    pub fn matches(
        &self,
        batch: &RecordBatch,
        sets: Option<&RecordBatch>,
    ) -> Result<RecordBatch, String> {
        let sets = self.sets(sets)?;
        let mut ex = self.executor();
        if let Some(s) = &sets {
            ex.use_sets(s);
        }
        ex.seal_sets();
        let fields = ex.fields().clone();
        let mut rows = BatchRows::new(batch, &fields)?.inferring_tables(self.0.table.is_none());
        let mut row = Row::new(&fields);
        let n = self.0.plan.rules.len();
        let mut masks: Vec<Vec<bool>> = vec![Vec::with_capacity(rows.len()); n];
        for i in 0..rows.len() {
            rows.fill(i, &mut row);
            for (ri, mask) in masks.iter_mut().enumerate() {
                mask.push(ex.verdict(&row, ri) == Ok(Verdict::Match));
            }
        }
        let schema = Schema::new(
            self.0
                .plan
                .rules
                .iter()
                .map(|r| Field::new(r.id(), DataType::Boolean, false))
                .collect::<Vec<_>>(),
        );
        let columns: Vec<ArrayRef> = masks
            .into_iter()
            .map(|m| Arc::new(BooleanArray::from(m)) as ArrayRef)
            .collect();
        RecordBatch::try_new_with_options(
            Arc::new(schema),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
        .map_err(|e| e.to_string())
    }
}

/// Evaluates batches of events, keeping one partial state (or, as a set collector, collects
/// the `distinct` sets). Owns everything it needs, so it can live in a worker between calls.
#[derive(Debug)]
pub struct Evaluator {
    rules: Rules,
    sets: Option<CollectedSets>,
    partial: Option<Partial>,
    chunk: u64,
    collect: bool,
}

impl Evaluator {
    /// Numbers this evaluator's batches from `chunk` on. Rows of rules without `summarize`
    /// come out ordered by (batch number, position), so give each task a distinct range
    /// (e.g. its partition index shifted left by 32) to keep input order across tasks.
    pub fn starting_at(mut self, chunk: u64) -> Evaluator {
        self.chunk = chunk;
        self
    }

    /// Evaluates one batch of events. Records that cannot be evaluated (no table, a bad
    /// Timestamp) are counted as skipped, with the reason, in the state's counters; an `Err`
    /// is a batch scry cannot read at all (a column of an unreadable type).
    pub fn update(&mut self, batch: &RecordBatch) -> Result<(), String> {
        let rules = self.rules.clone();
        let mut ex = rules.executor();
        if let Some(s) = &self.sets {
            ex.use_sets(s);
        }
        if !self.collect {
            ex.seal_sets();
        }
        if let Some(p) = self.partial.take() {
            ex.absorb(p);
        }
        ex.begin_chunk(self.chunk);
        self.chunk += 1;
        let fields = ex.fields().clone();
        let mut rows = BatchRows::new(batch, &fields)?.inferring_tables(rules.0.table.is_none());
        let mut row = Row::new(&fields);
        for i in 0..rows.len() {
            rows.fill(i, &mut row);
            if self.collect {
                // A record the collector cannot read is counted by the evaluation phase.
                let _ = ex.collect_sets(&row);
            } else {
                // Skipped records are counted in the executor's counters, with the reason.
                let _ = ex.process(&row);
            }
        }
        let mut p = ex.into_partial()?;
        if !self.collect {
            // Every evaluator was given the same sets: states need not repeat them.
            p.take_sets();
        }
        self.partial = Some(p);
        Ok(())
    }

    /// The partial state so far, as a batch of [`state_schema`]; the evaluator starts over.
    pub fn state(&mut self) -> Result<RecordBatch, String> {
        let plan = &self.rules.0.plan;
        let p = match self.partial.take() {
            Some(p) => p,
            None => self.rules.executor().into_partial()?,
        };
        let mut entries = state::entries(plan, p);
        if self.collect {
            entries.retain(|e| e.kind == EntryKind::Set);
        }
        encode(&entries)
    }
}

/// The schema of partial states, the same for all rules:
/// `kind` (group / row / set / stats), `rule`, `key`, `first_seen`, `last_seen`, `count`,
/// `set` (informational), and `state` (the exact, opaque state merging reads).
pub fn state_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
            Arc::new(Schema::new(vec![
                Field::new("kind", DataType::Utf8, false),
                Field::new("rule", DataType::Utf8, true),
                Field::new("key", DataType::Utf8, true),
                Field::new("first_seen", ts.clone(), true),
                Field::new("last_seen", ts, true),
                Field::new("count", DataType::Int64, true),
                Field::new(
                    "set",
                    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                    true,
                ),
                Field::new("state", DataType::Binary, false),
            ]))
        })
        .clone()
}

/// The schema [`Rules::finalize`] returns: `rule`, `result`.
pub fn result_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("rule", DataType::Utf8, false),
        Field::new("result", DataType::Utf8, false),
    ]))
}

fn encode(entries: &[Entry]) -> Result<RecordBatch, String> {
    let mut kind = StringBuilder::new();
    let mut rule = StringBuilder::new();
    let mut key = StringBuilder::new();
    let mut first = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut last = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut count = Int64Builder::new();
    let mut set = ListBuilder::new(StringBuilder::new());
    let mut blob = BinaryBuilder::new();
    for e in entries {
        kind.append_value(e.kind.name());
        rule.append_option(e.rule.as_deref());
        key.append_option(e.key.as_deref());
        // Ticks are 100 ns; the informational columns keep microseconds.
        first.append_option(e.first_seen.map(|t| t.div_euclid(10)));
        last.append_option(e.last_seen.map(|t| t.div_euclid(10)));
        count.append_option(e.count);
        match &e.set {
            Some(values) => {
                for v in values {
                    set.values().append_value(v);
                }
                set.append(true);
            }
            None => set.append(false),
        }
        blob.append_value(&e.blob);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(kind.finish()),
        Arc::new(rule.finish()),
        Arc::new(key.finish()),
        Arc::new(first.finish()),
        Arc::new(last.finish()),
        Arc::new(count.finish()),
        Arc::new(set.finish()),
        Arc::new(blob.finish()),
    ];
    RecordBatch::try_new(state_schema(), columns).map_err(|e| e.to_string())
}

/// A string column of a state batch, whatever string layout it arrived in.
fn strings(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, String> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| format!("not a scry state: no `{name}` column"))?;
    let get = |i: usize| -> Option<String> {
        if col.is_null(i) {
            return None;
        }
        Some(match col.data_type() {
            DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
            DataType::LargeUtf8 => col.as_string::<i64>().value(i).to_string(),
            DataType::Utf8View => col.as_string_view().value(i).to_string(),
            _ => return None,
        })
    };
    if !matches!(
        col.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        return Err(format!(
            "not a scry state: `{name}` is {}, not a string",
            col.data_type()
        ));
    }
    Ok((0..batch.num_rows()).map(get).collect())
}

fn decode(batch: &RecordBatch) -> Result<Vec<Entry>, String> {
    let kinds = strings(batch, "kind")?;
    let rules = strings(batch, "rule")?;
    let keys = strings(batch, "key")?;
    let col = batch
        .column_by_name("state")
        .ok_or("not a scry state: no `state` column")?;
    let blob = |i: usize| -> Result<Vec<u8>, String> {
        match col.data_type() {
            DataType::Binary => Ok(col.as_binary::<i32>().value(i).to_vec()),
            DataType::LargeBinary => Ok(col.as_binary::<i64>().value(i).to_vec()),
            DataType::BinaryView => Ok(col.as_binary_view().value(i).to_vec()),
            t => Err(format!("not a scry state: `state` is {t}, not binary")),
        }
    };
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let kind = kinds[i]
            .as_deref()
            .and_then(EntryKind::from_name)
            .ok_or_else(|| format!("not a scry state: row {i} has kind {:?}", kinds[i]))?;
        out.push(Entry {
            kind,
            rule: rules[i].clone(),
            key: keys[i].clone(),
            first_seen: None,
            last_seen: None,
            count: None,
            set: None,
            blob: blob(i)?,
        });
    }
    Ok(out)
}

/// Batches as Arrow IPC stream bytes (all batches must share one schema).
pub fn to_ipc(batches: &[RecordBatch]) -> Result<Vec<u8>, String> {
    let schema = batches.first().map_or_else(state_schema, |b| b.schema());
    let mut out = Vec::new();
    let mut w =
        arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema).map_err(|e| e.to_string())?;
    for b in batches {
        w.write(b).map_err(|e| e.to_string())?;
    }
    w.finish().map_err(|e| e.to_string())?;
    drop(w);
    Ok(out)
}

/// Batches from Arrow IPC stream bytes.
pub fn from_ipc(bytes: &[u8]) -> Result<Vec<RecordBatch>, String> {
    // The IPC decoder can panic on damaged bytes: guarded, it is an error like any other.
    crate::io::guarded(
        || {
            let r = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
                .map_err(|e| format!("not an Arrow IPC stream: {e}"))?;
            r.map(|b| b.map_err(|e| e.to_string())).collect()
        },
        |why| format!("not an Arrow IPC stream: the decoder failed: {why}"),
    )
}

/// 1-based line and column (in characters) of byte `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests;
