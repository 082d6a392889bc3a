//! STUB — to be replaced by the RingBuffer implementation.
#![allow(missing_docs, dead_code)]
use core::marker::PhantomData;
pub struct RingBuffer<T>(PhantomData<T>);
