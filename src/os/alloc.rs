//! The binary's allocator: bump allocation from mapped chunks, with a free list per size class.
//!
//! alpine-strip lives a few milliseconds. musl's allocator gives memory back to the kernel
//! eagerly, which cost an `mmap` and a `munmap` for almost every folder listed: on the Alpine
//! tree, more syscalls than there are applet links. Here a small block is cut from a 1 MiB
//! chunk and never given back to the kernel. A block of up to [`MAX_CLASS`] bytes is rounded
//! up to its class (a power of two from 16) and aligned to it; when freed it goes on its
//! class's free list and is handed out again, so the temporary paths and strings of a run
//! reuse the same few pages instead of touching new ones (each new page is a page fault:
//! a quarter of the heap's pages on the 3.20.3 tree). The newest block also grows, shrinks or
//! is given back in place (a `Vec` being filled). Blocks of [`LARGE`] bytes or more get a
//! mapping of their own, moved by `mremap` when they grow and unmapped when freed, so a
//! 100,000-entry folder costs what it holds and no more.
//!
//! C's `malloc` family runs on a `Bump` of its own (`c`, in the musl builds), so no second
//! allocator is linked.
//!
//! Every block holds at least the rounded size of what it was last asked for (its class, for
//! a small one): a block on a free list can serve any request of its class.
//!
//! Two threads share it (the walk of the whole root runs on its own): a spin flag guards the
//! state, held for a few instructions, never across a syscall but `mmap`.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::libc;

/// The size of a chunk small blocks are cut from.
const CHUNK: usize = 1 << 20;
/// Blocks this large get a mapping of their own.
pub const LARGE: usize = 1 << 18;
/// `mmap` gives page-aligned memory; larger alignments are refused (nothing here asks for one).
const PAGE: usize = 4096;
/// The smallest size class: room for the free list's link.
const MIN_CLASS: usize = 16;
/// The largest size class; larger blocks are cut at their own size and not reused.
pub const MAX_CLASS: usize = 2048;
/// Size classes: 16, 32, ... 2048 bytes.
const CLASSES: usize = (MAX_CLASS / MIN_CLASS).trailing_zeros() as usize + 1;

/// A bump allocator (see the module docs).
pub struct Bump {
    busy: AtomicBool,
    state: UnsafeCell<State>,
}

/// Addresses in the current chunk: free space starts at `next` and ends at `end`; `last` is the
/// newest block (0 when it was given back); `free[i]` is the first given-back block of class
/// `i` (0 when none), whose first word holds the next one's address.
struct State {
    next: usize,
    end: usize,
    last: usize,
    free: [usize; CLASSES],
}

// SAFETY: the state is only touched while `busy` is held (see `Bump::with`).
unsafe impl Sync for Bump {}

impl Bump {
    /// An allocator with nothing allocated yet.
    pub const fn new() -> Self {
        Bump {
            busy: AtomicBool::new(false),
            state: UnsafeCell::new(State {
                next: 0,
                end: 0,
                last: 0,
                free: [0; CLASSES],
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: `busy` is held, so no other reference to the state exists.
        let r = f(unsafe { &mut *self.state.get() });
        self.busy.store(false, Ordering::Release);
        r
    }
}

impl Default for Bump {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    fn bump(&mut self, size: usize, align: usize) -> *mut u8 {
        let mut start = self.next.next_multiple_of(align);
        if self.next == 0 || start + size > self.end {
            let chunk = map(CHUNK);
            if chunk.is_null() {
                return chunk;
            }
            self.next = chunk as usize;
            self.end = self.next + CHUNK;
            start = self.next.next_multiple_of(align);
        }
        self.next = start + size;
        self.last = start;
        start as *mut u8
    }

    /// A given-back block of class `i`, taken off its list; 0 when there is none.
    fn pop(&mut self, i: usize) -> usize {
        let p = self.free[i];
        if p != 0 {
            // SAFETY: a block on a free list was given back (no one else refers to it), is at
            // least MIN_CLASS bytes and aligned to its class, and `push` wrote the next
            // block's address into its first word.
            self.free[i] = unsafe { (p as *const usize).read() };
        }
        p
    }

    /// Puts the given-back block `p` (at least class `i`'s size, aligned to it) on its list.
    fn push(&mut self, i: usize, p: usize) {
        // SAFETY: the caller gave the block back, so no one else refers to it; it is at least
        // MIN_CLASS bytes and aligned to at least MIN_CLASS, room for one aligned word.
        unsafe { (p as *mut usize).write(self.free[i]) };
        self.free[i] = p;
        if self.last == p {
            // Never grown in place again: it may be handed out from the list.
            self.last = 0;
        }
    }
}

/// The size class (its index and size) of a block of `size` bytes aligned to `align`: the
/// power of two from [`MIN_CLASS`] that holds both; `None` past [`MAX_CLASS`].
fn class(size: usize, align: usize) -> Option<(usize, usize)> {
    let c = size.max(align).max(MIN_CLASS).next_power_of_two();
    (c <= MAX_CLASS).then(|| ((c / MIN_CLASS).trailing_zeros() as usize, c))
}

/// The bytes a small block of `size` bytes takes: its class's size, or `size` past the classes.
fn rounded(size: usize, align: usize) -> usize {
    class(size, align).map_or(size, |(_, c)| c)
}

fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping touches no existing memory.
    let p = unsafe {
        libc::mmap(
            null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        null_mut()
    } else {
        p.cast()
    }
}

fn is_large(size: usize) -> bool {
    size >= LARGE
}

// SAFETY: blocks never overlap: small ones are cut from disjoint ranges of a chunk, and a range
// is reused only after its block was given back (from its class's free list, which holds only
// blocks at least that large and aligned to it, or in place when it was the newest); large ones
// are separate mappings.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > PAGE {
            return null_mut();
        }
        if is_large(layout.size()) {
            return map(layout.size());
        }
        match class(layout.size(), layout.align()) {
            Some((i, size)) => self.with(|s| match s.pop(i) {
                0 => s.bump(size, size),
                p => p as *mut u8,
            }),
            None => self.with(|s| s.bump(layout.size(), layout.align())),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(layout.size()) {
            // SAFETY: a large block is a mapping of exactly this size (see `alloc`).
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
            return;
        }
        self.with(|s| match class(layout.size(), layout.align()) {
            // A block is aligned to the class it was made for; one that moved down a class
            // (shrunk in place) may not be aligned to a larger one's: it is not reused.
            Some((i, size)) if (ptr as usize).is_multiple_of(size) => s.push(i, ptr as usize),
            _ => {
                if ptr as usize == s.last {
                    s.next = s.last;
                    s.last = 0;
                }
            }
        })
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if is_large(old) && is_large(new_size) {
            // SAFETY: `ptr` is a mapping of `old` bytes; MREMAP_MAYMOVE keeps its contents.
            let p = unsafe { libc::mremap(ptr.cast(), old, new_size, libc::MREMAP_MAYMOVE) };
            return if p == libc::MAP_FAILED {
                null_mut()
            } else {
                p.cast()
            };
        }
        if !is_large(old) && !is_large(new_size) {
            let align = layout.align();
            let (had, wants) = (rounded(old, align), rounded(new_size, align));
            let kept = had == wants
                || self.with(|s| {
                    if ptr as usize == s.last && s.last + wants <= s.end {
                        s.next = s.last + wants;
                        true
                    } else {
                        // A block holds at least `had` bytes, and `wants` is no more.
                        wants <= had
                    }
                });
            if kept {
                return ptr;
            }
        }
        // SAFETY: the layout's alignment is valid and `new_size` is non-zero (GlobalAlloc's
        // contract); the copy covers bytes both blocks hold.
        unsafe {
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, old.min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

/// C's `malloc` family (`malloc`, `calloc`, `realloc`, `free`, `posix_memalign`) on a [`Bump`]
/// of its own, in place of the C allocator the static binary would otherwise link (Zig's:
/// 2.4 KiB on ppc64le) for the few blocks C code asks for, such as `opendir`'s buffers (std's
/// `System` allocator, unused here, calls them too). Each block starts 16 bytes (or its
/// alignment, if larger) into a [`Bump`] block; the 16 bytes just before it hold its size and
/// that offset, which `free` and `realloc` read back. Only the musl builds export the symbols
/// (on glibc they would take the place of libc's); the tests call them as Rust functions.
#[cfg(any(test, target_env = "musl"))]
pub mod c {
    use std::alloc::{GlobalAlloc, Layout};
    use std::ffi::{c_int, c_void};
    use std::ptr::null_mut;
    use std::sync::Mutex;

    use super::{Bump, LARGE, MAX_CLASS};

    static HEAP: Bump = Bump::new();
    /// The header before each block: its size and its offset into the [`Bump`] block.
    const HEADER: usize = 16;
    /// How many freed blocks [`SPARE`] keeps.
    const SPARES: usize = 16;
    /// Freed blocks larger than [`MAX_CLASS`] (and smaller than [`LARGE`]), as their [`Bump`]
    /// address and size (size 0: an empty slot), kept for the next request of that size: a
    /// [`Bump`] reuses only blocks of its size classes, and musl's `DIR` (2,072 bytes: its
    /// 2 KiB buffer is inside) is larger. `opendir` makes one for every folder the walk reads;
    /// without these slots each folder closed while another was open left its `DIR` behind.
    static SPARE: Mutex<[(usize, usize); SPARES]> = Mutex::new([(0, 0); SPARES]);

    /// Whether a block of `size` bytes, 16-aligned, goes to [`SPARE`] when freed.
    fn kept(size: usize, offset: usize) -> bool {
        offset == HEADER && size > MAX_CLASS && size < LARGE
    }

    /// A freed block of exactly `size` bytes from [`SPARE`]; null when there is none.
    fn take_spare(size: usize) -> *mut u8 {
        let Ok(mut slots) = SPARE.lock() else {
            return null_mut();
        };
        match slots.iter_mut().find(|slot| slot.1 == size) {
            Some(slot) => std::mem::take(slot).0 as *mut u8,
            None => null_mut(),
        }
    }

    /// Keeps the freed block `base` of `size` bytes in [`SPARE`]; false when it is full.
    fn keep_spare(base: *mut u8, size: usize) -> bool {
        let Ok(mut slots) = SPARE.lock() else {
            return false;
        };
        match slots.iter_mut().find(|slot| slot.1 == 0) {
            Some(slot) => {
                *slot = (base as usize, size);
                true
            }
            None => false,
        }
    }

    /// The [`Bump`] layout of a block of `size` bytes aligned to `align` (a power of two), and
    /// the block's offset into it; `None` past `isize::MAX`.
    fn layout(size: usize, align: usize) -> Option<(Layout, usize)> {
        let offset = align.max(HEADER);
        let l = Layout::from_size_align(size.checked_add(offset)?, offset).ok()?;
        Some((l, offset))
    }

    /// A new block of `size` bytes aligned to `align` (a power of two); null when out of memory.
    fn give(size: usize, align: usize) -> *mut c_void {
        let Some((l, offset)) = layout(size, align) else {
            nix::errno::Errno::set_raw(nix::libc::ENOMEM);
            return null_mut();
        };
        // SAFETY: the layout is valid and not zero-sized (`offset` is at least 16). The block
        // (a new one, or a freed one of exactly this layout from `SPARE`) is `offset + size`
        // bytes: what is handed out starts `offset` bytes in, aligned to `offset`, and the two
        // header words go in the 16 bytes before it.
        unsafe {
            let mut base = null_mut();
            if kept(l.size(), offset) {
                base = take_spare(l.size());
            }
            if base.is_null() {
                base = HEAP.alloc(l);
            }
            if base.is_null() {
                return null_mut();
            }
            let p = base.add(offset).cast::<usize>();
            p.sub(2).write(size);
            p.sub(1).write(offset);
            p.cast()
        }
    }

    /// The size and offset [`give`] wrote before `p`.
    ///
    /// # Safety
    /// `p` came from [`give`] and was not freed since.
    unsafe fn header(p: *mut c_void) -> (usize, usize) {
        let p = p.cast::<usize>();
        // SAFETY: `give` wrote both words just before `p` (the caller's promise).
        unsafe { (p.sub(2).read(), p.sub(1).read()) }
    }

    /// `malloc(3)`: `size` bytes aligned to 16; null when out of memory.
    #[cfg_attr(all(target_env = "musl", not(test)), unsafe(no_mangle))]
    pub extern "C" fn malloc(size: usize) -> *mut c_void {
        give(size, HEADER)
    }

    /// `calloc(3)`: `n * size` zeroed bytes; null when that overflows or memory runs out.
    #[cfg_attr(all(target_env = "musl", not(test)), unsafe(no_mangle))]
    pub extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
        let Some(total) = n.checked_mul(size) else {
            nix::errno::Errno::set_raw(nix::libc::ENOMEM);
            return null_mut();
        };
        let p = give(total, HEADER);
        if !p.is_null() {
            // SAFETY: the block holds `total` bytes.
            unsafe { p.cast::<u8>().write_bytes(0, total) };
        }
        p
    }

    /// `free(3)`.
    ///
    /// # Safety
    /// `p` is null or came from this module's `malloc`, `calloc`, `realloc` or
    /// `posix_memalign` and was not freed since (C's contract).
    #[cfg_attr(all(target_env = "musl", not(test)), unsafe(no_mangle))]
    pub unsafe extern "C" fn free(p: *mut c_void) {
        if p.is_null() {
            return;
        }
        // SAFETY: `p` came from `give` (the caller's promise), so its header says how the
        // block was made: `layout` gives back the same layout and offset.
        unsafe {
            let (size, offset) = header(p);
            if let Some((l, offset)) = layout(size, offset) {
                let base = p.cast::<u8>().sub(offset);
                if !(kept(l.size(), offset) && keep_spare(base, l.size())) {
                    HEAP.dealloc(base, l);
                }
            }
        }
    }

    /// `realloc(3)`: the bytes of `p` (up to `size`) in a block of `size` bytes; `p` is freed
    /// unless the new block cannot be made (then null, and `p` stays).
    ///
    /// # Safety
    /// As for [`free`].
    #[cfg_attr(all(target_env = "musl", not(test)), unsafe(no_mangle))]
    pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
        if p.is_null() {
            return give(size, HEADER);
        }
        // SAFETY: `p` came from `give` (the caller's promise) and holds `old` bytes; the new
        // block holds `size`, and the copy covers what both hold.
        unsafe {
            let (old, _) = header(p);
            let new = give(size, HEADER);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(p.cast::<u8>(), new.cast::<u8>(), old.min(size));
                free(p);
            }
            new
        }
    }

    /// `posix_memalign(3)`: `size` bytes aligned to `align` into `*out`; EINVAL unless `align`
    /// is a power of two and a multiple of a pointer's size, ENOMEM when out of memory.
    ///
    /// # Safety
    /// `out` is valid for writing one pointer.
    #[cfg_attr(all(target_env = "musl", not(test)), unsafe(no_mangle))]
    pub unsafe extern "C" fn posix_memalign(
        out: *mut *mut c_void,
        align: usize,
        size: usize,
    ) -> c_int {
        if !align.is_power_of_two() || align < size_of::<usize>() {
            return nix::libc::EINVAL;
        }
        let p = give(size, align);
        if p.is_null() {
            return nix::libc::ENOMEM;
        }
        // SAFETY: `out` is writable for one pointer (the caller's promise).
        unsafe { out.write(p) };
        0
    }
}

// SAFETY (every block below): each calls the allocator under test with a layout the test made,
// and reads or writes only within a block it was given, of the size it asked for.
#[cfg(test)]
#[allow(clippy::undocumented_unsafe_blocks)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_keep_their_bytes() {
        let a = Bump::new();
        let mut blocks = Vec::new();
        for i in 1..3000usize {
            let (size, align) = (i % 700 + 1, 1 << (i % 6));
            let p = unsafe { a.alloc(layout(size, align)) };
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0);
            unsafe { p.write_bytes(i as u8, size) };
            blocks.push((p, size, i as u8));
        }
        for (p, size, byte) in &blocks {
            let s = unsafe { std::slice::from_raw_parts(*p, *size) };
            assert!(s.iter().all(|b| b == byte), "a block was overwritten");
        }
    }

    #[test]
    fn the_newest_block_grows_in_place_and_is_given_back() {
        let a = Bump::new();
        let p = unsafe { a.alloc(layout(16, 8)) };
        unsafe { p.write_bytes(7, 16) };
        let q = unsafe { a.realloc(p, layout(16, 8), 4000) };
        assert_eq!(p, q, "the newest block should grow in place");
        assert_eq!(unsafe { *q.add(15) }, 7);
        unsafe { a.dealloc(q, layout(4000, 8)) };
        let r = unsafe { a.alloc(layout(8, 8)) };
        assert_eq!(r, p, "a given-back newest block is reused");
    }

    #[test]
    fn an_older_block_moves_when_it_grows_and_keeps_its_bytes() {
        let a = Bump::new();
        let p = unsafe { a.alloc(layout(32, 8)) };
        unsafe { p.write_bytes(3, 32) };
        let other = unsafe { a.alloc(layout(32, 8)) };
        unsafe { other.write_bytes(9, 32) };
        let q = unsafe { a.realloc(p, layout(32, 8), 64) };
        assert_ne!(p, q);
        let s = unsafe { std::slice::from_raw_parts(q, 32) };
        assert!(s.iter().all(|&b| b == 3));
        let o = unsafe { std::slice::from_raw_parts(other, 32) };
        assert!(
            o.iter().all(|&b| b == 9),
            "growing one block overwrote another"
        );
    }

    #[test]
    fn large_blocks_are_mappings_that_grow_and_cross_the_threshold() {
        let a = Bump::new();
        let p = unsafe { a.alloc(layout(1000, 8)) };
        unsafe { p.write_bytes(5, 1000) };
        let big = unsafe { a.realloc(p, layout(1000, 8), LARGE * 2) };
        assert!(!big.is_null());
        assert_eq!(unsafe { *big.add(999) }, 5);
        unsafe { big.add(LARGE * 2 - 1).write(1) };
        let bigger = unsafe { a.realloc(big, layout(LARGE * 2, 8), LARGE * 8) };
        assert_eq!(unsafe { *bigger.add(999) }, 5);
        assert_eq!(unsafe { *bigger.add(LARGE * 2 - 1) }, 1);
        let small = unsafe { a.realloc(bigger, layout(LARGE * 8, 8), 100) };
        assert_eq!(unsafe { *small.add(99) }, 5);
        unsafe { a.dealloc(small, layout(100, 8)) };
    }

    #[test]
    fn two_threads_allocating_at_once_get_disjoint_blocks() {
        static A: Bump = Bump::new();
        let fill = |byte: u8| {
            (0..2000)
                .map(|i| {
                    let size = 8 + i % 200;
                    let p = unsafe { A.alloc(layout(size, 8)) };
                    unsafe { p.write_bytes(byte, size) };
                    (p as usize, size)
                })
                .collect::<Vec<_>>()
        };
        let other = std::thread::spawn(move || fill(1));
        let mine = fill(2);
        let theirs = other.join().unwrap();
        for (blocks, byte) in [(&mine, 2u8), (&theirs, 1u8)] {
            for &(p, size) in blocks {
                let s = unsafe { std::slice::from_raw_parts(p as *const u8, size) };
                assert!(s.iter().all(|&b| b == byte), "a block was shared");
            }
        }
    }

    #[test]
    fn a_given_back_block_serves_the_next_request_of_its_class_only() {
        let a = Bump::new();
        let p = unsafe { a.alloc(layout(100, 8)) };
        let keep = unsafe { a.alloc(layout(100, 8)) };
        assert_eq!(p as usize % 128, 0, "aligned to its class");
        unsafe { a.dealloc(p, layout(100, 8)) };
        let other_class = unsafe { a.alloc(layout(300, 8)) };
        assert_ne!(other_class, p);
        assert_eq!(unsafe { a.alloc(layout(65, 1)) }, p, "same class (128)");
        assert_ne!(unsafe { a.alloc(layout(120, 8)) }, p, "handed out once");
        assert_ne!(keep, p);
    }

    #[test]
    fn a_block_shrunk_in_place_is_reused_only_at_its_new_size() {
        let a = Bump::new();
        let p = unsafe { a.alloc(layout(1000, 8)) };
        let q = unsafe { a.realloc(p, layout(1000, 8), 20) };
        assert_eq!(p, q, "the newest block shrinks in place");
        let next = unsafe { a.alloc(layout(32, 8)) };
        assert_eq!(
            next as usize,
            p as usize + 32,
            "the rest of it was given back"
        );
        unsafe { next.write_bytes(9, 32) };
        unsafe { a.dealloc(q, layout(20, 8)) };
        assert_ne!(unsafe { a.alloc(layout(1000, 8)) }, p);
        let again = unsafe { a.alloc(layout(32, 8)) };
        assert_eq!(again, p);
        unsafe { again.write_bytes(1, 32) };
        let n = unsafe { std::slice::from_raw_parts(next, 32) };
        assert!(
            n.iter().all(|&b| b == 9),
            "the reused block overlapped its neighbour"
        );
    }

    #[test]
    fn blocks_bigger_than_what_is_left_of_a_chunk_start_a_new_one() {
        let a = Bump::new();
        let first = unsafe { a.alloc(layout(LARGE - 1, 8)) };
        let mut last = first;
        for _ in 0..8 {
            last = unsafe { a.alloc(layout(LARGE - 1, 8)) };
            assert!(!last.is_null());
            unsafe { last.write_bytes(1, LARGE - 1) };
        }
        assert!((last as usize).abs_diff(first as usize) >= CHUNK - LARGE);
        assert_eq!(unsafe { *first }, 0, "a later block overlapped the first");
    }

    #[test]
    fn the_c_heap_keeps_sizes_alignment_and_bytes_across_realloc_and_free() {
        use std::ffi::c_void;
        let mut blocks: Vec<(*mut c_void, usize, u8)> = Vec::new();
        for i in 0..600usize {
            let size = (i * 37) % 5000;
            let p = match i % 3 {
                0 => c::malloc(size),
                1 => c::calloc(size.max(1), 1),
                _ => {
                    let mut out = std::ptr::null_mut();
                    assert_eq!(unsafe { c::posix_memalign(&mut out, 64, size) }, 0);
                    assert_eq!(out as usize % 64, 0, "posix_memalign(64)");
                    out
                }
            };
            assert!(!p.is_null());
            assert_eq!(p as usize % 16, 0, "a C block is aligned to 16");
            if i % 3 == 1 {
                let z = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), size.max(1)) };
                assert!(z.iter().all(|&b| b == 0), "calloc zeroes");
            }
            unsafe { p.cast::<u8>().write_bytes(i as u8, size) };
            blocks.push((p, size, i as u8));
            if i % 5 == 4 {
                // Free an older one, then grow another: the rest must keep their bytes.
                let (q, _, _) = blocks.remove(0);
                unsafe { c::free(q) };
                let (r, rsize, byte) = blocks.pop().unwrap();
                let grown = unsafe { c::realloc(r, rsize * 2 + 1) };
                assert!(!grown.is_null());
                let kept = unsafe { std::slice::from_raw_parts(grown.cast::<u8>(), rsize) };
                assert!(kept.iter().all(|&b| b == byte), "realloc keeps the bytes");
                unsafe { grown.cast::<u8>().write_bytes(byte, rsize * 2 + 1) };
                blocks.push((grown, rsize * 2 + 1, byte));
            }
        }
        for (p, size, byte) in &blocks {
            let s = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), *size) };
            assert!(s.iter().all(|b| b == byte), "a C block was overwritten");
        }
        for (p, _, _) in blocks {
            unsafe { c::free(p) };
        }
        unsafe { c::free(std::ptr::null_mut()) };
        let mut out = std::ptr::null_mut();
        assert_eq!(
            unsafe { c::posix_memalign(&mut out, 24, 8) },
            nix::libc::EINVAL
        );
        assert!(
            c::calloc(usize::MAX, 2).is_null(),
            "calloc's product overflows"
        );
        assert!(c::malloc(usize::MAX).is_null());
    }

    #[test]
    fn a_freed_c_block_past_the_size_classes_is_reused_for_the_same_size() {
        // musl's DIR: `calloc(1, 2072)`, freed while other blocks are newer.
        let dir = c::calloc(1, 2072);
        let newer = c::malloc(16);
        unsafe { c::free(dir) };
        let again = c::calloc(1, 2072);
        assert_eq!(again, dir, "the freed DIR is handed out again");
        let z = unsafe { std::slice::from_raw_parts(again.cast::<u8>(), 2072) };
        assert!(z.iter().all(|&b| b == 0), "and zeroed by calloc");
        // Many folders open and closed out of order reuse a handful of blocks.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let a = c::calloc(1, 2072);
            let b = c::calloc(1, 2072);
            seen.insert(a as usize);
            seen.insert(b as usize);
            unsafe { c::free(a) };
            unsafe { c::free(b) };
        }
        assert!(
            seen.len() <= 4,
            "{} distinct blocks for 2 open at a time",
            seen.len()
        );
        unsafe { c::free(again) };
        unsafe { c::free(newer) };
    }
}
