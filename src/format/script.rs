//! Scripts: the `#!` line that names the program a script needs, read confined to the root.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::root::Root;

/// The bytes of a file the kernel reads for its `#!` line (`BINPRM_BUF_SIZE`).
pub const HEAD: usize = 256;

/// A script's `#!` line as the kernel reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter: the first word after `#!`.
    pub interpreter: PathBuf,
    /// The rest of the line, trimmed: one argument to the interpreter (the kernel does not
    /// split it), or none.
    pub arg: Option<Vec<u8>>,
}

/// The `#!` interpreter of a script, if the file is one: its first 256 bytes, read confined to
/// the root.
pub fn interpreter(root: &mut Root, rel: &Path) -> Option<PathBuf> {
    let mut head = [0u8; HEAD];
    let n = root.read_head(rel, &mut head);
    shebang(&head[..n]).map(|s| s.interpreter)
}

/// The `#!` line at the start of `head` (the first [`HEAD`] bytes of a file), if there is one,
/// split as the kernel splits it (`fs/binfmt_script.c`): the line ends at the first newline;
/// spaces and tabs around it are passed over; the interpreter runs up to the first space, tab
/// or NUL, so a carriage return is part of it (`#!/bin/sh\r`, a script saved with Windows line
/// ends, asks for `/bin/sh\r`); the rest up to the end of the line, trimmed of spaces and tabs,
/// is one argument.
pub fn shebang(head: &[u8]) -> Option<Shebang> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next()?;
    let line = trim_blanks(line);
    let end = line
        .iter()
        .position(|&b| is_blank(b) || b == 0)
        .unwrap_or(line.len());
    let (word, arg) = line.split_at(end);
    if word.is_empty() {
        return None;
    }
    let arg = trim_blanks(arg);
    Some(Shebang {
        interpreter: PathBuf::from(OsStr::from_bytes(word)),
        arg: (!arg.is_empty()).then(|| arg.to_vec()),
    })
}

/// A space or a tab: all the kernel splits a `#!` line on.
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `bytes` without the spaces and tabs at either end.
fn trim_blanks(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_blank(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

/// The program `env` starts, given the argument of a `#!/usr/bin/env ...` line: with `-S`
/// (`--split-string`) the line is split into words (on spaces and tabs: a CR stays in the
/// program's name); options and `NAME=VALUE` settings are passed over; the first other word is
/// the program.
pub fn env_command(arg: &[u8]) -> Option<&[u8]> {
    let words = arg.split(|&b| is_blank(b)).filter(|w| !w.is_empty());
    let mut words = words.peekable();
    if let Some(first) = words.peek()
        && let Some(joined) = first.strip_prefix(b"-S")
        && !joined.is_empty()
    {
        // `-Snode`: the program is glued to the option.
        return Some(joined);
    }
    words.find(|w| !w.starts_with(b"-") && !w.contains(&b'='))
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

    #[test]
    fn the_rest_of_the_line_is_one_argument_and_env_finds_its_program() {
        let s = shebang(b"#!/usr/bin/env  node \nrest").unwrap();
        assert_eq!(s.interpreter, PathBuf::from("/usr/bin/env"));
        assert_eq!(s.arg.as_deref(), Some(&b"node"[..]));
        assert_eq!(shebang(b"#!/bin/sh\n").unwrap().arg, None);
        assert_eq!(shebang(b"#!   \n/bin/sh"), None);
        assert_eq!(shebang(b"\x7fELF"), None);
        // Only spaces and tabs split the line: a CR stays in the interpreter's name (and in
        // the argument), as the kernel reads it.
        let crlf = shebang(b"#!/bin/sh\r\necho").unwrap();
        assert_eq!(crlf.interpreter, PathBuf::from("/bin/sh\r"));
        let env = shebang(b"#!/usr/bin/env node\r\n").unwrap();
        assert_eq!(env.interpreter, PathBuf::from("/usr/bin/env"));
        assert_eq!(env.arg.as_deref(), Some(&b"node\r"[..]));
        let tabs = shebang(b"#!\t/bin/sh\t-e \n").unwrap();
        assert_eq!(
            (tabs.interpreter, tabs.arg),
            ("/bin/sh".into(), Some(b"-e".to_vec()))
        );
        for (arg, want) in [
            (&b"node"[..], Some(&b"node"[..])),
            (b"-S node --harmony", Some(b"node")),
            (b"-Snode", Some(b"node")),
            (b"-S NODE_ENV=production node", Some(b"node")),
            (b"-i", None),
        ] {
            assert_eq!(env_command(arg), want, "{}", String::from_utf8_lossy(arg));
        }
    }
}
