//! STUB — to be replaced by the AtomicCounter implementation.
#![allow(missing_docs, dead_code)]
pub struct AtomicCounter;
