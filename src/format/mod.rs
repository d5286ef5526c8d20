//! Readers of untrusted bytes found in the root, each bounded: ELF headers ([`elf`]) and a
//! script's `#!` line ([`script`]).

pub mod elf;
pub mod script;
