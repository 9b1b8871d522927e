//! The connection threads: a pool that grows, one thread per connection
//! being served, up to the cap and never past it, and shrinks again when
//! its threads have been idle for [`IDLE_TIMEOUT`]. An idle thread takes
//! the next connection, so a burst of requests does not pay a thread's
//! start for each (measured: starting one was most of a request's cost).
//! A connection that finds every thread busy at the cap is handed back, to
//! be refused.

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// How long a thread with nothing to do waits for a connection before it
/// ends.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Stack of a connection thread: requests are parsed flat, and a stream's
/// writer keeps little on the stack.
const STACK_SIZE: usize = 256 * 1024;

/// What a thread does with a connection.
pub type Serve = Arc<dyn Fn(TcpStream) + Send + Sync>;

/// The threads, and the connections handed to them.
pub struct Pool {
    state: Mutex<State>,
    handed: Condvar,
    max: usize,
    serve: Serve,
}

#[derive(Default)]
struct State {
    queue: VecDeque<TcpStream>,
    /// Threads alive, busy or not.
    threads: usize,
    /// Threads waiting for a connection.
    idle: usize,
    stopping: bool,
}

impl Pool {
    /// A pool of at most `max` threads, each serving with `serve`.
    pub fn new(max: usize, serve: Serve) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            handed: Condvar::new(),
            max,
            serve,
        })
    }

    /// Hands `stream` to an idle thread, or to a new one under the cap;
    /// gives it back if every thread is busy and the cap is reached.
    pub fn offer(self: &Arc<Self>, stream: TcpStream) -> Result<(), TcpStream> {
        let mut state = self.lock();
        if state.idle > state.queue.len() {
            state.queue.push_back(stream);
            drop(state);
            self.handed.notify_one();
            return Ok(());
        }
        if state.threads >= self.max {
            return Err(stream);
        }
        state.threads += 1;
        state.queue.push_back(stream);
        drop(state);
        if let Err(e) = self.spawn_thread() {
            log::error!("page server: cannot start a connection thread: {e}");
            let mut state = self.lock();
            state.threads -= 1;
            // A connection no thread will take: given back to be refused.
            return state.queue.pop_back().map_or(Ok(()), Err);
        }
        Ok(())
    }

    /// Threads alive now, busy or idle.
    pub fn threads(&self) -> usize {
        self.lock().threads
    }

    /// Idle threads end now, busy ones once their connection ends.
    pub fn stop(&self) {
        self.lock().stopping = true;
        self.handed.notify_all();
    }

    fn spawn_thread(self: &Arc<Self>) -> io::Result<()> {
        let pool = Arc::clone(self);
        thread::Builder::new()
            .name("http-connection".into())
            .stack_size(STACK_SIZE)
            .spawn(move || pool.work())?;
        Ok(())
    }

    /// A thread's life: connections as they are handed over, until it has
    /// been idle too long or the pool stops.
    fn work(&self) {
        let _alive = Alive(self);
        let mut state = self.lock();
        loop {
            if let Some(stream) = state.queue.pop_front() {
                drop(state);
                (self.serve)(stream);
                state = self.lock();
                continue;
            }
            if state.stopping {
                return;
            }
            state.idle += 1;
            let (waited, timeout) = self
                .handed
                .wait_timeout_while(state, IDLE_TIMEOUT, |s| s.queue.is_empty() && !s.stopping)
                .unwrap_or_else(PoisonError::into_inner);
            state = waited;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                return;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update under this lock completes or changes nothing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A thread of the pool, counted until it ends, however it ends.
struct Alive<'a>(&'a Pool);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.lock().threads -= 1;
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::mpsc;

    use super::*;

    fn connection(listener: &TcpListener) -> TcpStream {
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        listener.accept().unwrap().0
    }

    #[test]
    fn at_most_max_threads_and_a_connection_past_them_is_given_back() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (release, held) = mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let (started, busy) = mpsc::channel();
        let serve: Serve = Arc::new(move |_stream| {
            started.send(()).unwrap();
            let _ = held.lock().unwrap().recv();
        });
        let pool = Pool::new(2, serve);
        assert!(pool.offer(connection(&listener)).is_ok());
        assert!(pool.offer(connection(&listener)).is_ok());
        busy.recv().unwrap();
        busy.recv().unwrap();
        assert!(pool.offer(connection(&listener)).is_err());
        assert_eq!(pool.threads(), 2);
        release.send(()).unwrap();
        release.send(()).unwrap();
        pool.stop();
    }

    #[test]
    fn an_idle_thread_takes_the_next_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (served, count) = mpsc::channel();
        let serve: Serve = Arc::new(move |_stream| served.send(thread::current().id()).unwrap());
        let pool = Pool::new(4, serve);
        let mut threads = Vec::new();
        for _ in 0..5 {
            assert!(pool.offer(connection(&listener)).is_ok());
            threads.push(count.recv().unwrap());
            // The thread that served is idle again before the next offer.
            while pool.lock().idle == 0 {
                thread::yield_now();
            }
        }
        assert!(threads.iter().all(|t| *t == threads[0]), "{threads:?}");
        assert_eq!(pool.threads(), 1);
        pool.stop();
    }
}
