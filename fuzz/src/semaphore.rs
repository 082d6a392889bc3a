//! `Semaphore`: sequential model (a permit count, the held permits, a closed
//! flag) and concurrent permit-bound check.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbitrary::Arbitrary;
use freelane::{AcquireError, OwnedPermit, Permit, Semaphore, TryAcquireError};

use crate::{Amount, Scripts, bounded_ops};

const MAX: usize = Semaphore::MAX_PERMITS;

/// `amount` as a permit count clustered around `MAX_PERMITS`.
fn permits(amount: Amount) -> usize {
    usize::try_from(amount.value(MAX as u64)).unwrap_or(usize::MAX)
}

/// One operation on the semaphore.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Op {
    /// `try_acquire`.
    TryAcquire,
    /// `try_acquire_many(n)`.
    TryAcquireMany(Amount),
    /// `try_acquire_many_owned(n)` on an `Arc`.
    TryAcquireOwned(Amount),
    /// Blocking `acquire_many(n)`, only when the model says it will not wait.
    AcquireMany(Amount),
    /// `acquire_many_timeout(n, 0)`.
    AcquireTimeout(Amount),
    /// Drop the held permit at this index (modulo the count).
    Release(u8),
    /// `forget` the held permit at this index.
    Forget(u8),
    /// `split(n)` the held permit at this index.
    Split(u8, Amount),
    /// `merge` two held permits (when both are borrowed or both owned).
    Merge(u8, u8),
    /// `add_permits(n)`; past `MAX_PERMITS` it must panic and change nothing.
    AddPermits(Amount),
    /// `close`.
    Close,
    /// `available_permits`, `is_closed`, each held permit's `permits`.
    Inspect,
}

/// A sequential input.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// Initial permits (capped at `MAX_PERMITS`).
    pub initial: Amount,
    /// Operations, cut to [`crate::MAX_SEQUENTIAL_OPS`].
    pub ops: Vec<Op>,
}

/// A permit a harness holds (sequential or one concurrent thread).
enum Held<'a> {
    Borrowed(Permit<'a>),
    Owned(OwnedPermit),
}

impl<'a> From<Permit<'a>> for Held<'a> {
    fn from(permit: Permit<'a>) -> Self {
        Held::Borrowed(permit)
    }
}

impl From<OwnedPermit> for Held<'_> {
    fn from(permit: OwnedPermit) -> Self {
        Held::Owned(permit)
    }
}

impl Held<'_> {
    fn permits(&self) -> usize {
        match self {
            Held::Borrowed(permit) => permit.permits(),
            Held::Owned(permit) => permit.permits(),
        }
    }

    /// `forget`s the permit: its permits never go back to the semaphore.
    fn forget(self) {
        match self {
            Held::Borrowed(permit) => permit.forget(),
            Held::Owned(permit) => permit.forget(),
        }
    }
}

/// The model's verdict on a lock-free acquire of `n`.
fn try_verdict(available: usize, closed: bool, n: usize) -> Result<(), TryAcquireError> {
    if closed {
        Err(TryAcquireError::Closed)
    } else if n > MAX {
        Err(TryAcquireError::TooMany { requested: n })
    } else if n > available {
        Err(TryAcquireError::NoPermits)
    } else {
        Ok(())
    }
}

/// Checks the result of a non-waiting acquire of `n` (borrowed or owned)
/// against the model's verdict `expected`; on success, takes the `n`
/// permits off `available` and keeps the permit in `held`.
fn check_acquired<'a>(
    op: Op,
    n: usize,
    got: Result<impl Into<Held<'a>>, TryAcquireError>,
    expected: Result<(), TryAcquireError>,
    available: &mut usize,
    held: &mut Vec<Held<'a>>,
) {
    let got = got.map(Into::into);
    assert_eq!(
        got.as_ref().map(Held::permits).map_err(|e| *e),
        expected.map(|()| n),
        "{op:?}"
    );
    if let Ok(permit) = got {
        *available -= n;
        held.push(permit);
    }
}

/// Runs `f`, which must panic, with the panic message silenced (libFuzzer's
/// hook would abort); returns whether it panicked.
fn panics(f: impl FnOnce()) -> bool {
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(hook);
    result.is_err()
}

/// Applies `input` to a `Semaphore` and the model; every result must match.
pub fn check_sequential(input: &Input) {
    let initial = permits(input.initial).min(MAX);
    let semaphore = Arc::new(Semaphore::new(initial));
    let mut available = initial;
    let mut closed = false;
    let mut held: Vec<Held<'_>> = Vec::new();
    let in_existence = |available: usize, held: &[Held<'_>]| {
        held.iter()
            .fold(available, |sum, permit| sum + permit.permits())
    };
    for op in bounded_ops(&input.ops) {
        match *op {
            Op::TryAcquire | Op::TryAcquireMany(_) | Op::AcquireTimeout(_) => {
                let (n, got) = match *op {
                    Op::TryAcquire => (1, semaphore.try_acquire()),
                    Op::TryAcquireMany(amount) => {
                        let n = permits(amount);
                        (n, semaphore.try_acquire_many(n))
                    }
                    Op::AcquireTimeout(amount) => {
                        let n = permits(amount);
                        (n, semaphore.acquire_many_timeout(n, Duration::ZERO))
                    }
                    _ => unreachable!(),
                };
                let mut expected = try_verdict(available, closed, n);
                if matches!(op, Op::AcquireTimeout(_)) && n > MAX {
                    // Documented: checked before anything else.
                    expected = Err(TryAcquireError::TooMany { requested: n });
                }
                check_acquired(*op, n, got, expected, &mut available, &mut held);
            }
            Op::TryAcquireOwned(amount) => {
                let n = permits(amount);
                let got = Arc::clone(&semaphore).try_acquire_many_owned(n);
                let expected = try_verdict(available, closed, n);
                check_acquired(*op, n, got, expected, &mut available, &mut held);
            }
            Op::AcquireMany(amount) => {
                let n = permits(amount);
                if n > MAX {
                    let err = semaphore.acquire_many(n).map(|p| p.permits()).unwrap_err();
                    let too_many = AcquireError::TooMany { requested: n };
                    assert!(
                        err == too_many || (closed && err == AcquireError::Closed),
                        "{op:?}: {err:?}"
                    );
                } else if closed {
                    let got = semaphore.acquire_many(n).map(|p| p.permits());
                    assert_eq!(got, Err(AcquireError::Closed), "{op:?}");
                } else if n <= available {
                    let permit = semaphore
                        .acquire_many(n)
                        .expect("acquire_many with permits free");
                    assert_eq!(permit.permits(), n, "{op:?}");
                    available -= n;
                    held.push(Held::Borrowed(permit));
                }
            }
            Op::Release(index) => {
                if !held.is_empty() {
                    let permit = held.swap_remove(usize::from(index) % held.len());
                    available += permit.permits();
                }
            }
            Op::Forget(index) => {
                if !held.is_empty() {
                    held.swap_remove(usize::from(index) % held.len()).forget();
                }
            }
            Op::Split(index, amount) => {
                if !held.is_empty() {
                    let index = usize::from(index) % held.len();
                    let n = permits(amount);
                    let before = held[index].permits();
                    let split = match &mut held[index] {
                        Held::Borrowed(permit) => permit.split(n).map(Held::Borrowed),
                        Held::Owned(permit) => permit.split(n).map(Held::Owned),
                    };
                    assert_eq!(split.is_some(), n <= before, "split({n}) of {before}");
                    let left = if n <= before { before - n } else { before };
                    assert_eq!(held[index].permits(), left, "split({n}) of {before} left");
                    if let Some(split) = split {
                        assert_eq!(split.permits(), n, "split({n}) gave");
                        held.push(split);
                    }
                }
            }
            Op::Merge(first, second) => {
                if held.len() >= 2 {
                    let first = usize::from(first) % held.len();
                    let second = usize::from(second) % held.len();
                    let same_kind = matches!(
                        (&held[first], &held[second]),
                        (Held::Borrowed(_), Held::Borrowed(_)) | (Held::Owned(_), Held::Owned(_))
                    );
                    if first != second && same_kind {
                        let total = held[first].permits() + held[second].permits();
                        let other = held.swap_remove(second);
                        // swap_remove moved the last element into `second`.
                        let first = if first == held.len() { second } else { first };
                        match (&mut held[first], other) {
                            (Held::Borrowed(into), Held::Borrowed(other)) => into.merge(other),
                            (Held::Owned(into), Held::Owned(other)) => into.merge(other),
                            _ => unreachable!("same kind, checked above"),
                        }
                        assert_eq!(held[first].permits(), total, "merge");
                    }
                }
            }
            Op::AddPermits(amount) => {
                let n = permits(amount);
                let existing = in_existence(available, &held);
                if existing.checked_add(n).is_some_and(|sum| sum <= MAX) {
                    semaphore.add_permits(n);
                    available += n;
                } else {
                    assert!(
                        panics(|| semaphore.add_permits(n)),
                        "add_permits({n}) past MAX_PERMITS with {existing} in existence did not panic"
                    );
                }
            }
            Op::Close => {
                assert_eq!(semaphore.close(), !closed, "close's first-caller flag");
                closed = true;
            }
            Op::Inspect => {}
        }
        // Cheap enough to check after every step.
        assert_eq!(
            semaphore.available_permits(),
            available,
            "available_permits after {op:?}"
        );
        assert_eq!(semaphore.is_closed(), closed, "is_closed after {op:?}");
    }
    let total = in_existence(available, &held);
    drop(held);
    assert_eq!(
        semaphore.available_permits(),
        total,
        "permits not all back after the drops"
    );
}

/// One operation of a thread's script.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ThreadOp {
    /// `try_acquire_many(n % 4)`.
    TryAcquire(u8),
    /// `try_acquire_many_owned(n % 4)`, kept as an owned permit.
    TryAcquireOwned(u8),
    /// `acquire_many_timeout(n % 4, 0..31 µs)`.
    AcquireTimeout(u8, u8),
    /// Drop the newest held permit.
    Release,
    /// Drop the oldest held permit.
    ReleaseOldest,
    /// `forget` the newest held permit.
    Forget,
    /// Move the newest owned permit to the shared pool (another thread may
    /// drop it).
    HandOff,
    /// Drop a permit from the shared pool.
    TakeHandOff,
    /// `add_permits(n % 4)`.
    AddPermits(u8),
    /// `close`.
    Close,
    /// `available_permits` (bounded by the permits in existence).
    Inspect,
}

/// A concurrent input: initial permits (`initial % 8`) and the scripts.
#[derive(Arbitrary, Debug)]
pub struct ConcurrentInput {
    /// Initial permits, `initial % 8`.
    pub initial: u8,
    /// The per-thread scripts.
    pub scripts: Scripts<ThreadOp>,
}

/// Shared bookkeeping of the concurrent harness (all SeqCst).
struct Books {
    initial: usize,
    /// Permits currently held by the harness: raised after an acquire,
    /// lowered before a release or forget.
    held: AtomicUsize,
    /// Permits added so far: raised before `add_permits`.
    added: AtomicUsize,
    /// Permits forgotten so far: raised after `forget`.
    forgotten: AtomicUsize,
}

impl Books {
    /// Records `n` newly held permits and checks that holders never exceed
    /// the permits that can exist.
    fn acquired(&self, n: usize) {
        let held = self.held.fetch_add(n, SeqCst) + n;
        let bound = self.initial + self.added.load(SeqCst);
        assert!(held <= bound, "{held} permits held, at most {bound} exist");
    }

    fn released(&self, n: usize) {
        self.held.fetch_sub(n, SeqCst);
    }

    /// Checks a thread's non-waiting acquire (borrowed or owned) against
    /// what that thread has seen: once it saw the semaphore closed, nothing
    /// but `Closed` may come back. A success is recorded with
    /// [`Books::acquired`] and the permit kept in `holding`.
    fn check_acquired<'a>(
        &self,
        got: Result<impl Into<Held<'a>>, TryAcquireError>,
        knows_closed: &mut bool,
        holding: &mut Vec<Held<'a>>,
    ) {
        match got.map(Into::into) {
            Ok(permit) => {
                let n = permit.permits();
                assert!(!*knows_closed, "acquired {n} after close was seen");
                self.acquired(n);
                holding.push(permit);
            }
            Err(TryAcquireError::Closed) => *knows_closed = true,
            Err(TryAcquireError::NoPermits) => {
                assert!(!*knows_closed, "NoPermits after close was seen");
            }
            Err(TryAcquireError::TooMany { requested }) => {
                unreachable!("{requested} asked, at most 3")
            }
        }
    }
}

/// Runs the scripts on real threads against one semaphore; checks that
/// holders never exceed the permits, that `Closed` is final, and that every
/// permit is back at the end.
pub fn check_concurrent(input: &ConcurrentInput) {
    let initial = usize::from(input.initial % 8);
    let semaphore = Arc::new(Semaphore::new(initial));
    let books = Books {
        initial,
        held: AtomicUsize::new(0),
        added: AtomicUsize::new(0),
        forgotten: AtomicUsize::new(0),
    };
    let pool: Mutex<Vec<OwnedPermit>> = Mutex::new(Vec::new());
    let closers: usize = input
        .scripts
        .run(|_, script| {
            let mut holding: Vec<Held<'_>> = Vec::new();
            let mut knows_closed = false;
            let mut closed_it = 0;
            for op in script {
                match *op {
                    ThreadOp::TryAcquire(n) | ThreadOp::AcquireTimeout(n, _) => {
                        let n = usize::from(n % 4);
                        let got = match *op {
                            ThreadOp::AcquireTimeout(_, micros) => {
                                let timeout = Duration::from_micros(u64::from(micros % 32));
                                semaphore.acquire_many_timeout(n, timeout)
                            }
                            _ => semaphore.try_acquire_many(n),
                        };
                        books.check_acquired(got, &mut knows_closed, &mut holding);
                    }
                    ThreadOp::TryAcquireOwned(n) => {
                        let got = Arc::clone(&semaphore).try_acquire_many_owned(usize::from(n % 4));
                        books.check_acquired(got, &mut knows_closed, &mut holding);
                    }
                    ThreadOp::Release | ThreadOp::ReleaseOldest => {
                        if !holding.is_empty() {
                            let index = match *op {
                                ThreadOp::Release => holding.len() - 1,
                                _ => 0,
                            };
                            let permit = holding.remove(index);
                            books.released(permit.permits());
                            drop(permit);
                        }
                    }
                    ThreadOp::Forget => {
                        if let Some(permit) = holding.pop() {
                            let n = permit.permits();
                            books.released(n);
                            permit.forget();
                            books.forgotten.fetch_add(n, SeqCst);
                        }
                    }
                    ThreadOp::HandOff => {
                        if let Some(index) =
                            holding.iter().rposition(|p| matches!(p, Held::Owned(_)))
                            && let Held::Owned(permit) = holding.remove(index)
                        {
                            pool.lock().unwrap().push(permit);
                        }
                    }
                    ThreadOp::TakeHandOff => {
                        let taken = pool.lock().unwrap().pop();
                        if let Some(permit) = taken {
                            books.released(permit.permits());
                            drop(permit);
                        }
                    }
                    ThreadOp::AddPermits(n) => {
                        let n = usize::from(n % 4);
                        books.added.fetch_add(n, SeqCst);
                        semaphore.add_permits(n);
                    }
                    ThreadOp::Close => {
                        closed_it += usize::from(semaphore.close());
                        knows_closed = true;
                    }
                    ThreadOp::Inspect => {
                        let available = semaphore.available_permits();
                        let bound = books.initial + books.added.load(SeqCst);
                        assert!(
                            available <= bound,
                            "{available} available, at most {bound} exist"
                        );
                        if semaphore.is_closed() {
                            knows_closed = true;
                        } else {
                            assert!(!knows_closed, "is_closed went back to false");
                        }
                    }
                }
            }
            for permit in holding.drain(..) {
                books.released(permit.permits());
            }
            closed_it
        })
        .into_iter()
        .sum();
    for permit in pool.into_inner().unwrap() {
        books.released(permit.permits());
    }
    assert_eq!(books.held.load(SeqCst), 0, "harness bookkeeping");
    assert!(
        closers <= 1,
        "{closers} threads were told they closed the semaphore"
    );
    assert_eq!(
        closers == 1,
        semaphore.is_closed(),
        "closed without a winner, or the reverse"
    );
    let expected = initial + books.added.load(SeqCst) - books.forgotten.load(SeqCst);
    assert_eq!(
        semaphore.available_permits(),
        expected,
        "permits not all back at the end"
    );
    if !semaphore.is_closed() {
        let all = semaphore.try_acquire_many(expected).map(|p| p.permits());
        assert_eq!(
            all,
            Ok(expected),
            "the permits back at the end cannot all be taken"
        );
    }
}
