//! Shared by the bench binaries: measuring in a fresh child process, and its peak memory.

use std::path::PathBuf;

/// jemalloc, set as the `tally` binary sets it (src/main.rs), so the benches measure
/// what users run.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"dirty_decay_ms:-1,muzzy_decay_ms:-1,narenas:1,oversize_threshold:0\0";
use std::process::Command;

/// Runs this bench binary again with `args` and returns what it printed, so that each
/// measurement's peak memory is its own.
pub fn in_child(args: &[&str]) -> String {
    in_child_with(args, &[])
}

/// As [`in_child`], with environment variables set for the child.
pub fn in_child_with(args: &[&str], env: &[(&str, String)]) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    let out = command.args(args).envs(env.iter().map(|(k, v)| (k, v))).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where generated bench inputs are cached: under the cargo target folder.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"), PathBuf::from)
        .join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn size(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Peak resident memory of this process (Linux VmHWM).
pub fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}
