//! The account export (`GET /v1/me/export`) of an account with many posts: time, size and the
//! process's peak memory while it streams.
//!
//! The server runs in this process, so memory is the whole process's: the peak resident set
//! (`VmHWM`) is reset through `/proc/self/clear_refs` just before the request, and read after
//! it; the client reads the body chunk by chunk without keeping it, so the peak above the
//! resident set before the request is what the export costs (an upper bound: the runtime's
//! own growth counts too).

use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::time::Instant;

use crate::api::seed_posts;
use crate::server::{BenchServer, http_client, sign_up};

/// What the export measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// Posts the account had.
    pub posts: u64,
    /// Bytes of the document.
    pub bytes: u64,
    /// From sending the request to the first body byte.
    pub first_byte: Duration,
    /// From sending the request to the last body byte.
    pub elapsed: Duration,
    /// Resident memory before the request, in KiB.
    pub rss_before_kib: u64,
    /// Peak resident memory during the request, in KiB.
    pub peak_kib: u64,
    /// Whether the peak could be reset before the request (else it is the process's lifetime
    /// peak, an over-estimate).
    pub peak_was_reset: bool,
}

/// A `Vm…:` line of `/proc/self/status`, in KiB.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets `VmHWM` to the current resident set (Linux ≥ 4.0).
pub fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Signs up one user, gives them `posts` posts (each with an image key, so every exported post
/// carries a signed link), then downloads their export once.
///
/// # Errors
/// When the server cannot start, the seeding fails, or the export does not answer 200 with a
/// whole JSON document.
pub async fn run(
    database_url: &str,
    posts: u32,
    time_limit: Duration,
) -> anyhow::Result<ExportReport> {
    let server = BenchServer::start(database_url, Some(4)).await?;
    let client = http_client()?;
    let user = sign_up(&client, &server, "export@bench.invalid").await?;
    let pool = sqlx::PgPool::connect(database_url)
        .await
        .context("seeding connection")?;
    let seeded = seed_posts(&pool, &[user.id], posts).await?;
    pool.close().await;

    let rss_before_kib = proc_status_kib("VmRSS").unwrap_or(0);
    let peak_was_reset = reset_peak_memory();
    let sent = Instant::now();
    let mut response = tokio::time::timeout(
        time_limit,
        client
            .get(server.url("/v1/me/export"))
            .bearer_auth(&user.access)
            .send(),
    )
    .await
    .context("the export did not start within the time limit")??;
    if !response.status().is_success() {
        bail!("the export answered {}", response.status());
    }
    let mut bytes = 0_u64;
    let mut first_byte = None;
    let mut tail = Vec::new();
    while let Some(chunk) = tokio::time::timeout_at(sent + time_limit, response.chunk())
        .await
        .context("the export did not finish within the time limit")??
    {
        first_byte.get_or_insert_with(|| sent.elapsed());
        bytes += chunk.len() as u64;
        tail.clear();
        tail.extend_from_slice(&chunk[chunk.len().saturating_sub(16)..]);
    }
    let elapsed = sent.elapsed();
    let peak_kib = proc_status_kib("VmHWM").unwrap_or(0);
    if !tail.trim_ascii_end().ends_with(b"}") {
        bail!("the export ended without closing its document ({bytes} bytes)");
    }
    Ok(ExportReport {
        posts: seeded,
        bytes,
        first_byte: first_byte.unwrap_or(elapsed),
        elapsed,
        rss_before_kib,
        peak_kib,
        peak_was_reset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resident_set_of_this_process_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(proc_status_kib("VmRSS").is_some_and(|kib| kib > 0));
            assert!(proc_status_kib("VmHWM").is_some_and(|kib| kib > 0));
            assert_eq!(proc_status_kib("NoSuchField"), None);
        }
    }
}
