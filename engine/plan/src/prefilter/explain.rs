//! `scry explain`'s text for the prefilter.

use super::{folds_to_ascii, BodyNeed, Prefilter};
use std::fmt;

impl fmt::Display for Prefilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prefilter::Off(why) => writeln!(f, "prefilter: off ({why})"),
            Prefilter::On(a) => {
                writeln!(
                    f,
                    "prefilter: {} anchor(s), searched ASCII-case-insensitively in each raw line; a line with none is not parsed",
                    a.anchors.len()
                )?;
                let triggers: Vec<String> = folds_to_ascii()
                    .iter()
                    .map(|c| format!("U+{:04X}", c.chars().next().map_or(0, u32::from)))
                    .collect();
                writeln!(
                    f,
                    "  always parsed: lines with a \\u escape, an Event Hub batch, a JSON array, or {} (fold to ASCII){}",
                    triggers.join(" "),
                    if a.windows {
                        ""
                    } else {
                        ", and lines that may be Windows events (some anchor may not hold on their mapped rows)"
                    }
                )?;
                for (table, bodies) in &a.per_table {
                    writeln!(f, "  table {table}:")?;
                    for BodyNeed {
                        who,
                        anchors: needs,
                        fallback,
                    } in bodies
                    {
                        let needs: Vec<String> = needs
                            .iter()
                            .map(|n| serde_json::Value::String(n.clone()).to_string())
                            .collect();
                        let any = if needs.is_empty() {
                            "nothing can pass".to_string()
                        } else {
                            needs.join(" | ")
                        };
                        let note = if *fallback {
                            " (no literal to prove: the table's name, or a key only this table has, for records naming no table)"
                        } else {
                            ""
                        };
                        writeln!(f, "    {who}: {any}{note}")?;
                    }
                }
                Ok(())
            }
        }
    }
}
