//! A Kafka-protocol broker on 127.0.0.1 for trying `scry stream` without installing Kafka:
//! librdkafka's mock cluster (the one the tests use), listening on loopback ports, with the
//! topics `scry stream` needs, optionally filled with the lines of a file (one message each).
//!
//! ```text
//! cargo run --release --features kafka --example kafka_loopback -- \
//!     [--brokers 3] [--partitions 6] [--produce FILE] [--repeat N] [--group scry]
//! ```
//!
//! It prints `brokers HOST:PORT,...` on stdout, then serves until standard input closes (or
//! Ctrl-C). See docs/streaming.md.

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Args {
    brokers: i32,
    partitions: i32,
    produce: Option<String>,
    repeat: u32,
    group: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        brokers: 3,
        partitions: 6,
        produce: None,
        repeat: 1,
        group: "scry".into(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--brokers" => a.brokers = value()?.parse().map_err(|e| format!("{flag}: {e}"))?,
            "--partitions" => {
                a.partitions = value()?.parse().map_err(|e| format!("{flag}: {e}"))?
            }
            "--produce" => a.produce = Some(value()?),
            "--repeat" => a.repeat = value()?.parse().map_err(|e| format!("{flag}: {e}"))?,
            "--group" => a.group = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn run(a: Args) -> Result<(), String> {
    let cluster = MockCluster::new(a.brokers).map_err(|e| e.to_string())?;
    let replicas = a.brokers.min(3);
    for (topic, n) in [
        ("events", a.partitions),
        (&*format!("{}.partials", a.group), a.partitions),
        ("alerts", 1),
        ("dead", 1),
    ] {
        cluster
            .create_topic(topic, n, replicas)
            .map_err(|e| format!("{topic}: {e}"))?;
    }
    let brokers = cluster.bootstrap_servers();
    println!("brokers {brokers}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    if let Some(path) = &a.produce {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("linger.ms", "20")
            .create()
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut sent = 0u64;
        for _ in 0..a.repeat {
            for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
                let key = format!("k{i}");
                let mut record = BaseRecord::to("events").key(&key).payload(line);
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((_, r)) => {
                            // The queue is full: let deliveries drain.
                            record = r;
                            producer.poll(Duration::from_millis(50));
                        }
                    }
                }
                sent += 1;
            }
        }
        producer
            .flush(Duration::from_secs(120))
            .map_err(|e| e.to_string())?;
        eprintln!(
            "produced {sent} messages to `events` in {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
    eprintln!("serving on {brokers}; close standard input (Ctrl-D) to stop");
    for line in std::io::stdin().lock().lines() {
        line.map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kafka_loopback: {e}");
            ExitCode::from(2)
        }
    }
}
