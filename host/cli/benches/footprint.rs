//! Measure 5 of BENCHMARKS.md: `tradewire adapters` with the four adapters loaded as
//! dynamic libraries — wall time and peak RSS — and the sizes of the binary and plugins.
//! Also the process side of measure 3: a 50 MB input over `--max-input` is refused
//! before it is read whole.
//!
//! `cargo bench -p tradewire-cli --bench footprint`. Runs the release binary as a user
//! would; times are medians of repeated runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ADAPTERS: [&str; 4] = [
    "tradewire_econnecteur",
    "tradewire_oci_punchout",
    "tradewire_ois_orders",
    "tradewire_payment_order",
];
const RUNS: usize = 30;

/// The adapter libraries cargo built beside this benchmark (`target/release/deps`).
fn cdylib(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark knows its path");
    let path = exe.parent().expect("deps dir").join(format!(
        "{}{crate_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

struct Run {
    wall: Duration,
    max_rss_kib: i64,
    status: i32,
}

/// Runs `tradewire args` to the end; its wall time, its peak RSS (the largest of it and
/// the children it waited for) and its exit status.
// The child is reaped by `wait4`, which std's `Child` does not know about.
#[allow(clippy::zombie_processes)]
fn run(args: &[&str]) -> Run {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_tradewire"))
        .args(args)
        .env_remove("TRADEWIRE_PLUGIN_PATH")
        .env_remove("TRADEWIRE_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run tradewire");
    let pid = i32::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for (`child` is never waited on through
    // std); status and usage point to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let wall = started.elapsed();
    Run {
        wall,
        max_rss_kib: usage.ru_maxrss,
        status: libc::WEXITSTATUS(status),
    }
}

struct Summary {
    median: Duration,
    min: Duration,
    max_rss_kib: i64,
    status: i32,
}

fn measure(args: &[&str]) -> Summary {
    for _ in 0..3 {
        run(args);
    }
    let mut runs: Vec<Run> = (0..RUNS).map(|_| run(args)).collect();
    runs.sort_by_key(|r| r.wall);
    Summary {
        median: runs[RUNS / 2].wall,
        min: runs[0].wall,
        max_rss_kib: runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0),
        status: runs[0].status,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let plugins = tempfile::tempdir().expect("temp dir");
    for name in ADAPTERS {
        let from = cdylib(name);
        std::fs::copy(&from, plugins.path().join(from.file_name().expect("name"))).expect("copy");
    }
    let dir = plugins.path().to_str().expect("utf8 path");

    let mut out = String::from(
        "| command | median ms | min ms | bar ≤ 50 ms | peak RSS MiB | bar ≤ 20 MiB |\n|---|---:|---:|---|---:|---|\n",
    );
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "`tradewire --no-builtins --plugins DIR adapters` (4 libraries, each probed in a child first)",
            vec!["--no-builtins", "--plugins", dir, "adapters"],
        ),
        (
            "`tradewire --no-builtins --no-probe --plugins DIR adapters` (4 libraries)",
            vec!["--no-builtins", "--no-probe", "--plugins", dir, "adapters"],
        ),
        ("`tradewire adapters` (4 built-ins)", vec!["adapters"]),
    ];
    for (name, args) in &cases {
        let s = measure(args);
        assert_eq!(s.status, 0, "{name} failed");
        let rss = s.max_rss_kib as f64 / 1024.0;
        let holds = |ok: bool| if ok { "holds" } else { "**missed**" };
        out += &format!(
            "| {name} | {:.1} | {:.1} | {} | {rss:.1} | {} |\n",
            ms(s.median),
            ms(s.min),
            holds(ms(s.median) <= 50.0),
            holds(rss <= 20.0),
        );
    }
    println!("{out}");
    println!("{}", oversized_input(dir));
    println!("{}", sizes());
}

/// A 50 MB order file decoded with `--max-input 4 MiB`, against the same file decoded
/// under the default 64 MiB limit.
fn oversized_input(plugins: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("order.xml");
    // Written in pieces: a child's peak RSS includes its parent's at the time it execs
    // (posix_spawn shares the parent's memory until then), so this process stays small.
    let mut writer = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
    writer
        .write_all(b"<?xml version=\"1.0\"?><order><products>")
        .expect("write");
    let line = b"<product><id>FAC132</id><qty>1</qty><price_ttc>10.00</price_ttc></product>";
    for _ in 0..50_000_000 / line.len() {
        writer.write_all(line).expect("write");
    }
    writer.write_all(b"</products></order>").expect("write");
    writer.flush().expect("flush");
    let file = file.to_str().expect("utf8");
    let mut out = String::from(
        "| 50 MB input to `decode econnecteur order` | exit status | peak RSS MiB |\n|---|---:|---:|\n",
    );
    for (name, limit) in [
        ("`--max-input 4194304`", Some("4194304")),
        ("default `--max-input` (64 MiB)", None),
    ] {
        let mut args = vec!["--no-probe", "--no-builtins", "--plugins", plugins];
        if let Some(limit) = limit {
            args.extend(["--max-input", limit]);
        }
        args.extend(["decode", "econnecteur", "order", file]);
        let r = run(&args);
        out += &format!(
            "| {name} | {} | {:.1} |\n",
            r.status,
            r.max_rss_kib as f64 / 1024.0
        );
    }
    out
}

/// Sizes as built, and stripped of symbols (`strip`, when the machine has it).
fn sizes() -> String {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut files = vec![PathBuf::from(env!("CARGO_BIN_EXE_tradewire"))];
    files.extend(ADAPTERS.iter().map(|name| cdylib(name)));
    let mut out = String::from("| file | bytes | stripped bytes |\n|---|---:|---:|\n");
    for file in files {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let size = std::fs::metadata(&file).expect("size").len();
        let stripped = stripped_size(&file, &scratch.path().join(&name))
            .map_or_else(|| "strip not found".to_owned(), |s| s.to_string());
        out += &format!("| {name} | {size} | {stripped} |\n");
    }
    out
}

fn stripped_size(file: &Path, to: &Path) -> Option<u64> {
    let status = Command::new("strip")
        .arg("--strip-all")
        .arg("-o")
        .arg(to)
        .arg(file)
        .status()
        .ok()?;
    status
        .success()
        .then(|| std::fs::metadata(to).ok().map(|m| m.len()))
        .flatten()
}
