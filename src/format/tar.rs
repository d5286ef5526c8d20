//! The tar subset apk writes its scripts archive in (`lib/apk/db/scripts.tar`): 512-byte
//! headers with octal fields, a GNU `L` long name before an entry whose name does not fit in
//! 100 bytes, data padded to 512 bytes, two zero blocks at the end. Read bounded: every
//! header's checksum is checked (apk does not) and every size against the bytes there are. An
//! entry keeps its raw bytes, so what is written back is byte for byte what was read.

use std::fmt;

/// Bytes in a tar block.
pub const BLOCK: usize = 512;
/// The end of an archive as apk writes it: two zero blocks.
pub const END: [u8; 2 * BLOCK] = [0; 2 * BLOCK];
/// The longest long name (`L`) read, in bytes.
pub const META_LIMIT: usize = 64 << 10;

/// One entry of an archive.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Its name: the long name when one came before it, else the header's (with the ustar
    /// prefix).
    pub name: Vec<u8>,
    /// Its header blocks (those of a long name or pax extended header before it included),
    /// data and padding, exactly as in the archive.
    pub raw: &'a [u8],
}

/// Why an archive could not be read, and where.
#[derive(Debug, PartialEq, Eq)]
pub struct TarError {
    /// Offset of the header concerned, in bytes from the start of the archive.
    pub offset: usize,
    /// What is wrong with it.
    pub what: &'static str,
}

impl fmt::Display for TarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tar header at byte {}: {}", self.offset, self.what)
    }
}

/// The entries of the archive `bytes`, in order, up to its end, found as apk finds it
/// (apk-tools' `apk_tar_parse`): a block whose name starts with a NUL byte is a zero block, two
/// in a row end the archive, a lone one is passed over (and kept, byte for byte, with the entry
/// after it), and the end of the bytes at a block boundary ends it too. A truncated header or
/// entry, a header whose checksum or size field is wrong, or a long name or pax header with no
/// entry after it is an error naming its offset.
pub fn entries(bytes: &[u8]) -> Result<Vec<Entry<'_>>, TarError> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    let mut name: Option<Vec<u8>> = None;
    // A long name or pax header read, its entry not yet; zero blocks just read.
    let mut pending = false;
    let mut zeros = 0;
    loop {
        let fail = |what| Err(TarError { offset: pos, what });
        let Some(header) = bytes.get(pos..pos + BLOCK) else {
            if pos == bytes.len() && !pending {
                break;
            }
            return fail("truncated header");
        };
        if header[0] == 0 {
            if pending {
                return fail("long name with no entry after it");
            }
            zeros += 1;
            if zeros == 2 {
                break;
            }
            pos += BLOCK;
            continue;
        }
        zeros = 0;
        if !checksum_matches(header) {
            return fail("wrong header checksum");
        }
        let Some(size) = octal(&header[124..136]) else {
            return fail("size field not octal");
        };
        let data_start = pos + BLOCK;
        let padded = size.div_ceil(BLOCK) * BLOCK;
        let Some(data) = bytes.get(data_start..).and_then(|rest| rest.get(..padded)) else {
            return fail("entry larger than the rest of the archive");
        };
        let data = &data[..size];
        let end = data_start + padded;
        match header[156] {
            b'L' => {
                if size > META_LIMIT {
                    return fail("long name over the bytes read");
                }
                name = Some(until_nul(data).to_vec());
                pending = true;
            }
            // A pax extended header goes with the entry after it; its `path` is not read
            // (apk writes a long name as `L`).
            b'x' => pending = true,
            _ => {
                pending = false;
                let name = name.take().unwrap_or_else(|| header_name(header));
                out.push(Entry {
                    name,
                    raw: &bytes[start..end],
                });
                start = end;
            }
        }
        pos = end;
    }
    Ok(out)
}

/// Whether the header's checksum field matches its bytes: their unsigned sum, the field itself
/// counted as spaces (as apk writes it).
fn checksum_matches(header: &[u8]) -> bool {
    let field = 148..156;
    let sum = header
        .iter()
        .enumerate()
        .map(|(i, &b)| usize::from(if field.contains(&i) { b' ' } else { b }))
        .sum();
    octal(&header[field]) == Some(sum)
}

/// An octal field: optional leading spaces, octal digits, then NULs or spaces to its end.
/// `None` for anything else (a base-256 size included: no script is that large).
fn octal(field: &[u8]) -> Option<usize> {
    let digits = field.trim_ascii_start();
    let end = digits
        .iter()
        .position(|&b| b == 0 || b == b' ')
        .unwrap_or(digits.len());
    let (digits, tail) = digits.split_at(end);
    if digits.is_empty() || !tail.iter().all(|&b| b == 0 || b == b' ') {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| match d {
        b'0'..=b'7' => n.checked_mul(8)?.checked_add(usize::from(d - b'0')),
        _ => None,
    })
}

fn until_nul(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// The header's own name: `name`, after `prefix` and a `/` when there is a prefix (as apk
/// reads it).
fn header_name(header: &[u8]) -> Vec<u8> {
    let name = until_nul(&header[..100]);
    match until_nul(&header[345..500]) {
        [] => name.to_vec(),
        prefix => [prefix, b"/", name].concat(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header as apk writes it (`ustar  ` magic, root owner, mode 0755).
    pub(crate) fn header(kind: u8, name: &[u8], size: usize) -> [u8; BLOCK] {
        let mut h = [0u8; BLOCK];
        h[..name.len()].copy_from_slice(name);
        h[100..108].copy_from_slice(b"0000755\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        h[136..148].copy_from_slice(b"14631523463\0");
        h[156] = kind;
        h[257..265].copy_from_slice(b"ustar  \0");
        h[265..269].copy_from_slice(b"root");
        h[297..301].copy_from_slice(b"root");
        h[148..156].copy_from_slice(b"        ");
        let sum: usize = h.iter().map(|&b| usize::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    /// An entry as apk writes it: header, data, padding; a long name first when it needs one.
    pub(crate) fn entry(name: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut short = name;
        if name.len() > 99 {
            let long = [name, b"\0"].concat();
            out.extend_from_slice(&header(b'L', b"././@LongLink", long.len()));
            out.extend_from_slice(&long);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
            short = &name[..99];
        }
        out.extend_from_slice(&header(b'0', short, data.len()));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        out
    }

    fn names(bytes: &[u8]) -> Vec<Vec<u8>> {
        entries(bytes)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    #[test]
    fn entries_keep_their_raw_bytes_and_long_names() {
        let long = [&b"x".repeat(120)[..], b".post-install"].concat();
        let a = entry(b"a-1.Q1abc=.post-install", b"#!/bin/sh\necho a\n");
        let b = entry(&long, &[7u8; 1024]);
        let c = entry(b"c-1.Q1def=.trigger", b"");
        let archive = [&a[..], &b, &c, &END].concat();
        let got = entries(&archive).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].raw, &a[..]);
        assert_eq!((got[1].name.as_slice(), got[1].raw), (&long[..], &b[..]));
        assert_eq!(got[1].raw.len(), 3 * BLOCK + 1024);
        assert_eq!(got[2].name, b"c-1.Q1def=.trigger");
        // No end blocks (an archive cut right after an entry) reads the same.
        assert_eq!(names(&[&a[..], &c].concat()).len(), 2);
        assert!(entries(&[]).unwrap().is_empty());
        assert!(entries(&END).unwrap().is_empty());
    }

    #[test]
    fn a_posix_prefix_names_the_entry_and_a_pax_header_goes_with_the_next() {
        let mut h = header(b'0', b"name", 0);
        h[345..351].copy_from_slice(b"prefix");
        h[148..156].copy_from_slice(b"        ");
        let sum: usize = h.iter().map(|&b| usize::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        assert_eq!(names(&h), [b"prefix/name".to_vec()]);
        let pax = b"13 mtime=123\n21 path=from-pax.x.y\n";
        let mut x = header(b'x', b"PaxHeader", pax.len()).to_vec();
        x.extend_from_slice(pax);
        x.resize(BLOCK * 2, 0);
        let archive = [&x[..], &entry(b"short", b"data")].concat();
        assert_eq!(names(&archive), [b"short".to_vec()]);
        assert_eq!(entries(&archive).unwrap()[0].raw.len(), 4 * BLOCK);
    }

    #[test]
    fn malformed_archives_are_refused_with_the_offset() {
        let a = entry(b"a-1.Q1abc=.post-install", &[b'x'; 600]);
        let err = |bytes: &[u8]| entries(bytes).unwrap_err().to_string();
        assert_eq!(
            err(&a[..700]),
            "tar header at byte 0: entry larger than the rest of the archive"
        );
        assert_eq!(err(&a[..100]), "tar header at byte 0: truncated header");
        assert_eq!(
            err(&[&a[..], &a[..10]].concat()),
            "tar header at byte 1536: truncated header"
        );
        let mut bad = a.clone();
        bad[0] = b'b';
        assert_eq!(err(&bad), "tar header at byte 0: wrong header checksum");
        let mut huge = header(b'0', b"a", 0);
        huge[124] = 0x80;
        assert_eq!(err(&huge), "tar header at byte 0: wrong header checksum");
        let long = entry(&b"y".repeat(150), b"");
        assert_eq!(
            err(&[&long[..2 * BLOCK], &END].concat()),
            "tar header at byte 1024: long name with no entry after it"
        );
        assert_eq!(
            err(&long[..2 * BLOCK]),
            "tar header at byte 1024: truncated header"
        );
        let text = b"P:busybox\nV:1\n".repeat(100);
        assert!(entries(&text).is_err());
    }

    #[test]
    fn a_lone_zero_block_is_passed_over_as_apk_passes_it_and_kept_with_the_next_entry() {
        let (a, b) = (
            entry(b"a.Q1x.post-install", b"1"),
            entry(b"b.Q1y.trigger", b"2"),
        );
        let zero = [0u8; BLOCK];
        let archive = [&a[..], &zero, &b, &END].concat();
        let got = entries(&archive).unwrap();
        assert_eq!(
            names(&archive),
            [b"a.Q1x.post-install".to_vec(), b"b.Q1y.trigger".to_vec()]
        );
        assert_eq!(got[1].raw, [&zero[..], &b].concat(), "byte for byte");
        // Two in a row end it; the end of the bytes after a lone one too.
        assert_eq!(entries(&[&a[..], &END, &b].concat()).unwrap().len(), 1);
        assert_eq!(entries(&[&a[..], &zero].concat()).unwrap().len(), 1);
    }

    #[test]
    fn octal_fields() {
        assert_eq!(octal(b"0000755\0"), Some(0o755));
        assert_eq!(octal(b"   12 \0\0"), Some(0o12));
        assert_eq!(octal(b"00000000000\0"), Some(0));
        assert_eq!(octal(b"0009\0"), None);
        assert_eq!(octal(b"\0\0\0"), None);
        assert_eq!(octal(b"12 3"), None);
        assert_eq!(octal(&[0x80, 0, 0, 1]), None);
        assert_eq!(octal(b"77777777777777777777777777"), None);
    }
}
