//! The hash for the tool's tables: paths inside one root, inode numbers.
//!
//! std's default SipHash resists collision attacks at a cost that was a quarter of
//! discovery's CPU time; here the keys are a few hundred names from the image being built,
//! looked up a few times each. This is the Fx hash of rustc and Firefox: a rotate, a xor and
//! a multiply per 8 bytes. Paths are keyed by their bytes (`OsString`), not as `Path`, whose
//! `Hash` and `Eq` parse components on every call.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`Fx`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;
/// A `HashSet` with [`Fx`].
pub type FastSet<T> = HashSet<T, BuildHasherDefault<Fx>>;

const K: u64 = 0xf135_7aea_2e62_a9c5;

/// The Fx hasher (see the module docs).
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(K);
    }
}

impl Hasher for Fx {
    // Words are read as arrays, never with `copy_from_slice`: a slice copy of unknown length
    // is a call to musl's memcpy, whose `rep movs` set-up cost more than the hash itself.
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(<[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let word = rest
                .iter()
                .rev()
                .fold(0u64, |w, &b| (w << 8) | u64::from(b));
            self.add(word ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::hash::{BuildHasher, Hash};

    fn h<T: Hash>(t: T) -> u64 {
        BuildHasherDefault::<Fx>::default().hash_one(t)
    }

    #[test]
    fn equal_keys_hash_equal_and_near_keys_apart() {
        assert_eq!(
            h(OsString::from("usr/bin/ls")),
            h(OsString::from("usr/bin/ls"))
        );
        let names: Vec<u64> = (0..2000)
            .map(|i| h(OsString::from(format!("usr/bin/applet{i}"))))
            .collect();
        let distinct: HashSet<u64> = names.iter().copied().collect();
        assert_eq!(distinct.len(), names.len(), "applet names collide");
        // Trailing bytes that are zero must still change the hash.
        assert_ne!(h(&b"ab"[..]), h(&b"ab\0"[..]));
        assert_ne!(h((1u64, 2u64)), h((2u64, 1u64)));
    }

    #[test]
    fn maps_and_sets_work_with_borrowed_lookups() {
        let mut m: FastMap<OsString, u32> = FastMap::default();
        m.insert("bin/busybox".into(), 1);
        assert_eq!(m.get(std::ffi::OsStr::new("bin/busybox")), Some(&1));
        assert_eq!(m.get(std::ffi::OsStr::new("bin/busybo")), None);
        let s: FastSet<(u64, u64)> = [(1, 2)].into_iter().collect();
        assert!(s.contains(&(1, 2)) && !s.contains(&(2, 1)));
    }
}
