//! What the program asks of the operating system: the syscall wrappers ([`sys`], the crate's
//! only `unsafe`) and the hold on the signals that would end a strip half way ([`interrupt`]).

pub mod interrupt;
pub mod sys;
