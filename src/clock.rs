//! The only place that reads the time. The application holds a `Clock`; tests fix it and move
//! it forward instead of waiting or editing rows.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// A time that only moves when told to (shared by every clone).
    Fixed(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// A clock stopped at `at`.
    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock::Fixed(Arc::new(Mutex::new(at)))
    }

    /// A clock stopped at the current time.
    pub fn fixed_now() -> Clock {
        Clock::fixed(system_now())
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => system_now(),
            Clock::Fixed(at) => *at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// Moves a fixed clock forward; the system clock moves by itself.
    pub fn advance(&self, by: Duration) {
        if let Clock::Fixed(at) = self {
            let mut at = at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *at += by;
        }
    }
}

#[allow(clippy::disallowed_methods)] // the one call of the system clock
fn system_now() -> DateTime<Utc> {
    Utc::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told_and_for_every_clone() {
        let clock = Clock::fixed_now();
        let other = clock.clone();
        let start = clock.now();
        clock.advance(Duration::minutes(31));
        assert_eq!(other.now() - start, Duration::minutes(31));
    }
}
