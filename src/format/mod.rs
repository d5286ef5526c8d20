//! Readers of untrusted bytes found in the root, each bounded: ELF headers ([`elf`]), a
//! script's `#!` line ([`script`]), the tar subset of apk's scripts archive ([`tar`]) and the
//! gzip member around it ([`gzip`]), busybox's bytes ([`busybox`]), other shells' bytes ([`shell`]).

pub mod busybox;
pub mod elf;
pub mod gzip;
pub mod script;
pub mod shell;
pub mod tar;
