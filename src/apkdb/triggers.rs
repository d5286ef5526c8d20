//! apk's triggers file (`lib/apk/db/triggers`, beside the installed database): one line a
//! package that has a trigger, `CHECKSUM GLOB GLOB...`, keyed by the package's checksum (`C:`
//! in the installed database). apk skips a line whose checksum names no installed package and
//! writes the file anew from the installed packages, so `apk del` leaves out the removed
//! package's line, and any line of a package no longer installed.

use super::checksum;

/// The file's name, in the installed database's folder.
pub const FILE: &str = "triggers";
/// The most bytes read of it (a line is a checksum and a few folders).
pub const LIMIT: u64 = 16 << 20;

/// `triggers` without the lines whose checksum bytes `goes` says leave (a line whose first
/// word is no checksum stays); `None` when no line goes. The other lines stay byte for byte, in
/// order.
pub fn without(triggers: &[u8], goes: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(triggers.len());
    for line in triggers.split_inclusive(|&b| b == b'\n') {
        let key = line
            .split(|&b| b == b' ' || b == b'\n')
            .next()
            .unwrap_or(line);
        match checksum::decode(key) {
            Some(sum) if goes(&sum) => {}
            _ => out.extend_from_slice(line),
        }
    }
    (out.len() != triggers.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dropped_packages_lines_go_and_the_others_stay_byte_for_byte() {
        let busybox = checksum::decode(b"Q1yY8lhMF1VhgegJgkcXfqaNabDJw=").unwrap();
        let file = b"Q1yY8lhMF1VhgegJgkcXfqaNabDJw= /bin /usr/bin /sbin /usr/sbin /lib/modules/*\n";
        let drop_busybox = |s: &[u8]| s == busybox;
        assert_eq!(without(file, drop_busybox), Some(Vec::new()));
        let other = b"Q1m/BhjWxfpo4D5cK7R9F5Mg91dro= /usr/share/fonts/*\n";
        let mixed = [
            &other[..],
            &file[..],
            b"not a line apk wrote\n",
            b"Q1TWFu /x",
        ]
        .concat();
        assert_eq!(
            without(&mixed, drop_busybox).unwrap(),
            [&other[..], b"not a line apk wrote\n", b"Q1TWFu /x"].concat()
        );
        assert_eq!(
            without(&mixed, |s| s == b"Man").unwrap(),
            mixed[..mixed.len() - 9]
        );
        assert_eq!(without(other, drop_busybox), None);
        assert_eq!(without(b"", |_| true), None);
    }
}
