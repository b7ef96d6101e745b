//! What the caller hears while bytes go out: progress reports that never go backwards, and
//! the container's upload status.

use super::*;

/// How far an upload got, reported to the progress callback.
///
/// `sent` never decreases and the last report of a successful upload is `sent == total`. It
/// counts the bytes handed to the connection (or, after a resumption, the bytes Meta said it
/// holds, when that is more): when Meta holds fewer bytes than were sent before an
/// interruption, reports pause until the bytes sent again pass the earlier mark. Only the
/// upload call's `Ok` means Meta confirmed the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadProgress {
    /// Bytes of the file sent so far.
    pub sent: u64,
    /// The file's size.
    pub total: u64,
}

impl UploadProgress {
    /// The fraction sent, from 0.0 to 1.0.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            // Sizes stay far below 2^52 bytes, where f64 stops being exact.
            self.sent as f64 / self.total as f64
        }
    }
}

/// What a status read says about a resumable container.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadStatus {
    /// The container's `status_code`.
    pub container: ContainerStatus,
    /// The bytes Meta holds (`video_status.uploading_phase.bytes_transferred`), when it says.
    pub bytes_received: Option<u64>,
}

/// Where an upload goes on.
#[derive(Debug, Clone, Copy)]
pub(super) enum Step {
    /// Send the file from this offset.
    Send(u64),
    /// Ask Meta how much it holds.
    Ask,
}

/// Reports progress to the caller's callback, never backwards and never twice the same.
pub(super) struct Progress<F> {
    pub(super) callback: F,
    pub(super) reported: u64,
    pub(super) total: u64,
}

impl<F: FnMut(UploadProgress)> Progress<F> {
    pub(super) fn new(callback: F, total: u64) -> Self {
        Self {
            callback,
            reported: 0,
            total,
        }
    }

    pub(super) fn report(&mut self, sent: u64) {
        let sent = sent.min(self.total);
        if sent > self.reported {
            self.reported = sent;
            (self.callback)(UploadProgress {
                sent,
                total: self.total,
            });
        }
    }
}
