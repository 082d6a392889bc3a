//! The core-to-core section: for every pair of cores the process may run on,
//! one cache line bounced by compare-exchange between two threads pinned to
//! them (`workloads::latency::core_to_core`), [`SAMPLES`] samples of
//! [`ROUND_TRIPS`] round trips; the median and the min–max of half a round
//! trip per pair. The view nviennot/core-to-core-latency made popular: on a
//! 2-core machine a 2×2 matrix, on a 64-core box the whole picture.

use std::fmt::Write as _;

use crate::progress::Progress;
use crate::report::{json_number, markdown, median};
use crate::workloads::latency;

/// Round trips per sample: about 0.3 ms per sample at ~70 ns one way.
pub const ROUND_TRIPS: u64 = 2000;
/// Samples per pair (odd: the median is one of them); `--quick` takes 7.
pub const SAMPLES: usize = 21;
pub const QUICK_SAMPLES: usize = 7;

/// One pair of cores.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    /// Half a round trip, ns: median, least and greatest over the samples.
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The matrix: each unordered pair measured once.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// The cores' ids, in order.
    pub cores: Vec<usize>,
    pub round_trips: u64,
    pub samples: usize,
    pub pairs: Vec<Pair>,
}

impl Matrix {
    /// The pair `a`, `b` in either order.
    pub fn get(&self, a: usize, b: usize) -> Option<&Pair> {
        self.pairs
            .iter()
            .find(|p| (p.a == a && p.b == b) || (p.a == b && p.b == a))
    }

    /// Medians over all pairs: (least, median, greatest).
    pub fn summary(&self) -> Option<(f64, f64, f64)> {
        let medians: Vec<f64> = self.pairs.iter().map(|p| p.median).collect();
        let least = medians.iter().copied().reduce(f64::min)?;
        let greatest = medians.iter().copied().reduce(f64::max)?;
        Some((least, median(&medians), greatest))
    }

    /// Two tables (medians, then min–max) and a line of summary.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "## core-to-core: one cache line bounced by CAS between two pinned cores\n\n",
        );
        let _ = writeln!(
            out,
            "Half a round trip in ns (median of {} samples of {} round trips per pair); \
             row and column are core ids.\n",
            self.samples, self.round_trips
        );
        if self.pairs.is_empty() {
            out.push_str("Fewer than two cores to pin to: nothing measured.\n");
            return out;
        }
        let grid = |cell: &dyn Fn(&Pair) -> String| {
            let mut rows = vec![
                std::iter::once("core".to_string())
                    .chain(self.cores.iter().map(ToString::to_string))
                    .collect::<Vec<_>>(),
            ];
            for &a in &self.cores {
                let mut row = vec![a.to_string()];
                for &b in &self.cores {
                    row.push(match self.get(a, b) {
                        Some(pair) if a != b => cell(pair),
                        _ => "–".to_string(),
                    });
                }
                rows.push(row);
            }
            markdown(&rows)
        };
        out.push_str(&grid(&|p| format!("{:.0}", p.median)));
        out.push_str("\nSpread (min–max over the samples):\n\n");
        out.push_str(&grid(&|p| format!("{:.0}–{:.0}", p.min, p.max)));
        if let Some((least, mid, greatest)) = self.summary() {
            let _ = writeln!(
                out,
                "\nOver {} pairs: fastest {least:.0} ns, median {mid:.0} ns, slowest {greatest:.0} ns.",
                self.pairs.len()
            );
        }
        out
    }

    /// The matrix as the JSON object `core_to_core` (see docs/perf/SCHEMA.md).
    pub fn json(&self) -> String {
        let pairs: Vec<String> = self
            .pairs
            .iter()
            .map(|p| {
                format!(
                    "      {{\"a\": {}, \"b\": {}, \"median_ns\": {}, \"min_ns\": {}, \"max_ns\": {}}}",
                    p.a,
                    p.b,
                    json_number(p.median),
                    json_number(p.min),
                    json_number(p.max)
                )
            })
            .collect();
        format!(
            "{{\"cores\": [{}], \"round_trips_per_sample\": {}, \"samples\": {}, \"pairs\": [\n{}\n    ]}}",
            self.cores
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            self.round_trips,
            self.samples,
            pairs.join(",\n")
        )
    }
}

/// Measures every pair of the cores this process may run on.
pub fn measure(quick: bool) -> Matrix {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let samples = if quick { QUICK_SAMPLES } else { SAMPLES };
    let mut pairs = Vec::new();
    let count = ids.len() * ids.len().saturating_sub(1) / 2;
    let mut progress = Progress::new("core-to-core", count);
    for (i, &a) in ids.iter().enumerate() {
        for &b in &ids[i + 1..] {
            progress.show(&format!("cores {} and {}", a.id, b.id));
            let figures = latency::core_to_core(a, b, ROUND_TRIPS, samples);
            let pair = Pair {
                a: a.id,
                b: b.id,
                median: median(&figures),
                min: figures.iter().copied().fold(f64::INFINITY, f64::min),
                max: figures.iter().copied().fold(0.0, f64::max),
            };
            progress.done += 1;
            progress.note(&format!(
                "cores {} and {}: {:.0} ns ({:.0}–{:.0})",
                pair.a, pair.b, pair.median, pair.min, pair.max
            ));
            pairs.push(pair);
        }
    }
    progress.finish();
    Matrix {
        cores: ids.iter().map(|c| c.id).collect(),
        round_trips: ROUND_TRIPS,
        samples,
        pairs,
    }
}
