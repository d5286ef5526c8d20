//! The `#!` reader on any first bytes of a file: it never panics, and an interpreter it names
//! is a non-empty word of the first line after `#!`, within the bytes a read looks at, split as
//! the kernel splits it (on spaces and tabs: a CR stays in the word).
#![no_main]

use std::os::unix::ffi::OsStrExt;

use alpine_strip::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Some(path) = fuzzing::script_interpreter(bytes) else {
        return;
    };
    let word = path.as_os_str().as_bytes();
    assert!(bytes.starts_with(b"#!"));
    assert!(!word.is_empty());
    assert!(!word.iter().any(|b| matches!(b, b' ' | b'\t' | b'\n' | 0)));
    let head = &bytes[2..bytes.len().min(256)];
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    assert!(
        line.windows(word.len()).any(|w| w == word),
        "not from the first line"
    );
});
