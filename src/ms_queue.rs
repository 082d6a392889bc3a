//! STUB — to be replaced by the MsQueue implementation.
#![allow(missing_docs, dead_code)]
use core::marker::PhantomData;
pub struct MsQueue<T>(PhantomData<T>);
pub struct MsQueueHandle<'a, T>(&'a MsQueue<T>);
