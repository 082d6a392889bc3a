//! Test-only pause points: places inside the ring buffer's operations where
//! a test can stop a thread, to show that the others do not wait for it.
//!
//! In a normal build [`reached`] is an empty inline function and every pause
//! point compiles to nothing. Built with `--cfg freelane_pause` (and `std`),
//! this module is public (hidden from the docs) and a test installs a hook
//! for one thread with `with_hook`: each pause point that thread reaches
//! calls the hook, which may block the thread as long as it likes (on a
//! channel, a barrier). `tests/ring_buffer_lock_free.rs` stops a thread in
//! the middle of a push and of a pop this way and checks that the other
//! threads complete many operations meanwhile, with correct results;
//! `tests/loom_ring.rs` does the same under the model checker. The CI's
//! TSan, Miri and loom stages build with the cfg.

/// Where, inside an operation, a thread may be stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(unreachable_pub, dead_code)]
pub enum PausePoint {
    /// A push (`try_push`, `force_push`, a batch, the waiting forms) has
    /// written its value into its spare cell and found the slot it will
    /// publish to; the compare-and-swap that publishes it has not run.
    PushBeforePublish,
    /// A push has published its value (its compare-and-swap succeeded); it
    /// has not yet moved the `tail` hint on, nor woken a waiting pop.
    PushAfterPublish,
    /// A pop has found the slot holding the value at the head; the
    /// compare-and-swap that takes it has not run.
    PopBeforeTake,
    /// A pop's compare-and-swap has taken the value's cell; the value is
    /// not yet moved out of it, the `head` hint not moved on.
    PopAfterTake,
    /// `close` has marked the ring closed; it has not yet set the flag that
    /// `is_closed` reads, nor woken the waiters.
    CloseAfterMark,
}

/// A pause point: calls the current thread's hook, if a test installed one.
#[inline(always)]
pub(crate) fn reached(point: PausePoint) {
    #[cfg(all(freelane_pause, feature = "std"))]
    hook::call(point);
    let _ = point;
}

#[cfg(all(freelane_pause, feature = "std"))]
pub use hook::with_hook;

#[cfg(all(freelane_pause, feature = "std"))]
mod hook {
    use super::PausePoint;
    use alloc::boxed::Box;
    use core::cell::RefCell;

    type Hook = Box<dyn FnMut(PausePoint)>;

    crate::sync::thread_local! {
        static HOOK: RefCell<Option<Hook>> = RefCell::new(None);
    }

    /// Runs `body` with `hook` called at every pause point this thread
    /// reaches, then removes the hook (also if `body` panics).
    pub fn with_hook<R>(hook: impl FnMut(PausePoint) + 'static, body: impl FnOnce() -> R) -> R {
        struct Remove;
        impl Drop for Remove {
            fn drop(&mut self) {
                HOOK.with(|slot| slot.borrow_mut().take());
            }
        }
        HOOK.with(|slot| *slot.borrow_mut() = Some(Box::new(hook)));
        let _remove = Remove;
        body()
    }

    pub(super) fn call(point: PausePoint) {
        // Taken out while it runs, so a hook that itself pushes or pops on
        // a ring does not re-enter itself (nor hold the `RefCell` borrowed).
        let hook = HOOK.with(|slot| slot.borrow_mut().take());
        if let Some(mut hook) = hook {
            hook(point);
            HOOK.with(|slot| {
                let mut slot = slot.borrow_mut();
                if slot.is_none() {
                    *slot = Some(hook);
                }
            });
        }
    }
}
