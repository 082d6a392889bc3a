//! The report's command line: the sections (`--throughput`, `--latency`,
//! `--core-to-core`), `--quick`, `--threads`, `--latency-n`, `--unpinned`,
//! `--filter`, `--rounds`, `--duration-ms`, `--out`, `--compare`, `--help`.

use std::path::PathBuf;
use std::time::Duration;

use crate::workloads;

/// Rounds per cell by default: the median of five survives two bad rounds.
const DEFAULT_ROUNDS: usize = 5;
/// One run's length by default: long enough for millions of operations,
/// short enough that the whole default report fits in two minutes on 2 cores.
const DEFAULT_DURATION: Duration = Duration::from_millis(120);
/// `--quick`: three short rounds, no warm-up run.
const QUICK_ROUNDS: usize = 3;
const QUICK_DURATION: Duration = Duration::from_millis(40);

pub const USAGE: &str = "\
freelane contention report: every structure beside its peers, at several thread counts.

Usage: cargo run --release --example contention -- [OPTIONS]
       cargo run --release --example contention -- --compare A.json B.json

Sections (default: all three; name one or more to run only those):
  --throughput       Mops/s of every workload, every structure beside its peers
  --latency          p50/p90/p99/p99.9/max of one hand-off: push to pop, acquire
                     to grant, wake-up to poll (HdrHistogram, TSC timestamps)
  --core-to-core     the core-to-core latency matrix: one cache line bounced by CAS
                     between every pair of cores (table and SVG heatmap)

Options:
  --quick            3 short rounds, no warm-up (a first look in ~15 s on 2 cores)
  --threads LIST     thread counts, e.g. 1,2,8 (default: 1, 2, 4, ... up to 4x the
                     cores; env FREELANE_THREADS)
  --latency-n LIST   latency loads n (n producers + n consumers, 2n threads on one
                     permit, n runtime workers), e.g. 1,4 (default: 1, cores/2,
                     cores; env FREELANE_LATENCY_N)
  --unpinned         let the OS place the threads (default: thread i pinned to core
                     i mod cores; env FREELANE_UNPINNED=1)
  --filter SUBSTR    only runs whose \"workload/structure\" contains SUBSTR, any case
                     (e.g. ring/, mpmc, Semaphore); repeat to keep several
  --rounds N         rounds per structure and thread count (default 5, --quick 3)
  --duration-ms MS   length of one run in milliseconds (default 120, --quick 40)
  --out DIR          where to write the report (default: <target dir>/freelane-report)
  --publish          the run the docs quote: default settings, written to docs/perf
                     (report.md, results.csv, targets.csv, report.json, every SVG,
                     readme-performance.md for the README); refuses on a busy machine
  --allow-busy       with --publish: run even though other processes are busy
  --compare A B      no run: print, workload by workload, the ratios B/A between two
                     report.json files (two machines, or two commits)
  --help             this text

Rounds interleave the structures of a workload (their order rotates each round), so
machine noise hits them alike; tables show the median, the min-max over rounds, and
ratios taken round by round. Every run checks its own result and panics if an item
was lost, duplicated or reordered, a count is off, or a permit went missing.";

/// Which sections of the report run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sections {
    pub throughput: bool,
    pub latency: bool,
    pub core_to_core: bool,
}

/// What the command line asked for.
pub enum Mode {
    /// `--help`.
    Help,
    /// Measure and write a report.
    Run(Options),
    /// `--compare A B`: read two reports, print their ratios.
    Compare(PathBuf, PathBuf),
}

/// What a run measures and how.
pub struct Options {
    pub sections: Sections,
    pub latency_n: Vec<usize>,
    pub threads: Vec<usize>,
    pub pinned: bool,
    pub filters: Vec<String>,
    pub rounds: usize,
    pub duration: Duration,
    pub warm_up: bool,
    pub quick: bool,
    pub out: Option<PathBuf>,
    /// `--publish`: write docs/perf, refuse on a busy machine.
    pub publish: bool,
    pub allow_busy: bool,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Mode, String> {
    let mut quick = false;
    let mut sections = Sections {
        throughput: false,
        latency: false,
        core_to_core: false,
    };
    let mut latency_n = None;
    let mut compare = None;
    let mut threads = None;
    let mut pinned = workloads::pinned_by_default();
    let mut filters = Vec::new();
    let mut rounds = None;
    let mut duration = None;
    let mut out = None;
    let mut publish = false;
    let mut allow_busy = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(Mode::Help),
            "--quick" => quick = true,
            "--throughput" => sections.throughput = true,
            "--latency" => sections.latency = true,
            "--core-to-core" => sections.core_to_core = true,
            "--latency-n" => {
                latency_n = Some(workloads::parse_thread_list(&value("--latency-n")?)?);
            }
            "--compare" => {
                let first = value("--compare")?;
                let second = args.next().ok_or("--compare needs two report.json files")?;
                compare = Some((PathBuf::from(first), PathBuf::from(second)));
            }
            "--unpinned" => pinned = false,
            "--threads" => threads = Some(workloads::parse_thread_list(&value("--threads")?)?),
            "--filter" => filters.push(value("--filter")?.to_lowercase()),
            "--rounds" => rounds = Some(positive(&value("--rounds")?, "--rounds")?),
            "--duration-ms" => {
                let ms = positive(&value("--duration-ms")?, "--duration-ms")?;
                duration = Some(Duration::from_millis(ms as u64));
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--publish" => publish = true,
            "--allow-busy" => allow_busy = true,
            other => return Err(format!("unknown option {other:?} (see --help)")),
        }
    }
    if let Some((a, b)) = compare {
        return Ok(Mode::Compare(a, b));
    }
    if publish {
        if quick || !filters.is_empty() || out.is_some() || rounds.is_some() || duration.is_some() {
            return Err(
                "--publish runs the default report into docs/perf: no --quick, --filter, \
                 --out, --rounds or --duration-ms"
                    .into(),
            );
        }
        out = Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/perf"));
    }
    if sections
        == (Sections {
            throughput: false,
            latency: false,
            core_to_core: false,
        })
    {
        sections = Sections {
            throughput: true,
            latency: true,
            core_to_core: true,
        };
    }
    Ok(Mode::Run(Options {
        sections,
        latency_n: latency_n.unwrap_or_else(workloads::latency::loads),
        threads: threads.unwrap_or_else(workloads::thread_counts),
        pinned,
        filters,
        rounds: rounds.unwrap_or(if quick { QUICK_ROUNDS } else { DEFAULT_ROUNDS }),
        duration: duration.unwrap_or(if quick {
            QUICK_DURATION
        } else {
            DEFAULT_DURATION
        }),
        warm_up: !quick,
        quick,
        out,
        publish,
        allow_busy,
    }))
}

fn positive(text: &str, name: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{name} wants a positive whole number, not {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &str) -> Result<Mode, String> {
        parse(words.split_whitespace().map(String::from))
    }

    fn run_options(words: &str) -> Options {
        match parse_words(words) {
            Ok(Mode::Run(options)) => options,
            Ok(_) => panic!("{words:?} is not a run"),
            Err(err) => panic!("{words:?}: {err}"),
        }
    }

    #[test]
    fn no_section_flag_runs_all_sections() {
        let options = run_options("--quick");
        assert!(options.sections.throughput && options.sections.latency);
        assert!(options.sections.core_to_core);
    }

    #[test]
    fn core_to_core_flag_selects_it_alone() {
        let options = run_options("--core-to-core");
        assert_eq!(
            options.sections,
            Sections {
                throughput: false,
                latency: false,
                core_to_core: true
            }
        );
    }

    #[test]
    fn latency_n_is_parsed_sorted() {
        assert_eq!(run_options("--latency-n 4,1").latency_n, vec![1, 4]);
        assert!(parse_words("--latency-n 0").is_err());
    }

    #[test]
    fn compare_takes_two_paths() {
        match parse_words("--compare a.json b.json") {
            Ok(Mode::Compare(a, b)) => {
                assert_eq!(a, PathBuf::from("a.json"));
                assert_eq!(b, PathBuf::from("b.json"));
            }
            _ => panic!("not a comparison"),
        }
        assert!(parse_words("--compare a.json").is_err());
    }
}
