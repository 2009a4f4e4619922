//! The page: sections of tables, the timeline, one stylesheet and one small script, all
//! inline. Every text from events or rules goes through [`esc`].

use super::model::Model;
use super::timeline::{self, sev_class};
use crate::sinks::fields::Severity;
use scry_engine::kql::time::format_datetime;
use std::fmt::Write;

/// HTML-escapes text for element content and quoted attribute values alike. NUL, which HTML
/// parsers drop or replace unpredictably, becomes U+FFFD.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\0' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#b8c0d0}
main{padding:8px 24px 40px;max-width:1280px}section{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:14px 0;padding:10px 16px}
h2{font-size:16px;margin:4px 0 10px}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 16px;min-width:120px}.card b{display:block;font-size:24px}
.card span.label{color:#5b6477;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{background:#f0f2f5;font-weight:600;white-space:nowrap}table.sortable th{cursor:pointer}table.sortable th[data-dir=asc]::after{content:" ▲"}table.sortable th[data-dir=desc]::after{content:" ▼"}
td.num,th.num{text-align:right}td.details{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.sev{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px}
.sev-critical{fill:#7b1fa2;background:#7b1fa2}.sev-high{fill:#d32f2f;background:#d32f2f}.sev-medium{fill:#f57c00;background:#f57c00}
.sev-low{fill:#1976d2;background:#1976d2}.sev-info{fill:#607d8b;background:#607d8b}.sev-unknown{fill:#8d8d8d;background:#8d8d8d}
.bar{height:10px;border-radius:2px;display:inline-block;vertical-align:middle}
svg#timeline{max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#1d2330}svg text.device{font-weight:600}svg text.tick{fill:#5b6477;font-size:11px}svg line.grid{stroke:#eceef2}
svg g.span text.rule{fill:#1d2330}.muted{color:#5b6477}#selfcheck{font-size:12px;color:#5b6477}
"#;

const SCRIPT: &str = r#"
(function () {
  // Sortable tables: click a header; numbers by value (data-sort where the cell shows text).
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, i) {
      th.addEventListener('click', function () {
        var asc = th.dataset.dir !== 'asc';
        table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
        th.dataset.dir = asc ? 'asc' : 'desc';
        var key = function (tr) { var c = tr.cells[i]; return c.dataset.sort !== undefined ? c.dataset.sort : c.textContent; };
        var num = th.classList.contains('num');
        var body = table.tBodies[0];
        Array.prototype.slice.call(body.rows).sort(function (a, b) {
          var x = key(a), y = key(b);
          var d = num ? Number(x) - Number(y) : x.localeCompare(y);
          return asc ? d : -d;
        }).forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  // Self-check: the page's figures agree with each other (the test compares them with the
  // run summary scry printed).
  var fig = function (n) { return Number(document.querySelector('[data-figure="' + n + '"]').textContent); };
  var sum = function (sel) {
    return Array.prototype.reduce.call(document.querySelectorAll(sel), function (a, e) { return a + Number(e.textContent); }, 0);
  };
  var rows = document.querySelectorAll('#results tbody tr').length;
  var checks = [
    ['read = evaluated + skipped', fig('read') === fig('evaluated') + fig('skipped')],
    ['skipped = the skips by reason', fig('skipped') === sum('td.skip-count')],
    ['results = rows of the results table', fig('results') === rows],
    ['results = hits per rule', fig('results') === sum('td.rule-results')],
    ['results = hits per severity', fig('results') === sum('td.sev-results')],
    ['suppressed = the exclusions', fig('suppressed') === sum('td.excl-count')]
  ];
  var failed = checks.filter(function (c) { return !c[1]; }).map(function (c) { return c[0]; });
  var out = document.getElementById('selfcheck');
  out.dataset.ok = failed.length === 0 ? 'true' : 'false';
  out.textContent = (failed.length === 0 ? 'selfcheck ok' : 'selfcheck FAILED: ' + failed.join('; ')) +
    ' read=' + fig('read') + ' evaluated=' + fig('evaluated') + ' skipped=' + fig('skipped') +
    ' results=' + fig('results') + ' rows=' + rows + ' suppressed=' + fig('suppressed');
  if (failed.length) { console.error('scry report ' + out.textContent); }
})();
"#;

fn sev_badge(s: Severity) -> String {
    format!(
        r#"<span class="sev {}">{}</span>"#,
        sev_class(s),
        s.caption()
    )
}

fn card(o: &mut String, label: &str, figure: &str, n: u64) {
    let _ = write!(
        o,
        r#"<div class="card"><b data-figure="{figure}">{n}</b><span class="label">{}</span></div>"#,
        esc(label)
    );
}

/// The whole page.
pub fn page(m: &Model) -> String {
    let mut o = String::new();
    let suppressed: u64 = m
        .rules
        .iter()
        .flat_map(|r| &r.exclusions)
        .map(|(_, n)| n)
        .sum();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    // Nothing may load from elsewhere: a strict policy makes any such attempt an error.
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">");
    o.push_str("<title>scry run report</title><style>");
    o.push_str(STYLE);
    o.push_str("</style></head><body><header><h1>scry run report</h1>");
    let _ = write!(
        o,
        "<p>evaluation clock {} · {} rule(s) · {} input(s)</p></header><main>",
        format_datetime(m.now),
        m.rule_count,
        m.inputs.len()
    );

    o.push_str(r#"<section id="summary"><h2>Run summary</h2><div class="cards">"#);
    card(&mut o, "records read", "read", m.read);
    card(&mut o, "evaluated", "evaluated", m.evaluated);
    card(&mut o, "skipped", "skipped", m.skipped);
    card(&mut o, "results", "results", m.results.len() as u64);
    card(
        &mut o,
        "rules with results",
        "rules-hit",
        m.rules.iter().filter(|r| r.results > 0).count() as u64,
    );
    card(&mut o, "suppressed by exclusions", "suppressed", suppressed);
    o.push_str("</div>");
    let _ = write!(
        o,
        r#"<p class="muted">read = evaluated + skipped: {} = {} + {}{}</p>"#,
        m.read,
        m.evaluated,
        m.skipped,
        if m.ruled_out > 0 {
            format!(
                "; {} evaluated by the prefilter alone (they hold none of the rules' required literals)",
                m.ruled_out
            )
        } else {
            String::new()
        }
    );
    o.push_str(r#"<table id="inputs"><thead><tr><th>input</th><th>format</th><th class="num">records</th><th>error</th></tr></thead><tbody>"#);
    for i in &m.inputs {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td>{}</td><td class="num input-records">{}</td><td>{}</td></tr>"#,
            esc(&i.name),
            esc(&i.format),
            i.records,
            esc(i.error.as_deref().unwrap_or(""))
        );
    }
    o.push_str("</tbody></table></section>");

    o.push_str(r#"<section id="skips"><h2>Skipped records</h2>"#);
    if m.skip_reasons.is_empty() {
        o.push_str(r#"<p class="muted">none: every record read was evaluated.</p>"#);
    }
    o.push_str(
        r#"<table><thead><tr><th>reason</th><th class="num">records</th></tr></thead><tbody>"#,
    );
    for (reason, n) in &m.skip_reasons {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="num skip-count">{n}</td></tr>"#,
            esc(reason)
        );
    }
    o.push_str("</tbody></table>");
    if !m.skip_reports.is_empty() {
        o.push_str(r#"<h2>First skipped records</h2><table id="skip-reports"><thead><tr><th>where</th><th>why</th></tr></thead><tbody>"#);
        for (file, line, msg) in &m.skip_reports {
            let at = if *line == 0 {
                file.clone()
            } else {
                format!("{file}:{line}")
            };
            let _ = write!(o, "<tr><td>{}</td><td>{}</td></tr>", esc(&at), esc(msg));
        }
        o.push_str("</tbody></table>");
        if m.skip_unlisted > 0 {
            let _ = write!(
                o,
                r#"<p class="muted">{} more only counted (--max-skip-reports lists more).</p>"#,
                m.skip_unlisted
            );
        }
    }
    o.push_str("</section>");

    hits(&mut o, m);

    o.push_str(r#"<section id="timeline-section"><h2>Timeline per device: first and last seen per rule</h2>"#);
    let svg = timeline::svg(&m.timeline);
    if svg.is_empty() {
        o.push_str(r#"<p class="muted">no result row names a device and a time.</p>"#);
    } else {
        o.push_str(&svg);
    }
    if m.untimed > 0 {
        let _ = write!(
            o,
            r#"<p class="muted">{} result row(s) without a device or a time column are in the table below only.</p>"#,
            m.untimed
        );
    }
    o.push_str("</section>");

    o.push_str(r#"<section><h2>Results</h2><p class="muted">click a column to sort.</p><table id="results" class="sortable"><thead><tr><th>rule</th><th class="num">severity</th><th>device</th><th>user</th><th>first seen</th><th>last seen</th><th>details</th></tr></thead><tbody>"#);
    for r in &m.results {
        let t = |x: Option<i64>| x.map(format_datetime).unwrap_or_default();
        let _ = write!(
            o,
            r#"<tr><td title="{}">{}</td><td data-sort="{}">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="details">{}</td></tr>"#,
            esc(&r.rule),
            esc(&r.title),
            r.severity as u8,
            sev_badge(r.severity),
            esc(&r.device),
            esc(&r.user),
            t(r.first),
            t(r.last),
            esc(&r.details)
        );
    }
    o.push_str("</tbody></table></section>");

    o.push_str(r#"<section id="exclusions"><h2>Exclusions: what each suppressed</h2>"#);
    if suppressed == 0 {
        o.push_str(r#"<p class="muted">no exclusion suppressed a record.</p>"#);
    }
    o.push_str(r#"<table><thead><tr><th>rule</th><th>exclusion</th><th class="num">records suppressed</th></tr></thead><tbody>"#);
    for r in &m.rules {
        for (x, n) in &r.exclusions {
            let _ = write!(
                o,
                r#"<tr><td>{}</td><td>{}</td><td class="num excl-count">{n}</td></tr>"#,
                esc(&r.title),
                esc(x)
            );
        }
    }
    o.push_str("</tbody></table></section>");
    o.push_str(r#"<p id="selfcheck" data-ok="pending">selfcheck did not run</p></main><script>"#);
    o.push_str(SCRIPT);
    o.push_str("</script></body></html>\n");
    o
}

/// Hits per rule and per severity, with bars on a linear scale of the largest count.
fn hits(o: &mut String, m: &Model) {
    let max = m.rules.iter().map(|r| r.results).max().unwrap_or(0).max(1);
    o.push_str(r#"<section id="hits"><h2>Hits per rule</h2><table id="rules" class="sortable"><thead><tr><th>rule</th><th>id</th><th class="num">severity</th><th class="num">results</th><th class="num">matching records</th><th class="num">suppressed</th><th></th></tr></thead><tbody>"#);
    for r in &m.rules {
        let supp: u64 = r.exclusions.iter().map(|(_, n)| n).sum();
        let budget = if r.over_budget > 0 {
            format!(
                r#" <span class="muted">({} row(s) left out: group budget spent; results incomplete)</span>"#,
                r.over_budget
            )
        } else {
            String::new()
        };
        let _ = write!(
            o,
            r#"<tr><td title="{}">{}{budget}</td><td>{}</td><td data-sort="{}">{}</td><td class="num rule-results">{}</td><td class="num">{}</td><td class="num">{supp}</td><td><span class="bar {}" style="width:{}px"></span></td></tr>"#,
            esc(&r.name),
            esc(&r.title),
            esc(&r.id),
            r.severity as u8,
            sev_badge(r.severity),
            r.results,
            r.matching,
            sev_class(r.severity),
            r.results * 160 / max
        );
    }
    o.push_str("</tbody></table>");
    let smax = m
        .severities
        .iter()
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0)
        .max(1);
    o.push_str(r#"<h2>Hits per severity</h2><table id="severities"><thead><tr><th>severity</th><th class="num">results</th><th></th></tr></thead><tbody>"#);
    for (s, n) in &m.severities {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="num sev-results">{n}</td><td><span class="bar {}" style="width:{}px"></span></td></tr>"#,
            sev_badge(*s),
            sev_class(*s),
            n * 240 / smax
        );
    }
    o.push_str("</tbody></table></section>");
}
