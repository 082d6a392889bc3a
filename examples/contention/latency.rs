//! The latency section: every latency workload (in
//! `benches/workloads/latency.rs`) at each load, round after round, the
//! structures' order rotating; each structure's samples of all rounds merged
//! into one histogram, read out as p50, p90, p99, p99.9 and max.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use crate::cli::Options;
use crate::progress::Progress;
use crate::report::{json_number, json_string, markdown, role_name};
use crate::workloads::Role;
use crate::workloads::latency::{self, LatencyCase, LatencyRun};

/// The percentiles the report gives, as (label, quantile).
pub const QUANTILES: [(&str, f64); 4] = [
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99.9", 0.999),
];

/// A histogram read out, in ns.
#[derive(Clone, Debug, PartialEq)]
pub struct Percentiles {
    pub samples: u64,
    /// p50, p90, p99, p99.9, in the order of [`QUANTILES`].
    pub quantiles: [f64; 4],
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    pub fn of(histogram: &Histogram<u64>) -> Self {
        Percentiles {
            samples: histogram.len(),
            quantiles: QUANTILES.map(|(_, q)| histogram.value_at_quantile(q) as f64),
            max: histogram.max() as f64,
            mean: histogram.mean(),
        }
    }

    pub fn p50(&self) -> f64 {
        self.quantiles[0]
    }

    pub fn p99(&self) -> f64 {
        self.quantiles[2]
    }

    /// p50, p90, p99, p99.9, max: the points a latency chart draws.
    pub fn points(&self) -> [f64; 5] {
        let [a, b, c, d] = self.quantiles;
        [a, b, c, d, self.max]
    }
}

/// One structure at one load in one latency workload.
pub struct LatencyRow {
    pub workload: &'static str,
    pub about: &'static str,
    pub structure: &'static str,
    pub role: Role,
    /// The load parameter and how it reads (`2p2c`, `4 threads`, ...).
    pub n: usize,
    pub load: String,
    /// Threads the load runs (its oversubscription).
    pub threads: usize,
    pub percentiles: Percentiles,
    /// The p50 of each round, ns (the spread between rounds).
    pub p50_per_round: Vec<f64>,
}

/// Runs the latency workloads that pass the filters, at every load.
pub fn measure(options: &Options) -> Vec<LatencyRow> {
    struct Cell {
        workload: &'static str,
        about: &'static str,
        n: usize,
        load: String,
        threads: usize,
        cases: Vec<LatencyCase>,
    }
    let mut cells = Vec::new();
    for workload in latency::catalog() {
        let cases: Vec<LatencyCase> = workload
            .cases
            .iter()
            .copied()
            .filter(|case| {
                let key = format!("{}/{}", workload.id, case.structure).to_lowercase();
                options.filters.is_empty() || options.filters.iter().any(|f| key.contains(f))
            })
            .collect();
        if cases.is_empty() {
            continue;
        }
        for &n in &options.latency_n {
            cells.push(Cell {
                workload: workload.id,
                about: workload.about,
                n,
                load: (workload.load)(n),
                threads: (workload.threads)(n),
                cases: cases.clone(),
            });
        }
    }
    let total: usize = cells.iter().map(|c| c.cases.len() * options.rounds).sum();
    let mut progress = Progress::new("latency", total);
    let mut rows = Vec::new();
    for cell in &cells {
        let run = LatencyRun {
            n: cell.n,
            pinned: options.pinned,
            duration: options.duration,
        };
        let mut merged: Vec<Histogram<u64>> =
            cell.cases.iter().map(|_| latency::histogram()).collect();
        let mut per_round: Vec<Vec<f64>> = cell.cases.iter().map(|_| Vec::new()).collect();
        let count = cell.cases.len();
        for round in 0..options.rounds {
            for step in 0..count {
                let which = (step + round) % count;
                let case = &cell.cases[which];
                progress.show(&format!(
                    "{} {}, round {}/{}: {}",
                    cell.workload,
                    cell.load,
                    round + 1,
                    options.rounds,
                    case.structure
                ));
                let histogram = (case.run)(&run);
                per_round[which].push(histogram.value_at_quantile(0.5) as f64);
                merged[which].add(&histogram).expect("same bounds");
                progress.done += 1;
            }
        }
        let cell_rows: Vec<LatencyRow> = cell
            .cases
            .iter()
            .zip(merged)
            .zip(per_round)
            .map(|((case, histogram), p50_per_round)| LatencyRow {
                workload: cell.workload,
                about: cell.about,
                structure: case.structure,
                role: case.role,
                n: cell.n,
                load: cell.load.clone(),
                threads: cell.threads,
                percentiles: Percentiles::of(&histogram),
                p50_per_round,
            })
            .collect();
        let figures: Vec<String> = cell_rows
            .iter()
            .map(|r| {
                format!(
                    "{} p50 {} p99 {}",
                    r.structure,
                    format_nanos(r.percentiles.p50()),
                    format_nanos(r.percentiles.p99())
                )
            })
            .collect();
        progress.note(&format!(
            "{} {}: {}",
            cell.workload,
            cell.load,
            figures.join(", ")
        ));
        rows.extend(cell_rows);
    }
    progress.finish();
    rows
}

/// `850 ns`, `12.3 µs`, `4.56 ms`: three significant digits.
pub fn format_nanos(nanos: f64) -> String {
    let (value, unit) = if nanos >= 1e6 {
        (nanos / 1e6, "ms")
    } else if nanos >= 1e3 {
        (nanos / 1e3, "µs")
    } else {
        (nanos, "ns")
    };
    if value >= 100.0 || unit == "ns" {
        format!("{value:.0} {unit}")
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

/// Latency workload ids in the order they ran.
pub fn workloads(rows: &[LatencyRow]) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Vec::new();
    for row in rows {
        if !ids.contains(&row.workload) {
            ids.push(row.workload);
        }
    }
    ids
}

/// One latency workload's table: percentiles per structure and load, and
/// freelane's p50 and p99 over the best peer's at the same load (below 1 is
/// faster).
pub fn table(rows: &[LatencyRow], workload: &str) -> String {
    let mut mine: Vec<&LatencyRow> = rows.iter().filter(|r| r.workload == workload).collect();
    mine.sort_by_key(|r| (r.n, r.role != Role::Subject));
    let about = mine.first().map_or("", |r| r.about);
    let mut cells = vec![
        [
            "structure",
            "load",
            "samples",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "p50 / p99 vs best peer",
        ]
        .map(String::from),
    ];
    for row in &mine {
        let best = mine
            .iter()
            .filter(|r| r.n == row.n && r.role == Role::Peer)
            .min_by(|a, b| a.percentiles.p50().total_cmp(&b.percentiles.p50()));
        let versus = match best {
            Some(best) if std::ptr::eq(*best, *row) => "best peer".to_string(),
            Some(best) => format!(
                "{:.2}× / {:.2}× {}",
                row.percentiles.p50() / best.percentiles.p50(),
                row.percentiles.p99() / best.percentiles.p99(),
                best.structure
            ),
            None => "–".to_string(),
        };
        let name = match row.role {
            Role::Subject => format!("**{}**", row.structure),
            _ => row.structure.to_string(),
        };
        let p = &row.percentiles;
        cells.push([
            name,
            row.load.clone(),
            p.samples.to_string(),
            format_nanos(p.quantiles[0]),
            format_nanos(p.quantiles[1]),
            format_nanos(p.quantiles[2]),
            format_nanos(p.quantiles[3]),
            format_nanos(p.max),
            versus,
        ]);
    }
    let mut out = format!("## {workload}: {about}\n\n");
    out.push_str(&markdown(&cells));
    out
}

/// The latency rows as the JSON array `latency` (see docs/perf/SCHEMA.md).
pub fn json(rows: &[LatencyRow]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|row| {
            let p = &row.percentiles;
            let mut item = String::new();
            let _ = write!(
                item,
                "    {{\"workload\": {}, \"structure\": {}, \"role\": \"{}\", \"n\": {}, \
                 \"load\": {}, \"threads\": {}, \"samples\": {}, \"p50_ns\": {}, \"p90_ns\": {}, \
                 \"p99_ns\": {}, \"p999_ns\": {}, \"max_ns\": {}, \"mean_ns\": {}, \
                 \"p50_ns_per_round\": [{}]}}",
                json_string(row.workload),
                json_string(row.structure),
                role_name(row.role),
                row.n,
                json_string(&row.load),
                row.threads,
                p.samples,
                json_number(p.quantiles[0]),
                json_number(p.quantiles[1]),
                json_number(p.quantiles[2]),
                json_number(p.quantiles[3]),
                json_number(p.max),
                json_number(p.mean),
                row.p50_per_round
                    .iter()
                    .map(|&v| json_number(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            item
        })
        .collect();
    if items.is_empty() {
        "[]".into()
    } else {
        format!("[\n{}\n  ]", items.join(",\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_read_a_known_histogram() {
        let mut histogram = latency::histogram();
        for nanos in 1..=1000 {
            histogram.record(nanos).unwrap();
        }
        let p = Percentiles::of(&histogram);
        assert_eq!(p.samples, 1000);
        assert_eq!(p.p50(), 500.0);
        assert_eq!(p.quantiles[1], 900.0);
        assert_eq!(p.p99(), 990.0);
        assert_eq!(p.max, 1000.0);
    }

    #[test]
    fn nanos_format_in_three_digits() {
        assert_eq!(format_nanos(850.0), "850 ns");
        assert_eq!(format_nanos(12_345.0), "12.3 µs");
        assert_eq!(format_nanos(4_560_000.0), "4.56 ms");
    }
}
