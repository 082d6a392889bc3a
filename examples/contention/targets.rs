//! The targets the report checks: each a freelane structure's median ratio to
//! a named peer, a threshold, and the thread counts it applies at.

/// Where a target applies.
#[derive(Clone, Copy)]
pub enum Scope {
    /// At every thread count measured.
    Every,
    /// From this many threads on.
    AtLeast(usize),
    /// Only with more threads than cores.
    Oversubscribed,
}

impl Scope {
    pub fn applies(self, threads: usize, cores: usize) -> bool {
        match self {
            Scope::Every => true,
            Scope::AtLeast(min) => threads >= min,
            Scope::Oversubscribed => threads > cores,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Scope::Every => "every thread count".into(),
            Scope::AtLeast(min) => format!("{min}+ threads"),
            Scope::Oversubscribed => "threads > cores".into(),
        }
    }
}

/// `subject` ≥ `threshold` × `peer` in every workload whose id starts with `workloads`.
pub struct Target {
    pub workloads: &'static str,
    pub subject: &'static str,
    pub peer: &'static str,
    pub threshold: f64,
    pub scope: Scope,
}

/// The targets, in the order the summary lists them.
pub const TARGETS: &[Target] = &[
    Target {
        workloads: "ring/",
        subject: "RingBuffer",
        peer: "ArrayQueue",
        threshold: 1.0,
        scope: Scope::Every,
    },
    Target {
        workloads: "msqueue/",
        subject: "MsQueue",
        peer: "Mutex<VecDeque>",
        threshold: 1.5,
        scope: Scope::Oversubscribed,
    },
    Target {
        workloads: "msqueue/",
        subject: "MsQueue",
        peer: "SegQueue",
        threshold: 0.8,
        scope: Scope::Every,
    },
    Target {
        workloads: "counter/",
        subject: "ShardedCounter",
        peer: "AtomicU64::fetch_add",
        threshold: 3.0,
        scope: Scope::AtLeast(2),
    },
    Target {
        workloads: "semaphore/try",
        subject: "Semaphore",
        peer: "tokio Semaphore",
        threshold: 1.0,
        scope: Scope::Every,
    },
    Target {
        workloads: "semaphore/blocking",
        subject: "Semaphore",
        peer: "Mutex+Condvar",
        threshold: 2.0,
        scope: Scope::Oversubscribed,
    },
    Target {
        workloads: "ratelimit/",
        subject: "RateLimiter",
        peer: "governor",
        threshold: 1.0,
        scope: Scope::Every,
    },
    Target {
        workloads: "async/semaphore",
        subject: "Semaphore",
        peer: "tokio Semaphore",
        threshold: 1.0,
        scope: Scope::Every,
    },
    Target {
        workloads: "async/ring",
        subject: "RingBuffer",
        peer: "async-channel",
        threshold: 1.0,
        scope: Scope::Every,
    },
];
