//! apk's scripts archive, beside the installed database: `scripts.tar` (apk 2, and apk 3 where
//! it exists) or `scripts.tar.gz` (apk 3). Each entry is one script of one installed package,
//! named `NAME-VERSION.CHECKSUM.ACTION`: the checksum is the package's (`C:`), as `Q1` + base64
//! (apk 2) or `X1` + hex (apk 3). apk rebuilds the archive from the installed packages, so
//! `apk del` leaves out the removed package's entries, and those of any package no longer
//! installed; here they leave it and every other entry stays byte for byte, in order, in the
//! same file with the same compression.

use super::checksum;
use crate::format::{gzip, tar};

/// The archive's names, in the installed database's folder, and how each is compressed.
pub const FILES: [(&str, Packing); 2] = [
    ("scripts.tar", Packing::Tar),
    ("scripts.tar.gz", Packing::Gzip),
];
/// The most bytes read of an archive file, and of the tar inside a gzipped one.
pub const LIMIT: u64 = 64 << 20;
/// The same, as a length in memory.
const LIMIT_BYTES: usize = LIMIT as usize;

/// How an archive file holds its tar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    /// The tar itself.
    Tar,
    /// The tar, gzipped (as apk 3 writes it: best compression, no name, time 0).
    Gzip,
}

/// The archive file `bytes` without the entries whose package checksum bytes `goes` says
/// leave (an entry whose name holds no checksum stays), packed as it was; `None` when no entry
/// goes. An archive that cannot be read (bad gzip, a malformed tar, a tar over [`LIMIT`]) is an
/// error saying why.
pub fn without(
    bytes: &[u8],
    packing: Packing,
    goes: impl Fn(&[u8]) -> bool,
) -> Result<Option<Vec<u8>>, String> {
    let unpacked;
    let tar_bytes = match packing {
        Packing::Tar => bytes,
        Packing::Gzip => {
            unpacked = gzip::decode(bytes, LIMIT_BYTES).map_err(str::to_string)?;
            &unpacked[..]
        }
    };
    let entries = tar::entries(tar_bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(tar_bytes.len());
    let mut changed = false;
    for entry in &entries {
        let package = package_checksum(&entry.name).and_then(checksum::decode);
        if package.is_some_and(|sum| goes(&sum)) {
            changed = true;
        } else {
            out.extend_from_slice(entry.raw);
        }
    }
    if !changed {
        return Ok(None);
    }
    out.extend_from_slice(&tar::END);
    match packing {
        Packing::Tar => Ok(Some(out)),
        Packing::Gzip => Ok(Some(gzip::encode(&out))),
    }
}

/// The checksum part of an entry's name: between the last two dots.
fn package_checksum(name: &[u8]) -> Option<&[u8]> {
    let mut parts = name.rsplitn(3, |&b| b == b'.');
    let _action = parts.next()?;
    let sum = parts.next()?;
    parts.next().map(|_package| sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tar::tests::entry;

    const BUSYBOX: &[u8] = b"Q1yY8lhMF1VhgegJgkcXfqaNabDJw=";

    fn archive(entries: &[&[u8]]) -> Vec<u8> {
        [&entries.concat()[..], &tar::END].concat()
    }

    fn names(tar: &[u8]) -> Vec<String> {
        tar::entries(tar)
            .unwrap()
            .iter()
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect()
    }

    #[test]
    fn a_dropped_packages_entries_go_and_the_others_stay_byte_for_byte() {
        let busybox = checksum::decode(BUSYBOX).unwrap();
        let bb1 = entry(
            b"busybox-1.36.1-r29.Q1yY8lhMF1VhgegJgkcXfqaNabDJw=.post-install",
            b"#!/bin/busybox sh\n",
        );
        let bb2 = entry(
            b"busybox-1.36.1-r29.Q1yY8lhMF1VhgegJgkcXfqaNabDJw=.trigger",
            &[b'x'; 546],
        );
        let base = entry(
            b"alpine-baselayout-3.6.5-r0.Q1qKcZ+j23xssAXmgQhkOO8dHnbWw=.pre-install",
            b"#!/bin/sh\n",
        );
        let odd = entry(b"no-checksum-here", b"kept");
        let tar = archive(&[&bb1, &base, &bb2, &odd]);
        let new = without(&tar, Packing::Tar, |s| s == busybox)
            .unwrap()
            .unwrap();
        assert_eq!(new, archive(&[&base, &odd]));
        assert_eq!(
            names(&new),
            [
                "alpine-baselayout-3.6.5-r0.Q1qKcZ+j23xssAXmgQhkOO8dHnbWw=.pre-install",
                "no-checksum-here"
            ]
        );
        // A package with no entry changes nothing.
        let other = checksum::decode(b"Q1m/BhjWxfpo4D5cK7R9F5Mg91dro=").unwrap();
        assert_eq!(without(&tar, Packing::Tar, |s| s == other).unwrap(), None);
        // The last package's entries going leaves the end blocks, as apk writes an empty one.
        let only = archive(&[&bb1]);
        assert_eq!(
            without(&only, Packing::Tar, |s| s == busybox)
                .unwrap()
                .unwrap(),
            tar::END
        );
    }

    #[test]
    fn apk_3_names_by_hex_and_long_names_go_whole() {
        let busybox = checksum::decode(b"Q18TR4AbuWsapA0X+CI3w/T/AqRyU=").unwrap();
        let long = [
            &b"p".repeat(80)[..],
            b"-1.0-r0.X1f1347801bb96b1aa40d17f82237c3f4ff02a4725.post-upgrade",
        ]
        .concat();
        let gone = entry(&long, b"#!/bin/sh\n");
        let stay = entry(
            b"alpine-baselayout-3.7.1-r8.X19a137c3c8e738bcabac13326c9fc5472fa58aaf4.pre-install",
            b"x",
        );
        let tar = archive(&[&gone, &stay]);
        assert!(gone.len() > 2 * tar::BLOCK, "a long name entry");
        let gz = gzip::encode(&tar);
        let new = without(&gz, Packing::Gzip, |s| s == busybox)
            .unwrap()
            .unwrap();
        assert_eq!(
            &new[..10],
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03",
            "apk's gzip header"
        );
        assert_eq!(gzip::decode(&new, LIMIT_BYTES).unwrap(), archive(&[&stay]));
    }

    #[test]
    fn an_archive_that_cannot_be_read_is_refused() {
        let busybox = checksum::decode(BUSYBOX).unwrap();
        let tar = archive(&[&entry(
            b"busybox-1.Q1yY8lhMF1VhgegJgkcXfqaNabDJw=.trigger",
            b"x",
        )]);
        let err = |bytes: &[u8], packing| without(bytes, packing, |s| s == busybox).unwrap_err();
        assert_eq!(
            err(&tar[..600], Packing::Tar),
            "tar header at byte 0: entry larger than the rest of the archive"
        );
        let gz = gzip::encode(&tar);
        assert_eq!(
            err(&gz[..gz.len() - 4], Packing::Gzip),
            "deflate stream cut short or corrupt"
        );
        assert_eq!(err(&tar, Packing::Gzip), "not a gzip member");
        let mut flipped = gz.clone();
        let last = flipped.len() - 6;
        flipped[last] ^= 1;
        assert_eq!(
            err(&flipped, Packing::Gzip),
            "gzip trailer does not match its contents"
        );
        assert!(err(&gzip::encode(&tar[..600]), Packing::Gzip).starts_with("tar header at byte 0"));
    }
}
