//! How busy the machine was: the load average before and after the run, and
//! what other processes used of the CPUs, before the run (a one-second probe)
//! and during it (`/proc/stat`'s busy time less this process's own).
//!
//! The load average alone cannot tell a quiet machine from a busy one here:
//! its one-minute figure lags (right after `cargo build` it still counts the
//! build) and after the run it counts the run's own threads. The probe and
//! the during-run figure subtract this process, so they name the others'
//! share; the warning and `--publish`'s refusal go by them. Linux only; on
//! other systems the figures are absent and the report says so.
//!
//! It also times one cache line between the first two cores, before and
//! after the run: on a virtual machine the two vCPUs may be SMT siblings of
//! one physical core (a few ns) or on two cores (tens of ns), and the
//! hypervisor may move them while the run goes on. Structures that move
//! more lines between cores per element lose more on the slow placement, so
//! their ratios to the peers depend on it: on this project's 2-vCPU VM the
//! line took 7 ns in one run and 63 ns in a run a day later, and the same
//! SegmentedQueue code went from 1.1× to 0.5× SegQueue at one pusher and one
//! pop.

use std::time::{Duration, Instant};

/// Others using more than this share of the cores make the machine busy:
/// 0.1 of 2 cores is one fifth of a core, well above an idle VM's background
/// (about 0.02 cores here) and below one compiler process.
pub const BUSY_SHARE: f64 = 0.1;

/// The probe before the run.
pub const PROBE: Duration = Duration::from_secs(1);

/// A cache line's trip between the first two cores, as the core-to-core
/// section measures it (half a round trip, median of this many samples of
/// [`LINE_ROUND_TRIPS`]): about 2 ms.
pub const LINE_SAMPLES: usize = 7;
pub const LINE_ROUND_TRIPS: u64 = 2000;

/// Before and after figures further apart than this factor mean the cores'
/// placement changed during the run.
pub const PLACEMENT_CHANGE: f64 = 2.0;

/// Half a round trip of one cache line between the first two cores the
/// process may run on, in ns (median), or `None` with fewer than two.
fn line_ns() -> Option<f64> {
    let ids = core_affinity::get_core_ids()?;
    let (&a, &b) = (ids.first()?, ids.get(1)?);
    let figures = crate::workloads::latency::core_to_core(a, b, LINE_ROUND_TRIPS, LINE_SAMPLES);
    (!figures.is_empty()).then(|| crate::report::median(&figures))
}

/// `/proc/stat`'s aggregate line and this process's CPU time, in clock ticks.
#[derive(Clone, Copy, Debug)]
struct Ticks {
    /// Every CPU's busy ticks (user, nice, system, irq, softirq, steal).
    busy: u64,
    /// Every CPU's ticks of any kind.
    total: u64,
    /// CPUs counted in `/proc/stat`.
    cpus: usize,
    /// This process's user + system ticks, all threads.
    own: u64,
}

impl Ticks {
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let mut lines = stat.lines();
        let fields: Vec<u64> = lines
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal [guest guest_nice]: guest
        // time is already inside user, so the first eight are the whole.
        let field = |i: usize| fields.get(i).copied().unwrap_or(0);
        let busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7);
        let total = (0..8).map(field).sum();
        let cpus = lines
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count();
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces) in parentheses:
        // state is field 3, utime 14, stime 15.
        let after_name = own.rsplit_once(')')?.1;
        let rest: Vec<&str> = after_name.split_whitespace().collect();
        let utime: u64 = rest.get(11)?.parse().ok()?;
        let stime: u64 = rest.get(12)?.parse().ok()?;
        Some(Ticks {
            busy,
            total,
            cpus: cpus.max(1),
            own: utime + stime,
        })
    }

    /// Cores' worth of CPU that other processes used between `self` and `later`.
    fn others_since(self, later: Ticks) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        if total == 0 {
            return None;
        }
        let busy = later.busy.saturating_sub(self.busy);
        let own = later.own.saturating_sub(self.own);
        let others = busy.saturating_sub(own) as f64;
        Some(others / total as f64 * later.cpus as f64)
    }
}

fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// The machine's load around one run.
#[derive(Clone, Debug, Default)]
pub struct Load {
    /// 1, 5 and 15 minute load averages at the start, and at the end.
    pub before: Option<[f64; 3]>,
    pub after: Option<[f64; 3]>,
    /// Cores' worth of CPU other processes used in the probe before the run.
    pub others_before: Option<f64>,
    /// The same over the whole run.
    pub others_during: Option<f64>,
    /// The cores the figures are relative to.
    pub cores: usize,
    /// One cache line between the first two cores (ns, half a round trip)
    /// before the run, and after it.
    pub line_before: Option<f64>,
    pub line_after: Option<f64>,
    start: Option<Ticks>,
}

impl Load {
    /// Reads the load average and probes what others use for [`PROBE`].
    pub fn probe(cores: usize) -> Self {
        let before = load_average();
        let first = Ticks::read();
        let begun = Instant::now();
        std::thread::sleep(PROBE);
        let second = Ticks::read();
        let others_before = match (first, second) {
            (Some(a), Some(b)) if begun.elapsed() >= PROBE => a.others_since(b),
            _ => None,
        };
        Load {
            before,
            after: None,
            others_before,
            others_during: None,
            cores,
            line_before: line_ns(),
            line_after: None,
            start: second,
        }
    }

    /// Reads the end of the run.
    pub fn finish(&mut self) {
        self.after = load_average();
        if let (Some(start), Some(end)) = (self.start, Ticks::read()) {
            self.others_during = start.others_since(end);
        }
        self.line_after = line_ns();
    }

    /// The line's time before and after differ by more than
    /// [`PLACEMENT_CHANGE`]×: the cores were moved during the run.
    pub fn placement_changed(&self) -> bool {
        match (self.line_before, self.line_after) {
            (Some(a), Some(b)) if a > 0.0 && b > 0.0 => a.max(b) / a.min(b) > PLACEMENT_CHANGE,
            _ => false,
        }
    }

    fn limit(&self) -> f64 {
        BUSY_SHARE * self.cores.max(1) as f64
    }

    /// Other processes were busy before the run.
    pub fn busy_before(&self) -> bool {
        self.others_before.is_some_and(|o| o > self.limit())
    }

    /// Other processes were busy during the run.
    pub fn busy_during(&self) -> bool {
        self.others_during.is_some_and(|o| o > self.limit())
    }

    /// One line for the report's header.
    pub fn describe(&self) -> String {
        let triple = |l: Option<[f64; 3]>| {
            l.map_or("unknown".into(), |[a, b, c]| {
                format!("{a:.2} / {b:.2} / {c:.2}")
            })
        };
        let cores = |o: Option<f64>| o.map_or("unknown".into(), |o| format!("{o:.2} cores"));
        let mut line = format!(
            "load average (1 / 5 / 15 min) {} before, {} after (the run's own threads \
             included); other processes used {} before (a {} s probe) and {} during the run",
            triple(self.before),
            triple(self.after),
            cores(self.others_before),
            PROBE.as_secs(),
            cores(self.others_during),
        );
        if self.busy_before() || self.busy_during() {
            line.push_str(&format!(
                " — **a busy machine** (more than {:.2} cores used by others): absolute figures \
                 are low, ratios measured side by side hold up better",
                self.limit()
            ));
        }
        if let Some(before) = self.line_before {
            let after = self
                .line_after
                .map_or("unknown".into(), |a| format!("{a:.0} ns"));
            line.push_str(&format!(
                "; a cache line between the first two cores took {before:.0} ns before the run \
                 and {after} after (half a round trip; a few ns means the two share one \
                 physical core)"
            ));
            if self.placement_changed() {
                line.push_str(
                    " — **the cores were moved during the run**: rows measured on the two \
                     placements do not compare",
                );
            }
        }
        line
    }

    /// The warning printed when the machine is busy, or `None`.
    pub fn warning(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.busy_before() {
            parts.push(format!(
                "before the run other processes used {:.2} cores",
                self.others_before.unwrap_or(0.0)
            ));
        }
        if self.busy_during() {
            parts.push(format!(
                "during the run other processes used {:.2} cores",
                self.others_during.unwrap_or(0.0)
            ));
        }
        if self.placement_changed() {
            parts.push(format!(
                "a cache line between the first two cores took {:.0} ns before the run and \
                 {:.0} ns after: the cores were moved",
                self.line_before.unwrap_or(0.0),
                self.line_after.unwrap_or(0.0)
            ));
        }
        (!parts.is_empty()).then(|| {
            format!(
                "\n!!! WARNING: BUSY MACHINE: {} (of {}; the limit is {:.2}).\n\
                 !!! These figures are not a quiet run: absolute Mops/s are low and noisy.\n",
                parts.join("; "),
                self.cores,
                self.limit()
            )
        })
    }

    /// The load as a JSON object.
    pub fn json(&self) -> String {
        use crate::report::json_number;
        let triple = |l: Option<[f64; 3]>| {
            l.map_or("null".into(), |t| {
                format!("[{}]", t.map(json_number).join(", "))
            })
        };
        let cores = |o: Option<f64>| o.map_or("null".into(), json_number);
        format!(
            "{{\"load_average_before\": {}, \"load_average_after\": {}, \
             \"others_cores_before\": {}, \"others_cores_during\": {}, \"busy\": {}, \
             \"line_ns_before\": {}, \"line_ns_after\": {}, \"placement_changed\": {}}}",
            triple(self.before),
            triple(self.after),
            cores(self.others_before),
            cores(self.others_during),
            self.busy_before() || self.busy_during(),
            cores(self.line_before),
            cores(self.line_after),
            self.placement_changed()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn others_subtract_this_process() {
        let a = Ticks {
            busy: 100,
            total: 1000,
            cpus: 2,
            own: 10,
        };
        // 200 ticks of 2 CPUs: 60 busy, 40 of them ours: others used 20/200 × 2 = 0.2 cores.
        let b = Ticks {
            busy: 160,
            total: 1200,
            cpus: 2,
            own: 50,
        };
        let others = a.others_since(b).unwrap();
        assert!((others - 0.2).abs() < 1e-9, "{others}");
    }

    #[test]
    fn busy_goes_by_the_share_of_cores() {
        let mut load = Load {
            cores: 2,
            others_before: Some(0.05),
            ..Load::default()
        };
        assert!(!load.busy_before() && load.warning().is_none());
        load.others_during = Some(0.5);
        assert!(load.busy_during());
        assert!(load.warning().unwrap().contains("during the run"));
        assert!(load.describe().contains("busy machine"));
    }

    #[test]
    fn a_placement_change_is_named_beyond_the_factor() {
        let mut load = Load {
            cores: 2,
            line_before: Some(7.0),
            line_after: Some(13.0),
            ..Load::default()
        };
        assert!(!load.placement_changed() && load.warning().is_none());
        assert!(
            load.describe()
                .contains("took 7 ns before the run and 13 ns after")
        );
        load.line_after = Some(63.0);
        assert!(load.placement_changed());
        assert!(load.describe().contains("moved during the run"));
        assert!(
            load.warning()
                .unwrap()
                .contains("7 ns before the run and 63 ns after")
        );
        assert!(load.json().contains("\"placement_changed\": true"));
        load.line_after = None;
        assert!(!load.placement_changed());
    }

    #[test]
    fn reads_this_machine_on_linux() {
        if cfg!(target_os = "linux") {
            let t = Ticks::read().expect("/proc/stat and /proc/self/stat");
            assert!(t.total >= t.busy && t.cpus >= 1);
        }
    }
}
