//! What an ELF file needs to start: its machine and type, its `PT_INTERP` (the loader), the
//! `DT_NEEDED` sonames and the `DT_RPATH`/`DT_RUNPATH` search paths of its dynamic section, for
//! any of Alpine's architectures (32 or 64 bits, either byte order).
//!
//! Only the file header, the program headers, the interpreter's name, the dynamic section and
//! the names it points to in its string table are read, each at most [`MAX_PART`] bytes and
//! checked against the file's size before it is read; an offset or a size from the file is
//! never trusted. A file that is not ELF, or a
//! malformed one, needs nothing: the answer is an empty list, never a crash.

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;

/// The most bytes read of one part (program headers, dynamic section, string table).
pub const MAX_PART: u64 = 1 << 20;

/// The longest `PT_INTERP` read (the kernel's own limit is `PATH_MAX`).
const MAX_INTERP: u64 = 4096;

/// How much of a string table is read for one name at first: a soname or an rpath is shorter
/// nearly always; a longer one is read again, 16 times as much each time, up to the table's end.
const FIRST_STRING_READ: u64 = 256;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PT_NOTE: u32 = 4;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
const ET_EXEC: u64 = 2;
const ET_DYN: u64 = 3;

/// The sonames `file` (of `len` bytes) needs, in the order its dynamic section lists them.
pub fn needed(file: &File, len: u64) -> Vec<Vec<u8>> {
    object(file, len).map(|o| o.needed).unwrap_or_default()
}

/// Which machine an object is built for: word size, byte order and `e_machine`. Objects of
/// another machine cannot be loaded by this root's loader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Machine {
    /// 64-bit (`ELFCLASS64`).
    pub wide: bool,
    /// Big-endian (`ELFDATA2MSB`).
    pub big: bool,
    /// `e_machine` (62 x86_64, 183 aarch64, 21 ppc64, ...).
    pub id: u16,
}

/// What a loadable ELF object (an executable or a shared object) needs to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// The machine it is built for.
    pub machine: Machine,
    /// Its `PT_INTERP`: the loader the kernel starts it with; `None` for a shared library or
    /// a static executable.
    pub interp: Option<Vec<u8>>,
    /// Its `DT_NEEDED` sonames, in order.
    pub needed: Vec<Vec<u8>>,
    /// Its `DT_RPATH` and `DT_RUNPATH` strings, in order (musl treats both alike); each is a
    /// colon-separated list that may hold `$ORIGIN`.
    pub rpath: Vec<Vec<u8>>,
    /// Its `DT_RUNPATH` strings alone (also in `rpath`): glibc ignores an object's `DT_RPATH`
    /// when it has a `DT_RUNPATH`, and searches the latter after `LD_LIBRARY_PATH`.
    pub runpath: Vec<Vec<u8>>,
    /// The system it is marked for.
    pub os: Os,
}

/// The system an object is marked for: by `EI_OSABI`, and by the ABI notes other systems put
/// in a `PT_NOTE` segment (OpenBSD and Android leave `EI_OSABI` at 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    /// No other system's mark (`EI_OSABI` System V or GNU/Linux, no other system's note).
    Linux,
    /// Another system's: FreeBSD, NetBSD, OpenBSD, Solaris... (`EI_OSABI`), or a note owned
    /// by `OpenBSD`, `NetBSD`, `FreeBSD`, `Android`, `DragonFly`.
    Other,
}

/// The owners of the ABI notes of systems other than Linux (Android is Linux, but not a libc
/// this image has).
const OTHER_SYSTEMS: [&[u8]; 5] = [b"OpenBSD", b"NetBSD", b"FreeBSD", b"Android", b"DragonFly"];

/// The most bytes of notes read.
const MAX_NOTES: u64 = 4096;
/// The machine of `file` (of `len` bytes), when it is an ELF file; only its header is read.
pub fn machine(file: &File, len: u64) -> Option<Machine> {
    let elf = Elf::open(file, len)?;
    Some(elf.machine())
}

/// What the executable or shared object `file` (of `len` bytes) needs; `None` when it is not
/// ELF, not an executable or shared object (`ET_EXEC`, `ET_DYN`), or malformed.
pub fn object(file: &File, len: u64) -> Option<Object> {
    Elf::open(file, len)?.object()
}

/// Where `file` (of `len` bytes) keeps its constant data: the file ranges (offset, size) of its
/// read-only data sections (allocated `SHT_PROGBITS`, neither writable nor executable:
/// `.rodata` and the like), each inside the file. `None` when it is not ELF, or has no section
/// table or no such section (a caller then looks at the whole file).
pub fn read_only_data(file: &File, len: u64) -> Option<Vec<(u64, u64)>> {
    Elf::open(file, len).and_then(|elf| elf.read_only_data())
}

/// Whether a file name is a shared object's (`libz.so`, `libz.so.1.3`, `sharp.node`): such
/// files are checked even when they are not executable (the start check's rule).
pub fn is_shared_object_name(name: &OsStr) -> bool {
    let name = name.as_bytes();
    name.ends_with(b".so") || name.ends_with(b".node") || name.windows(4).any(|w| w == b".so.")
}

/// An ELF file's layout: word size and byte order.
struct Elf<'a> {
    file: &'a File,
    len: u64,
    wide: bool,
    big: bool,
    header: Vec<u8>,
}

/// What the program headers say: (virtual address, file offset, size in the file) of each
/// loaded segment, and (file offset, size) of the dynamic section and of the interpreter's name.
struct Segments {
    loads: Vec<(u64, u64, u64)>,
    dynamic: Option<(u64, u64)>,
    interp: Option<(u64, u64)>,
    /// The `PT_NOTE` segments (offset, size in the file).
    notes: Vec<(u64, u64)>,
}

/// What the dynamic section says: the string table offsets of the `DT_NEEDED` names and of the
/// `DT_RPATH`/`DT_RUNPATH` strings, and where the string table is (`DT_STRTAB`, `DT_STRSZ`).
struct Dynamic {
    needed: Vec<u64>,
    paths: Vec<u64>,
    /// The `DT_RUNPATH` ones of `paths`.
    runpaths: Vec<u64>,
    strtab: Option<u64>,
    strsz: Option<u64>,
}

impl<'a> Elf<'a> {
    fn open(file: &'a File, len: u64) -> Option<Self> {
        let mut elf = Elf {
            file,
            len,
            wide: false,
            big: false,
            header: Vec::new(),
        };
        let ident = elf.read(0, 16)?;
        if ident.get(..4)? != b"\x7fELF" {
            return None;
        }
        elf.wide = match ident[4] {
            1 => false,
            2 => true,
            _ => return None,
        };
        elf.big = match ident[5] {
            1 => false,
            2 => true,
            _ => return None,
        };
        elf.header = elf.read(0, if elf.wide { 64 } else { 52 })?;
        Some(elf)
    }

    /// `n` bytes at `offset`, when they lie inside the file and `n` is within [`MAX_PART`].
    fn read(&self, offset: u64, n: u64) -> Option<Vec<u8>> {
        if n > MAX_PART || offset.checked_add(n)? > self.len {
            return None;
        }
        let mut buf = vec![0u8; usize::try_from(n).ok()?];
        self.file.read_exact_at(&mut buf, offset).ok()?;
        Some(buf)
    }

    /// An unsigned field of `size` bytes (2, 4 or 8) at `at` in `b`, in the file's byte order.
    fn field(&self, b: &[u8], at: usize, size: usize) -> Option<u64> {
        let bytes = b.get(at..at.checked_add(size)?)?;
        let mut v = 0u64;
        for i in 0..size {
            let byte = if self.big {
                bytes[i]
            } else {
                bytes[size - 1 - i]
            };
            v = (v << 8) | u64::from(byte);
        }
        Some(v)
    }

    /// A word-sized field: 8 bytes in a 64-bit file, 4 in a 32-bit one.
    fn word(&self, b: &[u8], at64: usize, at32: usize) -> Option<u64> {
        if self.wide {
            self.field(b, at64, 8)
        } else {
            self.field(b, at32, 4)
        }
    }

    fn machine(&self) -> Machine {
        Machine {
            wide: self.wide,
            big: self.big,
            id: self
                .field(&self.header, 18, 2)
                .and_then(|m| u16::try_from(m).ok())
                .unwrap_or(0),
        }
    }

    fn object(&self) -> Option<Object> {
        match self.field(&self.header, 16, 2)? {
            ET_EXEC | ET_DYN => {}
            _ => return None,
        }
        let segments = self.segments()?;
        let mut object = Object {
            machine: self.machine(),
            interp: None,
            needed: Vec::new(),
            rpath: Vec::new(),
            runpath: Vec::new(),
            os: self.os(&segments.notes),
        };
        if let Some((offset, size)) = segments.interp {
            let name = self.read(offset, size.min(MAX_INTERP))?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            object.interp = Some(name[..end].to_vec());
        }
        let Some((offset, size)) = segments.dynamic else {
            return Some(object);
        };
        let dynamic = self.dynamic(offset, size)?;
        if dynamic.needed.is_empty() && dynamic.paths.is_empty() {
            return Some(object);
        }
        let table = self.string_table(&segments.loads, dynamic.strtab?, dynamic.strsz?)?;
        object.needed = self.strings_at(table, &dynamic.needed);
        object.rpath = self.strings_at(table, &dynamic.paths);
        object.runpath = self.strings_at(table, &dynamic.runpaths);
        Some(object)
    }

    /// The program headers' answer: the loaded segments, the dynamic section, the interpreter.
    fn segments(&self) -> Option<Segments> {
        let h = &self.header;
        let phoff = self.word(h, 32, 28)?;
        let (entsize, count) = if self.wide {
            (self.field(h, 54, 2)?, self.field(h, 56, 2)?)
        } else {
            (self.field(h, 42, 2)?, self.field(h, 44, 2)?)
        };
        if entsize < if self.wide { 56 } else { 32 } {
            return None;
        }
        let table = self.read(phoff, entsize.checked_mul(count)?)?;
        let mut segments = Segments {
            loads: Vec::new(),
            dynamic: None,
            interp: None,
            notes: Vec::new(),
        };
        for ph in table.chunks_exact(usize::try_from(entsize).ok()?) {
            let kind = self.field(ph, 0, 4)?;
            let offset = self.word(ph, 8, 4)?;
            let vaddr = self.word(ph, 16, 8)?;
            let filesz = self.word(ph, 32, 16)?;
            match u32::try_from(kind).ok()? {
                PT_LOAD => segments.loads.push((vaddr, offset, filesz)),
                PT_DYNAMIC => segments.dynamic = Some((offset, filesz)),
                PT_INTERP => segments.interp = Some((offset, filesz)),
                PT_NOTE => segments.notes.push((offset, filesz)),
                _ => {}
            }
        }
        Some(segments)
    }

    /// The entries of the dynamic section (`size` bytes at `offset`) this reader uses, up to
    /// `DT_NULL`.
    fn dynamic(&self, offset: u64, size: u64) -> Option<Dynamic> {
        let entries = self.read(offset, size)?;
        let step = if self.wide { 16 } else { 8 };
        let mut d = Dynamic {
            needed: Vec::new(),
            paths: Vec::new(),
            runpaths: Vec::new(),
            strtab: None,
            strsz: None,
        };
        for e in entries.chunks_exact(step) {
            let tag = self.word(e, 0, 0)?;
            let val = self.word(e, 8, 4)?;
            match tag {
                DT_NULL => break,
                DT_NEEDED => d.needed.push(val),
                DT_RPATH => d.paths.push(val),
                DT_RUNPATH => {
                    d.paths.push(val);
                    d.runpaths.push(val);
                }
                DT_STRTAB => d.strtab = Some(val),
                DT_STRSZ => d.strsz = Some(val),
                _ => {}
            }
        }
        Some(d)
    }

    /// The dynamic string table at the virtual address `addr` (`DT_STRTAB`), `strsz` bytes
    /// (`DT_STRSZ`) at most, found in the file through the loaded segment that holds it and
    /// kept inside both that segment and the file.
    fn string_table(&self, loads: &[(u64, u64, u64)], addr: u64, strsz: u64) -> Option<Table> {
        let &(vaddr, file_off, filesz) =
            loads.iter().find(|&&(v, _, n)| addr >= v && addr - v < n)?;
        let start = file_off.checked_add(addr - vaddr)?;
        let table = Table {
            start,
            size: strsz.min(filesz - (addr - vaddr)),
        };
        if table.size > MAX_PART || start.checked_add(table.size)? > self.len {
            return None;
        }
        Some(table)
    }

    /// The system the object is marked for: its `EI_OSABI` (0 System V, 3 GNU/Linux are
    /// Linux's), then the owners of the notes in the `PT_NOTE` segments at `notes` (offset,
    /// size), each read up to [`MAX_NOTES`] bytes.
    fn os(&self, notes: &[(u64, u64)]) -> Os {
        if !matches!(self.header.get(7), Some(0 | 3)) {
            return Os::Other;
        }
        for &(offset, size) in notes {
            let Some(bytes) = self.read(offset, size.min(MAX_NOTES)) else {
                continue;
            };
            let mut at = 0usize;
            while let (Some(namesz), Some(descsz)) = (
                self.field(&bytes, at, 4),
                self.field(&bytes, at.saturating_add(4), 4),
            ) {
                let (Ok(namesz), Ok(descsz)) = (usize::try_from(namesz), usize::try_from(descsz))
                else {
                    break;
                };
                let name = at
                    .checked_add(12)
                    .and_then(|from| bytes.get(from..from.checked_add(namesz)?));
                let Some(name) = name else {
                    break;
                };
                let owner = name.split(|&b| b == 0).next().unwrap_or_default();
                if OTHER_SYSTEMS.contains(&owner) {
                    return Os::Other;
                }
                let next = namesz
                    .checked_next_multiple_of(4)
                    .zip(descsz.checked_next_multiple_of(4))
                    .and_then(|(n, d)| n.checked_add(d)?.checked_add(12)?.checked_add(at));
                match next {
                    Some(n) => at = n,
                    None => break,
                }
            }
        }
        Os::Linux
    }

    /// The NUL-terminated strings of the string table `table` at each of `offsets`, in order;
    /// an offset outside the table or a string without its NUL is passed over. Each string is
    /// read on its own, [`FIRST_STRING_READ`] bytes first, not the whole table: a library's
    /// table holds every symbol name (libcrypto's, 70 KB) around the few names needed here.
    fn strings_at(&self, table: Table, offsets: &[u64]) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(offsets.len());
        for &at in offsets {
            let Some(left) = table.size.checked_sub(at).filter(|&n| n > 0) else {
                continue;
            };
            let mut want = FIRST_STRING_READ;
            loop {
                let n = want.min(left);
                let Some(mut bytes) = self.read(table.start + at, n) else {
                    break;
                };
                if let Some(end) = bytes.iter().position(|&b| b == 0) {
                    bytes.truncate(end);
                    out.push(bytes);
                    break;
                }
                if n == left {
                    break;
                }
                want *= 16;
            }
        }
        out
    }

    fn read_only_data(&self) -> Option<Vec<(u64, u64)>> {
        const SHT_PROGBITS: u64 = 1;
        const SHF_WRITE: u64 = 1;
        const SHF_ALLOC: u64 = 2;
        const SHF_EXECINSTR: u64 = 4;
        let h = &self.header;
        let shoff = self.word(h, 0x28, 0x20)?;
        let (entsize, count) = if self.wide {
            (self.field(h, 0x3a, 2)?, self.field(h, 0x3c, 2)?)
        } else {
            (self.field(h, 0x2e, 2)?, self.field(h, 0x30, 2)?)
        };
        if shoff == 0 || entsize < if self.wide { 64 } else { 40 } {
            return None;
        }
        let table = self.read(shoff, entsize.checked_mul(count)?)?;
        let mut out = Vec::new();
        for sh in table.chunks_exact(usize::try_from(entsize).ok()?) {
            let kind = self.field(sh, 4, 4)?;
            let flags = self.word(sh, 8, 8)?;
            let offset = self.word(sh, 0x18, 0x10)?;
            let size = self.word(sh, 0x20, 0x14)?;
            let data = kind == SHT_PROGBITS
                && flags & SHF_ALLOC != 0
                && flags & (SHF_WRITE | SHF_EXECINSTR) == 0;
            if data && size > 0 && offset.checked_add(size)? <= self.len {
                out.push((offset, size));
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// Where a string table lies in the file: its offset and size in bytes (checked against the
/// file and [`MAX_PART`]).
#[derive(Clone, Copy)]
struct Table {
    start: u64,
    size: u64,
}

/// Small made-up ELF files for the tests of this crate.
#[cfg(test)]
pub mod fake {
    /// A 64-bit little-endian ELF object of `machine` (62 is x86_64): `ET_DYN`, one PT_LOAD
    /// over the whole file, a PT_INTERP when `interp` is given, a PT_DYNAMIC with a DT_NEEDED
    /// for each of `needed` and a DT_RUNPATH when `rpath` is given.
    pub fn object(
        machine: u16,
        interp: Option<&str>,
        needed: &[&str],
        rpath: Option<&str>,
    ) -> Vec<u8> {
        let mut b = vec![0u8; 0x300];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        let put = |b: &mut Vec<u8>, at: usize, v: u64, n: usize| {
            b[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
        };
        put(&mut b, 16, 3, 2); // e_type ET_DYN
        put(&mut b, 18, u64::from(machine), 2);
        put(&mut b, 32, 64, 8); // e_phoff
        put(&mut b, 54, 56, 2); // e_phentsize
        put(&mut b, 56, 3, 2); // e_phnum
        // Strings at 0x300, to the end of the file (0x400 bytes or more): the interpreter's,
        // then the dynamic ones.
        let mut strings = vec![0u8];
        let mut add = |s: &str| {
            let at = strings.len() as u64;
            strings.extend_from_slice(s.as_bytes());
            strings.push(0);
            at
        };
        let mut dynamic: Vec<(u64, u64)> = needed.iter().map(|n| (1, add(n))).collect();
        if let Some(r) = rpath {
            dynamic.push((29, add(r)));
        }
        let interp_at = interp.map(&mut add);
        dynamic.push((5, 0x1300));
        dynamic.push((10, strings.len() as u64));
        dynamic.push((0, 0));
        b.extend_from_slice(&strings);
        b.resize(b.len().max(0x400), 0);
        // PT_LOAD at vaddr 0x1000, offset 0, the whole file.
        put(&mut b, 64, 1, 4);
        put(&mut b, 64 + 16, 0x1000, 8);
        let size = b.len() as u64;
        put(&mut b, 64 + 32, size, 8);
        // PT_DYNAMIC at offset 0x100.
        put(&mut b, 120, 2, 4);
        put(&mut b, 120 + 8, 0x100, 8);
        put(&mut b, 120 + 16, 0x1100, 8);
        put(&mut b, 120 + 32, dynamic.len() as u64 * 16, 8);
        for (i, (tag, val)) in dynamic.iter().enumerate() {
            put(&mut b, 0x100 + i * 16, *tag, 8);
            put(&mut b, 0x100 + i * 16 + 8, *val, 8);
        }
        // PT_INTERP, or a PT_NULL entry.
        if let (Some(at), Some(i)) = (interp_at, interp) {
            put(&mut b, 176, 3, 4);
            put(&mut b, 176 + 8, 0x300 + at, 8);
            put(&mut b, 176 + 32, i.len() as u64 + 1, 8);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn read_only_data_is_found_in_a_real_program_and_not_in_a_file_without_sections() {
        let me = File::open(std::env::current_exe().unwrap()).unwrap();
        let len = me.metadata().unwrap().len();
        let ranges = read_only_data(&me, len).unwrap();
        assert!(ranges.iter().all(|&(at, n)| n > 0 && at + n <= len));
        let total: u64 = ranges.iter().map(|r| r.1).sum();
        assert!(total < len, "{total} of {len}");
        let (f, n) = file_of(&tiny_elf64());
        assert_eq!(read_only_data(f.as_file(), n), None);
        let (f, n) = file_of(b"#!/bin/sh\n");
        assert_eq!(read_only_data(f.as_file(), n), None);
    }

    #[test]
    fn another_systems_mark_is_seen_in_ei_osabi_and_in_a_note() {
        let linux = fake::object(62, None, &["libc.musl-x86_64.so.1"], None);
        let (f, n) = file_of(&linux);
        assert_eq!(object(f.as_file(), n).unwrap().os, Os::Linux);
        let mut freebsd = linux.clone();
        freebsd[7] = 9;
        let (f, n) = file_of(&freebsd);
        assert_eq!(object(f.as_file(), n).unwrap().os, Os::Other);
        // OpenBSD leaves EI_OSABI at 0 and says so in a note: a PT_NOTE in the third program
        // header (the fake's PT_NULL slot), over an "OpenBSD" note at 0x280.
        let mut openbsd = linux.clone();
        let put = |b: &mut Vec<u8>, at: usize, v: u64, n: usize| {
            b[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
        };
        put(&mut openbsd, 176, 4, 4);
        put(&mut openbsd, 176 + 8, 0x280, 8);
        put(&mut openbsd, 176 + 32, 24, 8);
        put(&mut openbsd, 0x280, 8, 4);
        put(&mut openbsd, 0x284, 4, 4);
        put(&mut openbsd, 0x288, 1, 4);
        openbsd[0x28c..0x294].copy_from_slice(b"OpenBSD\0");
        let (f, n) = file_of(&openbsd);
        assert_eq!(object(f.as_file(), n).unwrap().os, Os::Other);
        // A GNU note is Linux's.
        openbsd[0x28c..0x294].copy_from_slice(b"GNU\0\0\0\0\0");
        let (f, n) = file_of(&openbsd);
        assert_eq!(object(f.as_file(), n).unwrap().os, Os::Linux);
    }

    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, u64) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        (f, bytes.len() as u64)
    }

    /// A minimal 64-bit little-endian ELF with two DT_NEEDED.
    fn tiny_elf64() -> Vec<u8> {
        fake::object(62, None, &["libssl.so", "libc.so.1"], None)
    }

    #[test]
    fn needed_sonames_of_a_made_up_elf() {
        let (f, len) = file_of(&tiny_elf64());
        assert_eq!(
            needed(f.as_file(), len),
            [b"libssl.so".to_vec(), b"libc.so.1".to_vec()]
        );
    }

    #[test]
    fn each_name_is_read_whole_however_long_and_only_inside_its_table() {
        let long = format!("/opt/{}", "a".repeat(5000));
        let elf = fake::object(62, None, &["libz.so.1", "libc.so"], Some(&long));
        let (f, len) = file_of(&elf);
        let o = object(f.as_file(), len).unwrap();
        assert_eq!(o.needed, [b"libz.so.1".to_vec(), b"libc.so".to_vec()]);
        assert_eq!(o.rpath, [long.as_bytes().to_vec()]);
        // DT_STRSZ (the dynamic section's fifth entry) cut short inside "libc.so": that name
        // has no NUL in its table and the rpath lies past it; both are passed over.
        let mut cut = elf.clone();
        let at = 0x100 + 4 * 16;
        assert_eq!(cut[at], 10, "DT_STRSZ");
        cut[at + 8..at + 16].copy_from_slice(&14u64.to_le_bytes());
        let (f, len) = file_of(&cut);
        let o = object(f.as_file(), len).unwrap();
        assert_eq!((o.needed, o.rpath), (vec![b"libz.so.1".to_vec()], vec![]));
    }

    #[test]
    fn corrupt_files_need_nothing_and_never_crash() {
        let good = tiny_elf64();
        let mut cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"#!/bin/sh\n".to_vec(),
            good[..40].to_vec(),
            good[..0x110].to_vec(),
        ];
        // Every header byte flipped, one at a time; offsets pointing past the end or wrapping.
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0xff;
            cases.push(bad);
        }
        let mut huge = good.clone();
        huge[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        cases.push(huge);
        for bytes in &cases {
            let (f, len) = file_of(bytes);
            let got = needed(f.as_file(), len);
            assert!(got.len() <= 2, "{got:?}");
        }
        // A length larger than the file: reads past the end fail, nothing is made up.
        let (f, _) = file_of(&good[..0x150]);
        assert!(needed(f.as_file(), 1 << 40).is_empty());
    }

    #[test]
    fn interpreter_machine_and_rpath_are_read() {
        let bytes = fake::object(
            183,
            Some("/lib/ld-musl-aarch64.so.1"),
            &["libvips-cpp.so.42", "libc.musl-aarch64.so.1"],
            Some("$ORIGIN/../lib:/opt/x"),
        );
        let (f, len) = file_of(&bytes);
        let o = object(f.as_file(), len).unwrap();
        assert_eq!(
            o.machine,
            Machine {
                wide: true,
                big: false,
                id: 183
            }
        );
        assert_eq!(o.interp.as_deref(), Some(&b"/lib/ld-musl-aarch64.so.1"[..]));
        assert_eq!(
            o.needed,
            [
                b"libvips-cpp.so.42".to_vec(),
                b"libc.musl-aarch64.so.1".to_vec()
            ]
        );
        assert_eq!(o.rpath, [b"$ORIGIN/../lib:/opt/x".to_vec()]);
        // The fake's is a DT_RUNPATH: glibc tells it from a DT_RPATH.
        assert_eq!(o.runpath, o.rpath);
        assert_eq!(machine(f.as_file(), len), Some(o.machine));
        // A relocatable object (ET_REL) is no program.
        let mut rel = bytes.clone();
        rel[16] = 1;
        let (f, len) = file_of(&rel);
        assert_eq!(object(f.as_file(), len), None);
        // Every byte flipped, one at a time: an answer or none, never a crash.
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0xff;
            let (f, len) = file_of(&bad);
            let _ = object(f.as_file(), len);
        }
    }
}
