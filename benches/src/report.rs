//! What every scenario prints: the machine, the command that reproduces the run, and Markdown
//! tables ready to paste into `docs/performance.md`.

use std::fmt::Write as _;
use std::time::Duration;

/// The machine a run happened on.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// Logical CPUs this process may use (`nproc`).
    pub cpus: usize,
    /// The CPU model from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Total memory from `/proc/meminfo`, in GiB.
    pub memory_gib: f64,
    /// `rustc -V`, when a rustc is on the PATH.
    pub rustc: String,
    /// `release` or `debug`.
    pub profile: &'static str,
    /// The 1-minute load average when the run started (above `cpus` means the machine was busy).
    pub load_average: f64,
}

impl Machine {
    /// Reads the machine's description (best effort: unknown parts are marked so).
    pub fn detect() -> Self {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kib| kib.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / (1024.0 * 1024.0));
        let rustc = std::process::Command::new("rustc")
            .arg("-V")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        Self {
            cpus,
            cpu_model,
            memory_gib,
            rustc,
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            load_average: load_average().unwrap_or(f64::NAN),
        }
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} CPUs ({}), {:.1} GiB RAM, {}, {} profile, load average {:.2} at start",
            self.cpus, self.cpu_model, self.memory_gib, self.rustc, self.profile, self.load_average
        )
    }
}

/// The 1-minute load average from `/proc/loadavg`.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The command line that reproduces this run.
pub fn reproduce_command() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!(
        "cargo run --release -p kraftsoci-benches --bin load -- {}",
        args.join(" ")
    )
}

/// Prints the heading of a scenario: its name, the machine and the command.
pub fn print_preamble(scenario: &str) {
    println!("## {scenario}\n");
    println!("- machine: {}", Machine::detect());
    println!("- reproduce: `{}`\n", reproduce_command());
}

/// Prints the load average at the end of a run, to tell a quiet machine from a busy one.
pub fn print_epilogue() {
    if let Some(load) = load_average() {
        println!("\n- load average {load:.2} at end");
    }
}

/// A Markdown table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells print empty, extra ones are dropped).
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
        self
    }

    /// The table as Markdown, columns padded to line up.
    pub fn to_markdown(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.headers[i].chars().count(), 3])
                    .max()
                    .unwrap_or(3)
            })
            .collect();
        let line = |cells: &[String]| {
            let mut out = String::from("|");
            for (cell, width) in cells.iter().zip(&widths) {
                let pad = width - cell.chars().count();
                let _ = write!(out, " {cell}{} |", " ".repeat(pad));
            }
            out
        };
        let mut out = line(&self.headers);
        out.push('\n');
        out.push('|');
        for width in &widths {
            let _ = write!(out, "{}|", "-".repeat(width + 2));
        }
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out
    }

    /// Prints the table.
    pub fn print(&self) {
        println!("{}", self.to_markdown());
    }
}

/// A duration in milliseconds with two decimals (`1.25 ms`).
pub fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// A rate with no decimals (`1234/s`).
pub fn per_second(rate: f64) -> String {
    format!("{rate:.0}/s")
}

/// A ratio as a percentage (`87.5 %`).
pub fn percent(ratio: f64) -> String {
    format!("{:.1} %", ratio * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_renders_as_aligned_markdown() {
        let mut table = Table::new(["endpoint", "rps"]);
        table.row(["GET /v1/me", "1200/s"]).row(["bare", "9/s"]);
        assert_eq!(
            table.to_markdown(),
            "| endpoint   | rps    |\n|------------|--------|\n| GET /v1/me | 1200/s |\n| bare       | 9/s    |"
        );
    }

    #[test]
    fn short_rows_are_padded_to_the_header_width() {
        let mut table = Table::new(["a", "b"]);
        table.row(["only a"]);
        assert!(table.to_markdown().ends_with("| only a |     |"));
    }
}
