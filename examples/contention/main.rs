//! The contention report: every freelane structure beside the crates people
//! use today, at 1, 2, 4, ... threads, with the issue's targets checked.
//!
//! ```sh
//! cargo run --release --example contention            # ~1.5 min on 2 cores
//! cargo run --release --example contention -- --quick # a first look
//! cargo run --release --example contention -- --help
//! ```
//!
//! Each workload (push/pop pairs, SPSC, MPMC, counting, try and blocking
//! acquire/release, and two physical limits) runs each of its structures for
//! a short fixed time per round; rounds interleave the structures, rotating
//! their order, so machine noise hits them alike. Every run checks its own
//! result and panics if anything was lost, duplicated or miscounted. The
//! tables (stdout, Markdown) show the median Mops/s, the min–max over rounds,
//! a fairness index, the ratio to the best peer, and each target's ratio to
//! its named peer with ✓/✗. Files go to `<target dir>/freelane-report/`:
//! `report.md`, `results.csv`, `targets.csv`, `report.json`, and an SVG chart
//! of throughput against threads for each workload that scales.
//!
//! The workloads are in `benches/workloads/mod.rs`, the same code `cargo
//! bench` runs under criterion. Modules: `cli` (options), `machine` (what
//! the figures were measured on), `targets`, `report` (tables, CSV, JSON),
//! `chart` (SVG).

#[cfg(not(freelane_loom))]
#[path = "../../benches/workloads/mod.rs"]
mod workloads;

#[cfg(not(freelane_loom))]
mod chart;
#[cfg(not(freelane_loom))]
mod cli;
#[cfg(not(freelane_loom))]
mod machine;
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
    use std::io::{IsTerminal, Write};
    use std::path::Path;
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    use crate::cli::{self, Options};
    use crate::machine::{self, Machine};
    use crate::report::{Report, Row, Settings};
    use crate::workloads::{self, Case, Run, Stop};
    use crate::{chart, report};

    /// One workload at one thread count: its structures run round after round.
    struct Cell {
        workload: &'static str,
        about: &'static str,
        threads: usize,
        cases: Vec<Case>,
    }

    pub fn main() -> ExitCode {
        let options = match cli::parse(std::env::args().skip(1)) {
            Ok(Some(options)) => options,
            Ok(None) => {
                println!("{}", cli::USAGE);
                return ExitCode::SUCCESS;
            }
            Err(err) => {
                eprintln!("contention: {err}\n\n{}", cli::USAGE);
                return ExitCode::from(2);
            }
        };
        if cfg!(debug_assertions) {
            eprintln!("note: this is a debug build; run with --release for meaningful figures");
        }
        let cells = plan(&options);
        if cells.is_empty() {
            eprintln!("contention: no workload or structure matches the filter");
            return ExitCode::from(2);
        }
        // A run that fails its check panics; start the message on a fresh line.
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            eprintln!();
            default_hook(info);
        }));

        let machine = Machine::probe();
        let started = Instant::now();
        let rows = measure(&cells, &options);
        let settings = Settings {
            threads: options.threads.clone(),
            pinned: options.pinned,
            rounds: options.rounds,
            duration: options.duration,
        };
        let report = Report::new(machine, settings, rows);
        println!("{}", report.markdown());

        let dir = options
            .out
            .clone()
            .unwrap_or_else(machine::default_report_dir);
        match write_files(&report, &dir) {
            Ok(charts) => eprintln!(
                "report written to {} (report.md, results.csv, targets.csv, report.json, {charts} SVG charts) in {:.0} s",
                dir.display(),
                started.elapsed().as_secs_f64()
            ),
            Err(err) => {
                eprintln!("contention: writing the report to {}: {err}", dir.display());
                return ExitCode::FAILURE;
            }
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
    fn measure(cells: &[Cell], options: &Options) -> Vec<Row> {
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
            "contention: {} workload/thread cells, {total_runs} measured runs of {} ms, at least {:.0} s",
            cells.len(),
            options.duration.as_millis(),
            estimate
        );
        let mut progress = Progress::new(total_runs);
        let mut rows = Vec::new();
        for (index, cell) in cells.iter().enumerate() {
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
            if options.warm_up {
                for case in &cell.cases {
                    progress.show(index, cells, "warm-up", case.structure);
                    (case.run)(&run(warm_up));
                }
            }
            let count = cell.cases.len();
            for round in 0..options.rounds {
                for step in 0..count {
                    let which = (step + round) % count;
                    let case = &cell.cases[which];
                    let label = format!("round {}/{}", round + 1, options.rounds);
                    progress.show(index, cells, &label, case.structure);
                    let measurement = (case.run)(&run(options.duration));
                    cell_rows[which].mops.push(measurement.mops());
                    cell_rows[which].fairness.push(measurement.fairness());
                    progress.done += 1;
                }
            }
            progress.cell_finished(cell, &cell_rows);
            rows.extend(cell_rows);
        }
        progress.finish();
        rows
    }

    /// The progress line on stderr: rewritten in place on a terminal, one
    /// line per finished cell otherwise.
    struct Progress {
        total: usize,
        done: usize,
        started: Instant,
        terminal: bool,
    }

    impl Progress {
        fn new(total: usize) -> Self {
            Progress {
                total,
                done: 0,
                started: Instant::now(),
                terminal: std::io::stderr().is_terminal(),
            }
        }

        fn eta(&self) -> String {
            if self.done == 0 {
                return String::new();
            }
            let per_run = self.started.elapsed().as_secs_f64() / self.done as f64;
            format!(", ~{:.0} s left", per_run * (self.total - self.done) as f64)
        }

        fn show(&self, index: usize, cells: &[Cell], stage: &str, structure: &str) {
            if self.terminal {
                let cell = &cells[index];
                eprint!(
                    "\r\x1b[2K[{:>3}%{}] {} at {} threads, {stage}: {structure}",
                    100 * self.done / self.total.max(1),
                    self.eta(),
                    cell.workload,
                    cell.threads
                );
                let _ = std::io::stderr().flush();
            }
        }

        fn cell_finished(&self, cell: &Cell, rows: &[Row]) {
            if !self.terminal {
                let figures: Vec<String> = rows
                    .iter()
                    .map(|r| format!("{} {}", r.structure, report::format_mops(r.median())))
                    .collect();
                eprintln!(
                    "[{:>3}%{}] {} at {} threads: {} Mops/s",
                    100 * self.done / self.total.max(1),
                    self.eta(),
                    cell.workload,
                    cell.threads,
                    figures.join(", ")
                );
            }
        }

        fn finish(&self) {
            if self.terminal {
                eprintln!(
                    "\r\x1b[2Kmeasured in {:.0} s",
                    self.started.elapsed().as_secs_f64()
                );
            }
        }
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
        let mut charts = 0;
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
            chart::draw(&path, &title, &rows, report.machine.cores)?;
            charts += 1;
        }
        Ok(charts)
    }
}
