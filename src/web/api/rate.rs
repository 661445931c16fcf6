//! Calls per key per second, per instance: a token bucket per key prefix, so one runaway
//! client is told to slow down (429) before it costs every other caller.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept before full ones (idle keys) are forgotten.
const MAX_BUCKETS: usize = 100_000;

pub struct KeyRate {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl KeyRate {
    pub fn new(per_second: u32) -> KeyRate {
        let per_second = f64::from(per_second.max(1));
        KeyRate {
            per_second,
            burst: 2.0 * per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one call from the key's bucket; `Err(seconds)` to wait when it is empty.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| refilled(b, now, per_second, burst) < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = refilled(bucket, now, self.per_second, self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

fn refilled(bucket: &Bucket, now: Instant, per_second: f64, burst: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * per_second).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_key_gets_its_burst_then_waits_while_others_go_on() {
        let rate = KeyRate::new(5);
        let start = Instant::now();
        for _ in 0..10 {
            assert!(rate.take("a", start).is_ok());
        }
        assert_eq!(rate.take("a", start), Err(1));
        assert!(rate.take("b", start).is_ok(), "another key is not held up");
        assert!(rate.take("a", start + Duration::from_millis(250)).is_ok());
    }
}
