//! Per-user request rates: a token bucket per authenticated user (governor's GCRA), so that one
//! integration cannot take the server from the others. Off unless configured.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct UserRates {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl std::fmt::Debug for UserRates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRates").finish_non_exhaustive()
    }
}

impl UserRates {
    /// `per_second` requests a second per user, bursts of up to `burst`; `None` when
    /// `per_second` is 0 (no limit).
    pub fn new(per_second: u32, burst: u32) -> Option<UserRates> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Some(UserRates {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
        })
    }

    /// `None` when the user may go on, else how long until the next request would be let in.
    pub fn check(&self, user: &str) -> Option<Duration> {
        // Forget idle users now and then so that the table stays as small as the active set.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&user.to_owned())
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_has_a_bucket_of_their_own() {
        let rates = UserRates::new(1, 3).unwrap();
        for _ in 0..3 {
            assert_eq!(rates.check("alice"), None);
        }
        let wait = rates.check("alice").unwrap();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(rates.check("bob"), None);
        assert!(UserRates::new(0, 10).is_none());
    }
}
