//! Retrying transient failures: exponential backoff with jitter, honouring what the server asks.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

use super::ApiError;
use crate::runner;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Extra attempts after the first one.
    pub retries: u32,
    /// First backoff step; doubles every attempt.
    pub base: Duration,
    /// No single wait is longer than this, whatever the server asks.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            base: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Runs `attempt` until it succeeds, fails for good, or the retries are used up.
    pub async fn run<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut tried = 0;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && tried < self.retries => {
                    tried += 1;
                    let wait = self.delay(tried, e.retry_after());
                    runner::info(&format!(
                        "{e}; retrying {what} in {:.1}s (attempt {} of {})",
                        wait.as_secs_f64(),
                        tried + 1,
                        self.retries + 1
                    ));
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The wait before attempt `n + 1` (n ≥ 1): the server's wish if it gave one, else
    /// `base * 2^(n-1)` with ±50 % jitter so parallel clients do not retry in lockstep.
    pub fn delay(&self, n: u32, server: Option<Duration>) -> Duration {
        let wait = match server {
            Some(d) => d,
            None => {
                let exp = self.base.saturating_mul(1u32 << (n - 1).min(16));
                exp.mul_f64(0.5 + jitter())
            }
        };
        wait.min(self.max_wait)
    }
}

/// A number in [0, 1).
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    if crate::random::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

/// What the server said about when to come back: `Retry-After` (seconds), or for GitHub's
/// primary rate limit `x-ratelimit-reset` (epoch seconds) when nothing remains.
pub fn server_delay(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        let reset = header("x-ratelimit-reset")?.trim().parse::<u64>().ok()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            retries: 5,
            base: Duration::from_millis(100),
            max_wait: Duration::from_secs(1),
        };
        for n in 1..=4 {
            let d = p.delay(n, None);
            let nominal = 100.0 * f64::from(1u32 << (n - 1));
            let ms = d.as_secs_f64() * 1000.0;
            assert!(
                ms >= nominal * 0.5 - 1.0 && ms <= nominal * 1.5 + 1.0,
                "n={n} {ms}"
            );
        }
        assert_eq!(p.delay(30, None), Duration::from_secs(1));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn reads_server_delays() {
        let mut h = HeaderMap::new();
        assert_eq!(server_delay(&h), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(server_delay(&h), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&(now + 10).to_string()).unwrap(),
        );
        let d = server_delay(&h).unwrap().as_secs();
        assert!((9..=12).contains(&d), "{d}");
    }
}
