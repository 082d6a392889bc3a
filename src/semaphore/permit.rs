//! [`Permit`] and [`OwnedPermit`]: one implementation, [`Held`], generic
//! over how the semaphore is held (`&Semaphore` or `Arc<Semaphore>`); the
//! two public types are thin wrappers that give each its own docs.

#[cfg(target_has_atomic = "ptr")]
use alloc::sync::Arc;
use core::fmt;
use core::ops::Deref;

use super::Semaphore;

/// How a permit (or an acquire future) holds its semaphore, and the public
/// permit type it turns into.
pub(super) trait Handle: Deref<Target = Semaphore> + Sized {
    /// The public permit for this handle.
    type Permit;
    /// `permits` permits, already taken from the semaphore, as a permit.
    fn into_permit(self, permits: usize) -> Self::Permit;
}

impl<'a> Handle for &'a Semaphore {
    type Permit = Permit<'a>;
    fn into_permit(self, permits: usize) -> Permit<'a> {
        Permit(Held {
            semaphore: self,
            permits,
        })
    }
}

#[cfg(target_has_atomic = "ptr")]
impl Handle for Arc<Semaphore> {
    type Permit = OwnedPermit;
    fn into_permit(self, permits: usize) -> OwnedPermit {
        OwnedPermit(Held {
            semaphore: self,
            permits,
        })
    }
}

/// `permits` permits taken from the semaphore behind `semaphore`; returns
/// them on drop. The one implementation behind both public permits.
struct Held<H: Deref<Target = Semaphore>> {
    semaphore: H,
    permits: usize,
}

impl<H: Deref<Target = Semaphore>> Held<H> {
    /// Takes the permits out of circulation for good.
    fn forget(mut self) {
        self.semaphore.retire(self.permits);
        self.permits = 0; // the drop returns nothing
    }

    /// `n` of the permits as a new holder, or `None` (changing nothing).
    fn split(&mut self, n: usize) -> Option<Self>
    where
        H: Clone,
    {
        self.permits = self.permits.checked_sub(n)?;
        Some(Self {
            semaphore: self.semaphore.clone(),
            permits: n,
        })
    }

    /// Moves `other`'s permits into this one; panics (naming `kind`) if they
    /// come from different semaphores.
    fn merge(&mut self, mut other: Self, kind: &str) {
        assert!(
            core::ptr::eq(&*self.semaphore, &*other.semaphore),
            "{kind}::merge: the permits come from different semaphores"
        );
        self.permits += core::mem::take(&mut other.permits);
    }
}

impl<H: Deref<Target = Semaphore>> Drop for Held<H> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

/// Permits taken from a [`Semaphore`], returned to it when dropped.
///
/// `Send + Sync`: it may move to another thread, or be held across an
/// `.await`, as long as the semaphore outlives it.
///
/// ```
/// use freelane::Semaphore;
///
/// let sem = Semaphore::new(2);
/// {
///     let permit = sem.try_acquire_many(2).unwrap();
///     assert_eq!(permit.permits(), 2);
///     assert_eq!(sem.available_permits(), 0);
/// } // dropped: both permits return
/// assert_eq!(sem.available_permits(), 2);
/// ```
#[must_use = "dropping a permit returns it to the semaphore at once"]
pub struct Permit<'a>(Held<&'a Semaphore>);

impl<'a> Permit<'a> {
    /// How many permits this holds.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(3);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().permits(), 2);
    /// ```
    pub fn permits(&self) -> usize {
        self.0.permits
    }

    /// The semaphore the permits came from.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert!(std::ptr::eq(permit.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &'a Semaphore {
        self.0.semaphore
    }

    /// Consumes the permit without returning its permits: the semaphore has
    /// that many fewer from now on.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(3);
    /// sem.try_acquire_many(2).unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(self) {
        self.0.forget();
    }

    /// Splits `n` permits off into a new permit, or returns `None` (changing
    /// nothing) if this one holds fewer than `n`.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(3);
    /// let mut three = sem.try_acquire_many(3).unwrap();
    /// let one = three.split(1).unwrap();
    /// assert_eq!((three.permits(), one.permits()), (2, 1));
    /// assert!(three.split(5).is_none());
    /// drop(one);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.0.split(n).map(Self)
    }

    /// Moves `other`'s permits into this one.
    ///
    /// # Panics
    /// If the two permits come from different semaphores.
    ///
    /// ```
    /// let sem = freelane::Semaphore::new(3);
    /// let mut one = sem.try_acquire().unwrap();
    /// one.merge(sem.try_acquire_many(2).unwrap());
    /// assert_eq!(one.permits(), 3);
    /// ```
    pub fn merge(&mut self, other: Self) {
        self.0.merge(other.0, "Permit");
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("permits", &self.0.permits)
            .finish_non_exhaustive()
    }
}

/// Permits taken from a [`Semaphore`] behind an [`Arc`], returned when
/// dropped. It owns a reference to the semaphore, so it can move anywhere
/// (another thread, a spawned task) with no lifetime to satisfy.
///
/// ```
/// use freelane::Semaphore;
/// use std::sync::Arc;
///
/// let sem = Arc::new(Semaphore::new(1));
/// let permit = Arc::clone(&sem).try_acquire_owned().unwrap();
/// assert!(Arc::ptr_eq(permit.semaphore(), &sem));
/// std::thread::spawn(move || drop(permit)).join().unwrap();
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "dropping a permit returns it to the semaphore at once"]
#[cfg(target_has_atomic = "ptr")]
pub struct OwnedPermit(Held<Arc<Semaphore>>);

#[cfg(target_has_atomic = "ptr")]
impl OwnedPermit {
    /// How many permits this holds.
    ///
    /// ```
    /// let sem = std::sync::Arc::new(freelane::Semaphore::new(3));
    /// assert_eq!(sem.try_acquire_many_owned(2).unwrap().permits(), 2);
    /// ```
    pub fn permits(&self) -> usize {
        self.0.permits
    }

    /// The semaphore the permits came from.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(freelane::Semaphore::new(1));
    /// let permit = Arc::clone(&sem).try_acquire_owned().unwrap();
    /// assert_eq!(permit.semaphore().available_permits(), 0);
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.0.semaphore
    }

    /// Consumes the permit without returning its permits: the semaphore has
    /// that many fewer from now on.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(freelane::Semaphore::new(2));
    /// Arc::clone(&sem).try_acquire_owned().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(self) {
        self.0.forget();
    }

    /// Splits `n` permits off into a new permit, or returns `None` (changing
    /// nothing) if this one holds fewer than `n`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(freelane::Semaphore::new(2));
    /// let mut two = sem.try_acquire_many_owned(2).unwrap();
    /// let one = two.split(1).unwrap();
    /// assert_eq!((two.permits(), one.permits()), (1, 1));
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.0.split(n).map(Self)
    }

    /// Moves `other`'s permits into this one.
    ///
    /// # Panics
    /// If the two permits come from different semaphores.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(freelane::Semaphore::new(2));
    /// let mut one = Arc::clone(&sem).try_acquire_owned().unwrap();
    /// one.merge(sem.try_acquire_owned().unwrap());
    /// assert_eq!(one.permits(), 2);
    /// ```
    pub fn merge(&mut self, other: Self) {
        self.0.merge(other.0, "OwnedPermit");
    }
}

#[cfg(target_has_atomic = "ptr")]
impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("permits", &self.0.permits)
            .finish_non_exhaustive()
    }
}
