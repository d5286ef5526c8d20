//! `/etc/apk/world`'s reader on any bytes: the first line names the packages to drop, the rest
//! is world. It never panics; the words that stay are exactly those not naming a dropped
//! package, in their order; nothing changes when no word names one.
#![no_main]

use alpine_strip::fuzzing;
use libfuzzer_sys::fuzz_target;

/// The non-empty words of `text`, as world is read: lines, then words split at spaces.
fn words(text: &[u8]) -> Vec<&[u8]> {
    text.split(|&b| b == b'\n')
        .flat_map(|l| l.split(|&b| b == b' '))
        .filter(|w| !w.is_empty())
        .collect()
}

fuzz_target!(|bytes: &[u8]| {
    let (first, world) = match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &b""[..]),
    };
    let drop: Vec<&[u8]> = first.split(|&b| b == b' ').collect();
    for w in words(world) {
        let name = fuzzing::world_name(w);
        let bare = w.strip_prefix(b"!").unwrap_or(w);
        assert!(
            bare.starts_with(name),
            "a name that is not the word's start"
        );
    }
    let staying: Vec<&[u8]> = words(world)
        .into_iter()
        .filter(|w| !drop.contains(&fuzzing::world_name(w)))
        .collect();
    match fuzzing::world_without(world, &drop) {
        Some(out) => {
            assert!(out.len() < world.len(), "a change that adds bytes");
            assert_eq!(words(&out), staying);
        }
        None => assert_eq!(staying, words(world), "a dropped word left in place"),
    }
});
