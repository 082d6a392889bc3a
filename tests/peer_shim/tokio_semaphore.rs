//! tokio's `sync::Semaphore` names over freelane's [`Semaphore`], for
//! tokio's own `tests/sync_semaphore.rs` (tests/peer_tokio_semaphore.rs).
//! Every method is a one-line rename: tokio's `acquire().await` is
//! `acquire_async().await` here, its `blocking_acquire()` is `acquire()`,
//! its `num_permits()` is `permits()`, its `u32` counts are `usize`.
//!
//! The wrappers are `#[repr(transparent)]` so that a reference or an `Arc`
//! to freelane's type can be viewed as one to the wrapper, which tokio's
//! tests compare by address (`permit.semaphore()`) and clone as `Arc`s.

use std::sync::Arc;

pub use freelane::{AcquireError, TryAcquireError};

/// tokio's `Semaphore` API over freelane's.
#[repr(transparent)]
pub struct Semaphore(freelane::Semaphore);

/// Views an `Arc` of the wrapper as an `Arc` of freelane's semaphore.
fn inner_arc(semaphore: Arc<Semaphore>) -> Arc<freelane::Semaphore> {
    // SAFETY: `Semaphore` is `repr(transparent)` over `freelane::Semaphore`,
    // so the pointee has the same size and alignment (`Arc::from_raw`'s
    // requirement), and the pointer came from `Arc::into_raw`.
    unsafe { Arc::from_raw(Arc::into_raw(semaphore).cast::<freelane::Semaphore>()) }
}

/// Views freelane's semaphore as the wrapper.
fn outer(semaphore: &freelane::Semaphore) -> &Semaphore {
    // SAFETY: `Semaphore` is `repr(transparent)` over `freelane::Semaphore`.
    unsafe { &*(semaphore as *const freelane::Semaphore).cast::<Semaphore>() }
}

impl Semaphore {
    pub const MAX_PERMITS: usize = freelane::Semaphore::MAX_PERMITS;

    pub fn new(permits: usize) -> Self {
        Self(freelane::Semaphore::new(permits))
    }
    pub fn available_permits(&self) -> usize {
        self.0.available_permits()
    }
    pub fn add_permits(&self, n: usize) {
        self.0.add_permits(n)
    }
    pub fn forget_permits(&self, n: usize) -> usize {
        self.0.forget_permits(n)
    }
    pub fn close(&self) {
        self.0.close();
    }
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.0.try_acquire().map(SemaphorePermit)
    }
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.0.try_acquire_many(n as usize).map(SemaphorePermit)
    }
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        inner_arc(self)
            .try_acquire_owned()
            .map(OwnedSemaphorePermit)
    }
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        inner_arc(self)
            .try_acquire_many_owned(n as usize)
            .map(OwnedSemaphorePermit)
    }
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        inner_arc(self)
            .acquire_many_owned_async(n as usize)
            .await
            .map(OwnedSemaphorePermit)
    }
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.0.acquire_async().await.map(SemaphorePermit)
    }
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.0
            .acquire_many_async(n as usize)
            .await
            .map(SemaphorePermit)
    }
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        inner_arc(self)
            .acquire_owned_async()
            .await
            .map(OwnedSemaphorePermit)
    }
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.0.acquire().map(SemaphorePermit)
    }
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.0.acquire_many(n as usize).map(SemaphorePermit)
    }
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        inner_arc(self).acquire_owned().map(OwnedSemaphorePermit)
    }
    pub fn blocking_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        inner_arc(self)
            .acquire_many_owned(n as usize)
            .map(OwnedSemaphorePermit)
    }
}

/// tokio's `SemaphorePermit` over freelane's `Permit`.
#[must_use]
pub struct SemaphorePermit<'a>(freelane::Permit<'a>);

impl<'a> SemaphorePermit<'a> {
    pub fn num_permits(&self) -> usize {
        self.0.permits()
    }
    pub fn forget(self) {
        self.0.forget()
    }
    pub fn merge(&mut self, other: Self) {
        self.0.merge(other.0)
    }
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.0.split(n).map(Self)
    }
    pub fn semaphore(&self) -> &'a Semaphore {
        outer(self.0.semaphore())
    }
}

/// tokio's `OwnedSemaphorePermit` over freelane's `OwnedPermit`.
#[must_use]
pub struct OwnedSemaphorePermit(freelane::OwnedPermit);

impl OwnedSemaphorePermit {
    pub fn num_permits(&self) -> usize {
        self.0.permits()
    }
    pub fn forget(self) {
        self.0.forget()
    }
    pub fn merge(&mut self, other: Self) {
        self.0.merge(other.0)
    }
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.0.split(n).map(Self)
    }
}
