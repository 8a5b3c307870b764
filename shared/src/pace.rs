//! Pacing sends to an account's quota (SMS parts per second, emails per second): each send
//! waits for its own slot, so concurrent senders together keep to the rate without idling below it.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A steady rate of units (SMS parts, emails) per second, shared by concurrent senders.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// `per_second` units a second; 0 means no limit.
    pub fn new(per_second: u32) -> Self {
        let interval = if per_second == 0 { Duration::ZERO } else { Duration::from_secs(1) / per_second };
        Self { interval, next: Mutex::new(None) }
    }

    /// Waits until `units` may be sent.
    pub async fn take(&self, units: u32) {
        if self.interval.is_zero() {
            return;
        }
        let now = Instant::now();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval * units.max(1));
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn keeps_to_the_rate_across_concurrent_senders() {
        let pacer = std::sync::Arc::new(Pacer::new(10));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let pacer = pacer.clone();
            tasks.push(tokio::spawn(async move {
                pacer.take(1).await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap() - start);
        }
        times.sort();
        // 20 units at 10 a second: the first at once, the last after 1.9 s, none earlier.
        assert_eq!(times[0], Duration::ZERO);
        assert_eq!(times[19], Duration::from_millis(1900));
        for (i, t) in times.iter().enumerate() {
            assert_eq!(*t, Duration::from_millis(100 * i as u64));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn multi_part_sms_take_several_slots_and_zero_is_unlimited() {
        let pacer = Pacer::new(4);
        let start = Instant::now();
        pacer.take(3).await;
        pacer.take(1).await;
        assert_eq!(Instant::now() - start, Duration::from_millis(750));
        let free = Pacer::new(0);
        free.take(100).await;
        assert_eq!(Instant::now() - start, Duration::from_millis(750));
    }
}
