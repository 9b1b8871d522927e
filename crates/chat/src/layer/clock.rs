//! Time, as the encrypted layers read it: injected, so that tests step it
//! without sleeping, and in two kinds that must not be confused.
//!
//! - **Wall time** (seconds since the Unix epoch) is what a Fernet token's
//!   timestamp means, so the TTL is judged on it. An administrator or NTP
//!   may step it, forwards or backwards.
//! - **Monotonic time** never steps. Everything a receiver *remembers for a
//!   while* runs on it: the replay guard, the counters' state, the budget of
//!   key derivations.
//!
//! [`SteadyWall`] joins them: a wall time that never goes back, so a clock
//! stepped backwards cannot make a token the receiver already judged
//! expired look fresh again.

#[cfg(test)]
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where a receiver reads the time.
pub trait Clock: Send {
    /// Seconds since the Unix epoch, as the wall clock says (it may step).
    fn unix_now(&self) -> u64;
    /// Time since an arbitrary origin, on a clock that never steps.
    fn monotonic(&self) -> Duration;
}

/// The operating system's clocks.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn unix_now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock a test moves by hand; clones share the same time.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// Wall time since the epoch, and monotonic time.
    now: Arc<Mutex<(Duration, Duration)>>,
}

#[cfg(test)]
impl ManualClock {
    /// Starts at `unix_now` on the wall, zero on the monotonic clock.
    pub fn new(unix_now: u64) -> Self {
        Self {
            now: Arc::new(Mutex::new((Duration::from_secs(unix_now), Duration::ZERO))),
        }
    }

    /// Time passes: both clocks move forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        now.0 += by;
        now.1 += by;
    }

    /// Someone sets the wall clock: it jumps by `secs` (negative: back);
    /// the monotonic clock does not move.
    pub fn step_wall(&self, secs: i64) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        let step = Duration::from_secs(secs.unsigned_abs());
        now.0 = if secs < 0 {
            now.0.saturating_sub(step)
        } else {
            now.0 + step
        };
    }

    fn read(&self) -> (Duration, Duration) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn unix_now(&self) -> u64 {
        self.read().0.as_secs()
    }

    fn monotonic(&self) -> Duration {
        self.read().1
    }
}

/// The two readings a receiver judges one message with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Wall time that never went back ([`SteadyWall`]): for the TTL.
    pub unix: u64,
    /// Monotonic time: for what is remembered.
    pub monotonic: Duration,
}

/// A wall clock that never goes back: it follows the wall clock forwards,
/// and when the wall clock steps back it keeps counting from where it was at
/// the monotonic clock's pace until the wall clock catches up.
///
/// The price, chosen on purpose: after a wall clock that was ahead is set
/// right, tokens are judged as if the clock were still ahead until real time
/// catches up, so honest tokens may be refused as expired for that long.
/// Failing closed is the point: the other way revives replays.
pub struct SteadyWall {
    clock: Box<dyn Clock>,
    /// The last reading given, on both clocks.
    last: Option<Now>,
}

impl SteadyWall {
    pub fn new(clock: Box<dyn Clock>) -> Self {
        Self { clock, last: None }
    }

    /// Both readings, the wall one never below the last one given (plus the
    /// monotonic time elapsed since).
    pub fn now(&mut self) -> Now {
        let monotonic = self.clock.monotonic();
        let wall = self.clock.unix_now();
        let unix = match self.last {
            Some(last) => {
                let elapsed = monotonic.saturating_sub(last.monotonic).as_secs();
                wall.max(last.unix.saturating_add(elapsed))
            }
            None => wall,
        };
        // Keep the anchor only when the wall moved a whole second, so the
        // fractions of seconds lost to `as_secs` do not accumulate.
        if self.last.is_none_or(|last| unix != last.unix) {
            self.last = Some(Now { unix, monotonic });
        }
        Now { unix, monotonic }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000;

    #[test]
    fn a_wall_clock_stepped_back_does_not_take_steady_time_back() {
        let clock = ManualClock::new(T0);
        let mut steady = SteadyWall::new(Box::new(clock.clone()));
        assert_eq!(steady.now().unix, T0);
        clock.advance(Duration::from_secs(10));
        assert_eq!(steady.now().unix, T0 + 10);
        clock.step_wall(-100);
        assert_eq!(steady.now().unix, T0 + 10);
        clock.advance(Duration::from_secs(5));
        assert_eq!(steady.now().unix, T0 + 15);
        clock.step_wall(1_000);
        assert_eq!(steady.now().unix, T0 + 915);
    }

    #[test]
    fn fractions_of_seconds_add_up() {
        let clock = ManualClock::new(T0);
        let mut steady = SteadyWall::new(Box::new(clock.clone()));
        steady.now();
        clock.step_wall(-50);
        for _ in 0..4 {
            clock.advance(Duration::from_millis(500));
            steady.now();
        }
        assert_eq!(steady.now().unix, T0 + 2);
    }
}
