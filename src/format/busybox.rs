//! busybox in bytes: whether two open files hold the same bytes (a `cp` of busybox is busybox),
//! and whether a file carries busybox's version banner (`BusyBox v1.36.1 ...`, which every build
//! prints for `--help`). Both read in fixed chunks, at most [`MAX_READ`] bytes of a file.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::format::elf;

/// The most bytes read of one file (busybox builds are 0.5 to 2.5 MB): a larger file is
/// neither compared nor searched, so a 100 MB application binary costs nothing.
pub const MAX_READ: u64 = 8 << 20;
const CHUNK: usize = 64 << 10;

/// The banner, one less than each byte: the needle is built at run time, so this binary does
/// not carry the banner itself (a `--check` would name it).
const BANNER_MINUS_ONE: [u8; 9] = *b"AtrxAnw\x1fu";

/// Whether `a` and `b`, both `len` bytes long, hold the same bytes (`false` past [`MAX_READ`]
/// or on a read error).
pub fn same_bytes(a: &File, b: &File, len: u64) -> bool {
    if len > MAX_READ {
        return false;
    }
    let (mut x, mut y) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut at = 0;
    while at < len {
        let n = usize::try_from((len - at).min(CHUNK as u64)).unwrap_or(CHUNK);
        let (x, y) = (&mut x[..n], &mut y[..n]);
        if a.read_exact_at(x, at).is_err() || b.read_exact_at(y, at).is_err() || x != y {
            return false;
        }
        at += n as u64;
    }
    true
}

/// Whether `file`, of `len` bytes, holds busybox's banner (`false` past [`MAX_READ`]). In an
/// ELF file only its read-only data is read (where busybox keeps the banner: a tenth of a
/// program, or less), else the whole file.
pub fn has_banner(file: &File, len: u64) -> bool {
    let needle = std::hint::black_box(BANNER_MINUS_ONE).map(|b| b + 1);
    holds_any(file, len, &[&needle]).is_some()
}

/// Which of `needles` (none empty) `file`, of `len` bytes, holds first (none past
/// [`MAX_READ`]): in an ELF file only its read-only data is read, else the whole file.
pub fn holds_any(file: &File, len: u64, needles: &[&[u8]]) -> Option<usize> {
    if len > MAX_READ || needles.is_empty() {
        return None;
    }
    let longest = needles.iter().map(|n| n.len()).max().unwrap_or(1);
    let ranges = elf::read_only_data(file, len).unwrap_or_else(|| vec![(0, len)]);
    let mut buf = vec![0u8; longest - 1 + CHUNK];
    ranges
        .into_iter()
        .find_map(|(at, size)| range_has(file, at, size, needles, &mut buf))
}

/// Which of `needles` the `size` bytes at `at` of `file` hold, read a chunk at a time into
/// `buf` (the longest needle's length less one longer than a chunk).
fn range_has(file: &File, at: u64, size: u64, needles: &[&[u8]], buf: &mut [u8]) -> Option<usize> {
    // Each chunk is read after the last `keep` bytes of the one before, so a needle that
    // straddles two chunks is seen.
    let keep = buf.len() - CHUNK;
    let (mut done, mut carried) = (0u64, 0usize);
    while done < size {
        let n = usize::try_from((size - done).min(CHUNK as u64)).unwrap_or(CHUNK);
        let got = file
            .read_at(&mut buf[carried..carried + n], at + done)
            .ok()?;
        if got == 0 {
            return None;
        }
        let filled = carried + got;
        if let Some(i) = needles.iter().position(|n| contains(&buf[..filled], n)) {
            return Some(i);
        }
        carried = keep.min(filled);
        buf.copy_within(filled - carried..filled, 0);
        done += got as u64;
    }
    None
}

/// Whether `hay` holds `needle` (not empty): each place of its first byte, then the rest.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let (first, rest) = (needle[0], &needle[1..]);
    let mut from = 0;
    while let Some(p) = hay[from..].iter().position(|&b| b == first) {
        let at = from + p + 1;
        if hay.get(at..at + rest.len()) == Some(rest) {
            return true;
        }
        from = at;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn the_banner_is_found_anywhere_even_across_chunks_and_this_binary_does_not_carry_it() {
        let needle = b"BusyBox v1.36.1 (2024-06-10 07:11:47 UTC) multi-call binary.";
        for at in [0, 100, CHUNK - 4, CHUNK - 9, CHUNK, 3 * CHUNK + 1] {
            let mut b = vec![0u8; 4 * CHUNK];
            b[at..at + needle.len()].copy_from_slice(needle);
            let f = file(&b);
            assert!(has_banner(&f, b.len() as u64), "at {at}");
        }
        let f = file(&[b'x'; 3 * CHUNK]);
        assert!(!has_banner(&f, 3 * CHUNK as u64));
        assert!(!has_banner(&file(b"BusyBox"), 7));
        assert!(
            !has_banner(&file(b"BusyBox v1"), MAX_READ + 1),
            "too large to be busybox"
        );
        assert_eq!(BANNER_MINUS_ONE.map(|b| b + 1), *b"BusyBox v");
        assert!(contains(b"xxBusyBoBusyBox v1", b"BusyBox v"));
        assert!(!contains(b"BusyBox", b"BusyBox v"));
    }

    #[test]
    fn same_bytes_compares_every_chunk() {
        let a: Vec<u8> = (0..3 * CHUNK + 7).map(|i| (i % 251) as u8).collect();
        let mut b = a.clone();
        assert!(same_bytes(&file(&a), &file(&b), a.len() as u64));
        *b.last_mut().unwrap() ^= 1;
        assert!(!same_bytes(&file(&a), &file(&b), a.len() as u64));
    }
}
