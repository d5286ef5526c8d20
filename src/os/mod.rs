//! What the program asks of the operating system: the syscall wrappers and the global
//! allocator ([`sys`], the crate's only `unsafe`), the hold on the signals that would end a strip
//! half way ([`interrupt`]), and what a failed allocation does ([`memory`]).

pub mod interrupt;
pub mod memory;
pub mod sys;
