//! What the program asks of the operating system: the syscall wrappers ([`sys`], the crate's
//! only `unsafe` besides the allocator) and the allocator ([`alloc`]).

pub mod alloc;
pub mod sys;
