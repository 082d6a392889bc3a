//! The contention report: every freelane structure beside the crates people
//! use today, at 1, 2, 4, ... threads, with the issue's targets checked; the
//! latency of one hand-off as percentiles; and the core-to-core matrix.
//!
//! ```sh
//! cargo run --release --example contention            # ~3 min on 2 cores
//! cargo run --release --example contention -- --quick # a first look
//! cargo run --release --example contention -- --core-to-core  # the matrix alone
//! cargo run --release --example contention -- --compare A.json B.json
//! cargo run --release --example contention -- --publish   # rewrite docs/perf
//! cargo run --release --example contention -- --help
//! ```
//!
//! Three sections, each selectable alone (`--throughput`, `--latency`,
//! `--core-to-core`; all by default):
//!
//! - throughput: each workload (push/pop pairs, SPSC, MPMC, counting, try and
//!   blocking acquire/release, rate limiting, async waits, two physical
//!   limits) runs each of its structures for a short fixed time per round;
//!   rounds interleave the structures, rotating their order, so machine noise
//!   hits them alike. The tables show the median Mops/s, the min–max over
//!   rounds, a fairness index, the ratio to the best peer, and each target's
//!   ratio to its named peer with ✓/✗.
//! - latency: one hand-off timed end to end (push to pop, acquire to grant,
//!   wake-up to poll) with TSC stamps, every sample in an HdrHistogram: p50,
//!   p90, p99, p99.9, max beside the peers, at loads derived from the cores.
//! - core to core: a cache line bounced by CAS between every pair of cores.
//!
//! Every run checks its own result and panics if anything was lost,
//! duplicated or miscounted. Files go to `<target dir>/freelane-report/`:
//! `report.md`, `results.csv`, `targets.csv`, `report.json` (its schema:
//! docs/perf/SCHEMA.md), an SVG chart of throughput against threads for each
//! workload that scales, one of percentiles per latency workload, and the
//! core-to-core heatmap, and `readme-performance.md` (the README's
//! Performance text, its "where freelane is behind" list generated from the
//! target checks: module `readme`).
//!
//! `--publish` is the run the docs quote: default settings, written into
//! `docs/perf/` (every file above), refused when other processes are busy
//! (module `load`: the load average before and after, and other processes'
//! CPU share in a 1 s probe and during the run, are in every report's
//! header; `--allow-busy` overrides). Paste `docs/perf/readme-performance.md`
//! between the README's `perf:begin` and `perf:end` markers.
//!
//! The workloads are in `benches/workloads/` (`mod.rs`, `latency.rs`), the
//! same code `cargo bench` runs under criterion. Modules: `cli` (options),
//! `machine` (what the figures were measured on), `targets`, `report`
//! (tables, CSV, JSON), `latency` and `core_to_core` (those sections),
//! `compare` (`--compare`), `progress`, `chart` (SVG).

#[cfg(not(freelane_loom))]
#[path = "../../benches/workloads/mod.rs"]
mod workloads;

#[cfg(not(freelane_loom))]
mod chart;
#[cfg(not(freelane_loom))]
mod cli;
#[cfg(not(freelane_loom))]
mod compare;
#[cfg(not(freelane_loom))]
mod core_to_core;
#[cfg(not(freelane_loom))]
mod latency;
#[cfg(not(freelane_loom))]
mod load;
#[cfg(not(freelane_loom))]
mod machine;
#[cfg(not(freelane_loom))]
mod progress;
#[cfg(not(freelane_loom))]
mod readme;
#[cfg(not(freelane_loom))]
mod report;
#[cfg(not(freelane_loom))]
mod targets;

/// Under loom the peers are not built (see Cargo.toml): nothing to measure.
#[cfg(freelane_loom)]
fn main() {
    eprintln!("the contention report is not built under --cfg freelane_loom");
}

#[cfg(not(freelane_loom))]
fn main() -> std::process::ExitCode {
    app::main()
}

#[cfg(not(freelane_loom))]
mod app {
    use std::path::Path;
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    use crate::cli::{self, Mode, Options};
    use crate::load::Load;
    use crate::machine::{self, Machine};
    use crate::progress::Progress;
    use crate::report::{Report, Row, Section, Settings};
    use crate::workloads::{self, Case, Run, Stop};
    use crate::{chart, compare, core_to_core, latency, report};

    /// One workload at one thread count: its structures run round after round.
    struct Cell {
        workload: &'static str,
        about: &'static str,
        threads: usize,
        cases: Vec<Case>,
    }

    pub fn main() -> ExitCode {
        let options = match cli::parse(std::env::args().skip(1)) {
            Ok(Mode::Run(options)) => options,
            Ok(Mode::Help) => {
                println!("{}", cli::USAGE);
                return ExitCode::SUCCESS;
            }
            Ok(Mode::Compare(a, b)) => {
                return match compare::run(&a, &b) {
                    Ok(tables) => {
                        println!("{tables}");
                        ExitCode::SUCCESS
                    }
                    Err(err) => {
                        eprintln!("contention --compare: {err}");
                        ExitCode::from(2)
                    }
                };
            }
            Err(err) => {
                eprintln!("contention: {err}\n\n{}", cli::USAGE);
                return ExitCode::from(2);
            }
        };
        if cfg!(debug_assertions) {
            eprintln!("note: this is a debug build; run with --release for meaningful figures");
        }
        let cells = if options.sections.throughput {
            plan(&options)
        } else {
            Vec::new()
        };
        // A run that fails its check panics; start the message on a fresh line.
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            eprintln!();
            default_hook(info);
        }));

        let machine = Machine::probe();
        let mut load = Load::probe(machine.cores);
        eprintln!("{}", load.describe());
        if let Some(warning) = load.warning() {
            eprintln!("{warning}");
            if options.publish && !options.allow_busy {
                eprintln!(
                    "contention --publish: refusing to regenerate docs/perf on a busy machine \
                     (--allow-busy overrides)"
                );
                return ExitCode::from(3);
            }
        }
        let started = Instant::now();
        let mut sections = Vec::new();
        let rows = if cells.is_empty() {
            Vec::new()
        } else {
            let (rows, seconds) = measure(&cells, &options);
            sections.push(Section {
                name: "throughput",
                seconds,
            });
            rows
        };
        let (latency_rows, clock) = if options.sections.latency {
            let begun = Instant::now();
            let clock = workloads::latency::clock_cost();
            eprintln!(
                "latency: timestamps from quanta's raw TSC reading, {:.1} ns each \
                 (Instant::now {:.1} ns), resolution {:.2} ns",
                clock.stamp_ns, clock.instant_ns, clock.resolution_ns
            );
            let rows = latency::measure(&options);
            sections.push(Section {
                name: "latency",
                seconds: begun.elapsed().as_secs_f64(),
            });
            (rows, Some(clock))
        } else {
            (Vec::new(), None)
        };
        let matrix = options.sections.core_to_core.then(|| {
            let begun = Instant::now();
            let matrix = core_to_core::measure(options.quick);
            sections.push(Section {
                name: "core-to-core",
                seconds: begun.elapsed().as_secs_f64(),
            });
            matrix
        });
        if rows.is_empty() && latency_rows.is_empty() && matrix.is_none() {
            eprintln!("contention: no workload or structure matches the filter");
            return ExitCode::from(2);
        }
        let settings = Settings {
            threads: options.threads.clone(),
            pinned: options.pinned,
            rounds: options.rounds,
            duration: options.duration,
            latency_n: options.latency_n.clone(),
        };
        load.finish();
        let mut report = Report::new(machine, settings, rows);
        report.load = load;
        report.latency = latency_rows;
        report.matrix = matrix;
        report.clock = clock;
        report.sections = sections;
        println!("{}", report.markdown());

        let dir = options
            .out
            .clone()
            .unwrap_or_else(machine::default_report_dir);
        let times: Vec<String> = report
            .sections
            .iter()
            .map(|s| format!("{} {:.0} s", s.name, s.seconds))
            .collect();
        match write_files(&report, &dir) {
            Ok(charts) => eprintln!(
                "report written to {} (report.md, results.csv, targets.csv, report.json, {charts} SVG charts) in {:.0} s ({})",
                dir.display(),
                started.elapsed().as_secs_f64(),
                times.join(", ")
            ),
            Err(err) => {
                eprintln!("contention: writing the report to {}: {err}", dir.display());
                return ExitCode::FAILURE;
            }
        }
        if let Some(warning) = report.load.warning() {
            eprintln!("{warning}");
        }
        ExitCode::SUCCESS
    }

    /// The cells to run, in report order, with the filters applied per structure.
    fn plan(options: &Options) -> Vec<Cell> {
        let mut cells = Vec::new();
        for workload in workloads::catalog() {
            let cases: Vec<Case> = workload
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
            for threads in workload.threads.counts(&options.threads) {
                cells.push(Cell {
                    workload: workload.id,
                    about: workload.about,
                    threads,
                    cases: cases.clone(),
                });
            }
        }
        cells
    }

    /// Runs every cell: a warm-up run per structure (discarded), then the
    /// rounds, each running every structure once in an order that rotates.
    /// Returns the rows and the section's seconds.
    fn measure(cells: &[Cell], options: &Options) -> (Vec<Row>, f64) {
        let total_runs: usize = cells.iter().map(|c| c.cases.len() * options.rounds).sum();
        let warm_up = options.duration / 2;
        let estimate = cells.iter().map(|c| c.cases.len()).sum::<usize>() as f64
            * (options.rounds as f64 * options.duration.as_secs_f64()
                + if options.warm_up {
                    warm_up.as_secs_f64()
                } else {
                    0.0
                });
        eprintln!(
            "throughput: {} workload/thread cells, {total_runs} measured runs of {} ms, at least {:.0} s",
            cells.len(),
            options.duration.as_millis(),
            estimate
        );
        let mut progress = Progress::new("throughput", total_runs);
        let mut rows = Vec::new();
        for cell in cells {
            let run = |duration: Duration| Run {
                threads: cell.threads,
                pinned: options.pinned,
                stop: Stop::Time(duration),
            };
            let mut cell_rows: Vec<Row> = cell
                .cases
                .iter()
                .map(|case| Row {
                    workload: cell.workload,
                    about: cell.about,
                    structure: case.structure,
                    role: case.role,
                    threads: cell.threads,
                    mops: Vec::with_capacity(options.rounds),
                    fairness: Vec::with_capacity(options.rounds),
                })
                .collect();
            let at = |stage: &str, structure: &str| {
                format!(
                    "{} at {} threads, {stage}: {structure}",
                    cell.workload, cell.threads
                )
            };
            if options.warm_up {
                for case in &cell.cases {
                    progress.show(&at("warm-up", case.structure));
                    (case.run)(&run(warm_up));
                }
            }
            let count = cell.cases.len();
            for round in 0..options.rounds {
                for step in 0..count {
                    let which = (step + round) % count;
                    let case = &cell.cases[which];
                    let label = format!("round {}/{}", round + 1, options.rounds);
                    progress.show(&at(&label, case.structure));
                    let measurement = (case.run)(&run(options.duration));
                    cell_rows[which].mops.push(measurement.mops());
                    cell_rows[which].fairness.push(measurement.fairness());
                    progress.done += 1;
                }
            }
            let figures: Vec<String> = cell_rows
                .iter()
                .map(|r| format!("{} {}", r.structure, report::format_mops(r.median())))
                .collect();
            progress.note(&format!(
                "{} at {} threads: {} Mops/s",
                cell.workload,
                cell.threads,
                figures.join(", ")
            ));
            rows.extend(cell_rows);
        }
        let seconds = progress.finish();
        (rows, seconds)
    }

    /// Writes the report's files; returns how many charts it drew.
    fn write_files(report: &Report, dir: &Path) -> Result<usize, Box<dyn std::error::Error>> {
        std::fs::create_dir_all(dir)?;
        // Charts of an earlier run with other filters would sit beside this one's.
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "svg") {
                std::fs::remove_file(path)?;
            }
        }
        std::fs::write(dir.join("report.md"), report.markdown())?;
        std::fs::write(dir.join("results.csv"), report.csv())?;
        std::fs::write(dir.join("targets.csv"), report.targets_csv())?;
        std::fs::write(dir.join("report.json"), report.json())?;
        std::fs::write(
            dir.join("readme-performance.md"),
            crate::readme::section(report),
        )?;
        let mut charts = 0;
        let machine = format!(
            "{}, {} cores, {}, commit {}",
            report.machine.cpu,
            report.machine.cores,
            report.machine.platform,
            report.machine.commit
        );
        for workload in report.workloads() {
            let rows: Vec<&Row> = report
                .rows
                .iter()
                .filter(|r| r.workload == workload)
                .collect();
            let mut thread_counts: Vec<usize> = rows.iter().map(|r| r.threads).collect();
            thread_counts.sort_unstable();
            thread_counts.dedup();
            if thread_counts.len() < 2 {
                continue; // one thread count: the table says it all
            }
            let title = format!("{workload}: {}", rows[0].about);
            let path = dir.join(format!("{}.svg", workload.replace('/', "-")));
            chart::draw(&path, &title, &machine, &rows, report.machine.cores)?;
            charts += 1;
        }
        for workload in latency::workloads(&report.latency) {
            let rows: Vec<&latency::LatencyRow> = report
                .latency
                .iter()
                .filter(|r| r.workload == workload)
                .collect();
            let title = format!("{workload}: p50 to max");
            let path = dir.join(format!("{}.svg", workload.replace('/', "-")));
            chart::draw_latency(&path, &title, &machine, &rows)?;
            charts += 1;
        }
        if let Some(matrix) = &report.matrix {
            chart::draw_heatmap(&dir.join("core-to-core.svg"), matrix, &machine)?;
            charts += 1;
        }
        Ok(charts)
    }
}
