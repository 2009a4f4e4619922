//! `scry stream`: the rules over Kafka topics (Event Hubs, Redpanda, MSK), as a consumer group.
//!
//! Each instance runs two consumers in one loop (docs/streaming.md has the whole design):
//!
//! 1. **Evaluate.** A member of group `G` reads the event topics. Each message is evaluated
//!    into partial states filed by time bucket ([`scry_engine::stream::Evaluator`]); each
//!    state is sent to the *partials* topic keyed by its rule and group key, tagged with
//!    where it came from (topic, partition, offset, index). Offsets are committed only after
//!    the producer has delivered every state of the messages before them, so a message whose
//!    states are not safely in the partials topic is read again by whoever owns its
//!    partition next. This stage holds no state between messages.
//! 2. **Merge and emit.** A member of group `G.merge` reads the partials topic: all states of
//!    one group land in one partition, and merge there ([`scry_engine::stream::WindowState`])
//!    exactly as the batch engine merges threads. It never commits: a partition it is given
//!    is read from its start (the topic's retention must cover the longest window), and
//!    states it has applied already (a source position it has seen, replayed after a
//!    rebalance of stage 1) are skipped, so no state counts twice. At each interval it emits
//!    the results that changed, each under a stable alert key.

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use scry_engine::kql;
use scry_engine::plan::Plan;
use scry_engine::state::{Entry, EntryKind};
use scry_engine::stream::{stable_hash, Evaluator, Filed, StreamPlan, WindowState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct StreamArgs {
    #[command(flatten)]
    pub rules: crate::RulesArgs,
    /// Kafka bootstrap servers (`host:port,...`; Event Hubs: `NAMESPACE.servicebus.windows.net:9093`).
    #[arg(long)]
    brokers: String,
    /// The event topics; repeat for several.
    #[arg(long = "topic", required = true)]
    topics: Vec<String>,
    /// The consumer group. Stage 2 uses `GROUP.merge`.
    #[arg(long)]
    group: String,
    /// The topic of partial states (default `GROUP.partials`). Create it with as many
    /// partitions as instances you may run, retention longer than the longest window.
    #[arg(long)]
    partials_topic: Option<String>,
    /// Send alerts to this topic (keyed by alert key) instead of standard output.
    #[arg(long)]
    alerts_topic: Option<String>,
    /// Send each message with an unreadable record here, with the reasons in headers.
    #[arg(long)]
    dead_letter_topic: Option<String>,
    /// A librdkafka property for every client, `key=value` (SASL, TLS, timeouts); repeat.
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    config: Vec<String>,
    /// The table of records that do not name one (flat rows).
    #[arg(long)]
    table: Option<String>,
    /// Pin the clock (RFC 3339): windows end here at every emission (tests, replays).
    #[arg(long)]
    now: Option<String>,
    /// Seconds between emissions of changed results.
    #[arg(long, default_value_t = 60.0)]
    emit_every: f64,
    /// Seconds between progress lines (throughput, lag) on standard error.
    #[arg(long, default_value_t = 30.0)]
    log_every: f64,
    /// Leave out (with a warning naming each) the rules that cannot run on a stream, instead
    /// of refusing to start.
    #[arg(long)]
    skip_unstreamable: bool,
    /// How many unreadable records to describe on standard error (all are counted).
    #[arg(long, default_value_t = 20)]
    max_skip_reports: u64,
}

impl StreamArgs {
    /// `--table`.
    pub fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }

    /// `--skip-unstreamable`.
    pub fn skip_unstreamable(&self) -> bool {
        self.skip_unstreamable
    }
}

/// One partial state on the partials topic.
#[derive(Serialize, Deserialize)]
struct Wire {
    /// Where it came from: topic, partition, offset, index among the message's states.
    src: (String, i32, i64, u32),
    bucket: i64,
    kind: String,
    rule: String,
    key: String,
    blob: Box<serde_json::value::RawValue>,
}

/// Partitions revoked by the group since the loop last looked, and the last assignment.
#[derive(Default)]
struct Ctx {
    revoked: Mutex<Vec<(String, i32)>>,
    assigned: Mutex<Option<Vec<(String, i32)>>>,
}

impl ClientContext for Ctx {}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            // A poisoned lock means another thread panicked; the process is ending anyway.
            if let Ok(mut r) = self.revoked.lock() {
                r.extend(
                    tpl.elements()
                        .iter()
                        .map(|e| (e.topic().to_string(), e.partition())),
                );
            }
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            if let Ok(mut a) = self.assigned.lock() {
                *a = Some(
                    tpl.elements()
                        .iter()
                        .map(|e| (e.topic().to_string(), e.partition()))
                        .collect(),
                );
            }
        }
    }
}

impl Ctx {
    /// The assignment received since the last call, as `topic/partition, ...`.
    fn take_assigned(&self) -> Option<String> {
        let a = self.assigned.lock().ok()?.take()?;
        let names: Vec<String> = a.iter().map(|(t, p)| format!("{t}/{p}")).collect();
        Some(if names.is_empty() {
            "nothing".into()
        } else {
            names.join(", ")
        })
    }

    fn take_revoked(&self) -> Vec<(String, i32)> {
        self.revoked
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }
}

/// Counts deliveries that failed: the offsets of their messages must not be committed.
#[derive(Default)]
struct Delivery {
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ClientContext for Delivery {}

impl ProducerContext for Delivery {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, m)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut l) = self.last_error.lock() {
                *l = Some(format!("delivery to {} failed: {e}", m.topic()));
            }
        }
    }
}

fn config(args: &StreamArgs) -> Result<ClientConfig, String> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &args.brokers);
    for kv in &args.config {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("-X {kv:?}: expected key=value"))?;
        c.set(k.trim(), v.trim());
    }
    Ok(c)
}

/// The clock of an emission: pinned, or the wall clock cut down to a bucket boundary.
fn clock(pinned: Option<i64>, bucket: i64) -> Result<i64, String> {
    if let Some(t) = pinned {
        return Ok(t);
    }
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    let t = (d.as_nanos() / 100) as i64;
    Ok(t - t.rem_euclid(bucket))
}

fn send(
    producer: &BaseProducer<Delivery>,
    topic: &str,
    key: &[u8],
    value: &[u8],
    headers: Option<OwnedHeaders>,
) -> Result<(), String> {
    let mut record = BaseRecord::to(topic).key(key).payload(value);
    if let Some(h) = headers {
        record = record.headers(h);
    }
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ),
                r,
            )) => {
                // The local queue is full: serve deliveries, then try again.
                record = r;
                producer.poll(Duration::from_millis(100));
            }
            Err((e, _)) => return Err(format!("producing to {topic}: {e}")),
        }
    }
}

/// Stage 2's state of one partials partition.
struct Part<'p> {
    state: WindowState<'p>,
    /// The last source position applied, per source partition.
    applied: HashMap<(String, i32), (i64, u32)>,
}

#[derive(Default)]
struct Counters {
    messages: u64,
    records: u64,
    skipped_records: u64,
    bad_messages: u64,
    partials: u64,
    merged: u64,
    replayed: u64,
    alerts: u64,
}

pub fn cmd_stream(args: StreamArgs, plan: Plan) -> Result<ExitCode, String> {
    let sp = match StreamPlan::new(&plan) {
        Ok(sp) => sp,
        Err(refused) => {
            for r in &refused {
                eprintln!("scry: rule {} cannot stream: {}", r.rule, r.reason);
            }
            return Err(format!(
                "{} rule(s) cannot run on a stream (see above); leave them out of --rules",
                refused.len()
            ));
        }
    };
    let pinned = args
        .now
        .as_deref()
        .map(|s| crate::parse_now(Some(s)))
        .transpose()?;
    // Every instance must cut time at the same instants: the pinned clock's, or the epoch's.
    let origin = pinned.map_or(0, |t| t.rem_euclid(sp.bucket));
    let partials_topic = args
        .partials_topic
        .clone()
        .unwrap_or_else(|| format!("{}.partials", args.group));
    let base = config(&args)?;

    let source: BaseConsumer<Ctx> = base
        .clone()
        .set("group.id", &args.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create_with_context(Ctx::default())
        .map_err(|e| format!("event consumer: {e}"))?;
    let topics: Vec<&str> = args.topics.iter().map(String::as_str).collect();
    source
        .subscribe(&topics)
        .map_err(|e| format!("subscribing to {}: {e}", args.topics.join(", ")))?;
    let merger: BaseConsumer<Ctx> = base
        .clone()
        .set("group.id", format!("{}.merge", args.group))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create_with_context(Ctx::default())
        .map_err(|e| format!("partials consumer: {e}"))?;
    merger
        .subscribe(&[&partials_topic])
        .map_err(|e| format!("subscribing to {partials_topic}: {e}"))?;
    let producer: BaseProducer<Delivery> = base
        .clone()
        .set("enable.idempotence", "true")
        .create_with_context(Delivery::default())
        .map_err(|e| format!("producer: {e}"))?;

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| format!("installing the signal handler: {e}"))?;
    }

    let mut eval = Evaluator::new(&sp, args.table.clone(), origin);
    let mut parts: BTreeMap<i32, Part<'_>> = BTreeMap::new();
    // Offsets processed and not yet committed, per source partition (the next to read).
    let mut pending: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut n = Counters::default();
    let mut last_n = (0u64, 0u64);
    let started = Instant::now();
    let mut last_log = started;
    let emit_every = Duration::from_secs_f64(args.emit_every.max(0.01));
    let log_every = Duration::from_secs_f64(args.log_every.max(0.01));
    let (mut next_emit, mut next_log) = (Instant::now() + emit_every, Instant::now() + log_every);
    let mut out = std::io::stdout().lock();
    eprintln!(
        "scry: stream: {} rule(s), buckets of {} s, partials on {partials_topic}",
        sp.free.rules.len(),
        sp.bucket as f64 / 1e7
    );

    let emit = |parts: &mut BTreeMap<i32, Part<'_>>,
                out: &mut std::io::StdoutLock<'_>,
                n: &mut Counters|
     -> Result<(), String> {
        let now = clock(pinned, sp.bucket)?;
        let at = kql::time::format_datetime(now);
        for part in parts.values_mut() {
            for a in part.state.emit(now)? {
                n.alerts += 1;
                // The result line of `scry run`, after the alert key and the clock.
                let line = format!(
                    "{{\"alert\":\"{}\",\"at\":\"{at}\",{}",
                    a.key,
                    a.line.strip_prefix('{').unwrap_or(&a.line)
                );
                match &args.alerts_topic {
                    Some(t) => send(&producer, t, a.key.as_bytes(), line.as_bytes(), None)?,
                    None => writeln!(out, "{line}").map_err(|e| format!("stdout: {e}"))?,
                }
            }
        }
        out.flush().map_err(|e| format!("stdout: {e}"))?;
        if args.alerts_topic.is_some() {
            producer
                .flush(Duration::from_secs(30))
                .map_err(|e| format!("flushing alerts: {e}"))?;
        }
        Ok(())
    };

    let crash_before_commit: Option<u64> = std::env::var("SCRY_STREAM_TEST_CRASH")
        .ok()
        .and_then(|v| v.parse().ok());
    let messages_seen = std::cell::Cell::new(0u64);
    let commit = |pending: &mut BTreeMap<(String, i32), i64>| -> Result<(), String> {
        if pending.is_empty() {
            return Ok(());
        }
        // Safe only once every state of these messages is in the partials topic.
        producer
            .flush(Duration::from_secs(30))
            .map_err(|e| format!("flushing partial states: {e}"))?;
        let failed = producer.context().failed.load(Ordering::Relaxed);
        if failed > 0 {
            let why = producer
                .context()
                .last_error
                .lock()
                .ok()
                .and_then(|l| l.clone())
                .unwrap_or_default();
            // Not committing: whoever owns these partitions next reads them again.
            return Err(format!(
                "{failed} partial state(s) were not delivered ({why}); stopping without committing them"
            ));
        }
        if crash_before_commit.is_some_and(|n| n <= messages_seen.get()) {
            // Test hook (SCRY_STREAM_TEST_CRASH): die the worst way, with states delivered and
            // their offsets not committed, so that the next owner must replay them.
            eprintln!("scry: stream: test crash before commit");
            std::process::abort();
        }
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in pending.iter() {
            tpl.add_partition_offset(t, *p, Offset::Offset(*o))
                .map_err(|e| e.to_string())?;
        }
        pending.clear();
        if let Err(e) = source.commit(&tpl, CommitMode::Sync) {
            // A rebalance took the partitions: their next owner reads the messages again,
            // and stage 2 recognises the states it has already applied.
            eprintln!("scry: stream: commit failed ({e}); the messages will be read again");
        }
        Ok(())
    };

    let mut reported = 0u64;
    while !stop.load(Ordering::Relaxed) {
        // Stage 1: evaluate a batch of event messages.
        let batch_end = Instant::now() + Duration::from_millis(200);
        let mut batch = 0;
        while batch < 1000 && Instant::now() < batch_end {
            let Some(msg) = source.poll(Duration::from_millis(50)) else {
                break;
            };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("scry: stream: event consumer: {e}");
                    continue;
                }
            };
            batch += 1;
            n.messages += 1;
            let (topic, partition, offset) = (msg.topic(), msg.partition(), msg.offset());
            let payload = msg.payload().unwrap_or_default();
            let tag = stable_hash(&[
                topic.as_bytes(),
                &partition.to_le_bytes(),
                &offset.to_le_bytes(),
            ]);
            let where_ = format!("{topic}/{partition}@{offset}");
            let outcome = eval.message(&where_, tag, payload);
            n.records += outcome.records;
            if !outcome.skipped.is_empty() || outcome.error.is_some() {
                n.bad_messages += 1;
                n.skipped_records += outcome.skipped.len() as u64;
                let mut reasons: Vec<String> = outcome
                    .skipped
                    .iter()
                    .map(|s| format!("line {}: {}", s.line, s.reason))
                    .collect();
                reasons.extend(outcome.error.clone());
                for r in &reasons {
                    reported += 1;
                    if reported <= args.max_skip_reports {
                        // A message quotes event text: escaped like every human-readable line.
                        crate::escape::say!("scry: skipped {where_}: {r}");
                    }
                }
                if let Some(dlq) = &args.dead_letter_topic {
                    let headers = OwnedHeaders::new()
                        .insert(Header {
                            key: "scry-source",
                            value: Some(where_.as_bytes()),
                        })
                        .insert(Header {
                            key: "scry-reason",
                            value: Some(reasons.join("; ").as_bytes()),
                        });
                    send(&producer, dlq, where_.as_bytes(), payload, Some(headers))?;
                }
            }
            for (i, Filed { bucket, entry }) in outcome.filed.into_iter().enumerate() {
                let rule = entry.rule.unwrap_or_default();
                let key = entry.key.unwrap_or_default();
                let blob = String::from_utf8(entry.blob)
                    .map_err(|e| format!("internal: a state blob is not UTF-8: {e}"))?;
                let wire = Wire {
                    src: (topic.to_string(), partition, offset, i as u32),
                    bucket,
                    kind: entry.kind.name().to_string(),
                    key: key.clone(),
                    rule: rule.clone(),
                    blob: serde_json::value::RawValue::from_string(blob)
                        .map_err(|e| format!("internal: a state blob is not JSON: {e}"))?,
                };
                let value = serde_json::to_vec(&wire).map_err(|e| e.to_string())?;
                // Keyed by the group: all its states meet in one partition.
                let k = format!("{rule}\u{1f}{}\u{1f}{key}", wire.kind);
                send(&producer, &partials_topic, k.as_bytes(), &value, None)?;
                n.partials += 1;
            }
            pending.insert((topic.to_string(), partition), offset + 1);
        }
        for tp in source.context().take_revoked() {
            // Not ours any more: its next owner reads from the last commit.
            pending.remove(&tp);
        }
        messages_seen.set(n.messages);
        commit(&mut pending)?;
        producer.poll(Duration::ZERO);

        // Stage 2: merge partial states.
        let merge_end = Instant::now() + Duration::from_millis(100);
        let mut merged = 0;
        while merged < 5000 && Instant::now() < merge_end {
            let Some(msg) = merger.poll(Duration::from_millis(20)) else {
                break;
            };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("scry: stream: partials consumer: {e}");
                    continue;
                }
            };
            merged += 1;
            // Revocations arrive inside poll(): drop what is no longer ours before applying.
            for (_, p) in merger.context().take_revoked() {
                parts.remove(&p);
            }
            let wire: Wire = match serde_json::from_slice(msg.payload().unwrap_or_default()) {
                Ok(w) => w,
                Err(e) => {
                    eprintln!(
                        "scry: skipped partial state {}/{}@{}: {e}",
                        msg.topic(),
                        msg.partition(),
                        msg.offset()
                    );
                    continue;
                }
            };
            let part = parts.entry(msg.partition()).or_insert_with(|| Part {
                state: WindowState::new(&sp, origin),
                applied: HashMap::new(),
            });
            let (t, p, o, i) = wire.src.clone();
            let pos = (o, i);
            // Positions from one source partition arrive in order (one producer per source
            // partition at a time, idempotent): one at or before the last applied is a replay.
            match part.applied.get(&(t.clone(), p)) {
                Some(&last) if last >= pos => {
                    n.replayed += 1;
                    continue;
                }
                _ => {
                    part.applied.insert((t, p), pos);
                }
            }
            let kind = EntryKind::from_name(&wire.kind)
                .ok_or_else(|| format!("partial state of unknown kind {:?}", wire.kind))?;
            part.state
                .insert(Filed {
                    bucket: wire.bucket,
                    entry: Entry {
                        kind,
                        rule: Some(wire.rule),
                        key: Some(wire.key),
                        first_seen: None,
                        last_seen: None,
                        count: None,
                        set: None,
                        blob: wire.blob.get().as_bytes().to_vec(),
                    },
                })
                .map_err(|e| format!("merging a partial state: {e}"))?;
            n.merged += 1;
        }
        for (_, p) in merger.context().take_revoked() {
            parts.remove(&p);
        }

        if let Some(a) = source.context().take_assigned() {
            eprintln!("scry: stream: events assigned: {a}");
        }
        if let Some(a) = merger.context().take_assigned() {
            eprintln!("scry: stream: partials assigned: {a}");
        }
        if Instant::now() >= next_emit {
            emit(&mut parts, &mut out, &mut n)?;
            next_emit = Instant::now() + emit_every;
        }
        if Instant::now() >= next_log {
            // Rates over the time since the last line (a slow batch can delay a line).
            let secs = last_log.elapsed().as_secs_f64().max(1e-3);
            last_log = Instant::now();
            let lag = lag(&source);
            eprintln!(
                "scry: stream: {:.0} s: {} msgs ({:.0}/s), {} records ({:.0}/s), {} bad msgs ({} records), {} partials sent, {} merged, {} replays skipped, {} groups, {} alerts, lag {}",
                started.elapsed().as_secs_f64(),
                n.messages,
                (n.messages - last_n.0) as f64 / secs,
                n.records,
                (n.records - last_n.1) as f64 / secs,
                n.bad_messages,
                n.skipped_records,
                n.partials,
                n.merged,
                n.replayed,
                parts.values().map(|p| p.state.len()).sum::<usize>(),
                n.alerts,
                lag
            );
            last_n = (n.messages, n.records);
            next_log = Instant::now() + log_every;
        }
    }
    // SIGTERM / SIGINT: commit what is safe, emit what changed, leave the groups.
    eprintln!("scry: stream: stopping");
    commit(&mut pending)?;
    emit(&mut parts, &mut out, &mut n)?;
    source.unsubscribe();
    merger.unsubscribe();
    eprintln!(
        "scry: stream: stopped after {} msgs, {} records, {} alerts, {} replayed states skipped",
        n.messages, n.records, n.alerts, n.replayed
    );
    Ok(ExitCode::SUCCESS)
}

/// Messages behind the end of each assigned partition, summed: `N (topic/p: n, ...)`. Asks
/// the brokers (a round trip per partition), so only at log time.
fn lag(c: &BaseConsumer<Ctx>) -> String {
    let Ok(pos) = c.position() else {
        return "unknown".into();
    };
    let mut total = 0i64;
    let mut each = Vec::new();
    for e in pos.elements() {
        let Ok((_, high)) =
            c.fetch_watermarks(e.topic(), e.partition(), Duration::from_millis(500))
        else {
            each.push(format!("{}/{}: ?", e.topic(), e.partition()));
            continue;
        };
        let at = match e.offset() {
            Offset::Offset(o) => o,
            _ => continue,
        };
        total += (high - at).max(0);
        each.push(format!(
            "{}/{}: {}",
            e.topic(),
            e.partition(),
            (high - at).max(0)
        ));
    }
    format!("{total} ({})", each.join(", "))
}
