//! How long to wait before trying again: a delay that doubles from a first
//! one up to a cap, unless the other side said how long (Telegram's
//! `retry_after`, GitHub's `Retry-After`). The Bot API client, the poller,
//! the daemon's first contact with Telegram and the GitHub client share it.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    next: Duration,
}

impl Backoff {
    const MAX: Duration = Duration::from_secs(30);

    pub fn new(first: Duration) -> Self {
        Backoff { first, next: first }
    }

    /// The next doubling delay.
    pub fn step(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    /// The wait the other side asked for, if it did; else a step.
    pub fn after(&mut self, asked: Option<Duration>) -> Duration {
        asked.unwrap_or_else(|| self.step())
    }

    /// Back to the first delay, after a success.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_honours_the_asked_wait_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(2));
        let steps: Vec<u64> = (0..6).map(|_| b.step().as_secs()).collect();
        assert_eq!(steps, vec![2, 4, 8, 16, 30, 30]);
        assert_eq!(
            b.after(Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        b.reset();
        assert_eq!(b.step(), Duration::from_secs(2));
    }
}
