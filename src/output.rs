//! Result writers: a readable table, JSON lines, CSV. Each is a small [`Sink`].

use crate::escape::escape;
use scry_engine::exec::{value_to_json, ResultRow};
use scry_engine::plan::Plan;
use scry_engine::value::Value;
use std::io::{self, Write};

/// Receives result rows in their final order.
pub trait Sink {
    /// One result row.
    fn row(&mut self, plan: &Plan, row: &ResultRow) -> io::Result<()>;
    /// After the last row.
    fn finish(&mut self, _plan: &Plan) -> io::Result<()> {
        Ok(())
    }
}

/// A cell as text: strings bare, null empty, others as their JSON (datetimes in Kusto's form).
/// The table and CSV writers print cells this way, and the SOC formats' messages quote them so.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Null => String::new(),
        other => match value_to_json(other) {
            serde_json::Value::String(s) => s,
            j => j.to_string(),
        },
    }
}

/// `--format ndjson`: `{"rule": id, "name": ..., "title": ..., <columns in output order>}`
/// per line.
pub struct NdJson<W: Write>(pub W);

impl<W: Write> Sink for NdJson<W> {
    fn row(&mut self, plan: &Plan, row: &ResultRow) -> io::Result<()> {
        let mut s = row.to_json_line(plan);
        s.push('\n');
        self.0.write_all(s.as_bytes())
    }
    fn finish(&mut self, _: &Plan) -> io::Result<()> {
        self.0.flush()
    }
}

/// `--format csv`: buffered, because the header is the union of every rule's columns.
pub struct Csv<W: Write> {
    out: W,
    rows: Vec<ResultRow>,
}

impl<W: Write> Csv<W> {
    /// A CSV writer.
    pub fn new(out: W) -> Self {
        Csv {
            out,
            rows: Vec::new(),
        }
    }
}

impl<W: Write> Sink for Csv<W> {
    fn row(&mut self, _: &Plan, row: &ResultRow) -> io::Result<()> {
        self.rows.push(row.clone());
        Ok(())
    }
    fn finish(&mut self, plan: &Plan) -> io::Result<()> {
        let mut header: Vec<String> = vec!["rule".into(), "name".into(), "title".into()];
        // A rule's own column called `rule`, `name` or `title` gets a column of its own after
        // these three, rather than overwriting one of them.
        const FIXED: usize = 3;
        for r in &self.rows {
            for c in &plan.rules[r.rule].output {
                if !header[FIXED..].contains(&c.name) {
                    header.push(c.name.clone());
                }
            }
        }
        let mut w = csv::Writer::from_writer(&mut self.out);
        w.write_record(&header).map_err(io::Error::other)?;
        for r in &self.rows {
            let rule = &plan.rules[r.rule];
            let mut rec = vec![String::new(); header.len()];
            rec[0] = rule.id().to_string();
            rec[1] = rule.name.clone();
            rec[2] = rule.meta.title.clone().unwrap_or_else(|| rule.name.clone());
            for (c, v) in rule.output.iter().zip(&r.values) {
                if let Some(i) = header[FIXED..].iter().position(|h| h == &c.name) {
                    rec[FIXED + i] = cell(v);
                }
            }
            w.write_record(&rec).map_err(io::Error::other)?;
        }
        w.flush()?;
        Ok(())
    }
}

/// The default on a terminal: one aligned table per rule, headed by its title, name and id.
/// Every cell, name and title is [`escape`]d: this is the printer a terminal interprets.
pub struct Table<W: Write> {
    out: W,
    rows: Vec<ResultRow>,
}

impl<W: Write> Table<W> {
    /// A table writer.
    pub fn new(out: W) -> Self {
        Table {
            out,
            rows: Vec::new(),
        }
    }
}

impl<W: Write> Sink for Table<W> {
    fn row(&mut self, _: &Plan, row: &ResultRow) -> io::Result<()> {
        self.rows.push(row.clone());
        Ok(())
    }
    fn finish(&mut self, plan: &Plan) -> io::Result<()> {
        let mut i = 0;
        while i < self.rows.len() {
            let ri = self.rows[i].rule;
            let j = self.rows[i..]
                .iter()
                .position(|r| r.rule != ri)
                .map_or(self.rows.len(), |k| i + k);
            let rule = &plan.rules[ri];
            let heading = match &rule.meta.title {
                Some(t) => format!("{t} [{}] ({}): {} result(s)", rule.name, rule.id(), j - i),
                None => format!("{} ({}): {} result(s)", rule.name, rule.id(), j - i),
            };
            writeln!(self.out, "{}", escape(&heading))?;
            let header: Vec<String> = rule
                .output
                .iter()
                .map(|c| escape(&c.name).into_owned())
                .collect();
            let body: Vec<Vec<String>> = self.rows[i..j]
                .iter()
                .map(|r| {
                    r.values
                        .iter()
                        .map(|v| escape(&cell(v)).into_owned())
                        .collect()
                })
                .collect();
            let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
            for r in &body {
                for (k, c) in r.iter().enumerate() {
                    width[k] = width[k].max(c.chars().count());
                }
            }
            let line = |cells: &[String]| -> String {
                let padded: Vec<String> = cells
                    .iter()
                    .enumerate()
                    .map(|(k, c)| format!("{c}{}", " ".repeat(width[k] - c.chars().count())))
                    .collect();
                format!("  {}", padded.join(" | ")).trim_end().to_string()
            };
            writeln!(self.out, "{}", line(&header))?;
            writeln!(
                self.out,
                "  {}",
                width
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("-+-")
            )?;
            for r in &body {
                writeln!(self.out, "{}", line(r))?;
            }
            writeln!(self.out)?;
            i = j;
        }
        if self.rows.is_empty() {
            writeln!(self.out, "no results")?;
        }
        self.out.flush()
    }
}
