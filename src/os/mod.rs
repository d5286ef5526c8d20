//! What the program asks of the operating system: the syscall wrappers ([`sys`], the crate's
//! only `unsafe` besides the allocator), the allocator ([`alloc`]) and the hold on the signals
//! that would end a strip half way ([`interrupt`]).

pub mod alloc;
pub mod interrupt;
pub mod sys;
