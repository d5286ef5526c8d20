//! Readers of untrusted bytes found in the root, each bounded: ELF headers ([`elf`]), a
//! script's `#!` line ([`script`]), busybox's bytes ([`busybox`]).

pub mod busybox;
pub mod elf;
pub mod script;
