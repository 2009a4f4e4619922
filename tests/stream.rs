//! `scry stream` against librdkafka's in-process mock cluster (3 brokers, partitioned
//! topics): three instances in one consumer group, one killed mid-run to force a rebalance;
//! the latest alert of every key, across all instances, equals `scry run` over the same
//! events. Each instance is the real binary, connected to the mock brokers over loopback.

use super::util;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NOW: &str = "2024-05-15T12:00:00Z";

/// Rules whose groups span partitions (events are spread by a key that is not the group).
const RULES: &str = r#"
rule per_device {
  id "st-group"
  title "per device"
  from DeviceFileCertificateInfo
  window 5d
  where Signer has 'Krämer'
  summarize First = min(Timestamp), Last = max(Timestamp), Reports = make_set(ReportId),
            Files = dcount(SHA1), Count = count() by DeviceId
}

rule per_signer_hour {
  id "st-hour"
  title "recent, per signer"
  from DeviceFileCertificateInfo
  window 1h
  where Signer has_any ('Krämer', 'DWSNET')
  summarize Count = count(), Last = arg_max(Timestamp, DeviceName) by Signer
}

rule each {
  id "st-rows"
  title "each DWSNET file"
  from DeviceFileCertificateInfo
  window 2d
  where Signer has 'DWSNET'
  project Timestamp, DeviceName, ReportId
}
"#;

/// A small deterministic generator (no dependency for it).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn record(r: &mut Lcg, i: u64) -> String {
    let signer = ["Krämer IT Solutions GmbH", "DWSNET OÜ", "Contoso Ltd"][r.next(3) as usize];
    // Up to six days back, to the second: records in and out of every window.
    let back = r.next(6 * 86_400);
    // Seconds into May 2024: the 15th at noon, minus `back`.
    let t = 15 * 86_400 + 12 * 3_600 - back;
    let ts = format!(
        "2024-05-{:02}T{:02}:{:02}:{:02}Z",
        t / 86_400,
        t % 86_400 / 3_600,
        t % 3_600 / 60,
        t % 60
    );
    format!(
        "{{\"Type\":\"DeviceFileCertificateInfo\",\"Timestamp\":\"{ts}\",\"DeviceId\":\"dev{}\",\"DeviceName\":\"host-{}\",\"SHA1\":\"{:040x}\",\"Signer\":\"{signer}\",\"ReportId\":{i}}}",
        r.next(7),
        r.next(7),
        r.next(20)
    )
}

/// Messages as Defender sends them: single records, Event Hub batches, and a few broken ones.
fn messages() -> Vec<String> {
    let mut r = Lcg(7);
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < 400 {
        match out.len() % 40 {
            13 => out.push("{\"Type\":\"DeviceFileCertificateInfo\",\"Timestamp\":".into()),
            27 => out.push("not json at all".into()),
            n if n % 3 == 0 => {
                let batch: Vec<String> = (0..4)
                    .map(|_| {
                        i += 1;
                        record(&mut r, i)
                    })
                    .collect();
                out.push(format!("{{\"records\":[{}]}}", batch.join(",")));
            }
            _ => {
                i += 1;
                out.push(record(&mut r, i));
            }
        }
    }
    out
}

struct Instance {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

fn start(
    brokers: &str,
    rules: &str,
    alerts: &Arc<Mutex<Vec<String>>>,
    crash_after: Option<u64>,
) -> Instance {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scry"));
    if let Some(n) = crash_after {
        cmd.env("SCRY_STREAM_TEST_CRASH", n.to_string());
    }
    let mut child = cmd
        .args([
            "stream",
            "--brokers",
            brokers,
            "--topic",
            "events",
            "--group",
            "g",
            "--rules",
            rules,
            "--now",
            NOW,
            "--emit-every",
            "0.3",
            "--log-every",
            "2",
            "--dead-letter-topic",
            "dead",
            "-X",
            "session.timeout.ms=6000",
            "-X",
            "heartbeat.interval.ms=300",
            "-X",
            "topic.metadata.refresh.interval.ms=1000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scry stream starts");
    let out = child.stdout.take().unwrap();
    let alerts = Arc::clone(alerts);
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            alerts.lock().unwrap().push(line);
        }
    });
    let err = child.stderr.take().unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&stderr);
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    Instance { child, stderr }
}

fn produce(p: &BaseProducer, msgs: &[String], from: usize) {
    for (i, m) in msgs.iter().enumerate() {
        // Keys that have nothing to do with the rules' groups.
        let key = format!("k{}", (i + from) % 11);
        p.send(BaseRecord::to("events").key(&key).payload(m))
            .expect("queued");
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(30)).expect("delivered");
}

/// A result line as a comparable value, without the stream's alert key and clock.
fn result(line: &str) -> String {
    let v: Value = serde_json::from_str(line).expect("a JSON alert");
    // Sorted by name: whether serde_json keeps key order depends on features other crates
    // turn on, and removing a key may then move another.
    let mut m: BTreeMap<String, Value> = match v {
        Value::Object(m) => m.into_iter().collect(),
        other => panic!("not an object: {other}"),
    };
    m.remove("alert");
    m.remove("at");
    serde_json::to_string(&m).unwrap()
}

/// The latest alert of every key, as comparable results, sorted.
fn latest(alerts: &[String]) -> Vec<String> {
    let mut by_key: BTreeMap<String, String> = BTreeMap::new();
    for a in alerts {
        let v: Value = serde_json::from_str(a).expect("a JSON alert");
        let key = v["alert"].as_str().expect("an alert key").to_string();
        by_key.insert(key, result(a));
    }
    let mut v: Vec<String> = by_key.into_values().collect();
    v.sort();
    v
}

#[test]
fn three_instances_one_killed_give_the_batch_results() {
    let dir = std::env::temp_dir().join(format!("scry-stream-mock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("stream.scry");
    std::fs::write(&rules, RULES).unwrap();
    let rules = rules.to_str().unwrap().to_string();
    let msgs = messages();
    let events = dir.join("events.jsonl");
    std::fs::write(&events, msgs.join("\n")).unwrap();

    // What `scry run` says over the same events.
    let batch = util::scry(&[
        "run",
        "--rules",
        &rules,
        "--now",
        NOW,
        "--format",
        "ndjson",
        events.to_str().unwrap(),
    ]);
    let mut want: Vec<String> = util::stdout(&batch).lines().map(result).collect();
    want.sort();
    assert!(want.len() > 20, "{want:?}");

    let cluster = MockCluster::new(3).expect("a mock cluster");
    cluster.create_topic("events", 6, 3).unwrap();
    cluster.create_topic("g.partials", 4, 3).unwrap();
    cluster.create_topic("dead", 1, 3).unwrap();
    let brokers = cluster.bootstrap_servers();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();

    let alerts = Arc::new(Mutex::new(Vec::new()));
    // The first instance dies by itself once it has sent the states of 40 messages without
    // committing them (the worst moment); the second is killed from outside mid-run.
    let mut instances: Vec<Instance> = (0..3)
        .map(|i| start(&brokers, &rules, &alerts, (i == 0).then_some(40)))
        .collect();
    let started = Instant::now();
    let half = msgs.len() / 2;
    produce(&producer, &msgs[..half], 0);
    // Let every instance join and work, then kill one without warning.
    while alerts.lock().unwrap().len() < 5 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let mut crashed = instances.remove(0);
    let mut killed = instances.remove(0);
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    produce(&producer, &msgs[half..], half);
    let st = crashed.child.wait().unwrap();
    assert!(!st.success(), "the crash hook did not fire");
    let killed_log = format!(
        "{}\n{}",
        crashed.stderr.lock().unwrap(),
        killed.stderr.lock().unwrap()
    );

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut got = Vec::new();
    while Instant::now() < deadline {
        got = latest(&alerts.lock().unwrap());
        if got == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let logs = |is: &[Instance]| {
        is.iter()
            .map(|i| i.stderr.lock().unwrap().clone())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    if got != want {
        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
        panic!(
            "the stream's latest results differ from scry run\nmissing {missing:#?}\nextra {extra:#?}\nlogs:\n{}\n{}",
            killed_log,
            logs(&instances)
        );
    }
    eprintln!(
        "stream equals batch ({} results) after {:.1} s",
        want.len(),
        started.elapsed().as_secs_f64()
    );

    // SIGTERM: each survivor commits, emits and exits cleanly.
    for i in &mut instances {
        let pid = i.child.id().to_string();
        let st = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(st.success());
    }
    for i in &mut instances {
        let st = i.child.wait().unwrap();
        assert!(st.success(), "{st:?}\n{}", logs(&instances));
    }
    // The rebalance happened: after the kill, the survivors' last assignments cover every
    // partition of both topics between them.
    let last = |log: &str, what: &str| -> Vec<String> {
        log.lines()
            .rev()
            .find_map(|l| l.strip_prefix(&format!("scry: stream: {what} assigned: ")))
            .map(|a| a.split(", ").map(str::to_string).collect())
            .unwrap_or_default()
    };
    for (what, count) in [("events", 6), ("partials", 4)] {
        let mut covered: Vec<String> = instances
            .iter()
            .flat_map(|i| last(&i.stderr.lock().unwrap(), what))
            .collect();
        covered.sort();
        assert_eq!(
            covered.len(),
            count,
            "{what}: {covered:?}\n{}",
            logs(&instances)
        );
    }
    let all = format!("{killed_log}\n{}", logs(&instances));
    // The crashed instance's delivered, uncommitted states were read again and recognised.
    let replays: u64 = all
        .lines()
        .filter_map(|l| l.strip_prefix("scry: stream: stopped after "))
        .filter_map(|l| l.split(", ").nth(3)?.split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(replays > 0, "{all}");
    assert!(all.contains("scry: stream: stopped after"), "{all}");
    // Broken messages are named by topic, partition and offset, and dead-lettered.
    assert!(all.contains("scry: skipped events/"), "{all}");
    let dead: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "dead-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    dead.subscribe(&["dead"]).unwrap();
    let mut sources = BTreeSet::new();
    let until = Instant::now() + Duration::from_secs(20);
    while sources.len() < 20 && Instant::now() < until {
        if let Some(Ok(m)) = dead.poll(Duration::from_millis(200)) {
            sources.insert(String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned());
        }
    }
    let bad = msgs
        .iter()
        .filter(|m| m.starts_with("not") || m.ends_with(':'))
        .count();
    assert_eq!(sources.len(), bad, "{sources:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
