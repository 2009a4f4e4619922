//! Where a result row's event was read, so that an output can point back at it (SARIF's
//! location): the input, and the line (or record) in it.
//!
//! A row without `summarize` comes from one event. A `summarize` row comes from many; it
//! points at the first of them in input order, the smallest [`Origin`]. Taking the smallest
//! is associative and commutative like the aggregates' own merges, so the answer is the same
//! for any thread count, any split of the input and any order of merging partial states.

use serde::{Deserialize, Serialize};

/// One event's place in the run's inputs. Ordered as the input is read: by input, then line,
/// then record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The input's index in the run's input list (`scry_run::RunOutcome::inputs`).
    pub input: usize,
    /// The 1-based line where the record starts in a text input (JSON lines, a JSON document,
    /// CSV; counted after decompression); the 1-based row in a Parquet or Arrow file; 0 in
    /// an EVTX file, whose records have no lines.
    pub line: u64,
    /// The record's 1-based index in an EVTX file (where `line` is 0); 0 elsewhere, where the
    /// line says where. Records that share a line (an Event Hub message's `records`) share
    /// their origin, so which of them comes first does not matter.
    pub record: u64,
}

impl Origin {
    /// Keeps in `slot` the earlier of it and `other`.
    pub fn keep_first(slot: &mut Option<Origin>, other: Option<Origin>) {
        if let Some(o) = other {
            if slot.is_none_or(|s| o < s) {
                *slot = Some(o);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Origin;

    fn at(input: usize, line: u64, record: u64) -> Option<Origin> {
        Some(Origin {
            input,
            line,
            record,
        })
    }

    #[test]
    fn the_first_in_input_order_is_kept_whatever_the_merge_order() {
        let all = [at(1, 3, 1), at(0, 9, 1), None, at(0, 2, 4), at(0, 2, 3)];
        // Every order of merging gives (input 0, line 2, record 3).
        let mut order: Vec<usize> = (0..all.len()).collect();
        for _ in 0..all.len() {
            order.rotate_left(1);
            for rev in [false, true] {
                let mut slot = None;
                let mut seq = order.clone();
                if rev {
                    seq.reverse();
                }
                for i in seq {
                    Origin::keep_first(&mut slot, all[i]);
                }
                assert_eq!(slot, at(0, 2, 3));
            }
        }
        let mut none = None;
        Origin::keep_first(&mut none, None);
        assert_eq!(none, None);
    }
}
