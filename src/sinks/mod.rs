//! Writers for the tools a SOC feeds results into: SARIF 2.1.0 (code-scanning dashboards),
//! OCSF Detection Findings (SIEMs and data lakes), Timesketch timelines. Each is a
//! [`Sink`](crate::output::Sink) like the table, JSON-lines and CSV writers; what they share
//! (which column is the time, the device, the user; severities) is in [`fields`].
//!
//! Every writer's output depends only on the plan, the result rows (already in their final,
//! thread-independent order) and [`RunInfo`]: the same bytes for any thread count.

pub mod fields;
pub mod ocsf;
pub mod sarif;
pub mod timesketch;

/// What the writers know about the run besides the rows.
pub struct RunInfo {
    /// The input names as the run summary prints them, in input order (a row's
    /// [`Origin::input`](scry_engine::origin::Origin::input) indexes this).
    pub inputs: Vec<String>,
    /// Each input's framing, as detected: whether a row's origin is a line, a row of a
    /// columnar file or an EVTX record.
    pub framings: Vec<scry_engine::io::Framing>,
    /// The evaluation clock (`--now`, else the start of the run), in ticks.
    pub now: i64,
}

/// scry's version, as the formats' tool/product fields carry it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

impl RunInfo {
    /// The run's inputs and clock.
    pub fn of(outcome: &scry_engine::run::RunOutcome, now: i64) -> RunInfo {
        RunInfo {
            inputs: outcome.inputs.iter().map(|i| i.name.clone()).collect(),
            framings: outcome
                .inputs
                .iter()
                .map(|i| i.stats.format.framing)
                .collect(),
            now,
        }
    }
}
