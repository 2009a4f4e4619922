//! The run summary on stderr: it always reconciles (read = evaluated + skipped), names what
//! each input gave, and says per rule what it found, condensing the rules that found nothing
//! so that a run of 400 rules does not scroll its results off the terminal.

use crate::escape::say;
use scry_engine::io;
use scry_engine::plan::Plan;
use scry_engine::run::RunOutcome;

/// What the summary needs beyond the outcome.
pub struct Options {
    /// Inputs after expanding folders and archives.
    pub inputs: usize,
    /// Worker threads.
    pub threads: usize,
    /// `--max-groups`.
    pub max_groups: usize,
    /// `--verbose`: one line per rule, also for rules without results.
    pub verbose: bool,
}

/// Prints the summary; returns the bytes read (for `--profile`).
pub fn print(plan: &Plan, outcome: &RunOutcome, o: &Options) -> u64 {
    let st = &outcome.stats;
    let skipped = st.skipped_total();
    let bytes: u64 = outcome.inputs.iter().map(|i| i.stats.bytes).sum();
    say!(
        "scry: {} input(s), {} bytes, {} record(s) read: {} evaluated, {} skipped ({} thread(s))",
        o.inputs,
        bytes,
        st.read,
        st.evaluated,
        skipped,
        o.threads
    );
    for i in &outcome.inputs {
        match &i.error {
            // An input that could not be opened has no format to speak of.
            Some(_) if i.stats.bytes == 0 && i.stats.records == 0 => {
                say!("  input {}: unreadable (0 records)", i.name)
            }
            Some(_) => say!(
                "  input {}: {} ({} records from {} bytes, then unreadable)",
                i.name,
                i.stats.format,
                i.stats.records,
                i.stats.bytes
            ),
            None => say!(
                "  input {}: {} ({} records)",
                i.name,
                i.stats.format,
                i.stats.records
            ),
        }
    }
    if st.ruled_out > 0 {
        say!(
            "  {} record(s) evaluated by the prefilter alone: they hold none of the rules' required literals (--no-prefilter parses them)",
            st.ruled_out
        );
    }
    for (reason, n) in &st.skipped {
        say!("  skipped {n}: {reason}");
    }
    if !plan.sets.is_empty() {
        if outcome.two_pass {
            say!("  sets collected in a first pass over the input:");
        } else {
            let spilled = if st.spilled_bytes > 0 {
                format!(" ({} bytes of them in a temporary file)", st.spilled_bytes)
            } else {
                String::new()
            };
            say!(
                "  sets collected in one pass (an input can be read once only), {} candidate row(s) held until they were complete{spilled}:",
                st.held
            );
        }
        for (set, n) in plan.sets.iter().zip(&outcome.set_sizes) {
            say!("    {}: {n} value(s)", set.name);
        }
    }
    for line in st.decided_lines() {
        say!("  {line}");
    }
    for (t, n) in &st.per_table {
        say!("  table {t}: {n} record(s)");
    }
    rules(plan, outcome, o);
    for (ri, rs) in st.rules.iter().enumerate() {
        if rs.evicted > 0 {
            say!(
                "scry: warning: rule {}: {} event(s) evicted past the cap of events kept per key and step; its results are incomplete",
                plan.rules[ri].name, rs.evicted
            );
        }
        if rs.capped_pairs > 0 {
            say!(
                "scry: warning: rule {}: {} joined row(s) past the cap of rows per key were left out; its results are incomplete",
                plan.rules[ri].name, rs.capped_pairs
            );
        }
        if rs.over_budget > 0 {
            say!(
                "scry: warning: rule {}: the group budget (--max-groups {}) was spent; {} row(s) needing a new group were left out, its results are incomplete",
                plan.rules[ri].name, o.max_groups, rs.over_budget
            );
        }
    }
    empty_inputs(outcome);
    bytes
}

/// One line per rule that found or suppressed something, or has a note; the rest in one
/// count unless `--verbose`.
fn rules(plan: &Plan, outcome: &RunOutcome, o: &Options) {
    let mut quiet = 0usize;
    for (ri, rs) in outcome.stats.rules.iter().enumerate() {
        let rule = &plan.rules[ri];
        let supp: u64 = rs.suppressed.iter().sum();
        let nothing = rs.results == 0
            && rs.passed == 0
            && supp == 0
            && rs.capped_sets == 0
            && rs.over_budget == 0
            && rs.evicted == 0
            && rs.capped_pairs == 0
            && rs.untimed == 0;
        if nothing && !o.verbose {
            quiet += 1;
            continue;
        }
        say!(
            "  rule {}: {} result(s) from {} matching record(s), {} suppressed",
            rule.name,
            rs.results,
            rs.passed,
            supp
        );
        for (x, n) in rule.exclusions.iter().zip(&rs.suppressed) {
            if *n > 0 {
                say!("    except \"{}\": {n} suppressed", x.name);
            }
        }
        if rs.capped_sets > 0 {
            say!(
                "    make_set reached its cap in {} group(s): the smallest values were kept",
                rs.capped_sets
            );
        }
        if rs.over_budget > 0 {
            say!(
                "    group budget (--max-groups {}) spent: {} row(s) needing a new group left out; results incomplete",
                o.max_groups, rs.over_budget
            );
        }
        if let (Some(tl), true) = (&rule.timeline, rs.evicted > 0) {
            say!(
                "    {} event(s) evicted, the oldest first: the results cover the latest {} per key and step",
                rs.evicted, tl.max_events
            );
        }
        if let (Some(tl), true) = (&rule.timeline, rs.capped_pairs > 0) {
            say!(
                "    {} joined row(s) left out: at most {} rows per key",
                rs.capped_pairs,
                tl.max_events
            );
        }
        if rs.untimed > 0 {
            say!(
                "    {} matching record(s) without a valid Timestamp: no span can hold them",
                rs.untimed
            );
        }
    }
    if quiet > 0 {
        let of = outcome.stats.rules.len();
        say!(
            "  {quiet} of {of} rule(s) had no results and no matching records (--verbose lists them)"
        );
    }
}

/// An input that gave no record at all (not an event file, empty) or only skipped ones is
/// worth a warning: the summary's totals alone would not say that one file of fifty was
/// never really read.
fn empty_inputs(outcome: &RunOutcome) {
    for i in &outcome.inputs {
        if i.error.is_some() {
            // Already reported as an error.
            continue;
        }
        if i.stats.format.framing == io::Framing::Unrecognized {
            say!("scry: warning: {}: {}", i.name, i.stats.format);
        } else if i.stats.records == 0 {
            say!(
                "scry: warning: {}: no records in it ({})",
                i.name,
                i.stats.format
            );
        } else if i.stats.skipped == i.stats.records {
            say!(
                "scry: warning: {}: all {} record(s) skipped, none evaluated",
                i.name,
                i.stats.records
            );
        }
    }
}
