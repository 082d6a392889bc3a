//! Figures into words: per-workload tables (Markdown, printed and saved),
//! the target checks, the latency and core-to-core sections, CSV and JSON
//! (the schema is docs/perf/SCHEMA.md; [`SCHEMA_VERSION`] names it).

use std::fmt::Write as _;
use std::time::Duration;

use crate::core_to_core::Matrix;
use crate::latency::{self, LatencyRow};
use crate::load::Load;
use crate::machine::Machine;
use crate::targets::{self, Check, Status};
use crate::workloads::Role;
use crate::workloads::latency::ClockCost;

/// The version of report.json's schema (docs/perf/SCHEMA.md). Version 1 (no
/// `schema_version` field) had `machine`, `settings`, `results`, `targets`;
/// version 2 adds `schema_version`, `clock`, `sections`, `latency` and
/// `core_to_core`. Bump it when a field changes meaning or goes away.
///
/// Version 3: `targets[]` gains `target`, `issue`, `at` and `status`, and a
/// cell whose rows are missing is written with `ratio` and `met` null; `load`
/// is new.
pub const SCHEMA_VERSION: u64 = 3;

/// One structure at one thread count in one workload: a figure per round.
pub struct Row {
    pub workload: &'static str,
    pub about: &'static str,
    pub structure: &'static str,
    pub role: Role,
    pub threads: usize,
    /// Mops/s, one per round (index = round).
    pub mops: Vec<f64>,
    /// min/max of per-thread operations, one per round.
    pub fairness: Vec<f64>,
}

impl Row {
    pub fn median(&self) -> f64 {
        median(&self.mops)
    }
    fn min(&self) -> f64 {
        self.mops.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn max(&self) -> f64 {
        self.mops.iter().copied().fold(0.0, f64::max)
    }
}

/// The median (mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `a` over `b` round by round (the two ran back to back), then the median.
pub fn ratio(a: &Row, b: &Row) -> f64 {
    let per_round: Vec<f64> = a.mops.iter().zip(&b.mops).map(|(x, y)| x / y).collect();
    median(&per_round)
}

/// How a run was configured.
pub struct Settings {
    pub threads: Vec<usize>,
    pub pinned: bool,
    pub rounds: usize,
    pub duration: Duration,
    /// The latency section's loads.
    pub latency_n: Vec<usize>,
}

/// One section's running time.
pub struct Section {
    pub name: &'static str,
    pub seconds: f64,
}

/// A check's cell in a workload table: "2.10× ArrayQueue (≥1) ✓".
fn check_cell(check: &Check) -> String {
    format!(
        "{:.2}× {} (≥{}) {}",
        check.ratio.unwrap_or(f64::NAN),
        check.target.peer,
        check.target.threshold,
        check.status().mark()
    )
}

/// Everything a report holds.
pub struct Report {
    pub machine: Machine,
    pub settings: Settings,
    pub rows: Vec<Row>,
    pub checks: Vec<Check>,
    /// The latency section's rows (empty when it did not run).
    pub latency: Vec<LatencyRow>,
    /// The core-to-core matrix, if it ran.
    pub matrix: Option<Matrix>,
    /// The timestamp clock's cost, if a latency section ran.
    pub clock: Option<ClockCost>,
    /// Each section's running time, in the order they ran.
    pub sections: Vec<Section>,
    /// How busy the machine was.
    pub load: Load,
}

impl Report {
    pub fn new(machine: Machine, settings: Settings, rows: Vec<Row>) -> Self {
        let checks = targets::check(&rows, &settings.threads, machine.cores);
        Report {
            machine,
            settings,
            rows,
            checks,
            latency: Vec::new(),
            matrix: None,
            clock: None,
            sections: Vec::new(),
            load: Load::default(),
        }
    }

    /// Workload ids in the order they ran.
    pub fn workloads(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for row in &self.rows {
            if !ids.contains(&row.workload) {
                ids.push(row.workload);
            }
        }
        ids
    }

    fn best_peer(&self, workload: &str, threads: usize) -> Option<&Row> {
        self.rows
            .iter()
            .filter(|r| r.workload == workload && r.threads == threads && r.role == Role::Peer)
            .max_by(|a, b| a.median().total_cmp(&b.median()))
    }

    /// The SPSC ceiling (rtrb) measured under `limits/`, shown under the SPSC workloads.
    fn spsc_ceiling(&self) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.workload == "limits/spsc-handoff")
    }

    /// The header: machine, compiler, commit, settings.
    pub fn header(&self) -> String {
        let (m, s) = (&self.machine, &self.settings);
        let threads: Vec<String> = s.threads.iter().map(ToString::to_string).collect();
        format!(
            "# freelane contention report\n\n\
             - CPU: {} ({} cores available, {})\n\
             - rustc: {}\n\
             - freelane commit: {}\n\
             - machine load: {}\n\
             - threads: {} ({}); {} rounds of {} ms per structure and thread count, \
             structures interleaved within each round\n\
             - figures: median Mops/s over the rounds (min–max); ratios are medians of \
             per-round ratios; fairness = min/max of per-thread operations (median)\n{}{}",
            m.cpu,
            m.cores,
            m.platform,
            m.rustc,
            m.commit,
            self.load.describe(),
            threads.join(", "),
            if s.pinned {
                "pinned round-robin to cores"
            } else {
                "unpinned"
            },
            s.rounds,
            s.duration.as_millis(),
            self.clock.map_or(String::new(), |c| format!(
                "- latency timestamps: the TSC through quanta, {:.1} ns a reading \
                 (Instant::now: {:.1} ns), resolution {:.2} ns; loads n = {}\n",
                c.stamp_ns,
                c.instant_ns,
                c.resolution_ns,
                s.latency_n
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            if self.sections.is_empty() {
                String::new()
            } else {
                let parts: Vec<String> = self
                    .sections
                    .iter()
                    .map(|x| format!("{} {:.0} s", x.name, x.seconds))
                    .collect();
                let total: f64 = self.sections.iter().map(|x| x.seconds).sum();
                format!("- running time: {total:.0} s ({})\n", parts.join(", "))
            },
        )
    }

    /// One workload's table in Markdown, padded so it also reads in a terminal.
    pub fn table(&self, workload: &str) -> String {
        let mut rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.workload == workload)
            .collect();
        let ceiling = if workload.ends_with("/spsc") {
            self.spsc_ceiling()
        } else {
            None
        };
        rows.sort_by_key(|r| (r.threads, r.role != Role::Subject));
        let about = rows.first().map_or("", |r| r.about);
        let mut cells = vec![
            [
                "structure",
                "threads",
                "Mops/s",
                "min–max",
                "fairness",
                "vs best peer",
                "target",
            ]
            .map(String::from),
        ];
        for row in rows.iter().copied().chain(ceiling) {
            let vs_best = match (row.role, self.best_peer(workload, row.threads)) {
                (Role::Ceiling, _) => "ceiling".to_string(),
                (_, Some(best)) if std::ptr::eq(best, row) => "best peer".to_string(),
                (_, Some(best)) => format!("{:.2}× {}", ratio(row, best), best.structure),
                (_, None) => "–".to_string(),
            };
            let targets: Vec<String> = self
                .checks
                .iter()
                .filter(|c| {
                    c.workload == workload
                        && c.threads == Some(row.threads)
                        && c.target.subject == row.structure
                        && c.status() != Status::NotMeasured
                })
                .map(check_cell)
                .collect();
            let name = match row.role {
                Role::Subject => format!("**{}**", row.structure),
                _ => row.structure.to_string(),
            };
            cells.push([
                name,
                row.threads.to_string(),
                format_mops(row.median()),
                format!("{}–{}", format_mops(row.min()), format_mops(row.max())),
                format!("{:.2}", median(&row.fairness)),
                vs_best,
                targets.join("; "),
            ]);
        }
        let mut out = format!("## {workload}: {about}\n\n");
        out.push_str(&markdown(&cells));
        if let Some(ceiling) = ceiling {
            let fractions: Vec<String> = rows
                .iter()
                .filter(|r| r.role == Role::Subject)
                .map(|r| format!("{} at {:.0}%", r.structure, 100.0 * ratio(r, ceiling)))
                .collect();
            if !fractions.is_empty() {
                let _ = writeln!(
                    out,
                    "\nOf the SPSC ceiling ({}): {}.",
                    ceiling.structure,
                    fractions.join(", ")
                );
            }
        }
        if workload == "limits/ping-pong" {
            for row in &rows {
                let _ = writeln!(
                    out,
                    "\nOne cache-line round trip between two cores: {:.0} ns (median).",
                    1e3 / row.median()
                );
            }
        }
        out
    }

    /// Every target at every cell, then the tally.
    pub fn target_summary(&self) -> String {
        let mut out = String::from(
            "## Targets\n\nEach issue's speed targets, checked on this run's rows: the \
             subject's median Mops/s over the peer's, as a median of per-round ratios. A cell \
             whose rows did not run is \"not measured\", never met.\n\n",
        );
        let mut cells =
            vec![["target", "from", "at", "workload", "ratio", "met"].map(String::from)];
        for check in &self.checks {
            cells.push([
                check.target.name(),
                check.target.source(),
                check.at.clone(),
                check.workload.to_string(),
                check.ratio.map_or("–".into(), |r| format!("{r:.2}×")),
                check.status().mark().to_string(),
            ]);
        }
        out.push_str(&markdown(&cells));
        let count = |status| self.checks.iter().filter(|c| c.status() == status).count();
        let _ = writeln!(
            out,
            "\n{} of {} target cells met, {} missed, {} not measured.",
            count(Status::Met),
            self.checks.len(),
            count(Status::Missed),
            count(Status::NotMeasured)
        );
        out
    }

    /// The whole report in Markdown.
    pub fn markdown(&self) -> String {
        let mut out = self.header();
        for workload in self.workloads() {
            out.push('\n');
            out.push_str(&self.table(workload));
        }
        if !self.rows.is_empty() {
            out.push('\n');
            out.push_str(&self.target_summary());
        }
        if !self.latency.is_empty() {
            out.push_str(
                "\n# Latency\n\nOne hand-off timed end to end, every sample of every round in \
                 an HdrHistogram (3 significant digits). \"vs best peer\": freelane's figure over \
                 the peer with the lowest p50 at the same load; below 1 is faster.\n",
            );
            for workload in latency::workloads(&self.latency) {
                out.push('\n');
                out.push_str(&latency::table(&self.latency, workload));
            }
        }
        if let Some(matrix) = &self.matrix {
            out.push('\n');
            out.push_str(&matrix.markdown());
        }
        out
    }

    /// One line per structure, thread count and workload.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "workload,structure,role,threads,rounds,median_mops,min_mops,max_mops,fairness,\
             best_peer,ratio_to_best_peer,mops_per_round\n",
        );
        for row in &self.rows {
            let best = self.best_peer(row.workload, row.threads);
            let per_round: Vec<String> = row.mops.iter().map(|m| format!("{m:.4}")).collect();
            let _ = writeln!(
                out,
                "{},{},{},{},{},{:.4},{:.4},{:.4},{:.4},{},{},{}",
                csv_field(row.workload),
                csv_field(row.structure),
                role_name(row.role),
                row.threads,
                row.mops.len(),
                row.median(),
                row.min(),
                row.max(),
                median(&row.fairness),
                csv_field(best.map_or("", |b| b.structure)),
                best.map_or(String::new(), |b| format!("{:.4}", ratio(row, b))),
                per_round.join(";"),
            );
        }
        out
    }

    /// The target checks as CSV, one line per target and cell.
    pub fn targets_csv(&self) -> String {
        let mut out =
            String::from("target,issue,workload,at,threads,subject,peer,threshold,ratio,status\n");
        for c in &self.checks {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{}",
                csv_field(&c.target.name()),
                c.target.issue,
                csv_field(c.workload),
                csv_field(&c.at),
                c.threads.map_or(String::new(), |t| t.to_string()),
                csv_field(c.target.subject),
                csv_field(c.target.peer),
                c.target.threshold,
                c.ratio.map_or(String::new(), |r| format!("{r:.4}")),
                c.status().word()
            );
        }
        out
    }

    /// Machine, settings, rows and checks as JSON (written by hand: a few
    /// flat objects do not justify a serializer dependency).
    pub fn json(&self) -> String {
        let (m, s) = (&self.machine, &self.settings);
        let mut out = format!("{{\n  \"schema_version\": {SCHEMA_VERSION},\n");
        let _ = writeln!(
            out,
            "  \"machine\": {{\"cpu\": {}, \"cores\": {}, \"platform\": {}, \"rustc\": {}, \
             \"commit\": {}, \"timestamp\": {}}},",
            json_string(&m.cpu),
            m.cores,
            json_string(&m.platform),
            json_string(&m.rustc),
            json_string(&m.commit),
            m.timestamp
        );
        let _ = writeln!(
            out,
            "  \"settings\": {{\"threads\": [{}], \"pinned\": {}, \"rounds\": {}, \"duration_ms\": {}, \
             \"latency_n\": [{}]}},",
            s.threads
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            s.pinned,
            s.rounds,
            s.duration.as_millis(),
            s.latency_n
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            out,
            "  \"clock\": {},",
            self.clock.map_or("null".into(), |c| format!(
                "{{\"source\": \"quanta raw (TSC)\", \"stamp_ns\": {}, \"instant_now_ns\": {}, \
                 \"resolution_ns\": {}}}",
                json_number(c.stamp_ns),
                json_number(c.instant_ns),
                json_number(c.resolution_ns)
            ))
        );
        let sections: Vec<String> = self
            .sections
            .iter()
            .map(|x| {
                format!(
                    "{{\"name\": {}, \"seconds\": {}}}",
                    json_string(x.name),
                    json_number(x.seconds)
                )
            })
            .collect();
        let _ = writeln!(out, "  \"sections\": [{}],", sections.join(", "));
        let _ = writeln!(out, "  \"load\": {},", self.load.json());
        out.push_str("  \"results\": [\n");
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|row| {
                let best = self.best_peer(row.workload, row.threads);
                format!(
                    "    {{\"workload\": {}, \"structure\": {}, \"role\": \"{}\", \"threads\": {}, \
                     \"median_mops\": {}, \"min_mops\": {}, \"max_mops\": {}, \"fairness\": {}, \
                     \"best_peer\": {}, \"ratio_to_best_peer\": {}, \"mops_per_round\": [{}]}}",
                    json_string(row.workload),
                    json_string(row.structure),
                    role_name(row.role),
                    row.threads,
                    json_number(row.median()),
                    json_number(row.min()),
                    json_number(row.max()),
                    json_number(median(&row.fairness)),
                    best.map_or("null".into(), |b| json_string(b.structure)),
                    best.map_or("null".into(), |b| json_number(ratio(row, b))),
                    row.mops
                        .iter()
                        .map(|&v| json_number(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        out.push_str(&rows.join(",\n"));
        out.push_str("\n  ],\n  \"targets\": [\n");
        let checks: Vec<String> = self
            .checks
            .iter()
            .map(|c| {
                format!(
                    "    {{\"target\": {}, \"issue\": {}, \"workload\": {}, \"at\": {}, \
                     \"threads\": {}, \"subject\": {}, \"peer\": {}, \"threshold\": {}, \
                     \"ratio\": {}, \"status\": {}, \"met\": {}}}",
                    json_string(&c.target.name()),
                    c.target.issue,
                    json_string(c.workload),
                    json_string(&c.at),
                    c.threads.map_or("null".into(), |t| t.to_string()),
                    json_string(c.target.subject),
                    json_string(c.target.peer),
                    json_number(c.target.threshold),
                    c.ratio.map_or("null".into(), json_number),
                    json_string(c.status().word()),
                    match c.status() {
                        Status::Met => "true",
                        Status::Missed => "false",
                        Status::NotMeasured => "null",
                    }
                )
            })
            .collect();
        out.push_str(&checks.join(",\n"));
        out.push_str("\n  ],\n");
        let _ = writeln!(out, "  \"latency\": {},", latency::json(&self.latency));
        let _ = writeln!(
            out,
            "  \"core_to_core\": {}",
            self.matrix.as_ref().map_or("null".into(), Matrix::json)
        );
        out.push_str("}\n");
        out
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Subject => "freelane",
        Role::Peer => "peer",
        Role::Ceiling => "ceiling",
    }
}

/// Three significant digits, enough for figures that move ±5% run to run.
pub fn format_mops(mops: f64) -> String {
    if mops >= 100.0 {
        format!("{mops:.0}")
    } else if mops >= 10.0 {
        format!("{mops:.1}")
    } else {
        format!("{mops:.2}")
    }
}

/// A Markdown table, each column padded to its widest cell; rows are arrays
/// or vectors of cells (the core-to-core matrix has one column per core).
pub fn markdown<R: AsRef<[String]>>(cells: &[R]) -> String {
    let columns = cells.first().map_or(0, |row| row.as_ref().len());
    let width = |column: usize| {
        cells
            .iter()
            .map(|row| row.as_ref()[column].chars().count())
            .max()
            .unwrap_or(0)
            .max(3)
    };
    let widths: Vec<usize> = (0..columns).map(width).collect();
    let line = |row: &[String]| {
        let padded: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(cells[0].as_ref());
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
    for row in &cells[1..] {
        out.push_str(&line(row.as_ref()));
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// JSON has no NaN or infinity: those become null.
pub fn json_number(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.4}")
    } else {
        "null".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core_to_core::Pair;
    use crate::latency::Percentiles;

    fn small_report() -> Report {
        let machine = Machine {
            cpu: "Test \"CPU\"".into(),
            cores: 2,
            rustc: "rustc 1.95.0".into(),
            commit: "abc1234".into(),
            platform: "linux/x86_64".into(),
            timestamp: 7,
        };
        let settings = Settings {
            threads: vec![1, 2],
            pinned: true,
            rounds: 2,
            duration: Duration::from_millis(10),
            latency_n: vec![1],
        };
        let row = |structure, role, mops: Vec<f64>| Row {
            workload: "ring/mpmc",
            about: "about",
            structure,
            role,
            threads: 2,
            fairness: vec![1.0; mops.len()],
            mops,
        };
        let rows = vec![
            row("RingBuffer", Role::Subject, vec![30.0, 50.0]),
            row("ArrayQueue", Role::Peer, vec![20.0, 25.0]),
        ];
        let mut report = Report::new(machine, settings, rows);
        report.latency = vec![LatencyRow {
            workload: "latency/ring",
            about: "about",
            structure: "RingBuffer",
            role: Role::Subject,
            n: 1,
            load: "1p1c".into(),
            threads: 2,
            percentiles: Percentiles {
                samples: 10,
                quantiles: [100.0, 200.0, 300.0, 400.0],
                max: 500.0,
                mean: 150.0,
            },
            p50_per_round: vec![100.0, 110.0],
        }];
        report.matrix = Some(Matrix {
            cores: vec![0, 1],
            round_trips: 10,
            samples: 3,
            pairs: vec![Pair {
                a: 0,
                b: 1,
                median: 55.0,
                min: 50.0,
                max: 60.0,
            }],
        });
        report.clock = Some(ClockCost {
            stamp_ns: 7.0,
            instant_ns: 25.0,
            resolution_ns: f64::NAN,
        });
        report.sections = vec![Section {
            name: "throughput",
            seconds: 1.5,
        }];
        report
    }

    #[test]
    fn readme_section_shows_the_heatmap_and_a_latency_chart_naming_the_machine() {
        let mut report = small_report();
        let text = crate::readme::section(&report);
        assert!(text.contains("![core-to-core latency heatmap](docs/perf/core-to-core.svg)"));
        assert!(text.contains("cores 0↔1 55 ns"));
        assert!(text.contains("](docs/perf/latency-ring.svg)"));
        assert!(text.contains("on Test \"CPU\" (2 cores)"));
        // Sections that did not run leave no dangling picture.
        report.matrix = None;
        report.latency.clear();
        let text = crate::readme::section(&report);
        assert!(!text.contains(".svg"), "{text}");
    }

    #[test]
    fn readme_section_gives_the_ring_over_its_lock_free_peer_only_when_it_ran() {
        let mut report = small_report();
        let text = crate::readme::section(&report);
        assert!(!text.contains("lfqueue"), "{text}");
        report.rows.push(Row {
            workload: "ring/mpmc",
            about: "about",
            structure: crate::workloads::LOCK_FREE_RING_PEER,
            role: Role::Peer,
            threads: 2,
            fairness: vec![1.0; 2],
            mops: vec![10.0, 10.0],
        });
        let text = crate::readme::section(&report);
        // RingBuffer ran 30 and 50 against 10 and 10: per-round 3× and 5×.
        assert!(
            text.contains("RingBuffer ran at ring/mpmc 4.0× (thread counts"),
            "{text}"
        );
    }

    #[test]
    fn json_round_trips_through_the_compare_reader() {
        let report = small_report();
        let figures = crate::compare::parse(&report.json()).expect("valid JSON of the schema");
        assert_eq!(figures.schema_version, SCHEMA_VERSION);
        assert_eq!(figures.label, "Test \"CPU\", 2 cores, commit abc1234");
        assert_eq!(
            figures.throughput,
            vec![
                (("ring/mpmc".into(), "RingBuffer".into(), 2), 40.0),
                (("ring/mpmc".into(), "ArrayQueue".into(), 2), 22.5),
            ]
        );
        assert_eq!(
            figures.latency,
            vec![(
                ("latency/ring".into(), "RingBuffer".into(), "1p1c".into()),
                100.0,
                300.0
            )]
        );
        assert_eq!(figures.core_to_core, vec![((0, 1), 55.0)]);
    }

    #[test]
    fn json_has_every_field_the_schema_documents() {
        let json: serde_json::Value = serde_json::from_str(&small_report().json()).unwrap();
        let schema = include_str!("../../docs/perf/SCHEMA.md");
        for key in [
            "schema_version",
            "machine",
            "settings",
            "clock",
            "sections",
            "load",
            "results",
            "targets",
            "latency",
            "core_to_core",
        ] {
            assert!(json.get(key).is_some(), "report.json lacks {key}");
            assert!(
                schema.contains(&format!("`{key}`")),
                "SCHEMA.md does not document {key}"
            );
        }
        // A NaN is written as null, which JSON allows.
        assert!(json["clock"]["resolution_ns"].is_null());
        assert_eq!(json["results"][0]["ratio_to_best_peer"], 1.75);
        let fields = |section: &str| -> Vec<String> {
            json[section][0]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        for section in ["results", "targets", "latency"] {
            for name in fields(section) {
                assert!(
                    schema.contains(&format!("`{name}`")),
                    "SCHEMA.md does not document {section}.{name}"
                );
            }
        }
    }

    #[test]
    fn a_throughput_only_report_keeps_the_new_sections_empty() {
        let mut report = small_report();
        report.latency.clear();
        report.matrix = None;
        let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
        assert_eq!(json["latency"], serde_json::json!([]));
        assert!(json["core_to_core"].is_null());
    }
}
