//! Readers of untrusted bytes found in the root, each bounded: ELF headers ([`elf`]), a
//! script's `#!` line ([`script`]) and the tar subset of apk's scripts archive ([`tar`]).

pub mod elf;
pub mod script;
pub mod tar;
