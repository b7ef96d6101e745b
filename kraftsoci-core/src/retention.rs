//! Retention policies (P14–P19), planner and sweeper.
