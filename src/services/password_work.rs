//! Password hashing, off the async workers and a bounded number at once: each argon2 run
//! takes a core for about 25 ms and 19 MiB, so unbounded parallel sign-ins would take every
//! core and the memory. Past the bound a request waits briefly, then is told to come back.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Semaphore;

use crate::error::AppError;

#[derive(Clone)]
pub struct PasswordWork {
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl PasswordWork {
    /// At most `at_once` hashes run together; a request waits at most `wait` for its turn.
    pub fn new(at_once: usize, wait: Duration) -> PasswordWork {
        PasswordWork {
            permits: Arc::new(Semaphore::new(at_once.max(1))),
            wait,
        }
    }

    /// Runs `work` on a blocking thread once a turn is free; `AppError::Busy` when none frees
    /// up in time.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| AppError::Busy)?
            .context("the password work queue is closed")?;
        let result = tokio::task::spawn_blocking(move || {
            let _turn = permit;
            work()
        })
        .await
        .context("password hashing task")?;
        Ok(result)
    }
}
