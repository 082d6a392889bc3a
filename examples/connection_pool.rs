//! A pool handing out `POOL_SIZE` connections to many threads.
//!
//! The connections sit in a `Mutex<Vec<Conn>>`; a semaphore with one permit
//! per connection guards it. A caller first takes a permit (waiting, or with a
//! timeout), and only then pops a connection: holding a permit guarantees a
//! connection is there, so the mutex is held for a push or a pop, never while
//! waiting. Returning a connection pushes it back, then releases the permit.
//! Closing the pool closes the semaphore: waiting and later callers fail with
//! `Closed` while connections still out come back normally.
//!
//! Run with `cargo run --example connection_pool`.
#![allow(clippy::std_instead_of_core)] // user code spells the `std` paths

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use freelane::{AcquireError, Permit, Semaphore, TryAcquireError};

/// Connections in the pool.
const POOL_SIZE: usize = 3;
/// Threads issuing queries.
const CLIENTS: usize = 12;
/// Queries each client issues.
const QUERIES_PER_CLIENT: usize = 100;

/// A stand-in for a database connection.
#[derive(Debug)]
struct Conn {
    id: usize,
    queries: usize,
}

impl Conn {
    fn query(&mut self, sql: &str) -> usize {
        self.queries += 1;
        sql.len()
    }
}

/// The pool: connections behind a mutex, one permit per connection.
struct Pool {
    permits: Semaphore,
    idle: Mutex<Vec<Conn>>,
    /// Per connection: whether someone holds it (a check, not a lock).
    in_use: Vec<AtomicBool>,
}

/// A connection on loan; it goes back to the pool when dropped.
struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    /// Declared last, so it is released after `drop` has put the conn back.
    _permit: Permit<'a>,
}

impl Pool {
    fn new(size: usize) -> Self {
        Self {
            permits: Semaphore::new(size),
            idle: Mutex::new((0..size).map(|id| Conn { id, queries: 0 }).collect()),
            in_use: (0..size).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Waits for a free connection; fails once the pool is closed.
    fn get(&self) -> Result<Pooled<'_>, AcquireError> {
        let permit = self.permits.acquire()?;
        Ok(self.lend(permit))
    }

    /// Waits at most `timeout` for a free connection.
    fn get_timeout(&self, timeout: Duration) -> Result<Pooled<'_>, TryAcquireError> {
        let permit = self.permits.acquire_timeout(timeout)?;
        Ok(self.lend(permit))
    }

    fn lend<'a>(&'a self, permit: Permit<'a>) -> Pooled<'a> {
        let conn = self
            .idle
            .lock()
            .unwrap()
            .pop()
            .expect("a permit guarantees an idle connection");
        let was_in_use = self.in_use[conn.id].swap(true, SeqCst);
        assert!(!was_in_use, "connection {} lent twice", conn.id);
        Pooled {
            pool: self,
            conn: Some(conn),
            _permit: permit,
        }
    }

    fn close(&self) {
        self.permits.close();
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let conn = self.conn.take().expect("present until drop");
        self.pool.in_use[conn.id].store(false, SeqCst);
        self.pool.idle.lock().unwrap().push(conn);
        // `_permit` is dropped after this: the connection is back first.
    }
}

impl Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("present until drop")
    }
}

fn main() {
    let pool = Pool::new(POOL_SIZE);
    let timed_out = AtomicUsize::new(0);
    let start = Instant::now();

    thread::scope(|scope| {
        for client in 0..CLIENTS {
            let (pool, timed_out) = (&pool, &timed_out);
            scope.spawn(move || {
                for query in 0..QUERIES_PER_CLIENT {
                    let sql = format!("SELECT {query} FROM client_{client}");
                    // Odd clients are impatient: they retry after a short wait.
                    let mut conn = if client % 2 == 1 {
                        loop {
                            match pool.get_timeout(Duration::from_micros(5)) {
                                Ok(conn) => break conn,
                                Err(TryAcquireError::NoPermits) => {
                                    timed_out.fetch_add(1, SeqCst);
                                }
                                Err(
                                    error @ (TryAcquireError::Closed
                                    | TryAcquireError::TooMany { .. }),
                                ) => {
                                    unreachable!("not closed yet, one permit asked: {error}")
                                }
                            }
                        }
                    } else {
                        pool.get().expect("not closed yet")
                    };
                    assert_eq!(conn.query(&sql), sql.len());
                    thread::yield_now();
                }
            });
        }
    });
    let elapsed = start.elapsed();

    pool.close();
    assert_eq!(pool.get().err(), Some(AcquireError::Closed));
    assert_eq!(pool.permits.available_permits(), POOL_SIZE);

    let mut conns = pool.idle.into_inner().unwrap();
    conns.sort_by_key(|conn| conn.id);
    assert_eq!(conns.len(), POOL_SIZE, "every connection came back");
    let total: usize = conns.iter().map(|conn| conn.queries).sum();
    assert_eq!(total, CLIENTS * QUERIES_PER_CLIENT);

    println!("{total} queries from {CLIENTS} clients over {POOL_SIZE} connections in {elapsed:?}");
    for conn in &conns {
        println!("  connection {}: {} queries", conn.id, conn.queries);
    }
    println!(
        "  impatient clients timed out {} times and retried",
        timed_out.load(SeqCst)
    );
}
