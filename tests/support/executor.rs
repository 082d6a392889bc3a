//! Executor-free helpers for the async tests: a minimal `block_on` on the
//! thread's park/unpark, a waker that counts its wake-ups, and a one-shot
//! poll with a chosen waker. Nothing here needs a runtime, so the tests that
//! use only these also run under Miri.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread, parking between polls.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // A spurious unpark only costs another poll.
            Poll::Pending => thread::park(),
        }
    }
}

/// A waker that counts how often it was woken.
#[derive(Clone, Default)]
pub struct CountingWaker(Arc<Count>);

#[derive(Default)]
pub struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl CountingWaker {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many wake-ups so far.
    pub fn wakes(&self) -> usize {
        self.0.0.load(SeqCst)
    }

    pub fn waker(&self) -> Waker {
        Waker::from(Arc::clone(&self.0))
    }

    /// Polls `future` once with this waker.
    pub fn poll<F: Future + Unpin>(&self, future: &mut F) -> Poll<F::Output> {
        let waker = self.waker();
        Pin::new(future).poll(&mut Context::from_waker(&waker))
    }
}

/// Compile-time check that a value is `Send`.
pub fn assert_send<T: Send>(_: &T) {}

/// Returns `Pending` once, waking itself first: lets the executor run its
/// other tasks, under any executor.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}
