//! The ELF reader on any file: it never panics, and every soname it answers is in the file,
//! NUL-terminated (nothing is made up). The input is written to one unlinked file on tmpfs,
//! read once at its size and once as if shorter (a size the reader must not read past).
#![no_main]

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;

use alpine_strip::fuzzing;
use libfuzzer_sys::fuzz_target;

/// One file for the whole run, on tmpfs when there is one, unlinked at once.
fn scratch() -> &'static File {
    static FILE: OnceLock<File> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = alpine_strip_fuzz::scratch("elf");
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("scratch file");
        std::fs::remove_file(&path).expect("unlink scratch file");
        file
    })
}

fn check(bytes: &[u8], names: &[Vec<u8>]) {
    for n in names {
        let terminated = [n.as_slice(), b"\0"].concat();
        assert!(
            bytes.windows(terminated.len()).any(|w| w == terminated),
            "soname {n:?} is not in the file"
        );
    }
}

fuzz_target!(|bytes: &[u8]| {
    let file = scratch();
    file.set_len(0).expect("truncate");
    file.write_all_at(bytes, 0).expect("write");
    let len = bytes.len() as u64;
    check(bytes, &fuzzing::elf_needed(file, len));
    // As if the file were cut at half its size: nothing past the cut counts.
    let half = bytes.len() / 2;
    check(&bytes[..half], &fuzzing::elf_needed(file, half as u64));
});
