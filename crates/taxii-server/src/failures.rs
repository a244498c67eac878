//! Repeated authentication failures per client address: past a limit within a minute, the
//! client gets 429 (with `Retry-After`) without its credentials being checked, until the
//! minute is over. Password guessing then costs an attacker time, and the server no hashing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; past it, windows that are over are forgotten first.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug)]
pub struct AuthFailures {
    /// Failures allowed per client per minute; 0 turns the limit off.
    limit: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AuthFailures {
    pub fn new(limit_per_minute: u32) -> Self {
        AuthFailures {
            limit: limit_per_minute,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds the client must wait, when it has failed too often in its current minute.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        if self.limit == 0 {
            return None;
        }
        let seen = self.seen.lock();
        let (start, count) = seen.get(&ip)?;
        let elapsed = now.saturating_duration_since(*start);
        (elapsed < WINDOW && *count >= self.limit).then(|| (WINDOW - elapsed).as_secs().max(1))
    }

    pub fn record(&self, ip: IpAddr, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut seen = self.seen.lock();
        if seen.len() >= MAX_TRACKED && !seen.contains_key(&ip) {
            seen.retain(|_, (start, _)| now.saturating_duration_since(*start) < WINDOW);
            if seen.len() >= MAX_TRACKED {
                return;
            }
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_blocked_after_the_limit_until_its_minute_is_over() {
        let gate = AuthFailures::new(3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(gate.blocked(a, t0), None, "{i}");
            gate.record(a, t0 + Duration::from_secs(i));
        }
        assert_eq!(gate.blocked(a, t0 + Duration::from_secs(10)), Some(50));
        assert_eq!(gate.blocked(b, t0 + Duration::from_secs(10)), None);
        assert_eq!(gate.blocked(a, t0 + WINDOW), None);
        // A new minute starts counting from zero.
        gate.record(a, t0 + WINDOW);
        assert_eq!(gate.blocked(a, t0 + WINDOW), None);
    }

    #[test]
    fn a_limit_of_zero_never_blocks() {
        let gate = AuthFailures::new(0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let now = Instant::now();
        for _ in 0..1000 {
            gate.record(ip, now);
        }
        assert_eq!(gate.blocked(ip, now), None);
    }
}
