//! The timeline: per device a band, per rule in it a bar from first to last seen, on one
//! shared linear time axis. Inline SVG, so the page needs nothing to draw it.

use super::html::esc;
use super::model::Span;
use crate::sinks::fields::Severity;
use scry_engine::kql::time::format_datetime;
use std::fmt::Write;

const WIDTH: f64 = 960.0;
/// Left of the plot: room for device and rule labels.
const LEFT: f64 = 300.0;
const RIGHT: f64 = 20.0;
const ROW: f64 = 18.0;
const DEVICE_GAP: f64 = 22.0;
const AXIS: f64 = 28.0;
const TICKS: i64 = 6;

/// The CSS class of a severity's colour.
pub fn sev_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "sev-critical",
        Severity::High => "sev-high",
        Severity::Medium => "sev-medium",
        Severity::Low => "sev-low",
        Severity::Informational => "sev-info",
        Severity::Unknown => "sev-unknown",
    }
}

/// A linear map of ticks onto the plot's x range.
struct Scale {
    t0: i64,
    t1: i64,
}

impl Scale {
    fn x(&self, t: i64) -> f64 {
        let span = (self.t1 - self.t0).max(1) as f64;
        LEFT + (t - self.t0) as f64 / span * (WIDTH - LEFT - RIGHT)
    }
}

/// At most `n` characters of `s`, keeping its end: titles of one pack share their start
/// ("Remote Management and Monitoring tool - ..."), and the end tells them apart.
fn shorten(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        s.to_string()
    } else {
        let mut t = String::from("…");
        t.extend(s.chars().skip(count - (n - 1)));
        t
    }
}

/// The SVG of the timeline; empty text when no result row has a device and a time.
pub fn svg(devices: &[(String, Vec<Span>)]) -> String {
    let spans = devices.iter().flat_map(|(_, s)| s);
    let (Some(t0), Some(t1)) = (
        spans.clone().map(|s| s.first).min(),
        spans.map(|s| s.last).max(),
    ) else {
        return String::new();
    };
    // A single instant still gets an axis: a minute either side.
    let pad = if t1 == t0 { 600_000_000 } else { 0 };
    let scale = Scale {
        t0: t0 - pad,
        t1: t1 + pad,
    };
    let rows: usize = devices.iter().map(|(_, s)| s.len() + 1).sum();
    let height = AXIS + rows as f64 * ROW + devices.len() as f64 * DEVICE_GAP;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="first and last seen per rule and device">"#
    );
    // Axis: evenly spaced ticks over the span.
    for k in 0..=TICKS {
        let t = scale.t0 + (scale.t1 - scale.t0) / TICKS * k;
        let x = scale.x(t);
        let label = format_datetime(t);
        // The outer labels stay inside the plot.
        let anchor = match k {
            0 => "start",
            TICKS => "end",
            _ => "middle",
        };
        let _ = write!(
            o,
            r#"<line class="grid" x1="{x:.1}" y1="{AXIS}" x2="{x:.1}" y2="{height}"/><text class="tick" x="{x:.1}" y="12" text-anchor="{anchor}">{}</text><text class="tick" x="{x:.1}" y="24" text-anchor="{anchor}">{}</text>"#,
            &label[..10],
            &label[11..19]
        );
    }
    let mut y = AXIS;
    for (device, spans) in devices {
        y += DEVICE_GAP / 2.0;
        let _ = write!(
            o,
            r#"<text class="device" x="4" y="{:.1}">{}</text>"#,
            y + ROW * 0.7,
            esc(&shorten(device, 40))
        );
        y += ROW;
        for s in spans {
            let (x0, x1) = (scale.x(s.first), scale.x(s.last));
            let cy = y + ROW / 2.0;
            let tip = format!(
                "{device} · {}: first {}, last {} ({} result row(s))",
                s.title,
                format_datetime(s.first),
                format_datetime(s.last),
                s.rows
            );
            let _ = write!(
                o,
                r#"<g class="span {}" data-rule="{}"><title>{}</title><text class="rule" x="16" y="{:.1}">{}</text>"#,
                sev_class(s.severity),
                esc(&s.rule),
                esc(&tip),
                y + ROW * 0.7,
                esc(&shorten(&s.title, 40))
            );
            if x1 - x0 < 4.0 {
                let _ = write!(
                    o,
                    r#"<circle cx="{:.1}" cy="{cy:.1}" r="4"/>"#,
                    (x0 + x1) / 2.0
                );
            } else {
                let _ = write!(
                    o,
                    r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="3"/>"#,
                    y + 3.0,
                    x1 - x0,
                    ROW - 6.0
                );
            }
            o.push_str("</g>");
            y += ROW;
        }
        y += DEVICE_GAP / 2.0;
    }
    o.push_str("</svg>");
    o
}
