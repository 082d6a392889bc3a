//! What the figures were measured on: CPU, cores, compiler, commit; and where the report goes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The machine and build a report describes.
pub struct Machine {
    /// `/proc/cpuinfo`'s first "model name", or "unknown".
    pub cpu: String,
    /// `available_parallelism`.
    pub cores: usize,
    /// `rustc --version`, or "unknown".
    pub rustc: String,
    /// `git rev-parse --short HEAD` of the crate (`-dirty` if the tree has changes), or "unknown".
    pub commit: String,
    /// `os/arch`.
    pub platform: String,
    /// Seconds since the Unix epoch when the report started.
    pub timestamp: u64,
}

impl Machine {
    pub fn probe() -> Self {
        Machine {
            cpu: cpu_model().unwrap_or_else(|| "unknown".into()),
            cores: crate::workloads::cores(),
            rustc: rustc_version().unwrap_or_else(|| "unknown".into()),
            commit: commit().unwrap_or_else(|| "unknown".into()),
            platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
            timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim() == "model name")
        .map(|(_, value)| value.trim().to_string())
}

fn run(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| text.trim().to_string())
}

fn rustc_version() -> Option<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    run(Command::new(rustc).arg("--version"))
}

fn commit() -> Option<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let hash = run(Command::new("git").args(["-C", root, "rev-parse", "--short", "HEAD"]))?;
    let status = run(Command::new("git").args(["-C", root, "status", "--porcelain"]));
    Some(match status {
        Some(changes) if !changes.is_empty() => format!("{hash}-dirty"),
        _ => hash,
    })
}

/// `<target dir>/freelane-report`: `CARGO_TARGET_DIR` if set (relative to the
/// current directory, as cargo reads it), else the crate's own `target/`.
pub fn default_report_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    };
    target.join("freelane-report")
}
