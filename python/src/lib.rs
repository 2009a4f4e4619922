//! `scry._native`: the Python face of `scry_engine::arrow` (re-exported as `scry`).
//!
//! Thin on purpose: every function takes and returns `pyarrow.RecordBatch` (through the Arrow
//! C data interface, no copy) and maps one-to-one onto the Rust API in
//! `scry_engine::arrow`, whose docs state the semantics (state schema, merge laws, finalize
//! order). Errors from the engine become `scry.ScryError` with the engine's message, which for
//! compile errors is the rendered diagnostics text (file:line:col).
//!
//! The GIL is released around engine work, so a Python program can evaluate batches on
//! several threads with one `Rules`.

use std::sync::Mutex;

use arrow_array::RecordBatch;
use arrow_pyarrow::{FromPyArrow, PyArrowType, ToPyArrow};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use scry_engine::arrow as sa;

create_exception!(
    scry,
    ScryError,
    PyException,
    "An error from the scry engine: rules that do not compile (the message is the rendered \
     diagnostics), a batch it cannot read, or states that do not belong to these rules."
);

fn engine_err(msg: String) -> PyErr {
    ScryError::new_err(msg)
}

/// Compiled rules: immutable, shared by every evaluator made from them.
#[pyclass(module = "scry", frozen, name = "Rules")]
struct PyRules(sa::Rules);

/// Evaluates event batches into one partial state (see `Rules.evaluator`), or collects the
/// `distinct` sets (see `Rules.set_collector`).
// The engine's Evaluator is Send but not Sync; the Mutex makes the Python object shareable
// between threads, each call taking it for the length of one batch.
#[pyclass(module = "scry", frozen, name = "Evaluator")]
struct PyEvaluator(Mutex<sa::Evaluator>);

fn poisoned<T>(_: T) -> PyErr {
    // Only reachable after a panic inside the engine while the lock was held; the state
    // is then unknown, and saying so beats returning a half-updated state.
    ScryError::new_err("the evaluator is unusable after an earlier internal error")
}

/// A list of pyarrow RecordBatches (or anything exporting `__arrow_c_array__`).
fn batches(list: &Bound<'_, PyAny>) -> PyResult<Vec<RecordBatch>> {
    if list.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "expected a list of pyarrow.RecordBatch, got str",
        ));
    }
    list.try_iter()?
        .map(|item| RecordBatch::from_pyarrow_bound(&item?))
        .collect()
}

#[pymethods]
impl PyRules {
    /// The rule ids, in load order (the order of `finalize`'s results).
    #[getter]
    fn rule_ids(&self) -> Vec<String> {
        self.0.rule_ids()
    }

    /// True when some rule tests a `distinct` set: run a `set_collector` over all events
    /// first and pass its merged state as `sets` to `evaluator` / `matches`.
    #[getter]
    fn has_sets(&self) -> bool {
        self.0.has_sets()
    }

    /// A new evaluator; `sets` is the merged state of the set collectors (when `has_sets`).
    /// `chunk` numbers its batches from there on: rows of rules without `summarize` come out
    /// ordered by (batch number, position), so evaluators of different parts of the input
    /// need distinct ranges (e.g. a task's partition index << 32) to keep input order.
    #[pyo3(signature = (sets=None, chunk=0))]
    fn evaluator(
        &self,
        sets: Option<PyArrowType<RecordBatch>>,
        chunk: u64,
    ) -> PyResult<PyEvaluator> {
        let ev = self
            .0
            .evaluator(sets.as_ref().map(|s| &s.0))
            .map_err(engine_err)?;
        Ok(PyEvaluator(Mutex::new(ev.starting_at(chunk))))
    }

    /// A new collector of the `distinct` sets (phase 1): an evaluator whose state holds only
    /// the sets' values.
    fn set_collector(&self) -> PyEvaluator {
        PyEvaluator(Mutex::new(self.0.set_collector()))
    }

    /// The run counters of merged states, as JSON: records read, evaluated, skipped by
    /// reason, per table, per rule (what `scry run` prints on stderr).
    fn summary(&self, py: Python<'_>, states: &Bound<'_, PyAny>) -> PyResult<String> {
        let states = batches(states)?;
        let rules = &self.0;
        py.detach(|| rules.summary(&states)).map_err(engine_err)
    }

    /// Merges state batches (any number, any split): one row per (kind, rule, key).
    fn merge<'py>(
        &self,
        py: Python<'py>,
        states: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let states = batches(states)?;
        let rules = &self.0;
        let merged = py.detach(|| rules.merge(&states)).map_err(engine_err)?;
        merged.to_pyarrow(py)
    }

    /// The results of all states: a batch of (`rule`, `result`), `result` being the JSON line
    /// `scry run --format ndjson` prints, in the CLI's order.
    fn finalize<'py>(
        &self,
        py: Python<'py>,
        states: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let states = batches(states)?;
        let rules = &self.0;
        let out = py.detach(|| rules.finalize(&states)).map_err(engine_err)?;
        out.to_pyarrow(py)
    }

    /// One Boolean column per rule (named by rule id): the rows each rule's filters, window
    /// and exclusions keep.
    #[pyo3(signature = (batch, sets=None))]
    fn matches<'py>(
        &self,
        py: Python<'py>,
        batch: PyArrowType<RecordBatch>,
        sets: Option<PyArrowType<RecordBatch>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rules = &self.0;
        let out = py
            .detach(|| rules.matches(&batch.0, sets.as_ref().map(|s| &s.0)))
            .map_err(engine_err)?;
        out.to_pyarrow(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "<scry.Rules: {} rules{}>",
            self.0.rule_ids().len(),
            if self.0.has_sets() { ", with sets" } else { "" }
        )
    }
}

#[pymethods]
impl PyEvaluator {
    /// Adds one batch of events to the state.
    fn update(&self, py: Python<'_>, batch: PyArrowType<RecordBatch>) -> PyResult<()> {
        // The lock is taken without the GIL: a thread waiting for it must not hold the GIL
        // that the holder needs to return.
        py.detach(|| {
            let mut ev = self.0.lock().map_err(poisoned)?;
            ev.update(&batch.0).map_err(engine_err)
        })
    }

    /// The partial state so far (state schema); the evaluator starts again empty.
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = py.detach(|| self.0.lock().map_err(poisoned)?.state().map_err(engine_err))?;
        state.to_pyarrow(py)
    }
}

/// Rule sources: one file's text, or a list of (file name, text).
fn sources(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    if let Ok(text) = obj.cast::<PyString>() {
        return Ok(vec![("rules.scry".to_owned(), text.to_str()?.to_owned())]);
    }
    obj.try_iter()?
        .map(|item| item?.extract::<(String, String)>())
        .collect::<PyResult<_>>()
        .map_err(|e| {
            PyTypeError::new_err(format!(
                "sources: a str (one rule file's text) or a list of (name, text): {e}"
            ))
        })
}

/// Compiles rule sources. `now` (RFC 3339) pins the clock of the rules' windows (default:
/// the wall clock at compile time); `table` names the table of rows without a `Type` column.
#[pyfunction]
#[pyo3(signature = (sources, now=None, table=None))]
fn compile(
    py: Python<'_>,
    sources: &Bound<'_, PyAny>,
    now: Option<String>,
    table: Option<String>,
) -> PyResult<PyRules> {
    let sources = self::sources(sources)?;
    let opts = sa::Options { now, table };
    let rules = py
        .detach(|| sa::Rules::compile(&sources, &opts))
        .map_err(engine_err)?;
    Ok(PyRules(rules))
}

/// The schema of every state batch (pyarrow.Schema).
#[pyfunction]
fn state_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    sa::state_schema().as_ref().to_pyarrow(py)
}

/// Batches as Arrow IPC stream bytes (to broadcast the merged sets, to store states).
#[pyfunction]
fn to_ipc<'py>(py: Python<'py>, batches: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let batches = self::batches(batches)?;
    let bytes = py.detach(|| sa::to_ipc(&batches)).map_err(engine_err)?;
    Ok(PyBytes::new(py, &bytes))
}

/// The batches of Arrow IPC stream bytes.
#[pyfunction]
fn from_ipc<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyList>> {
    let batches = py.detach(|| sa::from_ipc(bytes)).map_err(engine_err)?;
    let items = batches
        .iter()
        .map(|b| b.to_pyarrow(py))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ScryError", m.py().get_type::<ScryError>())?;
    m.add_class::<PyRules>()?;
    m.add_class::<PyEvaluator>()?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(state_schema, m)?)?;
    m.add_function(wrap_pyfunction!(to_ipc, m)?)?;
    m.add_function(wrap_pyfunction!(from_ipc, m)?)?;
    Ok(())
}
