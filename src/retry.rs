//! Bounded backoff between attempts: the one rule behind both retries of a
//! failing task (Airflow's R11) and retries of a DuckDB write-write conflict.
//!
//! Pure data and arithmetic; it sleeps, schedules and runs nothing.

use std::time::Duration;

/// At most `retries + 1` attempts, `delay` between them, doubling when
/// `exponential`, never above `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub retries: u32,
    pub delay: Duration,
    pub exponential: bool,
    pub max_delay: Duration,
}

impl Backoff {
    pub const NONE: Backoff =
        Backoff { retries: 0, delay: Duration::ZERO, exponential: false, max_delay: Duration::ZERO };

    /// The wait after failed attempt `attempt` (1-based), or `None` when no attempt is left.
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        if attempt == 0 || attempt > self.retries {
            return None;
        }
        let factor = if self.exponential { 1u32 << (attempt - 1).min(20) } else { 1 };
        Some(self.delay.saturating_mul(factor).min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_bounded_and_optionally_exponential() {
        let ms = Duration::from_millis;
        let flat = Backoff { retries: 2, delay: ms(10), exponential: false, max_delay: ms(1000) };
        assert_eq!(
            (0..=3).map(|a| flat.delay_after(a)).collect::<Vec<_>>(),
            vec![None, Some(ms(10)), Some(ms(10)), None]
        );
        let exp = Backoff { retries: 4, delay: ms(10), exponential: true, max_delay: ms(30) };
        assert_eq!(
            (1..=5).map(|a| exp.delay_after(a)).collect::<Vec<_>>(),
            vec![Some(ms(10)), Some(ms(20)), Some(ms(30)), Some(ms(30)), None]
        );
        let conflict = Backoff { retries: 4, delay: ms(20), exponential: true, max_delay: ms(50) };
        let delays: Vec<_> = (0..=5).map(|a| conflict.delay_after(a)).collect();
        assert_eq!(delays, vec![None, Some(ms(20)), Some(ms(40)), Some(ms(50)), Some(ms(50)), None]);
    }
}
