//! The report's command line: `--quick`, `--threads`, `--unpinned`,
//! `--filter`, `--rounds`, `--duration-ms`, `--out`, `--help`.

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

Options:
  --quick            3 short rounds, no warm-up (a first look in ~15 s on 2 cores)
  --threads LIST     thread counts, e.g. 1,2,8 (default: 1, 2, 4, ... up to 4x the
                     cores; env FREELANE_THREADS)
  --unpinned         let the OS place the threads (default: thread i pinned to core
                     i mod cores; env FREELANE_UNPINNED=1)
  --filter SUBSTR    only runs whose \"workload/structure\" contains SUBSTR, any case
                     (e.g. ring/, mpmc, Semaphore); repeat to keep several
  --rounds N         rounds per structure and thread count (default 5, --quick 3)
  --duration-ms MS   length of one run in milliseconds (default 120, --quick 40)
  --out DIR          where to write the report (default: <target dir>/freelane-report)
  --help             this text

Rounds interleave the structures of a workload (their order rotates each round), so
machine noise hits them alike; tables show the median, the min-max over rounds, and
ratios taken round by round. Every run checks its own result and panics if an item
was lost, duplicated or reordered, a count is off, or a permit went missing.";

/// What the command line asked for.
pub struct Options {
    pub threads: Vec<usize>,
    pub pinned: bool,
    pub filters: Vec<String>,
    pub rounds: usize,
    pub duration: Duration,
    pub warm_up: bool,
    pub out: Option<PathBuf>,
}

/// Parses the arguments after the program name; `Ok(None)` means `--help`.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut quick = false;
    let mut threads = None;
    let mut pinned = workloads::pinned_by_default();
    let mut filters = Vec::new();
    let mut rounds = None;
    let mut duration = None;
    let mut out = None;
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
            "--help" | "-h" => return Ok(None),
            "--quick" => quick = true,
            "--unpinned" => pinned = false,
            "--threads" => threads = Some(workloads::parse_thread_list(&value("--threads")?)?),
            "--filter" => filters.push(value("--filter")?.to_lowercase()),
            "--rounds" => rounds = Some(positive(&value("--rounds")?, "--rounds")?),
            "--duration-ms" => {
                let ms = positive(&value("--duration-ms")?, "--duration-ms")?;
                duration = Some(Duration::from_millis(ms as u64));
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            other => return Err(format!("unknown option {other:?} (see --help)")),
        }
    }
    Ok(Some(Options {
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
        out,
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
