//! Writes synthetic Defender XDR events (JSON lines) to stdout, for load tests and for looking
//! at what the benchmarks read.
//!
//! ```text
//! cargo run --release --example gen_events -- --seed 7 --rows 100000 --shape flat \
//!     [--match-rate 0.0005] [--near-miss-rate 0.005] [--suppressed-share 0.1] \
//!     [--window-hours 120] > events.jsonl
//! ```
//!
//! A summary of what was written (records, positives, expected result groups per table) goes
//! to stderr. The output is a pure function of the arguments (see `benches/gen/mod.rs`), so
//! two runs with the same arguments give identical bytes.

// Not `mod gen`: `gen` is a reserved keyword from edition 2024 on.
#[path = "../benches/gen/mod.rs"]
mod generator;

use generator::{Config, Shape};
use std::io::{BufWriter, Write};
use std::process::ExitCode;

const USAGE: &str = "usage: gen_events [--seed N] [--rows N] [--shape flat|storage|eventhub] \
[--match-rate F] [--near-miss-rate F] [--suppressed-share F] [--window-hours N]";

fn parse_args(args: &[String]) -> Result<Config, String> {
    let mut cfg = Config::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        const FLAGS: &[&str] = &[
            "--seed",
            "--rows",
            "--shape",
            "--match-rate",
            "--near-miss-rate",
            "--suppressed-share",
            "--window-hours",
        ];
        if !FLAGS.contains(&flag.as_str()) {
            return Err(format!("unknown argument {flag:?}"));
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        let bad = |what: &str| format!("{flag}: {value:?} is not {what}");
        match flag.as_str() {
            "--seed" => cfg.seed = value.parse().map_err(|_| bad("an unsigned integer"))?,
            "--rows" => cfg.rows = value.parse().map_err(|_| bad("an unsigned integer"))?,
            "--shape" => {
                cfg.shape = Shape::parse(value).ok_or_else(|| bad("flat, storage or eventhub"))?
            }
            "--match-rate" => cfg.match_rate = value.parse().map_err(|_| bad("a number"))?,
            "--near-miss-rate" => {
                cfg.near_miss_rate = value.parse().map_err(|_| bad("a number"))?
            }
            "--suppressed-share" => {
                cfg.suppressed_share = value.parse().map_err(|_| bad("a number"))?
            }
            "--window-hours" => {
                cfg.window_hours = value.parse().map_err(|_| bad("an unsigned integer"))?
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    cfg.validate()?;
    Ok(cfg)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match parse_args(&args) {
        Ok(cfg) => cfg,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("gen_events: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 20, stdout);
    match generator::generate(&cfg, &mut out).and_then(|t| out.flush().map(|()| t)) {
        Ok(truth) => {
            eprintln!("gen_events: {}", truth.summary());
            ExitCode::SUCCESS
        }
        // A closed pipe (`| head`) is how a consumer says it has enough.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_events: {e}");
            ExitCode::FAILURE
        }
    }
}
