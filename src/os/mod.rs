//! What the program asks of the operating system: the syscall wrappers ([`sys`], the crate's
//! only `unsafe` besides the allocator) and the allocator ([`alloc`]). The binary runs on one
//! thread.

pub mod alloc;
pub mod sys;
