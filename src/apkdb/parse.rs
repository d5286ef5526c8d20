//! Parser and writer for apk's installed database (`/lib/apk/db/installed`).
//!
//! The file is a list of records separated by empty lines; every line of a record is `X:value`
//! with a one-letter key. `F:` names a folder (relative to the root) and each `R:` after it a file
//! in that folder. A record keeps its raw bytes (its lines and the empty lines after it), so the
//! records we keep are written back byte for byte, unknown keys included, and parsing then
//! writing any valid database gives back the same bytes.

use std::fmt;

/// A database, borrowed from the file's bytes.
#[derive(Debug)]
pub struct Database<'a> {
    /// Empty lines before the first record.
    pub preamble: &'a [u8],
    /// The records, in file order.
    pub records: Vec<Record<'a>>,
}

/// One package's record.
#[derive(Debug)]
pub struct Record<'a> {
    /// The record's lines and the empty lines that follow it, exactly as in the file.
    pub raw: &'a [u8],
    /// `(key, value)` for every line, in order.
    pub fields: Vec<(u8, &'a [u8])>,
}

/// Why a database could not be read, and where.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub what: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

impl<'a> Record<'a> {
    /// The first value of `key`.
    pub fn get(&self, key: u8) -> Option<&'a [u8]> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The package name (`P:`).
    pub fn name(&self) -> &'a [u8] {
        self.get(b'P').unwrap_or(b"")
    }

    /// The package version (`V:`).
    pub fn version(&self) -> &'a [u8] {
        self.get(b'V').unwrap_or(b"")
    }

    /// The files the package owns as `(folder, name)` pairs (`F:` and the `R:`s after it).
    pub fn file_pairs(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let mut dir: &[u8] = b"";
        self.fields.iter().filter_map(move |&(k, v)| match k {
            b'F' => {
                dir = v;
                None
            }
            b'R' => Some((dir, v)),
            _ => None,
        })
    }

    /// Appends the record's bytes to `out` without the entries of the files for which `drop`
    /// is true: each such `R:` line and the `a:` and `Z:` lines that describe it. Every other
    /// byte stays as it was.
    pub fn write_without(&self, drop: impl Fn(&[u8], &[u8]) -> bool, out: &mut Vec<u8>) {
        let mut dir: &[u8] = b"";
        let mut skipping = false;
        for line in self.raw.split_inclusive(|&b| b == b'\n') {
            let (key, value) = match line {
                [k, b':', rest @ ..] => (*k, rest.strip_suffix(b"\n").unwrap_or(rest)),
                _ => (0, &line[..0]),
            };
            match key {
                // A folder line ends the entry of the file before it: were it skipped with a
                // dropped file's `a:`/`Z:` lines, the files after it would move into the
                // previous folder (found by the `installed` fuzz target).
                b'F' => {
                    dir = value;
                    skipping = false;
                }
                b'R' => skipping = drop(dir, value),
                b'a' | b'Z' => {}
                _ => skipping = false,
            }
            if !skipping {
                out.extend_from_slice(line);
            }
        }
    }
}

impl<'a> Database<'a> {
    /// Parses `bytes`; any line that is not `X:value`, a record without `P:` or an `R:` before
    /// any `F:` is an error naming the line.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let mut preamble_end = 0;
        let mut done: Vec<Open<'a>> = Vec::new();
        let mut open: Option<Open<'a>> = None;
        let mut pos = 0;
        let mut line = 0;
        while pos < bytes.len() {
            line += 1;
            let end = bytes[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| pos + i + 1);
            let text = &bytes[pos..end];
            let text = text.strip_suffix(b"\n").unwrap_or(text);
            if text.is_empty() {
                match open.take() {
                    Some(rec) => done.push(rec),
                    None if done.is_empty() => preamble_end = end,
                    None => {}
                }
            } else {
                if text.len() < 2 || text[1] != b':' || !text[0].is_ascii_alphanumeric() {
                    return Err(ParseError {
                        line,
                        what: "not a `X:value` line",
                    });
                }
                let rec = open.get_or_insert(Open {
                    start: pos,
                    line,
                    fields: Vec::new(),
                    in_folder: false,
                });
                rec.in_folder |= text[0] == b'F';
                if text[0] == b'R' && !rec.in_folder {
                    return Err(ParseError {
                        line,
                        what: "`R:` file before any `F:` folder",
                    });
                }
                rec.fields.push((text[0], &text[2..]));
            }
            pos = end;
        }
        done.extend(open);
        let starts: Vec<usize> = done.iter().map(|r| r.start).skip(1).collect();
        let mut records = Vec::with_capacity(done.len());
        for (i, rec) in done.into_iter().enumerate() {
            if !rec.fields.iter().any(|(k, _)| *k == b'P') {
                return Err(ParseError {
                    line: rec.line,
                    what: "record without a `P:` package name",
                });
            }
            // A record's raw bytes run to the start of the next record.
            let end = starts.get(i).copied().unwrap_or(bytes.len());
            records.push(Record {
                raw: &bytes[rec.start..end],
                fields: rec.fields,
            });
        }
        Ok(Database {
            preamble: &bytes[..preamble_end],
            records,
        })
    }

    /// The database as bytes, keeping only the records for which `keep` is true.
    pub fn write(&self, keep: impl Fn(&Record<'a>) -> bool) -> Vec<u8> {
        let mut out = self.preamble.to_vec();
        for r in self.records.iter().filter(|r| keep(r)) {
            out.extend_from_slice(r.raw);
        }
        out
    }
}

/// A record being read.
struct Open<'a> {
    start: usize,
    line: usize,
    fields: Vec<(u8, &'a [u8])>,
    /// Whether an `F:` line came yet (asked at every `R:`; a package owns thousands).
    in_folder: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DB: &[u8] = b"C:Q1abc=\nP:musl\nV:1.2.5-r0\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1x=\n\nP:busybox\nV:1.36.1-r29\nx:unknown field kept\nF:bin\nR:busybox\nF:etc\nR:securetty\n\n";

    #[test]
    fn parses_records_names_versions_and_files() {
        let db = Database::parse(DB).unwrap();
        assert_eq!(db.records.len(), 2);
        assert_eq!(db.records[1].name(), b"busybox");
        assert_eq!(db.records[1].version(), b"1.36.1-r29");
        let files: Vec<_> = db.records[1].file_pairs().collect();
        assert_eq!(
            files,
            [(&b"bin"[..], &b"busybox"[..]), (b"etc", b"securetty")]
        );
    }

    #[test]
    fn a_record_without_some_files_keeps_every_other_byte() {
        let db = Database::parse(
            b"P:zlib\nV:1\nF:lib\nR:libz.so.1\na:0:0:755\nZ:Q1a=\nR:libz.so.1.3\nZ:Q1b=\nF:usr\nM:0:0:755\nR:x\n\n",
        )
        .unwrap();
        let mut out = Vec::new();
        db.records[0].write_without(|d, n| d == b"lib" && n == b"libz.so.1", &mut out);
        assert_eq!(
            out,
            b"P:zlib\nV:1\nF:lib\nR:libz.so.1.3\nZ:Q1b=\nF:usr\nM:0:0:755\nR:x\n\n"
        );
        out.clear();
        db.records[0].write_without(|d, _| d == b"usr", &mut out);
        assert_eq!(
            out,
            b"P:zlib\nV:1\nF:lib\nR:libz.so.1\na:0:0:755\nZ:Q1a=\nR:libz.so.1.3\nZ:Q1b=\nF:usr\nM:0:0:755\n\n"
        );
    }

    #[test]
    fn dropping_the_last_file_of_a_folder_keeps_the_next_folder() {
        let db = Database::parse(b"P:zlib\nF:lib\nR:libz.so.1\nZ:Q1a=\nF:usr\nR:x\n\n").unwrap();
        let mut out = Vec::new();
        db.records[0].write_without(|d, n| d == b"lib" && n == b"libz.so.1", &mut out);
        assert_eq!(out, b"P:zlib\nF:lib\nF:usr\nR:x\n\n");
        // The fuzz target's input: an empty file name dropped before the last folder.
        let db = Database::parse(b"P:\nF:\nR:\nF:").unwrap();
        out.clear();
        db.records[0].write_without(|_, n| n.is_empty(), &mut out);
        assert_eq!(out, b"P:\nF:\nF:");
    }

    #[test]
    fn writing_without_a_record_keeps_the_others_byte_for_byte() {
        let db = Database::parse(DB).unwrap();
        let out = db.write(|r| r.name() != b"busybox");
        assert_eq!(
            out,
            b"C:Q1abc=\nP:musl\nV:1.2.5-r0\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1x=\n\n"
        );
        let out = db.write(|r| r.name() != b"musl");
        assert!(out.starts_with(b"P:busybox\n") && out.ends_with(b"R:securetty\n\n"));
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line_number() {
        let bad = b"P:a\nV:1\n\nP:b\nthis is not a field\n";
        assert_eq!(
            Database::parse(bad).unwrap_err(),
            ParseError {
                line: 5,
                what: "not a `X:value` line"
            }
        );
        assert_eq!(Database::parse(b"P:a\nR:x\n").unwrap_err().line, 2);
        assert_eq!(Database::parse(b"P:a\n\nV:1\n").unwrap_err().line, 3);
        assert_eq!(Database::parse(b"\xff\xfe").unwrap_err().line, 1);
    }

    #[test]
    #[cfg_attr(
        not(fixture_minirootfs),
        ignore = "needs ALPINE_MINIROOTFS (CI=true runs it)"
    )]
    fn the_real_database_round_trips() {
        let tar = std::env::var_os("ALPINE_MINIROOTFS").expect("ALPINE_MINIROOTFS is unset");
        let t = tempfile::tempdir().unwrap();
        let st = std::process::Command::new("tar")
            .arg("xzf")
            .arg(&tar)
            .arg("-C")
            .arg(t.path())
            .arg("./lib/apk/db/installed")
            .status()
            .unwrap();
        assert!(st.success());
        let bytes = std::fs::read(t.path().join("lib/apk/db/installed")).unwrap();
        let db = Database::parse(&bytes).unwrap();
        assert_eq!(db.records.len(), 14);
        assert_eq!(db.write(|_| true), bytes);
    }

    fn record() -> impl Strategy<Value = String> {
        let field = (
            prop::sample::select(vec!['C', 'V', 'A', 'T', 'D', 'p', 'a', 'Z', 'q']),
            "[ -~]{0,20}",
        )
            .prop_map(|(k, v)| format!("{k}:{v}\n"));
        let files = prop::collection::vec(
            (
                "[a-z/]{1,12}",
                prop::collection::vec("[a-z.0-9]{1,8}", 0..3),
            ),
            0..3,
        )
        .prop_map(|fs| {
            fs.into_iter()
                .map(|(d, rs)| {
                    let mut s = format!("F:{d}\n");
                    for r in rs {
                        s += &format!("R:{r}\n");
                    }
                    s
                })
                .collect::<String>()
        });
        (
            "[a-z][a-z0-9_-]{0,12}",
            prop::collection::vec(field, 0..6),
            files,
            1usize..3,
        )
            .prop_map(|(name, fields, files, blanks)| {
                format!(
                    "P:{name}\n{}{files}{}",
                    fields.concat(),
                    "\n".repeat(blanks)
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_valid_database_round_trips(recs in prop::collection::vec(record(), 0..8), lead in 0usize..2, trim in any::<bool>()) {
            let mut text = "\n".repeat(lead) + &recs.concat();
            if trim { while text.ends_with("\n\n") { text.pop(); } }
            let db = Database::parse(text.as_bytes()).unwrap();
            prop_assert_eq!(db.records.len(), recs.len());
            prop_assert_eq!(db.write(|_| true), text.as_bytes());
        }

        #[test]
        fn dropping_records_keeps_the_rest_identical(recs in prop::collection::vec(record(), 1..8), drop in any::<prop::sample::Index>()) {
            let text = recs.concat();
            let db = Database::parse(text.as_bytes()).unwrap();
            let gone = drop.index(recs.len());
            let out = db.write(|r| !std::ptr::eq(r, &db.records[gone]));
            let expected: String = recs.iter().enumerate().filter(|(i, _)| *i != gone).map(|(_, r)| r.as_str()).collect();
            prop_assert_eq!(out, expected.into_bytes());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(db) = Database::parse(&bytes) {
                prop_assert_eq!(db.write(|_| true), bytes);
            }
        }
    }
}
