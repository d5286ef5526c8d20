//! What the program asks of the operating system: the syscall wrappers ([`sys`], the crate's
//! only `unsafe` besides the allocator), the allocator ([`alloc`]) and the second thread
//! ([`thread`]).

pub mod alloc;
pub mod sys;
pub mod thread;
