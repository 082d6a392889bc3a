//! The speed targets of the open issues, each checked on the run's own rows:
//! a freelane structure's median ratio to a named peer, measured side by side
//! in one run, against a threshold, at the cells (workload and thread count)
//! the issue names. A cell whose rows did not run (a `--filter`, other
//! `--threads`, a workload not built yet) is "not measured", never a pass.
//!
//! One table, [`TARGETS`], in issue order; the report's Targets section, its
//! `targets.csv`, the JSON `targets` array and the README's "where freelane
//! is behind" list are all printed from the checks [`check`] makes of it.

use crate::report::{Row, ratio};

/// Where a target applies.
#[derive(Clone, Copy, Debug)]
pub enum At {
    /// One workload at one thread count, named as the issue names it
    /// (`pairs`, `1p1c`, `2p2c`, `4p4c`).
    Cell {
        workload: &'static str,
        threads: usize,
        label: &'static str,
    },
    /// One workload at each thread count the run selected, from `min` on.
    Counts { workload: &'static str, min: usize },
    /// One workload at each selected thread count above the core count.
    Oversubscribed { workload: &'static str },
}

/// `subject` ≥ `threshold` × `peer`, by the median of per-round ratios, at every cell of `at`.
pub struct Target {
    /// The issue that sets it (0: a target of an issue already closed, kept).
    pub issue: u32,
    /// What is measured, in a few words ("try_push/try_pop").
    pub what: &'static str,
    /// The series names in the workload tables.
    pub subject: &'static str,
    pub peer: &'static str,
    pub threshold: f64,
    pub at: &'static [At],
}

impl Target {
    /// "RingBuffer try_push/try_pop ≥ 1.0× ArrayQueue".
    pub fn name(&self) -> String {
        format!(
            "{} {} ≥ {}× {}",
            self.subject, self.what, self.threshold, self.peer
        )
    }

    /// "issue 12" or "standing".
    pub fn source(&self) -> String {
        if self.issue == 0 {
            "standing".into()
        } else {
            format!("issue {}", self.issue)
        }
    }
}

/// The four queue cells the queue issues name, in one family of workloads
/// (`<family>/pairs` on one thread, `<family>/spsc` on two,
/// `<family>/mpmc` at 4 and 8 threads).
macro_rules! queue_cells {
    ($family:literal, pairs) => {
        At::Cell {
            workload: concat!($family, "/pairs"),
            threads: 1,
            label: "pairs",
        }
    };
    ($family:literal, contended) => {
        [
            At::Cell {
                workload: concat!($family, "/spsc"),
                threads: 2,
                label: "1p1c",
            },
            At::Cell {
                workload: concat!($family, "/mpmc"),
                threads: 4,
                label: "2p2c",
            },
            At::Cell {
                workload: concat!($family, "/mpmc"),
                threads: 8,
                label: "4p4c",
            },
        ]
    };
}

const RING: [At; 4] = {
    let [a, b, c] = queue_cells!("ring", contended);
    [queue_cells!("ring", pairs), a, b, c]
};
/// The blocking ring workloads: RingBuffer's `push`/`pop` beside
/// crossbeam-channel's bounded `send`/`recv`. There is no
/// `ring-blocking/spsc`: 1p1c is `ring-blocking/mpmc` at 2 threads.
const RING_BLOCKING: [At; 4] = [
    At::Cell {
        workload: "ring-blocking/pairs",
        threads: 1,
        label: "pairs",
    },
    At::Cell {
        workload: "ring-blocking/mpmc",
        threads: 2,
        label: "1p1c",
    },
    At::Cell {
        workload: "ring-blocking/mpmc",
        threads: 4,
        label: "2p2c",
    },
    At::Cell {
        workload: "ring-blocking/mpmc",
        threads: 8,
        label: "4p4c",
    },
];
/// The batch workloads run n/2 producers and n/2 consumers: 1p1c at 2
/// threads, 2p2c at 4.
const BATCH_RING: [At; 2] = [
    At::Cell {
        workload: "batch/ring",
        threads: 2,
        label: "1p1c",
    },
    At::Cell {
        workload: "batch/ring",
        threads: 4,
        label: "2p2c",
    },
];
const UNBOUNDED_PAIRS: [At; 1] = [queue_cells!("msqueue", pairs)];
const UNBOUNDED_CONTENDED: [At; 3] = queue_cells!("msqueue", contended);

/// Every target, in issue order.
pub const TARGETS: &[Target] = &[
    // Issue 12: the RingBuffer.
    Target {
        issue: 12,
        what: "try_push/try_pop",
        subject: "RingBuffer",
        peer: "ArrayQueue",
        threshold: 1.0,
        at: &RING,
    },
    Target {
        issue: 12,
        what: "blocking push/pop",
        subject: "RingBuffer",
        peer: "crossbeam-channel bounded",
        threshold: 1.0,
        at: &RING_BLOCKING,
    },
    Target {
        issue: 12,
        what: "push_async/pop_async",
        subject: "RingBuffer",
        peer: "async-channel",
        threshold: 2.0,
        at: &[
            At::Cell {
                workload: "async/ring-1p1c",
                threads: 2,
                label: "1p1c",
            },
            At::Cell {
                workload: "async/ring-2p2c",
                threads: 4,
                label: "2p2c",
            },
        ],
    },
    // Issue 13: the semaphore.
    Target {
        issue: 13,
        what: "try_acquire, 1 permit",
        subject: "Semaphore",
        peer: "tokio Semaphore",
        threshold: 1.0,
        at: &[At::Counts {
            workload: "semaphore/try-1",
            min: 1,
        }],
    },
    Target {
        issue: 13,
        what: "try_acquire, n/2 permits",
        subject: "Semaphore",
        peer: "tokio Semaphore",
        threshold: 1.0,
        at: &[At::Counts {
            workload: "semaphore/try-half",
            min: 1,
        }],
    },
    Target {
        issue: 13,
        what: "blocking acquire, 1 permit",
        subject: "Semaphore",
        peer: "Mutex+Condvar",
        threshold: 2.0,
        at: &[At::Oversubscribed {
            workload: "semaphore/blocking-1",
        }],
    },
    Target {
        issue: 13,
        what: "blocking acquire, n/2 permits",
        subject: "Semaphore",
        peer: "Mutex+Condvar",
        threshold: 2.0,
        at: &[At::Oversubscribed {
            workload: "semaphore/blocking-half",
        }],
    },
    Target {
        issue: 13,
        what: "acquire_async",
        subject: "Semaphore",
        peer: "tokio Semaphore",
        threshold: 1.0,
        at: &[At::Counts {
            workload: "async/semaphore",
            min: 1,
        }],
    },
    // Issue 14: the unbounded queues.
    Target {
        issue: 14,
        what: "push/pop",
        subject: "MsQueue",
        peer: "Mutex<VecDeque>",
        threshold: 1.5,
        at: &UNBOUNDED_CONTENDED,
    },
    Target {
        issue: 14,
        what: "push/pop",
        subject: "MsQueue",
        peer: "SegQueue",
        threshold: 0.4,
        at: &UNBOUNDED_CONTENDED,
    },
    Target {
        issue: 14,
        what: "push/pop",
        subject: "MsQueue",
        peer: "SegQueue",
        threshold: 0.8,
        at: &UNBOUNDED_PAIRS,
    },
    Target {
        issue: 14,
        what: "push/pop",
        subject: "SegmentedQueue",
        peer: "SegQueue",
        threshold: 1.2,
        at: &UNBOUNDED_CONTENDED,
    },
    Target {
        issue: 14,
        what: "push/pop",
        subject: "SegmentedQueue",
        peer: "concurrent-queue",
        threshold: 1.2,
        at: &UNBOUNDED_CONTENDED,
    },
    Target {
        issue: 14,
        what: "push/pop",
        subject: "SegmentedQueue",
        peer: "SegQueue",
        threshold: 0.9,
        at: &UNBOUNDED_PAIRS,
    },
    // Issue 15: batches (rows from benches/workloads/batch.rs).
    Target {
        issue: 15,
        what: "try_push_many/try_pop_many (32), per element",
        subject: "RingBuffer batch 32",
        peer: "RingBuffer single",
        threshold: 3.0,
        at: &BATCH_RING,
    },
    Target {
        issue: 15,
        what: "try_push_many/try_pop_many (32), per element",
        subject: "RingBuffer batch 32",
        peer: "ArrayQueue",
        threshold: 3.0,
        at: &BATCH_RING,
    },
    Target {
        issue: 14,
        what: "push_many/pop_many (32), per element",
        subject: "SegmentedQueue batch 32",
        peer: "SegmentedQueue single",
        threshold: 3.0,
        at: &[At::Cell {
            workload: "batch/unbounded",
            threads: 2,
            label: "1p1c",
        }],
    },
    // Standing targets of closed issues.
    Target {
        issue: 0,
        what: "increment",
        subject: "ShardedCounter",
        peer: "AtomicU64::fetch_add",
        threshold: 3.0,
        at: &[At::Counts {
            workload: "counter/increment",
            min: 2,
        }],
    },
    Target {
        issue: 0,
        what: "try_acquire, quota granting",
        subject: "RateLimiter",
        peer: "governor",
        threshold: 1.0,
        at: &[At::Counts {
            workload: "ratelimit/granted",
            min: 1,
        }],
    },
    Target {
        issue: 0,
        what: "try_acquire, quota exhausted",
        subject: "RateLimiter",
        peer: "governor",
        threshold: 1.0,
        at: &[At::Counts {
            workload: "ratelimit/exhausted",
            min: 1,
        }],
    },
];

/// A target at one cell of one run.
pub struct Check {
    pub target: &'static Target,
    pub workload: &'static str,
    /// The issue's name for the cell (`1p1c`, `8 threads`).
    pub at: String,
    /// `None` when no thread count of the run fits the cell.
    pub threads: Option<usize>,
    /// Subject over peer; `None` when either row is missing.
    pub ratio: Option<f64>,
}

/// A check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Met,
    Missed,
    NotMeasured,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Missed => "missed",
            Status::NotMeasured => "not measured",
        }
    }
    pub fn mark(self) -> &'static str {
        match self {
            Status::Met => "✓",
            Status::Missed => "✗",
            Status::NotMeasured => "not measured",
        }
    }
}

impl Check {
    pub fn status(&self) -> Status {
        match self.ratio {
            None => Status::NotMeasured,
            Some(r) if r >= self.target.threshold => Status::Met,
            Some(_) => Status::Missed,
        }
    }
}

/// Checks every target on `rows`, run at the `selected` thread counts on `cores` cores.
pub fn check(rows: &[Row], selected: &[usize], cores: usize) -> Vec<Check> {
    let find = |workload: &str, threads: usize, structure: &str| {
        rows.iter()
            .find(|r| r.workload == workload && r.threads == threads && r.structure == structure)
    };
    let mut checks = Vec::new();
    for target in TARGETS {
        for at in target.at {
            let (workload, cells): (&'static str, Vec<(Option<usize>, String)>) = match *at {
                At::Cell {
                    workload,
                    threads,
                    label,
                } => (workload, vec![(Some(threads), label.to_string())]),
                At::Counts { workload, min } => {
                    let counts: Vec<_> = selected.iter().copied().filter(|&t| t >= min).collect();
                    let cells = if counts.is_empty() {
                        vec![(None, format!("{min}+ threads"))]
                    } else {
                        counts
                            .into_iter()
                            .map(|t| (Some(t), format!("{t} threads")))
                            .collect()
                    };
                    (workload, cells)
                }
                At::Oversubscribed { workload } => {
                    let counts: Vec<_> = selected.iter().copied().filter(|&t| t > cores).collect();
                    let cells = if counts.is_empty() {
                        vec![(None, format!("threads > {cores} cores"))]
                    } else {
                        counts
                            .into_iter()
                            .map(|t| (Some(t), format!("{t} threads")))
                            .collect()
                    };
                    (workload, cells)
                }
            };
            for (threads, label) in cells {
                let ratio = threads.and_then(|t| {
                    let subject = find(workload, t, target.subject)?;
                    let peer = find(workload, t, target.peer)?;
                    Some(ratio(subject, peer))
                });
                checks.push(Check {
                    target,
                    workload,
                    at: label,
                    threads,
                    ratio,
                });
            }
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::Role;

    fn row(workload: &'static str, structure: &'static str, threads: usize, mops: f64) -> Row {
        Row {
            workload,
            about: "",
            structure,
            role: Role::Peer,
            threads,
            mops: vec![mops; 3],
            fairness: vec![1.0; 3],
        }
    }

    #[test]
    fn missing_rows_are_not_measured_never_met() {
        let rows = vec![
            row("ring/pairs", "RingBuffer", 1, 10.0),
            row("ring/pairs", "ArrayQueue", 1, 5.0),
            // A subject without its peer: not measured either.
            row("ring/spsc", "RingBuffer", 2, 10.0),
        ];
        let checks = check(&rows, &[1, 2, 4, 8], 2);
        let ring: Vec<&Check> = checks
            .iter()
            .filter(|c| c.target.peer == "ArrayQueue" && c.target.subject == "RingBuffer")
            .collect();
        assert_eq!(ring.len(), 4);
        assert_eq!(ring[0].status(), Status::Met);
        assert_eq!(ring[0].ratio, Some(2.0));
        for check in &ring[1..] {
            assert_eq!(check.status(), Status::NotMeasured, "{}", check.at);
        }
        assert!(
            checks
                .iter()
                .filter(|c| c.target.subject == "SegmentedQueue")
                .all(|c| c.status() == Status::NotMeasured)
        );
    }

    #[test]
    fn a_ratio_below_the_threshold_is_missed() {
        let rows = vec![
            row("semaphore/blocking-1", "Semaphore", 4, 3.0),
            row("semaphore/blocking-1", "Mutex+Condvar", 4, 2.0),
            row("semaphore/blocking-1", "Semaphore", 8, 5.0),
            row("semaphore/blocking-1", "Mutex+Condvar", 8, 2.0),
        ];
        let checks: Vec<Check> = check(&rows, &[1, 2, 4, 8], 2)
            .into_iter()
            .filter(|c| c.workload == "semaphore/blocking-1")
            .collect();
        let outcomes: Vec<(Option<usize>, Status)> =
            checks.iter().map(|c| (c.threads, c.status())).collect();
        // Oversubscribed on 2 cores: 4 and 8 threads only.
        assert_eq!(
            outcomes,
            vec![(Some(4), Status::Missed), (Some(8), Status::Met)]
        );
    }

    #[test]
    fn no_selected_count_fits_is_one_not_measured_line() {
        let checks: Vec<Check> = check(&[], &[1, 2], 2)
            .into_iter()
            .filter(|c| c.workload == "semaphore/blocking-half")
            .collect();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].threads, None);
        assert_eq!(checks[0].at, "threads > 2 cores");
        assert_eq!(checks[0].status(), Status::NotMeasured);
    }

    #[test]
    fn every_target_names_a_workload_of_the_catalog() {
        let catalog: Vec<&str> = crate::workloads::catalog().iter().map(|w| w.id).collect();
        for target in TARGETS {
            for at in target.at {
                let workload = match *at {
                    At::Cell { workload, .. }
                    | At::Counts { workload, .. }
                    | At::Oversubscribed { workload } => workload,
                };
                assert!(
                    catalog.contains(&workload),
                    "{} names unknown workload {workload}",
                    target.name()
                );
            }
        }
    }
}
