//! Reads criterion's results back and prints the tables of BENCHMARKS.md: figures are
//! ratios of benchmarks run side by side in the same run.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use criterion::Criterion;

/// Where criterion writes its results, and where they are read back from.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::workspace().join("target"));
    target.join("criterion")
}

/// Criterion with timings short enough for the whole suite to run in minutes on two cores;
/// the figures compared are ratios within one run.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(30)
        .output_directory(&criterion_dir())
        .configure_from_args()
}

/// Mean time per iteration of every benchmark criterion has results for, by id
/// (`group/function`).
pub struct Results {
    mean_ns: HashMap<String, f64>,
}

impl Results {
    pub fn read() -> Self {
        let mut mean_ns = HashMap::new();
        collect(&criterion_dir(), &mut mean_ns);
        Self { mean_ns }
    }

    pub fn mean_ns(&self, id: &str) -> Option<f64> {
        self.mean_ns.get(id).copied()
    }
}

fn collect(dir: &Path, out: &mut HashMap<String, f64>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let read = |name: &str| -> Option<serde_json::Value> {
                serde_json::from_slice(&std::fs::read(path.join(name)).ok()?).ok()
            };
            if let (Some(benchmark), Some(estimates)) =
                (read("benchmark.json"), read("estimates.json"))
                && let (Some(id), Some(mean)) = (
                    benchmark["full_id"].as_str(),
                    estimates["mean"]["point_estimate"].as_f64(),
                )
            {
                out.insert(id.to_owned(), mean);
            }
        } else {
            collect(&path, out);
        }
    }
}

/// A codec benchmark group: `adapter/message/input`.
pub struct CodecRow {
    pub group: String,
    pub lines: Option<usize>,
    pub input_bytes: usize,
    /// What the encoder writes, when the message encodes.
    pub output_bytes: Option<usize>,
}

fn mb_per_s(bytes: usize, ns: f64) -> f64 {
    bytes as f64 / ns * 1e3
}

/// Measure 1: decode against the floor, encode against writing the same bytes.
pub fn codec_table(results: &Results, rows: &[CodecRow]) -> String {
    let mut out = String::from(
        "| adapter/message/input | bytes | floor MB/s | decode MB/s | decode docs/s | decode ÷ floor (bar ≥ 0.50) | write MB/s | encode MB/s | encode docs/s | encode ÷ write |\n\
         |---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let time = |function: &str| results.mean_ns(&format!("{}/{function}", row.group));
        let (Some(floor), Some(decode)) = (time("floor"), time("decode")) else {
            continue;
        };
        let ratio = floor / decode;
        let verdict = if ratio >= 0.5 { "holds" } else { "**missed**" };
        let _ = write!(
            out,
            "| {} | {} | {:.0} | {:.0} | {:.0} | {ratio:.2} {verdict} |",
            row.group,
            row.input_bytes,
            mb_per_s(row.input_bytes, floor),
            mb_per_s(row.input_bytes, decode),
            1e9 / decode,
        );
        match (row.output_bytes, time("write"), time("encode")) {
            (Some(written), Some(write), Some(encode)) => {
                let _ = writeln!(
                    out,
                    " {:.0} | {:.0} | {:.0} | {:.3} |",
                    mb_per_s(written, write),
                    mb_per_s(written, encode),
                    1e9 / encode,
                    write / encode
                );
            }
            _ => {
                let _ = writeln!(out, " – | – | – | – |");
            }
        }
    }
    out
}

/// Measure 2: the cost of each line beyond the smallest generated document, per message.
pub fn linear_table(results: &Results, rows: &[CodecRow]) -> String {
    let mut series: BTreeMap<String, Vec<(usize, &CodecRow)>> = BTreeMap::new();
    for row in rows {
        if let Some(lines) = row.lines {
            let message = row.group.rsplit_once('/').map_or(&*row.group, |(m, _)| m);
            series
                .entry(message.to_owned())
                .or_default()
                .push((lines, row));
        }
    }
    let mut out = String::new();
    for (message, mut points) in series {
        points.sort_by_key(|(lines, _)| *lines);
        for function in ["decode", "encode"] {
            let times: Vec<(usize, f64)> = points
                .iter()
                .filter_map(|(lines, row)| {
                    Some((
                        *lines,
                        results.mean_ns(&format!("{}/{function}", row.group))?,
                    ))
                })
                .collect();
            let Some(&(first_lines, first_ns)) = times.first() else {
                continue;
            };
            let marginal: Vec<f64> = times[1..]
                .iter()
                .map(|&(lines, ns)| (ns - first_ns) / (lines - first_lines) as f64)
                .collect();
            if marginal.is_empty() {
                continue;
            }
            let mean = marginal.iter().sum::<f64>() / marginal.len() as f64;
            let spread = marginal
                .iter()
                .map(|m| (m / mean - 1.0).abs())
                .fold(0.0, f64::max);
            let verdict = if spread <= 0.25 {
                "holds"
            } else {
                "**missed**"
            };
            let _ = writeln!(
                out,
                "\n{message} {function}: per-line cost within ±{:.0} % of its mean (bar ±25 %): {verdict}\n\n\
                 | lines | µs per document | µs per line | µs per line beyond {first_lines} |\n|---:|---:|---:|---:|",
                spread * 100.0
            );
            for (i, &(lines, ns)) in times.iter().enumerate() {
                let beyond = match i {
                    0 => "–".to_owned(),
                    _ => format!("{:.2}", marginal[i - 1] / 1e3),
                };
                let _ = writeln!(
                    out,
                    "| {lines} | {:.1} | {:.2} | {beyond} |",
                    ns / 1e3,
                    ns / 1e3 / lines as f64
                );
            }
        }
    }
    out
}
