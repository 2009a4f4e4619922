//! `scry run --report report.html`: one self-contained HTML file an analyst opens after a bulk
//! run: the run summary (read = evaluated + skipped, inputs, skips and why), hits per rule and
//! per severity, a timeline per device of when each rule first and last fired, the result rows
//! in a sortable table, and what each exclusion suppressed.
//!
//! Self-contained: styles, the timeline (inline SVG, drawn here with linear scales only) and
//! the small script (table sorting and a self-check of the page's figures) are in the file;
//! nothing is fetched when it is viewed. Everything that comes from events or rules is
//! HTML-escaped ([`html::esc`]). [`model`] gathers the figures, [`html`] and [`timeline`] draw.

mod html;
mod model;
mod timeline;

use scry_engine::plan::Plan;
use scry_engine::run::RunOutcome;

/// Writes the report of a run into `file` (created, and checked, before the run).
pub fn write(
    mut file: std::fs::File,
    plan: &Plan,
    outcome: &RunOutcome,
    now: i64,
) -> std::io::Result<()> {
    let m = model::Model::of(plan, outcome, now);
    std::io::Write::write_all(&mut file, html::page(&m).as_bytes())
}
