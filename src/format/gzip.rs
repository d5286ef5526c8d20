//! One gzip member (RFC 1952) around raw deflate: what apk 3 writes its scripts archive as
//! (`scripts.tar.gz`). Read with miniz_oxide's inflate, bounded: the output stops at a limit,
//! and the CRC-32 and length in the trailer must match what came out. Written with apk's
//! header and the data in stored deflate blocks: every gzip reader (apk's zlib included) reads
//! them, and miniz_oxide's compressor costs the binary about 10 KB (ppc64le's would then be
//! over its budget) for the few kilobytes of scripts that stay after a strip.

use miniz_oxide::inflate;

const MAGIC: [u8; 3] = [0x1f, 0x8b, 8];
/// The header apk's zlib writes: deflate, no flags, time 0, best compression, Unix.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3];
/// The flags that add optional fields to a header.
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

/// The bytes inside the gzip member `bytes`, at most `limit` of them; why not, when the
/// header, the deflate stream or the trailer is wrong, or the output exceeds `limit`.
pub fn decode(bytes: &[u8], limit: usize) -> Result<Vec<u8>, &'static str> {
    let body = body(bytes).ok_or("not a gzip member")?;
    let (deflated, trailer) = body
        .split_last_chunk::<8>()
        .ok_or("gzip member without its trailer")?;
    let out =
        inflate::decompress_to_vec_with_limit(deflated, limit).map_err(|e| match e.status {
            inflate::TINFLStatus::HasMoreOutput => "holds more than the bytes read",
            _ => "deflate stream cut short or corrupt",
        })?;
    let (crc, size) = trailer.split_at(4);
    if crc != crc32(&out).to_le_bytes() || size != (out.len() as u32).to_le_bytes() {
        return Err("gzip trailer does not match its contents");
    }
    Ok(out)
}

/// The most bytes in a stored deflate block.
const STORED_MAX: usize = 0xffff;

/// `bytes` as one gzip member with apk's header, in stored deflate blocks.
pub fn encode(bytes: &[u8]) -> Vec<u8> {
    let blocks = bytes.len().div_ceil(STORED_MAX).max(1);
    let mut out = Vec::with_capacity(HEADER.len() + bytes.len() + 5 * blocks + 8);
    out.extend_from_slice(&HEADER);
    for i in 0..blocks {
        let chunk = &bytes[i * STORED_MAX..bytes.len().min((i + 1) * STORED_MAX)];
        // BFINAL on the last block, BTYPE 00 (stored), then LEN and its complement.
        out.push(u8::from(i + 1 == blocks));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(bytes).to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

/// What follows the header (its optional fields skipped); `None` when it is not gzip's.
fn body(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.get(..3)? != MAGIC {
        return None;
    }
    let flags = *bytes.get(3)?;
    let mut rest = bytes.get(10..)?;
    if flags & FEXTRA != 0 {
        let len = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
        rest = rest.get(2 + len..)?;
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            rest = rest.get(rest.iter().position(|&b| b == 0)? + 1..)?;
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..)?;
    }
    Some(rest)
}

/// CRC-32 (IEEE, reflected), a byte at a time from a table made at compile time.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc = (crc >> 8) ^ CRC_TABLE[usize::from((crc as u8) ^ b)];
    }
    !crc
}

/// The CRC-32 of each byte value, for [`crc32`].
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_round_trips_with_apks_header() {
        for len in [
            0,
            1,
            STORED_MAX - 1,
            STORED_MAX,
            STORED_MAX + 1,
            3 * STORED_MAX + 7,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let gz = encode(&data);
            assert_eq!(gz[..10], HEADER);
            assert_eq!(gz.len(), 18 + len + 5 * len.div_ceil(STORED_MAX).max(1));
            assert_eq!(decode(&gz, len).unwrap(), data, "{len} bytes");
        }
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    /// What gzip(1) makes of it, and what it makes: both ways agree.
    #[test]
    fn gzip_1_reads_what_is_written_and_what_it_writes_is_read() {
        let t = tempfile::tempdir().unwrap();
        let data = b"#!/bin/sh\necho hello\n".repeat(5000);
        let ours = t.path().join("ours.gz");
        std::fs::write(&ours, encode(&data)).unwrap();
        let out = std::process::Command::new("gzip")
            .arg("-dc")
            .arg(&ours)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, data);

        let theirs = t.path().join("theirs");
        std::fs::write(&theirs, &data).unwrap();
        let st = std::process::Command::new("gzip")
            .args(["-9", "-n"])
            .arg(&theirs)
            .status()
            .unwrap();
        assert!(st.success());
        let gz = std::fs::read(t.path().join("theirs.gz")).unwrap();
        assert!(gz.len() < data.len() / 100);
        assert_eq!(decode(&gz, data.len()).unwrap(), data);
    }

    #[test]
    fn optional_header_fields_are_skipped() {
        let gz = encode(b"data");
        let mut named = gz[..10].to_vec();
        named[3] = FEXTRA | FNAME | FCOMMENT | FHCRC;
        named.extend_from_slice(&[2, 0, b'x', b'y']);
        named.extend_from_slice(b"scripts.tar\0a comment\0");
        named.extend_from_slice(&[0, 0]);
        named.extend_from_slice(&gz[10..]);
        assert_eq!(decode(&named, 4).unwrap(), b"data");
    }

    #[test]
    fn a_wrong_or_oversized_member_is_refused() {
        let bomb = [
            &HEADER[..],
            &miniz_oxide::deflate::compress_to_vec(&vec![0u8; 1 << 20], 9),
            &[0; 8],
        ]
        .concat();
        assert!(bomb.len() < 2048);
        assert_eq!(
            decode(&bomb, (1 << 20) - 1),
            Err("holds more than the bytes read")
        );
        let gz = encode(&vec![0u8; 1 << 20]);
        assert_eq!(decode(b"P:busybox\n", 10), Err("not a gzip member"));
        assert_eq!(
            decode(&gz[..12], 1 << 20),
            Err("gzip member without its trailer")
        );
        assert_eq!(
            decode(&gz[..gz.len() - 20], 1 << 20),
            Err("deflate stream cut short or corrupt")
        );
        let mut flipped = gz.clone();
        let at = flipped.len() - 6;
        flipped[at] ^= 1;
        assert_eq!(
            decode(&flipped, 1 << 20),
            Err("gzip trailer does not match its contents")
        );
    }
}
