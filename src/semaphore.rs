//! STUB — to be replaced by the Semaphore implementation.
#![allow(missing_docs, dead_code)]
pub struct Semaphore;
impl Semaphore { pub const MAX_PERMITS: usize = usize::MAX >> 3; }
pub struct Permit<'a>(&'a Semaphore);
pub struct OwnedPermit;
