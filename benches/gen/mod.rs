//! A deterministic generator of Defender XDR-like events for benchmarks and load tests.
//!
//! Rows of DeviceProcessEvents, DeviceNetworkEvents and DeviceFileCertificateInfo, mixed, in
//! one of the three JSON-lines shapes the readers accept ([`Shape`]). A configurable fraction
//! of rows carries the ServerEye needles of `rules/rmm/servereye.scry` (true positives, some
//! of them in an exclusion scenario) and another fraction carries near-misses that must not
//! match. [`generate`] returns a [`Truth`] saying exactly what it wrote, so a benchmark can
//! check the engine's answer before timing it.
//!
//! Determinism is by construction: the only source of randomness is [`Rng`] (SplitMix64)
//! seeded from [`Config::seed`], no hash-map iteration order reaches the output, and no clock
//! or environment is read. Same config, same bytes.
//!
//! Shared by `benches/throughput.rs` and `examples/gen_events.rs`; each uses only part of it.
//!
//! Longer than our ~800-line guide: every table's columns and every framing (flat rows,
//! storage-account lines, Event Hub batches, Windows layouts) are data tables in one place,
//! so that a benchmark's shape is read off one file.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The fixed "now" every window ends at, as Unix seconds (2024-05-15T12:00:00Z): the clock
/// the ServerEye examples use, so the rules' `window 5d` covers the generated data.
pub const NOW_UNIX: i64 = 1_715_774_400;
/// [`NOW_UNIX`] as text, for the executor's clock.
pub const NOW: &str = "2024-05-15T12:00:00Z";

const TICKS_PER_SECOND: i64 = 10_000_000;
const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND;
/// The ServerEye rules' `window 5d`: positives are kept inside it so every one must be found.
const RULE_WINDOW_TICKS: i64 = 5 * TICKS_PER_DAY;
/// Longest accepted window, so tick arithmetic cannot overflow whatever the arguments.
pub const MAX_WINDOW_HOURS: u64 = 24 * 3650;

/// SplitMix64: tiny, fast, and good enough for synthetic data; no dependency needed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; 0 when `n` is 0 (never panics).
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: unbiased enough for data generation, and no division.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn hex(&mut self, out: &mut String, digits: usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for _ in 0..digits {
            out.push(HEX[self.below(16) as usize] as char);
        }
    }

    fn guid(&mut self, out: &mut String) {
        for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if i > 0 {
                out.push('-');
            }
            self.hex(out, n);
        }
    }
}

/// How records are framed on a line (see `engine/io/src/lib.rs` and the spec §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One flat row per line, with a `Type` column naming the table; `\n` line ends.
    Flat,
    /// One storage-account record per line (`category` + `properties`); CRLF line ends as
    /// seen in exported blobs.
    Storage,
    /// One Event Hub message per line: `{"records":[..]}` of 1 to 10 storage records.
    EventHub,
}

impl Shape {
    /// Every shape, in a fixed order.
    pub const ALL: [Shape; 3] = [Shape::Flat, Shape::Storage, Shape::EventHub];

    /// The name used on command lines and in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Flat => "flat",
            Shape::Storage => "storage",
            Shape::EventHub => "eventhub",
        }
    }

    /// The shape named `s`.
    pub fn parse(s: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// The three tables, in [`Truth::tables`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// DeviceProcessEvents
    Process,
    /// DeviceNetworkEvents
    Network,
    /// DeviceFileCertificateInfo
    Certificate,
}

impl Table {
    /// Every table, in [`Truth::tables`] order.
    pub const ALL: [Table; 3] = [Table::Process, Table::Network, Table::Certificate];

    /// The Defender table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Process => "DeviceProcessEvents",
            Table::Network => "DeviceNetworkEvents",
            Table::Certificate => "DeviceFileCertificateInfo",
        }
    }

    /// The table named `s`.
    pub fn parse(s: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// The PRNG seed.
    pub seed: u64,
    /// The most records to write.
    pub rows: u64,
    /// Stop after the line that brings the output to this many bytes (benchmarks want a size,
    /// not a row count).
    pub max_bytes: Option<u64>,
    /// The framing.
    pub shape: Shape,
    /// Fraction of records carrying the ServerEye needles (each must be found by a rule).
    pub match_rate: f64,
    /// Fraction of records carrying a near-miss (`XKrämer...`, `server-eye.dev`).
    pub near_miss_rate: f64,
    /// Share of the matching process/network records placed in one of the rules' exclusion
    /// scenarios, so they are suppressed rather than reported.
    pub suppressed_share: f64,
    /// Timestamps fall in `[NOW - window, NOW]`.
    pub window_hours: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 7,
            rows: 100_000,
            max_bytes: None,
            shape: Shape::Flat,
            match_rate: 0.0005,
            near_miss_rate: 0.005,
            suppressed_share: 0.1,
            window_hours: 5 * 24,
        }
    }
}

impl Config {
    /// Why the config cannot be used, if it cannot.
    pub fn validate(&self) -> Result<(), String> {
        let rate_ok = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        if !rate_ok(self.match_rate) {
            return Err(format!("match rate {} is not in [0, 1]", self.match_rate));
        }
        if !rate_ok(self.near_miss_rate) {
            return Err(format!(
                "near-miss rate {} is not in [0, 1]",
                self.near_miss_rate
            ));
        }
        if self.match_rate + self.near_miss_rate > 1.0 {
            return Err("match rate + near-miss rate exceeds 1".into());
        }
        if !rate_ok(self.suppressed_share) {
            return Err(format!(
                "suppressed share {} is not in [0, 1]",
                self.suppressed_share
            ));
        }
        if self.window_hours > MAX_WINDOW_HOURS {
            return Err(format!(
                "window of {} hours is longer than {MAX_WINDOW_HOURS}",
                self.window_hours
            ));
        }
        Ok(())
    }
}

/// What was generated for one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableTruth {
    /// Records of this table.
    pub records: u64,
    /// Records the table's ServerEye rule must report (counted in its `Count` column).
    pub positives: u64,
    /// Records that pass the rule's `where` but fall in an exclusion scenario.
    pub suppressed: u64,
    /// Near-miss records (must not match).
    pub near_misses: u64,
    /// The rule's group keys over `positives`, joined by `|`: the result rows to expect.
    pub groups: BTreeSet<String>,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Truth {
    /// Records written (Event Hub messages count their elements).
    pub records: u64,
    /// Lines written.
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Per table, in [`Table::ALL`] order.
    pub tables: [TableTruth; 3],
}

impl Truth {
    /// The truth for `t`.
    pub fn table(&self, t: Table) -> &TableTruth {
        &self.tables[t as usize]
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} records, {} lines, {} bytes ({:.0} bytes/record)",
            self.records,
            self.lines,
            self.bytes,
            self.bytes as f64 / self.records.max(1) as f64
        );
        for t in Table::ALL {
            let x = self.table(t);
            let _ = write!(
                s,
                "; {}: {} records, {} positives in {} groups, {} suppressed, {} near-misses",
                t.name(),
                x.records,
                x.positives,
                x.groups.len(),
                x.suppressed,
                x.near_misses
            );
        }
        s
    }
}

/// Writes events to `out`; returns what was written.
pub fn generate(cfg: &Config, out: &mut dyn Write) -> io::Result<Truth> {
    cfg.validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut g = Gen {
        rng: Rng::new(cfg.seed),
        cfg,
        truth: Truth::default(),
        report_id: 10_000 + cfg.seed % 1000 * 1_000_000,
    };
    let devices: Vec<Device> = (0..64).map(|i| Device::new(&mut g.rng, i)).collect();
    let tenant = {
        let mut s = String::new();
        g.rng.guid(&mut s);
        s
    };
    let mut line = String::with_capacity(16 * 1024);
    let mut props = String::with_capacity(4 * 1024);
    while g.truth.records < cfg.rows && cfg.max_bytes.is_none_or(|m| g.truth.bytes < m) {
        line.clear();
        match cfg.shape {
            Shape::Flat => {
                let (_, _) = g.row(&devices, &mut line, true);
                line.push('\n');
            }
            Shape::Storage => {
                props.clear();
                let (table, ts) = g.row(&devices, &mut props, false);
                storage_record(&mut g.rng, &mut line, &tenant, table, ts, &props);
                line.push_str("\r\n");
            }
            Shape::EventHub => {
                let want = 1 + g.rng.below(10);
                let n = want.min(cfg.rows - g.truth.records);
                line.push_str("{\"records\":[");
                for i in 0..n {
                    if i > 0 {
                        line.push(',');
                    }
                    props.clear();
                    let (table, ts) = g.row(&devices, &mut props, false);
                    storage_record(&mut g.rng, &mut line, &tenant, table, ts, &props);
                }
                line.push_str("]}\n");
            }
        }
        out.write_all(line.as_bytes())?;
        g.truth.lines += 1;
        g.truth.bytes += line.len() as u64;
    }
    Ok(g.truth)
}

/// Generates into memory: `bytes` of output (plus the last line), at most `u64::MAX` rows.
pub fn generate_bytes(cfg: &Config, bytes: u64) -> (Vec<u8>, Truth) {
    let cfg = Config {
        rows: u64::MAX,
        max_bytes: Some(bytes),
        ..cfg.clone()
    };
    let mut buf = Vec::with_capacity(bytes as usize + 64 * 1024);
    // Writing to a Vec cannot fail; an invalid config is a bug in the caller.
    let truth = generate(&cfg, &mut buf).expect("valid generator config");
    (buf, truth)
}

fn storage_record(
    rng: &mut Rng,
    out: &mut String,
    tenant: &str,
    table: Table,
    ts: i64,
    props: &str,
) {
    // `time` is when the pipeline received the event, a little after it happened.
    out.push_str("{\"time\":\"");
    push_ticks(out, ts + rng.below(300 * TICKS_PER_SECOND as u64) as i64);
    out.push_str("\",\"tenantId\":\"");
    out.push_str(tenant);
    out.push_str("\",\"operationName\":\"Publish\",\"category\":\"AdvancedHunting-");
    out.push_str(table.name());
    out.push_str("\",\"properties\":");
    out.push_str(props);
    out.push('}');
}

/// A machine: rows of one device share its id, name, accounts and machine group.
#[derive(Debug, Clone)]
struct Device {
    id: String,
    name: String,
    upn: String,
    account: String,
    sid: String,
    group: &'static str,
    ip: String,
}

impl Device {
    fn new(rng: &mut Rng, i: usize) -> Device {
        let mut id = String::new();
        rng.hex(&mut id, 40);
        let user = rng.pick(&[
            "anna.schmidt",
            "j.meyer",
            "t.nguyen",
            "admin",
            "svc-backup",
            "l.fischer",
        ]);
        let mut sid = String::from("S-1-5-21-");
        for k in 0..3 {
            if k > 0 {
                sid.push('-');
            }
            let _ = write!(sid, "{}", 1_000_000_000 + rng.below(3_000_000_000));
        }
        let _ = write!(sid, "-{}", 1000 + rng.below(9000));
        Device {
            id,
            name: format!(
                "{}-{:04}.corp.contoso.com",
                rng.pick(&["ws", "nb", "srv", "vdi"]),
                i * 37 % 10_000
            ),
            upn: format!("{user}@contoso.com"),
            account: user.to_string(),
            sid,
            group: rng.pick(&["Workstations", "Servers", "UnassignedGroup"]),
            ip: format!(
                "10.{}.{}.{}",
                rng.below(32),
                rng.below(256),
                1 + rng.below(254)
            ),
        }
    }
}

/// What a record is for the ServerEye rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Positive,
    Suppressed,
    NearMiss,
}

/// Benign software the normal rows run.
const PROGRAMS: &[(&str, &str, &str, &str)] = &[
    // (file, folder, company, product)
    (
        "svchost.exe",
        "C:\\Windows\\System32",
        "Microsoft Corporation",
        "Microsoft® Windows® Operating System",
    ),
    (
        "chrome.exe",
        "C:\\Program Files\\Google\\Chrome\\Application",
        "Google LLC",
        "Google Chrome",
    ),
    (
        "OneDrive.exe",
        "C:\\Users\\anna.schmidt\\AppData\\Local\\Microsoft\\OneDrive",
        "Microsoft Corporation",
        "Microsoft OneDrive",
    ),
    (
        "powershell.exe",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
        "Microsoft Corporation",
        "Microsoft® Windows® Operating System",
    ),
    (
        "Teams.exe",
        "C:\\Users\\t.nguyen\\AppData\\Local\\Microsoft\\Teams\\current",
        "Microsoft Corporation",
        "Microsoft Teams",
    ),
    (
        "AcroRd32.exe",
        "C:\\Program Files (x86)\\Adobe\\Acrobat Reader DC\\Reader",
        "Adobe Systems Incorporated",
        "Adobe Acrobat Reader DC",
    ),
    (
        "MsMpEng.exe",
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24030.9-0",
        "Microsoft Corporation",
        "Microsoft® Windows® Operating System",
    ),
    (
        "veeam.backup.service.exe",
        "C:\\Program Files\\Veeam\\Backup and Replication\\Backup",
        "Veeam Software Group GmbH",
        "Veeam Backup & Replication",
    ),
];

const PARENTS: &[&str] = &["explorer.exe", "services.exe", "cmd.exe", "svchost.exe"];

const URLS: &[&str] = &[
    "login.microsoftonline.com",
    "www.google.com",
    "update.googleapis.com",
    "settings-win.data.microsoft.com",
    "outlook.office365.com",
    "download.veeam.com",
    "",
];

/// The signer / company as published, spelled the ways exports spell it. `escaped` variants
/// are JSON text (`\u00e4`), written as-is: the reader must decode them.
const SIGNERS: &[(&str, bool)] = &[
    ("Krämer IT Solutions GmbH", false),
    ("KRÄMER IT SOLUTIONS GMBH", false),
    ("Kr\\u00e4mer IT Solutions GmbH", true),
    ("KR\\u00c4MER IT SOLUTIONS GMBH", true),
];
const PRODUCTS: &[&str] = &["ServerEye", "Server-Eye", "Server-Eye Agent"];
/// Agent binaries; no name or folder contains an exclusion word (Inventory, Performance,
/// LogCollect, Deployment, SystemUpdate), so positives are never suppressed by accident.
const AGENTS: &[&str] = &[
    "ServerEye.Service.exe",
    "ServerEye.Agent.exe",
    "ServerEye.Tray.exe",
];
const SE_FOLDER: &str = "C:\\Program Files (x86)\\Server-Eye";
const SE_URLS: &[&str] = &[
    "occ.server-eye.de",
    "HTTPS://OCC.SERVER-EYE.DE:443/api",
    "api.server-eye.de",
];
/// (file name, folder) of each exclusion scenario, in the rules' written order.
const SCENARIOS: &[(&str, &str)] = &[
    (
        "ServerEye.exe",
        "C:\\Program Files (x86)\\Server-Eye\\SystemUpdate",
    ),
    (
        "ServerEye.Inventory.exe",
        "C:\\Program Files (x86)\\Server-Eye",
    ),
    (
        "PerformanceSensor.exe",
        "C:\\Program Files (x86)\\Server-Eye",
    ),
    ("se.exe", "C:\\ProgramData\\ServerEye\\LogCollector"),
    (
        "ServerEye.Deployment.exe",
        "C:\\Program Files (x86)\\Server-Eye",
    ),
];

struct Gen<'c> {
    rng: Rng,
    cfg: &'c Config,
    truth: Truth,
    report_id: u64,
}

/// A JSON object being written: keys in a fixed (schema) order.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, first: true }
    }
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
    }
    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        push_json_str(self.out, v);
    }
    /// `v` is already JSON string content (escapes included).
    fn raw_str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.out.push('"');
        self.out.push_str(v);
        self.out.push('"');
    }
    fn num(&mut self, k: &str, v: u64) {
        self.key(k);
        let _ = write!(self.out, "{v}");
    }
    fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
    }
    fn null(&mut self, k: &str) {
        self.key(k);
        self.out.push_str("null");
    }
    fn time(&mut self, k: &str, ticks: i64) {
        self.key(k);
        self.out.push('"');
        push_ticks(self.out, ticks);
        self.out.push('"');
    }
    fn hex(&mut self, rng: &mut Rng, k: &str, digits: usize) {
        self.key(k);
        self.out.push('"');
        rng.hex(self.out, digits);
        self.out.push('"');
    }
    fn close(self) {
        self.out.push('}');
    }
}

fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    push_json_content(out, s);
    out.push('"');
}

/// Ticks since the Unix epoch as `2024-05-14T08:00:00.1234567Z` (Defender's 7 digits): the
/// engine's own formatter, so generated timestamps are exactly what scry prints.
pub fn push_ticks(out: &mut String, ticks: i64) {
    out.push_str(&scry_engine::kql::time::format_datetime(ticks));
}

impl Gen<'_> {
    /// Writes one row's JSON object; returns its table and timestamp (ticks).
    fn row(&mut self, devices: &[Device], out: &mut String, with_type: bool) -> (Table, i64) {
        let r = self.rng.unit();
        let table = if r < 0.55 {
            Table::Process
        } else if r < 0.9 {
            Table::Network
        } else {
            Table::Certificate
        };
        let k = self.rng.unit();
        let kind = if k < self.cfg.match_rate {
            // The certificate rule has no exclusions, so its positives are never suppressed.
            if table != Table::Certificate && self.rng.chance(self.cfg.suppressed_share) {
                Kind::Suppressed
            } else {
                Kind::Positive
            }
        } else if k < self.cfg.match_rate + self.cfg.near_miss_rate {
            Kind::NearMiss
        } else {
            Kind::Normal
        };
        let now = NOW_UNIX * TICKS_PER_SECOND;
        let window = self.cfg.window_hours as i64 * 3600 * TICKS_PER_SECOND;
        // Inclusive of both ends: the rules' window is `[now - 5d, now]`.
        let span = if kind == Kind::Normal {
            window
        } else {
            window.min(RULE_WINDOW_TICKS)
        };
        let ts = now - self.rng.below(span as u64 + 1) as i64;
        let dev = &devices[self.rng.below(devices.len() as u64) as usize];
        self.report_id += 1 + self.rng.below(40);
        let t = &mut self.truth.tables[table as usize];
        t.records += 1;
        match kind {
            Kind::Normal => {}
            Kind::Positive => t.positives += 1,
            Kind::Suppressed => t.suppressed += 1,
            Kind::NearMiss => t.near_misses += 1,
        }
        self.truth.records += 1;
        let key = match table {
            Table::Process => self.process(out, dev, ts, kind),
            Table::Network => self.network(out, dev, ts, kind),
            Table::Certificate => self.certificate(out, dev, ts, kind),
        };
        if kind == Kind::Positive {
            self.truth.tables[table as usize].groups.insert(key);
        }
        if with_type {
            // Re-open the object to append `Type`: the writers close it themselves.
            out.pop();
            out.push_str(",\"Type\":\"");
            out.push_str(table.name());
            out.push_str("\"}");
        }
        (table, ts)
    }

    /// The signer as JSON string content, and whether it is `\u`-escaped.
    fn signer(&mut self) -> (&'static str, bool) {
        self.rng.pick(SIGNERS)
    }

    fn near_signer(&mut self) -> &'static str {
        self.rng.pick(&[
            "XKrämer IT Solutions GmbH",
            "Krämer IT Solutions GmbH2",
            "Kra\u{308}mer IT Solutions GmbH",
        ])
    }

    fn command_line(&mut self, folder: &str, file: &str) -> String {
        let mut s = format!("\"{folder}\\{file}\"");
        let n = 2 + self.rng.below(4);
        for _ in 0..n {
            let arg = self.rng.pick(&[
                " --type=renderer --field-trial-handle=1804,i,",
                " -NoProfile -ExecutionPolicy Bypass -File C:\\ProgramData\\scripts\\task-",
                " /config:C:\\ProgramData\\Vendor\\settings.xml /log:C:\\Windows\\Temp\\run-",
                " -k netsvcs -p -s Schedule --session=",
            ]);
            s.push_str(arg);
            let _ = write!(s, "{:x}", self.rng.next_u64());
        }
        s
    }

    /// Returns the rule's group key `DeviceId|DeviceName|AccountUpn`.
    fn process(&mut self, out: &mut String, dev: &Device, ts: i64, kind: Kind) -> String {
        let (file, folder, company, product) = self.rng.pick(PROGRAMS);
        let mut file = file.to_string();
        let mut folder = folder.to_string();
        let mut company_json = String::new();
        push_json_content(&mut company_json, company);
        let mut product = product.to_string();
        let mut parent = self.rng.pick(PARENTS).to_string();
        match kind {
            Kind::Normal => {}
            Kind::Positive | Kind::Suppressed => {
                company_json = self.signer().0.to_string();
                product = self.rng.pick(PRODUCTS).to_string();
                file = self.rng.pick(AGENTS).to_string();
                folder = SE_FOLDER.to_string();
                parent = "services.exe".into();
                if kind == Kind::Suppressed {
                    let (f, d) = self.rng.pick(SCENARIOS);
                    file = f.into();
                    folder = d.into();
                }
            }
            Kind::NearMiss => {
                file = self.rng.pick(AGENTS).to_string();
                folder = SE_FOLDER.to_string();
                company_json.clear();
                if self.rng.chance(0.5) {
                    let s = self.near_signer();
                    push_json_content(&mut company_json, s);
                    product = "ServerEye".into();
                } else {
                    company_json.push_str("Krämer IT Solutions GmbH");
                    product = "ServerEyes".into();
                }
            }
        }
        let cmd = self.command_line(&folder, &file);
        let rng = &mut self.rng;
        let upn = if rng.chance(0.2) {
            ""
        } else {
            dev.upn.as_str()
        };
        let path = format!("{folder}\\{file}");
        let mut o = Obj::open(out);
        o.time("Timestamp", ts);
        o.str("DeviceId", &dev.id);
        o.str("DeviceName", &dev.name);
        o.str("ActionType", "ProcessCreated");
        o.str("FileName", &file);
        o.str("FolderPath", &path);
        o.hex(rng, "SHA1", 40);
        o.hex(rng, "SHA256", 64);
        o.hex(rng, "MD5", 32);
        o.num("FileSize", 40_000 + rng.below(30_000_000));
        o.raw_str("ProcessVersionInfoCompanyName", &company_json);
        o.str("ProcessVersionInfoProductName", &product);
        o.str("ProcessVersionInfoProductVersion", "10.0.19041.3636");
        o.str("ProcessVersionInfoInternalFileName", &file);
        o.str("ProcessVersionInfoOriginalFileName", &file);
        o.str("ProcessVersionInfoFileDescription", &product);
        o.num("ProcessId", 4 + rng.below(60_000));
        o.str("ProcessCommandLine", &cmd);
        o.str(
            "ProcessIntegrityLevel",
            rng.pick(&["High", "Medium", "System"]),
        );
        o.str("ProcessTokenElevation", "TokenElevationTypeDefault");
        o.time("ProcessCreationTime", ts);
        o.str("AccountDomain", "contoso");
        o.str("AccountName", &dev.account);
        o.str("AccountSid", &dev.sid);
        o.str("AccountUpn", upn);
        o.null("AccountObjectId");
        o.num("LogonId", rng.below(10_000_000));
        o.str("InitiatingProcessAccountDomain", "nt authority");
        o.str("InitiatingProcessAccountName", "system");
        o.str("InitiatingProcessAccountSid", "S-1-5-18");
        o.null("InitiatingProcessAccountUpn");
        o.null("InitiatingProcessAccountObjectId");
        o.num("InitiatingProcessLogonId", 999);
        o.str("InitiatingProcessIntegrityLevel", "System");
        o.str(
            "InitiatingProcessTokenElevation",
            "TokenElevationTypeDefault",
        );
        o.hex(rng, "InitiatingProcessSHA1", 40);
        o.hex(rng, "InitiatingProcessSHA256", 64);
        o.null("InitiatingProcessMD5");
        o.str("InitiatingProcessFileName", &parent);
        o.num("InitiatingProcessFileSize", 80_000 + rng.below(900_000));
        o.null("InitiatingProcessVersionInfoCompanyName");
        o.null("InitiatingProcessVersionInfoProductName");
        o.null("InitiatingProcessVersionInfoProductVersion");
        o.null("InitiatingProcessVersionInfoInternalFileName");
        o.null("InitiatingProcessVersionInfoOriginalFileName");
        o.null("InitiatingProcessVersionInfoFileDescription");
        o.num("InitiatingProcessId", 4 + rng.below(60_000));
        o.str("InitiatingProcessCommandLine", &parent);
        o.time(
            "InitiatingProcessCreationTime",
            ts - rng.below(TICKS_PER_DAY as u64) as i64,
        );
        o.str(
            "InitiatingProcessFolderPath",
            &format!("c:\\windows\\system32\\{parent}"),
        );
        o.num("InitiatingProcessParentId", 4 + rng.below(2000));
        o.str("InitiatingProcessParentFileName", "wininit.exe");
        o.null("InitiatingProcessParentCreationTime");
        o.str("InitiatingProcessSignerType", "OsVendor");
        o.str("InitiatingProcessSignatureStatus", "Valid");
        o.num("ReportId", self.report_id);
        o.str("AppGuardContainerId", "");
        let mut extra = String::new();
        let mut x = Obj::open(&mut extra);
        x.str("ProcessStartKey", &format!("{}", rng.next_u64() >> 8));
        x.str("ProcessUniqueId", &format!("{}", rng.next_u64() >> 16));
        x.close();
        o.str("AdditionalFields", &extra);
        o.str("MachineGroup", dev.group);
        o.close();
        format!("{}|{}|{}", dev.id, dev.name, upn)
    }

    /// Returns the rule's group key `DeviceId|DeviceName|InitiatingProcessAccountUpn|RemoteUrl`.
    fn network(&mut self, out: &mut String, dev: &Device, ts: i64, kind: Kind) -> String {
        let (file, folder, company, product) = self.rng.pick(PROGRAMS);
        let mut file = file.to_string();
        let mut folder = folder.to_string();
        let mut company_json = String::new();
        push_json_content(&mut company_json, company);
        let mut product = product.to_string();
        let mut url = self.rng.pick(URLS).to_string();
        match kind {
            Kind::Normal => {}
            Kind::Positive | Kind::Suppressed => {
                company_json = self.signer().0.to_string();
                product = self.rng.pick(PRODUCTS).to_string();
                file = self.rng.pick(AGENTS).to_string();
                folder = SE_FOLDER.to_string();
                url = self.rng.pick(SE_URLS).to_string();
                if kind == Kind::Suppressed {
                    let (f, d) = self.rng.pick(SCENARIOS);
                    file = f.into();
                    folder = d.into();
                }
            }
            Kind::NearMiss => {
                // The right signer and product, escaped as exports do; only the domain is off.
                company_json = "Kr\\u00e4mer IT Solutions GmbH".into();
                product = "ServerEye".into();
                file = self.rng.pick(AGENTS).to_string();
                folder = SE_FOLDER.to_string();
                url = self
                    .rng
                    .pick(&["server-eye.dev", "myserver-eye.de", "server-eyes.de"])
                    .to_string();
            }
        }
        let cmd = self.command_line(&folder, &file);
        let rng = &mut self.rng;
        let upn = if rng.chance(0.5) {
            "system"
        } else {
            dev.upn.as_str()
        };
        let mut o = Obj::open(out);
        o.time("Timestamp", ts);
        o.str("DeviceId", &dev.id);
        o.str("DeviceName", &dev.name);
        o.str(
            "ActionType",
            rng.pick(&[
                "ConnectionSuccess",
                "ConnectionFailed",
                "InboundConnectionAccepted",
            ]),
        );
        o.str(
            "RemoteIP",
            &format!(
                "{}.{}.{}.{}",
                13 + rng.below(200),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            ),
        );
        o.num("RemotePort", rng.pick(&[443, 80, 8443, 53]));
        o.str("RemoteUrl", &url);
        o.str("LocalIP", &dev.ip);
        o.num("LocalPort", 49_152 + rng.below(16_000));
        o.str("Protocol", "Tcp");
        o.str("LocalIPType", "Private");
        o.str("RemoteIPType", "Public");
        o.hex(rng, "InitiatingProcessSHA1", 40);
        o.hex(rng, "InitiatingProcessSHA256", 64);
        o.hex(rng, "InitiatingProcessMD5", 32);
        o.str("InitiatingProcessFileName", &file);
        o.num("InitiatingProcessFileSize", 40_000 + rng.below(30_000_000));
        o.raw_str("InitiatingProcessVersionInfoCompanyName", &company_json);
        o.str("InitiatingProcessVersionInfoProductName", &product);
        o.str("InitiatingProcessVersionInfoProductVersion", "4.0.2311.1");
        o.str("InitiatingProcessVersionInfoInternalFileName", &file);
        o.str("InitiatingProcessVersionInfoOriginalFileName", &file);
        o.str("InitiatingProcessVersionInfoFileDescription", &product);
        o.num("InitiatingProcessId", 4 + rng.below(60_000));
        o.str("InitiatingProcessCommandLine", &cmd);
        o.time(
            "InitiatingProcessCreationTime",
            ts - rng.below(TICKS_PER_DAY as u64) as i64,
        );
        o.str("InitiatingProcessFolderPath", &format!("{folder}\\{file}"));
        o.str("InitiatingProcessParentFileName", "services.exe");
        o.num("InitiatingProcessParentId", 4 + rng.below(2000));
        o.null("InitiatingProcessParentCreationTime");
        o.str("InitiatingProcessAccountDomain", "nt authority");
        o.str("InitiatingProcessAccountName", "system");
        o.str("InitiatingProcessAccountSid", "S-1-5-18");
        o.str("InitiatingProcessAccountUpn", upn);
        o.null("InitiatingProcessAccountObjectId");
        o.str("InitiatingProcessIntegrityLevel", "System");
        o.str(
            "InitiatingProcessTokenElevation",
            "TokenElevationTypeDefault",
        );
        o.num("ReportId", self.report_id);
        o.str("AppGuardContainerId", "");
        o.str("AdditionalFields", "{\"direction\":\"Out\"}");
        o.num("InitiatingProcessSessionId", 0);
        o.bool("IsInitiatingProcessRemoteSession", false);
        o.str("InitiatingProcessRemoteSessionDeviceName", "");
        o.str("InitiatingProcessRemoteSessionIP", "");
        o.str("MachineGroup", dev.group);
        o.close();
        format!("{}|{}|{}|{}", dev.id, dev.name, upn, url)
    }

    /// Returns the rule's group key `DeviceId|DeviceName`.
    fn certificate(&mut self, out: &mut String, dev: &Device, ts: i64, kind: Kind) -> String {
        let (_, _, company, _) = self.rng.pick(PROGRAMS);
        let mut signer = String::new();
        match kind {
            Kind::Normal => push_json_content(&mut signer, company),
            Kind::Positive | Kind::Suppressed => signer.push_str(self.signer().0),
            Kind::NearMiss => {
                let s = self.near_signer();
                push_json_content(&mut signer, s);
            }
        }
        let rng = &mut self.rng;
        let created = ts - (400 + rng.below(400)) as i64 * TICKS_PER_DAY;
        let mut o = Obj::open(out);
        o.time("Timestamp", ts);
        o.str("DeviceId", &dev.id);
        o.str("DeviceName", &dev.name);
        o.hex(rng, "SHA1", 40);
        o.bool("IsSigned", true);
        o.str("SignatureType", "Embedded");
        o.raw_str("Signer", &signer);
        o.hex(rng, "SignerHash", 40);
        o.str(
            "Issuer",
            "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
        );
        o.hex(rng, "IssuerHash", 40);
        o.hex(rng, "CertificateSerialNumber", 32);
        o.str(
            "CrlDistributionPointUrls",
            "[\"http://crl3.digicert.com/DigiCertTrustedG4CodeSigningRSA4096SHA3842021CA1.crl\",\"http://crl4.digicert.com/DigiCertTrustedG4CodeSigningRSA4096SHA3842021CA1.crl\"]",
        );
        o.time("CertificateCreationTime", created);
        o.time("CertificateExpirationTime", created + 1095 * TICKS_PER_DAY);
        o.time("CertificateCountersignatureTime", created + TICKS_PER_DAY);
        o.bool("IsTrusted", true);
        o.bool("IsRootSignerMicrosoft", false);
        o.num("ReportId", self.report_id);
        o.str("MachineGroup", dev.group);
        o.close();
        format!("{}|{}", dev.id, dev.name)
    }
}

/// Appends `s` as JSON string content: escaped, without the quotes.
fn push_json_content(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}
