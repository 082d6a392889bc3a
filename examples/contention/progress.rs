//! The progress line on stderr, one per section: rewritten in place on a
//! terminal, one line per finished step (a workload at one load) otherwise.

use std::io::{IsTerminal, Write};
use std::time::Instant;

pub struct Progress {
    section: &'static str,
    total: usize,
    pub done: usize,
    started: Instant,
    terminal: bool,
}

impl Progress {
    /// A section of `total` runs.
    pub fn new(section: &'static str, total: usize) -> Self {
        Progress {
            section,
            total,
            done: 0,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn prefix(&self) -> String {
        let eta = if self.done == 0 {
            String::new()
        } else {
            let per_run = self.started.elapsed().as_secs_f64() / self.done as f64;
            format!(", ~{:.0} s left", per_run * (self.total - self.done) as f64)
        };
        format!(
            "[{} {:>3}%{eta}]",
            self.section,
            100 * self.done / self.total.max(1)
        )
    }

    /// What runs now (terminal only: a log gets the finished steps).
    pub fn show(&self, what: &str) {
        if self.terminal {
            eprint!("\r\x1b[2K{} {what}", self.prefix());
            let _ = std::io::stderr().flush();
        }
    }

    /// A finished step and its figures (a log only: a terminal shows the live line).
    pub fn note(&self, what: &str) {
        if !self.terminal {
            eprintln!("{} {what}", self.prefix());
        }
    }

    /// Ends the section; returns its seconds.
    pub fn finish(&self) -> f64 {
        let seconds = self.started.elapsed().as_secs_f64();
        if self.terminal {
            eprint!("\r\x1b[2K");
        }
        eprintln!("{}: {} runs in {seconds:.1} s", self.section, self.done);
        seconds
    }
}
