//! `/etc/apk/world`: the packages the user asked for, one constraint a word.

/// The package name of a world constraint (`!busybox`, `busybox>=1.36`, `busybox@edge`).
pub fn name_of(word: &[u8]) -> &[u8] {
    let word = word.strip_prefix(b"!").unwrap_or(word);
    let end = word
        .iter()
        .position(|b| b"=<>~@".contains(b))
        .unwrap_or(word.len());
    &word[..end]
}

/// `world` without the words naming `drop`; `None` when nothing would change.
/// Lines and the other words keep their order; a line left empty goes.
pub fn without(world: &[u8], drop: &[&[u8]]) -> Option<Vec<u8>> {
    let mut changed = false;
    let mut out = Vec::with_capacity(world.len());
    for line in world.split_inclusive(|&b| b == b'\n') {
        let (body, nl) = match line.strip_suffix(b"\n") {
            Some(b) => (b, &b"\n"[..]),
            None => (line, &b""[..]),
        };
        let mut words = 0;
        let mut kept: Vec<&[u8]> = Vec::new();
        for w in body.split(|&b| b == b' ') {
            words += 1;
            if w.is_empty() || !drop.contains(&name_of(w)) {
                kept.push(w);
            }
        }
        if kept.len() == words {
            out.extend_from_slice(line);
            continue;
        }
        changed = true;
        if kept.iter().all(|w| w.is_empty()) {
            continue;
        }
        out.extend_from_slice(&kept.join(&b' '));
        out.extend_from_slice(nl);
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_named_packages_and_keeps_the_rest_in_order() {
        let world = b"alpine-baselayout\nalpine-keys\napk-tools\nbusybox\nlibc-utils\n";
        let out = without(world, &[b"busybox", b"apk-tools"]).unwrap();
        assert_eq!(out, b"alpine-baselayout\nalpine-keys\nlibc-utils\n");
    }

    #[test]
    fn constraints_and_words_on_one_line_are_understood() {
        let world = b"musl busybox>=1.36 !ssl_client apk-tools@edge\nbusyboxy";
        let out = without(world, &[b"busybox", b"ssl_client", b"apk-tools"]).unwrap();
        assert_eq!(out, b"musl\nbusyboxy");
    }

    #[test]
    fn nothing_to_drop_is_no_change() {
        assert_eq!(without(b"musl\nzlib\n", &[b"busybox"]), None);
    }
}
