//! Publish orchestration (in progress).
