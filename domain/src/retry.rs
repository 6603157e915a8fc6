//! When to try a transient failure again: exponential backoff with a cap, then give up.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: 6,
        }
    }
}

impl Backoff {
    /// The wait before attempt `next` (2 for the first retry), or `None` once attempts are spent.
    pub fn delay_before(&self, next: u32) -> Option<Duration> {
        if next < 2 || next > self.max_attempts {
            return None;
        }
        let doublings = (next - 2).min(20);
        Some(
            self.first_delay
                .saturating_mul(1 << doublings)
                .min(self.max_delay),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_then_stop() {
        let backoff = Backoff::default();
        let delays: Vec<_> = (2..=7).map(|n| backoff.delay_before(n)).collect();
        let ms = |m| Some(Duration::from_millis(m));
        assert_eq!(
            delays,
            vec![ms(500), ms(1000), ms(2000), ms(4000), ms(8000), None]
        );
    }

    #[test]
    fn the_cap_holds_for_long_schedules() {
        let backoff = Backoff {
            max_attempts: 40,
            ..Backoff::default()
        };
        assert_eq!(backoff.delay_before(40), Some(Duration::from_secs(30)));
        assert_eq!(backoff.delay_before(1), None);
    }
}
