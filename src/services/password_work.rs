//! Password hashing off the async workers, on a few threads of its own: each argon2 run takes
//! a core for about 25 ms and 19 MiB, so unbounded parallel sign-ins would take every core and
//! the memory. The threads keep their argon2 memory between runs (`domain::password`), so the
//! process holds at most one 19 MiB block per thread. Past the bound a request waits briefly,
//! then is told to come back.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Semaphore, oneshot};

use crate::error::AppError;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordWork {
    permits: Arc<Semaphore>,
    wait: Duration,
    jobs: mpsc::Sender<Job>,
}

impl PasswordWork {
    /// `threads` hashes run together; a request waits at most `wait` for its turn.
    pub fn new(threads: usize, wait: Duration) -> PasswordWork {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // Every sender is gone: the application stopped.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "starting a password hashing thread");
            }
        }
        PasswordWork {
            permits: Arc::new(Semaphore::new(threads)),
            wait,
            jobs,
        }
    }

    /// Runs `work` on a hashing thread once a turn is free; `AppError::Busy` when none frees
    /// up in time.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _turn = tokio::time::timeout(self.wait, self.permits.acquire())
            .await
            .map_err(|_| AppError::Busy)?
            .context("the password work queue is closed")?;
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| anyhow::anyhow!("the password hashing threads stopped"))?;
        Ok(result.await.context("a password hashing thread failed")?)
    }
}
