//! `--compare A.json B.json`: two reports (two machines, or two commits)
//! side by side, workload by workload, as ratios B/A. Reads schema versions
//! 1 (no `schema_version`: throughput only), 2 and 3 (docs/perf/SCHEMA.md).

use std::fmt::Write as _;

use serde_json::Value;

use crate::latency::format_nanos;
use crate::report::{SCHEMA_VERSION, format_mops, markdown, median};

/// What `--compare` reads from one report.json.
#[derive(Debug, Default)]
pub struct Figures {
    pub schema_version: u64,
    /// CPU, cores and commit, to name the run.
    pub label: String,
    /// (workload, structure, threads) and median Mops/s.
    pub throughput: Vec<((String, String, u64), f64)>,
    /// (workload, structure, load) and p50, p99 in ns.
    pub latency: Vec<((String, String, String), f64, f64)>,
    /// (core a, core b) and the median ns.
    pub core_to_core: Vec<((u64, u64), f64)>,
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, String> {
    value
        .get(name)
        .ok_or_else(|| format!("missing field {name:?}"))
}

fn text(value: &Value, name: &str) -> Result<String, String> {
    field(value, name)?
        .as_str()
        .map(String::from)
        .ok_or_else(|| format!("field {name:?} is not a string"))
}

fn whole(value: &Value, name: &str) -> Result<u64, String> {
    field(value, name)?
        .as_u64()
        .ok_or_else(|| format!("field {name:?} is not a whole number"))
}

/// A figure; `null` (a NaN or infinity when written) reads as NaN.
fn number(value: &Value, name: &str) -> Result<f64, String> {
    match field(value, name)? {
        Value::Null => Ok(f64::NAN),
        figure => figure
            .as_f64()
            .ok_or_else(|| format!("field {name:?} is not a number")),
    }
}

fn array<'a>(value: &'a Value, name: &str) -> Result<&'a [Value], String> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("field {name:?} is not an array")),
    }
}

/// Reads one report.json.
pub fn parse(json: &str) -> Result<Figures, String> {
    let root: Value = serde_json::from_str(json).map_err(|err| format!("not JSON: {err}"))?;
    let schema_version = match root.get("schema_version") {
        None => 1,
        Some(version) => version
            .as_u64()
            .ok_or("schema_version is not a whole number")?,
    };
    if schema_version > SCHEMA_VERSION {
        return Err(format!(
            "schema_version {schema_version} is newer than this tool reads ({SCHEMA_VERSION})"
        ));
    }
    let machine = field(&root, "machine")?;
    let label = format!(
        "{}, {} cores, commit {}",
        text(machine, "cpu")?,
        whole(machine, "cores")?,
        text(machine, "commit")?
    );
    let mut figures = Figures {
        schema_version,
        label,
        ..Figures::default()
    };
    for row in array(&root, "results")? {
        figures.throughput.push((
            (
                text(row, "workload")?,
                text(row, "structure")?,
                whole(row, "threads")?,
            ),
            number(row, "median_mops")?,
        ));
    }
    for row in array(&root, "latency")? {
        figures.latency.push((
            (
                text(row, "workload")?,
                text(row, "structure")?,
                text(row, "load")?,
            ),
            number(row, "p50_ns")?,
            number(row, "p99_ns")?,
        ));
    }
    if let Some(matrix) = root.get("core_to_core").filter(|m| !m.is_null()) {
        for pair in array(matrix, "pairs")? {
            figures.core_to_core.push((
                (whole(pair, "a")?, whole(pair, "b")?),
                number(pair, "median_ns")?,
            ));
        }
    }
    Ok(figures)
}

/// One line of a comparison: a key, A's figure, B's, and B/A.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub key: Vec<String>,
    pub a: Vec<f64>,
    pub b: Vec<f64>,
}

impl Line {
    /// B/A of each figure.
    pub fn ratios(&self) -> Vec<f64> {
        self.a.iter().zip(&self.b).map(|(a, b)| b / a).collect()
    }
}

/// The matched lines of each section, and how many keys only one side has.
#[derive(Debug, Default)]
pub struct Comparison {
    pub throughput: Vec<Line>,
    pub latency: Vec<Line>,
    pub core_to_core: Vec<Line>,
    pub only_a: usize,
    pub only_b: usize,
}

/// Matches `a`'s and `b`'s keys within each section, in `a`'s order.
pub fn compare(a: &Figures, b: &Figures) -> Comparison {
    let mut comparison = Comparison::default();
    fn matched<K: PartialEq, V>(
        a: &[(K, V)],
        b: &[(K, V)],
        only_a: &mut usize,
        only_b: &mut usize,
        mut line: impl FnMut(&K, &V, &V) -> Line,
    ) -> Vec<Line> {
        *only_b += b
            .iter()
            .filter(|(k, _)| !a.iter().any(|(j, _)| j == k))
            .count();
        a.iter()
            .filter_map(|(key, figure)| match b.iter().find(|(k, _)| k == key) {
                Some((_, other)) => Some(line(key, figure, other)),
                None => {
                    *only_a += 1;
                    None
                }
            })
            .collect()
    }
    let (only_a, only_b) = (&mut comparison.only_a, &mut comparison.only_b);
    comparison.throughput = matched(&a.throughput, &b.throughput, only_a, only_b, |k, x, y| {
        Line {
            key: vec![k.0.clone(), k.1.clone(), k.2.to_string()],
            a: vec![*x],
            b: vec![*y],
        }
    });
    let pairs = |rows: &[((String, String, String), f64, f64)]| -> Vec<_> {
        rows.iter()
            .map(|(k, p50, p99)| (k.clone(), (*p50, *p99)))
            .collect()
    };
    comparison.latency = matched(
        &pairs(&a.latency),
        &pairs(&b.latency),
        only_a,
        only_b,
        |k, x, y| Line {
            key: vec![k.0.clone(), k.1.clone(), k.2.clone()],
            a: vec![x.0, x.1],
            b: vec![y.0, y.1],
        },
    );
    comparison.core_to_core = matched(
        &a.core_to_core,
        &b.core_to_core,
        only_a,
        only_b,
        |k, x, y| Line {
            key: vec![format!("{}–{}", k.0, k.1)],
            a: vec![*x],
            b: vec![*y],
        },
    );
    comparison
}

fn ratio_cell(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{ratio:.2}×")
    } else {
        "–".into()
    }
}

/// The geometric mean of the finite, positive ratios.
pub fn geometric_mean(ratios: impl IntoIterator<Item = f64>) -> Option<f64> {
    let logs: Vec<f64> = ratios
        .into_iter()
        .filter(|r| r.is_finite() && *r > 0.0)
        .map(f64::ln)
        .collect();
    (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// The comparison as Markdown tables.
pub fn render(a: &Figures, b: &Figures, comparison: &Comparison) -> String {
    let mut out = format!(
        "# freelane reports compared\n\n- A: {} (schema {})\n- B: {} (schema {})\n\
         - ratios are B/A: above 1, B moved more per second (throughput) or took longer (latency)\n",
        a.label, a.schema_version, b.label, b.schema_version
    );
    if !comparison.throughput.is_empty() {
        out.push_str("\n## Throughput (median Mops/s)\n\n");
        let mut cells =
            vec![["workload", "structure", "threads", "A", "B", "B/A"].map(String::from)];
        for line in &comparison.throughput {
            cells.push([
                line.key[0].clone(),
                line.key[1].clone(),
                line.key[2].clone(),
                format_mops(line.a[0]),
                format_mops(line.b[0]),
                ratio_cell(line.ratios()[0]),
            ]);
        }
        out.push_str(&markdown(&cells));
        if let Some(mean) = geometric_mean(comparison.throughput.iter().map(|l| l.ratios()[0])) {
            let _ = writeln!(
                out,
                "\nGeometric mean of B/A over {} lines: {mean:.2}×.",
                comparison.throughput.len()
            );
        }
    }
    if !comparison.latency.is_empty() {
        out.push_str("\n## Latency (p50 and p99)\n\n");
        let mut cells = vec![
            [
                "workload",
                "structure",
                "load",
                "A p50",
                "B p50",
                "B/A p50",
                "A p99",
                "B p99",
                "B/A p99",
            ]
            .map(String::from),
        ];
        for line in &comparison.latency {
            let ratios = line.ratios();
            cells.push([
                line.key[0].clone(),
                line.key[1].clone(),
                line.key[2].clone(),
                format_nanos(line.a[0]),
                format_nanos(line.b[0]),
                ratio_cell(ratios[0]),
                format_nanos(line.a[1]),
                format_nanos(line.b[1]),
                ratio_cell(ratios[1]),
            ]);
        }
        out.push_str(&markdown(&cells));
    }
    if !comparison.core_to_core.is_empty() {
        out.push_str("\n## Core to core (median ns per pair)\n\n");
        let mut cells = vec![["cores", "A", "B", "B/A"].map(String::from)];
        for line in &comparison.core_to_core {
            cells.push([
                line.key[0].clone(),
                format!("{:.0}", line.a[0]),
                format!("{:.0}", line.b[0]),
                ratio_cell(line.ratios()[0]),
            ]);
        }
        out.push_str(&markdown(&cells));
        let ratios: Vec<f64> = comparison
            .core_to_core
            .iter()
            .map(|l| l.ratios()[0])
            .collect();
        let _ = writeln!(out, "\nMedian B/A over the pairs: {:.2}×.", median(&ratios));
    }
    if comparison.only_a + comparison.only_b > 0 {
        let _ = writeln!(
            out,
            "\nNot compared: {} lines only in A, {} only in B (other workloads, thread counts or cores).",
            comparison.only_a, comparison.only_b
        );
    }
    out
}

/// `--compare`: reads both files, prints the tables.
pub fn run(a: &std::path::Path, b: &std::path::Path) -> Result<String, String> {
    let read = |path: &std::path::Path| {
        let json =
            std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        parse(&json).map_err(|err| format!("{}: {err}", path.display()))
    };
    let (a, b) = (read(a)?, read(b)?);
    let comparison = compare(&a, &b);
    Ok(render(&a, &b, &comparison))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small report of the given schema, throughput medians, latency and matrix.
    fn report(mops: [f64; 2], p50: f64, p99: f64, pair_ns: f64) -> String {
        format!(
            r#"{{"schema_version": 2,
               "machine": {{"cpu": "Test CPU", "cores": 2, "platform": "linux/x86_64",
                            "rustc": "rustc", "commit": "abc1234", "timestamp": 0}},
               "settings": {{"threads": [1, 2], "pinned": true, "rounds": 3, "duration_ms": 10, "latency_n": [1]}},
               "clock": null, "sections": [],
               "results": [
                 {{"workload": "ring/mpmc", "structure": "RingBuffer", "role": "freelane", "threads": 2, "median_mops": {}}},
                 {{"workload": "ring/mpmc", "structure": "ArrayQueue", "role": "peer", "threads": 2, "median_mops": {}}}
               ],
               "targets": [],
               "latency": [
                 {{"workload": "latency/ring", "structure": "RingBuffer", "role": "freelane", "n": 1,
                   "load": "1p1c", "threads": 2, "samples": 10, "p50_ns": {p50}, "p90_ns": 1,
                   "p99_ns": {p99}, "p999_ns": 1, "max_ns": 1, "mean_ns": 1, "p50_ns_per_round": []}}
               ],
               "core_to_core": {{"cores": [0, 1], "round_trips_per_sample": 10, "samples": 1,
                                "pairs": [{{"a": 0, "b": 1, "median_ns": {pair_ns}, "min_ns": 1, "max_ns": 1}}]}}
            }}"#,
            mops[0], mops[1]
        )
    }

    #[test]
    fn compare_gives_known_ratios() {
        let a = parse(&report([10.0, 40.0], 100.0, 400.0, 50.0)).unwrap();
        let b = parse(&report([20.0, 10.0], 150.0, 200.0, 75.0)).unwrap();
        let comparison = compare(&a, &b);
        let throughput: Vec<f64> = comparison
            .throughput
            .iter()
            .map(|l| l.ratios()[0])
            .collect();
        assert_eq!(throughput, vec![2.0, 0.25]);
        assert_eq!(comparison.latency[0].ratios(), vec![1.5, 0.5]);
        assert_eq!(comparison.core_to_core[0].ratios(), vec![1.5]);
        assert_eq!((comparison.only_a, comparison.only_b), (0, 0));
        let table = render(&a, &b, &comparison);
        assert!(
            table.contains("| ring/mpmc | RingBuffer | 2       | 10.0 | 20.0 | 2.00× |"),
            "{table}"
        );
        assert!(
            table.contains("Geometric mean of B/A over 2 lines: 0.71×"),
            "{table}"
        );
    }

    #[test]
    fn unmatched_lines_are_counted_not_compared() {
        let a = parse(&report([10.0, 40.0], 100.0, 400.0, 50.0)).unwrap();
        let mut b = parse(&report([20.0, 10.0], 150.0, 200.0, 75.0)).unwrap();
        b.throughput[1].0.2 = 8; // ArrayQueue at 8 threads: not in A
        let comparison = compare(&a, &b);
        assert_eq!(comparison.throughput.len(), 1);
        assert_eq!((comparison.only_a, comparison.only_b), (1, 1));
    }

    #[test]
    fn version_1_reports_are_read_for_throughput() {
        let v1 = r#"{"machine": {"cpu": "Old", "cores": 2, "platform": "p", "rustc": "r", "commit": "e4e33a6", "timestamp": 1},
                     "settings": {"threads": [1], "pinned": true, "rounds": 5, "duration_ms": 120},
                     "results": [{"workload": "ring/pairs", "structure": "RingBuffer", "threads": 1, "median_mops": 82.6}],
                     "targets": []}"#;
        let figures = parse(v1).unwrap();
        assert_eq!(figures.schema_version, 1);
        assert_eq!(figures.throughput.len(), 1);
        assert!(figures.latency.is_empty() && figures.core_to_core.is_empty());
    }

    #[test]
    fn newer_schema_and_broken_files_are_refused() {
        let newer = report([1.0, 1.0], 1.0, 1.0, 1.0)
            .replace("\"schema_version\": 2", "\"schema_version\": 99");
        assert!(parse(&newer).unwrap_err().contains("newer"));
        assert!(parse("{").unwrap_err().contains("not JSON"));
        let no_machine = r#"{"schema_version": 2, "results": []}"#;
        assert!(parse(no_machine).unwrap_err().contains("machine"));
    }

    #[test]
    fn geometric_mean_skips_non_figures() {
        assert_eq!(geometric_mean([2.0, 8.0, f64::NAN, 0.0]), Some(4.0));
        assert_eq!(geometric_mean([]), None);
    }
}
