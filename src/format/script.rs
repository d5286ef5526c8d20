//! Scripts: the `#!` line that names the program a script needs, read confined to the root.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::root::Root;

/// The most bytes of a file read to find its `#!` line.
pub const HEAD: usize = 256;

/// The `#!` interpreter of a script, if the file is one: its first [`HEAD`] bytes, read
/// confined to the root.
pub fn interpreter(root: &mut Root, rel: &Path) -> Option<PathBuf> {
    let mut head = [0u8; HEAD];
    let n = root.read_head(rel, &mut head);
    interpreter_of(&head[..n])
}

/// The `#!` interpreter named by a file's first bytes `head`: the first word after `#!` on
/// the first line; `None` when `head` does not start with `#!` or names nothing.
pub fn interpreter_of(head: &[u8]) -> Option<PathBuf> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next()?;
    let word = line
        .split(|b| b.is_ascii_whitespace())
        .find(|w| !w.is_empty())?;
    Some(PathBuf::from(OsStr::from_bytes(word)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::tests::tree;
    use std::fs;

    #[test]
    fn the_first_word_after_the_hash_bang_is_the_interpreter() {
        let (t, mut root) = tree();
        fs::write(t.path().join("etc/a"), b"#! /usr/bin/env -S python3\nx").unwrap();
        fs::write(t.path().join("etc/b"), b"#!/bin/sh\n").unwrap();
        fs::write(t.path().join("etc/c"), b"\x7fELF").unwrap();
        let of = |root: &mut Root, p: &str| interpreter(root, Path::new(p));
        assert_eq!(of(&mut root, "etc/a"), Some(PathBuf::from("/usr/bin/env")));
        assert_eq!(of(&mut root, "etc/b"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(of(&mut root, "etc/c"), None);
        assert_eq!(of(&mut root, "etc/none"), None);
    }
}
