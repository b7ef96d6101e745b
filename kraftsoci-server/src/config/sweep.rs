//! The periodic retention sweep inside `serve` (`KRAFTSOCI_SWEEP*`).

use std::num::NonZeroU32;
use std::time::Duration;

use kraftsoci_core::RetentionError;
use kraftsoci_core::retention::{RetentionPlanner, RetentionPolicy, SweepConfig};

use super::ConfigError;
use super::loader::Loader;

/// The default time between sweeps.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// How the periodic sweep runs (`KRAFTSOCI_SWEEP`, `KRAFTSOCI_SWEEP_INTERVAL`,
/// `KRAFTSOCI_SWEEP_BATCH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    /// Whether `serve` sweeps periodically (turn it off where a scheduler runs
    /// `kraftsoci-server sweep` instead).
    pub enabled: bool,
    /// The time between sweeps; deletion promises are planned this much early.
    pub interval: Duration,
    /// Rows (or accounts) per delete statement.
    pub batch_size: NonZeroU32,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: DEFAULT_SWEEP_INTERVAL,
            batch_size: SweepConfig::default().batch_size,
        }
    }
}

impl SweepSettings {
    /// The planner for the privacy policy's whole retention table at this interval: every
    /// row of core's table is swept, none left out.
    ///
    /// # Errors
    /// [`RetentionError::SweepIntervalTooLong`] when the interval is not shorter than 30 days.
    pub fn planner(&self) -> Result<RetentionPlanner, RetentionError> {
        RetentionPlanner::new(RetentionPolicy::privacy_policy(), self.interval)
    }
}

/// The retention sweep's settings: on by default, hourly, 500 rows per statement.
pub(super) fn load<F: Fn(&str) -> Option<String>>(
    loader: &Loader<F>,
) -> Result<SweepSettings, ConfigError> {
    let settings = SweepSettings {
        enabled: loader.flag("KRAFTSOCI_SWEEP")?.unwrap_or(true),
        interval: loader.seconds("KRAFTSOCI_SWEEP_INTERVAL", 3600)?,
        // `positive` refuses 0, so the fallback is never taken.
        batch_size: NonZeroU32::new(loader.positive("KRAFTSOCI_SWEEP_BATCH", 500)?)
            .unwrap_or(NonZeroU32::MIN),
    };
    settings.planner().map_err(|_| {
        ConfigError::new(
            "KRAFTSOCI_SWEEP_INTERVAL",
            "must be shorter than 30 days (the shortest deletion period)",
        )
    })?;
    Ok(settings)
}
