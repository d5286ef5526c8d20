//! The installed database's reader (`/lib/apk/db/installed`) on any bytes: it never panics; a
//! database it accepts is written back byte for byte, its records cover the file exactly, and a
//! record written without some files' entries reads back as the same record without them.
#![no_main]

use alpine_strip::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(db) = fuzzing::installed(bytes) else {
        return;
    };
    assert_eq!(db.written, bytes, "parse then write changed the bytes");
    let mut joined = db.preamble.clone();
    for r in &db.records {
        joined.extend_from_slice(&r.raw);
    }
    assert_eq!(joined, bytes, "the records do not cover the file");
    for r in &db.records {
        assert!(
            r.fields.iter().any(|(k, _)| *k == b'P'),
            "record without P:"
        );
        let names = r.fields.iter().filter(|(k, _)| *k == b'R').count();
        assert_eq!(names, r.files.len());
        // Written without the entries of the even-length names, the record reads back with
        // exactly the other files, in their folders, and every line that is not a file's entry.
        let again = fuzzing::installed(&r.without_some)
            .unwrap_or_else(|line| panic!("written record malformed at line {line}"));
        assert_eq!(again.records.len(), 1);
        let kept: Vec<_> = r
            .files
            .iter()
            .filter(|(_, n)| n.len() % 2 == 1)
            .cloned()
            .collect();
        assert_eq!(again.records[0].files, kept, "files moved or lost");
        let others = |fields: &[(u8, Vec<u8>)]| -> Vec<(u8, Vec<u8>)> {
            fields
                .iter()
                .filter(|(k, _)| !b"RaZ".contains(k))
                .cloned()
                .collect()
        };
        assert_eq!(others(&again.records[0].fields), others(&r.fields));
    }
});
