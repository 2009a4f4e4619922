//! What the plan's timing examples share: the rule files of a folder, this process's CPU
//! time. Included with `#[path]` (a folder under `examples/` is no example of its own).

use std::path::{Path, PathBuf};

/// The `.scry` files under `dir`, recursively, in path order.
pub fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("rules folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "scry") {
            out.push(p);
        }
    }
}

/// This process's user + system CPU seconds (from /proc/self/stat, in clock ticks of 10 ms).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
    ticks as f64 / 100.0
}
